//! chartcoder: computer-assisted clinical coding.
//!
//! The engine is a library; the CLI, HTTP and editor front ends are thin layers over it.

pub mod assets;
pub mod codeset;
pub mod engine;
pub mod error;
pub mod eval;
pub mod index;
pub mod lexicon;
pub mod text;
mod xml;

pub use error::{Error, Result};
