//! Procedure-statement composer: reads how clinicians state procedures ("laparoscopic
//! appendectomy", "lap chole", "right TKA", "colonoscopy with biopsy") and composes
//! ICD-10-PCS codes from the PCS axes, returning only codes of the loaded code set.
//!
//! PCS titles never say "appendectomy"; they say "Resection of Appendix, Percutaneous
//! Endoscopic Approach". So the note's words are mapped to axes instead: a root-operation
//! word or suffix (`-ectomy` -> Resection), a body part (the combining form `append-`, or a
//! plain word), an approach ("laparoscopic" -> 4), laterality, and modifiers that narrow the
//! root operation or state a device or qualifier. Axes the note leaves open are filled with
//! the defaults a coder would assume (open approach, no device, no qualifier where valid)
//! and reported in [`ProcedureMention::defaulted`], lowering the confidence.
//!
//! The word lists are data (`*.tsv` beside this file, each citing its source). Only
//! procedures the note states as performed are composed: the text layer's assertion must be
//! `Present`, and guard words ("planned", "declined", "scheduled for") must not apply.

mod lexicon;

use std::collections::HashMap;

use crate::codeset::{CodeId, CodeSet, System};
use crate::text::{Assertion, Note, Section};

use lexicon::{
    Entry, EntryId, GuardDirection, Pattern, Role, Side, Sides, Value, ENDOSCOPIC, LEXICON,
};

/// One ICD-10-PCS code composed from a procedure statement of a note.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcedureMention {
    pub code: CodeId,
    /// Token indices into `note.tokens`, ascending: the words that state the procedure.
    pub tokens: Vec<usize>,
    /// Index of the sentence in `note.sentences`.
    pub sentence: usize,
    /// In (0, 1]: 1 when every axis that had a choice came from the note's words.
    pub confidence: f32,
    /// Names of the axes the composer filled with a default.
    pub defaulted: Vec<&'static str>,
}

/// Composes PCS codes from notes; built once per code set (it indexes the PCS tables).
#[derive(Debug, Default)]
pub struct ProcedureComposer {
    /// PCS codes by their first three characters (section, body system, root operation):
    /// the remaining four characters and the code's id.
    tables: HashMap<[u8; 3], Vec<([u8; 4], CodeId)>>,
}

/// Composes the PCS codes of `note`. Builds the table index on every call: callers that code
/// many notes keep a [`ProcedureComposer`].
pub fn find(note: &Note, codes: &CodeSet) -> Vec<ProcedureMention> {
    ProcedureComposer::new(codes).find(note)
}

/// Is a procedure stated by tokens `first..=last` guarded as not performed ("chest x-ray
/// ordered", "planned colonoscopy") by a phrase of `guards.tsv` within reach in its
/// sentence, or stated in a plan? Applies to every procedure reading: index terms, learned
/// phrases, the encoder's and the composer's.
pub fn guarded(note: &Note, first: usize, last: usize) -> bool {
    let Some(sentence) = note.sentences.get(note.sentence_of_token(first)) else {
        return false;
    };
    if sentence.section == Section::Plan {
        return true; // a plan lists what is to be done, not what was done
    }
    let words: Vec<(usize, &str)> = note.tokens[sentence.tokens.clone()]
        .iter()
        .enumerate()
        .map(|(i, t)| (sentence.tokens.start + i, t.norm.as_str()))
        .filter(|(_, w)| w.chars().any(char::is_alphanumeric))
        .collect();
    let at = |token: usize| words.iter().position(|(i, _)| *i >= token);
    let (Some(start), Some(end)) = (at(first), at(last)) else {
        return false;
    };
    lexicon::GUARD_PHRASES.iter().any(|(phrase, direction)| {
        let n = phrase.len();
        (0..words.len().saturating_sub(n - 1)).any(|k| {
            let hit = words[k..k + n]
                .iter()
                .map(|(_, w)| *w)
                .eq(phrase.iter().copied());
            hit && match direction {
                GuardDirection::Before => k + n <= start && start - (k + n) <= GUARD_BEFORE_WINDOW,
                GuardDirection::After => k > end && k - end - 1 <= GUARD_AFTER_WINDOW,
                GuardDirection::Next => words[k].0 == last + 1,
            }
        })
    })
}

/// Words between a modifier/body part and the procedure word it belongs to.
const ATTACH_WINDOW: usize = 8;
/// Words between a "before" guard ("planned", "declined") and the procedure.
const GUARD_BEFORE_WINDOW: usize = 6;
/// Words between the procedure and an "after" guard ("was declined").
const GUARD_AFTER_WINDOW: usize = 2;

