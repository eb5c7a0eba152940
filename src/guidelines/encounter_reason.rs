//! Codes that say why an encounter took place (the first-listed-only Z codes of I.C.21.c.16,
//! the follow-up codes of I.C.21.c.8) are reported only where the note states them as the
//! reason for the encounter it records. Both the codes and the words that state a reason
//! are data (`data/encounter_reasons.tsv`).

use super::pattern::CodePattern;
use super::{rows, rule, sentence_words, Finding, TermSpan, Verdict};
use crate::codeset::{CodeId, CodeSet};
use crate::text::{Note, Section};

const ENCOUNTER_REASONS: &str = include_str!("data/encounter_reasons.tsv");

/// Most words between a reason phrase, or the note's start, and the code's words ("presents
/// for a routine annual physical examination").
const REASON_REACH: usize = 4;

#[derive(Clone, Debug)]
struct ReasonCode {
    code: CodePattern,
    section: String,
}

#[derive(Clone, Debug)]
pub(super) struct EncounterReasons {
    codes: Vec<ReasonCode>,
    /// Phrases as word lists.
    phrases: Vec<Vec<String>>,
}

impl EncounterReasons {
    pub(super) fn new() -> EncounterReasons {
        let mut codes = Vec::new();
        let mut phrases = Vec::new();
        for row in rows(ENCOUNTER_REASONS) {
            match row.as_slice() {
                ["code", code, section, ..] => codes.push(ReasonCode {
                    code: CodePattern::parse(code),
                    section: section.to_string(),
                }),
                ["phrase", phrase, ..] => {
                    phrases.push(phrase.split_whitespace().map(str::to_string).collect())
                }
                _ => {}
            }
        }
        EncounterReasons { codes, phrases }
    }

    /// The guideline section that makes `id` a reason for an encounter, if one does.
    fn section_of(&self, codes: &CodeSet, id: CodeId) -> Option<&str> {
        self.codes
            .iter()
            .find(|r| r.code.matches(codes, id))
            .map(|r| r.section.as_str())
    }

    /// Drops the reason codes the note does not state as this encounter's reason.
    pub(super) fn apply(
        &self,
        codes: &CodeSet,
        note: &Note,
        findings: &[Finding],
        verdict: &mut Verdict,
    ) {
        for (i, f) in findings.iter().enumerate() {
            if verdict.dropped[i].is_some() {
                continue;
            }
            let Some(section) = self.section_of(codes, f.code) else {
                continue;
            };
            if f.terms
                .iter()
                .chain(&f.inferred)
                .any(|span| self.is_reason(note, span))
            {
                continue;
            }
            let code = codes.get(f.code);
            verdict.dropped[i] = Some(rule(
                "encounter_reason",
                section,
                format!(
                    "{} {}: a reason for an encounter, but the note does not state it as the \
                     reason for this one",
                    code.display(),
                    code.title
                ),
                Vec::new(),
            ));
        }
    }

    /// The span stands where a note states why the encounter took place.
    fn is_reason(&self, note: &Note, span: &TermSpan) -> bool {
        let Some(sentence) = note.sentences.get(span.sentence) else {
            return false;
        };
        if sentence.section == Section::ChiefComplaint {
            return true;
        }
        let words = sentence_words(note, span.sentence);
        let Some(first) = words.iter().position(|&(k, _)| k == span.first()) else {
            return false;
        };
        // The note opens with it ("Surveillance colonoscopy.", "Routine postpartum visit 6
        // weeks after delivery"), not merely in its first sentence ("Iron deficiency anemia
        // due to chronic blood loss" is no encounter for blood typing).
        if span.sentence == 0 && first <= REASON_REACH {
            return true;
        }
        self.phrases.iter().any(|phrase| {
            (0..first).any(|start| {
                let end = start + phrase.len();
                end <= first
                    && first - end <= REASON_REACH
                    && words[start..end]
                        .iter()
                        .zip(phrase)
                        .all(|((_, w), p)| w == p)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_a_code_with_its_section_or_a_phrase() {
        let reasons = EncounterReasons::new();
        let rows = super::rows(ENCOUNTER_REASONS).count();
        assert_eq!(reasons.codes.len() + reasons.phrases.len(), rows);
        assert!(reasons
            .codes
            .iter()
            .all(|c| c.section.starts_with("I.C.21.c.")));
        assert!(reasons.phrases.iter().all(|p| !p.is_empty()));
    }
}
