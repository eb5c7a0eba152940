//! The real `chartcoder` binary on bulk input: `batch` over JSONL (bad lines reported, not
//! fatal; resumable; a torn last line repaired) and over a folder of `.txt` files, and `eval`
//! against `../shared/tools/score.py`.
//!
//! Needs the fetched assets and the built index (`scripts/setup`); without them every test
//! here prints why and returns, or fails under `CHARTCODER_REQUIRE_SETUP=1` (see `common`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chartcoder::coding::Coding;

mod common;

fn root() -> &'static Path {
    common::root()
}

macro_rules! skip_without_setup {
    () => {
        if common::setup_or_skip().is_none() {
            return;
        }
    };
}

/// Runs the binary from the crate root with the default asset/index/model paths.
fn chartcoder<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_chartcoder"))
        .args(args)
        .current_dir(root())
        .env_remove("CHARTCODER_ASSETS")
        .env_remove("CHARTCODER_INDEX")
        .env_remove("CHARTCODER_MODELS")
        .env("CHARTCODER_LOG", "error")
        .output()
        .expect("run chartcoder")
}

fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn batch(input: &Path, output: &Path) -> Output {
    let out = chartcoder([
        "batch".as_ref(),
        "--input".as_ref(),
        input.as_os_str(),
        "--output".as_ref(),
        output.as_os_str(),
    ]);
    assert_success(&out, "batch");
    out
}

/// The output lines, each parsed; panics on a line that is not JSON or not newline-ended.
fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).expect("output is UTF-8");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "output must end with a newline"
    );
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("output line {} is not JSON ({e}): {line}", i + 1))
        })
        .collect()
}

fn id_of(v: &serde_json::Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("line without a string id: {v}"))
        .to_owned()
}

fn chars_of(text: &str, start: usize, end: usize) -> String {
    text.chars()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect()
}

/// An ok line is a `Coding` whose evidence quotes `text` exactly.
fn check_coding_line(line: &serde_json::Value, text: &str) -> Coding {
    let coding: Coding = serde_json::from_value(line.clone())
        .unwrap_or_else(|e| panic!("ok line does not parse as Coding ({e}): {line}"));
    assert_eq!(
        coding.code_set.get("icd10cm").map(String::as_str),
        Some("2026")
    );
    assert_eq!(
        coding.code_set.get("icd10pcs").map(String::as_str),
        Some("2026")
    );
    assert!(!coding.suggestions.is_empty(), "no suggestions: {line}");
    let len = text.chars().count();
    for s in &coding.suggestions {
        assert!((0.0..=1.0).contains(&s.score), "{} {}", s.code, s.score);
        for ev in &s.evidence {
            assert!(ev.start < ev.end && ev.end <= len, "{}: {ev:?}", s.code);
            assert_eq!(chars_of(text, ev.start, ev.end), ev.text, "{}", s.code);
        }
    }
    for pair in coding.suggestions.windows(2) {
        assert!(pair[0].score >= pair[1].score, "not sorted");
    }
    coding
}

