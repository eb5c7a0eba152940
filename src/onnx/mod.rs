//! ONNX models run through ONNX Runtime (`ort`, loaded dynamically from the pinned library):
//! the runtime and session pool, the sentence encoder and its on-disk embedding store, and
//! the learned ranker's graph.

pub mod embeddings;
pub mod encoder;
pub mod graph;
pub mod mlp;
pub mod ranker;
pub mod runtime;

pub use embeddings::EmbeddingStore;
pub use encoder::{
    sequence_key, Embedding, EncoderIdentity, EncoderTokenizer, SentenceEncoder, EMBEDDING_DIM,
};
pub use mlp::{FitReport, Mlp, MlpConfig};
pub use ranker::OnnxRanker;
pub use runtime::{runtime_library, SessionPool};
