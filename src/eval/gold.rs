//! Gold standard: CodiEsp-style TSV files mapping documents to ICD-10 codes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use super::error::EvalError;

/// Which half of ICD-10 a gold file (or an X-file row) belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum GoldSystem {
    /// ICD-10-CM (CodiEsp-D, `DIAGNOSTICO` rows of X files).
    Diagnoses,
    /// ICD-10-PCS (CodiEsp-P, `PROCEDIMIENTO` rows of X files).
    Procedures,
}

impl GoldSystem {
    /// The `--system` argument score.py takes for this system.
    pub fn score_py_flag(self) -> &'static str {
        match self {
            GoldSystem::Diagnoses => "D",
            GoldSystem::Procedures => "P",
        }
    }

    /// The label used in the second column of CodiEsp X files.
    pub fn x_label(self) -> &'static str {
        match self {
            GoldSystem::Diagnoses => "DIAGNOSTICO",
            GoldSystem::Procedures => "PROCEDIMIENTO",
        }
    }

    fn from_x_label(label: &str) -> Option<GoldSystem> {
        let label = label.trim();
        [GoldSystem::Diagnoses, GoldSystem::Procedures]
            .into_iter()
            .find(|s| label.eq_ignore_ascii_case(s.x_label()))
    }
}

/// Normalises a code the way score.py's `norm` does: dots removed, surrounding whitespace
/// trimmed, upper-cased (`"e11.9 "` -> `"E119"`).
pub fn normalise_code(code: &str) -> String {
    code.replace('.', "")
        .trim_matches(is_python_space)
        .to_uppercase()
}

/// Python's `str.strip()` also strips the ASCII information separators U+001C..U+001F,
/// which Rust does not count as whitespace; matching it keeps normalisation identical.
pub(crate) fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Splits text into lines the way Python's text-mode file iteration does (universal
/// newlines: `\r\n`, `\r` and `\n` all end a line), so line handling matches score.py.
pub(crate) fn universal_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').flat_map(|line| {
        let line = line.strip_suffix('\r').unwrap_or(line);
        line.split('\r')
    })
}

/// Gold codes per document: doc id -> set of normalised codes (upper-case, no dots).
///
/// Documents iterate in sorted id order so that reports are reproducible.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GoldSet {
    docs: BTreeMap<String, BTreeSet<String>>,
}

/// Which rows of a gold file to keep.
#[derive(Clone, Copy)]
enum Filter {
    /// Two-column D/P files or X files, every row.
    Any,
    /// X files only, rows of one system.
    XOnly(GoldSystem),
}

impl GoldSet {
    /// An empty gold set.
    pub fn new() -> GoldSet {
        GoldSet::default()
    }

    /// Loads a CodiEsp gold file.
    ///
    /// Accepts the D/P layout (`doc<TAB>code`) and the X layout (`doc<TAB>DIAGNOSTICO|PROCEDIMIENTO
    /// <TAB>code<TAB>text<TAB>spans`, i.e. 4+ columns with the code in column 3); the layout is
    /// detected per line from the column count. Codes are normalised with [`normalise_code`] and
    /// deduplicated per document; doc ids are kept verbatim, as score.py keeps them.
    ///
    /// Blank lines are skipped. Unlike score.py, which silently skips or keeps them, malformed
    /// lines (one or three columns, an empty doc id or code, an unknown X label) are errors, and
    /// a leading UTF-8 byte-order mark is dropped instead of becoming part of the first doc id.
    /// On well-formed files the result is the same gold as score.py's.
    pub fn load_tsv(path: &Path) -> Result<GoldSet, EvalError> {
        Self::load(path, Filter::Any)
    }

    /// Loads only the rows of `system` from a CodiEsp X file (4+ columns); two-column lines are
    /// an error here because they do not say which system they belong to.
    pub fn load_x_tsv(path: &Path, system: GoldSystem) -> Result<GoldSet, EvalError> {
        Self::load(path, Filter::XOnly(system))
    }

