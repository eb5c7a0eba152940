//! Stage: ranking features per candidate, and the category lead of the note's own words.

use super::*;

impl Engine {
    pub(super) fn features(&self, c: &Candidate) -> Features {
        let sentences_of = |learned: bool| {
            let mut s: Vec<usize> = c
                .mentions
                .iter()
                .filter(|m| {
                    if learned {
                        m.learned.is_some()
                    } else {
                        m.is_term()
                    }
                })
                .map(|m| m.sentence)
                .collect();
            s.sort_unstable();
            s.dedup();
            s.len()
        };
        let lexical: Vec<&Mention> = c.mentions.iter().filter(|m| m.is_term()).collect();
        let learned = c.mentions.iter().filter_map(|m| m.learned);
        let phrases: BTreeMap<u64, f32> =
            learned.clone().map(|l| (l.phrase, l.probability)).collect();
        let code = self.codes.get(c.code);
        Features {
            coverage: lexical.iter().map(|m| m.coverage).fold(0.0, f32::max),
            sentences: sentences_of(false),
            words: lexical.iter().map(|m| m.words).max().unwrap_or(0),
            lexical: !lexical.is_empty(),
            learned: learned.clone().map(|l| l.probability).fold(0.0, f32::max),
            learned_support: learned.map(|l| l.support).max().unwrap_or(0),
            learned_sentences: sentences_of(true),
            depth: code.code.len(),
            diagnostic_section: c.sections.iter().any(|&s| is_diagnostic_section(s)),
            present: c.assertion == Assertion::Present,
            uncertain: c.assertion == Assertion::Uncertain,
            historical: c.assertion == Assertion::Historical,
            assertion_factor: c.factor,
            symptom: code.code.starts_with('R'),
            subsumed: !lexical.is_empty() && lexical.iter().all(|m| m.subsumed),
            prior: self.prior.score(&self.codes, c.code),
            precision: self.prior.precision(&self.codes, c.code),
            billable: code.billable,
            procedure: code.system == System::Icd10pcs,
            similarity: c.mentions.iter().map(|m| m.similarity).fold(0.0, f32::max),
            encoder: c.mentions.iter().any(|m| m.from_encoder),
            learned_any: 1.0 - phrases.values().map(|p| 1.0 - p).product::<f32>(),
            learned_phrases: phrases.len(),
        }
    }

    /// Within a category the note's own words found, they lead: a code suggested only by
    /// learned phrases (E11.9 beside E11.40 "with neuropathy") stays below the best code
    /// the words support.
    pub(super) fn words_lead_their_category(&self, candidates: &[Candidate], scores: &mut [f32]) {
        let category = |id: CodeId| {
            let c = self.codes.get(id);
            (c.system == System::Icd10cm).then(|| c.code.chars().take(3).collect::<String>())
        };
        let mut best: HashMap<String, f32> = HashMap::new();
        for (c, &s) in candidates.iter().zip(scores.iter()) {
            if let (true, Some(k)) = (c.has_lexical(), category(c.code)) {
                let e = best.entry(k).or_insert(0.0);
                *e = e.max(s);
            }
        }
        for (c, s) in candidates.iter().zip(scores.iter_mut()) {
            if c.has_lexical() {
                continue;
            }
            if let Some(&lead) = category(c.code).and_then(|k| best.get(&k)) {
                *s = s.min(lead * 0.95);
            }
        }
    }
}
