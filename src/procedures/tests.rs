use std::path::Path;

use super::*;
use crate::assets::Assets;
use crate::codeset::load_pcs;

/// Real FY2026 PCS codes (from `.assets/icd10pcs/icd_10_pcs.csv`) around the procedures the
/// unit tests compose, with their valid neighbours so that choices are real choices.
const FIXTURE_CODES: &str = "\
0DBE8ZX 0DBE8ZZ 0DJD8ZZ 0DTJ0ZZ 0DTJ4ZG 0DTJ4ZZ 0DTJ7ZZ 0DTJ8ZZ 0FT40ZZ 0FT44ZG 0FT44ZZ \
0SRC069 0SRC06A 0SRC06Z 0SRC07Z 0SRC0EZ 0SRC0J9 0SRC0JA 0SRC0JZ 0SRC0KZ 0SRD069 0SRD06A \
0SRD06Z 0SRD07Z 0SRD0EZ 0SRD0J9 0SRD0JA 0SRD0JZ 0SRD0KZ 0TT00ZZ 0TT04ZZ 0TT10ZZ 0TT14ZZ \
0TT20ZZ 0TB00ZZ 0TB10ZZ 0DTN0ZZ 0DTN4ZZ 0DTE0ZZ 0DTE4ZZ 0DTF0ZZ 0DTG0ZZ 5A1935Z 5A1945Z \
5A1955Z 10D00Z0 10D00Z1 10D00Z2 10E0XZZ \
0YQ50ZZ 0YQ54ZZ 0YQ60ZZ 0YQ64ZZ 0YU50JZ 0YU54JZ 0YU60JZ 0YU64JZ 08RJ3JZ 08RK3JZ 08DJ3ZZ \
08DK3ZZ 0FJ40ZZ 0FJ44ZZ 0TC70ZZ 0TC78ZZ 0TF70ZZ 0TF78ZZ 0TJ90ZZ 0TJ98ZZ 0PSH0ZZ 0PSH34Z \
0PSHXZZ 2W3CX1Z 2W3CX2Z 0SR9019 0SR9039 0SR9049 0SR904Z 0SR90J9 0SR90JZ 0UTC0ZZ 0UTC4ZZ \
0UT90ZZ 0UT94ZZ 0UT94ZL 0DBN8ZZ 0DTN8ZZ 0TT78ZZ";

fn fixture_set() -> CodeSet {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("pcs.csv");
    let csv: String = FIXTURE_CODES
        .split_whitespace()
        .map(|c| format!("\"{c}\",\"{c}\"\n"))
        .collect();
    std::fs::write(&path, csv).expect("write fixture");
    let mut set = CodeSet::default();
    load_pcs(&path, None, &mut set).expect("fixture loads");
    set
}

fn composed(composer: &ProcedureComposer, set: &CodeSet, text: &str) -> Vec<(String, f32)> {
    composer
        .find(&Note::analyze(text))
        .into_iter()
        .map(|m| (set.get(m.code).code.clone(), m.confidence))
        .collect()
}

fn codes_of(composer: &ProcedureComposer, set: &CodeSet, text: &str) -> Vec<String> {
    composed(composer, set, text)
        .into_iter()
        .map(|(c, _)| c)
        .collect()
}

#[test]
fn every_data_line_parses() {
    assert_eq!(lexicon::malformed_lines(), Vec::<String>::new());
    assert!(LEXICON.entries.len() > 400);
}

#[test]
fn laparoscopic_appendectomy_is_a_resection_through_a_scope() {
    let set = fixture_set();
    let composer = ProcedureComposer::new(&set);
    let note = Note::analyze("Procedure: laparoscopic appendectomy for acute appendicitis.");
    let mentions = composer.find(&note);
    assert_eq!(mentions.len(), 1, "{mentions:?}");
    let m = &mentions[0];
    assert_eq!(set.get(m.code).code, "0DTJ4ZZ");
    assert_eq!(m.confidence, 1.0);
    assert!(m.defaulted.is_empty());
    let words: Vec<&str> = m
        .tokens
        .iter()
        .map(|&t| note.tokens[t].norm.as_str())
        .collect();
    assert_eq!(words, ["laparoscopic", "appendectomy"]);
    assert_eq!(m.sentence, note.sentence_of_token(m.tokens[0]));
}

