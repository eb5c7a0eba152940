//! The options a user gives on any surface — command-line flags (`suggest`, `batch`, `eval`,
//! `lookup`), HTTP fields (`/v1/suggest`, `/v1/suggest/batch`, `/v1/search`) and the language
//! server's `initializationOptions` — and their one validation: the same bounds and the same
//! [`Error::InvalidInput`] message on every surface.
//!
//! | option | accepted | default |
//! | --- | --- | --- |
//! | `top_k` | 1 to [`MAX_TOP_K`] | 50 for coding, 10 for lookup |
//! | `min_score` | a number from 0 to 1 | 0 (0.01 in the editor) |
//! | `setting` | `inpatient`, `outpatient` | `inpatient` |
//! | `systems` | `icd10cm` (`cm`), `icd10pcs` (`pcs`) | both |
//! | `ranker` | `learned`, `lexical` | `learned` |
//!
//! The library itself takes any depth (`eval` ranks [`MAX_TOP_K`] codes; tests look at every
//! candidate): the bounds are those of user input.

use crate::codeset::System;
use crate::coding::{RankerChoice, Setting, SuggestOptions};
use crate::error::{Error, Result};
use crate::index::LookupOptions;

/// Most suggestions (or lookup results) a user may ask for.
pub const MAX_TOP_K: usize = 1000;

/// Options as a user gives them, before validation; an absent field keeps the default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserOptions {
    pub setting: Option<String>,
    /// Empty: both systems.
    pub systems: Vec<String>,
    /// Signed, so that a negative number gets the same message as any other out of range.
    pub top_k: Option<i64>,
    pub min_score: Option<f64>,
    pub ranker: Option<String>,
}

impl UserOptions {
    /// Coding options: these over `defaults` (`SuggestOptions::default()`, or the editor's).
    pub fn suggest(&self, defaults: &SuggestOptions) -> Result<SuggestOptions> {
        let mut options = defaults.clone();
        if let Some(s) = &self.setting {
            options.setting = setting(s)?;
        }
        if !self.systems.is_empty() {
            options.systems = systems(&self.systems)?;
        }
        if let Some(k) = self.top_k {
            options.top_k = top_k(k)?;
        }
        if let Some(m) = self.min_score {
            options.min_score = min_score(m)?;
        }
        if let Some(r) = &self.ranker {
            options.ranker = ranker(r)?;
        }
        options.validate()?;
        Ok(options)
    }

    /// Lookup options: `top_k` and `systems` over `LookupOptions::default()` (a lookup has no
    /// setting, threshold or ranker; the surfaces that look up do not offer them).
    pub fn lookup(&self) -> Result<LookupOptions> {
        let mut options = LookupOptions::default();
        if !self.systems.is_empty() {
            options.systems = systems(&self.systems)?;
        }
        if let Some(k) = self.top_k {
            options.top_k = top_k(k)?;
        }
        Ok(options)
    }
}

impl SuggestOptions {
    /// The bounds of [`UserOptions`] on options already typed (a library caller's, a batch's).
    pub fn validate(&self) -> Result<()> {
        top_k(i64::try_from(self.top_k).unwrap_or(i64::MAX))?;
        min_score(f64::from(self.min_score))?;
        Ok(())
    }
}

/// A user's text quoted in a message, cut to a readable length.
fn quoted(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        format!("`{s}`")
    } else {
        format!("`{}…`", s.chars().take(MAX).collect::<String>())
    }
}

/// `top_k`: 1 to [`MAX_TOP_K`].
pub fn top_k(k: i64) -> Result<usize> {
    usize::try_from(k)
        .ok()
        .filter(|k| (1..=MAX_TOP_K).contains(k))
        .ok_or_else(|| Error::InvalidInput(format!("top_k must be from 1 to {MAX_TOP_K}, got {k}")))
}

/// `min_score`: a finite number from 0 to 1.
pub fn min_score(m: f64) -> Result<f32> {
    if m.is_finite() && (0.0..=1.0).contains(&m) {
        Ok(m as f32)
    } else {
        Err(Error::InvalidInput(format!(
            "min_score must be a number from 0 to 1, got {m}"
        )))
    }
}

/// `setting`: `inpatient` or `outpatient` (any case).
pub fn setting(s: &str) -> Result<Setting> {
    match s.trim().to_ascii_lowercase().as_str() {
        "inpatient" => Ok(Setting::Inpatient),
        "outpatient" => Ok(Setting::Outpatient),
        _ => Err(Error::InvalidInput(format!(
            "unknown setting {}; use `inpatient` or `outpatient`",
            quoted(s)
        ))),
    }
}

