//! Document-level metrics, mirroring `score.py docs` (the project's reference scorer).
//!
//! Pipeline per gold document, as in score.py:
//! 1. predictions ranked by score descending, ties kept in the order given;
//! 2. codes normalised ([`normalise_code`]); empty codes dropped; repeated codes keep their first
//!    (best-ranked) occurrence, including that occurrence's `is_pcs` flag;
//! 3. with a system, only predictions of that system are kept;
//! 4. metrics: average precision (MAP), AP over 3-character categories, micro P/R/F1 and
//!    recall@10. Gold documents without predictions score zero and are counted as missing;
//!    predictions for documents that are not in the gold are ignored.
//!
//! For procedures, a 4-character gold code (a CodiEsp convention for partially specified PCS
//! codes) is matched by any longer predicted code starting with it. Each gold code is matched at
//! most once.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::gold::{normalise_code, GoldSet, GoldSystem};

/// How many top-ranked predictions count for recall@k.
pub const RECALL_K: usize = 10;

/// One suggested code for a document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankedCode {
    /// The code in any form (`"e11.9"`, `"E119"`); normalised when scored.
    pub code: String,
    /// Ranking score; higher is better. NaN ranks last and never passes a threshold.
    pub score: f32,
    /// Whether this is an ICD-10-PCS (procedure) code; used to filter by [`GoldSystem`].
    /// This plays the role of the `"system"` field score.py trusts when present.
    pub is_pcs: bool,
}

impl RankedCode {
    pub fn new(code: impl Into<String>, score: f32, is_pcs: bool) -> RankedCode {
        RankedCode {
            code: code.into(),
            score,
            is_pcs,
        }
    }

    /// A suggestion whose system is guessed from the code's shape with [`looks_like_pcs`],
    /// as score.py does for predictions without a `"system"` field.
    pub fn guess_system(code: impl Into<String>, score: f32) -> RankedCode {
        let code = code.into();
        let is_pcs = looks_like_pcs(&code);
        RankedCode::new(code, score, is_pcs)
    }
}

/// score.py's fallback `is_pcs` test for a raw code: 7 characters after normalisation, no dot
/// in the raw form, and not shaped like a CM code (letter, digit, digit).
pub fn looks_like_pcs(raw_code: &str) -> bool {
    let code: Vec<char> = normalise_code(raw_code).chars().collect();
    code.len() == 7
        && !raw_code.contains('.')
        && !(code[0].is_alphabetic() && code[1].is_ascii_digit() && code[2].is_ascii_digit())
}

/// Document-level metrics, the same fields (and meaning) as score.py's `docs` output.
///
/// Values are not rounded; [`DocMetrics::rounded`] gives score.py's 4-decimal presentation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DocMetrics {
    /// Gold documents scored.
    pub docs: usize,
    /// Gold documents with no prediction entry at all (an entry with an empty list is present).
    pub missing_docs: usize,
    /// Mean average precision over gold documents.
    pub map: f64,
    /// MAP over 3-character categories (distinct category prefixes, in rank order).
    pub map_category: f64,
    pub micro_p: f64,
    pub micro_r: f64,
    pub micro_f1: f64,
    /// Mean over documents of the share of gold codes matched in the top 10.
    pub recall_at_10: f64,
}

impl DocMetrics {
    /// The metrics rounded to 4 decimals exactly as score.py prints them (Python's `round`
    /// rounds the exact binary value half-to-even; so does Rust's `{:.4}` formatting).
    pub fn rounded(&self) -> DocMetrics {
        DocMetrics {
            map: round4(self.map),
            map_category: round4(self.map_category),
            micro_p: round4(self.micro_p),
            micro_r: round4(self.micro_r),
            micro_f1: round4(self.micro_f1),
            recall_at_10: round4(self.recall_at_10),
            ..*self
        }
    }
}

/// Python's `round(x, 4)`.
pub fn round4(x: f64) -> f64 {
    format!("{x:.4}").parse().unwrap_or(x)
}

/// Micro-averaged counts behind P/R/F1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MicroCounts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl MicroCounts {
    /// (precision, recall, F1) with score.py's conventions: 0.0 whenever a denominator is 0.
    pub fn prf(&self) -> (f64, f64, f64) {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let p = ratio(self.tp, self.tp + self.fp);
        let r = ratio(self.tp, self.tp + self.fn_);
        let f = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        (p, r, f)
    }
}

/// Greedy one-to-one matching of predictions to gold codes within one document.
struct Matcher<'g> {
    gold: &'g BTreeSet<String>,
    used: HashSet<&'g str>,
    prefix: bool,
}

impl<'g> Matcher<'g> {
    fn new(gold: &'g BTreeSet<String>, prefix: bool) -> Self {
        Matcher {
            gold,
            used: HashSet::new(),
            prefix,
        }
    }

