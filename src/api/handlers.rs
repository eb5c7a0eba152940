//! Route handlers: parse, hand the work to the engine or the feedback store on a blocking
//! thread, answer. Every failure is an [`ApiError`].

use std::collections::BTreeMap;
use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiKind, ErrorBody, ErrorDetail};
use super::extract::{ApiJson, ApiQuery};
use super::middleware::Permit;
use super::openapi::{CodeHitDoc, CodingDoc, FeedbackRecordDoc, SettingDoc, SystemDoc};
use super::SharedState;
use crate::codeset::{display_code, CodeId, CodeRef, CodeSet, Notes, System};
use crate::coding::{Coding, SuggestOptions};
use crate::engine::CodeSuggestion;
use crate::feedback::{validate, Decision, FeedbackRecord, NewFeedback};
use crate::options::UserOptions;

/// Most documents in one `POST /v1/suggest/batch`.
pub const MAX_BATCH_DOCUMENTS: usize = 64;
/// Most evidence spans in one feedback record.
pub const MAX_FEEDBACK_SPANS: usize = 1_000;

/// Runs engine or store work on the blocking pool; the permit is held until it ends, even if
/// the request is abandoned meanwhile.
async fn blocking<T: Send + 'static>(
    permit: Permit,
    work: impl FnOnce() -> crate::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "blocking task failed");
        ApiError::internal("the request failed unexpectedly")
    })?
    .map_err(ApiError::from)
}

/// The coding options of a request, through the one validation of [`crate::options`].
fn options(
    setting: Option<String>,
    systems: Vec<String>,
    top_k: Option<i64>,
    min_score: Option<f64>,
    ranker: Option<String>,
) -> Result<SuggestOptions, ApiError> {
    Ok(UserOptions {
        setting,
        systems,
        top_k,
        min_score,
        ranker,
    }
    .suggest(&SuggestOptions::default())?)
}

/// One note to code.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuggestRequest {
    /// The note. Evidence offsets index its Unicode scalar values (code points).
    #[schema(example = "Assessment: type 2 diabetes mellitus with diabetic neuropathy.")]
    pub text: String,
    /// Echoed in the answer.
    #[serde(default)]
    pub id: Option<String>,
    /// Default `inpatient`.
    #[serde(default)]
    #[schema(value_type = Option<SettingDoc>)]
    pub setting: Option<String>,
    /// Code systems to suggest from (`icd10cm`, `icd10pcs`); empty or absent: both.
    #[serde(default)]
    #[schema(value_type = Option<Vec<SystemDoc>>)]
    pub systems: Vec<String>,
    /// Most suggestions returned, 1..=1000 (default 50).
    #[serde(default)]
    pub top_k: Option<i64>,
    /// Lowest score returned, in [0, 1] (default 0).
    #[serde(default)]
    pub min_score: Option<f64>,
    /// `learned` (the ONNX ranker, default) or `lexical` (the transparent logistic model).
    #[serde(default)]
    pub ranker: Option<String>,
}

