//! The composer's word lists (the TSV files beside this module), parsed once.
//!
//! Patterns name the seven ICD-10-PCS characters: `.` not stated, a character stated,
//! `[ab]` stated alternatives in order, `(ab)` assumed defaults in order, `*` (approach only)
//! the endoscopic approach of the body part.

use std::collections::HashMap;
use std::sync::LazyLock;

const ROOT_OPERATIONS: &str = include_str!("root_operations.tsv");
const BODY_PARTS: &str = include_str!("body_parts.tsv");
const APPROACHES: &str = include_str!("approaches.tsv");
const MODIFIERS: &str = include_str!("modifiers.tsv");
const GUARDS: &str = include_str!("guards.tsv");
const INTEGRAL_OPERATIONS: &str = include_str!("integral_operations.tsv");

/// One row of `integral_operations.tsv`: codes fitting `integral` are not coded beside a
/// code fitting `kept` (on the same body part when `same_body_part`).
pub(super) struct IntegralRule {
    pub kept: Pattern,
    pub integral: Pattern,
    pub same_body_part: bool,
}

impl IntegralRule {
    fn parse(line: &str) -> Option<IntegralRule> {
        let mut fields = line.split('\t').map(str::trim);
        let kept = Pattern::parse(fields.next()?)?;
        let integral = Pattern::parse(fields.next()?)?;
        let same_body_part = match fields.next()? {
            "same" => true,
            "any" => false,
            _ => return None,
        };
        Some(IntegralRule {
            kept,
            integral,
            same_body_part,
        })
    }
}

fn integral_lines() -> impl Iterator<Item = &'static str> {
    INTEGRAL_OPERATIONS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1)
}

/// The rules of `integral_operations.tsv` (malformed lines skipped; a test keeps them out).
pub(super) static INTEGRAL_RULES: LazyLock<Vec<IntegralRule>> =
    LazyLock::new(|| integral_lines().filter_map(IntegralRule::parse).collect());

/// The guard phrases (`guards.tsv`): words of each, and whether it stands before the
/// procedure it guards ("planned") or after it ("was declined", "ordered").
pub static GUARD_PHRASES: LazyLock<Vec<(Vec<&'static str>, GuardDirection)>> =
    LazyLock::new(|| {
        GUARDS
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .skip(1)
            .filter_map(|l| {
                let (form, direction) = l.split_once('\t')?;
                let words: Vec<&'static str> = form.split_whitespace().collect();
                let direction = match direction.trim() {
                    "before" => GuardDirection::Before,
                    "next" => GuardDirection::Next,
                    "after" => GuardDirection::After,
                    _ => return None,
                };
                (!words.is_empty()).then_some((words, direction))
            })
            .collect()
    });

/// Where a guard stands from the procedure words it applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardDirection {
    /// Before them, within the clause ("planned", "declined").
    Before,
    /// Shortly after them ("was declined").
    After,
    /// The very next token: the procedure word then names a noun's kind ("cesarean
    /// incision"), not a procedure.
    Next,
}

/// Marks the approach axis as "the endoscopic approach of the body part".
pub(super) const ENDOSCOPIC: u8 = b'*';

/// One character value of a pattern axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Value {
    pub ch: u8,
    /// A default the note did not state (lowers confidence when it decides the code).
    pub assumed: bool,
}

/// Per-axis values in preference order; an empty axis is not stated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Pattern {
    pub axes: [Vec<Value>; 7],
}

impl Pattern {
    /// Parses up to seven axes; fewer are allowed for scopes (the rest match anything).
    pub fn parse(text: &str) -> Option<Pattern> {
        let mut pattern = Pattern::default();
        let mut chars = text.bytes();
        let mut axis = 0;
        let mut after_stated_group = false;
        while let Some(c) = chars.next() {
            if axis >= 7 {
                return None;
            }
            match c {
                b'.' => {}
                b'[' | b'(' => {
                    // "[0](6)": stated values, then assumed ones, on one axis.
                    if c == b'(' && after_stated_group {
                        axis -= 1;
                    }
                    let close = if c == b'[' { b']' } else { b')' };
                    loop {
                        match chars.next() {
                            Some(v) if v == close => break,
                            Some(v) if v.is_ascii_alphanumeric() => {
                                pattern.axes[axis].push(Value {
                                    ch: v,
                                    assumed: c == b'(',
                                })
                            }
                            _ => return None,
                        }
                    }
                    if pattern.axes[axis].is_empty() {
                        return None;
                    }
                }
                c if c.is_ascii_alphanumeric() || c == ENDOSCOPIC => {
                    pattern.axes[axis].push(Value {
                        ch: c,
                        assumed: false,
                    })
                }
                _ => return None,
            }
            after_stated_group = c == b'[';
            axis += 1;
        }
        Some(pattern)
    }

