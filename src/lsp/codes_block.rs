//! The block of accepted codes at the end of a note:
//!
//! ```text
//! ...end of the note.
//!
//! Codes:
//! - E11.40 Type 2 diabetes mellitus with diabetic neuropathy, unspecified
//! - J44.9 Chronic obstructive pulmonary disease, unspecified
//! ```
//!
//! The block starts at the last line that is exactly the heading and runs to the end of the
//! note; each line's first word is a code. It is the coder's record, so it is never coded as
//! part of the note.

use std::sync::LazyLock;

use crate::codeset::normalize_code;

pub const DEFAULT_HEADING: &str = "Codes:";

#[derive(Clone, Debug, PartialEq)]
pub struct CodesBlock {
    /// Byte offset of the heading line: the note proper ends here.
    pub start: usize,
    /// Codes listed in the block, normalised (`E1140`).
    pub codes: Vec<String>,
}

impl CodesBlock {
    /// Is `code` (in any spelling) listed?
    pub fn contains(&self, code: &str) -> bool {
        let code = normalize_code(code);
        self.codes.contains(&code)
    }
}

/// The block of a note, if it has one.
pub fn find(text: &str, heading: &str) -> Option<CodesBlock> {
    let heading = heading.trim();
    let start = lines(text)
        .filter(|(_, line)| line.trim().eq_ignore_ascii_case(heading))
        .map(|(start, _)| start)
        .last()?;
    let codes = lines(&text[start..])
        .skip(1)
        .filter_map(|(_, line)| listed_code(line))
        .collect();
    Some(CodesBlock { start, codes })
}

/// The part of the note to code: everything before the block.
pub fn note_part<'a>(text: &'a str, block: Option<&CodesBlock>) -> &'a str {
    block.map_or(text, |b| &text[..b.start])
}

/// Text to append at the end of the note to list `code`, creating the block when absent;
/// `None` when the code is already listed.
pub fn append(text: &str, heading: &str, code: &str, title: &str) -> Option<String> {
    let block = find(text, heading);
    if block.as_ref().is_some_and(|b| b.contains(code)) {
        return None;
    }
    // Write line breaks the way the note does, so the edit does not mix styles.
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let ends_with_break = text.ends_with(['\n', '\r']);
    let entry = format!("- {code} {title}");
    let mut out = String::new();
    if block.is_none() {
        // A blank line between the note and the block.
        let breaks = match (text.is_empty(), ends_with_break) {
            (true, _) => 0,
            (false, true) => 1,
            (false, false) => 2,
        };
        out.push_str(&eol.repeat(breaks));
        out.push_str(heading.trim());
        out.push_str(eol);
        out.push_str(&entry);
        if ends_with_break || text.is_empty() {
            out.push_str(eol);
        }
    } else if ends_with_break {
        out.push_str(&entry);
        out.push_str(eol);
    } else {
        out.push_str(eol);
        out.push_str(&entry);
    }
    Some(out)
}

/// Lines with their byte offsets; `\n`, `\r\n` and `\r` end a line, as in LSP.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start = 0;
    std::iter::from_fn(move || {
        let rest = text.get(start..)?;
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let line = (start, &rest[..end]);
        start += end
            + if rest[end..].starts_with("\r\n") {
                2
            } else {
                1
            };
        Some(line)
    })
}

/// The code a block line lists: its first word, after an optional bullet.
fn listed_code(line: &str) -> Option<String> {
    // ICD-10-CM (E11.40, with or without the dot) or ICD-10-PCS (seven characters, no I or O).
    static CODE: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"^(?:[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?|[0-9A-HJ-NP-Z]{7})$")
            .expect("valid regex")
    });
    let word = line
        .trim_start()
        .trim_start_matches(['-', '*', '+', '•'])
        .split_whitespace()
        .next()?
        .trim_end_matches([',', ';', ':']);
    let upper = word.to_ascii_uppercase();
    CODE.is_match(&upper).then(|| normalize_code(&upper))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_block_is_created_after_a_blank_line() {
        assert_eq!(
            append("Note.\n", "Codes:", "E11.40", "T2DM").as_deref(),
            Some("\nCodes:\n- E11.40 T2DM\n")
        );
        assert_eq!(
            append("Note.", "Codes:", "E11.40", "T2DM").as_deref(),
            Some("\n\nCodes:\n- E11.40 T2DM")
        );
        assert_eq!(
            append("Note.\r\n", "Codes:", "J44.9", "COPD").as_deref(),
            Some("\r\nCodes:\r\n- J44.9 COPD\r\n")
        );
        assert_eq!(
            append("", "Codes:", "J44.9", "COPD").as_deref(),
            Some("Codes:\n- J44.9 COPD\n")
        );
    }

    #[test]
    fn an_existing_block_gets_one_more_line_and_no_duplicates() {
        let text = "Note.\n\nCodes:\n- E11.40 T2DM\n";
        assert_eq!(
            append(text, "Codes:", "J44.9", "COPD").as_deref(),
            Some("- J44.9 COPD\n")
        );
        assert_eq!(append(text, "Codes:", "e1140", "T2DM"), None);
        let unterminated = "Note.\n\nCodes:\n- E11.40 T2DM";
        assert_eq!(
            append(unterminated, "Codes:", "J44.9", "COPD").as_deref(),
            Some("\n- J44.9 COPD")
        );
    }

    #[test]
    fn the_block_is_found_by_its_last_heading_and_excluded_from_the_note() {
        let text = "Codes: none yet\nBP high.\r\n\r\n## codes:\r\n- I10 Hypertension\r\nJ44.9, COPD\r\n* 0016070 bypass\r\nfree text\r\n";
        let block = find(text, "## Codes:").expect("block");
        assert_eq!(block.codes, vec!["I10", "J449", "0016070"]);
        assert_eq!(
            note_part(text, Some(&block)),
            "Codes: none yet\nBP high.\r\n\r\n"
        );
        assert!(find("Codes: E11.9 inline\n", "Codes:").is_none());
        assert_eq!(note_part("plain", None), "plain");
    }
}
