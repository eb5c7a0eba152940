//! Assertion status of mentions, in the spirit of NegEx / ConText.
//!
//! Trigger phrases are matched once per note on token norms (longest match wins, matches never
//! cross a sentence boundary). Pre-triggers ("no", "history of") look forward at the mention,
//! post-triggers ("was ruled out", "years ago") look back at it. A trigger applies when it lies
//! within its window of words, with no terminator ("but", "however", ...) and no trigger of a
//! different kind between it and the mention. Pseudo-triggers ("no increase", "gram negative")
//! are consumed so that the triggers they contain never fire.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::offsets::CharIndex;
use super::sections::Section;
use super::sentences::Sentence;
use super::time_expressions::TIME_UNITS;
use super::tokenize::{tokenize, Token};

/// What a note asserts about a mention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assertion {
    /// Affirmed for the patient, now.
    Present,
    /// Explicitly absent ("denies chest pain").
    Negated,
    /// Possible but not established ("possible pneumonia", "r/o MI").
    Uncertain,
    /// In the patient's past ("history of MI", past medical history section).
    Historical,
    /// About a family member, not the patient ("mother with breast cancer").
    Family,
    /// Conditional or future ("return if fever develops").
    Hypothetical,
    /// A communicable disease the patient was exposed to, someone else's ("exposed to a
    /// coworker with COVID-19"): coded as contact or exposure (Z20, I.C.21.c.1).
    Exposure,
}

/// Order in which applicable kinds win:
/// - Negated first: a denied finding is absent even if also called old, possible or a
///   relative's ("Family history: no diabetes" is no family history of diabetes, so no
///   Z83.3; ICD-10-CM Official Guidelines I.C.21.c.4 code family history only when stated).
/// - Family next: a relative's condition is never the patient's, whatever else is said.
/// - Exposure next: a disease the patient was exposed to is another person's.
/// - Hypothetical before Uncertain: a conditional mention describes no current state at all.
/// - Uncertain before Historical: "possible prior MI" does not establish a history of MI.
/// - Historical last: it only dates an otherwise affirmed condition.
const PRECEDENCE: [Assertion; 6] = [
    Assertion::Negated,
    Assertion::Family,
    Assertion::Exposure,
    Assertion::Hypothetical,
    Assertion::Uncertain,
    Assertion::Historical,
];

/// Default scope of a pre-trigger, in words (long enough for typical "denies a, b, c, ..." lists).
const PRE_WINDOW: usize = 8;
/// Default scope of a post-trigger, in words: post-triggers follow their mention closely.
const POST_WINDOW: usize = 3;
/// Scope of a relative before a mention, in words: a relative who is the subject speaks for
/// the whole clause ("His paternal uncle was also diagnosed with stage 5 chronic kidney
/// disease secondary to analgesic nephropathy").
const FAMILY_WINDOW: usize = 16;
/// Largest window of any trigger; bounds the search around a mention.
const MAX_WINDOW: usize = FAMILY_WINDOW;

/// Words that do not count towards a window: coordinating conjunctions inside lists, and
/// "any", which joins a denial to what it denies ("denies any history of").
const UNCOUNTED_WORDS: &[&str] = &["and", "or", "nor", "any"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    /// Pre-trigger: applies to mentions after it.
    Forward,
    /// Post-trigger: applies to mentions before it.
    Backward,
    /// Applies on both sides ("possible", "?", "vs").
    Both,
}

impl Direction {
    fn looks_forward(self) -> bool {
        matches!(self, Direction::Forward | Direction::Both)
    }

