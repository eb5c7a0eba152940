//! The ICD-10-CM Official Guidelines for Coding and Reporting (FY2026) rules that decide
//! which of a note's candidate codes are reported: one pipeline stage between candidate
//! collection and ranking. It sees each candidate as a [`Finding`] (code, assertion, the
//! spans of its own words) and answers a [`Verdict`]: codes to drop, combination codes to
//! add, each with a rule note citing its guideline section.
//!
//! The rules that name codes are data (`data/*.tsv`, each citing its source); the rules that
//! follow from the classification's structure (combination codes, unspecified siblings,
//! billable codes) read the loaded code sets. A data row naming a code the loaded code sets
//! lack is inactive, so the stage runs on the small fixture code sets of the tests too.

mod consciousness;
mod encounter_reason;
mod osteoporotic_fracture;
mod pattern;
pub mod seventh;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use crate::codeset::{CodeId, CodeKind, CodeSet, System};
use crate::coding::{RuleNote, Setting};
use crate::text::{Assertion, Note};

pub use pattern::CodePattern;

const PRESUMED_LINKS: &str = include_str!("data/presumed_links.tsv");
const INTEGRAL_SYMPTOMS: &str = include_str!("data/integral_symptoms.tsv");
const REPORTING: &str = include_str!("data/reporting.tsv");
const CONFIRMED_ONLY: &str = include_str!("data/confirmed_only.tsv");
const PREGNANCY: &str = include_str!("data/pregnancy.tsv");
const NOT_TOGETHER: &str = include_str!("data/not_together.tsv");
const ONLY_WITH: &str = include_str!("data/only_with.tsv");
const PREGNANCY_WORDS: &str = include_str!("data/pregnancy_words.tsv");
const DIABETES_TYPE: &str = include_str!("data/diabetes_type.tsv");

/// Words that state another cause for a linked condition ("CKD due to lupus nephritis"),
/// which lifts the presumption of I.A.15 and I.C.9.a ("unless the documentation clearly
/// states the conditions are unrelated" / "...is due to another cause").
const OTHER_CAUSE: &[&str] = &[
    "due to",
    "secondary to",
    "caused by",
    "attributed to",
    "unrelated to",
    "not related to",
    "not due to",
    "from",
];

/// One of the words of a code found in the note.
#[derive(Clone, Debug)]
pub struct TermSpan {
    pub sentence: usize,
    /// Token indices, ascending.
    pub tokens: Vec<usize>,
    /// Share of the term found, in [0, 1].
    pub coverage: f32,
    /// Content words of the term found.
    pub words: usize,
    /// Words of an index term, each placed on its nearest occurrence, so the phrase's own
    /// word may stand just before the span ("Pneumonia due to Klebsiella pneumoniae"); a
    /// phrase recognised whole (a status, a drug, a procedure statement) holds its words.
    pub placed: bool,
}

impl TermSpan {
    /// Every word of this span stands in `other`, in the same sentence.
    fn within(&self, other: &TermSpan) -> bool {
        self.sentence == other.sentence && self.tokens.iter().all(|k| other.tokens.contains(k))
    }

    /// At least half of `other`'s words are words of this span: a longer phrase that only
    /// reaches over it ("Acute respiratory failure ... due to COPD exacerbation", where
    /// J44.1's "(acute)" is the failure's word) does not say it.
    fn says_most_of(&self, other: &TermSpan) -> bool {
        let shared = other
            .tokens
            .iter()
            .filter(|k| self.tokens.contains(k))
            .count();
        2 * shared >= other.tokens.len()
    }

    /// This span reaches from before `other` to after it, in the same sentence (its words
    /// need not be `other`'s).
    fn spans(&self, other: &TermSpan) -> bool {
        self.sentence == other.sentence
            && self.first() <= other.first()
            && other.last() <= self.last()
    }

    fn first(&self) -> usize {
        self.tokens.first().copied().unwrap_or(0)
    }
    fn last(&self) -> usize {
        self.tokens.last().copied().unwrap_or(0)
    }
    /// The words stand together as one phrase (not scattered over a clause).
    fn compact(&self) -> bool {
        self.last() - self.first() < self.words + 3
    }
}

/// A candidate code as the guidelines see it.
#[derive(Clone, Debug)]
pub struct Finding {
    pub code: CodeId,
    pub assertion: Assertion,
    /// Where the code's own terms were found (empty for codes only learned phrases or the
    /// sentence encoder suggest).
    pub terms: Vec<TermSpan>,
    /// Where learned phrases or the sentence encoder found it.
    pub inferred: Vec<TermSpan>,
}

impl Finding {
    fn stated(&self) -> bool {
        !self.terms.is_empty()
    }

    /// Stated in full by one of its terms: only such a code makes another one redundant
    /// (a weak partial reading must not remove the code the note does state).
    fn well_stated(&self) -> bool {
        self.terms.iter().any(|t| t.coverage >= WELL_STATED)
    }
}

/// The rules by name, in the order they apply (each can be switched off to measure it).
pub const RULES: &[(&str, &str)] = &[
    (
        "confirmed_only",
        "I.C.1.a.1, I.C.1.g.1.a, I.C.10.c: some conditions only when confirmed",
    ),
    (
        "pregnancy_context",
        "I.C.15.a: chapter 15 codes only where the note states a pregnancy",
    ),
    (
        "encounter_reason",
        "I.C.21.c.16, I.C.21.c.8: a reason-for-encounter code only where the note states that reason",
    ),
    (
        "uncertain_outpatient",
        "IV.H: no uncertain diagnosis in the outpatient setting",
    ),
    (
        "denied",
        "I.B.1: a code whose title states what the note denies (\"no gangrene\")",
    ),
    (
        "same_words",
        "I.A.9.a: an \"other\"/manifestation code on the same words as a named code",
    ),
    (
        "partial",
        "I.B.1: a code read from part of its term on words stating another in full",
    ),
    (
        "procedure_part",
        "PCS B3.2a: one body part value for the sites one procedure statement names together",
    ),
    (
        "excludes1_within",
        "I.A.12.a: of two Excludes1 codes, not the one read from words inside the other's",
    ),
    ("laterality", "I.B.13: the side the note states"),
    (
        "consciousness",
        "I.C.19.b: the loss-of-consciousness duration the note states (S06)",
    ),
    (
        "osteoporotic_fracture",
        "I.C.13.d.2: a fracture in osteoporosis is one M80 code",
    ),
    (
        "presumed_link",
        "I.A.15, I.C.4.a, I.C.9.a: presumed links by combination code",
    ),
    (
        "pregnancy",
        "I.C.15.a.1: chapter 15 codes for conditions in a pregnancy",
    ),
    (
        "combination",
        "I.B.9: a combination code replaces the parts it states",
    ),
    ("trimester", "I.C.15.a.3: the trimester from the note"),
    (
        "diabetes_control",
        "I.C.15.i: gestational diabetes by the control the note states",
    ),
    (
        "unspecified",
        "I.B.18: no unspecified sibling beside a stated specific code",
    ),
    (
        "integral_symptom",
        "I.C.18.b: no symptom integral to a confirmed diagnosis",
    ),
    (
        "event_words",
        "I.C.20: words stating an external cause (\"fell\") are the event, not a symptom",
    ),
    (
        "not_together",
        "I.C.5.b.1, I.C.14.a.1, I.C.21.c.4: dependence over abuse over use, ESRD over a CKD stage",
    ),
    (
        "only_with",
        "I.C.21.c.3: BMI only with an associated diagnosis",
    ),
    (
        "stated_axis",
        "I.A.9.b, I.B.18: the specific code whose distinguishing words the note states",
    ),
    (
        "residual",
        "I.C.18: residual codes (R69 ...) beside a stated diagnosis",
    ),
    ("not_billable", "I.B.2: categories are never reported"),
    (
        "diabetes_type",
        "I.C.4.a.2: the type of diabetes the note states, type 2 by default",
    ),
];

/// How much more of its term another code's reading of the same words must cover for a
/// reading to be only part of what they say.
const PARTIAL_MARGIN: f32 = 0.1;

/// Coverage from which a term mention states its code in full.
const WELL_STATED: f32 = 0.8;

/// A combination code to add, and the findings whose evidence it takes.
#[derive(Clone, Debug)]
pub struct Addition {
    pub code: CodeId,
    pub from: Vec<usize>,
    /// Where the row's qualifying phrases stand ("poorly controlled"): evidence too.
    pub said: Vec<TermSpan>,
    pub rule: RuleNote,
}

/// What the guidelines decide for a note's findings.
#[derive(Clone, Debug, Default)]
pub struct Verdict {
    /// Per finding (same order): the rule that removes it, if any.
    pub dropped: Vec<Option<RuleNote>>,
    /// Combination codes to report (possibly codes already among the findings).
    pub added: Vec<Addition>,
}

/// A presumed link: when every group has a finding, report `code`.
#[derive(Clone, Debug)]
struct PresumedLink {
    id: String,
    section: String,
    when: Vec<LinkGroup>,
    code: CodeId,
    replaces: Vec<CodePattern>,
}

/// One condition of a link: a finding of one of `codes`, or (a qualifier the Alphabetic
/// Index sends to a combination code: diabetes "poorly controlled") one of `phrases` said
/// in a sentence that states the row's first condition.
#[derive(Clone, Debug, Default)]
struct LinkGroup {
    codes: Vec<CodePattern>,
    /// Lower-case words of each phrase.
    phrases: Vec<Vec<String>>,
}

impl LinkGroup {
    fn parse(field: &str, codes: &CodeSet) -> LinkGroup {
        let mut group = LinkGroup::default();
        for item in field.split('|').map(str::trim).filter(|p| !p.is_empty()) {
            match item.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
                Some(phrase) => group
                    .phrases
                    .push(phrase.split_whitespace().map(str::to_lowercase).collect()),
                None => {
                    let pattern = CodePattern::parse(item);
                    if pattern.exists_in(codes) {
                        group.codes.push(pattern);
                    }
                }
            }
        }
        group
    }

    /// The phrase of this group said, not denied, in a sentence where `base` is stated:
    /// the phrase and where it stands.
    fn phrase_said(&self, note: &Note, base: &Finding) -> Option<(String, TermSpan)> {
        base.terms.iter().find_map(|t| {
            let words = sentence_words(note, t.sentence);
            self.phrases.iter().find_map(|p| {
                let at = phrase_at(&words, p)?;
                let denied = at
                    .checked_sub(1)
                    .is_some_and(|k| matches!(words[k].1, "not" | "no" | "never"));
                let span = TermSpan {
                    sentence: t.sentence,
                    tokens: words[at..at + p.len()].iter().map(|&(k, _)| k).collect(),
                    coverage: 1.0,
                    words: p.len(),
                    placed: false,
                };
                (!denied).then(|| (p.join(" "), span))
            })
        })
    }
}

#[derive(Clone, Debug)]
struct IntegralSymptoms {
    diagnoses: Vec<CodePattern>,
    symptoms: Vec<CodePattern>,
    label: String,
}

