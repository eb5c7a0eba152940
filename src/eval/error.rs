//! Errors of the evaluation module.

use std::path::PathBuf;

/// Everything that can go wrong while loading gold data or texts, or writing a report.
///
/// Every variant names the file involved, because evaluation runs touch many files and an
/// error without a path is useless in a batch log.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Reading or writing a file (or listing a directory) failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A line of a gold file could not be understood. `line` is 1-based.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A file that must be UTF-8 text is not; `offset` is the byte offset of the first bad byte.
    #[error("{}: not valid UTF-8 (first invalid byte at offset {offset})", path.display())]
    InvalidUtf8 { path: PathBuf, offset: usize },
    /// A text file's name cannot serve as a document id because it is not valid UTF-8.
    #[error("{}: file name is not valid UTF-8, cannot derive a document id", path.display())]
    NonUtf8FileName { path: PathBuf },
    /// Serialising a report failed.
    #[error("{}: cannot serialise JSON: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl EvalError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> EvalError {
        let path = path.into();
        move |source| EvalError::Io { path, source }
    }
}
