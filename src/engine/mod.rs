//! `Engine::open(config)` wires code sets, lexicon, index, encoder and trained models;
//! every front end calls it (`Engine::assemble` builds one from parts already loaded, as
//! the fixture tests do). Engine state is immutable after opening and shared across threads.
//!
//! A note passes through stages, one module each: term matching (`crate::candidates`),
//! `encode` (the sentence encoder), `assertion_policy` (with `history`), `specificity`,
//! `reporting` (the Official Guidelines' rules), `ranking` and `evidence`. `tests` runs
//! them all on a fixture excerpt of the tabular, without assets.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use std::collections::{BTreeMap, HashMap};

use crate::assets::{self, Assets};
use crate::associations::{Associations, ASSOCIATIONS_FILE};
use crate::body_mass::BodyMassIndex;
use crate::candidates::{mark_subsumed, Matcher, Mention};
use crate::codeset::{CodeId, CodeKind, CodeSet, System};
use crate::coding::{
    Coding, Evidence, EvidenceBasis, RankerChoice, RuleNote, Setting, SuggestOptions, Suggestion,
    MAX_NOTE_CHARS,
};
use crate::error::{Error, Result};
use crate::gestation::Gestation;
use crate::guidelines::{Finding, Guidelines, TermSpan};
use crate::history_codes::HistoryCodes;
use crate::index::{
    build_index, BuildOptions, BuildReport, EncoderFiles, LookupOptions, TermEncoder, TermIndex,
};
pub use crate::learned::LearnedPhrases;
use crate::lexicon::Abbreviations;
use crate::mention_encoder::MentionEncoder;
use crate::onnx::SentenceEncoder;
use crate::procedures::ProcedureComposer;
use crate::rank::{
    is_diagnostic_section, CodePrior, Features, LearnedRanker, LexicalRanker, LinearRanker, Ranker,
};
use crate::rules::{self, RuleInput};
use crate::stated_phrases::StatedPhrases;
use crate::text::{Assertion, Note};
use assertion_policy::{UNCERTAIN_INPATIENT, UNCERTAIN_OUTPATIENT, UNCERTAIN_OUTPATIENT_RULE};
use candidate::Candidate;
use evidence::evidence;

/// Where the engine finds its assets and index.
#[derive(Clone, Debug)]
pub struct Config {
    pub assets: PathBuf,
    pub index: PathBuf,
    /// Directory of trained artefacts (`code_prior.json`, `ranker.onnx`).
    pub models: PathBuf,
}

/// The encoder's tokenizer, relative to [`Config::models`].
pub const TOKENIZER_FILE: &str = "minilm/tokenizer.json";

impl Config {
    /// The sentence encoder's files: the model in the assets, the tokenizer under `models`.
    pub fn encoder_files(&self) -> EncoderFiles {
        EncoderFiles {
            assets: self.assets.clone(),
            tokenizer: self.models.join(TOKENIZER_FILE),
        }
    }

    /// `$CHARTCODER_ASSETS` (default `.assets`) and `$CHARTCODER_INDEX` (default `index/default`).
    pub fn from_env() -> Config {
        Config {
            assets: Assets::from_env().root().to_path_buf(),
            index: std::env::var_os("CHARTCODER_INDEX")
                .map_or_else(|| PathBuf::from("index/default"), PathBuf::from),
            models: std::env::var_os("CHARTCODER_MODELS")
                .map_or_else(|| PathBuf::from("models"), PathBuf::from),
        }
    }
}

pub struct Engine {
    pub codes: CodeSet,
    pub abbreviations: Abbreviations,
    pub index: TermIndex,
    pub config: Config,
    pub(crate) matcher: Matcher,
    /// The transparent ranker: fitted logistic weights, else hand-set ones.
    lexical_ranker: Box<dyn Ranker>,
    /// The ONNX ranker, when `models/ranker.onnx` is present.
    learned_ranker: Option<Box<dyn Ranker>>,
    prior: CodePrior,
    learned: LearnedPhrases,
    /// The sentence encoder for mention texts (its term embeddings are in the index); none
    /// for a lexical-only engine, which then ranks on the words alone.
    encoder: Option<Arc<dyn MentionEncoder>>,
    /// (condition, family?) -> history code; the answer depends only on the code sets.
    history_codes: std::sync::RwLock<HashMap<(CodeId, bool), Option<CodeId>>>,
    /// The Index's history entries (see `crate::history_codes`), before any title lookup.
    history_table: HistoryCodes,
    /// The Official Guidelines' reporting rules, resolved against the code sets.
    guidelines: Guidelines,
    /// Drug names that state a long-term (current) drug therapy code.
    drug_therapy: StatedPhrases,
    status: StatedPhrases,
    body_mass: BodyMassIndex,
    /// Weeks of gestation stated in a pregnancy note.
    gestation: Gestation,
    /// ICD-10-PCS codes composed from procedure statements ("laparoscopic appendectomy").
    procedures: ProcedureComposer,
}

