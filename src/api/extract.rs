//! Request extractors whose rejections are API errors: a JSON body (content type, size,
//! UTF-8, syntax and shape checked in that order) and a query string.

use std::pin::Pin;

use axum::body::{Body, HttpBody};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{header, request::Parts, HeaderMap};
use serde::de::DeserializeOwned;

use super::error::{ApiError, ApiKind};
use super::SharedState;

/// A JSON request body.
///
/// - not `application/json` (or `*+json`) -> 415 `unsupported_media_type`
/// - larger than the body limit -> 413 `payload_too_large`
/// - not UTF-8, or not JSON -> 400 `malformed_json`
/// - JSON of the wrong shape (missing field, wrong type, unknown field) -> 422 `invalid_input`
pub struct ApiJson<T>(pub T);

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: DeserializeOwned> FromRequest<SharedState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &SharedState) -> Result<Self, ApiError> {
        if !is_json(request.headers()) {
            return Err(ApiError::unsupported_media_type());
        }
        let limit = state.limits.max_body_bytes;
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let bytes = read_limited(request.into_body(), limit, declared).await?;
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            ApiError::malformed_json(format!(
                "request body is not valid UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ))
        })?;
        serde_json::from_str(text).map(ApiJson).map_err(|e| {
            use serde_json::error::Category;
            match e.classify() {
                Category::Data => ApiError::invalid_input(format!("request body: {e}")),
                Category::Io | Category::Syntax | Category::Eof => {
                    ApiError::malformed_json(format!("request body is not valid JSON: {e}"))
                }
            }
        })
    }
}

/// Reads a body of at most `limit` bytes. A larger one is still read (and dropped) up to
/// [`DRAIN_FACTOR`] times the limit before the 413, so that a client still writing it gets
/// the answer instead of a broken pipe; beyond that the connection is simply not read on.
async fn read_limited(
    mut body: Body,
    limit: usize,
    declared: Option<u64>,
) -> Result<Vec<u8>, ApiError> {
    let drain = limit.saturating_mul(DRAIN_FACTOR);
    if declared.is_some_and(|n| n > drain as u64) {
        return Err(ApiError::payload_too_large(limit));
    }
    let mut bytes = Vec::with_capacity(declared.map_or(0, |n| n.min(limit as u64) as usize));
    let mut total = 0usize;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| {
            ApiError::new(
                ApiKind::BadRequest,
                format!("cannot read the request body: {e}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len());
        if total > drain {
            break;
        }
        if total <= limit {
            bytes.extend_from_slice(&data);
        }
    }
    if total > limit {
        return Err(ApiError::payload_too_large(limit));
    }
    Ok(bytes)
}

/// How many times the body limit is read (and dropped) from a client sending too much.
const DRAIN_FACTOR: usize = 4;

/// A query string; a missing or mistyped parameter -> 422 `invalid_input`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|rejection| ApiError::invalid_input(rejection.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn json_content_types() {
        let mut headers = HeaderMap::new();
        assert!(!is_json(&headers));
        for (value, expected) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("Application/JSON", true),
            ("application/problem+json", true),
            ("text/plain", false),
            ("application/x-www-form-urlencoded", false),
        ] {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            assert_eq!(is_json(&headers), expected, "{value}");
        }
    }
}
