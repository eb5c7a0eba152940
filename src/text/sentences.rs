//! Sentence splitting tuned for clinical notes.
//!
//! Splits on `. ! ? ;` (not on abbreviations, decimals, initials or list numbers), on blank
//! lines, before list items and headings, and after heading lines; joins hard-wrapped lines
//! that continue a sentence. Every token belongs to exactly one sentence.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::layout::Layout;
use super::sections::{heading_at, Section};

/// One sentence (or heading, or list item) of a note.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sentence {
    /// Char offset of the first token's start.
    pub start: usize,
    /// Char offset of the last token's end.
    pub end: usize,
    /// Indices into `Note::tokens`.
    pub tokens: Range<usize>,
    /// Section the sentence belongs to (a heading belongs to the section it opens).
    pub section: Section,
}

/// Titles and other abbreviations that are never followed by a sentence break.
const TITLE_ABBREVIATIONS: &[&str] = &[
    "dr", "drs", "mr", "mrs", "ms", "mx", "prof", "st", "sr", "vs", "v", "approx", "apprx", "cf",
    "viz", "eg", "ie", "resp",
];

/// Abbreviations that end a sentence only when the next word is capitalized or on a new line.
const CONDITIONAL_ABBREVIATIONS: &[&str] = &[
    "etc", "pt", "pts", "jr", "yr", "yrs", "hr", "hrs", "wk", "wks", "mo", "mos", "min", "mins",
    "sec", "tab", "tabs", "cap", "caps", "inc", "dept", "al", "max", "avg", "temp", "sig", "disp",
    "qty", "misc", "dx", "rx", "hx", "tx", "sx", "fx",
];

/// Abbreviations followed by a number ("No. 5", "Fig. 2").
const NUMBER_ABBREVIATIONS: &[&str] = &["no", "nos", "fig", "vol", "ref", "p", "pp"];

/// Words after which a capitalized single letter plus '.' is an initial ("seen by J. Smith").
const NAME_INTRODUCERS: &[&str] = &[
    "by",
    "with",
    "to",
    "from",
    "and",
    "per",
    "dr",
    "mr",
    "mrs",
    "ms",
    "cc",
    "signed",
    "attending",
    "resident",
    "physician",
    "nurse",
    "np",
    "pa",
    "md",
    "rn",
    "do",
];

/// Words that cannot end a sentence: a line ending with one continues on the next line.
const CONTINUATION_WORDS: &[&str] = &[
    "and", "or", "nor", "but", "of", "with", "without", "the", "a", "an", "to", "for", "in", "on",
    "at", "by", "from", "as", "than", "that", "which", "who", "is", "was", "are", "were", "has",
    "have", "had", "no", "not", ",", "-", "/", "(", "&", "+",
];

/// Tokens that start a list item when first on their line.
const BULLETS: &[&str] = &[
    "-", "*", "#", "•", "·", "‣", "◦", "–", "—", "▪", "■", "○", "●", "→", "+",
];

/// Closing punctuation that stays with the sentence it follows ("(see above.)").
const CLOSERS: &[&str] = &[")", "]", "}", "\"", "'", "”", "’", "»"];

fn is_terminal_punctuation(norm: &str) -> bool {
    matches!(
        norm,
        "." | "!" | "?" | ";" | "…" | "‼" | "⁇" | "。" | "！" | "？" | "；"
    )
}

/// Splits the tokens of `layout` into sentences, tracking sections along the way.
pub(crate) fn split_sentences(layout: &Layout) -> Vec<Sentence> {
    let splitter = Splitter { layout };
    let n = layout.len();
    let mut sentences = Vec::new();
    let mut section = Section::Unknown;
    let mut i = 0;
    while i < n {
        // `i` starts a sentence: a heading here is a sentence of its own.
        if let Some((end, heading_section)) = heading_at(layout, i) {
            section = heading_section;
            sentences.push(splitter.sentence(i..end, section));
            i = end;
            continue;
        }
        let start = i;
        let mut pending_end = false;
        while i + 1 < n {
            pending_end |= splitter.ends_sentence(i);
            if splitter.breaks_between(i, i + 1, pending_end) {
                break;
            }
            i += 1;
        }
        sentences.push(splitter.sentence(start..i + 1, section));
        i += 1;
    }
    sentences
}

