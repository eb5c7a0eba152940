//! Mentions: index terms found in a note's sentences, tolerant to word order, inflection and
//! abbreviations. Every index term's content words are looked up in an in-memory inverted
//! list built once from the index's side table, so a note costs one pass over its words.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use crate::codeset::{CodeId, CodeKind, CodeSet, System};
use crate::index::{is_filler, TermIndex};
use crate::lexicon::Abbreviations;
use crate::text::{in_time_expression, Note};

/// Flags of `Matcher::term_flags`.
const SIDED: u8 = 1;
const HAS_UNLESS: u8 = 2;
const DENIED_CLAUSE: u8 = 4;
const PROCEDURE: u8 = 8;
const SAYS_WITH: u8 = 16;
const SAYS_DENIAL: u8 = 32;

/// Approach and device words of PCS titles, and "using", which only joins a value to the
/// rest ("... of Abdomen using Other Contrast": a note says "with contrast").
fn is_pcs_axis_word(word: &str) -> bool {
    matches!(
        word,
        "approach"
            | "open"
            | "percutan"
            | "endoscop"
            | "extern"
            | "via"
            | "natur"
            | "artifici"
            | "opening"
            | "devic"
            | "infus"
            | "substitut"
            | "autolog"
            | "synthet"
            | "nonautolog"
            | "tissu"
            | "into"
            | "use"
    )
}

/// A term found in a sentence.
#[derive(Clone, Debug)]
pub struct Mention {
    pub term: u32,
    pub code: CodeId,
    /// Token indices (into `Note::tokens`) of the words that matched, ascending.
    pub tokens: Vec<usize>,
    pub sentence: usize,
    pub section: crate::text::Section,
    /// Share of the term's weight found in the sentence, in [0, 1].
    pub coverage: f32,
    /// Matched content words of the term (more words: a more specific mention).
    pub words: usize,
    /// Lies inside a longer, compact mention of the same sentence ("pain" in "abdominal
    /// pain"): kept as a weaker candidate, for the ranker to weigh.
    pub subsumed: bool,
    /// Found by a phrase learned from coded notes, not by the code's own terms.
    pub learned: Option<Learned>,
    /// Cosine of the mention's text and the term's embedding (0 when not computed).
    pub similarity: f32,
    /// Found as the sentence encoder's nearest term to another mention's text.
    pub from_encoder: bool,
}

/// What a learned phrase says of its code (see `crate::associations`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Learned {
    pub probability: f32,
    pub support: u32,
    /// Which phrase (see `LearnedMention::phrase`).
    pub phrase: u64,
}

/// The `term` of a mention found by a statement finder (drug therapy, procedure
/// composer) rather than by one of the index's terms.
pub const NOT_AN_INDEX_TERM: u32 = u32::MAX;

impl Mention {
    /// A mention that states its code in full from a finder other than the index's terms
    /// (all of its words found: coverage 1).
    pub fn stated(code: CodeId, tokens: Vec<usize>, sentence: usize, note: &Note) -> Mention {
        let section = note.section_of_token(tokens.first().copied().unwrap_or(0));
        Mention {
            term: NOT_AN_INDEX_TERM,
            code,
            words: tokens.len(),
            tokens,
            sentence,
            section,
            coverage: 1.0,
            subsumed: false,
            learned: None,
            similarity: 0.0,
            from_encoder: false,
        }
    }

    /// Found by the words of one of the code's own terms.
    pub fn is_term(&self) -> bool {
        self.learned.is_none() && !self.from_encoder
    }

    pub fn first(&self) -> usize {
        self.tokens.first().copied().unwrap_or(0)
    }
    pub fn last(&self) -> usize {
        self.tokens.last().copied().unwrap_or(0)
    }
}

/// The analysed word ids at one token: its own word (if in the vocabulary), then the words
/// of its senses when it is an abbreviation.
#[derive(Clone, Debug, Default)]
pub struct TokenWords {
    pub ids: Vec<u32>,
    /// `ids[..own]` is the token's own word; the rest come from abbreviation senses.
    pub own: usize,
    /// The word ids of each sense, in the inventory's order.
    pub senses: Vec<Vec<u32>>,
}

impl TokenWords {
    /// Do the words a term takes from this token's senses stand for one whole sense? A
    /// sense of one word is taken whole by that word; a longer sense needs two of its words
    /// ("COPD" lends "chronic" only together with more of "chronic obstructive pulmonary
    /// disease").
    fn sense_supplied(&self, supplied: &[u32]) -> bool {
        self.senses.iter().any(|sense| {
            supplied.iter().all(|w| sense.contains(w)) && supplied.len() >= sense.len().min(2)
        })
    }
}

/// Inverted lists over the content words of every index term.
pub struct Matcher {
    /// Content word id -> terms containing it.
    postings: Vec<Vec<u32>>,
    /// Per term: its content words.
    content: Vec<Box<[u32]>>,
    /// Per term: the content words of its "without ..." clause (see [`without_clause`]).
    without: Vec<Box<[u32]>>,
    /// Terms whose title joins two of its content words with "and"/"or" (I.A.14): either
    /// word of a pair states the pair (see [`crate::lexicon::title_alternatives`]).
    alternatives: HashMap<u32, Box<[(u32, u32)]>>,
    /// Terms whose title is not read where the sentence says one of these words (the
    /// other choice of a default: "nondisplaced" for "Displaced fracture ...").
    unless: HashMap<u32, Box<[u32]>>,
    /// Terms whose "without ..." clause is not the default: the note says it, so its words
    /// must stand denied ("without psychotic features" for F32.2).
    denied_clause: HashMap<u32, Box<[u32]>>,
    /// Per term: [`SIDED`] (an ICD-10-CM term naming a side: "right", "left",
    /// "bilateral"), [`HAS_UNLESS`] (an entry in `unless`) and [`DENIED_CLAUSE`] (an entry
    /// in `denied_clause`), [`PROCEDURE`] (an ICD-10-PCS term) and [`SAYS_WITH`] ("with"
    /// is one of its words to find).
    term_flags: Vec<u8>,
    /// Words a partial reading never lacks (see [`NEVER_UNSAID`]).
    never_unsaid: Vec<u32>,
    /// Per term: how many pairs of alternatives it has (its entry in `alternatives`).
    pair_count: Vec<u8>,
    side_words: Vec<u32>,
    /// The word ids of "without" and "not", if the vocabulary has them.
    without_word: Option<u32>,
    not_word: Option<u32>,
    with_word: Option<u32>,
    /// Per vocabulary word: does some term's "without" clause have it?
    in_clause: Vec<bool>,
    /// Per vocabulary word: is it what a title's disorder is "of" (see [`site_words`])?
    site: Vec<bool>,
    /// Words an ICD-10-CM title puts after a comma (see
    /// [`CodeSet::title_qualifiers`]): a denial does not reach past a comma before one.
    title_qualifiers: HashSet<String>,
    /// Per vocabulary word: a site, or a word the Alphabetic Index sends to the condition
    /// ("Antrum, antral - see condition"): a reading of such words alone names no
    /// condition.
    no_condition: Vec<bool>,
    /// Codes whose tabular Excludes1 sends the localized form elsewhere ("localized pain,
    /// unspecified type - code to pain by site": R52), not read beside a site word.
    localized_elsewhere: HashSet<CodeId>,
    /// Per vocabulary word: a generic head ("disease", "disorder", "condition"), a filler
    /// in matching.
    generic_head: Vec<bool>,
}

