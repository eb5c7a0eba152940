//! What the stages pass along: a candidate code with its mentions, assertion and rule notes.

use super::*;

/// One candidate code of a note and what supports it.
pub(super) struct Candidate {
    pub(super) code: CodeId,
    pub(super) mentions: Vec<Mention>,
    pub(super) sections: Vec<crate::text::Section>,
    pub(super) assertion: Assertion,
    /// Score factor from the assertion (history, uncertainty).
    pub(super) factor: f32,
    pub(super) rules: Vec<RuleNote>,
}

impl Candidate {
    pub(super) fn has_lexical(&self) -> bool {
        self.mentions.iter().any(Mention::is_term)
    }

    pub(super) fn merge(&mut self, other: Candidate) {
        // The stronger reading of the code's own words decides the assertion; learned
        // phrases decide it only for a code no own words found.
        let (mine, theirs) = (self.has_lexical(), other.has_lexical());
        if (theirs && !mine) || (theirs == mine && other.factor > self.factor) {
            self.factor = other.factor;
            self.assertion = other.assertion;
        }
        self.mentions.extend(other.mentions);
        self.sections.extend(other.sections);
        for r in other.rules {
            // Several readings of one past condition lead to one history code: one note
            // says so, naming every condition code behind it.
            let merged = HISTORY_NOTES.contains(&r.kind.as_str())
                && self
                    .rules
                    .iter_mut()
                    .find(|mine| mine.kind == r.kind)
                    .map(|mine| {
                        for code in &r.codes {
                            if !mine.codes.contains(code) {
                                mine.codes.push(code.clone());
                            }
                        }
                        // In code order, and the first message in text order, whatever
                        // order the readings merged in (the answer is the same every run).
                        mine.codes.sort();
                        if r.message < mine.message {
                            mine.message.clone_from(&r.message);
                        }
                    })
                    .is_some();
            if !merged && !self.rules.contains(&r) {
                self.rules.push(r);
            }
        }
    }
}

/// Rule notes of the history codes, one per candidate (see [`Candidate::merge`]).
const HISTORY_NOTES: [&str; 2] = ["history_of", "family_history_of"];

#[cfg(test)]
mod tests {
    use super::*;

    fn history(code: &str, title: &str) -> Candidate {
        Candidate {
            code: 0,
            mentions: Vec::new(),
            sections: Vec::new(),
            assertion: Assertion::Present,
            factor: 1.0,
            rules: vec![RuleNote {
                kind: "history_of".into(),
                message: format!("stated as history: {title}"),
                codes: vec![code.into()],
                guideline: Some("I.C.21.c.4".into()),
            }],
        }
    }

    #[test]
    fn merged_history_notes_do_not_depend_on_the_merge_order() {
        let merged = |first: Candidate, second: Candidate| {
            let mut c = first;
            c.merge(second);
            c.rules
        };
        let one = merged(
            history("C92.00", "Acute myeloblastic leukemia"),
            history("C95.00", "Acute leukemia of unspecified cell type"),
        );
        let other = merged(
            history("C95.00", "Acute leukemia of unspecified cell type"),
            history("C92.00", "Acute myeloblastic leukemia"),
        );
        assert_eq!(one, other);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].codes, ["C92.00", "C95.00"]);
    }
}
