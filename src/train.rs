//! Training on an annotated split: the code prior (document frequencies), each code's
//! candidate precision, and the fitted lexical ranker. Prior and precision are cross-fitted
//! (each half of the notes gets them from the other half) so the ranker learns how much to
//! trust them on notes they were not computed from.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;
use serde::Serialize;

use crate::codeset::{normalize_code, CodeId, System};
use crate::coding::SuggestOptions;
use crate::engine::Engine;
use crate::rank::{CodePrior, Features, LinearRanker};

/// Notes of the split: (id, text); gold: id -> dot-less codes (PCS may be 4-char prefixes).
pub struct TrainingSet<'a> {
    pub notes: &'a [(String, String)],
    pub gold: &'a HashMap<String, HashSet<String>>,
    pub source: String,
}

#[derive(Debug, Serialize)]
pub struct TrainReport {
    pub notes: usize,
    pub candidates: usize,
    pub positives: usize,
    /// Share of gold codes that appear among the candidates at all (the ranker's ceiling).
    pub candidate_recall: f64,
    pub log_loss: f32,
    pub weights: Vec<(String, f32)>,
}

struct Row {
    doc: usize,
    code: CodeId,
    key: String,
    features: Features,
    label: bool,
}

fn is_hit(gold: &HashSet<String>, code: &str, system: System) -> bool {
    gold.contains(code)
        || (system == System::Icd10pcs
            && gold
                .iter()
                .any(|g| g.len() == 4 && code.starts_with(g.as_str())))
}

/// Fits prior, precision and ranker; returns them with a report.
pub fn train_lexical(engine: &Engine, set: &TrainingSet) -> (CodePrior, LinearRanker, TrainReport) {
    let options = SuggestOptions::default();
    let per_note: Vec<Vec<Row>> = set
        .notes
        .par_iter()
        .enumerate()
        .map(|(doc, (id, text))| {
            let empty = HashSet::new();
            let gold = set.gold.get(id).unwrap_or(&empty);
            engine
                .candidate_features(text, &options)
                .unwrap_or_default()
                .into_iter()
                .map(|(code, features)| {
                    let c = engine.codes.get(code);
                    let key = c.code.clone();
                    Row {
                        doc,
                        code,
                        label: is_hit(gold, &key, c.system),
                        key,
                        features,
                    }
                })
                .collect()
        })
        .collect();
    let mut rows: Vec<Row> = per_note.into_iter().flatten().collect();
    let fold = |doc: usize| doc % 2;
    let ids: Vec<&String> = set.notes.iter().map(|(id, _)| id).collect();
    let prior_for = |held_out: Option<usize>, rows: &[Row]| {
        let mut counts: HashMap<String, u32> = HashMap::new();
        let mut documents = 0;
        for (doc, id) in ids.iter().enumerate() {
            if Some(fold(doc)) == held_out {
                continue;
            }
            documents += 1;
            for code in set.gold.get(*id).into_iter().flatten() {
                *counts.entry(normalize_code(code)).or_default() += 1;
            }
        }
        let mut precision: HashMap<String, [u32; 2]> = HashMap::new();
        for r in rows.iter().filter(|r| Some(fold(r.doc)) != held_out) {
            let e = precision.entry(r.key.clone()).or_default();
            e[0] += u32::from(r.label);
            e[1] += 1;
        }
        CodePrior::from_parts(&set.source, documents, counts, precision)
    };
    let folds = [prior_for(Some(0), &rows), prior_for(Some(1), &rows)];
    for r in rows.iter_mut() {
        let prior = &folds[fold(r.doc)];
        r.features.prior = prior.score(&engine.codes, r.code);
        r.features.precision = prior.precision(&engine.codes, r.code);
    }
    let samples: Vec<([f32; 15], bool)> = rows
        .iter()
        .map(|r| (r.features.vector(), r.label))
        .collect();
    let ranker = LinearRanker::fit(&samples, 1e-3, 400, &set.source);
    let positives = rows.iter().filter(|r| r.label).count();
    let gold_total: usize = set
        .notes
        .iter()
        .filter_map(|(id, _)| set.gold.get(id))
        .map(HashSet::len)
        .sum();
    let mut found: HashMap<usize, HashSet<&str>> = HashMap::new();
    for r in rows.iter().filter(|r| r.label) {
        found.entry(r.doc).or_default().insert(r.key.as_str());
    }
    let found_total: usize = found.values().map(HashSet::len).sum();
    let report = TrainReport {
        notes: set.notes.len(),
        candidates: rows.len(),
        positives,
        candidate_recall: found_total as f64 / gold_total.max(1) as f64,
        log_loss: ranker.log_loss(&samples),
        weights: ranker
            .features
            .iter()
            .cloned()
            .zip(ranker.weights.iter().copied())
            .collect(),
    };
    let full = prior_for(None, &rows);
    (full, ranker, report)
}