/// One code system: `icd10cm` or `icd10pcs` (and the short forms of [`System::parse`]).
pub fn system(s: &str) -> Result<System> {
    System::parse(s.trim()).ok_or_else(|| {
        Error::InvalidInput(format!(
            "unknown system {}; use `icd10cm` or `icd10pcs`",
            quoted(s)
        ))
    })
}

/// Several systems, each checked by [`system`]; duplicates collapse.
pub fn systems(names: &[String]) -> Result<Vec<System>> {
    let mut out: Vec<System> = Vec::new();
    for name in names {
        let s = system(name)?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

/// `ranker`: `learned` (alias `onnx`) or `lexical` (any case).
pub fn ranker(s: &str) -> Result<RankerChoice> {
    RankerChoice::parse(&s.trim().to_ascii_lowercase()).ok_or_else(|| {
        Error::InvalidInput(format!(
            "unknown ranker {}; use `learned` or `lexical`",
            quoted(s)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(e: Error) -> String {
        assert_eq!(e.code(), "invalid_input");
        e.to_string()
    }

    #[test]
    fn bounds_are_inclusive_and_the_same_for_coding_and_lookup() {
        for k in [1, 50, MAX_TOP_K as i64] {
            assert_eq!(top_k(k).unwrap(), k as usize);
        }
        for k in [0, -1, MAX_TOP_K as i64 + 1, i64::MAX] {
            let m = message(top_k(k).unwrap_err());
            assert_eq!(
                m,
                format!("invalid input: top_k must be from 1 to 1000, got {k}")
            );
            let coding = UserOptions {
                top_k: Some(k),
                ..UserOptions::default()
            };
            assert_eq!(
                message(coding.suggest(&SuggestOptions::default()).unwrap_err()),
                m
            );
            assert_eq!(message(coding.lookup().unwrap_err()), m);
        }
        for s in [0.0, 0.5, 1.0] {
            assert_eq!(min_score(s).unwrap(), s as f32);
        }
        for s in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            assert!(message(min_score(s).unwrap_err()).contains("min_score must be"));
        }
    }

    #[test]
    fn names_parse_with_one_message_each() {
        assert_eq!(setting("Outpatient").unwrap(), Setting::Outpatient);
        assert_eq!(ranker("onnx").unwrap(), RankerChoice::Learned);
        assert_eq!(ranker("LEXICAL").unwrap(), RankerChoice::Lexical);
        assert_eq!(
            systems(&["cm".into(), "icd10cm".into(), "pcs".into()]).unwrap(),
            [System::Icd10cm, System::Icd10pcs]
        );
        assert_eq!(
            message(setting("er").unwrap_err()),
            "invalid input: unknown setting `er`; use `inpatient` or `outpatient`"
        );
        assert_eq!(
            message(system("icd9").unwrap_err()),
            "invalid input: unknown system `icd9`; use `icd10cm` or `icd10pcs`"
        );
        assert_eq!(
            message(ranker("bm25").unwrap_err()),
            "invalid input: unknown ranker `bm25`; use `learned` or `lexical`"
        );
        let long = "x".repeat(10_000);
        assert!(message(setting(&long).unwrap_err()).len() < 200);
    }

    #[test]
    fn absent_fields_keep_the_defaults() {
        let defaults = SuggestOptions {
            min_score: 0.01,
            ..SuggestOptions::default()
        };
        let options = UserOptions::default().suggest(&defaults).unwrap();
        assert_eq!(options.min_score, 0.01);
        assert_eq!(options.top_k, 50);
        let lookup = UserOptions::default().lookup().unwrap();
        assert_eq!(lookup.top_k, 10);
        let given = UserOptions {
            setting: Some("outpatient".into()),
            systems: vec!["pcs".into()],
            top_k: Some(3),
            min_score: Some(0.2),
            ranker: Some("lexical".into()),
        }
        .suggest(&defaults)
        .unwrap();
        assert_eq!(given.setting, Setting::Outpatient);
        assert_eq!(given.systems, [System::Icd10pcs]);
        assert_eq!((given.top_k, given.min_score), (3, 0.2));
        assert_eq!(given.ranker, RankerChoice::Lexical);
        assert!(SuggestOptions {
            top_k: 10_000,
            ..SuggestOptions::default()
        }
        .validate()
        .is_err());
    }
}