#[test]
fn what_is_removed_decides_the_root_operation() {
    let set = fixture_set();
    let composer = ProcedureComposer::new(&set);
    let codes = |text: &str| codes_of(&composer, &set, text);
    assert_eq!(
        codes("Colonoscopy with removal of a 5 mm sigmoid polyp by snare."),
        ["0DBN8ZZ"]
    );
    assert_eq!(
        codes("Ureteroscopy with removal of a left ureteral stone."),
        ["0TC78ZZ"]
    );
    assert_eq!(
        codes("The gallbladder was removed laparoscopically."),
        ["0FT44ZZ"]
    );
}

#[test]
fn the_approach_comes_from_the_words_or_is_defaulted_to_open() {
    let set = fixture_set();
    let composer = ProcedureComposer::new(&set);
    assert_eq!(
        composed(&composer, &set, "Open appendectomy performed."),
        [("0DTJ0ZZ".to_string(), 1.0)]
    );
    let mentions = composer.find(&Note::analyze(
        "Appendectomy performed without complication.",
    ));
    assert_eq!(mentions.len(), 1);
    assert_eq!(set.get(mentions[0].code).code, "0DTJ0ZZ");
    assert!(mentions[0].confidence < 1.0);
    assert_eq!(mentions[0].defaulted, ["approach"]);
}

#[test]
fn lap_chole_is_composed_from_abbreviations() {
    let set = fixture_set();
    let composer = ProcedureComposer::new(&set);
    assert_eq!(
        codes_of(&composer, &set, "Underwent lap chole."),
        ["0FT44ZZ"]
    );
    assert_eq!(
        codes_of(
            &composer,
            &set,
            "Laparoscopic cholecystectomy was performed."
        ),
        ["0FT44ZZ"]
    );
}

#[test]
fn diagnoses_and_body_parts_alone_are_not_procedures() {
    let set = fixture_set();
    let composer = ProcedureComposer::new(&set);
    for text in [
        "Acute appendicitis.",
        "Acute cholecystitis with gallbladder wall thickening.",
        "The gallbladder is distended.",
        "Appendix not visualized on ultrasound.",
    ] {
        assert_eq!(
            codes_of(&composer, &set, text),
            Vec::<String>::new(),
            "{text}"
        );
    }
}

#[test]
fn negated_planned_and_historical_procedures_are_skipped() {
    let set = fixture_set();
    let composer = ProcedureComposer::new(&set);
    for text in [
        "Appendectomy was declined.",
        "The patient declined appendectomy.",
        "s/p appendectomy in 2010.",
        "History of appendectomy.",
        "No surgery planned; consider colonoscopy.",
        "Laparoscopic appendectomy is scheduled for tomorrow.",
        "Plan: laparoscopic appendectomy.",
        "Recommend laparoscopic cholecystectomy as outpatient.",
        "Past Surgical History:\nAppendectomy\nCholecystectomy",
    ] {
        assert_eq!(
            codes_of(&composer, &set, text),
            Vec::<String>::new(),
            "{text}"
        );
    }
}

#[test]
fn laterality_chooses_the_body_part_value() {
    let set = fixture_set();
    let composer = ProcedureComposer::new(&set);
    let right = codes_of(&composer, &set, "Right total knee replacement.");
    let left = codes_of(&composer, &set, "Total knee arthroplasty, left.");
    assert_eq!(right, ["0SRC0JZ"]);
    assert_eq!(left, ["0SRD0JZ"]);
    assert_eq!(
        codes_of(&composer, &set, "Left TKA, cemented."),
        ["0SRD0J9"]
    );
    // Side not stated: both completions, each with low confidence.
    let unsided = composed(&composer, &set, "Laparoscopic nephrectomy.");
    assert_eq!(
        unsided.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
        ["0TT04ZZ", "0TT14ZZ"]
    );
    assert!(unsided.iter().all(|(_, conf)| *conf <= 0.5));
    assert_eq!(
        codes_of(&composer, &set, "Left partial nephrectomy."),
        ["0TB10ZZ"]
    );
    assert_eq!(
        codes_of(&composer, &set, "Bilateral nephrectomy."),
        ["0TT20ZZ"]
    );
}

