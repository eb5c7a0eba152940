//! Term sources: every phrase that names a code. Titles and inclusion terms come from the
//! code sets; abbreviations from a fetched inventory; the CMS Alphabetic Index (XML or its
//! CSV flattening) and plain `term<TAB>code` TSV files are optional extras.

mod abbreviations;
mod alphabetic_index;
mod title_alternatives;
mod unsaid_words;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::codeset::{CodeId, CodeKind, CodeSet};
use crate::error::{Error, Result};

pub use abbreviations::Abbreviations;
pub use alphabetic_index::{load_alphabetic_index, phrase_gold, IndexEntry, PhraseGold};
pub use title_alternatives::title_alternatives;
pub use unsaid_words::{unsaid_title_words, UnsaidWord};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Title,
    InclusionTerm,
    Abbreviation,
    AlphabeticIndex,
    Synonym,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Title => "title",
            Source::InclusionTerm => "inclusion_term",
            Source::Abbreviation => "abbreviation",
            Source::AlphabeticIndex => "alphabetic_index",
            Source::Synonym => "synonym",
        }
    }
    pub fn parse(s: &str) -> Option<Source> {
        [
            Source::Title,
            Source::InclusionTerm,
            Source::Abbreviation,
            Source::AlphabeticIndex,
            Source::Synonym,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// One phrase naming one code.
#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    pub code: CodeId,
    pub text: String,
    pub source: Source,
}

/// A user-supplied lexicon file and its detected format.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExtraSource {
    pub path: PathBuf,
    pub format: String,
    pub sha256: String,
    pub terms: usize,
}

/// Titles and inclusion terms of every reportable code (chapters and blocks excluded:
/// they are ranges, not codes).
pub fn code_set_terms(codes: &CodeSet) -> Vec<Term> {
    let mut terms = Vec::with_capacity(codes.len() + 8192);
    for (id, code) in codes.iter() {
        if matches!(code.kind, CodeKind::Chapter | CodeKind::Block) {
            continue;
        }
        push_with_essential_form(&mut terms, id, &code.title, Source::Title);
        if let Some(notes) = code.notes() {
            // "Includes" notes name what the category covers ("high blood pressure" at I10).
            for inclusion in notes.inclusion_terms.iter().chain(&notes.includes) {
                let inclusion = with_title_side_kept(inclusion, &code.title);
                push_with_essential_form(&mut terms, id, &inclusion, Source::InclusionTerm);
            }
        }
        if code.kind == CodeKind::Code {
            push_inherited_inclusions(&mut terms, codes, id);
        }
    }
    terms
}

/// The words the ICD-10-CM titles name a side with ("Bilateral inguinal hernia",
/// "Pain in right knee").
pub const TITLE_SIDES: &[&str] = &["bilateral", "right", "left"];

