//! `Engine::suggest` throughput.
//!
//! - `suggest/discharge_summary`: single-note latency on the ~400-word fixture
//!   (`tests/fixtures/notes/discharge-summary.txt`), after checking it yields >= 5 suggestions.
//! - `suggest_batch/codiesp_background`: up to 200 notes of
//!   `../shared/data/codiesp/background/text_files_en` coded with rayon `par_iter` on all cores
//!   (throughput in notes/s); skipped with a message when the corpus is absent.
//!
//! Needs the assets and index of `scripts/setup` (see `tests/common` for what happens
//! without them).
//! Run: `cargo bench --bench suggest` (add `-- --sample-size 10` for a quick pass).

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chartcoder::coding::{RankerChoice, SuggestOptions, MAX_NOTE_CHARS};
use chartcoder::engine::Engine;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rayon::prelude::*;

const BATCH_NOTES: usize = 200;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn open_engine() -> Option<Engine> {
    common::open_engine_or_skip()
}

/// Up to `BATCH_NOTES` notes of the CodiEsp background set, in file-name order.
fn background_notes() -> Option<Vec<String>> {
    let dir: PathBuf = root().join("../shared/data/codiesp/background/text_files_en");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        common::skip_because(format!("suggest batch bench: {} not found", dir.display()));
        return None;
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    paths.sort();
    let notes: Vec<String> = paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter(|t| !t.trim().is_empty() && t.chars().count() <= MAX_NOTE_CHARS)
        .take(BATCH_NOTES)
        .collect();
    if notes.is_empty() {
        common::skip_because(format!(
            "suggest batch bench: no readable notes in {}",
            dir.display()
        ));
        return None;
    }
    Some(notes)
}

fn bench(c: &mut Criterion) {
    let Some(engine) = open_engine() else {
        return;
    };
    let options = SuggestOptions::default();
    // The fast path: the transparent ranker, no sentence encoder.
    let lexical = SuggestOptions {
        ranker: RankerChoice::Lexical,
        ..SuggestOptions::default()
    };

    let note_path = root().join("tests/fixtures/notes/discharge-summary.txt");
    let note = std::fs::read_to_string(&note_path).expect("fixture note");
    let coding = engine
        .suggest(None, &note, &options)
        .expect("the fixture note is coded");
    assert!(
        coding.suggestions.len() >= 5,
        "the fixture note yields only {} suggestions",
        coding.suggestions.len()
    );
    eprintln!(
        "fixture: {} words, {} chars -> {} suggestions",
        note.split_whitespace().count(),
        note.chars().count(),
        coding.suggestions.len()
    );

    let mut single = c.benchmark_group("suggest");
    single.throughput(Throughput::Elements(1));
    for (name, options) in [
        ("discharge_summary", &options),
        ("discharge_summary_lexical", &lexical),
    ] {
        single.bench_function(name, |b| {
            b.iter(|| {
                engine
                    .suggest(None, black_box(&note), options)
                    .expect("suggest")
            })
        });
    }
    single.finish();

    let Some(notes) = background_notes() else {
        return;
    };
    let chars: usize = notes.iter().map(|n| n.chars().count()).sum();
    let code_all = |options: &SuggestOptions| -> usize {
        notes
            .par_iter()
            .map(|n| {
                engine
                    .suggest(None, black_box(n), options)
                    .map_or(0, |c| c.suggestions.len())
            })
            .sum()
    };
    for (name, options) in [("default", &options), ("lexical", &lexical)] {
        // One untimed pass: sanity and a plain notes/s figure.
        let started = Instant::now();
        let suggestions = code_all(options);
        let seconds = started.elapsed().as_secs_f64();
        assert!(suggestions > 0, "the background notes yield no suggestions");
        eprintln!(
            "background ({name}): {} notes ({} chars, mean {:.0}) on {} threads: {:.2} s, {:.1} notes/s, {:.1} suggestions/note",
            notes.len(),
            chars,
            chars as f64 / notes.len() as f64,
            rayon::current_num_threads(),
            seconds,
            notes.len() as f64 / seconds,
            suggestions as f64 / notes.len() as f64
        );
    }

    let mut batch = c.benchmark_group("suggest_batch");
    batch.throughput(Throughput::Elements(notes.len() as u64));
    batch.sample_size(10);
    batch.measurement_time(Duration::from_secs(45));
    batch.bench_function("codiesp_background", |b| b.iter(|| code_all(&options)));
    batch.bench_function("codiesp_background_lexical", |b| {
        b.iter(|| code_all(&lexical))
    });
    batch.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
