//! The tantivy index of code descriptors and synonyms: one document per (code, term,
//! source), plus a side table of each term's analysed words used for re-scoring.
//!
//! Layout of an index directory: tantivy's files, `terms.json` (the side table),
//! `embeddings.bin` (one sentence embedding per term, see [`crate::onnx::embeddings`]) and
//! `manifest.json` (what the index holds: code-set versions, extra sources, encoder, counts).

mod analyzer;
mod indexer;
mod query;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, STORED, STRING,
};

use crate::codeset::{CodeId, CodeSet, CodeSetVersion, System};
use crate::error::{Error, Result};
use crate::lexicon::{ExtraSource, Source};
use crate::onnx::embeddings::EMBEDDINGS_FILE;
use crate::onnx::{EmbeddingStore, EncoderIdentity};

pub(crate) use analyzer::table_data as analyzer_table_data;
pub use analyzer::{clinical_analyzer, Analyzer, ANALYZER_NAME};
pub use indexer::{build_index, BuildOptions, BuildReport, EncoderFiles, TermEncoder};
pub use query::{
    is_filler, is_procedure_word, LookupHit, LookupOptions, Similar, TermMatch, SIMILAR_BELOW,
    SIMILAR_WEIGHT,
};

/// Bumped whenever the schema, analyzer or side table changes meaning.
pub const INDEX_FORMAT: u32 = 9;
/// Longest query accepted by lookup, in characters.
pub const MAX_QUERY_CHARS: usize = 2_000;

pub(crate) struct Fields {
    text: Field,
    code: Field,
    system: Field,
    source: Field,
    term_id: Field,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text_options = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER_NAME)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let fields = Fields {
        text: builder.add_text_field("text", text_options),
        code: builder.add_text_field("code", STRING | STORED),
        system: builder.add_text_field("system", STRING | STORED),
        source: builder.add_text_field("source", STRING | STORED),
        term_id: builder.add_u64_field("term_id", FAST | STORED),
    };
    (builder.build(), fields)
}

/// What an index holds; written last at build, so its presence means the build finished.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    pub chartcoder_version: String,
    pub code_sets: Vec<CodeSetVersion>,
    pub extras: Vec<ExtraSource>,
    pub abbreviations: usize,
    pub documents: usize,
    pub icd10cm_billable_codes: usize,
    pub icd10pcs_codes: usize,
    pub documents_by_source: HashMap<String, usize>,
    /// The sentence encoder that embedded the terms (`None`: a lexical-only index).
    /// Defaults keep manifests of older formats readable, so they fail on `format`.
    #[serde(default)]
    pub encoder: Option<EncoderIdentity>,
    /// Distinct term texts embedded (terms that tokenize identically share a vector).
    #[serde(default)]
    pub embedded_texts: usize,
    /// `lexicon::builtin_fingerprint()` of the build: the built-in phrase variants and
    /// abbreviations the terms were made with (empty in older manifests: stale).
    #[serde(default)]
    pub builtin_lexicon: String,
}

impl Manifest {
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join("manifest.json");
        let bytes = std::fs::read(&path).map_err(|e| Error::Index {
            path: dir.to_path_buf(),
            reason: format!("no manifest ({e}); the index is missing or its build did not finish"),
        })?;
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| Error::Index {
            path: dir.to_path_buf(),
            reason: format!("corrupt manifest: {e}"),
        })?;
        if manifest.format != INDEX_FORMAT {
            return Err(Error::Index {
                path: dir.to_path_buf(),
                reason: format!(
                    "built with index format {}, this build reads {INDEX_FORMAT}",
                    manifest.format
                ),
            });
        }
        if manifest.builtin_lexicon != crate::lexicon::builtin_fingerprint() {
            return Err(Error::Index {
                path: dir.to_path_buf(),
                reason: "built from another version of the built-in lexicon (phrase variants, \
                         clinical abbreviations, synonyms, spellings, term rules)"
                    .into(),
            });
        }
        Ok(manifest)
    }
}

/// One indexed term as kept in memory for re-scoring.
#[derive(Clone, Debug)]
pub struct IndexedTerm {
    pub code: CodeId,
    pub source: Source,
    /// Distinct analysed words (ids into the vocabulary), in text order.
    pub words: Box<[u32]>,
    /// The code is an etiology/manifestation "in diseases classified elsewhere" code.
    pub manifestation: bool,
    /// The code is a residual "Other ..." category.
    pub residual: bool,
}

/// The serialised side table.
#[derive(Serialize, Deserialize)]
struct SideTableFile {
    vocabulary: Vec<String>,
    /// (system, dot-less code, source, word ids)
    terms: Vec<(System, String, Source, Vec<u32>)>,
    /// Word ids of the Alphabetic Index's "see condition" main terms.
    condition_pointers: Vec<u32>,
}

