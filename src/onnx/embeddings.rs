//! One embedding per index term, stored compactly beside the tantivy index
//! (`embeddings.bin`) and searched for the nearest terms to a query embedding.
//!
//! # Storage
//!
//! Each distinct vector is kept as int8 with one f32 scale (`x ≈ scale · q`, `q` in
//! -127..=127, the largest component at ±127, `scale` making `scale · q` unit length): 388
//! bytes instead of 1,536 for f32. Terms whose texts
//! tokenize identically share one vector (`term_vector` maps a term to it). Measured with
//! MiniLM on 100 clinical phrases (10,000 pairs, `tests/encoder.rs`): the cosine of a stored
//! vector with an f32 query differs from the f32 cosine by 0.0003 on average, 0.0015 at most.
//! f16 would be more exact at twice the size (83 MB → 166 MB for `index/default`), which
//! neither candidate search nor ranking needs.
//!
//! # Search
//!
//! Vectors are grouped by an inverted file: spherical k-means (deterministic: fixed sample,
//! fixed initial centroids, centroid sums in a fixed order) into about 2√n lists, stored list
//! by list. A query scores the centroids, scans the [`DEFAULT_PROBES`] nearest lists with an
//! int8 dot product (the query quantised like the vectors), and re-scores the best candidates
//! with the f32 query, so returned scores equal [`EmbeddingStore::cosine`]. Small stores
//! (fewer than [`MIN_VECTORS_FOR_LISTS`] vectors) are one list, searched exhaustively.
//!
//! On `index/default` (215,092 vectors, 928 lists, 96 probes: about 23,000 vectors scanned)
//! a query takes about 1 ms on one core where the exhaustive scan takes 16 ms, and finds
//! 97–98% of the exhaustive top 10 (`tests/encoder.rs`, `benches/encoder.rs`). Clustering
//! uses sgemm (`ndarray`/`matrixmultiply`, AVX2/FMA chosen at run time): about 8 s for
//! `index/default` on 2 cores.
//!
//! # File layout (little-endian)
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `CCEMBED\0` |
//! | 4 | format version ([`STORE_FORMAT`]) |
//! | 4 | dimension |
//! | 4 | terms |
//! | 4 | vectors |
//! | 4 | lists |
//! | 4 | flags (bit 0: reuse keys present) |
//! | 64 | sha256 of the model (hex) |
//! | 64 | sha256 of the tokenizer (hex) |
//! | 8 | checksum of the payload |
//! | payload | centroids (lists × dim f32), list offsets (lists + 1 u32), scales (vectors f32), term → vector (terms u32), codes (vectors × dim i8), then with flag 0 the reuse keys (vectors u64) |
//!
//! The reuse keys identify what each vector embeds (a hash of its token ids): a rebuild of
//! the index takes the vectors of unchanged texts from the previous store instead of running
//! the model again.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayView1};
use rayon::prelude::*;

use super::encoder::{dot_f32, Embedding, EncoderIdentity, EMBEDDING_DIM};
use crate::error::{Error, Result};

/// File name of the store inside an index directory.
pub const EMBEDDINGS_FILE: &str = "embeddings.bin";
/// Version of the file layout above.
pub const STORE_FORMAT: u32 = 1;
/// Lists probed per query by default: recall@10 against exhaustive search is measured in
/// `tests/encoder.rs`.
pub const DEFAULT_PROBES: usize = 96;
/// Below this many vectors the store is one list (an exhaustive scan is already fast).
pub const MIN_VECTORS_FOR_LISTS: usize = 16_384;

const MAGIC: &[u8; 8] = b"CCEMBED\0";
const HEADER_LEN: usize = 8 + 6 * 4 + 64 + 64 + 8;
const KMEANS_ITERATIONS: usize = 10;
/// Training points per list for k-means (a sample keeps the build to seconds).
const KMEANS_SAMPLE_PER_LIST: usize = 64;
/// Candidates re-scored with the f32 query, at least.
const MIN_RESCORE: usize = 64;

/// Embeddings of every term of an index, searchable by cosine.
pub struct EmbeddingStore {
    path: Option<PathBuf>,
    identity: EncoderIdentity,
    dim: usize,
    /// lists × dim, unit length.
    centroids: Vec<f32>,
    /// Vectors of list `l` are positions `offsets[l]..offsets[l + 1]`.
    offsets: Vec<u32>,
    scales: Vec<f32>,
    codes: Vec<i8>,
    term_vector: Vec<u32>,
    /// Per stored vector, what it embeds (empty: no keys).
    keys: Vec<u64>,
    /// Terms of vector `v`: `vector_terms[vector_term_offsets[v]..vector_term_offsets[v + 1]]`.
    vector_term_offsets: Vec<u32>,
    vector_terms: Vec<u32>,
}