/// File name of the code-frequency prior under `Config::models`.
pub const CODE_PRIOR_FILE: &str = "code_prior.json";

/// One looked-up code as every front end renders it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CodeSuggestion {
    pub code: String,
    pub system: System,
    pub title: String,
    /// Rounded to 3 decimals.
    pub score: f64,
}

/// The trained artefacts of `Config::models`: each is optional, and the engine works
/// without any (flat prior, hand-set lexical weights, no learned phrases).
pub struct TrainedModels {
    pub prior: CodePrior,
    /// The transparent ranker: fitted logistic weights, else hand-set ones.
    pub lexical_ranker: Box<dyn Ranker>,
    /// The ONNX ranker, when `models/ranker.onnx` is present.
    pub learned_ranker: Option<Box<dyn Ranker>>,
    pub associations: Associations,
}

impl Default for TrainedModels {
    fn default() -> Self {
        TrainedModels {
            prior: CodePrior::default(),
            lexical_ranker: Box::new(LexicalRanker),
            learned_ranker: None,
            associations: Associations::default(),
        }
    }
}

impl TrainedModels {
    /// What `config.models` holds. A present file must load; an absent one is a warning.
    fn load(config: &Config, assets: &Assets, workers: usize) -> Result<TrainedModels> {
        let model = |file: &str| config.models.join(file);
        // Without a prior every code weighs the same; the engine still works.
        let prior = match model(CODE_PRIOR_FILE) {
            path if path.is_file() => CodePrior::load(&path)?,
            path => {
                tracing::warn!(path = %path.display(), "no code prior; ranking without it");
                CodePrior::default()
            }
        };
        let lexical_ranker = select_ranker(Some(&model(LEXICAL_RANKER_FILE)))?;
        let learned_ranker: Option<Box<dyn Ranker>> = match model(LEARNED_RANKER_FILE) {
            path if path.is_file() => {
                let library = crate::onnx::runtime_library(assets)?;
                Some(Box::new(LearnedRanker::open(&library, &path, workers)?))
            }
            path => {
                tracing::warn!(path = %path.display(), "no learned ranker; ranking lexically");
                None
            }
        };
        let associations = match model(ASSOCIATIONS_FILE) {
            path if path.is_file() => Associations::load(&path)?,
            _ => Associations::default(),
        };
        Ok(TrainedModels {
            prior,
            lexical_ranker,
            learned_ranker,
            associations,
        })
    }
}

/// Loads the code sets and abbreviations (shared by `open` and `build_index`).
pub fn load_code_sets(config: &Config) -> Result<(CodeSet, Abbreviations)> {
    let assets = Assets::new(&config.assets);
    let codes = CodeSet::load(&assets)?;
    let abbreviations = Abbreviations::load(&assets.path(assets::ABBREVIATIONS)?)?;
    Ok((codes, abbreviations))
}

impl Engine {
    pub fn open(config: Config) -> Result<Engine> {
        Engine::open_with(config, true)
    }

    /// An engine without the trained models of `config.models` (prior, rankers, learned
    /// phrases), for training them: candidates must not depend on a stale model. The
    /// encoder's tokenizer, part of the engine rather than a trained model, is still read
    /// from there.
    pub fn open_untrained(config: Config) -> Result<Engine> {
        Engine::open_with(config, false)
    }

    fn open_with(config: Config, trained: bool) -> Result<Engine> {
        let assets = Assets::new(&config.assets);
        let workers = rayon::current_num_threads();
        let (codes, abbreviations) = load_code_sets(&config)?;
        let index = TermIndex::open(&config.index, &codes)?;
        if index.embeddings().is_none() {
            return Err(Error::Index {
                path: config.index.clone(),
                reason: "built without term embeddings (lexical only)".into(),
            });
        }
        let encoder = SentenceEncoder::open(&assets, &config.models.join(TOKENIZER_FILE), workers)?;
        let models = if trained {
            TrainedModels::load(&config, &assets, workers)?
        } else {
            TrainedModels::default()
        };
        Engine::assemble(
            config,
            codes,
            abbreviations,
            index,
            Some(Arc::new(encoder)),
            models,
        )
    }

