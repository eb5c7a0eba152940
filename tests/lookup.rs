//! Term index and phrase lookup through the public API: an index built from the committed
//! fixtures (tabular excerpt, synonym TSV, Alphabetic Index XML and CSV excerpts) into a
//! temporary directory, bad input, and — where `chartcoder setup` has built it — the full
//! index at `index/default`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use std::cell::Cell;

use chartcoder::codeset::{CodeSet, System};
use chartcoder::index::{
    build_index, BuildOptions, LookupOptions, Manifest, TermIndex, INDEX_FORMAT, MAX_QUERY_CHARS,
    SIMILAR_BELOW, SIMILAR_WEIGHT,
};
use chartcoder::lexicon::Abbreviations;
use chartcoder::Error;
use proptest::prelude::*;

mod common;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn mini_codes() -> CodeSet {
    CodeSet::from_tabular(&fixture("tabular-mini.xml"), "2026").expect("fixture parses")
}

fn all_extras() -> Vec<PathBuf> {
    vec![
        fixture("synonyms.tsv"),
        fixture("index-mini.xml"),
        fixture("index-mini.csv"),
    ]
}

fn options(extras: Vec<PathBuf>) -> BuildOptions {
    BuildOptions {
        extras,
        ..BuildOptions::default()
    }
}

/// The fixture index, built once per test binary and shared read-only.
struct Fixture {
    _dir: tempfile::TempDir,
    codes: CodeSet,
    abbreviations: Abbreviations,
    index: TermIndex,
}

fn shared() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let codes = mini_codes();
        let abbreviations = Abbreviations::builtin();
        let path = dir.path().join("index");
        let report = build_index(&path, &codes, &abbreviations, &options(all_extras()))
            .expect("fixture index builds");
        assert!(report.rebuilt);
        let index = TermIndex::open(&path, &codes).expect("fixture index opens");
        Fixture {
            _dir: dir,
            codes,
            abbreviations,
            index,
        }
    })
}

impl Fixture {
    /// Displayed codes of the top `k` hits.
    fn top(&self, query: &str, k: usize) -> Vec<String> {
        lookup_codes(&self.index, &self.codes, &self.abbreviations, query, k)
    }
}

fn lookup_codes(
    index: &TermIndex,
    codes: &CodeSet,
    abbreviations: &Abbreviations,
    query: &str,
    k: usize,
) -> Vec<String> {
    let hits = index
        .lookup(
            query,
            codes,
            abbreviations,
            &LookupOptions {
                top_k: k,
                ..LookupOptions::default()
            },
        )
        .unwrap_or_else(|e| panic!("lookup {query:?} failed: {e}"));
    hits.iter().map(|h| codes.get(h.code).display()).collect()
}

#[track_caller]
fn assert_first(f: &Fixture, query: &str, code: &str) {
    let top = f.top(query, 5);
    assert_eq!(
        top.first().map(String::as_str),
        Some(code),
        "{query:?} -> {top:?}"
    );
}

#[test]
fn exact_title_ranks_its_code_first() {
    let f = shared();
    assert_first(
        f,
        "Type 2 diabetes mellitus with diabetic polyneuropathy",
        "E11.42",
    );
    assert_first(
        f,
        "Type 1 diabetes mellitus with ketoacidosis with coma",
        "E10.11",
    );
    assert_first(f, "Acute systolic (congestive) heart failure", "I50.21");
    assert_first(f, "Underdosing of penicillins", "T36.0X6");
    let hits = f
        .index
        .lookup(
            "Essential (primary) hypertension",
            &f.codes,
            &f.abbreviations,
            &LookupOptions::default(),
        )
        .unwrap();
    assert_eq!(f.codes.get(hits[0].code).display(), "I10");
    assert!(
        (hits[0].score - 1.0).abs() < 1e-3,
        "an exact title scores 1, got {}",
        hits[0].score
    );
    assert!(hits.iter().skip(1).all(|h| h.score < hits[0].score));
}

