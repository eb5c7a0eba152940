//! Stage helper: the history code of a condition stated as past or of a relative (the
//! Index's history table first, then the Index-style lookup among Z80-Z98; I.C.21.c.4).

use super::*;

impl Engine {
    /// The personal (Z85-Z92) or family (Z80-Z84) history code for a condition, by looking
    /// its title up among those codes.
    pub(super) fn history_code(&self, code: CodeId, family: bool) -> Option<CodeId> {
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

    pub(super) fn find_history_code(&self, code: CodeId, family: bool) -> Option<CodeId> {
        let c = self.codes.get(code);
        if c.system != System::Icd10cm || c.code.starts_with('Z') {
            return None;
        }
        // A past myocardial infarction has its own code in chapter I, not a Z code.
        if !family && is_acute_infarction(&c.code) {
            return self.codes.id(System::Icd10cm, "I252");
        }
        if let Some(listed) = self.history_table.of(&c.code, family) {
            return Some(listed);
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
}

/// An acute (I21) or subsequent (I22) myocardial infarction: in the past, it is I25.2.
pub(super) fn is_acute_infarction(code: &str) -> bool {
    code.starts_with("I21") || code.starts_with("I22")
}
