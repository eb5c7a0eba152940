//! The clinical analyzer, shared by the index, queries and note matching so that a word
//! is reduced the same way everywhere.
//!
//! No stop words: "without", "not", "with", "due", "of" decide between codes.

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};

pub const ANALYZER_NAME: &str = "clinical";

pub fn clinical_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// Thread-safe front to the analyzer (tantivy's needs `&mut` to run).
pub struct Analyzer {
    proto: TextAnalyzer,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer::new()
    }
}

impl Analyzer {
    pub fn new() -> Analyzer {
        Analyzer {
            proto: clinical_analyzer(),
        }
    }

    /// Analysed words of `text`, in order, with their byte offsets in `text`.
    pub fn words_with_offsets(&self, text: &str) -> Vec<(String, usize, usize)> {
        let mut analyzer = self.proto.clone();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            let t = stream.token();
            out.push((t.text.clone(), t.offset_from, t.offset_to));
        }
        out
    }

    /// Analysed words of `text`, in order.
    pub fn words(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.proto.clone();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_case_and_accents_reduce_to_one_form() {
        let a = Analyzer::new();
        assert_eq!(a.words("Fractures"), a.words("fracture"));
        assert_eq!(a.words("Ménière"), a.words("meniere"));
        assert_eq!(a.words("without Diabetes"), vec!["without", "diabet"]);
    }
}