    fn looks_backward(self) -> bool {
        matches!(self, Direction::Backward | Direction::Both)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// Looks like a trigger but is not one; consumed without effect.
    Pseudo,
    /// Ends the scope of every trigger.
    Terminator,
    /// Names a cause: ends every scope but a relative's, whose condition's cause is the
    /// relative's too ("uncle with CKD secondary to analgesic nephropathy").
    CauseTerminator,
    Trigger {
        kind: Assertion,
        direction: Direction,
        /// Maximum number of words between the trigger and the mention.
        window: usize,
    },
}

const fn trigger(kind: Assertion, direction: Direction, window: usize) -> Role {
    Role::Trigger {
        kind,
        direction,
        window,
    }
}

const fn pre(kind: Assertion) -> Role {
    trigger(kind, Direction::Forward, PRE_WINDOW)
}

const fn post(kind: Assertion) -> Role {
    trigger(kind, Direction::Backward, POST_WINDOW)
}

/// Triggers that apply on both sides: forward with the pre-window, backward with the
/// post-window (see `applies`).
const fn both(kind: Assertion) -> Role {
    trigger(kind, Direction::Both, PRE_WINDOW)
}

use Assertion::{Exposure, Family, Historical, Hypothetical, Negated, Uncertain};

/// Phrase lists by role. Phrases are tokenized like note text, so "h/o" is "h / o" and
/// "can't" is "can ' t".
const PHRASES: &[(Role, &[&str])] = &[
    (
        Role::Pseudo,
        &[
            "no increase",
            "no significant increase",
            "no change",
            "no significant change",
            "no interval change",
            "no definite change",
            "no suspicious change",
            "no appreciable change",
            "no decrease",
            "no significant decrease",
            "no reduction",
            "no improvement",
            "no significant improvement",
            "no relief",
            "no better",
            "no worse",
            "no further",
            "no doubt",
            "not only",
            "not necessarily",
            "not certain if",
            "not certain whether",
            "not extend",
            "not cause",
            "not drain",
            "not just",
            "without difficulty",
            "without any further",
            "without further",
            "without doubt",
            "gram negative",
            "gram-negative",
            "prior to",
            "history of present illness",
            "history of the present illness",
            "if needed",
            "if necessary",
            "if possible",
            "if so",
            "if not",
            "as soon as possible",
            "whenever possible",
        ],
    ),
    (
        Role::CauseTerminator,
        &[
            // A cause is stated, not denied, by what was not done because of it: "the exam
            // could not be performed due to intense pain".
            "due to",
            "because of",
            "owing to",
            "caused by",
            "as a result of",
            "resulting from",
            "secondary to",
            "as a cause of",
            "as the cause of",
            "as a cause for",
            "as the cause for",
            "as an etiology of",
            "as the etiology of",
            "cause of",
            "cause for",
            "causes of",
            "etiology of",
            "etiology for",
            "source of",
            "source for",
            "sources of",
            "origin of",
            "origin for",
            "reason for",
            "reasons for",
        ],
    ),
    (
        Role::Terminator,
        &[
            // The patient after a relative: "Mother with breast cancer; the patient has
            // fibrocystic breasts".
            "patient",
            "pt",
            "but",
            "however",
            "although",
            "though",
            "except",
            "except for",
            "apart from",
            "aside from",
            "which",
            "yet",
            "still",
            // A residual deficit of a past condition is present now ("history of stroke
            // with residual aphasia"; I.C.9.d).
            "with residual",
            "with residuals",
            "nevertheless",
            "nonetheless",
            "whereas",
            "presents",
            "presented",
            "presenting",
            "complains",
            "complaining",
            "complained",
            "report",
            "reports",
            "reported",
            "reporting",
            "endorses",
            "endorsed",
            "endorsing",
            "admits",
            "admits to",
            "state",
            "states",
            "stated",
            "positive for",
            "p/w",
            "c/o",
            // The present after a past ("hx of alcohol abuse; now meets criteria for
            // alcohol dependence").
            "now",
            "currently",
        ],
    ),
    (
        pre(Negated),
        &[
            // Longer than the exposure triggers they hold, so they win the match.
            "no exposure to",
            "no known exposure to",
            "denies exposure to",
            "no contact with",
            "no known contact with",
            "denies contact with",
            "no",
            "not",
            "denies",
            "deny",
            "denying",
            "without",
            "w/o",
            "negative for",
            "neg for",
            // "yet" alone ends a scope; "not yet" denies ("not yet on dialysis").
            "not yet",
            "negative for any",
            "no evidence of",
            "no evidence for",
            // A denied cause: "dyspnea not due to heart failure".
            "not due to",
            "not caused by",
            "not because of",
            "not secondary to",
            "no evidence",
            "no sign of",
            "no signs of",
            "no symptoms of",
            "no findings of",
            "no complaints of",
            "absence of",
            "free of",
            "never",
            "never had",
            "nor",
            "neither",
            "cannot",
            "can't",
            "doesn't",
            "don't",
            "didn't",
            "isn't",
            "wasn't",
            "aren't",
            "weren't",
            "hasn't",
            "haven't",
            "hadn't",
            "won't",
            // A denial around a reporting verb, which alone ends a scope ("reports"): "He did
            // not report any history of renal disease".
            // A procedure or treatment the patient refuses is not done (I.C.21.c.12 codes
            // the refusal, Z53.2-, not the procedure).
            "declined",
            "declines",
            "refused",
            "refuses",
            "did not report",
            "does not report",
            "do not report",
            "did not refer",
            "does not refer",
            "did not present",
            "does not present",
            "did not complain of",
            "does not complain of",
            "unremarkable for",
            "fails to reveal",
            "failed to reveal",
            "ruled out for",
            "rules out",
            "was ruled out for",
            "was negative for",
            "were negative for",
            "is negative for",
            "are negative for",
            // Negated history: one trigger, so that "history of" does not block "no".
            "no family history of",
            "no known family history of",
            "no family hx of",
            "no fh of",
            "no fhx of",
            "denies family history of",
            "denies any family history of",
            "negative family history of",
            "negative family history for",
            "family history negative for",
            "family history is negative for",
            "family history was negative for",
            "no history of",
            "no hx of",
            "no h/o",
            "no prior history of",
            "no known history of",
            "no past history of",
            "no personal history of",
            "no personal or family history of",
            "no family or personal history of",
            "denies personal or family history of",
            "denies any personal or family history of",
            "no previous",
            "no prior",
            "no past",
            "denies history of",
            "denies any history of",
            "denies a history of",
            "denied history of",
            "denies prior",
            "denies previous",
        ],
    ),
    (both(Negated), &["denied", "absent", "ruled out"]),
    (
        post(Negated),
        &[
            "was ruled out",
            "were ruled out",
            "is ruled out",
            "are ruled out",
            "has been ruled out",
            "have been ruled out",
            "been ruled out",
            "is negative",
            "was negative",
            "were negative",
            "are negative",
            "negative",
            "neg",
            "is absent",
            "was absent",
            "were absent",
            "are absent",
            "not seen",
            "not present",
            "not identified",
            "not appreciated",
            "not noted",
            "not found",
            "not visualized",
            "not detected",
            "not demonstrated",
            "none",
            "excluded",
            "was excluded",
            "is excluded",
            "has been excluded",
        ],
    ),
    (
        pre(Uncertain),
        &[
            "possibly",
            "probably",
            "suspect",
            "suspicious for",
            "suspicion of",
            "suspicion for",
            "rule out",
            "rule-out",
            "r/o",
            "to rule out",
            "question of",
            "cannot exclude",
            "can not exclude",
            "can't exclude",
            "cannot rule out",
            "can not rule out",
            "can't rule out",
            "could not rule out",
            "could not exclude",
            "differential",
            "differential diagnosis",
            "differential diagnosis includes",
            "differential includes",
            "ddx",
            "likely",
            "most likely",
            "more likely",
            "concern for",
            "concerning for",
            "concerned for",
            "concern of",
            "consider",
            "considered",
            "considering",
            "may be",
            "may have",
            "may represent",
            "could be",
            "could have",
            "could represent",
            "might be",
            "might have",
            "maybe",
            "perhaps",
            "presumed",
            "presumably",
            "presumptive",
            "worrisome for",
            "suggestive of",
            "suggests",
            "suggesting",
            "equivocal for",
            "unclear if",
            "unclear whether",
            "evaluate for",
            "evaluation for",
            "eval for",
            "assess for",
            "to exclude",
        ],
    ),
    (
        both(Uncertain),
        &[
            "possible",
            "probable",
            "suspected",
            "questionable",
            "uncertain",
            "unlikely",
            "less likely",
            "not ruled out",
            "not been ruled out",
            "not be ruled out",
            "cannot be ruled out",
            "can not be ruled out",
            "can't be ruled out",
            "could not be ruled out",
            "cannot be excluded",
            "can not be excluded",
            "can't be excluded",
            "could not be excluded",
            "not excluded",
            "not been excluded",
        ],
    ),
    // "?pneumonia", "pneumonia?": only right next to the mention.
    (trigger(Uncertain, Direction::Both, 1), &["?"]),
    // "pneumonia vs. atelectasis": both alternatives are uncertain.
    (trigger(Uncertain, Direction::Both, 3), &["vs", "versus"]),
    (
        post(Uncertain),
        &[
            "is possible",
            "is suspected",
            "is likely",
            "is probable",
            "is questionable",
            "is unlikely",
            "was considered",
            "is considered",
        ],
    ),
    (
        pre(Historical),
        &[
            "history of",
            "hx of",
            "h/o",
            "hx",
            "past history of",
            "past medical history of",
            "past medical history significant for",
            "pmh of",
            "pmh significant for",
            "pmh",
            "pmhx of",
            "history significant for",
            "medical history of",
            "medical history significant for",
            "personal history of",
            "remote history of",
            "prior history of",
            "known history of",
            "significant history of",
            "previous",
            "prior",
            "status post",
            "s/p",
            "former",
            "formerly",
        ],
    ),
    // "old MI", but not "old" far ahead of the mention.
    (trigger(Historical, Direction::Forward, 0), &["old"]),
    (
        both(Historical),
        &["previously", "in childhood", "as a child"],
    ),
    (trigger(Historical, Direction::Backward, 3), &["ago"]),
    (
        post(Historical),
        &["resolved", "has resolved", "now resolved"],
    ),
    (
        pre(Family),
        &[
            "family history of",
            "family history significant for",
            "family history positive for",
            "family hx of",
            "fhx of",
            "fh of",
            "fhx",
            "fam hx",
            "strong family history of",
            "maternal",
            "paternal",
        ],
    ),
    (
        both(Family),
        &[
            "family history",
            "runs in the family",
            "in the family",
            "in family",
        ],
    ),
    // I.C.21.c.1 (Z20 "Contact with and (suspected) exposure to communicable diseases"):
    // the disease named after these words is someone else's.
    (
        pre(Exposure),
        &[
            "exposed to",
            "exposure to",
            "contact with",
            "in contact with",
            "close contact of",
            "close contact with",
            "sick contact with",
        ],
    ),
    (post(Exposure), &["exposure", "contact"]),
    (
        pre(Hypothetical),
        &[
            "if",
            "in case",
            "in case of",
            "in the event of",
            "should he develop",
            "should she develop",
            "should they develop",
            "should you develop",
            "should the patient develop",
            "should patient develop",
            "should",
            "return if",
            "come back if",
            "call if",
            "watch for",
            "monitor for",
            "monitoring for",
            "look for",
            "look out for",
            "watch out for",
            "warning signs of",
            "to prevent",
            "prevent",
            "prevention of",
            "in order to prevent",
            "to reduce the risk of",
            "to decrease the risk of",
            "prophylaxis for",
            "prophylaxis against",
            "at risk for",
            "at risk of",
            "risk of",
            "risk for",
            "to avoid",
            "could develop",
            "may develop",
            "might develop",
            "can develop",
            "can cause",
            "can lead to",
            "could lead to",
            "may lead to",
            "return for",
            "seek medical attention for",
            "seek care for",
            "screening for",
            "screen for",
        ],
    ),
    // "DVT prophylaxis", "seizure precautions", "colon cancer screening".
    (
        trigger(Hypothetical, Direction::Backward, 0),
        &["prophylaxis", "precautions", "screening"],
    ),
];

/// Family members. A relative before a mention makes it Family ("mother with breast cancer");
/// after it only in "in his mother"-like phrases.
const RELATIVES: &[&str] = &[
    "mother",
    "father",
    "sister",
    "sisters",
    "brother",
    "brothers",
    "sibling",
    "siblings",
    "son",
    "sons",
    "daughter",
    "daughters",
    "aunt",
    "aunts",
    "uncle",
    "uncles",
    "grandmother",
    "grandfather",
    "grandparent",
    "grandparents",
    "cousin",
    "cousins",
    "niece",
    "nephew",
    "mom",
    "dad",
    "parent",
    "parents",
    "relative",
    "relatives",
    "family member",
    "family members",
];

const RELATIVE_DETERMINERS: &[&str] = &["", "his", "her", "their", "the", "a", "patient's", "pt's"];

/// A relative mentioned as informant or companion is no family history ("lives with her mother").
const RELATIVE_AS_PERSON: &[&str] = &[
    "lives with",
    "living with",
    "accompanied by",
    "brought in by",
    "brought by",
    "per",
    "according to",
    "history from",
    "history obtained from",
    "information obtained from",
    "discussed with",
    "spoke with",
    "spoke to",
    "talked to",
    "called",
    "here with",
];

/// Every lexicon phrase with its role: hand-written lists first, then generated time and
/// relative phrases.
fn lexicon_phrases() -> Vec<(String, Role)> {
    let mut phrases: Vec<(String, Role)> = PHRASES
        .iter()
        .flat_map(|&(role, list)| list.iter().map(move |&p| (p.to_owned(), role)))
        .collect();
    // A duration before "history of" dates an illness still present ("a three-day history
    // of fever", "a 10-year history of diabetes"); "old" is a historical trigger, ages are
    // not ("a 60-year-old man"): ConText's pseudo-triggers.
    for &unit in TIME_UNITS {
        for phrase in ["history of", "hx of", "old"] {
            phrases.push((format!("{unit} {phrase}"), Role::Pseudo));
        }
        phrases.push((format!("{unit}-old"), Role::Pseudo));
    }
    for &relative in RELATIVES {
        phrases.push((
            relative.to_owned(),
            trigger(Family, Direction::Forward, FAMILY_WINDOW),
        ));
        for &determiner in RELATIVE_DETERMINERS {
            let relative = join_words(determiner, relative);
            phrases.push((format!("in {relative}"), post(Family)));
            for &context in RELATIVE_AS_PERSON {
                phrases.push((format!("{context} {relative}"), Role::Pseudo));
            }
            // The relative as informant ("mother denies fever" in a paediatric note).
            for denial in ["denies", "deny", "denied"] {
                phrases.push((format!("{relative} {denial}"), pre(Negated)));
            }
        }
    }
    phrases
}

fn join_words(first: &str, second: &str) -> String {
    if first.is_empty() {
        second.to_owned()
    } else {
        format!("{first} {second}")
    }
}

/// Matching form of a token norm: typographic apostrophes and dashes match their ASCII forms.
fn match_key(norm: &str) -> &str {
    match norm {
        "’" | "‘" | "`" | "´" => "'",
        "–" | "—" | "‐" => "-",
        _ => norm,
    }
}

struct LexiconEntry {
    tokens: Vec<String>,
    role: Role,
}

/// Phrases indexed by their first token, longest first.
struct Lexicon {
    by_first_token: HashMap<String, Vec<LexiconEntry>>,
}

impl Lexicon {
    fn new(phrases: Vec<(String, Role)>) -> Self {
        let mut by_first_token: HashMap<String, Vec<LexiconEntry>> = HashMap::new();
        for (phrase, role) in phrases {
            let tokens: Vec<String> = tokenize(&phrase, &CharIndex::new(&phrase))
                .iter()
                .map(|t| match_key(&t.norm).to_owned())
                .collect();
            let Some(first) = tokens.first().cloned() else {
                continue;
            };
            let entries = by_first_token.entry(first).or_default();
            // First definition wins; `lexicon_has_no_conflicting_duplicates` keeps lists clean.
            if !entries.iter().any(|e| e.tokens == tokens) {
                entries.push(LexiconEntry { tokens, role });
            }
        }
        for entries in by_first_token.values_mut() {
            entries.sort_by_key(|e| std::cmp::Reverse(e.tokens.len()));
        }
        Self { by_first_token }
    }

