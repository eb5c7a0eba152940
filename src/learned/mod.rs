//! Phrases learned from coded notes (see [`crate::associations`]), kept only where the
//! phrase states its code: a learned phrase adds a code when it says at least half of the
//! distinctive words of one of the code's own terms (directly, through a clinical
//! abbreviation's sense, or through the note-word ↔ title-word table `equivalents.tsv`),
//! and, for a procedure of a section with body parts, a word of its body part. Document-level
//! co-occurrences ("ordered" → a testicular cyst, "0 mg dl" → a lab code, "disease" → R69)
//! say nothing of the code and are left out, here and in training alike.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

use crate::associations::{Association, Associations};
use crate::candidates::{Learned, Mention};
use crate::codeset::{CodeId, CodeKind, CodeSet, System};
use crate::index::{is_filler, TermIndex};
use crate::lexicon::Abbreviations;
use crate::text::Note;

/// Words of a title no more telling than "disease": a shared word must be rarer than this
/// among the index's terms (inverse document frequency) to state a code. Below it lie
/// "disease", "acute", "chronic", "left", "other", "unspecified", "type", "stage".
pub const MIN_STATING_IDF: f32 = 5.0;

const EQUIVALENTS: &str = include_str!("equivalents.tsv");

/// note word → title words (unanalysed).
static EQUIVALENT_WORDS: LazyLock<HashMap<&'static str, Vec<&'static str>>> = LazyLock::new(|| {
    EQUIVALENTS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (word, title_words) = l.split_once('\t')?;
            Some((word.trim(), title_words.split_whitespace().collect()))
        })
        .collect()
});

/// Phrase–code associations with the codes they stand for in the loaded code sets.
pub struct LearnedPhrases {
    associations: Associations,
    ids: HashMap<(System, String), CodeId>,
    /// Links left out because the phrase does not state the code.
    unstated: usize,
}

impl LearnedPhrases {
    /// The associations that state their codes, resolved against the code sets.
    pub fn new(
        associations: Associations,
        codes: &CodeSet,
        index: &TermIndex,
        abbreviations: &Abbreviations,
    ) -> LearnedPhrases {
        let ids = associations.resolve(codes);
        let statement = Statements::new(codes, index, abbreviations, &ids);
        let mut unstated = 0;
        let mut phrases: BTreeMap<String, Vec<Association>> = BTreeMap::new();
        for (phrase, links) in associations.phrases {
            let kept: Vec<Association> = links
                .into_iter()
                .filter(|a| {
                    let stated = ids
                        .get(&(a.system, a.code.clone()))
                        .is_some_and(|&id| statement.states(&phrase, id));
                    unstated += usize::from(!stated);
                    stated
                })
                .collect();
            if !kept.is_empty() {
                phrases.insert(phrase, kept);
            }
        }
        LearnedPhrases {
            associations: Associations {
                phrases,
                ..associations
            },
            ids,
            unstated,
        }
    }

    /// Without the statement filter (all learned links), for comparison.
    pub fn unfiltered(associations: Associations, codes: &CodeSet) -> LearnedPhrases {
        let ids = associations.resolve(codes);
        LearnedPhrases {
            associations,
            ids,
            unstated: 0,
        }
    }

    pub fn associations(&self) -> &Associations {
        &self.associations
    }

    /// Links the statement filter left out.
    pub fn unstated(&self) -> usize {
        self.unstated
    }

    /// Learned mentions of the note, as mentions of codes of the code sets.
    pub fn mentions(&self, note: &Note) -> Vec<Mention> {
        self.associations
            .find(note)
            .into_iter()
            .filter_map(|m| {
                let code = *self.ids.get(&(m.system, m.code))?;
                let first = *m.tokens.first()?;
                Some(Mention {
                    term: u32::MAX,
                    code,
                    tokens: m.tokens,
                    sentence: m.sentence,
                    section: note.section_of_token(first),
                    coverage: 0.0,
                    words: 0,
                    subsumed: false,
                    learned: Some(Learned {
                        probability: m.probability,
                        support: m.support,
                        phrase: m.phrase,
                    }),
                    similarity: 0.0,
                    from_encoder: false,
                })
            })
            .collect()
    }
}

/// The distinctive words of each learned code's terms, and how a phrase's words map to
/// index words.
struct Statements<'a> {
    index: &'a TermIndex,
    abbreviations: &'a Abbreviations,
    /// Per code: the distinctive words of each of its terms, of its ancestors' terms (up
    /// to the category) and, for procedures, of its title.
    words: HashMap<CodeId, Vec<Vec<u32>>>,
    /// Per procedure of a section that names a body part (medical and surgical, imaging,
    /// nuclear medicine): the words of that body part and of the operation, both of which
    /// the phrase must say ("x ray" says no chest and "chest" no radiograph, so neither
    /// states a chest radiograph).
    body_parts: HashMap<CodeId, (HashSet<u32>, HashSet<u32>)>,
}

