//! Phrase–code associations learned from a coded training split: short phrases of the notes
//! that predict a code the coders assigned ("chest x ray" → BW03ZZZ, "ct" + "abdomen" →
//! BW25). They find what the classification's own words never say (procedures above all:
//! coders code imaging from "CT scan", which no PCS title contains) and give the ranker a
//! learned signal for codes the dictionary also finds.
//!
//! A phrase is kept for a code when at least `min_support` training notes contain both and
//! the smoothed share of the phrase's notes coded with it, `k / (df + 1)`, reaches
//! `min_probability`; each code keeps its `per_code` best phrases.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::codeset::{CodeId, CodeSet, System};
use crate::error::{Error, Result};
use crate::text::Note;

/// File name of the associations under `Config::models`.
pub const ASSOCIATIONS_FILE: &str = "associations.json";

/// Words that neither start nor end a phrase: they carry no clinical meaning alone.
const STOP_WORDS: &[&str] = &[
    "a", "after", "also", "an", "and", "are", "as", "at", "be", "been", "but", "by", "for", "from",
    "had", "has", "have", "he", "her", "his", "in", "is", "it", "its", "of", "on", "or", "she",
    "that", "the", "their", "there", "this", "to", "was", "we", "were", "which", "who", "with",
    "patient", "no", "not", "showed", "year", "years", "old", "day", "days",
];

#[derive(Clone, Debug)]
pub struct AssociationConfig {
    /// Longest phrase, in words.
    pub max_words: usize,
    /// Fewest training notes coded with the code for it to be learned.
    pub min_code_notes: u32,
    /// Fewest training notes containing both phrase and code.
    pub min_support: u32,
    pub diagnoses: PhraseLimits,
    pub procedures: PhraseLimits,
}

#[derive(Clone, Copy, Debug)]
pub struct PhraseLimits {
    pub min_probability: f32,
    /// Best phrases kept per code.
    pub per_code: usize,
}

impl AssociationConfig {
    fn limits(&self, system: System) -> PhraseLimits {
        match system {
            System::Icd10cm => self.diagnoses,
            System::Icd10pcs => self.procedures,
        }
    }
}

impl Default for AssociationConfig {
    fn default() -> Self {
        // Tuned on CodiEsp dev with the learned ranker: weak phrases add recall and the
        // ranker learns how far to trust them (0.4 suited the logistic ranker better).
        AssociationConfig {
            max_words: 3,
            min_code_notes: 2,
            min_support: 2,
            diagnoses: PhraseLimits {
                min_probability: 0.15,
                per_code: 60,
            },
            procedures: PhraseLimits {
                min_probability: 0.2,
                per_code: 40,
            },
        }
    }
}

/// One learned phrase → code link.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Association {
    pub system: System,
    /// Dot-less code as coded in training; for procedures possibly a 4-character prefix.
    pub code: String,
    /// Smoothed share of training notes with the phrase that were coded with the code.
    pub probability: f32,
    /// Training notes with both.
    pub support: u32,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Associations {
    pub source: String,
    pub notes: usize,
    pub max_words: usize,
    /// Phrase (normalised words joined by one space) → its codes.
    pub phrases: BTreeMap<String, Vec<Association>>,
}

/// Where a note's phrase predicted a code.
#[derive(Clone, Debug)]
pub struct LearnedMention {
    pub system: System,
    pub code: String,
    /// Token indices (into `Note::tokens`) of the phrase, ascending.
    pub tokens: Vec<usize>,
    pub sentence: usize,
    pub probability: f32,
    pub support: u32,
    /// Which learned phrase (a hash of its text), to tell phrases apart.
    pub phrase: u64,
}

