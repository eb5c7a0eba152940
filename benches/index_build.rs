//! Time to build the full index (`index build --force`) from the fetched code sets into a
//! temporary directory. `index/default` is never written.
//!
//! The builds include the term embeddings, their vectors reused from
//! `index/default/embeddings.bin` (as `index build --force` reuses the index's own): the
//! timing is tantivy, tokenization and clustering, not the encoder. Needs `scripts/setup`
//! (see `tests/common` for what happens without it).
//!
//! Run: `cargo bench --bench index_build` (about ten full builds).

use std::time::Duration;

use chartcoder::assets::{self, Assets};
use chartcoder::codeset::CodeSet;
use chartcoder::index::{build_index, BuildOptions, EncoderFiles, TermEncoder};
use chartcoder::lexicon::Abbreviations;
use chartcoder::onnx::embeddings::EMBEDDINGS_FILE;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};

#[path = "../tests/common/mod.rs"]
mod common;

fn bench_build(c: &mut Criterion) {
    let Some(config) = common::setup_or_skip() else {
        return;
    };
    let assets = Assets::new(&config.assets);
    let abbr_path = assets
        .path(assets::ABBREVIATIONS)
        .unwrap_or_else(|e| common::open_failed("the abbreviations asset", &e));
    let codes = CodeSet::load(&assets).unwrap_or_else(|e| common::open_failed("CodeSet::load", &e));
    let abbreviations = Abbreviations::load(&abbr_path).expect("abbreviations load");
    let dir = tempfile::tempdir().expect("temporary directory");
    let target = dir.path().join("index");
    let default_index = config.index.clone();
    let store = default_index.join(EMBEDDINGS_FILE);
    assert!(
        store.is_file(),
        "no {}: the index is broken; fix: `scripts/run index build --force`",
        store.display()
    );
    let encoder = Some(TermEncoder::Files(EncoderFiles {
        assets: config.assets.clone(),
        tokenizer: config.models.join("minilm/tokenizer.json"),
    }));
    let options = BuildOptions {
        extras: Vec::new(),
        force: true,
        progress: false,
        encoder,
        reuse_embeddings: vec![default_index],
    };
    // Checked once: the build is complete and holds every billable code.
    let report = build_index(&target, &codes, &abbreviations, &options).expect("index builds");
    assert!(report.rebuilt);
    assert_eq!(report.manifest.icd10cm_billable_codes, 74_719);
    assert_eq!(report.manifest.icd10pcs_codes, 78_638);
    eprintln!(
        "{} documents per build; embeddings: {} encoded, {} reused",
        report.manifest.documents, report.embeddings_encoded, report.embeddings_reused
    );
    // `cargo test --all-targets` runs benches once as tests: the checked build above is
    // that test; timing needs `cargo bench`, which passes `--bench`.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!(
            "index_build: test mode, one build checked; `cargo bench --bench index_build` times it"
        );
        return;
    }

    let mut group = c.benchmark_group("index_build");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(30));
    group.bench_function("full_code_sets_force", |b| {
        b.iter(|| build_index(&target, &codes, &abbreviations, &options).expect("index builds"))
    });
    group.finish();
}

criterion_group!(benches, bench_build);
criterion_main!(benches);
