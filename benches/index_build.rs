//! Time to build the full index (`index build --force`) from the fetched code sets into a
//! temporary directory. `index/default` is never written.
//!
//! With `index/default/embeddings.bin` present the builds include the term embeddings, their
//! vectors reused from that store (as `index build --force` reuses the index's own): the
//! timing is tantivy, tokenization and clustering, not the encoder (about 10 minutes for every
//! term on 2 cores). Without it the builds are lexical only.
//!
//! Run: `cargo bench --bench index_build` (about ten full builds).

use std::path::Path;
use std::time::Duration;

use chartcoder::assets::{self, Assets};
use chartcoder::codeset::CodeSet;
use chartcoder::index::{build_index, BuildOptions, EncoderFiles};
use chartcoder::lexicon::Abbreviations;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};

fn bench_build(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let assets = Assets::new(root.join(".assets"));
    let (Ok(_), Ok(abbr_path)) = (
        assets.path(assets::ICD10CM_TABULAR),
        assets.path(assets::ABBREVIATIONS),
    ) else {
        eprintln!(
            "index_build bench skipped: no assets in {} (run `chartcoder setup` or `scripts/setup`)",
            assets.root().display()
        );
        return;
    };
    let codes = CodeSet::load(&assets).expect("code sets load");
    let abbreviations = Abbreviations::load(&abbr_path).expect("abbreviations load");
    let dir = tempfile::tempdir().expect("temporary directory");
    let target = dir.path().join("index");
    let default_index = root.join("index/default");
    let encoder = if default_index.join("embeddings.bin").is_file() {
        Some(EncoderFiles {
            assets: assets.root().to_path_buf(),
            tokenizer: root.join("models/minilm/tokenizer.json"),
        })
    } else {
        eprintln!("index_build: no index/default/embeddings.bin; timing lexical-only builds");
        None
    };
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