    /// Longest phrase at the start of `tokens`: (length in tokens, role).
    fn longest_match(&self, tokens: &[Token]) -> Option<(usize, Role)> {
        let first = match_key(&tokens.first()?.norm);
        self.by_first_token.get(first)?.iter().find_map(|entry| {
            let candidate = tokens.get(..entry.tokens.len())?;
            let matches = entry
                .tokens
                .iter()
                .zip(candidate)
                .all(|(expected, token)| expected == match_key(&token.norm));
            matches.then_some((entry.tokens.len(), entry.role))
        })
    }
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| Lexicon::new(lexicon_phrases()));

/// A trigger or terminator found in a note (pseudo-triggers are not kept).
#[derive(Clone, Copy, Debug)]
struct ContextMatch {
    /// First token of the phrase.
    start: usize,
    /// One past the last token of the phrase.
    end: usize,
    role: Role,
}

/// Per-note data for answering assertion queries in time bounded by the sentence length.
#[derive(Clone, Debug, Default)]
pub(crate) struct ContextIndex {
    /// Trigger and terminator matches, ordered and non-overlapping.
    matches: Vec<ContextMatch>,
    /// `word_prefix[i]`: number of counted words among tokens `0..i`.
    word_prefix: Vec<usize>,
    /// `comma_prefix[i]`: number of commas among tokens `0..i`.
    comma_prefix: Vec<usize>,
    /// Per sentence: the kind of the trigger ending its list lead-in ("Denies:" makes every
    /// item of the list below Negated).
    lead_in_kinds: Vec<Option<Assertion>>,
}

impl ContextIndex {
    /// `lead_ins`: per sentence, the lead-in sentence of the list it is an item of.
    pub(crate) fn new(
        tokens: &[Token],
        sentences: &[Sentence],
        lead_ins: &[Option<usize>],
    ) -> Self {
        let mut matches = Vec::new();
        for sentence in sentences {
            let Some(sentence_tokens) = tokens.get(sentence.tokens.clone()) else {
                continue;
            };
            let mut offset = 0;
            while offset < sentence_tokens.len() {
                let index = sentence.tokens.start + offset;
                // A leading dash is a bullet, not a clause separator.
                if offset > 0 && is_free_standing_dash(tokens, index) {
                    matches.push(ContextMatch {
                        start: index,
                        end: index + 1,
                        role: Role::Terminator,
                    });
                    offset += 1;
                    continue;
                }
                match LEXICON.longest_match(&sentence_tokens[offset..]) {
                    Some((len, role)) => {
                        let role = active_voice(role, &sentence_tokens[offset..], len);
                        if role != Role::Pseudo {
                            matches.push(ContextMatch {
                                start: index,
                                end: index + len,
                                role,
                            });
                        }
                        offset += len.max(1);
                    }
                    None => offset += 1,
                }
            }
        }
        let word_prefix = prefix_counts(tokens, |t| {
            t.norm.chars().next().is_some_and(char::is_alphanumeric)
                && !UNCOUNTED_WORDS.contains(&t.norm.as_str())
        });
        let comma_prefix = prefix_counts(tokens, |t| matches!(t.norm.as_str(), "," | "،" | "、"));
        let lead_in_kinds = lead_ins
            .iter()
            .map(|lead_in| {
                let lead_in = sentences.get((*lead_in)?)?;
                final_forward_trigger(&matches, lead_in)
            })
            .collect();
        Self {
            matches,
            word_prefix,
            comma_prefix,
            lead_in_kinds,
        }
    }

