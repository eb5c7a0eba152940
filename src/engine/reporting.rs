//! Stage: the Official Guidelines' reporting rules over the candidates (crate::guidelines),
//! applied to what the note states.

use super::*;

impl Engine {
    /// The Official Guidelines' reporting rules over the candidates: codes they drop go
    /// (the code that made them redundant says so in a rule note), combination codes they
    /// presume are added with their parts' evidence.
    pub(super) fn apply_guidelines(
        &self,
        note: &Note,
        candidates: Vec<Candidate>,
        options: &SuggestOptions,
    ) -> Vec<Candidate> {
        let findings: Vec<Finding> = candidates
            .iter()
            .map(|c| Finding {
                code: c.code,
                assertion: c.assertion,
                terms: c
                    .mentions
                    .iter()
                    .filter(|m| m.is_term())
                    .map(span_of_mention)
                    .collect(),
                inferred: c
                    .mentions
                    .iter()
                    .filter(|m| !m.is_term())
                    .map(span_of_mention)
                    .collect(),
            })
            .collect();
        let verdict = self.guidelines.apply_except(
            &self.codes,
            note,
            &findings,
            options.setting,
            &options.rules_off,
        );
        let mut added: Vec<Candidate> = verdict
            .added
            .iter()
            .map(|a| {
                let parts = a.from.iter().filter_map(|&i| candidates.get(i));
                let mentions: Vec<Mention> = parts
                    .clone()
                    .flat_map(|c| c.mentions.iter().filter(|m| m.is_term()).cloned())
                    .chain(a.said.iter().map(|span| {
                        Mention::stated(a.code, span.tokens.clone(), span.sentence, note)
                    }))
                    .collect();
                Candidate {
                    code: a.code,
                    sections: mentions.iter().map(|m| m.section).collect(),
                    mentions,
                    assertion: Assertion::Present,
                    factor: parts.map(|c| c.factor).fold(1.0, f32::min),
                    rules: vec![a.rule.clone()],
                }
            })
            .collect();
        // What each kept code made redundant, said on the code that did.
        let mut told: Vec<(String, RuleNote)> = Vec::new();
        let mut kept: BTreeMap<CodeId, Candidate> = BTreeMap::new();
        for (c, dropped) in candidates.into_iter().zip(verdict.dropped) {
            match dropped {
                Some(rule) => {
                    let code = self.codes.get(c.code);
                    // The code that replaced it by laterality already says so.
                    if let Some(by) = rule.codes.first().filter(|_| {
                        !matches!(
                            rule.kind.as_str(),
                            "laterality" | "trimester" | "diabetes_control" | "diabetes_type"
                        )
                    }) {
                        told.push((
                            by.clone(),
                            RuleNote {
                                kind: "not_reported".into(),
                                message: format!(
                                    "{} {} not reported: {}",
                                    code.display(),
                                    code.title,
                                    rule.message
                                ),
                                codes: vec![code.display()],
                                guideline: rule.guideline.clone(),
                            },
                        ));
                    }
                }
                None => {
                    kept.insert(c.code, c);
                }
            }
        }
        for a in added.drain(..) {
            match kept.get_mut(&a.code) {
                Some(existing) => existing.merge(a),
                None => {
                    kept.insert(a.code, a);
                }
            }
        }
        for c in kept.values_mut() {
            let shown = self.codes.get(c.code).display();
            for (by, note) in &told {
                if *by == shown && !c.rules.contains(note) {
                    c.rules.push(note.clone());
                }
            }
        }
        kept.into_values().collect()
    }
}

pub(super) fn span_of_mention(m: &Mention) -> TermSpan {
    TermSpan {
        sentence: m.sentence,
        tokens: m.tokens.clone(),
        coverage: m.coverage,
        words: m.words,
        placed: m.term != crate::candidates::NOT_AN_INDEX_TERM,
    }
}
