//! The whole pipeline (matching, assertions, history codes, specificity, guideline rules,
//! features, ranking, evidence) on a fixture: an excerpt of the FY2026 tabular
//! (`tests/fixtures/tabular-engine.xml`), an index built from it in a temporary directory
//! with the stand-in encoder, and no trained model. Needs neither `.assets/` nor a built
//! index, so every rule of the engine is checked in a plain `cargo test`.

use std::sync::OnceLock;

use super::*;
use crate::mention_encoder::TrigramEncoder;

const TABULAR: &str = include_str!("../../tests/fixtures/tabular-engine.xml");

struct Fixture {
    engine: Engine,
    _dir: tempfile::TempDir,
}

/// Built once for all tests (about a second): the index of the excerpt's titles and
/// inclusion terms, embedded by the stand-in encoder.
fn engine() -> &'static Engine {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    &FIXTURE
        .get_or_init(|| fixture(TrainedModels::default()))
        .engine
}

fn fixture(models: TrainedModels) -> Fixture {
    fixture_with_extras(models, &[])
}

/// A fixture engine whose index also holds `extras` (each the text of an `--extra` file).
fn fixture_with_extras(models: TrainedModels, extras: &[&str]) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let codes = CodeSet::fixture(TABULAR);
    let abbreviations = Abbreviations::builtin();
    let encoder: Arc<dyn MentionEncoder> = Arc::new(TrigramEncoder::default());
    let index_dir = dir.path().join("index");
    let extras = extras
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let path = dir.path().join(format!("extra-{i}"));
            std::fs::write(&path, text).expect("fixture extra");
            path
        })
        .collect();
    let options = BuildOptions {
        encoder: Some(TermEncoder::Loaded(encoder.clone())),
        extras,
        ..BuildOptions::default()
    };
    build_index(&index_dir, &codes, &abbreviations, &options).expect("fixture index");
    let index = TermIndex::open(&index_dir, &codes).expect("fixture index opens");
    let config = Config {
        assets: dir.path().join("no-assets"),
        index: index_dir,
        models: dir.path().join("no-models"),
    };
    let engine = Engine::assemble(config, codes, abbreviations, index, Some(encoder), models)
        .expect("fixture engine");
    Fixture { engine, _dir: dir }
}

fn coding(text: &str, setting: Setting) -> Coding {
    let options = SuggestOptions {
        setting,
        ..SuggestOptions::default()
    };
    engine().suggest(None, text, &options).expect("suggest")
}

/// The codes suggested, best first.
fn codes(text: &str, setting: Setting) -> Vec<String> {
    coding(text, setting)
        .suggestions
        .into_iter()
        .map(|s| s.code)
        .collect()
}

fn inpatient(text: &str) -> Vec<String> {
    codes(text, Setting::Inpatient)
}

#[track_caller]
fn assert_top(found: &[String], wanted: &[&str], top: usize) {
    for w in wanted {
        let at = found.iter().position(|c| c == w);
        assert!(
            at.is_some_and(|i| i < top),
            "{w} not in the first {top} of {found:?}"
        );
    }
}

#[track_caller]
fn assert_absent(found: &[String], unwanted: &[&str]) {
    // A category ("G62") stands for all its codes; a dotted code for itself.
    for u in unwanted {
        let hit = |c: &String| match u.contains('.') {
            true => c == u,
            false => c.starts_with(u),
        };
        assert!(!found.iter().any(hit), "{u} suggested: {found:?}");
    }
}

#[test]
fn a_combination_code_replaces_its_parts() {
    let found = inpatient("Type 2 diabetes with neuropathy.");
    assert_top(&found, &["E11.40"], 1);
    assert_absent(&found, &["G62", "E11.9"]);
}

#[test]
fn a_denied_family_history_gives_no_code() {
    let found = inpatient("No family history of cancer.");
    assert_absent(&found, &["Z80", "C18"]);
}

#[test]
fn a_stated_family_history_gives_its_family_history_code() {
    let found = inpatient("Family history: father had colon cancer.");
    assert_top(&found, &["Z80.0"], 3);
    assert_absent(&found, &["C18"]);
}

#[test]
fn hypertension_and_ckd_are_presumed_linked() {
    let found = inpatient("Assessment: hypertension. Chronic kidney disease stage 4.");
    assert_top(&found, &["I12.9", "N18.4"], 2);
    assert_absent(&found, &["I10", "N18.9"]);
}

