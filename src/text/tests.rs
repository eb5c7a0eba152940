//! Note-level tests: assertions, sections, slicing and offset invariants on arbitrary input.

use super::*;
use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization;
use Assertion::{Exposure, Family, Historical, Hypothetical, Negated, Present, Uncertain};

/// Token index range of the first occurrence of `phrase` (by token norms).
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
        .unwrap_or_else(|| panic!("{phrase:?} not found in {:?}", note.text));
    (start, start + wanted.len() - 1)
}

fn assertion_of(text: &str, mention: &str) -> Assertion {
    let note = Note::analyze(text);
    let (first, last) = find(&note, mention);
    note.assertion(first, last)
}

fn section_of(text: &str, mention: &str) -> Section {
    let note = Note::analyze(text);
    let (first, _) = find(&note, mention);
    note.section_of_token(first)
}

#[test]
fn plain_mentions_are_present() {
    assert_eq!(assertion_of("Patient has pneumonia.", "pneumonia"), Present);
    assert_eq!(assertion_of("Pneumonia", "pneumonia"), Present);
}

#[test]
fn negation_pre_and_post() {
    assert_eq!(assertion_of("No fever.", "fever"), Negated);
    assert_eq!(
        assertion_of("Patient denies chest pain.", "chest pain"),
        Negated
    );
    assert_eq!(assertion_of("Negative for DVT.", "dvt"), Negated);
    assert_eq!(
        assertion_of("No evidence of pneumothorax.", "pneumothorax"),
        Negated
    );
    assert_eq!(assertion_of("He is not diabetic.", "diabetic"), Negated);
    assert_eq!(assertion_of("Without edema.", "edema"), Negated);
    assert_eq!(
        assertion_of("Pulmonary embolism was ruled out.", "pulmonary embolism"),
        Negated
    );
    assert_eq!(assertion_of("Cultures were negative.", "cultures"), Negated);
    assert_eq!(assertion_of("Effusion not seen.", "effusion"), Negated);
    assert_eq!(
        assertion_of("Chest x-ray was negative for pneumonia.", "pneumonia"),
        Negated
    );
    assert_eq!(assertion_of("She doesn’t have asthma.", "asthma"), Negated);
    assert_eq!(assertion_of("No history of diabetes.", "diabetes"), Negated);
    assert_eq!(assertion_of("NO FEVER", "fever"), Negated);
    // "reports" alone ends a scope; "did not report" denies.
    assert_eq!(
        assertion_of(
            "He did not report any history or clinical manifestations of renal disease.",
            "renal disease"
        ),
        Negated
    );
    assert_eq!(
        assertion_of("Denies fever, reports renal colic.", "renal colic"),
        Present
    );
    assert_eq!(
        assertion_of("He denies any history of asthma.", "asthma"),
        Negated
    );
}

#[test]
fn an_exclusion_verb_with_its_object_denies_the_object() {
    // The test that rules a condition out was done.
    let text = "A transesophageal echocardiography ruled out endocarditis.";
    assert_eq!(assertion_of(text, "echocardiography"), Present);
    assert_eq!(assertion_of(text, "endocarditis"), Negated);
    assert_eq!(
        assertion_of("CT excluded pulmonary embolism.", "pulmonary embolism"),
        Negated
    );
    assert_eq!(
        assertion_of("CT excluded pulmonary embolism.", "ct"),
        Present
    );
    assert_eq!(
        assertion_of(
            "Endocarditis was ruled out by echocardiography.",
            "endocarditis"
        ),
        Negated
    );
    assert_eq!(assertion_of("PE ruled out.", "pe"), Negated);
    assert_eq!(
        assertion_of("Patient declined colonoscopy.", "colonoscopy"),
        Negated
    );
}

#[test]
fn negation_scope_ends_at_terminators_and_sentences() {
    let text = "No fever but has cough.";
    assert_eq!(assertion_of(text, "fever"), Negated);
    assert_eq!(assertion_of(text, "cough"), Present);
    assert_eq!(
        assertion_of("Denies fever, however reports cough.", "cough"),
        Present
    );
    assert_eq!(
        assertion_of("Patient denies chest pain, reports dyspnea.", "dyspnea"),
        Present
    );
    assert_eq!(assertion_of("No fever. Cough present.", "cough"), Present);
    assert_eq!(assertion_of("No fever\n\nCough", "cough"), Present);
    assert_eq!(
        assertion_of("No fever - cough since Monday", "cough"),
        Present
    );
    assert_eq!(
        assertion_of("No x-ray evidence of fracture", "fracture"),
        Negated
    );
    assert_eq!(
        assertion_of("H/o CHF p/w worsening dyspnea.", "dyspnea"),
        Present
    );
    // Lists stay in scope.
    assert_eq!(
        assertion_of(
            "Denies fever, chills, nausea, vomiting, or diarrhea.",
            "diarrhea"
        ),
        Negated
    );
}

