//! HTTP API (axum) over the engine: a thin front end.
//!
//! | route | auth | what |
//! | --- | --- | --- |
//! | `POST /v1/suggest` | yes | code one note -> `Coding` |
//! | `POST /v1/suggest/batch` | yes | up to [`MAX_BATCH_DOCUMENTS`] notes -> `{"results": [...]}` |
//! | `GET /v1/codes/{code}` | yes | a code: title, hierarchy, notes, 7th characters |
//! | `GET /v1/search?q=&top_k=&system=` | yes | phrase lookup |
//! | `POST /v1/feedback`, `GET /v1/feedback?document_id=` | yes | coders' decisions |
//! | `GET /metrics`, `GET /openapi.json` | yes | Prometheus text, OpenAPI document |
//! | `GET /healthz`, `GET /readyz` | no | liveness, readiness |
//! | `GET /`, `GET /assets/{file}` | no | the coder workbench |
//!
//! Engine work runs on the blocking pool under a concurrency limit (503 `overloaded` with
//! `Retry-After` beyond it); requests have a body limit (413) and a timeout (504); errors are
//! `{"error": {"code", "message"}}` with statuses from the exhaustive matches in `error.rs`.
//! Logs hold method, route, status and latency only: never note text.

mod error;
mod extract;
mod handlers;
mod metrics;
mod middleware;
mod openapi;
mod web;

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Method};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::{oneshot, Notify, Semaphore};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::feedback::{FeedbackStore, SqliteFeedbackStore};

pub use error::{engine_status, ApiKind};
pub use handlers::MAX_BATCH_DOCUMENTS;

/// Default request body limit: 2 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// Default per-request timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Default number of `/v1` requests served at once; more are refused with 503.
pub const DEFAULT_MAX_CONCURRENCY: usize = 32;
/// Default time in-flight requests get to finish after SIGINT/SIGTERM.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// How long the runtime waits for abandoned blocking work once the server has stopped.
const RUNTIME_SHUTDOWN: Duration = Duration::from_secs(2);

/// Where `chartcoder serve` listens, where it keeps feedback, and its tokens file.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub addr: SocketAddr,
    /// SQLite file of the feedback store.
    pub feedback_db: PathBuf,
    /// File with one bearer token per line (blank lines and `#` comments skipped); used
    /// together with [`ServeOptions::tokens`].
    pub tokens_file: Option<PathBuf>,
}

impl ServeConfig {
    pub fn new(addr: SocketAddr, feedback_db: impl Into<PathBuf>) -> ServeConfig {
        ServeConfig {
            addr,
            feedback_db: feedback_db.into(),
            tokens_file: None,
        }
    }
}

/// Limits and switches of the server; `Default` is what `chartcoder serve` uses.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Bearer tokens given directly; `None` (the default): from `CHARTCODER_TOKENS`
    /// (comma-separated). No token at all (here nor in the tokens file): auth is off and only
    /// a loopback address may be bound.
    pub tokens: Option<Vec<String>>,
    /// Largest request body, bytes (413 beyond).
    pub max_body_bytes: usize,
    /// Per-request timeout (504 beyond).
    pub request_timeout: Duration,
    /// `/v1` requests served at once (503 + `Retry-After` beyond).
    pub max_concurrency: usize,
    /// Most documents in one batch request (422 beyond); at most [`MAX_BATCH_DOCUMENTS`].
    pub max_batch_documents: usize,
    /// How long in-flight requests may run after a shutdown signal.
    pub shutdown_grace: Duration,
    /// Origins allowed by CORS; empty (the default): no CORS headers at all.
    pub cors_origins: Vec<String>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            tokens: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            max_batch_documents: MAX_BATCH_DOCUMENTS,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            cors_origins: Vec::new(),
        }
    }
}