impl ProcedureComposer {
    pub fn new(codes: &CodeSet) -> Self {
        let mut tables: HashMap<[u8; 3], Vec<([u8; 4], CodeId)>> = HashMap::new();
        for (id, code) in codes.iter() {
            if code.system != System::Icd10pcs {
                continue;
            }
            let Ok(chars) = <[u8; 7]>::try_from(code.code.as_bytes()) else {
                continue;
            };
            let head = [chars[0], chars[1], chars[2]];
            let tail = [chars[3], chars[4], chars[5], chars[6]];
            tables.entry(head).or_default().push((tail, id));
        }
        ProcedureComposer { tables }
    }

    /// The procedures `note` states as performed, in text order, one mention per code and
    /// sentence.
    pub fn find(&self, note: &Note) -> Vec<ProcedureMention> {
        let mut mentions: Vec<ProcedureMention> = Vec::new();
        let mut next = 0;
        while next < note.sentences.len() {
            let sentence_index = next;
            let sentence = &note.sentences[sentence_index];
            // Clauses after ";" go on with the same procedure ("Left ureteroscopy with laser
            // lithotripsy; all stone fragments removed with a basket"): composed as one.
            let mut last = sentence_index;
            while note
                .sentences
                .get(last + 1)
                .is_some_and(|n| n.section == sentence.section)
                && note.sentences[last]
                    .tokens
                    .end
                    .checked_sub(1)
                    .is_some_and(|t| note.tokens[t].norm == ";")
            {
                last += 1;
            }
            next = last + 1;
            if sentence.section == Section::Plan {
                continue; // a plan lists what is to be done, not what was done
            }
            let range = sentence.tokens.start..note.sentences[last].tokens.end;
            let mut hits = scan(note, range.clone());
            // A procedure word the note denies or puts in the past ("normal, no biopsies")
            // takes no words and no merged inspection.
            hits.retain(|h| {
                h.role() != Role::Operation || note.assertion(h.first, h.last) == Assertion::Present
            });
            if !hits.iter().any(|h| h.role() == Role::Operation) {
                continue;
            }
            let statements: Vec<Statement> = statements(note, &hits)
                .into_iter()
                .filter(|st| self.performed(note, &hits, st))
                .collect();
            let first_pass: Vec<Vec<Composed>> = statements
                .iter()
                .map(|st| self.compose(note, range.clone(), &hits, st))
                .collect();
            let mut sentence_codes: Vec<Composed> = Vec::new();
            for (s, statement) in statements.iter().enumerate() {
                let borrowed = borrowed_words(&hits, &statements, &first_pass, s);
                if borrowed.is_empty() {
                    sentence_codes.extend(first_pass[s].iter().cloned());
                } else {
                    let mut statement = statement.clone();
                    statement.donor_attached.extend(borrowed);
                    sentence_codes.extend(self.compose(note, range.clone(), &hits, &statement));
                }
            }
            for composed in without_integral(sentence_codes) {
                // The sentence its words begin in (a statement may go on after ";").
                let sentence = composed
                    .tokens
                    .first()
                    .map_or(sentence_index, |&t| note.sentence_of_token(t));
                let duplicate = mentions
                    .iter_mut()
                    .find(|m| m.code == composed.code && m.sentence == sentence);
                match duplicate {
                    Some(m) if m.confidence >= composed.confidence => {}
                    Some(m) => *m = composed.into_mention(sentence),
                    None => mentions.push(composed.into_mention(sentence)),
                }
            }
        }
        mentions
    }

    /// Stated as done: assertion Present, no guard word in reach.
    fn performed(&self, note: &Note, hits: &[Hit], statement: &Statement) -> bool {
        let (first, last) = statement.span(hits);
        if note.assertion(first, last) != Assertion::Present {
            return false;
        }
        let anchor = &hits[statement.anchor];
        !hits.iter().any(|h| match h.role() {
            Role::Guard(GuardDirection::Before) => {
                h.last < anchor.first && word_gap(note, h.last, anchor.first) <= GUARD_BEFORE_WINDOW
            }
            Role::Guard(GuardDirection::After) => {
                h.first > last && word_gap(note, last, h.first) <= GUARD_AFTER_WINDOW
            }
            // The noun right after the procedure word ("cesarean incision").
            Role::Guard(GuardDirection::Next) => h.first == anchor.last + 1,
            _ => false,
        })
    }

