//! Expressions of time, which name no condition: durations ("for three days", "x 3 weeks")
//! and ages ("a 60-year-old woman", "45 years old"). The matcher reads no condition word in
//! them ("Fever for three days" is no A93.1 "Fever, three-day"; "60-year-old" is no I25.2
//! "Old myocardial infarction", the Alphabetic Index's main term "Old"), and the assertion
//! lexicon takes "<unit> history of" and "<unit> old" as pseudo-triggers (ConText).

use super::tokenize::Token;

/// Units of time as notes write them, singular, plural and abbreviated.
pub(crate) const TIME_UNITS: &[&str] = &[
    "hour", "hours", "hr", "hrs", "day", "days", "week", "weeks", "wk", "wks", "month", "months",
    "mo", "year", "years", "yr", "yrs",
];

/// Words that open a duration.
const DURATION_LEADS: &[&str] = &["for", "x", "since", "past", "last", "over", "within"];

/// Counts written as words.
const NUMBER_WORDS: &[&str] = &[
    "a", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "several",
    "few",
];

fn is_number(word: &str) -> bool {
    NUMBER_WORDS.contains(&word) || (!word.is_empty() && word.chars().all(|c| c.is_ascii_digit()))
}

fn is_unit(word: &str) -> bool {
    TIME_UNITS.contains(&word)
}

/// Is token `i` part of a duration or an age?
pub(crate) fn in_time_expression(tokens: &[Token], i: usize) -> bool {
    in_duration(tokens, i) || in_age(tokens, i)
}

/// (lead, number, unit) at (i - 1, i, i + 1) or (i - 2, i - 1, i): the number or the unit
/// of "for three days".
fn in_duration(tokens: &[Token], i: usize) -> bool {
    let norm = |k: usize| tokens.get(k).map(|t| t.norm.as_str());
    let at = |lead: usize| {
        norm(lead).is_some_and(|w| DURATION_LEADS.contains(&w))
            && norm(lead + 1).is_some_and(is_number)
            && norm(lead + 2).is_some_and(is_unit)
    };
    (i >= 1 && at(i - 1)) || (i >= 2 && at(i - 2))
}

/// Any token of "<number> [-] <unit> [-] old".
fn in_age(tokens: &[Token], i: usize) -> bool {
    const LONGEST: usize = 5;
    (i.saturating_sub(LONGEST - 1)..=i)
        .any(|start| age_end(tokens, start).is_some_and(|end| i < end))
}

/// End (exclusive) of the age starting at token `start`, if one does.
fn age_end(tokens: &[Token], start: usize) -> Option<usize> {
    let norm = |k: usize| tokens.get(k).map(|t| t.norm.as_str());
    let skip_hyphen = |k: usize| if norm(k) == Some("-") { k + 1 } else { k };
    if !norm(start).is_some_and(is_number) {
        return None;
    }
    let unit = skip_hyphen(start + 1);
    if !norm(unit).is_some_and(is_unit) {
        return None;
    }
    let old = skip_hyphen(unit + 1);
    (norm(old) == Some("old")).then_some(old + 1)
}

#[cfg(test)]
mod tests {
    use super::super::offsets::CharIndex;
    use super::super::tokenize::tokenize;
    use super::*;

    /// The tokens of `text` for which `in_time_expression` holds.
    fn timed(text: &str) -> Vec<String> {
        let tokens = tokenize(text, &CharIndex::new(text));
        (0..tokens.len())
            .filter(|&i| in_time_expression(&tokens, i))
            .map(|i| tokens[i].norm.clone())
            .collect()
    }

    #[test]
    fn ages_in_every_written_form() {
        assert_eq!(
            timed("A 60-year-old woman"),
            ["60", "-", "year", "-", "old"]
        );
        assert_eq!(timed("He is 45 years old."), ["45", "years", "old"]);
        assert_eq!(
            timed("a 3-month-old infant"),
            ["3", "-", "month", "-", "old"]
        );
        assert_eq!(timed("a two week old rash"), ["two", "week", "old"]);
    }

    #[test]
    fn durations_number_and_unit() {
        assert_eq!(timed("Fever for three days."), ["three", "days"]);
        assert_eq!(timed("Cough x 3 weeks"), ["3", "weeks"]);
    }

    #[test]
    fn old_outside_an_age_is_a_word() {
        assert!(timed("Old myocardial infarction.").is_empty());
        assert!(timed("An old scar of the knee, 3 years ago.").is_empty());
        assert!(timed("years old").is_empty());
    }
}