impl std::fmt::Debug for EmbeddingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddingStore")
            .field("path", &self.path)
            .field("terms", &self.term_vector.len())
            .field("vectors", &self.scales.len())
            .field("lists", &self.lists())
            .field("identity", &self.identity)
            .finish()
    }
}

impl EmbeddingStore {
    /// One vector per term (terms with identical vectors are not merged).
    pub fn from_terms(identity: EncoderIdentity, terms: &[Embedding]) -> Result<EmbeddingStore> {
        let term_vector = (0..terms.len() as u32).collect();
        EmbeddingStore::build(identity, terms, term_vector, Vec::new())
    }

    /// Distinct `vectors`, for each term the index of its vector, and optionally (else empty)
    /// one reuse key per vector. Clusters the vectors (deterministically) and quantises them.
    pub fn build(
        identity: EncoderIdentity,
        vectors: &[Embedding],
        term_vector: Vec<u32>,
        keys: Vec<u64>,
    ) -> Result<EmbeddingStore> {
        let lists = list_count(vectors.len());
        EmbeddingStore::build_with_lists(identity, vectors, term_vector, keys, lists)
    }

    /// [`EmbeddingStore::build`] with a chosen number of inverted lists (1: exhaustive search).
    pub fn build_with_lists(
        identity: EncoderIdentity,
        vectors: &[Embedding],
        term_vector: Vec<u32>,
        keys: Vec<u64>,
        lists: usize,
    ) -> Result<EmbeddingStore> {
        let dim = EMBEDDING_DIM;
        if !keys.is_empty() && keys.len() != vectors.len() {
            return Err(Error::InvalidInput(format!(
                "{} reuse keys for {} vectors",
                keys.len(),
                vectors.len()
            )));
        }
        if vectors.len() >= u32::MAX as usize || term_vector.len() >= u32::MAX as usize {
            return Err(Error::InvalidInput(
                "too many embeddings for one store".into(),
            ));
        }
        if let Some(bad) = term_vector.iter().find(|&&v| v as usize >= vectors.len()) {
            return Err(Error::InvalidInput(format!(
                "term refers to vector {bad} of {}",
                vectors.len()
            )));
        }
        let lists = lists.clamp(1, vectors.len().max(1));
        // Clustered as stored: a rebuild from reused (dequantised) vectors sees the same
        // points as the build that first computed them, and writes the same bytes.
        let quantized: Vec<(f32, Vec<i8>)> =
            vectors.par_iter().map(|v| quantize(v.as_slice())).collect();
        let stored: Vec<Vec<f32>> = quantized
            .par_iter()
            .map(|(scale, q)| q.iter().map(|&c| f32::from(c) * scale).collect())
            .collect();
        let points: Vec<&[f32]> = stored.iter().map(Vec::as_slice).collect();
        let centroids = kmeans(&points, lists);
        let assignment = assign(&points, &centroids);
        drop(points);
        drop(stored);
        // Storage order: by list, then by original index.
        let mut order: Vec<u32> = (0..vectors.len() as u32).collect();
        order.sort_by_key(|&v| (assignment[v as usize], v));
        let mut position = vec![0u32; vectors.len()];
        for (p, &v) in order.iter().enumerate() {
            position[v as usize] = p as u32;
        }
        let mut offsets = vec![0u32; lists + 1];
        for &a in &assignment {
            offsets[a as usize + 1] += 1;
        }
        for l in 0..lists {
            offsets[l + 1] += offsets[l];
        }
        let mut scales = Vec::with_capacity(vectors.len());
        let mut codes = Vec::with_capacity(vectors.len() * dim);
        for &v in &order {
            let (scale, q) = &quantized[v as usize];
            scales.push(*scale);
            codes.extend_from_slice(q);
        }
        let term_vector: Vec<u32> = term_vector
            .into_iter()
            .map(|v| position[v as usize])
            .collect();
        let keys = if keys.is_empty() {
            keys
        } else {
            order.iter().map(|&v| keys[v as usize]).collect()
        };
        let (vector_term_offsets, vector_terms) = invert(&term_vector, vectors.len());
        Ok(EmbeddingStore {
            path: None,
            identity,
            dim,
            centroids: centroids.iter().copied().collect(),
            offsets,
            scales,
            codes,
            term_vector,
            keys,
            vector_term_offsets,
            vector_terms,
        })
    }

