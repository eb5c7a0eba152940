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

/// A reliability diagram as a self-contained SVG document: per non-empty bin, a point at
/// (mean predicted score, observed frequency) with a tooltip, joined by a line, against the
/// diagonal of perfect calibration; below it, one bar per non-empty bin with its pair count.
/// The title carries the expected calibration error.
pub fn reliability_svg(calibration: &Calibration, title: &str) -> String {
    use std::fmt::Write;

    const WIDTH: f64 = 520.0;
    const HEIGHT: f64 = 540.0;
    // The reliability plot and, under it, the count histogram share the x axis.
    const LEFT: f64 = 64.0;
    const RIGHT: f64 = 480.0;
    const TOP: f64 = 56.0;
    const PLOT: f64 = 360.0;
    const HIST_TOP: f64 = 400.0;
    const HIST_BOTTOM: f64 = 490.0;
    let x = |v: f64| LEFT + v.clamp(0.0, 1.0) * (RIGHT - LEFT);
    let y = |v: f64| PLOT - v.clamp(0.0, 1.0) * (PLOT - TOP);

    let filled: Vec<&Bin> = calibration.bins.iter().filter(|b| b.count > 0).collect();
    let total: usize = filled.iter().map(|b| b.count).sum();
    let max_count = filled.iter().map(|b| b.count).max().unwrap_or(0);
    let heading = format!("{} — ECE {:.4}", title, calibration.ece);

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, "<title>{}</title>", escape(&heading));
    let _ = writeln!(
        svg,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        svg,
        r#"<text class="title" x="{:.1}" y="28" text-anchor="middle" font-size="15">{}</text>"#,
        WIDTH / 2.0,
        escape(&heading)
    );
    // Grid, ticks and frame.
    for i in 0..=4 {
        let v = f64::from(i) / 4.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{:.1}" y1="{TOP:.1}" x2="{:.1}" y2="{PLOT:.1}" stroke="#e4e4e4"/><line x1="{LEFT:.1}" y1="{:.1}" x2="{RIGHT:.1}" y2="{:.1}" stroke="#e4e4e4"/>"##,
            x(v),
            x(v),
            y(v),
            y(v)
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{v:.2}</text><text x="{:.1}" y="{:.1}" text-anchor="end">{v:.2}</text>"#,
            x(v),
            HIST_BOTTOM + 16.0,
            LEFT - 6.0,
            y(v) + 4.0
        );
    }
    let _ = writeln!(
        svg,
        r##"<rect x="{LEFT:.1}" y="{TOP:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#444444"/>"##,
        RIGHT - LEFT,
        PLOT - TOP
    );
    let _ = writeln!(
        svg,
        r##"<line class="diagonal" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#888888" stroke-dasharray="5,4"/>"##,
        x(0.0),
        y(0.0),
        x(1.0),
        y(1.0)
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">mean predicted probability</text>"#,
        (LEFT + RIGHT) / 2.0,
        HIST_BOTTOM + 36.0
    );
    let _ = writeln!(
        svg,
        r#"<text x="18" y="{:.1}" text-anchor="middle" transform="rotate(-90 18 {:.1})">observed frequency</text>"#,
        (TOP + PLOT) / 2.0,
        (TOP + PLOT) / 2.0
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="end">pairs</text>"#,
        LEFT - 6.0,
        (HIST_TOP + HIST_BOTTOM) / 2.0
    );
    if filled.is_empty() {
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">no scored pairs</text>"#,
            (LEFT + RIGHT) / 2.0,
            (TOP + PLOT) / 2.0
        );
    }
    if filled.len() > 1 {
        let points: Vec<String> = filled
            .iter()
            .map(|b| format!("{:.1},{:.1}", x(b.mean_score), y(b.accuracy)))
            .collect();
        let _ = writeln!(
            svg,
            r##"<polyline class="curve" points="{}" fill="none" stroke="#1f5fa8" stroke-width="1.5"/>"##,
            points.join(" ")
        );
    }
    for b in &filled {
        let _ = writeln!(
            svg,
            r##"<circle class="bin" cx="{:.1}" cy="{:.1}" r="4.5" fill="#1f5fa8"><title>[{:.2}, {:.2}): {} pairs, mean score {:.3}, observed {:.3}</title></circle>"##,
            x(b.mean_score),
            y(b.accuracy),
            b.lo,
            b.hi,
            b.count,
            b.mean_score,
            b.accuracy
        );
        let height = (HIST_BOTTOM - HIST_TOP) * b.count as f64 / max_count.max(1) as f64;
        let (left, right) = (x(b.lo), x(b.hi));
        let _ = writeln!(
            svg,
            r##"<rect class="count" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#9bb8d8" stroke="#ffffff"><title>{} of {total} pairs</title></rect><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{}</text>"##,
            left,
            HIST_BOTTOM - height,
            (right - left).max(0.0),
            height,
            b.count,
            (left + right) / 2.0,
            HIST_BOTTOM - height - 3.0,
            b.count
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
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

    #[test]
    fn svg_has_one_point_and_one_bar_per_non_empty_bin() {
        let pairs = [
            (0.05, false),
            (0.07, false),
            (0.55, true),
            (0.95, true),
            (0.92, false),
        ];
        let c = calibration(&pairs, 10);
        let filled = c.bins.iter().filter(|b| b.count > 0).count();
        assert_eq!(filled, 3);
        let svg = reliability_svg(&c, "dev <split> & co");
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches(r#"class="bin""#).count(), filled);
        assert_eq!(svg.matches(r#"class="count""#).count(), filled);
        assert_eq!(svg.matches(r#"class="diagonal""#).count(), 1);
        assert!(svg.contains(&format!("ECE {:.4}", c.ece)));
        assert!(
            svg.contains("dev &lt;split&gt; &amp; co"),
            "title is escaped"
        );
        assert!(!svg.contains("<split>"));
        // Well-formed XML, with one circle per non-empty bin.
        let mut reader = quick_xml::Reader::from_str(&svg);
        let (mut depth, mut circles) = (0i32, 0);
        loop {
            match reader.read_event().expect("well-formed SVG") {
                quick_xml::events::Event::Start(e) => {
                    depth += 1;
                    circles += usize::from(e.name().as_ref() == b"circle");
                }
                quick_xml::events::Event::End(_) => depth -= 1,
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!((depth, circles), (0, filled));

        let empty = reliability_svg(&calibration(&[], 10), "none");
        assert_eq!(empty.matches(r#"class="bin""#).count(), 0);
        assert!(empty.contains("no scored pairs"));
        assert!(!reliability_svg(&calibration(&[], 0), "x").is_empty());
    }
}