/// The guideline rules, resolved against one loaded code set.
#[derive(Clone, Debug)]
pub struct Guidelines {
    links: Vec<PresumedLink>,
    /// Chapter 15 codes for conditions stated in a pregnancy note (I.C.15.a.1).
    pregnancy: Vec<PresumedLink>,
    integral: Vec<IntegralSymptoms>,
    residual: Vec<(CodePattern, String)>,
    /// (code, section, label): coded only when confirmed.
    confirmed_only: Vec<(CodePattern, String, String)>,
    /// A code not reported beside another that says the same at a higher level.
    not_together: Vec<NotTogether>,
    /// A code reported only beside an associated diagnosis (same row layout: `not_with`
    /// holds the diagnoses one of which must stand).
    only_with: Vec<NotTogether>,
    /// Word beginnings that state a pregnancy, delivery or puerperium (I.C.15.a).
    pregnancy_words: Vec<String>,
    /// (category, phrases as word lists) naming the type of diabetes (I.C.4.a.2).
    diabetes_types: Vec<(String, Vec<Vec<String>>)>,
    /// Built once: `stated_axis` analyses titles and the note's words with it.
    analyzer: crate::index::Analyzer,
    /// I.C.13.d.2: osteoporosis with a current fracture (M80).
    osteoporotic_fractures: osteoporotic_fracture::OsteoporoticFractures,
    /// I.C.21.c.16, I.C.21.c.8: codes that say why the encounter took place.
    encounter_reasons: encounter_reason::EncounterReasons,
    /// Words the ICD-10-CM titles put right after a comma, as an axis of their own
    /// ("Migraine without aura, intractable", "..., left", "..., stage 3").
    title_qualifiers: HashSet<String>,
}

#[derive(Clone, Debug)]
struct NotTogether {
    code: CodePattern,
    not_with: Vec<CodePattern>,
    section: String,
    why: String,
}

/// Data rows: the non-comment lines after the header, split on tabs.
fn rows(data: &str) -> impl Iterator<Item = Vec<&str>> {
    data.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split('\t').map(str::trim).collect())
}

/// Rows of linked conditions (`id, section, when, code, replaces`); rows naming codes absent
/// from `codes` are left out.
fn link_rows(data: &str, codes: &CodeSet) -> Vec<PresumedLink> {
    rows(data)
        .filter_map(|r| {
            let [id, section, when, code, ..] = r.as_slice() else {
                return None;
            };
            let code = codes.find(code).filter(|&c| codes.get(c).billable)?;
            let when: Vec<LinkGroup> = when
                .split(" + ")
                .map(|g| LinkGroup::parse(g, codes))
                .collect();
            // The first condition is a finding: a phrase qualifies a stated condition.
            if when.first().is_none_or(|g| g.codes.is_empty())
                || when
                    .iter()
                    .any(|g| g.codes.is_empty() && g.phrases.is_empty())
            {
                return None;
            }
            Some(PresumedLink {
                id: id.to_string(),
                section: section.to_string(),
                when,
                code,
                replaces: r.get(4).map(|f| patterns(f)).unwrap_or_default(),
            })
        })
        .collect()
}

fn patterns(field: &str) -> Vec<CodePattern> {
    field
        .split('|')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(CodePattern::parse)
        .collect()
}

impl Guidelines {
    /// The embedded rules; rows naming codes absent from `codes` are left out.
    pub fn new(codes: &CodeSet) -> Guidelines {
        let links = link_rows(PRESUMED_LINKS, codes);
        let pregnancy = link_rows(PREGNANCY, codes);
        let integral = rows(INTEGRAL_SYMPTOMS)
            .filter_map(|r| {
                let [diagnoses, symptoms, label, ..] = r.as_slice() else {
                    return None;
                };
                Some(IntegralSymptoms {
                    diagnoses: patterns(diagnoses),
                    symptoms: patterns(symptoms),
                    label: label.to_string(),
                })
            })
            .collect();
        let residual = rows(REPORTING)
            .filter_map(|r| {
                let [code, why, ..] = r.as_slice() else {
                    return None;
                };
                Some((CodePattern::parse(code), why.to_string()))
            })
            .collect();
        let confirmed_only = rows(CONFIRMED_ONLY)
            .filter_map(|r| {
                let [code, section, label, ..] = r.as_slice() else {
                    return None;
                };
                Some((
                    CodePattern::parse(code),
                    section.to_string(),
                    label.to_string(),
                ))
            })
            .collect();
        let pairs = |data: &str| -> Vec<NotTogether> {
            rows(data)
                .filter_map(|r| {
                    let [code, others, section, why, ..] = r.as_slice() else {
                        return None;
                    };
                    Some(NotTogether {
                        code: CodePattern::parse(code),
                        not_with: patterns(others),
                        section: section.to_string(),
                        why: why.to_string(),
                    })
                })
                .collect()
        };
        let pregnancy_words = rows(PREGNANCY_WORDS)
            .filter_map(|r| r.first().map(|w| w.to_lowercase()))
            .collect();
        let diabetes_types = rows(DIABETES_TYPE)
            .filter_map(|r| {
                let [category, phrases, ..] = r.as_slice() else {
                    return None;
                };
                let phrases = phrases
                    .split('|')
                    .map(|p| p.split_whitespace().map(str::to_string).collect::<Vec<_>>())
                    .filter(|p| !p.is_empty())
                    .collect();
                Some((category.to_string(), phrases))
            })
            .collect();
        Guidelines {
            pregnancy_words,
            diabetes_types,
            analyzer: crate::index::Analyzer::new(),
            osteoporotic_fractures: osteoporotic_fracture::OsteoporoticFractures::new(),
            encounter_reasons: encounter_reason::EncounterReasons::new(),
            title_qualifiers: codes.title_qualifiers().clone(),
            not_together: pairs(NOT_TOGETHER),
            only_with: pairs(ONLY_WITH),
            links,
            pregnancy,
            integral,
            residual,
            confirmed_only,
        }
    }

    /// Applies every rule to a note's findings.
    pub fn apply(
        &self,
        codes: &CodeSet,
        note: &Note,
        findings: &[Finding],
        setting: Setting,
    ) -> Verdict {
        self.apply_except(codes, note, findings, setting, &[])
    }

    /// Applies the rules except those named in `off` (names of [`RULES`]), to measure what
    /// each rule does (`chartcoder eval --rule-effects`).
    pub fn apply_except(
        &self,
        codes: &CodeSet,
        note: &Note,
        findings: &[Finding],
        setting: Setting,
        off: &[String],
    ) -> Verdict {
        let on = |name: &str| {
            debug_assert!(
                RULES.iter().any(|(n, _)| *n == name),
                "rule {name} missing from RULES"
            );
            !off.iter().any(|o| o == name)
        };
        let mut verdict = Verdict {
            dropped: vec![None; findings.len()],
            added: Vec::new(),
        };
        let cm = |f: &Finding| codes.get(f.code).system == System::Icd10cm;
        // Reported as established: present, or uncertain in the inpatient setting (II.H).
        let established = |f: &Finding| match f.assertion {
            Assertion::Present => true,
            Assertion::Uncertain => setting == Setting::Inpatient,
            _ => false,
        };

        // I.C.1.a.1, I.C.1.g.1.a, I.C.10.c: some conditions only when confirmed.
        for (i, f) in findings.iter().enumerate() {
            if f.assertion != Assertion::Uncertain || !on("confirmed_only") {
                continue;
            }
            if let Some((_, section, label)) = self
                .confirmed_only
                .iter()
                .find(|(p, _, _)| p.matches(codes, f.code))
            {
                verdict.dropped[i] = Some(rule(
                    "confirmed_only",
                    section,
                    format!("{label} is coded only when confirmed; code the signs and symptoms"),
                    Vec::new(),
                ));
            }
        }
        // I.C.15.a: chapter 15 is for the maternal record: its codes only where the note
        // states a pregnancy, a delivery or the puerperium.
        let chapter_15 = |f: &Finding| cm(f) && codes.get(f.code).code.starts_with('O');
        if on("pregnancy_context")
            && findings.iter().any(chapter_15)
            && !self.states_pregnancy(note)
        {
            for (i, f) in findings.iter().enumerate() {
                if verdict.dropped[i].is_none() && chapter_15(f) {
                    verdict.dropped[i] = Some(rule(
                        "pregnancy_context",
                        "I.C.15.a",
                        "a chapter 15 code, but the note states no pregnancy, delivery or \
                         puerperium"
                            .into(),
                        Vec::new(),
                    ));
                }
            }
        }
        if on("encounter_reason") {
            self.encounter_reasons
                .apply(codes, note, findings, &mut verdict);
        }
        // IV.H: outpatient coding does not code uncertain diagnoses.
        for (i, f) in findings.iter().enumerate() {
            if setting == Setting::Outpatient
                && on("uncertain_outpatient")
                && f.assertion == Assertion::Uncertain
                && cm(f)
                && verdict.dropped[i].is_none()
            {
                verdict.dropped[i] = Some(rule(
                    "uncertain_outpatient",
                    "IV.H",
                    "uncertain diagnosis (probable, suspected, rule out): not coded in the \
                     outpatient setting; code the symptoms, signs or findings instead"
                        .into(),
                    Vec::new(),
                ));
            }
        }

        // Readings of the note's words that another code states better go first, so that
        // the side or trimester is given to the codes that stay.
        // What the note denies goes first: a denied reading makes no other redundant (a
        // reading dropped for it would stand again once it is gone).
        if on("denied") {
            self.denied_words(codes, note, findings, &mut verdict);
        }
        if on("same_words") {
            same_words_better_code(codes, findings, &mut verdict);
        }
        if on("partial") {
            partial_readings(codes, findings, &mut verdict);
        }
        if on("procedure_part") {
            procedure_parts(codes, findings, &mut verdict);
        }
        if on("excludes1_within") {
            excludes1_within(&self.analyzer, codes, note, findings, &mut verdict);
        }
        if on("laterality") {
            laterality(codes, note, findings, &mut verdict);
        }
        if on("consciousness") {
            consciousness::apply(codes, note, findings, &mut verdict);
        }
        if on("osteoporotic_fracture") {
            // Established and standing (a side the note states is the same finding).
            let usable: Vec<bool> = findings
                .iter()
                .zip(&verdict.dropped)
                .map(|(f, d)| established(f) && d.as_ref().is_none_or(|r| r.kind == "laterality"))
                .collect();
            self.osteoporotic_fractures
                .apply(codes, note, findings, &usable, &mut verdict);
        }
        if on("presumed_link") {
            self.presumed_links(codes, note, findings, &established, &mut verdict);
        }
        if on("pregnancy") {
            self.pregnancy_precedence(codes, note, findings, &established, &mut verdict);
        }
        if on("combination") {
            combination_parts(codes, findings, &mut verdict);
        }
        // Again, now that combination codes stand for their parts' words.
        if on("excludes1_within") {
            excludes1_within(&self.analyzer, codes, note, findings, &mut verdict);
        }
        if on("trimester") {
            trimester(codes, note, findings, &mut verdict);
        }
        if on("diabetes_control") {
            diabetes_control(codes, note, findings, &mut verdict);
        }
        if on("unspecified") {
            unspecified_siblings(codes, findings, &mut verdict);
        }
        if on("integral_symptom") {
            self.integral_symptoms(codes, findings, &established, &mut verdict);
        }
        if on("event_words") {
            event_words(codes, findings, &established, &mut verdict);
        }
        if on("not_together") {
            self.not_together(codes, findings, &established, &mut verdict);
        }
        if on("only_with") {
            self.only_with(codes, findings, &established, &mut verdict);
        }
        // Last of the rules that choose among a condition's codes: the unspecified code it
        // refines has already stood every rule above.
        if on("stated_axis") {
            self.stated_axis(codes, note, findings, &mut verdict);
            if on("combination") {
                parts_of_stated_details(codes, findings, &mut verdict);
            }
        }
        if on("residual") {
            self.residual_codes(codes, findings, &mut verdict);
        }
        // A reading dropped for a code that is itself gone stands again; a category never
        // stands, restored or not, and a reading dropped for it stands again in turn. Each
        // round drops or restores findings for good, so this ends.
        loop {
            restore_orphans(codes, findings, &mut verdict);
            let mut dropped_any = false;
            for (i, f) in findings.iter().enumerate() {
                let code = codes.get(f.code);
                if on("not_billable")
                    && verdict.dropped[i].is_none()
                    && !code.billable
                    && code.kind != CodeKind::Block
                {
                    verdict.dropped[i] = Some(rule(
                        "not_billable",
                        "I.B.2",
                        format!(
                            "{} is a category, not a reportable code: the note must say which \
                             of its codes applies",
                            code.display()
                        ),
                        Vec::new(),
                    ));
                    dropped_any = true;
                }
            }
            if !dropped_any {
                break;
            }
        }
        // Last: only the type of the readings that stay is restated.
        if on("diabetes_type") {
            self.diabetes_type(codes, note, findings, &mut verdict);
        }
        verdict
    }