    fn load(path: &Path, filter: Filter) -> Result<GoldSet, EvalError> {
        let bytes = std::fs::read(path).map_err(EvalError::io(path))?;
        let text = String::from_utf8(bytes).map_err(|e| EvalError::InvalidUtf8 {
            path: path.to_path_buf(),
            offset: e.utf8_error().valid_up_to(),
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let mut gold = GoldSet::new();
        for (index, line) in universal_lines(text).enumerate() {
            let parse_error = |message: String| EvalError::Parse {
                path: path.to_path_buf(),
                line: index + 1,
                message,
            };
            if line.trim_matches(is_python_space).is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            let (doc, raw_code) = match (cols.len(), filter) {
                (2, Filter::Any) => (cols[0], cols[1]),
                (2, Filter::XOnly(_)) => {
                    return Err(parse_error(
                        "expected an X-file row (doc, DIAGNOSTICO|PROCEDIMIENTO, code, ...), \
                         found 2 columns"
                            .into(),
                    ))
                }
                (n, _) if n >= 4 => {
                    let Some(system) = GoldSystem::from_x_label(cols[1]) else {
                        return Err(parse_error(format!(
                            "unknown label {:?} in column 2, expected DIAGNOSTICO or PROCEDIMIENTO",
                            cols[1]
                        )));
                    };
                    if matches!(filter, Filter::XOnly(wanted) if wanted != system) {
                        continue;
                    }
                    (cols[0], cols[2])
                }
                (n, _) => {
                    return Err(parse_error(format!(
                        "expected doc<TAB>code or an X-file row of 4+ columns, found {n} column{}",
                        if n == 1 { "" } else { "s" }
                    )))
                }
            };
            if doc.is_empty() {
                return Err(parse_error("empty document id".into()));
            }
            let code = normalise_code(raw_code);
            if code.is_empty() {
                return Err(parse_error(format!("empty code {raw_code:?}")));
            }
            gold.docs.entry(doc.to_owned()).or_default().insert(code);
        }
        Ok(gold)
    }

    /// Adds one gold code (normalised here). Returns whether the set changed; an empty code
    /// after normalisation is ignored.
    pub fn insert(&mut self, doc: &str, code: &str) -> bool {
        let code = normalise_code(code);
        if code.is_empty() {
            return false;
        }
        self.docs.entry(doc.to_owned()).or_default().insert(code)
    }

    /// Adds all documents and codes of `other` (union per document), e.g. to combine the
    /// train and dev gold or the D and P files.
    pub fn merge(&mut self, other: GoldSet) {
        for (doc, codes) in other.docs {
            self.docs.entry(doc).or_default().extend(codes);
        }
    }

    /// Document ids, in sorted order.
    pub fn docs(&self) -> impl Iterator<Item = &str> + '_ {
        self.docs.keys().map(String::as_str)
    }

    /// The normalised gold codes of `doc`, if it has any.
    pub fn codes(&self, doc: &str) -> Option<&BTreeSet<String>> {
        self.docs.get(doc)
    }

    /// Documents with their codes, in sorted doc order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &BTreeSet<String>)> + '_ {
        self.docs.iter().map(|(d, c)| (d.as_str(), c))
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// True when there are no documents.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Number of (document, code) pairs.
    pub fn code_count(&self) -> usize {
        self.docs.values().map(BTreeSet::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(dir: &tempfile::TempDir, name: &str, content: &[u8]) -> std::path::PathBuf {
        let path = dir.path().join(name);
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(content))
            .expect("write temp file");
        path
    }

    #[test]
    fn normalise_matches_score_py_norm() {
        assert_eq!(normalise_code(" e11.9 "), "E119");
        assert_eq!(normalise_code("0dt6.0zz\r"), "0DT60ZZ");
        assert_eq!(normalise_code("\u{1f}i10\u{1c}"), "I10");
        assert_eq!(normalise_code(" . "), "");
    }

    #[test]
    fn loads_two_column_files_with_dedupe_and_universal_newlines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(
            &dir,
            "d.tsv",
            b"\xef\xbb\xbfdoc1\tI10\r\ndoc1\ti1.0\rdoc2\tE11.9\n\n  \ndoc1\tn18.3\n",
        );
        let gold = GoldSet::load_tsv(&path).expect("load");
        assert_eq!(gold.len(), 2);
        assert_eq!(gold.docs().collect::<Vec<_>>(), ["doc1", "doc2"]);
        let doc1: Vec<&str> = gold
            .codes("doc1")
            .unwrap()
            .iter()
            .map(|s| s.as_str())
            .collect();
        assert_eq!(doc1, ["I10", "N183"]);
        assert_eq!(gold.code_count(), 3);
        assert!(gold.codes("nope").is_none());
    }

    #[test]
    fn loads_x_files_by_column_count_and_filters_by_system() {
        let dir = tempfile::tempdir().expect("tempdir");
        let content = "d1\tPROCEDIMIENTO\tbt41zzz\tecografía\t307 316;348 361\n\
                       d1\tDIAGNOSTICO\tq62.11\testenosis\t540 583\n\
                       d2\tDIAGNOSTICO\tn28.89\tx\t1 2\n";
        let path = write(&dir, "x.tsv", content.as_bytes());
        let all = GoldSet::load_tsv(&path).expect("load");
        assert_eq!(all.code_count(), 3);
        let p = GoldSet::load_x_tsv(&path, GoldSystem::Procedures).expect("load P");
        assert_eq!(p.len(), 1);
        assert!(p.codes("d1").unwrap().contains("BT41ZZZ"));
        let mut d = GoldSet::load_x_tsv(&path, GoldSystem::Diagnoses).expect("load D");
        assert_eq!(d.code_count(), 2);
        d.merge(p);
        assert_eq!(d, all);
    }

    #[test]
    fn malformed_lines_are_errors_with_line_numbers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cases: [(&[u8], usize, &str); 6] = [
            (b"d1\tI10\nd2\n", 2, "found 1 column"),
            (b"d1\tI10\tx\n", 1, "found 3 columns"),
            (b"d1\t . \n", 1, "empty code"),
            (b"\tI10\n", 1, "empty document id"),
            (b"d1\tOTRO\tI10\tt\n", 1, "unknown label"),
            (b"\n\nd1\tI10\tx\ty\n", 3, "unknown label"),
        ];
        for (content, line, needle) in cases {
            let path = write(&dir, "bad.tsv", content);
            match GoldSet::load_tsv(&path) {
                Err(EvalError::Parse {
                    line: l, message, ..
                }) => {
                    assert_eq!(l, line, "{message}");
                    assert!(message.contains(needle), "{message}");
                }
                other => panic!("expected parse error, got {other:?}"),
            }
        }
        let path = write(&dir, "two.tsv", b"d1\tI10\n");
        assert!(matches!(
            GoldSet::load_x_tsv(&path, GoldSystem::Diagnoses),
            Err(EvalError::Parse { line: 1, .. })
        ));
        let path = write(&dir, "latin1.tsv", b"d1\tI10\nd\xe9\tI10\n");
        assert!(matches!(
            GoldSet::load_tsv(&path),
            Err(EvalError::InvalidUtf8 { offset: 8, .. })
        ));
        let missing = dir.path().join("missing.tsv");
        let err = GoldSet::load_tsv(&missing).unwrap_err();
        assert!(err.to_string().contains("missing.tsv"), "{err}");
    }
}
