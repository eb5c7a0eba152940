//! `Engine::open(config)` wires code sets, lexicon and index; every front end calls it.
//! Engine state is immutable after `open` and shared across threads.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::assets::{self, Assets};
use crate::codeset::{CodeSet, System};
use crate::error::Result;
use crate::index::{build_index, BuildOptions, BuildReport, LookupOptions, TermIndex};
use crate::lexicon::Abbreviations;

/// Where the engine finds its assets and index.
#[derive(Clone, Debug)]
pub struct Config {
    pub assets: PathBuf,
    pub index: PathBuf,
}

impl Config {
    /// `$CHARTCODER_ASSETS` (default `.assets`) and `$CHARTCODER_INDEX` (default `index/default`).
    pub fn from_env() -> Config {
        Config {
            assets: Assets::from_env().root().to_path_buf(),
            index: std::env::var_os("CHARTCODER_INDEX")
                .map_or_else(|| PathBuf::from("index/default"), PathBuf::from),
        }
    }
}

pub struct Engine {
    pub codes: CodeSet,
    pub abbreviations: Abbreviations,
    pub index: TermIndex,
    pub config: Config,
}

/// One looked-up code as every front end renders it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CodeSuggestion {
    pub code: String,
    pub system: System,
    pub title: String,
    pub score: f32,
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
        Ok(Engine {
            codes,
            abbreviations,
            index,
            config,
        })
    }

    /// Builds (or confirms up to date) the index at `config.index`.
    pub fn build_index(config: &Config, options: &BuildOptions) -> Result<BuildReport> {
        let (codes, abbreviations) = load_code_sets(config)?;
        build_index(&config.index, &codes, &abbreviations, options)
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
                    score: (h.score * 1000.0).round() / 1000.0,
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