    fn compose(
        &self,
        note: &Note,
        sentence: std::ops::Range<usize>,
        hits: &[Hit],
        statement: &Statement,
    ) -> Vec<Composed> {
        let lexicon = &*LEXICON;
        let anchor = &hits[statement.anchor];
        let mut used: Vec<usize> = vec![statement.anchor];

        // Sources in priority order: a body part written just before the procedure word
        // ("sigmoid colectomy", "knee arthroscopy"), the combining form inside the word, the
        // procedure word, other body parts and approaches nearby, then merged inspections.
        let mut sources: Vec<(usize, &Entry)> = Vec::new();
        let body_words: Vec<usize> = statement
            .attached
            .iter()
            .copied()
            .filter(|&h| hits[h].role() == Role::BodyPart)
            .collect();
        // A procedure word that names its body part itself ("TKA", "hemiarthroplasty") comes
        // first: "hip" in "hip hemiarthroplasty" must not turn it into a total replacement.
        let anchor_names_body = anchor.entry().pattern.states(3) || anchor.entry().sides.any();
        if anchor_names_body {
            sources.push((statement.anchor, anchor.entry()));
        }
        for &h in &body_words {
            if hits[h].last < anchor.first && anchor.first - hits[h].last <= 2 {
                sources.push((h, hits[h].entry()));
            }
        }
        if let Some(stem) = anchor.stem {
            sources.push((statement.anchor, &lexicon.entries[stem as usize]));
        }
        if !anchor_names_body {
            sources.push((statement.anchor, anchor.entry()));
        }
        for &h in &body_words {
            if !sources.iter().any(|(s, _)| *s == h) {
                sources.push((h, hits[h].entry()));
            }
        }
        for &d in &statement.donors {
            if let Some(stem) = hits[d].stem {
                sources.push((d, &lexicon.entries[stem as usize]));
            }
            sources.push((d, hits[d].entry()));
        }

        // Merge per axis: the first stated value wins, else the first assumed one. Body parts
        // of another body system than the procedure word's do not apply.
        let mut pattern = Pattern::default();
        let mut body: Option<&Entry> = None;
        for &(h, entry) in &sources {
            let is_body_word = hits[h].role() == Role::BodyPart && h != statement.anchor;
            if is_body_word && !compatible(&pattern, &entry.pattern) {
                continue;
            }
            if body.is_none() && (entry.pattern.states(3) || entry.sides.any()) {
                body = Some(entry);
            }
            merge(&mut pattern, &entry.pattern);
            if !used.contains(&h) {
                used.push(h);
            }
        }
        if pattern.axes[0].is_empty() {
            return Vec::new();
        }

        // Approach words and modifiers that fit the composed code so far.
        let mut side = anchor.half.then_some(Side::Half);
        let mut also: Vec<&Pattern> = Vec::new();
        let around: Vec<usize> = statement
            .attached
            .iter()
            .chain(&statement.donor_attached)
            .copied()
            .collect();
        for &h in &around {
            let entry = hits[h].entry();
            match entry.role {
                Role::Approach if entry.scope.admits(&pattern) => {
                    override_axes(&mut pattern, &entry.pattern);
                    if entry.also.axes.iter().any(|a| !a.is_empty()) {
                        also.push(&entry.also);
                    }
                    used.push(h);
                }
                Role::Side(s) => {
                    side = Some(match (side, s) {
                        (Some(Side::Half), s @ (Side::Right | Side::Left)) => s,
                        (Some(existing), Side::Half) => existing,
                        _ => s,
                    });
                    used.push(h);
                }
                _ => {}
            }
        }
        let base = pattern.clone();
        for &h in &around {
            let entry = hits[h].entry();
            // "primary suture repair, no mesh": a device or qualifier the note denies is
            // not the procedure's.
            let denied = note.assertion(hits[h].first, hits[h].last) == Assertion::Negated;
            if entry.role == Role::Modifier && entry.scope.admits(&base) && !denied {
                override_axes(&mut pattern, &entry.pattern);
                used.push(h);
            }
        }

        // "-oscopy": the body part's endoscopic approach.
        if pattern.axes[4].first().is_some_and(|v| v.ch == ENDOSCOPIC) {
            let endoscopic = body
                .and_then(|b| b.endoscopic_approach)
                .or_else(|| sources.iter().find_map(|(_, e)| e.endoscopic_approach));
            pattern.axes[4] = endoscopic
                .map(|ch| vec![Value { ch, assumed: false }])
                .unwrap_or_default();
        }
        pattern.axes[4].retain(|v| v.ch != ENDOSCOPIC);

        if pattern.axes[..4]
            .iter()
            .map(|a| a.first().map_or(b'.', |v| v.ch))
            .eq(*b"5A19")
        {
            if let Some(duration) = ventilation_duration(note, sentence) {
                pattern.axes[4] = vec![Value {
                    ch: duration,
                    assumed: false,
                }];
            }
        }

        let variants: Vec<(Pattern, bool)> =
            sided_variants(&pattern, body.map(|b| b.sides).unwrap_or_default(), side)
                .into_iter()
                .flat_map(|(variant, defaulted)| {
                    let extra: Vec<(Pattern, bool)> = also
                        .iter()
                        .map(|overlay| {
                            let mut p = variant.clone();
                            override_axes(&mut p, overlay);
                            (p, defaulted)
                        })
                        .collect();
                    std::iter::once((variant, defaulted)).chain(extra)
                })
                .collect();
        let tokens = {
            let mut tokens: Vec<usize> = used
                .iter()
                .flat_map(|&h| hits[h].first..=hits[h].last)
                .collect();
            tokens.sort_unstable();
            tokens.dedup();
            tokens
        };
        let mut composed = Vec::new();
        for (variant, side_defaulted) in variants {
            if let Some((code, chars, mut defaulted)) = self.resolve(&variant) {
                if side_defaulted && !defaulted.contains(&"body_part") {
                    defaulted.push("body_part");
                }
                let confidence = defaulted
                    .iter()
                    .map(|axis| penalty(axis))
                    .product::<f32>()
                    .clamp(0.05, 1.0);
                composed.push(Composed {
                    code,
                    chars,
                    tokens: tokens.clone(),
                    confidence,
                    defaulted,
                });
            }
        }
        composed
    }

