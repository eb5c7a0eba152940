//! Shared by the integration tests and benches that need the fetched assets and the built
//! index: the one place that decides whether a test runs, skips or fails for want of setup.
//!
//! - Without `.assets/` (or `index/default/`) a test prints `skipping: ...` naming
//!   `scripts/setup` and returns, so that a plain `cargo test` on a fresh clone still runs
//!   the fixture tests.
//! - With `CHARTCODER_REQUIRE_SETUP=1` (exported by `scripts/test`, hence CI) the same
//!   message fails the test instead: CI never goes green on tests that did not run.
//! - Once the directories exist, anything that does not open (the engine, the encoder, the
//!   index) is a failure whose message names the fix, never a skip.
//!
//! Inputs that `scripts/setup` does not provide (`../shared` corpora, `python3`) are
//! optional: [`skip_because`] says why and returns, with or without the variable.

#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use chartcoder::engine::{Config, Engine};
use chartcoder::Error;

/// The variable that turns a missing setup from a skip into a failure.
pub const REQUIRE_SETUP: &str = "CHARTCODER_REQUIRE_SETUP";

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

/// Whether a missing setup fails (`CHARTCODER_REQUIRE_SETUP` set to anything but empty or
/// `0`).
pub fn setup_required() -> bool {
    std::env::var_os(REQUIRE_SETUP).is_some_and(|v| !v.is_empty() && v != "0")
}

/// A test that needs `what` (absent at `path`) cannot run: prints why and returns (the
/// caller then returns), or panics with the same message under `CHARTCODER_REQUIRE_SETUP`.
pub fn not_set_up(what: &str, path: &Path) {
    let message = format!(
        "no {what} at {}; run `scripts/setup` (fetches .assets/ and builds index/default)",
        path.display()
    );
    if setup_required() {
        panic!("not set up: {message} ({REQUIRE_SETUP} is set, so this is a failure, not a skip)");
    }
    eprintln!("skipping: {message}; set {REQUIRE_SETUP}=1 to make this a failure");
}

/// A test cannot run here for a reason `scripts/setup` does not fix (an input outside the
/// repository is absent, the wrong build profile): prints why; never a failure.
pub fn skip_because(why: impl std::fmt::Display) {
    eprintln!("skipping: {why}");
}

/// The assets directory of this checkout, or `None` after [`not_set_up`].
pub fn assets_or_skip() -> Option<PathBuf> {
    let assets = root().join(".assets");
    if !assets.is_dir() {
        not_set_up("fetched assets", &assets);
        return None;
    }
    Some(assets)
}

/// The checkout's configuration when both `.assets/` and `index/default/` exist, or `None`
/// after [`not_set_up`].
pub fn setup_or_skip() -> Option<Config> {
    let config = repo_config();
    assets_or_skip()?;
    if !config.index.is_dir() {
        not_set_up("built index", &config.index);
        return None;
    }
    Some(config)
}

/// The command that repairs a setup for which `e` is the error.
pub fn fix_for(e: &Error) -> &'static str {
    match e {
        Error::Index { .. } => {
            "rebuild the index with `scripts/run index build --force` (or delete index/default and run `scripts/setup`)"
        }
        Error::MissingAsset { .. } => "fetch the assets with `scripts/setup`",
        Error::Model { .. } => {
            "run `scripts/setup` for the encoder; `git checkout models/` restores the committed models"
        }
        _ => "see the error above",
    }
}

/// Panics with `e` and its fix: `context` did not open over the checkout's setup.
pub fn open_failed(context: &str, e: &Error) -> ! {
    panic!(
        "{context} failed on this checkout's setup (.assets/, index/default, models/): \
         error[{}]: {e}\nfix: {}",
        e.code(),
        fix_for(e)
    )
}

/// The engine over this checkout; `None` (after [`not_set_up`]) when `.assets/` or
/// `index/default/` is absent. Any error of `Engine::open` is a failure naming the fix.
pub fn open_engine_or_skip() -> Option<Engine> {
    let config = setup_or_skip()?;
    match Engine::open(config) {
        Ok(engine) => Some(engine),
        Err(e) => open_failed("Engine::open", &e),
    }
}

/// [`open_engine_or_skip`], opened once per test binary and shared. A failure to open
/// fails every test that asks, each with the same message.
pub fn shared_engine() -> Option<Arc<Engine>> {
    static ENGINE: OnceLock<Result<Option<Arc<Engine>>, String>> = OnceLock::new();
    let opened = ENGINE.get_or_init(|| {
        std::panic::catch_unwind(|| open_engine_or_skip().map(Arc::new)).map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "Engine::open panicked".into())
        })
    });
    match opened {
        Ok(engine) => engine.clone(),
        Err(message) => panic!("{message}"),
    }
}

/// [`shared_engine`] by reference.
pub fn engine() -> Option<&'static Engine> {
    static REF: OnceLock<Option<Arc<Engine>>> = OnceLock::new();
    REF.get_or_init(shared_engine).as_deref()
}