    /// Claims an unused gold code matched by `pred`, if any.
    ///
    /// A predicted code can match two gold codes when the gold holds both a full PCS code and
    /// its own 4-character prefix (17 documents of CodiEsp dev-P do). score.py then takes
    /// whichever comes first in Python's set order, which depends on PYTHONHASHSEED, so its
    /// numbers vary between runs. We always prefer the exact match: the full gold code can only
    /// ever be matched by this very prediction, while the prefix stays available to others, so
    /// this choice never loses a match and agrees with score.py whenever score.py's choice
    /// does not matter.
    fn take(&mut self, pred: &str) -> bool {
        if let Some(g) = self.gold.get(pred) {
            if self.used.insert(g.as_str()) {
                return true;
            }
        }
        if self.prefix {
            if let Some(g) = first_chars(pred, 4).and_then(|p| self.gold.get(p)) {
                return self.used.insert(g.as_str());
            }
        }
        false
    }
}

/// The first `n` characters of `code` when it has more than `n` (Python slices by code point).
fn first_chars(code: &str, n: usize) -> Option<&str> {
    code.char_indices().nth(n).map(|(end, _)| &code[..end])
}

/// The first (up to) 3 characters: the ICD-10 category.
fn category(code: &str) -> &str {
    first_chars(code, 3).unwrap_or(code)
}

/// score.py's `matches`: exact, or (with `prefix`) a 4-character gold code that the longer
/// predicted code starts with.
fn matches(pred: &str, gold: &str, prefix: bool) -> bool {
    pred == gold || (prefix && gold.chars().count() == 4 && first_chars(pred, 4) == Some(gold))
}

/// Average precision of a ranked list against a gold set, as score.py's `ap`: the sum of
/// precision at each rank where a not-yet-matched gold code is hit, divided by the gold size
/// (0.0 for an empty gold set). `ranked` should already be normalised and deduplicated, as
/// [`score_docs`] does; `prefix` enables 4-character PCS prefix matching.
pub fn average_precision(ranked: &[String], gold: &BTreeSet<String>, prefix: bool) -> f64 {
    ap(ranked.iter().map(String::as_str), gold, prefix)
}

fn ap<'a>(ranked: impl IntoIterator<Item = &'a str>, gold: &BTreeSet<String>, prefix: bool) -> f64 {
    if gold.is_empty() {
        return 0.0;
    }
    let mut matcher = Matcher::new(gold, prefix);
    let mut hits = 0usize;
    let mut sum = 0.0;
    for (i, code) in ranked.into_iter().enumerate() {
        if matcher.take(code) {
            hits += 1;
            sum += hits as f64 / (i + 1) as f64;
        }
    }
    sum / gold.len() as f64
}

/// Sort key for scores: NaN last; -0.0 equal to 0.0 as in Python.
fn rank_score(score: f32) -> f32 {
    if score.is_nan() {
        f32::NEG_INFINITY
    } else if score == 0.0 {
        0.0
    } else {
        score
    }
}

/// Steps 1-3 of the module pipeline: the normalised ranked codes of one document with their
/// scores.
fn rank(preds: &[RankedCode], system: Option<GoldSystem>) -> Vec<(String, f32)> {
    let mut order: Vec<&RankedCode> = preds.iter().collect();
    // Stable sort: ties keep the order given.
    order.sort_by(|a, b| rank_score(b.score).total_cmp(&rank_score(a.score)));
    let mut seen = HashSet::new();
    let mut ranked = Vec::with_capacity(order.len());
    for item in order {
        let code = normalise_code(&item.code);
        // Dedupe before the system filter, as score.py does: the first occurrence's flag wins.
        if code.is_empty() || !seen.insert(code.clone()) {
            continue;
        }
        let keep = match system {
            None => true,
            Some(GoldSystem::Procedures) => item.is_pcs,
            Some(GoldSystem::Diagnoses) => !item.is_pcs,
        };
        if keep {
            ranked.push((code, item.score));
        }
    }
    ranked
}

/// Everything computed over the gold documents in one pass.
pub(super) struct Totals {
    pub(super) metrics: DocMetrics,
    pub(super) counts: MicroCounts,
    pub(super) predicted_docs: usize,
    pub(super) ranked_codes: usize,
}