#[test]
fn combining_forms_and_plain_words_name_segments() {
    let set = fixture_set();
    let composer = ProcedureComposer::new(&set);
    assert_eq!(
        codes_of(&composer, &set, "Open sigmoid colectomy."),
        ["0DTN0ZZ"]
    );
    assert_eq!(
        codes_of(&composer, &set, "Laparoscopic sigmoidectomy."),
        ["0DTN4ZZ"]
    );
    assert_eq!(
        codes_of(&composer, &set, "Open right hemicolectomy."),
        ["0DTF0ZZ"]
    );
    assert_eq!(
        codes_of(&composer, &set, "Total colectomy, open."),
        ["0DTE0ZZ"]
    );
}

#[test]
fn an_inspection_merges_into_the_definitive_procedure() {
    let set = fixture_set();
    let composer = ProcedureComposer::new(&set);
    let note = Note::analyze("Colonoscopy with biopsy.");
    let mentions = composer.find(&note);
    assert_eq!(mentions.len(), 1);
    assert_eq!(set.get(mentions[0].code).code, "0DBE8ZX");
    assert_eq!(mentions[0].tokens, [0, 2]);
    assert_eq!(
        codes_of(&composer, &set, "Colonoscopy to the cecum."),
        ["0DJD8ZZ"]
    );
}

#[test]
fn obstetric_and_extracorporeal_sections() {
    let set = fixture_set();
    let composer = ProcedureComposer::new(&set);
    assert_eq!(
        codes_of(&composer, &set, "Low transverse C-section."),
        ["10D00Z1"]
    );
    assert_eq!(
        codes_of(&composer, &set, "Normal spontaneous vaginal delivery."),
        ["10E0XZZ"]
    );
    assert_eq!(
        codes_of(&composer, &set, "Mechanical ventilation for 5 days."),
        ["5A1955Z"]
    );
    let unstated = composer.find(&Note::analyze("Placed on mechanical ventilation."));
    assert_eq!(unstated.len(), 1);
    assert_eq!(unstated[0].defaulted, ["duration"]);
}

#[test]
fn odd_input_never_panics() {
    let set = fixture_set();
    let composer = ProcedureComposer::new(&set);
    for text in [
        "",
        "-ectomy",
        "ectomy ectomy",
        "é appendectomy ✓",
        "x 3 x3 left right",
        "(((",
    ] {
        let _ = composer.find(&Note::analyze(text));
    }
    let empty = ProcedureComposer::new(&CodeSet::default());
    assert!(empty
        .find(&Note::analyze("Laparoscopic appendectomy."))
        .is_empty());
}

#[test]
fn composing_a_long_note_is_fast() {
    let set = fixture_set();
    let composer = ProcedureComposer::new(&set);
    let text = "Patient underwent laparoscopic appendectomy without complication and was \
                transferred to the floor in stable condition with pain controlled. "
        .repeat(25);
    let note = Note::analyze(&text);
    let start = std::time::Instant::now();
    let runs = 20;
    for _ in 0..runs {
        assert_eq!(composer.find(&note).len(), 25);
    }
    let per_note = start.elapsed() / runs;
    eprintln!("{per_note:?} per {}-token note", note.tokens.len());
    // Well under 1 ms in release; generous for unoptimised test builds.
    assert!(per_note.as_millis() < 20, "{per_note:?} per 400-word note");
}

