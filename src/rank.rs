//! Ranking: features per (note, candidate code) and the `Ranker` trait the models plug
//! into. The lexical ranker is a transparent weighted sum; a code-frequency prior learned
//! from a training split is one of its features.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::codeset::{normalize_code, CodeId, CodeSet, System};
use crate::error::{Error, Result};
use crate::text::Section;

/// What the ranker sees of one candidate code in one note.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Features {
    /// Best share of a term of the code found in one sentence.
    pub coverage: f32,
    /// Distinct sentences with a mention.
    pub sentences: usize,
    /// Content words of the longest mention.
    pub words: usize,
    /// A mention stands in an assessment, impression or diagnosis section.
    pub diagnostic_section: bool,
    /// Asserted as present (not uncertain, historical...).
    pub present: bool,
    pub uncertain: bool,
    pub historical: bool,
    /// Score factor of the assertion rules (history, uncertainty, setting).
    pub assertion_factor: f32,
    /// Training-frequency prior in [0, 1].
    pub prior: f32,
    /// Share of this code's candidates that were right on the training split, smoothed.
    pub precision: f32,
    pub billable: bool,
    pub procedure: bool,
    /// A symptom or sign (chapter R).
    pub symptom: bool,
    /// Every mention lies inside a longer mention of another code.
    pub subsumed: bool,
    /// Found by the code's own terms (not only by learned phrases).
    pub lexical: bool,
    /// Best probability of a learned phrase of the note for the code (0 if none).
    pub learned: f32,
    /// Training notes behind that phrase.
    pub learned_support: u32,
    /// Distinct sentences with a learned phrase for the code.
    pub learned_sentences: usize,
    /// Characters of the code (its depth in the classification).
    pub depth: usize,
    /// Cosine similarity of the best mention and the code's nearest term (sentence encoder).
    pub similarity: f32,
    /// Proposed by the sentence encoder's nearest terms.
    pub encoder: bool,
    /// Noisy-or of the distinct learned phrases' probabilities: 1 - Π(1 - p).
    pub learned_any: f32,
    /// Distinct learned phrases for the code.
    pub learned_phrases: usize,
}

/// Number of entries of [`Features::vector`].
pub const FEATURE_COUNT: usize = 26;

/// Names of [`Features::vector`]'s entries, in order (the model card lists them).
pub const FEATURE_NAMES: [&str; FEATURE_COUNT] = [
    "coverage",
    "coverage_squared",
    "log_sentences",
    "words",
    "diagnostic_section",
    "present",
    "uncertain",
    "historical",
    "assertion_factor",
    "prior",
    "precision",
    "log_precision",
    "procedure",
    "symptom",
    "subsumed",
    "lexical",
    "learned",
    "log_learned_support",
    "log_learned_sentences",
    "billable",
    "depth",
    "similarity",
    "encoder",
    "no_lexical_learned",
    "learned_noisy_or",
    "log_learned_phrases",
];

impl Features {
    pub fn vector(&self) -> [f32; FEATURE_COUNT] {
        let b = |x: bool| f32::from(u8::from(x));
        [
            self.coverage,
            self.coverage * self.coverage,
            (1.0 + self.sentences as f32).ln(),
            self.words.min(6) as f32 / 6.0,
            b(self.diagnostic_section),
            b(self.present),
            b(self.uncertain),
            b(self.historical),
            self.assertion_factor,
            self.prior,
            self.precision,
            self.precision.max(1e-3).ln(),
            b(self.procedure),
            b(self.symptom),
            b(self.subsumed),
            b(self.lexical),
            self.learned,
            (1.0 + self.learned_support as f32).ln(),
            (1.0 + self.learned_sentences as f32).ln(),
            b(self.billable),
            self.depth as f32 / 7.0,
            self.similarity,
            b(self.encoder),
            if self.lexical { 0.0 } else { self.learned },
            self.learned_any,
            (1.0 + self.learned_phrases as f32).ln(),
        ]
    }
}

