//! Text layer: offsets, normalisation, tokenization, sentences, sections, assertions.
//!
//! All offsets are Unicode scalar (char) offsets into the text as received, half-open
//! `[start, end)`: `text.chars().skip(start).take(end - start)` is the evidence text.
//! Nothing in this module panics on any input.

mod assertion;
mod layout;
mod offsets;
mod sections;
mod sentences;
mod time_expressions;
mod tokenize;

pub use assertion::Assertion;
pub use sections::Section;
pub use sentences::Sentence;
pub use tokenize::Token;

pub(crate) use time_expressions::in_time_expression;

use assertion::ContextIndex;
use layout::Layout;
use offsets::CharIndex;

/// Words a term may begin with that say nothing of the condition.
const LEADING_FILLERS: [&str; 8] = ["of", "the", "a", "an", "to", "for", "in", "on"];

/// A clinical note analysed into tokens, sentences, sections and assertion context.
#[derive(Clone, Debug)]
pub struct Note {
    /// The text as received.
    pub text: String,
    /// Tokens in text order, non-overlapping.
    pub tokens: Vec<Token>,
    /// Sentences in text order; together they cover every token exactly once.
    pub sentences: Vec<Sentence>,
    char_index: CharIndex,
    context: ContextIndex,
}

impl Note {
    /// Tokenizes `text`, splits it into sentences and sections, and indexes assertion
    /// triggers.
    pub fn analyze(text: &str) -> Note {
        let char_index = CharIndex::new(text);
        let tokens = tokenize::tokenize(text, &char_index);
        let layout = Layout::new(text, &tokens, &char_index);
        let sentences = sentences::split_sentences(&layout);
        let lead_ins = sentences::list_lead_ins(&layout, &sentences);
        let context = ContextIndex::new(&tokens, &sentences, &lead_ins);
        Note {
            text: text.to_owned(),
            tokens,
            sentences,
            char_index,
            context,
        }
    }

    /// Length of the text in chars.
    pub fn char_len(&self) -> usize {
        self.char_index.char_len()
    }

    /// Text of chars `[start, end)`; out-of-range or reversed bounds are clamped.
    pub fn slice(&self, start: usize, end: usize) -> String {
        let end = end.min(self.char_len());
        let start = start.min(end);
        let bytes = self.char_index.byte_of(start)..self.char_index.byte_of(end);
        self.text.get(bytes).unwrap_or_default().to_owned()
    }

    /// Index of the sentence containing token `token_index`.
    ///
    /// Out-of-range indices map to the last sentence; a note without tokens has no sentence
    /// and yields 0.
    pub fn sentence_of_token(&self, token_index: usize) -> usize {
        self.sentences
            .partition_point(|s| s.tokens.end <= token_index)
            .min(self.sentences.len().saturating_sub(1))
    }

    /// Assertion of a mention made of tokens `[first, last]` (inclusive indices into
    /// `tokens`) within its sentence.
    ///
    /// The mention is clamped to the sentence of `first`; indices are clamped to the tokens.
    pub fn assertion(&self, first: usize, last: usize) -> Assertion {
        let Some(last_token) = self.tokens.len().checked_sub(1) else {
            return Assertion::Present;
        };
        let (first, last) = (
            first.min(last).min(last_token),
            first.max(last).min(last_token),
        );
        let sentence_index = self.sentence_of_token(first);
        let Some(sentence) = self.sentences.get(sentence_index) else {
            return Assertion::Present;
        };
        let last = last.min(sentence.tokens.end.saturating_sub(1)).max(first);
        // A term may begin with a function word the note's trigger ends on ("history of" +
        // "of colon cancer", the term "cancer of colon"): the mention starts at its first
        // word that says something, so the trigger stands before it.
        let first = (first..last)
            .find(|&t| !LEADING_FILLERS.contains(&self.tokens[t].norm.as_str()))
            .unwrap_or(last);
        self.context
            .assertion(sentence_index, sentence, first, last)
    }

    /// Does a negation written between tokens `previous` and `next` (both excluded, in one
    /// sentence) deny the words from `next` on? A trigger touching `previous` is not
    /// counted: it belongs to the words before the gap ("absence of the left kidney").
    pub fn denied_after_gap(&self, previous: usize, next: usize) -> bool {
        let sentence_index = self.sentence_of_token(next);
        let Some(sentence) = self.sentences.get(sentence_index) else {
            return false;
        };
        previous < next
            && self.sentence_of_token(previous) == sentence_index
            && self.context.denied_from(sentence, previous + 1, next)
    }

    /// Is token `k` denied: one of `denials` among the (up to) four tokens before it, from
    /// `sentence_start` on, with none of `stops` (punctuation, "with", ...) between? A stop
    /// right after one of `passed_after` does not stop ("of" after "signs": "no signs of
    /// infection"), and a comma before one of `axes` does ("without aura, intractable": see
    /// [`crate::codeset::CodeSet::title_qualifiers`]).
    pub fn denied_before(
        &self,
        k: usize,
        sentence_start: usize,
        denials: &[&str],
        stops: &[&str],
        passed_after: &[&str],
        axes: &std::collections::HashSet<String>,
    ) -> bool {
        let from = k.saturating_sub(4).max(sentence_start);
        for i in (from..k).rev() {
            let w = self.tokens[i].norm.as_str();
            if denials.contains(&w) {
                return true;
            }
            let passed = i > from && passed_after.contains(&self.tokens[i - 1].norm.as_str());
            if stops.contains(&w) && !passed {
                return false;
            }
            // A comma that opens another axis ("without aura, intractable") ends the denial.
            if w == ","
                && self
                    .tokens
                    .get(i + 1)
                    .is_some_and(|t| axes.contains(&t.norm))
            {
                return false;
            }
        }
        false
    }

    /// Section of the sentence containing token `token_index` (`Unknown` for an empty note).
    pub fn section_of_token(&self, token_index: usize) -> Section {
        self.sentences
            .get(self.sentence_of_token(token_index))
            .map_or(Section::Unknown, |s| s.section)
    }
}

#[cfg(test)]
mod tests;