    /// I.A.15, I.C.4.a, I.C.9.a: conditions the classification links are reported by their
    /// combination code.
    fn presumed_links(
        &self,
        codes: &CodeSet,
        note: &Note,
        findings: &[Finding],
        established: &dyn Fn(&Finding) -> bool,
        verdict: &mut Verdict,
    ) {
        let context = LinkContext {
            codes,
            note,
            findings,
            established,
        };
        context.link(&self.links, None, verdict);
    }

    /// I.C.15.a.1: in a pregnancy note (weeks of gestation stated, the pregnancy not called
    /// incidental) a condition is reported by its chapter 15 code.
    /// Does the note say a word that begins with one of the pregnancy words?
    fn states_pregnancy(&self, note: &Note) -> bool {
        let text = note.text.to_lowercase();
        self.pregnancy_words.iter().any(|w| {
            text.match_indices(w.as_str()).any(|(at, _)| {
                !text[..at]
                    .chars()
                    .next_back()
                    .is_some_and(char::is_alphanumeric)
            })
        })
    }

    /// I.C.4.a.2: a reading of E13 "Other specified diabetes mellitus" on words that name
    /// no other specified kind is the type the sentence states, type 2 by default (the
    /// same subcategory of E10 or E11: E13.641 becomes E10.641 for "type 1 diabetic ...
    /// hypoglycemia").
    fn diabetes_type(
        &self,
        codes: &CodeSet,
        note: &Note,
        findings: &[Finding],
        verdict: &mut Verdict,
    ) {
        for (i, f) in findings.iter().enumerate() {
            let code = &codes.get(f.code).code;
            // E11 is also the Index's default reading of a bare "diabetes" ("Diabetes
            // E11.9"): a sentence that names a drug-induced or type 1 diabetes, and not
            // type 2, states that type instead ("steroid-induced diabetes" is E09.9).
            let default_type = code.starts_with("E11");
            if verdict.dropped[i].is_some()
                || !(code.starts_with("E13") || default_type)
                || !f.stated()
            {
                continue;
            }
            let names = |category: &str| {
                f.terms.iter().any(|t| {
                    let words = sentence_words(note, t.sentence);
                    self.diabetes_types.iter().any(|(c, phrases)| {
                        c == category && phrases.iter().any(|p| phrase_at(&words, p).is_some())
                    })
                })
            };
            // The longest phrase names the type: "non insulin dependent" is type 2, though
            // "insulin dependent" lies inside it (rows break ties, in order).
            let named = f.terms.iter().find_map(|t| {
                let words = sentence_words(note, t.sentence);
                self.diabetes_types
                    .iter()
                    .enumerate()
                    .flat_map(|(row, (category, phrases))| {
                        phrases
                            .iter()
                            .filter(|p| phrase_at(&words, p).is_some())
                            .map(move |p| (p.len(), std::cmp::Reverse(row), category.as_str()))
                    })
                    .max()
                    .map(|(_, _, category)| category)
            });
            if default_type && (!matches!(named, Some("E09" | "E10")) || names("E11")) {
                continue;
            }
            let (category, stated) = match named {
                Some("E13") => continue,
                Some(category) => (category, "the type the note states"),
                None => ("E11", "type not documented: type 2 by default"),
            };
            let wanted = format!("{category}{}", &code[3..]);
            let Some(to) = codes.find(&wanted).filter(|&c| codes.get(c).billable) else {
                continue;
            };
            // The type's own reading was judged already ("with coma" where the note says "no
            // coma", or beside a more specific code): the same judgement holds for this one,
            // unless it was made in favour of this very reading.
            let shown = codes.get(f.code).display();
            let judged = findings
                .iter()
                .zip(&verdict.dropped)
                .find_map(|(g, d)| d.as_ref().filter(|_| g.code == to))
                .filter(|r| !r.codes.contains(&shown));
            if let Some(rule) = judged {
                verdict.dropped[i] = Some(rule.clone());
                continue;
            }
            replace_by_stated_sibling(
                codes,
                verdict,
                (i, f.code),
                to,
                ("diabetes_type", "I.C.4.a.2", "type of diabetes"),
                stated,
            );
        }
    }

    fn pregnancy_precedence(
        &self,
        codes: &CodeSet,
        note: &Note,
        findings: &[Finding],
        established: &dyn Fn(&Finding) -> bool,
        verdict: &mut Verdict,
    ) {
        let Some(pregnancy) = findings.iter().position(|f| {
            f.assertion == Assertion::Present
                && codes.get(f.code).code.starts_with("Z3A")
                && codes.get(f.code).code != "Z3A00"
                && !f
                    .terms
                    .iter()
                    .any(|t| sentence_says(note, t.sentence, "incidental"))
        }) else {
            return;
        };
        let context = LinkContext {
            codes,
            note,
            findings,
            established,
        };
        context.link(&self.pregnancy, Some(pregnancy), verdict);
    }
    /// I.B.5, I.C.18.b: a symptom routinely part of a confirmed diagnosis is not reported.
    fn integral_symptoms(
        &self,
        codes: &CodeSet,
        findings: &[Finding],
        established: &dyn Fn(&Finding) -> bool,
        verdict: &mut Verdict,
    ) {
        let confirmed: Vec<CodeId> = findings
            .iter()
            .enumerate()
            .filter(|(i, f)| verdict.dropped[*i].is_none() && f.well_stated() && established(f))
            .map(|(_, f)| f.code)
            .chain(verdict.added.iter().map(|a| a.code))
            .collect();
        for (i, f) in findings.iter().enumerate() {
            if verdict.dropped[i].is_some() {
                continue;
            }
            let found = self.integral.iter().find_map(|row| {
                if !row.symptoms.iter().any(|p| p.matches(codes, f.code)) {
                    return None;
                }
                confirmed
                    .iter()
                    .find(|&&d| d != f.code && row.diagnoses.iter().any(|p| p.matches(codes, d)))
                    .map(|&d| (d, &row.label))
            });
            if let Some((diagnosis, label)) = found {
                let shown = codes.get(diagnosis).display();
                verdict.dropped[i] = Some(rule(
                    "integral_symptom",
                    "I.C.18.b",
                    format!("routinely part of {label} ({shown}): not coded separately"),
                    vec![shown],
                ));
            }
        }
    }

    /// I.C.5.b.1, I.C.21.c.4: a code not reported beside an established code that says
    /// the same at a higher level (dependence over abuse over use).
    fn not_together(
        &self,
        codes: &CodeSet,
        findings: &[Finding],
        established: &dyn Fn(&Finding) -> bool,
        verdict: &mut Verdict,
    ) {
        let standing = |verdict: &Verdict| -> Vec<CodeId> {
            findings
                .iter()
                .enumerate()
                .filter(|(j, f)| verdict.dropped[*j].is_none() && f.stated() && established(f))
                .map(|(_, f)| f.code)
                .chain(verdict.added.iter().map(|a| a.code))
                .collect()
        };
        // A code another rule put in place ("insulin controlled" O24.414 for O24.419) goes
        // the same way, before it makes others go.
        let before = standing(verdict);
        verdict.added.retain(|a| {
            !self.not_together.iter().any(|row| {
                row.code.matches(codes, a.code)
                    && before
                        .iter()
                        .any(|&o| o != a.code && row.not_with.iter().any(|p| p.matches(codes, o)))
            })
        });
        let standing = standing(verdict);
        for (i, f) in findings.iter().enumerate() {
            if verdict.dropped[i].is_some() {
                continue;
            }
            let found = self.not_together.iter().find_map(|row| {
                if !row.code.matches(codes, f.code) {
                    return None;
                }
                standing
                    .iter()
                    .find(|&&o| o != f.code && row.not_with.iter().any(|p| p.matches(codes, o)))
                    .map(|&o| (o, row))
            });
            if let Some((over, row)) = found {
                let shown = codes.get(over).display();
                verdict.dropped[i] = Some(rule(
                    "not_together",
                    &row.section,
                    format!("{}: {shown} is reported", row.why),
                    vec![shown],
                ));
            }
        }
    }

    /// I.C.21.c.3: a code reported only beside an associated diagnosis the note establishes.
    fn only_with(
        &self,
        codes: &CodeSet,
        findings: &[Finding],
        established: &dyn Fn(&Finding) -> bool,
        verdict: &mut Verdict,
    ) {
        let standing: Vec<CodeId> = findings
            .iter()
            .enumerate()
            .filter(|(j, f)| verdict.dropped[*j].is_none() && established(f))
            .map(|(_, f)| f.code)
            .chain(verdict.added.iter().map(|a| a.code))
            .collect();
        for (i, f) in findings.iter().enumerate() {
            if verdict.dropped[i].is_some() {
                continue;
            }
            let unmet = self.only_with.iter().find(|row| {
                row.code.matches(codes, f.code)
                    && !standing
                        .iter()
                        .any(|&o| row.not_with.iter().any(|p| p.matches(codes, o)))
            });
            if let Some(row) = unmet {
                verdict.dropped[i] =
                    Some(rule("only_with", &row.section, row.why.clone(), Vec::new()));
            }
        }
    }

    /// I.C.18, I.B.18: residual codes add nothing beside a stated diagnosis.
    fn residual_codes(&self, codes: &CodeSet, findings: &[Finding], verdict: &mut Verdict) {
        let residual = |id: CodeId| self.residual.iter().find(|(p, _)| p.matches(codes, id));
        let diagnoses: Vec<usize> = (0..findings.len())
            .filter(|&j| {
                verdict.dropped[j].is_none()
                    && findings[j].well_stated()
                    && codes.get(findings[j].code).system == System::Icd10cm
                    && residual(findings[j].code).is_none()
            })
            .collect();
        let another_stated = !diagnoses.is_empty();
        for (i, f) in findings.iter().enumerate() {
            if verdict.dropped[i].is_some() || !another_stated {
                continue;
            }
            if let Some((_, why)) = residual(f.code) {
                verdict.dropped[i] = Some(rule(
                    "residual",
                    "I.C.18",
                    format!("{why}; a more definite diagnosis is stated"),
                    Vec::new(),
                ));
            }
        }
    }
}

/// What linking rows read.
struct LinkContext<'a> {
    codes: &'a CodeSet,
    note: &'a Note,
    findings: &'a [Finding],
    established: &'a dyn Fn(&Finding) -> bool,
}