impl Associations {
    /// Learns the associations of `notes` (id, text) coded with `gold` (id → codes).
    pub fn fit(
        notes: &[(String, String)],
        gold: &HashMap<String, HashSet<(System, String)>>,
        source: &str,
        config: &AssociationConfig,
    ) -> Associations {
        let mut note_frequency: HashMap<String, u32> = HashMap::new();
        let mut together: HashMap<(System, String), HashMap<String, u32>> = HashMap::new();
        let mut code_notes: HashMap<(System, String), u32> = HashMap::new();
        for (id, text) in notes {
            let note = Note::analyze(text);
            let phrases: HashSet<String> = phrases(&note, config.max_words)
                .into_iter()
                .map(|p| p.text)
                .collect();
            for p in &phrases {
                *note_frequency.entry(p.clone()).or_default() += 1;
            }
            for code in gold.get(id).into_iter().flatten() {
                *code_notes.entry(code.clone()).or_default() += 1;
                let counts = together.entry(code.clone()).or_default();
                for p in &phrases {
                    *counts.entry(p.clone()).or_default() += 1;
                }
            }
        }
        let mut by_phrase: BTreeMap<String, Vec<Association>> = BTreeMap::new();
        for (code, counts) in together {
            if code_notes.get(&code).copied().unwrap_or(0) < config.min_code_notes {
                continue;
            }
            let limits = config.limits(code.0);
            let mut kept: Vec<(f32, u32, String)> = counts
                .into_iter()
                .filter(|&(_, k)| k >= config.min_support)
                .map(|(p, k)| {
                    let df = note_frequency.get(&p).copied().unwrap_or(k);
                    (k as f32 / (df as f32 + 1.0), k, p)
                })
                .filter(|(probability, _, _)| *probability >= limits.min_probability)
                .collect();
            kept.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
            kept.truncate(limits.per_code);
            for (probability, support, phrase) in kept {
                by_phrase.entry(phrase).or_default().push(Association {
                    system: code.0,
                    code: code.1.clone(),
                    probability,
                    support,
                });
            }
        }
        for list in by_phrase.values_mut() {
            list.sort_by(|a, b| {
                b.probability
                    .total_cmp(&a.probability)
                    .then(a.code.cmp(&b.code))
            });
        }
        Associations {
            source: source.to_string(),
            notes: notes.len(),
            max_words: config.max_words,
            phrases: by_phrase,
        }
    }

    /// The code each learned code stands for in the loaded code sets. A procedure learned
    /// as a 4-character prefix stands for its most general code (most "Z" axis values,
    /// e.g. BW20 → BW20ZZZ); codes absent from the code sets are left out.
    pub fn resolve(&self, codes: &CodeSet) -> HashMap<(System, String), CodeId> {
        let wanted: HashSet<(System, &str)> = self
            .phrases
            .values()
            .flatten()
            .map(|a| (a.system, a.code.as_str()))
            .collect();
        let mut out = HashMap::new();
        let mut prefixes: HashMap<&str, (usize, CodeId)> = HashMap::new();
        for &(system, code) in &wanted {
            match codes.id(system, code) {
                Some(id) => {
                    out.insert((system, code.to_string()), id);
                }
                None if system == System::Icd10pcs && code.len() < 7 => {
                    prefixes.insert(code, (0, CodeId::MAX));
                }
                None => {}
            }
        }
        if !prefixes.is_empty() {
            for (id, c) in codes.iter() {
                if c.system != System::Icd10pcs || c.code.len() < 4 {
                    continue;
                }
                for len in 1..c.code.len() {
                    if let Some(best) = prefixes.get_mut(&c.code[..len]) {
                        let generality = c.code.chars().filter(|&ch| ch == 'Z').count() + 1;
                        if generality > best.0 || (generality == best.0 && id < best.1) {
                            *best = (generality, id);
                        }
                    }
                }
            }
            for (prefix, (generality, id)) in prefixes {
                if generality > 0 {
                    out.insert((System::Icd10pcs, prefix.to_string()), id);
                }
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    pub fn len(&self) -> usize {
        self.phrases.len()
    }

    pub fn load(path: &Path) -> Result<Associations> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::parse(path, format!("{e}; retrain with `chartcoder train`")))
    }

    /// Written with sorted keys, so retraining on the same data is byte-identical.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Command(e.to_string()))?;
        std::fs::write(path, text).map_err(|e| Error::io(path, e))
    }

    /// Every occurrence in the note of a learned phrase, one per (phrase occurrence, code).
    pub fn find(&self, note: &Note) -> Vec<LearnedMention> {
        if self.phrases.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for phrase in phrases(note, self.max_words.max(1)) {
            if let Some(list) = self.phrases.get(&phrase.text) {
                let id = phrase_id(&phrase.text);
                for a in list {
                    out.push(LearnedMention {
                        system: a.system,
                        code: a.code.clone(),
                        tokens: phrase.tokens.clone(),
                        sentence: phrase.sentence,
                        probability: a.probability,
                        support: a.support,
                        phrase: id,
                    });
                }
            }
        }
        out
    }
}

