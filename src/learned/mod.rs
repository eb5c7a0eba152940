//! Phrases learned from coded notes (see [`crate::associations`]), used only where the
//! phrase's sentence states its code: a learned phrase adds a code when its sentence says
//! at least half of the distinctive words of one of the code's own terms (directly, through
//! a clinical abbreviation's sense, or through the note-word ↔ title-word table
//! `equivalents.tsv`) and, for a procedure of a section with body parts, a word of the
//! operation and one of the body part. Document-level co-occurrences ("ordered" → a
//! testicular cyst, "0 mg dl" → a lab code, "disease" → R69) say nothing of the code and
//! are left out, in suggestions and in training alike.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use crate::associations::Associations;
use crate::candidates::{Learned, Mention, TokenWords};
use crate::codeset::{CodeId, CodeKind, CodeSet, System};
use crate::index::{is_filler, TermIndex};
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
    /// What each code's terms say, to check that a phrase's sentence states it; `None`:
    /// every learned link counts (for comparison).
    statements: Option<Statements>,
}

impl LearnedPhrases {
    /// The associations, each used only where its sentence states its code. `site`: the
    /// matcher's site words ([`crate::candidates::Matcher::site_words`]).
    pub fn new(
        associations: Associations,
        codes: &CodeSet,
        index: &TermIndex,
        site: &[bool],
    ) -> LearnedPhrases {
        let ids = associations.resolve(codes);
        let statements = Statements::new(codes, index, &ids, site);
        LearnedPhrases {
            associations,
            ids,
            statements: Some(statements),
        }
    }

    /// Without the statement check (every learned link), for comparison.
    pub fn unfiltered(associations: Associations, codes: &CodeSet) -> LearnedPhrases {
        let ids = associations.resolve(codes);
        LearnedPhrases {
            associations,
            ids,
            statements: None,
        }
    }

    pub fn associations(&self) -> &Associations {
        &self.associations
    }