impl LinkContext<'_> {
    /// Applies `links` in order: a row whose every condition group has a finding adds its
    /// code and drops the parts it states in full. With `pregnancy` (the finding stating the
    /// weeks of gestation), the rows are chapter 15 precedence: the pregnancy is the link,
    /// so no other cause is looked for, and its words are part of the evidence.
    fn link(&self, links: &[PresumedLink], pregnancy: Option<usize>, verdict: &mut Verdict) {
        let (codes, findings) = (self.codes, self.findings);
        let mut replaced: HashSet<usize> = HashSet::new();
        for link in links {
            let usable = |i: usize| {
                let f = &findings[i];
                // A reading restated by the side the note gives ("cellulitis of left lower
                // leg": L03.116 for L03.119) is still the condition.
                let standing = verdict.dropped[i]
                    .as_ref()
                    .is_none_or(|r| r.kind == "laterality");
                f.stated()
                    && (self.established)(f)
                    && standing
                    && !replaced.contains(&i)
                    // In a pregnancy, a condition stated only as part of another's words
                    // ("diabetes" of "gestational diabetes") is not a condition of its own.
                    && (pregnancy.is_none()
                        || container_of(codes, findings, verdict, i, &|a, b| {
                            codes.get(a).system == System::Icd10cm
                                && codes.get(b).system == System::Icd10cm
                        })
                        .is_none())
            };
            // One finding per group, the first in note order.
            let mut chosen: Vec<usize> = Vec::new();
            let mut said: Vec<(String, TermSpan)> = Vec::new();
            let complete = link.when.iter().all(|group| {
                // A reading the laterality rule restated is also its sided code.
                let sided = |i: usize| {
                    verdict.dropped[i]
                        .as_ref()
                        .filter(|r| r.kind == "laterality")
                        .and_then(|r| r.codes.first())
                        .and_then(|shown| codes.find(shown))
                };
                let hit = (0..findings.len())
                    .filter(|&i| usable(i) && !chosen.contains(&i))
                    .find(|&i| {
                        group.codes.iter().any(|p| {
                            p.matches(codes, findings[i].code)
                                || sided(i).is_some_and(|c| p.matches(codes, c))
                        })
                    });
                if let Some(i) = hit {
                    chosen.push(i);
                    return true;
                }
                let phrase = chosen
                    .first()
                    .and_then(|&base| group.phrase_said(self.note, &findings[base]));
                phrase.map(|p| said.push(p)).is_some()
            });
            if !complete {
                continue;
            }
            let base = chosen[0];
            if pregnancy.is_none()
                && chosen[1..]
                    .iter()
                    .any(|&i| states_other_cause(self.note, &findings[i], &findings[base]))
            {
                continue;
            }
            let combination = codes.get(link.code);
            let parts: Vec<String> = chosen
                .iter()
                .map(|&i| codes.get(findings[i].code).display())
                .collect();
            let named: Vec<String> = parts
                .iter()
                .cloned()
                .chain(said.iter().map(|(p, _)| format!("\"{p}\"")))
                .collect();
            let (kind, message, from) = match pregnancy {
                None => (
                    "presumed_link",
                    format!(
                        "{} with {}: the guidelines presume the link ({}); reported as {} {}",
                        named[0],
                        named[1..].join(" and "),
                        link.id,
                        combination.display(),
                        combination.title
                    ),
                    chosen.clone(),
                ),
                Some(p) => (
                    "pregnancy",
                    format!(
                        "{} in a pregnancy ({}): chapter 15 codes come first; reported as {} {}",
                        named.join(" and "),
                        codes.get(findings[p].code).display(),
                        combination.display(),
                        combination.title
                    ),
                    chosen.iter().copied().chain([p]).collect(),
                ),
            };
            // The sided code the laterality rule gave a part is part of the combination too.
            verdict.added.retain(|a| {
                !(a.rule.kind == "laterality"
                    && a.from.iter().any(|j| chosen.contains(j))
                    && link.replaces.iter().any(|p| p.matches(codes, a.code))
                    && !asks_for(codes, link.code, a.code))
            });
            verdict.added.push(Addition {
                code: link.code,
                from,
                said: said.into_iter().map(|(_, span)| span).collect(),
                rule: rule(kind, &link.section, message, parts.clone()),
            });
            // Parts the combination says in full are not reported beside it, unless its
            // own tabular notes ask for them as additional codes.
            for (i, f) in findings.iter().enumerate() {
                if f.code == link.code || verdict.dropped[i].is_some() {
                    continue;
                }
                let is_part = link.replaces.iter().any(|p| p.matches(codes, f.code));
                if is_part && !asks_for(codes, link.code, f.code) {
                    replaced.insert(i);
                    verdict.dropped[i] = Some(rule(
                        "combination",
                        &link.section,
                        format!(
                            "included in {} {} ({})",
                            combination.display(),
                            combination.title,
                            if pregnancy.is_some() {
                                "chapter 15 precedence"
                            } else {
                                "presumed link"
                            }
                        ),
                        vec![combination.display()],
                    ));
                }
            }
        }
    }
}

/// Does the sentence hold the word?
fn sentence_says(note: &Note, sentence: usize, word: &str) -> bool {
    note.sentences
        .get(sentence)
        .and_then(|s| note.tokens.get(s.tokens.clone()))
        .is_some_and(|tokens| tokens.iter().any(|t| t.norm == word))
}

/// Words that state a side, and the word the titles use for it.
const SIDES: &[(&str, &str)] = &[
    ("left", "left"),
    ("lt", "left"),
    ("right", "right"),
    ("rt", "right"),
];

/// Tokens around a mention searched for a side ("left knee osteoarthritis", "fracture of the
/// distal left radius").
const SIDE_WINDOW: usize = 4;

/// I.B.13: a code for an unspecified side becomes the code for the side the note states
/// next to the mention (one side only; both sides or none leave it as it is).
fn laterality(codes: &CodeSet, note: &Note, findings: &[Finding], verdict: &mut Verdict) {
    for (i, f) in findings.iter().enumerate() {
        let code = codes.get(f.code);
        if verdict.dropped[i].is_some()
            || !f.stated()
            || code.system != System::Icd10cm
            || !code.title.to_ascii_lowercase().contains("unspecified")
        {
            continue;
        }
        let stated = sides_stated(note, f);
        let [side] = stated.as_slice() else {
            continue;
        };
        // I.C.6.a: hemiplegia and like codes name the side as dominant or nondominant.
        let sided = sided_sibling(codes, f.code, side).or_else(|| {
            // Only where no plain sided sibling exists is the note read for the hand.
            let dominance = dominance_of(note, side);
            sided_sibling(codes, f.code, &format!("{side} {dominance}")).or_else(|| {
                let hyphenated = dominance.replace("nondominant", "non-dominant");
                sided_sibling(codes, f.code, &format!("{side} {hyphenated}"))
            })
        });
        let Some(sided) = sided else {
            continue;
        };
        replace_by_stated_sibling(
            codes,
            verdict,
            (i, f.code),
            sided,
            ("laterality", "I.B.13", "side"),
            &format!("side ({side}) from the note's words"),
        );
    }
}

/// The sides ("left", "right") the words around a finding's own terms state.
fn sides_stated(note: &Note, f: &Finding) -> Vec<&'static str> {
    let mut stated: Vec<&'static str> = Vec::new();
    for t in &f.terms {
        let Some(sentence) = note.sentences.get(t.sentence) else {
            continue;
        };
        let from = t
            .first()
            .saturating_sub(SIDE_WINDOW)
            .max(sentence.tokens.start);
        let to = (t.last() + SIDE_WINDOW + 1).min(sentence.tokens.end);
        for token in note.tokens.get(from..to).unwrap_or_default() {
            if let Some((_, side)) = SIDES.iter().find(|(w, _)| *w == token.norm) {
                if !stated.contains(side) {
                    stated.push(side);
                }
            }
        }
    }
    stated
}

/// I.C.6.a: whether the affected `side` is the dominant one: the side of the hand the note
/// says the patient uses ("right-handed"); ambidextrous is dominant; otherwise the left side
/// is nondominant and the right side dominant.
fn dominance_of(note: &Note, side: &str) -> &'static str {
    let text = note.text.to_lowercase();
    let says = |phrases: &[&str]| phrases.iter().any(|p| text.contains(p));
    let handed = if says(&["ambidextrous"]) {
        Some("both")
    } else if says(&["right-handed", "right handed"]) {
        Some("right")
    } else if says(&["left-handed", "left handed"]) {
        Some("left")
    } else {
        None
    };
    match handed {
        Some("both") => "dominant",
        Some(hand) if hand == side => "dominant",
        Some(_) => "nondominant",
        None if side == "left" => "nondominant",
        None => "dominant",
    }
}

/// Tokens either side of a mention searched for the words of a more specific code.
const AXIS_WINDOW: usize = 5;

/// Does sentence `s` end with a semicolon (a clause of the same statement follows)?
fn ends_with_semicolon(note: &Note, s: usize) -> bool {
    note.sentences
        .get(s)
        .and_then(|sentence| {
            sentence
                .tokens
                .clone()
                .rev()
                .find(|&k| !note.tokens[k].norm.trim().is_empty())
        })
        .is_some_and(|k| note.tokens[k].norm == ";")
}

/// Title words that name no axis of a code: what an "unspecified" code has and its
/// specific sibling lacks may only be these.
fn names_no_axis(word: &str) -> bool {
    crate::index::is_filler(word) || matches!(word, "whether" | "with" | "without" | "not")
}

impl Guidelines {
    /// I.A.9.b, I.B.18: an "unspecified" code becomes the code of its condition whose
    /// distinguishing title words the note states in the mention's sentence ("nicotine
    /// dependence" with "cigarettes": F17.210 "Nicotine dependence, cigarettes,
    /// uncomplicated", not F17.200 "..., unspecified, uncomplicated"; "carcinoma of the right
    /// breast, upper outer quadrant": C50.411, not C50.911 "... unspecified site ..."). The
    /// specific code must keep every word of the unspecified one that names an axis (a side,
    /// an organism), and one code alone must fit.
    fn stated_axis(
        &self,
        codes: &CodeSet,
        note: &Note,
        findings: &[Finding],
        verdict: &mut Verdict,
    ) {
        let (analyzer, qualifiers) = (&self.analyzer, &self.title_qualifiers);
        let title_words = |id: CodeId| -> Vec<String> { analyzer.words(&codes.get(id).title) };
        for (i, f) in findings.iter().enumerate() {
            let code = codes.get(f.code);
            if verdict.dropped[i].is_some()
                || !f.stated()
                || f.assertion == Assertion::Negated
                || code.system != System::Icd10cm
                || code.kind == CodeKind::SeventhCharacter
                || unspecified_count(codes, f.code) == 0
            {
                continue;
            }
            let Some(mut condition) = condition_of(codes, f.code) else {
                continue;
            };
            // From the condition's own unspecified level up ("Nicotine dependence,
            // unspecified" F17.20 to F17.2, whose F17.21- are the cigarettes).
            while codes
                .get(condition)
                .title
                .to_ascii_lowercase()
                .contains("unspecified")
            {
                match codes
                    .get(condition)
                    .parent
                    .filter(|&p| codes.get(p).kind == CodeKind::Code)
                {
                    Some(p) => condition = p,
                    None => break,
                }
            }
            // The analysed words next to the mention (a few tokens either side, within its
            // sentence or a clause a semicolon joins to it: "smokes 1 ppd cigarettes; nicotine
            // dependent"), not denied.
            let mut said: HashSet<String> = HashSet::new();
            for t in &f.terms {
                let Some(sentence) = note.sentences.get(t.sentence) else {
                    continue;
                };
                let mut from = sentence.tokens.start;
                let mut s = t.sentence;
                while s > 0 && ends_with_semicolon(note, s - 1) {
                    s -= 1;
                    from = note.sentences[s].tokens.start;
                }
                let mut to = sentence.tokens.end;
                let mut s = t.sentence;
                while s + 1 < note.sentences.len() && ends_with_semicolon(note, s) {
                    s += 1;
                    to = note.sentences[s].tokens.end;
                }
                let from = t.first().saturating_sub(AXIS_WINDOW).max(from);
                let to = (t.last() + AXIS_WINDOW + 1).min(to);
                for k in from..to {
                    if denied_token(note, k, from, qualifiers) {
                        continue;
                    }
                    let token = &note.tokens[k];
                    said.extend(analyzer.words(&note.slice(token.start, token.end)));
                }
            }
            let own = title_words(f.code);
            let vagueness = unspecified_count(codes, f.code);
            let mut fits: Vec<(usize, CodeId)> = Vec::new();
            let mut stack = vec![condition];
            while let Some(c) = stack.pop() {
                stack.extend(codes.get(c).children.iter().copied());
                let candidate = codes.get(c);
                // "Other ..." codes are residual: silence does not choose them.
                let residual = candidate
                    .title
                    .to_ascii_lowercase()
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|w| w == "other");
                if c == f.code
                    || residual
                    || !candidate.billable
                    || candidate.kind == CodeKind::SeventhCharacter
                    || unspecified_count(codes, c) >= vagueness
                {
                    continue;
                }
                let words = title_words(c);
                let extra: Vec<&String> = words
                    .iter()
                    .filter(|w| !own.contains(w) && !names_no_axis(w))
                    .collect();
                let lost = own.iter().any(|w| !words.contains(w) && !names_no_axis(w));
                if !extra.is_empty() && !lost && extra.iter().all(|w| said.contains(*w)) {
                    fits.push((extra.len(), c));
                }
            }
            fits.sort_unstable_by_key(|f| std::cmp::Reverse(f.0));
            let chosen = match fits.as_slice() {
                [(_, only)] => *only,
                [(n, best), (m, _), ..] if n > m => *best,
                _ => continue,
            };
            replace_by_stated_sibling(
                codes,
                verdict,
                (i, f.code),
                chosen,
                ("stated_axis", "I.B.18", "detail"),
                "the note's words state what the unspecified code leaves open",
            );
        }
    }
}

