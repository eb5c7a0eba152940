//! Char offsets (what the engine reports) <-> LSP positions (line, code units of the
//! negotiated encoding).
//!
//! LSP counts a position's `character` in UTF-16 code units unless client and server agree on
//! another encoding, and ends lines at `\n`, `\r\n` or `\r`. The engine counts Unicode scalar
//! values from the start of the text. Getting this wrong shifts every span after the first
//! emoji or accented letter written in decomposed form, so the conversion lives here alone.

use lsp_types::{Position, PositionEncodingKind, Range};

/// Position encodings this server speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Encoding {
    /// The LSP default, which every client supports.
    #[default]
    Utf16,
    /// Code points: the engine's own offsets, offered by some clients.
    Utf32,
}

impl Encoding {
    /// The first of the client's offered encodings that we speak; UTF-16 when it offers none
    /// of them (the protocol makes UTF-16 mandatory for both sides).
    pub fn negotiate<'a>(offered: impl IntoIterator<Item = &'a str>) -> Encoding {
        offered
            .into_iter()
            .find_map(|kind| match kind {
                "utf-16" => Some(Encoding::Utf16),
                "utf-32" => Some(Encoding::Utf32),
                _ => None,
            })
            .unwrap_or_default()
    }

    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf16 => PositionEncodingKind::UTF16,
            Encoding::Utf32 => PositionEncodingKind::UTF32,
        }
    }

    fn units(self, c: char) -> u32 {
        match self {
            Encoding::Utf16 => c.len_utf16() as u32,
            Encoding::Utf32 => 1,
        }
    }
}

/// A document's text with its line starts, for position conversion in both directions.
#[derive(Clone, Debug, Default)]
pub struct IndexedText {
    text: String,
    /// (char offset, byte offset) at which each line starts; the first line starts at 0.
    lines: Vec<(usize, usize)>,
    chars: usize,
}