/// Words naming where, not what: those after "Disorder(s) of", "Disease(s) of", "Injury
/// of" ... in the ICD-10-CM titles ("bone", "muscle", "skin", "urinary", "artery"), and the
/// body parts of the ICD-10-PCS Medical and Surgical tables (4th axis: "Testis, Left",
/// "Cecum", "Aortic Valve"), with the organ adjectives the analyzer maps to them
/// ("testicular", "renal"). A reading made of such words alone, lacking its term's
/// condition word, says where but no condition ("bone" is not M89.9 "Disorder of bone,
/// unspecified"; "testicular neoplasia" is no "Disease, testis" N50.9).
fn site_words(codes: &CodeSet, index: &TermIndex) -> Vec<bool> {
    const HEADS: &[&str] = &[
        "disorder of ",
        "disorders of ",
        "disease of ",
        "diseases of ",
        "abnormality of ",
        "abnormalities of ",
        "anomaly of ",
        "anomalies of ",
        "malformation of ",
        "malformations of ",
        "deformity of ",
        "lesion of ",
        "injury of ",
    ];
    const STOPS: &[&str] = &[
        "complicating",
        "at",
        "of",
        "in",
        "with",
        "without",
        "and",
        "or",
        "due",
        "following",
    ];
    const NOT_SITES: &[&str] = &["unspecified", "other", "specified", "part", "site", "sites"];
    let analyzer = index.analyzer();
    let mut site = vec![false; index.side.vocabulary.len()];
    for (_, code) in codes.iter().filter(|(_, c)| c.system == System::Icd10cm) {
        let title = code.title.to_ascii_lowercase();
        let title = title
            .strip_prefix("other ")
            .or_else(|| title.strip_prefix("unspecified "))
            .unwrap_or(&title);
        let Some(rest) = HEADS.iter().find_map(|h| title.strip_prefix(h)) else {
            continue;
        };
        // Up to the first comma: "Disorder of bone, unspecified".
        let rest = rest.split(',').next().unwrap_or(rest);
        let rest = rest.strip_prefix("the ").unwrap_or(rest);
        for word in rest
            .split(|c: char| !c.is_alphanumeric())
            .take_while(|w| !STOPS.contains(w))
            .filter(|w| !w.is_empty() && !NOT_SITES.contains(w))
        {
            // A filler ("to" of "... to the breast") names no place.
            if let Some(&id) = analyzer
                .word(word)
                .filter(|w| !is_filler(w))
                .and_then(|w| index.side.word_ids.get(&w))
            {
                site[id as usize] = true;
            }
        }
    }
    // Functions an examination reports on, normal or not: "sinus rhythm" is no "Rhythm,
    // disorder" (I49.9), "reflexes preserved" no "Reflex, abnormal" (R29.2), "gait" no
    // "Abnormality, gait" (R26.89). Like a site, such a word alone states no disorder.
    const FUNCTIONS: &[&str] = &[
        "rhythm",
        "reflex",
        "gait",
        "function",
        "sleep",
        "speech",
        "appetite",
        "tone",
        "sensation",
    ];
    for word in FUNCTIONS.iter().filter_map(|w| analyzer.word(w)) {
        if let Some(&id) = index.side.word_ids.get(&word) {
            site[id as usize] = true;
        }
    }
    // Body-part words the analyzer makes condition words: "Cystic Duct" (→ "cyst"),
    // "Hemorrhoidal Plexus" (→ "hemorrhoid").
    const CONDITIONS: &[&str] = &["cyst", "hemorrhoid"];
    let conditions: Vec<String> = CONDITIONS.iter().filter_map(|w| analyzer.word(w)).collect();
    let mut body_parts: HashSet<&str> = HashSet::new();
    for (_, code) in codes.iter().filter(|(_, c)| c.system == System::Icd10pcs) {
        if !code.code.starts_with('0') {
            continue;
        }
        if let Some(part) = code.axes.as_ref().and_then(|a| a[3].meaning.as_deref()) {
            body_parts.insert(part);
        }
    }
    for part in body_parts {
        for word in analyzer.words(part) {
            if is_filler(&word)
                || matches!(word.as_str(), "right" | "left" | "bilater")
                || conditions.contains(&word)
            {
                continue;
            }
            if let Some(&id) = index.side.word_ids.get(&word) {
                site[id as usize] = true;
            }
        }
    }
    site
}

/// Words common in the code set (so a partial reading could lack them) that change what a
/// title says: I22 "Subsequent ST elevation (STEMI) ... myocardial infarction" is a new
/// infarction within four weeks of an earlier one (I.C.9.e.4), which the note must say; an
/// "inferior wall STEMI" is I21.19. A congenital malformation is congenital because the
/// record says so (I.C.17): "severe aortic stenosis" is I35.0, not Q23.0 "Congenital
/// stenosis of aortic valve".
pub(crate) const NEVER_UNSAID: &[&str] = &["subsequent", "congenital"];

/// Nouns a title's "without"/"not" clause takes an "of" object after (the clause goes on
/// past "of"): all of them in the FY2026 ICD-10-CM titles.
const RELATIONAL_NOUNS: &[&str] = &[
    "loss",
    "evidence",
    "mention",
    "complications",
    "signs",
    "specification",
    "involvement",
    "diagnosis",
    "disruption",
    "because",
    "unavailability",
];

/// The words a title puts only in parentheses: nonessential modifiers (I.A.7), "acute" of
/// "Chronic obstructive pulmonary disease with (acute) exacerbation".
fn nonessential_words(title: &str, index: &TermIndex) -> Vec<u32> {
    if !title.contains('(') {
        return Vec::new();
    }
    let essential = index
        .analyzer()
        .words(&crate::lexicon::strip_nonessential(title));
    index
        .analyzer()
        .words(title)
        .iter()
        .filter(|w| !essential.contains(w))
        .filter_map(|w| index.side.word_ids.get(w).copied())
        .collect()
}

/// The condition words of a "... due to X" title that an inclusion term naming only the
/// cause lacks (at most one word of the term beyond the cause's: the species of
/// "Pseudomonas aeruginosa"); empty when the term says the condition or more than that.
fn cause_only_condition(
    title: &str,
    term_words: &[u32],
    index: &TermIndex,
    is_content: &[bool],
) -> Vec<u32> {
    let lower = title.to_ascii_lowercase();
    let Some((condition, cause)) = lower.split_once(" due to ") else {
        return Vec::new();
    };
    let ids = |text: &str| -> Vec<u32> {
        index
            .analyzer()
            .words(text)
            .iter()
            .filter_map(|w| index.side.word_ids.get(w).copied())
            .filter(|&w| is_content.get(w as usize).copied().unwrap_or(false))
            .collect()
    };
    let (condition, cause) = (ids(condition), ids(cause));
    let shares_cause = term_words.iter().any(|w| cause.contains(w));
    let beyond_cause = term_words.iter().filter(|w| !cause.contains(w)).count();
    let says_condition = term_words.iter().any(|w| condition.contains(w));
    if shares_cause && beyond_cause <= 1 && !says_condition {
        condition
    } else {
        Vec::new()
    }
}

