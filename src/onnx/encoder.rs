//! The sentence encoder: all-MiniLM-L6-v2 (int8 ONNX) with its WordPiece tokenizer, mean
//! pooling over the attention mask and L2 normalisation, as sentence-transformers does it.
//!
//! Texts are tokenized one by one (truncated at [`MAX_TOKENS`]), sorted by length and run in
//! batches padded to the batch's longest sequence, so short descriptors do not pay for long
//! ones. Batches run in parallel on rayon workers, each on its own session of the pool (one
//! intra-op thread each: the workers already use every core).

use std::path::{Path, PathBuf};

use ort::value::Tensor;
use rayon::prelude::*;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::runtime::{runtime_library, SessionPool};
use crate::assets::{sha256_bytes, sha256_file, Assets, MINILM};
use crate::error::{Error, Result};

/// Width of an embedding.
pub const EMBEDDING_DIM: usize = 384;
/// Longest token sequence fed to the model (special tokens included); longer texts are cut.
pub const MAX_TOKENS: usize = 128;
/// Sequences per model run. Sorted by length, batches of this size waste little on padding
/// while amortising the per-run overhead (measured on 2 cores with 17-token descriptors:
/// 8 → 428, 16 → 444, 32 → 410, 64 → 407, 128 → 361 texts/s).
pub const BATCH_SIZE: usize = 16;

const INPUTS: [&str; 3] = ["input_ids", "attention_mask", "token_type_ids"];
const OUTPUT: &str = "last_hidden_state";

/// A unit-length sentence embedding of [`EMBEDDING_DIM`] values (all zeros only for a
/// degenerate model output). The dot product of two embeddings is their cosine.
#[derive(Clone, Debug, PartialEq)]
pub struct Embedding(Box<[f32]>);

impl Embedding {
    /// Normalises `values` to unit length; `None` unless there are [`EMBEDDING_DIM`] finite values.
    pub fn from_values(mut values: Vec<f32>) -> Option<Embedding> {
        if values.len() != EMBEDDING_DIM || values.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
        // sentence-transformers' Normalize: x / max(|x|, 1e-12).
        let norm = norm.max(1e-12);
        values.iter_mut().for_each(|v| *v /= norm);
        Some(Embedding(values.into_boxed_slice()))
    }

    pub fn as_slice(&self) -> &[f32] {
        &self.0
    }

    /// Cosine similarity (both are unit length).
    pub fn dot(&self, other: &Embedding) -> f32 {
        dot_f32(&self.0, &other.0)
    }
}

/// Chunked so that it auto-vectorises (eight independent accumulators); kept out of line,
/// where it vectorises best.
#[inline(never)]
pub(crate) fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// What produced a set of embeddings: the sha256 of the model file and of the tokenizer.
/// Embeddings from different identities are not comparable.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EncoderIdentity {
    pub model_sha256: String,
    pub tokenizer_sha256: String,
}

impl EncoderIdentity {
    /// Hashes the two files (about 0.1 s for the 23 MB model).
    pub fn of_files(model: &Path, tokenizer: &Path) -> Result<EncoderIdentity> {
        Ok(EncoderIdentity {
            model_sha256: sha256_file(model)?,
            tokenizer_sha256: sha256_file(tokenizer)?,
        })
    }
}

/// The encoder's tokenizer alone (no ONNX Runtime): padding to the batch's longest sequence,
/// truncation at [`MAX_TOKENS`].
pub struct EncoderTokenizer {
    tokenizer: Tokenizer,
    path: PathBuf,
}

