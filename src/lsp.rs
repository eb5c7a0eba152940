//! Language Server Protocol front end over stdio. Filled in by the editor issue.

use std::path::PathBuf;

use crate::error::{Error, Result};

#[derive(Clone, Debug, Default)]
pub struct LspConfig {
    /// Code against a running `chartcoder serve` instead of an in-process engine.
    pub server: Option<String>,
    /// SQLite feedback store for accept/reject decisions (in-process mode).
    pub feedback_db: Option<PathBuf>,
}

/// Runs the language server on stdin/stdout until the client exits.
pub fn run(engine_config: crate::engine::Config, config: LspConfig) -> Result<()> {
    let _ = (engine_config, config);
    Err(Error::Command(
        "the language server is not built yet".into(),
    ))
}