    /// An engine from parts already loaded: what [`Engine::open`] does after reading the
    /// files, and how fixtures build one in memory (a fixture code set, an index built from
    /// it in a temporary directory, the stand-in encoder or none). The encoder must be the
    /// one that embedded the index's terms; without either, mentions are ranked on their
    /// words alone.
    pub fn assemble(
        config: Config,
        codes: CodeSet,
        abbreviations: Abbreviations,
        index: TermIndex,
        encoder: Option<Arc<dyn MentionEncoder>>,
        models: TrainedModels,
    ) -> Result<Engine> {
        if let (Some(store), Some(encoder)) = (index.embeddings(), &encoder) {
            store.expect_encoder(encoder.identity())?;
        }
        let matcher = Matcher::new(&index, &codes);
        let learned =
            LearnedPhrases::new(models.associations, &codes, &index, matcher.site_words());
        let guidelines = Guidelines::new(&codes);
        let drug_therapy = StatedPhrases::drug_therapy(&codes);
        let status = StatedPhrases::status(&codes);
        let body_mass = BodyMassIndex::new(&codes);
        let (history_table, unknown) = HistoryCodes::new(&codes);
        if !unknown.is_empty() {
            tracing::warn!(
                count = unknown.len(),
                "history table rows whose code is not in the loaded code sets (ignored)"
            );
        }
        let gestation = Gestation::new(&codes);
        let procedures = ProcedureComposer::new(&codes);
        Ok(Engine {
            codes,
            abbreviations,
            index,
            config,
            matcher,
            lexical_ranker: models.lexical_ranker,
            learned_ranker: models.learned_ranker,
            prior: models.prior,
            learned,
            encoder,
            history_codes: Default::default(),
            history_table,
            guidelines,
            drug_therapy,
            status,
            body_mass,
            gestation,
            procedures,
        })
    }

    /// The candidate codes of a note with their features, before ranking (for training).
    pub fn candidate_features(
        &self,
        text: &str,
        options: &SuggestOptions,
    ) -> Result<Vec<(CodeId, Features)>> {
        self.candidate_features_with(text, options, &self.learned)
    }

    /// As [`Engine::candidate_features`], with other learned phrases (cross-fitting).
    pub fn candidate_features_with(
        &self,
        text: &str,
        options: &SuggestOptions,
        learned: &LearnedPhrases,
    ) -> Result<Vec<(CodeId, Features)>> {
        let (_, candidates) = self.candidates(text, options, learned)?;
        Ok(candidates
            .iter()
            .map(|c| (c.code, self.features(c)))
            .collect())
    }

    /// The ranker `choice` resolves to: the learned one falls back to the lexical one
    /// when no ONNX ranker is installed.
    pub fn ranker(&self, choice: RankerChoice) -> &dyn Ranker {
        match (choice, &self.learned_ranker) {
            (RankerChoice::Learned, Some(learned)) => learned.as_ref(),
            _ => self.lexical_ranker.as_ref(),
        }
    }

    pub fn ranker_name(&self) -> &str {
        self.ranker(RankerChoice::Learned).name()
    }