/// Most words in a line that still counts as a list entry without a bullet ("fever").
const MAX_BARE_ITEM_WORDS: usize = 4;

/// For every sentence, the index of the lead-in sentence whose list it belongs to, if any.
///
/// A lead-in is a sentence ending with ':' at the end of its line ("Denies:"). The items are
/// the sentences on the following lines, up to a blank line, a lead-in or a line that is not
/// an item: items start with a bullet or number, or are short lines of at most
/// `MAX_BARE_ITEM_WORDS` words. Assertion triggers of the lead-in apply to its items.
pub(crate) fn list_lead_ins(layout: &Layout, sentences: &[Sentence]) -> Vec<Option<usize>> {
    let splitter = Splitter { layout };
    let mut lead_ins = vec![None; sentences.len()];
    let mut current: Option<usize> = None;
    for (index, sentence) in sentences.iter().enumerate() {
        let first = sentence.tokens.start;
        let last = sentence.tokens.end.saturating_sub(1);
        let is_item = layout.breaks_before(first) == 1
            && (splitter.starts_list_item(first)
                || layout.ends_line(last)
                    && (first..=last).filter(|&k| layout.is_word(k)).count()
                        <= MAX_BARE_ITEM_WORDS);
        if !is_item {
            current = None;
        }
        if layout.norm(last) == ":" {
            current = layout.ends_line(last).then_some(index);
        } else if let Some(lead_in) = current {
            lead_ins[index] = Some(lead_in);
        }
    }
    lead_ins
}

struct Splitter<'l, 'a> {
    layout: &'l Layout<'a>,
}

impl Splitter<'_, '_> {
    fn sentence(&self, tokens: Range<usize>, section: Section) -> Sentence {
        let start = self.layout.char_start(tokens.start);
        let end = self.layout.char_end(tokens.end.saturating_sub(1));
        Sentence {
            start,
            end,
            tokens,
            section,
        }
    }

    /// Whether a sentence break falls between tokens `i` and `j = i + 1`.
    /// `pending_end`: a sentence-ending punctuation mark was seen at or before `i`.
    fn breaks_between(&self, i: usize, j: usize, pending_end: bool) -> bool {
        let layout = self.layout;
        if pending_end {
            // Keep closing quotes/brackets and runs like "?!" or "..." with their sentence.
            let norm = layout.norm(j);
            let trailing = CLOSERS.contains(&norm) || is_terminal_punctuation(norm);
            return !(layout.glued(i, j) && trailing);
        }
        match layout.breaks_before(j) {
            0 => false,
            breaks => {
                breaks >= 2
                    || self.starts_list_item(j)
                    || layout.starts_line(j) && heading_at(layout, j).is_some()
                    || layout.norm(i) == ":"
                    || self.is_caps_line_end(i)
                    || !self.continues_line(i, j)
            }
        }
    }

    /// Whether token `i` is punctuation that ends its sentence.
    fn ends_sentence(&self, i: usize) -> bool {
        let norm = self.layout.norm(i);
        match norm {
            "." => self.period_ends_sentence(i),
            "?" | "？" => self.question_mark_ends_sentence(i),
            _ => is_terminal_punctuation(norm),
        }
    }

    /// '?' also marks uncertainty ("? pneumonia", "r/o ?MI"); it ends a sentence only when it
    /// follows a word directly and does not lead into one.
    fn question_mark_ends_sentence(&self, i: usize) -> bool {
        let layout = self.layout;
        let j = i + 1;
        if layout.glued(i, j) && layout.is_word(j) {
            return false;
        }
        let follows_word = i > 0 && layout.glued(i - 1, i);
        follows_word || layout.ends_line(i)
    }