impl<'a> Statements<'a> {
    fn new(
        codes: &CodeSet,
        index: &'a TermIndex,
        abbreviations: &'a Abbreviations,
        ids: &HashMap<(System, String), CodeId>,
    ) -> Statements<'a> {
        let side = &index.side;
        // Each learned code and the codes whose terms speak for it.
        let mut speakers: HashMap<CodeId, Vec<CodeId>> = HashMap::new();
        for &id in ids.values() {
            let own = std::iter::once(id).chain(codes.ancestors(id).filter(|&a| {
                matches!(
                    codes.get(a).kind,
                    CodeKind::Code | CodeKind::SeventhCharacter
                )
            }));
            for speaker in own {
                speakers.entry(speaker).or_default().push(id);
            }
        }
        let distinctive =
            |w: u32| side.idf_of(w) >= MIN_STATING_IDF && !is_filler(&side.vocabulary[w as usize]);
        let mut words: HashMap<CodeId, Vec<Vec<u32>>> = HashMap::new();
        for term in &side.terms {
            let Some(learned) = speakers.get(&term.code) else {
                continue;
            };
            let telling: Vec<u32> = term
                .words
                .iter()
                .copied()
                .filter(|&w| distinctive(w))
                .collect();
            if telling.is_empty() {
                continue;
            }
            for &code in learned {
                words.entry(code).or_default().push(telling.clone());
            }
        }
        // PCS titles name the operation, body part and method in full.
        let analyzer = index.analyzer();
        let index_words = |text: &str| -> Vec<u32> {
            analyzer
                .words(text)
                .into_iter()
                .filter_map(|w| side.word_ids.get(&w).copied())
                .collect()
        };
        let mut body_parts: HashMap<CodeId, (HashSet<u32>, HashSet<u32>)> = HashMap::new();
        for &id in ids.values() {
            let code = codes.get(id);
            if code.system != System::Icd10pcs {
                continue;
            }
            let title_words: Vec<u32> = index_words(&code.title)
                .into_iter()
                .filter(|&w| distinctive(w))
                .collect();
            if !title_words.is_empty() {
                words.entry(id).or_default().push(title_words);
            }
            let names_body_part = matches!(code.code.chars().next(), Some('0' | 'B' | 'C'));
            if !names_body_part {
                continue;
            }
            // "Plain Radiography of Chest", "Excision of Liver, Open Approach": the
            // operation before " of ", the body part after it (the tables' body-part
            // meaning where they describe the code).
            let (operation, part_in_title) = match code.title.split_once(" of ") {
                Some((op, rest)) => (op, rest.split([',']).next().unwrap_or(rest)),
                None => continue,
            };
            let part_in_title = part_in_title
                .split(" using ")
                .next()
                .unwrap_or(part_in_title);
            let body_part = code
                .axes
                .as_ref()
                .and_then(|a| a[3].meaning.as_deref())
                .unwrap_or(part_in_title);
            let telling = |text: &str| -> HashSet<u32> {
                index_words(text)
                    .into_iter()
                    .filter(|&w| {
                        let v = side.vocabulary[w as usize].as_str();
                        !is_filler(v) && !matches!(v, "right" | "left" | "bilater")
                    })
                    .collect()
            };
            let (part, op) = (telling(body_part), telling(operation));
            if !part.is_empty() && !op.is_empty() {
                body_parts.insert(id, (part, op));
            }
        }
        Statements {
            index,
            abbreviations,
            words,
            body_parts,
        }
    }

    /// Index words a phrase says: its own words, the senses of its abbreviations and the
    /// title words of `equivalents.tsv`.
    fn phrase_words(&self, phrase: &str) -> HashSet<u32> {
        let side = &self.index.side;
        let analyzer = self.index.analyzer();
        let mut out = HashSet::new();
        let mut add = |text: &str| {
            for w in analyzer.words(text) {
                if let Some(&id) = side.word_ids.get(&w) {
                    out.insert(id);
                }
            }
        };
        for word in phrase.split(' ') {
            add(word);
            for sense in self.abbreviations.senses(word).iter().take(3) {
                add(sense);
            }
            if let Some(title_words) = EQUIVALENT_WORDS.get(word) {
                for t in title_words {
                    add(t);
                }
            }
        }
        out
    }

    fn states(&self, phrase: &str, code: CodeId) -> bool {
        let Some(code_words) = self.words.get(&code) else {
            return false;
        };
        let said = self.phrase_words(phrase);
        // At least half of some term's telling words: "community acquired pneumonia" shares
        // "acquired" with "acquired immune deficiency syndrome" and states no HIV disease.
        let states_a_term = code_words.iter().any(|term| {
            let shared = term.iter().filter(|w| said.contains(w)).count();
            shared > 0 && 2 * shared >= term.len()
        });
        states_a_term
            && self.body_parts.get(&code).is_none_or(|(part, operation)| {
                said.iter().any(|w| part.contains(w)) && said.iter().any(|w| operation.contains(w))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::EQUIVALENT_WORDS;

    #[test]
    fn the_equivalents_table_parses() {
        assert_eq!(EQUIVALENT_WORDS["xray"], ["radiography"]);
        assert!(EQUIVALENT_WORDS.len() > 50);
    }
}
