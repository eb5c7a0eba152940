//! Phrases that state a code although its title's words are not in them: long-term drug
//! therapy ("DM2 on insulin", "paroxysmal AFib on apixaban": the drug's name is a mention of
//! its Z79 status code) and the status, history and encounter Z codes notes state in their
//! own words ("s/p CABG", "former smoker", "penicillin allergy", "flu shot"). Each phrase is
//! a mention of its code, so the assertion rules apply to it like to any term ("no insulin",
//! "no longer on blood thinners", "no nicotine dependence" give none). The phrase lists are
//! data (`long_term_drugs.tsv`, `status.tsv`, sources cited there).

use crate::codeset::{CodeId, CodeSet};
use crate::text::Note;

const LONG_TERM_DRUGS: &str = include_str!("long_term_drugs.tsv");
const STATUS: &str = include_str!("status.tsv");

/// A phrase found in a note and the code it states.
#[derive(Clone, Debug, PartialEq)]
pub struct PhraseMention {
    pub code: CodeId,
    /// Token indices of the drug's words, ascending.
    pub tokens: Vec<usize>,
    pub sentence: usize,
    /// Guideline section that asks for the code.
    pub guideline: &'static str,
}

/// A table of phrases and the codes they state, resolved against the loaded code sets.
#[derive(Clone, Debug, Default)]
pub struct StatedPhrases {
    /// (words as the note tokenizer gives them, code, section), longest phrases first so
    /// "insulin glargine" wins over "insulin".
    names: Vec<(Vec<String>, CodeId, &'static str)>,
    /// Words that, just before a phrase, say it no longer holds (drug therapy).
    ended_by: &'static [&'static str],
}

/// Z79 is long-term *current* drug therapy (I.C.21.c.3): a drug the note says was
/// completed, finished, stopped or discontinued ("completed anticoagulation") is not
/// current. Only the few tokens before the drug's name are read.
const THERAPY_ENDED: &[&str] = &[
    "completed",
    "finished",
    "stopped",
    "discontinued",
    "ceased",
    "off",
];

/// Words between an ending word and the drug's name ("completed 6 months of anticoagulation"
/// is read as far as "completed ... of").
const ENDED_WINDOW: usize = 4;

impl StatedPhrases {
    /// Drug names of long-term (current) drug therapy, Z79 (I.C.21.c.3, I.C.4.a.3).
    pub fn drug_therapy(codes: &CodeSet) -> StatedPhrases {
        StatedPhrases {
            ended_by: THERAPY_ENDED,
            ..StatedPhrases::from_table(LONG_TERM_DRUGS, codes)
        }
    }

    /// Status, history and encounter phrases of chapter 21 (I.C.21.c).
    pub fn status(codes: &CodeSet) -> StatedPhrases {
        StatedPhrases::from_table(STATUS, codes)
    }

    /// `phrase<TAB>code<TAB>section` lines; rows naming a code the code sets lack are left
    /// out. Phrases are tokenized like note text ("s/p" is "s / p").
    fn from_table(table: &'static str, codes: &CodeSet) -> StatedPhrases {
        let mut names: Vec<(Vec<String>, CodeId, &'static str)> = table
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let mut fields = l.split('\t');
                let words: Vec<String> = Note::analyze(fields.next()?)
                    .tokens
                    .into_iter()
                    .map(|t| t.norm)
                    .collect();
                let code = codes.find(fields.next()?.trim())?;
                let section = fields.next().unwrap_or("I.C.21.c.3").trim();
                (!words.is_empty()).then_some((words, code, section))
            })
            .collect();
        names.sort_by_key(|(words, _, _)| std::cmp::Reverse(words.len()));
        StatedPhrases {
            names,
            ended_by: &[],
        }
    }

    /// Every phrase in the note (whole words, longest first, no overlaps).
    pub fn find(&self, note: &Note) -> Vec<PhraseMention> {
        let mut out: Vec<PhraseMention> = Vec::new();
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
                        let ended = note.tokens[sentence.tokens.start..start]
                            .iter()
                            .rev()
                            .take(ENDED_WINDOW)
                            .any(|t| self.ended_by.contains(&t.norm.as_str()));
                        if ended {
                            break;
                        }
                        out.push(PhraseMention {
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

#[cfg(test)]
mod tests {
    use super::*;

    const TABULAR: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.tabular>
  <version>2026</version>
  <chapter><name>21</name><desc>Factors influencing health status (Z00-Z99)</desc>
    <section id="Z77-Z99"><desc>Persons with potential health hazards (Z77-Z99)</desc>
      <diag><name>Z79</name><desc>Long term (current) drug therapy</desc>
        <diag><name>Z79.4</name><desc>Long term (current) use of insulin</desc></diag>
      </diag>
      <diag><name>Z87</name><desc>Personal history of other diseases and conditions</desc>
        <diag><name>Z87.8</name><desc>Personal history of other specified conditions</desc>
          <diag><name>Z87.89</name><desc>Personal history of other specified conditions</desc>
            <diag><name>Z87.891</name><desc>Personal history of nicotine dependence</desc></diag>
          </diag>
        </diag>
      </diag>
      <diag><name>Z95</name><desc>Presence of cardiac and vascular implants and grafts</desc>
        <diag><name>Z95.1</name><desc>Presence of aortocoronary bypass graft</desc></diag>
      </diag>
    </section>
  </chapter>
</ICD10CM.tabular>
"#;

    fn codes() -> CodeSet {
        CodeSet::fixture(TABULAR)
    }

    fn found(table: &StatedPhrases, codes: &CodeSet, text: &str) -> Vec<(String, String)> {
        let note = Note::analyze(text);
        table
            .find(&note)
            .into_iter()
            .map(|m| {
                let words: Vec<&str> = m.tokens.iter().map(|&t| &note.tokens[t].norm[..]).collect();
                (codes.get(m.code).display(), words.join(" "))
            })
            .collect()
    }

    #[test]
    fn status_phrases_are_read_as_the_note_tokenizer_writes_them() {
        let codes = codes();
        let status = StatedPhrases::status(&codes);
        assert_eq!(
            found(&status, &codes, "CAD s/p CABG 2018. Former smoker."),
            [
                ("Z95.1".to_string(), "s / p cabg".to_string()),
                ("Z87.891".to_string(), "former smoker".to_string())
            ]
        );
        // Rows naming codes the code sets lack are inactive ("flu shot", Z23).
        assert!(found(&status, &codes, "Here for flu shot.").is_empty());
    }

    #[test]
    fn drug_names_state_their_therapy_code() {
        let codes = codes();
        let drugs = StatedPhrases::drug_therapy(&codes);
        assert_eq!(
            found(&drugs, &codes, "DM2 on insulin glargine."),
            [("Z79.4".to_string(), "insulin glargine".to_string())]
        );
    }

    #[test]
    fn a_therapy_the_note_says_has_ended_is_not_current() {
        let codes = codes();
        let drugs = StatedPhrases::drug_therapy(&codes);
        for text in [
            "Completed 6 months of insulin.",
            "Off insulin since May.",
            "Gestational diabetes; finished insulin after delivery.",
            "Insulin discontinued. Stopped insulin.",
        ] {
            let found = found(&drugs, &codes, text);
            // Only the words before the name end it: in "Insulin discontinued" the
            // assertion layer reads what follows.
            let expected = usize::from(text.starts_with("Insulin discontinued"));
            assert_eq!(found.len(), expected, "{text}: {found:?}");
        }
        assert_eq!(found(&drugs, &codes, "Started on insulin.").len(), 1);
    }
}