#[test]
fn list_lead_in_triggers_apply_to_items() {
    let text = "Patient denies:\n- fever\n- night sweats\nChills\nReports cough since Monday.";
    assert_eq!(assertion_of(text, "fever"), Negated);
    assert_eq!(assertion_of(text, "night sweats"), Negated);
    assert_eq!(assertion_of(text, "chills"), Negated);
    assert_eq!(assertion_of(text, "cough"), Present);
    let text = "Negative for:\n1. DVT\n2. PE\n\nAsthma";
    assert_eq!(assertion_of(text, "pe"), Negated);
    assert_eq!(assertion_of(text, "asthma"), Present);
    // A terminator inside the item stops the lead-in.
    assert_eq!(assertion_of("Denies:\n- fever but cough", "cough"), Present);
    // A colon that does not end a trigger carries nothing.
    assert_eq!(assertion_of("Problems:\n- COPD", "copd"), Present);
}

#[test]
fn negation_window_is_limited() {
    let text = "No fever was documented during the long and eventful stay in the hospital ward with pneumonia.";
    assert_eq!(assertion_of(text, "fever"), Negated);
    assert_eq!(assertion_of(text, "pneumonia"), Present);
}

#[test]
fn post_triggers_do_not_cross_commas() {
    assert_eq!(
        assertion_of("Chest pain, ECG negative.", "chest pain"),
        Present
    );
    assert_eq!(assertion_of("Chest pain: denied.", "chest pain"), Negated);
}

#[test]
fn pseudo_triggers_do_not_negate() {
    assert_eq!(assertion_of("No increase in pain.", "pain"), Present);
    assert_eq!(
        assertion_of("No change in the effusion.", "effusion"),
        Present
    );
    assert_eq!(assertion_of("Not only cough but fever.", "cough"), Present);
    assert_eq!(
        assertion_of("Gram negative bacteremia.", "bacteremia"),
        Present
    );
    assert_eq!(
        assertion_of("Gram-negative bacteremia.", "bacteremia"),
        Present
    );
    assert_eq!(
        assertion_of("A 45 year old man with pneumonia.", "pneumonia"),
        Present
    );
}

#[test]
fn uncertainty() {
    assert_eq!(assertion_of("Possible pneumonia.", "pneumonia"), Uncertain);
    assert_eq!(
        assertion_of("Pneumonia is suspected.", "pneumonia"),
        Uncertain
    );
    assert_eq!(assertion_of("R/O MI.", "mi"), Uncertain);
    assert_eq!(assertion_of("Rule out sepsis.", "sepsis"), Uncertain);
    assert_eq!(
        assertion_of("Likely viral pharyngitis.", "pharyngitis"),
        Uncertain
    );
    assert_eq!(
        assertion_of("CXR shows ?pneumonia.", "pneumonia"),
        Uncertain
    );
    assert_eq!(
        assertion_of("CXR shows ? pneumonia.", "pneumonia"),
        Uncertain
    );
    assert_eq!(
        assertion_of("Concern for appendicitis.", "appendicitis"),
        Uncertain
    );
    assert_eq!(assertion_of("PE cannot be excluded.", "pe"), Uncertain);
    assert_eq!(assertion_of("Sepsis not ruled out.", "sepsis"), Uncertain);
    let text = "Pneumonia vs. atelectasis.";
    assert_eq!(assertion_of(text, "pneumonia"), Uncertain);
    assert_eq!(assertion_of(text, "atelectasis"), Uncertain);
    // "ruled out" negates, "rule out" does not.
    assert_eq!(assertion_of("MI ruled out.", "mi"), Negated);
    // "compatible with" affirms.
    assert_eq!(
        assertion_of("Findings compatible with pneumonia.", "pneumonia"),
        Present
    );
}

