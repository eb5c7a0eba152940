//! History codes: the personal or family history code of a condition the note states as
//! past or of a relative (I.C.21.c.4), from the Alphabetic Index's "History, personal (of)"
//! and "History, family (of)" entries (`history.tsv`). Conditions the table does not list
//! are looked up by title in the engine.

use std::collections::HashMap;

use crate::codeset::{normalize_code, CodeId, CodeSet, System};

const TABLE: &str = include_str!("history.tsv");

/// Condition prefix → history code, for personal and for family history, and the Z20
/// contact/exposure code of a communicable disease.
pub struct HistoryCodes {
    personal: HashMap<String, CodeId>,
    family: HashMap<String, CodeId>,
    exposure: HashMap<String, CodeId>,
}

/// A table row the code sets cannot resolve (a code not in this fiscal year).
#[derive(Debug, PartialEq)]
pub struct UnknownCode(pub String);

impl HistoryCodes {
    /// The table resolved against the code sets; rows whose history code is not a code of
    /// them are returned beside it (a test keeps the table in step with the fiscal year).
    pub fn new(codes: &CodeSet) -> (HistoryCodes, Vec<UnknownCode>) {
        let mut table = HistoryCodes {
            personal: HashMap::new(),
            family: HashMap::new(),
            exposure: HashMap::new(),
        };
        let mut unknown = Vec::new();
        for line in TABLE.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            let [kind, condition, history, ..] = fields[..] else {
                unknown.push(UnknownCode(line.to_string()));
                continue;
            };
            let Some(id) = codes
                .id(System::Icd10cm, &normalize_code(history))
                .filter(|&id| codes.get(id).billable)
            else {
                unknown.push(UnknownCode(history.to_string()));
                continue;
            };
            let map = match kind {
                "family" => &mut table.family,
                "exposure" => &mut table.exposure,
                _ => &mut table.personal,
            };
            map.insert(normalize_code(condition), id);
        }
        (table, unknown)
    }

    /// The history code of a condition (dot-less code), by its longest listed prefix.
    pub fn of(&self, condition: &str, family: bool) -> Option<CodeId> {
        let map = if family { &self.family } else { &self.personal };
        longest_prefix(map, condition)
    }

    /// The contact/exposure code (Z20) of a communicable disease (dot-less code).
    pub fn exposure_of(&self, condition: &str) -> Option<CodeId> {
        longest_prefix(&self.exposure, condition)
    }
}

fn longest_prefix(map: &HashMap<String, CodeId>, condition: &str) -> Option<CodeId> {
    (1..=condition.len())
        .rev()
        .find_map(|n| condition.get(..n).and_then(|p| map.get(p)))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABULAR: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.tabular>
  <chapter><name>9</name><desc>Circulatory (I00-I99)</desc>
    <section id="I80-I89"><desc>Veins (I80-I89)</desc>
      <diag><name>I82</name><desc>Other venous embolism and thrombosis</desc>
        <diag><name>I82.4</name><desc>Acute embolism and thrombosis of deep veins of lower extremity</desc>
          <diag><name>I82.40</name><desc>Acute embolism and thrombosis of unspecified deep veins of lower extremity</desc>
            <diag><name>I82.402</name><desc>Acute embolism and thrombosis of unspecified deep veins of left lower extremity</desc></diag>
          </diag>
        </diag>
      </diag>
    </section>
  </chapter>
  <chapter><name>5</name><desc>Mental (F01-F99)</desc>
    <section id="F10-F19"><desc>Substance use (F10-F19)</desc>
      <diag><name>F10</name><desc>Alcohol related disorders</desc>
        <diag><name>F10.2</name><desc>Alcohol dependence</desc>
          <diag><name>F10.20</name><desc>Alcohol dependence, uncomplicated</desc></diag>
          <diag><name>F10.21</name><desc>Alcohol dependence, in remission</desc></diag>
        </diag>
      </diag>
    </section>
  </chapter>
  <chapter><name>21</name><desc>Factors (Z00-Z99)</desc>
    <section id="Z77-Z99"><desc>Persons with potential health hazards (Z77-Z99)</desc>
      <diag><name>Z86</name><desc>Personal history of certain other diseases</desc>
        <diag><name>Z86.7</name><desc>Personal history of diseases of the circulatory system</desc>
          <diag><name>Z86.71</name><desc>Personal history of venous thrombosis and embolism</desc>
            <diag><name>Z86.718</name><desc>Personal history of other venous thrombosis and embolism</desc></diag>
          </diag>
        </diag>
      </diag>
    </section>
  </chapter>
</ICD10CM.tabular>"#;

    #[test]
    fn past_conditions_get_the_index_history_code() {
        let codes = CodeSet::fixture(TABULAR);
        let (table, unknown) = HistoryCodes::new(&codes);
        let code = |c: &str| codes.id(System::Icd10cm, &normalize_code(c));
        // "H/o left leg DVT": the Index's venous thrombosis history code, by the category.
        assert_eq!(table.of("I82402", false), code("Z86.718"));
        // A history of dependence is dependence in remission (I.C.5.b.1), by "F10.2".
        assert_eq!(table.of("F1020", false), code("F10.21"));
        // No family row for thrombosis, and no row for a code outside the table.
        assert_eq!(table.of("I82402", true), None);
        assert_eq!(table.of("E119", false), None);
        // The fixture lacks most history codes: they are reported, not silently dropped.
        assert!(unknown.contains(&UnknownCode("Z85.038".into())));
    }
}
