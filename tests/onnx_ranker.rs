//! The learned ranker end to end: trained in Rust, exported as ONNX, run by the real ONNX
//! Runtime. Tests needing the runtime skip with a message when `.assets/` is absent and
//! `ORT_DYLIB_PATH` is not set, or fail under `CHARTCODER_REQUIRE_SETUP=1` (see `common`).

use std::path::{Path, PathBuf};

use chartcoder::assets::Assets;
use chartcoder::onnx::graph::{Dim, Graph, Model, Node, ValueInfo};
use chartcoder::onnx::mlp::{SplitMix64, META_FEATURE_COUNT, META_SEED};
use chartcoder::onnx::{runtime_library, Mlp, MlpConfig, OnnxRanker};
use chartcoder::rank::{LinearRanker, FEATURE_COUNT, FEATURE_NAMES};
use chartcoder::Error;

mod common;

const F: usize = FEATURE_COUNT;

/// The ONNX Runtime library (`ORT_DYLIB_PATH`, else `.assets/onnxruntime`); `None` when
/// neither is there and `.assets/` is absent (see `common`). A fetched `.assets/` without a
/// usable runtime is a failure naming the fix.
fn library_or_skip() -> Option<PathBuf> {
    let from_env = std::env::var_os("ORT_DYLIB_PATH").is_some_and(|p| !p.is_empty());
    if !from_env {
        common::assets_or_skip()?;
    }
    let assets = Assets::new(common::root().join(".assets"));
    match runtime_library(&assets) {
        Ok(path) if path.is_file() => Some(path),
        Ok(path) => panic!(
            "no ONNX Runtime at {}; fix: `scripts/setup` (or point ORT_DYLIB_PATH at the library)",
            path.display()
        ),
        Err(e) => common::open_failed("finding the ONNX Runtime", &e),
    }
}

/// 15 features; the label is the XOR of the signs of the first two (plus 5% label noise),
/// the rest is distraction: no linear model can do better than chance.
fn xor15(n: usize, seed: u64) -> Vec<([f32; F], bool)> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| {
            let mut x = [0f32; F];
            for v in &mut x {
                *v = (rng.uniform() * 2.0 - 1.0) as f32;
            }
            // Some binary and skewed columns, like the engine's features.
            x[4] = f32::from(u8::from(x[4] > 0.3));
            x[9] = x[9].abs().powi(3);
            let noise = rng.uniform() < 0.05;
            (((x[0] > 0.0) != (x[1] > 0.0)) != noise, x)
        })
        .map(|(y, x)| (x, y))
        .collect()
}

fn config(seed: u64) -> MlpConfig {
    MlpConfig {
        hidden: vec![32, 16],
        epochs: 150,
        learning_rate: 0.003,
        l2: 0.01,
        batch_size: 32,
        seed,
        ..MlpConfig::default()
    }
}

fn fitted(seed: u64) -> Mlp {
    Mlp::fit(&xor15(1500, 11), None, &config(seed)).expect("fit")
}

fn export(mlp: &Mlp) -> Vec<u8> {
    mlp.to_onnx(&FEATURE_NAMES, &[("trained_on", "synthetic xor15")])
        .expect("export")
}

fn assert_model_error(result: Result<OnnxRanker, Error>, file: &Path, mentions: &str) {
    match result {
        Err(e @ Error::Model { .. }) => {
            let message = e.to_string();
            let Error::Model { path, reason } = &e else {
                unreachable!()
            };
            assert_eq!(path, file, "{message}");
            assert!(message.contains(&file.display().to_string()), "{message}");
            assert!(message.contains("chartcoder train"), "{message}");
            assert!(
                reason.contains(mentions),
                "{reason:?} should mention {mentions:?}"
            );
        }
        Err(other) => panic!("expected Error::Model, got {other:?}"),
        Ok(_) => panic!("{} loaded", file.display()),
    }
}