    /// Writes the store (see the module documentation for the layout).
    pub fn write(&self, path: &Path) -> Result<()> {
        let io = |e| Error::io(path, e);
        let file = File::create(path).map_err(io)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let sections = self.sections();
        let mut checksum = Checksum::new();
        for section in &sections {
            checksum.update(section);
        }
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        for value in [
            STORE_FORMAT,
            self.dim as u32,
            self.term_vector.len() as u32,
            self.scales.len() as u32,
            self.lists() as u32,
            u32::from(!self.keys.is_empty()),
        ] {
            header.extend_from_slice(&value.to_le_bytes());
        }
        header.extend_from_slice(&hex64(&self.identity.model_sha256));
        header.extend_from_slice(&hex64(&self.identity.tokenizer_sha256));
        header.extend_from_slice(&checksum.finish().to_le_bytes());
        out.write_all(&header).map_err(io)?;
        for section in &sections {
            out.write_all(section).map_err(io)?;
        }
        out.flush().map_err(io)
    }

    fn sections(&self) -> [Vec<u8>; 6] {
        let f32s = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let u32s = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        [
            f32s(&self.centroids),
            u32s(&self.offsets),
            f32s(&self.scales),
            u32s(&self.term_vector),
            self.codes.iter().map(|&c| c as u8).collect(),
            self.keys.iter().flat_map(|k| k.to_le_bytes()).collect(),
        ]
    }

    /// Loads a store written by [`EmbeddingStore::write`]. A missing, truncated or corrupt
    /// file, or one of another format or dimension, is an [`Error::Index`] (rebuild the
    /// index). The encoder identity is checked separately ([`EmbeddingStore::expect_encoder`]).
    pub fn open(path: &Path) -> Result<EmbeddingStore> {
        let unusable = |reason: String| Error::Index {
            path: path.to_path_buf(),
            reason,
        };
        let mut file = File::open(path).map_err(|e| unusable(format!("cannot open: {e}")))?;
        let file_len = file
            .metadata()
            .map_err(|e| unusable(format!("cannot stat: {e}")))?
            .len();
        let mut header = [0u8; HEADER_LEN];
        file.read_exact(&mut header)
            .map_err(|_| unusable("truncated header: not an embedding store".into()))?;
        if &header[..8] != MAGIC {
            return Err(unusable("not an embedding store (bad magic)".into()));
        }
        let word = |i: usize| -> u32 {
            let at = 8 + 4 * i;
            u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
        };
        let (format, dim, terms, vectors, lists, flags) = (
            word(0),
            word(1) as usize,
            word(2) as usize,
            word(3) as usize,
            word(4) as usize,
            word(5),
        );
        if format != STORE_FORMAT {
            return Err(unusable(format!(
                "embedding store format {format}, this build reads {STORE_FORMAT}"
            )));
        }
        if dim != EMBEDDING_DIM {
            return Err(unusable(format!(
                "embeddings of dimension {dim}, the encoder gives {EMBEDDING_DIM}"
            )));
        }
        let identity = EncoderIdentity {
            model_sha256: parse_hex64(&header[32..96])
                .ok_or_else(|| unusable("corrupt header (model hash)".into()))?,
            tokenizer_sha256: parse_hex64(&header[96..160])
                .ok_or_else(|| unusable("corrupt header (tokenizer hash)".into()))?,
        };
        let expected_checksum = u64::from_le_bytes(header[160..168].try_into().unwrap_or([0; 8]));
        if (lists == 0 && vectors > 0) || flags > 1 {
            return Err(unusable("corrupt header".into()));
        }
        let has_keys = flags & 1 == 1;
        let sizes = [
            lists as u64 * dim as u64 * 4,
            (lists as u64 + 1) * 4,
            vectors as u64 * 4,
            terms as u64 * 4,
            vectors as u64 * dim as u64,
            if has_keys { vectors as u64 * 8 } else { 0 },
        ];
        let payload: u64 = sizes.iter().sum();
        if file_len != HEADER_LEN as u64 + payload {
            return Err(unusable(format!(
                "{} bytes where the header announces {} (truncated or corrupt)",
                file_len,
                HEADER_LEN as u64 + payload
            )));
        }
        let mut checksum = Checksum::new();
        let mut read = |len: u64| -> Result<Vec<u8>> {
            let mut buf = vec![0u8; len as usize];
            file.read_exact(&mut buf)
                .map_err(|e| unusable(format!("truncated: {e}")))?;
            checksum.update(&buf);
            Ok(buf)
        };
        let centroids = f32s(&read(sizes[0])?);
        let offsets = u32s(&read(sizes[1])?);
        let scales = f32s(&read(sizes[2])?);
        let term_vector = u32s(&read(sizes[3])?);
        let codes: Vec<i8> = read(sizes[4])?.into_iter().map(|b| b as i8).collect();
        let keys: Vec<u64> = read(sizes[5])?
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .collect();
        if checksum.finish() != expected_checksum {
            return Err(unusable(
                "checksum mismatch: the embedding store is corrupt".into(),
            ));
        }
        let consistent = offsets.first() == Some(&0)
            && offsets.last().map(|&o| o as usize) == Some(vectors)
            && offsets.windows(2).all(|w| w[0] <= w[1])
            && term_vector.iter().all(|&v| (v as usize) < vectors)
            && scales.iter().all(|s| s.is_finite())
            && centroids.iter().all(|c| c.is_finite());
        if !consistent {
            return Err(unusable("inconsistent embedding store".into()));
        }
        let (vector_term_offsets, vector_terms) = invert(&term_vector, vectors);
        Ok(EmbeddingStore {
            path: Some(path.to_path_buf()),
            identity,
            dim,
            centroids,
            offsets,
            scales,
            codes,
            term_vector,
            keys,
            vector_term_offsets,
            vector_terms,
        })
    }

