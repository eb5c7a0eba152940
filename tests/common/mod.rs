//! Shared by the integration tests and benches that need the fetched assets and the built
//! index: opening the engine over the repository's paths, or saying why the test skips.

#![allow(dead_code)] // each test binary uses a different part

use std::path::Path;

use chartcoder::engine::{Config, Engine};
use chartcoder::Error;

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `.assets`, `index/default` and `models` of this checkout.
pub fn repo_config() -> Config {
    Config {
        assets: root().join(".assets"),
        index: root().join("index/default"),
        models: root().join("models"),
    }
}

/// The engine over this checkout; `None` with a message naming the set-up command when
/// assets or index are absent. Any other failure is a test failure.
pub fn open_engine_or_skip() -> Option<Engine> {
    let config = repo_config();
    if !config.assets.is_dir() || !config.index.is_dir() {
        eprintln!(
            "skipping: no assets at {} or no index at {}; run `scripts/setup` (or `chartcoder setup`)",
            config.assets.display(),
            config.index.display()
        );
        return None;
    }
    match Engine::open(config) {
        Ok(engine) => Some(engine),
        Err(e @ (Error::MissingAsset { .. } | Error::Index { .. })) => {
            eprintln!("skipping: {e}; run `scripts/setup` (or `chartcoder setup`)");
            None
        }
        Err(e) => panic!("Engine::open failed: {e}"),
    }
}
