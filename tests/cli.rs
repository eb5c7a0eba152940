//! The `chartcoder` binary end to end: exit statuses, JSON output, JSONL batches with bad
//! lines. The CLI always loads the full asset set, so most checks run only where
//! `scripts/setup` has fetched `.assets/` and built `index/default` (see `common` for what
//! happens when it has not).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

fn root() -> &'static Path {
    common::root()
}

/// The binary with paths given explicitly and the environment's overrides removed.
fn chartcoder(assets: &Path, index: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chartcoder"));
    cmd.current_dir(root())
        .env_remove("CHARTCODER_ASSETS")
        .env_remove("CHARTCODER_INDEX")
        .env_remove("CHARTCODER_LOG")
        .arg("--assets")
        .arg(assets)
        .arg("--index")
        .arg(index);
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the chartcoder binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `.assets` and `index/default` of this checkout, when setup has run (see `common` for
/// what happens when it has not).
fn real() -> Option<(PathBuf, PathBuf)> {
    let config = common::setup_or_skip()?;
    Some((config.assets, config.index))
}

#[test]
fn help_and_usage_errors() {
    let nowhere = root().join("target/nonexistent");
    let out = run(chartcoder(&nowhere, &nowhere).arg("--help"));
    assert!(out.status.success());
    let help = stdout(&out);
    for command in ["setup", "index", "lookup", "lookup-devset"] {
        assert!(help.contains(command), "{command} in --help:\n{help}");
    }
    // clap rejects unknown subcommands and --input without --output with status 2.
    let out = run(chartcoder(&nowhere, &nowhere).arg("frobnicate"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = run(chartcoder(&nowhere, &nowhere).args(["lookup", "--input", "x.jsonl"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn missing_assets_exit_3_naming_setup() {
    let nowhere = root().join("target/nonexistent-assets");
    let out = run(chartcoder(&nowhere, &nowhere).args(["lookup", "chest pain"]));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("error[missing_asset]"), "{message}");
    assert!(message.contains("chartcoder setup"), "{message}");
    assert!(!message.contains("panicked"), "{message}");
}

/// Out-of-range options are refused before any work (no setup needed), exit 2, with the
/// message every surface gives (`chartcoder::options`; HTTP and the editor say the same).
#[test]
fn out_of_range_options_exit_2_with_the_shared_message() {
    let nowhere = root().join("target/nonexistent");
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("note.txt");
    std::fs::write(&note, "Essential hypertension.").unwrap();
    let note = note.to_str().unwrap();
    let out_file = dir.path().join("out.jsonl");
    let out_file = out_file.to_str().unwrap();
    let top_k = chartcoder::options::top_k(5000).unwrap_err().to_string();
    let zero = chartcoder::options::top_k(0).unwrap_err().to_string();
    let negative = chartcoder::options::top_k(-3).unwrap_err().to_string();
    let min_score = chartcoder::options::min_score(1.5).unwrap_err().to_string();
    let cases: [(&[&str], &str); 8] = [
        (&["suggest", note, "--top-k", "5000"], &top_k),
        (&["suggest", note, "--top-k", "0"], &zero),
        (&["suggest", note, "--top-k", "-3"], &negative),
        (&["suggest", note, "--min-score", "1.5"], &min_score),
        (
            &[
                "batch", "--input", note, "--output", out_file, "--top-k", "5000",
            ],
            &top_k,
        ),
        (
            &[
                "batch",
                "--input",
                note,
                "--output",
                out_file,
                "--min-score",
                "1.5",
            ],
            &min_score,
        ),
        (
            &[
                "eval",
                "--texts",
                "/nonexistent",
                "--gold",
                "x.tsv",
                "--top-k",
                "5000",
            ],
            &top_k,
        ),
        (&["lookup", "DM2", "--top-k", "5000"], &top_k),
    ];
    for (args, message) in cases {
        let out = run(chartcoder(&nowhere, &nowhere).args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("error[invalid_input]: {message}")),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert!(!Path::new(out_file).exists(), "nothing written");
}

/// A note file that cannot be read is an `io_error` naming it (exit 1), not a panic.
#[test]
fn unreadable_note_is_an_io_error() {
    let nowhere = root().join("target/nonexistent");
    let out = run(chartcoder(&nowhere, &nowhere).args(["suggest", "/nonexistent/missing.txt"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("error[io_error]"), "{message}");
    assert!(message.contains("/nonexistent/missing.txt"), "{message}");
    assert!(!message.contains("panicked"), "{message}");
}

#[test]
fn missing_index_exits_3_naming_index_build() {
    let Some((assets, _)) = real() else { return };
    for args in [&["lookup", "x"][..], &["index", "info"][..]] {
        let out = run(chartcoder(&assets, Path::new("/nonexistent")).args(args));
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", stderr(&out));
        let message = stderr(&out);
        assert!(message.contains("error[index_unavailable]"), "{message}");
        assert!(message.contains("chartcoder index build"), "{message}");
        assert!(message.contains("/nonexistent"), "{message}");
    }
}

#[test]
fn corrupt_index_exits_3() {
    let Some((assets, _)) = real() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manifest.json"), b"{ not json").unwrap();
    let out = run(chartcoder(&assets, dir.path()).args(["lookup", "chest pain"]));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("corrupt manifest"), "{message}");
    assert!(message.contains("chartcoder index build"), "{message}");
}

#[test]
fn invalid_queries_exit_2() {
    let Some((assets, index)) = real() else {
        return;
    };
    let long = "a".repeat(chartcoder::index::MAX_QUERY_CHARS + 1);
    let cases: [&[&str]; 5] = [
        &["lookup", ""],
        &["lookup", "  \t "],
        &["lookup", &long],
        &["lookup"],
        &["lookup", "chest pain", "--system", "icd11"],
    ];
    for args in cases {
        let out = run(chartcoder(&assets, &index).args(args));
        let shown: Vec<&str> = args.iter().map(|a| &a[..a.len().min(20)]).collect();
        assert_eq!(out.status.code(), Some(2), "{shown:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("error[invalid_input]"),
            "{shown:?}: {}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty());
    }
}

#[test]
fn unknown_extra_format_exits_2_and_builds_nothing() {
    let Some((assets, _)) = real() else { return };
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("scan.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    let index = dir.path().join("index");
    let out = run(chartcoder(&assets, &index)
        .args(["index", "build", "--extra"])
        .arg(&png));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("error[unknown_format]"), "{message}");
    assert!(message.contains("scan.png"), "{message}");
    assert!(!index.exists());
}

#[test]
fn lookup_json() {
    let Some((assets, index)) = real() else {
        return;
    };
    let out = run(chartcoder(&assets, &index).args(["lookup", "acute chest pain", "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let value: serde_json::Value =
        serde_json::from_str(stdout(&out).trim()).expect("one JSON object");
    assert_eq!(value["query"], "acute chest pain");
    assert_eq!(value["code_set"]["icd10cm"], "2026");
    assert_eq!(value["code_set"]["icd10pcs"], "2026");
    let suggestions = value["suggestions"].as_array().unwrap();
    assert_eq!(suggestions.len(), 10, "default --top-k");
    let top3: Vec<&str> = suggestions[..3]
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert!(top3.iter().any(|c| c.starts_with("R07")), "{top3:?}");
    for s in suggestions {
        assert_eq!(s["system"], "icd10cm");
        assert!(!s["title"].as_str().unwrap().is_empty());
        let score = s["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&score));
    }

    // The plain table: one line per code, code first.
    let out = run(chartcoder(&assets, &index).args(["lookup", "CHF", "--top-k", "3"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(table.lines().next().unwrap().starts_with("I50."), "{table}");
}

#[test]
fn lookup_jsonl_reports_bad_lines_and_goes_on() {
    let Some((assets, index)) = real() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("queries.jsonl");
    let output = dir.path().join("out.jsonl");
    let long = "a".repeat(chartcoder::index::MAX_QUERY_CHARS + 1);
    let mut lines: Vec<Vec<u8>> = vec![
        br#"{"id": "ok", "text": "acute chest pain"}"#.to_vec(),
        br#"{"id": "broken", "text": "chest"#.to_vec(),
        b"{\"id\": \"latin1\", \"text\": \"caf\xe9\"}".to_vec(),
        br#"{"id": 7, "query": "no text field"}"#.to_vec(),
        br#"{"id": "blank", "text": "   "}"#.to_vec(),
        format!(r#"{{"id": "long", "text": "{long}"}}"#).into_bytes(),
        br#"{"id": "last", "text": "type 2 diabetes mellitus"}"#.to_vec(),
    ];
    // A blank line is skipped (no output line); CRLF endings are accepted.
    lines.insert(6, b"".to_vec());
    let mut bytes = lines.join(&b"\n"[..]);
    bytes.extend_from_slice(b"\r\n");
    std::fs::write(&input, bytes).unwrap();

    let out = run(chartcoder(&assets, &index)
        .arg("lookup")
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .args(["--top-k", "3"]));
    assert!(
        out.status.success(),
        "a bad line never fails the run: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("2 queries looked up, 5 rejected"),
        "{}",
        stderr(&out)
    );

    let written = std::fs::read_to_string(&output).unwrap();
    let rows: Vec<serde_json::Value> = written
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect();
    assert_eq!(
        rows.len(),
        7,
        "one line per non-blank input line:\n{written}"
    );

    assert_eq!(rows[0]["id"], "ok");
    let codes: Vec<&str> = rows[0]["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 3);
    assert!(codes.iter().any(|c| c.starts_with("R07")), "{codes:?}");
    assert!(rows[0].get("error").is_none());

    let error = |row: &serde_json::Value, line: u64, id: serde_json::Value, message_part: &str| {
        assert_eq!(row["line"], line, "{row}");
        assert_eq!(row["id"], id, "{row}");
        assert_eq!(row["error"]["code"], "invalid_input", "{row}");
        let message = row["error"]["message"].as_str().unwrap();
        assert!(message.contains(message_part), "{row}");
        assert!(row.get("suggestions").is_none(), "{row}");
    };
    error(&rows[1], 2, serde_json::Value::Null, "malformed JSON");
    error(&rows[2], 3, serde_json::Value::Null, "invalid UTF-8");
    error(&rows[3], 4, serde_json::json!(7), "\"text\"");
    error(&rows[4], 5, serde_json::json!("blank"), "empty query");
    error(&rows[5], 6, serde_json::json!("long"), "longer than");

    assert_eq!(rows[6]["id"], "last");
    assert_eq!(rows[6]["suggestions"][0]["code"], "E11.9");
}

#[test]
fn index_info_prints_the_manifest() {
    let Some((assets, index)) = real() else {
        return;
    };
    let out = run(chartcoder(&assets, &index).args(["index", "info"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let printed: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON manifest");
    let manifest = chartcoder::index::Manifest::read(&index).unwrap();
    assert_eq!(printed, serde_json::to_value(&manifest).unwrap());
    assert_eq!(printed["format"], chartcoder::index::INDEX_FORMAT);
    assert_eq!(printed["icd10cm_billable_codes"], 74_719);
    assert_eq!(printed["icd10pcs_codes"], 78_638);
    assert_eq!(printed["code_sets"][0]["fiscal_year"], "2026");
}
