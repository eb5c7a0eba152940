//! Sentence encoder and term-embedding search on the real model and store.
//!
//! - `encode_20_mentions`: one call encoding 20 mention-like phrases (2 sessions).
//! - `nearest_k10`: one query against `index/default/embeddings.bin` (inverted lists,
//!   default probes), one core; `nearest_exact_k10` scans every vector for comparison;
//!   `nearest_batch_20_k10`: 20 queries over the rayon workers.
//!
//! Needs `scripts/setup` (assets and `index/default`; see `tests/common` for what happens
//! without it). Run: `cargo bench --bench encoder`.

use std::hint::black_box;
use std::time::Duration;

use chartcoder::assets::Assets;
use chartcoder::onnx::embeddings::EMBEDDINGS_FILE;
use chartcoder::onnx::{EmbeddingStore, SentenceEncoder};
use criterion::{criterion_group, criterion_main, Criterion};

#[path = "../tests/common/mod.rs"]
mod common;

const MENTIONS: [&str; 20] = [
    "acute chest pain radiating to the left arm",
    "type 2 diabetes mellitus",
    "CHF exacerbation",
    "essential hypertension",
    "COPD with acute exacerbation",
    "urinary tract infection",
    "community acquired pneumonia of the right lower lobe",
    "paroxysmal atrial fibrillation",
    "fracture of neck of femur after a fall",
    "acute kidney failure",
    "major depressive disorder, recurrent",
    "iron deficiency anemia",
    "migraine without aura",
    "acute appendicitis",
    "cellulitis of left lower limb",
    "hypothyroidism",
    "morbid obesity with BMI 42",
    "sepsis due to E. coli",
    "laparoscopic cholecystectomy",
    "shortness of breath on exertion",
];

fn bench_encoder(c: &mut Criterion) {
    let Some(config) = common::setup_or_skip() else {
        return;
    };
    let assets = Assets::new(&config.assets);
    let tokenizer = config.models.join("minilm/tokenizer.json");
    let encoder = SentenceEncoder::open(&assets, &tokenizer, rayon::current_num_threads())
        .unwrap_or_else(|e| common::open_failed("SentenceEncoder::open", &e));
    let queries = encoder.encode(&MENTIONS).expect("encodes");
    let store = EmbeddingStore::open(&config.index.join(EMBEDDINGS_FILE))
        .and_then(|store| store.expect_encoder(encoder.identity()).map(|()| store))
        .unwrap_or_else(|e| common::open_failed("index/default/embeddings.bin", &e));
    eprintln!(
        "store: {} terms, {} vectors, {} lists, {} probes",
        store.len(),
        store.vectors(),
        store.lists(),
        store.probes()
    );
    assert_eq!(store.nearest(&queries[0], 10).len(), 10);
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("encoder: test mode, checked once; `cargo bench --bench encoder` times it");
        return;
    }

    let mut group = c.benchmark_group("encoder");
    group
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));
    group.bench_function("encode_20_mentions", |b| {
        b.iter(|| encoder.encode(black_box(&MENTIONS)).expect("encodes"))
    });
    let mut i = 0;
    group.bench_function("nearest_k10", |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            store.nearest(black_box(&queries[i]), 10)
        })
    });
    group.bench_function("nearest_exact_k10", |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            store.nearest_exact(black_box(&queries[i]), 10)
        })
    });
    group.bench_function("nearest_batch_20_k10", |b| {
        b.iter(|| store.nearest_batch(black_box(&queries), 10))
    });
    group.finish();
}

criterion_group!(benches, bench_encoder);
criterion_main!(benches);
