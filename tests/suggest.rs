//! `Engine::suggest` end to end on a realistic discharge summary
//! (`tests/fixtures/notes/discharge-summary.txt`, and its CRLF twin): the codes a coder
//! expects, assertions (negated, family, history, uncertain), coding-rule notes, input limits,
//! and the evidence-span invariant under random input.
//!
//! Needs the fetched assets and the built index (`scripts/setup`); without them every test
//! here prints why and returns, or fails under `CHARTCODER_REQUIRE_SETUP=1` (see `common`).
//!
//! Tests marked `#[ignore = "engine bug: ..."]` state correct behaviour the engine does not
//! have yet; run them with `cargo test --release --test suggest -- --ignored`.

mod common;

use std::path::{Path, PathBuf};

use chartcoder::codeset::System;
use chartcoder::coding::{Coding, Setting, SuggestOptions, Suggestion, MAX_NOTE_CHARS};
use chartcoder::engine::Engine;
use chartcoder::text::{Assertion, Section};
use chartcoder::Error;
use proptest::prelude::*;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The engine over `.assets` and `index/default`, opened once per test binary; `None` when
/// setup has not been run (see `common`).
fn engine() -> Option<&'static Engine> {
    common::engine()
}

/// `let e = engine_or_skip!();` — returns from the test when setup has not been run.
macro_rules! engine_or_skip {
    () => {
        match engine() {
            Some(e) => e,
            None => return,
        }
    };
}

fn fixture_path(name: &str) -> PathBuf {
    root().join("tests/fixtures/notes").join(name)
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixture_path(name))
        .unwrap_or_else(|e| panic!("{}: {e}", fixture_path(name).display()))
}

fn note() -> String {
    fixture("discharge-summary.txt")
}

fn suggest(e: &Engine, text: &str, options: &SuggestOptions) -> Coding {
    e.suggest(Some("test".into()), text, options)
        .unwrap_or_else(|err| panic!("suggest failed: {err}"))
}

fn default_coding(e: &Engine, text: &str) -> Coding {
    suggest(e, text, &SuggestOptions::default())
}

/// Every suggestion, top_k large enough to see what the default cut hides.
fn all_coding(e: &Engine, text: &str, setting: Setting) -> Coding {
    suggest(
        e,
        text,
        &SuggestOptions {
            setting,
            top_k: 10_000,
            ..SuggestOptions::default()
        },
    )
}

fn find<'a>(coding: &'a Coding, code: &str) -> Option<&'a Suggestion> {
    coding.suggestions.iter().find(|s| s.code == code)
}

fn with_prefix<'a>(coding: &'a Coding, prefix: &str) -> Vec<&'a Suggestion> {
    coding
        .suggestions
        .iter()
        .filter(|s| s.code.starts_with(prefix))
        .collect()
}

fn codes(coding: &Coding) -> Vec<&str> {
    coding.suggestions.iter().map(|s| s.code.as_str()).collect()
}

/// Char range `[start, end)` of the first occurrence of `needle` in `text`.
fn char_range(text: &str, needle: &str) -> (usize, usize) {
    let byte = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the note"));
    let start = text[..byte].chars().count();
    (start, start + needle.chars().count())
}

/// The evidence text of chars `[start, end)`, computed independently of the engine.
fn chars_of(text: &str, start: usize, end: usize) -> String {
    text.chars()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect()
}