    /// Does `composed` fit this scope? Each stated scope axis must hold the composed axis's
    /// first value.
    pub fn admits(&self, composed: &Pattern) -> bool {
        self.axes.iter().zip(&composed.axes).all(|(scope, axis)| {
            scope.is_empty()
                || axis
                    .first()
                    .is_some_and(|v| scope.iter().any(|s| s.ch == v.ch))
        })
    }

    /// Does the code `chars` fit this pattern? Each stated axis must hold its character.
    pub fn fits(&self, chars: &[u8; 7]) -> bool {
        self.axes
            .iter()
            .zip(chars)
            .all(|(axis, ch)| axis.is_empty() || axis.iter().any(|v| v.ch == *ch))
    }

    pub fn states(&self, axis: usize) -> bool {
        self.axes[axis].iter().any(|v| !v.assumed)
    }
}

/// Body-part characters for right, left and bilateral.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Sides {
    pub right: Option<u8>,
    pub left: Option<u8>,
    pub bilateral: Option<u8>,
}

impl Sides {
    fn parse(text: &str) -> Option<Sides> {
        if text == "-" || text.is_empty() {
            return Some(Sides::default());
        }
        let b = text.as_bytes();
        if b.len() != 3 {
            return None;
        }
        let side = |c: u8| (c != b'-').then_some(c);
        Some(Sides {
            right: side(b[0]),
            left: side(b[1]),
            bilateral: side(b[2]),
        })
    }

    pub fn any(&self) -> bool {
        self.right.is_some() || self.left.is_some() || self.bilateral.is_some()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Side {
    Right,
    Left,
    Bilateral,
    /// "hemi-": one side of a paired or halved body part, which side stated elsewhere.
    Half,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Role {
    Operation,
    BodyPart,
    Approach,
    Modifier,
    Side(Side),
    /// Planned/declined wording, and where it stands from the procedure.
    Guard(GuardDirection),
}

#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub role: Role,
    pub pattern: Pattern,
    pub sides: Sides,
    pub endoscopic_approach: Option<u8>,
    /// The composed code must fit this for the entry to apply (approaches, modifiers).
    pub scope: Pattern,
    /// A second code the statement also states, laid over the composed one (a laparoscopy
    /// "converted to open" is also a laparoscopic inspection, B3.2d); empty for none.
    pub also: Pattern,
}

pub(super) type EntryId = u16;

/// A phrase of one or more token norms and the entries it stands for.
pub(super) struct Phrase {
    pub words: Vec<String>,
    pub entries: Vec<EntryId>,
}

pub(super) struct Lexicon {
    pub entries: Vec<Entry>,
    /// Phrases by first word, longest first.
    pub phrases: HashMap<String, Vec<Phrase>>,
    /// Root-operation suffixes, longest first.
    pub suffixes: Vec<(String, EntryId)>,
    /// Body-part combining forms.
    pub stems: HashMap<String, EntryId>,
    /// Word prefixes before a combining form ("hemi-").
    pub prefixes: Vec<(String, EntryId)>,
}

pub(super) static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| {
    let mut builder = Builder::default();
    // Malformed lines are skipped here; `tests::every_data_line_parses` keeps them out.
    let _ = builder.table(ROOT_OPERATIONS, TableKind::RootOperations);
    let _ = builder.table(BODY_PARTS, TableKind::BodyParts);
    let _ = builder.table(APPROACHES, TableKind::Approaches);
    let _ = builder.table(MODIFIERS, TableKind::Modifiers);
    let _ = builder.table(GUARDS, TableKind::Guards);
    builder.finish()
});

#[derive(Clone, Copy)]
enum TableKind {
    RootOperations,
    BodyParts,
    Approaches,
    Modifiers,
    Guards,
}

#[derive(Default)]
struct Builder {
    entries: Vec<Entry>,
    phrases: HashMap<Vec<String>, Vec<EntryId>>,
    suffixes: Vec<(String, EntryId)>,
    stems: HashMap<String, EntryId>,
    prefixes: Vec<(String, EntryId)>,
}

impl Builder {
    /// Adds every data line of a table; returns the lines that did not parse.
    fn table(&mut self, text: &str, kind: TableKind) -> Vec<String> {
        let mut bad = Vec::new();
        let mut lines = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
        let Some(header) = lines.next() else {
            return bad;
        };
        let columns: Vec<&str> = header.split('\t').collect();
        for line in lines {
            let fields: HashMap<&str, &str> = columns
                .iter()
                .copied()
                .zip(line.split('\t').map(str::trim))
                .collect();
            if self.line(&fields, kind).is_none() {
                bad.push(line.to_string());
            }
        }
        bad
    }

