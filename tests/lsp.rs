//! `chartcoder lsp` end to end: the real binary over stdio, driven by a minimal JSON-RPC client
//! (Content-Length framing) written here, so that the framing, the handshake and the position
//! arithmetic are checked the way an editor sees them.
//!
//! Sessions that code notes need the fetched assets and the built index (`scripts/setup`);
//! without them they print why and return, or fail under `CHARTCODER_REQUIRE_SETUP=1` (see
//! `common`).
//!
//! Positions are checked against UTF-16 arithmetic done here, independently of the server.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use chartcoder::feedback::{Decision, FeedbackStore, SqliteFeedbackStore};
use serde_json::{json, Value};

/// Long enough for the engine to open on a loaded machine.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The note of the main session: non-ASCII text (an emoji is two UTF-16 units) before the
/// diagnoses, and CRLF line breaks.
const NOTE: &str = "Note 😷 for Mr Ünal\r\nPt 😷 Ménière… with type 2 diabetes mellitus with diabetic neuropathy and COPD. No evidence of pneumonia.\r\n";

mod common;

fn root() -> &'static Path {
    common::root()
}

/// Whether `scripts/setup` has run (see `common` for what happens when it has not).
fn have_engine() -> bool {
    common::setup_or_skip().is_some()
}

/// One server at a time: the engines would compete for two cores and blur the latency figure.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

// ---- a tiny LSP client ----

struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    incoming: mpsc::Receiver<Value>,
    /// Messages read while waiting for something else.
    backlog: VecDeque<Value>,
    next_id: i64,
}

impl Client {
    fn start(extra_args: &[&str]) -> Client {
        Client::start_with_env(extra_args, &[])
    }

    fn start_with_env(extra_args: &[&str], env: &[(&str, &str)]) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chartcoder"))
            .arg("lsp")
            .args(extra_args)
            .current_dir(root())
            .env("CHARTCODER_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start chartcoder lsp");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, incoming) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        Client {
            stdin: child.stdin.take(),
            child,
            incoming,
            backlog: VecDeque::new(),
            next_id: 0,
        }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        let stdin = self.stdin.as_mut().expect("stdin open");
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        stdin.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The whole response (`result` or `error`).
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.wait(|m| m.get("method").is_none() && m["id"] == json!(id))
    }

    /// The result of a request that must succeed.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let response = self.call(method, params);
        assert!(
            response.get("error").is_none(),
            "{method} failed: {response}"
        );
        response["result"].clone()
    }

    /// The first message (backlog first) matching `wanted`; the others stay in the backlog.
    fn wait(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.backlog.iter().position(&wanted) {
            return self.backlog.remove(i).expect("present");
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self
                .incoming
                .recv_timeout(left)
                .expect("the server answered in time");
            if wanted(&message) {
                return message;
            }
            self.backlog.push_back(message);
        }
    }

    /// The next `publishDiagnostics` for `uri` at `version`.
    fn diagnostics(&mut self, uri: &str, version: i64) -> Vec<Value> {
        let message = self.wait(|m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && m["params"]["version"] == version
        });
        message["params"]["diagnostics"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn initialize(&mut self, encodings: &[&str]) -> Value {
        self.initialize_with(encodings, json!({"coder": "test"}))
    }

    fn initialize_with(&mut self, encodings: &[&str], options: Value) -> Value {
        let result = self.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": null,
                "capabilities": {"general": {"positionEncodings": encodings}},
                "initializationOptions": options,
            }),
        );
        self.notify("initialized", json!({}));
        result
    }

    fn open(&mut self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "plaintext", "version": version, "text": text}}),
        );
    }

    fn change(&mut self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
        );
    }

    /// `shutdown` then `exit`; the process's exit status.
    fn shutdown(mut self) -> ExitStatus {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        self.finish()
    }

    fn finish(mut self) -> ExitStatus {
        drop(self.stdin.take());
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // A failed assertion must not leave a server behind.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One framed message, or `None` at the end of the stream.
fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length: ") {
            length = n.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

// ---- UTF-16 positions, computed here independently of the server ----

/// (line, UTF-16 character) of byte offset `byte`; lines end at `\n` (CRLF included).
fn utf16_position(text: &str, byte: usize) -> (u64, u64) {
    let before = &text[..byte];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() as u64;
    (line, before[line_start..].encode_utf16().count() as u64)
}

/// Byte offset of an LSP position given in UTF-16 units.
fn byte_of(text: &str, position: &Value) -> usize {
    let line = position["line"].as_u64().expect("line") as usize;
    let character = position["character"].as_u64().expect("character") as usize;
    let line_start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
    let mut units = 0;
    for (i, c) in text[line_start..].char_indices() {
        if units >= character || c == '\r' || c == '\n' {
            return line_start + i;
        }
        units += c.len_utf16();
    }
    text.len()
}

/// The text a range covers.
fn slice<'a>(text: &'a str, range: &Value) -> &'a str {
    &text[byte_of(text, &range["start"])..byte_of(text, &range["end"])]
}

