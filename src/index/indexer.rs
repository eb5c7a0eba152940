//! Building the index: terms from the code sets and extra sources, de-duplicated, written to
//! tantivy and the side table in a temporary directory that replaces the old index only
//! once complete (a failed build never leaves a half index behind). With an encoder, every
//! kept term's text is embedded (identical token sequences once) into `embeddings.bin`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use tantivy::doc;

use super::{schema, Analyzer, Manifest, SideTableFile, ANALYZER_NAME, INDEX_FORMAT};
use crate::assets::{Assets, MINILM};
use crate::codeset::{CodeSet, System};
use crate::error::{Error, Result};
use crate::lexicon::{code_set_terms, load_extra, Abbreviations, Extra, ExtraSource, Term};
use crate::mention_encoder::MentionEncoder;
use crate::onnx::embeddings::EMBEDDINGS_FILE;
use crate::onnx::{
    sequence_key, Embedding, EmbeddingStore, EncoderIdentity, EncoderTokenizer, SentenceEncoder,
};

#[derive(Debug, Default, Clone)]
pub struct BuildOptions {
    pub extras: Vec<PathBuf>,
    /// Rebuild even when the manifest says the same inputs are already indexed.
    pub force: bool,
    pub progress: bool,
    /// The sentence encoder that embeds every term. `None` builds a lexical-only index,
    /// which [`crate::engine::Engine::open`] refuses; `chartcoder index build` always sets it.
    pub encoder: Option<TermEncoder>,
    /// Other index directories whose term embeddings may be reused for identical texts (the
    /// index being rebuilt is always tried first). Stores of another encoder are ignored.
    pub reuse_embeddings: Vec<PathBuf>,
}

/// The encoder that embeds the index's terms.
#[derive(Clone)]
pub enum TermEncoder {
    /// The installed ONNX encoder, by its files: its identity is known without starting ONNX
    /// Runtime, and vectors of an earlier build of the same files are reused.
    Files(EncoderFiles),
    /// An encoder already in memory (the fixtures' stand-in); every term is encoded.
    Loaded(Arc<dyn MentionEncoder>),
}

impl std::fmt::Debug for TermEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TermEncoder::Files(files) => f.debug_tuple("Files").field(files).finish(),
            TermEncoder::Loaded(e) => f.debug_tuple("Loaded").field(e.identity()).finish(),
        }
    }
}

/// Where the sentence encoder's files are.
#[derive(Debug, Clone)]
pub struct EncoderFiles {
    /// Assets directory holding the runtime and `minilm/model.onnx`.
    pub assets: PathBuf,
    /// `models/minilm/tokenizer.json`.
    pub tokenizer: PathBuf,
}

impl EncoderFiles {
    /// The identity (file hashes) without starting ONNX Runtime.
    fn identity(&self) -> Result<EncoderIdentity> {
        let model = Assets::new(&self.assets).path(MINILM)?;
        // Checks the tokenizer loads before hashing it.
        EncoderTokenizer::open(&self.tokenizer)?;
        EncoderIdentity::of_files(&model, &self.tokenizer)
    }
}

#[derive(Debug, Clone)]
pub struct BuildReport {
    pub manifest: Manifest,
    /// False when the existing index already held exactly these inputs.
    pub rebuilt: bool,
    /// Distinct term texts run through the encoder by this build.
    pub embeddings_encoded: usize,
    /// Distinct term texts whose vectors came from a previous store.
    pub embeddings_reused: usize,
}

