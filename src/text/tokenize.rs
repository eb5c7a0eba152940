//! Tokenization with the `tokenizers` crate's BERT normalizer and offset tracking.
//!
//! Words are maximal runs of alphanumeric chars (plus combining marks); every other
//! non-whitespace char (punctuation, symbols, emoji) is a token of its own. Offsets always
//! refer to the text as received, in chars.

use std::panic::{self, AssertUnwindSafe};
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use tokenizers::normalizers::BertNormalizer;
use tokenizers::{
    NormalizedString, Normalizer, OffsetReferential, OffsetType, PreTokenizedString,
    SplitDelimiterBehavior,
};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::offsets::CharIndex;

/// One token of a note.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Token {
    /// First char of the token (inclusive).
    pub start: usize,
    /// One past the last char of the token.
    pub end: usize,
    /// Lower-cased, accent-stripped form used for matching; punctuation is kept as is.
    pub norm: String,
}

/// BERT cleaning (drops control chars, maps whitespace to ' '), no CJK splitting,
/// accent stripping (NFD, then drop non-spacing marks) and lower-casing.
static NORMALIZER: LazyLock<BertNormalizer> =
    LazyLock::new(|| BertNormalizer::new(true, false, Some(true), true));

/// Chars that form a token on their own: everything that is not part of a word.
/// A superset of BERT's punctuation split that also isolates symbols such as emoji or '°',
/// so that "fever😀" still yields the word "fever".
fn is_isolated_char(c: char) -> bool {
    if c.is_ascii() {
        // Fast path: the Unicode tables below are comparatively slow and most notes are ASCII.
        return !(c.is_ascii_alphanumeric() || c.is_whitespace());
    }
    !(c.is_alphanumeric() || is_combining_mark(c) || c.is_whitespace())
}

/// Tokenizes `text`; token offsets are char offsets into `text`.
///
/// Tokens are non-empty, strictly increasing and non-overlapping.
pub(crate) fn tokenize(text: &str, index: &CharIndex) -> Vec<Token> {
    // The tokenizers crate has had panics on exotic input ("NormalizedString bad split"); the
    // text layer must never panic, so such input falls back to an equivalent plain-Rust pass.
    let spans = match panic::catch_unwind(AssertUnwindSafe(|| normalized_byte_spans(text))) {
        Ok(Ok(spans)) if spans_are_valid(text, &spans) => spans,
        _ => fallback_byte_spans(text),
    };
    tokens_from_byte_spans(text, spans, index)
}

/// (byte start, byte end, norm) of every token, from the tokenizers crate.
type ByteSpan = (usize, usize, String);

fn normalized_byte_spans(text: &str) -> tokenizers::Result<Vec<ByteSpan>> {
    let pretokenized = pretokenize(text)?;
    // Byte offsets, converted by `CharIndex`: the crate's own char conversion builds a hash map
    // of every byte per call and silently falls back to byte offsets when a lookup fails.
    let spans = pretokenized
        .get_splits(OffsetReferential::Original, OffsetType::Byte)
        .into_iter()
        .map(|(norm, (start, end), _)| (start, end, norm.to_owned()))
        .collect();
    Ok(spans)
}

/// Normalizes the whole text, then splits on whitespace (removed) and on non-word chars
/// (isolated): the BERT pre-tokenizer's scheme with symbols isolated too.
fn pretokenize(text: &str) -> tokenizers::Result<PreTokenizedString> {
    let mut normalized = NormalizedString::from(text);
    NORMALIZER.normalize(&mut normalized)?;
    let mut pretokenized = PreTokenizedString::from(normalized);
    pretokenized.split(|_, s| s.split(char::is_whitespace, SplitDelimiterBehavior::Removed))?;
    pretokenized.split(|_, s| s.split(is_isolated_char, SplitDelimiterBehavior::Isolated))?;
    Ok(pretokenized)
}

/// Spans must lie on char boundaries of `text` and be ordered; anything else means the
/// tokenizers output cannot be trusted for this input.
fn spans_are_valid(text: &str, spans: &[ByteSpan]) -> bool {
    let mut previous_start = 0;
    spans.iter().all(|(start, end, _)| {
        let valid = previous_start <= *start
            && start <= end
            && *end <= text.len()
            && text.is_char_boundary(*start)
            && text.is_char_boundary(*end);
        previous_start = *start;
        valid
    })
}

