//! Reliability of scores as probabilities: binned accuracy and expected calibration error.

use serde::Serialize;

/// One equal-width score bin `[lo, hi)` (the last bin includes 1.0).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bin {
    pub lo: f64,
    pub hi: f64,
    /// Pairs whose score falls in the bin.
    pub count: usize,
    /// Mean score of those pairs (0.0 for an empty bin).
    pub mean_score: f64,
    /// Share of those pairs that are correct (0.0 for an empty bin).
    pub accuracy: f64,
}

/// Calibration summary of `(score, correct)` pairs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Calibration {
    pub bins: Vec<Bin>,
    /// Expected calibration error: sum over bins of `count / total * |accuracy - mean_score|`.
    pub ece: f64,
}

/// Bins `(score, correct)` pairs into `bins` equal-width bins over [0, 1] and computes the
/// expected calibration error.
///
/// Scores outside [0, 1] are clamped into the end bins (they are meant to be probabilities, and
/// dropping them would hide miscalibration); NaN scores are skipped. `bins == 0` or no usable
/// pairs give an ECE of 0.0.
pub fn calibration(pairs: &[(f32, bool)], bins: usize) -> Calibration {
    let n_bins = bins as f64;
    // (count, score sum, correct count) per bin.
    let mut acc = vec![(0usize, 0.0f64, 0usize); bins];
    let mut total = 0usize;
    if bins > 0 {
        for &(score, correct) in pairs {
            if score.is_nan() {
                continue;
            }
            let s = f64::from(score).clamp(0.0, 1.0);
            // Truncation is the binning; 1.0 belongs to the last bin.
            let index = ((s * n_bins) as usize).min(bins - 1);
            let slot = &mut acc[index];
            slot.0 += 1;
            slot.1 += s;
            slot.2 += usize::from(correct);
            total += 1;
        }
    }
    let mut ece = 0.0;
    let bins = acc
        .into_iter()
        .enumerate()
        .map(|(i, (count, score_sum, correct))| {
            let (mean_score, accuracy) = if count == 0 {
                (0.0, 0.0)
            } else {
                (score_sum / count as f64, correct as f64 / count as f64)
            };
            if total > 0 {
                ece += count as f64 / total as f64 * (accuracy - mean_score).abs();
            }
            Bin {
                lo: i as f64 / n_bins,
                hi: (i + 1) as f64 / n_bins,
                count,
                mean_score,
                accuracy,
            }
        })
        .collect();
    Calibration { bins, ece }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_and_ece() {
        let pairs = [
            (0.1, false),
            (0.2, true),
            (0.9, true),
            (1.0, true),
            (1.5, false),
            (-0.5, false),
            (f32::NAN, true),
        ];
        let c = calibration(&pairs, 2);
        assert_eq!(c.bins.len(), 2);
        let (low, high) = (&c.bins[0], &c.bins[1]);
        assert_eq!((low.lo, low.hi, low.count), (0.0, 0.5, 3));
        assert_eq!((high.lo, high.hi, high.count), (0.5, 1.0, 3));
        // Low bin: scores 0.1, 0.2, 0.0 (clamped); one correct.
        let low_mean = (f64::from(0.1f32) + f64::from(0.2f32)) / 3.0;
        assert!((low.mean_score - low_mean).abs() < 1e-12);
        assert!((low.accuracy - 1.0 / 3.0).abs() < 1e-12);
        // High bin: 0.9, 1.0, 1.0 (clamped); two correct.
        let high_mean = (f64::from(0.9f32) + 2.0) / 3.0;
        assert!((high.accuracy - 2.0 / 3.0).abs() < 1e-12);
        let ece = 0.5 * (1.0 / 3.0 - low_mean).abs() + 0.5 * (2.0 / 3.0 - high_mean).abs();
        assert!((c.ece - ece).abs() < 1e-12);
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        assert_eq!(calibration(&[(0.5, true)], 0).bins.len(), 0);
        let empty = calibration(&[], 4);
        assert_eq!(empty.bins.len(), 4);
        assert_eq!(empty.ece, 0.0);
        let perfect = calibration(&[(1.0, true), (0.0, false)], 10);
        assert_eq!(perfect.ece, 0.0);
    }
}

/// Placeholder until the plot lands (merge takes the real one).
pub fn reliability_svg(_calibration: &Calibration, _title: &str) -> String {
    String::new()
}
