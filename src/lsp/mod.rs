//! Language Server Protocol front end over stdio: coding suggestions on plain-text and
//! markdown notes as diagnostics at their evidence spans, hover with the tabular notes,
//! accept/reject code actions, and `chartcoder.listSuggestions`.
//!
//! Threads: lsp-server's stdio reader and writer; a relay that turns incoming messages into
//! [`Event`]s; a worker that owns the engine (or the HTTP client of `--server`) and codes one
//! note at a time; and the main loop ([`server::Server`]), which owns every document, debounces
//! changes and answers requests. Coding never runs on the main loop, so hovers, cancellations
//! and shutdown are answered while a long note is being coded.
//!
//! Nothing here logs note text: only counts, timings and errors go to stderr.

mod backend;
mod codes_block;
mod options;
mod position;
mod render;
mod server;

use std::path::PathBuf;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use lsp_server::{Connection, Message};
use lsp_types::Uri;

use crate::coding::{Coding, SuggestOptions};
use crate::error::{Error, Result};
use backend::Backend;

pub use position::{Encoding, IndexedText};

#[derive(Clone, Debug, Default)]
pub struct LspConfig {
    /// Code against a running `chartcoder serve` instead of an in-process engine.
    pub server: Option<String>,
    /// SQLite feedback store for accept/reject decisions. Without it, decisions go to the
    /// server's store with `server`, and nowhere (this session only) in-process.
    pub feedback_db: Option<PathBuf>,
}

/// Runs the language server on stdin/stdout until the client exits. Returns an error (exit
/// status 1) when the client exits without `shutdown` or the connection breaks.
pub fn run(engine_config: crate::engine::Config, config: LspConfig) -> Result<()> {
    let (connection, io_threads) = Connection::stdio();
    let Connection { sender, receiver } = connection;
    let (events_tx, events) = mpsc::channel();
    let (jobs_tx, jobs) = mpsc::channel();

    let relay_events = events_tx.clone();
    std::thread::Builder::new()
        .name("chartcoder-lsp-relay".into())
        .spawn(move || {
            for message in receiver {
                if relay_events.send(Event::Message(message)).is_err() {
                    return;
                }
            }
            let _ = relay_events.send(Event::Disconnected);
        })
        .map_err(|e| Error::Command(format!("cannot start the LSP relay thread: {e}")))?;
    std::thread::Builder::new()
        .name("chartcoder-lsp-worker".into())
        .spawn(move || work(engine_config, &config, &jobs, &events_tx))
        .map_err(|e| Error::Command(format!("cannot start the LSP worker thread: {e}")))?;

    let outbox = Box::new(move |message: Message| {
        // Fails only once the writer thread is gone, when there is no one left to tell.
        let _ = sender.send(message);
    });
    let outcome = server::Server::new(outbox, jobs_tx).run(&events);
    // The server (and with it the last sender) is gone: the writer flushes and stops.
    io_threads
        .join()
        .map_err(|e| Error::Command(format!("LSP connection: {e}")))?;
    outcome
}

/// What the main loop reacts to.
enum Event {
    Message(Message),
    /// The client closed stdin.
    Disconnected,
    /// The worker opened the engine (or failed to).
    Ready(std::result::Result<Arc<Backend>, String>),
    Coded(Coded),
}

/// A note to code, at one revision of its document.
struct Job {
    uri: Uri,
    revision: u64,
    text: String,
    options: SuggestOptions,
}

struct Coded {
    uri: Uri,
    revision: u64,
    result: std::result::Result<Coding, String>,
    elapsed: Duration,
}

/// The worker: opens the backend, then codes jobs until the main loop hangs up.
fn work(
    engine_config: crate::engine::Config,
    config: &LspConfig,
    jobs: &mpsc::Receiver<Job>,
    events: &mpsc::Sender<Event>,
) {
    let backend = match Backend::open(engine_config, config) {
        Ok(backend) => Arc::new(backend),
        Err(e) => {
            let _ = events.send(Event::Ready(Err(e.to_string())));
            return;
        }
    };
    if events.send(Event::Ready(Ok(Arc::clone(&backend)))).is_err() {
        return;
    }
    while let Ok(first) = jobs.recv() {
        for job in latest_per_document(first, jobs.try_iter()) {
            let started = Instant::now();
            let result = code(&backend, &job);
            let coded = Coded {
                uri: job.uri,
                revision: job.revision,
                result,
                elapsed: started.elapsed(),
            };
            if events.send(Event::Coded(coded)).is_err() {
                return;
            }
        }
    }
}

/// Queued jobs, keeping only the newest of each document: older revisions would be discarded
/// on arrival anyway, and coding them would delay the one that matters.
fn latest_per_document(first: Job, rest: impl Iterator<Item = Job>) -> Vec<Job> {
    let mut latest: Vec<Job> = Vec::new();
    for job in std::iter::once(first).chain(rest) {
        match latest.iter_mut().find(|j| j.uri == job.uri) {
            Some(slot) => *slot = job,
            None => latest.push(job),
        }
    }
    latest
}

fn code(backend: &Backend, job: &Job) -> std::result::Result<Coding, String> {
    // A blank note has nothing to code; the engine calls it invalid input.
    if job.text.trim().is_empty() {
        return Ok(Coding {
            id: Some(job.uri.as_str().to_string()),
            code_set: Default::default(),
            suggestions: Vec::new(),
        });
    }
    // An engine bug on one odd note must not take the editor session down with it.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        backend.suggest(job.uri.as_str(), &job.text, &job.options)
    }));
    match outcome {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("internal error while coding this note (see the server log)".into()),
    }
}
