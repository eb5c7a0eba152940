//! Alternatives a title joins with "and" or "or" (ICD-10-CM Official Guidelines FY2026,
//! I.A.14: "The word 'and' should be interpreted to mean either 'and' or 'or' when it
//! appears in a title"). "Fall (on) (from) unspecified stairs and steps" is stated by "fall
//! down the stairs"; "Malignant neoplasm of bronchus and lung" by "cancer of the lung".
//!
//! Only a plain pair of single words is read this way ("stairs and steps", "ice and
//! snow"), and only where the classification does not tell the two apart: I87.03
//! "Postthrombotic syndrome with ulcer and inflammation" sits beside I87.01 "... with
//! ulcer", so there "and" means both. Lists with a serial comma ("perforation, localized
//! peritonitis, and gangrene"), "both A and B", and a pair that modifies a following word
//! ("heart and chronic kidney disease") are left as they are.

use std::collections::{HashMap, HashSet};

use crate::codeset::{CodeId, CodeKind, CodeSet, System};
use crate::index::{is_filler, Analyzer};

/// Per ICD-10-CM code, the analysed word pairs its title offers as alternatives.
pub fn title_alternatives(
    codes: &CodeSet,
    analyzer: &Analyzer,
) -> HashMap<CodeId, Vec<(String, String)>> {
    let mut candidates: Vec<(CodeId, Vec<(String, String)>)> = Vec::new();
    for (id, code) in codes.iter() {
        if code.system != System::Icd10cm || code.kind == CodeKind::Block {
            continue;
        }
        let pairs = plain_pairs(&code.title, analyzer);
        if !pairs.is_empty() {
            candidates.push((id, pairs));
        }
    }
    let mut titles: HashMap<CodeId, HashSet<String>> = HashMap::new();
    let mut out = HashMap::new();
    for (id, pairs) in candidates {
        let scope = scope_of(codes, id);
        let kept: Vec<(String, String)> = pairs
            .into_iter()
            .filter(|(a, b)| {
                !within(codes, scope).any(|other| {
                    let words = titles.entry(other).or_insert_with(|| {
                        let title = codes.get(other).title.to_lowercase();
                        let joined = super::with_prefixes_joined(&title).unwrap_or_default();
                        analyzer
                            .words(&title)
                            .into_iter()
                            .chain(analyzer.words(&joined))
                            .collect()
                    });
                    words.contains(a) != words.contains(b)
                })
            })
            .collect();
        if !kept.is_empty() {
            out.insert(id, kept);
        }
    }
    out
}

/// Where the classification could tell the pair apart: the code's parent and all under it
/// (the code itself when its parent is a block of categories).
fn scope_of(codes: &CodeSet, id: CodeId) -> CodeId {
    codes
        .get(id)
        .parent
        .filter(|&p| codes.get(p).kind != CodeKind::Block)
        .unwrap_or(id)
}

/// `root` and every code under it.
fn within(codes: &CodeSet, root: CodeId) -> impl Iterator<Item = CodeId> + '_ {
    let mut stack = vec![root];
    std::iter::from_fn(move || {
        let id = stack.pop()?;
        stack.extend(codes.get(id).children.iter().copied());
        Some(id)
    })
}

/// "A and B" / "A or B" of single content words, standing alone in their phrase.
fn plain_pairs(title: &str, analyzer: &Analyzer) -> Vec<(String, String)> {
    // As the title is also indexed: prefixes joined ("Hypo-osmolality and hyponatremia" is
    // the pair "hypoosmolality", "hyponatremia").
    let title = title.to_lowercase();
    let title = super::with_prefixes_joined(&title).unwrap_or(title);
    let words = analyzer.words_with_offsets(&title);
    // Only spaces between two words: no comma, bracket or hyphen.
    let joined = |i: usize, j: usize| title[words[i].2..words[j].1].trim().is_empty();
    let mut pairs = Vec::new();
    for k in 1..words.len().saturating_sub(1) {
        if !matches!(words[k].0.as_str(), "and" | "or") {
            continue;
        }
        let (a, b) = (&words[k - 1].0, &words[k + 1].0);
        if is_filler(a) || is_filler(b) || a == b || !joined(k - 1, k) || !joined(k, k + 1) {
            continue;
        }
        if title[..words[k - 1].1].trim_end().ends_with("both") {
            continue;
        }
        // The pair is the whole phrase: no content word right before or after it.
        let before_free = k < 2 || !joined(k - 2, k - 1) || is_filler(&words[k - 2].0);
        let after_free =
            k + 2 >= words.len() || !joined(k + 1, k + 2) || is_filler(&words[k + 2].0);
        if before_free && after_free {
            pairs.push((a.clone(), b.clone()));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(title: &str) -> Vec<(String, String)> {
        let analyzer = Analyzer::new();
        plain_pairs(title, &analyzer)
            .into_iter()
            .map(|(a, b)| (a[..3].to_string(), b[..3].to_string()))
            .collect()
    }

    #[test]
    fn a_plain_pair_of_words_is_read_as_alternatives() {
        assert_eq!(
            pairs("Fall (on) (from) unspecified stairs and steps"),
            vec![("sta".into(), "ste".into())]
        );
        assert_eq!(
            pairs("Malignant neoplasm of bronchus and lung"),
            vec![("bro".into(), "lun".into())]
        );
        assert_eq!(
            pairs("Injury of muscle, fascia and tendon at neck level"),
            vec![("fas".into(), "ten".into())]
        );
        assert_eq!(
            pairs("Hypo-osmolality and hyponatremia"),
            vec![("hyp".into(), "hyp".into())]
        );
    }

    #[test]
    fn lists_modifiers_and_both_keep_every_word_required() {
        assert!(
            pairs("Hypertensive heart and chronic kidney disease with heart failure").is_empty()
        );
        assert!(
            pairs("Acute appendicitis with perforation, localized peritonitis, and gangrene")
                .is_empty()
        );
        assert!(
            pairs("Varicose veins of right lower extremity with both ulcer and inflammation")
                .is_empty()
        );
        assert!(pairs("Acute and subacute infective endocarditis").is_empty());
    }
}
