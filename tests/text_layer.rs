//! Public-API tests of `chartcoder::text`: a realistic note end to end, degenerate inputs,
//! and a throughput check. Property tests of the offset invariants live in `src/text/tests.rs`.

use chartcoder::text::{Assertion, Note, Section};
use unicode_normalization::UnicodeNormalization;

/// The evidence text of chars `[start, end)`, computed independently of `Note::slice`.
fn chars_of(text: &str, start: usize, end: usize) -> String {
    text.chars()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect()
}

/// ASCII projection of the lower-cased canonical decomposition: what must survive in a norm.
fn ascii_fold(s: &str) -> String {
    s.nfd()
        .flat_map(char::to_lowercase)
        .filter(char::is_ascii)
        .collect()
}

#[test]
fn degenerate_inputs_never_panic() {
    for text in [
        "",
        " ",
        "\r\n",
        "\u{301}",
        "\u{0}",
        "😀",
        ":",
        "?",
        "....",
        "é\u{301}\u{308}",
    ] {
        let note = Note::analyze(text);
        let char_count = text.chars().count();
        assert!(note
            .tokens
            .iter()
            .all(|t| t.start < t.end && t.end <= char_count));
        let _ = note.assertion(0, usize::MAX);
        let _ = note.section_of_token(usize::MAX);
        let _ = note.sentence_of_token(usize::MAX);
        assert_eq!(note.slice(0, usize::MAX), text);
    }
}

/// Token index range of the first occurrence of `phrase`.
fn find(note: &Note, phrase: &str) -> (usize, usize) {
    let wanted: Vec<String> = Note::analyze(phrase)
        .tokens
        .into_iter()
        .map(|t| t.norm)
        .collect();
    let start = note
        .tokens
        .windows(wanted.len())
        .position(|w| w.iter().zip(&wanted).all(|(t, n)| &t.norm == n))
        .unwrap_or_else(|| panic!("{phrase:?} not found"));
    (start, start + wanted.len() - 1)
}

const SAMPLE_NOTE: &str = "CHIEF COMPLAINT: Cough and fever.\r\n\
\r\n\
HISTORY OF PRESENT ILLNESS:\r\n\
Mr. Dupré is a 67 year old man with h/o COPD who presents with 3 days of productive\r\n\
cough and fever to 38.9 °C. He denies chest pain, hemoptysis or leg swelling but\r\n\
reports dyspnea. No sick contacts. Seen by Dr. A. Smith at 9 a.m. today 😷.\r\n\
\r\n\
PAST MEDICAL HISTORY:\r\n\
- COPD\r\n\
- Hypertension\r\n\
- s/p appendectomy in childhood\r\n\
\r\n\
FAMILY HISTORY: Mother with breast cancer. No family history of diabetes.\r\n\
\r\n\
SOCIAL HISTORY: Former smoker, quit 10 years ago.\r\n\
\r\n\
PHYSICAL EXAM\r\n\
T 38.9, BP 132/84. Crackles at the right base. No edema.\r\n\
\r\n\
IMAGING: CXR shows right lower lobe consolidation; effusion cannot be excluded.\r\n\
\r\n\
ASSESSMENT AND PLAN:\r\n\
1. Community-acquired pneumonia, possible sepsis. Start ceftriaxone.\r\n\
2. COPD exacerbation vs. viral bronchitis.\r\n\
Return if chest pain develops. Pulmonary embolism was ruled out.\r\n";