    /// The best valid code for a composed pattern, and the axes where a default decided it.
    fn resolve(&self, pattern: &Pattern) -> Option<(CodeId, [u8; 7], Vec<&'static str>)> {
        if pattern.axes[..4].iter().any(Vec::is_empty) {
            return None; // a procedure needs a root operation and a body part
        }
        let section = pattern.axes[0][0].ch;
        let mut best: Option<([usize; 7], [u8; 7], CodeId)> = None;
        // Every code of the tables searched, to tell a real choice from a forced one.
        let mut searched: Vec<[u8; 7]> = Vec::new();
        for (r0, v0) in pattern.axes[0].iter().enumerate() {
            for (r1, v1) in pattern.axes[1].iter().enumerate() {
                for (r2, v2) in pattern.axes[2].iter().enumerate() {
                    let Some(table) = self.tables.get(&[v0.ch, v1.ch, v2.ch]) else {
                        continue;
                    };
                    'codes: for (tail, id) in table {
                        let code = [v0.ch, v1.ch, v2.ch, tail[0], tail[1], tail[2], tail[3]];
                        searched.push(code);
                        let mut rank = [r0, r1, r2, 0, 0, 0, 0];
                        for (i, &ch) in tail.iter().enumerate() {
                            let axis = i + 3;
                            match axis_rank(&pattern.axes[axis], ch, section, axis) {
                                Some(r) => rank[axis] = r,
                                None => continue 'codes,
                            }
                        }
                        if best.as_ref().is_none_or(|(b, _, _)| rank < *b) {
                            best = Some((rank, code, *id));
                        }
                    }
                }
            }
        }
        let (_, code, id) = best?;
        // An axis was defaulted when the note did not state the chosen value and another code
        // of the tables differs from the chosen one only there.
        let mut defaulted = Vec::new();
        for axis in 0..7 {
            // "No device" / "no qualifier" is what a statement without one says (guidelines'
            // default), not a guess.
            if axis >= 5 && code[axis] == b'Z' {
                continue;
            }
            if pattern.states(axis)
                && pattern.axes[axis]
                    .iter()
                    .find(|v| v.ch == code[axis])
                    .is_some_and(|v| !v.assumed)
            {
                continue;
            }
            let alternative = searched
                .iter()
                .any(|c| c[axis] != code[axis] && (0..7).all(|i| i == axis || c[i] == code[i]));
            if alternative {
                defaulted.push(axis_name(section, axis));
            }
        }
        Some((id, code, defaulted))
    }
}