#[test]
fn word_order_case_and_plurals_do_not_matter() {
    let f = shared();
    assert_first(
        f,
        "diabetic polyneuropathy with type 2 diabetes mellitus",
        "E11.42",
    );
    assert_first(f, "HEART FAILURE SYSTOLIC ACUTE", "I50.21");
    assert_first(f, "chronic systolic heart failures", "I50.22");
    assert_first(f, "concussions without loss of consciousness", "S06.0X0");
    assert_first(f, "ketoacidosis type 1 diabetes without coma", "E10.10");
}

#[test]
fn abbreviations_expand_through_the_builtin_list() {
    let f = shared();
    assert_eq!(
        f.abbreviations.senses("DM2"),
        ["type 2 diabetes mellitus"],
        "builtin sense"
    );
    // The category matches exactly; its unspecified billable code is put first.
    assert_eq!(f.top("DM2", 2), ["E11.9", "E11"]);
    assert_first(f, "DM2 with hyperglycemia", "E11.65");
    assert_first(f, "CHF", "I50.9");
}

#[test]
fn misspellings_still_find_the_code() {
    let f = shared();
    assert_first(f, "diabetic polyneuropaty type 2 diabetes", "E11.42");
    assert_first(f, "essential hypertenshion", "I10");
    assert_first(f, "hypoglicemia with coma type 2 diabetes", "E11.641");
}

#[test]
fn category_query_returns_the_unspecified_billable_code_then_the_category() {
    let f = shared();
    assert_eq!(f.top("heart failure", 2), ["I50.9", "I50"]);
    assert_eq!(f.top("type 2 diabetes mellitus", 2), ["E11.9", "E11"]);
    assert_eq!(f.top("systolic heart failure", 2), ["I50.20", "I50.2"]);
}

#[test]
fn seventh_character_codes_do_not_crowd_out_their_base_code() {
    let f = shared();
    let top = f.top("Traumatic cerebral edema without loss of consciousness", 5);
    assert_eq!(top[0], "S06.1X0", "{top:?}");
    assert!(
        !top.iter().any(|c| c.starts_with("S06.1X0") && c.len() == 8),
        "the encounter was not stated: {top:?}"
    );
    // A query that states the encounter gets the 7th-character code.
    assert_first(
        f,
        "fracture of unspecified part of neck of right femur initial encounter for closed fracture",
        "S72.001A",
    );
}

#[test]
fn synonym_and_alphabetic_index_terms_are_findable() {
    let f = shared();
    // Synonym TSV (lower-case code in the file).
    assert_first(f, "hyperpiesia", "I10");
    assert_first(f, "adult onset diabetes", "E11.9");
    assert_first(f, "knocked out briefly", "S06.0X1");
    // Alphabetic Index XML: a coded subterm, and a "see" reference resolved to its target.
    assert_first(f, "myocardial insufficiency", "I50.9");
    assert_first(f, "cardiac decompensation", "I50.9");
    assert_first(f, "decompensation", "I50.9");
    assert_first(f, "poisoning amoxicillin", "T36.0X1");
    // Alphabetic Index CSV: a coded subterm, a trailing-dash code, a "see" reference.
    assert_first(f, "intercapillary glomerulosclerosis", "E11.21");
    assert_first(f, "melituria", "E11.9");
    let top = f.top("femoral neck fracture", 3);
    assert!(top.contains(&"S72.00".to_string()), "{top:?}");

    // Without the extras none of these words is known.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain");
    build_index(&path, &f.codes, &f.abbreviations, &BuildOptions::default()).unwrap();
    let plain = TermIndex::open(&path, &f.codes).unwrap();
    for query in [
        "hyperpiesia",
        "melituria",
        "decompensation",
        "amoxicillin",
        "intercapillary glomerulosclerosis",
    ] {
        let top = lookup_codes(&plain, &f.codes, &f.abbreviations, query, 5);
        assert!(top.is_empty(), "{query:?} -> {top:?} without extras");
    }
}

