//! Agreement with the reference scorer `/work/shared/tools/score.py docs`.
//!
//! Every expected number here was produced once by running score.py (Python 3) on the same
//! input written as TSV gold + JSONL predictions (`"system": "cm"|"pcs"` standing for
//! `is_pcs`), and is hard-coded; score.py is not run by the tests. Numbers are compared after
//! rounding to 4 decimals, the precision score.py prints.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::*;

type Preds = HashMap<String, Vec<RankedCode>>;
/// (code, score, is_pcs)
type Item<'a> = (&'a str, f32, bool);

fn preds(entries: &[(&str, &[Item])]) -> Preds {
    entries
        .iter()
        .map(|(doc, items)| {
            let items = items
                .iter()
                .map(|&(code, score, pcs)| RankedCode::new(code, score, pcs))
                .collect();
            ((*doc).to_owned(), items)
        })
        .collect()
}

fn gold_from_tsv(content: &str) -> GoldSet {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gold.tsv");
    std::fs::write(&path, content).expect("write gold");
    GoldSet::load_tsv(&path).expect("load gold")
}

/// score.py's output line as metrics.
#[allow(clippy::too_many_arguments)]
fn expected(
    docs: usize,
    missing_docs: usize,
    map: f64,
    map_category: f64,
    micro_p: f64,
    micro_r: f64,
    micro_f1: f64,
    recall_at_10: f64,
) -> DocMetrics {
    DocMetrics {
        docs,
        missing_docs,
        map,
        map_category,
        micro_p,
        micro_r,
        micro_f1,
        recall_at_10,
    }
}

fn round3(prf: (f64, f64, f64)) -> (f64, f64, f64) {
    (round4(prf.0), round4(prf.1), round4(prf.2))
}

const GOLD_D: &str = "doc1\tI10\ndoc1\tE11.9\ndoc1\tn18.3\ndoc2\tJ45.909\ndoc2\tR05\ndoc3\tK21.9\n\
    doc4\tA00.0\ndoc4\tA00.1\ndoc4\tA01.0\ndoc4\tA01.1\ndoc4\tA02.0\ndoc4\tA02.1\n\
    doc4\tA03.0\ndoc4\tA03.1\ndoc4\tA04.0\ndoc4\tA04.1\ndoc4\tA05.0\ndoc4\tA05.1\n";

/// Ties (doc1 e11.9/I10, doc2 X99/R05), duplicates after normalisation (E119, j45.909), a PCS
/// prediction among diagnoses, a missing gold doc (doc3), a doc absent from the gold (docX)
/// and a doc with 12 gold codes for recall@10.
fn preds_d() -> Preds {
    preds(&[
        (
            "doc1",
            &[
                ("e11.9", 0.5, false),
                ("Z00.0", 0.9, false),
                ("I10", 0.5, false),
                ("E119", 0.4, false),
                ("N18.4", 0.3, false),
                ("0DT60ZZ", 0.95, true),
            ],
        ),
        (
            "doc2",
            &[
                ("X99", 0.8, false),
                ("R05", 0.8, false),
                (" j45.909 ", 0.25, false),
                ("J45.9", 0.25, false),
            ],
        ),
        ("docX", &[("I10", 0.9, false)]),
        (
            "doc4",
            &[
                ("W00.0", 0.99, false),
                ("A00.0", 0.9, false),
                ("A00.1", 0.85, false),
                ("A01.0", 0.8, false),
                ("A01.1", 0.75, false),
                ("A02.0", 0.7, false),
                ("A02.1", 0.65, false),
                ("A03.0", 0.6, false),
                ("A03.1", 0.55, false),
                ("A04.0", 0.5, false),
                ("A04.1", 0.45, false),
                ("A09.9", 0.4, false),
                ("A05.0", 0.35, false),
            ],
        ),
    ])
}

const GOLD_P: &str = "p1\t0DT60ZZ\np1\tbw03\np2\t3E0T\np2\t0FB00ZX\np3\t0SR9019\n";

/// Prefix matches (BW031ZZ -> BW03, used once only: BW032ZZ is a false positive), an exact
/// 4-character match, a 4-character prediction that does not match a longer gold code (0FB0),
/// a CM prediction dropped by the system filter, a missing doc (p3).
fn preds_p() -> Preds {
    preds(&[
        (
            "p1",
            &[
                ("BW031ZZ", 0.9, true),
                ("BW032ZZ", 0.8, true),
                ("0dt6.0zz", 0.7, true),
                ("I10", 0.99, false),
            ],
        ),
        (
            "p2",
            &[
                ("3E0T", 0.5, true),
                ("3E0T3GC", 0.5, true),
                ("0FB0", 0.6, true),
                ("0FB00ZX", 0.125, true),
            ],
        ),
    ])
}

