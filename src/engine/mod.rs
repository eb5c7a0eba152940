//! `Engine::open(config)` wires code sets, lexicon and index; every front end calls it.
//! Engine state is immutable after `open` and shared across threads.

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
    matcher: Matcher,
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
        let learned = LearnedPhrases::new(models.associations, &codes, &index);
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
        mentions.retain(wanted);
        let mut mentions = mark_subsumed(mentions);
        // The lexical ranker is the fast path: its features are the words', so the
        // encoder (most of a note's cost) does not run for it.
        if options.ranker == RankerChoice::Learned {
            self.encode_mentions(&note, &mut mentions, options.components.encoder_candidates)?;
            mentions.retain(wanted);
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
                .filter(wanted),
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

    /// The sentence encoder over the note's term mentions: each mention's similarity to
    /// its term, and (with `add`) the codes of the terms nearest in meaning to the weakest
    /// readings, which the words alone matched only in part.
    fn encode_mentions(&self, note: &Note, mentions: &mut Vec<Mention>, add: bool) -> Result<()> {
        let (Some(store), Some(encoder)) = (self.index.embeddings(), &self.encoder) else {
            return Ok(());
        };
        // Distinct compact spans, strongest reading first; scattered matches are no phrase.
        let mut spans: Vec<((usize, usize), f32)> = Vec::new();
        let mut order: Vec<&Mention> = mentions
            .iter()
            .filter(|m| m.last() - m.first() < m.words + 3)
            .collect();
        order.sort_by(|a, b| {
            a.subsumed
                .cmp(&b.subsumed)
                .then(b.coverage.total_cmp(&a.coverage))
                .then(a.first().cmp(&b.first()))
        });
        for m in order {
            let span = (m.first(), m.last());
            if !spans.iter().any(|(s, _)| *s == span) {
                spans.push((span, m.coverage));
            }
            if spans.len() == ENCODED_SPANS {
                break;
            }
        }
        if spans.is_empty() {
            return Ok(());
        }
        let texts: Vec<String> = spans
            .iter()
            .map(|((first, last), _)| {
                let (start, end) = (note.tokens[*first].start, note.tokens[*last].end);
                note.slice(start, end.min(start + 200))
            })
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let embeddings = encoder.encode(&refs)?;
        let at: HashMap<(usize, usize), usize> = spans
            .iter()
            .enumerate()
            .map(|(i, (s, _))| (*s, i))
            .collect();
        for m in mentions.iter_mut() {
            if let Some(&i) = at.get(&(m.first(), m.last())) {
                m.similarity = store.cosine(m.term, &embeddings[i]);
            }
        }
        if !add {
            return Ok(());
        }
        let mut weakest: Vec<usize> = (0..spans.len()).filter(|&i| spans[i].1 < 0.999).collect();
        weakest.sort_by(|&a, &b| spans[a].1.total_cmp(&spans[b].1));
        weakest.truncate(NEAREST_SPANS);
        let mut found = Vec::new();
        for i in weakest {
            let (first, last) = spans[i].0;
            let Some(reading) = mentions
                .iter()
                .find(|m| (m.first(), m.last()) == (first, last))
            else {
                continue;
            };
            for (term, similarity) in store.nearest(&embeddings[i], NEAREST_TERMS) {
                let Some(t) = self.index.side.terms.get(term as usize) else {
                    continue;
                };
                let known = mentions
                    .iter()
                    .any(|m| m.code == t.code && (m.first(), m.last()) == (first, last));
                if similarity < ENCODER_MIN_SIMILARITY || known {
                    continue;
                }
                found.push(Mention {
                    term,
                    code: t.code,
                    tokens: reading.tokens.clone(),
                    sentence: reading.sentence,
                    section: reading.section,
                    coverage: 0.0,
                    words: 0,
                    subsumed: false,
                    learned: None,
                    similarity,
                    from_encoder: true,
                });
            }
        }
        mentions.extend(found);
        Ok(())
    }

    /// Within a category the note's own words found, they lead: a code suggested only by
    /// learned phrases (E11.9 beside E11.40 "with neuropathy") stays below the best code
    /// the words support.
    fn words_lead_their_category(&self, candidates: &[Candidate], scores: &mut [f32]) {
        let category = |id: CodeId| {
            let c = self.codes.get(id);
            (c.system == System::Icd10cm).then(|| c.code.chars().take(3).collect::<String>())
        };
        let mut best: HashMap<String, f32> = HashMap::new();
        for (c, &s) in candidates.iter().zip(scores.iter()) {
            if let (true, Some(k)) = (c.has_lexical(), category(c.code)) {
                let e = best.entry(k).or_insert(0.0);
                *e = e.max(s);
            }
        }
        for (c, s) in candidates.iter().zip(scores.iter_mut()) {
            if c.has_lexical() {
                continue;
            }
            if let Some(&lead) = category(c.code).and_then(|k| best.get(&k)) {
                *s = s.min(lead * 0.95);
            }
        }
    }

    /// Mentions grouped by code after the assertion rules: negated, family and hypothetical
    /// mentions name no diagnosis of the patient; history becomes a history code.
    fn collect_candidates(
        &self,
        note: &Note,
        mentions: Vec<Mention>,
        setting: Setting,
    ) -> Vec<Candidate> {
        let mut by_code: BTreeMap<CodeId, Candidate> = BTreeMap::new();
        // Codes the note's own words deny (or give to the family): no learned phrase brings
        // them back. Lexical mentions come first, so this is complete before learned ones.
        let mut denied: std::collections::HashSet<CodeId> = Default::default();
        for m in mentions {
            let assertion = note.assertion(m.first(), m.last());
            if !m.is_term() {
                let factor = match assertion {
                    _ if denied.contains(&m.code) => continue,
                    Assertion::Negated | Assertion::Hypothetical | Assertion::Family => continue,
                    Assertion::Historical => HISTORICAL,
                    Assertion::Uncertain => UNCERTAIN_INPATIENT,
                    Assertion::Present => 1.0,
                };
                // A past acute infarction is never an acute one, and a condition stated as
                // past is reported by its history code alone (see below).
                if assertion == Assertion::Historical
                    && (is_acute_infarction(&self.codes.get(m.code).code)
                        || (stated_as_past(note, &m) && self.history_code(m.code, false).is_some()))
                {
                    continue;
                }
                let rule = (assertion == Assertion::Uncertain && setting == Setting::Outpatient)
                    .then(uncertain_outpatient_rule);
                add_mention(&mut by_code, m.code, m, assertion, factor, rule);
                continue;
            }
            if matches!(
                assertion,
                Assertion::Negated | Assertion::Hypothetical | Assertion::Family
            ) {
                denied.insert(m.code);
            }
            let (target, factor, rule) = match assertion {
                Assertion::Negated | Assertion::Hypothetical => continue,
                Assertion::Family | Assertion::Historical => {
                    let family = assertion == Assertion::Family;
                    let history = self.history_code(m.code, family);
                    if let Some(h) = history {
                        let kind = if family {
                            "family_history_of"
                        } else {
                            "history_of"
                        };
                        let rule = RuleNote {
                            kind: kind.into(),
                            message: format!(
                                "stated as {}: {}",
                                if family { "family history" } else { "history" },
                                self.codes.get(m.code).title
                            ),
                            codes: vec![self.codes.get(m.code).display()],
                            guideline: Some("I.C.21.c.4".into()),
                        };
                        add_mention(
                            &mut by_code,
                            h,
                            m.clone(),
                            Assertion::Present,
                            0.9,
                            Some(rule),
                        );
                    }
                    // Family conditions are not the patient's; a past acute infarction is
                    // only its history code (I25.2), never an acute one. A condition stated
                    // as past ("h/o DVT", "history of breast cancer") is reported by its
                    // personal history code alone (I.C.21.c.4: history codes explain a
                    // condition that no longer exists); a bare past-medical-history list
                    // names chronic conditions that usually persist, so those keep their code.
                    let acute_episode = is_acute_infarction(&self.codes.get(m.code).code);
                    if family || (history.is_some() && (acute_episode || stated_as_past(note, &m)))
                    {
                        continue;
                    }
                    (m.code, HISTORICAL, None)
                }
                // The setting scales the ranked score (see `suggest`), so the ranker sees the
                // same features in both and outpatient can only rank an uncertain code lower.
                Assertion::Uncertain => (
                    m.code,
                    UNCERTAIN_INPATIENT,
                    (setting == Setting::Outpatient).then(uncertain_outpatient_rule),
                ),
                Assertion::Present => (m.code, 1.0, None),
            };
            add_mention(&mut by_code, target, m, assertion, factor, rule);
        }
        by_code.into_values().collect()
    }

    /// The personal (Z85-Z92) or family (Z80-Z84) history code for a condition, by looking
    /// its title up among those codes.
    fn history_code(&self, code: CodeId, family: bool) -> Option<CodeId> {
        if let Some(found) = self
            .history_codes
            .read()
            .ok()
            .and_then(|m| m.get(&(code, family)).copied())
        {
            return found;
        }
        let found = self.find_history_code(code, family);
        if let Ok(mut m) = self.history_codes.write() {
            m.insert((code, family), found);
        }
        found
    }

    fn find_history_code(&self, code: CodeId, family: bool) -> Option<CodeId> {
        let c = self.codes.get(code);
        if c.system != System::Icd10cm || c.code.starts_with('Z') {
            return None;
        }
        // A past myocardial infarction has its own code in chapter I, not a Z code.
        if !family && is_acute_infarction(&c.code) {
            return self.codes.id(System::Icd10cm, "I252");
        }
        if let Some(listed) = self.history_table.of(&c.code, family) {
            return Some(listed);
        }
        let query = format!(
            "{} history of {}",
            if family { "family" } else { "personal" },
            crate::lexicon::strip_nonessential(&c.title)
        );
        let hits = self
            .index
            .lookup(
                &query,
                &self.codes,
                &self.abbreviations,
                &LookupOptions {
                    top_k: 10,
                    systems: vec![System::Icd10cm],
                    retrieve: 200,
                },
            )
            .ok()?;
        let range: &[&str] = if family {
            &["Z80", "Z81", "Z82", "Z83", "Z84"]
        } else {
            &["Z85", "Z86", "Z87", "Z91", "Z92", "Z95", "Z98"]
        };
        hits.into_iter()
            .filter(|h| h.score >= 0.6)
            .map(|h| h.code)
            .find(|&h| range.iter().any(|p| self.codes.get(h).code.starts_with(p)))
            .and_then(|h| self.codes.default_billable(h).or(Some(h)))
    }

    /// Keeps the most specific code the evidence supports: an ancestor of another candidate
    /// is dropped; a non-billable code becomes its unspecified billable code, or gets its
    /// 7th character.
    fn resolve_specificity(&self, candidates: Vec<Candidate>, lower: &str) -> Vec<Candidate> {
        // Only the note's own words make a code more specific: a learned code never
        // replaces a category found by its terms ("breast cancer" stays unspecified as to
        // side even where coders most often coded the left breast).
        let ids: Vec<CodeId> = candidates
            .iter()
            .filter(|c| c.has_lexical())
            .map(|c| c.code)
            .collect();
        let mut out: BTreeMap<CodeId, Candidate> = BTreeMap::new();
        // Learned support for a category also supports the more specific code found.
        let mut lent: Vec<(CodeId, Vec<Mention>)> = Vec::new();
        for mut c in candidates {
            if let Some(&specific) = ids
                .iter()
                .find(|&&other| other != c.code && self.codes.is_within(other, c.code))
            {
                let learned: Vec<Mention> =
                    c.mentions.into_iter().filter(|m| !m.is_term()).collect();
                if !learned.is_empty() {
                    lent.push((specific, learned));
                }
                continue;
            }
            if !self.codes.get(c.code).billable {
                if let Some((chosen, rule)) =
                    rules::seventh_character_for(&self.codes, c.code, lower)
                {
                    c.code = chosen;
                    c.rules.push(rule);
                } else if let Some(default) = self.codes.default_billable(c.code) {
                    c.code = default;
                } else if self.codes.get(c.code).kind == CodeKind::Code {
                    let children: Vec<String> = self
                        .codes
                        .get(c.code)
                        .children
                        .iter()
                        .map(|&k| self.codes.get(k).display())
                        .collect();
                    c.rules.push(RuleNote {
                        kind: "not_billable".into(),
                        message: "category: the note must say which of its codes applies".into(),
                        codes: children,
                        guideline: Some("I.B.2".into()),
                    });
                }
            }
            match out.get_mut(&c.code) {
                Some(existing) => existing.merge(c),
                None => {
                    out.insert(c.code, c);
                }
            }
        }
        for (specific, mentions) in lent {
            // The specific code itself may have been re-coded (7th character, default
            // child): it is then found by ancestry.
            let target = out
                .keys()
                .copied()
                .find(|&k| k == specific || self.codes.is_within(k, specific));
            if let Some(existing) = target.and_then(|k| out.get_mut(&k)) {
                existing.mentions.extend(mentions);
            }
        }
        out.into_values().collect()
    }

    /// The Official Guidelines' reporting rules over the candidates: codes they drop go
    /// (the code that made them redundant says so in a rule note), combination codes they
    /// presume are added with their parts' evidence.
    fn apply_guidelines(
        &self,
        note: &Note,
        candidates: Vec<Candidate>,
        options: &SuggestOptions,
    ) -> Vec<Candidate> {
        let findings: Vec<Finding> = candidates
            .iter()
            .map(|c| Finding {
                code: c.code,
                assertion: c.assertion,
                terms: c
                    .mentions
                    .iter()
                    .filter(|m| m.is_term())
                    .map(span_of_mention)
                    .collect(),
                inferred: c
                    .mentions
                    .iter()
                    .filter(|m| !m.is_term())
                    .map(span_of_mention)
                    .collect(),
            })
            .collect();
        let verdict = self.guidelines.apply_except(
            &self.codes,
            note,
            &findings,
            options.setting,
            &options.rules_off,
        );
        let mut added: Vec<Candidate> = verdict
            .added
            .iter()
            .map(|a| {
                let parts = a.from.iter().filter_map(|&i| candidates.get(i));
                let mentions: Vec<Mention> = parts
                    .clone()
                    .flat_map(|c| c.mentions.iter().filter(|m| m.is_term()).cloned())
                    .collect();
                Candidate {
                    code: a.code,
                    sections: mentions.iter().map(|m| m.section).collect(),
                    mentions,
                    assertion: Assertion::Present,
                    factor: parts.map(|c| c.factor).fold(1.0, f32::min),
                    rules: vec![a.rule.clone()],
                }
            })
            .collect();
        // What each kept code made redundant, said on the code that did.
        let mut told: Vec<(String, RuleNote)> = Vec::new();
        let mut kept: BTreeMap<CodeId, Candidate> = BTreeMap::new();
        for (c, dropped) in candidates.into_iter().zip(verdict.dropped) {
            match dropped {
                Some(rule) => {
                    let code = self.codes.get(c.code);
                    // The code that replaced it by laterality already says so.
                    if let Some(by) = rule.codes.first().filter(|_| {
                        !matches!(
                            rule.kind.as_str(),
                            "laterality" | "trimester" | "diabetes_control"
                        )
                    }) {
                        told.push((
                            by.clone(),
                            RuleNote {
                                kind: "not_reported".into(),
                                message: format!(
                                    "{} {} not reported: {}",
                                    code.display(),
                                    code.title,
                                    rule.message
                                ),
                                codes: vec![code.display()],
                                guideline: rule.guideline.clone(),
                            },
                        ));
                    }
                }
                None => {
                    kept.insert(c.code, c);
                }
            }
        }
        for a in added.drain(..) {
            match kept.get_mut(&a.code) {
                Some(existing) => existing.merge(a),
                None => {
                    kept.insert(a.code, a);
                }
            }
        }
        for c in kept.values_mut() {
            let shown = self.codes.get(c.code).display();
            for (by, note) in &told {
                if *by == shown && !c.rules.contains(note) {
                    c.rules.push(note.clone());
                }
            }
        }
        kept.into_values().collect()
    }

    fn features(&self, c: &Candidate) -> Features {
        let sentences_of = |learned: bool| {
            let mut s: Vec<usize> = c
                .mentions
                .iter()
                .filter(|m| {
                    if learned {
                        m.learned.is_some()
                    } else {
                        m.is_term()
                    }
                })
                .map(|m| m.sentence)
                .collect();
            s.sort_unstable();
            s.dedup();
            s.len()
        };
        let lexical: Vec<&Mention> = c.mentions.iter().filter(|m| m.is_term()).collect();
        let learned = c.mentions.iter().filter_map(|m| m.learned);
        let phrases: BTreeMap<u64, f32> =
            learned.clone().map(|l| (l.phrase, l.probability)).collect();
        let code = self.codes.get(c.code);
        Features {
            coverage: lexical.iter().map(|m| m.coverage).fold(0.0, f32::max),
            sentences: sentences_of(false),
            words: lexical.iter().map(|m| m.words).max().unwrap_or(0),
            lexical: !lexical.is_empty(),
            learned: learned.clone().map(|l| l.probability).fold(0.0, f32::max),
            learned_support: learned.map(|l| l.support).max().unwrap_or(0),
            learned_sentences: sentences_of(true),
            depth: code.code.len(),
            diagnostic_section: c.sections.iter().any(|&s| is_diagnostic_section(s)),
            present: c.assertion == Assertion::Present,
            uncertain: c.assertion == Assertion::Uncertain,
            historical: c.assertion == Assertion::Historical,
            assertion_factor: c.factor,
            symptom: code.code.starts_with('R'),
            subsumed: !lexical.is_empty() && lexical.iter().all(|m| m.subsumed),
            prior: self.prior.score(&self.codes, c.code),
            precision: self.prior.precision(&self.codes, c.code),
            billable: code.billable,
            procedure: code.system == System::Icd10pcs,
            similarity: c.mentions.iter().map(|m| m.similarity).fold(0.0, f32::max),
            encoder: c.mentions.iter().any(|m| m.from_encoder),
            learned_any: 1.0 - phrases.values().map(|p| 1.0 - p).product::<f32>(),
            learned_phrases: phrases.len(),
        }
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

/// Score factor of a condition stated as past (its history code, where there is one, is
/// suggested beside it).
const HISTORICAL: f32 = 0.6;

/// Score factor of an uncertain diagnosis: inpatient coding reports it as established;
/// outpatient coding does not code it (it is kept, far down, with a rule note).
const UNCERTAIN_INPATIENT: f32 = 0.85;
const UNCERTAIN_OUTPATIENT: f32 = 0.3;
const UNCERTAIN_OUTPATIENT_RULE: &str = "uncertain_outpatient";

/// An acute (I21) or subsequent (I22) myocardial infarction: in the past, it is I25.2.
fn is_acute_infarction(code: &str) -> bool {
    code.starts_with("I21") || code.starts_with("I22")
}

/// Term mentions embedded per note (the encoder is the costliest step: ~2 ms a mention).
const ENCODED_SPANS: usize = 24;
/// Weakest readings whose nearest terms are looked up, and how many terms each.
const NEAREST_SPANS: usize = 8;
const NEAREST_TERMS: usize = 5;
/// Cosine from which a nearest term's code becomes a candidate.
const ENCODER_MIN_SIMILARITY: f32 = 0.8;

/// Terms nearest in meaning to a looked-up phrase that join its lexical candidates (10 and
/// 50 give the same dev-set hit@5; 5 loses 0.003).
const LOOKUP_NEAREST_TERMS: usize = 10;

/// Inverted lists scanned for a looked-up phrase's nearest terms (of 928 in
/// `index/default`): a third of the store's default 96, for a third of the time (about
/// 0.4 ms instead of 1.1 ms), dev-set hit@5 0.717 either way.
const LOOKUP_PROBES: usize = 32;

/// Lowest score of a suggestion whose only support is learned phrases.
pub const LEARNED_ONLY_MIN_SCORE: f32 = 0.01;

fn uncertain_outpatient_rule() -> RuleNote {
    RuleNote {
        kind: UNCERTAIN_OUTPATIENT_RULE.into(),
        message: "uncertain diagnoses are not coded in the outpatient setting; code the symptoms"
            .into(),
        codes: Vec::new(),
        guideline: Some("IV.H".into()),
    }
}

/// File name of the learned (ONNX) ranker under `Config::models`.
pub const LEARNED_RANKER_FILE: &str = "ranker.onnx";

/// File name of the fitted lexical ranker under `Config::models`.
pub const LEXICAL_RANKER_FILE: &str = "lexical_ranker.json";

/// One candidate code of a note and what supports it.
struct Candidate {
    code: CodeId,
    mentions: Vec<Mention>,
    sections: Vec<crate::text::Section>,
    assertion: Assertion,
    /// Score factor from the assertion (history, uncertainty).
    factor: f32,
    rules: Vec<RuleNote>,
}

impl Candidate {
    fn has_lexical(&self) -> bool {
        self.mentions.iter().any(Mention::is_term)
    }

    fn merge(&mut self, other: Candidate) {
        // The stronger reading of the code's own words decides the assertion; learned
        // phrases decide it only for a code no own words found.
        let (mine, theirs) = (self.has_lexical(), other.has_lexical());
        if (theirs && !mine) || (theirs == mine && other.factor > self.factor) {
            self.factor = other.factor;
            self.assertion = other.assertion;
        }
        self.mentions.extend(other.mentions);
        self.sections.extend(other.sections);
        for r in other.rules {
            if !self.rules.contains(&r) {
                self.rules.push(r);
            }
        }
    }
}

fn add_mention(
    by_code: &mut BTreeMap<CodeId, Candidate>,
    code: CodeId,
    mention: Mention,
    assertion: Assertion,
    factor: f32,
    rule: Option<RuleNote>,
) {
    let section = mention.section;
    let candidate = Candidate {
        code,
        mentions: vec![mention],
        sections: vec![section],
        assertion,
        factor,
        rules: rule.into_iter().collect(),
    };
    match by_code.get_mut(&code) {
        Some(existing) => existing.merge(candidate),
        None => {
            by_code.insert(code, candidate);
        }
    }
}

/// A historical mention stated as past in its own words ("h/o DVT"), not only listed under
/// a past-medical-history heading (where chronic conditions that persist are listed too).
fn stated_as_past(note: &Note, m: &Mention) -> bool {
    note.section_of_token(m.first()) != crate::text::Section::PastMedicalHistory
}

fn span_of_mention(m: &Mention) -> TermSpan {
    TermSpan {
        sentence: m.sentence,
        tokens: m.tokens.clone(),
        coverage: m.coverage,
        words: m.words,
    }
}

/// Evidence spans of the mentions, one per distinct span, in text order.
fn evidence(note: &Note, mentions: &[Mention]) -> Vec<Evidence> {
    // Weak partial readings are not shown as evidence beside a strong one; learned phrases
    // are the evidence only of codes that no term of their own found.
    let lexical = mentions.iter().any(Mention::is_term);
    let learned_any = mentions.iter().any(|m| m.learned.is_some());
    let best = mentions.iter().map(|m| m.coverage).fold(0.0, f32::max);
    let best_learned = mentions
        .iter()
        .filter_map(|m| m.learned)
        .map(|l| l.probability)
        .fold(0.0, f32::max);
    let best_similar = mentions
        .iter()
        .filter(|m| m.from_encoder)
        .map(|m| m.similarity)
        .fold(0.0, f32::max);
    let strong = |m: &&Mention| match m.learned {
        Some(l) => !lexical && l.probability >= 0.8 * best_learned,
        None if m.from_encoder => !lexical && !learned_any && m.similarity >= best_similar - 0.05,
        None => m.coverage >= 0.8 * best,
    };
    let basis = if lexical {
        EvidenceBasis::Term
    } else if learned_any {
        EvidenceBasis::Learned
    } else {
        EvidenceBasis::Similar
    };
    let mut spans: Vec<(usize, usize, usize)> = mentions
        .iter()
        .filter(strong)
        .filter_map(|m| {
            let first = note.tokens.get(m.first())?;
            let last = note.tokens.get(m.last())?;
            Some((first.start, last.end, m.first()))
        })
        .collect();
    spans.sort_unstable();
    spans.dedup_by_key(|s| (s.0, s.1));
    // A span inside another of the same code ("neuropathy" inside "type 2 diabetes with
    // neuropathy", a presumed link's part; "x ray" in "chest x ray"): the longest stands,
    // so the evidence a coder sees is one highlight per statement.
    let all = spans.clone();
    spans.retain(|s| !all.iter().any(|o| o != s && o.0 <= s.0 && s.1 <= o.1));
    spans
        .into_iter()
        .map(|(start, end, token)| Evidence {
            start,
            end,
            text: note.slice(start, end),
            section: note.section_of_token(token),
            basis,
        })
        .collect()
}
#[cfg(test)]
mod tests;