#[test]
fn system_filter_and_top_k() {
    let f = shared();
    let hits = f
        .index
        .lookup(
            "diabetes",
            &f.codes,
            &f.abbreviations,
            &LookupOptions {
                top_k: 3,
                ..LookupOptions::default()
            },
        )
        .unwrap();
    assert_eq!(hits.len(), 3);
    let none = f
        .index
        .lookup(
            "diabetes",
            &f.codes,
            &f.abbreviations,
            &LookupOptions {
                systems: vec![System::Icd10pcs],
                ..LookupOptions::default()
            },
        )
        .unwrap();
    assert!(none.is_empty(), "the fixture holds no PCS codes");
    // Words the index has never seen, and words with no letters, find nothing (not an error).
    assert!(f.top("zzzz qqqq", 5).is_empty());
    assert!(f.top("!!! ... ???", 5).is_empty());
}

#[test]
fn rebuild_is_idempotent_and_force_rebuilds() {
    let codes = mini_codes();
    let abbreviations = Abbreviations::builtin();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    let first = build_index(&path, &codes, &abbreviations, &options(all_extras())).unwrap();
    assert!(first.rebuilt);
    let again = build_index(&path, &codes, &abbreviations, &options(all_extras())).unwrap();
    assert!(!again.rebuilt, "same inputs: nothing to do");
    assert_eq!(again.manifest, first.manifest);
    let forced = build_index(
        &path,
        &codes,
        &abbreviations,
        &BuildOptions {
            extras: all_extras(),
            force: true,
            progress: false,
            ..BuildOptions::default()
        },
    )
    .unwrap();
    assert!(forced.rebuilt);
    assert_eq!(forced.manifest.documents, first.manifest.documents);
    // Different extras are different inputs.
    let fewer = build_index(
        &path,
        &codes,
        &abbreviations,
        &options(vec![fixture("synonyms.tsv")]),
    )
    .unwrap();
    assert!(fewer.rebuilt);
    assert_eq!(fewer.manifest.extras.len(), 1);
    // No build directory is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, [std::ffi::OsString::from("index")]);
    TermIndex::open(&path, &codes).expect("the rebuilt index opens");
}