    fn period_ends_sentence(&self, i: usize) -> bool {
        let layout = self.layout;
        let next = i + 1;
        let has_next = next < layout.len();
        let next_on_same_line = has_next && layout.breaks_before(next) == 0;
        let Some(word) = i.checked_sub(1).filter(|&p| layout.glued(p, i)) else {
            // " . " on its own ends the sentence.
            return true;
        };
        let word_norm = layout.norm(word);
        let next_glued = layout.glued(i, next);

        // Inside a number or dotted word: "3.5", "e.g", "www.x.org" (but "fever.No" splits).
        if layout.is_word(word) && next_glued && layout.is_word(next) {
            let missing_space = !layout.is_number(word)
                && word_norm.chars().count() > 1
                && layout.starts_upper(next)
                && layout.norm(next).chars().count() > 1;
            return missing_space;
        }
        if TITLE_ABBREVIATIONS.contains(&word_norm) {
            return false;
        }
        let next_starts_sentence = !next_on_same_line || layout.starts_upper(next);
        if CONDITIONAL_ABBREVIATIONS.contains(&word_norm) {
            return next_starts_sentence;
        }
        if NUMBER_ABBREVIATIONS.contains(&word_norm) && next_on_same_line && layout.is_number(next)
        {
            return false;
        }
        // List marker "1." or "a." first on its line, or inline after a colon or a sentence
        // end ("Impression: 1. Pneumonia. 2. CHF.").
        let is_marker = layout.is_number(word) && word_norm.len() <= 3
            || word_norm.chars().count() == 1 && layout.is_word(word);
        let item_start = match word.checked_sub(1) {
            None => true,
            Some(before) => {
                let before_norm = layout.norm(before);
                layout.starts_line(word)
                    || (before_norm == ":" || is_terminal_punctuation(before_norm))
                        && !layout.glued(before, word)
            }
        };
        if is_marker && item_start {
            return false;
        }
        if word_norm.chars().count() == 1 && layout.is_word(word) && !layout.is_number(word) {
            // Final period of a dotted abbreviation: "e.g.", "b.i.d.", "a.m.".
            let dotted = word >= 2 && layout.norm(word - 1) == "." && layout.glued(word - 1, word);
            if dotted {
                // "e.g." and "i.e." introduce examples and never end a sentence.
                let never_ends =
                    matches!((layout.norm(word - 2), word_norm), ("e", "g") | ("i", "e"));
                return !never_ends && next_starts_sentence;
            }
            if self.is_initial(word) && next_on_same_line && layout.starts_upper(next) {
                return false;
            }
            // An abbreviated genus: "E. coli", "S. aureus", "H. pylori", "C. difficile".
            if layout.starts_upper(word)
                && next_on_same_line
                && layout.is_word(next)
                && !layout.starts_upper(next)
                && !layout.is_number(next)
            {
                return false;
            }
        }
        true
    }

    /// Whether the capitalized single letter `word` (followed by '.') is a person's initial:
    /// "J. Smith", "Dr. J. Smith", "John F. Kennedy", "seen by J. Smith" — but not
    /// "vitamin D." or "hepatitis B." at the end of a sentence.
    fn is_initial(&self, word: usize) -> bool {
        let layout = self.layout;
        if !layout.starts_upper(word) {
            return false;
        }
        if word == 0 || layout.starts_line(word) {
            return true;
        }
        let before = word - 1;
        let before_norm = layout.norm(before);
        matches!(before_norm, "," | "." | "(")
            || NAME_INTRODUCERS.contains(&before_norm)
            || layout.is_word(before) && layout.starts_upper(before) && !layout.is_number(before)
    }

    /// Whether token `j` (first on its line) starts a list item: "- x", "* x", "1. x", "2) x",
    /// "(3) x", "a) x".
    fn starts_list_item(&self, j: usize) -> bool {
        let layout = self.layout;
        let norm = layout.norm(j);
        if BULLETS.contains(&norm) {
            return true;
        }
        let (marker, after) = if norm == "(" {
            (j + 1, j + 2)
        } else {
            (j, j + 1)
        };
        let marker_norm = layout.norm(marker);
        let is_marker = layout.is_number(marker) && marker_norm.len() <= 3
            || marker_norm.chars().count() == 1 && layout.is_word(marker);
        let closes = matches!(layout.norm(after), "." | ")") && layout.glued(marker, after);
        // "3.5 mg" at a line start is a number, not an item.
        let decimal = layout.glued(after, after + 1) && layout.is_word(after + 1);
        is_marker && closes && !decimal
    }