/// Schema invariants of any answer: scores in [0, 1] and sorted, code-set years, and every
/// evidence span a non-empty char range of the note whose text it quotes exactly.
fn check_invariants(text: &str, coding: &Coding) -> Result<(), String> {
    let len = text.chars().count();
    let years: Vec<(&str, &str)> = coding
        .code_set
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if years != [("icd10cm", "2026"), ("icd10pcs", "2026")] {
        return Err(format!("code_set {years:?}"));
    }
    for pair in coding.suggestions.windows(2) {
        if pair[0].score < pair[1].score {
            return Err(format!(
                "not sorted by score: {} {} before {} {}",
                pair[0].code, pair[0].score, pair[1].code, pair[1].score
            ));
        }
    }
    for s in &coding.suggestions {
        if !(0.0..=1.0).contains(&s.score) {
            return Err(format!("{} score {} outside [0, 1]", s.code, s.score));
        }
        if s.evidence.is_empty() {
            return Err(format!("{} has no evidence", s.code));
        }
        for ev in &s.evidence {
            if !(ev.start < ev.end && ev.end <= len) {
                return Err(format!(
                    "{}: span [{}, {}) invalid for a note of {len} chars",
                    s.code, ev.start, ev.end
                ));
            }
            let quoted = chars_of(text, ev.start, ev.end);
            if quoted != ev.text {
                return Err(format!(
                    "{}: span [{}, {}) is {quoted:?} in the note but evidence.text is {:?}",
                    s.code, ev.start, ev.end, ev.text
                ));
            }
        }
    }
    Ok(())
}

fn assert_invariants(text: &str, coding: &Coding) {
    if let Err(e) = check_invariants(text, coding) {
        panic!("{e}");
    }
}

fn is_pneumonia(code: &str) -> bool {
    // J12-J18: pneumonia (viral, bacterial, other organisms, elsewhere classified, unspecified).
    ["J12", "J13", "J14", "J15", "J16", "J17", "J18"]
        .iter()
        .any(|p| code.starts_with(p))
}

// ---------------------------------------------------------------------------------------------
// The fixture files themselves (no engine needed).

#[test]
fn fixture_files_are_lf_and_crlf_twins() {
    let lf = note();
    let crlf = fixture("discharge-summary-crlf.txt");
    assert!(!lf.contains('\r'), "the LF fixture must not contain \\r");
    assert_eq!(
        crlf.matches("\r\n").count(),
        lf.matches('\n').count(),
        "every line of the CRLF fixture ends in \\r\\n"
    );
    assert_eq!(crlf.replace("\r\n", "\n"), lf);
    assert!(lf.contains("Ménière") && lf.contains('😷') && lf.contains("Zürich"));
    let words = lf.split_whitespace().count();
    assert!((350..=500).contains(&words), "{words} words");
}

// ---------------------------------------------------------------------------------------------
// The discharge summary.

#[test]
fn discharge_summary_satisfies_the_output_schema() {
    let e = engine_or_skip!();
    let text = note();
    let coding = default_coding(e, &text);
    assert_eq!(coding.id.as_deref(), Some("test"));
    assert!(
        coding.suggestions.len() >= 5,
        "{} suggestions",
        coding.suggestions.len()
    );
    assert!(coding.suggestions.len() <= SuggestOptions::default().top_k);
    assert_invariants(&text, &coding);
    // Same invariants when nothing is cut, in both settings.
    for setting in [Setting::Inpatient, Setting::Outpatient] {
        assert_invariants(&text, &all_coding(e, &text, setting));
    }
    // The JSON schema round-trips.
    let json = serde_json::to_string(&coding).expect("serialize");
    let back: Coding = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, coding);
    let value: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(value["code_set"]["icd10cm"], "2026");
    let first = &value["suggestions"][0];
    for field in [
        "code",
        "system",
        "title",
        "score",
        "assertion",
        "evidence",
        "rules",
    ] {
        assert!(
            first.get(field).is_some(),
            "suggestion lacks {field}: {first}"
        );
    }
}

