//! `Engine::open(config)` wires code sets, lexicon and index; every front end calls it.
//! Engine state is immutable after `open` and shared across threads.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use std::collections::{BTreeMap, HashMap};

use crate::assets::{self, Assets};
use crate::candidates::{mark_subsumed, Matcher, Mention};
use crate::codeset::{CodeId, CodeKind, CodeSet, System};
use crate::coding::{
    Coding, Evidence, RuleNote, Setting, SuggestOptions, Suggestion, MAX_NOTE_CHARS,
};
use crate::error::{Error, Result};
use crate::index::{
    build_index, BuildOptions, BuildReport, EncoderFiles, LookupOptions, TermIndex,
};
use crate::lexicon::Abbreviations;
use crate::rank::{
    is_diagnostic_section, CodePrior, Features, LexicalRanker, LinearRanker, Ranker,
};
use crate::rules::{self, RuleInput};
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
    ranker: Box<dyn Ranker>,
    prior: CodePrior,
    /// (condition, family?) -> history code; the answer depends only on the code sets.
    history_codes: std::sync::RwLock<HashMap<(CodeId, bool), Option<CodeId>>>,
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

/// Loads the code sets and abbreviations (shared by `open` and `build_index`).
pub fn load_code_sets(config: &Config) -> Result<(CodeSet, Abbreviations)> {
    let assets = Assets::new(&config.assets);
    let codes = CodeSet::load(&assets)?;
    let abbreviations = Abbreviations::load(&assets.path(assets::ABBREVIATIONS)?)?;
    Ok((codes, abbreviations))
}

impl Engine {
    pub fn open(config: Config) -> Result<Engine> {
        let (codes, abbreviations) = load_code_sets(&config)?;
        let index = TermIndex::open(&config.index, &codes)?;
        if index.embeddings().is_none() {
            return Err(Error::Index {
                path: config.index.clone(),
                reason: "built without term embeddings (lexical only)".into(),
            });
        }
        let matcher = Matcher::new(&index, &codes);
        let prior_path = config.models.join(CODE_PRIOR_FILE);
        // Without a prior every code weighs the same; the engine still works.
        let prior = if prior_path.is_file() {
            CodePrior::load(&prior_path)?
        } else {
            tracing::warn!(path = %prior_path.display(), "no code prior; ranking without it");
            CodePrior::default()
        };
        let ranker = select_ranker(&config.models)?;
        Ok(Engine {
            codes,
            abbreviations,
            index,
            config,
            matcher,
            ranker,
            prior,
            history_codes: Default::default(),
        })
    }

    /// The candidate codes of a note with their features, before ranking (for training).
    pub fn candidate_features(
        &self,
        text: &str,
        options: &SuggestOptions,
    ) -> Result<Vec<(CodeId, Features)>> {
        let (_, candidates) = self.candidates(text, options)?;
        Ok(candidates
            .iter()
            .map(|c| (c.code, self.features(c)))
            .collect())
    }

    pub fn ranker_name(&self) -> &str {
        self.ranker.name()
    }