fn chars_before(text: &str, byte: usize) -> u64 {
    text[..byte].chars().count() as u64
}

fn code_of(d: &Value) -> &str {
    d["code"].as_str().unwrap_or_default()
}

fn file_uri(name: &str) -> String {
    format!("file:///tmp/chartcoder-lsp-test/{name}")
}

// ---- sessions ----

#[test]
fn a_note_is_coded_with_utf16_positions_hover_actions_and_feedback() {
    if !have_engine() {
        return;
    }
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db: PathBuf = dir.path().join("feedback.sqlite");
    let mut client = Client::start(&["--feedback-db", db.to_str().expect("utf-8 path")]);

    let init = client.initialize(&["utf-16"]);
    let caps = &init["capabilities"];
    assert_eq!(caps["positionEncoding"], "utf-16");
    assert_eq!(caps["hoverProvider"], true);
    let commands = caps["executeCommandProvider"]["commands"].to_string();
    assert!(
        commands.contains("chartcoder.listSuggestions"),
        "{commands}"
    );

    let uri = file_uri("note.txt");
    client.open(&uri, 1, NOTE);
    let diagnostics = client.diagnostics(&uri, 1);

    // Type 2 diabetes with neuropathy: an E11.4x code at the diabetes words.
    let diabetes = diagnostics
        .iter()
        .find(|d| code_of(d).starts_with("E11.4"))
        .unwrap_or_else(|| panic!("no E11.4x diagnostic in {diagnostics:#?}"))
        .clone();
    let code = code_of(&diabetes).to_string();
    assert_eq!(diabetes["source"], "chartcoder");
    assert!(
        matches!(diabetes["severity"].as_u64(), Some(3 | 4)),
        "{diabetes}"
    );
    assert!(diabetes["message"].as_str().unwrap().starts_with(&code));
    assert!(diabetes["data"]["code"] == json!(code), "{diabetes}");

    // Computed by hand: "Pt " (3) + 😷 (2 UTF-16 units) + " " (1) + "Ménière…" (8) +
    // " with type 2 " (13) puts "diabetes" at character 27 of line 1 (26 code points).
    let at = NOTE.find("diabetes").unwrap();
    assert_eq!(utf16_position(NOTE, at), (1, 27));
    let neuropathy_end = NOTE.find("neuropathy").unwrap() + "neuropathy".len();
    let range = &diabetes["range"];
    let start = (
        range["start"]["line"].as_u64().unwrap(),
        range["start"]["character"].as_u64().unwrap(),
    );
    let end = (
        range["end"]["line"].as_u64().unwrap(),
        range["end"]["character"].as_u64().unwrap(),
    );
    assert_eq!(start.0, 1, "{range}");
    assert!(
        start <= (1, 27) && end >= utf16_position(NOTE, neuropathy_end),
        "{range}"
    );
    let span = slice(NOTE, range);
    assert!(
        span.contains("diabetes") && span.contains("neuropathy"),
        "{span:?}"
    );

    // Nothing for the negated pneumonia.
    for d in &diagnostics {
        let text = slice(NOTE, &d["range"]);
        assert!(!text.contains("pneumonia"), "negated pneumonia coded: {d}");
    }

    // listSuggestions returns the engine's own evidence: same text, same char offsets.
    let listing = client.request(
        "workspace/executeCommand",
        json!({"command": "chartcoder.listSuggestions", "arguments": [uri]}),
    );
    assert_eq!(listing["version"], 1);
    let suggestions = listing["suggestions"].as_array().expect("suggestions");
    let listed = suggestions
        .iter()
        .find(|s| s["code"] == json!(code))
        .expect("the diagnostic's code is listed");
    assert_eq!(listed["status"], "suggested");
    let evidence = listed["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["text"].as_str() == Some(span))
        .unwrap_or_else(|| panic!("no evidence {span:?} in {listed}"));
    let start_byte = byte_of(NOTE, &range["start"]);
    let end_byte = byte_of(NOTE, &range["end"]);
    assert_eq!(
        evidence["start"].as_u64(),
        Some(chars_before(NOTE, start_byte))
    );
    assert_eq!(evidence["end"].as_u64(), Some(chars_before(NOTE, end_byte)));

    // Hover inside the span: markdown naming the code, with the tabular notes of E11.
    let hover = client.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 28}}),
    );
    assert_eq!(hover["contents"]["kind"], "markdown");
    let markdown = hover["contents"]["value"].as_str().expect("markdown");
    assert!(markdown.contains(&format!("**{code}**")), "{markdown}");
    assert!(
        markdown.contains("(E11)") && markdown.contains("Use additional code"),
        "no inherited tabular notes in {markdown}"
    );

    // Code actions on the diagnostic: accept appends a Codes: block at the end of the note.
    let actions = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": uri},
            "range": range,
            "context": {"diagnostics": [diabetes]},
        }),
    );
    let actions = actions.as_array().expect("actions");
    let accept = actions
        .iter()
        .find(|a| {
            a["title"]
                .as_str()
                .unwrap_or("")
                .starts_with(&format!("Accept {code}"))
        })
        .unwrap_or_else(|| panic!("no Accept {code} in {actions:#?}"))
        .clone();
    let reject = actions
        .iter()
        .find(|a| a["title"] == json!(format!("Reject {code}")))
        .expect("a Reject action")
        .clone();
    let edits = accept["edit"]["changes"][&uri].as_array().expect("edits");
    assert_eq!(edits.len(), 1);
    let new_text = edits[0]["newText"].as_str().unwrap();
    assert!(new_text.starts_with("\r\nCodes:\r\n- "), "{new_text:?}");
    assert!(new_text.contains(&code), "{new_text:?}");
    let end_of_note = utf16_position(NOTE, NOTE.len());
    assert_eq!(end_of_note, (2, 0));
    assert_eq!(
        edits[0]["range"]["start"],
        json!({"line": 2, "character": 0})
    );
    assert_eq!(edits[0]["range"]["end"], json!({"line": 2, "character": 0}));

    // Accepting records the decision.
    let command = &accept["command"];
    assert_eq!(command["command"], "chartcoder.accept");
    let recorded = client.request(
        "workspace/executeCommand",
        json!({"command": command["command"], "arguments": command["arguments"]}),
    );
    assert_eq!(recorded["recorded"], true);

    // Apply the edit and add a diagnosis: the new text is coded, the accepted code is settled.
    let edited = format!("{}Known essential hypertension.\r\n{new_text}", NOTE);
    client.change(&uri, 2, &edited);
    let after = client.diagnostics(&uri, 2);
    assert!(
        after.iter().any(|d| code_of(d) == "I10"),
        "no I10 after the change: {after:#?}"
    );
    assert!(
        !after.iter().any(|d| code_of(d) == code),
        "{code} was accepted but still suggested"
    );
    for d in &after {
        assert!(!slice(&edited, &d["range"]).contains("Codes:"), "{d}");
    }

    // Rejecting I10 records it and drops its diagnostic from the next publish.
    let i10 = after.iter().find(|d| code_of(d) == "I10").unwrap().clone();
    let actions = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": i10["range"], "context": {"diagnostics": [i10]}}),
    );
    let reject_i10 = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "Reject I10")
        .expect("Reject I10")
        .clone();
    let recorded = client.request(
        "workspace/executeCommand",
        json!({"command": reject_i10["command"]["command"], "arguments": reject_i10["command"]["arguments"]}),
    );
    assert_eq!(recorded["recorded"], true);
    let republished = client.diagnostics(&uri, 2);
    assert!(!republished.iter().any(|d| code_of(d) == "I10"));
    assert!(!republished.is_empty());

    // Both decisions are in the store, under the document URI and the configured coder.
    let store = SqliteFeedbackStore::open(&db).expect("open feedback store");
    let history = store.history(&uri).expect("history");
    let decisions: Vec<(String, Decision, String)> = history
        .iter()
        .map(|r| (r.code.clone(), r.decision, r.coder.clone()))
        .collect();
    assert_eq!(
        decisions,
        vec![
            (code.clone(), Decision::Accept, "test".to_string()),
            ("I10".to_string(), Decision::Reject, "test".to_string()),
        ]
    );
    assert!(history[1]
        .evidence
        .as_array()
        .is_some_and(|e| !e.is_empty()));
    assert!(reject["command"]["arguments"][0]["evidence"].is_array());
    assert!(client.shutdown().success());

    // A later session over the same store remembers the rejection.
    let mut client = Client::start(&["--feedback-db", db.to_str().expect("utf-8 path")]);
    client.initialize(&["utf-16"]);
    client.open(&uri, 1, &edited);
    let reopened = client.diagnostics(&uri, 1);
    assert!(!reopened.is_empty());
    assert!(
        !reopened.iter().any(|d| code_of(d) == "I10"),
        "{reopened:#?}"
    );
    assert!(client.shutdown().success());
}