/// Common procedure statements and the codes a coder assigns, on the real FY2026 code set.
const REAL_CASES: &[(&str, &[&str])] = &[
    (
        "Procedure: laparoscopic appendectomy for acute appendicitis.",
        &["0DTJ4ZZ"],
    ),
    ("Open appendectomy.", &["0DTJ0ZZ"]),
    ("Laparoscopic cholecystectomy.", &["0FT44ZZ"]),
    ("Lap chole for symptomatic cholelithiasis.", &["0FT44ZZ"]),
    ("Open cholecystectomy.", &["0FT40ZZ"]),
    ("Total abdominal hysterectomy.", &["0UT90ZZ"]),
    ("Total laparoscopic hysterectomy.", &["0UT94ZZ"]),
    ("Vaginal hysterectomy.", &["0UT97ZZ"]),
    ("Laparoscopic sigmoid colectomy.", &["0DTN4ZZ"]),
    ("Open right hemicolectomy.", &["0DTF0ZZ"]),
    ("Right total knee arthroplasty.", &["0SRC0JZ"]),
    ("Left TKA, cemented.", &["0SRD0J9"]),
    ("Right total hip arthroplasty.", &["0SR90JZ"]),
    ("ORIF of right distal radius fracture.", &["0PSH04Z"]),
    ("ORIF left tibia.", &["0QSH04Z"]),
    ("EGD.", &["0DJ08ZZ"]),
    ("Colonoscopy.", &["0DJD8ZZ"]),
    ("Colonoscopy with biopsy.", &["0DBE8ZX"]),
    ("Colonoscopy with polypectomy.", &["0DBE8ZZ"]),
    ("Primary low transverse cesarean section.", &["10D00Z1"]),
    ("Normal spontaneous vaginal delivery.", &["10E0XZZ"]),
    ("Tonsillectomy.", &["0CTPXZZ"]),
    ("Total thyroidectomy.", &["0GTK0ZZ"]),
    ("Right hemithyroidectomy.", &["0GTH0ZZ"]),
    ("Left simple mastectomy.", &["0HTU0ZZ"]),
    ("Bilateral mastectomy.", &["0HTV0ZZ"]),
    ("Right breast lumpectomy.", &["0HBT0ZZ"]),
    ("Laparoscopic left nephrectomy.", &["0TT14ZZ"]),
    ("Right partial nephrectomy.", &["0TB00ZZ"]),
    (
        "Right knee arthroscopy with partial medial meniscectomy.",
        &["0SBC4ZZ"],
    ),
    ("Ultrasound-guided paracentesis.", &["0W9G3ZZ"]),
    ("Diagnostic paracentesis.", &["0W9G3ZX"]),
    ("Right thoracentesis.", &["0W993ZZ"]),
    ("CABG x 3 with saphenous vein grafts.", &["021209W"]),
    ("PCI with drug-eluting stent to the LAD.", &["027034Z"]),
    ("Right cataract extraction with IOL.", &["08RJ3JZ"]),
    ("Open right inguinal hernia repair with mesh.", &["0YU50JZ"]),
    ("Laparoscopic splenectomy.", &["07TP4ZZ"]),
    ("Cystoscopy.", &["0TJB8ZZ"]),
    ("Hysteroscopy.", &["0UJD8ZZ"]),
    ("Flexible bronchoscopy.", &["0BJ08ZZ"]),
    ("Lumbar puncture.", &["009U3ZX"]),
    ("Endotracheal intubation.", &["0BH17EZ"]),
    ("Mechanical ventilation for 72 hours.", &["5A1945Z"]),
    (
        "Transfusion of 2 units of packed red blood cells.",
        &["30233N1"],
    ),
    ("Transfusion of platelets.", &["30233R1"]),
    ("TURP.", &["0VT08ZZ"]),
    (
        "Robotic-assisted laparoscopic radical prostatectomy.",
        &["0VT04ZZ"],
    ),
    ("Circumcision.", &["0VTTXZZ"]),
    ("Laparoscopic sleeve gastrectomy.", &["0DB64Z3"]),
    ("Left carotid endarterectomy.", &["03CL0ZZ"]),
    ("Left heart catheterization.", &["4A023N7"]),
    ("Open carpal tunnel release.", &["01N50ZZ"]),
    ("PEG tube placement.", &["0DH63UZ"]),
    ("Open tracheostomy.", &["0B110F4"]),
    ("Bone marrow biopsy.", &["07DR3ZX"]),
    ("Percutaneous liver biopsy.", &["0FB03ZX"]),
    ("Exploratory laparotomy.", &["0WJG0ZZ"]),
    ("Dilation and curettage.", &["0UDB7ZZ"]),
    ("Bilateral tubal ligation, laparoscopic.", &["0UL74CZ"]),
    ("EGD with gastric biopsy.", &["0DB68ZX"]),
    ("Laparoscopic-assisted vaginal hysterectomy.", &["0UT9FZZ"]),
    ("Right hip hemiarthroplasty.", &["0SRR0JZ"]),
    ("Closed reduction of left radius fracture.", &["0PSJXZZ"]),
    ("Chest tube placement, left.", &["0W9B30Z"]),
    ("CRRT was initiated.", &["5A1D90Z"]),
    (
        "Patient was intubated and placed on mechanical ventilation for 3 days.",
        &["0BH17EZ", "5A1945Z"],
    ),
    (
        "Laparoscopic appendectomy and open cholecystectomy.",
        &["0DTJ4ZZ", "0FT40ZZ"],
    ),
    (
        "Bilateral total knee arthroplasty.",
        &["0SRC0JZ", "0SRD0JZ"],
    ),
    (
        "Cystoscopy with transurethral resection of bladder tumor.",
        &["0TBB8ZZ"],
    ),
    ("ESRD on hemodialysis.", &[]),
    ("Consented for laparoscopic cholecystectomy.", &[]),
    ("Acute cholecystitis; gallbladder removal recommended.", &[]),
    ("Left thyroid lobectomy, open.", &["0GTG0ZZ"]),
    ("Thoracoscopic right upper lobectomy.", &["0BTC4ZZ"]),
    (
        "VATS wedge resection of a left lower lobe nodule.",
        &["0BBJ4ZZ"],
    ),
    (
        "Bronchoscopy with forceps biopsy of the left main bronchus.",
        &["0BB78ZX"],
    ),
    (
        "Colonoscopy with cold forceps biopsy of the ascending colon.",
        &["0DBK8ZX"],
    ),
    (
        "Left hip hemiarthroplasty, cemented metal femoral head prosthesis.",
        &["0SRS019"],
    ),
    (
        "Percutaneous in situ pinning of a left femoral neck fracture; no reduction.",
        &["0QH734Z"],
    ),
    ("Short arm cast applied to the left wrist.", &["2W3DX2Z"]),
    ("Diagnostic amniocentesis at 16 weeks.", &["10903ZU"]),
    (
        "Right chest tube placed for pneumothorax, left to suction.",
        &["0W9930Z"],
    ),
    (
        "Creation of left radiocephalic AV fistula for hemodialysis access.",
        &["031C0ZF"],
    ),
    ("Second-degree perineal laceration repaired.", &["0KQM0ZZ"]),
    ("D&C for retained placental fragments.", &["10D17ZZ"]),
    (
        "Laparoscopic salpingostomy with removal of left tubal ectopic pregnancy.",
        &["10T24ZZ"],
    ),
    (
        "CT of the abdomen with IV low-osmolar contrast was performed.",
        &["BW201ZZ"],
    ),
    (
        "Coronary angiography of multiple arteries using low-osmolar contrast.",
        &["B2111ZZ"],
    ),
    ("CT of the abdomen with contrast.", &["BW20YZZ"]),
    ("CT of the abdomen without contrast.", &["BW20ZZZ"]),
    ("Non-contrast CT of the abdomen.", &["BW20ZZZ"]),
];