#[test]
fn hypertension_and_heart_failure_are_presumed_linked() {
    let found = inpatient(
        "Admitted with acute on chronic systolic congestive heart failure. \
         Long-standing hypertension.",
    );
    assert_top(&found, &["I11.0", "I50.23"], 2);
    assert_absent(&found, &["I10", "I50.9", "I50.20"]);
}

#[test]
fn coronary_artery_disease_and_angina_are_one_combination_code() {
    let found = inpatient("Coronary artery disease. Stable angina.");
    assert_top(&found, &["I25.118"], 1);
    // Neither part, nor the unspecified angina its words also read.
    assert_absent(&found, &["I25.10", "I20.89", "I20.9"]);
    let found = inpatient("CAD of native coronary arteries with unstable angina.");
    assert_top(&found, &["I25.110"], 1);
    assert_absent(&found, &["I25.10", "I20.0", "I20.9"]);
}

#[test]
fn a_status_phrase_does_not_swallow_the_disease_before_it() {
    let found = inpatient("CAD s/p CABG 2018. No angina.");
    assert_top(&found, &["I25.10", "Z95.1"], 2);
    assert_absent(&found, &["I25.11", "I20"]);
}

#[test]
fn copd_with_a_lower_respiratory_infection_adds_j44_0_and_keeps_the_infection() {
    let found = inpatient("COPD with acute bronchitis.");
    assert_top(&found, &["J44.0", "J20.9"], 2);
    assert_absent(&found, &["J44.9"]);
}

#[test]
fn cholecystitis_with_gallstones_is_the_calculus_combination() {
    let found = inpatient("Acute cholecystitis with cholelithiasis, no obstruction.");
    assert_top(&found, &["K80.00"], 1);
    assert_absent(&found, &["K81.0", "K80.10", "K80.01", "K80.2"]);
}

#[test]
fn poorly_controlled_diabetes_is_diabetes_with_hyperglycemia() {
    let coding = coding("DM2, poorly controlled, A1c 10.2%.", Setting::Outpatient);
    let top = &coding.suggestions[0];
    assert_eq!(top.code, "E11.65");
    // The qualifier is evidence beside the diabetes.
    let texts: Vec<&str> = top.evidence.iter().map(|e| e.text.as_str()).collect();
    assert!(texts.contains(&"poorly controlled"), "{texts:?}");
    assert_absent(
        &codes("DM2, poorly controlled.", Setting::Outpatient),
        &["E11.9"],
    );
    // Denied, the qualifier says nothing.
    let found = inpatient("Type 2 diabetes, not poorly controlled.");
    assert_top(&found, &["E11.9"], 1);
    assert_absent(&found, &["E11.65"]);
}

#[test]
fn diabetes_of_no_stated_type_is_type_2_and_a_stated_type_is_kept() {
    let found = codes("Diabetes mellitus, on metformin.", Setting::Outpatient);
    assert_top(&found, &["E11.9"], 2);
    assert_absent(&found, &["E13", "E10"]);
}

#[test]
fn a_denied_word_removes_its_reading_without_bringing_back_weaker_ones() {
    let found = inpatient("Type 2 diabetic admitted with hypoglycemia, no coma.");
    assert_top(&found, &["E11.649"], 1);
    // "with coma" is denied; the readings its words made redundant stay so.
    assert_absent(&found, &["E11.641", "E11.9", "E13"]);
}

#[test]
fn an_mrsa_infection_of_a_site_is_the_site_code_and_the_agent_code() {
    let found = inpatient("Cellulitis of left lower leg. Wound culture: MRSA infection.");
    assert_top(&found, &["L03.116", "B95.62"], 2);
    assert_absent(&found, &["A49.02", "L03.119", "L03.115"]);
}

#[test]
fn abbreviations_give_the_default_codes() {
    let found = inpatient("Pt with DM2, HTN, HLD and GERD.");
    assert_top(&found, &["E11.9", "I10", "E78.5", "K21.9"], 4);
    assert_absent(&found, &["E13", "K21.0"]);
}

#[test]
fn an_uncertain_diagnosis_is_not_coded_in_outpatient_care() {
    let text = "Outpatient visit. Cough for 5 days. Rule out pneumonia; chest x-ray ordered.";
    let found = codes(text, Setting::Outpatient);
    assert_top(&found, &["R05.9"], 1);
    // Inpatient coding reports the uncertain diagnosis as if established (II.H).
    assert_top(&inpatient(text), &["J18.9"], 3);
}

