//! Coding rules from the tabular list, applied over a note's set of suggestions:
//! Excludes1 conflicts, code-first / use-additional / code-also hints, and symptom codes
//! integral to a suggested definitive diagnosis.

use crate::codeset::{display_code, CodeId, CodeKind, CodeSet, Note as TabularNote, System};
use crate::coding::RuleNote;

/// A suggestion as the rules see it.
pub struct RuleInput {
    pub code: CodeId,
    pub score: f32,
    /// Sentences holding its evidence.
    pub sentences: Vec<usize>,
}

/// Findings per input (same order) and a score factor per input (Excludes1 demotes the
/// weaker of two codes that cannot be reported together).
pub fn apply(codes: &CodeSet, inputs: &[RuleInput]) -> (Vec<Vec<RuleNote>>, Vec<f32>) {
    let mut notes: Vec<Vec<RuleNote>> = vec![Vec::new(); inputs.len()];
    let mut factors = vec![1.0f32; inputs.len()];
    for (i, a) in inputs.iter().enumerate() {
        if codes.get(a.code).system != System::Icd10cm {
            continue;
        }
        for (j, b) in inputs.iter().enumerate() {
            if i == j || codes.get(b.code).system != System::Icd10cm {
                continue;
            }
            if let Some(note) = excludes1_note(codes, a.code, b.code) {
                let shown = codes.get(b.code).display();
                notes[i].push(RuleNote {
                    kind: "excludes1".into(),
                    message: format!(
                        "Excludes1: {} — not reported together with {shown}",
                        note.text
                    ),
                    codes: vec![shown],
                    guideline: Some("I.A.12.a".into()),
                });
                let weaker = if a.score < b.score || (a.score == b.score && i > j) {
                    i
                } else {
                    j
                };
                factors[weaker] = factors[weaker].min(0.6);
            }
        }
        for id in scope(codes, a.code) {
            let Some(n) = codes.get(id).notes() else {
                continue;
            };
            // I.A.13 etiology/manifestation ("code first", "use additional code"); I.A.17
            // "code also".
            for (kind, list, section) in [
                ("code_first", &n.code_first, "I.A.13"),
                ("use_additional", &n.use_additional, "I.A.13"),
                ("code_also", &n.code_also, "I.A.17"),
            ] {
                for note in list {
                    notes[i].push(RuleNote {
                        kind: kind.into(),
                        message: note.text.clone(),
                        codes: note.refs.iter().map(ref_display).collect(),
                        guideline: Some(section.into()),
                    });
                }
            }
        }
    }
    // A symptom (chapter R) whose every evidence sentence also holds a definitive
    // diagnosis is usually integral to it and not coded separately.
    for (i, a) in inputs.iter().enumerate() {
        let code = &codes.get(a.code).code;
        if !code.starts_with('R') || a.sentences.is_empty() {
            continue;
        }
        let definitive: Vec<&RuleInput> = inputs
            .iter()
            .filter(|b| {
                let c = &codes.get(b.code).code;
                codes.get(b.code).system == System::Icd10cm
                    && !c.starts_with('R')
                    && !c.starts_with('Z')
            })
            .filter(|b| a.sentences.iter().all(|s| b.sentences.contains(s)))
            .collect();
        if let Some(b) = definitive.first() {
            let shown = codes.get(b.code).display();
            notes[i].push(RuleNote {
                kind: "integral_symptom".into(),
                message: format!(
                    "symptom may be integral to {shown}; code it only if not routinely associated"
                ),
                codes: vec![shown],
                guideline: Some("I.B.5".into()),
            });
        }
    }
    (notes, factors)
}

/// The code and its ancestors up to the category (chapter and block notes are too broad to
/// act on automatically).
/// The Excludes1 note of `code` (or of an ancestor up to its category) that names `other`.
pub fn excludes1_note(codes: &CodeSet, code: CodeId, other: CodeId) -> Option<&TabularNote> {
    let other_code = &codes.get(other).code;
    scope(codes, code)
        .filter_map(|id| codes.get(id).notes())
        .flat_map(|n| n.excludes1.iter())
        .find(|n| n.refs.iter().any(|r| r.covers(other_code)))
}

fn scope(codes: &CodeSet, id: CodeId) -> impl Iterator<Item = CodeId> + '_ {
    std::iter::once(id)
        .chain(codes.ancestors(id))
        .filter(move |&a| {
            matches!(
                codes.get(a).kind,
                CodeKind::Code | CodeKind::SeventhCharacter
            )
        })
}

fn ref_display(r: &crate::codeset::CodeRef) -> String {
    match r {
        crate::codeset::CodeRef::Prefix(p) => display_code(p, System::Icd10cm),
        crate::codeset::CodeRef::Range(lo, hi) => format!("{lo}-{hi}"),
    }
}

/// The 7th character for a base code that needs one, from what the note states about the
/// encounter; `None` when the code needs none.
pub fn seventh_character_for(
    codes: &CodeSet,
    base: CodeId,
    note_text_lower: &str,
) -> Option<(CodeId, RuleNote)> {
    let definition = codes.seventh_characters(base)?;
    if !codes.get(base).children.is_empty()
        && codes.get(codes.get(base).children[0]).kind != CodeKind::SeventhCharacter
    {
        return None;
    }
    let children = &codes.get(base).children;
    // Only the characters this code takes (some are excluded by its 6th character).
    let available: Vec<(char, String)> = definition
        .extensions
        .iter()
        .filter(|(ch, _)| children.iter().any(|&c| codes.get(c).code.ends_with(*ch)))
        .cloned()
        .collect();
    let wanted = crate::guidelines::seventh::choose(&available, note_text_lower).unwrap_or('A');
    let chosen = children
        .iter()
        .copied()
        .find(|&c| codes.get(c).code.ends_with(wanted))
        .or_else(|| children.first().copied())?;
    let choices: Vec<String> = definition
        .extensions
        .iter()
        .map(|(c, m)| format!("{c} = {m}"))
        .collect();
    let note = RuleNote {
        kind: "seventh_character".into(),
        message: format!(
            "7th character chosen from the note's wording ({}); confirm: {}",
            codes.get(chosen).code.chars().last().unwrap_or(wanted),
            choices.join("; ")
        ),
        codes: children.iter().map(|&c| codes.get(c).display()).collect(),
        guideline: Some("I.A.5".into()),
    };
    Some((chosen, note))
}