/// Codes a note: ranked suggestions with evidence spans, assertions and rule notes.
#[utoipa::path(
    post,
    path = "/v1/suggest",
    tag = "coding",
    request_body = SuggestRequest,
    responses(
        (status = 200, description = "Suggestions for the note", body = CodingDoc),
        (status = 400, description = "Malformed JSON or invalid UTF-8", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Empty or too long note, bad option", body = ErrorBody),
        (status = 503, description = "At the concurrency limit (see Retry-After)", body = ErrorBody),
        (status = 504, description = "Request timed out", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn suggest(
    State(state): State<SharedState>,
    Extension(permit): Extension<Permit>,
    ApiJson(request): ApiJson<SuggestRequest>,
) -> Result<Json<Coding>, ApiError> {
    let options = options(
        request.setting,
        request.systems,
        request.top_k,
        request.min_score,
        request.ranker,
    )?;
    let engine = state.engine.clone();
    let coding = blocking(permit, move || {
        engine.suggest(request.id, &request.text, &options)
    })
    .await?;
    Ok(Json(coding))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchDocument {
    pub id: String,
    pub text: String,
}

/// Up to [`MAX_BATCH_DOCUMENTS`] notes with shared options.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// 1 to 64 notes.
    pub documents: Vec<BatchDocument>,
    #[serde(default)]
    #[schema(value_type = Option<SettingDoc>)]
    pub setting: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<SystemDoc>>)]
    pub systems: Vec<String>,
    /// 1..=1000 (default 50).
    #[serde(default)]
    pub top_k: Option<i64>,
    #[serde(default)]
    pub min_score: Option<f64>,
    #[serde(default)]
    pub ranker: Option<String>,
}

/// A batch item: the note's coding, or why it could not be coded.
#[derive(Serialize)]
#[serde(untagged)]
pub enum BatchItem {
    Coded(Coding),
    Failed { id: String, error: ErrorDetail },
}

#[derive(Serialize, ToSchema)]
pub struct BatchResponse {
    /// One item per document, in request order: a `Coding` or `{"id", "error"}`.
    #[schema(value_type = Vec<Object>)]
    pub results: Vec<BatchItem>,
}

fn failed(id: String, error: ApiError) -> BatchItem {
    BatchItem::Failed {
        id,
        error: error.body().error,
    }
}

/// Codes up to 64 notes in one request. A note that fails (empty, too long) fails alone;
/// notes not reached before the time budget runs out fail with `timeout`.
#[utoipa::path(
    post,
    path = "/v1/suggest/batch",
    tag = "coding",
    request_body = BatchRequest,
    responses(
        (status = 200, description = "One result per document, in order", body = BatchResponse),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "No documents, more than 64, or a bad option", body = ErrorBody),
        (status = 503, body = ErrorBody),
        (status = 504, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn suggest_batch(
    State(state): State<SharedState>,
    Extension(permit): Extension<Permit>,
    ApiJson(request): ApiJson<BatchRequest>,
) -> Result<Json<BatchResponse>, ApiError> {
    let max = state.limits.max_batch_documents;
    if request.documents.is_empty() || request.documents.len() > max {
        return Err(ApiError::invalid_input(format!(
            "a batch holds 1 to {max} documents; this one has {}",
            request.documents.len()
        )));
    }
    let options = options(
        request.setting,
        request.systems,
        request.top_k,
        request.min_score,
        request.ranker,
    )?;
    let engine = state.engine.clone();
    // Stop starting notes a little before the request timeout, so the answer still arrives.
    let budget = state.limits.request_timeout.mul_f64(0.8);
    let results = blocking(permit, move || {
        let start = Instant::now();
        Ok(request
            .documents
            .into_iter()
            .map(|doc| {
                if start.elapsed() > budget {
                    return failed(doc.id, ApiError::timeout(budget));
                }
                match engine.suggest(Some(doc.id.clone()), &doc.text, &options) {
                    Ok(coding) => BatchItem::Coded(coding),
                    Err(e) => failed(doc.id, ApiError::from(e)),
                }
            })
            .collect())
    })
    .await?;
    Ok(Json(BatchResponse { results }))
}

/// A code with its title, for hierarchy listings.
#[derive(Serialize, ToSchema)]
pub struct CodeRefInfo {
    pub code: String,
    pub title: String,
    /// `chapter`, `block`, `code`, `seventh_character`, `procedure`.
    pub kind: String,
    pub billable: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Hierarchy {
    /// From the chapter down to the parent.
    pub ancestors: Vec<CodeRefInfo>,
    pub children: Vec<CodeRefInfo>,
}

/// An instructional note and the codes it points to (`Z16.-`, `P35-P39`).
#[derive(Serialize, ToSchema)]
pub struct NoteInfo {
    pub text: String,
    pub codes: Vec<String>,
}

#[derive(Serialize, ToSchema, Default)]
pub struct NotesInfo {
    pub inclusion_terms: Vec<String>,
    pub includes: Vec<String>,
    pub excludes1: Vec<NoteInfo>,
    pub excludes2: Vec<NoteInfo>,
    pub code_first: Vec<NoteInfo>,
    pub use_additional: Vec<NoteInfo>,
    pub code_also: Vec<NoteInfo>,
}

/// Notes of an ancestor, which apply to every code below it.
#[derive(Serialize, ToSchema)]
pub struct InheritedNotes {
    pub code: String,
    pub notes: NotesInfo,
}

#[derive(Serialize, ToSchema)]
pub struct SeventhCharacter {
    pub character: String,
    pub meaning: String,
}

#[derive(Serialize, ToSchema)]
pub struct SeventhCharactersInfo {
    /// The code that defines them.
    pub defined_at: String,
    /// The characters valid for this code.
    pub valid: Vec<SeventhCharacter>,
}

/// One character of an ICD-10-PCS code and what it means.
#[derive(Serialize, ToSchema)]
pub struct AxisInfo {
    pub axis: String,
    pub value: String,
    pub meaning: Option<String>,
}

/// A code with its place in the classification and its instructional notes.
#[derive(Serialize, ToSchema)]
pub struct CodeDetail {
    #[schema(example = "E11.40")]
    pub code: String,
    #[schema(value_type = SystemDoc)]
    pub system: System,
    pub title: String,
    /// `chapter`, `block`, `code`, `seventh_character`, `procedure`.
    pub kind: String,
    /// Valid for reporting as it stands.
    pub billable: bool,
    pub hierarchy: Hierarchy,
    pub notes: NotesInfo,
    pub inherited_notes: Vec<InheritedNotes>,
    /// Present for codes that need a 7th character.
    pub seventh_characters: Option<SeventhCharactersInfo>,
    /// ICD-10-PCS only: the meaning of each character.
    pub axes: Option<Vec<AxisInfo>>,
    pub code_set: BTreeMap<String, String>,
}

fn kind_name(codes: &CodeSet, id: CodeId) -> String {
    serde_json::to_value(codes.get(id).kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn ref_info(codes: &CodeSet, id: CodeId) -> CodeRefInfo {
    let c = codes.get(id);
    CodeRefInfo {
        code: c.display(),
        title: c.title.clone(),
        kind: kind_name(codes, id),
        billable: c.billable,
    }
}

fn notes_info(notes: &Notes) -> NotesInfo {
    let list = |notes: &[crate::codeset::Note]| {
        notes
            .iter()
            .map(|n| NoteInfo {
                text: n.text.clone(),
                codes: n
                    .refs
                    .iter()
                    .map(|r| match r {
                        CodeRef::Prefix(p) => display_code(p, System::Icd10cm),
                        CodeRef::Range(lo, hi) => format!(
                            "{}-{}",
                            display_code(lo, System::Icd10cm),
                            display_code(hi, System::Icd10cm)
                        ),
                    })
                    .collect(),
            })
            .collect()
    };
    NotesInfo {
        inclusion_terms: notes.inclusion_terms.clone(),
        includes: notes.includes.clone(),
        excludes1: list(&notes.excludes1),
        excludes2: list(&notes.excludes2),
        code_first: list(&notes.code_first),
        use_additional: list(&notes.use_additional),
        code_also: list(&notes.code_also),
    }
}

pub fn code_detail(codes: &CodeSet, id: CodeId, code_set: BTreeMap<String, String>) -> CodeDetail {
    let c = codes.get(id);
    let mut ancestors: Vec<CodeId> = codes.ancestors(id).collect();
    ancestors.reverse();
    let inherited_notes = ancestors
        .iter()
        .filter_map(|&a| {
            codes.get(a).notes().map(|n| InheritedNotes {
                code: codes.get(a).display(),
                notes: notes_info(n),
            })
        })
        .collect();
    let seventh_characters = codes.seventh_characters(id).map(|s| SeventhCharactersInfo {
        defined_at: display_code(&s.defined_at, c.system),
        valid: s
            .valid_for(&c.code)
            .map(|(ch, meaning)| SeventhCharacter {
                character: ch.to_string(),
                meaning: meaning.clone(),
            })
            .collect(),
    });
    CodeDetail {
        code: c.display(),
        system: c.system,
        title: c.title.clone(),
        kind: kind_name(codes, id),
        billable: c.billable,
        hierarchy: Hierarchy {
            ancestors: ancestors.iter().map(|&a| ref_info(codes, a)).collect(),
            children: c.children.iter().map(|&k| ref_info(codes, k)).collect(),
        },
        notes: c.notes().map(notes_info).unwrap_or_default(),
        inherited_notes,
        seventh_characters,
        axes: c.axes.as_ref().map(|axes| {
            axes.iter()
                .map(|a| AxisInfo {
                    axis: a.axis.to_string(),
                    value: a.value.to_string(),
                    meaning: a.meaning.clone(),
                })
                .collect()
        }),
        code_set,
    }
}

/// A code of either system, written with or without its dot, in any case.
#[utoipa::path(
    get,
    path = "/v1/codes/{code}",
    tag = "codes",
    params(("code" = String, Path, description = "A code, e.g. `E11.40`, `e1140` or `0016070`")),
    responses(
        (status = 200, description = "The code", body = CodeDetail),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such code (`unknown_code`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn code(
    State(state): State<SharedState>,
    Extension(_permit): Extension<Permit>,
    Path(code): Path<String>,
) -> Result<Json<CodeDetail>, ApiError> {
    let codes = &state.engine.codes;
    let id = codes
        .find(&code)
        .ok_or_else(|| ApiError::from(crate::Error::UnknownCode(code.trim().to_string())))?;
    Ok(Json(code_detail(codes, id, state.engine.code_set_years())))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The phrase to look up.
    pub q: String,
    /// Most results, 1..=1000 (default 10).
    pub top_k: Option<i64>,
    /// `icd10cm` or `icd10pcs`; absent: both.
    pub system: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SearchResponse {
    #[schema(value_type = Vec<CodeHitDoc>)]
    pub results: Vec<CodeSuggestion>,
    pub code_set: BTreeMap<String, String>,
}

/// Ranked codes for a phrase (the term index behind `chartcoder lookup`).
#[utoipa::path(
    get,
    path = "/v1/search",
    tag = "codes",
    params(SearchParams),
    responses(
        (status = 200, description = "Ranked codes", body = SearchResponse),
        (status = 401, body = ErrorBody),
        (status = 422, description = "Missing or empty `q`, bad `top_k` or `system`", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn search(
    State(state): State<SharedState>,
    Extension(permit): Extension<Permit>,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> Result<Json<SearchResponse>, ApiError> {
    let options = UserOptions {
        systems: params
            .system
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect(),
        top_k: params.top_k,
        ..UserOptions::default()
    }
    .lookup()?;
    let engine = state.engine.clone();
    let results = blocking(permit, move || engine.lookup(&params.q, &options)).await?;
    Ok(Json(SearchResponse {
        results,
        code_set: state.engine.code_set_years(),
    }))
}

/// A coder's decision on a code of a document.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    pub document_id: String,
    /// As the coder wrote it (`e11.40`, `E1140`); stored dotted.
    pub code: String,
    #[schema(value_type = super::openapi::DecisionDoc)]
    pub decision: Decision,
    /// Spans the decision refers to: `[{"start": 10, "end": 24}]` (offsets only: note
    /// text is never stored). Optional.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub evidence: serde_json::Value,
    pub coder: String,
}

/// Evidence must be offsets only, so that no note text reaches the store.
fn check_evidence(evidence: &serde_json::Value) -> Result<(), ApiError> {
    use serde_json::Value;
    let bad = || {
        ApiError::invalid_input(
            "`evidence` must be null or a list of {\"start\": n, \"end\": m} with 0 <= start <= end",
        )
    };
    match evidence {
        Value::Null => Ok(()),
        Value::Array(spans) => {
            if spans.len() > MAX_FEEDBACK_SPANS {
                return Err(ApiError::invalid_input(format!(
                    "`evidence` holds at most {MAX_FEEDBACK_SPANS} spans"
                )));
            }
            for span in spans {
                let Value::Object(fields) = span else {
                    return Err(bad());
                };
                if fields.keys().any(|k| k != "start" && k != "end") {
                    return Err(bad());
                }
                let start = fields
                    .get("start")
                    .and_then(Value::as_u64)
                    .ok_or_else(bad)?;
                let end = fields.get("end").and_then(Value::as_u64).ok_or_else(bad)?;
                if start > end {
                    return Err(bad());
                }
            }
            Ok(())
        }
        _ => Err(bad()),
    }
}

/// Records a decision (append-only, durable once answered).
#[utoipa::path(
    post,
    path = "/v1/feedback",
    tag = "feedback",
    request_body = FeedbackRequest,
    responses(
        (status = 201, description = "Stored", body = FeedbackRecordDoc),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "Unknown code (`unknown_code`)", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "Empty or too long field, bad decision or evidence", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn add_feedback(
    State(state): State<SharedState>,
    Extension(permit): Extension<Permit>,
    ApiJson(request): ApiJson<FeedbackRequest>,
) -> Result<(StatusCode, Json<FeedbackRecord>), ApiError> {
    check_evidence(&request.evidence)?;
    let feedback = validate(
        &NewFeedback {
            document_id: request.document_id,
            code: request.code,
            decision: request.decision,
            evidence: request.evidence,
            coder: request.coder,
        },
        &state.engine.codes,
    )?;
    let store = state.feedback.clone();
    let record = blocking(permit, move || store.append(&feedback)).await?;
    Ok((StatusCode::CREATED, Json(record)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    pub document_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryResponse {
    pub document_id: String,
    /// Every decision on the document, oldest first.
    #[schema(value_type = Vec<FeedbackRecordDoc>)]
    pub history: Vec<FeedbackRecord>,
}

/// Every decision recorded on a document, oldest first.
#[utoipa::path(
    get,
    path = "/v1/feedback",
    tag = "feedback",
    params(HistoryParams),
    responses(
        (status = 200, description = "The document's decisions", body = HistoryResponse),
        (status = 401, body = ErrorBody),
        (status = 422, description = "Missing or empty `document_id`", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn feedback_history(
    State(state): State<SharedState>,
    Extension(permit): Extension<Permit>,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> Result<Json<HistoryResponse>, ApiError> {
    if params.document_id.trim().is_empty() {
        return Err(ApiError::invalid_input("`document_id` is empty"));
    }
    let store = state.feedback.clone();
    let id = params.document_id.clone();
    let history = blocking(permit, move || store.history(&id)).await?;
    Ok(Json(HistoryResponse {
        document_id: params.document_id,
        history,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

#[derive(Serialize, ToSchema)]
pub struct Ready {
    #[schema(example = "ready")]
    pub status: String,
    /// Whether `/v1/*`, `/metrics` and `/openapi.json` need a bearer token.
    pub auth_required: bool,
    pub code_set: BTreeMap<String, String>,
    /// Codes loaded, all systems.
    pub codes: usize,
    pub max_batch_documents: usize,
    pub max_body_bytes: usize,
}

/// Readiness: the engine is loaded and the server is not shutting down.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Ready),
        (status = 503, description = "Shutting down", body = ErrorBody),
    ))]
pub async fn readyz(State(state): State<SharedState>) -> Result<Json<Ready>, ApiError> {
    if state
        .shutting_down
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        return Err(ApiError::new(
            ApiKind::ShuttingDown,
            "the server is shutting down",
        ));
    }
    Ok(Json(Ready {
        status: "ready".into(),
        auth_required: state.auth.required(),
        code_set: state.engine.code_set_years(),
        codes: state.engine.codes.len(),
        max_batch_documents: state.limits.max_batch_documents,
        max_body_bytes: state.limits.max_body_bytes,
    }))
}

/// Prometheus text: request counts by route and status, latency histograms.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain"),
        (status = 401, body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn metrics(State(state): State<SharedState>) -> Response {
    let capacity = state.limits.max_concurrency;
    let in_flight = capacity.saturating_sub(state.limiter.available_permits());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(in_flight, capacity),
    )
        .into_response()
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses(
        (status = 200, description = "OpenAPI 3.1 document", body = Object),
        (status = 401, body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn openapi(State(state): State<SharedState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi.clone(),
    )
        .into_response()
}

/// 404 `not_found` for any other path.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route; see /openapi.json")
}

/// 405 `method_not_allowed`.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ApiKind::MethodNotAllowed,
        "method not allowed on this route",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_must_be_offsets_only() {
        use serde_json::json;
        assert!(check_evidence(&json!(null)).is_ok());
        assert!(check_evidence(&json!([])).is_ok());
        assert!(check_evidence(&json!([{"start": 1, "end": 4}])).is_ok());
        assert!(check_evidence(&json!([{"start": 1, "end": 4, "text": "x"}])).is_err());
        assert!(check_evidence(&json!([{"start": 5, "end": 4}])).is_err());
        assert!(check_evidence(&json!([{"start": -1, "end": 4}])).is_err());
        assert!(check_evidence(&json!("text")).is_err());
        assert!(check_evidence(&json!({"start": 1, "end": 2})).is_err());
    }

    #[test]
    fn options_are_bounded() {
        let opts = |systems: &[&str], top_k, min_score| {
            options(
                None,
                systems.iter().map(|s| s.to_string()).collect(),
                top_k,
                min_score,
                None,
            )
        };
        assert!(opts(&[], None, None).is_ok());
        assert!(opts(&["cm"], Some(5), Some(0.5)).is_ok());
        assert!(opts(&["icd9"], None, None).is_err());
        assert!(opts(&[], Some(0), None).is_err());
        assert!(opts(&[], Some(1001), None).is_err());
        assert!(opts(&[], None, Some(1.5)).is_err());
    }
}