#[test]
fn ort_scores_equal_rust_predictions() {
    let Some(library) = library_or_skip() else {
        return;
    };
    let mlp = fitted(42);
    let bytes = export(&mlp);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ranker.onnx");
    std::fs::write(&file, &bytes).unwrap();
    eprintln!("exported [15->32->16->1] model: {} bytes", bytes.len());

    let ranker = OnnxRanker::open(&library, &file, 2, Some(&FEATURE_NAMES)).expect("open");
    assert_eq!(ranker.feature_count(), F);
    assert_eq!(ranker.feature_names(), FEATURE_NAMES);
    assert_eq!(ranker.metadata()[META_SEED], "42");
    assert_eq!(ranker.metadata()[META_FEATURE_COUNT], F.to_string());
    assert_eq!(ranker.metadata()["trained_on"], "synthetic xor15");

    // Training rows, fresh rows and rows far outside the training range.
    let mut rng = SplitMix64::new(99);
    let mut rows: Vec<[f32; F]> = xor15(300, 12).into_iter().map(|(x, _)| x).collect();
    rows.extend((0..300).map(|_| {
        let mut x = [0f32; F];
        for v in &mut x {
            *v = ((rng.uniform() * 2.0 - 1.0) * 50.0) as f32;
        }
        x
    }));
    let scores = ranker.score_batch(&rows).expect("score");
    assert_eq!(scores.len(), rows.len());
    let max_diff = rows
        .iter()
        .zip(&scores)
        .map(|(x, s)| (mlp.predict(x) - s).abs())
        .fold(0.0f32, f32::max);
    eprintln!("max |ORT - Rust| over {} rows: {max_diff:e}", rows.len());
    assert!(max_diff < 1e-5, "max abs difference {max_diff}");
    // The model is not constant: the comparison means something.
    let spread = scores.iter().cloned().fold(f32::MIN, f32::max)
        - scores.iter().cloned().fold(f32::MAX, f32::min);
    assert!(spread > 0.5, "scores barely vary: {spread}");

    let in_memory = OnnxRanker::from_memory(
        &library,
        Path::new("<memory>"),
        &bytes,
        1,
        Some(&FEATURE_NAMES),
    )
    .expect("from memory");
    assert_eq!(in_memory.score_batch(&rows).unwrap(), scores);

    // One row, no rows, flat rows, and the same answers from concurrent callers.
    assert_eq!(ranker.score_batch(&rows[..1]).unwrap(), scores[..1]);
    assert!(ranker.score_batch::<[f32; F]>(&[]).unwrap().is_empty());
    let flat: Vec<f32> = rows[..10].iter().flatten().copied().collect();
    assert_eq!(ranker.score_flat(&flat).unwrap(), scores[..10]);
    let again: Vec<Vec<f32>> = std::thread::scope(|s| {
        let handles: Vec<_> = rows
            .chunks(100)
            .map(|chunk| s.spawn(|| ranker.score_batch(chunk).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(again.concat(), scores);

    // Wrong row widths are caller errors, not panics or runtime failures.
    let short = vec![vec![0.0f32; F - 1]];
    assert!(matches!(
        ranker.score_batch(&short),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        ranker.score_flat(&flat[..F + 3]),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn export_is_deterministic_per_seed() {
    let (a, b, c) = (fitted(42), fitted(42), fitted(43));
    assert_eq!(export(&a), export(&b), "same seed, same bytes");
    assert_ne!(export(&a), export(&c), "another seed, another model");
}

#[test]
fn mlp_beats_the_logistic_ranker_on_a_non_linear_set() {
    let (train, test) = (xor15(1500, 11), xor15(600, 13));
    let mlp = fitted(42);
    assert!(
        mlp.report.train_loss < 0.6 * mlp.report.initial_loss,
        "training barely reduced the loss: {:?}",
        mlp.report
    );
    let logistic = LinearRanker::fit(&train, 1e-4, 300, "xor15");
    let (mlp_loss, logistic_loss) = (mlp.log_loss(&test), logistic.log_loss(&test));
    eprintln!("test log-loss: mlp {mlp_loss:.4}, logistic {logistic_loss:.4}");
    assert!(
        logistic_loss > 0.65,
        "XOR is beyond a linear model: {logistic_loss}"
    );
    assert!(mlp_loss < 0.4, "{mlp_loss}");
}

#[test]
fn unusable_files_are_model_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // Missing: reported even before the runtime is loaded.
    let missing = dir.path().join("absent.onnx");
    let library = library_or_skip().unwrap_or_else(|| dir.path().join("no-runtime.so"));
    assert_model_error(
        OnnxRanker::open(&library, &missing, 1, Some(&FEATURE_NAMES)),
        &missing,
        "not found",
    );
    if !library.is_file() {
        return;
    }

    let garbage = dir.path().join("garbage.onnx");
    std::fs::write(&garbage, b"this is not a protobuf, let alone ONNX").unwrap();
    assert_model_error(
        OnnxRanker::open(&library, &garbage, 1, Some(&FEATURE_NAMES)),
        &garbage,
        "cannot load",
    );

    // A 4-feature model where the engine computes 15.
    let small: Vec<(Vec<f32>, bool)> = xor15(200, 3)
        .into_iter()
        .map(|(x, y)| (x[..4].to_vec(), y))
        .collect();
    let four = Mlp::fit(
        &small,
        None,
        &MlpConfig {
            epochs: 2,
            ..config(1)
        },
    )
    .unwrap();
    let narrow = dir.path().join("narrow.onnx");
    std::fs::write(&narrow, four.to_onnx(&["a", "b", "c", "d"], &[]).unwrap()).unwrap();
    assert_model_error(
        OnnxRanker::open(&library, &narrow, 1, Some(&FEATURE_NAMES)),
        &narrow,
        &format!("trained on 4 features, the engine computes {F}"),
    );
    // Without expectations it loads, and says what it takes.
    let ranker = OnnxRanker::open(&library, &narrow, 1, None).unwrap();
    assert_eq!(ranker.feature_count(), 4);

    // Same count, other names (order matters).
    let mut renamed = FEATURE_NAMES;
    renamed.swap(0, 1);
    let shuffled = dir.path().join("shuffled.onnx");
    std::fs::write(&shuffled, fitted(5).to_onnx(&renamed, &[]).unwrap()).unwrap();
    assert_model_error(
        OnnxRanker::open(&library, &shuffled, 1, Some(&FEATURE_NAMES)),
        &shuffled,
        "feature 0 is `coverage_squared` in the model, `coverage` in the engine",
    );

    // Valid ONNX, but not a chartcoder ranker: wrong names, then no metadata.
    let identity = |input: &str, output: &str| {
        let dims = || vec![Dim::Symbolic("batch".into()), Dim::Fixed(1)];
        Model::new(Graph {
            name: "identity".into(),
            nodes: vec![Node::new("id", "Identity", &[input], &[output])],
            inputs: vec![ValueInfo {
                name: input.into(),
                dims: dims(),
            }],
            outputs: vec![ValueInfo {
                name: output.into(),
                dims: dims(),
            }],
            ..Default::default()
        })
        .encode()
    };
    let foreign = dir.path().join("foreign.onnx");
    std::fs::write(&foreign, identity("x", "y")).unwrap();
    assert_model_error(
        OnnxRanker::open(&library, &foreign, 1, None),
        &foreign,
        "expected an input named `features`",
    );
    let bare = dir.path().join("bare.onnx");
    std::fs::write(&bare, identity("features", "probability")).unwrap();
    assert_model_error(
        OnnxRanker::open(&library, &bare, 1, None),
        &bare,
        "no `chartcoder.feature_count` metadata",
    );
}
