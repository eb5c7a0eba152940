//! Stage: mentions grouped into candidate codes under the assertion policy (negated,
//! family and hypothetical mentions dropped; history becomes a history code; uncertain
//! diagnoses by setting, Section IV.H).

use super::history::is_acute_infarction;
use super::*;

impl Engine {
    /// Mentions grouped by code after the assertion rules: negated, family and hypothetical
    /// mentions name no diagnosis of the patient; history becomes a history code.
    pub(super) fn collect_candidates(
        &self,
        note: &Note,
        mentions: Vec<Mention>,
        setting: Setting,
    ) -> Vec<Candidate> {
        let mut by_code: BTreeMap<CodeId, Candidate> = BTreeMap::new();
        // Codes the note's own words deny (or give to the family): no learned phrase brings
        // them back. Lexical mentions come first, so this is complete before learned ones.
        let mut denied: std::collections::HashSet<CodeId> = Default::default();
        for m in mentions {
            let assertion = if m.is_term() {
                self.term_assertion(note, &m)
            } else {
                self.learned_assertion(note, &m)
            };
            // Past, but reported as now: an infarction up to four weeks old is coded as
            // acute (I.C.9.e.1: "NSTEMI 3 weeks ago" is I21), and a history or status code
            // says the past itself (I.C.21.c.3-4: "History of prostate cancer, s/p
            // prostatectomy" is Z90.79 now).
            let assertion = if assertion == Assertion::Historical {
                let code = &self.codes.get(m.code).code;
                let still_acute = is_acute_infarction(code)
                    && weeks_ago(note, m.sentence).is_some_and(|w| w <= ACUTE_INFARCTION_WEEKS);
                if still_acute || states_the_past(code) {
                    Assertion::Present
                } else {
                    assertion
                }
            } else if assertion == Assertion::Exposure
                && self
                    .codes
                    .get(m.code)
                    .title
                    .to_ascii_lowercase()
                    .contains("exposure")
            {
                // The contact/exposure code itself ("exposed to COVID-19": Z20.822).
                Assertion::Present
            } else {
                assertion
            };
            if !m.is_term() {
                // A learned family-history code (Z80-Z84) is never the reading: the
                // family's condition is read from its own words, under a family trigger,
                // and given its history code below (I.C.21.c.4); a learned phrase
                // ("diabetic" for Z83.3) says nothing of whose condition it is.
                let family_history = self
                    .codes
                    .get(m.code)
                    .title
                    .to_ascii_lowercase()
                    .starts_with("family history");
                let factor = match assertion {
                    _ if denied.contains(&m.code) || family_history => continue,
                    Assertion::Negated
                    | Assertion::Hypothetical
                    | Assertion::Family
                    | Assertion::Exposure => continue,
                    // A procedure of the past is no procedure of this encounter (below).
                    Assertion::Historical if self.codes.get(m.code).system == System::Icd10pcs => {
                        continue
                    }
                    Assertion::Historical => HISTORICAL,
                    Assertion::Uncertain => UNCERTAIN_INPATIENT,
                    Assertion::Present => 1.0,
                };
                // A past acute infarction is never an acute one, and a condition stated as
                // past is reported by its history code alone (see below).
                if assertion == Assertion::Historical
                    && (is_acute_infarction(&self.codes.get(m.code).code)
                        || (stated_as_past(note, &m) && self.history_code(m.code, false).is_some()))
                {
                    continue;
                }
                let rule = (assertion == Assertion::Uncertain && setting == Setting::Outpatient)
                    .then(uncertain_outpatient_rule);
                add_mention(&mut by_code, m.code, m, assertion, factor, rule);
                continue;
            }
            if matches!(
                assertion,
                Assertion::Negated | Assertion::Hypothetical | Assertion::Family
            ) {
                denied.insert(m.code);
            }
            let (target, factor, rule) = match assertion {
                Assertion::Negated | Assertion::Hypothetical => continue,
                // A disease the patient was exposed to is someone else's: its contact or
                // exposure code (I.C.21.c.1), never the disease.
                Assertion::Exposure => {
                    let Some(z) = self.history_table.exposure_of(&self.codes.get(m.code).code)
                    else {
                        continue;
                    };
                    let rule = RuleNote {
                        kind: "exposure_to".into(),
                        message: format!("stated as an exposure: {}", self.codes.get(m.code).title),
                        codes: vec![self.codes.get(m.code).display()],
                        guideline: Some("I.C.21.c.1".into()),
                    };
                    add_mention(&mut by_code, z, m, Assertion::Present, 1.0, Some(rule));
                    continue;
                }
                // ICD-10-PCS codes the procedures of this encounter: one done before
                // ("s/p prostatectomy 2018") is a status or history code, never a PCS code.
                Assertion::Historical if self.codes.get(m.code).system == System::Icd10pcs => {
                    continue
                }
                Assertion::Family | Assertion::Historical => {
                    let family = assertion == Assertion::Family;
                    let history = self.history_code(m.code, family);
                    if let Some(h) = history {
                        let kind = if family {
                            "family_history_of"
                        } else {
                            "history_of"
                        };
                        let rule = RuleNote {
                            kind: kind.into(),
                            message: format!(
                                "stated as {}: {}",
                                if family { "family history" } else { "history" },
                                self.codes.get(m.code).title
                            ),
                            codes: vec![self.codes.get(m.code).display()],
                            guideline: Some("I.C.21.c.4".into()),
                        };
                        add_mention(
                            &mut by_code,
                            h,
                            m.clone(),
                            Assertion::Present,
                            0.9,
                            Some(rule),
                        );
                    }
                    // Family conditions are not the patient's; a past acute infarction is
                    // only its history code (I25.2), never an acute one. A condition stated
                    // as past ("h/o DVT", "history of breast cancer") is reported by its
                    // personal history code alone (I.C.21.c.4: history codes explain a
                    // condition that no longer exists); a bare past-medical-history list
                    // names chronic conditions that usually persist, so those keep their code.
                    let acute_episode = is_acute_infarction(&self.codes.get(m.code).code);
                    if family || (history.is_some() && (acute_episode || stated_as_past(note, &m)))
                    {
                        // A condition of the past is not brought back as current by a
                        // learned phrase ("PSA" for C61 beside "history of prostate
                        // cancer"; I.C.2.d: an excised malignancy is Z85).
                        denied.insert(m.code);
                        continue;
                    }
                    (m.code, HISTORICAL, None)
                }
                // The setting scales the ranked score (see `suggest`), so the ranker sees the
                // same features in both and outpatient can only rank an uncertain code lower.
                Assertion::Uncertain => (
                    m.code,
                    UNCERTAIN_INPATIENT,
                    (setting == Setting::Outpatient).then(uncertain_outpatient_rule),
                ),
                Assertion::Present => (m.code, 1.0, None),
            };
            add_mention(&mut by_code, target, m, assertion, factor, rule);
        }
        by_code.into_values().collect()
    }
}