    /// Whether the line ending at token `i` is an ALL-CAPS heading-like line ("CARDIOVASCULAR",
    /// "BP 120/80 HR 72"); such lines never run on into the next line.
    fn is_caps_line_end(&self, i: usize) -> bool {
        let layout = self.layout;
        if CONTINUATION_WORDS.contains(&layout.norm(i)) {
            return false;
        }
        let line = layout.line_start(i)..i + 1;
        let mut letters = 0;
        for k in line {
            for c in layout.surface(k).chars() {
                if c.is_lowercase() {
                    return false;
                }
                if c.is_uppercase() {
                    letters += 1;
                }
            }
        }
        letters >= 2
    }

    /// Whether the line starting at `j` continues the sentence of the line ending at `i`
    /// (a hard-wrapped line).
    fn continues_line(&self, i: usize, j: usize) -> bool {
        let layout = self.layout;
        let last = layout.norm(i);
        layout.starts_lower(j)
            || CONTINUATION_WORDS.contains(&last)
            // A period that did not end the sentence ("Dr.") carries on.
            || last == "."
    }
}

#[cfg(test)]
mod tests {
    use super::super::offsets::CharIndex;
    use super::super::tokenize::tokenize;
    use super::*;

    /// Sentences of `text` as written.
    fn sentences(text: &str) -> Vec<String> {
        let index = CharIndex::new(text);
        let tokens = tokenize(text, &index);
        let layout = Layout::new(text, &tokens, &index);
        split_sentences(&layout)
            .into_iter()
            .map(|s| text.chars().skip(s.start).take(s.end - s.start).collect())
            .collect()
    }

    #[test]
    fn splits_on_terminal_punctuation() {
        assert_eq!(
            sentences("No fever. Cough present! Any pain? Yes; mild."),
            vec!["No fever.", "Cough present!", "Any pain?", "Yes;", "mild."]
        );
    }

    #[test]
    fn keeps_closers_and_runs_with_sentence() {
        assert_eq!(
            sentences("He said \"no.\" Then left?! (See above.) Done..."),
            vec!["He said \"no.\"", "Then left?!", "(See above.)", "Done..."]
        );
    }

    #[test]
    fn abbreviations_do_not_split() {
        assert_eq!(
            sentences("Seen by Dr. Smith and Mrs. Jones at St. Mary's today. Next."),
            vec![
                "Seen by Dr. Smith and Mrs. Jones at St. Mary's today.",
                "Next."
            ]
        );
        assert_eq!(
            sentences("Give 3.5 mg p.o. b.i.d. e.g. Tylenol, i.e. acetaminophen. Stop."),
            vec![
                "Give 3.5 mg p.o. b.i.d. e.g. Tylenol, i.e. acetaminophen.",
                "Stop."
            ]
        );
        assert_eq!(
            sentences("Pneumonia vs. atelectasis, approx. 3 cm, lot no. 5 seen. Ok."),
            vec![
                "Pneumonia vs. atelectasis, approx. 3 cm, lot no. 5 seen.",
                "Ok."
            ]
        );
        assert_eq!(
            sentences("Seen at 10 a.m. by J. Smith. Back at 5 p.m. She slept."),
            vec![
                "Seen at 10 a.m. by J. Smith.",
                "Back at 5 p.m.",
                "She slept."
            ]
        );
    }

    #[test]
    fn abbreviated_genus_names_do_not_split() {
        assert_eq!(
            sentences("Sepsis due to E. coli. MRSA and S. aureus bacteremia; H. pylori gastritis."),
            vec![
                "Sepsis due to E. coli.",
                "MRSA and S. aureus bacteremia;",
                "H. pylori gastritis."
            ]
        );
    }

    #[test]
    fn sentence_final_single_letters_split() {
        assert_eq!(
            sentences("Low vitamin D. Start supplements."),
            vec!["Low vitamin D.", "Start supplements."]
        );
        assert_eq!(
            sentences("Said no. Then yes."),
            vec!["Said no.", "Then yes."]
        );
    }

    #[test]
    fn question_mark_as_uncertainty_does_not_split() {
        assert_eq!(
            sentences("CXR shows ? pneumonia and ?effusion. Any fever?"),
            vec!["CXR shows ? pneumonia and ?effusion.", "Any fever?"]
        );
    }