#[test]
fn history() {
    assert_eq!(assertion_of("History of MI.", "mi"), Historical);
    assert_eq!(assertion_of("H/o stroke.", "stroke"), Historical);
    assert_eq!(
        assertion_of("Status post appendectomy.", "appendectomy"),
        Historical
    );
    assert_eq!(assertion_of("S/p CABG.", "cabg"), Historical);
    assert_eq!(assertion_of("MI 5 years ago.", "mi"), Historical);
    assert_eq!(assertion_of("Asthma in childhood.", "asthma"), Historical);
    assert_eq!(assertion_of("Old MI on ECG.", "mi"), Historical);
    assert_eq!(
        assertion_of("No fever, history of pneumonia.", "pneumonia"),
        Historical
    );
    assert_eq!(
        assertion_of("No fever, history of pneumonia.", "fever"),
        Negated
    );
    assert_eq!(
        assertion_of("PMH:\nasthma\nHPI: cough", "asthma"),
        Historical
    );
    assert_eq!(assertion_of("PMH:\nasthma\nHPI: cough", "cough"), Present);
    // Negation beats the section.
    assert_eq!(
        assertion_of("Past medical history: no diabetes.", "diabetes"),
        Negated
    );
}

#[test]
fn family() {
    assert_eq!(
        assertion_of("Mother with breast cancer.", "breast cancer"),
        Family
    );
    assert_eq!(
        assertion_of("Family history of colon cancer.", "colon cancer"),
        Family
    );
    assert_eq!(assertion_of("Diabetes in his father.", "diabetes"), Family);
    assert_eq!(assertion_of("FHx: CAD", "cad"), Family);
    assert_eq!(
        assertion_of("Family History\nHypertension", "hypertension"),
        Family
    );
    assert_eq!(assertion_of("Maternal aunt had lupus.", "lupus"), Family);
    // A relative who is the subject speaks for the clause, causes included.
    let text = "His paternal uncle was also diagnosed with stage 5 chronic kidney disease \
                secondary to nephropathy due to analgesic abuse.";
    assert_eq!(assertion_of(text, "chronic kidney disease"), Family);
    assert_eq!(assertion_of(text, "nephropathy"), Family);
    // ... until the patient is the subject again.
    let text = "Mother with breast cancer; the patient has fibrocystic breast disease.";
    assert_eq!(assertion_of(text, "fibrocystic breast disease"), Present);
    // A cause still ends a denial.
    assert_eq!(
        assertion_of("No fever secondary to the infection.", "infection"),
        Present
    );
    // A duration before "history of" dates an illness still present.
    assert_eq!(
        assertion_of("She presented with a three-day history of fever.", "fever"),
        Present
    );
    assert_eq!(
        assertion_of("He has a 2-week history of headache.", "headache"),
        Present
    );
    assert_eq!(
        assertion_of("History of headache, resolved.", "headache"),
        Historical
    );
    // What was not done because of a condition states the condition.
    let text = "A rectal examination could not be performed due to the intense pain.";
    assert_eq!(assertion_of(text, "pain"), Present);
    assert_eq!(
        assertion_of("He could not sleep because of cough.", "cough"),
        Present
    );
    // A denied cause is denied.
    let text = "Dyspnea not due to heart failure.";
    assert_eq!(assertion_of(text, "heart failure"), Negated);
    assert_eq!(assertion_of(text, "dyspnea"), Present);
    // The relative is a companion, not the subject.
    assert_eq!(
        assertion_of("Lives with her mother, has asthma.", "asthma"),
        Present
    );
    assert_eq!(assertion_of("Mother reports fever.", "fever"), Present);
    assert_eq!(assertion_of("Her mother denies fever.", "fever"), Negated);
    assert_eq!(assertion_of("Parents report fever.", "fever"), Present);
    assert_eq!(assertion_of("Parents deny rash.", "rash"), Negated);
}

#[test]
fn hypothetical() {
    assert_eq!(
        assertion_of("Return if fever develops.", "fever"),
        Hypothetical
    );
    assert_eq!(
        assertion_of("Call if chest pain recurs.", "chest pain"),
        Hypothetical
    );
    assert_eq!(
        assertion_of(
            "Should he develop shortness of breath, call.",
            "shortness of breath"
        ),
        Hypothetical
    );
    assert_eq!(
        assertion_of("Watch for bleeding.", "bleeding"),
        Hypothetical
    );
    assert_eq!(
        assertion_of("Start heparin for DVT prophylaxis.", "dvt"),
        Hypothetical
    );
}

