//! The sentence encoder as the engine uses it: texts in, unit-length embeddings out, with
//! an identity that stored term embeddings are checked against. The ONNX MiniLM encoder
//! ([`SentenceEncoder`]) serves wherever the model is installed; [`TrigramEncoder`], a
//! hashing stand-in that needs no file, lets the whole pipeline (index embeddings, mention
//! similarity, nearest terms) run on fixture code sets in a plain `cargo test`.

use crate::assets::sha256_bytes;
use crate::error::Result;
use crate::onnx::{Embedding, EncoderIdentity, SentenceEncoder, EMBEDDING_DIM};

/// Anything that embeds texts for the engine. Callable from many threads at once.
pub trait MentionEncoder: Send + Sync {
    /// What produced the embeddings: stored vectors of another identity are not comparable.
    fn identity(&self) -> &EncoderIdentity;

    /// One unit-length embedding per text, in input order.
    fn encode(&self, texts: &[&str]) -> Result<Vec<Embedding>>;
}

impl MentionEncoder for SentenceEncoder {
    fn identity(&self) -> &EncoderIdentity {
        SentenceEncoder::identity(self)
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<Embedding>> {
        SentenceEncoder::encode(self, texts)
    }
}

/// A stand-in encoder: each word's character trigrams (with word boundaries) hashed into
/// [`EMBEDDING_DIM`] signed buckets, then normalised. Texts sharing words or word stems get
/// high cosines, as they do under MiniLM, but nothing here knows a synonym: it is for
/// exercising the pipeline, not for ranking real notes.
pub struct TrigramEncoder {
    identity: EncoderIdentity,
}

impl Default for TrigramEncoder {
    fn default() -> Self {
        TrigramEncoder {
            // Hashes of the method's names stand where a model's file hashes go (the
            // embedding store's header holds 64 hex digits each).
            identity: EncoderIdentity {
                model_sha256: sha256_bytes(b"chartcoder stand-in: character trigrams, v1"),
                tokenizer_sha256: sha256_bytes(b"chartcoder stand-in: lowercase words, v1"),
            },
        }
    }
}

impl TrigramEncoder {
    fn embed(text: &str) -> Embedding {
        let mut values = vec![0f32; EMBEDDING_DIM];
        for word in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let padded: Vec<char> = format!("#{}#", word.to_lowercase()).chars().collect();
            for gram in padded.windows(3) {
                let hash = fnv1a(gram);
                let bucket = (hash % EMBEDDING_DIM as u64) as usize;
                values[bucket] += if hash >> 63 == 0 { 1.0 } else { -1.0 };
            }
        }
        // Finite and of the right width by construction; an empty text stays all zeros.
        Embedding::from_values(values).unwrap_or_else(|| {
            Embedding::from_values(vec![0.0; EMBEDDING_DIM]).expect("zeros are finite")
        })
    }
}

impl MentionEncoder for TrigramEncoder {
    fn identity(&self) -> &EncoderIdentity {
        &self.identity
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<Embedding>> {
        Ok(texts.iter().map(|t| TrigramEncoder::embed(t)).collect())
    }
}

/// FNV-1a over the characters (stable across platforms and releases, unlike `DefaultHasher`).
fn fnv1a(chars: &[char]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &c in chars {
        for byte in (c as u32).to_le_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_words_are_close_and_other_words_are_not() {
        let e = TrigramEncoder::default();
        let v = e
            .encode(&[
                "diabetic neuropathy",
                "neuropathy, diabetic",
                "fracture of radius",
            ])
            .unwrap();
        assert!(v[0].dot(&v[1]) > 0.99, "same words, other order");
        assert!(v[0].dot(&v[2]) < 0.3, "{}", v[0].dot(&v[2]));
        let norm: f32 = v[2].as_slice().iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-4);
    }

    #[test]
    fn an_empty_text_is_a_zero_vector_not_an_error() {
        let v = TrigramEncoder::default().encode(&["", " , "]).unwrap();
        assert!(v.iter().all(|e| e.as_slice().iter().all(|x| *x == 0.0)));
    }
}