/// Rank of character `ch` on an axis: its position among the listed values; for axes the
/// note left open (nothing stated), the guidelines' default first (open approach, no device,
/// no qualifier), then anything valid. `None`: excluded by a stated value.
fn axis_rank(values: &[Value], ch: u8, section: u8, axis: usize) -> Option<usize> {
    if let Some(pos) = values.iter().position(|v| v.ch == ch) {
        return Some(pos);
    }
    if values.iter().any(|v| !v.assumed) {
        return None;
    }
    let default = match (section, axis) {
        (b'0', 4) => b'0', // surgery is open unless a scope or needle is stated
        _ => b'Z',         // no device / no qualifier
    };
    Some(values.len() + usize::from(ch != default))
}

/// Axis names as the PCS tables name them in the sections composed here.
fn axis_name(section: u8, axis: usize) -> &'static str {
    match (section, axis) {
        (_, 0) => "section",
        (_, 1) => "body_system",
        (b'5', 2) | (b'4', 2) => "root_operation",
        (_, 2) => "root_operation",
        (b'5', 3) | (b'4', 3) => "body_system",
        (_, 3) => "body_part",
        (b'5', 4) => "duration",
        (b'B', 4) => "contrast",
        (_, 4) => "approach",
        (b'3', 5) => "substance",
        (b'5', 5) | (b'4', 5) => "function",
        (_, 5) => "device",
        _ => "qualifier",
    }
}

/// Confidence factor for a defaulted axis: a guessed side or body part is a coin toss, a
/// defaulted approach changes the code's meaning, device and qualifier defaults are the
/// guidelines' own.
fn penalty(axis: &str) -> f32 {
    match axis {
        "body_part" | "body_system" => 0.5,
        "approach" | "duration" | "root_operation" => 0.7,
        "substance" => 0.75,
        _ => 0.85,
    }
}

/// Fills the empty or merely assumed axes of `pattern` from `source` (stated beats assumed,
/// earlier sources beat later ones).
fn merge(pattern: &mut Pattern, source: &Pattern) {
    for (current, incoming) in pattern.axes.iter_mut().zip(&source.axes) {
        let stated = |a: &[Value]| a.iter().any(|v| !v.assumed);
        if !incoming.is_empty() && (current.is_empty() || (!stated(current) && stated(incoming))) {
            current.clone_from(incoming);
        }
    }
}

/// Replaces the axes `source` names (modifiers and approach words decide over the procedure
/// word); an assumed modifier value only fills an axis that nothing stated.
fn override_axes(pattern: &mut Pattern, source: &Pattern) {
    for i in 0..7 {
        let incoming = &source.axes[i];
        if incoming.is_empty() {
            continue;
        }
        if incoming.iter().any(|v| !v.assumed) || !pattern.states(i) {
            pattern.axes[i] = incoming.clone();
        }
    }
}

/// A body-part word fits when it names the same section and body system as the procedure
/// word, or the procedure word names none.
fn compatible(pattern: &Pattern, body: &Pattern) -> bool {
    (0..2).all(|i| match (pattern.axes[i].first(), body.axes[i].first()) {
        (Some(a), Some(b)) => a.ch == b.ch,
        _ => true,
    })
}

/// The pattern with its body-part axis decided by laterality: one variant when the side is
/// stated or the body part needs none, both sides (each a default) when a paired body part's
/// side is not stated, both sides (stated) for "bilateral" without a bilateral value.
fn sided_variants(pattern: &Pattern, sides: Sides, side: Option<Side>) -> Vec<(Pattern, bool)> {
    if !sides.any() {
        return vec![(pattern.clone(), false)];
    }
    let with = |ch: u8, assumed: bool| {
        let mut p = pattern.clone();
        let mut axis = vec![Value { ch, assumed }];
        // The unsided value stays as a fallback where a table has no sided one.
        axis.extend(pattern.axes[3].iter().copied().filter(|v| v.ch != ch));
        p.axes[3] = axis;
        p
    };
    let both = |assumed: bool| -> Vec<(Pattern, bool)> {
        [sides.right, sides.left]
            .into_iter()
            .flatten()
            .map(|ch| (with(ch, assumed), assumed))
            .collect()
    };
    match side {
        Some(Side::Right) => sides
            .right
            .map_or_else(|| both(true), |ch| vec![(with(ch, false), false)]),
        Some(Side::Left) => sides
            .left
            .map_or_else(|| both(true), |ch| vec![(with(ch, false), false)]),
        Some(Side::Bilateral) => match sides.bilateral {
            Some(ch) => vec![(with(ch, false), false)],
            None => both(false),
        },
        Some(Side::Half) => both(true),
        None if pattern.states(3) => vec![(pattern.clone(), false)],
        None => both(true),
    }
}

