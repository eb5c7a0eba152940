//! The HTTP API end to end: each test starts the real server (`chartcoder::api::start`) on
//! 127.0.0.1 port 0 in a background thread and talks to it with ureq. Status codes and
//! answer shapes of every route, auth, limits (body size, batch size, concurrency, timeout),
//! error format, feedback durability across a restart, metrics, OpenAPI, the workbench page
//! and graceful shutdown.
//!
//! Needs the fetched assets and the built index (`scripts/setup`); without them every test
//! prints why and returns, or fails under `CHARTCODER_REQUIRE_SETUP=1` (see `common`).

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chartcoder::api::{self, ServeConfig, ServeOptions, Server};
use chartcoder::coding::{SuggestOptions, MAX_NOTE_CHARS};
use chartcoder::engine::Engine;
use chartcoder::Error;
use serde_json::{json, Value};

const TOKEN: &str = "test-token-9f3a1c";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The engine over `.assets` and `index/default`, opened once per test binary; `None` (with
/// a message, or a failure under `CHARTCODER_REQUIRE_SETUP=1`) when setup has not been run.
fn engine() -> Option<Arc<Engine>> {
    common::shared_engine()
}

macro_rules! engine_or_skip {
    () => {
        match engine() {
            Some(engine) => engine,
            None => return,
        }
    };
}

fn discharge_summary() -> String {
    std::fs::read_to_string(root().join("tests/fixtures/notes/discharge-summary.txt"))
        .expect("fixture note")
}

/// A note of about 490,000 characters (under MAX_NOTE_CHARS): about a second of engine work.
fn slow_note() -> String {
    let base = discharge_summary();
    let mut text = String::new();
    while text.len() < 490_000 {
        text.push_str(&base);
        text.push('\n');
    }
    let cut = text
        .char_indices()
        .nth(490_000)
        .map_or(text.len(), |(i, _)| i);
    text.truncate(cut);
    text
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// A server on a free loopback port with its own feedback store.
struct Harness {
    server: Option<Server>,
    url: String,
    token: Option<String>,
    _dir: tempfile::TempDir,
}

fn options(token: Option<&str>) -> ServeOptions {
    ServeOptions {
        tokens: Some(token.map(|t| vec![t.to_string()]).unwrap_or_default()),
        ..ServeOptions::default()
    }
}

fn start_at(engine: Arc<Engine>, db: &Path, options: ServeOptions) -> Server {
    let config = ServeConfig::new("127.0.0.1:0".parse().expect("addr"), db);
    api::start(engine, config, options).expect("server starts")
}

fn launch(engine: Arc<Engine>, options: ServeOptions) -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = options.tokens.as_ref().and_then(|t| t.first().cloned());
    let server = start_at(engine, &dir.path().join("feedback.sqlite"), options);
    Harness {
        url: server.url(),
        server: Some(server),
        token,
        _dir: dir,
    }
}

struct Reply {
    status: u16,
    headers: ureq::http::HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", &self.text))
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// The answer is `{"error": {"code", "message"}}` with this status and code.
    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "status of {}", self.text);
        assert!(
            self.header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "error answers are JSON: {:?}",
            self.header("content-type")
        );
        let body = self.json();
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
    }
}

fn reply(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = result.expect("HTTP exchange");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .expect("body");
    Reply {
        status,
        headers,
        text,
    }
}

impl Harness {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    fn get_as(&self, path: &str, token: Option<&str>) -> Reply {
        let mut request = agent().get(self.url(path));
        if let Some(t) = token {
            request = request.header("Authorization", format!("Bearer {t}"));
        }
        reply(request.call())
    }

    fn get(&self, path: &str) -> Reply {
        self.get_as(path, self.token.as_deref())
    }

    fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
        token: Option<&str>,
    ) -> Reply {
        let mut request = agent().post(self.url(path));
        if let Some(t) = token {
            request = request.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            request = request.header("Content-Type", ct);
        }
        reply(request.send(body))
    }

    fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_raw(
            path,
            Some("application/json"),
            body.to_string().as_bytes(),
            self.token.as_deref(),
        )
    }

    fn metrics(&self) -> String {
        let r = self.get("/metrics");
        assert_eq!(r.status, 200, "{}", r.text);
        r.text
    }

    /// Waits until `n` requests hold a concurrency permit.
    fn wait_in_flight(&self, n: usize) {
        let line = format!("chartcoder_requests_in_flight {n}\n");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.metrics().contains(&line) {
            assert!(
                Instant::now() < deadline,
                "never saw {n} request(s) in flight"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn shutdown(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().expect("clean shutdown");
        }
    }
}

/// The value of a metric line `name{labels} value`, 0 if absent.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

fn assert_coding_shape(coding: &Value, text: &str) {
    assert!(coding["code_set"]["icd10cm"].is_string(), "{coding}");
    assert!(coding["code_set"]["icd10pcs"].is_string(), "{coding}");
    let chars: Vec<char> = text.chars().collect();
    for s in coding["suggestions"].as_array().expect("suggestions") {
        assert!(s["code"].as_str().is_some_and(|c| !c.is_empty()), "{s}");
        assert!(
            matches!(s["system"].as_str(), Some("icd10cm" | "icd10pcs")),
            "{s}"
        );
        assert!(s["title"].is_string(), "{s}");
        let score = s["score"].as_f64().expect("score");
        assert!((0.0..=1.0).contains(&score), "{s}");
        assert!(s["assertion"].is_string(), "{s}");
        assert!(s["rules"].is_array(), "{s}");
        for e in s["evidence"].as_array().expect("evidence") {
            let start = e["start"].as_u64().expect("start") as usize;
            let end = e["end"].as_u64().expect("end") as usize;
            assert!(start < end && end <= chars.len(), "{e}");
            let span: String = chars[start..end].iter().collect();
            assert_eq!(
                e["text"],
                span.as_str(),
                "evidence is text[start..end] in code points"
            );
            assert!(e["section"].is_string(), "{e}");
        }
    }
}

#[test]
fn suggest_answers_the_engines_coding() {
    let engine = engine_or_skip!();
    let h = launch(engine.clone(), options(Some(TOKEN)));
    let text = discharge_summary();
    let r = h.post("/v1/suggest", &json!({"text": text, "id": "ds-1"}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json")));
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let coding = r.json();
    assert_eq!(coding["id"], "ds-1");
    assert_coding_shape(&coding, &text);
    assert!(!coding["suggestions"].as_array().unwrap().is_empty());
    // The HTTP layer adds nothing and drops nothing.
    let direct = engine
        .suggest(Some("ds-1".into()), &text, &SuggestOptions::default())
        .expect("suggest");
    let parsed: chartcoder::coding::Coding = serde_json::from_str(&r.text).expect("a Coding");
    assert!(
        parsed == direct,
        "the HTTP answer differs from Engine::suggest"
    );

    // Options.
    let r = h.post(
        "/v1/suggest",
        &json!({"text": text, "systems": ["icd10pcs"], "top_k": 3, "setting": "outpatient"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let coding = r.json();
    assert!(coding.get("id").is_none(), "no id asked, none echoed");
    let suggestions = coding["suggestions"].as_array().unwrap();
    assert!(suggestions.len() <= 3);
    assert!(
        suggestions.iter().all(|s| s["system"] == "icd10pcs"),
        "{coding}"
    );
    // The lexical fast path answers as the engine's lexical ranker does.
    let r = h.post("/v1/suggest", &json!({"text": text, "ranker": "lexical"}));
    assert_eq!(r.status, 200, "{}", r.text);
    let parsed: chartcoder::coding::Coding = serde_json::from_str(&r.text).expect("a Coding");
    let lexical = SuggestOptions {
        ranker: chartcoder::coding::RankerChoice::Lexical,
        ..SuggestOptions::default()
    };
    assert!(parsed == engine.suggest(None, &text, &lexical).expect("suggest"));
    assert!(
        parsed.suggestions != direct.suggestions,
        "the two rankers differ"
    );
    h.post("/v1/suggest", &json!({"text": "x", "ranker": "bm25"}))
        .assert_error(422, "invalid_input");
    h.post("/v1/suggest", &json!({"text": "x", "setting": "ambulance"}))
        .assert_error(422, "invalid_input");
    h.post("/v1/suggest", &json!({"text": "x", "systems": ["icd9"]}))
        .assert_error(422, "invalid_input");
    h.post("/v1/suggest", &json!({"text": "x", "top_k": 0}))
        .assert_error(422, "invalid_input");
    h.post("/v1/suggest", &json!({"text": "x", "min_score": 2}))
        .assert_error(422, "invalid_input");
}

/// Out-of-range options answer 422 `invalid_input` with the message every surface gives
/// (`chartcoder::options`; the CLI prints the same, the editor shows it).
#[test]
fn out_of_range_options_get_the_shared_message() {
    let engine = engine_or_skip!();
    let h = launch(engine, options(None));
    let top_k = chartcoder::options::top_k(5000).unwrap_err().to_string();
    let min_score = chartcoder::options::min_score(1.5).unwrap_err().to_string();
    let message = |r: Reply| -> String {
        r.assert_error(422, "invalid_input");
        r.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let note = "Essential hypertension.";
    assert_eq!(
        message(h.post("/v1/suggest", &json!({"text": note, "top_k": 5000}))),
        top_k
    );
    assert_eq!(
        message(h.post("/v1/suggest", &json!({"text": note, "min_score": 1.5}))),
        min_score
    );
    let batch = json!({"documents": [{"id": "a", "text": note}], "top_k": 5000});
    assert_eq!(message(h.post("/v1/suggest/batch", &batch)), top_k);
    assert_eq!(message(h.get("/v1/search?q=cough&top_k=5000")), top_k);
    // The bound itself is accepted, on every route.
    let r = h.post("/v1/suggest", &json!({"text": note, "top_k": 1000}));
    assert_eq!(r.status, 200, "{}", r.text);
    let r = h.get("/v1/search?q=cough&top_k=1000");
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn evidence_offsets_are_code_points_after_emoji() {
    let engine = engine_or_skip!();
    let h = launch(engine, options(None));
    let text = "Chief complaint: 😷🦶 cough.\nAssessment: 🩺 type 2 diabetes mellitus with diabetic neuropathy. Hypertension.\n";
    let r = h.post("/v1/suggest", &json!({"text": text}));
    assert_eq!(r.status, 200, "{}", r.text);
    let coding = r.json();
    assert_coding_shape(&coding, text);
    let emoji = text.chars().position(|c| c == '😷').unwrap();
    assert!(
        coding["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["evidence"].as_array().unwrap().iter())
            .any(|e| e["start"].as_u64().unwrap() as usize > emoji),
        "some evidence after the emoji: {coding}"
    );
}

#[test]
fn batch_codes_each_document_and_fails_documents_alone() {
    let engine = engine_or_skip!();
    let h = launch(engine, options(Some(TOKEN)));
    let text = discharge_summary();
    let r = h.post(
        "/v1/suggest/batch",
        &json!({
            "documents": [
                {"id": "a", "text": text},
                {"id": "b", "text": "   "},
                {"id": "c", "text": "Assessment: hypertension."}
            ],
            "top_k": 5
        }),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["id"], "a");
    assert_coding_shape(&results[0], &text);
    assert!(results[0]["suggestions"].as_array().unwrap().len() <= 5);
    assert_eq!(results[1]["id"], "b");
    assert_eq!(results[1]["error"]["code"], "invalid_input", "{body}");
    assert!(results[1].get("suggestions").is_none());
    assert_eq!(results[2]["id"], "c");
    assert!(results[2]["suggestions"].is_array());

    // Over the limit, or nothing at all.
    let many: Vec<Value> = (0..=api::MAX_BATCH_DOCUMENTS)
        .map(|i| json!({"id": i.to_string(), "text": "hypertension"}))
        .collect();
    h.post("/v1/suggest/batch", &json!({ "documents": many }))
        .assert_error(422, "invalid_input");
    h.post("/v1/suggest/batch", &json!({"documents": []}))
        .assert_error(422, "invalid_input");
    h.post("/v1/suggest/batch", &json!({"documents": [{"id": "x"}]}))
        .assert_error(422, "invalid_input");
}

#[test]
fn codes_have_titles_hierarchy_notes_and_seventh_characters() {
    let engine = engine_or_skip!();
    let h = launch(engine, options(Some(TOKEN)));

    let r = h.get("/v1/codes/e1140");
    assert_eq!(r.status, 200, "{}", r.text);
    let code = r.json();
    assert_eq!(code["code"], "E11.40");
    assert_eq!(code["system"], "icd10cm");
    assert_eq!(code["billable"], true);
    assert!(code["title"].as_str().unwrap().contains("Type 2 diabetes"));
    let ancestors: Vec<&str> = code["hierarchy"]["ancestors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert_eq!(ancestors.first(), Some(&"E00-E89"), "chapter first");
    assert!(
        ancestors.contains(&"E11") && ancestors.contains(&"E11.4"),
        "{ancestors:?}"
    );
    assert!(code["hierarchy"]["ancestors"][0]["title"].is_string());
    for key in [
        "inclusion_terms",
        "includes",
        "excludes1",
        "excludes2",
        "code_first",
        "use_additional",
        "code_also",
    ] {
        assert!(code["notes"][key].is_array(), "notes.{key}");
    }
    // E11's notes apply below it.
    assert!(code["inherited_notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["code"] == "E11" && !n["notes"]["excludes1"].as_array().unwrap().is_empty()));

    let r = h.get("/v1/codes/E11");
    let category = r.json();
    assert_eq!(category["billable"], false);
    let children: Vec<&str> = category["hierarchy"]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert!(children.contains(&"E11.9"), "{children:?}");
    let excludes1 = category["notes"]["excludes1"].as_array().unwrap();
    assert!(excludes1
        .iter()
        .any(|n| n["codes"].as_array().unwrap().iter().any(|c| c == "E08")));

    // A code that needs a 7th character lists the valid ones.
    let r = h.get("/v1/codes/S72.001");
    assert_eq!(r.status, 200, "{}", r.text);
    let fracture = r.json();
    let valid = fracture["seventh_characters"]["valid"]
        .as_array()
        .expect("seventh characters");
    assert!(valid.iter().any(|v| v["character"] == "A"), "{fracture}");
    assert!(valid[0]["meaning"].is_string());

    // ICD-10-PCS: the meaning of each character.
    let r = h.get("/v1/codes/0016070");
    assert_eq!(r.status, 200, "{}", r.text);
    let pcs = r.json();
    assert_eq!(pcs["system"], "icd10pcs");
    assert_eq!(pcs["axes"].as_array().map(Vec::len), Some(7));

    h.get("/v1/codes/Q99.99.9")
        .assert_error(404, "unknown_code");
    h.get("/v1/codes/%FF").assert_error(400, "bad_request");
}

#[test]
fn search_looks_phrases_up() {
    let engine = engine_or_skip!();
    let h = launch(engine, options(Some(TOKEN)));
    let r = h.get("/v1/search?q=congestive%20heart%20failure&top_k=5");
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    let results = body["results"].as_array().unwrap();
    assert!(!results.is_empty() && results.len() <= 5);
    assert!(results
        .iter()
        .any(|r| r["code"].as_str().unwrap().starts_with("I50")));
    for hit in results {
        assert!(hit["title"].is_string() && hit["score"].is_number() && hit["system"].is_string());
    }
    let r = h.get("/v1/search?q=appendectomy&system=icd10pcs&top_k=3");
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["system"] == "icd10pcs"));
    h.get("/v1/search").assert_error(422, "invalid_input");
    h.get("/v1/search?q=").assert_error(422, "invalid_input");
    h.get("/v1/search?q=cough&top_k=0")
        .assert_error(422, "invalid_input");
    h.get("/v1/search?q=cough&top_k=many")
        .assert_error(422, "invalid_input");
    h.get("/v1/search?q=cough&system=icd9")
        .assert_error(422, "invalid_input");
}

#[test]
fn feedback_is_validated_and_survives_a_restart() {
    let engine = engine_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let db: PathBuf = dir.path().join("feedback.sqlite");
    let mut h = Harness {
        server: Some(start_at(engine.clone(), &db, options(Some(TOKEN)))),
        url: String::new(),
        token: Some(TOKEN.into()),
        _dir: dir,
    };
    h.url = h.server.as_ref().unwrap().url();

    let r = h.post(
        "/v1/feedback",
        &json!({"document_id": "doc-7", "code": "e1140", "decision": "accept",
                "evidence": [{"start": 3, "end": 12}], "coder": "ana"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let record = r.json();
    assert_eq!(record["code"], "E11.40", "stored dotted");
    assert_eq!(record["decision"], "accept");
    assert_eq!(record["document_id"], "doc-7");
    assert!(record["id"].is_i64() && record["at"].is_string());
    let r = h.post(
        "/v1/feedback",
        &json!({"document_id": "doc-7", "code": "I10", "decision": "add", "coder": "ana"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);

    // Refused.
    let base = json!({"document_id": "doc-7", "code": "I10", "decision": "reject", "coder": "ana"});
    let with = |key: &str, value: Value| {
        let mut v = base.clone();
        v[key] = value;
        v
    };
    h.post("/v1/feedback", &with("code", json!("Q99.99.9")))
        .assert_error(404, "unknown_code");
    h.post("/v1/feedback", &with("decision", json!("maybe")))
        .assert_error(422, "invalid_input");
    h.post("/v1/feedback", &with("coder", json!(" ")))
        .assert_error(422, "invalid_input");
    h.post("/v1/feedback", &with("document_id", json!("x".repeat(300))))
        .assert_error(422, "invalid_input");
    h.post(
        "/v1/feedback",
        &with(
            "evidence",
            json!([{"start": 1, "end": 5, "text": "note text"}]),
        ),
    )
    .assert_error(422, "invalid_input");
    let mut missing = base.clone();
    missing.as_object_mut().unwrap().remove("coder");
    h.post("/v1/feedback", &missing)
        .assert_error(422, "invalid_input");
    h.get("/v1/feedback").assert_error(422, "invalid_input");
    h.get("/v1/feedback?document_id=")
        .assert_error(422, "invalid_input");

    // Stop, start a new server on the same file: the history is there.
    h.shutdown();
    let server = start_at(engine, &db, options(Some(TOKEN)));
    h.url = server.url();
    h.server = Some(server);
    let r = h.get("/v1/feedback?document_id=doc-7");
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    assert_eq!(body["document_id"], "doc-7");
    let history = body["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{body}");
    assert_eq!(history[0]["code"], "E11.40");
    assert_eq!(history[0]["decision"], "accept");
    assert_eq!(history[0]["coder"], "ana");
    assert_eq!(history[0]["evidence"], json!([{"start": 3, "end": 12}]));
    assert_eq!(history[1]["code"], "I10");
    assert_eq!(history[1]["decision"], "add");
    let r = h.get("/v1/feedback?document_id=other");
    assert_eq!(r.json()["history"], json!([]));
}

#[test]
fn bearer_tokens_guard_everything_but_health_and_the_page() {
    let engine = engine_or_skip!();
    let h = launch(engine, options(Some(TOKEN)));
    let protected = [
        "/v1/codes/I10",
        "/v1/search?q=cough",
        "/v1/feedback?document_id=d",
        "/metrics",
        "/openapi.json",
    ];
    for path in protected {
        let r = h.get_as(path, None);
        r.assert_error(401, "unauthorized");
        assert!(r
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("Bearer")));
        h.get_as(path, Some("wrong-token"))
            .assert_error(401, "unauthorized");
        assert_eq!(h.get_as(path, Some(TOKEN)).status, 200, "{path}");
    }
    let body = json!({"text": "hypertension"}).to_string();
    h.post_raw(
        "/v1/suggest",
        Some("application/json"),
        body.as_bytes(),
        None,
    )
    .assert_error(401, "unauthorized");
    h.post_raw(
        "/v1/suggest",
        Some("application/json"),
        body.as_bytes(),
        Some("nope"),
    )
    .assert_error(401, "unauthorized");
    assert_eq!(
        h.post_raw(
            "/v1/suggest",
            Some("application/json"),
            body.as_bytes(),
            Some(TOKEN)
        )
        .status,
        200
    );
    for path in [
        "/healthz",
        "/readyz",
        "/",
        "/assets/app.js",
        "/assets/app.css",
    ] {
        assert_eq!(h.get_as(path, None).status, 200, "{path} is open");
    }
    let ready = h.get_as("/readyz", None).json();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["auth_required"], true);
    assert_eq!(h.get_as("/healthz", None).json()["status"], "ok");
}

#[test]
fn without_tokens_only_loopback_may_be_bound() {
    let engine = engine_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("feedback.sqlite");
    let config = ServeConfig::new("0.0.0.0:0".parse().unwrap(), &db);
    match api::start(engine.clone(), config, options(None)) {
        Err(Error::InvalidInput(message)) => assert!(message.contains("token"), "{message}"),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("bound a public address without auth"),
    }
    // A tokens file that does not exist, or holds no token, is an error too.
    let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap(), &db);
    config.tokens_file = Some(dir.path().join("absent"));
    assert!(api::start(engine.clone(), config.clone(), options(None)).is_err());
    std::fs::write(dir.path().join("empty"), "# nothing\n\n").unwrap();
    config.tokens_file = Some(dir.path().join("empty"));
    assert!(api::start(engine.clone(), config.clone(), options(None)).is_err());
    // Loopback without tokens: auth off, everything open.
    let h = launch(engine, options(None));
    assert_eq!(h.get_as("/v1/codes/I10", None).status, 200);
    assert_eq!(h.get_as("/readyz", None).json()["auth_required"], false);
}

#[test]
fn bad_requests_get_json_errors_from_the_one_table() {
    let engine = engine_or_skip!();
    let h = launch(engine, options(Some(TOKEN)));
    let t = Some(TOKEN);
    let json_ct = Some("application/json");

    // Body over 2 MiB.
    let huge = json!({"text": "a".repeat(3 * 1024 * 1024)}).to_string();
    h.post_raw("/v1/suggest", json_ct, huge.as_bytes(), t)
        .assert_error(413, "payload_too_large");
    // Not JSON.
    h.post_raw("/v1/suggest", Some("text/plain"), b"hypertension", t)
        .assert_error(415, "unsupported_media_type");
    h.post_raw("/v1/suggest", None, b"{\"text\": \"hypertension\"}", t)
        .assert_error(415, "unsupported_media_type");
    // Malformed JSON, invalid UTF-8.
    h.post_raw("/v1/suggest", json_ct, b"{\"text\": ", t)
        .assert_error(400, "malformed_json");
    h.post_raw("/v1/suggest", json_ct, b"{\"text\": \"caf\xe9 \xff\"}", t)
        .assert_error(400, "malformed_json");
    // Well-formed but wrong.
    h.post_raw("/v1/suggest", json_ct, b"{\"text\": 5}", t)
        .assert_error(422, "invalid_input");
    h.post_raw("/v1/suggest", json_ct, b"{\"txet\": \"x\"}", t)
        .assert_error(422, "invalid_input");
    h.post_raw("/v1/suggest", json_ct, b"[]", t)
        .assert_error(422, "invalid_input");
    h.post("/v1/suggest", &json!({"text": ""}))
        .assert_error(422, "invalid_input");
    h.post("/v1/suggest", &json!({"text": " \n\t "}))
        .assert_error(422, "invalid_input");
    // Over MAX_NOTE_CHARS but under the body limit.
    let long = "é".repeat(MAX_NOTE_CHARS + 1);
    let r = h.post("/v1/suggest", &json!({ "text": long }));
    r.assert_error(422, "invalid_input");
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("limit"));
    // Unknown route, wrong method.
    h.get("/v1/nothing-here").assert_error(404, "not_found");
    h.get("/v1/suggest").assert_error(405, "method_not_allowed");
    h.get("/assets/missing.js").assert_error(404, "not_found");
    // Still serving.
    assert_eq!(
        h.post("/v1/suggest", &json!({"text": "hypertension"}))
            .status,
        200
    );
}

#[test]
fn metrics_count_requests_by_route_and_status() {
    let engine = engine_or_skip!();
    let h = launch(engine, options(Some(TOKEN)));
    for _ in 0..3 {
        assert_eq!(
            h.post("/v1/suggest", &json!({"text": "hypertension"}))
                .status,
            200
        );
    }
    h.post("/v1/suggest", &json!({"text": ""}))
        .assert_error(422, "invalid_input");
    h.get("/v1/codes/NOPE").assert_error(404, "unknown_code");
    h.get_as("/v1/codes/I10", None)
        .assert_error(401, "unauthorized");
    let r = h.get("/metrics");
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/plain")));
    let text = r.text;
    let count = |route: &str, method: &str, status: u16| {
        metric(
            &text,
            &format!(
                "chartcoder_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}}"
            ),
        )
    };
    assert_eq!(count("/v1/suggest", "POST", 200), 3.0, "{text}");
    assert_eq!(count("/v1/suggest", "POST", 422), 1.0, "{text}");
    assert_eq!(count("/v1/codes/{code}", "GET", 404), 1.0, "{text}");
    assert_eq!(count("/v1/codes/{code}", "GET", 401), 1.0, "{text}");
    let labels = "method=\"POST\",route=\"/v1/suggest\"";
    assert_eq!(
        metric(
            &text,
            &format!("chartcoder_http_request_duration_seconds_count{{{labels}}}")
        ),
        4.0
    );
    assert_eq!(
        metric(
            &text,
            &format!("chartcoder_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}}")
        ),
        4.0
    );
    assert!(
        metric(
            &text,
            &format!("chartcoder_http_request_duration_seconds_sum{{{labels}}}")
        ) > 0.0
    );
    assert!(text.contains("# TYPE chartcoder_http_request_duration_seconds histogram"));
    assert_eq!(metric(&text, "chartcoder_concurrency_limit"), 32.0);
}

#[test]
fn openapi_document_lists_every_route() {
    let engine = engine_or_skip!();
    let h = launch(engine, options(Some(TOKEN)));
    let r = h.get("/openapi.json");
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/v1/suggest", "post"),
        ("/v1/suggest/batch", "post"),
        ("/v1/codes/{code}", "get"),
        ("/v1/search", "get"),
        ("/v1/feedback", "post"),
        ("/v1/feedback", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
        ("/openapi.json", "get"),
    ] {
        assert!(
            paths[path][method].is_object(),
            "{method} {path} documented"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for name in [
        "SuggestRequest",
        "BatchRequest",
        "FeedbackRequest",
        "Coding",
        "Suggestion",
        "Evidence",
        "CodeDetail",
        "ErrorBody",
        "FeedbackRecord",
    ] {
        assert!(schemas.contains_key(name), "schema {name}");
    }
    // The documented Suggestion fields are the ones the engine sends.
    let documented: HashSet<&str> = schemas["Suggestion"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let coding = h
        .post("/v1/suggest", &json!({"text": "Assessment: hypertension."}))
        .json();
    let sent: HashSet<&str> = coding["suggestions"][0]
        .as_object()
        .expect("a suggestion")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(documented, sent);
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[test]
fn saturation_answers_503_with_retry_after() {
    let engine = engine_or_skip!();
    let h = launch(
        engine,
        ServeOptions {
            max_concurrency: 1,
            ..options(Some(TOKEN))
        },
    );
    let slow = json!({"text": slow_note()});
    std::thread::scope(|scope| {
        let busy = scope.spawn(|| h.post("/v1/suggest", &slow));
        h.wait_in_flight(1);
        let r = h.post("/v1/suggest", &json!({"text": "hypertension"}));
        r.assert_error(503, "overloaded");
        assert_eq!(r.header("retry-after").as_deref(), Some("1"));
        h.get("/v1/codes/I10").assert_error(503, "overloaded");
        // Health and metrics are not behind the limit.
        assert_eq!(h.get("/healthz").status, 200);
        let text = h.metrics();
        assert!(
            metric(&text, "chartcoder_requests_shed_total") >= 2.0,
            "{text}"
        );
        let done = busy.join().expect("slow request");
        assert_eq!(done.status, 200, "{}", done.text);
    });
    assert_eq!(
        h.post("/v1/suggest", &json!({"text": "hypertension"}))
            .status,
        200
    );
}

#[test]
fn slow_requests_time_out_with_504() {
    let engine = engine_or_skip!();
    let h = launch(
        engine,
        ServeOptions {
            request_timeout: Duration::from_millis(100),
            ..options(Some(TOKEN))
        },
    );
    h.post("/v1/suggest", &json!({"text": slow_note()}))
        .assert_error(504, "timeout");
    assert_eq!(
        metric(&h.metrics(), "chartcoder_requests_timed_out_total"),
        1.0
    );
}

#[test]
fn graceful_shutdown_finishes_the_request_in_flight() {
    let engine = engine_or_skip!();
    let mut h = launch(engine, options(Some(TOKEN)));
    let addr = h.server.as_ref().unwrap().addr();
    let slow = slow_note();
    let server = h.server.take().unwrap();
    std::thread::scope(|scope| {
        let busy = scope.spawn(|| h.post("/v1/suggest", &json!({"text": slow, "id": "late"})));
        h.wait_in_flight(1);
        let started = Instant::now();
        server.shutdown().expect("clean shutdown");
        let done = busy.join().expect("in-flight request");
        assert_eq!(done.status, 200, "{}", done.text);
        assert_eq!(done.json()["id"], "late");
        assert!(started.elapsed() < Duration::from_secs(30));
    });
    assert!(
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(),
        "no longer listening"
    );
    h.shutdown();
}

#[test]
fn the_workbench_page_is_served_from_the_binary() {
    let engine = engine_or_skip!();
    let h = launch(engine, options(Some(TOKEN)));
    let r = h.get_as("/", None);
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/html")));
    let csp = r.header("content-security-policy").expect("CSP");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(r.text.contains("Code it"));
    assert!(r.text.contains("/assets/app.js"));
    assert!(
        !r.text.contains("http://") && !r.text.contains("https://"),
        "no external resources"
    );
    let js = h.get_as("/assets/app.js", None);
    assert!(js
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/javascript")));
    assert!(js.text.contains("Array.from(text)"), "code point slicing");
    let css = h.get_as("/assets/app.css", None);
    assert!(!css.text.contains("@import") && !css.text.contains("url(http"));
}
