//! The loss-of-consciousness duration of an intracranial injury (tabular S06, 6th
//! character: "... with loss of consciousness of 30 minutes or less", "of 31 minutes to 59
//! minutes", "of 1 hour to 5 hours 59 minutes", ...) from the duration the note states
//! ("20 minutes loss of consciousness", "LOC for 2 hours"). The ranges are read from the
//! titles themselves, so no character is written here.

use std::sync::LazyLock;

use super::{
    base_and_seventh, replace_by_stated_sibling, sentence_words, with_seventh, Finding, Verdict,
};
use crate::codeset::{CodeId, CodeSet, System};
use crate::text::Note;

/// Words that name the loss of consciousness in a sentence.
const CONSCIOUSNESS_WORDS: &[&str] = &["consciousness", "loc", "unconscious", "unresponsive"];

/// Minutes stated in a sentence that names a loss of consciousness: "20 minutes", "2
/// hours", "1 hr 30 min".
fn stated_minutes(note: &Note, sentence: usize) -> Option<u32> {
    let words = sentence_words(note, sentence);
    if !words.iter().any(|(_, w)| CONSCIOUSNESS_WORDS.contains(w)) {
        return None;
    }
    let mut total: Option<u32> = None;
    for pair in words.windows(2) {
        let [(_, number), (_, unit)] = pair else {
            continue;
        };
        let Ok(n) = number.parse::<u32>() else {
            continue;
        };
        let minutes = match *unit {
            "minute" | "minutes" | "min" | "mins" => n,
            "hour" | "hours" | "hr" | "hrs" | "h" => n.saturating_mul(60),
            _ => continue,
        };
        total = Some(total.unwrap_or(0).saturating_add(minutes));
    }
    total
}

/// The duration range a title names, in minutes ("of 31 minutes to 59 minutes": 31..=59);
/// `None` for one it does not bound ("unspecified duration", "greater than 24 hours").
fn title_range(title: &str) -> Option<(u32, u32)> {
    static DURATION: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"(\d+) (minutes?|hours?)(?: (\d+) minutes?)?").expect("valid regex")
    });
    let title = title.to_ascii_lowercase();
    let durations: Vec<u32> = DURATION
        .captures_iter(&title)
        .map(|c| {
            let n: u32 = c[1].parse().unwrap_or(0);
            let extra: u32 = c.get(3).and_then(|m| m.as_str().parse().ok()).unwrap_or(0);
            if c[2].starts_with("hour") {
                n * 60 + extra
            } else {
                n
            }
        })
        .collect();
    match durations.as_slice() {
        [most] if title.contains("or less") => Some((0, *most)),
        [from, to] if title.contains(" to ") => Some((*from, *to)),
        _ => None,
    }
}

/// The sibling of `id` whose duration range holds `minutes` (for a 7th-character code, the
/// sibling base's code with the same 7th character).
fn duration_sibling(codes: &CodeSet, id: CodeId, minutes: u32) -> Option<CodeId> {
    let (base, seventh) = base_and_seventh(codes, id)?;
    let parent = codes.get(base).parent?;
    let sibling = codes.get(parent).children.iter().copied().find(|&c| {
        c != base
            && title_range(&codes.get(c).title).is_some_and(|(lo, hi)| (lo..=hi).contains(&minutes))
    })?;
    with_seventh(codes, sibling, seventh)
}

/// Replaces an intracranial injury code whose loss of consciousness is of another or no
/// stated duration by the sibling for the duration the note states.
pub(super) fn apply(codes: &CodeSet, note: &Note, findings: &[Finding], verdict: &mut Verdict) {
    for (i, f) in findings.iter().enumerate() {
        let code = codes.get(f.code);
        if verdict.dropped[i].is_some()
            || !f.stated()
            || code.system != System::Icd10cm
            || !code.code.starts_with("S06")
            || !code
                .title
                .to_ascii_lowercase()
                .contains("loss of consciousness")
        {
            continue;
        }
        let Some(minutes) = f
            .terms
            .iter()
            .find_map(|t| stated_minutes(note, t.sentence))
        else {
            continue;
        };
        let base_title = &codes.get(code.parent.unwrap_or(f.code)).title;
        if title_range(&code.title)
            .or_else(|| title_range(base_title))
            .is_some_and(|(lo, hi)| (lo..=hi).contains(&minutes))
        {
            continue;
        }
        let Some(to) = duration_sibling(codes, f.code, minutes) else {
            continue;
        };
        replace_by_stated_sibling(
            codes,
            verdict,
            (i, f.code),
            to,
            (
                "consciousness",
                "I.C.19.b",
                "duration of the loss of consciousness",
            ),
            &format!("loss of consciousness of {minutes} minutes from the note's words"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::title_range;

    #[test]
    fn duration_ranges_are_read_from_the_titles() {
        let r = |t: &str| title_range(t);
        assert_eq!(
            r("Concussion with loss of consciousness of 30 minutes or less"),
            Some((0, 30))
        );
        assert_eq!(
            r("Concussion with loss of consciousness of 31 minutes to 59 minutes"),
            Some((31, 59))
        );
        assert_eq!(
            r("Diffuse traumatic brain injury with loss of consciousness of 1 hour to 5 hours 59 minutes"),
            Some((60, 359))
        );
        assert_eq!(
            r("Concussion with loss of consciousness of 6 hours to 24 hours"),
            Some((360, 1440))
        );
        assert_eq!(
            r("Concussion with loss of consciousness status unknown"),
            None
        );
        assert_eq!(
            r("Concussion with loss of consciousness greater than 24 hours with return to pre-existing conscious level"),
            None
        );
    }
}