fn split_tokens(text: &str, separator: char) -> Vec<String> {
    text.split(separator)
        .map(str::trim)
        .filter(|t| !t.is_empty() && !t.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Every configured token: `options.tokens` (or `CHARTCODER_TOKENS`) and the lines of
/// `config.tokens_file`.
fn resolve_tokens(config: &ServeConfig, options: &ServeOptions) -> Result<Vec<String>> {
    let mut tokens: Vec<String> = match &options.tokens {
        Some(tokens) => tokens
            .iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
        None => std::env::var("CHARTCODER_TOKENS")
            .map(|v| split_tokens(&v, ','))
            .unwrap_or_default(),
    };
    if let Some(path) = &config.tokens_file {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let from_file = split_tokens(&text, '\n');
        if from_file.is_empty() {
            return Err(Error::InvalidInput(format!(
                "the tokens file {} holds no token",
                path.display()
            )));
        }
        tokens.extend(from_file);
    }
    if tokens
        .iter()
        .any(|t| t.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(Error::InvalidInput(
            "a bearer token contains whitespace or control characters".into(),
        ));
    }
    Ok(tokens)
}

/// Limits the handlers and layers read.
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    pub max_concurrency: usize,
    pub max_batch_documents: usize,
    pub shutdown_grace: Duration,
}

pub(crate) struct AppState {
    pub engine: Arc<Engine>,
    pub feedback: Arc<dyn FeedbackStore>,
    pub auth: middleware::Auth,
    pub limiter: Arc<Semaphore>,
    pub limits: Limits,
    pub metrics: metrics::Metrics,
    pub shutting_down: AtomicBool,
    /// The OpenAPI document, rendered once.
    pub openapi: String,
    cors_origins: Vec<HeaderValue>,
}

pub(crate) type SharedState = Arc<AppState>;

/// Checks the configuration and opens the feedback store: everything that can fail before
/// the server binds.
fn prepare(
    engine: Arc<Engine>,
    config: &ServeConfig,
    options: &ServeOptions,
) -> Result<SharedState> {
    let tokens = resolve_tokens(config, options)?;
    if tokens.is_empty() && !config.addr.ip().is_loopback() {
        return Err(Error::InvalidInput(format!(
            "refusing to listen on {} without bearer tokens: give --tokens FILE or \
             CHARTCODER_TOKENS, or listen on a loopback address (127.0.0.1)",
            config.addr
        )));
    }
    if options.max_concurrency == 0 || options.max_body_bytes == 0 {
        return Err(Error::InvalidInput(
            "max_concurrency and max_body_bytes must be positive".into(),
        ));
    }
    let cors_origins = options
        .cors_origins
        .iter()
        .map(|o| {
            HeaderValue::from_str(o)
                .map_err(|_| Error::InvalidInput(format!("invalid CORS origin `{o}`")))
        })
        .collect::<Result<Vec<_>>>()?;
    let feedback = SqliteFeedbackStore::open(&config.feedback_db)?;
    Ok(Arc::new(AppState {
        engine,
        feedback: Arc::new(feedback),
        auth: middleware::Auth::new(tokens),
        limiter: Arc::new(Semaphore::new(options.max_concurrency)),
        limits: Limits {
            max_body_bytes: options.max_body_bytes,
            request_timeout: options.request_timeout,
            max_concurrency: options.max_concurrency,
            max_batch_documents: options.max_batch_documents.clamp(1, MAX_BATCH_DOCUMENTS),
            shutdown_grace: options.shutdown_grace,
        },
        metrics: metrics::Metrics::default(),
        shutting_down: AtomicBool::new(false),
        openapi: openapi::document(),
        cors_origins,
    }))
}

/// The routes and their layers.
fn router(state: SharedState) -> Router {
    use axum::middleware::from_fn_with_state as with_state;

    let v1 = Router::new()
        .route("/v1/suggest", post(handlers::suggest))
        .route("/v1/suggest/batch", post(handlers::suggest_batch))
        .route("/v1/codes/{code}", get(handlers::code))
        .route("/v1/search", get(handlers::search))
        .route(
            "/v1/feedback",
            post(handlers::add_feedback).get(handlers::feedback_history),
        )
        .route_layer(with_state(state.clone(), middleware::limit_concurrency));
    let protected = v1
        .route("/metrics", get(handlers::metrics))
        .route("/openapi.json", get(handlers::openapi))
        .route_layer(with_state(state.clone(), middleware::require_token));
    let public = Router::new()
        .route("/", get(web::index))
        .route("/assets/{file}", get(web::asset))
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz));
    let app = public
        .merge(protected)
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(with_state(state.clone(), middleware::timeout))
        .layer(with_state(state.clone(), middleware::observe));
    let app = if state.cors_origins.is_empty() {
        app
    } else {
        use tower_http::cors::{AllowOrigin, CorsLayer};
        app.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(state.cors_origins.clone()))
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]),
        )
    };
    app.with_state(state)
}

/// Serves on `listener` until `shutdown` completes, then lets in-flight requests finish
/// (for at most the configured grace period).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    engine: Arc<Engine>,
    config: ServeConfig,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let state = prepare(engine, &config, &options)?;
    run(listener, state, shutdown).await
}