/// `--server`: the same session against a running `chartcoder serve`, with a bearer token;
/// decisions land in the server's feedback store.
#[test]
fn server_mode_codes_through_the_http_api() {
    if !have_engine() {
        return;
    }
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("server-feedback.sqlite");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let serve = Command::new(env!("CARGO_BIN_EXE_chartcoder"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--feedback-db",
        ])
        .arg(&db)
        .current_dir(root())
        .env("CHARTCODER_TOKENS", "lsp-test-token")
        .env("CHARTCODER_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start chartcoder serve");
    let _serve = KillOnDrop(serve);
    wait_until_ready(&base);

    let mut client = Client::start_with_env(
        &["--server", &base],
        &[("CHARTCODER_TOKEN", "lsp-test-token")],
    );
    client.initialize(&["utf-16"]);
    let uri = file_uri("remote.txt");
    client.open(&uri, 1, NOTE);
    let diagnostics = client.diagnostics(&uri, 1);
    let diabetes = diagnostics
        .iter()
        .find(|d| code_of(d).starts_with("E11.4"))
        .unwrap_or_else(|| panic!("no E11.4x diagnostic in {diagnostics:#?}"))
        .clone();
    let span = slice(NOTE, &diabetes["range"]);
    assert!(span.contains("diabetes"), "{span:?}");
    let hover = client.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 28}}),
    );
    assert!(hover["contents"]["value"]
        .as_str()
        .is_some_and(|md| md.contains(code_of(&diabetes))));

    let actions = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": diabetes["range"], "context": {"diagnostics": [diabetes]}}),
    );
    let reject = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"].as_str().is_some_and(|t| t.starts_with("Reject")))
        .expect("a Reject action")
        .clone();
    let recorded = client.request(
        "workspace/executeCommand",
        json!({"command": reject["command"]["command"], "arguments": reject["command"]["arguments"]}),
    );
    assert_eq!(recorded["recorded"], true);
    let history = SqliteFeedbackStore::open(&db)
        .expect("server feedback store")
        .history(&uri)
        .expect("history");
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].decision, Decision::Reject);
    assert_eq!(history[0].coder, "test");
    assert!(client.shutdown().success());
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `GET /readyz` until the server has opened its engine.
fn wait_until_ready(base: &str) {
    let deadline = Instant::now() + TIMEOUT;
    let url = format!("{base}/readyz");
    while Instant::now() < deadline {
        if ureq::get(&url)
            .call()
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("chartcoder serve was not ready at {url}");
}

#[test]
fn did_open_to_diagnostics_latency_of_a_400_word_note() {
    if !have_engine() {
        return;
    }
    let _serial = serial();
    let note = long_note();
    let words = note.split_whitespace().count();
    assert!((350..=450).contains(&words), "{words} words");
    let mut client = Client::start(&[]);
    client.initialize(&["utf-16"]);
    // The engine opens in the background (about a second); wait for it on a first note.
    client.open(&file_uri("warm-up.txt"), 1, "Essential hypertension.");
    client.diagnostics(&file_uri("warm-up.txt"), 1);

    let mut times = Vec::new();
    let mut count = 0;
    for round in 0..5 {
        let uri = file_uri(&format!("long-{round}.txt"));
        let started = Instant::now();
        client.open(&uri, 1, &note);
        let diagnostics = client.diagnostics(&uri, 1);
        times.push(started.elapsed());
        count = diagnostics.len();
        assert!(count > 0);
    }
    times.sort();
    println!(
        "didOpen -> publishDiagnostics ({count} diagnostics) for a {words}-word note: median {:.1} ms (min {:.1}, max {:.1}; acceptance <= 200 ms)",
        times[2].as_secs_f64() * 1000.0,
        times[0].as_secs_f64() * 1000.0,
        times[4].as_secs_f64() * 1000.0
    );
    assert!(client.shutdown().success());
}

#[test]
fn utf32_is_negotiated_when_offered() {
    if !have_engine() {
        return;
    }
    let _serial = serial();
    let mut client = Client::start(&[]);
    let init = client.initialize(&["utf-8", "utf-32", "utf-16"]);
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-32");
    let text = "😷😷 Essential hypertension.";
    client.open(&file_uri("utf32.txt"), 1, text);
    let diagnostics = client.diagnostics(&file_uri("utf32.txt"), 1);
    let i10 = diagnostics
        .iter()
        .find(|d| code_of(d) == "I10")
        .unwrap_or_else(|| panic!("no I10 in {diagnostics:#?}"));
    // Code points: the two emoji count one each.
    let expected = text[..text.find("Essential").unwrap()].chars().count();
    assert_eq!(i10["range"]["start"]["character"], json!(expected));
    assert!(client.shutdown().success());
}

/// Out-of-range `initializationOptions` keep their defaults and are shown to the user with
/// the message every surface gives (`chartcoder::options`). Needs no setup.
#[test]
fn out_of_range_options_are_shown_with_the_shared_message() {
    let _serial = serial();
    let mut client = Client::start(&[]);
    client.initialize_with(&["utf-16"], json!({"topK": 5000, "minScore": 1.5}));
    let top_k = chartcoder::options::top_k(5000).unwrap_err().to_string();
    let min_score = chartcoder::options::min_score(1.5).unwrap_err().to_string();
    for expected in [min_score, top_k] {
        let shown = client.wait(|m| {
            m["method"] == "window/showMessage"
                && m["params"]["message"]
                    .as_str()
                    .is_some_and(|t| t.ends_with(&expected))
        });
        // MessageType::WARNING: the session goes on with the defaults.
        assert_eq!(shown["params"]["type"], 2, "{shown}");
    }
    assert!(client.shutdown().success());
}

/// A burst of changes is coded once, after the quiet time.
#[test]
fn a_burst_of_changes_is_coded_once() {
    if !have_engine() {
        return;
    }
    let _serial = serial();
    let mut client = Client::start(&[]);
    // A long quiet time, so that the burst below surely falls within it.
    client.initialize_with(&["utf-16"], json!({"debounceMs": 1000}));
    let uri = file_uri("burst.txt");
    client.open(&uri, 1, "Essential hypertension.");
    client.diagnostics(&uri, 1);
    let started = Instant::now();
    for version in 2..=6 {
        let text = format!("Essential hypertension.{}", " COPD.".repeat(version));
        client.change(&uri, version as i64, &text);
    }
    let last = client.diagnostics(&uri, 6);
    assert!(started.elapsed() >= Duration::from_millis(1000));
    assert!(last.iter().any(|d| code_of(d) == "J44.9"), "{last:#?}");
    let intermediate = client
        .backlog
        .iter()
        .filter(|m| m["method"] == "textDocument/publishDiagnostics")
        .count();
    assert_eq!(intermediate, 0, "{:#?}", client.backlog);
    assert!(client.shutdown().success());
}

/// Protocol misuse gets JSON-RPC errors, never a crash; needs no engine.
#[test]
fn client_mistakes_get_errors_and_the_server_keeps_going() {
    let _serial = serial();
    let mut client = Client::start(&[]);
    let early = client.call("textDocument/hover", json!({}));
    assert_eq!(early["error"]["code"], -32002, "{early}");

    client.initialize(&[]);
    let again = client.call("initialize", json!({"capabilities": {}}));
    assert_eq!(again["error"]["code"], -32600, "{again}");
    let unknown = client.call("textDocument/definition", json!({}));
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    let garbage = client.call("textDocument/hover", json!({"position": "nowhere"}));
    assert_eq!(garbage["error"]["code"], -32602, "{garbage}");
    let no_uri = client.call(
        "workspace/executeCommand",
        json!({"command": "chartcoder.listSuggestions", "arguments": []}),
    );
    assert_eq!(no_uri["error"]["code"], -32602, "{no_uri}");
    let bad_decision = client.call(
        "workspace/executeCommand",
        json!({"command": "chartcoder.reject", "arguments": [{"code": 3}]}),
    );
    assert_eq!(bad_decision["error"]["code"], -32602, "{bad_decision}");

    // Malformed notifications are dropped; unknown documents answer empty.
    client.notify("textDocument/didOpen", json!({"textDocument": {"uri": 7}}));
    client.notify("textDocument/didChange", json!({"textDocument": {"uri": file_uri("nope.txt"), "version": 2}, "contentChanges": [{"text": "x"}]}));
    let hover = client.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": file_uri("nope.txt")}, "position": {"line": 0, "character": 0}}),
    );
    assert_eq!(hover, Value::Null);
    // Positions far outside the note are clamped, not trusted.
    let uri = file_uri("short.txt");
    client.open(&uri, 1, "😷");
    let actions = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": uri},
            "range": {"start": {"line": 999, "character": 999}, "end": {"line": 0, "character": 1}},
            "context": {"diagnostics": [{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}}, "message": "x", "source": "chartcoder", "data": "junk"}]},
        }),
    );
    assert!(actions.is_array(), "{actions}");

    let after_shutdown = {
        assert_eq!(client.request("shutdown", Value::Null), Value::Null);
        client.call("textDocument/hover", json!({}))
    };
    assert_eq!(after_shutdown["error"]["code"], -32600, "{after_shutdown}");
    client.notify("exit", Value::Null);
    assert!(client.finish().success());
}