/// Skips (with the reason) when the assets are absent, unless CHARTCODER_REQUIRE_SETUP=1.
fn real_codes_or_skip() -> Option<CodeSet> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(".assets");
    let require = std::env::var("CHARTCODER_REQUIRE_SETUP").is_ok_and(|v| v == "1");
    if !root.is_dir() {
        assert!(!require, "no assets at {}", root.display());
        eprintln!(
            "skipping: no assets at {}; run `scripts/setup`",
            root.display()
        );
        return None;
    }
    match CodeSet::load(&Assets::new(root)) {
        Ok(set) => Some(set),
        Err(e) if !require => {
            eprintln!("skipping: {e}; run `scripts/setup`");
            None
        }
        Err(e) => panic!("CodeSet::load failed: {e}"),
    }
}

#[test]
fn common_procedures_compose_on_the_real_code_set() {
    let Some(set) = real_codes_or_skip() else {
        return;
    };
    let composer = ProcedureComposer::new(&set);
    let mut wrong = Vec::new();
    for &(text, expected) in REAL_CASES {
        for code in expected {
            assert!(
                set.id(System::Icd10pcs, code).is_some(),
                "{code} is not a FY2026 PCS code"
            );
        }
        let got = codes_of(&composer, &set, text);
        if got != expected {
            wrong.push(format!("{text:?}: expected {expected:?}, composed {got:?}"));
        }
    }
    let right = REAL_CASES.len() - wrong.len();
    eprintln!("{right}/{} statements composed right", REAL_CASES.len());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn guard_phrases_mark_ordered_and_planned_procedures() {
    let check = |text: &str, words: &str| {
        let note = Note::analyze(text);
        let wanted: Vec<&str> = words.split(' ').collect();
        let norms: Vec<&str> = note.tokens.iter().map(|t| t.norm.as_str()).collect();
        let first = norms
            .windows(wanted.len())
            .position(|w| w == wanted.as_slice())
            .expect("words in note");
        super::guarded(&note, first, first + wanted.len() - 1)
    };
    assert!(check("Cough. Chest x ray ordered.", "chest x ray"));
    assert!(
        check("Plan: colonoscopy next week.", "colonoscopy")
            || check("Planned colonoscopy next week.", "colonoscopy")
    );
    assert!(!check("Chest x ray showed pneumonia.", "chest x ray"));
}

#[test]
fn a_device_the_note_denies_is_not_the_procedures() {
    let set = fixture_set();
    let composer = ProcedureComposer::new(&set);
    assert_eq!(
        codes_of(
            &composer,
            &set,
            "Laparoscopic left inguinal herniorrhaphy, primary suture repair, no mesh."
        ),
        ["0YQ64ZZ"]
    );
    assert_eq!(
        codes_of(
            &composer,
            &set,
            "Open repair of right inguinal hernia with polypropylene mesh."
        ),
        ["0YU50JZ"]
    );
}

#[test]
fn a_side_stated_once_serves_every_statement_on_that_body_system() {
    let set = fixture_set();
    let composer = ProcedureComposer::new(&set);
    // The lens implant states no side of its own; the extraction it replaces is integral.
    assert_eq!(
        codes_of(
            &composer,
            &set,
            "Right eye cataract extraction by phacoemulsification with posterior chamber IOL implant."
        ),
        ["08RJ3JZ"]
    );
    // The approach, too: the cervix came out through the laparoscope.
    let mut codes = codes_of(
        &composer,
        &set,
        "Total laparoscopic hysterectomy, cervix removed; ovaries and tubes preserved.",
    );
    codes.sort();
    assert_eq!(codes, ["0UT94ZZ", "0UTC4ZZ"]);
}

#[test]
fn a_laparoscopy_converted_to_open_is_the_open_procedure_and_an_inspection() {
    let set = fixture_set();
    let composer = ProcedureComposer::new(&set);
    let mut codes = codes_of(
        &composer,
        &set,
        "Laparoscopic cholecystectomy converted to open because of dense adhesions.",
    );
    codes.sort();
    assert_eq!(codes, ["0FJ44ZZ", "0FT40ZZ"]);
}

#[test]
fn stone_fragments_taken_out_after_a_semicolon_make_it_an_extirpation() {
    let set = fixture_set();
    let composer = ProcedureComposer::new(&set);
    assert_eq!(
        codes_of(
            &composer,
            &set,
            "Left ureteroscopy with laser lithotripsy; all stone fragments removed with a basket."
        ),
        ["0TC78ZZ"]
    );
    assert_eq!(
        codes_of(&composer, &set, "Left ureteroscopy with laser lithotripsy."),
        ["0TF78ZZ"]
    );
}

#[test]
fn a_cast_applied_with_a_fracture_reduction_is_not_coded_beside_it() {
    let set = fixture_set();
    let composer = ProcedureComposer::new(&set);
    assert_eq!(
        codes_of(
            &composer,
            &set,
            "Closed reduction of right distal radius fracture; short arm cast applied."
        ),
        ["0PSHXZZ"]
    );
    assert_eq!(
        codes_of(
            &composer,
            &set,
            "Right distal radius fracture: short arm cast applied."
        ),
        ["2W3CX2Z"]
    );
}

#[test]
fn a_modifier_several_words_on_still_belongs_to_its_procedure() {
    // Punctuation and hyphens do not count as words between them.
    let set = fixture_set();
    let composer = ProcedureComposer::new(&set);
    assert_eq!(
        codes_of(
            &composer,
            &set,
            "Right total hip arthroplasty, ceramic-on-polyethylene bearing, cemented."
        ),
        ["0SR9049"]
    );
}

#[test]
fn a_denied_biopsy_leaves_the_inspection() {
    let set = fixture_set();
    let composer = ProcedureComposer::new(&set);
    assert_eq!(
        codes_of(
            &composer,
            &set,
            "Colonoscopy to the cecum; normal, no biopsies."
        ),
        ["0DJD8ZZ"]
    );
}