/// Finding `i` (code `from`) becomes `to`, the sibling for the axis value the note states
/// (side, trimester, control): the finding is dropped pointing at `to`, and `to` is added
/// with the finding's evidence. The rule is named by (kind, guideline section, the axis).
fn replace_by_stated_sibling(
    codes: &CodeSet,
    verdict: &mut Verdict,
    (i, from): (usize, CodeId),
    to: CodeId,
    (kind, section, axis): (&str, &str, &str),
    stated: &str,
) {
    let (was, shown) = (codes.get(from).display(), codes.get(to).display());
    verdict.dropped[i] = Some(rule(
        kind,
        section,
        format!("the note states the {axis}: {shown}"),
        vec![shown],
    ));
    verdict.added.push(Addition {
        code: to,
        from: vec![i],
        said: Vec::new(),
        rule: rule(
            kind,
            section,
            format!("{stated}; {was} was for an unspecified {axis}"),
            vec![was],
        ),
    });
}

/// The sibling of `id` whose title has `to` where `id`'s has `from`.
fn sibling_with(codes: &CodeSet, id: CodeId, from: &str, to: &str) -> Option<CodeId> {
    let title = codes.get(id).title.to_ascii_lowercase();
    let wanted = title.replacen(from, to, 1);
    if wanted == title {
        return None;
    }
    let parent = codes.get(id).parent?;
    codes
        .get(parent)
        .children
        .iter()
        .copied()
        .find(|&c| c != id && codes.get(c).title.to_ascii_lowercase() == wanted)
        .filter(|&c| codes.get(c).billable)
}

/// I.C.15.i: gestational diabetes "unspecified control" becomes the control the note
/// states: insulin (a Z79.4 finding; with diet too, insulin only), oral hypoglycemic drugs
/// (Z79.84), or diet.
fn diabetes_control(codes: &CodeSet, note: &Note, findings: &[Finding], verdict: &mut Verdict) {
    let has = |prefix: &str| {
        findings.iter().enumerate().any(|(i, f)| {
            verdict.dropped[i].is_none()
                && f.assertion == Assertion::Present
                && codes.get(f.code).code.starts_with(prefix)
        })
    };
    let control = if has("Z794") {
        "insulin controlled"
    } else if has("Z7984") {
        "controlled by oral hypoglycemic drugs"
    } else if note.tokens.iter().any(|t| t.norm == "diet") {
        "diet controlled"
    } else {
        return;
    };
    let unspecified = "unspecified control";
    for a in &mut verdict.added {
        if let Some(c) = sibling_with(codes, a.code, unspecified, control) {
            a.code = c;
        }
    }
    for (i, f) in findings.iter().enumerate() {
        if verdict.dropped[i].is_some() {
            continue;
        }
        if let Some(c) = sibling_with(codes, f.code, unspecified, control) {
            replace_by_stated_sibling(
                codes,
                verdict,
                (i, f.code),
                c,
                ("diabetes_control", "I.C.15.i", "control"),
                &format!("{control} from the note"),
            );
        }
    }
}

/// Words naming a trimester ("second trimester", "2nd trimester") and the titles' word.
const TRIMESTERS: &[(&str, &str)] = &[
    ("first", "first"),
    ("1st", "first"),
    ("second", "second"),
    ("2nd", "second"),
    ("third", "third"),
    ("3rd", "third"),
];

/// The trimester of a pregnancy note: the one trimester it names, else the one its weeks of
/// gestation (Z3A findings) fall in. I.C.15.a.3: first trimester less than 14 weeks 0 days,
/// second 14 weeks 0 days to less than 28 weeks 0 days, third 28 weeks 0 days until delivery.
fn trimester_of(
    codes: &CodeSet,
    note: &Note,
    findings: &[Finding],
    verdict: &Verdict,
) -> Option<&'static str> {
    let mut named: Vec<&'static str> = note
        .tokens
        .windows(2)
        .filter(|w| w[1].norm == "trimester")
        .filter_map(|w| TRIMESTERS.iter().find(|(t, _)| *t == w[0].norm))
        .map(|(_, title)| *title)
        .collect();
    named.sort_unstable();
    named.dedup();
    if let [one] = named.as_slice() {
        return Some(one);
    }
    let mut by_weeks: Vec<&'static str> = findings
        .iter()
        .enumerate()
        .filter(|(i, f)| verdict.dropped[*i].is_none() && f.assertion == Assertion::Present)
        .filter_map(|(_, f)| {
            codes
                .get(f.code)
                .code
                .strip_prefix("Z3A")?
                .parse::<u32>()
                .ok()
        })
        .filter(|&weeks| weeks > 0)
        // Z3A.01 is "less than 8 weeks".
        .map(|weeks| match weeks {
            1..=13 => "first",
            14..=27 => "second",
            _ => "third",
        })
        .collect();
    by_weeks.sort_unstable();
    by_weeks.dedup();
    match by_weeks.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// I.C.15.a.3: a chapter 15 code for an unspecified trimester becomes the code for the
/// trimester the note states (named, or from the weeks of gestation).
fn trimester(codes: &CodeSet, note: &Note, findings: &[Finding], verdict: &mut Verdict) {
    let unspecified = |id: CodeId| {
        codes
            .get(id)
            .title
            .to_ascii_lowercase()
            .contains("unspecified trimester")
    };
    let Some(trimester) = trimester_of(codes, note, findings, verdict) else {
        return;
    };
    for a in &mut verdict.added {
        if let Some(t) = unspecified(a.code)
            .then(|| sided_sibling(codes, a.code, trimester))
            .flatten()
        {
            let (before, after) = (codes.get(a.code).display(), codes.get(t).display());
            a.code = t;
            a.rule.message = format!("{}; {trimester} trimester: {after}", a.rule.message);
            // The parts it replaced name the code now reported.
            for r in verdict.dropped.iter_mut().flatten() {
                for c in r.codes.iter_mut().filter(|c| **c == before) {
                    c.clone_from(&after);
                }
            }
        }
    }
    // A reading of another trimester than the note's is not what it says ("first
    // pregnancy" read as "..., first trimester" at 24 weeks).
    let other_trimester = |id: CodeId| {
        let title = codes.get(id).title.to_ascii_lowercase();
        ["first", "second", "third"]
            .iter()
            .any(|t| *t != trimester && title.contains(&format!("{t} trimester")))
    };
    for (i, f) in findings.iter().enumerate() {
        if verdict.dropped[i].is_none() && other_trimester(f.code) {
            verdict.dropped[i] = Some(rule(
                "trimester",
                "I.C.15.a.3",
                format!("the note states the {trimester} trimester"),
                Vec::new(),
            ));
        }
    }
    for (i, f) in findings.iter().enumerate() {
        if verdict.dropped[i].is_some() || !unspecified(f.code) {
            continue;
        }
        if let Some(t) = sided_sibling(codes, f.code, trimester) {
            replace_by_stated_sibling(
                codes,
                verdict,
                (i, f.code),
                t,
                ("trimester", "I.C.15.a.3", "trimester"),
                &format!("{trimester} trimester from the note"),
            );
        }
    }
}

/// The code a sibling is sought for: `id` itself, or for a 7th-character code its base, with
/// the 7th character the sibling must keep.
fn base_and_seventh(codes: &CodeSet, id: CodeId) -> Option<(CodeId, Option<char>)> {
    let code = codes.get(id);
    if code.kind == CodeKind::SeventhCharacter {
        Some((code.parent?, code.code.chars().last()))
    } else {
        Some((id, None))
    }
}

/// The reportable code of a sibling base: itself, or its code with the 7th character kept.
fn with_seventh(codes: &CodeSet, sibling: CodeId, seventh: Option<char>) -> Option<CodeId> {
    match seventh {
        None => codes.get(sibling).billable.then_some(sibling),
        Some(ch) => codes
            .get(sibling)
            .children
            .iter()
            .copied()
            .find(|&c| codes.get(c).code.ends_with(ch)),
    }
}

/// The sibling of `id` whose title names `side` where `id`'s says "unspecified" (for a
/// 7th-character code, the sibling base's code with the same 7th character).
fn sided_sibling(codes: &CodeSet, id: CodeId, side: &str) -> Option<CodeId> {
    let (base, seventh) = base_and_seventh(codes, id)?;
    let title = codes.get(base).title.to_ascii_lowercase();
    let parent = codes.get(base).parent?;
    title.match_indices("unspecified").find_map(|(at, _)| {
        let wanted = format!(
            "{}{side}{}",
            &title[..at],
            &title[at + "unspecified".len()..]
        );
        let sibling = codes
            .get(parent)
            .children
            .iter()
            .copied()
            .find(|&c| c != base && codes.get(c).title.to_ascii_lowercase() == wanted)?;
        Some(with_seventh(codes, sibling, seventh))
    })?
}

