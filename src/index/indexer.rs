//! Building the index: terms from the code sets and extra sources, de-duplicated, written to
//! tantivy and the side table in a temporary directory that replaces the old index only
//! once complete (a failed build never leaves a half index behind).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use tantivy::doc;

use super::{schema, Analyzer, Manifest, SideTableFile, ANALYZER_NAME, INDEX_FORMAT};
use crate::codeset::{CodeSet, System};
use crate::error::{Error, Result};
use crate::lexicon::{code_set_terms, load_extra, Abbreviations, ExtraSource, Term};

#[derive(Debug, Default, Clone)]
pub struct BuildOptions {
    pub extras: Vec<PathBuf>,
    /// Rebuild even when the manifest says the same inputs are already indexed.
    pub force: bool,
    pub progress: bool,
}

#[derive(Debug, Clone)]
pub struct BuildReport {
    pub manifest: Manifest,
    /// False when the existing index already held exactly these inputs.
    pub rebuilt: bool,
}

pub fn build_index(
    dir: &Path,
    codes: &CodeSet,
    abbreviations: &Abbreviations,
    options: &BuildOptions,
) -> Result<BuildReport> {
    let mut terms = code_set_terms(codes);
    let mut extras: Vec<ExtraSource> = Vec::new();
    for path in &options.extras {
        let (extra_terms, source) = load_extra(path, codes)?;
        terms.extend(extra_terms);
        extras.push(source);
    }
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
    };
    if !options.force {
        if let Ok(existing) = Manifest::read(dir) {
            if same_inputs(&existing, &planned) {
                return Ok(BuildReport {
                    manifest: existing,
                    rebuilt: false,
                });
            }
        }
    }

    let analyzer = Analyzer::new();
    let (side, kept) = side_table(&terms, codes, &analyzer);
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

    let manifest = Manifest {
        documents: kept.len(),
        documents_by_source: by_source,
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
}

/// Drops terms that analyse to the same words for the same code (the first source wins:
/// titles come first), and builds the vocabulary.
fn side_table<'t>(
    terms: &'t [Term],
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
    (
        SideTableFile {
            vocabulary,
            terms: rows,
        },
        kept,
    )
}