pub trait Ranker: Send + Sync {
    fn name(&self) -> &str;
    /// A score in [0, 1] per candidate, same order.
    fn score(&self, candidates: &[Features]) -> Result<Vec<f32>>;
}

/// Transparent lexical scoring with hand-set weights (used when no fitted weights exist).
pub struct LexicalRanker;

impl Ranker for LexicalRanker {
    fn name(&self) -> &str {
        "lexical"
    }

    fn score(&self, candidates: &[Features]) -> Result<Vec<f32>> {
        Ok(candidates
            .iter()
            .map(|f| {
                let support = 1.0 - (-0.8 * f.sentences as f32).exp();
                let specificity = (f.words.min(4) as f32) / 4.0;
                let lexical = 0.5 * f.coverage
                    + 0.2 * support
                    + 0.15 * specificity
                    + 0.1 * f32::from(u8::from(f.diagnostic_section))
                    + 0.05 * f32::from(u8::from(f.present));
                let subsumed = if f.subsumed { 0.3 } else { 1.0 };
                (lexical * (0.5 + 0.5 * f.prior) * f.precision * f.assertion_factor * subsumed)
                    .clamp(0.0, 1.0)
            })
            .collect())
    }
}

/// A logistic model over the same transparent features, its weights fitted on a training
/// split: the score is a probability that the code belongs to the note.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LinearRanker {
    pub features: Vec<String>,
    pub weights: Vec<f32>,
    pub bias: f32,
    /// Feature means and scales used to standardise inputs.
    pub mean: Vec<f32>,
    pub scale: Vec<f32>,
    pub trained_on: String,
}

impl LinearRanker {
    pub fn load(path: &Path) -> Result<LinearRanker> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let model: LinearRanker =
            serde_json::from_slice(&bytes).map_err(|e| Error::parse(path, e.to_string()))?;
        let n = FEATURE_NAMES.len();
        if model.features != FEATURE_NAMES
            || model.weights.len() != n
            || model.mean.len() != n
            || model.scale.len() != n
        {
            return Err(Error::parse(
                path,
                "fitted for another feature set; retrain with `chartcoder train --texts ... --gold ...`",
            ));
        }
        Ok(model)
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Command(e.to_string()))?;
        std::fs::write(path, text).map_err(|e| Error::io(path, e))
    }

    fn logit(&self, x: &[f32; FEATURE_COUNT]) -> f32 {
        self.bias
            + x.iter()
                .enumerate()
                .map(|(i, v)| self.weights[i] * (v - self.mean[i]) / self.scale[i])
                .sum::<f32>()
    }

    /// Fits by full-batch gradient descent with L2 (deterministic: no sampling).
    pub fn fit(
        samples: &[([f32; FEATURE_COUNT], bool)],
        l2: f32,
        epochs: usize,
        trained_on: &str,
    ) -> LinearRanker {
        let n = FEATURE_NAMES.len();
        let count = samples.len().max(1) as f32;
        let mut mean = vec![0.0f32; n];
        for (x, _) in samples {
            for i in 0..n {
                mean[i] += x[i] / count;
            }
        }
        let mut scale = vec![0.0f32; n];
        for (x, _) in samples {
            for i in 0..n {
                scale[i] += (x[i] - mean[i]).powi(2) / count;
            }
        }
        let scale: Vec<f32> = scale.into_iter().map(|v| v.sqrt().max(1e-6)).collect();
        let mut model = LinearRanker {
            features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            weights: vec![0.0; n],
            bias: 0.0,
            mean,
            scale,
            trained_on: trained_on.to_string(),
        };
        // Adam on the mean log-loss.
        let (mut m, mut v) = (vec![0.0f32; n + 1], vec![0.0f32; n + 1]);
        let (b1, b2, lr, eps) = (0.9f32, 0.999f32, 0.05f32, 1e-8f32);
        for epoch in 1..=epochs {
            let mut grad = vec![0.0f32; n + 1];
            for (x, y) in samples {
                let p = sigmoid(model.logit(x));
                let err = p - f32::from(u8::from(*y));
                for i in 0..n {
                    grad[i] += err * (x[i] - model.mean[i]) / model.scale[i] / count;
                }
                grad[n] += err / count;
            }
            for (g, w) in grad.iter_mut().zip(&model.weights) {
                *g += l2 * w;
            }
            for i in 0..=n {
                m[i] = b1 * m[i] + (1.0 - b1) * grad[i];
                v[i] = b2 * v[i] + (1.0 - b2) * grad[i] * grad[i];
                let mh = m[i] / (1.0 - b1.powi(epoch as i32));
                let vh = v[i] / (1.0 - b2.powi(epoch as i32));
                let step = lr * mh / (vh.sqrt() + eps);
                if i < n {
                    model.weights[i] -= step;
                } else {
                    model.bias -= step;
                }
            }
        }
        model
    }

    /// Mean log-loss on samples (for the training report).
    pub fn log_loss(&self, samples: &[([f32; FEATURE_COUNT], bool)]) -> f32 {
        let total: f32 = samples
            .iter()
            .map(|(x, y)| {
                let p = sigmoid(self.logit(x)).clamp(1e-6, 1.0 - 1e-6);
                if *y {
                    -p.ln()
                } else {
                    -(1.0 - p).ln()
                }
            })
            .sum();
        total / samples.len().max(1) as f32
    }
}