#[test]
fn diagnoses_match_score_py() {
    let gold = gold_from_tsv(GOLD_D);
    let preds = preds_d();
    // score.py docs pred_d.jsonl gold_d.tsv --system D
    assert_eq!(
        score_docs(&preds, &gold, Some(GoldSystem::Diagnoses)).rounded(),
        expected(4, 1, 0.4269, 0.4847, 0.7143, 0.8333, 0.7692, 0.6042)
    );
    // score.py docs pred_d.jsonl gold_d.tsv (no --system: the PCS prediction counts as FP)
    assert_eq!(
        score_docs(&preds, &gold, None).rounded(),
        expected(4, 1, 0.3992, 0.4444, 0.6818, 0.8333, 0.75, 0.6042)
    );
    // score.py docs on pred_d.jsonl keeping only suggestions with score >= 0.5, --system D
    assert_eq!(
        round3(micro_at_threshold(
            &preds,
            &gold,
            Some(GoldSystem::Diagnoses),
            0.5
        )),
        (0.8, 0.6667, 0.7273)
    );
}

#[test]
fn procedures_match_score_py() {
    let gold = gold_from_tsv(GOLD_P);
    let preds = preds_p();
    // score.py docs pred_p.jsonl gold_p.tsv --system P
    assert_eq!(
        score_docs(&preds, &gold, Some(GoldSystem::Procedures)).rounded(),
        expected(3, 1, 0.4444, 0.6667, 0.5714, 0.8, 0.6667, 0.6667)
    );
    // score.py docs pred_p.jsonl gold_p.tsv (no --system: no prefix matching, I10 counts)
    assert_eq!(
        score_docs(&preds, &gold, None).rounded(),
        expected(3, 1, 0.2083, 0.5278, 0.375, 0.6, 0.4615, 0.5)
    );
    // score.py docs on pred_p.jsonl keeping only suggestions with score >= 0.6, --system P
    assert_eq!(
        round3(micro_at_threshold(
            &preds,
            &gold,
            Some(GoldSystem::Procedures),
            0.6
        )),
        (0.5, 0.4, 0.4444)
    );
}

#[test]
fn exact_match_wins_over_prefix_when_both_apply() {
    // Gold holds a full PCS code and its own 4-character prefix. score.py's answer depends on
    // Python's set order: PYTHONHASHSEED=0 or 1 give all 1.0 (as here), 2 or 3 give map 0.5
    // and micro P/R/F1 0.5 (BW03ZZZ consumed the prefix, leaving BW031ZZ unmatched).
    let gold = gold_from_tsv("a\tBW03\na\tBW03ZZZ\n");
    let preds = preds(&[("a", &[("BW03ZZZ", 0.9, true), ("BW031ZZ", 0.8, true)])]);
    assert_eq!(
        score_docs(&preds, &gold, Some(GoldSystem::Procedures)).rounded(),
        expected(1, 0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    );
}

#[test]
fn average_precision_and_edge_cases() {
    let gold: BTreeSet<String> = ["A", "C"].iter().map(|s| s.to_string()).collect();
    let ranked: Vec<String> = ["A", "B", "C"].iter().map(|s| s.to_string()).collect();
    assert!((average_precision(&ranked, &gold, false) - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
    assert_eq!(average_precision(&ranked, &BTreeSet::new(), false), 0.0);
    assert_eq!(average_precision(&[], &gold, true), 0.0);

    let pcs: BTreeSet<String> = ["BW03".to_owned()].into();
    let full = vec!["BW03ZZZ".to_owned()];
    assert_eq!(average_precision(&full, &pcs, true), 1.0);
    assert_eq!(average_precision(&full, &pcs, false), 0.0);
    // Prefix matching goes one way only: a 4-character prediction is not a longer gold code.
    let long: BTreeSet<String> = ["BW03ZZZ".to_owned()].into();
    assert_eq!(average_precision(&["BW03".to_owned()], &long, true), 0.0);

    // Empty gold, NaN scores, empty codes: no panic.
    let empty = score_docs(&Preds::new(), &GoldSet::new(), None);
    assert_eq!(empty, DocMetrics::default());
    let mut gold = GoldSet::new();
    gold.insert("d", "I10");
    let odd = preds(&[(
        "d",
        &[
            (" . ", 1.0, false),
            ("X1", f32::NAN, false),
            ("i10", 0.1, false),
        ],
    )]);
    let m = score_docs(&odd, &gold, None);
    assert_eq!((m.map, m.micro_p), (1.0, 0.5));
    assert_eq!(micro_at_threshold(&odd, &gold, None, 0.0), (1.0, 1.0, 1.0));
}

#[test]
fn system_guess_mirrors_score_py() {
    assert!(looks_like_pcs("0DT60ZZ"));
    assert!(looks_like_pcs("bw03zzz"));
    assert!(!looks_like_pcs("0DT6.0ZZ"));
    assert!(!looks_like_pcs("S72001A"));
    assert!(!looks_like_pcs("E11.9"));
    assert!(!looks_like_pcs(""));
    assert!(RankedCode::guess_system("3E0T3GC", 0.1).is_pcs);
}

#[test]
fn rounding_matches_python_round() {
    // Python: round(0.03125, 4) == 0.0312, round(0.09375, 4) == 0.0938 (half-even on the
    // exact binary value), round(2/3, 4) == 0.6667.
    assert_eq!(round4(0.03125), 0.0312);
    assert_eq!(round4(0.09375), 0.0938);
    assert_eq!(round4(2.0 / 3.0), 0.6667);
}

// ---- CodiEsp dev set (skipped when ../shared is absent) ----

fn dev_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/codiesp/dev");
    if dir.join("devD.tsv").is_file() && dir.join("devP.tsv").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "skipping CodiEsp dev test: {} not found (needs the shared data checkout)",
            dir.display()
        );
        None
    }
}