/// I.B.9: a code whose every own-word mention lies inside a longer phrase that a
/// combination code states in full ("neuropathy" inside "type 2 diabetes with neuropathy")
/// is part of that combination and not reported beside it, unless the combination's
/// tabular notes ask for it ("use additional code", "code also").
fn combination_parts(codes: &CodeSet, findings: &[Finding], verdict: &mut Verdict) {
    // ICD-10-PCS: a procedure on the same body part read from more of the statement, with
    // the root operation, approach or qualifier its words name ("hand-assisted
    // laparoscopic": 0DTN4ZG), replaces the readings of fewer words (0DTN4ZZ, 0DTN0ZZ from
    // "sigmoid colon resection" alone).
    // I.C.20: an external cause code (V00-Y99) says how an injury happened, never part of
    // what the injury code says ("dog bite": W54.0 beside S51.852 "Open bite of left
    // forearm").
    let external_cause =
        |code: &str| matches!(code.as_bytes().first(), Some(b'V' | b'W' | b'X' | b'Y'));
    let comparable = |a: CodeId, b: CodeId| {
        let (ca, cb) = (codes.get(a), codes.get(b));
        match (ca.system, cb.system) {
            (System::Icd10cm, System::Icd10cm) => {
                external_cause(&ca.code) == external_cause(&cb.code)
            }
            // Same section, body system and body part: a reading of more words may also
            // name another root operation ("partial resection": Excision B, not Resection
            // T, B3.8; "repair with mesh": Supplement U, not Repair Q, B3.9).
            (System::Icd10pcs, System::Icd10pcs) => {
                let (a, b) = (ca.code.as_bytes(), cb.code.as_bytes());
                a.len() == 7 && b.len() == 7 && a[..2] == b[..2] && a[3] == b[3]
            }
            _ => false,
        }
    };
    for (i, a) in findings.iter().enumerate() {
        if verdict.dropped[i].is_some() || (a.terms.is_empty() && a.inferred.is_empty()) {
            continue;
        }
        let container = container_of(codes, findings, verdict, i, &comparable);
        if let Some(j) = container {
            let b = &findings[j];
            let shown = codes.get(b.code).display();
            verdict.dropped[i] = Some(rule(
                "combination",
                "I.B.9",
                format!(
                    "stated as part of {shown} {}: the combination code says it in full",
                    codes.get(b.code).title
                ),
                vec![shown],
            ));
        }
    }
}

/// I.B.9 once more for the codes `stated_axis` or `unspecified` put in place of an
/// unspecified reading: the words between the reading's own are the detail it was replaced
/// for ("Crohn's disease of small intestine with intestinal obstruction", K50.012 for
/// K50.912), so the whole phrase is the combination code's, and a code read inside it
/// (K56.609 "intestinal obstruction") is one of its parts; an "Other ..." code of its
/// category read from the same words says nothing more than it (I.A.9.a).
fn parts_of_stated_details(codes: &CodeSet, findings: &[Finding], verdict: &mut Verdict) {
    // The unspecified readings a code replaced: those `stated_axis` replaced, and those the
    // `unspecified` rule dropped for a specific code the note supports (K50.912 for K50.012).
    let standing: HashMap<String, CodeId> = findings
        .iter()
        .zip(&verdict.dropped)
        .filter(|(_, d)| d.is_none())
        .map(|(f, _)| (codes.get(f.code).display(), f.code))
        .collect();
    let replaced: Vec<(CodeId, Vec<usize>)> = verdict
        .added
        .iter()
        .filter(|a| a.rule.kind == "stated_axis")
        .map(|a| (a.code, a.from.clone()))
        .chain(verdict.dropped.iter().enumerate().filter_map(|(i, d)| {
            let d = d.as_ref().filter(|r| r.kind == "unspecified")?;
            Some((*standing.get(d.codes.first()?)?, vec![i]))
        }))
        .collect();
    // (code, its statement's spans, a "with" combination whose title names its parts)
    let stated: Vec<(CodeId, Vec<TermSpan>, bool)> = replaced
        .iter()
        .filter(|(code, _)| codes.get(*code).system == System::Icd10cm)
        .map(|(code, from)| {
            let spans = from
                .iter()
                .flat_map(|&i| &findings[i].terms)
                // Only a statement of the unspecified code in full ("congenital" unsaid
                // makes "multiple cysts" no congenital cysts).
                .filter(|t| t.coverage >= WELL_STATED)
                .map(|t| TermSpan {
                    tokens: (t.first()..=t.last()).collect(),
                    words: t.last() + 1 - t.first(),
                    ..t.clone()
                })
                .collect();
            (*code, spans, codes.get(*code).title.contains(" with "))
        })
        .collect();
    for (i, a) in findings.iter().enumerate() {
        if verdict.dropped[i].is_some()
            || !a.stated()
            || codes.get(a.code).system != System::Icd10cm
            || matches!(
                codes.get(a.code).code.as_bytes().first(),
                Some(b'V' | b'W' | b'X' | b'Y')
            )
        {
            continue;
        }
        let residual = codes.get(a.code).is_residual();
        let category = |id: CodeId| codes.get(id).code.get(..3).map(str::to_string);
        let found = stated.iter().find_map(|(code, spans, with)| {
            if *code == a.code || asks_for(codes, *code, a.code) {
                return None;
            }
            let inside = |longer: bool| {
                a.terms.iter().all(|t| {
                    spans
                        .iter()
                        .any(|s| t.within(s) && (s.tokens.len() > t.tokens.len() || !longer))
                })
            };
            // I.A.9.a: an "Other ..." code of the same category on the same words ("other
            // pulmonary embolism" beside the saddle embolus I26.92) says nothing more.
            if residual && category(*code) == category(a.code) && inside(false) {
                return Some((*code, true));
            }
            (*with && inside(true)).then_some((*code, false))
        });
        if let Some((code, residual)) = found {
            let shown = codes.get(code).display();
            verdict.dropped[i] = Some(if residual {
                said_by(codes, code)
            } else {
                rule(
                    "combination",
                    "I.B.9",
                    format!(
                        "stated as part of {shown} {}: the combination code says it in full",
                        codes.get(code).title
                    ),
                    vec![shown],
                )
            });
        }
    }
}

/// The finding whose words state finding `i` as part of a longer phrase, if any.
fn container_of(
    codes: &CodeSet,
    findings: &[Finding],
    verdict: &Verdict,
    i: usize,
    comparable: &dyn Fn(CodeId, CodeId) -> bool,
) -> Option<usize> {
    let a = &findings[i];
    findings
        .iter()
        .enumerate()
        .find(|(j, b)| {
            *j != i
                && verdict.dropped[*j].is_none()
                && b.code != a.code
                && comparable(a.code, b.code)
                && a.assertion == b.assertion
                && !asks_for(codes, b.code, a.code)
                && a.terms.iter().all(|t| {
                    b.terms.iter().any(|s| {
                        // Inside the phrase, or just before it where the phrase's own word
                        // was placed on a later occurrence ("Pneumonia due to Klebsiella
                        // pneumoniae").
                        s.sentence == t.sentence
                            && s.compact()
                            && s.coverage >= 0.8
                            && (s.words > t.words || t.words == 0)
                            && (s.first() <= t.first() || (s.placed && s.first() == t.first() + 1))
                            && t.last() <= s.last()
                            && (s.says_most_of(t) || (s.placed && s.first() == t.first() + 1))
                    })
                })
                && explained_inferences(a, b)
        })
        .map(|(j, _)| j)
}

/// A code dropped as made redundant by another finding that is itself not reported (and
/// replaced by nothing) stays: what made it redundant is gone.
fn restore_orphans(codes: &CodeSet, findings: &[Finding], verdict: &mut Verdict) {
    let reported: HashSet<String> = findings
        .iter()
        .zip(&verdict.dropped)
        .filter(|(_, d)| d.is_none())
        .map(|(f, _)| codes.get(f.code).display())
        .chain(verdict.added.iter().map(|a| codes.get(a.code).display()))
        .collect();
    // Codes of findings dropped with no code replacing them, with the rule that dropped
    // them.
    let gone: HashMap<String, String> = findings
        .iter()
        .zip(&verdict.dropped)
        .filter_map(|(f, d)| d.as_ref().filter(|r| r.codes.is_empty()).map(|r| (f, r)))
        .map(|(f, r)| (codes.get(f.code).display(), r.kind.clone()))
        .filter(|(c, _)| !reported.contains(c))
        .collect();
    for d in verdict.dropped.iter_mut() {
        let orphan = d.as_ref().is_some_and(|r| {
            let Some(kind) = r.codes.first().and_then(|by| gone.get(by)) else {
                return false;
            };
            // Words that state a code the guidelines leave unreported (substance use with
            // no related disorder, an uncertain outpatient diagnosis, weeks of gestation at
            // a termination, an activity with no injury) are still that code's: a partial,
            // residual or unspecified reading of them, or a part the code says in full (Z3A.00
            // of Z3A.08), is no truer for it.
            let still_stated = matches!(
                kind.as_str(),
                "only_with" | "confirmed_only" | "uncertain_outpatient"
            );
            matches!(
                r.kind.as_str(),
                "combination" | "residual" | "partial" | "unspecified" | "integral_symptom"
            ) && !still_stated
        });
        if orphan {
            *d = None;
        }
    }
}

/// Words that deny the word after them ("no gangrene", "without obstruction or gangrene").
const DENIALS: &[&str] = &["no", "without", "not", "nor", "w/o"];

/// Is the note's token `k` denied: a denial word before it in its clause, with only the
/// words of a list ("without obstruction or gangrene") or of the same phrase between?
fn denied_token(
    note: &Note,
    k: usize,
    sentence_start: usize,
    qualifiers: &HashSet<String>,
) -> bool {
    // The prefix "non-" denies the word it is joined to ("non-contrast CT" is no CT "using
    // Other Contrast"); a title that says "Non-Hodgkin" denies its own word alike.
    let norm = |i: usize| note.tokens.get(i).map(|t| t.norm.as_str());
    let prefixed_non =
        k >= sentence_start + 2 && norm(k - 1) == Some("-") && norm(k - 2) == Some("non");
    prefixed_non
        || note.denied_before(
            k,
            sentence_start,
            DENIALS,
            // "Not present in the chest X-ray" denies what comes before it, not the X-ray.
            &[".", ";", ":", "with", "but", "and", "due", "of", "present"],
            DENIED_OBJECT_NOUNS,
            qualifiers,
        )
}

/// Nouns whose "of" object a denial before them still denies: "no signs of infection",
/// "no evidence of malignancy" deny the infection and the malignancy, as "without loss of
/// consciousness" does in the tabular's titles.
const DENIED_OBJECT_NOUNS: &[&str] = &["signs", "sign", "evidence", "symptoms", "loss"];

/// Does the title state the word (an occurrence not itself after "without"/"no"/"not")?
fn title_affirms(analyzer: &crate::index::Analyzer, title: &str, word: &str) -> bool {
    // Compared as the index reads words: "not perforated" denies "with perforation".
    let Some(stem) = analyzer.word(word) else {
        return false;
    };
    // A denial reaches within its comma's clause: "Migraine without aura, intractable"
    // states the intractability.
    title.to_ascii_lowercase().split(',').any(|clause| {
        let words: Vec<&str> = clause
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        words.iter().enumerate().any(|(i, w)| {
            analyzer.word(w).as_deref() == Some(stem.as_str())
                && !words[i.saturating_sub(3)..i]
                    .iter()
                    .any(|p| DENIALS.contains(p) || *p == "non")
        })
    })
}

