//! The one place where error kinds become HTTP statuses.
//!
//! Every error the API returns is `{"error": {"code": "...", "message": "..."}}`. The `code`
//! is either an engine error code ([`crate::Error::code`]), with its status from
//! [`engine_status`], or one of the API's own kinds ([`ApiKind`]). Both are exhaustive
//! matches with no fallback: a new engine error variant or API kind does not compile without
//! a status. Nothing else in the API picks an error status.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::Error;

/// The HTTP status of an engine error.
pub fn engine_status(e: &Error) -> StatusCode {
    match e {
        Error::InvalidInput(_) | Error::UnknownFormat { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        Error::UnknownCode(_) => StatusCode::NOT_FOUND,
        // The engine's files: the server cannot answer until its operator fixes them.
        Error::MissingAsset { .. } | Error::Index { .. } | Error::Model { .. } => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        Error::Parse { .. } | Error::Io { .. } | Error::Search(_) | Error::Command(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// What the client is told about an engine error. The client's own mistakes and model
/// errors are explained in full; other server-side details (paths, library messages) go to
/// the log only.
fn client_message(e: &Error) -> String {
    match e {
        Error::InvalidInput(_)
        | Error::UnknownFormat { .. }
        | Error::UnknownCode(_)
        | Error::Model { .. } => e.to_string(),
        Error::MissingAsset { .. } | Error::Index { .. } => {
            "the engine's assets or index are unavailable".to_string()
        }
        Error::Parse { .. } | Error::Io { .. } | Error::Search(_) | Error::Command(_) => {
            "internal error; see the server log".to_string()
        }
    }
}

/// The API's own error kinds: failures of the request or the server, not of the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiKind {
    MalformedJson,
    BadRequest,
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    Overloaded,
    ShuttingDown,
    Timeout,
    Internal,
}

impl ApiKind {
    pub const ALL: [ApiKind; 11] = [
        ApiKind::MalformedJson,
        ApiKind::BadRequest,
        ApiKind::Unauthorized,
        ApiKind::NotFound,
        ApiKind::MethodNotAllowed,
        ApiKind::PayloadTooLarge,
        ApiKind::UnsupportedMediaType,
        ApiKind::Overloaded,
        ApiKind::ShuttingDown,
        ApiKind::Timeout,
        ApiKind::Internal,
    ];

    /// Stable machine-readable code (part of the API).
    pub fn code(self) -> &'static str {
        match self {
            ApiKind::MalformedJson => "malformed_json",
            ApiKind::BadRequest => "bad_request",
            ApiKind::Unauthorized => "unauthorized",
            ApiKind::NotFound => "not_found",
            ApiKind::MethodNotAllowed => "method_not_allowed",
            ApiKind::PayloadTooLarge => "payload_too_large",
            ApiKind::UnsupportedMediaType => "unsupported_media_type",
            ApiKind::Overloaded => "overloaded",
            ApiKind::ShuttingDown => "shutting_down",
            ApiKind::Timeout => "timeout",
            ApiKind::Internal => "internal",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ApiKind::MalformedJson | ApiKind::BadRequest => StatusCode::BAD_REQUEST,
            ApiKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiKind::NotFound => StatusCode::NOT_FOUND,
            ApiKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiKind::Overloaded | ApiKind::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            ApiKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ApiKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The kind of a bare error status produced outside the API's handlers (axum's own
    /// rejections, layers), so that those answers are JSON too. (422 is an engine
    /// `invalid_input`, see [`json_errors`].)
    fn of_status(status: StatusCode) -> ApiKind {
        match status.as_u16() {
            400 => ApiKind::BadRequest,
            401 => ApiKind::Unauthorized,
            404 => ApiKind::NotFound,
            405 => ApiKind::MethodNotAllowed,
            408 | 504 => ApiKind::Timeout,
            413 => ApiKind::PayloadTooLarge,
            415 => ApiKind::UnsupportedMediaType,
            429 | 503 => ApiKind::Overloaded,
            _ => ApiKind::Internal,
        }
    }
}

/// Seconds a client should wait before retrying an `overloaded` answer.
pub const RETRY_AFTER_SECS: u32 = 1;

/// An error answer: a code, its status and a message for people.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: &'static str,
    pub status: StatusCode,
    pub message: String,
}

/// `{"error": {"code", "message"}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable kind, e.g. `invalid_input`, `unknown_code`, `unauthorized`.
    #[schema(example = "invalid_input")]
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: ApiKind, message: impl Into<String>) -> ApiError {
        ApiError {
            code: kind.code(),
            status: kind.status(),
            message: message.into(),
        }
    }
    /// An engine `invalid_input` (422): the same code and message as [`Error::InvalidInput`].
    pub fn invalid_input(message: impl Into<String>) -> ApiError {
        ApiError::from(Error::InvalidInput(message.into()))
    }
    pub fn malformed_json(message: impl Into<String>) -> ApiError {
        ApiError::new(ApiKind::MalformedJson, message)
    }
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            ApiKind::Unauthorized,
            "missing or invalid bearer token (send `Authorization: Bearer <token>`)",
        )
    }
    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::new(
            ApiKind::PayloadTooLarge,
            format!("request body is larger than the limit of {limit} bytes"),
        )
    }
    pub fn unsupported_media_type() -> ApiError {
        ApiError::new(
            ApiKind::UnsupportedMediaType,
            "send the body as JSON with `Content-Type: application/json`",
        )
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(ApiKind::NotFound, message)
    }
    pub fn overloaded() -> ApiError {
        ApiError::new(
            ApiKind::Overloaded,
            "the server is at its concurrency limit; retry shortly",
        )
    }
    pub fn timeout(after: std::time::Duration) -> ApiError {
        ApiError::new(
            ApiKind::Timeout,
            format!(
                "the request took longer than {:.1} s and was abandoned",
                after.as_secs_f64()
            ),
        )
    }
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(ApiKind::Internal, message)
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message.clone(),
            },
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let status = engine_status(&e);
        if status.is_server_error() {
            tracing::error!(code = e.code(), error = %e, "request failed");
        }
        ApiError {
            code: e.code(),
            status,
            message: client_message(&e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut response = (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response();
        let headers = response.headers_mut();
        if self.code == ApiKind::Overloaded.code() || self.code == ApiKind::ShuttingDown.code() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        if self.code == ApiKind::Unauthorized.code() {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"chartcoder\""),
            );
        }
        response
    }
}