async fn run(
    listener: tokio::net::TcpListener,
    state: SharedState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io(PathBuf::from("<listener>"), e))?;
    let stopping = Arc::new(Notify::new());
    let signal = {
        let state = state.clone();
        let stopping = stopping.clone();
        async move {
            shutdown.await;
            state
                .shutting_down
                .store(true, std::sync::atomic::Ordering::Relaxed);
            stopping.notify_one();
        }
    };
    let grace = state.limits.shutdown_grace;
    let server = axum::serve(listener, router(state)).with_graceful_shutdown(signal);
    tokio::select! {
        served = server.into_future() => {
            served.map_err(|e| Error::io(PathBuf::from(addr.to_string()), e))
        }
        _ = async {
            stopping.notified().await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_secs = grace.as_secs_f64(), "requests still running after the grace period; stopping anyway");
            Ok(())
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("chartcoder-http")
        .build()
        .map_err(|e| Error::Command(format!("cannot start the async runtime: {e}")))
}

fn bind(addr: SocketAddr) -> Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| Error::Command(format!("cannot listen on {addr}: {e}")))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::Command(format!("cannot listen on {addr}: {e}")))?;
    Ok(listener)
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    eprintln!("chartcoder: shutting down; finishing in-flight requests");
}

fn announce(state: &AppState, addr: SocketAddr) {
    if !state.auth.required() {
        eprintln!(
            "chartcoder: WARNING: auth is off (no bearer tokens configured); listening on loopback only"
        );
        tracing::warn!("auth is off: no bearer tokens configured");
    }
    eprintln!("chartcoder: listening on http://{addr} (workbench at http://{addr}/)");
}

/// Serves until SIGINT/SIGTERM, finishing in-flight requests.
pub fn serve(engine: Arc<Engine>, config: ServeConfig) -> Result<()> {
    serve_with(engine, config, ServeOptions::default())
}

/// [`serve`] with explicit limits.
pub fn serve_with(engine: Arc<Engine>, config: ServeConfig, options: ServeOptions) -> Result<()> {
    let state = prepare(engine, &config, &options)?;
    let listener = bind(config.addr)?;
    let addr = listener.local_addr().unwrap_or(config.addr);
    announce(&state, addr);
    let runtime = runtime()?;
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| Error::Command(format!("cannot listen on {addr}: {e}")))?;
        run(listener, state, shutdown_signal()).await
    });
    // Engine work abandoned after the grace period must not hold the process up.
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    served
}

/// A server running on its own thread (tests, embedding). Dropping it shuts it down.
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
}

/// Starts a server on its own thread and runtime; `config.addr` may use port 0. Returns
/// once the socket is bound.
pub fn start(engine: Arc<Engine>, config: ServeConfig, options: ServeOptions) -> Result<Server> {
    let state = prepare(engine, &config, &options)?;
    let listener = bind(config.addr)?;
    let addr = listener.local_addr().unwrap_or(config.addr);
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name(format!("chartcoder-serve-{}", addr.port()))
        .spawn(move || {
            let runtime = runtime()?;
            let served = runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)
                    .map_err(|e| Error::Command(format!("cannot listen on {addr}: {e}")))?;
                run(listener, state, async move {
                    let _ = stopped.await;
                })
                .await
            });
            runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
            served
        })
        .map_err(|e| Error::Command(format!("cannot start the server thread: {e}")))?;
    Ok(Server {
        addr,
        stop: Some(stop),
        thread: Some(thread),
    })
}

impl Server {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits for the end.
    pub fn shutdown(mut self) -> Result<()> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(Error::Command("the server thread panicked".into())),
            None => Ok(()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_from_the_list_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tokens");
        std::fs::write(&file, "# coders\nalpha\n\n  beta  \n").unwrap();
        let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap(), "x.sqlite");
        config.tokens_file = Some(file.clone());
        let options = ServeOptions {
            tokens: Some(vec!["gamma".into()]),
            ..ServeOptions::default()
        };
        assert_eq!(
            resolve_tokens(&config, &options).unwrap(),
            ["gamma", "alpha", "beta"]
        );
        std::fs::write(&file, "\n# none\n").unwrap();
        assert!(resolve_tokens(&config, &options).is_err());
        assert_eq!(split_tokens("a, b,,c", ','), ["a", "b", "c"]);
    }
}