#[test]
fn sample_note_end_to_end() {
    let note = Note::analyze(SAMPLE_NOTE);
    let check = |phrase: &str, section: Section, assertion: Assertion| {
        let (first, last) = find(&note, phrase);
        assert_eq!(
            note.section_of_token(first),
            section,
            "section of {phrase:?}"
        );
        assert_eq!(
            note.assertion(first, last),
            assertion,
            "assertion of {phrase:?}"
        );
        let (start, end) = (note.tokens[first].start, note.tokens[last].end);
        let evidence = note.slice(start, end);
        assert_eq!(evidence, chars_of(SAMPLE_NOTE, start, end));
        assert_eq!(
            ascii_fold(&evidence).replace(['\r', '\n'], " "),
            ascii_fold(phrase)
        );
    };
    check(
        "cough and fever",
        Section::ChiefComplaint,
        Assertion::Present,
    );
    check(
        "copd",
        Section::HistoryOfPresentIllness,
        Assertion::Historical,
    );
    check(
        "productive",
        Section::HistoryOfPresentIllness,
        Assertion::Present,
    );
    check(
        "chest pain",
        Section::HistoryOfPresentIllness,
        Assertion::Negated,
    );
    check(
        "leg swelling",
        Section::HistoryOfPresentIllness,
        Assertion::Negated,
    );
    check(
        "dyspnea",
        Section::HistoryOfPresentIllness,
        Assertion::Present,
    );
    check(
        "sick contacts",
        Section::HistoryOfPresentIllness,
        Assertion::Negated,
    );
    check(
        "hypertension",
        Section::PastMedicalHistory,
        Assertion::Historical,
    );
    check(
        "appendectomy",
        Section::PastMedicalHistory,
        Assertion::Historical,
    );
    check("breast cancer", Section::FamilyHistory, Assertion::Family);
    // "No family history of diabetes": denied, so no family-history code either.
    check("diabetes", Section::FamilyHistory, Assertion::Negated);
    check("smoker", Section::SocialHistory, Assertion::Historical);
    check("crackles", Section::PhysicalExam, Assertion::Present);
    check("edema", Section::PhysicalExam, Assertion::Negated);
    check("consolidation", Section::Imaging, Assertion::Present);
    check("effusion", Section::Imaging, Assertion::Uncertain);
    check(
        "community-acquired pneumonia",
        Section::Assessment,
        Assertion::Present,
    );
    check("sepsis", Section::Assessment, Assertion::Uncertain);
    check(
        "copd exacerbation",
        Section::Assessment,
        Assertion::Uncertain,
    );
    check(
        "viral bronchitis",
        Section::Assessment,
        Assertion::Uncertain,
    );
    check(
        "pulmonary embolism",
        Section::Assessment,
        Assertion::Negated,
    );

    // The hard-wrapped HPI sentence is one sentence despite the CRLF line breaks.
    let (productive, _) = find(&note, "productive");
    let (celsius, _) = find(&note, "°");
    assert_eq!(
        note.sentence_of_token(productive),
        note.sentence_of_token(celsius)
    );
    // "Dr. A. Smith at 9 a.m. today" stays in one sentence.
    let (doctor, _) = find(&note, "dr");
    let (today, _) = find(&note, "today");
    assert_eq!(
        note.sentence_of_token(doctor),
        note.sentence_of_token(today)
    );
    // Each list item is its own sentence.
    let (hypertension, _) = find(&note, "hypertension");
    let sentence = &note.sentences[note.sentence_of_token(hypertension)];
    assert_eq!(note.slice(sentence.start, sentence.end), "- Hypertension");
}

/// Throughput of the text layer alone (the whole pipeline must reach 200 notes/s on 2 cores).
/// Run with `cargo test --release --test text_layer -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run explicitly"]
fn throughput() {
    let notes: Vec<String> = (0..200)
        .map(|i| format!("Note {i}.\n{}", SAMPLE_NOTE.repeat(2)))
        .collect();
    let words: usize = notes.iter().map(|n| n.split_whitespace().count()).sum();
    // The trigger and heading tables are built once, on first use.
    let started = std::time::Instant::now();
    let _ = Note::analyze("warm up");
    println!("one-time set-up: {:?}", started.elapsed());
    let started = std::time::Instant::now();
    let mut mentions = 0;
    for text in &notes {
        let note = Note::analyze(text);
        for first in 0..note.tokens.len() {
            if note.assertion(first, first) != Assertion::Present {
                mentions += 1;
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{} notes ({} words/note) in {seconds:.3}s: {:.0} notes/s, {mentions} non-present tokens",
        notes.len(),
        words / notes.len(),
        notes.len() as f64 / seconds
    );
}