impl Ranker for LinearRanker {
    fn name(&self) -> &str {
        "lexical-fitted"
    }

    fn score(&self, candidates: &[Features]) -> Result<Vec<f32>> {
        Ok(candidates
            .iter()
            .map(|f| sigmoid(self.logit(&f.vector())))
            .collect())
    }
}

/// The learned ranker: an MLP over [`FEATURE_NAMES`] exported as ONNX, run through ONNX
/// Runtime, all of a note's candidates in one call.
pub struct LearnedRanker {
    model: crate::onnx::OnnxRanker,
}

impl LearnedRanker {
    /// Opens `models/ranker.onnx`; the file must have been trained on exactly these features.
    pub fn open(library: &Path, model: &Path, workers: usize) -> Result<LearnedRanker> {
        let model = crate::onnx::OnnxRanker::open(library, model, workers, Some(&FEATURE_NAMES))?;
        Ok(LearnedRanker { model })
    }
}

impl Ranker for LearnedRanker {
    fn name(&self) -> &str {
        "learned-onnx"
    }

    fn score(&self, candidates: &[Features]) -> Result<Vec<f32>> {
        let rows: Vec<[f32; FEATURE_COUNT]> = candidates.iter().map(Features::vector).collect();
        self.model.score_batch(&rows)
    }
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

pub fn is_diagnostic_section(section: Section) -> bool {
    matches!(
        section,
        Section::Assessment
            | Section::Impression
            | Section::Diagnosis
            | Section::Discharge
            | Section::Plan
    )
}

/// How often each code was assigned in a training split, with category back-off.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CodePrior {
    pub source: String,
    pub documents: usize,
    /// Dot-less code -> documents coded with it.
    pub codes: HashMap<String, u32>,
    /// Dot-less code -> [correct, made] suggestions on the training notes.
    #[serde(default)]
    pub precision: HashMap<String, [u32; 2]>,
    #[serde(skip)]
    categories: HashMap<String, u32>,
    #[serde(skip)]
    max_log: f32,
    /// Share of correct suggestions over all codes (the smoothing target).
    #[serde(skip)]
    overall_precision: f32,
}

