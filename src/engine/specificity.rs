//! Stage: a non-billable or less specific reading resolved to the reportable code the
//! note's words support.

use super::*;

impl Engine {
    /// Keeps the most specific code the evidence supports: an ancestor of another candidate
    /// is dropped; a non-billable code becomes its unspecified billable code, or gets its
    /// 7th character.
    pub(super) fn resolve_specificity(
        &self,
        candidates: Vec<Candidate>,
        lower: &str,
    ) -> Vec<Candidate> {
        // Only the note's own words make a code more specific: a learned code never
        // replaces a category found by its terms ("breast cancer" stays unspecified as to
        // side even where coders most often coded the left breast).
        let ids: Vec<CodeId> = candidates
            .iter()
            .filter(|c| c.has_lexical())
            .map(|c| c.code)
            .collect();
        let mut out: BTreeMap<CodeId, Candidate> = BTreeMap::new();
        // Learned support for a category also supports the more specific code found.
        let mut lent: Vec<(CodeId, Vec<Mention>)> = Vec::new();
        for mut c in candidates {
            if let Some(&specific) = ids
                .iter()
                .find(|&&other| other != c.code && self.codes.is_within(other, c.code))
            {
                let learned: Vec<Mention> =
                    c.mentions.into_iter().filter(|m| !m.is_term()).collect();
                if !learned.is_empty() {
                    lent.push((specific, learned));
                }
                continue;
            }
            if !self.codes.get(c.code).billable {
                if let Some((chosen, rule)) =
                    rules::seventh_character_for(&self.codes, c.code, lower)
                {
                    c.code = chosen;
                    c.rules.push(rule);
                } else if let Some(default) = self.codes.default_billable(c.code) {
                    c.code = default;
                } else if self.codes.get(c.code).kind == CodeKind::Code {
                    let children: Vec<String> = self
                        .codes
                        .get(c.code)
                        .children
                        .iter()
                        .map(|&k| self.codes.get(k).display())
                        .collect();
                    c.rules.push(RuleNote {
                        kind: "not_billable".into(),
                        message: "category: the note must say which of its codes applies".into(),
                        codes: children,
                        guideline: Some("I.B.2".into()),
                    });
                }
            }
            match out.get_mut(&c.code) {
                Some(existing) => existing.merge(c),
                None => {
                    out.insert(c.code, c);
                }
            }
        }
        for (specific, mentions) in lent {
            // The specific code itself may have been re-coded (7th character, default
            // child): it is then found by ancestry.
            let target = out
                .keys()
                .copied()
                .find(|&k| k == specific || self.codes.is_within(k, specific));
            if let Some(existing) = target.and_then(|k| out.get_mut(&k)) {
                existing.mentions.extend(mentions);
            }
        }
        out.into_values().collect()
    }
}
