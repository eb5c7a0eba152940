//! Settings a client passes in `initializationOptions`:
//!
//! ```json
//! {"coder": "ana", "codesHeading": "Codes:", "setting": "outpatient",
//!  "ranker": "lexical", "minScore": 0.01, "topK": 50, "debounceMs": 150}
//! ```
//!
//! Every field is optional. A field of the wrong type is ignored (with a log line) rather than
//! failing the session: a typo in an editor config should not take the server down.

use std::time::Duration;

use serde_json::Value;

use super::codes_block::DEFAULT_HEADING;
use crate::coding::{RankerChoice, Setting, SuggestOptions};

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
    pub fn from_json(value: Option<&Value>) -> ClientOptions {
        let mut options = ClientOptions::default();
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return options;
        };
        if let Some(coder) = field(value, "coder", |v| non_empty(v.as_str()?)) {
            options.coder = coder;
        }
        if let Some(heading) = field(value, "codesHeading", |v| non_empty(v.as_str()?)) {
            options.codes_heading = heading;
        }
        if let Some(setting) = field(value, "setting", |v| {
            serde_json::from_value::<Setting>(v.clone()).ok()
        }) {
            options.suggest.setting = setting;
        }
        // "lexical": the fast path without the sentence encoder, for slow machines.
        if let Some(ranker) = field(value, "ranker", |v| RankerChoice::parse(v.as_str()?)) {
            options.suggest.ranker = ranker;
        }
        if let Some(min) = field(value, "minScore", |v| {
            v.as_f64().filter(|m| (0.0..=1.0).contains(m))
        }) {
            options.suggest.min_score = min as f32;
        }
        if let Some(top_k) = field(value, "topK", |v| v.as_u64().filter(|&k| k > 0)) {
            options.suggest.top_k = usize::try_from(top_k).unwrap_or(usize::MAX).min(1000);
        }
        if let Some(ms) = field(value, "debounceMs", |v| v.as_u64()) {
            options.debounce = Duration::from_millis(ms.min(10_000));
        }
        options
    }
}

/// `value[name]` through `parse`; `None` (and a log line naming the field) when it does not fit.
fn field<T>(value: &Value, name: &str, parse: impl Fn(&Value) -> Option<T>) -> Option<T> {
    let raw = value.get(name)?;
    let parsed = parse(raw);
    if parsed.is_none() {
        tracing::warn!("initializationOptions.{name} ignored: unexpected value");
    }
    parsed
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_malformed_fields_keep_their_defaults() {
        let defaults = ClientOptions::from_json(None);
        assert_eq!(defaults.coder, "editor");
        assert_eq!(defaults.debounce, Duration::from_millis(150));
        let options = ClientOptions::from_json(Some(&serde_json::json!({
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
        let odd = ClientOptions::from_json(Some(&serde_json::json!("not an object")));
        assert_eq!(odd.coder, "editor");
        assert_eq!(odd.suggest.top_k, SuggestOptions::default().top_k);
        let unknown = ClientOptions::from_json(Some(&serde_json::json!({"ranker": "bm25"})));
        assert_eq!(unknown.suggest.ranker, RankerChoice::Learned);
    }
}