    /// Stored vector position by reuse key (empty when the store has no keys).
    pub(crate) fn key_positions(&self) -> std::collections::HashMap<u64, u32> {
        self.keys
            .iter()
            .enumerate()
            .map(|(p, &k)| (k, p as u32))
            .collect()
    }

    /// The stored vector at a position, dequantised (re-quantising it gives the same codes).
    pub(crate) fn stored_embedding(&self, position: u32) -> Option<Embedding> {
        let v = position as usize;
        let scale = *self.scales.get(v)?;
        Embedding::from_values(self.code(v).iter().map(|&c| f32::from(c) * scale).collect())
    }

    /// The model and tokenizer the vectors were computed with.
    pub fn identity(&self) -> &EncoderIdentity {
        &self.identity
    }

    /// Fails with an [`Error::Index`] unless the store was computed by this encoder: vectors
    /// of another model are not comparable with its queries.
    pub fn expect_encoder(&self, encoder: &EncoderIdentity) -> Result<()> {
        if &self.identity == encoder {
            return Ok(());
        }
        let which = if self.identity.model_sha256 != encoder.model_sha256 {
            format!(
                "model sha256 {}, the installed model is {}",
                self.identity.model_sha256, encoder.model_sha256
            )
        } else {
            format!(
                "tokenizer sha256 {}, the installed tokenizer is {}",
                self.identity.tokenizer_sha256, encoder.tokenizer_sha256
            )
        };
        Err(Error::Index {
            path: self.path.clone().unwrap_or_default(),
            reason: format!("the term embeddings were computed with another encoder ({which})"),
        })
    }

    /// Number of terms.
    pub fn len(&self) -> usize {
        self.term_vector.len()
    }

    pub fn is_empty(&self) -> bool {
        self.term_vector.is_empty()
    }

    /// Number of distinct stored vectors.
    pub fn vectors(&self) -> usize {
        self.scales.len()
    }