impl Guidelines {
    /// I.B.1: a code whose title states a condition its own words in the note deny ("inguinal
    /// hernia with obstruction, no gangrene" is not K40.40 "... with gangrene"; "hypertensive
    /// heart disease without heart failure" is not I11.0 "... with heart failure"), or a
    /// procedure a value its words deny ("without contrast" and "using Other Contrast"), is
    /// not what the documentation supports.
    fn denied_words(
        &self,
        codes: &CodeSet,
        note: &Note,
        findings: &[Finding],
        verdict: &mut Verdict,
    ) {
        let (analyzer, qualifiers) = (&self.analyzer, &self.title_qualifiers);
        for (i, f) in findings.iter().enumerate() {
            if verdict.dropped[i].is_some() {
                continue;
            }
            let title = &codes.get(f.code).title;
            // The words a learned phrase or the encoder's likeness read too: "CT of the head
            // without contrast" is no CT "using Other Contrast", however alike.
            let denied = f.terms.iter().chain(&f.inferred).find_map(|t| {
                let start = note.sentences.get(t.sentence)?.tokens.start;
                t.tokens.iter().find_map(|&k| {
                    let word = note.tokens.get(k)?.norm.as_str();
                    (word.len() >= 4
                        && word.chars().all(char::is_alphabetic)
                        && denied_token(note, k, start, qualifiers)
                        && title_affirms(analyzer, title, word))
                    .then(|| word.to_string())
                })
            });
            if let Some(word) = denied {
                verdict.dropped[i] = Some(rule(
                    "denied",
                    "I.B.1",
                    format!("the title states {word}, which the note denies"),
                    Vec::new(),
                ));
            }
        }
    }
}

/// What learned phrases or the encoder found for `a` is `b`'s statement: for a code its
/// own words also state, every such sentence is one where `b` is stated in full ("insulin"
/// beside "type 1 diabetes" is no type 2 diabetes); for a code only they found, they lie
/// inside `b`'s words.
fn explained_inferences(a: &Finding, b: &Finding) -> bool {
    a.inferred.iter().all(|t| {
        b.terms.iter().any(|s| {
            s.sentence == t.sentence
                && s.coverage >= WELL_STATED
                // A phrase recognised whole (a procedure statement: "Open repair of right
                // inguinal hernia with mesh") holds every word between its first and last,
                // and so does a compact term reading, whose repeated word stands once
                // ("heart" of "Hypertensive heart disease with heart failure").
                && (a.stated() || t.within(s) || ((!s.placed || s.compact()) && s.spans(t)))
        })
    })
}

/// I.A.9.a, I.A.13: a residual "Other ..." code, or a manifestation code "in diseases
/// classified elsewhere", found only by the very words that also state a named code of its
/// own ("pneumonia" for J18.9 and for J84.89 "Other specified interstitial pulmonary
/// diseases"), says nothing the named code does not: an "other" code needs the note to
/// specify a form no code names, and a manifestation code needs its cause coded first.
fn same_words_better_code(codes: &CodeSet, findings: &[Finding], verdict: &mut Verdict) {
    // Once per finding: the title tests lower-case the title.
    let weak: Vec<bool> = findings
        .iter()
        .map(|f| {
            let code = codes.get(f.code);
            code.is_residual()
                || code
                    .title
                    .to_ascii_lowercase()
                    .contains("in diseases classified elsewhere")
        })
        .collect();
    let category = |id: CodeId| codes.get(id).code.get(..3).map(str::to_string);
    let parent = |id: CodeId| codes.get(id).parent;
    // ICD-10-PCS: the same procedure on the same body part (section, body system, root
    // operation or type, body part).
    let procedure = |id: CodeId| {
        let c = codes.get(id);
        (c.system == System::Icd10pcs && c.code.len() == 7).then(|| c.code[..4].to_string())
    };
    for (i, a) in findings.iter().enumerate() {
        let pcs = codes.get(a.code).system == System::Icd10pcs;
        if verdict.dropped[i].is_some() || (pcs && a.stated()) {
            continue;
        }
        // Found only by learned phrases or the encoder, in sentences where a named code of
        // its own category is stated in full ("saddle pulmonary embolus": I26.92, and
        // I26.99 "Other pulmonary embolism ..." by likeness), or where its sibling is
        // (I.B.1: "pressure ulcer of sacrum, stage 3" is L89.153; L89.150 "... unstageable"
        // by likeness is a stage the note does not state). PCS A11, the documentation
        // decides each value: beside a procedure the sentence states for the same body
        // part, the values of a code found by likeness are not the note's ("CT of the
        // abdomen with contrast": BW20YZZ; BW20Y0Z "..., Unenhanced and Enhanced").
        if !a.stated() {
            let kin = |j: usize, b: &Finding| {
                if pcs {
                    procedure(a.code).is_some_and(|own| procedure(b.code) == Some(own))
                } else if weak[i] {
                    !weak[j] && category(b.code) == category(a.code)
                } else {
                    // A specific value beside the one stated, not the specific code the
                    // likeness found for an unspecified one ("macroscopic hematuria": R31.0
                    // beside R31.9).
                    !weak[j]
                        && parent(b.code) == parent(a.code)
                        && unspecified_count(codes, b.code) == 0
                }
            };
            let named = findings.iter().enumerate().find(|(j, b)| {
                *j != i
                    && verdict.dropped[*j].is_none()
                    && b.well_stated()
                    && kin(*j, b)
                    && a.inferred.iter().all(|t| {
                        b.terms
                            .iter()
                            .any(|s| s.sentence == t.sentence && s.coverage >= WELL_STATED)
                    })
            });
            if let Some((_, b)) = named {
                verdict.dropped[i] = Some(if weak[i] && !pcs {
                    said_by(codes, b.code)
                } else {
                    let shown = codes.get(b.code).display();
                    let (guideline, kind) = if pcs {
                        ("PCS A11", "")
                    } else {
                        ("I.B.1", "its sibling ")
                    };
                    rule(
                        "same_words",
                        guideline,
                        format!(
                            "found by likeness where the note states {kind}{shown} {}",
                            codes.get(b.code).title
                        ),
                        vec![shown],
                    )
                });
            }
            continue;
        }
        if !weak[i] {
            continue;
        }
        // The same words, or part of the words of a named code of the same chapter
        // ("Fracture NOS", T14.8, inside "fracture of the shaft of the right fifth
        // metacarpal", S62.326A), or words that hold a named code of its own subcategory
        // in full: "inferior wall STEMI involving the right coronary artery" is I21.11, not
        // I21.19 "... involving other coronary artery of inferior wall" (the right
        // coronary artery is the form the subcategory names).
        let condition = condition_of(codes, a.code);
        let named = findings.iter().enumerate().find(|(j, b)| {
            *j != i
                && verdict.dropped[*j].is_none()
                && codes.get(b.code).system == System::Icd10cm
                && !weak[*j]
                && a.terms.iter().all(|t| {
                    b.terms.iter().any(|s| {
                        (s.sentence == t.sentence && s.tokens == t.tokens)
                            || (t.within(s)
                                && s.tokens.len() > t.tokens.len()
                                && chapter(codes, a.code) == chapter(codes, b.code))
                            || (t.spans(s)
                                && s.coverage >= WELL_STATED
                                && unspecified_count(codes, b.code) == 0
                                && condition.is_some_and(|c| codes.is_within(b.code, c)))
                    })
                })
        });
        if let Some((_, b)) = named {
            verdict.dropped[i] = Some(said_by(codes, b.code));
        }
    }
}

/// I.A.9.a: the rule note of a residual code whose words state `named`.
fn said_by(codes: &CodeSet, named: CodeId) -> RuleNote {
    let shown = codes.get(named).display();
    rule(
        "residual",
        "I.A.9.a",
        format!("the same words state {shown} {}", codes.get(named).title),
        vec![shown],
    )
}

/// The chapter a code is in (its top ancestor).
fn chapter(codes: &CodeSet, id: CodeId) -> CodeId {
    codes.ancestors(id).last().unwrap_or(id)
}

/// A code read from part of its term ("resistant hypertension" read from "hypertension"),
/// on words that state another code in full ("hypertension": I10), is not what the note
/// says: the words are that other code's (I.B.1, a code is selected from the Alphabetic
/// Index entry the documentation supports). The other code may itself have been replaced
/// (I10 by I12.9); its words are still its own. A code the full one's tabular notes ask for
/// stays.
fn partial_readings(codes: &CodeSet, findings: &[Finding], verdict: &mut Verdict) {
    for (i, a) in findings.iter().enumerate() {
        if verdict.dropped[i].is_some() || (a.terms.is_empty() && a.inferred.is_empty()) {
            continue;
        }
        // A full reading that stands is named first: one the note denies ("with coma" for
        // "no coma") is no reason the partial reading goes once it is gone itself.
        let mut order: Vec<usize> = (0..findings.len()).collect();
        order.sort_by_key(|&j| verdict.dropped[j].is_some());
        let full = order.into_iter().map(|j| (j, &findings[j])).find(|(j, b)| {
            *j != i
                && b.code != a.code
                && codes.get(b.code).system == codes.get(a.code).system
                && !asks_for(codes, b.code, a.code)
                && a.terms.iter().all(|t| {
                    b.terms.iter().any(|s| {
                        t.within(s)
                            && s.coverage >= WELL_STATED
                            // The same words read as less of `a`'s term than of `b`'s
                            // ("hypertension": all of I10, part of I1A.0 "Resistant
                            // hypertension").
                            && (t.coverage < WELL_STATED
                                || s.coverage >= t.coverage + PARTIAL_MARGIN)
                    })
                })
                && explained_inferences(a, b)
        });
        if let Some((j, b)) = full {
            // The words' code, or the code that replaced it.
            let shown = verdict.dropped[j]
                .as_ref()
                .and_then(|r| r.codes.first().cloned())
                .unwrap_or_else(|| codes.get(b.code).display());
            verdict.dropped[i] = Some(rule(
                "partial",
                "I.B.1",
                format!(
                    "read from part of its term; the words state {} {} in full",
                    codes.get(b.code).display(),
                    codes.get(b.code).title
                ),
                vec![shown],
            ));
        }
    }
}

/// ICD-10-PCS Official Guidelines B3.2a: a procedure is coded once per body part value,
/// and separately only for body parts with distinct values. A procedure read from part of
/// the words of another statement of the same section and root operation (or imaging
/// type) names a site that statement's body part covers: "CT of the abdomen and pelvis" is
/// BW21 (abdomen and pelvis), not also BW20 (abdomen) and BR2C (pelvis).
fn procedure_parts(codes: &CodeSet, findings: &[Finding], verdict: &mut Verdict) {
    // Section and root operation (or type): the first and third characters.
    let operation = |id: CodeId| {
        let code = &codes.get(id).code;
        (code.chars().next(), code.chars().nth(2))
    };
    for (i, a) in findings.iter().enumerate() {
        if verdict.dropped[i].is_some()
            || !a.stated()
            || codes.get(a.code).system != System::Icd10pcs
        {
            continue;
        }
        let whole = findings.iter().enumerate().find(|(j, b)| {
            *j != i
                && verdict.dropped[*j].is_none()
                && b.code != a.code
                && codes.get(b.code).system == System::Icd10pcs
                && operation(b.code) == operation(a.code)
                && b.well_stated()
                && a.terms.iter().all(|t| {
                    b.terms.iter().any(|s| {
                        s.coverage >= WELL_STATED && t.within(s) && s.tokens.len() > t.tokens.len()
                    })
                })
                && explained_inferences(a, b)
        });
        if let Some((_, b)) = whole {
            let shown = codes.get(b.code).display();
            verdict.dropped[i] = Some(rule(
                "procedure_part",
                "PCS B3.2a",
                format!(
                    "a site of the body part of {shown} {}, stated by the same words",
                    codes.get(b.code).title
                ),
                vec![shown],
            ));
        }
    }
}