#[test]
fn exposure_is_someone_elses_disease() {
    assert_eq!(
        assertion_of("Exposed to coworker with COVID-19.", "covid-19"),
        Exposure
    );
    assert_eq!(assertion_of("TB exposure at the shelter.", "tb"), Exposure);
    assert_eq!(
        assertion_of("Close contact with a case of measles.", "measles"),
        Exposure
    );
    // Denied exposure is no exposure; "contact dermatitis" names no contact with a disease.
    assert_eq!(
        assertion_of("No known exposure to tuberculosis.", "tuberculosis"),
        Negated
    );
    assert_eq!(
        assertion_of("Contact dermatitis of both hands.", "dermatitis"),
        Present
    );
}

#[test]
fn precedence() {
    // Negated > Family: a denied family history is no family history (no Z80-Z84 code).
    assert_eq!(
        assertion_of("Family history:\nno diabetes", "diabetes"),
        Negated
    );
    assert_eq!(
        assertion_of("No family history of cancer.", "cancer"),
        Negated
    );
    assert_eq!(
        assertion_of("Denies family history of diabetes.", "diabetes"),
        Negated
    );
    // The family-history code's own words overlap the trigger: still denied.
    assert_eq!(
        assertion_of("No family history of cancer.", "family history of cancer"),
        Negated
    );
    assert_eq!(
        assertion_of("Family history of cancer.", "family history of cancer"),
        Present
    );
    assert_eq!(
        assertion_of("Family history negative for colon cancer.", "colon cancer"),
        Negated
    );
    assert_eq!(
        assertion_of("Mother with diabetes, no hypertension.", "hypertension"),
        Negated
    );
    assert_eq!(
        assertion_of("Mother with diabetes, no hypertension.", "diabetes"),
        Family
    );
    // Negated > Historical
    assert_eq!(assertion_of("Denies history of stroke.", "stroke"), Negated);
    assert_eq!(assertion_of("History of MI was ruled out.", "mi"), Negated);
    assert_eq!(assertion_of("No prior MI.", "mi"), Negated);
    // Hypothetical > Uncertain
    assert_eq!(
        assertion_of("Return if pneumonia is suspected.", "pneumonia"),
        Hypothetical
    );
    // Uncertain > Historical
    assert_eq!(assertion_of("Possible prior MI.", "mi"), Uncertain);
}

#[test]
fn sections_follow_headings() {
    let text = "CHIEF COMPLAINT: cough\n\
                HISTORY OF PRESENT ILLNESS:\nCough for 3 days.\n\
                Social History: smoker\n\
                Medications:\nlisinopril\n\
                Allergies: NKDA\n\
                ROS: negative\n\
                Physical Exam\nclear lungs\n\
                Labs: WBC 12\n\
                Radiology: CXR infiltrate\n\
                Procedures: bronchoscopy\n\
                Impression: CAP\n\
                Assessment and Plan:\nsepsis\n\
                Final diagnosis: pneumonia\n\
                Discharge instructions: rest";
    assert_eq!(section_of(text, "cough"), Section::ChiefComplaint);
    assert_eq!(section_of(text, "3 days"), Section::HistoryOfPresentIllness);
    assert_eq!(section_of(text, "smoker"), Section::SocialHistory);
    assert_eq!(section_of(text, "lisinopril"), Section::Medications);
    assert_eq!(section_of(text, "nkda"), Section::Allergies);
    assert_eq!(section_of(text, "ros"), Section::ReviewOfSystems);
    assert_eq!(section_of(text, "clear lungs"), Section::PhysicalExam);
    assert_eq!(section_of(text, "wbc"), Section::Labs);
    assert_eq!(section_of(text, "infiltrate"), Section::Imaging);
    assert_eq!(section_of(text, "bronchoscopy"), Section::Procedures);
    assert_eq!(section_of(text, "cap"), Section::Impression);
    assert_eq!(section_of(text, "sepsis"), Section::Assessment);
    assert_eq!(section_of(text, "pneumonia"), Section::Diagnosis);
    assert_eq!(section_of(text, "rest"), Section::Discharge);
    assert_eq!(
        section_of("Cough and fever. Plan later.", "fever"),
        Section::Unknown
    );
}

#[test]
fn slice_clamps_and_uses_char_offsets() {
    let note = Note::analyze("Café 😀 fièvre");
    assert_eq!(note.char_len(), 13);
    assert_eq!(note.slice(0, 4), "Café");
    assert_eq!(note.slice(5, 6), "😀");
    assert_eq!(note.slice(7, 100), "fièvre");
    assert_eq!(note.slice(100, 200), "");
    assert_eq!(note.slice(5, 2), "");
    for token in &note.tokens {
        let expected: String = note
            .text
            .chars()
            .skip(token.start)
            .take(token.end - token.start)
            .collect();
        assert_eq!(note.slice(token.start, token.end), expected);
    }
    assert_eq!(note.tokens[2].norm, "fievre");
}

