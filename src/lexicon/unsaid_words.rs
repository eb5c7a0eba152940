//! Words a tabular title states that a note may leave unsaid (`unsaid_title_words.tsv`):
//! "displaced" of a fracture (the default, I.C.19.c.1), "hand" beside "metacarpal".

use crate::index::Analyzer;

/// A word a title states that a note may leave unsaid, analysed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsaidWord {
    pub word: String,
    /// The title word that implies it.
    pub implied_by: String,
    /// A word that, said in the sentence, states the other choice ("nondisplaced").
    pub unless: Option<String>,
}

/// The rows of `unsaid_title_words.tsv`, analysed.
pub fn unsaid_title_words(analyzer: &Analyzer) -> Vec<UnsaidWord> {
    UNSAID_TITLE_WORDS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split('\t');
            Some(UnsaidWord {
                word: analyzer.word(cols.next()?)?,
                implied_by: analyzer.word(cols.next()?)?,
                unless: cols.next().and_then(|u| analyzer.word(u)),
            })
        })
        .collect()
}

const UNSAID_TITLE_WORDS: &str = include_str!("unsaid_title_words.tsv");

#[cfg(test)]
mod tests {
    #[test]
    fn every_row_names_two_words_and_cites_its_source() {
        let analyzer = crate::index::Analyzer::new();
        let rows = super::unsaid_title_words(&analyzer);
        assert!(rows.iter().any(|r| r.word.starts_with("displac")
            && r.implied_by.starts_with("fractur")
            && r.unless
                .as_deref()
                .is_some_and(|u| u.starts_with("nondisplac"))));
        let lines = super::UNSAID_TITLE_WORDS
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .skip(1);
        let mut data_lines = 0;
        for line in lines {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 4, "{line}");
            assert!(cols[3].len() > 10, "{line}: cite the source");
            data_lines += 1;
        }
        // Every data line is read (none dropped by the analyser).
        assert_eq!(rows.len(), data_lines);
    }
}