fn load_dev(dir: &Path) -> (GoldSet, GoldSet) {
    let d = GoldSet::load_tsv(&dir.join("devD.tsv")).expect("devD.tsv");
    let p = GoldSet::load_tsv(&dir.join("devP.tsv")).expect("devP.tsv");
    (d, p)
}

#[test]
fn dev_gold_loads_consistently() {
    let Some(dir) = dev_dir() else { return };
    let (d, p) = load_dev(&dir);
    assert_eq!((d.len(), d.code_count()), (250, 2677));
    assert_eq!((p.len(), p.code_count()), (222, 817));

    let x = dir.join("devX.tsv");
    if x.is_file() {
        // The X file restates the D and P gold (one row per mention).
        let xd = GoldSet::load_x_tsv(&x, GoldSystem::Diagnoses).expect("devX D");
        let xp = GoldSet::load_x_tsv(&x, GoldSystem::Procedures).expect("devX P");
        assert_eq!(xd, d);
        assert_eq!(xp, p);
        let mut both = d.clone();
        both.merge(p.clone());
        assert_eq!(GoldSet::load_tsv(&x).expect("devX"), both);
    }

    let texts = dir.join("text_files_en");
    if texts.is_dir() {
        let texts = load_texts(&texts).expect("texts");
        let ids: Vec<&str> = texts.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, d.docs().collect::<Vec<_>>());
    }
}

/// Every gold code predicted (D codes then P codes, each sorted, score 1.0).
fn perfect_predictions(d: &GoldSet, p: &GoldSet) -> Preds {
    let mut preds = Preds::new();
    for (gold, is_pcs) in [(d, false), (p, true)] {
        for (doc, codes) in gold.iter() {
            preds.entry(doc.to_owned()).or_default().extend(
                codes
                    .iter()
                    .map(|c| RankedCode::new(c.clone(), 1.0, is_pcs)),
            );
        }
    }
    preds
}

#[test]
fn dev_perfect_predictions_score_one() {
    let Some(dir) = dev_dir() else { return };
    let (d, p) = load_dev(&dir);
    let preds = perfect_predictions(&d, &p);
    // score.py on the same predictions (perfect_sorted.jsonl): recall@10 < 1 only because
    // some documents have more than 10 gold codes. Listed in file order instead of sorted,
    // score.py's P numbers vary with PYTHONHASHSEED (map 0.9917..0.997) because of documents
    // whose gold has a full code and its own prefix; ours are 1.0 regardless of order.
    assert_eq!(
        score_docs(&preds, &d, Some(GoldSystem::Diagnoses)).rounded(),
        expected(250, 0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.8489)
    );
    assert_eq!(
        score_docs(&preds, &p, Some(GoldSystem::Procedures)).rounded(),
        expected(222, 0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.9996)
    );
}

