//! Training on an annotated split: the code prior (document frequencies), each code's
//! candidate precision, the phrase–code associations, and the rows the rankers are fitted
//! on. Everything a row's features depend on that is learned from the gold is cross-fitted:
//! each fold of notes gets prior, precision and associations from the other folds, so the
//! ranker learns how far to trust them on notes they were not learned from.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;
use serde::Serialize;

use crate::associations::{AssociationConfig, Associations};
use crate::codeset::{normalize_code, CodeId, System};
use crate::coding::{RankerChoice, SuggestOptions};
use crate::engine::{Engine, LearnedPhrases};
use crate::onnx::{Mlp, MlpConfig};
use crate::rank::{CodePrior, Features, LinearRanker, FEATURE_COUNT, FEATURE_NAMES};

/// Cross-fitting folds (notes are assigned by position: note `i` is in fold `i % FOLDS`).
pub const FOLDS: usize = 5;

/// Notes of the split: (id, text); gold: id -> (system, dot-less code); procedures may be
/// 4-character prefixes.
pub struct TrainingSet<'a> {
    pub notes: &'a [(String, String)],
    pub gold: &'a HashMap<String, HashSet<(System, String)>>,
    pub source: String,
}

#[derive(Debug, Serialize)]
pub struct TrainReport {
    pub notes: usize,
    pub candidates: usize,
    pub positives: usize,
    /// Share of gold codes that appear among the candidates at all (the ranker's ceiling).
    pub candidate_recall: f64,
    /// Learned phrases in the shipped associations.
    pub learned_phrases: usize,
}

/// One (note, candidate code) with its cross-fitted features and label.
pub struct Row {
    pub doc: usize,
    pub code: CodeId,
    pub key: String,
    pub features: Features,
    pub label: bool,
}

impl Row {
    pub fn sample(&self) -> ([f32; FEATURE_COUNT], bool) {
        (self.features.vector(), self.label)
    }
}

/// What training learns besides the ranker weights, and the rows to fit rankers on.
pub struct TrainingData {
    /// Prior and precision over all notes (shipped).
    pub prior: CodePrior,
    pub rows: Vec<Row>,
    pub report: TrainReport,
}

/// The phrase associations learned from the gold: one set per cross-fitting fold (learned
/// from the other folds' notes) and the shipped set over all notes. Fitted once per
/// training run and shared by the rows of every ranker.
pub struct LearnedFolds {
    folds: Vec<LearnedPhrases>,
    /// Over all notes (shipped).
    pub associations: Associations,
}

impl LearnedFolds {
    pub fn fit(engine: &Engine, set: &TrainingSet) -> LearnedFolds {
        let config = AssociationConfig::default();
        let fit = |held_out: Option<usize>| {
            let notes: Vec<(String, String)> = set
                .notes
                .iter()
                .enumerate()
                .filter(|(doc, _)| Some(doc % FOLDS) != held_out)
                .map(|(_, n)| n.clone())
                .collect();
            Associations::fit(&notes, set.gold, &set.source, &config)
        };
        LearnedFolds {
            folds: (0..FOLDS)
                .into_par_iter()
                .map(|f| {
                    LearnedPhrases::new(
                        fit(Some(f)),
                        &engine.codes,
                        &engine.index,
                        engine.matcher.site_words(),
                    )
                })
                .collect(),
            associations: fit(None),
        }
    }
}

fn is_hit(gold: &HashSet<(System, String)>, code: &str, system: System) -> bool {
    gold.contains(&(system, code.to_string()))
        || (system == System::Icd10pcs
            && gold.iter().any(|(s, g)| {
                *s == System::Icd10pcs && g.len() == 4 && code.starts_with(g.as_str())
            }))
}

/// Candidates of every training note with cross-fitted features, as the pipeline that
/// `ranker` selects produces them (the lexical one runs without the encoder).
pub fn training_data(
    engine: &Engine,
    set: &TrainingSet,
    learned: &LearnedFolds,
    ranker: RankerChoice,
) -> TrainingData {
    let options = SuggestOptions {
        ranker,
        ..SuggestOptions::default()
    };
    let fold = |doc: usize| doc % FOLDS;
    let per_note: Vec<Vec<Row>> = set
        .notes
        .par_iter()
        .enumerate()
        .map(|(doc, (id, text))| {
            let empty = HashSet::new();
            let gold = set.gold.get(id).unwrap_or(&empty);
            engine
                .candidate_features_with(text, &options, &learned.folds[fold(doc)])
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
    let ids: Vec<&String> = set.notes.iter().map(|(id, _)| id).collect();
    let prior_for = |held_out: Option<usize>, rows: &[Row]| {
        let mut counts: HashMap<String, u32> = HashMap::new();
        let mut documents = 0;
        for (doc, id) in ids.iter().enumerate() {
            if Some(fold(doc)) == held_out {
                continue;
            }
            documents += 1;
            for (_, code) in set.gold.get(*id).into_iter().flatten() {
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
    let folds: Vec<CodePrior> = (0..FOLDS).map(|f| prior_for(Some(f), &rows)).collect();
    for r in rows.iter_mut() {
        let prior = &folds[fold(r.doc)];
        r.features.prior = prior.score(&engine.codes, r.code);
        r.features.precision = prior.precision(&engine.codes, r.code);
    }
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
        learned_phrases: learned.associations.len(),
    };
    TrainingData {
        prior: prior_for(None, &rows),
        rows,
        report,
    }
}

/// The learned ranker's shape and fitting, chosen on CodiEsp dev.
pub fn ranker_config() -> MlpConfig {
    MlpConfig {
        hidden: vec![32, 16],
        epochs: 200,
        learning_rate: 3e-3,
        l2: 1e-3,
        batch_size: 64,
        seed: 42,
        validation_fraction: 0.1,
        patience: 20,
    }
}

/// Networks averaged in the shipped ranker (seeds `seed`, `seed + 1`, ...).
pub const ENSEMBLE: u64 = 5;

/// The MLP ranker fitted on the rows: an ensemble of [`ENSEMBLE`] networks from consecutive
/// seeds (deterministic given `config.seed`), and its ONNX form.
pub fn fit_mlp(data: &TrainingData, config: &MlpConfig) -> crate::Result<(Vec<Mlp>, Vec<u8>)> {
    let samples: Vec<([f32; FEATURE_COUNT], bool)> = data.rows.iter().map(Row::sample).collect();
    let members = (0..ENSEMBLE)
        .into_par_iter()
        .map(|i| {
            let member = MlpConfig {
                seed: config.seed.wrapping_add(i),
                ..config.clone()
            };
            Mlp::fit(&samples, None, &member)
        })
        .collect::<crate::Result<Vec<Mlp>>>()?;
    let report = serde_json::to_string(&data.report).unwrap_or_default();
    let onnx = Mlp::ensemble_to_onnx(
        &members,
        &FEATURE_NAMES,
        &[("chartcoder.training_data", &report)],
    )?;
    Ok((members, onnx))
}

/// The logistic ranker fitted on the rows.
pub fn fit_linear(data: &TrainingData, source: &str) -> LinearRanker {
    let samples: Vec<([f32; FEATURE_COUNT], bool)> = data.rows.iter().map(Row::sample).collect();
    LinearRanker::fit(&samples, 1e-3, 400, source)
}