/// Vocabulary with inverse document frequencies, and every term's words.
pub struct SideTable {
    pub vocabulary: Vec<String>,
    pub word_ids: HashMap<String, u32>,
    pub idf: Vec<f32>,
    pub terms: Vec<IndexedTerm>,
    /// Words the Alphabetic Index sends to the condition ("Kidney - see condition",
    /// "Chronic - see condition"): where or what kind, never what. Empty for an index
    /// built without the Index.
    pub condition_pointers: Vec<u32>,
}

impl SideTable {
    fn from_file(file: SideTableFile, codes: &CodeSet, dir: &Path) -> Result<SideTable> {
        let mut df = vec![0u32; file.vocabulary.len()];
        let mut terms = Vec::with_capacity(file.terms.len());
        for (system, code, source, words) in file.terms {
            let id = codes.id(system, &code).ok_or_else(|| Error::Index {
                path: dir.to_path_buf(),
                reason: format!("code {code} is not in the loaded code sets; rebuild the index for this release"),
            })?;
            for &w in &words {
                if let Some(slot) = df.get_mut(w as usize) {
                    *slot += 1;
                }
            }
            let title = &codes.get(id).title;
            terms.push(IndexedTerm {
                code: id,
                source,
                words: words.into_boxed_slice(),
                manifestation: title.contains("in diseases classified elsewhere"),
                residual: codes.get(id).is_residual(),
            });
        }
        let n = terms.len() as f32;
        let idf = df
            .iter()
            .map(|&d| (1.0 + (n - d as f32 + 0.5) / (d as f32 + 0.5)).ln())
            .collect();
        let word_ids = file
            .vocabulary
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as u32))
            .collect();
        Ok(SideTable {
            vocabulary: file.vocabulary,
            word_ids,
            idf,
            terms,
            condition_pointers: file.condition_pointers,
        })
    }

    pub fn idf_of(&self, word: u32) -> f32 {
        self.idf.get(word as usize).copied().unwrap_or(0.0)
    }
}

/// An opened index: tantivy searcher plus the in-memory side table.
pub struct TermIndex {
    dir: PathBuf,
    pub(crate) reader: tantivy::IndexReader,
    pub(crate) fields: Fields,
    pub side: SideTable,
    pub manifest: Manifest,
    pub(crate) analyzer: Analyzer,
    embeddings: Option<EmbeddingStore>,
}

impl TermIndex {
    /// Opens an index built by `chartcoder index build` for these code sets.
    pub fn open(dir: &Path, codes: &CodeSet) -> Result<TermIndex> {
        let manifest = Manifest::read(dir)?;
        let unusable = |reason: String| Error::Index {
            path: dir.to_path_buf(),
            reason,
        };
        let index = tantivy::Index::open_in_dir(dir).map_err(|e| unusable(e.to_string()))?;
        index
            .tokenizers()
            .register(ANALYZER_NAME, clinical_analyzer());
        let (expected, fields) = schema();
        if index.schema() != expected {
            return Err(unusable("schema differs from this build's".into()));
        }
        let reader = index.reader().map_err(|e| unusable(e.to_string()))?;
        let side_path = dir.join("terms.json");
        let bytes = std::fs::read(&side_path)
            .map_err(|e| unusable(format!("{}: {e}", side_path.display())))?;
        let file: SideTableFile = serde_json::from_slice(&bytes)
            .map_err(|e| unusable(format!("corrupt terms.json: {e}")))?;
        let side = SideTable::from_file(file, codes, dir)?;
        let embeddings = match &manifest.encoder {
            Some(identity) => Some(open_embeddings(dir, identity, side.terms.len())?),
            None => None,
        };
        Ok(TermIndex {
            dir: dir.to_path_buf(),
            reader,
            fields,
            side,
            manifest,
            analyzer: Analyzer::new(),
            embeddings,
        })
    }

    /// One embedding per term (term ids as in [`SideTable::terms`]); `None` for an index
    /// built without an encoder.
    pub fn embeddings(&self) -> Option<&EmbeddingStore> {
        self.embeddings.as_ref()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }
}

/// The index's embedding store, checked against the manifest: same encoder, one vector per term.
fn open_embeddings(dir: &Path, identity: &EncoderIdentity, terms: usize) -> Result<EmbeddingStore> {
    let path = dir.join(EMBEDDINGS_FILE);
    if !path.is_file() {
        return Err(Error::Index {
            path: dir.to_path_buf(),
            reason: format!("{EMBEDDINGS_FILE} is missing"),
        });
    }
    let store = EmbeddingStore::open(&path)?;
    store.expect_encoder(identity)?;
    if store.len() != terms {
        return Err(Error::Index {
            path: path.clone(),
            reason: format!(
                "{} term embeddings for {terms} terms in terms.json",
                store.len()
            ),
        });
    }
    Ok(store)
}