    /// Number of inverted lists.
    pub fn lists(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Lists scanned per [`EmbeddingStore::nearest`] query.
    pub fn probes(&self) -> usize {
        DEFAULT_PROBES
    }

    /// Cosine of a term's stored vector with `query`; 0 for a term id outside the store.
    pub fn cosine(&self, term_id: u32, query: &Embedding) -> f32 {
        match self.term_vector.get(term_id as usize) {
            Some(&v) => self.score(v as usize, query.as_slice()),
            None => 0.0,
        }
    }

    /// The `k` terms nearest to `query` by cosine, best first (ties by term id), searching the
    /// [`EmbeddingStore::probes`] nearest lists. Scores equal [`EmbeddingStore::cosine`].
    pub fn nearest(&self, query: &Embedding, k: usize) -> Vec<(u32, f32)> {
        self.nearest_probing(query, k, DEFAULT_PROBES)
    }

    /// [`EmbeddingStore::nearest`] scanning the `probes` nearest lists instead: fewer for a
    /// caller that needs speed more than the last percent of recall (on `index/default`, 32
    /// probes take about a third of the time of 96 and find 97% of their top 10).
    pub fn nearest_probing(&self, query: &Embedding, k: usize, probes: usize) -> Vec<(u32, f32)> {
        if k == 0 || self.scales.is_empty() {
            return Vec::new();
        }
        let q = query.as_slice();
        let probed = self.probed_lists(q, probes.max(1));
        // The query's own scale is the same for every candidate: the order needs only codes.
        let (_, qcode) = quantize(q);
        let mut candidates: Vec<(f32, u32)> = Vec::new();
        for l in probed {
            let (start, end) = (self.offsets[l] as usize, self.offsets[l + 1] as usize);
            for v in start..end {
                let approx = dot_i8(&qcode, self.code(v)) as f32 * self.scales[v];
                candidates.push((approx, v as u32));
            }
        }
        self.finish(candidates, q, k)
    }

    /// The `probes` lists whose centroids are nearest to `q`.
    fn probed_lists(&self, q: &[f32], probes: usize) -> Vec<usize> {
        let lists = self.lists();
        if probes >= lists {
            return (0..lists).collect();
        }
        let mut scored: Vec<(f32, usize)> = (0..lists)
            .map(|l| (dot_f32(&self.centroids[l * self.dim..][..self.dim], q), l))
            .collect();
        scored.select_nth_unstable_by(probes - 1, |a, b| b.0.total_cmp(&a.0));
        scored[..probes].iter().map(|&(_, l)| l).collect()
    }

    /// Like [`EmbeddingStore::nearest`], scanning every vector (the reference for recall).
    pub fn nearest_exact(&self, query: &Embedding, k: usize) -> Vec<(u32, f32)> {
        if k == 0 || self.scales.is_empty() {
            return Vec::new();
        }
        let q = query.as_slice();
        let candidates: Vec<(f32, u32)> = (0..self.scales.len())
            .map(|v| (self.score(v, q), v as u32))
            .collect();
        self.finish(candidates, q, k)
    }

    /// [`EmbeddingStore::nearest`] for many queries, in parallel.
    pub fn nearest_batch(&self, queries: &[Embedding], k: usize) -> Vec<Vec<(u32, f32)>> {
        queries.par_iter().map(|q| self.nearest(q, k)).collect()
    }

    /// Best candidates (by approximate score) re-scored exactly, expanded to terms.
    fn finish(&self, mut candidates: Vec<(f32, u32)>, q: &[f32], k: usize) -> Vec<(u32, f32)> {
        // Each vector stands for at least one term: k vectors give at least k terms.
        let keep = (4 * k).max(MIN_RESCORE);
        if candidates.len() > keep {
            candidates.select_nth_unstable_by(keep - 1, |a, b| b.0.total_cmp(&a.0));
            candidates.truncate(keep);
        }
        let mut scored: Vec<(f32, u32)> = candidates
            .into_iter()
            .map(|(_, v)| (self.score(v as usize, q), v))
            .collect();
        scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut out: Vec<(u32, f32)> = Vec::with_capacity(k);
        for (score, v) in scored.into_iter().take(k) {
            let (start, end) = (
                self.vector_term_offsets[v as usize] as usize,
                self.vector_term_offsets[v as usize + 1] as usize,
            );
            out.extend(self.vector_terms[start..end].iter().map(|&t| (t, score)));
            if out.len() >= k {
                break;
            }
        }
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(k);
        out
    }

    fn code(&self, v: usize) -> &[i8] {
        &self.codes[v * self.dim..][..self.dim]
    }

    /// Cosine of stored vector `v` with an f32 query.
    fn score(&self, v: usize, q: &[f32]) -> f32 {
        dot_f32_i8(q, self.code(v)) * self.scales[v]
    }
}

/// About 2√n lists, one for small stores.
fn list_count(vectors: usize) -> usize {
    if vectors < MIN_VECTORS_FOR_LISTS {
        1
    } else {
        ((2.0 * (vectors as f64).sqrt()).round() as usize).clamp(1, 8192)
    }
}

/// Int8 codes of `x`'s direction (its largest component maps to ±127) and the scale that
/// makes `scale · codes` unit length. Quantising a dequantised vector gives the same codes
/// and scale again.
fn quantize(x: &[f32]) -> (f32, Vec<i8>) {
    let max = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    if max == 0.0 || !max.is_finite() {
        return (0.0, vec![0; x.len()]);
    }
    let step = max / 127.0;
    let codes: Vec<i8> = x
        .iter()
        .map(|v| (v / step).round().clamp(-127.0, 127.0) as i8)
        .collect();
    let norm = codes
        .iter()
        .map(|&c| f64::from(c) * f64::from(c))
        .sum::<f64>()
        .sqrt();
    ((1.0 / norm) as f32, codes)
}

/// Integer dot product, chunked so that it auto-vectorises (i16 multiply-adds). Kept out of
/// line: inlined into the scan loop it vectorises far worse (measured 3.6x slower).
#[inline(never)]
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let mut acc = [0i32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: i32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..16 {
            acc[i] += i32::from(i16::from(x[i]) * i16::from(y[i]));
        }
    }
    acc.iter().sum::<i32>() + tail
}

