//! How suggestions look in an editor: diagnostics at their evidence spans, and hover markdown
//! with the tabular notes of the codes.

use std::collections::HashSet;
use std::fmt::Write as _;

use lsp_types::{Diagnostic, DiagnosticSeverity, NumberOrString};
use serde::{Deserialize, Serialize};

use super::position::{Encoding, IndexedText};
use crate::codeset::{CodeId, CodeKind, CodeSet, System};
use crate::coding::Suggestion;
use crate::text::Assertion;

/// `source` of every diagnostic this server publishes.
pub const SOURCE: &str = "chartcoder";

/// The engine's evaluated operating threshold: suggestions scoring at least this (and
/// asserted present) show as Information, the rest as hints, so weak guesses stay quiet.
const INFORMATION_SCORE: f32 = 0.1;

/// Char offsets into the note, as the engine reports them.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// What a diagnostic carries in `data`: enough to accept or reject its code from the client's
/// copy of the diagnostic, whatever has been coded since.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SuggestionRef {
    pub code: String,
    pub title: String,
    /// All evidence spans of the suggestion, recorded with a decision.
    pub evidence: Vec<Span>,
}

impl SuggestionRef {
    pub fn of(s: &Suggestion) -> SuggestionRef {
        SuggestionRef {
            code: s.code.clone(),
            title: s.title.clone(),
            evidence: s
                .evidence
                .iter()
                .map(|e| Span {
                    start: e.start,
                    end: e.end,
                })
                .collect(),
        }
    }
}

/// One diagnostic per evidence span of each suggestion.
pub fn diagnostics<'a>(
    text: &IndexedText,
    suggestions: impl IntoIterator<Item = &'a Suggestion>,
    encoding: Encoding,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for s in suggestions {
        let data = serde_json::to_value(SuggestionRef::of(s)).ok();
        for e in &s.evidence {
            out.push(Diagnostic {
                range: text.range(e.start, e.end, encoding),
                severity: Some(severity(s)),
                code: Some(NumberOrString::String(s.code.clone())),
                source: Some(SOURCE.into()),
                message: message(s),
                data: data.clone(),
                ..Diagnostic::default()
            });
        }
    }
    out
}

fn severity(s: &Suggestion) -> DiagnosticSeverity {
    if s.score >= INFORMATION_SCORE && s.assertion == Assertion::Present {
        DiagnosticSeverity::INFORMATION
    } else {
        DiagnosticSeverity::HINT
    }
}

fn message(s: &Suggestion) -> String {
    format!(
        "{} {} (score {:.3}, {})",
        s.code,
        s.title,
        s.score,
        assertion_name(s.assertion)
    )
}