impl EncoderTokenizer {
    /// Loads `tokenizer.json`; a missing or invalid file is an [`Error::Model`] naming it.
    pub fn open(path: &Path) -> Result<EncoderTokenizer> {
        let error = |reason: String| Error::Model {
            path: path.to_path_buf(),
            reason,
        };
        if !path.is_file() {
            return Err(error(
                "tokenizer not found (it ships with chartcoder in models/minilm/tokenizer.json; \
                 restore it from the repository)"
                    .into(),
            ));
        }
        let mut tokenizer =
            Tokenizer::from_file(path).map_err(|e| error(format!("not a tokenizer.json: {e}")))?;
        // The file pads every text to 128 tokens; batches are padded to their longest.
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..PaddingParams::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| error(format!("cannot truncate at {MAX_TOKENS} tokens: {e}")))?;
        Ok(EncoderTokenizer {
            tokenizer,
            path: path.to_path_buf(),
        })
    }

    /// Token ids of each text (special tokens added, truncated at [`MAX_TOKENS`]), unpadded;
    /// in parallel for long lists.
    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        let one = |text: &&str| -> Result<Vec<u32>> {
            self.tokenizer
                .encode(*text, true)
                .map(|e| e.get_ids().to_vec())
                .map_err(|e| Error::Model {
                    path: self.path.clone(),
                    reason: format!("tokenization failed: {e}"),
                })
        };
        if texts.len() > 256 {
            texts.par_iter().map(one).collect()
        } else {
            texts.iter().map(one).collect()
        }
    }
}

/// What a token sequence embeds to, as a 64-bit key (the first bytes of its sha256): equal
/// keys from the same encoder mean equal embeddings.
pub fn sequence_key(ids: &[u32]) -> u64 {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for id in ids {
        hasher.update(id.to_le_bytes());
    }
    let digest = hasher.finalize();
    u64::from_le_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ])
}

/// The sentence encoder: a pool of ONNX sessions and the tokenizer. Shared across threads.
pub struct SentenceEncoder {
    pool: SessionPool,
    tokenizer: EncoderTokenizer,
    identity: EncoderIdentity,
}

impl SentenceEncoder {
    /// Opens the model from the assets (`minilm`) with `workers` sessions (one per rayon
    /// worker that will call [`SentenceEncoder::encode`] at the same time) and the tokenizer
    /// at `tokenizer` (`models/minilm/tokenizer.json`). A missing runtime or model is a
    /// [`Error::MissingAsset`] naming `chartcoder setup`; a missing or unreadable tokenizer,
    /// or a graph without the expected inputs and output, is an [`Error::Model`].
    pub fn open(assets: &Assets, tokenizer: &Path, workers: usize) -> Result<SentenceEncoder> {
        let library = runtime_library(assets)?;
        let model = assets.path(MINILM)?;
        let loaded = EncoderTokenizer::open(tokenizer)?;
        // Read once: the sessions load these bytes and the identity hashes them.
        let bytes = std::fs::read(&model).map_err(|e| Error::io(&model, e))?;
        let pool = SessionPool::from_memory(&library, &model, &bytes, workers.max(1))?;
        pool.expect_io(&INPUTS, &[OUTPUT])?;
        let identity = EncoderIdentity {
            model_sha256: sha256_bytes(&bytes),
            tokenizer_sha256: sha256_file(tokenizer)?,
        };
        Ok(SentenceEncoder {
            pool,
            tokenizer: loaded,
            identity,
        })
    }

    /// The sha256 of the model and tokenizer files, recorded beside stored embeddings.
    pub fn identity(&self) -> &EncoderIdentity {
        &self.identity
    }

    /// One unit-length embedding per text, in input order. Empty or blank texts are encoded
    /// like any other (as the bare special tokens). Callable from many threads at once.
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<Embedding>> {
        let sequences = self.tokenize(texts)?;
        self.encode_tokens(&sequences, &|_| {})
    }

