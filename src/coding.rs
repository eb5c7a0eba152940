//! The one output schema (`Coding`) served by the CLI, batch, HTTP and the editor, and the
//! request options. JSON field names are part of the API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::codeset::System;
use crate::text::{Assertion, Section};

/// Inpatient coding reports uncertain diagnoses as if established; outpatient does not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Setting {
    #[default]
    Inpatient,
    Outpatient,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct SuggestOptions {
    pub setting: Setting,
    /// Empty: both systems.
    pub systems: Vec<System>,
    pub top_k: usize,
    pub min_score: f32,
}

impl Default for SuggestOptions {
    fn default() -> Self {
        SuggestOptions {
            setting: Setting::Inpatient,
            systems: Vec::new(),
            top_k: 50,
            min_score: 0.0,
        }
    }
}

/// Longest note accepted, in characters (about 150 pages of text).
pub const MAX_NOTE_CHARS: usize = 500_000;

/// `text[start..end]` (Unicode scalar offsets into the note as received) supports the code.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Evidence {
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub section: Section,
}

/// A coding-rule finding attached to a suggestion.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RuleNote {
    /// `excludes1`, `code_first`, `use_additional`, `code_also`, `seventh_character`,
    /// `integral_symptom`, `uncertain_outpatient`, `history_of`, `family_history_of`.
    pub kind: String,
    pub message: String,
    /// Codes the finding refers to (dotted), if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Suggestion {
    /// Dotted for ICD-10-CM (`E11.40`), plain for ICD-10-PCS.
    pub code: String,
    pub system: System,
    pub title: String,
    /// In [0, 1]; suggestions are sorted by it.
    pub score: f32,
    pub assertion: Assertion,
    pub evidence: Vec<Evidence>,
    #[serde(default)]
    pub rules: Vec<RuleNote>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Coding {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Fiscal year of each code set: `{"icd10cm": "2026", "icd10pcs": "2026"}`.
    pub code_set: BTreeMap<String, String>,
    pub suggestions: Vec<Suggestion>,
}