    /// Assertion of the mention made of tokens `first..=last`, which lie in sentence number
    /// `sentence_index`.
    pub(crate) fn assertion(
        &self,
        sentence_index: usize,
        sentence: &Sentence,
        first: usize,
        last: usize,
    ) -> Assertion {
        let mut found = match sentence.section {
            Section::FamilyHistory => bit(Family),
            Section::PastMedicalHistory => bit(Historical),
            _ => 0,
        };
        let lead_in = self.lead_in_kinds.get(sentence_index).copied().flatten();
        found |= self.pre_triggers(sentence, sentence.tokens.start, lead_in, first);
        found |= self.post_triggers(sentence, last);
        PRECEDENCE
            .into_iter()
            .find(|&kind| found & bit(kind) != 0)
            .unwrap_or(Assertion::Present)
    }

    /// Does a negation trigger lying wholly in tokens `from..first` (inside the sentence) reach
    /// token `first`?
    pub(crate) fn denied_from(&self, sentence: &Sentence, from: usize, first: usize) -> bool {
        let from = from.max(sentence.tokens.start);
        self.pre_triggers(sentence, from, None, first) & bit(Negated) != 0
    }

    /// Kinds of the forward-looking triggers starting in `floor..first` that reach token
    /// `first`, including the trigger of the sentence's list lead-in, if any (`floor` is the
    /// sentence's first token, or later to ignore the triggers before it).
    fn pre_triggers(
        &self,
        sentence: &Sentence,
        floor: usize,
        lead_in: Option<Assertion>,
        first: usize,
    ) -> u8 {
        let before = self.matches.partition_point(|m| m.start < first);
        let mut scope = ScopeTracker::default();
        // Past a cause ("secondary to"), only a relative's scope goes on.
        let mut past_cause = false;
        for m in self.matches[..before].iter().rev() {
            if m.start < floor {
                break;
            }
            if m.end > first {
                // A negation that runs into the mention still denies it: "no family
                // history of" before the Z80 term "family history of malignant neoplasm".
                // Inside a gap of a mention, such a trigger is the words after the gap
                // ("receptors are negative").
                if let Role::Trigger { kind: Negated, .. } = m.role {
                    if m.start < first && floor == sentence.tokens.start {
                        scope.add(Negated, m.start, false, true);
                    }
                }
                continue; // overlaps the mention
            }
            let distance = self.words_between(m.end, first);
            if distance > MAX_WINDOW {
                return scope.found;
            }
            match m.role {
                Role::Terminator => return scope.found,
                Role::CauseTerminator => past_cause = true,
                Role::Trigger { kind, .. } if past_cause && kind != Family => {}
                Role::Trigger {
                    kind,
                    direction,
                    window,
                } => {
                    let separated = scope.is_open() && self.words_between(m.end, scope.edge) > 0;
                    let reaches = direction.looks_forward() && distance <= window;
                    scope.add(kind, m.start, separated, reaches);
                }
                Role::Pseudo => {}
            }
        }
        // Nothing stopped the walk back to the sentence start: the lead-in's trigger applies
        // as if it stood right before the item.
        let start = sentence.tokens.start;
        if let Some(kind) = lead_in.filter(|&k| !past_cause || k == Family) {
            let distance = self.words_between(start, first);
            let separated = scope.is_open() && self.words_between(start, scope.edge) > 0;
            scope.add(kind, start, separated, distance <= PRE_WINDOW);
        }
        scope.found
    }