fn tokens_from_byte_spans(text: &str, spans: Vec<ByteSpan>, index: &CharIndex) -> Vec<Token> {
    let mut tokens: Vec<Token> = Vec::with_capacity(spans.len());
    for (byte_start, byte_end, norm) in spans {
        let byte_end = byte_end + trailing_marks_len(text, byte_end);
        let start = index.char_at_or_before(byte_start);
        let end = index.char_at_or_after(byte_end);
        match tokens.last_mut() {
            // One original char can normalize to several chars that end up in different
            // splits; both splits then map to the same original span. Merge them so that
            // tokens never overlap.
            Some(previous) if start < previous.end => {
                previous.end = previous.end.max(end);
                previous.norm.push_str(&norm);
            }
            _ if start < end => tokens.push(Token { start, end, norm }),
            // A split made only of inserted chars has no original text: nothing to point at.
            _ => {}
        }
    }
    tokens
}

/// Byte length of the combining marks that start at `byte`.
///
/// Accent stripping drops a decomposed accent ("e" + U+0301) from the normalized text, and with
/// it from the token's span; the evidence text must keep the accent with its letter.
fn trailing_marks_len(text: &str, byte: usize) -> usize {
    text.get(byte..).map_or(0, |rest| {
        rest.chars()
            .take_while(|&c| !c.is_ascii() && is_combining_mark(c))
            .map(char::len_utf8)
            .sum()
    })
}

/// Plain-Rust equivalent of the tokenizers pipeline, used only if that pipeline fails.
fn fallback_byte_spans(text: &str) -> Vec<ByteSpan> {
    let mut spans = Vec::new();
    // Byte span of the word being read; dropped chars inside it stay inside, trailing ones
    // do not (like the normalizer's alignments).
    let mut word: Option<(usize, usize)> = None;
    let push = |spans: &mut Vec<ByteSpan>, (start, end): (usize, usize)| {
        let norm = fold(&text[start..end]);
        if !norm.is_empty() {
            spans.push((start, end, norm));
        }
    };
    for (byte, c) in text.char_indices() {
        let end = byte + c.len_utf8();
        if is_dropped_char(c) {
            continue;
        }
        if c.is_whitespace() || is_isolated_char(c) {
            if let Some(span) = word.take() {
                push(&mut spans, span);
            }
            if !c.is_whitespace() {
                push(&mut spans, (byte, end));
            }
        } else {
            word = Some(word.map_or((byte, end), |(start, _)| (start, end)));
        }
    }
    if let Some(span) = word {
        push(&mut spans, span);
    }
    spans
}

/// Chars removed by BERT cleaning: exact for ASCII, common format and private-use chars
/// otherwise (used by the fallback only).
fn is_dropped_char(c: char) -> bool {
    match c {
        '\t' | '\n' | '\r' => false,
        '\u{ad}'
        | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}'
        | '\u{feff}'
        | '\u{fffd}'
        | '\u{e000}'..='\u{f8ff}' => true,
        _ => c.is_control(),
    }
}