    /// Codes a note: ranked suggestions with evidence spans, assertions and rule notes.
    pub fn suggest(
        &self,
        id: Option<String>,
        text: &str,
        options: &SuggestOptions,
    ) -> Result<Coding> {
        let (note, mut candidates) = self.candidates(text, options, &self.learned)?;
        let features: Vec<Features> = candidates.iter().map(|c| self.features(c)).collect();
        let mut scores = self.ranker(options.ranker).score(&features)?;
        self.words_lead_their_category(&candidates, &mut scores);
        for (c, s) in candidates.iter_mut().zip(scores.iter_mut()) {
            // A code also stated firmly elsewhere is not uncertain.
            if c.assertion != Assertion::Uncertain {
                c.rules.retain(|r| r.kind != UNCERTAIN_OUTPATIENT_RULE);
            } else if c.rules.iter().any(|r| r.kind == UNCERTAIN_OUTPATIENT_RULE) {
                *s *= UNCERTAIN_OUTPATIENT / UNCERTAIN_INPATIENT;
            }
        }
        let inputs: Vec<RuleInput> = candidates
            .iter()
            .zip(&scores)
            .map(|(c, &score)| RuleInput {
                code: c.code,
                score,
                sentences: c.mentions.iter().map(|m| m.sentence).collect(),
            })
            .collect();
        let (rule_notes, factors) = rules::apply(&self.codes, &inputs);
        let mut suggestions: Vec<Suggestion> = candidates
            .into_iter()
            .zip(scores)
            .zip(rule_notes.into_iter().zip(factors))
            .map(|((c, score), (mut notes, factor))| {
                notes.extend(c.rules.iter().cloned());
                let code = self.codes.get(c.code);
                Suggestion {
                    code: code.display(),
                    system: code.system,
                    title: code.title.clone(),
                    score: ((score * factor).clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0,
                    assertion: c.assertion,
                    evidence: evidence(&note, &c.mentions),
                    rules: notes,
                }
            })
            .filter(|s| s.score >= options.min_score)
            // A code only a learned phrase suggests must be more than a long shot.
            .filter(|s| {
                s.score >= LEARNED_ONLY_MIN_SCORE
                    || s.evidence.iter().any(|e| e.basis == EvidenceBasis::Term)
            })
            .collect();
        suggestions.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.code.cmp(&b.code))
        });
        suggestions.truncate(options.top_k.max(1));
        Ok(Coding {
            id,
            code_set: self.code_set_years(),
            suggestions,
        })
    }

    /// The note analysed and its candidate codes (mentions grouped by code, assertion rules
    /// and specificity applied).
    fn candidates(
        &self,
        text: &str,
        options: &SuggestOptions,
        learned: &LearnedPhrases,
    ) -> Result<(Note, Vec<Candidate>)> {
        if text.trim().is_empty() {
            return Err(Error::InvalidInput("empty note".into()));
        }
        let chars = text.chars().count();
        if chars > MAX_NOTE_CHARS {
            return Err(Error::InvalidInput(format!(
                "note of {chars} characters is longer than the limit of {MAX_NOTE_CHARS}; split it"
            )));
        }
        let note = Note::analyze(text);
        let token_words = self
            .matcher
            .token_words(&note, &self.index, &self.abbreviations);
        let mut mentions = self.matcher.find(&note, &self.index, &token_words);
        let wanted = |m: &Mention| {
            options.systems.is_empty() || options.systems.contains(&self.codes.get(m.code).system)
        };
        // A procedure only ordered, planned or declined ("abdominal CT was ordered") is no
        // procedure performed, whichever words name it: index terms, the composer (whose
        // own guards read its clauses) and learned phrases.
        let performed = |m: &Mention| {
            self.codes.get(m.code).system != System::Icd10pcs
                || !crate::procedures::guarded(&note, m.first(), m.last())
        };
        mentions.retain(|m| wanted(m) && performed(m));
        let mut mentions = mark_subsumed(mentions);
        // The lexical ranker is the fast path: its features are the words', so the
        // encoder (most of a note's cost) does not run for it.
        if options.ranker == RankerChoice::Learned {
            // The encoder appends its readings; those before were checked above.
            let checked = mentions.len();
            self.encode_mentions(&note, &mut mentions, options.components.encoder_candidates)?;
            let mut k = 0;
            mentions.retain(|m| {
                k += 1;
                k <= checked || (wanted(m) && performed(m))
            });
        }
        // Stated drug therapy and status: the drug's name, or the status phrase ("s/p
        // CABG"), is a mention of its code.
        mentions.extend(
            self.drug_therapy
                .find(&note)
                .into_iter()
                .chain(self.status.find(&note))
                .map(|d| Mention::stated(d.code, d.tokens, d.sentence, &note))
                .chain(
                    self.gestation
                        .find(&note)
                        .map(|g| Mention::stated(g.code, g.tokens, g.sentence, &note)),
                )
                .chain(
                    self.body_mass
                        .find(&note)
                        .map(|b| Mention::stated(b.code, b.tokens, b.sentence, &note)),
                )
                .filter(wanted),
        );
        // Procedures composed from their statement: the words say the operation and body
        // part; axes the note leaves unsaid lower the coverage.
        mentions.extend(
            self.procedures
                .find(&note)
                .into_iter()
                .map(|p| {
                    let mut m = Mention::stated(p.code, p.tokens, p.sentence, &note);
                    m.coverage = p.confidence;
                    m
                })
                .filter(|m| wanted(m) && performed(m)),
        );
        if options.components.learned_phrases {
            mentions.extend(
                learned
                    .mentions(&note, &token_words)
                    .into_iter()
                    .filter(wanted),
            );
        }
        let lower = text.to_lowercase();
        let candidates = self.collect_candidates(&note, mentions, options.setting);
        let candidates = self.resolve_specificity(candidates, &lower);
        let candidates = self.apply_guidelines(&note, candidates, options);
        Ok((note, candidates))
    }

    /// Builds (or confirms up to date) the index at `config.index`.
    /// The sentence encoder is always that of `config` (its assets and tokenizer).
    pub fn build_index(config: &Config, options: &BuildOptions) -> Result<BuildReport> {
        let (codes, abbreviations) = load_code_sets(config)?;
        let options = BuildOptions {
            encoder: Some(TermEncoder::Files(config.encoder_files())),
            ..options.clone()
        };
        build_index(&config.index, &codes, &abbreviations, &options)
    }

    /// Ranked codes for a phrase: its words, and, when they match poorly, the terms nearest
    /// in meaning (the sentence encoder over the index's term embeddings).
    /// Every front end (CLI, HTTP, LSP) looks up through here.
    pub fn lookup(&self, query: &str, options: &LookupOptions) -> Result<Vec<CodeSuggestion>> {
        let similar = |text: &str| -> Result<Vec<(u32, f32)>> {
            let (Some(store), Some(encoder)) = (self.index.embeddings(), &self.encoder) else {
                return Ok(Vec::new());
            };
            Ok(match encoder.encode(&[text])?.first() {
                Some(embedding) => {
                    store.nearest_probing(embedding, LOOKUP_NEAREST_TERMS, LOOKUP_PROBES)
                }
                None => Vec::new(),
            })
        };
        let hits = self.index.lookup_with(
            query,
            &self.codes,
            &self.abbreviations,
            options,
            Some(&similar),
        )?;
        Ok(hits
            .into_iter()
            .map(|h| {
                let code = self.codes.get(h.code);
                CodeSuggestion {
                    code: code.display(),
                    system: code.system,
                    title: code.title.clone(),
                    score: (f64::from(h.score) * 1000.0).round() / 1000.0,
                }
            })
            .collect())
    }

    /// `{"icd10cm": "2026", "icd10pcs": "2026"}`: shipped with every answer.
    pub fn code_set_years(&self) -> std::collections::BTreeMap<String, String> {
        self.codes
            .versions
            .iter()
            .map(|v| (v.system.as_str().to_string(), v.fiscal_year.clone()))
            .collect()
    }
}

