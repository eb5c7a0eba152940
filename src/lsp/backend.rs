//! Where notes are coded and decisions stored: the engine in this process, or a running
//! `chartcoder serve` (`--server URL`) over its HTTP API.

use std::collections::HashMap;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::LspConfig;
use crate::assets::Assets;
use crate::codeset::{normalize_code, CodeSet};
use crate::coding::{Coding, SuggestOptions};
use crate::engine::{Config, Engine};
use crate::error::{Error, Result};
use crate::feedback::{self, Decision, FeedbackStore, NewFeedback, SqliteFeedbackStore};

/// Environment variable holding the bearer token for `--server`.
pub const TOKEN_ENV: &str = "CHARTCODER_TOKEN";

/// Long enough for the largest note the engine accepts; short enough that a hung server does
/// not hold a decision forever.
const HTTP_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Backend {
    coder: Coder,
    store: Store,
}

enum Coder {
    Local(Box<Engine>),
    /// The code sets are loaded locally when the assets are there, for hover notes only.
    Remote(Remote, Option<Box<CodeSet>>),
}

enum Store {
    /// Decisions live only in the editor session.
    None,
    Sqlite(SqliteFeedbackStore),
    /// The server's own feedback store, through `POST /v1/feedback`.
    Server,
}

impl Backend {
    /// Opens the engine (about a second) or connects to the server, and the feedback store.
    pub fn open(engine_config: Config, config: &LspConfig) -> Result<Backend> {
        let coder = match &config.server {
            Some(url) => {
                let codes = CodeSet::load(&Assets::new(&engine_config.assets))
                    .inspect_err(|e| tracing::info!("hover without tabular notes: {e}"))
                    .ok()
                    .map(Box::new);
                Coder::Remote(Remote::new(url), codes)
            }
            None => Coder::Local(Box::new(Engine::open(engine_config)?)),
        };
        let store = match (&config.feedback_db, &coder) {
            (Some(path), _) => Store::Sqlite(SqliteFeedbackStore::open(path)?),
            (None, Coder::Remote(..)) => Store::Server,
            (None, Coder::Local(_)) => Store::None,
        };
        Ok(Backend { coder, store })
    }

    pub fn suggest(
        &self,
        document_id: &str,
        text: &str,
        options: &SuggestOptions,
    ) -> Result<Coding> {
        match &self.coder {
            Coder::Local(engine) => engine.suggest(Some(document_id.to_string()), text, options),
            Coder::Remote(remote, _) => {
                let mut coding: Coding = remote.post(
                    "/v1/suggest",
                    &serde_json::json!({
                        "text": text,
                        "id": document_id,
                        "setting": options.setting,
                        "top_k": options.top_k,
                        "min_score": options.min_score,
                        "ranker": options.ranker,
                        "systems": options.systems,
                    }),
                )?;
                // Whatever the server's own defaults, show what this client asked for.
                coding.suggestions.retain(|s| s.score >= options.min_score);
                Ok(coding)
            }
        }
    }

    /// The code sets, when available (always in-process).
    pub fn codes(&self) -> Option<&CodeSet> {
        match &self.coder {
            Coder::Local(engine) => Some(&engine.codes),
            Coder::Remote(_, codes) => codes.as_deref(),
        }
    }

    /// Stores a decision; `Ok(false)` when no store is configured.
    pub fn record(&self, decision: &NewFeedback) -> Result<bool> {
        match &self.store {
            Store::None => Ok(false),
            Store::Sqlite(store) => {
                let checked = match self.codes() {
                    Some(codes) => feedback::validate(decision, codes)?,
                    None => decision.clone(),
                };
                store.append(&checked)?;
                Ok(true)
            }
            Store::Server => match &self.coder {
                Coder::Remote(remote, _) => {
                    remote.post::<serde_json::Value>("/v1/feedback", decision)?;
                    Ok(true)
                }
                Coder::Local(_) => Ok(false),
            },
        }
    }

    /// Codes (normalised) whose latest decision on this document is a rejection, so that a
    /// rejected suggestion stays hidden when the note is opened again. Only the local store
    /// can be read back.
    pub fn rejected(&self, document_id: &str) -> Vec<String> {
        let Store::Sqlite(store) = &self.store else {
            return Vec::new();
        };
        let history = store.history(document_id).unwrap_or_else(|e| {
            tracing::warn!("feedback history unavailable: {e}");
            Vec::new()
        });
        let mut latest = HashMap::new();
        for record in history {
            latest.insert(normalize_code(&record.code), record.decision);
        }
        latest
            .into_iter()
            .filter(|(_, decision)| *decision == Decision::Reject)
            .map(|(code, _)| code)
            .collect()
    }
}

/// A `chartcoder serve` instance.
struct Remote {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
}

impl Remote {
    fn new(url: &str) -> Remote {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(HTTP_TIMEOUT))
            // Error statuses carry the API's error message; read it rather than a bare code.
            .http_status_as_error(false)
            .build();
        Remote {
            agent: ureq::Agent::new_with_config(config),
            base: url.trim_end_matches('/').to_string(),
            token: std::env::var(TOKEN_ENV)
                .ok()
                .filter(|t| !t.trim().is_empty()),
        }
    }

    fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T> {
        let url = format!("{}{path}", self.base);
        let fail = |e: ureq::Error| Error::Command(format!("{url}: {e}"));
        let mut request = self.agent.post(&url);
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let mut response = request.send_json(body).map_err(fail)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.body_mut().read_to_string().unwrap_or_default();
            return Err(Error::Command(format!(
                "{url}: HTTP {status}{}",
                api_error_message(&body, status.as_u16())
            )));
        }
        response.body_mut().read_json().map_err(fail)
    }
}

/// `: message` from an API error body (`{"error": {"message"}}` or `{"message"}`), with a hint
/// for a missing token. Nothing else of the body is kept: it is not ours to log.
fn api_error_message(body: &str, status: u16) -> String {
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let message = value
        .pointer("/error/message")
        .or_else(|| value.get("message"))
        .and_then(|m| m.as_str());
    match (message, status) {
        (Some(m), _) => format!(": {m}"),
        (None, 401) => format!(": set {TOKEN_ENV} to a token the server accepts"),
        (None, _) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_keep_only_their_message() {
        assert_eq!(
            api_error_message(
                r#"{"error":{"code":"invalid_input","message":"empty note"}}"#,
                400
            ),
            ": empty note"
        );
        assert_eq!(api_error_message(r#"{"message":"nope"}"#, 403), ": nope");
        assert!(api_error_message("", 401).contains(TOKEN_ENV));
        assert_eq!(api_error_message("<html>", 502), "");
    }
}
