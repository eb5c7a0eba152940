//! Evaluation: CodiEsp gold, metrics (MAP, P/R/F1, recall@k) and reports.
//!
//! The metrics agree with the project's independent reference scorer,
//! `/work/shared/tools/score.py docs` (see [`score_docs`] and the tests, whose expected numbers
//! come from running score.py), so numbers from the engine and from batch runs are comparable.
//!
//! - [`GoldSet`]: doc id -> normalised gold codes, from CodiEsp D/P/X TSV files.
//! - [`score_docs`], [`micro_at_threshold`], [`average_precision`]: the metrics.
//! - [`EvalReport`]: per-system metrics and notes, written as JSON.
//! - [`load_texts`]: the documents of a split; [`calibration()`]: score reliability ([`reliability_svg`] draws it).

mod calibration;
mod error;
mod gold;
mod metrics;
mod report;
mod texts;

#[cfg(test)]
mod tests;

pub use calibration::{calibration, reliability_svg, Bin, Calibration};
pub use error::EvalError;
pub use gold::{normalise_code, GoldSet, GoldSystem};
pub use metrics::{
    average_precision, labelled_scores, looks_like_pcs, micro_at_threshold, round4, score_counts,
    score_docs, DocMetrics, MicroCounts, RankedCode, ScoreCounts, RECALL_K,
};
pub use report::{AblationRow, EvalReport, SystemReport, ThresholdMetrics, NOTE_PCS_PREFIX};
pub use texts::load_texts;
