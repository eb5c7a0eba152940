//! Settings a client passes in `initializationOptions`:
//!
//! ```json
//! {"coder": "ana", "codesHeading": "Codes:", "setting": "outpatient",
//!  "ranker": "lexical", "minScore": 0.01, "topK": 50, "debounceMs": 150}
//! ```
//!
//! Every field is optional. `setting`, `ranker`, `minScore` and `topK` go through the one
//! validation of every surface ([`crate::options`]): same bounds, same message. A field that
//! does not validate keeps its default and its message is returned for the server to show
//! the user (`window/showMessage`), rather than failing the session: a typo in an editor
//! config should not take the server down, nor pass unnoticed.

use std::time::Duration;

use serde_json::Value;

use super::codes_block::DEFAULT_HEADING;
use crate::coding::SuggestOptions;
use crate::options::UserOptions;

/// Suggestions below this score are not shown unless the client asks (`minScore`): the
/// engine ranks every candidate it finds, and the long tail of near-zero scores would bury
/// a note in hints.
pub const DEFAULT_MIN_SCORE: f32 = 0.01;

#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Who is deciding, for the feedback store.
    pub coder: String,
    /// Heading line of the block accepted codes are appended to.
    pub codes_heading: String,
    pub suggest: SuggestOptions,
    /// Quiet time after the last change before the note is coded again.
    pub debounce: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            coder: "editor".into(),
            codes_heading: DEFAULT_HEADING.into(),
            suggest: SuggestOptions {
                min_score: DEFAULT_MIN_SCORE,
                ..SuggestOptions::default()
            },
            debounce: Duration::from_millis(150),
        }
    }
}

impl ClientOptions {
    /// The client's settings over the defaults, and a message for each field that was
    /// ignored (it keeps its default).
    pub fn from_json(value: Option<&Value>) -> (ClientOptions, Vec<String>) {
        let mut options = ClientOptions::default();
        let mut problems = Vec::new();
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return (options, problems);
        };
        if !value.is_object() {
            problems.push("initializationOptions ignored: expected an object".to_string());
            return (options, problems);
        }
        let text = |name: &str, problems: &mut Vec<String>| match value.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                problems.push(format!(
                    "initializationOptions.{name} ignored: expected a string"
                ));
                None
            }
        };
        if let Some(coder) = text("coder", &mut problems).and_then(|s| non_empty(&s)) {
            options.coder = coder;
        }
        if let Some(heading) = text("codesHeading", &mut problems).and_then(|s| non_empty(&s)) {
            options.codes_heading = heading;
        }
        // Each coding field alone through `UserOptions`, so that a bad one spares the others.
        let fields: [(&str, UserOptions); 4] = [
            (
                "setting",
                UserOptions {
                    setting: text("setting", &mut problems),
                    ..UserOptions::default()
                },
            ),
            (
                "ranker",
                UserOptions {
                    ranker: text("ranker", &mut problems),
                    ..UserOptions::default()
                },
            ),
            (
                "minScore",
                UserOptions {
                    min_score: number(value, "minScore", &mut problems),
                    ..UserOptions::default()
                },
            ),
            (
                "topK",
                UserOptions {
                    top_k: integer(value, "topK", &mut problems),
                    ..UserOptions::default()
                },
            ),
        ];
        for (name, field) in fields {
            match field.suggest(&options.suggest) {
                Ok(suggest) => options.suggest = suggest,
                Err(e) => problems.push(format!(
                    "initializationOptions.{name} ignored (the default is kept): {e}"
                )),
            }
        }
        if let Some(ms) = integer(value, "debounceMs", &mut problems) {
            options.debounce = Duration::from_millis(ms.clamp(0, 10_000) as u64);
        }
        for p in &problems {
            tracing::warn!("{p}");
        }
        (options, problems)
    }
}

/// `value[name]` as a number; `None` (and a problem) when it is something else.
fn number(value: &Value, name: &str, problems: &mut Vec<String>) -> Option<f64> {
    match value.get(name) {
        None | Some(Value::Null) => None,
        Some(v) => v.as_f64().or_else(|| {
            problems.push(format!(
                "initializationOptions.{name} ignored: expected a number"
            ));
            None
        }),
    }
}

/// `value[name]` as an integer (one too large for i64 saturates, and is then out of range).
fn integer(value: &Value, name: &str, problems: &mut Vec<String>) -> Option<i64> {
    match value.get(name) {
        None | Some(Value::Null) => None,
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_u64().map(|_| i64::MAX))
            .or_else(|| {
                problems.push(format!(
                    "initializationOptions.{name} ignored: expected an integer"
                ));
                None
            }),
    }
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coding::{RankerChoice, Setting};

    #[test]
    fn invalid_fields_keep_their_defaults_and_are_reported() {
        let (defaults, problems) = ClientOptions::from_json(None);
        assert!(problems.is_empty());
        assert_eq!(defaults.coder, "editor");
        assert_eq!(defaults.debounce, Duration::from_millis(150));
        let (options, problems) = ClientOptions::from_json(Some(&serde_json::json!({
            "coder": "ana",
            "codesHeading": 3,
            "setting": "outpatient",
            "ranker": "lexical",
            "minScore": 7,
            "topK": 20,
            "debounceMs": 0
        })));
        assert_eq!(options.coder, "ana");
        assert_eq!(options.codes_heading, "Codes:");
        assert_eq!(options.suggest.setting, Setting::Outpatient);
        assert_eq!(options.suggest.ranker, RankerChoice::Lexical);
        assert_eq!(options.suggest.min_score, DEFAULT_MIN_SCORE);
        assert_eq!(options.suggest.top_k, 20);
        assert_eq!(options.debounce, Duration::ZERO);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("codesHeading"), "{problems:?}");
        let min_score = crate::options::min_score(7.0).unwrap_err().to_string();
        assert!(problems[1].contains("minScore"), "{problems:?}");
        assert!(problems[1].ends_with(&min_score), "{problems:?}");

        let (odd, problems) = ClientOptions::from_json(Some(&serde_json::json!("not an object")));
        assert_eq!(odd.coder, "editor");
        assert_eq!(odd.suggest.top_k, SuggestOptions::default().top_k);
        assert_eq!(problems.len(), 1);
        let (unknown, problems) =
            ClientOptions::from_json(Some(&serde_json::json!({"ranker": "bm25", "topK": 5000})));
        assert_eq!(unknown.suggest.ranker, RankerChoice::Learned);
        assert_eq!(unknown.suggest.top_k, SuggestOptions::default().top_k);
        let top_k = crate::options::top_k(5000).unwrap_err().to_string();
        assert!(
            problems[0].contains("unknown ranker `bm25`"),
            "{problems:?}"
        );
        assert!(problems[1].ends_with(&top_k), "{problems:?}");
    }
}
