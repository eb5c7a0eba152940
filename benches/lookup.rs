//! Phrase-lookup latency through `Engine::lookup` (words, and the sentence encoder when they
//! match poorly) on `index/default`, built by `chartcoder setup`.
//!
//! The phrases are 200 drawn deterministically (fixed seed) from the CMS Alphabetic Index
//! CSV in `../shared` when present, else a built-in list. Before timing, the bench checks
//! that lookup answers correctly and prints per-phrase latency percentiles, hit@5 and how
//! many phrases consulted the encoder.
//!
//! Run: `cargo bench --bench lookup`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chartcoder::codeset::{CodeSet, System};
use chartcoder::engine::Engine;
use chartcoder::index::{LookupOptions, SIMILAR_BELOW};
use chartcoder::lexicon::phrase_gold;
use criterion::{criterion_group, criterion_main, Criterion};

#[path = "../tests/common/mod.rs"]
mod common;

const PHRASES: usize = 200;
const SEED: u64 = 20_261_125;

/// Used when `../shared` is absent: everyday clinical phrases.
const BUILTIN: &[&str] = &[
    "acute chest pain",
    "type 2 diabetes mellitus",
    "CHF",
    "essential hypertension",
    "COPD with acute exacerbation",
    "urinary tract infection",
    "community acquired pneumonia",
    "atrial fibrillation",
    "fracture of neck of femur",
    "acute kidney failure",
    "major depressive disorder",
    "iron deficiency anemia",
    "migraine without aura",
    "acute appendicitis",
    "cellulitis of left lower limb",
    "hypothyroidism",
    "morbid obesity",
    "sepsis",
    "concussion without loss of consciousness",
    "low back pain",
    "DM2 with neuropathy",
    "acute myocardial infarction",
    "asthma",
    "gastroesophageal reflux disease",
    "osteoarthritis of knee",
    "chronic kidney disease stage 3",
    "hyperlipidemia",
    "anxiety disorder",
    "dehydration",
    "syncope and collapse",
    "resection of appendix percutaneous endoscopic approach",
    "hemodialysis",
];

fn load() -> Option<Engine> {
    common::open_engine_or_skip()
}

/// (phrase, expected codes) — expected codes only for phrases from the Alphabetic Index.
fn phrases(codes: &CodeSet) -> Vec<(String, Vec<String>)> {
    let csv: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/icd10cm-index-2025/ICD10CM_2025_Index.csv");
    if csv.is_file() {
        match phrase_gold(&csv, codes, PHRASES, SEED) {
            Ok(gold) if !gold.is_empty() => {
                eprintln!("{} phrases from {}", gold.len(), csv.display());
                return gold.into_iter().map(|g| (g.text, g.codes)).collect();
            }
            Ok(_) => eprintln!("no phrases in {}; using the built-in list", csv.display()),
            Err(e) => eprintln!(
                "cannot read {}: {e}; using the built-in list",
                csv.display()
            ),
        }
    } else {
        eprintln!("{} absent; using the built-in list", csv.display());
    }
    BUILTIN
        .iter()
        .cycle()
        .take(PHRASES)
        .map(|p| (p.to_string(), Vec::new()))
        .collect()
}

fn top_codes(l: &Engine, query: &str, k: usize) -> Vec<String> {
    let options = LookupOptions {
        top_k: k,
        ..LookupOptions::default()
    };
    l.lookup(query, &options)
        .unwrap_or_else(|e| panic!("lookup {query:?}: {e}"))
        .into_iter()
        .map(|s| s.code)
        .collect()
}

/// Does the phrase consult the encoder (its best lexical score is below the gate)?
fn consults_encoder(l: &Engine, query: &str) -> bool {
    let options = LookupOptions {
        top_k: 1,
        ..LookupOptions::default()
    };
    l.index
        .lookup(query, &l.codes, &l.abbreviations, &options)
        .map_or(true, |hits| {
            hits.first().is_none_or(|h| h.score < SIMILAR_BELOW)
        })
}

/// Correctness before speed: a fast wrong answer is not a result.
fn check(l: &Engine) {
    let chest = top_codes(l, "acute chest pain", 5);
    assert!(
        chest.iter().any(|c| c.starts_with("R07")),
        "acute chest pain -> {chest:?}"
    );
    assert_eq!(top_codes(l, "type 2 diabetes mellitus", 1), ["E11.9"]);
    let chf = top_codes(l, "CHF", 5);
    assert!(chf.iter().any(|c| c.starts_with("I50")), "CHF -> {chf:?}");
}

/// Is `hit` the expected code or below it (`S72.0` covers `S72.001A`)?
fn covers(expected: &str, hit: &str) -> bool {
    let e = expected.trim_end_matches(['-', '.']);
    hit.starts_with(e)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn bench_lookup(c: &mut Criterion) {
    let Some(l) = load() else { return };
    check(&l);
    let phrases = phrases(&l.codes);

    // One pass: per-phrase latency distribution and hit@5 (informational).
    let mut times = Vec::with_capacity(phrases.len());
    let (mut judged, mut hits) = (0usize, 0usize);
    for (text, expected) in &phrases {
        let started = Instant::now();
        let top = top_codes(&l, text, 5);
        times.push(started.elapsed());
        if !expected.is_empty() {
            judged += 1;
            if top.iter().any(|t| expected.iter().any(|e| covers(e, t))) {
                hits += 1;
            }
        }
    }
    times.sort();
    let encoded = phrases
        .iter()
        .filter(|(text, _)| consults_encoder(&l, text))
        .count();
    eprintln!(
        "single pass over {} phrases: p50 {:?}, p90 {:?}, p95 {:?}, max {:?}; hit@5 {}/{} ({:.1}%); \
         encoder consulted for {encoded}",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        percentile(&times, 0.95),
        times[times.len() - 1],
        hits,
        judged,
        if judged > 0 {
            100.0 * hits as f64 / judged as f64
        } else {
            0.0
        }
    );

    let options = LookupOptions::default();
    let mut group = c.benchmark_group("lookup");
    group.bench_function("index_phrases_cycled", |b| {
        let mut i = 0usize;
        b.iter(|| {
            let query = &phrases[i % phrases.len()].0;
            i += 1;
            black_box(l.lookup(black_box(query), &options).expect("lookup"))
        })
    });
    for query in ["acute chest pain", "DM2 with neuropathy"] {
        group.bench_function(query, |b| {
            b.iter(|| black_box(l.lookup(black_box(query), &options).expect("lookup")))
        });
    }
    let pcs_only = LookupOptions {
        systems: vec![System::Icd10pcs],
        ..LookupOptions::default()
    };
    group.bench_function("resection of appendix (icd10pcs only)", |b| {
        b.iter(|| {
            black_box(
                l.lookup(
                    black_box("resection of appendix percutaneous endoscopic approach"),
                    &pcs_only,
                )
                .expect("lookup"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench_lookup);
criterion_main!(benches);