/// The assertion as the JSON API spells it (`present`, `historical`, ...).
fn assertion_name(a: Assertion) -> String {
    serde_json::to_value(a)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Most candidates one hover shows; the rest are one `listSuggestions` away.
const HOVER_CANDIDATES: usize = 5;

/// Markdown for the candidate codes of one span, best first.
pub fn hover(suggestions: &[&Suggestion], codes: Option<&CodeSet>) -> String {
    // Sibling candidates share their category's notes; print those once.
    let mut notes_shown = HashSet::new();
    let mut parts: Vec<String> = suggestions
        .iter()
        .take(HOVER_CANDIDATES)
        .map(|s| suggestion_markdown(s, codes, &mut notes_shown))
        .collect();
    if let Some(more) = suggestions
        .len()
        .checked_sub(HOVER_CANDIDATES)
        .filter(|&n| n > 0)
    {
        parts.push(format!(
            "{more} more candidate{} here (command `chartcoder.listSuggestions`)",
            if more == 1 { "" } else { "s" }
        ));
    }
    parts.join("\n\n---\n\n")
}

fn suggestion_markdown(
    s: &Suggestion,
    codes: Option<&CodeSet>,
    notes_shown: &mut HashSet<CodeId>,
) -> String {
    let system = match s.system {
        System::Icd10cm => "ICD-10-CM",
        System::Icd10pcs => "ICD-10-PCS",
    };
    let mut out = format!(
        "**{}** {}\n\n{system} · score {:.3} · {}",
        s.code,
        escape(&s.title),
        s.score,
        assertion_name(s.assertion)
    );
    if let Some(codes) = codes {
        out.push_str(&tabular_notes(codes, &s.code, notes_shown));
    }
    // Excludes, code-first, use-additional and code-also findings repeat the tabular notes
    // shown above; the others (7th character, history, outpatient uncertainty) are the
    // engine's own.
    let tabular_kinds = ["excludes1", "code_first", "use_additional", "code_also"];
    let rules: Vec<String> = s
        .rules
        .iter()
        .filter(|r| codes.is_none() || !tabular_kinds.contains(&r.kind.as_str()))
        .map(|r| format!("{}: {}", r.kind.replace('_', " "), r.message))
        .collect();
    section(
        &mut out,
        "Coding rules",
        None,
        rules.iter().map(String::as_str),
    );
    out
}

/// The instructional notes of a code and of its ancestors up to the category, which apply to
/// every code below them; notes already in `shown` are referred to, not repeated.
fn tabular_notes(codes: &CodeSet, code: &str, shown: &mut HashSet<CodeId>) -> String {
    let mut out = String::new();
    let Some(id) = codes.find(code) else {
        return out;
    };
    let scope = std::iter::once(id).chain(codes.ancestors(id).filter(|&a| {
        matches!(
            codes.get(a).kind,
            CodeKind::Code | CodeKind::SeventhCharacter
        )
    }));
    for at in scope {
        let c = codes.get(at);
        let Some(notes) = c.notes() else { continue };
        let from = c.display();
        if !shown.insert(at) {
            let _ = write!(out, "\n\nNotes of {from}: as above.");
            continue;
        }
        let from = Some(from.as_str());
        section(
            &mut out,
            "Inclusion terms",
            from,
            notes.inclusion_terms.iter().map(String::as_str),
        );
        section(
            &mut out,
            "Includes",
            from,
            notes.includes.iter().map(String::as_str),
        );
        for (label, list) in [
            ("Excludes1", &notes.excludes1),
            ("Excludes2", &notes.excludes2),
            ("Code first", &notes.code_first),
            ("Use additional code", &notes.use_additional),
            ("Code also", &notes.code_also),
        ] {
            section(&mut out, label, from, list.iter().map(|n| n.text.as_str()));
        }
    }
    out
}

/// `**Label** (from E11):` and a bullet per item; nothing when there are no items.
fn section<'a>(
    out: &mut String,
    label: &str,
    from: Option<&str>,
    items: impl Iterator<Item = &'a str>,
) {
    let mut items = items.peekable();
    if items.peek().is_none() {
        return;
    }
    let _ = write!(out, "\n\n**{label}**");
    if let Some(from) = from {
        let _ = write!(out, " ({from})");
    }
    out.push(':');
    for item in items {
        let _ = write!(out, "\n- {}", escape(item));
    }
}

/// Escapes the characters markdown would read as markup in code titles and notes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coding::{Evidence, RuleNote};
    use crate::text::Section;

    fn suggestion() -> Suggestion {
        Suggestion {
            code: "E11.40".into(),
            system: System::Icd10cm,
            title: "Type 2 diabetes mellitus with diabetic neuropathy, unspecified".into(),
            score: 0.42,
            assertion: Assertion::Present,
            evidence: vec![Evidence {
                start: 2,
                end: 6,
                text: "T2DM".into(),
                section: Section::Unknown,
                basis: Default::default(),
            }],
            rules: vec![RuleNote {
                kind: "use_additional".into(),
                message: "insulin (Z79.4)".into(),
                codes: vec!["Z79.4".into()],
                guideline: Some("I.A.13".into()),
            }],
        }
    }

    #[test]
    fn a_diagnostic_per_span_carries_code_message_and_data() {
        // The emoji is one char but two UTF-16 units: chars 2..6 are units 3..7.
        let text = IndexedText::new("😷 T2DM".into());
        let s = suggestion();
        let d = diagnostics(&text, [&s], Encoding::Utf16);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].range.start.character, 3);
        assert_eq!(d[0].range.end.character, 7);
        assert_eq!(d[0].code, Some(NumberOrString::String("E11.40".into())));
        assert_eq!(d[0].source.as_deref(), Some(SOURCE));
        assert_eq!(d[0].severity, Some(DiagnosticSeverity::INFORMATION));
        assert!(d[0].message.starts_with("E11.40 Type 2"));
        assert!(d[0].message.ends_with("(score 0.420, present)"));
        let data: SuggestionRef = serde_json::from_value(d[0].data.clone().unwrap()).expect("data");
        assert_eq!(data, SuggestionRef::of(&s));
    }

    #[test]
    fn hover_without_code_sets_lists_the_engine_rules() {
        let s = suggestion();
        let md = hover(&[&s], None);
        assert!(md.starts_with("**E11.40** Type 2 diabetes"));
        assert!(md.contains("**Coding rules**:\n- use additional: insulin (Z79.4)"));
        let many: Vec<&Suggestion> = std::iter::repeat_n(&s, 7).collect();
        let md = hover(&many, None);
        assert_eq!(md.matches("**E11.40**").count(), 5);
        assert!(md.ends_with("2 more candidates here (command `chartcoder.listSuggestions`)"));
        assert_eq!(escape("a*b_[c]"), "a\\*b\\_\\[c\\]");
    }
}
