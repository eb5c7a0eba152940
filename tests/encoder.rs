//! The sentence encoder and the term-embedding store on the real ONNX Runtime and MiniLM
//! model: semantic closeness, batching invariance, concurrency, the on-disk store (round trip,
//! quantisation error, corruption, another encoder's store), an index built with embeddings
//! from the committed fixtures, and — where `chartcoder setup` has built it — nearest-term
//! search on the full store of `index/default` (top-1 and recall against exhaustive search).
//!
//! Needs the fetched assets (`scripts/setup`); without them every test here prints why and
//! returns, or fails under `CHARTCODER_REQUIRE_SETUP=1` (see `common`).

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chartcoder::assets::Assets;
use chartcoder::codeset::CodeSet;
use chartcoder::engine::Engine;
use chartcoder::index::{build_index, BuildOptions, EncoderFiles, TermEncoder, TermIndex};
use chartcoder::lexicon::Abbreviations;
use chartcoder::onnx::embeddings::EMBEDDINGS_FILE;
use chartcoder::onnx::{
    Embedding, EmbeddingStore, EncoderIdentity, SentenceEncoder, EMBEDDING_DIM,
};
use chartcoder::Error;
use rayon::prelude::*;

fn tokenizer_path() -> PathBuf {
    common::root().join("models/minilm/tokenizer.json")
}

fn assets() -> Assets {
    Assets::new(common::root().join(".assets"))
}

/// The encoder over `.assets`, opened once per test binary; `None` when `.assets/` is absent
/// (see `common`). Any error opening it is a failure naming the fix.
fn encoder() -> Option<&'static SentenceEncoder> {
    static ENCODER: OnceLock<Option<SentenceEncoder>> = OnceLock::new();
    ENCODER
        .get_or_init(|| {
            common::assets_or_skip()?;
            match SentenceEncoder::open(&assets(), &tokenizer_path(), 2) {
                Ok(encoder) => Some(encoder),
                Err(e) => common::open_failed("SentenceEncoder::open", &e),
            }
        })
        .as_ref()
}

macro_rules! encoder_or_skip {
    () => {
        match encoder() {
            Some(e) => e,
            None => return,
        }
    };
}

fn encode(encoder: &SentenceEncoder, texts: &[&str]) -> Vec<Embedding> {
    encoder.encode(texts).expect("encoding succeeds")
}

