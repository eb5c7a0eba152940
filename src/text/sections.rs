//! Section headings ("HISTORY OF PRESENT ILLNESS:", "PMH:", "Assessment and Plan", ...).
//!
//! A heading is a known heading phrase that either ends with ':' (at the start of a line or of
//! a sentence, "Assessment: pneumonia") or stands alone on its line ("PHYSICAL EXAM").
//! A section lasts until the next heading.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::layout::Layout;
use super::offsets::CharIndex;
use super::tokenize::tokenize;

/// Section of a clinical note.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// Before any heading, or in a note without headings.
    #[default]
    Unknown,
    ChiefComplaint,
    HistoryOfPresentIllness,
    /// Past medical and surgical history.
    PastMedicalHistory,
    FamilyHistory,
    SocialHistory,
    Medications,
    Allergies,
    ReviewOfSystems,
    /// Physical examination, including vital signs.
    PhysicalExam,
    Labs,
    Imaging,
    Procedures,
    /// Assessment, including "Assessment and Plan".
    Assessment,
    Plan,
    Impression,
    /// Any diagnosis list: final, discharge, admission, pre-/post-operative.
    Diagnosis,
    /// Discharge instructions, condition and disposition.
    Discharge,
    /// A recognised heading that maps to none of the above (hospital course, addendum...).
    Other,
}

/// Heading phrases per section, matched on whole token sequences (case and accents ignored).
const HEADINGS: &[(Section, &[&str])] = &[
    (
        Section::ChiefComplaint,
        &[
            "chief complaint",
            "chief complaints",
            "cc",
            "reason for visit",
            "reason for admission",
            "reason for consultation",
            "reason for referral",
            "presenting complaint",
        ],
    ),
    (
        Section::HistoryOfPresentIllness,
        &[
            "history of present illness",
            "history of the present illness",
            "hpi",
            "present illness",
            "interval history",
            "subjective",
        ],
    ),
    (
        Section::PastMedicalHistory,
        &[
            "past medical history",
            "pmh",
            "pmhx",
            "medical history",
            "past history",
            "past medical and surgical history",
            "past surgical history",
            "surgical history",
            "psh",
            "pshx",
        ],
    ),
    (
        Section::FamilyHistory,
        &[
            "family history",
            "family medical history",
            "family hx",
            "fh",
            "fhx",
        ],
    ),
    (
        Section::SocialHistory,
        &["social history", "social hx", "sh", "shx"],
    ),
    (
        Section::Medications,
        &[
            "medications",
            "medication",
            "meds",
            "current medications",
            "home medications",
            "outpatient medications",
            "medications on admission",
            "admission medications",
            "discharge medications",
        ],
    ),
    (
        Section::Allergies,
        &[
            "allergies",
            "allergy",
            "drug allergies",
            "allergies and adverse reactions",
        ],
    ),
    (
        Section::ReviewOfSystems,
        &["review of systems", "ros", "systems review"],
    ),
    (
        Section::PhysicalExam,
        &[
            "physical exam",
            "physical examination",
            "exam",
            "examination",
            "pe",
            "objective",
            "vital signs",
            "vitals",
            "vs",
        ],
    ),
    (
        Section::Labs,
        &[
            "labs",
            "lab",
            "laboratory",
            "laboratory data",
            "laboratory results",
            "laboratory studies",
            "lab results",
            "lab data",
            "pertinent results",
        ],
    ),
    (
        Section::Imaging,
        &[
            "imaging",
            "imaging studies",
            "radiology",
            "radiology results",
            "studies",
            "cxr",
            "chest x-ray",
            "chest xray",
            "ct",
            "ct scan",
            "mri",
            "ultrasound",
            "echo",
            "echocardiogram",
        ],
    ),
    (
        Section::Procedures,
        &[
            "procedures",
            "procedure",
            "procedures performed",
            "operations",
            "operation",
            "operative procedure",
            "major surgical or invasive procedure",
        ],
    ),
    (
        Section::Assessment,
        &[
            "assessment",
            "assessment and plan",
            "assessment & plan",
            "assessment/plan",
            "a/p",
            "a&p",
        ],
    ),
    (Section::Plan, &["plan", "recommendations", "plan of care"]),
    (
        Section::Impression,
        &["impression", "clinical impression", "impression and plan"],
    ),
    (
        Section::Diagnosis,
        &[
            "diagnosis",
            "diagnoses",
            "dx",
            "final diagnosis",
            "final diagnoses",
            "discharge diagnosis",
            "discharge diagnoses",
            "principal diagnosis",
            "primary diagnosis",
            "secondary diagnoses",
            "admission diagnosis",
            "admitting diagnosis",
            "preoperative diagnosis",
            "pre-operative diagnosis",
            "postoperative diagnosis",
            "post-operative diagnosis",
        ],
    ),
    (
        Section::Discharge,
        &[
            "discharge instructions",
            "discharge condition",
            "discharge disposition",
            "discharge plan",
            "disposition",
            "follow up",
            "follow-up",
            "followup",
            "patient instructions",
        ],
    ),
    (
        Section::Other,
        &[
            "hospital course",
            "brief hospital course",
            "ed course",
            "addendum",
            "attestation",
            "code status",
        ],
    ),
];

