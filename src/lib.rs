//! chartcoder: computer-assisted clinical coding.
//!
//! The engine is a library; the CLI, HTTP and editor front ends are thin layers over it.

pub mod api;
pub mod assets;
pub mod associations;
pub mod batch;
pub mod body_mass;
pub mod candidates;
pub mod codeset;
pub mod coding;
pub mod engine;
pub mod error;
pub mod eval;
pub mod feedback;
pub mod gestation;
pub mod guidelines;
pub mod history_codes;
pub mod index;
pub mod learned;
pub mod lexicon;
pub mod lsp;
pub mod mention_encoder;
pub mod onnx;
pub mod options;
pub mod procedures;
pub mod rank;
pub mod rules;
pub mod stated_phrases;
pub mod text;
pub mod train;
mod xml;

pub use error::{Error, Result};
