//! A serialisable evaluation report over one or more code systems.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use super::calibration::{calibration, Calibration};
use super::error::EvalError;
use super::gold::{GoldSet, GoldSystem};
use super::metrics::{labelled_scores, score_all, DocMetrics, RankedCode};

/// Note added whenever procedures are scored.
pub const NOTE_PCS_PREFIX: &str = "PCS gold codes of 4 characters are matched by any predicted \
     code they prefix (CodiEsp convention); this applies only when scoring procedures";

/// Notes every report carries: the conventions a reader needs to compare numbers.
const GENERAL_NOTES: [&str; 4] = [
    "Metrics follow /work/shared/tools/score.py `docs`: codes compared upper-case without dots, \
     predictions ranked by score descending with ties in given order, repeated codes counted once",
    "Gold documents without predictions score 0 (counted in missing_docs); predictions for \
     documents absent from the gold are ignored",
    "When one prediction matches both a full PCS gold code and its 4-character gold prefix, the \
     exact match is taken; score.py picks by Python set order (PYTHONHASHSEED-dependent)",
    "Metrics are unrounded; score.py prints them rounded to 4 decimals",
];

/// Micro P/R/F1 at a score threshold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ThresholdMetrics {
    /// Predictions with `score >= threshold` are counted.
    pub threshold: f32,
    pub micro_p: f64,
    pub micro_r: f64,
    pub micro_f1: f64,
    /// Predicted codes counted at this threshold (for gold documents).
    pub predicted_codes: usize,
}

/// Metrics of one system (or of all codes together).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SystemReport {
    /// `None`: all codes together, without PCS prefix matching (score.py without `--system`).
    pub system: Option<GoldSystem>,
    pub gold_docs: usize,
    pub gold_codes: usize,
    /// Gold documents that have a prediction entry.
    pub predicted_docs: usize,
    /// Ranked codes scored for gold documents, after dedupe and the system filter.
    pub predicted_codes: usize,
    pub metrics: DocMetrics,
    pub at_threshold: Option<ThresholdMetrics>,
    /// Reliability of the scores as probabilities that a suggestion is right (10 bins).
    pub calibration: Calibration,
}

/// Equal-width score bins of the reported calibration.
pub const CALIBRATION_BINS: usize = 10;

/// An evaluation report: per-system metrics plus explanatory notes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvalReport {
    pub systems: Vec<SystemReport>,
    pub notes: Vec<String>,
    /// The pipeline with components added one at a time (empty when not run).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ablation: Vec<AblationRow>,
}

/// One pipeline variant scored on one system.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AblationRow {
    pub variant: String,
    pub system: Option<GoldSystem>,
    pub map: f64,
    pub map_category: f64,
    pub recall_at_10: f64,
    pub notes_per_second: f64,
}

impl Default for EvalReport {
    fn default() -> Self {
        EvalReport::new()
    }
}

impl EvalReport {
    /// An empty report carrying the general scoring notes.
    pub fn new() -> EvalReport {
        EvalReport {
            systems: Vec::new(),
            ablation: Vec::new(),
            notes: GENERAL_NOTES.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// Scores `preds` against `gold` for `system` (see [`super::score_docs`]), with micro
    /// P/R/F1 at `threshold` when given (see [`super::micro_at_threshold`]), and appends the
    /// result.
    pub fn add_system(
        &mut self,
        preds: &HashMap<String, Vec<RankedCode>>,
        gold: &GoldSet,
        system: Option<GoldSystem>,
        threshold: Option<f32>,
    ) -> &SystemReport {
        let totals = score_all(preds, gold, system, None);
        let at_threshold = threshold.map(|t| {
            let at = score_all(preds, gold, system, Some(t));
            let (micro_p, micro_r, micro_f1) = at.counts.prf();
            ThresholdMetrics {
                threshold: t,
                micro_p,
                micro_r,
                micro_f1,
                predicted_codes: at.ranked_codes,
            }
        });
        if system == Some(GoldSystem::Procedures) {
            self.add_note(NOTE_PCS_PREFIX);
        }
        self.systems.push(SystemReport {
            system,
            gold_docs: gold.len(),
            gold_codes: gold.code_count(),
            predicted_docs: totals.predicted_docs,
            predicted_codes: totals.ranked_codes,
            metrics: totals.metrics,
            at_threshold,
            calibration: calibration(&labelled_scores(preds, gold, system), CALIBRATION_BINS),
        });
        &self.systems[self.systems.len() - 1]
    }

    /// Adds a note unless the report already has it.
    pub fn add_note(&mut self, note: &str) {
        if !self.notes.iter().any(|n| n == note) {
            self.notes.push(note.to_owned());
        }
    }

    /// Writes the report as pretty-printed JSON (with a trailing newline).
    pub fn write_json(&self, path: &Path) -> Result<(), EvalError> {
        let mut json = serde_json::to_string_pretty(self).map_err(|source| EvalError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        json.push('\n');
        std::fs::write(path, json).map_err(EvalError::io(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_round_trips_through_json() {
        let mut gold = GoldSet::new();
        gold.insert("d1", "I10");
        gold.insert("d1", "BW03");
        let preds = HashMap::from([(
            "d1".to_owned(),
            vec![
                RankedCode::new("I10", 0.9, false),
                RankedCode::new("BW031ZZ", 0.4, true),
            ],
        )]);
        let mut report = EvalReport::new();
        report.add_system(&preds, &gold, Some(GoldSystem::Procedures), Some(0.5));
        let added = report.add_system(&preds, &gold, None, None);
        assert_eq!(added.predicted_codes, 2);
        assert!(report.notes.iter().any(|n| n == NOTE_PCS_PREFIX));

        let p = &report.systems[0];
        assert_eq!((p.gold_docs, p.gold_codes, p.predicted_docs), (1, 2, 1));
        assert_eq!(p.predicted_codes, 1);
        let t = p.at_threshold.as_ref().expect("threshold metrics");
        assert_eq!((t.predicted_codes, t.micro_p, t.micro_r), (0, 0.0, 0.0));
        assert_eq!(p.metrics.micro_p, 1.0);

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("report.json");
        report.write_json(&path).expect("write");
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        assert_eq!(value["systems"][0]["system"], "Procedures");
        assert_eq!(value["systems"][1]["system"], serde_json::Value::Null);
        assert_eq!(value["systems"][0]["metrics"]["micro_r"], 0.5);
        let err = report
            .write_json(&dir.path().join("no/such/dir/r.json"))
            .unwrap_err();
        assert!(matches!(err, EvalError::Io { .. }));
    }
}