fn max_abs_diff(a: &Embedding, b: &Embedding) -> f32 {
    a.as_slice()
        .iter()
        .zip(b.as_slice())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Clinical phrases of many lengths (all distinct), for the store tests.
fn phrases() -> Vec<String> {
    let heads = [
        "acute myocardial infarction",
        "heart attack",
        "fracture of femur",
        "type 2 diabetes mellitus",
        "chronic obstructive pulmonary disease",
        "community acquired pneumonia",
        "essential hypertension",
        "congestive heart failure",
        "urinary tract infection",
        "major depressive disorder",
        "migraine without aura",
        "iron deficiency anemia",
        "acute kidney injury",
        "sepsis due to escherichia coli",
        "laparoscopic cholecystectomy",
        "total knee replacement",
        "atrial fibrillation",
        "shortness of breath",
        "chest pain on exertion",
        "osteoarthritis of the hip",
    ];
    let tails = [
        "",
        " with complications",
        " of the left side",
        ", initial encounter",
        " in a patient with a long history of smoking and obesity",
    ];
    let mut out = Vec::new();
    for h in heads {
        for t in tails {
            out.push(format!("{h}{t}"));
        }
    }
    out
}

#[test]
fn related_phrases_are_closer_than_unrelated_ones() {
    let e = encoder_or_skip!();
    let v = encode(
        e,
        &[
            "myocardial infarction",
            "heart attack",
            "fracture of femur",
            "shortness of breath",
            "dyspnea",
            "broken thigh bone",
        ],
    );
    let (mi, attack, femur, sob, dyspnea, thigh) = (&v[0], &v[1], &v[2], &v[3], &v[4], &v[5]);
    assert!(
        mi.dot(attack) > mi.dot(femur) + 0.1,
        "MI~heart attack {} vs MI~femur fracture {}",
        mi.dot(attack),
        mi.dot(femur)
    );
    assert!(sob.dot(dyspnea) > sob.dot(femur), "{}", sob.dot(dyspnea));
    assert!(femur.dot(thigh) > femur.dot(attack), "{}", femur.dot(thigh));
}

#[test]
fn embeddings_are_unit_vectors_and_odd_input_does_not_fail() {
    let e = encoder_or_skip!();
    assert!(e.encode(&[]).unwrap().is_empty());
    let long = "chronic kidney disease stage 4 ".repeat(100);
    let odd = [
        "",
        "   ",
        "\n\t",
        "ünïcödé ✓ 心肌梗死 🫀",
        "\u{0}\u{7f}",
        long.as_str(),
    ];
    let v = encode(e, &odd);
    assert_eq!(v.len(), odd.len());
    for (text, embedding) in odd.iter().zip(&v) {
        assert_eq!(embedding.as_slice().len(), EMBEDDING_DIM);
        let norm: f32 = embedding
            .as_slice()
            .iter()
            .map(|x| x * x)
            .sum::<f32>()
            .sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{:?}: norm {norm}", text.len());
    }
    // Blank strings all tokenize to [CLS] [SEP].
    assert!(max_abs_diff(&v[0], &v[1]) < 1e-6);
}

#[test]
fn batching_and_padding_do_not_change_embeddings() {
    let e = encoder_or_skip!();
    let long = "patient admitted with acute on chronic systolic heart failure ".repeat(30);
    let mut texts: Vec<String> = phrases().into_iter().take(70).collect();
    texts.insert(3, long); // truncated at 128 tokens, padded beside 3-token texts
    texts.insert(10, String::new());
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let together = encode(e, &refs);
    let mut worst = 0f32;
    for (text, batched) in refs.iter().zip(&together) {
        let alone = &encode(e, &[text])[0];
        worst = worst.max(max_abs_diff(alone, batched));
    }
    assert!(
        worst < 1e-4,
        "batched vs one-by-one differ by up to {worst}"
    );
    // The same text twice in one call, in different batches, gives the same vector.
    let again = encode(e, &[refs[5], refs[40], refs[5]]);
    assert!(max_abs_diff(&again[0], &again[2]) < 1e-6);
}

#[test]
fn concurrent_callers_get_the_same_vectors() {
    let e = encoder_or_skip!();
    let texts = phrases();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let sequential = encode(e, &refs);
    let parallel: Vec<Embedding> = refs
        .par_iter()
        .map(|t| e.encode(&[t]).unwrap().remove(0))
        .collect();
    for (a, b) in sequential.iter().zip(&parallel) {
        assert!(max_abs_diff(a, b) < 1e-4);
    }
}

#[test]
fn store_round_trip_keeps_cosines_within_the_quantisation_error() {
    let e = encoder_or_skip!();
    let texts = phrases();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let v = encode(e, &refs);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(EMBEDDINGS_FILE);
    EmbeddingStore::from_terms(e.identity().clone(), &v)
        .unwrap()
        .write(&path)
        .unwrap();
    let store = EmbeddingStore::open(&path).unwrap();
    store.expect_encoder(e.identity()).unwrap();
    assert_eq!(store.len(), v.len());
    let (mut sum, mut worst, mut n) = (0f64, 0f32, 0usize);
    for (i, a) in v.iter().enumerate() {
        for b in &v {
            let err = (store.cosine(i as u32, b) - a.dot(b)).abs();
            sum += f64::from(err);
            worst = worst.max(err);
            n += 1;
        }
    }
    eprintln!(
        "int8 store vs f32 cosine over {n} pairs: mean error {:.5}, max {:.5}",
        sum / n as f64,
        worst
    );
    assert!(worst < 0.01, "max error {worst}");
    assert!(sum / (n as f64) < 0.002);
    // Every stored text is its own nearest term.
    for (i, q) in v.iter().enumerate() {
        let hits = store.nearest(q, 3);
        assert_eq!(hits[0].0, i as u32, "{:?}: {hits:?}", refs[i]);
        assert!(hits[0].1 > 0.99);
    }
}

#[test]
fn a_store_of_another_encoder_is_rejected() {
    let e = encoder_or_skip!();
    let v = encode(e, &["heart failure", "hypertension"]);
    let other = EncoderIdentity {
        model_sha256: "0".repeat(64),
        ..e.identity().clone()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(EMBEDDINGS_FILE);
    EmbeddingStore::from_terms(other, &v)
        .unwrap()
        .write(&path)
        .unwrap();
    let store = EmbeddingStore::open(&path).unwrap();
    match store.expect_encoder(e.identity()) {
        Err(err @ Error::Index { .. }) => {
            let message = err.to_string();
            assert!(message.contains("another encoder"), "{message}");
            assert!(message.contains(&e.identity().model_sha256), "{message}");
            assert!(message.contains("chartcoder index build"), "{message}");
        }
        other => panic!("expected Error::Index, got {other:?}"),
    }
}

#[test]
fn missing_tokenizer_is_a_model_error_naming_it() {
    if encoder().is_none() {
        return;
    }
    let absent = Path::new("/nonexistent/tokenizer.json");
    match SentenceEncoder::open(&assets(), absent, 1) {
        Err(err @ Error::Model { .. }) => {
            let message = err.to_string();
            assert!(message.contains("/nonexistent/tokenizer.json"), "{message}");
            assert!(message.contains("chartcoder setup"), "{message}");
        }
        other => panic!("expected Error::Model, got {:?}", other.err()),
    }
    let no_assets = Assets::new("/nonexistent-assets");
    match SentenceEncoder::open(&no_assets, &tokenizer_path(), 1) {
        // Runtime and model are looked up in the assets directory: either is reported missing.
        Err(err @ Error::MissingAsset { .. }) => {
            assert!(err.to_string().contains("chartcoder setup"), "{err}")
        }
        other => panic!("expected MissingAsset, got {:?}", other.err()),
    }
}

/// The fixture code sets indexed with the encoder into a temporary directory.
struct FixtureIndex {
    dir: tempfile::TempDir,
    codes: CodeSet,
}

impl FixtureIndex {
    fn path(&self) -> PathBuf {
        self.dir.path().join("index")
    }
}

fn encoder_options() -> BuildOptions {
    BuildOptions {
        encoder: Some(TermEncoder::Files(EncoderFiles {
            assets: common::root().join(".assets"),
            tokenizer: tokenizer_path(),
        })),
        ..BuildOptions::default()
    }
}

fn build_fixture() -> FixtureIndex {
    let codes = CodeSet::from_tabular(
        &common::root().join("tests/fixtures/tabular-mini.xml"),
        "2026",
    )
    .expect("fixture parses");
    let dir = tempfile::tempdir().unwrap();
    let report = build_index(
        &dir.path().join("index"),
        &codes,
        &Abbreviations::builtin(),
        &encoder_options(),
    )
    .expect("fixture index builds with embeddings");
    assert!(report.rebuilt);
    assert!(report.embeddings_encoded > 0);
    FixtureIndex { dir, codes }
}

#[test]
fn an_index_built_with_the_encoder_holds_one_vector_per_term() {
    let e = encoder_or_skip!();
    let f = build_fixture();
    let index = TermIndex::open(&f.path(), &f.codes).unwrap();
    let store = index
        .embeddings()
        .expect("embeddings loaded with the index");
    assert_eq!(store.len(), index.side.terms.len());
    assert_eq!(index.manifest.encoder.as_ref(), Some(e.identity()));
    assert_eq!(index.manifest.format, chartcoder::index::INDEX_FORMAT);
    store.expect_encoder(e.identity()).unwrap();
    // A title finds its own code first.
    let q = &encode(
        e,
        &["Type 2 diabetes mellitus with diabetic polyneuropathy"],
    )[0];
    let hits = store.nearest(q, 5);
    let top = f
        .codes
        .get(index.side.terms[hits[0].0 as usize].code)
        .display();
    assert_eq!(top, "E11.42", "{hits:?}");
    assert!(hits[0].1 > 0.99, "{hits:?}");
    // Paraphrases that share no word with any term of their code still land on it.
    for (phrase, category) in [
        ("broken thigh bone", "S72"),
        ("swelling of the brain after a head trauma", "S06"),
    ] {
        let q = &encode(e, &[phrase])[0];
        let hits = store.nearest(q, 3);
        let top = f
            .codes
            .get(index.side.terms[hits[0].0 as usize].code)
            .display();
        assert!(top.starts_with(category), "{phrase:?} -> {top} {hits:?}");
    }

    // A rebuild reuses every vector and writes the same store.
    let before = std::fs::read(f.path().join(EMBEDDINGS_FILE)).unwrap();
    let options = BuildOptions {
        force: true,
        ..encoder_options()
    };
    let again =
        build_index(&f.path(), &f.codes, &Abbreviations::builtin(), &options).expect("rebuild");
    assert_eq!(again.embeddings_encoded, 0);
    assert_eq!(again.embeddings_reused, again.manifest.embedded_texts);
    let after = std::fs::read(f.path().join(EMBEDDINGS_FILE)).unwrap();
    assert!(
        before == after,
        "a rebuild from reused vectors changed embeddings.bin"
    );
}

#[test]
fn two_fresh_builds_give_identical_stores() {
    encoder_or_skip!();
    let a = build_fixture();
    let b = build_fixture();
    let read = |f: &FixtureIndex| std::fs::read(f.path().join(EMBEDDINGS_FILE)).unwrap();
    assert!(
        read(&a) == read(&b),
        "embeddings.bin differs between builds"
    );
}

#[test]
fn a_missing_corrupt_or_foreign_store_makes_the_index_unusable() {
    let e = encoder_or_skip!();
    let f = build_fixture();
    let store_path = f.path().join(EMBEDDINGS_FILE);
    let good = std::fs::read(&store_path).unwrap();
    let expect_index_error = |what: &str, fragment: &str| match TermIndex::open(&f.path(), &f.codes)
    {
        Err(err @ Error::Index { .. }) => {
            let message = err.to_string();
            assert!(
                message.contains("chartcoder index build"),
                "{what}: {message}"
            );
            assert!(message.contains(fragment), "{what}: {message}");
        }
        Err(other) => panic!("{what}: expected Error::Index, got {other}"),
        Ok(_) => panic!("{what}: the index opened"),
    };

    std::fs::remove_file(&store_path).unwrap();
    expect_index_error("missing", "embeddings.bin is missing");
    std::fs::write(&store_path, &good[..good.len() / 2]).unwrap();
    expect_index_error("truncated", "truncated");
    let mut flipped = good.clone();
    let at = flipped.len() - 10;
    flipped[at] ^= 1;
    std::fs::write(&store_path, &flipped).unwrap();
    expect_index_error("corrupt", "corrupt");
    // Vectors of another model.
    let v = encode(e, &["heart failure"]);
    let other = EncoderIdentity {
        model_sha256: "f".repeat(64),
        ..e.identity().clone()
    };
    EmbeddingStore::from_terms(other, &v)
        .unwrap()
        .write(&store_path)
        .unwrap();
    expect_index_error("another model", "another encoder");
    // The right encoder, but not one vector per term.
    EmbeddingStore::from_terms(e.identity().clone(), &v)
        .unwrap()
        .write(&store_path)
        .unwrap();
    expect_index_error("wrong count", "term embeddings for");

    std::fs::write(&store_path, &good).unwrap();
    TermIndex::open(&f.path(), &f.codes).expect("the restored index opens");
}

/// The engine over `index/default`, when setup has built it (see `common`).
fn engine() -> Option<&'static Engine> {
    common::engine()
}

#[test]
fn full_store_nearest_finds_titles_and_recalls_the_exhaustive_top_10() {
    let e = encoder_or_skip!();
    let Some(engine) = engine() else { return };
    let store = engine
        .index
        .embeddings()
        .expect("Engine::open requires embeddings");
    assert_eq!(store.len(), engine.index.side.terms.len());
    store.expect_encoder(e.identity()).unwrap();
    let code_of = |t: u32| {
        engine
            .codes
            .get(engine.index.side.terms[t as usize].code)
            .display()
    };

    // An exact title: its code among the (tied) best hits, at cosine ~1.
    let q = &encode(e, &["Type 2 diabetes mellitus without complications"])[0];
    let hits = store.nearest(q, 10);
    assert!(hits[0].1 > 0.99, "{hits:?}");
    let best: Vec<String> = hits
        .iter()
        .filter(|h| h.1 > hits[0].1 - 1e-4)
        .map(|h| code_of(h.0))
        .collect();
    assert!(best.contains(&"E11.9".to_string()), "{best:?}");

    // Mention-like phrases: title prefixes of every length, spread over both code sets.
    let titles: Vec<String> = engine
        .codes
        .iter()
        .map(|(_, c)| c.title.clone())
        .step_by(997)
        .collect();
    let queries: Vec<String> = titles
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.split_whitespace()
                .take(2 + i % 4)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let refs: Vec<&str> = queries.iter().map(String::as_str).collect();
    let q = encode(e, &refs);
    let (mut found, mut total) = (0usize, 0usize);
    for query in &q {
        let exact = store.nearest_exact(query, 10);
        let approx = store.nearest(query, 10);
        let kth = exact.last().map_or(f32::INFINITY, |h| h.1);
        total += exact.len();
        // Ties at the 10th score count as found.
        found += approx
            .iter()
            .filter(|h| h.1 >= kth - 1e-6)
            .count()
            .min(exact.len());
    }
    let recall = found as f64 / total as f64;
    eprintln!(
        "recall@10 of nearest() ({} probes of {} lists) vs exhaustive, {} queries: {recall:.4}",
        store.probes(),
        store.lists(),
        q.len()
    );
    assert!(recall >= 0.95, "recall@10 {recall}");
}
