//! Phrase lookup: BM25 retrieval in tantivy, then re-scoring of each retrieved term by how
//! much of the query it explains and how much of itself the query explains. When no term
//! explains the query's words well, the terms nearest in meaning (the sentence encoder's
//! answer, see [`TermIndex::lookup_with`]) compete with the lexical matches.

use std::collections::HashMap;

use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::Term;

use super::{TermIndex, MAX_QUERY_CHARS};
use crate::codeset::{CodeId, CodeKind, CodeSet, System};
use crate::error::{Error, Result};
use crate::lexicon::{Abbreviations, Source};

#[derive(Clone, Debug)]
pub struct LookupOptions {
    pub top_k: usize,
    /// Empty: all systems.
    pub systems: Vec<System>,
    /// How many terms BM25 retrieves for re-scoring.
    pub retrieve: usize,
}

impl Default for LookupOptions {
    fn default() -> Self {
        LookupOptions {
            top_k: 10,
            systems: Vec::new(),
            retrieve: 300,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct LookupHit {
    pub code: CodeId,
    /// In [0, 1]: 1 when a term of the code and the query are the same words; at most
    /// [`SIMILAR_WEIGHT`] for a code found by meaning only.
    pub score: f32,
    /// The term that scored best (index into the side table).
    pub term: u32,
}

/// A term of the index scored against a bag of words.
#[derive(Clone, Copy, Debug)]
pub struct TermMatch {
    pub term: u32,
    pub score: f32,
    /// Share of the query's weight this term explains.
    pub query_coverage: f32,
    /// Share of the term's own weight the query explains.
    pub term_coverage: f32,
}

/// Terms nearest in meaning to a phrase, best first, with their cosine similarity (the
/// sentence encoder and the index's term embeddings; term ids index the side table).
pub type Similar<'a> = &'a (dyn Fn(&str) -> Result<Vec<(u32, f32)>> + 'a);

/// Below this best lexical score the words alone explain the query poorly, and the terms
/// nearest in meaning are consulted. Above it the answer is the lexical one, unchanged (and
/// the encoder, about 4 ms a phrase on one core, is not run). Chosen on the Alphabetic Index
/// dev set (README): 0.6 consults the encoder for 37% of its phrases (hit@5 0.717); 0.5
/// for 26% (0.705).
pub const SIMILAR_BELOW: f32 = 0.6;

/// A term found by meaning scores `SIMILAR_WEIGHT × cosine`: at most 0.8, below a term that
/// says the query's words, comparable with partial word matches. Chosen on the dev set
/// (0.7–0.9 are within 0.003 hit@5 of each other).
pub const SIMILAR_WEIGHT: f32 = 0.8;

/// Score factor of a procedure code for a query that names no procedure (lexical and
/// similar matches alike): diagnosis phrases share body-part words with thousands of PCS
/// titles, which must not crowd them out.
pub const PCS_FOR_DIAGNOSIS_QUERY: f32 = 0.8;

/// Words that name no condition: a term is not made less fitting by lacking them.
pub fn is_filler(word: &str) -> bool {
    matches!(
        word,
        "unspecifi"
            | "other"
            | "present"
            | "nos"
            | "nec"
            | "of"
            | "the"
            | "and"
            | "or"
            | "in"
            | "to"
            | "by"
            | "for"
            | "on"
            | "a"
            | "an"
            | "as"
            | "at"
            | "site"
            | "specifi"
            | "type"
            | "classifi"
            | "elsewher"
            | "condit"
            | "diseas"
            | "disord"
            | "encount"
            | "initi"
            | "part"
            | "is"
            | "s"
            // "organism" stems to "organ": "unspecified organism" names no organism.
            | "organ"
    )
}

impl TermIndex {
    /// Ranked codes for a phrase ("acute chest pain", "DM2 with neuropathy"), by its words.
    pub fn lookup(
        &self,
        query: &str,
        codes: &CodeSet,
        abbreviations: &Abbreviations,
        options: &LookupOptions,
    ) -> Result<Vec<LookupHit>> {
        self.lookup_with(query, codes, abbreviations, options, None)
    }

    /// As [`TermIndex::lookup`]; with `similar`, when the best lexical score is below
    /// [`SIMILAR_BELOW`], the codes of the terms nearest in meaning join the candidates with
    /// [`SIMILAR_WEIGHT`] × cosine, and each code keeps its better score (lexical or
    /// similar). Word forms and synonyms the words miss ("Legionellosis" for A48.1
    /// Legionnaires' disease) are found this way; rare eponyms a general-English encoder
    /// does not know ("Tumor Wilms'") are not.
    pub fn lookup_with(
        &self,
        query: &str,
        codes: &CodeSet,
        abbreviations: &Abbreviations,
        options: &LookupOptions,
        similar: Option<Similar<'_>>,
    ) -> Result<Vec<LookupHit>> {
        let trimmed = query.trim();
        if trimmed.is_empty() {
            return Err(Error::InvalidInput("empty query".into()));
        }
        if trimmed.chars().count() > MAX_QUERY_CHARS {
            return Err(Error::InvalidInput(format!(
                "query longer than {MAX_QUERY_CHARS} characters; code a note with `suggest` instead"
            )));
        }
        let mut best: HashMap<CodeId, LookupHit> = HashMap::new();
        let variants = self.query_variants(trimmed, abbreviations);
        for variant in &variants {
            let matches = self.match_words(variant, options.retrieve, &options.systems, codes)?;
            for m in matches {
                let code = self.side.terms[m.term as usize].code;
                let hit = best.entry(code).or_insert(LookupHit {
                    code,
                    score: 0.0,
                    term: m.term,
                });
                if m.score > hit.score {
                    hit.score = m.score;
                    hit.term = m.term;
                }
            }
        }
        let strongest = best.values().map(|h| h.score).fold(0.0, f32::max);
        if let Some(similar) = similar.filter(|_| strongest < SIMILAR_BELOW) {
            let procedure_query = variants.iter().flatten().any(|w| is_procedure_word(w));
            for (term, cosine) in similar(trimmed)? {
                let Some(t) = self.side.terms.get(term as usize) else {
                    continue;
                };
                let system = codes.get(t.code).system;
                if !options.systems.is_empty() && !options.systems.contains(&system) {
                    continue;
                }
                let mut score = SIMILAR_WEIGHT * cosine.clamp(0.0, 1.0);
                if !procedure_query && system == System::Icd10pcs {
                    score *= PCS_FOR_DIAGNOSIS_QUERY;
                }
                let hit = best.entry(t.code).or_insert(LookupHit {
                    code: t.code,
                    score: 0.0,
                    term,
                });
                if score > hit.score {
                    hit.score = score;
                    hit.term = term;
                }
            }
        }
        let mut hits: Vec<LookupHit> = best.into_values().collect();
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| codes.get(b.code).billable.cmp(&codes.get(a.code).billable))
                .then_with(|| codes.get(a.code).code.cmp(&codes.get(b.code).code))
        });
        hits.truncate(options.top_k.max(1) * 2);
        let mut hits = prefer_billable(hits, codes);
        hits.truncate(options.top_k.max(1));
        Ok(hits)
    }

    /// The query's words, and one variant per abbreviation sense (at most three senses):
    /// "DM2 neuropathy" -> [dm2 neuropathi], [type 2 diabet mellitus neuropathi].
    pub fn query_variants(&self, query: &str, abbreviations: &Abbreviations) -> Vec<Vec<String>> {
        let analyzed = self.analyzer.words_with_offsets(query);
        let words: Vec<String> = analyzed.iter().map(|(w, _, _)| w.clone()).collect();
        let mut variants = vec![words.clone()];
        for (i, (word, from, to)) in analyzed.iter().enumerate() {
            let surface = &query[*from..*to];
            let upper = surface.chars().any(|c| c.is_ascii_uppercase())
                && surface.chars().all(|c| !c.is_lowercase() || c == 's');
            let unknown = !self.side.word_ids.contains_key(word);
            if !(upper || unknown) {
                continue;
            }
            for sense in abbreviations.senses(surface).iter().take(3) {
                let mut variant = words.clone();
                variant.splice(i..=i, self.analyzer.words(sense));
                variants.push(variant);
            }
        }
        variants
    }

    /// Retrieves up to `retrieve` terms by BM25 and re-scores them against `words`.
    pub fn match_words(
        &self,
        words: &[String],
        retrieve: usize,
        systems: &[System],
        codes: &CodeSet,
    ) -> Result<Vec<TermMatch>> {
        let mut distinct: Vec<&str> = Vec::new();
        for w in words {
            if !distinct.contains(&w.as_str()) {
                distinct.push(w);
            }
        }
        if distinct.is_empty() {
            return Ok(Vec::new());
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for w in &distinct {
            let term = Term::from_field_text(self.fields.text, w);
            if self.side.word_ids.contains_key(*w) {
                clauses.push((
                    Occur::Should,
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
                ));
            } else if w.chars().count() >= 4 && w.chars().all(char::is_alphabetic) {
                let distance = if w.chars().count() >= 8 { 2 } else { 1 };
                clauses.push((
                    Occur::Should,
                    Box::new(FuzzyTermQuery::new(term, distance, true)),
                ));
            }
        }
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(retrieve.max(1)))?;
        let mut term_ids = Vec::with_capacity(top.len());
        // One fast-field column per segment: opening it is the costly part.
        let mut columns: HashMap<u32, tantivy::columnar::Column<u64>> = HashMap::new();
        for (_, address) in top {
            let column = match columns.entry(address.segment_ord) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(
                    searcher
                        .segment_reader(address.segment_ord)
                        .fast_fields()
                        .u64("term_id")?,
                ),
            };
            if let Some(id) = column.first(address.doc_id) {
                term_ids.push(id as u32);
            }
        }
        let query_words = self.resolve_query_words(&distinct);
        // Procedure codes answer a query that names a procedure.
        let procedure_query = distinct.iter().any(|w| is_procedure_word(w));
        let mut out: Vec<TermMatch> = term_ids
            .into_iter()
            .filter(|&t| {
                systems.is_empty()
                    || self
                        .side
                        .terms
                        .get(t as usize)
                        .is_some_and(|term| systems.contains(&codes.get(term.code).system))
            })
            .filter_map(|t| self.score_term(t, &query_words))
            .map(|mut m| {
                if !procedure_query
                    && codes.get(self.side.terms[m.term as usize].code).system == System::Icd10pcs
                {
                    m.score *= PCS_FOR_DIAGNOSIS_QUERY;
                }
                m
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(out)
    }

    /// Each query word with its vocabulary id (None for unknown words) and weight.
    fn resolve_query_words(&self, words: &[&str]) -> Vec<QueryWord> {
        let mean_idf = if self.side.idf.is_empty() {
            1.0
        } else {
            self.side.idf.iter().sum::<f32>() / self.side.idf.len() as f32
        };
        words
            .iter()
            .map(|w| {
                let id = self.side.word_ids.get(*w).copied();
                let weight = match id {
                    Some(id) => self.side.idf_of(id),
                    None => mean_idf,
                };
                QueryWord {
                    text: (*w).to_string(),
                    id,
                    weight: if is_filler(w) { weight * 0.15 } else { weight },
                }
            })
            .collect()
    }

    /// Scores one term: the query's weight it covers, damped by its own uncovered weight.
    pub fn score_term(&self, term_id: u32, query: &[QueryWord]) -> Option<TermMatch> {
        let term = self.side.terms.get(term_id as usize)?;
        let mut covered_term = vec![0.0f32; term.words.len()];
        let mut query_hit = 0.0f32;
        let mut query_total = 0.0f32;
        for q in query {
            query_total += q.weight;
            let exact = q.id.and_then(|id| term.words.iter().position(|&w| w == id));
            // Misspelling: an unknown query word matches a close word of the term. A known
            // word that the term lacks is simply absent (and checking is the costly part).
            let found = exact.map(|i| (i, 1.0)).or_else(|| {
                if q.id.is_some() {
                    return None;
                }
                term.words.iter().enumerate().find_map(|(i, &w)| {
                    let word = &self.side.vocabulary[w as usize];
                    let allowed = if q.text.len() >= 8 { 2 } else { 1 };
                    (q.text.len() >= 4
                        && word.len() >= 4
                        && within_edit_distance(&q.text, word, allowed))
                    .then_some((i, 0.8))
                })
            });
            if let Some((i, credit)) = found {
                query_hit += q.weight * credit;
                covered_term[i] = covered_term[i].max(credit);
            }
        }
        if query_total <= 0.0 || query_hit <= 0.0 {
            return None;
        }
        let mut term_total = 0.0f32;
        let mut term_hit = 0.0f32;
        for (i, &w) in term.words.iter().enumerate() {
            let word = &self.side.vocabulary[w as usize];
            let weight = self.side.idf_of(w) * if is_filler(word) { 0.15 } else { 1.0 };
            term_total += weight;
            term_hit += weight * covered_term[i];
        }
        let query_coverage = (query_hit / query_total).min(1.0);
        let term_coverage = if term_total > 0.0 {
            (term_hit / term_total).min(1.0)
        } else {
            0.0
        };
        let source_weight = match term.source {
            Source::Title | Source::AlphabeticIndex | Source::Synonym | Source::InclusionTerm => {
                1.0
            }
            Source::Abbreviation => 0.98,
        };
        // Manifestation codes ("in diseases classified elsewhere") are never reported alone.
        let manifestation = if term.manifestation { 0.9 } else { 1.0 };
        // A residual "Other ..." category fits only when nothing named fits better.
        // A query that says "other" or "specified" asks for exactly those.
        let asks_residual = query
            .iter()
            .any(|q| q.text == "other" || q.text == "specifi");
        let residual = match (term.residual, asks_residual) {
            (true, false) => 0.97,
            (true, true) => 1.03,
            _ => 1.0,
        };
        let score =
            query_coverage * (0.4 + 0.6 * term_coverage) * source_weight * manifestation * residual;
        Some(TermMatch {
            term: term_id,
            score: score.min(1.0),
            query_coverage,
            term_coverage,
        })
    }
}

/// Does an analysed word name a procedure (a root operation, an approach or a
/// procedure-forming suffix)?
pub fn is_procedure_word(word: &str) -> bool {
    const ROOTS: &[&str] = &[
        "alter",
        "bypass",
        "chang",
        "control",
        "creation",
        "destruct",
        "detach",
        "dilat",
        "divis",
        "drainag",
        "excis",
        "extirp",
        "extract",
        "fragment",
        "fusion",
        "insert",
        "inspect",
        "map",
        "occlus",
        "reattach",
        "releas",
        "remov",
        "repair",
        "replac",
        "reposit",
        "resect",
        "restrict",
        "revis",
        "supplement",
        "transfer",
        "transplant",
        "biopsi",
        "surgeri",
        "surgic",
        "oper",
        "procedur",
        "implant",
        "administr",
        "imag",
        "radiographi",
        "ultrasonographi",
        "tomographi",
        "scan",
        "irrig",
        "introduct",
        "transfus",
        "anastomosi",
        "amput",
        "graft",
        "catheter",
        "intub",
        "ventil",
        "dialysi",
        "stent",
        "approach",
        "percutan",
        "endoscop",
        "laparoscop",
        "arthroscop",
        "thoracoscop",
        "open",
    ];
    const SUFFIXES: &[&str] = &[
        "ectomi", "otomi", "ostomi", "plasti", "scopi", "graphi", "pexi", "rrhaphi", "tripsi",
        "centesi", "desi", "lysi",
    ];
    ROOTS.contains(&word)
        || SUFFIXES
            .iter()
            .any(|s| word.len() > s.len() + 2 && word.ends_with(s))
}

#[derive(Clone, Debug)]
pub struct QueryWord {
    pub text: String,
    pub id: Option<u32>,
    pub weight: f32,
}

/// A non-billable code is followed down to its unspecified billable code, which is put just
/// before it with the same score: the words support the category, and the report needs a
/// billable code; the category stays for the coder who knows more.
///
/// A 7th-character code whose base code scores as well is left out: the words said nothing
/// about the encounter, and the base code carries the prompt for it.
fn prefer_billable(hits: Vec<LookupHit>, codes: &CodeSet) -> Vec<LookupHit> {
    let mut out: Vec<LookupHit> = Vec::with_capacity(hits.len() + 4);
    for hit in &hits {
        let code = codes.get(hit.code);
        if code.kind == CodeKind::SeventhCharacter {
            let base_scores_as_well = code.parent.is_some_and(|p| {
                hits.iter()
                    .any(|h| h.code == p && h.score >= hit.score - 0.01)
            });
            if base_scores_as_well {
                continue;
            }
        }
        let hit = hit.clone();
        if out.iter().any(|h| h.code == hit.code) {
            continue;
        }
        if !codes.get(hit.code).billable {
            if let Some(default) = codes.default_billable(hit.code) {
                if default != hit.code && !out.iter().any(|h| h.code == default) {
                    out.push(LookupHit {
                        code: default,
                        score: hit.score,
                        term: hit.term,
                    });
                }
            }
        }
        out.push(hit);
    }
    out
}

/// Bounded Levenshtein distance check (with adjacent transpositions), early exit.
pub fn within_edit_distance(a: &str, b: &str, max: usize) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return false;
    }
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return false;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()] <= max
}

#[cfg(test)]
mod tests {
    use super::within_edit_distance;

    #[test]
    fn edit_distance_accepts_typos_and_transpositions() {
        assert!(within_edit_distance("pneumonia", "pneumonai", 1));
        assert!(within_edit_distance("diabet", "diabte", 1));
        assert!(within_edit_distance("fractur", "fractur", 0));
        assert!(!within_edit_distance("asthma", "angina", 2));
    }
}