    /// Token ids of each text (special tokens added, truncated at [`MAX_TOKENS`]), unpadded.
    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        self.tokenizer.tokenize(texts)
    }

    /// Embeds token sequences (as [`SentenceEncoder::tokenize`] gives them, at most
    /// [`MAX_TOKENS`] ids each): sorted by length, run in batches of [`BATCH_SIZE`] padded to
    /// their longest, in parallel when there is more than one batch. `progress` is told how
    /// many sequences each finished batch held.
    pub fn encode_tokens(
        &self,
        sequences: &[Vec<u32>],
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<Embedding>> {
        if sequences.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(long) = sequences.iter().find(|s| s.len() > MAX_TOKENS) {
            return Err(Error::InvalidInput(format!(
                "a token sequence of {} ids is longer than {MAX_TOKENS}",
                long.len()
            )));
        }
        let mut order: Vec<usize> = (0..sequences.len()).collect();
        order.sort_by_key(|&i| sequences[i].len());
        let run = |chunk: &[usize]| -> Result<Vec<(usize, Embedding)>> {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| sequences[i].as_slice()).collect();
            let embeddings = self.run_batch(&batch)?;
            progress(chunk.len());
            Ok(chunk.iter().copied().zip(embeddings).collect())
        };
        let done: Vec<Vec<(usize, Embedding)>> = if order.len() > BATCH_SIZE {
            order
                .par_chunks(BATCH_SIZE)
                .map(run)
                .collect::<Result<_>>()?
        } else {
            vec![run(&order)?]
        };
        let mut out: Vec<Option<Embedding>> = vec![None; sequences.len()];
        for (i, embedding) in done.into_iter().flatten() {
            out[i] = Some(embedding);
        }
        out.into_iter()
            .map(|e| {
                e.ok_or_else(|| Error::Model {
                    path: self.pool.path().to_path_buf(),
                    reason: "a text got no embedding".into(),
                })
            })
            .collect()
    }

    /// One model run over sequences padded to the longest of them; mean pooling over the
    /// attention mask, then L2 normalisation.
    fn run_batch(&self, batch: &[&[u32]]) -> Result<Vec<Embedding>> {
        let rows = batch.len();
        // An empty sequence cannot come from the tokenizer (it adds [CLS] and [SEP]), but a
        // zero-width tensor must never reach the model.
        let width = batch.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
        let mut ids = vec![0i64; rows * width];
        let mut mask = vec![0i64; rows * width];
        for (r, sequence) in batch.iter().enumerate() {
            for (t, &id) in sequence.iter().enumerate() {
                ids[r * width + t] = i64::from(id);
                mask[r * width + t] = 1;
            }
        }
        let types = vec![0i64; rows * width];
        let shape = [rows as i64, width as i64];
        let model_error = |reason: String| Error::Model {
            path: self.pool.path().to_path_buf(),
            reason,
        };
        let hidden: Vec<f32> = self.pool.run(|session| {
            let outputs = session.run(ort::inputs![
                "input_ids" => Tensor::from_array((shape, ids))?,
                "attention_mask" => Tensor::from_array((shape, mask.clone()))?,
                "token_type_ids" => Tensor::from_array((shape, types))?,
            ])?;
            let value = outputs
                .get(OUTPUT)
                .ok_or_else(|| ort::Error::new(format!("no output `{OUTPUT}`")))?;
            let (out_shape, data) = value.try_extract_tensor::<f32>()?;
            let expected = [rows as i64, width as i64, EMBEDDING_DIM as i64];
            if out_shape[..] != expected[..] {
                return Err(ort::Error::new(format!(
                    "`{OUTPUT}` has shape {out_shape:?}, expected {expected:?}"
                )));
            }
            Ok(data.to_vec())
        })?;
        let mut out = Vec::with_capacity(rows);
        for r in 0..rows {
            let mut pooled = vec![0f32; EMBEDDING_DIM];
            let mut count = 0f32;
            for t in 0..width {
                if mask[r * width + t] == 0 {
                    continue;
                }
                count += 1.0;
                let start = (r * width + t) * EMBEDDING_DIM;
                for (p, h) in pooled.iter_mut().zip(&hidden[start..start + EMBEDDING_DIM]) {
                    *p += h;
                }
            }
            let count = count.max(1e-9);
            pooled.iter_mut().for_each(|p| *p /= count);
            out.push(
                Embedding::from_values(pooled)
                    .ok_or_else(|| model_error("the model produced non-finite values".into()))?,
            );
        }
        Ok(out)
    }
}
