//! ONNX models run through ONNX Runtime (`ort`, loaded dynamically from the pinned library):
//! the runtime and session pool, the sentence encoder, and the learned ranker's graph.

pub mod runtime;

pub use runtime::{runtime_library, SessionPool};
