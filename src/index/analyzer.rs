//! The clinical analyzer, shared by the index, queries and note matching so that a word
//! is reduced the same way everywhere.
//!
//! No stop words: "without", "not", "with", "due", "of" decide between codes.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, Token,
    TokenFilter, TokenStream, Tokenizer,
};

const SYNONYMS: &str = include_str!("clinical_synonyms.tsv");
const BRITISH_SPELLINGS: &str = include_str!("british_spellings.tsv");

/// The analyzer's shipped tables: an index built with other ones holds other words.
pub(crate) fn table_data() -> [&'static str; 3] {
    [SYNONYMS, BRITISH_SPELLINGS, KEPT_WHOLE_WORDS]
}

/// Pieces of British spellings and their American forms, from the shipped table.
static AMERICAN_SPELLINGS: LazyLock<Arc<Vec<(String, String)>>> = LazyLock::new(|| {
    let rows = BRITISH_SPELLINGS
        .lines()
        .filter(|line| !line.starts_with('#') && !line.starts_with("british\t"))
        .filter_map(|line| line.split_once('\t'))
        .map(|(british, american)| (british.trim().to_string(), american.trim().to_string()))
        .filter(|(british, _)| !british.is_empty())
        .collect();
    Arc::new(rows)
});

/// Stemmed variant -> stemmed canonical word, from the shipped table.
static CANONICAL: LazyLock<Arc<HashMap<String, String>>> = LazyLock::new(|| {
    let stem = |w: &str| {
        let mut analyzer = stemming_analyzer();
        let mut stream = analyzer.token_stream(w);
        let mut out = String::new();
        while stream.advance() {
            out = stream.token().text.clone();
        }
        out
    };
    let mut map = HashMap::new();
    for line in SYNONYMS.lines() {
        if line.starts_with('#') {
            continue;
        }
        if let Some((variant, canonical)) = line.split_once('\t') {
            let (v, c) = (stem(variant.trim()), stem(canonical.trim()));
            if !v.is_empty() && !c.is_empty() && v != c {
                map.insert(v, c);
            }
        }
    }
    Arc::new(map)
});

fn stemming_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(RewriteWords::american_spelling())
        .filter(ClinicalStemmer)
        .build()
}

/// English Snowball stemming, except for inflammation words: Snowball reduces
/// "pancreatitis" and "pancreatic", "esophagitis" and "esophageal", "sinusitis" and "sinus"
/// to one stem, which would make "pancreatic cancer" a statement of pancreatitis and "GERD"
/// (gastro-esophageal) one of esophagitis. A word ending in "-itis" is kept whole, and so
/// are the words of [`KEPT_WHOLE`].
/// Words whose stem would name another condition: Snowball makes "parkinsonism" (G20.C
/// "Parkinsonism, unspecified", G21 secondary parkinsonism) "parkinson", the stem of
/// "Parkinson's disease" (Index "Disease, Parkinson's G20.A1").
/// "Declined" (refused: "declined colonoscopy") would be "declin", the stem of "Decline
/// (general) - see Deterioration" (R53.81).
/// "Pneumoniae" names a species ("Mycoplasma pneumoniae", "Streptococcus pneumoniae"),
/// not pneumonia.
const KEPT_WHOLE: &[&str] = &["parkinsonism", "declined", "pneumoniae"];
/// [`KEPT_WHOLE`] as one string, for the index fingerprint.
const KEPT_WHOLE_WORDS: &str = "parkinsonism declined pneumoniae";

#[derive(Clone)]
struct ClinicalStemmer;

impl TokenFilter for ClinicalStemmer {
    type Tokenizer<T: Tokenizer> = ClinicalStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> Self::Tokenizer<T> {
        ClinicalStemmerFilter { inner: tokenizer }
    }
}

#[derive(Clone)]
struct ClinicalStemmerFilter<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for ClinicalStemmerFilter<T> {
    type TokenStream<'a> = ClinicalStemmerStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        ClinicalStemmerStream {
            tail: self.inner.token_stream(text),
            stemmer: rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English),
        }
    }
}

struct ClinicalStemmerStream<T> {
    tail: T,
    stemmer: rust_stemmers::Stemmer,
}

impl<T: TokenStream> TokenStream for ClinicalStemmerStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let text = &self.tail.token().text;
        let kept_whole =
            (text.len() > 6 && text.ends_with("itis")) || KEPT_WHOLE.contains(&text.as_str());
        if !kept_whole {
            let stemmed = self.stemmer.stem(text).into_owned();
            self.tail.token_mut().text = stemmed;
        }
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// Rewrites each word in place: American spelling ("oesophagitis" -> "esophagitis", as the
/// code sets spell it) before stemming, the canonical synonym ("renal" -> "kidney") after.
#[derive(Clone)]
struct RewriteWords(Arc<dyn Fn(&mut String) + Send + Sync>);