/// FNV-1a of the phrase text: stable across runs and platforms.
fn phrase_id(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

struct Phrase {
    text: String,
    tokens: Vec<usize>,
    sentence: usize,
}

fn is_word(norm: &str) -> bool {
    norm.chars().any(char::is_alphanumeric)
}

/// Phrases of up to `max_words` consecutive words within a sentence; a hyphen or slash
/// joins words ("x-ray"), other punctuation breaks a phrase. A phrase neither starts nor
/// ends on a stop word and is not only digits.
fn phrases(note: &Note, max_words: usize) -> Vec<Phrase> {
    let mut out = Vec::new();
    for (s, sentence) in note.sentences.iter().enumerate() {
        let mut run: Vec<usize> = Vec::new();
        let mut flush = |run: &mut Vec<usize>| {
            for start in 0..run.len() {
                for n in 1..=max_words.min(run.len() - start) {
                    let tokens = &run[start..start + n];
                    let words: Vec<&str> = tokens
                        .iter()
                        .map(|&t| note.tokens[t].norm.as_str())
                        .collect();
                    let first = words[0];
                    let last = words[n - 1];
                    if STOP_WORDS.contains(&first)
                        || STOP_WORDS.contains(&last)
                        || words.iter().all(|w| w.chars().all(|c| c.is_ascii_digit()))
                    {
                        continue;
                    }
                    out.push(Phrase {
                        text: words.join(" "),
                        tokens: tokens.to_vec(),
                        sentence: s,
                    });
                }
            }
            run.clear();
        };
        for t in sentence.tokens.clone() {
            let norm = note.tokens[t].norm.as_str();
            if is_word(norm) {
                run.push(t);
            } else if norm != "-" && norm != "/" {
                flush(&mut run);
            }
        }
        flush(&mut run);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gold(pairs: &[(&str, &[&str])]) -> HashMap<String, HashSet<(System, String)>> {
        pairs
            .iter()
            .map(|(id, codes)| {
                (
                    id.to_string(),
                    codes
                        .iter()
                        .map(|c| (System::Icd10pcs, c.to_string()))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn learns_a_phrase_that_predicts_a_code_and_finds_it_with_its_tokens() {
        let notes: Vec<(String, String)> = vec![
            ("1".into(), "A chest X-ray was normal.".into()),
            ("2".into(), "The chest X-ray showed an infiltrate.".into()),
            ("3".into(), "Chest pain at rest.".into()),
            ("4".into(), "An abdominal ultrasound was done.".into()),
        ];
        let g = gold(&[
            ("1", &["BW03ZZZ"]),
            ("2", &["BW03ZZZ"]),
            ("4", &["BW40ZZZ"]),
        ]);
        let learned = Associations::fit(&notes, &g, "test", &AssociationConfig::default());
        // "chest x ray" in 2 of 2 notes: 2 / 3; "chest" alone also in the pain note: 2 / 4.
        let best = &learned.phrases["chest x ray"][0];
        assert_eq!(best.code, "BW03ZZZ");
        assert!((best.probability - 2.0 / 3.0).abs() < 1e-6);
        assert!(!learned.phrases.contains_key("was"));
        // One note only: below the support threshold.
        assert!(learned
            .phrases
            .values()
            .flatten()
            .all(|a| a.code != "BW40ZZZ"));

        let note = Note::analyze("Admission: chest x-ray, clear.");
        let found = learned.find(&note);
        let xray = found
            .iter()
            .find(|m| m.tokens.len() == 3)
            .expect("the whole phrase is found");
        let (start, end) = (
            note.tokens[xray.tokens[0]].start,
            note.tokens[*xray.tokens.last().unwrap()].end,
        );
        assert_eq!(note.slice(start, end), "chest x-ray");
    }

    #[test]
    fn a_comma_breaks_a_phrase_and_stop_words_do_not_bound_one() {
        let note = Note::analyze("Chest, x ray of the abdomen");
        let texts: Vec<String> = phrases(&note, 3).into_iter().map(|p| p.text).collect();
        assert!(!texts.iter().any(|t| t.starts_with("chest x")));
        assert!(texts.contains(&"x ray".to_string()));
        assert!(!texts
            .iter()
            .any(|t| t.ends_with(" the") || t.starts_with("of ")));
    }
}
