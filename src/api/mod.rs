//! HTTP API (axum) over the engine: a thin front end. Filled in by the HTTP API issue.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::engine::Engine;
use crate::error::{Error, Result};

/// How `chartcoder serve` runs.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub addr: SocketAddr,
    /// SQLite file of the feedback store.
    pub feedback_db: PathBuf,
    /// File with one bearer token per line (or `CHARTCODER_TOKENS`, comma-separated).
    pub tokens_file: Option<PathBuf>,
}

/// Serves until SIGINT/SIGTERM, finishing in-flight requests.
pub fn serve(engine: Arc<Engine>, config: ServeConfig) -> Result<()> {
    let _ = (engine, config);
    Err(Error::Command("the HTTP server is not built yet".into()))
}
