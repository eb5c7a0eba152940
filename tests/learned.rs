//! The learned parts of the pipeline end to end: the committed ONNX ranker run through the
//! real ONNX Runtime, phrases learned from coded notes as candidates with their evidence,
//! the ranker switch, clear errors for a broken model file, and deterministic training.
//!
//! Needs the fetched assets and the built index (`scripts/setup`; see `common` for what
//! happens without them); training also needs `../shared/data/codiesp` (optional: without
//! it those tests print why and return).

mod common;

use std::collections::{HashMap, HashSet};

use chartcoder::codeset::System;
use chartcoder::coding::{Components, EvidenceBasis, RankerChoice, SuggestOptions};
use chartcoder::engine::{Config, Engine, LEARNED_RANKER_FILE};
use chartcoder::onnx::MlpConfig;
use chartcoder::train::{fit_mlp, training_data, LearnedFolds, TrainingSet};
use chartcoder::Error;

fn engine() -> Option<&'static Engine> {
    common::engine()
}

const NOTE: &str = "A 63-year-old man was admitted with fever and cough. \
A chest X-ray showed a right lower lobe infiltrate. \
An abdominal ultrasound was normal. \
He was treated with antibiotics for community-acquired pneumonia.";

#[test]
fn the_default_ranker_is_the_onnx_model_and_scores_are_probabilities() {
    let Some(e) = engine() else { return };
    assert_eq!(e.ranker(RankerChoice::Learned).name(), "learned-onnx");
    assert_ne!(e.ranker(RankerChoice::Lexical).name(), "learned-onnx");
    let learned = e
        .suggest(None, NOTE, &SuggestOptions::default())
        .expect("suggest");
    assert!(!learned.suggestions.is_empty());
    for s in &learned.suggestions {
        assert!(
            (0.0..=1.0).contains(&s.score),
            "{} scored {}",
            s.code,
            s.score
        );
    }
    let lexical = e
        .suggest(
            None,
            NOTE,
            &SuggestOptions {
                ranker: RankerChoice::Lexical,
                ..SuggestOptions::default()
            },
        )
        .expect("suggest");
    let score_of = |c: &chartcoder::coding::Coding, code: &str| {
        c.suggestions
            .iter()
            .find(|s| s.code == code)
            .map(|s| s.score)
    };
    let pneumonia = "J18.9";
    let (a, b) = (score_of(&learned, pneumonia), score_of(&lexical, pneumonia));
    assert!(a.is_some() && b.is_some(), "pneumonia from both rankers");
    assert_ne!(a, b, "the two rankers are different models");
}

#[test]
fn an_imaging_procedure_is_found_by_a_learned_phrase_with_its_evidence() {
    let Some(e) = engine() else { return };
    let coding = e
        .suggest(None, NOTE, &SuggestOptions::default())
        .expect("suggest");
    // No PCS title says "chest X-ray": only the phrase learned from coded notes finds
    // "Plain Radiography of Chest" (BW03...).
    let chest = coding
        .suggestions
        .iter()
        .find(|s| s.system == System::Icd10pcs && s.code.starts_with("BW03"))
        .unwrap_or_else(|| panic!("no chest radiography among {:?}", codes(&coding)));
    assert!(chest
        .evidence
        .iter()
        .all(|ev| ev.basis == EvidenceBasis::Learned));
    assert!(
        chest
            .evidence
            .iter()
            .any(|ev| ev.text.to_lowercase().contains("x-ray")),
        "evidence {:?}",
        chest.evidence
    );
    for ev in &chest.evidence {
        let text: String = NOTE
            .chars()
            .skip(ev.start)
            .take(ev.end - ev.start)
            .collect();
        assert_eq!(text, ev.text);
    }

    let without = e
        .suggest(
            None,
            NOTE,
            &SuggestOptions {
                components: Components {
                    learned_phrases: false,
                    ..Components::default()
                },
                ..SuggestOptions::default()
            },
        )
        .expect("suggest");
    assert!(
        !without.suggestions.iter().any(|s| s.code == chest.code),
        "switched off, the learned phrase suggests nothing"
    );
}

fn codes(c: &chartcoder::coding::Coding) -> Vec<&str> {
    c.suggestions.iter().map(|s| s.code.as_str()).collect()
}

/// A models directory holding a copy of the committed artefacts, with `ranker.onnx`
/// replaced by `bytes`.
fn models_with_ranker(bytes: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let models = common::root().join("models");
    for entry in std::fs::read_dir(&models).expect("models dir").flatten() {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
        }
    }
    std::fs::write(dir.path().join(LEARNED_RANKER_FILE), bytes).expect("write");
    let tokenizer = dir.path().join(chartcoder::engine::TOKENIZER_FILE);
    std::fs::create_dir_all(tokenizer.parent().expect("parent")).expect("mkdir");
    std::fs::copy(models.join(chartcoder::engine::TOKENIZER_FILE), &tokenizer).expect("copy");
    dir
}