/// A nonessential modifier naming the side the code's title names is the code's own axis:
/// "Inguinal hernia (bilateral) causing obstruction" under K40.0 "Bilateral inguinal hernia,
/// with obstruction ..." is bilateral only where the note says so (the unilateral code is the
/// Index's default; I.B.13). Its parentheses go, its words stay, so no form of the term lacks
/// the side.
fn with_title_side_kept(text: &str, title: &str) -> String {
    let title_words = words_lower(title);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('(') {
        let Some(close) = rest[open..].find(')').map(|c| open + c) else {
            break;
        };
        let inside = &rest[open + 1..close];
        let names_side = words_lower(inside)
            .iter()
            .any(|w| TITLE_SIDES.contains(&w.as_str()) && title_words.contains(w));
        out.push_str(&rest[..open]);
        if names_side {
            out.push_str(inside);
        } else {
            out.push_str(&rest[open..=close]);
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Inclusion terms of a category apply to every code below it: "Postmenopausal
/// osteoporosis with current pathological fracture" under M80.0 names M80.07 too, with the
/// words that set M80.07 apart from M80.0 ("ankle and foot").
fn push_inherited_inclusions(terms: &mut Vec<Term>, codes: &CodeSet, id: CodeId) {
    let Some(parent) = codes.get(id).parent else {
        return;
    };
    let parent_code = codes.get(parent);
    let Some(notes) = parent_code.notes() else {
        return;
    };
    if parent_code.kind != CodeKind::Code || notes.inclusion_terms.is_empty() {
        return;
    }
    let parent_words: Vec<String> = words_lower(&parent_code.title);
    let specific: Vec<String> = words_lower(&strip_nonessential(&codes.get(id).title))
        .into_iter()
        .filter(|w| !parent_words.contains(w))
        .collect();
    if specific.is_empty() {
        return;
    }
    let title = &codes.get(id).title;
    for inclusion in notes.inclusion_terms.iter().take(4) {
        let inclusion = with_title_side_kept(inclusion, title);
        terms.push(Term {
            code: id,
            text: format!("{} {}", strip_nonessential(&inclusion), specific.join(" ")),
            source: Source::InclusionTerm,
        });
    }
}

fn words_lower(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Version of the code that makes an index's terms from titles (short forms, joined
/// prefixes, variants): raised when it changes, so that older indexes are rebuilt.
const TERM_RULES_VERSION: u32 = 3;

/// The built-in lexicon data an index's terms are made from (phrase variants, the clinical
/// abbreviation list, the analyzer's synonym and spelling tables, the term rules' version):
/// an index built from other data is stale.
pub fn builtin_fingerprint() -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(TERM_RULES_VERSION.to_le_bytes());
    let [synonyms, spellings, kept_whole] = crate::index::analyzer_table_data();
    for data in [
        PHRASE_VARIANTS_TSV,
        abbreviations::CLINICAL,
        synonyms,
        spellings,
        kept_whole,
    ] {
        hasher.update(data.len().to_le_bytes());
        hasher.update(data.as_bytes());
    }
    format!("{:x}", hasher.finalize())
}

/// Everyday names of classification phrases (`phrase_variants.tsv`, each row with its
/// source): a term containing the phrase is indexed with the variant too.
const PHRASE_VARIANTS_TSV: &str = include_str!("phrase_variants.tsv");

fn phrase_variants() -> &'static [(String, String)] {
    static VARIANTS: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    VARIANTS.get_or_init(|| {
        PHRASE_VARIANTS_TSV
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .skip(1)
            .filter_map(|l| {
                let mut fields = l.split('\t').map(str::trim);
                let phrase = fields.next().filter(|p| !p.is_empty())?;
                let variant = fields.next().filter(|v| !v.is_empty())?;
                Some((phrase.to_lowercase(), variant.to_lowercase()))
            })
            .collect()
    })
}

fn push_phrase_variants(terms: &mut Vec<Term>, code: CodeId, text: &str, source: Source) {
    // Two rounds, so that two rows compose ("Secondary malignant neoplasm of liver and
    // intrahepatic bile duct" is "metastases to liver": the site's row, then the
    // neoplasm's).
    let lower = text.to_lowercase();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    seen.insert(lower.clone());
    let mut frontier = vec![lower];
    for _ in 0..2 {
        let mut next = Vec::new();
        for current in &frontier {
            for (phrase, variant) in phrase_variants() {
                if current.contains(phrase.as_str()) {
                    let replaced = current.replace(phrase, variant);
                    if seen.insert(replaced.clone()) {
                        terms.push(Term {
                            code,
                            text: replaced.clone(),
                            source,
                        });
                        next.push(replaced);
                    }
                }
            }
        }
        frontier = next;
    }
}

/// Words in parentheses are nonessential modifiers ("Hypertension (arterial) (benign)"):
/// the term is indexed as written and without them, so the bare words match it fully.
fn push_with_essential_form(terms: &mut Vec<Term>, code: CodeId, text: &str, source: Source) {
    terms.push(Term {
        code,
        text: text.to_string(),
        source,
    });
    push_phrase_variants(terms, code, text, source);
    if let Some(joined) = with_prefixes_joined(text) {
        terms.push(Term {
            code,
            text: strip_nonessential(&joined),
            source,
        });
    }
    for short in bracketed_short_forms(text) {
        let short = strip_nonessential(&short);
        if !short.trim().is_empty() {
            terms.push(Term {
                code,
                text: short,
                source,
            });
        }
    }
    let essential = strip_nonessential(text);
    if essential != text && !essential.trim().is_empty() {
        push_phrase_variants(terms, code, &essential, source);
        terms.push(Term {
            code,
            text: essential,
            source,
        });
    }
}

/// The title with its hyphenated prefixes written as one word, as notes write them:
/// "Severe pre-eclampsia" as "Severe preeclampsia", "Gastro-esophageal reflux" as
/// "Gastroesophageal reflux". Only a short first part (a prefix, not a word pair such as
/// "end-stage") is joined.
fn with_prefixes_joined(text: &str) -> Option<String> {
    const PREFIXES: &[&str] = &[
        "pre", "post", "non", "anti", "intra", "extra", "peri", "para", "sub", "supra", "trans",
        "hyper", "hypo", "gastro", "co", "re", "multi", "poly", "inter", "retro",
    ];
    let mut changed = false;
    let joined: Vec<String> = text
        .split(' ')
        .map(|word| match word.split_once('-') {
            Some((head, tail))
                if PREFIXES.contains(&head.to_ascii_lowercase().as_str())
                    && tail.chars().next().is_some_and(char::is_alphabetic) =>
            {
                changed = true;
                format!("{head}{tail}")
            }
            _ => word.to_string(),
        })
        .collect();
    changed.then(|| joined.join(" "))
}

/// The title with its words replaced by the short form it gives for them in brackets or
/// parentheses: "Sepsis due to Escherichia coli [E. coli]" as "Sepsis due to E. coli",
/// "Methicillin resistant Staphylococcus aureus [MRSA] infection" as "MRSA infection". A
/// short form is an acronym of the words before it (their initials) or those words
/// abbreviated one by one ("E." for "Escherichia"); other bracketed words are nonessential
/// modifiers, not short forms. An acronym followed by its noun ("Computerized Tomography
/// (CT Scan) of Head") gives the title with the acronym and noun, and with the acronym
/// alone, as notes write it ("head CT").
fn bracketed_short_forms(text: &str) -> Vec<String> {
    let Some(open) = text.find(['[', '(']) else {
        return Vec::new();
    };
    let Some(close) = text[open..].find([']', ')']).map(|c| open + c) else {
        return Vec::new();
    };
    let inner = text[open + 1..close].trim();
    let before: Vec<&str> = text[..open].split_whitespace().collect();
    let short: Vec<&str> = inner.split_whitespace().collect();
    let letters = |w: &str| -> String {
        w.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    // The number of title words the acronym stands for, if it is one.
    let acronym_of = |acronym: &str| -> Option<usize> {
        let n = letters(acronym).chars().count();
        let is_acronym = n >= 2
            && n <= before.len()
            && acronym
                .chars()
                .all(|c| c.is_uppercase() || c.is_ascii_digit())
            && before[before.len() - n..]
                .iter()
                .zip(letters(acronym).chars())
                .all(|(w, c)| letters(w).starts_with(c));
        is_acronym.then_some(n)
    };
    let tail = text[close + 1..].trim();
    let with = |replaced: usize, short: &str| -> String {
        let head = before[..before.len() - replaced].join(" ");
        [head.as_str(), short, tail]
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    };
    match short.as_slice() {
        [acronym] => acronym_of(acronym)
            .map(|n| vec![with(n, inner)])
            .unwrap_or_default(),
        [acronym, nouns @ ..]
            if nouns.iter().all(|w| {
                w.chars().all(char::is_alphabetic) && !w.chars().all(char::is_uppercase)
            }) =>
        {
            match acronym_of(acronym) {
                Some(n) => vec![with(n, inner), with(n, acronym)],
                None => abbreviated(&before, &short, &letters)
                    .map(|n| vec![with(n, inner)])
                    .unwrap_or_default(),
            }
        }
        _ => abbreviated(&before, &short, &letters)
            .map(|n| vec![with(n, inner)])
            .unwrap_or_default(),
    }
}

/// The number of title words before the brackets that the bracketed words abbreviate one
/// by one ("E. coli" for "Escherichia coli").
fn abbreviated(before: &[&str], short: &[&str], letters: &dyn Fn(&str) -> String) -> Option<usize> {
    let n = short.len();
    let abbreviates = n >= 2
        && n <= before.len()
        && before[before.len() - n..].iter().zip(short).all(|(w, s)| {
            let (w, s) = (letters(w), letters(s));
            !s.is_empty() && w.starts_with(&s)
        });
    abbreviates.then_some(n)
}

/// Removes parenthesised and bracketed segments, and a trailing "NOS".
pub fn strip_nonessential(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    let out = out
        .strip_suffix(" NOS")
        .unwrap_or(&out)
        .trim_end_matches([',', ' ']);
    out.to_string()
}

/// What an `--extra` source adds to an index.
pub struct Extra {
    pub terms: Vec<Term>,
    /// Words the Alphabetic Index sends to the condition (see
    /// [`alphabetic_index::condition_pointer_words`]); none from a synonym list.
    pub condition_pointers: Vec<String>,
    /// Words of the Index's main terms that name conditions
    /// ([`alphabetic_index::condition_words`]).
    pub condition_words: Vec<String>,
    pub source: ExtraSource,
}

/// Loads an `--extra` source, detecting its format from the content.
pub fn load_extra(path: &Path, codes: &CodeSet) -> Result<Extra> {
    let head = read_head(path)?;
    let (terms, (condition_pointers, condition_words), format) = if head
        .trim_start()
        .starts_with("<?xml")
        || head.trim_start().starts_with('<')
    {
        if !head.contains("ICD10CM.index") {
            return Err(Error::UnknownFormat {
                path: path.to_path_buf(),
                reason: "XML, but not a CMS ICD-10-CM Alphabetic Index (<ICD10CM.index>)".into(),
            });
        }
        let entries = alphabetic_index::read_xml(path)?;
        (
            alphabetic_index::terms_from_entries(&entries, codes),
            (
                alphabetic_index::condition_pointer_words(&entries),
                alphabetic_index::condition_words(&entries),
            ),
            "cms-index-xml",
        )
    } else if head.starts_with("RowID,") || head.starts_with("\u{feff}RowID,") {
        let entries = alphabetic_index::read_csv(path)?;
        (
            alphabetic_index::terms_from_entries(&entries, codes),
            (
                alphabetic_index::condition_pointer_words(&entries),
                alphabetic_index::condition_words(&entries),
            ),
            "cms-index-csv",
        )
    } else if head
        .lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l.contains('\t'))
    {
        (
            read_synonym_tsv(path, codes)?,
            (Vec::new(), Vec::new()),
            "synonym-tsv",
        )
    } else {
        return Err(Error::UnknownFormat {
            path: path.to_path_buf(),
            reason: "expected a CMS Alphabetic Index XML, its CSV flattening (RowID,...), or a term<TAB>code TSV".into(),
        });
    };
    let source = ExtraSource {
        path: path.to_path_buf(),
        format: format.to_string(),
        sha256: crate::assets::sha256_file(path)?,
        terms: terms.len(),
    };
    Ok(Extra {
        terms,
        condition_pointers,
        condition_words,
        source,
    })
}

fn read_head(path: &Path) -> Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = vec![0u8; 4096];
    let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
    buf.truncate(n);
    // A multi-byte character may be cut at the end of the sample; that is not an error.
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// `term<TAB>code` lines; `#` comments and blank lines skipped; unknown codes are errors
/// naming the line, since a silent drop would hide a typo in the user's file.
pub fn read_synonym_tsv(path: &Path, codes: &CodeSet) -> Result<Vec<Term>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text =
        String::from_utf8(bytes).map_err(|e| Error::parse(path, format!("not UTF-8: {e}")))?;
    let mut terms = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut cols = line.split('\t');
        let (Some(term), Some(code)) = (cols.next(), cols.next()) else {
            return Err(Error::parse(
                path,
                format!("line {}: expected term<TAB>code", n + 1),
            ));
        };
        if term.trim().eq_ignore_ascii_case("term") && code.trim().eq_ignore_ascii_case("code") {
            continue; // header
        }
        let id = codes.find(code).ok_or_else(|| {
            Error::parse(
                path,
                format!("line {}: unknown code `{}`", n + 1, code.trim()),
            )
        })?;
        terms.push(Term {
            code: id,
            text: term.trim().to_string(),
            source: Source::Synonym,
        });
    }
    Ok(terms)
}