impl IndexedText {
    pub fn new(text: String) -> IndexedText {
        let mut lines = vec![(0, 0)];
        let mut chars = 0;
        let mut iter = text.char_indices().peekable();
        while let Some((byte, c)) = iter.next() {
            chars += 1;
            let mut end = byte + c.len_utf8();
            // `\r\n` is one line break, so the `\n` is consumed with its `\r`.
            if c == '\r' && matches!(iter.peek(), Some((_, '\n'))) {
                iter.next();
                chars += 1;
                end += 1;
            }
            if c == '\n' || c == '\r' {
                lines.push((chars, end));
            }
        }
        IndexedText { text, lines, chars }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn into_string(self) -> String {
        self.text
    }

    /// Length in chars.
    pub fn len_chars(&self) -> usize {
        self.chars
    }

    /// The LSP position of a char offset (clamped to the end of the text).
    pub fn position(&self, offset: usize, encoding: Encoding) -> Position {
        let offset = offset.min(self.chars);
        let line = self.lines.partition_point(|&(start, _)| start <= offset) - 1;
        let (start_char, start_byte) = self.lines[line];
        let character = self.text[start_byte..]
            .chars()
            .take(offset - start_char)
            .map(|c| encoding.units(c))
            .sum();
        Position::new(line as u32, character)
    }

    pub fn range(&self, start: usize, end: usize, encoding: Encoding) -> Range {
        Range::new(self.position(start, encoding), self.position(end, encoding))
    }

    /// The char offset of an LSP position. As the protocol asks, a line past the end means the
    /// end of the text and a character past the end of its line means the end of that line; a
    /// position inside a character (half a surrogate pair) falls back to that character's start.
    pub fn offset(&self, position: Position, encoding: Encoding) -> usize {
        let Some(&(start_char, start_byte)) = self.lines.get(position.line as usize) else {
            return self.chars;
        };
        let wanted = position.character;
        let mut units = 0;
        let mut offset = start_char;
        for c in self.text[start_byte..].chars() {
            let width = encoding.units(c);
            if c == '\n' || c == '\r' || units + width > wanted {
                break;
            }
            units += width;
            offset += 1;
        }
        offset
    }

    /// Char offsets of an LSP range, ordered even if the client sent them reversed.
    pub fn offsets(&self, range: Range, encoding: Encoding) -> (usize, usize) {
        let a = self.offset(range.start, encoding);
        let b = self.offset(range.end, encoding);
        (a.min(b), a.max(b))
    }

    /// The position just past the last character, where appended text goes.
    pub fn end(&self, encoding: Encoding) -> Position {
        self.position(self.chars, encoding)
    }

    /// Byte offset of a char offset (clamped), for editing the text.
    pub fn byte_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.chars);
        let line = self.lines.partition_point(|&(start, _)| start <= offset) - 1;
        let (start_char, start_byte) = self.lines[line];
        self.text[start_byte..]
            .char_indices()
            .nth(offset - start_char)
            .map_or(self.text.len(), |(byte, _)| start_byte + byte)
    }

    /// Replaces the text of a range (an incremental change) and re-indexes.
    pub fn replace(self, range: Range, with: &str, encoding: Encoding) -> IndexedText {
        let (start, end) = self.offsets(range, encoding);
        let (start, end) = (self.byte_of(start), self.byte_of(end));
        let mut text = self.text;
        text.replace_range(start..end, with);
        IndexedText::new(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> Position {
        Position::new(line, character)
    }

    /// Every char offset maps to a position and back to itself (except between the `\r` and
    /// the `\n` of a line break, which is no place in a line).
    fn assert_round_trip(text: &str, encoding: Encoding) {
        let t = IndexedText::new(text.to_string());
        let chars: Vec<char> = text.chars().collect();
        for offset in 0..=t.len_chars() {
            if offset > 0 && chars[offset - 1] == '\r' && chars.get(offset) == Some(&'\n') {
                continue;
            }
            let p = t.position(offset, encoding);
            assert_eq!(
                t.offset(p, encoding),
                offset,
                "{text:?} at {offset} ({p:?})"
            );
        }
    }

    #[test]
    fn ascii_positions_count_chars_per_line() {
        let t = IndexedText::new("abc\ndef\n".into());
        assert_eq!(t.position(0, Encoding::Utf16), pos(0, 0));
        assert_eq!(t.position(3, Encoding::Utf16), pos(0, 3));
        assert_eq!(t.position(4, Encoding::Utf16), pos(1, 0));
        assert_eq!(t.position(6, Encoding::Utf16), pos(1, 2));
        assert_eq!(t.end(Encoding::Utf16), pos(2, 0));
        assert_eq!(t.offset(pos(1, 1), Encoding::Utf16), 5);
        assert_round_trip("abc\ndef\n", Encoding::Utf16);
    }

    #[test]
    fn emoji_is_two_utf16_units_and_one_utf32_unit() {
        // 😷 is outside the BMP: a surrogate pair in UTF-16.
        let text = "Pt 😷 has COPD";
        let t = IndexedText::new(text.into());
        let copd = text[..text.find("COPD").unwrap()].chars().count();
        assert_eq!(copd, 9);
        assert_eq!(t.position(copd, Encoding::Utf16), pos(0, 10));
        assert_eq!(t.position(copd, Encoding::Utf32), pos(0, 9));
        assert_eq!(t.offset(pos(0, 10), Encoding::Utf16), copd);
        assert_eq!(t.offset(pos(0, 9), Encoding::Utf32), copd);
        // Half a surrogate pair falls back to the emoji's start.
        assert_eq!(t.offset(pos(0, 4), Encoding::Utf16), 3);
        assert_round_trip(text, Encoding::Utf16);
        assert_round_trip(text, Encoding::Utf32);
    }

    #[test]
    fn crlf_is_one_line_break() {
        let text = "a\r\nbé\r\n\r\nc\rd";
        let t = IndexedText::new(text.into());
        assert_eq!(t.position(3, Encoding::Utf16), pos(1, 0));
        assert_eq!(t.position(5, Encoding::Utf16), pos(1, 2));
        assert_eq!(t.position(7, Encoding::Utf16), pos(2, 0));
        assert_eq!(t.position(9, Encoding::Utf16), pos(3, 0));
        // A lone `\r` ends a line too.
        assert_eq!(t.position(11, Encoding::Utf16), pos(4, 0));
        // Past the end of a line means its end, before the `\r\n`.
        assert_eq!(t.offset(pos(1, 99), Encoding::Utf16), 5);
        assert_eq!(t.offset(pos(99, 0), Encoding::Utf16), t.len_chars());
        assert_round_trip(text, Encoding::Utf16);
    }

    #[test]
    fn combining_marks_are_chars_of_their_own() {
        // "Me\u{301}nie\u{300}re": decomposed accents are separate code points, one UTF-16 unit each.
        let text = "Me\u{301}nie\u{300}re disease";
        let t = IndexedText::new(text.into());
        let disease = text[..text.find("disease").unwrap()].chars().count();
        assert_eq!(disease, 10);
        assert_eq!(t.position(disease, Encoding::Utf16), pos(0, 10));
        assert_eq!(t.position(disease, Encoding::Utf32), pos(0, 10));
        assert_round_trip(text, Encoding::Utf16);
    }

    #[test]
    fn negotiation_takes_the_first_supported_and_defaults_to_utf16() {
        assert_eq!(
            Encoding::negotiate(["utf-8", "utf-32", "utf-16"]),
            Encoding::Utf32
        );
        assert_eq!(Encoding::negotiate(["utf-16", "utf-32"]), Encoding::Utf16);
        assert_eq!(Encoding::negotiate(["utf-8"]), Encoding::Utf16);
        assert_eq!(Encoding::negotiate([]), Encoding::Utf16);
    }

    #[test]
    fn incremental_edits_use_the_negotiated_units() {
        let t = IndexedText::new("😷 COPD\r\nnext".into());
        let t = t.replace(Range::new(pos(0, 3), pos(0, 7)), "asthma", Encoding::Utf16);
        assert_eq!(t.as_str(), "😷 asthma\r\nnext");
        let t = t.replace(Range::new(pos(1, 0), pos(1, 0)), "x", Encoding::Utf16);
        assert_eq!(t.as_str(), "😷 asthma\r\nxnext");
        assert_eq!(t.byte_of(99), t.as_str().len());
    }
}