#[test]
fn diabetes_with_neuropathy_is_coded_with_its_evidence() {
    let e = engine_or_skip!();
    let text = note();
    let coding = default_coding(e, &text);
    let e11_4: Vec<&Suggestion> = with_prefix(&coding, "E11.4");
    assert!(!e11_4.is_empty(), "no E11.4x in {:?}", codes(&coding));
    let best = find(&coding, "E11.40").unwrap_or(e11_4[0]);
    assert_eq!(best.system, System::Icd10cm);
    assert_eq!(best.assertion, Assertion::Present);
    assert!(
        best.evidence.iter().any(|ev| {
            let t = ev.text.to_lowercase();
            t.contains("diabetes") && t.contains("neuropathy")
        }),
        "{} evidence {:?}",
        best.code,
        best.evidence
    );
    // Both statements of the diagnosis (HPI and assessment) are cited.
    let hpi = char_range(
        &text,
        "diabetes mellitus with diabetic neuropathy, congestive",
    );
    let plan = char_range(
        &text,
        "diabetes mellitus with diabetic neuropathy: continue",
    );
    for (start, end) in [hpi, plan] {
        assert!(
            best.evidence
                .iter()
                .any(|ev| ev.start < end && start < ev.end),
            "{} evidence misses chars {start}..{end}: {:?}",
            best.code,
            best.evidence
        );
    }
}

#[test]
fn heart_failure_and_copd_are_coded() {
    let e = engine_or_skip!();
    let coding = default_coding(e, &note());
    let hf = with_prefix(&coding, "I50.");
    assert!(
        hf.iter().any(|s| s.assertion == Assertion::Present),
        "no present I50.x in {:?}",
        codes(&coding)
    );
    let copd = find(&coding, "J44.9").unwrap_or_else(|| panic!("no J44.9 in {:?}", codes(&coding)));
    assert_eq!(copd.assertion, Assertion::Present);
    assert!(
        copd.evidence.iter().any(|ev| ev.text.contains("COPD")),
        "J44.9 evidence {:?}",
        copd.evidence
    );
}

#[test]
fn negated_and_hypothetical_findings_are_not_coded() {
    let e = engine_or_skip!();
    // Controls: affirmed, the same findings are coded (the fever apart from the pneumonia,
    // where it is integral to it: I.C.18.b).
    let affirmed = default_coding(e, "Chest x-ray showed pneumonia. He has chest pain. Fever.");
    assert!(
        affirmed.suggestions.iter().any(|s| is_pneumonia(&s.code)),
        "control: no pneumonia code in {:?}",
        codes(&affirmed)
    );
    assert!(
        !with_prefix(&affirmed, "R07.").is_empty(),
        "control: {:?}",
        codes(&affirmed)
    );
    let febrile = default_coding(e, "He has chest pain and fever.");
    assert!(
        !with_prefix(&febrile, "R50.").is_empty(),
        "control: {:?}",
        codes(&febrile)
    );

    let text = note();
    for setting in [Setting::Inpatient, Setting::Outpatient] {
        let coding = all_coding(e, &text, setting);
        // "No evidence of pneumonia."
        let pneumonia: Vec<&str> = codes(&coding)
            .into_iter()
            .filter(|c| is_pneumonia(c))
            .collect();
        assert!(
            pneumonia.is_empty(),
            "negated pneumonia coded: {pneumonia:?}"
        );
        // "He denies chest pain." / "Return if chest pain or fever develops."
        assert!(
            with_prefix(&coding, "R07.").is_empty(),
            "{:?}",
            codes(&coding)
        );
        assert!(
            with_prefix(&coding, "R50.").is_empty(),
            "{:?}",
            codes(&coding)
        );
        assert!(
            coding.suggestions.iter().all(
                |s| s.assertion != Assertion::Negated && s.assertion != Assertion::Hypothetical
            ),
            "negated/hypothetical suggestions are dropped"
        );
    }
}

#[test]
fn family_history_is_not_the_patients_diagnosis() {
    let e = engine_or_skip!();
    let text = note();
    let coding = all_coding(e, &text, Setting::Inpatient);
    // Mother had breast cancer: no neoplasm code for the patient.
    let cancers: Vec<&str> = codes(&coding)
        .into_iter()
        .filter(|c| c.starts_with('C'))
        .collect();
    assert!(cancers.is_empty(), "patient coded with {cancers:?}");
    if let Some(z) = find(&coding, "Z80.3") {
        let (start, end) = char_range(&text, "Mother had breast cancer.");
        assert!(
            z.evidence.iter().all(|ev| start <= ev.start
                && ev.end <= end
                && ev.section == Section::FamilyHistory),
            "Z80.3 evidence {:?} outside the mother sentence {start}..{end}",
            z.evidence
        );
        assert!(
            z.rules.iter().any(|r| r.kind == "family_history_of"),
            "{:?}",
            z.rules
        );
    }
}