#[cfg(test)]
mod tests {
    fn short(title: &str) -> Option<String> {
        super::bracketed_short_forms(title).into_iter().next()
    }

    #[test]
    fn a_nonessential_side_the_title_names_is_kept() {
        let bilateral = "Bilateral inguinal hernia, with obstruction, without gangrene";
        assert_eq!(
            super::with_title_side_kept(
                "Inguinal hernia (bilateral) causing obstruction without gangrene",
                bilateral
            ),
            "Inguinal hernia bilateral causing obstruction without gangrene"
        );
        // Other nonessential words stay nonessential; a side the title does not name too.
        assert_eq!(
            super::with_title_side_kept("Hernia (inguinal) (bilateral)", "Hernia, unspecified"),
            "Hernia (inguinal) (bilateral)"
        );
    }

    #[test]
    fn bracketed_short_forms_stand_for_the_words_they_abbreviate() {
        assert_eq!(
            short("Sepsis due to Escherichia coli [E. coli]").as_deref(),
            Some("Sepsis due to E. coli")
        );
        assert_eq!(
            short("Methicillin resistant Staphylococcus aureus [MRSA] infection").as_deref(),
            Some("MRSA infection")
        );
        assert_eq!(
            short("Human immunodeficiency virus [HIV] disease").as_deref(),
            Some("HIV disease")
        );
        // Prefixes joined as notes write them.
        assert_eq!(
            super::with_prefixes_joined("Severe pre-eclampsia, third trimester").as_deref(),
            Some("Severe preeclampsia, third trimester")
        );
        assert_eq!(super::with_prefixes_joined("End-stage renal disease"), None);
        // Nonessential modifiers are no short form.
        assert_eq!(short("Systolic (congestive) heart failure"), None);
        assert_eq!(short("Hypertension (arterial) (benign)"), None);
        assert_eq!(short("Pneumonia, unspecified organism"), None);
        // An acronym with its noun: the title with both, and with the acronym alone.
        assert_eq!(
            super::bracketed_short_forms("Computerized Tomography (CT Scan) of Head"),
            vec!["CT Scan of Head".to_string(), "CT of Head".to_string()]
        );
    }