/// A fixed pseudo-prediction over the dev gold, generated identically by this Python snippet
/// (its output was scored with score.py, seeds 0..7 all agreeing):
///
/// ```python
/// docs = sorted(set(goldD) | set(goldP))          # gold: doc -> set of normalised codes
/// for k, doc in enumerate(docs):
///     if k % 7 == 3: continue                      # missing document
///     d_items, p_items = [], []
///     if k % 11 != 5:                              # else: present with an empty list
///         for j, code in enumerate(sorted(goldD.get(doc, ()))):
///             if j % 4 == 0: d_items.append((f"U99.{j}", "cm"))
///             if j % 3 != 2: d_items.append((code.lower(), "cm"))
///             if j % 5 == 1: d_items.append((code, "cm"))
///         for j, code in enumerate(sorted(goldP.get(doc, ()))):
///             if j % 3 == 1: p_items.append((f"9ZZZZ{j % 100:02}", "pcs"))
///             if len(code) == 4 and j % 2 == 0: p_items.append((code + "ZZZ", "pcs"))
///             else: p_items.append((code, "pcs"))
///     merged = []
///     for i in range(max(len(d_items), len(p_items))):
///         merged += d_items[i:i + 1] + p_items[i:i + 1]
///     sugg = [{"code": c, "score": 1.0 - (i // 2) / 64, "system": s}
///             for i, (c, s) in enumerate(merged)]
///     sugg.reverse()                               # ties (pairs) now reach the scorer reversed
///     print(json.dumps({"id": doc, "suggestions": sugg}))
/// ```
fn pseudo_predictions(d: &GoldSet, p: &GoldSet) -> Preds {
    let docs: BTreeSet<&str> = d.docs().chain(p.docs()).collect();
    let mut preds = Preds::new();
    for (k, doc) in docs.into_iter().enumerate() {
        if k % 7 == 3 {
            continue;
        }
        let (mut d_items, mut p_items) = (Vec::new(), Vec::new());
        if k % 11 != 5 {
            for (j, code) in d.codes(doc).into_iter().flatten().enumerate() {
                if j % 4 == 0 {
                    d_items.push((format!("U99.{j}"), false));
                }
                if j % 3 != 2 {
                    d_items.push((code.to_lowercase(), false));
                }
                if j % 5 == 1 {
                    d_items.push((code.clone(), false));
                }
            }
            for (j, code) in p.codes(doc).into_iter().flatten().enumerate() {
                if j % 3 == 1 {
                    p_items.push((format!("9ZZZZ{:02}", j % 100), true));
                }
                if code.chars().count() == 4 && j % 2 == 0 {
                    p_items.push((format!("{code}ZZZ"), true));
                } else {
                    p_items.push((code.clone(), true));
                }
            }
        }
        let mut merged = Vec::new();
        for i in 0..d_items.len().max(p_items.len()) {
            merged.extend(d_items.get(i).cloned());
            merged.extend(p_items.get(i).cloned());
        }
        let mut sugg: Vec<RankedCode> = merged
            .into_iter()
            .enumerate()
            .map(|(i, (code, pcs))| RankedCode::new(code, 1.0 - (i / 2) as f32 / 64.0, pcs))
            .collect();
        sugg.reverse();
        preds.insert(doc.to_owned(), sugg);
    }
    preds
}

#[test]
fn dev_pseudo_predictions_match_score_py() {
    let Some(dir) = dev_dir() else { return };
    let (d, p) = load_dev(&dir);
    let preds = pseudo_predictions(&d, &p);
    // score.py docs pseudo.jsonl devD.tsv --system D
    assert_eq!(
        score_docs(&preds, &d, Some(GoldSystem::Diagnoses)).rounded(),
        expected(250, 36, 0.392, 0.4435, 0.7215, 0.5622, 0.632, 0.4781)
    );
    // score.py docs pseudo.jsonl devP.tsv --system P
    assert_eq!(
        score_docs(&preds, &p, Some(GoldSystem::Procedures)).rounded(),
        expected(222, 33, 0.6503, 0.6609, 0.7515, 0.7625, 0.757, 0.7713)
    );
    // score.py docs pseudo.jsonl devD.tsv (no --system): the PCS suggestions become false
    // positives and push diagnoses down the ranking.
    assert_eq!(
        score_docs(&preds, &d, None).rounded(),
        expected(250, 36, 0.2584, 0.292, 0.5163, 0.5622, 0.5383, 0.3801)
    );
    // score.py docs on pseudo.jsonl keeping only suggestions with score >= 0.9
    assert_eq!(
        round3(micro_at_threshold(
            &preds,
            &d,
            Some(GoldSystem::Diagnoses),
            0.9
        )),
        (0.6963, 0.3332, 0.4507)
    );
    assert_eq!(
        round3(micro_at_threshold(
            &preds,
            &p,
            Some(GoldSystem::Procedures),
            0.9
        )),
        (0.7399, 0.6756, 0.7063)
    );
}