#[test]
fn history_mentions_are_not_current_conditions_or_procedures() {
    let e = engine_or_skip!();
    let coding = all_coding(e, &note(), Setting::Inpatient);
    // "History of myocardial infarction in 2019": not an acute MI of this stay.
    for s in with_prefix(&coding, "I21.") {
        assert_ne!(
            s.assertion,
            Assertion::Present,
            "{} coded as present",
            s.code
        );
    }
    // "History of appendectomy at age 20": no appendectomy (0DTJ) this stay.
    assert!(
        with_prefix(&coding, "0DTJ").is_empty(),
        "{:?}",
        codes(&coding)
    );
}

#[test]
fn history_of_myocardial_infarction_is_old_mi() {
    let e = engine_or_skip!();
    let coding = all_coding(e, &note(), Setting::Inpatient);
    assert!(find(&coding, "I25.2").is_some(), "{:?}", codes(&coding));
    assert!(
        with_prefix(&coding, "I21.").is_empty(),
        "{:?}",
        codes(&coding)
    );
}

#[test]
fn uncertain_uti_depends_on_the_setting() {
    let e = engine_or_skip!();
    let text = note();
    let inpatient = default_coding(e, &text);
    let uti = find(&inpatient, "N39.0")
        .unwrap_or_else(|| panic!("inpatient: no N39.0 in {:?}", codes(&inpatient)));
    assert_eq!(uti.assertion, Assertion::Uncertain);
    assert!(!uti.rules.iter().any(|r| r.kind == "uncertain_outpatient"));
    let (start, end) = char_range(&text, "Possible urinary tract infection");
    assert!(
        uti.evidence
            .iter()
            .any(|ev| ev.start < end && start < ev.end),
        "{:?}",
        uti.evidence
    );

    let outpatient_options = SuggestOptions {
        setting: Setting::Outpatient,
        ..SuggestOptions::default()
    };
    let cut = suggest(e, &text, &outpatient_options);
    let all = all_coding(e, &text, Setting::Outpatient);
    for coding in [&cut, &all] {
        if let Some(out) = find(coding, "N39.0") {
            assert_eq!(out.assertion, Assertion::Uncertain);
            assert!(
                out.score < uti.score,
                "outpatient {} !< inpatient {}",
                out.score,
                uti.score
            );
            assert!(
                out.rules.iter().any(|r| r.kind == "uncertain_outpatient"),
                "{:?}",
                out.rules
            );
        }
    }
    // Established diagnoses (without Excludes1 interplay) do not depend on the setting. A
    // symptom integral to the uncertain UTI does: outpatient, the UTI is not coded, so the
    // symptom is.
    let all_inpatient = all_coding(e, &text, Setting::Inpatient);
    let established: Vec<&Suggestion> = all_inpatient
        .suggestions
        .iter()
        .filter(|s| s.assertion == Assertion::Present)
        .filter(|s| {
            !s.rules
                .iter()
                .any(|r| r.kind == "excludes1" || r.kind == "integral_symptom")
        })
        .collect();
    assert!(established.iter().any(|s| s.code == "J44.9"));
    for s in established {
        let out = find(&all, &s.code).map(|o| o.score);
        assert_eq!(out, Some(s.score), "{}", s.code);
    }
}