    #[test]
    fn list_items_split() {
        assert_eq!(
            sentences("Problems:\n- COPD\n- hypertension\n1. diabetes\n2) CKD\n(3) gout"),
            vec![
                "Problems:",
                "- COPD",
                "- hypertension",
                "1. diabetes",
                "2) CKD",
                "(3) gout"
            ]
        );
    }

    #[test]
    fn inline_numbering_after_colon() {
        assert_eq!(
            sentences("Impression: 1. Pneumonia. 2. CHF."),
            vec!["Impression:", "1. Pneumonia.", "2. CHF."]
        );
        assert_eq!(sentences("Temp 38.5. Next"), vec!["Temp 38.5.", "Next"]);
        assert_eq!(
            sentences("Temp 98.6 F. He was seen in the E.D. The patient is a 45 y.o. male."),
            vec![
                "Temp 98.6 F.",
                "He was seen in the E.D.",
                "The patient is a 45 y.o. male."
            ]
        );
    }

    #[test]
    fn hard_wrapped_lines_join() {
        assert_eq!(
            sentences("Patient is a 45 year old male with\nhistory of COPD who presents\nwith cough.\nStable."),
            vec!["Patient is a 45 year old male with\nhistory of COPD who presents\nwith cough.", "Stable."]
        );
        // Previous line ends a word, next starts upper-case: separate items.
        assert_eq!(
            sentences("BP 120/80\nHR 72\nAfebrile"),
            vec!["BP 120/80", "HR 72", "Afebrile"]
        );
        assert_eq!(
            sentences("Cough for 3 days\n\nno fever"),
            vec!["Cough for 3 days", "no fever"]
        );
    }

    #[test]
    fn crlf_line_breaks() {
        assert_eq!(
            sentences("Cough.\r\nNo fever\r\n\r\nPlan: rest"),
            vec!["Cough.", "No fever", "Plan:", "rest"]
        );
    }

    #[test]
    fn headings_split_and_open_sections() {
        let text = "CHIEF COMPLAINT:\ncough\nPAST MEDICAL HISTORY\nasthma\nAssessment: pneumonia. Plan: levofloxacin";
        let index = CharIndex::new(text);
        let tokens = tokenize(text, &index);
        let layout = Layout::new(text, &tokens, &index);
        let found: Vec<(String, Section)> = split_sentences(&layout)
            .into_iter()
            .map(|s| {
                (
                    text.chars().skip(s.start).take(s.end - s.start).collect(),
                    s.section,
                )
            })
            .collect();
        let expected = [
            ("CHIEF COMPLAINT:", Section::ChiefComplaint),
            ("cough", Section::ChiefComplaint),
            ("PAST MEDICAL HISTORY", Section::PastMedicalHistory),
            ("asthma", Section::PastMedicalHistory),
            ("Assessment:", Section::Assessment),
            ("pneumonia.", Section::Assessment),
            ("Plan:", Section::Plan),
            ("levofloxacin", Section::Plan),
        ];
        let expected: Vec<(String, Section)> = expected
            .iter()
            .map(|(s, sec)| (s.to_string(), *sec))
            .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn list_items_find_their_lead_in() {
        let text = "Denies:\n- fever\n- night sweats\nChills\nHe reports a cough since Monday.\nNo:\n\nrash";
        let index = CharIndex::new(text);
        let tokens = tokenize(text, &index);
        let layout = Layout::new(text, &tokens, &index);
        let found = split_sentences(&layout);
        let lead_ins = list_lead_ins(&layout, &found);
        assert_eq!(found.len(), 7);
        assert_eq!(
            lead_ins,
            vec![None, Some(0), Some(0), Some(0), None, None, None]
        );
    }

    #[test]
    fn sentences_cover_all_tokens() {
        let text = "  a. b? c!\n\n- d\r\ne:  ";
        let index = CharIndex::new(text);
        let tokens = tokenize(text, &index);
        let layout = Layout::new(text, &tokens, &index);
        let found = split_sentences(&layout);
        let mut next = 0;
        for sentence in &found {
            assert_eq!(sentence.tokens.start, next);
            assert!(sentence.tokens.start < sentence.tokens.end);
            next = sentence.tokens.end;
        }
        assert_eq!(next, tokens.len());
        assert!(sentences("").is_empty());
        assert!(sentences(" \n\t ").is_empty());
    }
}
