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
    /// Which ranker orders the candidates.
    pub ranker: RankerChoice,
    /// Candidate sources (all on by default; switched off one by one for ablations).
    pub components: Components,
    /// Guideline rules switched off (names of `guidelines::RULES`), to measure each rule's
    /// effect in evaluation; not an API option.
    #[serde(skip)]
    pub rules_off: Vec<String>,
}

impl Default for SuggestOptions {
    fn default() -> Self {
        SuggestOptions {
            setting: Setting::Inpatient,
            systems: Vec::new(),
            top_k: 50,
            min_score: 0.0,
            ranker: RankerChoice::Learned,
            components: Components::default(),
            rules_off: Vec::new(),
        }
    }
}

/// `learned`: the ONNX ranker (`models/ranker.onnx`) when present; `lexical`: the
/// transparent logistic model over the same features, for comparison and speed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RankerChoice {
    #[default]
    Learned,
    Lexical,
}

impl RankerChoice {
    pub fn parse(name: &str) -> Option<RankerChoice> {
        match name {
            "learned" | "onnx" => Some(RankerChoice::Learned),
            "lexical" => Some(RankerChoice::Lexical),
            _ => None,
        }
    }
}

/// Where candidates come from besides the code sets' own terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Components {
    /// Phrases learned from coded notes (`models/associations.json`).
    pub learned_phrases: bool,
    /// Nearest index terms of the sentence encoder.
    pub encoder_candidates: bool,
}

impl Default for Components {
    fn default() -> Self {
        Components {
            learned_phrases: true,
            encoder_candidates: true,
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
    /// Why the span supports the code.
    #[serde(default)]
    pub basis: EvidenceBasis,
}

/// `term`: the words of one of the code's own terms (title, inclusion term, index entry,
/// synonym); `learned`: a phrase that predicted the code in coded training notes;
/// `similar`: closest in meaning to one of the code's terms (sentence encoder).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvidenceBasis {
    #[default]
    Term,
    Learned,
    Similar,
}

/// A coding-rule finding attached to a suggestion.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RuleNote {
    /// `excludes1`, `code_first`, `use_additional`, `code_also`, `seventh_character`,
    /// `integral_symptom`, `uncertain_outpatient`, `history_of`, `family_history_of`,
    /// `presumed_link`, `laterality`.
    pub kind: String,
    pub message: String,
    /// Codes the finding refers to (dotted), if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<String>,
    /// The section of the ICD-10-CM Official Guidelines for Coding and Reporting (FY2026)
    /// the finding applies ("I.A.15", "I.C.9.a.2", "IV.H").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guideline: Option<String>,
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