#[test]
fn procedure_sentence_yields_a_procedure_code() {
    let e = engine_or_skip!();
    let text = note();
    let coding = all_coding(e, &text, Setting::Inpatient);
    let (start, end) = char_range(
        &text,
        "A right internal jugular central venous catheter was inserted under ultrasound guidance",
    );
    let pcs: Vec<&Suggestion> = coding
        .suggestions
        .iter()
        .filter(|s| s.system == System::Icd10pcs)
        .collect();
    assert!(
        pcs.iter().any(|s| s
            .evidence
            .iter()
            .any(|ev| start <= ev.start && ev.end <= end)),
        "no ICD-10-PCS code cites the catheter sentence: {:?}",
        pcs.iter().map(|s| &s.code).collect::<Vec<_>>()
    );
    for s in pcs {
        assert_eq!(s.code.len(), 7, "{}", s.code);
        assert!(!s.code.contains('.'), "{}", s.code);
    }
}

#[test]
fn crlf_copy_yields_the_same_codes() {
    let e = engine_or_skip!();
    let lf = note();
    let crlf = fixture("discharge-summary-crlf.txt");
    for setting in [Setting::Inpatient, Setting::Outpatient] {
        let a = all_coding(e, &lf, setting);
        let b = all_coding(e, &crlf, setting);
        assert_invariants(&crlf, &b);
        let key = |c: &Coding| -> Vec<(String, u32)> {
            c.suggestions
                .iter()
                .map(|s| (s.code.clone(), (s.score * 1000.0).round() as u32))
                .collect()
        };
        assert_eq!(key(&a), key(&b), "{setting:?}");
        // Evidence quotes the same words; spans within a line carry no \r.
        for (x, y) in a.suggestions.iter().zip(&b.suggestions) {
            let quote = |s: &Suggestion| -> Vec<String> {
                s.evidence
                    .iter()
                    .map(|ev| ev.text.replace("\r\n", "\n"))
                    .collect()
            };
            assert_eq!(quote(x), quote(y), "{}", x.code);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Input limits.

#[test]
fn empty_and_blank_notes_are_invalid_input() {
    let e = engine_or_skip!();
    for text in ["", " ", "\r\n", " \t\r\n \n", "\u{3000}\u{a0}"] {
        match e.suggest(None, text, &SuggestOptions::default()) {
            Err(Error::InvalidInput(_)) => {}
            other => panic!("{text:?}: expected InvalidInput, got {other:?}"),
        }
    }
}

#[test]
fn note_length_is_limited_in_chars() {
    let e = engine_or_skip!();
    let too_long = "a".repeat(MAX_NOTE_CHARS + 1);
    match e.suggest(None, &too_long, &SuggestOptions::default()) {
        Err(err @ Error::InvalidInput(_)) => assert_eq!(err.code(), "invalid_input"),
        other => panic!(
            "expected InvalidInput, got {:?}",
            other.map(|c| c.suggestions.len())
        ),
    }
    // The limit counts chars, not bytes: MAX_NOTE_CHARS two-byte chars are accepted.
    let at_limit = "é ".repeat(MAX_NOTE_CHARS / 2);
    assert_eq!(at_limit.chars().count(), MAX_NOTE_CHARS);
    let coding = e
        .suggest(None, &at_limit, &SuggestOptions::default())
        .expect("a note of exactly MAX_NOTE_CHARS chars is accepted");
    assert_invariants(&at_limit, &coding);
}

#[test]
fn a_200_kb_note_is_coded() {
    let e = engine_or_skip!();
    let one = note();
    let big = one.repeat(200 * 1024 / one.len() + 1);
    assert!(big.len() >= 200 * 1024);
    let started = std::time::Instant::now();
    let coding = default_coding(e, &big);
    let elapsed = started.elapsed();
    assert_invariants(&big, &coding);
    assert!(
        !with_prefix(&coding, "E11.4").is_empty(),
        "{:?}",
        codes(&coding)
    );
    assert!(find(&coding, "J44.9").is_some(), "{:?}", codes(&coding));
    // Generous bound (debug builds, loaded CI machines): it takes ~0.3 s in release.
    assert!(elapsed.as_secs() < 60, "{elapsed:?}");
}

// ---------------------------------------------------------------------------------------------
// Coding rules.

/// The tabular's own notes for `code` (cross-checks the rule notes against the source).
fn tabular_refs(e: &Engine, code: &str, kind: &str) -> Vec<chartcoder::codeset::CodeRef> {
    let id = e
        .codes
        .find(code)
        .unwrap_or_else(|| panic!("{code} not in the code set"));
    let notes = e.codes.get(id).notes().expect("tabular notes");
    let list = match kind {
        "excludes1" => &notes.excludes1,
        "use_additional" => &notes.use_additional,
        "code_first" => &notes.code_first,
        other => panic!("{other}"),
    };
    list.iter().flat_map(|n| n.refs.iter().cloned()).collect()
}

#[test]
fn type_1_and_type_2_diabetes_are_excludes1() {
    let e = engine_or_skip!();
    // The tabular: E11 Excludes1 "type 1 diabetes mellitus (E10.-)" and vice versa.
    assert!(tabular_refs(e, "E11", "excludes1")
        .iter()
        .any(|r| r.covers("E109")));
    assert!(tabular_refs(e, "E10", "excludes1")
        .iter()
        .any(|r| r.covers("E119")));
    let text = "ASSESSMENT:\nType 1 diabetes mellitus without complications, on an insulin pump.\n\
                Type 2 diabetes mellitus without complications per outside records.\n";
    let coding = default_coding(e, text);
    assert_invariants(text, &coding);
    let t1 = find(&coding, "E10.9").unwrap_or_else(|| panic!("{:?}", codes(&coding)));
    let t2 = find(&coding, "E11.9").unwrap_or_else(|| panic!("{:?}", codes(&coding)));
    let flags = |s: &Suggestion, other: &str| {
        s.rules
            .iter()
            .any(|r| r.kind == "excludes1" && r.codes.iter().any(|c| c == other))
    };
    assert!(flags(t1, "E11.9"), "E10.9 rules {:?}", t1.rules);
    assert!(flags(t2, "E10.9"), "E11.9 rules {:?}", t2.rules);
}

#[test]
fn use_additional_and_code_first_notes_come_from_the_tabular() {
    let e = engine_or_skip!();
    // E11 "Use additional code to identify control using: ... insulin (Z79.4)";
    // N18 "Code first any associated: diabetic chronic kidney disease (E08.22, ..., E11.22, ...)".
    assert!(tabular_refs(e, "E11", "use_additional")
        .iter()
        .any(|r| r.covers("Z794")));
    assert!(tabular_refs(e, "N18", "code_first")
        .iter()
        .any(|r| r.covers("E1122")));
    let text =
        "DIAGNOSES:\n1. Diabetic chronic kidney disease stage 3 due to type 2 diabetes mellitus.\n";
    let coding = default_coding(e, text);
    assert_invariants(text, &coding);
    let dm = find(&coding, "E11.22").unwrap_or_else(|| panic!("{:?}", codes(&coding)));
    assert!(
        dm.rules
            .iter()
            .any(|r| r.kind == "use_additional" && r.codes.iter().any(|c| c == "Z79.4")),
        "E11.22 rules {:?}",
        dm.rules
    );
    let ckd = with_prefix(&coding, "N18.3");
    assert!(!ckd.is_empty(), "no N18.3x in {:?}", codes(&coding));
    assert!(
        ckd[0]
            .rules
            .iter()
            .any(|r| r.kind == "code_first" && r.codes.iter().any(|c| c == "E11.22")),
        "{} rules {:?}",
        ckd[0].code,
        ckd[0].rules
    );
}

#[test]
fn fracture_gets_its_seventh_character() {
    let e = engine_or_skip!();
    for (text, wanted) in [
        (
            "DIAGNOSIS:\nClosed fracture of the right femoral neck, initial encounter.\n",
            'A',
        ),
        (
            "DIAGNOSIS:\nFracture of the right femoral neck, subsequent encounter for routine healing.\n",
            'D',
        ),
    ] {
        let coding = default_coding(e, text);
        assert_invariants(text, &coding);
        let fractures = with_prefix(&coding, "S72.0");
        assert!(!fractures.is_empty(), "{text:?}: {:?}", codes(&coding));
        let top = fractures[0];
        assert_eq!(top.code.replace('.', "").len(), 7, "{}", top.code);
        assert!(top.code.ends_with(wanted), "{text:?}: {}", top.code);
        // Right femur: 6th character 1.
        assert_eq!(top.code.chars().nth(6), Some('1'), "{}", top.code);
        let rule = top
            .rules
            .iter()
            .find(|r| r.kind == "seventh_character")
            .unwrap_or_else(|| panic!("{} rules {:?}", top.code, top.rules));
        assert!(rule.codes.contains(&top.code), "{rule:?}");
        assert!(
            top.evidence
                .iter()
                .any(|ev| ev.text.to_lowercase().contains("fracture")),
            "{:?}",
            top.evidence
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Known engine bugs: correct behaviour, ignored until fixed.

#[test]
fn eponyms_without_possessive_are_coded() {
    let e = engine_or_skip!();
    let mut missing = Vec::new();
    for (text, prefix) in [
        ("He has Ménière disease.", "H81.0"),
        ("He has Meniere disease.", "H81.0"),
        ("He has Crohn disease.", "K50."),
        // The fixture's own sentence.
        (
            "He saw a specialist for Ménière disease 😷 and was told to cut down on salt.",
            "H81.0",
        ),
    ] {
        let coding = default_coding(e, text);
        if with_prefix(&coding, prefix).is_empty() {
            missing.push(format!("{text:?} -> no {prefix} in {:?}", codes(&coding)));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

#[test]
fn common_diagnoses_get_their_default_code() {
    let e = engine_or_skip!();
    let mut wrong = Vec::new();
    for (text, prefix) in [
        ("ASSESSMENT:\nHypertension.\n", "I10"),
        ("ASSESSMENT:\nPneumonia.\n", "J18.9"),
        ("ASSESSMENT:\nThe patient has breast cancer.\n", "C50.9"),
    ] {
        let coding = default_coding(e, text);
        let top = coding.suggestions.first().map(|s| s.code.as_str());
        if !top.is_some_and(|c| c.starts_with(prefix)) {
            wrong.push(format!(
                "{text:?}: expected {prefix} first, got {:?}",
                codes(&coding)
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn diabetes_complications_need_their_own_words() {
    let e = engine_or_skip!();
    let coding = default_coding(e, &note());
    // The note names neuropathy only; none of these complications is mentioned.
    let unsupported = [
        "E11.0", "E11.1", "E11.21", "E11.22", "E11.3", "E11.5", "E11.61", "E11.62", "E11.63",
        "E11.64", "E11.65",
    ];
    let wrong: Vec<&str> = codes(&coding)
        .into_iter()
        .filter(|c| unsupported.iter().any(|p| c.starts_with(p)))
        .collect();
    assert!(wrong.is_empty(), "unsupported E11 codes: {wrong:?}");
    let first_e11 = with_prefix(&coding, "E11.");
    assert_eq!(first_e11.first().map(|s| s.code.as_str()), Some("E11.40"));
}

#[test]
fn abbreviation_does_not_complete_a_neighbouring_term() {
    let e = engine_or_skip!();
    let text = "He has congestive heart failure and COPD.";
    let coding = default_coding(e, text);
    assert!(find(&coding, "I50.9").is_some(), "{:?}", codes(&coding));
    for s in with_prefix(&coding, "I50.") {
        assert!(
            s.evidence.iter().all(|ev| !ev.text.contains("COPD")),
            "{} evidence {:?}",
            s.code,
            s.evidence
        );
    }
}

#[test]
#[ignore = "engine bug: headings and lab/vital names become diagnoses: 'HISTORY OF PRESENT ILLNESS' -> R69, 'BNP' -> G93.x (brain), 'Blood pressure' -> Z67.x/Z01.83"]
fn headings_and_measurements_are_not_diagnoses() {
    let e = engine_or_skip!();
    let coding = all_coding(e, &note(), Setting::Inpatient);
    let wrong: Vec<&str> = codes(&coding)
        .into_iter()
        .filter(|c| {
            ["R69", "G93.", "G94", "Z67.", "Z01.83"]
                .iter()
                .any(|p| c.starts_with(p))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:?}");
}

// ---------------------------------------------------------------------------------------------
// Properties: no input panics, and every evidence span quotes the note exactly.

/// Pieces that stress offsets: multi-byte and astral chars, combining marks, chars whose case
/// mapping changes length (İ, ß, ﬁ), BOM, zero-width joiners, CRLF and lone CR, clinical words
/// and assertion triggers that make the engine produce evidence.
const PIECES: &[&str] = &[
    "diabetes",
    "type 2 diabetes mellitus",
    "with diabetic neuropathy",
    "COPD",
    "CHF",
    "congestive heart failure",
    "no",
    "denies",
    "history of",
    "mother had",
    "possible",
    "pneumonia",
    "breast cancer",
    "fracture of the right femoral neck",
    "initial encounter",
    "urinary tract infection",
    "hypertension",
    "Ménière",
    "Me\u{301}nie\u{300}re",
    "😷",
    "👩‍⚕️",
    "İ",
    "ß",
    "ﬁ",
    "\u{feff}",
    "\u{200d}",
    "\u{0}",
    "Zürich",
    "ΑΒΓ",
    "日本語",
    " ",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "\n\n",
    ".",
    ",",
    ":",
    ";",
    "-",
    "/",
    "(",
    ")",
    "?",
    "ASSESSMENT AND PLAN:",
    "FAMILY HISTORY:",
    "PAST MEDICAL HISTORY:",
    "1.",
    "2)",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..120).prop_map(|v| v.concat())
}

fn random_note() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,300}",
        soup(),
        (soup(), prop::sample::select(PIECES), 1usize..3000, soup())
            .prop_map(|(a, run, n, b)| format!("{a}{}{b}", run.repeat(n))),
    ]
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        // Keep the crate tree clean; a failure prints its minimal input.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_text_never_panics_and_spans_quote_the_note(text in random_note()) {
        let Some(e) = engine() else { return Ok(()) };
        let options = SuggestOptions { top_k: 10_000, ..SuggestOptions::default() };
        match e.suggest(None, &text, &options) {
            Ok(coding) => {
                if let Err(msg) = check_invariants(&text, &coding) {
                    return Err(TestCaseError::fail(msg));
                }
            }
            Err(Error::InvalidInput(_)) => prop_assert!(
                text.trim().is_empty() || text.chars().count() > MAX_NOTE_CHARS,
                "InvalidInput for a non-blank note of {} chars",
                text.chars().count()
            ),
            Err(other) => return Err(TestCaseError::fail(format!("unexpected error {other}"))),
        }
    }

    #[test]
    fn noise_before_the_fixture_keeps_spans_exact(
        noise in prop_oneof![any::<String>(), soup(), "\\PC{0,80}"],
        crlf in any::<bool>(),
    ) {
        let Some(e) = engine() else { return Ok(()) };
        let base = if crlf { fixture("discharge-summary-crlf.txt") } else { note() };
        let text = format!("{noise}{base}");
        let options = SuggestOptions { top_k: 10_000, ..SuggestOptions::default() };
        let coding = e.suggest(None, &text, &options).map_err(|err| TestCaseError::fail(err.to_string()))?;
        if let Err(msg) = check_invariants(&text, &coding) {
            return Err(TestCaseError::fail(msg));
        }
        prop_assert!(!coding.suggestions.is_empty());
    }
}