    /// Codes a note: ranked suggestions with evidence spans, assertions and rule notes.
    pub fn suggest(
        &self,
        id: Option<String>,
        text: &str,
        options: &SuggestOptions,
    ) -> Result<Coding> {
        let (note, candidates) = self.candidates(text, options)?;
        let features: Vec<Features> = candidates.iter().map(|c| self.features(c)).collect();
        let scores = self.ranker.score(&features);
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
    fn candidates(&self, text: &str, options: &SuggestOptions) -> Result<(Note, Vec<Candidate>)> {
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
        if !options.systems.is_empty() {
            mentions.retain(|m| options.systems.contains(&self.codes.get(m.code).system));
        }
        let mentions = mark_subsumed(mentions);
        let lower = text.to_lowercase();
        let candidates = self.collect_candidates(&note, mentions, options.setting);
        let candidates = self.resolve_specificity(candidates, &lower);
        Ok((note, candidates))
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
        for m in mentions {
            let assertion = note.assertion(m.first(), m.last());
            let (target, factor, rule) = match assertion {
                Assertion::Negated | Assertion::Hypothetical => continue,
                Assertion::Family | Assertion::Historical => {
                    let family = assertion == Assertion::Family;
                    let history = self.history_code(m.code, family);
                    if let Some(h) = history {
                        let kind = if family { "family_history_of" } else { "history_of" };
                        let rule = RuleNote {
                            kind: kind.into(),
                            message: format!("stated as {}: {}", if family { "family history" } else { "history" }, self.codes.get(m.code).title),
                            codes: vec![self.codes.get(m.code).display()],
                        };
                        add_mention(&mut by_code, h, m.clone(), Assertion::Present, 0.9, Some(rule));
                    }
                    // Family conditions are not the patient's; a past acute infarction is
                    // only its history code (I25.2), never an acute one.
                    let acute_episode = {
                        let code = &self.codes.get(m.code).code;
                        code.starts_with("I21") || code.starts_with("I22")
                    };
                    if family || (acute_episode && history.is_some()) {
                        continue;
                    }
                    (m.code, 0.6, None)
                }
                Assertion::Uncertain => match setting {
                    Setting::Inpatient => (m.code, 0.85, None),
                    Setting::Outpatient => (
                        m.code,
                        0.3,
                        Some(RuleNote {
                            kind: "uncertain_outpatient".into(),
                            message: "uncertain diagnoses are not coded in the outpatient setting; code the symptoms".into(),
                            codes: Vec::new(),
                        }),
                    ),
                },
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
        if !family && (c.code.starts_with("I21") || c.code.starts_with("I22")) {
            return self.codes.id(System::Icd10cm, "I252");
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
        let ids: Vec<CodeId> = candidates.iter().map(|c| c.code).collect();
        let mut out: BTreeMap<CodeId, Candidate> = BTreeMap::new();
        for mut c in candidates {
            if ids
                .iter()
                .any(|&other| other != c.code && self.codes.is_within(other, c.code))
            {
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
        out.into_values().collect()
    }

    fn features(&self, c: &Candidate) -> Features {
        let mut sentences: Vec<usize> = c.mentions.iter().map(|m| m.sentence).collect();
        sentences.sort_unstable();
        sentences.dedup();
        Features {
            coverage: c.mentions.iter().map(|m| m.coverage).fold(0.0, f32::max),
            sentences: sentences.len(),
            words: c.mentions.iter().map(|m| m.words).max().unwrap_or(0),
            diagnostic_section: c.sections.iter().any(|&s| is_diagnostic_section(s)),
            present: c.assertion == Assertion::Present,
            uncertain: c.assertion == Assertion::Uncertain,
            historical: c.assertion == Assertion::Historical,
            assertion_factor: c.factor,
            symptom: self.codes.get(c.code).code.starts_with('R'),
            subsumed: c.mentions.iter().all(|m| m.subsumed),
            prior: self.prior.score(&self.codes, c.code),
            precision: self.prior.precision(&self.codes, c.code),
            billable: self.codes.get(c.code).billable,
            procedure: self.codes.get(c.code).system == System::Icd10pcs,
        }
    }

    /// Builds (or confirms up to date) the index at `config.index`.
    /// The sentence encoder is always that of `config` (its assets and tokenizer).
    pub fn build_index(config: &Config, options: &BuildOptions) -> Result<BuildReport> {
        let (codes, abbreviations) = load_code_sets(config)?;
        let options = BuildOptions {
            encoder: Some(config.encoder_files()),
            ..options.clone()
        };
        build_index(&config.index, &codes, &abbreviations, &options)
    }

    /// Ranked codes for a phrase.
    pub fn lookup(&self, query: &str, options: &LookupOptions) -> Result<Vec<CodeSuggestion>> {
        let hits = self
            .index
            .lookup(query, &self.codes, &self.abbreviations, options)?;
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
fn select_ranker(models: &std::path::Path) -> Result<Box<dyn Ranker>> {
    let path = models.join(LEXICAL_RANKER_FILE);
    if path.is_file() {
        Ok(Box::new(LinearRanker::load(&path)?))
    } else {
        Ok(Box::new(LexicalRanker))
    }
}

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
    fn merge(&mut self, other: Candidate) {
        // The stronger reading decides the assertion.
        if other.factor > self.factor {
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

/// Evidence spans of the mentions, one per distinct span, in text order.
fn evidence(note: &Note, mentions: &[Mention]) -> Vec<Evidence> {
    // Weak partial readings are not shown as evidence beside a strong one.
    let best = mentions.iter().map(|m| m.coverage).fold(0.0, f32::max);
    let mut spans: Vec<(usize, usize, usize)> = mentions
        .iter()
        .filter(|m| m.coverage >= 0.8 * best)
        .filter_map(|m| {
            let first = note.tokens.get(m.first())?;
            let last = note.tokens.get(m.last())?;
            Some((first.start, last.end, m.first()))
        })
        .collect();
    spans.sort_unstable();
    spans.dedup_by_key(|s| (s.0, s.1));
    spans
        .into_iter()
        .map(|(start, end, token)| Evidence {
            start,
            end,
            text: note.slice(start, end),
            section: note.section_of_token(token),
        })
        .collect()
}