#[test]
fn manifest_describes_the_inputs() {
    let f = shared();
    let m = &f.index.manifest;
    assert_eq!(m, &Manifest::read(f.index.dir()).unwrap());
    assert_eq!(m.format, INDEX_FORMAT);
    assert_eq!(m.chartcoder_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(m.code_sets.len(), 1);
    assert_eq!(m.code_sets[0].fiscal_year, "2026");
    assert_eq!(
        m.code_sets[0].sha256,
        chartcoder::assets::sha256_file(&fixture("tabular-mini.xml")).unwrap()
    );
    assert_eq!(m.icd10cm_billable_codes, 75);
    assert_eq!(m.icd10pcs_codes, 0);
    assert_eq!(m.abbreviations, Abbreviations::builtin().len());
    let formats: Vec<&str> = m.extras.iter().map(|e| e.format.as_str()).collect();
    assert_eq!(formats, ["synonym-tsv", "cms-index-xml", "cms-index-csv"]);
    assert_eq!(m.extras[0].terms, 3, "three synonym lines");
    assert_eq!(
        m.extras[0].sha256,
        chartcoder::assets::sha256_file(&fixture("synonyms.tsv")).unwrap()
    );
    assert!(m.extras[1].terms >= 4, "{:?}", m.extras[1]);
    assert!(m.extras[2].terms >= 6, "{:?}", m.extras[2]);
    assert_eq!(m.documents, m.documents_by_source.values().sum::<usize>());
    assert_eq!(m.documents, f.index.side.terms.len());
    for source in ["title", "inclusion_term", "synonym", "alphabetic_index"] {
        assert!(
            m.documents_by_source.get(source).copied().unwrap_or(0) > 0,
            "{source}: {:?}",
            m.documents_by_source
        );
    }
    assert_eq!(m.documents_by_source["synonym"], 3);
}

#[test]
fn bad_queries_are_invalid_input() {
    let f = shared();
    let lookup = |q: &str| {
        f.index
            .lookup(q, &f.codes, &f.abbreviations, &LookupOptions::default())
    };
    for q in ["", " ", "\t\n\r ", "\u{3000}"] {
        match lookup(q) {
            Err(Error::InvalidInput(m)) => assert!(m.contains("empty"), "{m}"),
            other => panic!("{q:?}: expected InvalidInput, got {other:?}"),
        }
    }
    let long = "heart failure ".repeat(MAX_QUERY_CHARS / 10);
    match lookup(&long) {
        Err(Error::InvalidInput(m)) => {
            assert!(m.contains(&MAX_QUERY_CHARS.to_string()), "{m}")
        }
        other => panic!("over-long query: expected InvalidInput, got {other:?}"),
    }
    // The limit is in characters, after trimming.
    let at_limit = "é".repeat(MAX_QUERY_CHARS);
    assert!(lookup(&at_limit).is_ok());
    assert!(lookup(&format!("  {at_limit}  ")).is_ok());
    assert!(matches!(
        lookup(&"é".repeat(MAX_QUERY_CHARS + 1)),
        Err(Error::InvalidInput(_))
    ));
    // The error kind is stable for front ends.
    assert_eq!(lookup("").unwrap_err().code(), "invalid_input");
}

/// Copies a built index directory (flat: tantivy writes no subdirectories).
fn copy_index(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[track_caller]
fn assert_index_error(result: chartcoder::Result<TermIndex>, reason_part: &str) {
    match result {
        Err(e @ Error::Index { .. }) => {
            let message = e.to_string();
            assert!(message.contains("chartcoder index build"), "{message}");
            assert!(message.contains(reason_part), "{message}");
            assert_eq!(e.code(), "index_unavailable");
        }
        Err(other) => panic!("expected Error::Index, got {other:?}"),
        Ok(_) => panic!("expected Error::Index, the index opened"),
    }
}

#[test]
fn missing_or_corrupt_index_names_the_build_command() {
    let f = shared();
    let dir = tempfile::tempdir().unwrap();

    assert_index_error(
        TermIndex::open(&dir.path().join("nonexistent"), &f.codes),
        "no manifest",
    );
    // An empty directory: a build that never finished.
    assert_index_error(TermIndex::open(dir.path(), &f.codes), "no manifest");

    let corrupt = dir.path().join("corrupt-manifest");
    copy_index(f.index.dir(), &corrupt);
    std::fs::write(corrupt.join("manifest.json"), b"{\"format\": 2, \"chartc").unwrap();
    assert_index_error(TermIndex::open(&corrupt, &f.codes), "corrupt manifest");

    let old = dir.path().join("old-format");
    copy_index(f.index.dir(), &old);
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(old.join("manifest.json")).unwrap()).unwrap();
    manifest["format"] = serde_json::json!(INDEX_FORMAT + 100);
    std::fs::write(old.join("manifest.json"), manifest.to_string()).unwrap();
    assert_index_error(TermIndex::open(&old, &f.codes), "index format");

    // Built from another built-in lexicon (phrase variants, abbreviations): stale terms.
    let stale = dir.path().join("stale-lexicon");
    copy_index(f.index.dir(), &stale);
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(stale.join("manifest.json")).unwrap()).unwrap();
    manifest["builtin_lexicon"] = serde_json::json!("0".repeat(64));
    std::fs::write(stale.join("manifest.json"), manifest.to_string()).unwrap();
    assert_index_error(TermIndex::open(&stale, &f.codes), "built-in lexicon");

    let no_side = dir.path().join("no-terms");
    copy_index(f.index.dir(), &no_side);
    std::fs::remove_file(no_side.join("terms.json")).unwrap();
    assert_index_error(TermIndex::open(&no_side, &f.codes), "terms.json");

    let bad_side = dir.path().join("bad-terms");
    copy_index(f.index.dir(), &bad_side);
    std::fs::write(bad_side.join("terms.json"), b"\x00\xff not json").unwrap();
    assert_index_error(TermIndex::open(&bad_side, &f.codes), "terms.json");

    let no_meta = dir.path().join("no-meta");
    copy_index(f.index.dir(), &no_meta);
    std::fs::remove_file(no_meta.join("meta.json")).unwrap();
    assert_index_error(TermIndex::open(&no_meta, &f.codes), "");

    // An index built for other code sets.
    assert_index_error(
        TermIndex::open(f.index.dir(), &CodeSet::default()),
        "rebuild the index",
    );
}