/// Score factor of a condition stated as past (its history code, where there is one, is
/// suggested beside it).
pub(super) const HISTORICAL: f32 = 0.6;

/// Score factor of an uncertain diagnosis: inpatient coding reports it as established;
/// outpatient coding does not code it (it is kept, far down, with a rule note).
pub(super) const UNCERTAIN_INPATIENT: f32 = 0.85;

pub(super) const UNCERTAIN_OUTPATIENT: f32 = 0.3;

pub(super) const UNCERTAIN_OUTPATIENT_RULE: &str = "uncertain_outpatient";

pub(super) fn uncertain_outpatient_rule() -> RuleNote {
    RuleNote {
        kind: UNCERTAIN_OUTPATIENT_RULE.into(),
        message: "uncertain diagnoses are not coded in the outpatient setting; code the symptoms"
            .into(),
        codes: Vec::new(),
        guideline: Some("IV.H".into()),
    }
}

pub(super) fn add_mention(
    by_code: &mut BTreeMap<CodeId, Candidate>,
    code: CodeId,
    mention: Mention,
    assertion: Assertion,
    factor: f32,
    rule: Option<RuleNote>,
) {
    let section = mention.section;
    let candidate = Candidate {
        code,
        mentions: vec![mention],
        sections: vec![section],
        assertion,
        factor,
        rules: rule.into_iter().collect(),
    };
    match by_code.get_mut(&code) {
        Some(existing) => existing.merge(candidate),
        None => {
            by_code.insert(code, candidate);
        }
    }
}

/// A historical mention stated as past in its own words ("h/o DVT"), not only listed under
/// a past-medical-history heading (where chronic conditions that persist are listed too).
pub(super) fn stated_as_past(note: &Note, m: &Mention) -> bool {
    note.section_of_token(m.first()) != crate::text::Section::PastMedicalHistory
}

