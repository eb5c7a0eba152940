//! Stage: the note's term mentions through the sentence encoder (similarity to their
//! terms, and codes of the terms nearest in meaning to the weakest readings).

use super::*;

impl Engine {
    /// The sentence encoder over the note's term mentions: each mention's similarity to
    /// its term, and (with `add`) the codes of the terms nearest in meaning to the weakest
    /// readings, which the words alone matched only in part.
    pub(super) fn encode_mentions(
        &self,
        note: &Note,
        mentions: &mut Vec<Mention>,
        add: bool,
    ) -> Result<()> {
        let (Some(store), Some(encoder)) = (self.index.embeddings(), &self.encoder) else {
            return Ok(());
        };
        // Distinct compact spans, strongest reading first; scattered matches are no phrase.
        let mut spans: Vec<((usize, usize), f32)> = Vec::new();
        let mut order: Vec<&Mention> = mentions
            .iter()
            .filter(|m| m.last() - m.first() < m.words + 3)
            .collect();
        order.sort_by(|a, b| {
            a.subsumed
                .cmp(&b.subsumed)
                .then(b.coverage.total_cmp(&a.coverage))
                .then(a.first().cmp(&b.first()))
        });
        for m in order {
            let span = (m.first(), m.last());
            if !spans.iter().any(|(s, _)| *s == span) {
                spans.push((span, m.coverage));
            }
            if spans.len() == ENCODED_SPANS {
                break;
            }
        }
        if spans.is_empty() {
            return Ok(());
        }
        let texts: Vec<String> = spans
            .iter()
            .map(|((first, last), _)| {
                let (start, end) = (note.tokens[*first].start, note.tokens[*last].end);
                note.slice(start, end.min(start + 200))
            })
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let embeddings = encoder.encode(&refs)?;
        let at: HashMap<(usize, usize), usize> = spans
            .iter()
            .enumerate()
            .map(|(i, (s, _))| (*s, i))
            .collect();
        for m in mentions.iter_mut() {
            if let Some(&i) = at.get(&(m.first(), m.last())) {
                m.similarity = store.cosine(m.term, &embeddings[i]);
            }
        }
        if !add {
            return Ok(());
        }
        let mut weakest: Vec<usize> = (0..spans.len()).filter(|&i| spans[i].1 < 0.999).collect();
        weakest.sort_by(|&a, &b| spans[a].1.total_cmp(&spans[b].1));
        weakest.truncate(NEAREST_SPANS);
        let mut found = Vec::new();
        for i in weakest {
            let (first, last) = spans[i].0;
            let Some(reading) = mentions
                .iter()
                .find(|m| (m.first(), m.last()) == (first, last))
            else {
                continue;
            };
            for (term, similarity) in store.nearest(&embeddings[i], NEAREST_TERMS) {
                let Some(t) = self.index.side.terms.get(term as usize) else {
                    continue;
                };
                let known = mentions
                    .iter()
                    .any(|m| m.code == t.code && (m.first(), m.last()) == (first, last));
                if similarity < ENCODER_MIN_SIMILARITY || known {
                    continue;
                }
                // Nearness in meaning never supplies a side (I.B.13): a code whose title
                // names one the reading's words do not say is not what they state
                // ("complete tear of left rotator cuff" is near M75.121, right shoulder).
                if let Some(side) = title_side(&self.codes.get(t.code).title) {
                    let says = (first..=last)
                        .filter_map(|k| note.tokens.get(k))
                        .any(|token| token.norm == side);
                    if !says {
                        continue;
                    }
                }
                found.push(Mention {
                    term,
                    code: t.code,
                    tokens: reading.tokens.clone(),
                    sentence: reading.sentence,
                    section: reading.section,
                    coverage: 0.0,
                    words: 0,
                    subsumed: false,
                    learned: None,
                    similarity,
                    from_encoder: true,
                });
            }
        }
        mentions.extend(found);
        Ok(())
    }
}

/// The one side a title names ("right" or "left"), if it names exactly one.
fn title_side(title: &str) -> Option<&'static str> {
    let lower = title.to_ascii_lowercase();
    let has = |side: &str| {
        lower
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w == side)
    };
    match (has("right"), has("left")) {
        (true, false) => Some("right"),
        (false, true) => Some("left"),
        _ => None,
    }
}

/// Term mentions embedded per note (the encoder is the costliest step: ~2 ms a mention).
pub(super) const ENCODED_SPANS: usize = 24;

/// Weakest readings whose nearest terms are looked up, and how many terms each.
pub(super) const NEAREST_SPANS: usize = 8;

pub(super) const NEAREST_TERMS: usize = 5;

/// Cosine from which a nearest term's code becomes a candidate.
pub(super) const ENCODER_MIN_SIMILARITY: f32 = 0.8;