#[test]
fn unknown_extra_formats_are_rejected_and_leave_the_index_alone() {
    let codes = mini_codes();
    let abbreviations = Abbreviations::builtin();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    build_index(&path, &codes, &abbreviations, &BuildOptions::default()).unwrap();
    let before = Manifest::read(&path).unwrap();

    let write = |name: &str, content: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    };
    let png = write(
        "image.png",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\xff\xd8",
    );
    let text = write("notes.txt", b"heart failure I50.9\nhypertension I10\n");
    let empty = write("empty.tsv", b"");
    let tabular = fixture("tabular-mini.xml"); // XML, but not an Alphabetic Index
    for extra in [&png, &text, &empty, &tabular] {
        match build_index(&path, &codes, &abbreviations, &options(vec![extra.clone()])) {
            Err(e @ Error::UnknownFormat { .. }) => {
                assert_eq!(e.code(), "unknown_format");
                let message = e.to_string();
                assert!(message.contains(&extra.display().to_string()), "{message}");
            }
            other => panic!("{}: expected UnknownFormat, got {other:?}", extra.display()),
        }
    }
    // A missing extra is an I/O error naming it.
    match build_index(
        &path,
        &codes,
        &abbreviations,
        &options(vec![dir.path().join("absent.tsv")]),
    ) {
        Err(Error::Io { path: p, .. }) => assert!(p.ends_with("absent.tsv")),
        other => panic!("expected Io, got {other:?}"),
    }
    // The failed builds changed nothing.
    assert_eq!(Manifest::read(&path).unwrap(), before);
    TermIndex::open(&path, &codes).expect("the old index still opens");
}

#[test]
fn malformed_extras_are_parse_errors_naming_the_line() {
    let codes = mini_codes();
    let abbreviations = Abbreviations::builtin();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    let write = |name: &str, content: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    };
    let cases = [
        (
            write("unknown-code.tsv", b"heart failure\tI50.9\nmystery\tQ99.99X\n"),
            "line 2: unknown code `Q99.99X`",
        ),
        (
            write("missing-code.tsv", b"heart failure\tI50.9\nno code here\n"),
            "line 2: expected term<TAB>code",
        ),
        (
            write("latin1.tsv", b"heart failure\tI50.9\ncaf\xe9\tI10\n"),
            "not UTF-8",
        ),
        (
            write("bad-level.csv", b"RowID,Letter,Level,Term,See,SeeAlso,NonEssModif,Code\n1,A,x,Abasia,,,,F44.4\n"),
            "Level is not a number",
        ),
        (
            write("broken.xml", b"<?xml version=\"1.0\"?><ICD10CM.index><letter><mainTerm><title>x</title></letter>"),
            "",
        ),
    ];
    for (extra, reason_part) in cases {
        match build_index(&path, &codes, &abbreviations, &options(vec![extra.clone()])) {
            Err(e @ Error::Parse { .. }) => {
                let message = e.to_string();
                assert!(message.contains(reason_part), "{message}");
                assert!(message.contains(&extra.display().to_string()), "{message}");
            }
            other => panic!("{}: expected Parse, got {other:?}", extra.display()),
        }
    }
    assert!(!path.exists(), "no index is left by failed builds");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Any string is answered (possibly with nothing) or refused as invalid input; never a
    /// panic, and refused exactly when it is blank or over the limit.
    #[test]
    fn arbitrary_queries_never_panic(query in prop_oneof![
        any::<String>(),
        "\\PC{0,80}",
        "[a-zA-Z0-9 ,.()\\[\\]/-]{0,60}",
        proptest::collection::vec(any::<char>(), MAX_QUERY_CHARS - 5..MAX_QUERY_CHARS + 5)
            .prop_map(String::from_iter),
    ]) {
        let f = shared();
        let result = f.index.lookup(&query, &f.codes, &f.abbreviations, &LookupOptions::default());
        let trimmed = query.trim();
        let invalid = trimmed.is_empty() || trimmed.chars().count() > MAX_QUERY_CHARS;
        match result {
            Ok(hits) => {
                prop_assert!(!invalid, "accepted {:?}", query);
                prop_assert!(hits.len() <= 10);
                for pair in hits.windows(2) {
                    prop_assert!(pair[0].score >= pair[1].score, "ranked by score");
                }
                for h in &hits {
                    prop_assert!(h.score.is_finite() && h.score > 0.0 && h.score <= 1.0);
                    prop_assert!((h.code as usize) < f.codes.len());
                }
            }
            Err(Error::InvalidInput(_)) => prop_assert!(invalid, "refused {:?}", query),
            Err(e) => prop_assert!(false, "unexpected error {:?} for {:?}", e, query),
        }
    }
}