/// Middleware: an error answer that is not JSON yet (axum's own 404/405/413 answers,
/// extractor rejections) becomes `{"error": ...}` with the code of its status.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("request failed")
                .to_string()
        });
    let error = match status {
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::invalid_input(text),
        _ => ApiError::new(ApiKind::of_status(status), text),
    };
    let mut rebuilt = error.into_response();
    // Keep the original status and its headers (Retry-After, Allow, ...).
    *rebuilt.status_mut() = parts.status;
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rebuilt.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rebuilt
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn engine_errors_answer_their_status_and_say_what_they_can() {
        let model = Error::Model {
            path: PathBuf::from("models/ranker.onnx"),
            reason: "cannot load".into(),
        };
        let answer = ApiError::from(model);
        assert_eq!(answer.code, "model_unavailable");
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(answer.message.contains("cannot load"), "{}", answer.message);
        assert!(
            answer.message.contains("chartcoder train"),
            "{}",
            answer.message
        );

        let invalid = ApiError::from(Error::InvalidInput("empty note".into()));
        assert_eq!(
            (invalid.code, invalid.status),
            ("invalid_input", StatusCode::UNPROCESSABLE_ENTITY)
        );
        assert_eq!(invalid.message, "invalid input: empty note");
        assert_eq!(
            ApiError::invalid_input("empty note").message,
            invalid.message
        );
        let unknown = ApiError::from(Error::UnknownCode("X99".into()));
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);

        let index = ApiError::from(Error::Index {
            path: PathBuf::from("/srv/index"),
            reason: "r".into(),
        });
        assert_eq!(index.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!index.message.contains("/srv/index"), "{}", index.message);
        let io = ApiError::from(Error::Io {
            path: PathBuf::from("/srv/secret"),
            source: std::io::Error::other("x"),
        });
        assert_eq!(
            (io.code, io.status),
            ("io_error", StatusCode::INTERNAL_SERVER_ERROR)
        );
        assert!(!io.message.contains("/srv/secret"), "{}", io.message);
    }

    #[test]
    fn api_kinds_have_distinct_codes() {
        let mut codes: Vec<&str> = ApiKind::ALL.iter().map(|k| k.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ApiKind::ALL.len());
        assert_eq!(
            ApiKind::Overloaded.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn bare_statuses_keep_their_status() {
        for s in [400u16, 401, 404, 405, 413, 415, 503, 504] {
            let status = StatusCode::from_u16(s).unwrap();
            assert_eq!(ApiKind::of_status(status).status(), status, "{s}");
        }
    }
}