    /// Kinds of the backward-looking triggers after token `last` that reach it.
    fn post_triggers(&self, sentence: &Sentence, last: usize) -> u8 {
        let after = self.matches.partition_point(|m| m.start <= last);
        let mut scope = ScopeTracker::default();
        for m in &self.matches[after..] {
            if m.start >= sentence.tokens.end {
                break;
            }
            let distance = self.words_between(last + 1, m.start);
            // Post-triggers do not reach across a comma: "chest pain, ECG negative".
            if distance > MAX_WINDOW || self.commas_between(last + 1, m.start) > 0 {
                break;
            }
            match m.role {
                Role::Terminator | Role::CauseTerminator => break,
                Role::Trigger {
                    kind,
                    direction,
                    window,
                } => {
                    let window = if direction == Direction::Both {
                        window.min(POST_WINDOW)
                    } else {
                        window
                    };
                    let separated = scope.is_open() && self.words_between(scope.edge, m.start) > 0;
                    let reaches = direction.looks_backward() && distance <= window;
                    scope.add(kind, m.end, separated, reaches);
                }
                Role::Pseudo => {}
            }
        }
        scope.found
    }

    fn words_between(&self, from: usize, to: usize) -> usize {
        count_between(&self.word_prefix, from, to)
    }

    fn commas_between(&self, from: usize, to: usize) -> usize {
        count_between(&self.comma_prefix, from, to)
    }
}

/// Triggers met while walking away from a mention.
///
/// Triggers written next to each other stack ("possible prior MI", "denies history of"): all
/// of them apply. A trigger of another kind separated from a farther one by words opens a new
/// context ("no fever, history of asthma") and blocks it.
#[derive(Default)]
struct ScopeTracker {
    /// Kinds that reach the mention.
    found: u8,
    /// Kinds of the stack of adjacent triggers met last.
    stack: u8,
    /// Kinds of earlier stacks, separated by words from the current position.
    closed: u8,
    /// Token boundary of the current stack on the side away from the mention.
    edge: usize,
}

impl ScopeTracker {
    fn is_open(&self) -> bool {
        self.stack != 0
    }

