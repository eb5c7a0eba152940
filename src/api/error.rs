//! The one place where error kinds become HTTP statuses.
//!
//! Every error the API returns is `{"error": {"code": "...", "message": "..."}}`. The `code`
//! is either an engine error code ([`crate::Error::code`]) or one of the API's own kinds
//! below; [`STATUS`] maps each code to its status, and nothing else in the API picks an
//! error status.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::Error;

/// Error code -> HTTP status. Engine codes first, then the API's own.
pub const STATUS: &[(&str, u16)] = &[
    // crate::Error::code()
    ("invalid_input", 422),
    ("unknown_code", 404),
    ("unknown_format", 422),
    ("parse_error", 500),
    ("missing_asset", 503),
    ("index_unavailable", 503),
    ("io_error", 500),
    ("search_error", 500),
    ("command_failed", 500),
    // API-level
    ("malformed_json", 400),
    ("bad_request", 400),
    ("unauthorized", 401),
    ("not_found", 404),
    ("method_not_allowed", 405),
    ("payload_too_large", 413),
    ("unsupported_media_type", 415),
    ("overloaded", 503),
    ("shutting_down", 503),
    ("timeout", 504),
    ("internal", 500),
];

/// The HTTP status of an error code (500 for a code missing from [`STATUS`]).
pub fn status_of(code: &str) -> StatusCode {
    STATUS
        .iter()
        .find(|(c, _)| *c == code)
        .and_then(|(_, s)| StatusCode::from_u16(*s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The error code for a bare status produced outside the API's handlers (axum's own
/// rejections, layers), so that those answers are JSON too.
fn code_for_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        404 => "not_found",
        405 => "method_not_allowed",
        408 | 504 => "timeout",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "invalid_input",
        429 | 503 => "overloaded",
        _ => "internal",
    }
}

/// Seconds a client should wait before retrying an `overloaded` answer.
pub const RETRY_AFTER_SECS: u32 = 1;

/// An error answer: a code from [`STATUS`] and a message for people.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: &'static str,
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
    pub fn new(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
        }
    }
    pub fn invalid_input(message: impl Into<String>) -> ApiError {
        ApiError::new("invalid_input", message)
    }
    pub fn malformed_json(message: impl Into<String>) -> ApiError {
        ApiError::new("malformed_json", message)
    }
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            "unauthorized",
            "missing or invalid bearer token (send `Authorization: Bearer <token>`)",
        )
    }
    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::new(
            "payload_too_large",
            format!("request body is larger than the limit of {limit} bytes"),
        )
    }
    pub fn unsupported_media_type() -> ApiError {
        ApiError::new(
            "unsupported_media_type",
            "send the body as JSON with `Content-Type: application/json`",
        )
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new("not_found", message)
    }
    pub fn overloaded() -> ApiError {
        ApiError::new(
            "overloaded",
            "the server is at its concurrency limit; retry shortly",
        )
    }
    pub fn timeout(after: std::time::Duration) -> ApiError {
        ApiError::new(
            "timeout",
            format!(
                "the request took longer than {:.1} s and was abandoned",
                after.as_secs_f64()
            ),
        )
    }
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new("internal", message)
    }

    pub fn status(&self) -> StatusCode {
        status_of(self.code)
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
        let code = e.code();
        if status_of(code).is_server_error() {
            // Server-side details (paths, library messages) go to the log, not the client.
            tracing::error!(code, error = %e, "request failed");
            let message = match e {
                Error::MissingAsset { .. } | Error::Index { .. } => {
                    "the engine's assets or index are unavailable".to_string()
                }
                _ => "internal error; see the server log".to_string(),
            };
            ApiError::new(code, message)
        } else {
            ApiError::new(code, e.to_string())
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
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
        if self.code == "overloaded" || self.code == "shutting_down" {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        if self.code == "unauthorized" {
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
    let error = ApiError::new(code_for_status(status), text);
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
    fn every_engine_error_code_has_a_status() {
        let io = || std::io::Error::other("x");
        let errors = [
            Error::MissingAsset {
                name: "a".into(),
                path: PathBuf::new(),
                reason: "r".into(),
            },
            Error::Index {
                path: PathBuf::new(),
                reason: "r".into(),
            },
            Error::InvalidInput("x".into()),
            Error::UnknownCode("x".into()),
            Error::Parse {
                path: PathBuf::new(),
                reason: "r".into(),
            },
            Error::UnknownFormat {
                path: PathBuf::new(),
                reason: "r".into(),
            },
            Error::Io {
                path: PathBuf::new(),
                source: io(),
            },
            Error::Search(tantivy::TantivyError::InvalidArgument("x".into())),
            Error::Command("x".into()),
        ];
        for e in errors {
            assert!(
                STATUS.iter().any(|(c, _)| *c == e.code()),
                "{} has no HTTP status",
                e.code()
            );
        }
        assert_eq!(status_of("invalid_input"), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(status_of("unknown_code"), StatusCode::NOT_FOUND);
        assert_eq!(status_of("overloaded"), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status_of("no_such_code"), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn fallback_codes_are_in_the_table() {
        for s in [
            400u16, 401, 404, 405, 408, 413, 415, 422, 429, 500, 503, 504,
        ] {
            let code = code_for_status(StatusCode::from_u16(s).unwrap());
            assert!(STATUS.iter().any(|(c, _)| *c == code), "{code}");
        }
    }
}