impl Engine {
    /// The assertion of a term's mention. A term's words may lie on both sides of a denial
    /// ("Eye fundus showed no evidence of CMV infection" reads the term "infection, eye"):
    /// the words after the gap are denied, so the reading they complete is too, unless the
    /// term denies something itself ("... without psychotic features" read in "severe, no
    /// psychotic features"; the `denied` rule checks such readings).
    fn term_assertion(&self, note: &Note, m: &Mention) -> Assertion {
        let whole = note.assertion(m.first(), m.last());
        let own_denial =
            m.term == crate::candidates::NOT_AN_INDEX_TERM || self.matcher.says_denial(m.term);
        if whole != Assertion::Present || own_denial {
            return whole;
        }
        let denied_after_gap = m
            .tokens
            .windows(2)
            .any(|pair| note.denied_after_gap(pair[0], pair[1]));
        if denied_after_gap {
            Assertion::Negated
        } else {
            whole
        }
    }

    /// The assertion of a learned phrase. A learned phrase may begin with the very word
    /// that puts it in the past or denies it ("History of prostate" learned for C61,
    /// "without nausea or vomiting" for R11.0): a trigger that is the phrase's first word
    /// applies to the words after it, as it would to a term there. A code whose own title
    /// says so (a "history" code for a history trigger, a "family" code for the family's)
    /// keeps the phrase's reading.
    fn learned_assertion(&self, note: &Note, m: &Mention) -> Assertion {
        let whole = note.assertion(m.first(), m.last());
        if whole != Assertion::Present || m.first() >= m.last() {
            return whole;
        }
        let after_first = note.assertion(m.first() + 1, m.last());
        // Only a history or family reading asks the title (lower-cased once, then).
        let title_has = |word: &str| {
            self.codes
                .get(m.code)
                .title
                .to_ascii_lowercase()
                .contains(word)
        };
        let title_says = match after_first {
            Assertion::Historical => title_has("history"),
            Assertion::Family => title_has("family"),
            _ => false,
        };
        if title_says {
            whole
        } else {
            after_first
        }
    }
}

/// I.C.9.e.1: a myocardial infarction is coded as acute while it is four weeks old or less.
const ACUTE_INFARCTION_WEEKS: f32 = 4.0;

/// How long ago the sentence says its event was, in weeks: "3 weeks ago", "10 days ago",
/// "2 wks ago", "yesterday", "last week". `None` when it states no such age.
fn weeks_ago(note: &Note, sentence: usize) -> Option<f32> {
    let tokens = note
        .tokens
        .get(note.sentences.get(sentence)?.tokens.clone())?;
    let norms: Vec<&str> = tokens.iter().map(|t| t.norm.as_str()).collect();
    norms.iter().enumerate().find_map(|(i, &word)| {
        match word {
            "yesterday" => return Some(1.0 / 7.0),
            "last" if norms.get(i + 1) == Some(&"week") => return Some(1.0),
            _ => {}
        }
        if norms.get(i + 2) != Some(&"ago") {
            return None;
        }
        let count: f32 = match word {
            "a" | "one" => 1.0,
            "two" => 2.0,
            "three" => 3.0,
            "four" => 4.0,
            "five" => 5.0,
            "six" => 6.0,
            number => number.parse().ok()?,
        };
        let per_week = match *norms.get(i + 1)? {
            "day" | "days" | "d" => 7.0,
            "week" | "weeks" | "wk" | "wks" => 1.0,
            "month" | "months" | "mo" | "mos" => 12.0 / 52.0,
            "year" | "years" | "yr" | "yrs" => 1.0 / 52.0,
            _ => return None,
        };
        Some(count / per_week)
    })
}

/// Chapter 21 categories whose codes state a past event or a lasting status: personal
/// history (Z85-Z87, Z92), acquired absence (Z89-Z90), transplant, artificial opening,
/// implant and dependence status (Z93-Z99). I.C.21.c.3 (status), I.C.21.c.4 (history).
const PAST_STATING_CATEGORIES: &[&str] = &[
    "Z85", "Z86", "Z87", "Z89", "Z90", "Z92", "Z93", "Z94", "Z95", "Z96", "Z97", "Z98", "Z99",
];

fn states_the_past(code: &str) -> bool {
    PAST_STATING_CATEGORIES.iter().any(|c| code.starts_with(c))
}