impl CodePrior {
    /// Counts documents per code in CodiEsp-style `doc<TAB>code` files.
    pub fn from_gold(paths: &[&Path], source: &str) -> Result<CodePrior> {
        let mut docs: HashMap<String, Vec<String>> = HashMap::new();
        for path in paths {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(*path, e))?;
            for line in text.lines() {
                let mut cols = line.split('\t');
                if let (Some(doc), Some(code)) = (cols.next(), cols.next()) {
                    let code = normalize_code(code);
                    let list = docs.entry(doc.to_string()).or_default();
                    if !code.is_empty() && !list.contains(&code) {
                        list.push(code);
                    }
                }
            }
        }
        let mut codes: HashMap<String, u32> = HashMap::new();
        for list in docs.values() {
            for code in list {
                *codes.entry(code.clone()).or_default() += 1;
            }
        }
        Ok(CodePrior {
            source: source.to_string(),
            documents: docs.len(),
            codes,
            ..Default::default()
        }
        .indexed())
    }

    /// A prior from in-memory tallies (training).
    pub fn from_parts(
        source: &str,
        documents: usize,
        codes: HashMap<String, u32>,
        precision: HashMap<String, [u32; 2]>,
    ) -> CodePrior {
        CodePrior {
            source: source.to_string(),
            documents,
            codes,
            precision,
            ..Default::default()
        }
        .indexed()
    }

    pub fn load(path: &Path) -> Result<CodePrior> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let prior: CodePrior =
            serde_json::from_slice(&bytes).map_err(|e| Error::parse(path, e.to_string()))?;
        Ok(prior.indexed())
    }

    /// Writes the prior with sorted keys, so retraining on the same data is byte-identical.
    pub fn save(&self, path: &Path) -> Result<()> {
        #[derive(Serialize)]
        struct Sorted<'a> {
            source: &'a str,
            documents: usize,
            codes: std::collections::BTreeMap<&'a String, &'a u32>,
            precision: std::collections::BTreeMap<&'a String, &'a [u32; 2]>,
        }
        let sorted = Sorted {
            source: &self.source,
            documents: self.documents,
            codes: self.codes.iter().collect(),
            precision: self.precision.iter().collect(),
        };
        let text =
            serde_json::to_string_pretty(&sorted).map_err(|e| Error::Command(e.to_string()))?;
        std::fs::write(path, text).map_err(|e| Error::io(path, e))
    }

    fn indexed(mut self) -> CodePrior {
        self.categories.clear();
        for (code, n) in &self.codes {
            let cat: String = code.chars().take(3).collect();
            *self.categories.entry(cat).or_default() += n;
        }
        let max = self.codes.values().copied().max().unwrap_or(1);
        self.max_log = (1.0 + max as f32).ln();
        let (tp, n) = self.precision.values().fold((0u64, 0u64), |(a, b), v| {
            (a + u64::from(v[0]), b + u64::from(v[1]))
        });
        self.overall_precision = if n > 0 { tp as f32 / n as f32 } else { 0.5 };
        self
    }

    /// Smoothed share of correct suggestions of the code on the training notes; codes never
    /// suggested there get the overall share.
    pub fn precision(&self, codes: &CodeSet, id: CodeId) -> f32 {
        if self.precision.is_empty() {
            return 1.0;
        }
        let overall = self.overall_precision;
        match self.precision.get(&codes.get(id).code) {
            Some([tp, n]) => (*tp as f32 + overall) / (*n as f32 + 1.0),
            None => overall,
        }
    }

    /// In [0, 1]: log-scaled document frequency of the code; codes never seen get a share of
    /// their category's, so a rare sibling of a common code is not treated as unheard of.
    pub fn score(&self, codes: &CodeSet, id: CodeId) -> f32 {
        if self.max_log <= 0.0 {
            return 0.5;
        }
        let code = &codes.get(id).code;
        let exact = self.codes.get(code).copied().unwrap_or(0) as f32;
        let (prefix_len, system) = match codes.get(id).system {
            System::Icd10cm => (3, System::Icd10cm),
            System::Icd10pcs => (4, System::Icd10pcs),
        };
        // PCS gold is often a 4-character prefix: it counts for the full codes under it.
        let prefix: String = code.chars().take(prefix_len).collect();
        let by_prefix = if system == System::Icd10pcs {
            self.codes.get(&prefix).copied().unwrap_or(0) as f32
        } else {
            0.0
        };
        let category = self
            .categories
            .get(&code.chars().take(3).collect::<String>())
            .copied()
            .unwrap_or(0) as f32;
        let count = exact + by_prefix + 0.1 * category;
        (1.0 + count).ln() / self.max_log
    }
}