/// The fitted lexical weights when present, else the hand-set ones.
fn select_ranker(path: Option<&std::path::Path>) -> Result<Box<dyn Ranker>> {
    match path {
        Some(path) if path.is_file() => Ok(Box::new(LinearRanker::load(path)?)),
        _ => Ok(Box::new(LexicalRanker)),
    }
}

/// Terms nearest in meaning to a looked-up phrase that join its lexical candidates (10 and
/// 50 give the same dev-set hit@5; 5 loses 0.003).
const LOOKUP_NEAREST_TERMS: usize = 10;

/// Inverted lists scanned for a looked-up phrase's nearest terms (of 928 in
/// `index/default`): a third of the store's default 96, for a third of the time (about
/// 0.4 ms instead of 1.1 ms), dev-set hit@5 0.717 either way.
const LOOKUP_PROBES: usize = 32;

/// Lowest score of a suggestion whose only support is learned phrases.
pub const LEARNED_ONLY_MIN_SCORE: f32 = 0.01;

/// File name of the learned (ONNX) ranker under `Config::models`.
pub const LEARNED_RANKER_FILE: &str = "ranker.onnx";

/// File name of the fitted lexical ranker under `Config::models`.
pub const LEXICAL_RANKER_FILE: &str = "lexical_ranker.json";

mod assertion_policy;
mod candidate;
mod encode;
mod evidence;
mod history;
mod ranking;
mod reporting;
mod specificity;
#[cfg(test)]
mod tests;