#[test]
fn queries_on_empty_and_out_of_range_never_panic() {
    let empty = Note::analyze("");
    assert!(empty.tokens.is_empty() && empty.sentences.is_empty());
    assert_eq!(empty.sentence_of_token(3), 0);
    assert_eq!(empty.assertion(0, 5), Assertion::Present);
    assert_eq!(empty.section_of_token(7), Section::Unknown);
    assert_eq!(empty.slice(0, 10), "");
    let note = Note::analyze("No fever. Cough.");
    assert_eq!(note.sentence_of_token(99), 1);
    assert_eq!(note.assertion(99, 99), Assertion::Present);
    // Reversed bounds are reordered; a mention is clamped to its first token's sentence.
    assert_eq!(note.assertion(1, 1), Assertion::Negated);
    assert_eq!(note.assertion(4, 1), Assertion::Negated);
}

/// ASCII projection of the lower-cased canonical decomposition: what must survive in a norm.
fn ascii_fold(s: &str) -> String {
    s.nfd()
        .flat_map(char::to_lowercase)
        .filter(char::is_ascii)
        .collect()
}

/// Checks every structural invariant of an analysed note.
fn check_invariants(text: &str) -> Result<(), TestCaseError> {
    let note = Note::analyze(text);
    let char_count = text.chars().count();
    prop_assert_eq!(note.char_len(), char_count);

    let mut previous_end = 0;
    for token in &note.tokens {
        prop_assert!(token.start < token.end && token.end <= char_count);
        prop_assert!(
            token.start >= previous_end,
            "tokens overlap or are unordered"
        );
        previous_end = token.end;
        let surface = note.slice(token.start, token.end);
        let expected: String = text
            .chars()
            .skip(token.start)
            .take(token.end - token.start)
            .collect();
        prop_assert_eq!(&surface, &expected);
        prop_assert!(!surface.trim().is_empty());
        if surface.chars().all(char::is_alphabetic) {
            prop_assert_eq!(ascii_fold(&token.norm), ascii_fold(&surface));
        }
    }

    let mut next_token = 0;
    for (index, sentence) in note.sentences.iter().enumerate() {
        prop_assert!(sentence.start <= sentence.end && sentence.end <= char_count);
        prop_assert_eq!(
            sentence.tokens.start,
            next_token,
            "sentences must tile the tokens"
        );
        prop_assert!(sentence.tokens.start < sentence.tokens.end);
        next_token = sentence.tokens.end;
        prop_assert_eq!(sentence.start, note.tokens[sentence.tokens.start].start);
        prop_assert_eq!(sentence.end, note.tokens[sentence.tokens.end - 1].end);
        for token in sentence.tokens.clone() {
            prop_assert_eq!(note.sentence_of_token(token), index);
            prop_assert_eq!(note.section_of_token(token), sentence.section);
        }
    }
    prop_assert_eq!(next_token, note.tokens.len());

    // Assertion queries over every short span, and out-of-range ones, must not panic.
    for first in 0..note.tokens.len() {
        for last in first..(first + 3).min(note.tokens.len()) {
            let _ = note.assertion(first, last);
        }
    }
    let _ = note.assertion(usize::MAX, 0);
    let _ = note.slice(usize::MAX, usize::MAX);
    Ok(())
}

/// Clinical-looking fragments and the characters that break offset arithmetic.
fn clinical_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("No fever".to_string()),
        Just("denies chest pain, reports dyspnea".to_string()),
        Just("Dr. J. Smith".to_string()),
        Just("3.5 mg p.o. b.i.d.".to_string()),
        Just("PMH:".to_string()),
        Just("FAMILY HISTORY".to_string()),
        Just("- item".to_string()),
        Just("1) item".to_string()),
        Just("?pneumonia".to_string()),
        Just("h/o MI s/p CABG".to_string()),
        Just("café".to_string()),
        Just("cafe\u{301}".to_string()),
        Just("😷👨‍👩‍👧".to_string()),
        Just("İ ß ﬁ Å ;".to_string()),
        Just("\r\n".to_string()),
        Just("\n\n".to_string()),
        Just("\t".to_string()),
        Just("\u{0}\u{7}\u{b}\u{200b}\u{feff}\u{fffd}".to_string()),
        Just(". ! ? ; : , -".to_string()),
        "\\PC{0,12}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_strings_keep_invariants(text in any::<String>()) {
        check_invariants(&text)?;
    }

    #[test]
    fn clinical_mixtures_keep_invariants(
        parts in prop::collection::vec(clinical_fragment(), 0..24),
        separators in prop::collection::vec(
            prop::sample::select(vec!["", " ", ". ", "\n", "\r\n", ": "]),
            24,
        ),
    ) {
        let text: String = parts
            .iter()
            .zip(&separators)
            .flat_map(|(part, separator)| [part.as_str(), *separator])
            .collect();
        check_invariants(&text)?;
    }
}