/// Hours of mechanical ventilation stated in the sentence ("for 3 days", "72 hours") as the
/// 5A19 duration value: 3 (< 24 h), 4 (24-96 h), 5 (> 96 h).
fn ventilation_duration(note: &Note, sentence: std::ops::Range<usize>) -> Option<u8> {
    let tokens = note.tokens.get(sentence)?;
    tokens.windows(2).find_map(|pair| {
        let number: f32 = pair[0].norm.parse().ok()?;
        let hours = match pair[1].norm.as_str() {
            "hours" | "hour" | "hrs" | "hr" | "h" => number,
            "days" | "day" | "d" => number * 24.0,
            _ => return None,
        };
        Some(if hours < 24.0 {
            b'3'
        } else if hours <= 96.0 {
            b'4'
        } else {
            b'5'
        })
    })
}

/// Words (alphanumeric tokens) strictly between token indices `a` and `b`.
fn word_gap(note: &Note, a: usize, b: usize) -> usize {
    let (lo, hi) = (a.min(b), a.max(b));
    note.tokens.get(lo + 1..hi).map_or(0, |ts| {
        ts.iter()
            .filter(|t| t.norm.chars().next().is_some_and(char::is_alphanumeric))
            .count()
    })
}

/// A lexicon match in a sentence.
#[derive(Clone, Copy, Debug)]
struct Hit {
    first: usize,
    last: usize,
    entry: EntryId,
    /// The combining form inside a suffixed word ("append-" in "appendectomy").
    stem: Option<EntryId>,
    /// The word had the prefix "hemi-".
    half: bool,
}

impl Hit {
    fn entry(&self) -> &'static Entry {
        &LEXICON.entries[self.entry as usize]
    }
    fn role(&self) -> Role {
        self.entry().role
    }
}

/// Lexicon matches of the tokens `range`: the longest phrase at each token, else a word made
/// of a body-part combining form and a root-operation suffix. Linear in the tokens.
fn scan(note: &Note, range: std::ops::Range<usize>) -> Vec<Hit> {
    let lexicon = &*LEXICON;
    let tokens = note.tokens.get(range.clone()).unwrap_or_default();
    let mut hits = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let norm = tokens[i].norm.as_str();
        let phrase = lexicon.phrases.get(norm).and_then(|list| {
            list.iter().find(|p| {
                p.words.len() <= tokens.len() - i
                    && p.words.iter().zip(&tokens[i..]).all(|(w, t)| *w == t.norm)
            })
        });
        if let Some(phrase) = phrase {
            for &entry in &phrase.entries {
                hits.push(Hit {
                    first: range.start + i,
                    last: range.start + i + phrase.words.len() - 1,
                    entry,
                    stem: None,
                    half: false,
                });
            }
            i += phrase.words.len();
            continue;
        }
        if let Some((entry, stem, half)) = decompose(norm) {
            hits.push(Hit {
                first: range.start + i,
                last: range.start + i,
                entry,
                stem: Some(stem),
                half,
            });
        }
        i += 1;
    }
    hits
}

/// Splits a word into a root-operation suffix and a body-part combining form
/// ("cholecystectomy" -> "cholecyst-" + "-ectomy", "hemicolectomy" -> "hemi-" "col-"
/// "-ectomy"). Unknown stems yield nothing: "-itis" diagnoses never match.
fn decompose(word: &str) -> Option<(EntryId, EntryId, bool)> {
    let lexicon = &*LEXICON;
    if !word.is_ascii() {
        return None;
    }
    for (suffix, op) in &lexicon.suffixes {
        let Some(stem) = word.strip_suffix(suffix.as_str()) else {
            continue;
        };
        if stem.len() < 2 {
            continue;
        }
        let (stem, half) = match lexicon
            .prefixes
            .iter()
            .find_map(|(p, _)| stem.strip_prefix(p.as_str()).filter(|s| s.len() >= 2))
        {
            Some(rest) => (rest, true),
            None => (stem, false),
        };
        let found = lexicon.stems.get(stem).or_else(|| {
            stem.strip_suffix(['o', 'i'])
                .and_then(|s| lexicon.stems.get(s))
        });
        if let Some(&body) = found {
            return Some((*op, body, half));
        }
    }
    None
}