impl Fixture {
    /// The id of some term of `code` (a displayed code).
    fn term_of(&self, code: &str) -> u32 {
        let at = self
            .index
            .side
            .terms
            .iter()
            .position(|t| self.codes.get(t.code).display() == code)
            .unwrap_or_else(|| panic!("no term of {code} in the fixture"));
        u32::try_from(at).unwrap()
    }
}

/// Lookup with a stand-in for the encoder: `nearest` is what it answers, and whether it was
/// asked is recorded.
fn lookup_similar(
    f: &Fixture,
    query: &str,
    options: &LookupOptions,
    nearest: &[(u32, f32)],
    asked: &Cell<bool>,
) -> Vec<(String, f32)> {
    let similar = |_: &str| -> chartcoder::Result<Vec<(u32, f32)>> {
        asked.set(true);
        Ok(nearest.to_vec())
    };
    f.index
        .lookup_with(query, &f.codes, &f.abbreviations, options, Some(&similar))
        .unwrap()
        .into_iter()
        .map(|h| (f.codes.get(h.code).display(), h.score))
        .collect()
}

#[test]
fn similar_terms_answer_only_when_the_words_match_poorly() {
    let f = shared();
    let asked = Cell::new(false);
    let options = LookupOptions::default();
    let hypertension = f.term_of("I10");

    // No word of the query is known: the nearest term in meaning answers, scored
    // SIMILAR_WEIGHT × cosine.
    let hits = lookup_similar(f, "zzzz qqqq", &options, &[(hypertension, 0.9)], &asked);
    assert!(
        asked.get(),
        "a query with no lexical match consults the encoder"
    );
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].0, "I10");
    assert!((hits[0].1 - SIMILAR_WEIGHT * 0.9).abs() < 1e-4, "{hits:?}");

    // A query the words explain well is answered by them alone, as by `lookup`.
    asked.set(false);
    let query = "Type 1 diabetes mellitus with ketoacidosis with coma";
    let fused = lookup_similar(f, query, &options, &[(hypertension, 1.0)], &asked);
    assert!(
        !asked.get(),
        "a strong lexical match does not run the encoder"
    );
    let lexical = f.top(query, options.top_k);
    assert!(fused[0].1 >= SIMILAR_BELOW);
    assert_eq!(
        fused.iter().map(|h| h.0.clone()).collect::<Vec<_>>(),
        lexical
    );

    // The system filter holds for codes found by meaning.
    asked.set(false);
    let pcs_only = LookupOptions {
        systems: vec![System::Icd10pcs],
        ..LookupOptions::default()
    };
    let hits = lookup_similar(f, "zzzz qqqq", &pcs_only, &[(hypertension, 0.9)], &asked);
    assert!(asked.get());
    assert!(hits.is_empty(), "{hits:?}");

    // A weak lexical match and a better similar term: each code keeps its better score,
    // and the similar one leads.
    asked.set(false);
    let weak = lookup_similar(f, "diabetes zzzz qqqq", &options, &[], &asked);
    assert!(
        asked.get() && !weak.is_empty() && weak[0].1 < SIMILAR_BELOW,
        "{weak:?}"
    );
    let hits = lookup_similar(
        f,
        "diabetes zzzz qqqq",
        &options,
        &[(hypertension, 0.95)],
        &asked,
    );
    assert_eq!(hits[0].0, "I10", "{hits:?}");
    assert_eq!(hits[1..].to_vec(), weak[..hits.len() - 1].to_vec());
}

