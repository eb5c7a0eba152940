//! chartcoder: computer-assisted clinical coding.
//!
//! The engine is a library; the CLI, HTTP and editor front ends are thin layers over it.

pub mod eval;
pub mod text;