/// Longest heading phrase in tokens, bounding the look-ahead.
const MAX_HEADING_TOKENS: usize = 8;

/// Heading phrases keyed by their token norms joined with single spaces.
static HEADING_KEYS: LazyLock<HashMap<String, Section>> = LazyLock::new(|| {
    HEADINGS
        .iter()
        .flat_map(|&(section, phrases)| {
            phrases
                .iter()
                .map(move |&phrase| (phrase_key(phrase), section))
        })
        .collect()
});

/// Key of a phrase: its token norms joined with single spaces.
fn phrase_key(phrase: &str) -> String {
    let tokens = tokenize(phrase, &CharIndex::new(phrase));
    let norms: Vec<&str> = tokens.iter().map(|t| t.norm.as_str()).collect();
    norms.join(" ")
}

/// Decoration around headings ("## Plan", "**Assessment:**").
fn is_markup(norm: &str) -> bool {
    matches!(norm, "#" | "*" | "=" | "_")
}

/// Detects a heading starting at token `i`, which must begin a line or a sentence.
///
/// Returns the index one past the heading's last token (including its ':' and any trailing
/// markup glued to it) and the section it opens.
pub(crate) fn heading_at(layout: &Layout, i: usize) -> Option<(usize, Section)> {
    let n = layout.len();
    let alone_allowed = layout.starts_line(i);
    let mut start = i;
    while start < n && start - i < 3 && is_markup(layout.norm(start)) && !layout.ends_line(start) {
        start += 1;
    }
    let mut key = String::new();
    for k in start..n.min(start + MAX_HEADING_TOKENS) {
        let norm = layout.norm(k);
        if norm == ":" {
            let section = HEADING_KEYS.get(&key).copied()?;
            let mut end = k + 1;
            while end < n && is_markup(layout.norm(end)) && layout.glued(end - 1, end) {
                end += 1;
            }
            return Some((end, section));
        }
        if !is_markup(norm) {
            if !key.is_empty() {
                key.push(' ');
            }
            key.push_str(norm);
        }
        if layout.ends_line(k) {
            return if alone_allowed {
                HEADING_KEYS.get(&key).map(|&section| (k + 1, section))
            } else {
                None
            };
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heading(text: &str, i: usize) -> Option<(usize, Section)> {
        let index = CharIndex::new(text);
        let tokens = tokenize(text, &index);
        let layout = Layout::new(text, &tokens, &index);
        heading_at(&layout, i)
    }

    #[test]
    fn headings_with_colon() {
        assert_eq!(
            heading("HISTORY OF PRESENT ILLNESS: 45M", 0),
            Some((5, Section::HistoryOfPresentIllness))
        );
        assert_eq!(
            heading("PMH: DM2", 0),
            Some((2, Section::PastMedicalHistory))
        );
        assert_eq!(heading("A/P: pneumonia", 0), Some((4, Section::Assessment)));
        assert_eq!(
            heading("Discharge Diagnosis: CAP", 0),
            Some((3, Section::Diagnosis))
        );
        assert_eq!(heading("**Plan:** rest", 0), Some((6, Section::Plan)));
        // Inline after a sentence: token 2 is "Plan".
        assert_eq!(heading("Stable. Plan: rest", 2), Some((4, Section::Plan)));
    }

    #[test]
    fn headings_alone_on_their_line() {
        assert_eq!(
            heading("PHYSICAL EXAM\nBP 120/80", 0),
            Some((2, Section::PhysicalExam))
        );
        assert_eq!(
            heading("## Family history\n", 0),
            Some((4, Section::FamilyHistory))
        );
        assert_eq!(
            heading("FHx\nmother: DM", 0),
            Some((1, Section::FamilyHistory))
        );
    }

    #[test]
    fn not_headings() {
        // Known phrase followed by more text without a colon.
        assert_eq!(heading("Plan to discharge tomorrow", 0), None);
        // Unknown phrase with a colon.
        assert_eq!(heading("Cough: productive", 0), None);
        // Phrase alone but not at a line start (token 2 "plan" ends the line mid-sentence).
        assert_eq!(heading("We discussed plan\nfor tomorrow", 2), None);
        assert_eq!(heading("", 0), None);
        assert_eq!(heading(":", 0), None);
    }

    #[test]
    fn section_serializes_snake_case() {
        let json = serde_json::to_string(&Section::HistoryOfPresentIllness).expect("serialize");
        assert_eq!(json, "\"history_of_present_illness\"");
        let back: Section = serde_json::from_str("\"past_medical_history\"").expect("deserialize");
        assert_eq!(back, Section::PastMedicalHistory);
    }
}
