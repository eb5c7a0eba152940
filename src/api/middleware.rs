//! The layers every request passes: observation (metrics and a log line without any note
//! text), the request timeout, bearer-token auth, and the concurrency limit.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::OwnedSemaphorePermit;

use super::error::ApiError;
use super::SharedState;

/// Records each request in the metrics and logs method, route template, status and latency:
/// never the body, the query string or the path's parameters.
pub async fn observe(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let mut response = next.run(request).await;
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    state.metrics.record(&method, &route, status, elapsed);
    tracing::info!(
        target: "chartcoder::api",
        method,
        route,
        status,
        latency_ms = (elapsed.as_secs_f64() * 100_000.0).round() / 100.0,
        "request"
    );
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if route.starts_with("/v1/") {
        // Answers carry patient information: no cache keeps them.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Abandons a request that takes longer than the configured timeout (504 `timeout`). Work
/// already handed to a blocking thread finishes there, still holding its concurrency permit.
pub async fn timeout(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let after = state.limits.request_timeout;
    match tokio::time::timeout(after, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            state.metrics.timed_out.fetch_add(1, Ordering::Relaxed);
            ApiError::timeout(after).into_response()
        }
    }
}

/// The configured bearer tokens; none means auth is off (loopback only).
pub struct Auth {
    tokens: Vec<Vec<u8>>,
}

impl Auth {
    pub fn new(tokens: Vec<String>) -> Auth {
        Auth {
            tokens: tokens.into_iter().map(String::into_bytes).collect(),
        }
    }

    pub fn required(&self) -> bool {
        !self.tokens.is_empty()
    }

    pub fn allows(&self, headers: &HeaderMap) -> bool {
        if !self.required() {
            return true;
        }
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some((scheme, token)) = value.trim().split_once(' ') else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return false;
        }
        let token = token.trim().as_bytes();
        // Every token is compared in full, so timing tells nothing about which one is close.
        self.tokens
            .iter()
            .fold(false, |found, t| constant_time_eq(t, token) | found)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 401 `unauthorized` without a configured bearer token.
pub async fn require_token(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    if state.auth.allows(request.headers()) {
        next.run(request).await
    } else {
        ApiError::unauthorized().into_response()
    }
}

/// A concurrency permit, shared by the handler and any blocking work it starts: the slot is
/// free again only when both are done.
#[derive(Clone)]
pub struct Permit(#[allow(dead_code)] Arc<OwnedSemaphorePermit>);

/// Refuses a request with 503 `overloaded` and `Retry-After` when every permit is taken.
pub async fn limit_concurrency(
    State(state): State<SharedState>,
    mut request: Request,
    next: Next,
) -> Response {
    match state.limiter.clone().try_acquire_owned() {
        Ok(permit) => {
            request.extensions_mut().insert(Permit(Arc::new(permit)));
            next.run(request).await
        }
        Err(_) => {
            state.metrics.shed.fetch_add(1, Ordering::Relaxed);
            ApiError::overloaded().into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn bearer_tokens_are_checked() {
        let auth = Auth::new(vec!["s3cret".into(), "other".into()]);
        assert!(auth.required());
        assert!(auth.allows(&headers("Bearer s3cret")));
        assert!(auth.allows(&headers("bearer other")));
        assert!(!auth.allows(&headers("Bearer s3cre")));
        assert!(!auth.allows(&headers("Basic s3cret")));
        assert!(!auth.allows(&headers("s3cret")));
        assert!(!auth.allows(&HeaderMap::new()));
        assert!(Auth::new(Vec::new()).allows(&HeaderMap::new()));
    }
}