#[test]
fn a_supported_specific_code_leaves_no_unspecified_sibling() {
    let found = inpatient("COPD with acute exacerbation.");
    assert_top(&found, &["J44.1"], 1);
    assert_absent(&found, &["J44.9"]);
    // The unspecified subcategory ("Acute pancreatitis, unspecified") is the condition's
    // unspecified form beside its specified types.
    let found = inpatient("Acute pancreatitis due to gallstones.");
    assert_top(&found, &["K85.10"], 1);
    assert_absent(&found, &["K85.90", "K85.9"]);
    let found = inpatient("Sepsis due to E. coli.");
    assert_top(&found, &["A41.51"], 1);
    assert_absent(&found, &["A41.9"]);
}

#[test]
fn of_two_excludes1_codes_the_fuller_statement_is_reported() {
    let text = "HIV positive, asymptomatic.";
    let found = inpatient(text);
    assert_top(&found, &["Z21"], 1);
    assert_absent(&found, &["B20"]);
    // The rule is what removes it: the word "HIV" alone reads as B20.
    let options = SuggestOptions {
        rules_off: vec!["excludes1_within".into()],
        ..SuggestOptions::default()
    };
    let coding = engine().suggest(None, text, &options).expect("suggest");
    assert!(coding.suggestions.iter().any(|s| s.code == "B20"));
}

#[test]
fn a_history_of_a_condition_is_its_history_code() {
    let text = "History of colon cancer, resected 2019. No evidence of recurrence.";
    let found = inpatient(text);
    assert_top(&found, &["Z85.038"], 3);
    assert_absent(&found, &["C18"]);
    // One note says why, however many readings of the words led to the history code.
    let coding = coding(
        "History of colon cancer and of cancer of the colon.",
        Setting::Inpatient,
    );
    let z85 = coding.suggestions.iter().find(|s| s.code == "Z85.038");
    let notes: Vec<&RuleNote> = z85
        .expect("Z85.038")
        .rules
        .iter()
        .filter(|r| r.kind == "history_of")
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].codes.iter().any(|c| c.starts_with("C18")));
}

#[test]
fn every_suggestion_is_billable_and_a_presumed_link_cites_its_section() {
    let coding = coding(
        "Assessment: hypertension. Chronic kidney disease stage 4. Type 2 diabetes.",
        Setting::Inpatient,
    );
    assert!(!coding.suggestions.is_empty());
    let codes = &engine().codes;
    for s in &coding.suggestions {
        let id = codes.find(&s.code).expect("a fixture code");
        assert!(codes.get(id).billable, "{} is not billable", s.code);
    }
    let i12 = coding.suggestions.iter().find(|s| s.code == "I12.9");
    let rules = &i12.expect("I12.9").rules;
    assert!(
        rules.iter().any(|r| r
            .guideline
            .as_deref()
            .is_some_and(|g| g.starts_with("I.C.9.a"))),
        "{rules:?}"
    );
}

#[test]
fn evidence_marks_the_stating_words_not_a_denied_mention() {
    let text = "Denies chest pain. Type 2 diabetes with neuropathy.";
    let coding = coding(text, Setting::Inpatient);
    let e11 = coding
        .suggestions
        .iter()
        .find(|s| s.code == "E11.40")
        .expect("E11.40");
    assert!(!e11.evidence.is_empty());
    for e in &e11.evidence {
        let said = &text[e.start..e.end];
        assert!(
            said.contains("diabetes") || said.contains("neuropathy"),
            "{said:?}"
        );
    }
}

#[test]
fn the_stand_in_encoder_scores_mentions_against_their_terms() {
    let options = SuggestOptions::default();
    let features = engine()
        .candidate_features("Chronic kidney disease stage 4.", &options)
        .expect("features");
    let n184 = engine().codes.find("N18.4").expect("N18.4");
    let (_, f) = features
        .iter()
        .find(|(code, _)| *code == n184)
        .expect("N18.4 is a candidate");
    assert!(f.similarity > 0.5, "similarity {}", f.similarity);
    // The lexical fast path does not run the encoder.
    let lexical = SuggestOptions {
        ranker: RankerChoice::Lexical,
        ..SuggestOptions::default()
    };
    let features = engine()
        .candidate_features("Chronic kidney disease stage 4.", &lexical)
        .expect("features");
    assert!(features.iter().all(|(_, f)| f.similarity == 0.0));
}