/// One procedure statement: a root-operation word with the words that belong to it.
#[derive(Clone, Debug, Default)]
struct Statement {
    anchor: usize,
    /// Body parts, approaches, sides and modifiers nearest to this anchor.
    attached: Vec<usize>,
    /// Merged anchors (an inspection with a definitive procedure, "colonoscopy with biopsy").
    donors: Vec<usize>,
    donor_attached: Vec<usize>,
}

impl Statement {
    fn span(&self, hits: &[Hit]) -> (usize, usize) {
        std::iter::once(self.anchor)
            .chain(self.attached.iter().copied())
            .chain(self.donors.iter().copied())
            .chain(self.donor_attached.iter().copied())
            .fold((usize::MAX, 0), |(lo, hi), h| {
                (lo.min(hits[h].first), hi.max(hits[h].last))
            })
    }
}

/// Words from one hit to the other, 1 when adjacent. Punctuation and hyphens do not count:
/// "ceramic-on-polyethylene bearing, cemented" is four words from "arthroplasty".
fn distance(note: &Note, a: &Hit, b: &Hit) -> usize {
    let (left, right) = if a.last < b.first { (a, b) } else { (b, a) };
    if left.last >= right.first {
        return 0; // overlapping
    }
    word_gap(note, left.last, right.first) + 1
}

/// Groups a sentence's hits into statements: each modifier, side, approach and body-part
/// word goes to the nearest procedure word (the following one on a tie: "laparoscopic
/// appendectomy"); inspections merge into a definitive procedure of the same sentence
/// (guideline B3.11a), and procedure words naming no body part ("placement") merge into one
/// that does.
fn statements(note: &Note, hits: &[Hit]) -> Vec<Statement> {
    let anchors: Vec<usize> = (0..hits.len())
        .filter(|&h| hits[h].role() == Role::Operation)
        .collect();
    let mut statements: Vec<Statement> = anchors
        .iter()
        .map(|&anchor| Statement {
            anchor,
            ..Statement::default()
        })
        .collect();
    for (h, hit) in hits.iter().enumerate() {
        if matches!(hit.role(), Role::Operation | Role::Guard(_)) {
            continue;
        }
        // A body part goes to the nearest procedure word of its section and body system
        // ("Closed reduction of right distal radius fracture; short arm cast applied": the
        // radius is the reduction's, not the cast's), else to the nearest one.
        let fits = |anchor: &Hit| {
            hit.role() != Role::BodyPart
                || (compatible(&anchor.entry().pattern, &hit.entry().pattern)
                    && anchor.stem.is_none_or(|stem| {
                        compatible(
                            &LEXICON.entries[stem as usize].pattern,
                            &hit.entry().pattern,
                        )
                    }))
        };
        let nearest_of = |only_fitting: bool| {
            statements
                .iter()
                .enumerate()
                .filter(|(_, st)| !only_fitting || fits(&hits[st.anchor]))
                .map(|(s, st)| {
                    let anchor = &hits[st.anchor];
                    let before = hit.last < anchor.first;
                    (distance(note, hit, anchor), !before, s)
                })
                .min()
                .filter(|(d, _, _)| *d <= ATTACH_WINDOW)
        };
        if let Some((d, _, s)) = nearest_of(true).or_else(|| nearest_of(false)) {
            if d <= ATTACH_WINDOW {
                statements[s].attached.push(h);
            }
        }
    }
    let is_inspection = |st: &Statement| {
        let p = &hits[st.anchor].entry().pattern;
        p.axes[2].first().is_some_and(|v| v.ch == b'J')
    };
    let names_body = |st: &Statement| {
        let anchor = &hits[st.anchor];
        anchor.stem.is_some()
            || anchor.entry().pattern.states(3)
            || anchor.entry().sides.any()
            || st
                .attached
                .iter()
                .any(|&h| hits[h].role() == Role::BodyPart)
            || !st.donors.is_empty()
    };
    merge_into(
        note,
        &mut statements,
        hits,
        |st| is_inspection(st),
        |st| !is_inspection(st),
    );
    merge_into(
        note,
        &mut statements,
        hits,
        |st| !names_body(st),
        |st| names_body(st),
    );
    statements
}