/// I.A.12.a: two codes in an Excludes1 relation are never reported together. Where the
/// words that state one all lie inside a longer statement of the other ("HIV" inside "HIV
/// positive, asymptomatic": B20 and Z21), the note says the longer one; the shorter goes.
/// So does one only inferred (learned phrases, the encoder) where the other is stated.
///
/// An unspecified code ("Sepsis, unspecified organism") whose words are, as analysed words,
/// words of the other's statement in the same sentence ("sepsis ... septic shock due to
/// pneumococcal": A40.3) is that condition stated without its detail: it goes too.
fn excludes1_within(
    analyzer: &crate::index::Analyzer,
    codes: &CodeSet,
    note: &Note,
    findings: &[Finding],
    verdict: &mut Verdict,
) {
    // Each token analysed once, and only for the spans compared.
    let memo: std::cell::RefCell<HashMap<usize, String>> = Default::default();
    let analysed = |k: usize| {
        memo.borrow_mut()
            .entry(k)
            .or_insert_with(|| {
                note.tokens
                    .get(k)
                    .and_then(|t| analyzer.word(&t.norm))
                    .unwrap_or_default()
            })
            .clone()
    };
    // The fuller statements: kept findings stated in full, and combination codes, whose
    // words are their parts' ("stable angina" of I25.118 holds the "angina" of I20.9).
    let fuller: Vec<(CodeId, Vec<&TermSpan>)> = findings
        .iter()
        .enumerate()
        .filter(|(j, b)| verdict.dropped[*j].is_none() && b.well_stated())
        .map(|(_, b)| (b.code, b.terms.iter().collect()))
        .chain(verdict.added.iter().map(|a| {
            let terms = a
                .from
                .iter()
                .filter_map(|&k| findings.get(k))
                .flat_map(|f| f.terms.iter())
                .collect();
            (a.code, terms)
        }))
        .filter(|(code, _)| codes.get(*code).system == System::Icd10cm)
        .collect();
    for (i, a) in findings.iter().enumerate() {
        if verdict.dropped[i].is_some()
            || (a.terms.is_empty() && a.inferred.is_empty())
            || codes.get(a.code).system != System::Icd10cm
        {
            continue;
        }
        let found = fuller.iter().find(|(code, terms)| {
            *code != a.code
                && (crate::rules::excludes1_note(codes, a.code, *code).is_some()
                    || crate::rules::excludes1_note(codes, *code, a.code).is_some())
                && if a.terms.is_empty() {
                    // Only learned phrases or the encoder found it, on words that state the
                    // other code in full ("major depressive disorder, moderate": F32.1, and
                    // F33.1 by likeness).
                    a.inferred.iter().all(|t| {
                        terms
                            .iter()
                            .any(|s| s.spans(t) && s.coverage >= WELL_STATED)
                    })
                } else {
                    let unspecified_beside_specific = unspecified_count(codes, a.code) > 0
                        && unspecified_count(codes, *code) == 0;
                    a.terms.iter().all(|t| {
                        terms.iter().any(|s| {
                            s.coverage >= WELL_STATED
                                && s.tokens.len() > t.tokens.len()
                                && (t.within(s)
                                    || (unspecified_beside_specific
                                        && s.sentence == t.sentence
                                        && t.tokens.iter().all(|&k| {
                                            let w = analysed(k);
                                            !w.is_empty()
                                                && s.tokens.iter().any(|&m| analysed(m) == w)
                                        })))
                        })
                    })
                }
        });
        if let Some(&(code, _)) = found {
            let shown = codes.get(code).display();
            verdict.dropped[i] = Some(rule(
                "excludes1_within",
                "I.A.12.a",
                format!(
                    "Excludes1 with {shown} {}, which the same words state in full",
                    codes.get(code).title
                ),
                vec![shown],
            ));
        }
    }
}

/// I.A.9.b, I.B.18: an "unspecified" (or "without complications") code is not reported
/// beside a more specific code of the same condition that the note's words support.
fn unspecified_siblings(codes: &CodeSet, findings: &[Finding], verdict: &mut Verdict) {
    let specific: Vec<CodeId> = findings
        .iter()
        .enumerate()
        // A specific code a combination took in is still stated ("stable angina" in
        // I25.118; "chronic hypoxic respiratory failure" in J96.21): its unspecified
        // sibling (I20.9 "Angina pectoris, unspecified"; J96.10) is not.
        .filter(|(i, f)| {
            let taken_in = verdict.added.iter().any(|a| a.from.contains(i))
                || verdict.dropped[*i]
                    .as_ref()
                    .is_some_and(|r| r.kind == "combination");
            (verdict.dropped[*i].is_none() || taken_in) && f.well_stated()
        })
        .map(|(_, f)| f.code)
        .chain(verdict.added.iter().map(|a| a.code))
        .collect();
    for (i, f) in findings.iter().enumerate() {
        if verdict.dropped[i].is_some() || codes.get(f.code).system != System::Icd10cm {
            continue;
        }
        let vagueness = unspecified_count(codes, f.code);
        // The condition: the unspecified code's parent (its 7th-character base's parent).
        let Some(parent) = condition_of(codes, f.code) else {
            continue;
        };
        // The condition's default code ("without complications", ".9") says less than any
        // other code of the condition.
        let default = codes.default_billable(parent) == Some(f.code);
        if vagueness == 0 && !default {
            continue;
        }
        // A residual "Other ..." code beside it names no more than the unspecified one; one
        // in a subcategory of the condition still names that subcategory (Z85.038 "...
        // other malignant neoplasm of large intestine" beside Z85.9 "... of malignant
        // neoplasm, unspecified").
        let residual =
            |s: CodeId| codes.get(s).is_residual() && condition_of(codes, s) == Some(parent);
        let better = specific.iter().copied().find(|&s| {
            s != f.code
                && codes.get(s).billable
                && codes.is_within(s, parent)
                && !codes.is_within(f.code, s)
                && !residual(s)
                && (default || unspecified_count(codes, s) < vagueness)
        });
        if let Some(s) = better {
            let shown = codes.get(s).display();
            verdict.dropped[i] = Some(rule(
                "unspecified",
                "I.B.18",
                format!(
                    "the note supports the more specific {shown} {}",
                    codes.get(s).title
                ),
                vec![shown],
            ));
        }
    }
}

/// A symptom read only from words that state an external cause is the event that caused
/// the injury, not the symptom: "fell down the stairs" is W10.9 (External Cause Index:
/// "Fall, falling, stairs"), not R29.6 "Repeated falls" (Index: "Falling, falls (repeated)"),
/// whose own words ("repeated falls", "tendency to fall") still state it (I.C.20: external
/// cause codes say how the injury happened; I.C.18: symptom codes are for the patient's
/// signs and symptoms).
fn event_words(
    codes: &CodeSet,
    findings: &[Finding],
    established: &dyn Fn(&Finding) -> bool,
    verdict: &mut Verdict,
) {
    let external_cause = |id: CodeId| {
        let c = codes.get(id);
        c.system == System::Icd10cm && matches!(c.code.as_bytes()[0], b'V' | b'W' | b'X' | b'Y')
    };
    let events: Vec<&Finding> = findings
        .iter()
        .filter(|f| external_cause(f.code) && established(f) && f.stated())
        .collect();
    for (i, f) in findings.iter().enumerate() {
        let c = codes.get(f.code);
        if verdict.dropped[i].is_some()
            || c.system != System::Icd10cm
            || !c.code.starts_with('R')
            || !f.stated()
        {
            continue;
        }
        let event = events
            .iter()
            .find(|e| f.terms.iter().all(|t| e.terms.iter().any(|s| t.within(s))));
        if let Some(e) = event {
            let shown = codes.get(e.code).display();
            verdict.dropped[i] = Some(rule(
                "event_words",
                "I.C.20",
                format!(
                    "its words state the external cause {shown} {}: the event, not a symptom",
                    codes.get(e.code).title
                ),
                vec![shown],
            ));
        }
    }
}

/// The code's condition: the parent of the code (of its base, for a 7th-character code).
fn condition_of(codes: &CodeSet, id: CodeId) -> Option<CodeId> {
    let base = if codes.get(id).kind == CodeKind::SeventhCharacter {
        codes.get(id).parent?
    } else {
        id
    };
    let mut condition = codes
        .get(base)
        .parent
        .filter(|&p| codes.get(p).kind != CodeKind::Block)?;
    // An "Unspecified ..." or "..., unspecified[, ...]" subcategory is the unspecified form
    // of its parent's condition (O24.91 "Unspecified diabetes mellitus in pregnancy" under
    // O24; K85.9 "Acute pancreatitis, unspecified" under K85, beside K85.1 "Biliary ...";
    // G43.90 "Migraine, unspecified, not intractable" under G43.9 under G43, beside G43.10
    // "Migraine with aura, not intractable").
    while {
        let title = codes.get(condition).title.to_ascii_lowercase();
        title.starts_with("unspecified") || title.split(',').any(|c| c.trim() == "unspecified")
    } {
        match codes
            .get(condition)
            .parent
            .filter(|&p| codes.get(p).kind != CodeKind::Block)
        {
            Some(p) => condition = p,
            None => break,
        }
    }
    Some(condition)
}

/// How many of a title's axes are left unspecified ("without complications" counts as one).
fn unspecified_count(codes: &CodeSet, id: CodeId) -> usize {
    let title = codes.get(id).title.to_ascii_lowercase();
    title.matches("unspecified").count() + usize::from(title.contains("without complication"))
}

/// Do the tabular notes of `combination` (or its ancestors up to the category) ask for
/// `other` as an additional code ("use additional code", "code also", "code first")?
pub fn asks_for(codes: &CodeSet, combination: CodeId, other: CodeId) -> bool {
    let other_code = &codes.get(other).code;
    std::iter::once(combination)
        .chain(codes.ancestors(combination))
        .filter(|&a| codes.get(a).kind != CodeKind::Block && codes.get(a).kind != CodeKind::Chapter)
        .filter_map(|a| codes.get(a).notes())
        .flat_map(|n| {
            n.use_additional
                .iter()
                .chain(&n.code_also)
                .chain(&n.code_first)
        })
        .any(|n| n.refs.iter().any(|r| r.covers(other_code)))
}

/// Does the sentence of `linked` state a cause for it other than `base`?
fn states_other_cause(note: &Note, linked: &Finding, base: &Finding) -> bool {
    linked.terms.iter().all(|t| {
        if base.terms.iter().any(|b| b.sentence == t.sentence) {
            return false;
        }
        let words = sentence_words(note, t.sentence);
        OTHER_CAUSE.iter().any(|phrase| {
            let p: Vec<&str> = phrase.split(' ').collect();
            phrase_at(&words, &p).is_some()
        })
    })
}

/// (token index, word) of a sentence's words, punctuation left out.
fn sentence_words(note: &Note, sentence: usize) -> Vec<(usize, &str)> {
    let Some(sentence) = note.sentences.get(sentence) else {
        return Vec::new();
    };
    sentence
        .tokens
        .clone()
        .filter_map(|k| {
            let norm = note.tokens.get(k)?.norm.as_str();
            norm.chars().any(char::is_alphanumeric).then_some((k, norm))
        })
        .collect()
}

/// Where the words of `phrase` stand in a row among `words`.
fn phrase_at<S: AsRef<str>>(words: &[(usize, &str)], phrase: &[S]) -> Option<usize> {
    if phrase.is_empty() {
        return None;
    }
    words
        .windows(phrase.len())
        .position(|w| w.iter().zip(phrase).all(|((_, a), b)| *a == b.as_ref()))
}

fn rule(kind: &str, guideline: &str, message: String, codes: Vec<String>) -> RuleNote {
    RuleNote {
        kind: kind.into(),
        message,
        codes,
        guideline: Some(guideline.into()),
    }
}