#[test]
fn lookup_reads_abbreviations() {
    let hits = engine()
        .lookup("DM2", &LookupOptions::default())
        .expect("lookup");
    assert_eq!(hits.first().map(|h| h.code.as_str()), Some("E11.9"));
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let options = SuggestOptions::default();
    assert!(engine().suggest(None, "  \n", &options).is_err());
    let huge = "a".repeat(MAX_NOTE_CHARS + 1);
    assert!(engine().suggest(None, &huge, &options).is_err());
}

#[test]
fn a_category_with_a_with_without_pair_defaults_to_without() {
    // E11.1 has only E11.10 "without coma" and E11.11 "with coma" (the Index: E11.10).
    let codes = &engine().codes;
    let category = codes.find("E11.1").expect("E11.1");
    let default = codes
        .default_billable(category)
        .map(|id| codes.get(id).display());
    assert_eq!(default.as_deref(), Some("E11.10"));
    let found = inpatient("Type 2 diabetes with ketoacidosis.");
    assert_top(&found, &["E11.10"], 1);
    assert_absent(&found, &["E11.1", "E11.11", "E11.9"]);
}

#[test]
fn a_title_pair_joined_by_and_is_stated_by_either_word_and_the_fall_is_the_event() {
    // I.A.14: "stairs and steps" is stairs or steps; "fell" is the external cause, not
    // R29.6 "Repeated falls"; the residual "other stairs" code is not read from the same
    // words as the unspecified one.
    let found = inpatient("Fell down the stairs at home. Initial encounter.");
    assert_top(&found, &["W10.9XXA"], 3);
    assert_absent(&found, &["R29.6", "W10.8XXA", "W19.XXXA"]);
    // The note's own words for the symptom still state it.
    let found = inpatient("Repeated falls at home.");
    assert_top(&found, &["R29.6"], 1);
}

#[test]
fn a_fracture_is_displaced_by_default_on_the_side_the_note_states() {
    // I.C.19.c.1: not stated displaced or nondisplaced is displaced; "bone" and "hand"
    // are implied by "metacarpal"; a reading of the other side is not made; "Fracture NOS"
    // (T14.8) is not read from part of the stated fracture.
    let found = inpatient("Fracture of the right fifth metacarpal shaft. Initial encounter.");
    assert_top(&found, &["S62.326A"], 1);
    assert_absent(&found, &["S62.327A", "S62.356A", "S62.357A", "T14"]);
    let found = inpatient("Nondisplaced fracture of the right fifth metacarpal shaft. Initial.");
    assert_top(&found, &["S62.356A"], 1);
    assert_absent(&found, &["S62.326A", "S62.357A", "T14"]);
}

#[test]
fn a_nonessential_modifier_is_read_only_beside_its_title() {
    // I.A.7: "(acute)" of J44.1 "Chronic obstructive pulmonary disease with (acute)
    // exacerbation" may be absent; the failure's own "Acute" at the head of the sentence is
    // not J44.1's, so J96.01 is not taken in as a part of J44.1 (I.B.9 is for a code that
    // says the other in full).
    let found = inpatient("Acute respiratory failure with hypoxia due to COPD exacerbation.");
    assert_top(&found, &["J96.01", "J44.1"], 2);
    assert_absent(&found, &["J96.00", "J96.91", "J44.9"]);
    // Beside the title's other words it still counts.
    let found = inpatient("COPD with acute exacerbation.");
    assert_top(&found, &["J44.1"], 1);
    assert_absent(&found, &["J96.00", "J44.9"]);
}

#[test]
fn osteoarthritis_of_a_named_side_is_unilateral_and_primary() {
    // Index: "Osteoarthritis, hip, unilateral M16.1-" (primary); one named side is one side.
    let found = inpatient("Assessment: left hip osteoarthritis, moderate.");
    assert_top(&found, &["M16.12"], 1);
    assert_absent(&found, &["M16.11", "M16.10", "M16.9", "M16.0"]);
    // "both hips" is the tabular's "bilateral".
    let found = inpatient("Osteoarthritis of both hips.");
    assert_top(&found, &["M16.0"], 1);
    assert_absent(&found, &["M16.11", "M16.12", "M16.9"]);
    // Stated post-traumatic, it is not primary.
    let found = inpatient("Post-traumatic osteoarthritis of the right hip.");
    assert_top(&found, &["M16.51"], 1);
    assert_absent(&found, &["M16.11", "M16.12"]);
}

