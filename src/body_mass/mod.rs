//! A stated adult body mass index ("BMI 42", "BMI of 31.4", "body mass index: 18") and its
//! Z68 code. The value ranges are read from the loaded code sets' Z68 titles ("Body mass
//! index [BMI] 40.0-44.9, adult"), so no range is written here. Whether the code is
//! reported is the guidelines' decision: I.C.21.c.3 allows BMI codes only beside an
//! associated reportable diagnosis such as obesity (`guidelines/data/only_with.tsv`).

use crate::codeset::{CodeId, CodeSet};
use crate::text::Note;

/// A stated BMI value and its Z68 code.
#[derive(Clone, Debug, PartialEq)]
pub struct BodyMassMention {
    pub code: CodeId,
    pub tokens: Vec<usize>,
    pub sentence: usize,
}

/// The adult Z68 codes of the loaded code sets with the BMI range each covers.
#[derive(Clone, Debug, Default)]
pub struct BodyMassIndex {
    /// (lowest, highest) value, inclusive, and the code.
    ranges: Vec<(f32, f32, CodeId)>,
}

/// Words that introduce the value, between the name and the number.
const LINKING: &[&str] = &["of", "is", "was", ":", "=", "at", "now"];

impl BodyMassIndex {
    pub fn new(codes: &CodeSet) -> BodyMassIndex {
        let Some(z68) = codes.find("Z68") else {
            return BodyMassIndex::default();
        };
        // The codes below Z68 (not a scan of the whole code set at start-up).
        let mut below = Vec::new();
        let mut stack = vec![z68];
        while let Some(id) = stack.pop() {
            below.push(id);
            stack.extend(codes.get(id).children.iter().copied());
        }
        let mut ranges = below
            .into_iter()
            .filter(|&id| codes.get(id).billable)
            .filter_map(|id| {
                let title = codes.get(id).title.to_ascii_lowercase();
                let adult = title.strip_suffix(", adult")?;
                let range = adult.rsplit(']').next()?.trim();
                let (low, high) = if let Some(v) = range.strip_suffix(" or less") {
                    (0.0, v.parse().ok()?)
                } else if let Some(v) = range.strip_suffix(" or greater") {
                    (v.parse().ok()?, f32::MAX)
                } else {
                    let (a, b) = range.split_once('-')?;
                    (a.trim().parse().ok()?, b.trim().parse().ok()?)
                };
                Some((low, high, id))
            })
            .collect::<Vec<(f32, f32, CodeId)>>();
        ranges.sort_by(|a, b| a.0.total_cmp(&b.0));
        BodyMassIndex { ranges }
    }

    /// The first stated adult BMI value of the note with a Z68 code, if any.
    pub fn find(&self, note: &Note) -> Option<BodyMassMention> {
        let norms: Vec<&str> = note.tokens.iter().map(|t| t.norm.as_str()).collect();
        for (i, norm) in norms.iter().enumerate() {
            let name_end = if *norm == "bmi" {
                i
            } else if norms.get(i..i + 3) == Some(&["body", "mass", "index"][..]) {
                i + 2
            } else {
                continue;
            };
            let mut at = name_end + 1;
            while at < norms.len() && at <= name_end + 2 && LINKING.contains(&norms[at]) {
                at += 1;
            }
            let Some((value, last)) = number_at(&norms, at) else {
                continue;
            };
            let Some(&(_, _, code)) = self
                .ranges
                .iter()
                .find(|(low, high, _)| *low <= value && value <= *high + 0.05)
            else {
                continue;
            };
            return Some(BodyMassMention {
                code,
                tokens: (i..=last).collect(),
                sentence: note.sentence_of_token(i),
            });
        }
        None
    }
}

/// The number starting at token `at` ("42", "31.4" as one token or as "31 . 4"), and its
/// last token.
fn number_at(norms: &[&str], at: usize) -> Option<(f32, usize)> {
    let whole = norms.get(at)?;
    if !whole.chars().next()?.is_ascii_digit() {
        return None;
    }
    if let (Some(&"."), Some(fraction)) = (norms.get(at + 1), norms.get(at + 2)) {
        if !whole.contains('.') && fraction.chars().all(|c| c.is_ascii_digit()) {
            if let Ok(v) = format!("{whole}.{fraction}").parse::<f32>() {
                return Some((v, at + 2));
            }
        }
    }
    let value: f32 = whole.parse().ok()?;
    // A BMI is between 5 and 150; "BMI 2020" is a year, not a value.
    (5.0..=150.0).contains(&value).then_some((value, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABULAR: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.tabular>
  <version>2026</version>
  <chapter><name>21</name><desc>Factors influencing health status (Z00-Z99)</desc>
    <section id="Z68-Z68"><desc>Body mass index [BMI] (Z68)</desc>
      <diag><name>Z68</name><desc>Body mass index [BMI]</desc>
        <diag><name>Z68.1</name><desc>Body mass index [BMI] 19.9 or less, adult</desc></diag>
        <diag><name>Z68.3</name><desc>Body mass index [BMI] 30-39, adult</desc>
          <diag><name>Z68.31</name><desc>Body mass index [BMI] 31.0-31.9, adult</desc></diag>
        </diag>
        <diag><name>Z68.4</name><desc>Body mass index [BMI] 40 or greater, adult</desc>
          <diag><name>Z68.41</name><desc>Body mass index [BMI] 40.0-44.9, adult</desc></diag>
          <diag><name>Z68.45</name><desc>Body mass index [BMI] 70 or greater, adult</desc></diag>
        </diag>
        <diag><name>Z68.5</name><desc>Body mass index [BMI] pediatric</desc>
          <diag><name>Z68.54</name><desc>Body mass index [BMI] pediatric, greater than or equal to 95th percentile for age</desc></diag>
        </diag>
      </diag>
    </section>
  </chapter>
</ICD10CM.tabular>
"#;

    fn found(text: &str) -> Option<String> {
        let codes = CodeSet::fixture(TABULAR);
        let bmi = BodyMassIndex::new(&codes);
        bmi.find(&Note::analyze(text))
            .map(|m| codes.get(m.code).display())
    }

    #[test]
    fn the_stated_value_selects_the_range_of_the_z68_titles() {
        assert_eq!(found("Morbid obesity, BMI 42.").as_deref(), Some("Z68.41"));
        assert_eq!(found("BMI of 31.4 today.").as_deref(), Some("Z68.31"));
        assert_eq!(found("Body mass index: 18").as_deref(), Some("Z68.1"));
        assert_eq!(found("BMI 74").as_deref(), Some("Z68.45"));
        // No value, or a year, is no BMI.
        assert_eq!(found("BMI counselling given."), None);
        assert_eq!(found("BMI 2020 chart review."), None);
    }
}