impl RewriteWords {
    fn american_spelling() -> RewriteWords {
        let rows = AMERICAN_SPELLINGS.clone();
        RewriteWords(Arc::new(move |word| american_spelling(word, &rows)))
    }

    fn canonical() -> RewriteWords {
        let map = CANONICAL.clone();
        RewriteWords(Arc::new(move |word| {
            if let Some(canonical) = map.get(word.as_str()) {
                word.clone_from(canonical);
            }
        }))
    }
}

impl TokenFilter for RewriteWords {
    type Tokenizer<T: Tokenizer> = RewriteWordsFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> Self::Tokenizer<T> {
        RewriteWordsFilter {
            inner: tokenizer,
            rewrite: self.0,
        }
    }
}

#[derive(Clone)]
struct RewriteWordsFilter<T> {
    inner: T,
    rewrite: Arc<dyn Fn(&mut String) + Send + Sync>,
}

impl<T: Tokenizer> Tokenizer for RewriteWordsFilter<T> {
    type TokenStream<'a> = RewriteWordsStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        RewriteWordsStream {
            tail: self.inner.token_stream(text),
            rewrite: &*self.rewrite,
        }
    }
}

struct RewriteWordsStream<'a, T> {
    tail: T,
    rewrite: &'a (dyn Fn(&mut String) + Send + Sync),
}

impl<T: TokenStream> TokenStream for RewriteWordsStream<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        (self.rewrite)(&mut self.tail.token_mut().text);
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// Rewrites the British pieces of a lower-cased word.
fn american_spelling(word: &mut String, rows: &[(String, String)]) {
    // Every row holds one of these letter pairs: most words are passed at a glance.
    if ["ae", "oe", "ou", "re", "ph", "uc"]
        .iter()
        .any(|pair| word.contains(pair))
    {
        for (british, american) in rows {
            if word.contains(british.as_str()) {
                *word = word.replace(british.as_str(), american);
            }
        }
    }
}

pub const ANALYZER_NAME: &str = "clinical";

pub fn clinical_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(RewriteWords::american_spelling())
        .filter(ClinicalStemmer)
        .filter(RewriteWords::canonical())
        .build()
}

/// Thread-safe front to the analyzer (tantivy's needs `&mut` to run).
#[derive(Clone)]
pub struct Analyzer {
    proto: TextAnalyzer,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Analyzer(clinical)")
    }
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

    /// The analysed form of one token (its first word), without allocating an analyzer.
    pub fn word(&self, token: &str) -> Option<String> {
        thread_local! {
            static ANALYZER: std::cell::RefCell<TextAnalyzer> = std::cell::RefCell::new(clinical_analyzer());
        }
        ANALYZER.with(|a| {
            let mut analyzer = a.borrow_mut();
            let mut stream = analyzer.token_stream(token);
            stream.advance().then(|| stream.token().text.clone())
        })
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

    #[test]
    fn inflammation_is_not_its_organ() {
        let a = Analyzer::new();
        assert_ne!(a.words("parkinsonism"), a.words("parkinson"));
        for (itis, organ) in [
            ("esophagitis", "esophageal"),
            ("pancreatitis", "pancreatic"),
            ("sinusitis", "sinus"),
            ("hepatitis", "hepatic"),
        ] {
            assert_ne!(a.words(itis), a.words(organ), "{itis}");
        }
        assert_eq!(a.words("Pancreatitis"), a.words("pancreatitis"));
    }

    #[test]
    fn organ_adjectives_become_their_nouns() {
        let a = Analyzer::new();
        assert_eq!(a.words("renal calculi"), a.words("kidney calculus"));
        assert_eq!(a.words("Tuberculous"), a.words("tuberculosis"));
    }

    #[test]
    fn british_spellings_read_as_the_code_set_writes_them() {
        let a = Analyzer::new();
        for (british, american) in [
            ("hyponatraemia", "hyponatremia"),
            ("Oesophagitis", "esophagitis"),
            ("haematuria", "hematuria"),
            ("ischaemic", "ischemic"),
            ("diarrhoea", "diarrhea"),
            ("dyspnoea", "dyspnea"),
            ("papilloedema", "papilledema"),
            ("tumours", "tumors"),
            ("paediatric", "pediatric"),
            ("anaesthesia", "anesthesia"),
            ("placenta praevia", "placenta previa"),
            ("leucocytosis", "leukocytosis"),
        ] {
            assert_eq!(a.words(british), a.words(american), "{british}");
        }
        // Digraphs that join morphemes or end a word are no British spelling.
        for word in [
            "hypoechoic",
            "gastroenterology",
            "aerobic",
            "aeruginosa",
            "toe",
            "vertebrae",
            "hour",
            "four",
            "leucine",
            "coexistent",
            "does",
        ] {
            let mut written = word.to_string();
            american_spelling(&mut written, &AMERICAN_SPELLINGS);
            assert_eq!(written, word);
        }
    }
}