fn check_error_line(line: &serde_json::Value) {
    let code = line["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("error line without error.code: {line}"));
    assert_eq!(code, "invalid_input", "{line}");
    assert!(
        line["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{line}"
    );
    assert!(line.get("suggestions").is_none(), "{line}");
}

const NOTE_A: &str =
    "ASSESSMENT:\r\nType 2 diabetes mellitus with diabetic neuropathy 😷.\r\nCOPD, stable.\r\n";
const NOTE_B: &str = "Ménière disease. Denies chest pain. Possible urinary tract infection.";
const NOTE_C: &str =
    "DIAGNOSIS:\nClosed fracture of the right femoral neck, initial encounter.\nHypertension.";

/// 3 valid notes (one with a numeric id), a malformed JSON line, an invalid UTF-8 line, a
/// line without "text", an empty-text note, and a blank line (not a document).
fn write_jsonl_input(path: &Path) {
    let mut bytes = Vec::new();
    let mut line = |b: &[u8]| {
        bytes.extend_from_slice(b);
        bytes.push(b'\n');
    };
    line(
        serde_json::json!({"id": "note-a", "text": NOTE_A})
            .to_string()
            .as_bytes(),
    );
    line(br#"{"id": "broken", "text": "Type 2 diabetes"#); // line 2: malformed
    line(
        serde_json::json!({"id": "note-b", "text": NOTE_B})
            .to_string()
            .as_bytes(),
    );
    line(b"{\"id\": \"latin1\", \"text\": \"caf\xe9 au lait\"}"); // line 4: invalid UTF-8
    line(br#"{"id": "no-text", "body": "COPD"}"#);
    line(b"   ");
    line(br#"{"id": "empty", "text": "  \n\t "}"#);
    line(
        serde_json::json!({"id": 42, "text": NOTE_C})
            .to_string()
            .as_bytes(),
    );
    std::fs::write(path, bytes).expect("write input");
}

/// Ids in input order; malformed and non-UTF-8 lines are named by their line number.
const EXPECTED_IDS: [&str; 7] = [
    "note-a", "line:2", "note-b", "line:4", "no-text", "empty", "42",
];

fn texts() -> HashMap<&'static str, &'static str> {
    HashMap::from([("note-a", NOTE_A), ("note-b", NOTE_B), ("42", NOTE_C)])
}

fn check_batch_output(path: &Path) -> Vec<serde_json::Value> {
    let lines = read_jsonl(path);
    let ids: Vec<String> = lines.iter().map(id_of).collect();
    assert_eq!(ids, EXPECTED_IDS, "one line per document, in input order");
    let texts = texts();
    for line in &lines {
        match texts.get(id_of(line).as_str()) {
            Some(text) => {
                assert!(line.get("error").is_none(), "{line}");
                check_coding_line(line, text);
            }
            None => check_error_line(line),
        }
    }
    lines
}

#[test]
fn jsonl_batch_reports_bad_lines_and_resumes() {
    skip_without_setup!();
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("notes.jsonl");
    let output = dir.path().join("codes.jsonl");
    write_jsonl_input(&input);

    let first = batch(&input, &output);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(stderr.contains("3 coded, 4 failed"), "{stderr}");
    let lines = check_batch_output(&output);
    let by_id: HashMap<String, &serde_json::Value> = lines.iter().map(|l| (id_of(l), l)).collect();
    let a: Coding = serde_json::from_value(by_id["note-a"].clone()).expect("coding");
    assert!(
        a.suggestions.iter().any(|s| s.code.starts_with("E11.4")),
        "note-a: {:?}",
        a.suggestions.iter().map(|s| &s.code).collect::<Vec<_>>()
    );
    let c: Coding = serde_json::from_value(by_id["42"].clone()).expect("coding");
    assert!(
        c.suggestions
            .iter()
            .any(|s| s.code.starts_with("S72.0") && s.code.ends_with('A')),
        "42: {:?}",
        c.suggestions.iter().map(|s| &s.code).collect::<Vec<_>>()
    );
    let complete = std::fs::read(&output).expect("read output");

    // Rerun: everything is already done; the file is untouched.
    let again = batch(&input, &output);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("7 already done"), "{stderr}");
    assert_eq!(std::fs::read(&output).expect("read"), complete);

    // Interrupted run: the last line lost and a torn partial line in its place.
    let text = String::from_utf8(complete.clone()).expect("utf-8");
    let last_start = text[..text.len() - 1].rfind('\n').map_or(0, |i| i + 1);
    let last_line = &text[last_start..];
    let torn = format!(
        "{}{}",
        &text[..last_start],
        &last_line[..last_line.len() / 2]
    );
    std::fs::write(&output, &torn).expect("write torn output");
    let resumed = batch(&input, &output);
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(
        stderr.contains("1 coded") && stderr.contains("6 already done"),
        "{stderr}"
    );
    let repaired = check_batch_output(&output);
    assert_eq!(
        repaired, lines,
        "the resumed output equals the uninterrupted one"
    );

    // A torn error line (no newline at the end of the file) is redone too.
    let error_cut = text
        .find("\n{\"error\"")
        .map(|i| i + 1)
        .expect("error line");
    let error_line_end = error_cut + text[error_cut..].find('\n').expect("newline");
    std::fs::write(&output, &text[..error_line_end]).expect("write");
    batch(&input, &output);
    assert_eq!(check_batch_output(&output), lines);
}

#[test]
fn unreadable_document_messages_are_not_double_prefixed() {
    skip_without_setup!();
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("notes.jsonl");
    let output = dir.path().join("codes.jsonl");
    write_jsonl_input(&input);
    batch(&input, &output);
    for line in read_jsonl(&output) {
        if let Some(message) = line["error"]["message"].as_str() {
            assert_eq!(message.matches("invalid input:").count(), 1, "{message}");
        }
    }
}

#[test]
fn folder_batch_codes_each_txt_file() {
    skip_without_setup!();
    let dir = tempfile::tempdir().expect("tempdir");
    let notes = dir.path().join("notes");
    std::fs::create_dir(&notes).expect("mkdir");
    let crlf =
        std::fs::read_to_string(root().join("tests/fixtures/notes/discharge-summary-crlf.txt"))
            .expect("fixture");
    std::fs::write(notes.join("a-short.txt"), NOTE_A).expect("write");
    std::fs::write(notes.join("b-discharge.txt"), &crlf).expect("write");
    std::fs::write(notes.join("c-latin1.txt"), b"Type 2 diabetes, caf\xe9\n").expect("write");
    std::fs::write(notes.join("d-blank.txt"), "\r\n\r\n").expect("write");
    std::fs::write(notes.join("readme.md"), "not a note").expect("write");
    let output = dir.path().join("codes.jsonl");

    let out = batch(&notes, &output);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 coded, 2 failed"), "{stderr}");
    let lines = read_jsonl(&output);
    let ids: Vec<String> = lines.iter().map(id_of).collect();
    assert_eq!(ids, ["a-short", "b-discharge", "c-latin1", "d-blank"]);
    check_coding_line(&lines[0], NOTE_A);
    let discharge = check_coding_line(&lines[1], &crlf);
    assert!(discharge.suggestions.len() >= 5);
    check_error_line(&lines[2]);
    assert!(
        lines[2]["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("UTF-8")),
        "{}",
        lines[2]
    );
    check_error_line(&lines[3]);

    // Resume over a folder.
    let before = std::fs::read(&output).expect("read");
    batch(&notes, &output);
    assert_eq!(std::fs::read(&output).expect("read"), before);
}

#[test]
fn batch_on_a_missing_input_fails_cleanly() {
    skip_without_setup!();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = chartcoder([
        "batch".as_ref(),
        "--input".as_ref(),
        dir.path().join("absent.jsonl").as_os_str(),
        "--output".as_ref(),
        dir.path().join("out.jsonl").as_os_str(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error[io_error]"), "{stderr}");
    assert!(stderr.contains("absent.jsonl"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// eval

const DEV_NOTES: [(&str, &str); 3] = [
    (
        "dev1",
        "ASSESSMENT:\nType 2 diabetes mellitus with diabetic neuropathy.\nCOPD, stable.\n",
    ),
    (
        "dev2",
        "DIAGNOSIS:\nClosed fracture of the right femoral neck, initial encounter.\nEssential hypertension.\n",
    ),
    (
        "dev3",
        "Chest pain since this morning. No evidence of pneumonia. Congestive heart failure.\n",
    ),
];

const DEV_GOLD: &str = "dev1\tE11.40\ndev1\tJ44.9\ndev2\tS72.001A\ndev2\tI10\n\
                        dev3\tR07.9\ndev3\tI50.9\ndev3\tN39.0\n";

fn python3() -> Option<PathBuf> {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then(|| PathBuf::from("python3"))
}

#[test]
fn eval_report_agrees_with_score_py() {
    skip_without_setup!();
    let dir = tempfile::tempdir().expect("tempdir");
    let texts = dir.path().join("texts");
    std::fs::create_dir(&texts).expect("mkdir");
    for (id, text) in DEV_NOTES {
        std::fs::write(texts.join(format!("{id}.txt")), text).expect("write");
    }
    let gold = dir.path().join("goldD.tsv");
    std::fs::write(&gold, DEV_GOLD).expect("write gold");
    let report = dir.path().join("report.json");
    let predictions = dir.path().join("predictions.jsonl");
    let out = chartcoder([
        "eval".as_ref(),
        "--texts".as_ref(),
        texts.as_os_str(),
        "--gold".as_ref(),
        gold.as_os_str(),
        "--report".as_ref(),
        report.as_os_str(),
        "--predictions".as_ref(),
        predictions.as_os_str(),
    ]);
    assert_success(&out, "eval");

    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    let systems = value["systems"].as_array().expect("systems array");
    assert_eq!(systems.len(), 1, "{value}");
    let diagnoses = &systems[0];
    assert_eq!(diagnoses["system"], "Diagnoses");
    assert_eq!(diagnoses["gold_docs"], 3);
    assert_eq!(diagnoses["gold_codes"], 7);
    assert_eq!(diagnoses["predicted_docs"], 3);
    let metrics = &diagnoses["metrics"];
    for key in [
        "map",
        "map_category",
        "micro_p",
        "micro_r",
        "micro_f1",
        "recall_at_10",
    ] {
        let m = metrics[key]
            .as_f64()
            .unwrap_or_else(|| panic!("metrics.{key} missing: {metrics}"));
        assert!((0.0..=1.0).contains(&m), "{key} = {m}");
    }
    let map = metrics["map"].as_f64().expect("map");
    assert!(map > 0.0, "the easy dev set scores some MAP: {metrics}");

    // Predictions: one Coding per note, evidence quoting the note.
    let lines = read_jsonl(&predictions);
    assert_eq!(lines.len(), DEV_NOTES.len());
    for line in &lines {
        let id = id_of(line);
        let text = DEV_NOTES
            .iter()
            .find(|(d, _)| *d == id)
            .map(|(_, t)| *t)
            .unwrap_or_else(|| panic!("unexpected id {id}"));
        check_coding_line(line, text);
    }

    // The project's reference scorer agrees.
    let score_py = root().join("../shared/tools/score.py");
    let Some(python) = python3() else {
        common::skip_because("the score.py comparison: python3 not found");
        return;
    };
    if !score_py.is_file() {
        common::skip_because(format!(
            "the score.py comparison: {} not found",
            score_py.display()
        ));
        return;
    }
    let scored = Command::new(python)
        .arg(&score_py)
        .arg("docs")
        .arg(&predictions)
        .arg(&gold)
        .args(["--system", "D"])
        .output()
        .expect("run score.py");
    assert_success(&scored, "score.py");
    let py: serde_json::Value =
        serde_json::from_slice(&scored.stdout).expect("score.py prints JSON");
    let py_map = py["map"].as_f64().expect("score.py map");
    assert_eq!(
        format!("{map:.3}"),
        format!("{py_map:.3}"),
        "report {metrics} vs score.py {py}"
    );
    for key in ["map_category", "recall_at_10", "micro_p", "micro_r"] {
        let ours = metrics[key].as_f64().expect("metric");
        let theirs = py[key].as_f64().expect("score.py metric");
        assert!((ours - theirs).abs() < 1e-3, "{key}: {ours} vs {theirs}");
    }
    assert_eq!(py["docs"], 3);
    assert_eq!(py["missing_docs"], 0);
}
