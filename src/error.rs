//! The one error type of the engine. Front ends map [`Error::code`] to their own
//! surface (exit status, HTTP status) in one place each.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A fetched asset (code set, model, runtime) is absent or corrupt.
    #[error("asset `{name}` is missing or invalid at {path}: {reason}. Fetch it with `chartcoder setup` (or `scripts/setup`)")]
    MissingAsset {
        name: String,
        path: PathBuf,
        reason: String,
    },
    /// The tantivy index is absent, corrupt, or was built by an incompatible version.
    /// (`--force`: a build whose manifest matches its inputs is otherwise skipped, even when
    /// a file such as `embeddings.bin` is missing.)
    #[error(
        "index at {path} is unusable: {reason}. Rebuild it with `chartcoder index build --force`"
    )]
    Index { path: PathBuf, reason: String },
    /// Caller input that can never succeed as given (empty query, bad UTF-8, too long...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A code that is not in the loaded code sets.
    #[error("unknown code `{0}`")]
    UnknownCode(String),
    /// A source file that could not be parsed (tabular XML, index XML/CSV, TSV, JSONL).
    #[error("cannot parse {path}: {reason}")]
    Parse { path: PathBuf, reason: String },
    /// An `--extra` lexicon source whose format is not recognised.
    #[error("unknown lexicon format for {path}: {reason}")]
    UnknownFormat { path: PathBuf, reason: String },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An ONNX model that is absent, not ONNX, or not shaped as chartcoder expects.
    #[error("model {path}: {reason}. Fetch the encoder with `chartcoder setup`; rebuild the ranker with `chartcoder train`")]
    Model { path: PathBuf, reason: String },
    #[error("search engine error: {0}")]
    Search(#[from] tantivy::TantivyError),
    #[error("external command failed: {0}")]
    Command(String),
}

impl Error {
    /// Stable machine-readable code for the error kind (part of the API).
    pub fn code(&self) -> &'static str {
        match self {
            Error::MissingAsset { .. } => "missing_asset",
            Error::Index { .. } => "index_unavailable",
            Error::InvalidInput(_) => "invalid_input",
            Error::UnknownCode(_) => "unknown_code",
            Error::Parse { .. } => "parse_error",
            Error::UnknownFormat { .. } => "unknown_format",
            Error::Io { .. } => "io_error",
            Error::Model { .. } => "model_unavailable",
            Error::Search(_) => "search_error",
            Error::Command(_) => "command_failed",
        }
    }

    /// A copy carrying the same code and message (I/O and search errors become `Command`
    /// with their text: their sources cannot be cloned).
    pub fn clone_kind(&self) -> Error {
        match self {
            Error::InvalidInput(m) => Error::InvalidInput(m.clone()),
            Error::UnknownCode(c) => Error::UnknownCode(c.clone()),
            Error::Io { path, source } => Error::Io {
                path: path.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            other => Error::Command(other.to_string()),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn parse(path: impl Into<PathBuf>, reason: impl Into<String>) -> Error {
        Error::Parse {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