#[test]
fn a_denial_reaches_over_signs_of_to_the_condition() {
    // I.B.1: "no signs of infection" denies the infection, so a colonization is not read
    // as A49.02 "Methicillin resistant Staphylococcus aureus infection, unspecified site".
    let found = inpatient("Preop screening: MRSA nares swab positive, no signs of infection.");
    assert_absent(&found, &["A49.02"]);
    let found = inpatient("MRSA infection.");
    assert_top(&found, &["A49.02"], 1);
}

#[test]
fn a_title_clause_the_note_contradicts_is_not_read() {
    // F32.2 "... severe without psychotic features" is not read from "severe with psychotic
    // features" (its clause is no default: F32 has an unspecified code); a major depressive
    // disorder not stated recurrent is a single episode (Index: "Disorder, depressive, major
    // (single episode)").
    let found =
        inpatient("Major depressive disorder, single episode, severe with psychotic features.");
    assert_top(&found, &["F32.3"], 2);
    assert_absent(&found, &["F32.2"]);
    let found = inpatient("Major depressive disorder, severe without psychotic features.");
    assert_top(&found, &["F32.2"], 1);
    assert_absent(&found, &["F32.3", "F33.2"]);
    let found = inpatient("Major depressive disorder, moderate.");
    assert_top(&found, &["F32.1"], 1);
}

#[test]
fn a_named_artery_is_not_an_other_artery_and_subsequent_is_said() {
    // I.A.9.a: "involving the right coronary artery" is I21.11, not the residual I21.19
    // "... involving other coronary artery of inferior wall"; I22 (a subsequent infarction,
    // I.C.9.e.4) is never read without "subsequent" and only beside an I21 code.
    let found = inpatient("Acute inferior wall STEMI involving the right coronary artery.");
    assert_top(&found, &["I21.11"], 1);
    assert_absent(&found, &["I21.19", "I22.1", "I21.3"]);
    let found = inpatient("Inferior wall STEMI.");
    assert_top(&found, &["I21.19"], 1);
    assert_absent(&found, &["I22.1"]);
}

#[test]
fn a_stone_with_hydronephrosis_is_the_combination_and_heroin_is_an_opioid() {
    // I.A.15, Index "Hydronephrosis, with, obstruction (by) ureteral calculus N13.2"; N20
    // Excludes1 "that with hydronephrosis (N13.2)".
    let found = inpatient("Left ureteral stone with hydronephrosis.");
    assert_top(&found, &["N13.2"], 1);
    assert_absent(&found, &["N20.1", "N13.30", "N13.39"]);
    // Index: "Dependence, heroin - see Dependence, drug, opioid".
    let found = inpatient("Heroin dependence, in withdrawal.");
    assert_top(&found, &["F11.23"], 1);
    assert_absent(&found, &["F11.20", "F11.93"]);
}

#[test]
fn site_not_specified_is_no_word_a_note_must_say() {
    // N39.0 "Urinary tract infection, site not specified" is stated in full by "urinary tract
    // infection", so the dysuria is integral (I.C.18.b) and "infection" is not also B99.9.
    let found = inpatient("Dysuria. Urinary tract infection.");
    assert_top(&found, &["N39.0"], 1);
    assert_absent(&found, &["R30.0", "B99.9", "B99.8"]);
}

#[test]
fn morbid_obesity_is_the_index_default_code() {
    // Index: "Obesity, morbid E66.01" ("Morbid (severe) obesity due to excess calories").
    let found = inpatient("Morbid obesity.");
    assert_top(&found, &["E66.01"], 1);
    assert_absent(&found, &["E66.09", "E66.2"]);
    let found = inpatient("Obesity.");
    assert_top(&found, &["E66.9"], 1);
    assert_absent(&found, &["E66.01"]);
}

