//! Stage: the evidence spans a coder checks, one per distinct statement of the code.

use super::*;

/// Evidence spans of the mentions, one per distinct span, in text order.
pub(super) fn evidence(note: &Note, mentions: &[Mention]) -> Vec<Evidence> {
    // Weak partial readings are not shown as evidence beside a strong one; learned phrases
    // are the evidence only of codes that no term of their own found.
    let lexical = mentions.iter().any(Mention::is_term);
    let learned_any = mentions.iter().any(|m| m.learned.is_some());
    let best = mentions.iter().map(|m| m.coverage).fold(0.0, f32::max);
    let best_learned = mentions
        .iter()
        .filter_map(|m| m.learned)
        .map(|l| l.probability)
        .fold(0.0, f32::max);
    let best_similar = mentions
        .iter()
        .filter(|m| m.from_encoder)
        .map(|m| m.similarity)
        .fold(0.0, f32::max);
    let strong = |m: &&Mention| match m.learned {
        Some(l) => !lexical && l.probability >= 0.8 * best_learned,
        None if m.from_encoder => !lexical && !learned_any && m.similarity >= best_similar - 0.05,
        None => m.coverage >= 0.8 * best,
    };
    let basis = if lexical {
        EvidenceBasis::Term
    } else if learned_any {
        EvidenceBasis::Learned
    } else {
        EvidenceBasis::Similar
    };
    let mut spans: Vec<(usize, usize, usize)> = mentions
        .iter()
        .filter(strong)
        .filter_map(|m| {
            let first = note.tokens.get(m.first())?;
            let last = note.tokens.get(m.last())?;
            Some((first.start, last.end, m.first()))
        })
        .collect();
    spans.sort_unstable();
    spans.dedup_by_key(|s| (s.0, s.1));
    // A span inside another of the same code ("neuropathy" inside "type 2 diabetes with
    // neuropathy", a presumed link's part; "x ray" in "chest x ray"): the longest stands,
    // so the evidence a coder sees is one highlight per statement.
    let all = spans.clone();
    spans.retain(|s| !all.iter().any(|o| o != s && o.0 <= s.0 && s.1 <= o.1));
    spans
        .into_iter()
        .map(|(start, end, token)| Evidence {
            start,
            end,
            text: note.slice(start, end),
            section: note.section_of_token(token),
            basis,
        })
        .collect()
}