/// Merges each statement matching `from` into the nearest statement matching `into`.
fn merge_into(
    note: &Note,
    statements: &mut Vec<Statement>,
    hits: &[Hit],
    from: impl Fn(&Statement) -> bool,
    into: impl Fn(&Statement) -> bool,
) {
    let mut s = 0;
    while s < statements.len() {
        if !from(&statements[s]) {
            s += 1;
            continue;
        }
        let target = statements
            .iter()
            .enumerate()
            .filter(|(t, st)| *t != s && into(st))
            .min_by_key(|(_, st)| distance(note, &hits[st.anchor], &hits[statements[s].anchor]))
            .map(|(t, _)| t);
        let Some(target) = target else {
            s += 1;
            continue;
        };
        let donor = statements.remove(s);
        let target = if target > s { target - 1 } else { target };
        let st = &mut statements[target];
        st.donors.push(donor.anchor);
        st.donors.extend(donor.donors);
        st.donor_attached.extend(donor.attached);
        st.donor_attached.extend(donor.donor_attached);
    }
}

/// Side and approach words another statement of the sentence states, for statement `s`
/// that states none: a sentence names the side or approach once for all it says of one
/// body system ("Right eye cataract extraction by phacoemulsification with IOL implant";
/// "Total laparoscopic hysterectomy, cervix removed"). Borrowed only where the sentence's
/// other statements on that body system agree on one value.
fn borrowed_words(
    hits: &[Hit],
    statements: &[Statement],
    composed: &[Vec<Composed>],
    s: usize,
) -> Vec<usize> {
    let systems =
        |c: &[Composed]| -> Vec<[u8; 2]> { c.iter().map(|c| [c.chars[0], c.chars[1]]).collect() };
    let own = systems(&composed[s]);
    if own.is_empty() {
        return Vec::new();
    }
    let words = |st: &Statement| -> Vec<usize> {
        st.attached
            .iter()
            .chain(&st.donor_attached)
            .copied()
            .collect()
    };
    let is_side = |h: usize| {
        matches!(
            hits[h].role(),
            Role::Side(Side::Right | Side::Left | Side::Bilateral)
        )
    };
    let is_approach = |h: usize| hits[h].role() == Role::Approach;
    let mut borrowed = Vec::new();
    for kind in [&is_side as &dyn Fn(usize) -> bool, &is_approach] {
        if words(&statements[s]).into_iter().any(kind) {
            continue;
        }
        let offered: Vec<usize> = (0..statements.len())
            .filter(|&t| t != s && systems(&composed[t]).iter().any(|x| own.contains(x)))
            .flat_map(|t| words(&statements[t]))
            .filter(|&h| kind(h))
            .collect();
        let mut values: Vec<EntryId> = offered.iter().map(|&h| hits[h].entry).collect();
        values.sort_unstable();
        values.dedup();
        let agreed = values.len() == 1
            || values.windows(2).all(|w| {
                LEXICON.entries[w[0] as usize].pattern == LEXICON.entries[w[1] as usize].pattern
                    && LEXICON.entries[w[0] as usize].role == LEXICON.entries[w[1] as usize].role
            });
        if agreed {
            borrowed.extend(offered.first().copied());
        }
    }
    borrowed
}

/// The sentence's codes without those integral to another of them on the same body part
/// (`integral_operations.tsv`: B3.1b, B3.15).
fn without_integral(codes: Vec<Composed>) -> Vec<Composed> {
    let redundant = |c: &Composed| {
        codes.iter().any(|k| {
            lexicon::INTEGRAL_RULES.iter().any(|rule| {
                rule.kept.fits(&k.chars)
                    && rule.integral.fits(&c.chars)
                    && (!rule.same_body_part
                        || (k.chars[0] == c.chars[0]
                            && k.chars[1] == c.chars[1]
                            && k.chars[3] == c.chars[3]))
            })
        })
    };
    let keep: Vec<bool> = codes.iter().map(|c| !redundant(c)).collect();
    codes
        .into_iter()
        .zip(keep)
        .filter_map(|(c, k)| k.then_some(c))
        .collect()
}

#[derive(Clone)]
struct Composed {
    code: CodeId,
    /// The code's seven characters.
    chars: [u8; 7],
    tokens: Vec<usize>,
    confidence: f32,
    defaulted: Vec<&'static str>,
}

impl Composed {
    fn into_mention(self, sentence: usize) -> ProcedureMention {
        ProcedureMention {
            code: self.code,
            tokens: self.tokens,
            sentence,
            confidence: self.confidence,
            defaulted: self.defaulted,
        }
    }
}

#[cfg(test)]
mod tests;