/// A term's words split at its "without"/"not" clauses (a clause runs to the next "with"
/// or "in"): (the words outside them, the words inside them).
fn split_at_clauses(
    words: &[u32],
    opens: [Option<u32>; 2],
    closes: [Option<u32>; 2],
) -> (Vec<u32>, Vec<u32>) {
    let mut inside = false;
    let (mut affirmed, mut denied) = (Vec::new(), Vec::new());
    for &w in words {
        if opens.contains(&Some(w)) {
            inside = true;
        } else if closes.contains(&Some(w)) {
            inside = false;
        }
        if !inside {
            affirmed.push(w);
        } else if !opens.contains(&Some(w)) {
            denied.push(w);
        }
    }
    (affirmed, denied)
}

/// The words of a title's "without ..." clause. Where the clause is the default, a note
/// states it by not mentioning X (I.A.15 and the Index's defaults: "acute cystitis" is
/// N30.00 "Acute cystitis without hematuria", "GERD" is K21.9 "... without esophagitis");
/// elsewhere the note must deny them. The clause runs from "without" to the next
/// comma, "in" or "with" ("... without complications in remission": "remission" stays
/// required).
fn title_clause(title: &str, index: &TermIndex, relational: &[String]) -> Vec<u32> {
    let lower = title.to_ascii_lowercase();
    let mut words = Vec::new();
    // Every clause: "Laceration without foreign body of right index finger without damage
    // to nail" has two.
    // "Do not resuscitate" (Z66) negates its own verb: no clause there.
    let starts = ["without ", "not "].into_iter().flat_map(|starter| {
        lower
            .match_indices(starter)
            .map(|(i, _)| i)
            .filter(|&i| i == 0 || !lower.as_bytes()[i - 1].is_ascii_alphanumeric())
            .filter(|&i| {
                !lower[..i]
                    .trim_end()
                    .rsplit(' ')
                    .next()
                    .is_some_and(|w| matches!(w, "do" | "does" | "did"))
            })
    });
    for at in starts {
        let before = index.analyzer().words(&lower[..at]);
        let rest = &lower[at..];
        let end = rest.find([',', ';', '(']).unwrap_or(rest.len());
        let clause = index.analyzer().words(&rest[..end]);
        // "of" opens the title's site ("without foreign body of left index finger") except
        // after the nouns whose object it is: every such "without/not ... of" of the
        // ICD-10-CM titles ("without loss of consciousness", "without evidence of ...").
        for (i, w) in clause.iter().enumerate() {
            if i > 0 && (w == "in" || w == "with") {
                break;
            }
            if i > 1 && w == "of" && !relational.contains(&clause[i - 1]) {
                break;
            }
            // A word the title states before the clause stays required ("with
            // hyperosmolarity without ... hyperosmolar coma").
            if !before.contains(w) {
                words.extend(index.side.word_ids.get(w).copied());
            }
        }
    }
    words
}

/// Per category (3-character code): the title words of its billable codes that are
/// "unspecified" as to the category's condition (each code between it and the category is
/// unspecified too: M75.90 under M75.9 "Shoulder lesion, unspecified"; G43.909 "Migraine,
/// unspecified, not intractable, without status migrainosus" under G43.90 and G43.9). A
/// "without" clause whose words such a code does not say is a finding the note must state,
/// not a default: the Index's "Migraine" is G43.909, so "without aura" (G43.009) must be
/// said, as must "without rheumatoid factor" (M06.0-) beside M06.9 "Rheumatoid arthritis,
/// unspecified". Where the unspecified code says the clause itself, it is the default
/// (K50.90 "Crohn's disease, unspecified, without complications": K50.00 "... of small
/// intestine without complications"). E10.A0 "Type 1 diabetes mellitus, presymptomatic,
/// unspecified" is a presymptomatic diabetes, not one unspecified as to the category. See
/// also [`unspecified_beside`].
fn unspecified_titles(codes: &CodeSet, index: &TermIndex) -> HashMap<CodeId, Vec<HashSet<u32>>> {
    let says_unspecified = |id: CodeId| {
        codes
            .get(id)
            .title
            .to_ascii_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w == "unspecified")
    };
    let mut titles: HashMap<CodeId, Vec<HashSet<u32>>> = HashMap::new();
    for (id, c) in codes.iter() {
        if !c.billable || c.system != System::Icd10cm || !says_unspecified(id) {
            continue;
        }
        let Some(category) = category_of(codes, id) else {
            continue;
        };
        let unspecified_throughout = codes
            .ancestors(id)
            .take_while(|&a| a != category)
            .all(says_unspecified);
        // The condition itself unspecified: "Rheumatoid arthritis, unspecified", or named
        // plainly and then unspecified before its other axes ("Migraine, unspecified, not
        // intractable, ..."); not "Type 1 diabetes mellitus, presymptomatic, unspecified",
        // nor "Rheumatoid arthritis with rheumatoid factor, unspecified" (M05.9), whose
        // condition has a "with" of its own.
        let condition_unspecified = plain_unspecified(c) || {
            let lower = c.title.to_ascii_lowercase();
            let mut clauses = lower.split(',');
            let named = clauses.next().unwrap_or_default();
            !named
                .split(|ch: char| !ch.is_alphanumeric())
                .any(|w| matches!(w, "with" | "without" | "not"))
                && clauses
                    .next()
                    .is_some_and(|clause| clause.trim() == "unspecified")
        };
        if unspecified_throughout && condition_unspecified {
            let words = index
                .analyzer()
                .words(&c.title)
                .iter()
                .filter_map(|w| index.side.word_ids.get(w.as_str()).copied())
                .collect();
            titles.entry(category).or_default().push(words);
        }
    }
    titles
}

/// "Unspecified", and nothing with or without.
fn plain_unspecified(code: &crate::codeset::Code) -> bool {
    let title = code.title.to_ascii_lowercase();
    let words: Vec<&str> = title.split(|c: char| !c.is_alphanumeric()).collect();
    words.contains(&"unspecified")
        && !words
            .iter()
            .any(|w| matches!(*w, "with" | "without" | "not"))
}

/// A reportable plain unspecified code beside `id` or beside one of its ancestors below the
/// category (R11.10 "Vomiting, unspecified" beside R11.11 "Vomiting without nausea": the
/// Index's "Vomiting" is R11.10, so "without nausea" is a finding, not the default).
fn unspecified_beside(codes: &CodeSet, id: CodeId) -> bool {
    let reportable = |k: CodeId| {
        let c = codes.get(k);
        c.billable
            || c.children
                .iter()
                .any(|&g| codes.get(g).kind == CodeKind::SeventhCharacter)
    };
    let mut node = id;
    while let Some(parent) = codes.get(node).parent {
        let p = codes.get(parent);
        if p.kind != CodeKind::Code || p.code.len() <= 3 {
            break;
        }
        if p.children.iter().any(|&c| {
            c != node
                && codes.get(c).kind == CodeKind::Code
                && reportable(c)
                && plain_unspecified(codes.get(c))
        }) {
            return true;
        }
        node = parent;
    }
    false
}

