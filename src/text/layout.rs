//! Line structure around tokens: line breaks between tokens, surfaces, adjacency.
//!
//! Tokenization drops whitespace, so sentence and heading detection look at the original
//! text between tokens through this view.

use super::offsets::CharIndex;
use super::tokenize::Token;

/// Read-only view of a tokenized text with per-token line information.
pub(crate) struct Layout<'a> {
    text: &'a str,
    tokens: &'a [Token],
    /// Byte span of every token in `text`.
    byte_spans: Vec<(usize, usize)>,
    /// Line breaks in the whitespace before every token (saturating; 2 means "blank line").
    breaks_before: Vec<u8>,
    /// Index of the first token on the line of every token.
    line_starts: Vec<usize>,
}

impl<'a> Layout<'a> {
    pub(crate) fn new(text: &'a str, tokens: &'a [Token], index: &CharIndex) -> Self {
        let byte_spans: Vec<(usize, usize)> = tokens
            .iter()
            .map(|t| (index.byte_of(t.start), index.byte_of(t.end)))
            .collect();
        let mut previous_end = 0;
        let breaks_before = byte_spans
            .iter()
            .map(|&(start, end)| {
                let gap = text.get(previous_end..start).unwrap_or("");
                previous_end = end;
                count_line_breaks(gap)
            })
            .collect::<Vec<u8>>();
        let mut line_start = 0;
        let line_starts = breaks_before
            .iter()
            .enumerate()
            .map(|(i, &breaks)| {
                if breaks > 0 {
                    line_start = i;
                }
                line_start
            })
            .collect();
        Self {
            text,
            tokens,
            byte_spans,
            breaks_before,
            line_starts,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Char offset where token `i` starts (0 when out of range).
    pub(crate) fn char_start(&self, i: usize) -> usize {
        self.tokens.get(i).map_or(0, |t| t.start)
    }

    /// Char offset where token `i` ends (0 when out of range).
    pub(crate) fn char_end(&self, i: usize) -> usize {
        self.tokens.get(i).map_or(0, |t| t.end)
    }

    /// Normalized form of token `i` ("" when out of range).
    pub(crate) fn norm(&self, i: usize) -> &'a str {
        self.tokens.get(i).map_or("", |t| t.norm.as_str())
    }

    /// Token `i` as written in the original text ("" when out of range).
    pub(crate) fn surface(&self, i: usize) -> &'a str {
        self.byte_spans
            .get(i)
            .and_then(|&(start, end)| self.text.get(start..end))
            .unwrap_or("")
    }

    /// Line breaks between token `i - 1` and token `i` (0, 1 or 2 for "two or more").
    pub(crate) fn breaks_before(&self, i: usize) -> u8 {
        self.breaks_before.get(i).copied().unwrap_or(0)
    }

    /// Whether token `i` is the first token on its line.
    pub(crate) fn starts_line(&self, i: usize) -> bool {
        i == 0 || self.breaks_before(i) > 0
    }

    /// Whether token `i` is the last token on its line.
    pub(crate) fn ends_line(&self, i: usize) -> bool {
        i + 1 >= self.len() || self.breaks_before(i + 1) > 0
    }

    /// Whether tokens `i` and `j` touch (no whitespace or dropped char between them).
    pub(crate) fn glued(&self, i: usize, j: usize) -> bool {
        match (self.tokens.get(i), self.tokens.get(j)) {
            (Some(a), Some(b)) => a.end == b.start,
            _ => false,
        }
    }

    /// Whether token `i` is a word (starts with a letter or digit).
    pub(crate) fn is_word(&self, i: usize) -> bool {
        self.norm(i)
            .chars()
            .next()
            .is_some_and(char::is_alphanumeric)
    }

    /// Whether token `i` is a number (digits only).
    pub(crate) fn is_number(&self, i: usize) -> bool {
        let norm = self.norm(i);
        !norm.is_empty() && norm.chars().all(|c| c.is_ascii_digit())
    }

    /// Whether token `i` as written starts with an upper-case letter.
    pub(crate) fn starts_upper(&self, i: usize) -> bool {
        self.surface(i)
            .chars()
            .next()
            .is_some_and(char::is_uppercase)
    }

    /// Whether token `i` as written starts with a lower-case letter.
    pub(crate) fn starts_lower(&self, i: usize) -> bool {
        self.surface(i)
            .chars()
            .next()
            .is_some_and(char::is_lowercase)
    }

    /// Index of the first token of the line containing token `i`.
    pub(crate) fn line_start(&self, i: usize) -> usize {
        self.line_starts.get(i).copied().unwrap_or(0)
    }
}

/// Counts line breaks in whitespace, treating "\r\n" as one break; saturates at 2.
fn count_line_breaks(gap: &str) -> u8 {
    let mut breaks = 0u8;
    let mut chars = gap.chars().peekable();
    while let Some(c) = chars.next() {
        let is_break = match c {
            '\r' => chars.peek() != Some(&'\n'),
            '\n' | '\u{0b}' | '\u{0c}' | '\u{85}' | '\u{2028}' | '\u{2029}' => true,
            _ => false,
        };
        if is_break {
            breaks = breaks.saturating_add(1);
            if breaks >= 2 {
                break;
            }
        }
    }
    breaks
}

#[cfg(test)]
mod tests {
    use super::super::tokenize::tokenize;
    use super::*;

    #[test]
    fn line_breaks_count_crlf_once() {
        assert_eq!(count_line_breaks(" \t "), 0);
        assert_eq!(count_line_breaks("\r\n"), 1);
        assert_eq!(count_line_breaks("\r"), 1);
        assert_eq!(count_line_breaks("\r\n\r\n"), 2);
        assert_eq!(count_line_breaks("\n \t\n\n\n"), 2);
    }

    #[test]
    fn layout_reports_lines_and_surfaces() {
        let text = "Café au\r\nlait:\r\n\r\nEND";
        let index = CharIndex::new(text);
        let tokens = tokenize(text, &index);
        let layout = Layout::new(text, &tokens, &index);
        assert_eq!(layout.surface(0), "Café");
        assert!(layout.starts_line(0) && !layout.starts_line(1));
        assert!(layout.ends_line(1) && layout.starts_line(2));
        assert!(layout.glued(2, 3));
        assert_eq!(layout.breaks_before(4), 2);
        assert_eq!(layout.line_start(3), 2);
        assert!(layout.starts_upper(0) && layout.starts_lower(2));
        assert_eq!(layout.surface(99), "");
    }
}