/// One pass over the gold documents; with a threshold, only predictions scoring at least that
/// much are kept (after ranking and dedupe, so the best copy of a repeated code decides).
pub(super) fn score_all(
    preds: &HashMap<String, Vec<RankedCode>>,
    gold: &GoldSet,
    system: Option<GoldSystem>,
    threshold: Option<f32>,
) -> Totals {
    // Prefix matching only when scoring procedures, exactly as score.py (`prefix = system == "P"`).
    let prefix = system == Some(GoldSystem::Procedures);
    let mut counts = MicroCounts::default();
    let (mut missing, mut predicted_docs, mut ranked_codes) = (0, 0, 0);
    let (mut map, mut map_cat, mut rec10) = (0.0, 0.0, 0.0);
    for (doc, gold_codes) in gold.iter() {
        let doc_preds = preds.get(doc);
        match doc_preds {
            None => missing += 1,
            Some(_) => predicted_docs += 1,
        }
        let mut ranked = rank(doc_preds.map_or(&[][..], Vec::as_slice), system);
        if let Some(t) = threshold {
            ranked.retain(|(_, score)| *score >= t);
        }
        let ranked: Vec<&str> = ranked.iter().map(|(c, _)| c.as_str()).collect();
        ranked_codes += ranked.len();

        map += ap(ranked.iter().copied(), gold_codes, prefix);

        let gold_cats: BTreeSet<String> =
            gold_codes.iter().map(|c| category(c).to_owned()).collect();
        let mut ranked_cats: Vec<&str> = Vec::new();
        for code in &ranked {
            let cat = category(code);
            if !ranked_cats.contains(&cat) {
                ranked_cats.push(cat);
            }
        }
        map_cat += ap(ranked_cats, &gold_cats, false);

        let mut matcher = Matcher::new(gold_codes, prefix);
        let tp = ranked.iter().filter(|c| matcher.take(c)).count();
        counts.tp += tp;
        counts.fp += ranked.len() - tp;
        counts.fn_ += gold_codes.len() - tp;

        let top = &ranked[..ranked.len().min(RECALL_K)];
        let found = gold_codes
            .iter()
            .filter(|g| top.iter().any(|c| matches(c, g, prefix)))
            .count();
        // Gold sets are never empty (a document exists only through one of its codes).
        rec10 += found as f64 / gold_codes.len().max(1) as f64;
    }
    let docs = gold.len();
    // score.py divides by zero on an empty gold; we report zeros instead.
    let mean = |sum: f64| if docs == 0 { 0.0 } else { sum / docs as f64 };
    let (micro_p, micro_r, micro_f1) = counts.prf();
    Totals {
        metrics: DocMetrics {
            docs,
            missing_docs: missing,
            map: mean(map),
            map_category: mean(map_cat),
            micro_p,
            micro_r,
            micro_f1,
            recall_at_10: mean(rec10),
        },
        counts,
        predicted_docs,
        ranked_codes,
    }
}

/// Mirrors score.py `docs`: predictions per doc (ranked by score desc, ties in given order),
/// filtered to the system; prefix matching for procedures. See the module docs for the rules.
pub fn score_docs(
    preds: &HashMap<String, Vec<RankedCode>>,
    gold: &GoldSet,
    system: Option<GoldSystem>,
) -> DocMetrics {
    score_all(preds, gold, system, None).metrics
}

/// Micro P/R/F1 counting only predictions with `score >= threshold` (the "default threshold"
/// operating point), with the same ranking, filtering and matching rules as [`score_docs`].
/// Equal to score.py's micro numbers on a prediction file holding only those predictions.
pub fn micro_at_threshold(
    preds: &HashMap<String, Vec<RankedCode>>,
    gold: &GoldSet,
    system: Option<GoldSystem>,
    threshold: f32,
) -> (f64, f64, f64) {
    score_all(preds, gold, system, Some(threshold)).counts.prf()
}

/// Every ranked prediction of the gold documents as (score, matched a gold code), with the
/// same ranking, filtering and one-to-one matching as [`score_docs`]: the pairs behind a
/// calibration curve.
pub fn labelled_scores(
    preds: &HashMap<String, Vec<RankedCode>>,
    gold: &GoldSet,
    system: Option<GoldSystem>,
) -> Vec<(f32, bool)> {
    let prefix = system == Some(GoldSystem::Procedures);
    let mut out = Vec::new();
    for (doc, gold_codes) in gold.iter() {
        let ranked = rank(preds.get(doc).map_or(&[][..], Vec::as_slice), system);
        let mut matcher = Matcher::new(gold_codes, prefix);
        out.extend(
            ranked
                .iter()
                .map(|(code, score)| (*score, matcher.take(code))),
        );
    }
    out
}

/// Counts behind [`score_docs`] or [`micro_at_threshold`], for reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ScoreCounts {
    pub micro: MicroCounts,
    /// Gold documents that have a prediction entry.
    pub predicted_docs: usize,
    /// Predicted codes scored for gold documents (after dedupe, system filter and threshold).
    pub predicted_codes: usize,
}

/// The micro counts behind the metrics, optionally at a threshold.
pub fn score_counts(
    preds: &HashMap<String, Vec<RankedCode>>,
    gold: &GoldSet,
    system: Option<GoldSystem>,
    threshold: Option<f32>,
) -> ScoreCounts {
    let totals = score_all(preds, gold, system, threshold);
    ScoreCounts {
        micro: totals.counts,
        predicted_docs: totals.predicted_docs,
        predicted_codes: totals.ranked_codes,
    }
}