#[test]
fn exit_without_shutdown_is_a_failure() {
    let _serial = serial();
    let mut client = Client::start(&[]);
    client.initialize(&["utf-16"]);
    client.notify("exit", Value::Null);
    let status = client.finish();
    assert_eq!(status.code(), Some(1), "{status:?}");
}

/// A ~400-word progress note.
fn long_note() -> String {
    "PROGRESS NOTE

CHIEF COMPLAINT:
Follow-up of diabetes and shortness of breath.

HISTORY OF PRESENT ILLNESS:
The patient is a 72-year-old woman with type 2 diabetes mellitus with diabetic polyneuropathy, essential hypertension, chronic obstructive pulmonary disease and chronic kidney disease stage 3 who comes in for a scheduled visit. She reports two weeks of increased cough with white sputum and mild dyspnea on exertion, without fever or chills. She uses her albuterol inhaler three times a day, more than usual. She denies chest pain, palpitations or syncope. She has burning pain in both feet at night, unchanged from her last visit. Her home glucose readings range from 140 to 220 mg/dL. She had a fall at home one month ago without injury. She lives with her daughter and walks with a cane.

PAST MEDICAL HISTORY:
Type 2 diabetes for 15 years. Essential hypertension. COPD. Chronic kidney disease stage 3. Osteoarthritis of both knees. History of breast cancer treated with lumpectomy in 2010. History of cholecystectomy.

FAMILY HISTORY:
Father had colon cancer. Mother had a stroke at age 80.

SOCIAL HISTORY:
Former smoker, 30 pack-years, quit 10 years ago. No alcohol.

MEDICATIONS:
Metformin 500 mg twice daily, insulin glargine 18 units at bedtime, lisinopril 20 mg daily, amlodipine 5 mg daily, tiotropium daily, albuterol as needed, gabapentin 300 mg at night, atorvastatin 40 mg daily.

ALLERGIES:
Penicillin causes rash.

PHYSICAL EXAMINATION:
Blood pressure 152/88, heart rate 84, respiratory rate 20, oxygen saturation 93 % on room air. Mild expiratory wheezes bilaterally, no crackles. No leg edema. Decreased vibration sense and monofilament sensation in both feet. Crepitus in both knees.

LABS:
Hemoglobin A1c 8.9 %. Creatinine 1.6 mg/dL, eGFR 38. Potassium 4.9. Urine albumin to creatinine ratio 210 mg/g.

ASSESSMENT AND PLAN:
1. Type 2 diabetes mellitus with diabetic polyneuropathy, poorly controlled. Increase insulin glargine to 22 units. Continue gabapentin.
2. Acute exacerbation of COPD, mild. Start prednisone 40 mg daily for five days. Chest x-ray ordered; no evidence of pneumonia on examination.
3. Essential hypertension, above goal. Increase amlodipine to 10 mg daily.
4. Chronic kidney disease stage 3 with albuminuria. Continue lisinopril; recheck potassium in one week.
5. Osteoarthritis of both knees. Acetaminophen as needed.
6. Fall risk. Physical therapy referral for gait and balance training.
Return in four weeks, sooner if fever or worsening dyspnea develops.
"
    .to_string()
}