    fn line(&mut self, fields: &HashMap<&str, &str>, kind: TableKind) -> Option<()> {
        let form = *fields.get("form")?;
        let field = |name: &str| fields.get(name).copied().unwrap_or("-");
        let optional_pattern = |name: &str| match field(name) {
            "-" | "." => Some(Pattern::default()),
            text => Pattern::parse(text),
        };
        let (role, pattern) = match kind {
            TableKind::RootOperations => (Role::Operation, optional_pattern("pattern")?),
            TableKind::BodyParts => (Role::BodyPart, optional_pattern("pattern")?),
            TableKind::Approaches => (Role::Approach, optional_pattern("pattern")?),
            TableKind::Modifiers => match field("effect").strip_prefix("side=") {
                Some(side) => (
                    Role::Side(match side {
                        "right" => Side::Right,
                        "left" => Side::Left,
                        "bilateral" => Side::Bilateral,
                        "half" => Side::Half,
                        _ => return None,
                    }),
                    Pattern::default(),
                ),
                None => (Role::Modifier, Pattern::parse(field("effect"))?),
            },
            TableKind::Guards => match field("direction") {
                "before" => (Role::Guard(GuardDirection::Before), Pattern::default()),
                "after" => (Role::Guard(GuardDirection::After), Pattern::default()),
                "next" => (Role::Guard(GuardDirection::Next), Pattern::default()),
                _ => return None,
            },
        };
        let endoscopic_approach = match field("endoscopic_approach") {
            "-" => None,
            a if a.len() == 1 && a.as_bytes()[0].is_ascii_alphanumeric() => Some(a.as_bytes()[0]),
            _ => return None,
        };
        let entry = Entry {
            role,
            pattern,
            sides: Sides::parse(field("sides"))?,
            endoscopic_approach,
            scope: optional_pattern("scope")?,
            also: optional_pattern("also")?,
        };
        let id = EntryId::try_from(self.entries.len()).ok()?;
        let lower = form.to_lowercase();
        if let Some(suffix) = lower.strip_prefix('-') {
            self.suffixes.push((suffix.to_string(), id));
        } else if let Some(stem) = lower.strip_suffix('-') {
            match kind {
                TableKind::Modifiers => self.prefixes.push((stem.to_string(), id)),
                _ => {
                    self.stems.insert(stem.to_string(), id);
                }
            }
        } else {
            let words: Vec<String> = lower.split_whitespace().map(str::to_string).collect();
            if words.is_empty() {
                return None;
            }
            self.phrases.entry(words).or_default().push(id);
        }
        self.entries.push(entry);
        Some(())
    }

    fn finish(mut self) -> Lexicon {
        let mut phrases: HashMap<String, Vec<Phrase>> = HashMap::new();
        for (words, entries) in self.phrases {
            phrases
                .entry(words[0].clone())
                .or_default()
                .push(Phrase { words, entries });
        }
        for list in phrases.values_mut() {
            list.sort_by(|a, b| {
                b.words
                    .len()
                    .cmp(&a.words.len())
                    .then(a.words.cmp(&b.words))
            });
        }
        self.suffixes
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        Lexicon {
            entries: self.entries,
            phrases,
            suffixes: self.suffixes,
            stems: self.stems,
            prefixes: self.prefixes,
        }
    }
}

/// Lines of the data files that do not parse (for the tests).
#[cfg(test)]
pub(super) fn malformed_lines() -> Vec<String> {
    let mut builder = Builder::default();
    let mut bad = Vec::new();
    bad.extend(builder.table(ROOT_OPERATIONS, TableKind::RootOperations));
    bad.extend(builder.table(BODY_PARTS, TableKind::BodyParts));
    bad.extend(builder.table(APPROACHES, TableKind::Approaches));
    bad.extend(builder.table(MODIFIERS, TableKind::Modifiers));
    bad.extend(builder.table(GUARDS, TableKind::Guards));
    bad.extend(
        integral_lines()
            .filter(|l| IntegralRule::parse(l).is_none())
            .map(str::to_string),
    );
    bad
}