#[test]
fn large_and_degenerate_inputs_never_panic() {
    let long_line = "no fever ".repeat(50_000);
    let long_punctuation = "?,".repeat(100_000);
    // About 1 MB with accents, emoji and CRLF.
    let big = "Past Medical History:\nNo fever, cough; é😀\r\n".repeat(25_000);
    for text in [long_line.as_str(), long_punctuation.as_str(), big.as_str()] {
        let note = Note::analyze(text);
        let char_count = text.chars().count();
        assert!(note
            .tokens
            .iter()
            .all(|t| t.start < t.end && t.end <= char_count));
        assert_eq!(
            note.sentences.last().map_or(0, |s| s.tokens.end),
            note.tokens.len()
        );
        let last = note.tokens.len() - 1;
        let _ = note.assertion(last / 2, last);
        let _ = note.assertion(last, last);
    }
    for text in ["", " ", "\n\n\n", "\u{301}", "\u{0}", ":", "....", "?", "-"] {
        check_invariants(text).expect("invariants");
    }
}

#[test]
fn a_trigger_ending_on_the_terms_first_word_still_reaches_it() {
    // The term "cancer of colon" matches "of colon cancer"; "history of" stands before it.
    assert_eq!(
        assertion_of("History of colon cancer.", "of colon cancer"),
        Historical
    );
    assert_eq!(
        assertion_of("No history of colon cancer.", "of colon cancer"),
        Negated
    );
    assert_eq!(
        assertion_of(
            "No personal or family history of colon cancer.",
            "of colon cancer"
        ),
        Negated
    );
    // A term that begins with the trigger's own words keeps its reading.
    assert_eq!(
        assertion_of(
            "Family history of colon cancer.",
            "family history of colon cancer"
        ),
        Present
    );
}

#[test]
fn a_denial_stops_at_a_comma_that_opens_another_axis() {
    let axes: std::collections::HashSet<String> = ["intractable", "not"]
        .iter()
        .map(|w| w.to_string())
        .collect();
    let denied = |text: &str, word: &str| {
        let note = Note::analyze(text);
        let k = note
            .tokens
            .iter()
            .position(|t| t.norm == word)
            .expect("word in note");
        note.denied_before(k, 0, &["no", "without", "not"], &["."], &[], &axes)
    };
    assert!(!denied(
        "Migraine without aura, intractable.",
        "intractable"
    ));
    assert!(denied(
        "Migraine without aura, not intractable.",
        "intractable"
    ));
    assert!(denied("Migraine without aura.", "aura"));
    // A list goes on past its commas.
    assert!(denied("No fever, chills or cough.", "chills"));
}

/// Is the word `after` denied by a trigger written between `before` and it?
fn denied_after_gap(text: &str, before: &str, after: &str) -> bool {
    let note = Note::analyze(text);
    note.denied_after_gap(find(&note, before).1, find(&note, after).0)
}

#[test]
fn a_denial_between_two_words_denies_the_second() {
    let eye = "Eye fundus showed no evidence of CMV infection.";
    assert!(denied_after_gap(eye, "fundus", "infection"));
    let arteries = "Coronary arteries without significant stenosis.";
    assert!(denied_after_gap(arteries, "arteries", "stenosis"));
    // Nothing denies between the two words: "no" before both is the whole mention's.
    assert!(!denied_after_gap("No fever and cough.", "fever", "cough"));
    // A trigger touching the first word belongs to it: "absence of the left kidney".
    assert!(!denied_after_gap(
        "Absence of the left kidney.",
        "absence",
        "kidney"
    ));
    // A trigger that ends on the second word is that word's own ("receptors are negative").
    let receptors = "Estrogen and progesterone receptors are negative.";
    assert!(!denied_after_gap(receptors, "receptors", "negative"));
    // The words of two sentences are never one mention.
    assert!(!denied_after_gap(
        "Eye fundus. No infection.",
        "fundus",
        "infection"
    ));
}
