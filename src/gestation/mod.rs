//! Weeks of gestation stated in a pregnancy note ("G2P1 at 28 weeks", "32 wks pregnant"):
//! the Z3A code the Tabular List's Chapter 15 note asks for ("Use additional code from
//! category Z3A, Weeks of gestation, to identify the specific week of the pregnancy, if
//! known"). Only in a note that is about a current pregnancy, and never beside an elective
//! termination (Z33.2) or in the postpartum period, where Z3A does not apply (ICD-10-CM
//! Official Guidelines FY2026, I.C.15 and the Z3A category notes).

use crate::codeset::{CodeId, CodeSet};
use crate::text::Note;

/// Words that make a note about a current pregnancy.
const PREGNANCY_WORDS: &[&str] = &[
    "pregnant",
    "pregnancy",
    "gestation",
    "gestational",
    "preeclampsia",
    "eclampsia",
    "antepartum",
    "prenatal",
    "trimester",
    "iup",
    "gravida",
    "primigravida",
    "multigravida",
    "labor",
    "labour",
    "delivery",
    "delivered",
    "cesarean",
    "caesarean",
    "c-section",
];

/// Words after which Z3A is not reported.
const NOT_WITH: &[&str] = &["postpartum", "termination", "abortion"];

const WEEK_WORDS: &[&str] = &["weeks", "week", "wks", "wk", "w"];

/// A stated week of gestation and its Z3A code.
#[derive(Clone, Debug, PartialEq)]
pub struct GestationMention {
    pub code: CodeId,
    pub tokens: Vec<usize>,
    pub sentence: usize,
}

/// The Z3A codes of the loaded code sets, by week.
#[derive(Clone, Debug, Default)]
pub struct Gestation {
    /// Index: weeks 0..=43 (43: more than 42 weeks).
    by_week: Vec<Option<CodeId>>,
}

impl Gestation {
    pub fn new(codes: &CodeSet) -> Gestation {
        let by_week = (0..=43u32)
            .map(|w| {
                let code = match w {
                    0..=7 => "Z3A01".to_string(),
                    8..=42 => format!("Z3A{w:02}"),
                    _ => "Z3A49".to_string(),
                };
                codes.find(&code)
            })
            .collect();
        Gestation { by_week }
    }

    /// The first stated week of gestation of a pregnancy note, if any.
    pub fn find(&self, note: &Note) -> Option<GestationMention> {
        let is_word = |i: usize, list: &[&str]| {
            note.tokens
                .get(i)
                .is_some_and(|t| list.contains(&t.norm.as_str()))
        };
        let norms: Vec<&str> = note.tokens.iter().map(|t| t.norm.as_str()).collect();
        let pregnancy = norms
            .iter()
            .any(|n| PREGNANCY_WORDS.contains(n) || is_gravida_para(n));
        if !pregnancy || norms.iter().any(|n| NOT_WITH.contains(n)) {
            return None;
        }
        for (i, norm) in norms.iter().enumerate() {
            let Ok(weeks) = norm.parse::<u32>() else {
                continue;
            };
            // "28 weeks", "28-week", "28 + 3 weeks"; not "28 weeks old" (an infant's age).
            let unit = [i + 1, i + 2, i + 3].into_iter().find(|&j| {
                is_word(j, WEEK_WORDS) && (j == i + 1 || norms[i + 1] == "-" || norms[i + 1] == "+")
            });
            let Some(unit) = unit else {
                continue;
            };
            if is_word(unit + 1, &["old", "ago"]) || weeks > 45 {
                continue;
            }
            let code = self
                .by_week
                .get(weeks.min(43) as usize)
                .copied()
                .flatten()?;
            return Some(GestationMention {
                code,
                tokens: (i..=unit).collect(),
                sentence: note.sentence_of_token(i),
            });
        }
        None
    }
}

/// "g2p1", "g1p0": gravida/para shorthand.
fn is_gravida_para(norm: &str) -> bool {
    let mut chars = norm.chars();
    chars.next() == Some('g')
        && norm.len() >= 4
        && norm.contains('p')
        && norm[1..].chars().all(|c| c.is_ascii_digit() || c == 'p')
}

#[cfg(test)]
mod tests {
    use super::is_gravida_para;

    #[test]
    fn gravida_para_shorthand() {
        assert!(is_gravida_para("g2p1"));
        assert!(is_gravida_para("g10p2"));
        assert!(!is_gravida_para("gp"));
        assert!(!is_gravida_para("gap"));
    }
}