    /// Adds a trigger of `kind` whose far edge is `edge`; `separated`: words lie between it and
    /// the current stack; `reaches`: its direction and window cover the mention.
    fn add(&mut self, kind: Assertion, edge: usize, separated: bool, reaches: bool) {
        if separated {
            self.closed |= self.stack;
            self.stack = 0;
        }
        let blocked = self.closed & !bit(kind) != 0;
        if reaches && !blocked {
            self.found |= bit(kind);
        }
        self.stack |= bit(kind);
        self.edge = edge;
    }
}

/// Verbs of exclusion whose subject is the test, not the condition, when an object follows:
/// "A transesophageal echocardiography ruled out endocarditis" denies the endocarditis, not
/// the echocardiography ("Endocarditis was ruled out", "PE ruled out." look back).
const EXCLUDING_VERBS: &[&str] = &["out", "excluded"];

/// Words that may follow a backward "ruled out" without making it active ("ruled out by CT").
const AFTER_PASSIVE: &[&str] = &[
    "by",
    "with",
    "on",
    "in",
    "after",
    "at",
    "via",
    "and",
    "or",
    "for",
    "as",
    "clinically",
];

/// `role` of a phrase of `len` tokens at the start of `tokens`: an exclusion verb followed by
/// its object looks forward only ("CT excluded pulmonary embolism").
fn active_voice(role: Role, tokens: &[Token], len: usize) -> Role {
    let Role::Trigger {
        kind,
        direction,
        window,
    } = role
    else {
        return role;
    };
    let verb = tokens.get(len.wrapping_sub(1)).map(|t| t.norm.as_str());
    let object = tokens.get(len).map(|t| t.norm.as_str());
    let active = verb.is_some_and(|v| EXCLUDING_VERBS.contains(&v))
        && object.is_some_and(|o| {
            o.chars().next().is_some_and(char::is_alphanumeric) && !AFTER_PASSIVE.contains(&o)
        });
    match (active, direction) {
        (true, Direction::Both) => Role::Trigger {
            kind,
            direction: Direction::Forward,
            window,
        },
        (true, _) => Role::Trigger {
            kind,
            direction: Direction::Forward,
            window,
        },
        _ => role,
    }
}

/// Kind of the forward-looking trigger that ends `sentence` right before its final ':'
/// ("Denies:", "Negative for:", "History of:").
fn final_forward_trigger(matches: &[ContextMatch], sentence: &Sentence) -> Option<Assertion> {
    let colon = sentence.tokens.end.checked_sub(1)?;
    let index = matches.partition_point(|m| m.end <= colon).checked_sub(1)?;
    match matches.get(index)? {
        ContextMatch {
            end,
            role: Role::Trigger {
                kind, direction, ..
            },
            ..
        } if *end == colon && direction.looks_forward() => Some(*kind),
        _ => None,
    }
}

/// A dash with spaces on both sides separates clauses ("DM2 - hold metformin"), unlike the
/// hyphen in "x-ray" or "non-small".
fn is_free_standing_dash(tokens: &[Token], index: usize) -> bool {
    let Some(dash) = tokens.get(index) else {
        return false;
    };
    if !matches!(dash.norm.as_str(), "-" | "–" | "—" | "--") {
        return false;
    }
    let spaced_before = index
        .checked_sub(1)
        .and_then(|i| tokens.get(i))
        .is_none_or(|previous| previous.end < dash.start);
    let spaced_after = tokens
        .get(index + 1)
        .is_none_or(|next| dash.end < next.start);
    spaced_before && spaced_after
}

fn bit(kind: Assertion) -> u8 {
    1 << kind as u8
}

fn prefix_counts(tokens: &[Token], counted: impl Fn(&Token) -> bool) -> Vec<usize> {
    let mut total = 0;
    let mut prefix = Vec::with_capacity(tokens.len() + 1);
    prefix.push(0);
    for token in tokens {
        total += usize::from(counted(token));
        prefix.push(total);
    }
    prefix
}

/// Number of counted tokens among `from..to` according to `prefix`.
fn count_between(prefix: &[usize], from: usize, to: usize) -> usize {
    match (prefix.get(from), prefix.get(to)) {
        (Some(a), Some(b)) => b.saturating_sub(*a),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn lexicon_has_no_conflicting_duplicates() {
        let mut seen: HashMap<Vec<String>, (String, Role)> = HashMap::new();
        for (phrase, role) in lexicon_phrases() {
            let key: Vec<String> = tokenize(&phrase, &CharIndex::new(&phrase))
                .iter()
                .map(|t| match_key(&t.norm).to_owned())
                .collect();
            assert!(!key.is_empty(), "empty phrase {phrase:?}");
            if let Some((earlier, earlier_role)) = seen.insert(key, (phrase.clone(), role)) {
                assert_eq!(earlier_role, role, "{phrase:?} conflicts with {earlier:?}");
            }
        }
    }

    #[test]
    fn longest_match_wins() {
        let text = "cannot be ruled out";
        let tokens = tokenize(text, &CharIndex::new(text));
        assert_eq!(LEXICON.longest_match(&tokens), Some((4, both(Uncertain))));
        let text = "h/o";
        let tokens = tokenize(text, &CharIndex::new(text));
        assert_eq!(LEXICON.longest_match(&tokens), Some((3, pre(Historical))));
        let text = "Can’t exclude";
        let tokens = tokenize(text, &CharIndex::new(text));
        assert_eq!(LEXICON.longest_match(&tokens), Some((4, pre(Uncertain))));
    }
}