/// Kept out of line: inlined into the scan loops it vectorises far worse (measured 3x).
#[inline(never)]
fn dot_f32_i8(q: &[f32], code: &[i8]) -> f32 {
    let mut acc = [0f32; 8];
    let (cq, cc) = (q.chunks_exact(8), code.chunks_exact(8));
    let tail: f32 = cq
        .remainder()
        .iter()
        .zip(cc.remainder())
        .map(|(x, &y)| x * f32::from(y))
        .sum();
    for (x, y) in cq.zip(cc) {
        for i in 0..8 {
            acc[i] += x[i] * f32::from(y[i]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Index of the nearest centroid (largest dot product, first on ties) of every point, as
/// blocks of points times the centroid matrix (`matrixmultiply`'s sgemm, which picks AVX2/FMA
/// kernels at run time), in parallel over blocks.
fn assign(points: &[&[f32]], centroids: &Array2<f32>) -> Vec<u32> {
    let dim = centroids.ncols();
    let blocks: Vec<Vec<u32>> = points
        .par_chunks(1024)
        .map(|block| {
            let mut m = Array2::<f32>::zeros((block.len(), dim));
            for (mut row, p) in m.rows_mut().into_iter().zip(block) {
                row.assign(&ArrayView1::from(*p));
            }
            let scores = m.dot(&centroids.t());
            scores
                .rows()
                .into_iter()
                .map(|r| {
                    let mut best = (f32::NEG_INFINITY, 0u32);
                    for (l, &s) in r.iter().enumerate() {
                        if s > best.0 {
                            best = (s, l as u32);
                        }
                    }
                    best.1
                })
                .collect()
        })
        .collect();
    blocks.concat()
}

/// Spherical k-means on a deterministic sample: the same vectors give the same lists (fixed
/// sample, fixed initial centroids, centroid sums in a fixed order). Returns lists × dim.
fn kmeans(vectors: &[&[f32]], lists: usize) -> Array2<f32> {
    let dim = EMBEDDING_DIM;
    let mut centroids = Array2::<f32>::zeros((lists, dim));
    if vectors.is_empty() {
        return centroids;
    }
    // A fixed pseudo-random sample (splitmix64 over the indices).
    let want = if lists == 1 {
        vectors.len()
    } else {
        (lists * KMEANS_SAMPLE_PER_LIST).min(vectors.len())
    };
    let mut keyed: Vec<(u64, usize)> = (0..vectors.len())
        .map(|i| (splitmix64(i as u64), i))
        .collect();
    keyed.sort_unstable();
    let sample: Vec<&[f32]> = keyed[..want].iter().map(|&(_, i)| vectors[i]).collect();
    // Initial centroids: evenly spaced sample points (repeated if there are fewer points
    // than lists; the extra lists stay empty).
    let step = (want / lists).max(1);
    for (l, mut row) in centroids.rows_mut().into_iter().enumerate() {
        row.assign(&ArrayView1::from(sample[(l * step) % want]));
    }
    let iterations = if lists == 1 { 1 } else { KMEANS_ITERATIONS };
    for _ in 0..iterations {
        let assignment = assign(&sample, &centroids);
        let mut sums = vec![0f64; lists * dim];
        let mut counts = vec![0usize; lists];
        for (v, &a) in sample.iter().zip(&assignment) {
            let a = a as usize;
            counts[a] += 1;
            for (s, x) in sums[a * dim..(a + 1) * dim].iter_mut().zip(*v) {
                *s += f64::from(*x);
            }
        }
        for (l, mut row) in centroids.rows_mut().into_iter().enumerate() {
            // An empty list keeps its centroid.
            if counts[l] > 0 {
                let c = normalized(&sums[l * dim..(l + 1) * dim]);
                row.assign(&ArrayView1::from(&c[..]));
            }
        }
    }
    centroids
}

fn normalized(sum: &[f64]) -> Vec<f32> {
    let norm = sum.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
    sum.iter().map(|x| (x / norm) as f32).collect()
}

/// The first output of the SplitMix64 generator seeded with `x`: a stable 64-bit mix.
fn splitmix64(x: u64) -> u64 {
    super::mlp::SplitMix64::new(x).next_u64()
}

/// CSR of the terms of each vector, term ids ascending.
fn invert(term_vector: &[u32], vectors: usize) -> (Vec<u32>, Vec<u32>) {
    let mut offsets = vec![0u32; vectors + 1];
    for &v in term_vector {
        offsets[v as usize + 1] += 1;
    }
    for v in 0..vectors {
        offsets[v + 1] += offsets[v];
    }
    let mut next = offsets.clone();
    let mut terms = vec![0u32; term_vector.len()];
    for (t, &v) in term_vector.iter().enumerate() {
        terms[next[v as usize] as usize] = t as u32;
        next[v as usize] += 1;
    }
    (offsets, terms)
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn u32s(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// A hex digest as its 64 ASCII bytes (zero-padded or cut if malformed).
fn hex64(hex: &str) -> [u8; 64] {
    let mut out = [b'0'; 64];
    for (o, b) in out.iter_mut().zip(hex.bytes()) {
        *o = b;
    }
    out
}

fn parse_hex64(bytes: &[u8]) -> Option<String> {
    if bytes.len() == 64 && bytes.iter().all(u8::is_ascii_hexdigit) {
        String::from_utf8(bytes.to_vec()).ok()
    } else {
        None
    }
}

/// A fast 64-bit checksum over 8-byte words (detects truncation and corruption, not tampering).
struct Checksum {
    state: u64,
    length: u64,
}

impl Checksum {
    fn new() -> Checksum {
        Checksum {
            state: 0x243F_6A88_85A3_08D3,
            length: 0,
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut h = self.state;
        let words = bytes.chunks_exact(8);
        let tail = words.remainder();
        for w in words {
            let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
            h = (h.rotate_left(23) ^ w).wrapping_mul(K);
        }
        for &b in tail {
            h = (h.rotate_left(23) ^ u64::from(b)).wrapping_mul(K);
        }
        self.state = h;
        self.length += bytes.len() as u64;
    }

    fn finish(&self) -> u64 {
        splitmix64(self.state ^ self.length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> EncoderIdentity {
        EncoderIdentity {
            model_sha256: "a".repeat(64),
            tokenizer_sha256: "b".repeat(64),
        }
    }

    /// Deterministic pseudo-random unit vectors.
    fn vectors(n: usize, seed: u64) -> Vec<Embedding> {
        (0..n)
            .map(|i| {
                let values = (0..EMBEDDING_DIM)
                    .map(|d| {
                        let r = splitmix64(seed ^ ((i * EMBEDDING_DIM + d) as u64));
                        (r >> 11) as f32 / (1u64 << 53) as f32 - 0.5
                    })
                    .collect();
                Embedding::from_values(values).unwrap()
            })
            .collect()
    }

    #[test]
    fn integer_and_float_dots_agree_with_naive_sums() {
        let a: Vec<i8> = (0..EMBEDDING_DIM)
            .map(|i| ((i * 37) % 255) as i32 - 127)
            .map(|v| v as i8)
            .collect();
        let b: Vec<i8> = (0..EMBEDDING_DIM)
            .map(|i| ((i * 91) % 255) as i32 - 127)
            .map(|v| v as i8)
            .collect();
        let naive: i32 = a.iter().zip(&b).map(|(&x, &y)| x as i32 * y as i32).sum();
        assert_eq!(dot_i8(&a, &b), naive);
        assert_eq!(dot_i8(&[-127; 7], &[-127; 7]), 7 * 127 * 127);
        let q: Vec<f32> = (0..EMBEDDING_DIM).map(|i| i as f32 * 0.001).collect();
        let naive: f32 = q.iter().zip(&a).map(|(x, &y)| x * y as f32).sum();
        assert!((dot_f32_i8(&q, &a) - naive).abs() < 1e-3);
    }

    #[test]
    fn quantisation_is_idempotent_and_unit_length() {
        for v in vectors(50, 7) {
            let (scale, codes) = quantize(v.as_slice());
            let back: Vec<f32> = codes.iter().map(|&c| f32::from(c) * scale).collect();
            let norm = back.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "{norm}");
            let again = Embedding::from_values(back).unwrap();
            assert_eq!(quantize(again.as_slice()), (scale, codes));
        }
        assert_eq!(quantize(&[0.0; 4]), (0.0, vec![0; 4]));
    }

    #[test]
    fn quantised_cosine_is_close_to_float_cosine() {
        let v = vectors(200, 1);
        let store = EmbeddingStore::from_terms(identity(), &v).unwrap();
        let mut worst = 0f32;
        for (i, a) in v.iter().enumerate() {
            for b in v.iter().step_by(17) {
                worst = worst.max((store.cosine(i as u32, b) - a.dot(b)).abs());
            }
        }
        assert!(worst < 0.01, "worst quantisation error {worst}");
        assert_eq!(store.cosine(10_000, &v[0]), 0.0);
    }

    #[test]
    fn lists_are_deterministic_and_nearest_finds_each_vector() {
        let v = vectors(MIN_VECTORS_FOR_LISTS + 100, 2);
        let a = EmbeddingStore::from_terms(identity(), &v).unwrap();
        let b = EmbeddingStore::from_terms(identity(), &v).unwrap();
        assert!(a.lists() > 1);
        assert_eq!(a.offsets, b.offsets);
        assert_eq!(a.codes, b.codes);
        for t in (0..v.len()).step_by(997) {
            let hits = a.nearest(&v[t], 3);
            assert_eq!(hits[0].0, t as u32, "{hits:?}");
            assert!((hits[0].1 - a.cosine(t as u32, &v[t])).abs() < 1e-6);
            assert_eq!(a.nearest_exact(&v[t], 1)[0].0, t as u32);
        }
    }

    #[test]
    fn shared_vectors_expand_to_their_terms() {
        let v = vectors(5, 3);
        // Terms 0, 2 and 4 share vector 1.
        let store = EmbeddingStore::build(identity(), &v, vec![1, 0, 1, 2, 1], Vec::new()).unwrap();
        assert_eq!(store.len(), 5);
        assert_eq!(store.vectors(), 5);
        let hits = store.nearest(&v[1], 3);
        let ids: Vec<u32> = hits.iter().map(|h| h.0).collect();
        assert_eq!(ids, [0, 2, 4]);
        assert!(hits.iter().all(|h| (h.1 - hits[0].1).abs() < 1e-7));
        assert_eq!(store.nearest(&v[1], 0), []);
        assert!(EmbeddingStore::build(identity(), &v, vec![5], Vec::new()).is_err());
        assert!(EmbeddingStore::build(identity(), &v, vec![0], vec![1, 2]).is_err());
    }

    #[test]
    fn write_open_round_trip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(EMBEDDINGS_FILE);
        let v = vectors(300, 4);
        let store = EmbeddingStore::from_terms(identity(), &v).unwrap();
        store.write(&path).unwrap();
        let back = EmbeddingStore::open(&path).unwrap();
        assert_eq!(back.identity(), &identity());
        assert_eq!(back.len(), 300);
        assert_eq!(back.codes, store.codes);
        assert_eq!(back.cosine(7, &v[9]), store.cosine(7, &v[9]));
        back.expect_encoder(&identity()).unwrap();
        let other = EncoderIdentity {
            model_sha256: "c".repeat(64),
            ..identity()
        };
        let message = back.expect_encoder(&other).unwrap_err().to_string();
        assert!(message.contains("another encoder"), "{message}");
        assert!(message.contains("chartcoder index build"), "{message}");

        let bytes = std::fs::read(&path).unwrap();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("truncated", bytes[..bytes.len() - 5].to_vec()),
            ("empty", Vec::new()),
            ("header only", bytes[..HEADER_LEN].to_vec()),
            ("bad magic", {
                let mut b = bytes.clone();
                b[0] = b'X';
                b
            }),
            ("flipped payload byte", {
                let mut b = bytes.clone();
                let at = b.len() - 100;
                b[at] ^= 0x40;
                b
            }),
            ("other format", {
                let mut b = bytes.clone();
                b[8] = 99;
                b
            }),
        ];
        for (what, content) in cases {
            std::fs::write(&path, &content).unwrap();
            match EmbeddingStore::open(&path) {
                Err(e @ Error::Index { .. }) => {
                    assert!(
                        e.to_string().contains("chartcoder index build"),
                        "{what}: {e}"
                    )
                }
                other => panic!("{what}: expected Error::Index, got {other:?}"),
            }
        }
        assert!(matches!(
            EmbeddingStore::open(&dir.path().join("absent.bin")),
            Err(Error::Index { .. })
        ));
    }

    #[test]
    fn empty_store_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(EMBEDDINGS_FILE);
        let store = EmbeddingStore::from_terms(identity(), &[]).unwrap();
        store.write(&path).unwrap();
        let back = EmbeddingStore::open(&path).unwrap();
        assert!(back.is_empty());
        assert_eq!(back.nearest(&vectors(1, 5)[0], 5), []);
    }
}