#[test]
fn a_broken_or_foreign_ranker_file_is_a_clear_error_naming_it() {
    if engine().is_none() {
        return;
    }
    let foreign = {
        // A valid ONNX ranker over two features: not the engine's feature vector.
        let samples: Vec<([f32; 2], bool)> = (0..40)
            .map(|i| ([i as f32, (i % 3) as f32], i % 2 == 0))
            .collect();
        let mlp = chartcoder::onnx::Mlp::fit(
            &samples,
            None,
            &MlpConfig {
                epochs: 2,
                ..MlpConfig::default()
            },
        )
        .expect("fit");
        mlp.to_onnx(&["a", "b"], &[]).expect("export")
    };
    for (bytes, expect) in [
        (b"not an onnx file".to_vec(), "cannot load"),
        (foreign, "feature"),
    ] {
        let models = models_with_ranker(&bytes);
        let config = Config {
            models: models.path().to_path_buf(),
            ..common::repo_config()
        };
        // Training opens the engine without its trained models: a broken one never stands
        // in the way of retraining.
        assert!(Engine::open_untrained(config.clone()).is_ok());
        match Engine::open(config) {
            Err(err @ Error::Model { .. }) => {
                let message = err.to_string();
                assert!(message.contains(LEARNED_RANKER_FILE), "{message}");
                assert!(message.contains(expect), "{message}");
                assert!(message.contains("chartcoder train"), "{message}");
            }
            Err(other) => panic!("expected a model error, got {other}"),
            Ok(_) => panic!("a broken ranker file must not load"),
        }
    }
}

/// Training notes (id, text) and their gold codes by note.
type CodedNotes = (
    Vec<(String, String)>,
    HashMap<String, HashSet<(System, String)>>,
);

fn codiesp_train() -> Option<CodedNotes> {
    let dir = common::root().join("../shared/data/codiesp/train");
    if !dir.is_dir() {
        common::skip_because(format!("{} is absent", dir.display()));
        return None;
    }
    let mut notes =
        chartcoder::eval::load_texts(&dir.join("text_files_en")).expect("training texts");
    notes.sort();
    notes.truncate(80);
    let mut gold: HashMap<String, HashSet<(System, String)>> = HashMap::new();
    for (file, system) in [
        ("trainD.tsv", System::Icd10cm),
        ("trainP.tsv", System::Icd10pcs),
    ] {
        let set = chartcoder::eval::GoldSet::load_tsv(&dir.join(file)).expect("gold");
        for (doc, codes) in set.iter() {
            gold.entry(doc.to_string())
                .or_default()
                .extend(codes.iter().map(|c| (system, c.clone())));
        }
    }
    Some((notes, gold))
}

#[test]
fn training_is_deterministic_given_the_seed_and_the_result_loads() {
    let Some(e) = engine() else { return };
    let Some((notes, gold)) = codiesp_train() else {
        return;
    };
    let set = TrainingSet {
        notes: &notes,
        gold: &gold,
        source: "test".into(),
    };
    let learned = LearnedFolds::fit(e, &set);
    let data = training_data(e, &set, &learned, RankerChoice::Learned);
    assert!(data.report.positives > 0 && data.report.candidates > data.report.positives);
    let config = |seed| MlpConfig {
        seed,
        epochs: 30,
        ..chartcoder::train::ranker_config()
    };
    let (_, first) = fit_mlp(&data, &config(7)).expect("fit");
    let (_, again) = fit_mlp(&data, &config(7)).expect("fit");
    let (_, other) = fit_mlp(&data, &config(8)).expect("fit");
    assert_eq!(first, again, "same seed, same bytes");
    assert_ne!(first, other, "another seed, another model");

    let models = models_with_ranker(&first);
    let config = Config {
        models: models.path().to_path_buf(),
        ..common::repo_config()
    };
    let trained = Engine::open(config).expect("the trained ranker loads");
    let coding = trained
        .suggest(None, NOTE, &SuggestOptions::default())
        .expect("suggest");
    assert!(coding
        .suggestions
        .iter()
        .all(|s| (0.0..=1.0).contains(&s.score)));
}

#[test]
fn learned_phrases_round_trip_through_their_file() {
    let Some((notes, gold)) = codiesp_train() else {
        return;
    };
    let learned =
        chartcoder::associations::Associations::fit(&notes, &gold, "test", &Default::default());
    assert!(!learned.is_empty());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("associations.json");
    learned.save(&path).expect("save");
    let loaded = chartcoder::associations::Associations::load(&path).expect("load");
    assert_eq!(loaded.phrases, learned.phrases);
    std::fs::write(&path, "{ not json").expect("write");
    let err = chartcoder::associations::Associations::load(&path).expect_err("corrupt");
    assert!(err.to_string().contains("chartcoder train"), "{err}");
}

#[test]
fn the_lexical_ranker_runs_without_the_sentence_encoder() {
    let Some(e) = engine() else { return };
    let with = |ranker| SuggestOptions {
        ranker,
        ..SuggestOptions::default()
    };
    let learned = e
        .candidate_features(NOTE, &with(RankerChoice::Learned))
        .expect("features");
    assert!(
        learned.iter().any(|(_, f)| f.similarity > 0.5),
        "the default pipeline measures mention-to-term similarity"
    );
    let lexical = e
        .candidate_features(NOTE, &with(RankerChoice::Lexical))
        .expect("features");
    assert!(!lexical.is_empty());
    assert!(
        lexical
            .iter()
            .all(|(_, f)| f.similarity == 0.0 && !f.encoder),
        "the lexical fast path never runs the encoder"
    );
}