    #[test]
    fn two_phrase_variants_compose() {
        // The site's row and the neoplasm's: C78.7 is "metastases to liver".
        let mut terms = Vec::new();
        super::push_phrase_variants(
            &mut terms,
            0,
            "Secondary malignant neoplasm of liver and intrahepatic bile duct",
            super::Source::Title,
        );
        let texts: Vec<&str> = terms.iter().map(|t| t.text.as_str()).collect();
        assert!(texts.contains(&"metastases to liver"), "{texts:?}");
        assert!(
            texts.contains(&"metastases to liver and intrahepatic bile duct"),
            "{texts:?}"
        );
        let unique: std::collections::HashSet<&str> = texts.iter().copied().collect();
        assert_eq!(unique.len(), texts.len(), "each variant once: {texts:?}");
    }

    #[test]
    fn every_phrase_variant_cites_its_source_and_names_a_term_in_everyday_words() {
        let rows = super::PHRASE_VARIANTS_TSV
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .skip(1);
        for row in rows {
            let fields: Vec<&str> = row.split('\t').collect();
            assert!(
                fields.len() == 3 && fields.iter().all(|f| !f.trim().is_empty()),
                "phrase, variant and source: {row:?}"
            );
        }
        assert!(super::phrase_variants().len() >= 10);
        let mut terms = Vec::new();
        let code: crate::codeset::CodeId = 0;
        super::push_phrase_variants(
            &mut terms,
            code,
            "Calculus of gallbladder with chronic cholecystitis without obstruction",
            super::Source::Title,
        );
        let texts: Vec<&str> = terms.iter().map(|t| t.text.as_str()).collect();
        assert!(
            texts.contains(&"gallstones with chronic cholecystitis without obstruction"),
            "{texts:?}"
        );
        terms.clear();
        super::push_phrase_variants(
            &mut terms,
            code,
            "Chronic kidney disease, stage 5",
            super::Source::Title,
        );
        assert_eq!(terms[0].text, "chronic kidney disease 5");
    }
}
