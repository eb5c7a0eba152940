//! Text layer: offsets, normalisation, tokenization, sentences, sections, assertions.
