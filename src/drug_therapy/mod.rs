//! Long-term (current) drug therapy stated in a note ("DM2 on insulin", "paroxysmal AFib
//! on apixaban"): the drug's name is a mention of its Z79 status code, so the assertion
//! rules apply to it like to any term ("no insulin", "completed anticoagulation, no longer
//! on blood thinners" give none). The drug list is data (`long_term_drugs.tsv`, sources
//! cited there).

use crate::codeset::{CodeId, CodeSet};
use crate::text::Note;

const LONG_TERM_DRUGS: &str = include_str!("long_term_drugs.tsv");

/// A drug name found in a note and the status code it states.
#[derive(Clone, Debug, PartialEq)]
pub struct DrugMention {
    pub code: CodeId,
    /// Token indices of the drug's words, ascending.
    pub tokens: Vec<usize>,
    pub sentence: usize,
    /// Guideline section that asks for the code.
    pub guideline: &'static str,
}

/// The drug names of the loaded code sets' Z79 codes.
#[derive(Clone, Debug, Default)]
pub struct DrugTherapy {
    /// (words, code, section), longest names first so "insulin glargine" wins over "insulin".
    names: Vec<(Vec<&'static str>, CodeId, &'static str)>,
}

impl DrugTherapy {
    /// Rows naming a code the code sets lack are left out.
    pub fn new(codes: &CodeSet) -> DrugTherapy {
        let mut names: Vec<(Vec<&'static str>, CodeId, &'static str)> = LONG_TERM_DRUGS
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let mut fields = l.split('\t');
                let words = fields.next()?.split_whitespace().collect::<Vec<_>>();
                let code = codes.find(fields.next()?.trim())?;
                let section = fields.next().unwrap_or("I.C.21.c.3").trim();
                (!words.is_empty()).then_some((words, code, section))
            })
            .collect();
        names.sort_by_key(|(words, _, _)| std::cmp::Reverse(words.len()));
        DrugTherapy { names }
    }

    /// Every drug name in the note (whole words, longest first, no overlaps).
    pub fn find(&self, note: &Note) -> Vec<DrugMention> {
        let mut out: Vec<DrugMention> = Vec::new();
        let mut taken = vec![false; note.tokens.len()];
        for (s, sentence) in note.sentences.iter().enumerate() {
            for start in sentence.tokens.clone() {
                for (words, code, guideline) in &self.names {
                    let end = start + words.len();
                    if end > sentence.tokens.end || taken[start..end].iter().any(|&t| t) {
                        continue;
                    }
                    let hit = words
                        .iter()
                        .zip(&note.tokens[start..end])
                        .all(|(w, t)| t.norm == *w);
                    if hit {
                        taken[start..end].iter_mut().for_each(|t| *t = true);
                        out.push(DrugMention {
                            code: *code,
                            tokens: (start..end).collect(),
                            sentence: s,
                            guideline,
                        });
                        break;
                    }
                }
            }
        }
        out
    }
}
