//! ONNX Runtime, loaded once from the pinned shared library, and sessions pooled per worker.
//!
//! `ort` sessions need `&mut` to run, so each rayon worker gets its own session with one
//! intra-op thread: the batch already uses every core, and letting ORT spawn its own pool on
//! top would oversubscribe them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;

use crate::assets::{Assets, ONNXRUNTIME};
use crate::error::{Error, Result};

/// The ONNX Runtime version the project pins (PyPI `onnxruntime`).
pub const RUNTIME_VERSION: &str = "1.31.1";

static ENVIRONMENT: OnceLock<std::result::Result<Environment, String>> = OnceLock::new();

/// The runtime library: `$ORT_DYLIB_PATH` if set, else the fetched asset.
pub fn runtime_library(assets: &Assets) -> Result<PathBuf> {
    match std::env::var_os("ORT_DYLIB_PATH") {
        Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
        _ => assets.path(ONNXRUNTIME),
    }
}

/// Loads the runtime library once per process; later calls reuse it (whatever path they name).
pub fn environment(library: &Path) -> Result<&'static Environment> {
    let loaded = ENVIRONMENT.get_or_init(|| {
        let builder = ort::init_from(library).map_err(|e| {
            format!(
                "{e}. chartcoder needs ONNX Runtime {RUNTIME_VERSION}: run `chartcoder setup` \
                 (or point ORT_DYLIB_PATH at libonnxruntime.so.{RUNTIME_VERSION})"
            )
        })?;
        builder
            .with_name("chartcoder")
            .with_telemetry(false)
            .build()
            .map_err(|e| format!("cannot start ONNX Runtime from {}: {e}", library.display()))
    });
    loaded.as_ref().map_err(|reason| Error::MissingAsset {
        name: ONNXRUNTIME.into(),
        path: library.to_path_buf(),
        reason: reason.clone(),
    })
}

/// One model file opened as `workers` sessions, each run by one thread at a time.
pub struct SessionPool {
    path: PathBuf,
    sessions: Vec<Mutex<Session>>,
}

impl SessionPool {
    /// Opens `model` `workers` times. Errors name the file and say how to get a good one.
    /// A missing model file is reported before the runtime is loaded.
    pub fn open(library: &Path, model: &Path, workers: usize) -> Result<SessionPool> {
        if !model.is_file() {
            return Err(Error::Model {
                path: model.to_path_buf(),
                reason: "file not found".into(),
            });
        }
        let bytes = std::fs::read(model).map_err(|e| Error::io(model, e))?;
        let environment = environment(library)?;
        SessionPool::from_bytes(environment, model, &bytes, workers)
    }

    /// Opens a model held in memory; `name` stands for it in errors (its path when it came
    /// from a file).
    pub fn from_memory(
        library: &Path,
        name: &Path,
        bytes: &[u8],
        workers: usize,
    ) -> Result<SessionPool> {
        let environment = environment(library)?;
        SessionPool::from_bytes(environment, name, bytes, workers)
    }

    fn from_bytes(
        environment: &Environment,
        model: &Path,
        bytes: &[u8],
        workers: usize,
    ) -> Result<SessionPool> {
        let invalid = |e: ort::Error| Error::Model {
            path: model.to_path_buf(),
            reason: format!("ONNX Runtime cannot load it: {e}"),
        };
        let options = |e: &dyn std::fmt::Display| Error::Model {
            path: model.to_path_buf(),
            reason: format!("cannot set session options: {e}"),
        };
        let mut sessions = Vec::new();
        for _ in 0..workers.max(1) {
            let builder = Session::builder(environment)
                .map_err(|e| options(&e))?
                .with_optimization_level(GraphOptimizationLevel::Level3)
                .map_err(|e| options(&e))?
                .with_intra_threads(1)
                .map_err(|e| options(&e))?
                .with_inter_threads(1)
                .map_err(|e| options(&e))?;
            let mut builder = builder;
            sessions.push(Mutex::new(
                builder.commit_from_memory(bytes).map_err(invalid)?,
            ));
        }
        Ok(SessionPool {
            path: model.to_path_buf(),
            sessions,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks the model's input and output names against what the caller feeds and reads.
    pub fn expect_io(&self, inputs: &[&str], outputs: &[&str]) -> Result<()> {
        let session = self.sessions[0].lock().unwrap_or_else(|p| p.into_inner());
        let names = |outlets: &[ort::value::Outlet]| -> Vec<String> {
            outlets.iter().map(|o| o.name().to_string()).collect()
        };
        let (have_in, have_out) = (names(session.inputs()), names(session.outputs()));
        for (want, have, kind) in [(inputs, &have_in, "input"), (outputs, &have_out, "output")] {
            for name in want {
                if !have.iter().any(|h| h == name) {
                    return Err(Error::Model {
                        path: self.path.clone(),
                        reason: format!(
                            "expected an {kind} named `{name}`, the graph has {have:?}; \
                             it is not the model chartcoder was built for"
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Reads something off one session (inputs, outputs, metadata); sessions are identical.
    pub fn inspect<R>(&self, f: impl FnOnce(&Session) -> R) -> R {
        let session = self.sessions[0].lock().unwrap_or_else(|p| p.into_inner());
        f(&session)
    }

    /// The model's custom metadata (`metadata_props`), by key.
    pub fn custom_metadata(&self) -> Result<BTreeMap<String, String>> {
        let unreadable = |e: ort::Error| Error::Model {
            path: self.path.clone(),
            reason: format!("cannot read its metadata: {e}"),
        };
        self.inspect(|session| {
            let metadata = session.metadata().map_err(unreadable)?;
            let keys = metadata.custom_keys().map_err(unreadable)?;
            Ok(keys
                .into_iter()
                .filter_map(|key| metadata.custom(&key).map(|value| (key, value)))
                .collect())
        })
    }

    /// Runs `f` on a free session: the calling rayon worker's own one when it is free.
    pub fn run<R>(&self, f: impl FnOnce(&mut Session) -> ort::Result<R>) -> Result<R> {
        let n = self.sessions.len();
        let home = rayon::current_thread_index().unwrap_or(0) % n;
        let slot = (0..n)
            .map(|i| (home + i) % n)
            .find_map(|i| self.sessions[i].try_lock().ok());
        let mut session = match slot {
            Some(guard) => guard,
            None => self.sessions[home]
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        };
        f(&mut session).map_err(|e| Error::Model {
            path: self.path.clone(),
            reason: format!("inference failed: {e}"),
        })
    }
}