    /// Learned mentions of the note whose sentence states their code, as mentions of codes
    /// of the code sets. `token_words`: the index words at each token (see
    /// [`crate::candidates::Matcher::token_words`]).
    pub fn mentions(&self, note: &Note, token_words: &[TokenWords]) -> Vec<Mention> {
        let mut sentence_words: HashMap<usize, HashSet<u32>> = HashMap::new();
        self.associations
            .find(note)
            .into_iter()
            .filter_map(|m| {
                let code = *self.ids.get(&(m.system, m.code.clone()))?;
                // A procedure only ordered or planned is not a procedure performed.
                if m.system == System::Icd10pcs
                    && crate::procedures::guarded(note, *m.tokens.first()?, *m.tokens.last()?)
                {
                    return None;
                }
                if let Some(statements) = &self.statements {
                    let said = sentence_words.entry(m.sentence).or_insert_with(|| {
                        statements.sentence_words(note, m.sentence, token_words)
                    });
                    if !statements.states(said, code) {
                        return None;
                    }
                }
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

/// A term's distinctive words, and its words that name the condition rather than its site
/// (any rarity; empty for a procedure title).
type Telling = (Vec<u32>, Vec<u32>);

/// The distinctive words of each learned code's terms, and the index words of note words
/// through `equivalents.tsv`.
struct Statements {
    /// Per code: the distinctive words of each of its terms, of its ancestors' terms (up
    /// to the category) and, for procedures, of its title; for a diagnosis, with the term's
    /// condition words.
    words: HashMap<CodeId, Vec<Telling>>,
    /// Per procedure of a section that names a body part (medical and surgical, imaging,
    /// nuclear medicine): the words of that body part and of the operation, both of which
    /// the sentence must say ("X-ray shows a fracture of the radius" says no chest, so it
    /// states no chest radiograph).
    body_parts: HashMap<CodeId, (HashSet<u32>, HashSet<u32>)>,
    /// Note word (token norm) → index words of the title words it stands for.
    equivalents: HashMap<&'static str, Vec<u32>>,
    /// The learned codes that are procedures.
    procedures: HashSet<CodeId>,
    /// Per learned code whose title names a side ("right", "left"): that side's words. A
    /// learned phrase never supplies a side: the sentence must say it ("breast" learned as
    /// C50.912 "... left female breast" is no statement of a right breast cancer).
    sides: HashMap<CodeId, Vec<u32>>,
    /// Per learned diagnosis whose title has a word no partial reading lacks
    /// ([`crate::candidates::NEVER_UNSAID`]: "congenital", "subsequent"): those words, which
    /// the sentence must say ("aortic stenosis" learned as Q23.0 is no congenital stenosis).
    never_unsaid: HashMap<CodeId, Vec<u32>>,
}

impl Statements {
    fn new(
        codes: &CodeSet,
        index: &TermIndex,
        ids: &HashMap<(System, String), CodeId>,
        site: &[bool],
    ) -> Statements {
        let side = &index.side;
        let analyzer = index.analyzer();
        let index_words = |text: &str| -> Vec<u32> {
            analyzer
                .words(text)
                .into_iter()
                .filter_map(|w| side.word_ids.get(&w).copied())
                .collect()
        };
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
        let mut words: HashMap<CodeId, Vec<Telling>> = HashMap::new();
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
            // What the term says is wrong, whatever its rarity: "dilatation" of "Cardiac
            // dilatation", "disease" of "Disease, heart". A sentence that names only the
            // site ("echocardiogram": the heart) states neither, nor one that names only
            // the side ("both eyes" is no H54.3 "Unqualified visual loss, both eyes").
            let condition: Vec<u32> = term
                .words
                .iter()
                .copied()
                .filter(|&w| !site.get(w as usize).copied().unwrap_or(false))
                .filter(|&w| {
                    let v = side.vocabulary[w as usize].as_str();
                    !is_filler(v) || matches!(v, "diseas" | "disord" | "condit")
                })
                .filter(|&w| {
                    !matches!(
                        side.vocabulary[w as usize].as_str(),
                        "right" | "left" | "bilater" | "both" | "unspecifi"
                    )
                })
                .collect();
            for &code in learned {
                words
                    .entry(code)
                    .or_default()
                    .push((telling.clone(), condition.clone()));
            }
        }
        let mut body_parts: HashMap<CodeId, (HashSet<u32>, HashSet<u32>)> = HashMap::new();
        for &id in ids.values() {
            let code = codes.get(id);
            if code.system != System::Icd10pcs {
                continue;
            }
            // PCS titles name the operation, body part and method in full.
            let title_words: Vec<u32> = index_words(&code.title)
                .into_iter()
                .filter(|&w| distinctive(w))
                .collect();
            if !title_words.is_empty() {
                words.entry(id).or_default().push((title_words, Vec::new()));
            }
            if !matches!(code.code.chars().next(), Some('0' | 'B' | 'C')) {
                continue;
            }
            // "Plain Radiography of Chest", "Excision of Liver, Open Approach": the
            // operation before " of ", the body part after it (the tables' body-part
            // meaning where they describe the code).
            // Titles without " of " ("Repair Right Inguinal Region, Open Approach") name
            // them through the tables' axes: root operation (3rd) and body part (4th).
            let axis = |k: usize| code.axes.as_ref().and_then(|a| a[k].meaning.as_deref());
            let (operation, part_in_title) = match code.title.split_once(" of ") {
                Some((operation, rest)) => {
                    let part = rest.split(',').next().unwrap_or(rest);
                    (operation, part.split(" using ").next().unwrap_or(part))
                }
                None => match (axis(2), axis(3)) {
                    (Some(operation), Some(part)) => (operation, part),
                    _ => continue,
                },
            };
            let body_part = axis(3).unwrap_or(part_in_title);
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
        let equivalents = EQUIVALENT_WORDS
            .iter()
            .map(|(word, title_words)| {
                let ids: Vec<u32> = title_words.iter().flat_map(|t| index_words(t)).collect();
                (*word, ids)
            })
            .collect();
        let procedures = ids
            .values()
            .copied()
            .filter(|&id| codes.get(id).system == System::Icd10pcs)
            .collect();
        let side_words: Vec<u32> = ["right", "left"]
            .iter()
            .flat_map(|w| index_words(w))
            .collect();
        // Per learned diagnosis, the words of `wanted` its title names.
        let named_in_titles = |wanted: &[u32]| -> HashMap<CodeId, Vec<u32>> {
            ids.values()
                .filter(|&&id| codes.get(id).system == System::Icd10cm)
                .filter_map(|&id| {
                    let named: Vec<u32> = index_words(&codes.get(id).title)
                        .into_iter()
                        .filter(|w| wanted.contains(w))
                        .collect();
                    (!named.is_empty()).then_some((id, named))
                })
                .collect()
        };
        // Diagnoses only: a procedure's side is often stated in another sentence of the
        // operative note (measured: requiring it in the phrase's sentence cost CodiEsp dev
        // procedures MAP 0.010).
        let sides = named_in_titles(&side_words);
        let never_unsaid_words: Vec<u32> = crate::candidates::NEVER_UNSAID
            .iter()
            .flat_map(|w| index_words(w))
            .collect();
        let never_unsaid = named_in_titles(&never_unsaid_words);
        Statements {
            never_unsaid,
            words,
            body_parts,
            equivalents,
            procedures,
            sides,
        }
    }

    /// Index words a sentence says: its tokens' words and abbreviation senses, and the
    /// title words of `equivalents.tsv`.
    fn sentence_words(
        &self,
        note: &Note,
        sentence: usize,
        token_words: &[TokenWords],
    ) -> HashSet<u32> {
        let mut out = HashSet::new();
        let Some(range) = note.sentences.get(sentence).map(|s| s.tokens.clone()) else {
            return out;
        };
        for i in range {
            if let Some(words) = token_words.get(i) {
                out.extend(words.ids.iter().copied());
            }
            if let Some(ids) = note
                .tokens
                .get(i)
                .and_then(|t| self.equivalents.get(t.norm.as_str()))
            {
                out.extend(ids.iter().copied());
            }
        }
        out
    }

    /// Does a sentence saying `said` state the code? At least half of the telling words of
    /// one of its terms (one, for a procedure) ("community-acquired pneumonia" shares only
    /// "acquired" with "acquired immune deficiency syndrome": no HIV disease); for a
    /// diagnosis, a word of that term's condition, not its site alone ("echocardiogram"
    /// says the heart, no "Cardiac dilatation"); for a procedure with a body part, a word
    /// of the operation and one of the body part.
    fn states(&self, said: &HashSet<u32>, code: CodeId) -> bool {
        let Some(code_words) = self.words.get(&code) else {
            return false;
        };
        // Procedure titles spell out every axis ("Respiratory Ventilation, Less than 24
        // Consecutive Hours"): one telling word of the title, with the operation and body
        // part below where the section has them, states a procedure.
        let needed = |len: usize| {
            if self.procedures.contains(&code) {
                1
            } else {
                len.div_ceil(2)
            }
        };
        let states_a_term = code_words.iter().any(|(term, condition)| {
            let shared = term.iter().filter(|w| said.contains(w)).count();
            // A term of site words only ("Pelvic kidney") is stated in full.
            let condition_said = self.procedures.contains(&code)
                || if condition.is_empty() {
                    shared == term.len()
                } else {
                    condition.iter().any(|w| said.contains(w))
                };
            shared > 0 && shared >= needed(term.len()) && condition_said
        });
        states_a_term
            && self.body_parts.get(&code).is_none_or(|(part, operation)| {
                said.iter().any(|w| part.contains(w)) && said.iter().any(|w| operation.contains(w))
            })
            && self
                .sides
                .get(&code)
                .is_none_or(|sides| sides.iter().any(|w| said.contains(w)))
            && self
                .never_unsaid
                .get(&code)
                .is_none_or(|words| words.iter().all(|w| said.contains(w)))
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