/// Lower-case and strip accents the way the BERT normalizer does (fallback only).
fn fold(surface: &str) -> String {
    surface
        .nfd()
        .filter(|&c| !is_combining_mark(c) && !is_dropped_char(c))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tokens_of(text: &str) -> Vec<Token> {
        tokenize(text, &CharIndex::new(text))
    }

    /// (surface text, norm) of every token.
    fn surfaces(text: &str) -> Vec<(String, String)> {
        tokens_of(text)
            .into_iter()
            .map(|t| {
                let surface = text.chars().skip(t.start).take(t.end - t.start).collect();
                (surface, t.norm)
            })
            .collect()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(surface, norm)| (surface.to_string(), norm.to_string()))
            .collect()
    }

    #[test]
    fn words_and_punctuation() {
        assert_eq!(
            surfaces("No fever, chills.  BP 120/80; T 38.5°C"),
            pairs(&[
                ("No", "no"),
                ("fever", "fever"),
                (",", ","),
                ("chills", "chills"),
                (".", "."),
                ("BP", "bp"),
                ("120", "120"),
                ("/", "/"),
                ("80", "80"),
                (";", ";"),
                ("T", "t"),
                ("38", "38"),
                (".", "."),
                ("5", "5"),
                ("°", "°"),
                ("C", "c"),
            ])
        );
    }

    #[test]
    fn accents_precomposed_and_combining() {
        // "Café" precomposed (é = U+00E9) and decomposed (e + U+0301).
        let text = "Café cafe\u{301} NAÏVE";
        assert_eq!(
            surfaces(text),
            pairs(&[
                ("Café", "cafe"),
                ("cafe\u{301}", "cafe"),
                ("NAÏVE", "naive")
            ])
        );
        let tokens = tokens_of(text);
        assert_eq!((tokens[1].start, tokens[1].end), (5, 10));
        assert_eq!((tokens[2].start, tokens[2].end), (11, 16));
    }

    #[test]
    fn emoji_offsets() {
        let text = "😀 fever😷 ok 👨‍👩‍👧 end";
        let found = surfaces(text);
        assert_eq!(found[0], ("😀".to_string(), "😀".to_string()));
        assert_eq!(found[1], ("fever".to_string(), "fever".to_string()));
        assert_eq!(found[2], ("😷".to_string(), "😷".to_string()));
        assert_eq!(found[3], ("ok".to_string(), "ok".to_string()));
        // The zero-width joiners are dropped by BERT cleaning; the emoji remain tokens.
        assert_eq!(found.last(), Some(&("end".to_string(), "end".to_string())));
        for token in tokens_of(text) {
            assert!(token.start < token.end && token.end <= text.chars().count());
        }
    }

    #[test]
    fn crlf_tabs_and_control_chars() {
        let text = "a\r\n\tb\u{0}c\r\nd";
        let tokens = tokens_of(text);
        let offsets: Vec<_> = tokens.iter().map(|t| (t.start, t.end)).collect();
        // The NUL inside "b\0c" is dropped from the norm but stays inside the span.
        assert_eq!(offsets, vec![(0, 1), (4, 7), (9, 10)]);
        assert_eq!(tokens[1].norm, "bc");
    }

    #[test]
    fn degenerate_inputs() {
        assert!(tokens_of("").is_empty());
        assert!(tokens_of(" \t\r\n\u{a0}\u{2028}").is_empty());
        assert!(tokens_of("\u{0}\u{1}\u{200b}").is_empty());
        // A lone combining mark is stripped away entirely.
        assert!(tokens_of("\u{301}").is_empty());
        // Dotted capital I lower-cases to two chars; offsets still cover the one source char.
        let tokens = tokens_of("İx");
        assert_eq!((tokens[0].start, tokens[0].end), (0, 2));
    }

    /// Our byte->char conversion must agree with the crate's own char offsets, except that we
    /// deliberately extend a token over the decomposed accents the normalizer dropped.
    #[test]
    fn char_offsets_match_tokenizers_char_mode() {
        for text in [
            "Café cafe\u{301} 😀fever\r\n\tx",
            "İstanbul ﬁne Ⅻ ½ ‼ ;",
            "a\u{0}b \u{200b}c\u{feff}d",
            "ǅemal ß ΣΑΣ o\u{308}\u{301}",
        ] {
            let chars: Vec<char> = text.chars().collect();
            let pretokenized = pretokenize(text).expect("pretokenize");
            let expected: Vec<(usize, usize)> = pretokenized
                .get_splits(OffsetReferential::Original, OffsetType::Char)
                .into_iter()
                .map(|(_, (start, end), _)| {
                    let marks = chars[end..]
                        .iter()
                        .take_while(|&&c| is_combining_mark(c))
                        .count();
                    (start, end + marks)
                })
                .collect();
            let found: Vec<(usize, usize)> =
                tokens_of(text).iter().map(|t| (t.start, t.end)).collect();
            assert_eq!(found, expected, "{text:?}");
        }
    }

    proptest! {
        /// On ASCII input the fallback reproduces the tokenizers pipeline exactly.
        #[test]
        fn fallback_agrees_with_tokenizers_on_ascii(text in "[\\x00-\\x7f]{0,60}") {
            let index = CharIndex::new(&text);
            let primary = tokens_from_byte_spans(
                &text,
                normalized_byte_spans(&text).expect("normalize"),
                &index,
            );
            let fallback = tokens_from_byte_spans(&text, fallback_byte_spans(&text), &index);
            prop_assert_eq!(primary, fallback);
        }

        /// Whatever the input, the fallback yields valid, ordered, non-empty tokens.
        #[test]
        fn fallback_tokens_are_valid(text in any::<String>()) {
            let index = CharIndex::new(&text);
            let tokens = tokens_from_byte_spans(&text, fallback_byte_spans(&text), &index);
            let mut previous_end = 0;
            for token in tokens {
                prop_assert!(previous_end <= token.start && token.start < token.end);
                prop_assert!(token.end <= index.char_len());
                previous_end = token.end;
            }
        }
    }

    #[test]
    fn fallback_agrees_with_tokenizers_on_common_text() {
        let text = "Pt. denies chest-pain; café cafe\u{301} 😀 T 38.5°C\r\n- item";
        let index = CharIndex::new(text);
        let primary = tokens_from_byte_spans(
            text,
            normalized_byte_spans(text).expect("normalize"),
            &index,
        );
        let fallback = tokens_from_byte_spans(text, fallback_byte_spans(text), &index);
        assert_eq!(primary, fallback);
    }
}