pub fn build_index(
    dir: &Path,
    codes: &CodeSet,
    abbreviations: &Abbreviations,
    options: &BuildOptions,
) -> Result<BuildReport> {
    let mut terms = code_set_terms(codes);
    let mut extras: Vec<ExtraSource> = Vec::new();
    let analyzer = Analyzer::new();
    let mut condition_pointers: Vec<String> = Vec::new();
    for path in &options.extras {
        let extra = load_extra(path, codes)?;
        condition_pointers.extend(analysed_pointers(&extra, &analyzer));
        terms.extend(extra.terms);
        extras.push(extra.source);
    }
    let encoder_identity = match &options.encoder {
        Some(TermEncoder::Files(files)) => Some(files.identity()?),
        Some(TermEncoder::Loaded(encoder)) => Some(encoder.identity().clone()),
        None => None,
    };
    let planned = Manifest {
        format: INDEX_FORMAT,
        chartcoder_version: env!("CARGO_PKG_VERSION").to_string(),
        code_sets: codes.versions.clone(),
        extras,
        abbreviations: abbreviations.len(),
        documents: 0,
        icd10cm_billable_codes: codes.count(System::Icd10cm, true),
        icd10pcs_codes: codes.count(System::Icd10pcs, false),
        documents_by_source: HashMap::new(),
        encoder: encoder_identity,
        embedded_texts: 0,
        builtin_lexicon: crate::lexicon::builtin_fingerprint(),
    };
    if !options.force {
        if let Ok(existing) = Manifest::read(dir) {
            if same_inputs(&existing, &planned) {
                return Ok(BuildReport {
                    manifest: existing,
                    rebuilt: false,
                    embeddings_encoded: 0,
                    embeddings_reused: 0,
                });
            }
        }
    }

    let (side, kept) = side_table(&terms, &condition_pointers, codes, &analyzer);
    let building = dir.with_extension("building");
    if building.exists() {
        std::fs::remove_dir_all(&building).map_err(|e| Error::io(&building, e))?;
    }
    std::fs::create_dir_all(&building).map_err(|e| Error::io(&building, e))?;

    let (schema, fields) = schema();
    let index = tantivy::Index::create_in_dir(&building, schema)?;
    index
        .tokenizers()
        .register(ANALYZER_NAME, super::clinical_analyzer());
    let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(2, 256 * 1024 * 1024)?;
    let bar = if options.progress {
        let bar = ProgressBar::new(kept.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} indexing {pos}/{len} terms [{bar:40}] {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut by_source: HashMap<String, usize> = HashMap::new();
    for (term_id, term) in kept.iter().enumerate() {
        let code = codes.get(term.code);
        writer.add_document(doc!(
            fields.text => term.text.as_str(),
            fields.code => code.code.as_str(),
            fields.system => code.system.as_str(),
            fields.source => term.source.as_str(),
            fields.term_id => term_id as u64,
        ))?;
        *by_source
            .entry(term.source.as_str().to_string())
            .or_default() += 1;
        if term_id % 4096 == 0 {
            bar.set_position(term_id as u64);
        }
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    bar.finish_and_clear();

    let side_path = building.join("terms.json");
    let side_json =
        serde_json::to_vec(&side).map_err(|e| Error::Command(format!("serialising terms: {e}")))?;
    std::fs::write(&side_path, side_json).map_err(|e| Error::io(&side_path, e))?;

    let (mut embedded_texts, mut encoded, mut reused) = (0, 0, 0);
    if let (Some(files), Some(identity)) = (&options.encoder, &planned.encoder) {
        let texts: Vec<&str> = kept.iter().map(|t| t.text.as_str()).collect();
        let mut reuse = vec![dir.to_path_buf()];
        reuse.extend(options.reuse_embeddings.iter().cloned());
        let store;
        (store, encoded, reused) = match files {
            TermEncoder::Files(files) => {
                embed_terms(files, identity, &texts, &reuse, options.progress)?
            }
            TermEncoder::Loaded(encoder) => {
                let vectors = encoder.encode(&texts)?;
                let store = EmbeddingStore::from_terms(identity.clone(), &vectors)?;
                (store, texts.len(), 0)
            }
        };
        embedded_texts = store.vectors();
        store.write(&building.join(EMBEDDINGS_FILE))?;
    }

    let manifest = Manifest {
        documents: kept.len(),
        documents_by_source: by_source,
        embedded_texts,
        ..planned
    };
    let manifest_path = building.join("manifest.json");
    let manifest_json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::Command(format!("serialising manifest: {e}")))?;
    std::fs::write(&manifest_path, manifest_json).map_err(|e| Error::io(&manifest_path, e))?;

    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::rename(&building, dir).map_err(|e| Error::io(dir, e))?;
    Ok(BuildReport {
        manifest,
        rebuilt: true,
        embeddings_encoded: encoded,
        embeddings_reused: reused,
    })
}

fn same_inputs(a: &Manifest, b: &Manifest) -> bool {
    let extras = |m: &Manifest| {
        m.extras
            .iter()
            .map(|e| e.sha256.clone())
            .collect::<Vec<_>>()
    };
    a.format == b.format
        && a.chartcoder_version == b.chartcoder_version
        && a.code_sets == b.code_sets
        && extras(a) == extras(b)
        && a.abbreviations == b.abbreviations
        && a.encoder == b.encoder
        && a.builtin_lexicon == b.builtin_lexicon
}

/// Embeds every term text: tokenized once, identical token sequences embedded once, vectors
/// of sequences already in a `reuse` index's store (same encoder) taken from it, the rest run
/// through the model in length-sorted batches on every rayon worker (one ONNX session each);
/// then clustered and quantised into the store. Returns the store and how many distinct texts
/// were encoded and reused.
fn embed_terms(
    files: &EncoderFiles,
    identity: &EncoderIdentity,
    texts: &[&str],
    reuse: &[PathBuf],
    progress: bool,
) -> Result<(EmbeddingStore, usize, usize)> {
    let started = Instant::now();
    let sequences = EncoderTokenizer::open(&files.tokenizer)?.tokenize(texts)?;
    let mut distinct: HashMap<&[u32], u32> = HashMap::with_capacity(sequences.len());
    let mut unique: Vec<&[u32]> = Vec::new();
    let term_vector: Vec<u32> = sequences
        .iter()
        .map(|s| {
            *distinct.entry(s.as_slice()).or_insert_with(|| {
                unique.push(s);
                (unique.len() - 1) as u32
            })
        })
        .collect();
    let keys: Vec<u64> = unique.iter().map(|s| sequence_key(s)).collect();

    let previous: Vec<EmbeddingStore> = reuse
        .iter()
        .filter_map(|d| {
            let store = EmbeddingStore::open(&d.join(EMBEDDINGS_FILE)).ok()?;
            (store.identity() == identity).then_some(store)
        })
        .collect();
    let known: Vec<HashMap<u64, u32>> = previous.iter().map(|s| s.key_positions()).collect();
    let mut vectors: Vec<Option<Embedding>> = keys
        .iter()
        .map(|k| {
            previous
                .iter()
                .zip(&known)
                .find_map(|(store, map)| store.stored_embedding(*map.get(k)?))
        })
        .collect();
    drop(known);
    drop(previous);
    let missing: Vec<usize> = (0..vectors.len())
        .filter(|&i| vectors[i].is_none())
        .collect();
    let reused = vectors.len() - missing.len();

    let mut encode_seconds = 0.0;
    let workers = rayon::current_num_threads();
    if !missing.is_empty() {
        let encoder =
            SentenceEncoder::open(&Assets::new(&files.assets), &files.tokenizer, workers)?;
        if encoder.identity() != identity {
            return Err(Error::Command(
                "the encoder files changed during the build; build again".into(),
            ));
        }
        let bar = if progress {
            let bar = ProgressBar::new(missing.len() as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} embedding {pos}/{len} term texts [{bar:40}] {per_sec} {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        let todo: Vec<Vec<u32>> = missing.iter().map(|&i| unique[i].to_vec()).collect();
        let encode_started = Instant::now();
        let encoded = encoder.encode_tokens(&todo, &|n| bar.inc(n as u64))?;
        encode_seconds = encode_started.elapsed().as_secs_f64();
        bar.finish_and_clear();
        for (i, embedding) in missing.iter().zip(encoded) {
            vectors[*i] = Some(embedding);
        }
    }
    let vectors: Vec<Embedding> = vectors.into_iter().flatten().collect();
    if vectors.len() != unique.len() {
        return Err(Error::Command("a term text got no embedding".into()));
    }
    let cluster_started = Instant::now();
    let store = EmbeddingStore::build(identity.clone(), &vectors, term_vector, keys)?;
    tracing::info!(
        terms = texts.len(),
        distinct = unique.len(),
        reused,
        encoded = missing.len(),
        workers,
        encode_seconds,
        texts_per_second = missing.len() as f64 / encode_seconds.max(1e-9),
        cluster_seconds = cluster_started.elapsed().as_secs_f64(),
        lists = store.lists(),
        total_seconds = started.elapsed().as_secs_f64(),
        "term embeddings computed"
    );
    Ok((store, missing.len(), reused))
}

/// The analysed words of an Index's "see condition" main terms, less those that analyse to
/// a condition main term of the same Index ("Infective" is "Infection" once stemmed).
fn analysed_pointers(extra: &Extra, analyzer: &Analyzer) -> Vec<String> {
    let conditions: HashSet<String> = extra
        .condition_words
        .iter()
        .flat_map(|w| analyzer.words(w))
        .collect();
    extra
        .condition_pointers
        .iter()
        .flat_map(|p| analyzer.words(p))
        .filter(|w| !conditions.contains(w))
        .collect()
}

/// Drops terms that analyse to the same words for the same code (the first source wins:
/// titles come first), and builds the vocabulary. `condition_pointers` are kept as the
/// vocabulary ids of their analysed words (a word no term has cannot matter).
fn side_table<'t>(
    terms: &'t [Term],
    condition_pointers: &[String],
    codes: &CodeSet,
    analyzer: &Analyzer,
) -> (SideTableFile, Vec<&'t Term>) {
    let mut vocabulary: Vec<String> = Vec::new();
    let mut word_ids: HashMap<String, u32> = HashMap::new();
    let mut seen: HashSet<(u32, Vec<u32>)> = HashSet::new();
    let mut rows = Vec::with_capacity(terms.len());
    let mut kept = Vec::with_capacity(terms.len());
    for term in terms {
        let mut words: Vec<u32> = Vec::new();
        for word in analyzer.words(&term.text) {
            let next = vocabulary.len() as u32;
            let id = *word_ids.entry(word.clone()).or_insert_with(|| {
                vocabulary.push(word);
                next
            });
            if !words.contains(&id) {
                words.push(id);
            }
        }
        if words.is_empty() {
            continue;
        }
        let mut key = words.clone();
        key.sort_unstable();
        if !seen.insert((term.code, key)) {
            continue;
        }
        let code = codes.get(term.code);
        rows.push((code.system, code.code.clone(), term.source, words));
        kept.push(term);
    }
    let mut pointers: Vec<u32> = condition_pointers
        .iter()
        .filter_map(|w| word_ids.get(w).copied())
        .collect();
    pointers.sort_unstable();
    pointers.dedup();
    (
        SideTableFile {
            vocabulary,
            terms: rows,
            condition_pointers: pointers,
        },
        kept,
    )
}