/// The full index built by `scripts/setup`, when present (see `common` for what happens
/// when it is not). Present but unusable is a failure naming the fix.
fn real() -> Option<(CodeSet, Abbreviations, TermIndex)> {
    let config = common::setup_or_skip()?;
    let assets = chartcoder::assets::Assets::new(&config.assets);
    let opened = CodeSet::load(&assets).and_then(|codes| {
        let abbreviations = Abbreviations::load(&assets.path(chartcoder::assets::ABBREVIATIONS)?)?;
        let index = TermIndex::open(&config.index, &codes)?;
        Ok((codes, abbreviations, index))
    });
    match opened {
        Ok(real) => Some(real),
        Err(e) => common::open_failed("opening index/default", &e),
    }
}

#[test]
fn real_index_answers_common_phrases() {
    let Some((codes, abbreviations, index)) = real() else {
        return;
    };
    assert_eq!(index.manifest.icd10cm_billable_codes, 74_719);
    assert_eq!(index.manifest.icd10pcs_codes, 78_638);
    let top = |q: &str, k: usize| lookup_codes(&index, &codes, &abbreviations, q, k);

    let chf = top("CHF", 3);
    assert!(chf.iter().any(|c| c.starts_with("I50")), "CHF -> {chf:?}");
    assert_eq!(top("type 2 diabetes mellitus", 1), ["E11.9"]);
    let chest = top("acute chest pain", 3);
    assert!(
        chest.iter().any(|c| c.starts_with("R07")),
        "acute chest pain -> {chest:?}"
    );
    assert_eq!(top("essential hypertension", 1), ["I10"]);
    let dm2 = top("DM2", 3);
    assert!(dm2.contains(&"E11.9".to_string()), "DM2 -> {dm2:?}");
    assert_eq!(top("COPD with acute exacerbation", 1), ["J44.1"]);
    let hip = top("fracture of neck of femur", 3);
    assert!(
        hip.iter().any(|c| c.starts_with("S72.0")),
        "fracture of neck of femur -> {hip:?}"
    );
    assert_eq!(
        top("Resection of Appendix, Percutaneous Endoscopic Approach", 1),
        ["0DTJ4ZZ"]
    );
}

/// `<includes>` notes of a category ("high blood pressure" under I10) name the category as
/// much as its inclusion terms do, but are not indexed. Ignored until they are.
#[test]
fn includes_notes_are_lookup_terms() {
    let f = shared();
    assert_first(f, "high blood pressure", "I10");
    assert_first(f, "traumatic brain injury", "S06");
}

/// `Engine::lookup` (every front end's path) on `index/default`: a word the index does not
/// know ("Legionellosis") is found by meaning, while phrases the words explain keep their
/// lexical answer.
#[test]
fn real_engine_lookup_finds_synonyms_by_meaning() {
    let Some(engine) = common::engine() else {
        return;
    };
    let options = |k: usize| LookupOptions {
        top_k: k,
        ..LookupOptions::default()
    };
    let fused = |q: &str, k: usize| -> Vec<String> {
        engine
            .lookup(q, &options(k))
            .unwrap()
            .into_iter()
            .map(|s| s.code)
            .collect()
    };
    let lexical =
        |q: &str, k: usize| lookup_codes(&engine.index, &engine.codes, &engine.abbreviations, q, k);
    // "Spirochetosis" (A69.9) was a second example until index format 7, whose added term
    // variants moved its nearest neighbours (B70.1 "Sparganosis" now comes first).
    let (query, code) = ("Legionellosis", "A48.1");
    let words = lexical(query, 10);
    assert!(
        !words.iter().any(|c| c == code),
        "{query:?}: the words alone find {code} ({words:?}); pick a query they miss"
    );
    assert_eq!(
        fused(query, 5).first().map(String::as_str),
        Some(code),
        "{query:?}"
    );
    for query in [
        "type 2 diabetes mellitus",
        "essential hypertension",
        "acute chest pain",
    ] {
        assert_eq!(fused(query, 10), lexical(query, 10), "{query:?}");
    }
    let answer = engine.lookup("Legionellosis", &options(1)).unwrap();
    assert!(
        answer[0].score <= f64::from(SIMILAR_WEIGHT) + 1e-3,
        "{answer:?}"
    );
}