#[test]
fn a_learned_phrase_that_begins_with_a_trigger_is_read_after_it() {
    // Learned links as a corpus teaches them: "History of colon" noted beside colon cancer.
    let engine = engine();
    let note = Note::analyze("History of colon cancer. No cough today.");
    let learned = |code: &str, words: &[&str]| {
        let first = note
            .tokens
            .iter()
            .position(|t| t.norm == words[0])
            .expect("word in note");
        Mention {
            term: u32::MAX,
            code: engine
                .codes
                .find(code)
                .unwrap_or_else(|| panic!("{code} in the fixture")),
            tokens: (first..first + words.len()).collect(),
            sentence: note.sentence_of_token(first),
            section: note.section_of_token(first),
            coverage: 0.0,
            words: 0,
            subsumed: false,
            learned: Some(crate::candidates::Learned {
                probability: 0.9,
                support: 20,
                phrase: 1,
            }),
            similarity: 0.0,
            from_encoder: false,
        }
    };
    let mentions = vec![
        learned("C18.9", &["history", "of", "colon"]),
        learned("Z85.038", &["history", "of", "colon"]),
        learned("R05.9", &["no", "cough"]),
    ];
    let found: Vec<(String, Assertion)> = engine
        .collect_candidates(&note, mentions, Setting::Inpatient)
        .into_iter()
        .map(|c| (engine.codes.get(c.code).display(), c.assertion))
        .collect();
    // The past colon cancer is no present one, and the denied cough is none.
    assert!(!found.iter().any(|(c, _)| c == "C18.9"), "{found:?}");
    assert!(!found.iter().any(|(c, _)| c == "R05.9"), "{found:?}");
    // A history code's own title says "history": the phrase states it.
    assert!(
        found.contains(&("Z85.038".to_string(), Assertion::Present)),
        "{found:?}"
    );
}

#[test]
fn an_infarction_up_to_four_weeks_old_is_coded_as_acute() {
    // I.C.9.e.1: "NSTEMI 3 weeks ago" is still I21.4, not the old infarction I25.2.
    let recent = inpatient("Admitted for pneumonia. NSTEMI 3 weeks ago.");
    assert_top(&recent, &["I21.4"], 3);
    assert_absent(&recent, &["I25.2"]);
    let old = inpatient("NSTEMI 2 months ago, now stable.");
    assert_top(&old, &["I25.2"], 3);
    assert_absent(&old, &["I21"]);
}

#[test]
fn a_status_code_after_a_history_trigger_is_the_status_now() {
    // "History of ..." reaches over "s/p CABG": the status code states the past itself
    // (I.C.21.c.3), so it is reported, not set aside as history.
    let found = inpatient("History of colon cancer, s/p CABG 2015.");
    assert_top(&found, &["Z95.1", "Z85.038"], 3);
    let coding = coding(
        "History of colon cancer, s/p CABG 2015.",
        Setting::Inpatient,
    );
    let status = coding
        .suggestions
        .iter()
        .find(|s| s.code == "Z95.1")
        .expect("Z95.1");
    assert_eq!(status.assertion, Assertion::Present);
}

/// An excerpt of the CMS Alphabetic Index in its CSV flattening: a main term sent to the
/// condition, an entry reached through it, and the main term "Old".
const INDEX_EXCERPT: &str = "RowID,Letter,Level,Term,See,SeeAlso,NonEssModif,Code
1,A,0,\"Antrum, antral\",condition,,,
2,D,0,Disease,,,,
3,D,1,antral,\"Sinusitis, maxillary\",,,
4,S,0,Sinusitis,,,(chronic),
5,S,1,maxillary,,,(antrum),J32.0
6,O,0,Old,,,(previous),I25.2
";

#[test]
fn a_word_the_index_sends_to_the_condition_states_none_alone() {
    let fixture = fixture_with_extras(TrainedModels::default(), &[INDEX_EXCERPT]);
    let codes = |text: &str| -> Vec<String> {
        fixture
            .engine
            .suggest(None, text, &SuggestOptions::default())
            .expect("suggest")
            .suggestions
            .into_iter()
            .map(|s| s.code)
            .collect()
    };
    assert!(codes("Chronic antral disease.").contains(&"J32.0".to_string()));
    let stomach = codes("Stenosing antral gastric neoplasia.");
    assert!(!stomach.contains(&"J32.0".to_string()), "{stomach:?}");
    // An age is no "Old" (I25.2); the title still reads.
    let age = codes("A 60-year-old man with pneumonia.");
    assert!(!age.contains(&"I25.2".to_string()), "{age:?}");
    assert!(codes("Old myocardial infarction.").contains(&"I25.2".to_string()));
}