fn category_of(codes: &CodeSet, id: CodeId) -> Option<CodeId> {
    std::iter::once(id)
        .chain(codes.ancestors(id))
        .find(|&a| codes.get(a).kind == CodeKind::Code && codes.get(a).code.len() == 3)
}

impl Matcher {
    /// "without" or "not": the word that opens a title's default clause.
    fn starts_clause(&self, w: u32) -> bool {
        Some(w) == self.without_word || Some(w) == self.not_word
    }
}

thread_local! {
    /// Per-thread match counters, sized to the number of terms and reused across notes.
    static COUNTS: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Matcher {
    pub fn new(index: &TermIndex, codes: &CodeSet) -> Matcher {
        let side = &index.side;
        let is_content: Vec<bool> = side.vocabulary.iter().map(|w| !is_filler(w)).collect();
        let is_generic = |w: &str| {
            matches!(
                w,
                "diseas" | "disord" | "condit" | "infect" | "lesion" | "ill" | "illness"
            )
        };
        let mut postings: Vec<Vec<u32>> = vec![Vec::new(); side.vocabulary.len()];
        let mut content = Vec::with_capacity(side.terms.len());
        let mut without = Vec::with_capacity(side.terms.len());
        let without_word = side.word_ids.get("without").copied();
        let not_word = side.word_ids.get("not").copied();
        let clause_opens = [without_word, not_word];
        let denial_words = [without_word, not_word, side.word_ids.get("no").copied()];
        let clause_closes = [
            side.word_ids.get("with").copied(),
            side.word_ids.get("in").copied(),
        ];
        let opens_clause = |w: u32| Some(w) == without_word || Some(w) == not_word;
        let with_unspecified = unspecified_titles(codes, index);
        let mut clauses: HashMap<CodeId, (bool, Vec<u32>)> = HashMap::new();
        let mut denied_clause: HashMap<u32, Box<[u32]>> = HashMap::new();
        let mut nonessential: HashMap<CodeId, Vec<u32>> = HashMap::new();
        let site = site_words(codes, index);
        let mut no_condition = site.clone();
        for &w in &side.condition_pointers {
            if let Some(slot) = no_condition.get_mut(w as usize) {
                *slot = true;
            }
        }
        let localized_elsewhere: HashSet<CodeId> = codes
            .iter()
            .filter(|(_, c)| c.system == System::Icd10cm)
            .filter(|(_, c)| {
                c.notes().is_some_and(|n| {
                    n.excludes1.iter().any(|e| {
                        let text = e.text.to_ascii_lowercase();
                        text.starts_with("localized") && text.contains("by site")
                    })
                })
            })
            .map(|(id, _)| id)
            .collect();
        let relational: Vec<String> = RELATIONAL_NOUNS
            .iter()
            .filter_map(|n| index.analyzer().word(n))
            .collect();
        let title_pairs = crate::lexicon::title_alternatives(codes, index.analyzer());
        // (word, implied by, unless) as word ids; an unknown "unless" word is never said.
        let unsaid: Vec<(u32, u32, Option<u32>)> =
            crate::lexicon::unsaid_title_words(index.analyzer())
                .iter()
                .filter_map(|r| {
                    Some((
                        *side.word_ids.get(&r.word)?,
                        *side.word_ids.get(&r.implied_by)?,
                        r.unless
                            .as_ref()
                            .and_then(|u| side.word_ids.get(u).copied()),
                    ))
                })
                .collect();
        let mut unless: HashMap<u32, Box<[u32]>> = HashMap::new();
        let mut term_flags = vec![0u8; side.terms.len()];
        let mut pair_count = vec![0u8; side.terms.len()];
        let side_words: Vec<u32> = crate::lexicon::TITLE_SIDES
            .iter()
            .filter_map(|w| side.word_ids.get(&index.analyzer().word(w)?).copied())
            .collect();
        let mut alternatives: HashMap<u32, Box<[(u32, u32)]>> = HashMap::new();
        for (t, term) in side.terms.iter().enumerate() {
            // 7th-character codes are chosen from the base code's mention (see rules),
            // not matched on their own: their extra words are about the encounter.
            let skip = codes.get(term.code).kind == CodeKind::SeventhCharacter;
            // The title's words outside its "without"/"not" clauses: a word the title
            // denies implies nothing (K35.31 "... and gangrene, without perforation").
            let affirmed = if term.source == crate::lexicon::Source::Title {
                split_at_clauses(&term.words, clause_opens, clause_closes).0
            } else {
                Vec::new()
            };
            let words: Box<[u32]> = if skip {
                Box::new([])
            } else {
                // PCS titles spell out the approach and device ("..., Percutaneous
                // Approach"); notes rarely do, so those words do not decide a match.
                let procedure = codes.get(term.code).system == crate::codeset::System::Icd10pcs;
                // "With" that only fillers follow says nothing: R50.81 "Fever presenting
                // with conditions classified elsewhere" is no statement of "presented with
                // ... fever".
                let with_word = clause_closes[0];
                let last_said = term
                    .words
                    .iter()
                    .rposition(|&w| is_content[w as usize] && Some(w) != with_word);
                let with_says =
                    term.words.iter().enumerate().any(|(k, &w)| {
                        Some(w) == with_word && last_said.is_some_and(|last| k < last)
                    });
                let content: Box<[u32]> = term
                    .words
                    .iter()
                    .copied()
                    .filter(|&w| is_content[w as usize])
                    .filter(|&w| with_says || Some(w) != with_word)
                    .filter(|&w| !(procedure && is_pcs_axis_word(&side.vocabulary[w as usize])))
                    // A word the title's other words imply, or the default, is a filler
                    // ("displaced" of a fracture, "hand" beside "metacarpal").
                    .filter(|&w| {
                        !(term.source == crate::lexicon::Source::Title
                            && unsaid
                                .iter()
                                .any(|&(u, by, _)| u == w && affirmed.contains(&by)))
                    })
                    // A nonessential modifier, in parentheses (I.A.7), may be present or
                    // absent: it counts only beside the title's other words, so "(acute)"
                    // of J44.1 is not read from another condition's "Acute" six words away.
                    .filter(|&w| {
                        term.source != crate::lexicon::Source::Title
                            || procedure
                            || !nonessential
                                .entry(term.code)
                                .or_insert_with(|| {
                                    nonessential_words(&codes.get(term.code).title, index)
                                })
                                .contains(&w)
                    })
                    .collect();
                // "Disease NEC", "Disorder": a term made only of generic words is matched
                // on them (the index maps such bare words to residual codes).
                if content.is_empty() {
                    term.words
                        .iter()
                        .copied()
                        .filter(|&w| is_generic(&side.vocabulary[w as usize]))
                        .collect()
                } else {
                    content
                }
            };
            // An inclusion term that only names the cause of a "... due to X" title
            // ("Pseudomonas aeruginosa" under A41.52 "Sepsis due to Pseudomonas") is that
            // condition due to it: the condition must be said too.
            let words: Box<[u32]> = match (term.source, skip) {
                (crate::lexicon::Source::Title, _) | (_, true) => words,
                _ if codes.get(term.code).system != System::Icd10cm => words,
                _ => {
                    let condition = cause_only_condition(
                        &codes.get(term.code).title,
                        &words,
                        index,
                        &is_content,
                    );
                    if condition.is_empty() {
                        words
                    } else {
                        words.iter().copied().chain(condition).collect()
                    }
                }
            };
            // Whether the title's "without"/"not" clause holds by default, and its words.
            let (default_clause, title_clause_words): (bool, &[u32]) = match without_word {
                Some(w)
                    if term.words.contains(&w)
                        || not_word.is_some_and(|n| term.words.contains(&n)) =>
                {
                    let (default, words) = clauses.entry(term.code).or_insert_with(|| {
                        let code = codes.get(term.code);
                        if code.system != System::Icd10cm {
                            return (false, Vec::new());
                        }
                        // "Not specified as recurrent" says the note is silent: always
                        // the default (Index: "Colitis, Clostridium difficile, not
                        // specified as recurrent A04.72").
                        let clause = title_clause(&code.title, index, &relational);
                        let silent_unspecified = category_of(codes, term.code)
                            .and_then(|c| with_unspecified.get(&c))
                            .is_some_and(|titles| {
                                titles.iter().any(|t| clause.iter().any(|w| !t.contains(w)))
                            });
                        let default = code.title.to_ascii_lowercase().contains("not specified as")
                            || (!silent_unspecified && !unspecified_beside(codes, term.code));
                        (default, clause)
                    });
                    (*default, words)
                }
                _ => (false, &[]),
            };
            let clause_words: &[u32] = if default_clause {
                title_clause_words
            } else {
                &[]
            };
            // Not the default, the clause is said: its words must be denied in the note
            // ("severe without psychotic features" is not read from "severe with
            // psychotic features"), by "no" as well as "without"; "not" of "site not
            // specified" (N39.0) is no word a note must say.
            let words: Box<[u32]> = if !default_clause && !title_clause_words.is_empty() {
                let kept: Box<[u32]> = words
                    .iter()
                    .copied()
                    .filter(|&w| !opens_clause(w))
                    .collect();
                if kept.is_empty() {
                    words
                } else {
                    kept
                }
            } else {
                words
            };
            if !default_clause {
                let must_deny: Box<[u32]> = words
                    .iter()
                    .copied()
                    .filter(|w| title_clause_words.contains(w))
                    .filter(|&w| !opens_clause(w))
                    .collect();
                if !must_deny.is_empty() {
                    denied_clause.insert(t as u32, must_deny);
                    term_flags[t] |= DENIED_CLAUSE;
                }
            }
            let clause: Box<[u32]> = words
                .iter()
                .copied()
                .filter(|w| clause_words.contains(w))
                .collect();
            let required: Box<[u32]> = words
                .iter()
                .copied()
                .filter(|w| !clause.contains(w))
                .collect();
            // A term that is nothing but its clause keeps it required.
            let (words, mut clause) = if required.is_empty() || clause.is_empty() {
                (words, Box::default())
            } else {
                (required, clause)
            };
            // An inclusion term's own "without" clause ("Acute appendicitis without
            // (localized) (generalized) peritonitis", K35.80) is contradicted like a
            // title's: "with localized peritonitis" is no reading of it.
            if term.source != crate::lexicon::Source::Title
                && !skip
                && codes.get(term.code).system == System::Icd10cm
            {
                let own: Vec<u32> = split_at_clauses(&term.words, clause_opens, clause_closes)
                    .1
                    .into_iter()
                    .filter(|&w| is_content[w as usize] && !clause.contains(&w))
                    .collect();
                if !own.is_empty() {
                    clause = clause.iter().copied().chain(own).collect();
                }
            }
            if term.source == crate::lexicon::Source::Title {
                let excluded: Box<[u32]> = unsaid
                    .iter()
                    .filter(|&&(u, by, _)| term.words.contains(&u) && affirmed.contains(&by))
                    .filter_map(|&(_, _, not)| not)
                    .collect();
                if !excluded.is_empty() {
                    unless.insert(t as u32, excluded);
                    term_flags[t] |= HAS_UNLESS;
                }
            }
            if codes.get(term.code).system == System::Icd10cm
                && words.iter().any(|w| side_words.contains(w))
            {
                term_flags[t] |= SIDED;
            }
            if codes.get(term.code).system == System::Icd10pcs {
                term_flags[t] |= PROCEDURE;
            }
            if clause_closes[0].is_some_and(|w| words.contains(&w)) {
                term_flags[t] |= SAYS_WITH;
            }
            if denial_words
                .iter()
                .flatten()
                .any(|w| term.words.contains(w))
            {
                term_flags[t] |= SAYS_DENIAL;
            }
            if term.source == crate::lexicon::Source::Title {
                let pairs: Box<[(u32, u32)]> = title_pairs
                    .get(&term.code)
                    .into_iter()
                    .flatten()
                    .filter_map(|(a, b)| Some((*side.word_ids.get(a)?, *side.word_ids.get(b)?)))
                    .filter(|(a, b)| words.contains(a) && words.contains(b))
                    .collect();
                if !pairs.is_empty() {
                    pair_count[t] = u8::try_from(pairs.len()).unwrap_or(u8::MAX);
                    alternatives.insert(t as u32, pairs);
                }
            }
            if words.len() <= u8::MAX as usize {
                for &w in words.iter() {
                    postings[w as usize].push(t as u32);
                }
            }
            content.push(words);
            without.push(clause);
        }
        let mut in_clause = vec![false; side.vocabulary.len()];
        for &w in without.iter().flat_map(|c| c.iter()) {
            in_clause[w as usize] = true;
        }
        Matcher {
            postings,
            content,
            without,
            alternatives,
            unless,
            denied_clause,
            never_unsaid: NEVER_UNSAID
                .iter()
                .filter_map(|w| side.word_ids.get(&index.analyzer().word(w)?).copied())
                .collect(),
            term_flags,
            pair_count,
            side_words,
            without_word,
            with_word: clause_closes[0],
            not_word,
            in_clause,
            site,
            no_condition,
            title_qualifiers: codes.title_qualifiers().clone(),
            localized_elsewhere,
            generic_head: side
                .vocabulary
                .iter()
                .map(|w| matches!(w.as_str(), "diseas" | "disord" | "condit"))
                .collect(),
        }
    }

    /// Analysed word ids at each token: the word itself and, for an abbreviation, the
    /// words of its senses.
    pub fn token_words(
        &self,
        note: &Note,
        index: &TermIndex,
        abbreviations: &Abbreviations,
    ) -> Vec<TokenWords> {
        let analyzer = index.analyzer();
        let word_id = |w: &str| analyzer.word(w).and_then(|w| index.side.word_ids.get(&w));
        let unilateral = word_id("unilateral");
        let bilateral = word_id("bilateral");
        let both = analyzer.word("both");
        let sided: Vec<u32> = ["right", "left"]
            .into_iter()
            .filter_map(word_id)
            .copied()
            .collect();
        note.tokens
            .iter()
            .enumerate()
            .map(|(i, token)| {
                let mut ids = Vec::new();
                if !token.norm.chars().any(char::is_alphanumeric)
                    || in_time_expression(&note.tokens, i)
                {
                    return TokenWords::default();
                }
                let surface = note.slice(token.start, token.end);
                let word = analyzer.word(&surface);
                let known = word
                    .as_ref()
                    .and_then(|w| index.side.word_ids.get(w).copied());
                if let Some(id) = known {
                    ids.push(id);
                    // A named side is one side: the tabular's "unilateral" (K40.91
                    // "Unilateral inguinal hernia, ..., recurrent" for "recurrent right
                    // inguinal hernia"; M16.12 "Unilateral ..., left hip").
                    if let Some(&one_side) = unilateral.filter(|_| sided.contains(&id)) {
                        ids.push(one_side);
                    }
                }
                // "both knees" are the tabular's "bilateral" (M17.0), whether or not a
                // term of the index has the word "both".
                if let Some(&two_sides) = bilateral.filter(|_| word.is_some() && word == both) {
                    ids.push(two_sides);
                }
                let own = ids.len();
                let len = surface.chars().count();
                let upper = len >= 2
                    && surface.chars().any(|c| c.is_uppercase())
                    && !surface.chars().any(|c| c.is_lowercase());
                // Lower-case words are expanded only from the clinical list: "dL" in
                // "mg/dL" is a unit, not dyslipidemia.
                // A mixed-case form of the clinical list ("HFpEF") is the abbreviation even
                // where the index has the word too.
                let mixed = surface.chars().any(|c| c.is_uppercase());
                let expand =
                    upper || ((known.is_none() || mixed) && abbreviations.is_clinical(&surface));
                let mut senses = Vec::new();
                if expand && len <= 8 {
                    for sense in abbreviations.senses(&surface).iter().take(3) {
                        let mut words: Vec<u32> = Vec::new();
                        for w in analyzer.words(sense) {
                            if let Some(&id) = index.side.word_ids.get(&w) {
                                if !ids.contains(&id) {
                                    ids.push(id);
                                }
                                if !words.contains(&id) {
                                    words.push(id);
                                }
                            }
                        }
                        if !words.is_empty() {
                            senses.push(words);
                        }
                    }
                }
                TokenWords { ids, own, senses }
            })
            .collect()
    }

    /// Does the term itself deny something ("... without psychotic features", "not
    /// intractable")? A denial in the note between its words may then be the term's own.
    pub fn says_denial(&self, term: u32) -> bool {
        self.term_flags
            .get(term as usize)
            .is_some_and(|f| f & SAYS_DENIAL != 0)
    }

    /// Per vocabulary word: does it name where, not what (see [`site_words`])?
    pub fn site_words(&self) -> &[bool] {
        &self.site
    }

    /// All terms whose content words occur together in a sentence.
    pub fn find(&self, note: &Note, index: &TermIndex, token_words: &[TokenWords]) -> Vec<Mention> {
        let mut out = Vec::new();
        COUNTS.with(|counts| {
            let mut counts = counts.borrow_mut();
            if counts.len() != self.content.len() {
                *counts = vec![0u8; self.content.len()];
            }
            for (s, sentence) in note.sentences.iter().enumerate() {
                let start = out.len();
                self.find_in_sentence(
                    note,
                    s,
                    sentence.tokens.clone(),
                    index,
                    token_words,
                    &mut counts,
                    &mut out,
                );
                for m in &mut out[start..] {
                    m.section = sentence.section;
                }
            }
        });
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn find_in_sentence(
        &self,
        note: &Note,
        sentence: usize,
        range: std::ops::Range<usize>,
        index: &TermIndex,
        token_words: &[TokenWords],
        counts: &mut [u8],
        out: &mut Vec<Mention>,
    ) {
        // word -> token positions in this sentence
        let mut occurrences: HashMap<u32, Vec<usize>> = HashMap::new();
        for i in range.clone() {
            for &w in token_words.get(i).map_or(&[][..], |t| t.ids.as_slice()) {
                if !self.postings.get(w as usize).is_none_or(Vec::is_empty)
                    || self.in_clause.get(w as usize).copied().unwrap_or(false)
                {
                    occurrences.entry(w).or_default().push(i);
                }
            }
        }
        let says_with = self.with_word.is_some_and(|w| occurrences.contains_key(&w));
        let mut touched: Vec<u32> = Vec::new();
        for &w in occurrences.keys() {
            for &t in &self.postings[w as usize] {
                let c = &mut counts[t as usize];
                if *c == 0 {
                    touched.push(t);
                }
                *c = c.saturating_add(1);
            }
        }
        for t in touched {
            let found = std::mem::take(&mut counts[t as usize]) as usize;
            let content = &self.content[t as usize];
            // A pair of alternatives is one word to find. A title's "with" joins its two
            // sides (I.A.15 "associated with"): a sentence that states both says it, "with"
            // or not ("asthma exacerbation" is "asthma with exacerbation").
            let with_unsaid = self.term_flags[t as usize] & SAYS_WITH != 0 && !says_with;
            let needed =
                content.len() - usize::from(self.pair_count[t as usize]) - usize::from(with_unsaid);
            // All content words, or all but one of four or more.
            if found < needed && !(needed >= 4 && found + 1 >= needed) {
                continue;
            }
            if let Some(m) = self.locate(
                note,
                t,
                sentence,
                &occurrences,
                index,
                token_words,
                range.clone(),
            ) {
                out.push(m);
            }
        }
    }

    /// Places a term's words in the sentence (nearest occurrences around its rarest word)
    /// and scores how much of the term the sentence covers.
    #[allow(clippy::too_many_arguments)]
    fn locate(
        &self,
        note: &Note,
        t: u32,
        sentence: usize,
        occurrences: &HashMap<u32, Vec<usize>>,
        index: &TermIndex,
        token_words: &[TokenWords],
        range: std::ops::Range<usize>,
    ) -> Option<Mention> {
        let side = &index.side;
        let content = &self.content[t as usize];
        let present: Vec<u32> = content
            .iter()
            .copied()
            .filter(|w| occurrences.contains_key(w))
            .collect();
        // The word of a pair of alternatives the sentence does not say ("steps" of
        // "stairs and steps") is not missing; a pair said by neither word is one word missing.
        // Looked up only for the few terms that have them: this runs for every candidate.
        let pairs = if self.pair_count[t as usize] > 0 {
            self.alternatives.get(&t).map_or(&[][..], |p| &p[..])
        } else {
            &[][..]
        };
        let mut forgiven: Vec<u32> = Vec::new();
        let mut unsaid_pairs = 0;
        for &(a, b) in pairs {
            match (present.contains(&a), present.contains(&b)) {
                (true, false) => forgiven.push(b),
                (false, true) => forgiven.push(a),
                (false, false) => unsaid_pairs += 1,
                (true, true) => {}
            }
        }
        let missing: Vec<u32> = if present.len() == content.len() {
            Vec::new()
        } else {
            content
                .iter()
                .copied()
                .filter(|w| !present.contains(w) && !forgiven.contains(w))
                .collect()
        };
        // A diagnosis's side is the note's: a reading that lacks the side its title names
        // says a side the sentence does not (I.B.13).
        if self.term_flags[t as usize] & SIDED != 0
            && missing.iter().any(|w| self.side_words.contains(w))
        {
            return None;
        }
        // A procedure's body part is an axis of its code: a reading that lacks one of the
        // title's body parts ("chest CT" for "CT of Chest and Abdomen") says another code.
        if self.term_flags[t as usize] & PROCEDURE != 0
            && missing.iter().any(|&w| self.site[w as usize])
        {
            return None;
        }
        if self.term_flags[t as usize] & HAS_UNLESS != 0
            && self
                .unless
                .get(&t)
                .is_some_and(|u| u.iter().any(|w| occurrences.contains_key(w)))
        {
            return None;
        }
        if self.term_flags[t as usize] & DENIED_CLAUSE != 0
            && self.denied_clause.get(&t).is_some_and(|d| {
                d.iter().any(|w| {
                    occurrences.get(w).is_some_and(|at| {
                        at.iter()
                            .any(|&p| !denied_at(note, p, range.start, &self.title_qualifiers))
                    })
                })
            })
        {
            return None;
        }
        if !pairs.is_empty() {
            let missing_words = missing.len() - unsaid_pairs;
            let needed = content.len() - pairs.len();
            if missing_words > 0 && !(needed >= 4 && missing_words == 1) {
                return None;
            }
        }
        // A partial match may lack only the term's most common word: the rarest words are
        // what tell codes apart ("ketoacidosis" in "diabetes with ketoacidosis").
        if !missing.is_empty() {
            let missing_idf = missing
                .iter()
                .map(|&w| side.idf_of(w))
                .fold(0.0f32, f32::max);
            let lowest_idf = content
                .iter()
                .map(|&w| side.idf_of(w))
                .fold(f32::INFINITY, f32::min);
            if missing_idf > lowest_idf || missing.iter().any(|w| self.never_unsaid.contains(w)) {
                return None;
            }
        }
        // Only where, not what: site words alone state no condition, whether the term's
        // missing word is a content word or its filler head ("disorder" of "Disorder of
        // bone"; any generic head in the sentence will do: "bone disease"). So do the words
        // the Index sends to the condition: "antral" of "Disease, antral" (J32.0) is no
        // sinusitis in "antral gastric neoplasia".
        if present.iter().all(|&w| self.no_condition[w as usize]) {
            let has_head = side.terms[t as usize]
                .words
                .iter()
                .any(|&w| self.generic_head[w as usize]);
            // Beside the site ("renal disease", "disease of the kidney"), not anywhere in
            // the sentence: "Renal parameters improved in Crohn's disease" says no kidney
            // disease.
            const HEAD_REACH: usize = 3;
            let head_said = present
                .iter()
                .flat_map(|w| occurrences[w].iter().copied())
                .any(|at| {
                    let from = at.saturating_sub(HEAD_REACH).max(range.start);
                    let to = (at + HEAD_REACH + 1).min(range.end);
                    (from..to).any(|i| {
                        token_words[i]
                            .ids
                            .iter()
                            .any(|&w| self.generic_head[w as usize])
                    })
                });
            if !missing.is_empty() || (has_head && !head_said) {
                return None;
            }
        }
        let anchor_word = present
            .iter()
            .copied()
            .max_by(|a, b| side.idf_of(*a).total_cmp(&side.idf_of(*b)))?;
        let anchor = occurrences[&anchor_word][0];
        // The title says "without X": a sentence that states X (not denied) is not this
        // code; one that denies X ("no bleeding") states the clause, and its words are
        // evidence.
        let clause = &self.without[t as usize];
        let mut clause_tokens: Vec<usize> = Vec::new();
        // The clause's telling words say it: "acute" of "Acute saddle pulmonary embolus"
        // states no "acute cor pulmonale" (I26.92 "... without acute cor pulmonale").
        let clause_words: Vec<u32> = clause
            .iter()
            .copied()
            .filter(|&w| !self.starts_clause(w))
            .collect();
        let telling = |w: u32| side.idf_of(w) >= crate::learned::MIN_STATING_IDF;
        let says_clause = |w: u32| telling(w) || !clause_words.iter().any(|&c| telling(c));
        // A clause of several telling words is stated by at least half of them: "urinary
        // retention" says one word of "without lower urinary tract symptoms".
        let telling_in_clause = clause_words.iter().filter(|&&w| says_clause(w)).count();
        let mut stated_in_clause = 0;
        for &w in &clause_words {
            if !says_clause(w) {
                for &p in occurrences.get(&w).map_or(&[][..], Vec::as_slice) {
                    if denied_at(note, p, range.start, &self.title_qualifiers)
                        && p.abs_diff(anchor) <= 8
                    {
                        clause_tokens.push(p);
                    }
                }
                continue;
            }
            let mut stated = false;
            for &p in occurrences.get(&w).map_or(&[][..], Vec::as_slice) {
                if !denied_at(note, p, range.start, &self.title_qualifiers) {
                    stated = true;
                } else if p.abs_diff(anchor) <= 8 {
                    clause_tokens.push(p);
                }
            }
            stated_in_clause += usize::from(stated);
        }
        if stated_in_clause > 0 && stated_in_clause * 2 >= telling_in_clause {
            return None;
        }
        let mut chosen: Vec<(u32, usize)> = present
            .iter()
            .filter_map(|&w| {
                occurrences[&w]
                    .iter()
                    .copied()
                    .min_by_key(|&p| p.abs_diff(anchor))
                    .map(|p| (w, p))
            })
            .collect();
        // An abbreviation that supplies a word of the term supplies every word of its sense
        // ("ESRD" is "end stage renal disease" even beside another "kidney disease").
        let abbreviations: Vec<usize> = chosen
            .iter()
            .map(|&(_, p)| p)
            .filter(|&p| token_words[p].own == 0 || !token_words[p].senses.is_empty())
            .filter(|&p| {
                chosen
                    .iter()
                    .any(|&(w, q)| q == p && token_words[p].ids[token_words[p].own..].contains(&w))
            })
            .collect();
        for (w, q) in chosen.iter_mut() {
            if let Some(&p) = abbreviations
                .iter()
                .find(|&&p| token_words[p].ids[token_words[p].own..].contains(w))
            {
                *q = p;
            }
        }
        // An abbreviation stands for its whole sense: "COPD" lends "chronic" to a term only
        // together with more of "chronic obstructive pulmonary disease".
        for &(_, p) in &chosen {
            let at = &token_words[p];
            if at.own > 0
                && chosen
                    .iter()
                    .any(|&(w, q)| q == p && at.ids[..at.own].contains(&w))
            {
                continue;
            }
            let supplied: Vec<u32> = chosen
                .iter()
                .filter(|&&(_, q)| q == p)
                .map(|&(w, _)| w)
                .collect();
            if !at.senses.is_empty() && !at.sense_supplied(&supplied) {
                return None;
            }
        }
        let mut tokens: Vec<usize> = chosen.iter().map(|&(_, p)| p).collect();
        tokens.sort_unstable();
        tokens.dedup();
        let (first, last) = (*tokens.first()?, *tokens.last()?);
        // A procedure is stated as one phrase ("CT of the abdomen", "left renal CT"): a
        // modality and a body part scattered over a sentence name a finding's site ("CT
        // shows a 4 mm nonobstructing left renal stone" is no CT of the left kidney).
        const PROCEDURE_REACH: usize = 4;
        if self.term_flags[t as usize] & PROCEDURE != 0
            && tokens.windows(2).any(|w| w[1] - w[0] > PROCEDURE_REACH + 1)
        {
            return None;
        }
        // A bare number ("type 1", "stage 3") counts only next to the term's other words: a
        // list number "1." two lines up is not "type 1".
        let numeric = |w: u32| {
            side.vocabulary[w as usize]
                .chars()
                .all(|c| c.is_ascii_digit())
        };
        for &w in present.iter().filter(|&&w| numeric(w)) {
            let at = occurrences[&w]
                .iter()
                .copied()
                .min_by_key(|&p| p.abs_diff(anchor))?;
            // A number of an abbreviation's sense ("DM2": type 2 diabetes mellitus) stands
            // with the sense's other words.
            let from_sense = token_words[at].ids[token_words[at].own..].contains(&w);
            if !from_sense && !tokens.iter().any(|&t| t != at && t.abs_diff(at) <= 2) {
                return None;
            }
        }
        // "Chest pain radiating to the left arm" is one pain and its course: no reading
        // joins a word before the radiation to the place it reaches ("pain ... left arm"
        // is no M79.602 "Pain in left arm").
        const RADIATING: &[&str] = &[
            "radiating",
            "radiates",
            "radiated",
            "radiate",
            "radiation",
            "irradiating",
            "irradiates",
            "irradiated",
            "irradiation",
        ];
        if (first..=last).any(|i| {
            note.tokens
                .get(i)
                .is_some_and(|tok| RADIATING.contains(&tok.norm.as_str()))
                && !token_words[i]
                    .ids
                    .iter()
                    .any(|w| side.terms[t as usize].words.contains(w))
        }) {
            return None;
        }
        // "Chest pain", "pain on palpation of the rib": localized, not "Pain, unspecified".
        const SITE_REACH: usize = 3;
        if self
            .localized_elsewhere
            .contains(&side.terms[t as usize].code)
        {
            let from = first.saturating_sub(SITE_REACH).max(range.start);
            let to = (last + SITE_REACH + 1).min(range.end);
            if (from..to)
                .filter(|i| !(first..=last).contains(i))
                .any(|i| token_words[i].ids.iter().any(|&w| self.site[w as usize]))
            {
                return None;
            }
        }
        let span_words = (first..=last)
            .filter(|&i| !token_words[i].ids.is_empty())
            .count();
        if span_words > present.len() * 2 + 4 {
            return None;
        }
        // Filler words of the term count as found when they stand inside the span.
        let term = &side.terms[t as usize];
        let clause_stated = |w: u32| {
            clause_tokens
                .iter()
                .any(|&p| token_words[p].ids.contains(&w))
        };
        let mut total = 0.0f32;
        let mut hit = 0.0f32;
        let mut edges: Vec<usize> = Vec::new();
        for &w in term.words.iter() {
            // The "without" clause holds by default: it weighs in full when the note
            // states it, and little when the note is silent.
            if forgiven.contains(&w) {
                continue;
            }
            if clause.contains(&w) {
                let stated =
                    clause_stated(w) || (self.starts_clause(w) && !clause_tokens.is_empty());
                let weight = side.idf_of(w) * if stated { 1.0 } else { 0.15 };
                total += weight;
                hit += weight;
                continue;
            }
            let filler = !content.contains(&w);
            let weight = side.idf_of(w) * if filler { 0.15 } else { 1.0 };
            total += weight;
            let found = if filler {
                let at = (first.saturating_sub(1).max(range.start)
                    ..=(last + 1).min(range.end.saturating_sub(1)))
                    .find(|&i| token_words.get(i).is_some_and(|ws| ws.ids.contains(&w)));
                // The evidence takes in a term word standing just outside the span
                // ("Type" of "Type 2 diabetes").
                if let Some(i) = at.filter(|i| *i + 1 == first || *i == last + 1) {
                    edges.push(i);
                }
                at.is_some()
            } else {
                present.contains(&w)
            };
            if found {
                hit += weight;
            }
        }
        let mut coverage = if total > 0.0 { hit / total } else { 0.0 };
        // Manifestation codes are reported after their cause, never on their own words;
        // a residual "Other ..." code fits only when nothing named fits better.
        if term.manifestation {
            coverage *= 0.7;
        }
        if term.residual {
            coverage *= 0.9;
        }
        let clause_words = clause
            .iter()
            .filter(|&&w| !self.starts_clause(w) && clause_stated(w))
            .count();
        tokens.extend(edges);
        tokens.extend(clause_tokens);
        tokens.sort_unstable();
        tokens.dedup();
        Some(Mention {
            term: t,
            code: term.code,
            tokens,
            sentence,
            section: crate::text::Section::Unknown,
            coverage,
            words: present.len() + clause_words,
            subsumed: false,
            learned: None,
            similarity: 0.0,
            from_encoder: false,
        })
    }
}

/// Words that deny the words after them in a clause ("no bleeding", "without obstruction or
/// gangrene", "negative for").
const DENIALS: &[&str] = &[
    "no", "not", "without", "w/o", "nor", "denies", "denied", "negative", "free",
];

/// Is token `k` denied: a denial word before it in its clause (up to four words back, not
/// past punctuation or "with"/"but")?
fn denied_at(note: &Note, k: usize, sentence_start: usize, axes: &HashSet<String>) -> bool {
    note.denied_before(
        k,
        sentence_start,
        DENIALS,
        &[".", ";", ":", "with", "but", "due"],
        &[],
        axes,
    )
}

/// Marks the shorter readings: a mention whose tokens all lie inside a longer, compact
/// mention with more content words ("pain" inside "abdominal pain") is `subsumed`.
pub fn mark_subsumed(mut mentions: Vec<Mention>) -> Vec<Mention> {
    mentions.sort_by(|a, b| {
        b.words
            .cmp(&a.words)
            .then(b.coverage.total_cmp(&a.coverage))
    });
    for i in 0..mentions.len() {
        let m = &mentions[i];
        // Only a compact longer mention subsumes: words scattered over a clause
        // ("presented with hematuria, hypotension, fever") are not one phrase.
        let inside_longer = mentions[..i].iter().any(|k| {
            k.sentence == m.sentence
                && k.words > m.words
                && k.coverage >= 0.6
                && k.last() - k.first() < k.words + 3
                && m.tokens.iter().all(|t| k.tokens.contains(t))
        });
        mentions[i].subsumed = inside_longer;
    }
    mentions
}
