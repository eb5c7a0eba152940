//! The CMS ICD-10-CM Alphabetic Index: its XML (`<ICD10CM.index>`: main index, external
//! causes, drug and neoplasm tables) and the CSV flattening of the same trees.
//!
//! Index terms are hierarchical: a subterm's phrase is built with its parents
//! ("Fracture" > "femur" > "neck" → "fracture femur neck"). Table cells carry a column
//! heading that belongs in the phrase too ("Neoplasm lung" + "Malignant Primary").

use std::collections::HashMap;
use std::path::Path;

use super::{Source, Term};
use crate::codeset::{normalize_code, CodeId, CodeSet, System};
use crate::error::{Error, Result};
use crate::xml::{clean_text, XmlEvent, XmlStream};

/// One main term or subterm, in document order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IndexEntry {
    /// 0 for a main term.
    pub level: usize,
    pub title: String,
    /// Nonessential modifiers: words that may be present without changing the code.
    pub nemod: String,
    pub see: Option<String>,
    pub see_also: Option<String>,
    /// (column heading for table cells, code as printed: `S72.0-`, `T51.3X1`).
    pub codes: Vec<(Option<String>, String)>,
}

/// Reads any of the CMS index XML files.
pub fn read_xml(path: &Path) -> Result<Vec<IndexEntry>> {
    let mut xml = XmlStream::open(path)?;
    let mut entries: Vec<IndexEntry> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut headings: HashMap<String, String> = HashMap::new();
    let mut text = String::new();
    let mut nemod = String::new();
    let mut in_nemod = false;
    let mut cell_col: Option<String> = None;
    let mut head_col: Option<String> = None;
    let mut saw_root = false;
    loop {
        match xml.next()? {
            XmlEvent::Eof => break,
            XmlEvent::Start { name, attrs } => {
                let attr = |k: &str| attrs.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
                match name.as_str() {
                    "ICD10CM.index" => saw_root = true,
                    "mainTerm" | "term" => {
                        let level = if name == "mainTerm" {
                            0
                        } else {
                            attr("level")
                                .and_then(|l| l.parse().ok())
                                .unwrap_or(open.len())
                        };
                        entries.push(IndexEntry {
                            level,
                            ..Default::default()
                        });
                        open.push(entries.len() - 1);
                    }
                    "nemod" => in_nemod = true,
                    "cell" => cell_col = attr("col"),
                    "head" => head_col = attr("col"),
                    _ => {}
                }
                if name != "nemod" {
                    text.clear();
                }
                if name == "title" {
                    nemod.clear();
                }
            }
            XmlEvent::Text(t) => {
                if in_nemod {
                    nemod.push_str(&t);
                } else {
                    text.push_str(&t);
                }
            }
            XmlEvent::End { name } => {
                let value = clean_text(&text);
                let current = open.last().copied();
                match (name.as_str(), current) {
                    ("nemod", _) => {
                        in_nemod = false;
                        nemod.push(' ');
                        continue; // the title's own text goes on after the modifier
                    }
                    ("head", _) => {
                        if let Some(col) = head_col.take() {
                            headings.insert(col, value);
                        }
                    }
                    ("title", Some(i)) => {
                        entries[i].title = value;
                        entries[i].nemod = clean_text(&nemod);
                    }
                    ("code" | "manif", Some(i)) if !value.is_empty() => {
                        entries[i].codes.push((None, value));
                    }
                    ("cell", Some(i)) => {
                        let col = cell_col.take();
                        if !value.is_empty() && value != "--" {
                            let heading = col.and_then(|c| headings.get(&c).cloned());
                            entries[i].codes.push((heading, value));
                        }
                    }
                    ("see", Some(i)) => entries[i].see = Some(value),
                    ("seeAlso", Some(i)) => entries[i].see_also = Some(value),
                    ("mainTerm" | "term", _) => {
                        open.pop();
                    }
                    _ => {}
                }
                text.clear();
            }
        }
    }
    if !saw_root {
        return Err(xml.error("not a CMS Alphabetic Index (no <ICD10CM.index> root)"));
    }
    Ok(entries)
}

/// Reads the CSV flattening: `RowID,[Letter,]Level,Term,[See,]SeeAlso,NonEssModif,` then
/// either `Code` or one column per table heading (`MalignantPrimary`, `Underdosing`, ...).
pub fn read_csv(path: &Path) -> Result<Vec<IndexEntry>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| Error::parse(path, e.to_string()))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Error::parse(path, e.to_string()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(level_col), Some(term_col)) = (col("Level"), col("Term")) else {
        return Err(Error::parse(path, "CSV without Level and Term columns"));
    };
    let see_col = col("See");
    let see_also_col = col("SeeAlso");
    let nemod_col = col("NonEssModif").or_else(|| col("nemod"));
    let known = [
        "RowID",
        "Letter",
        "Level",
        "Term",
        "See",
        "SeeAlso",
        "NonEssModif",
        "nemod",
    ];
    let code_cols: Vec<(usize, Option<String>)> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| !known.iter().any(|k| k.eq_ignore_ascii_case(h)))
        .map(|(i, h)| {
            (
                i,
                (!h.eq_ignore_ascii_case("Code")).then(|| split_camel_case(h)),
            )
        })
        .collect();
    let mut entries = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.map_err(|e| Error::parse(path, format!("row {}: {e}", n + 2)))?;
        let get = |c: Option<usize>| {
            c.and_then(|c| record.get(c))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let level = get(Some(level_col))
            .and_then(|l| l.parse().ok())
            .ok_or_else(|| Error::parse(path, format!("row {}: Level is not a number", n + 2)))?;
        let codes = code_cols
            .iter()
            .filter_map(|(c, heading)| {
                get(Some(*c))
                    .filter(|v| *v != "--")
                    .map(|v| (heading.clone(), v.to_string()))
            })
            .collect();
        entries.push(IndexEntry {
            level,
            title: get(Some(term_col)).unwrap_or_default().to_string(),
            nemod: get(nemod_col).unwrap_or_default().to_string(),
            see: get(see_col).map(str::to_string),
            see_also: get(see_also_col).map(str::to_string),
            codes,
        });
    }
    Ok(entries)
}

/// "PoisoningAccidental" -> "poisoning accidental"; "CaInSitu" -> "ca in situ".
fn split_camel_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for (i, c) in s.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The phrase of each entry: its ancestors' titles then its own, a main term by its first
/// form (see [`main_term_head`]).
pub fn entry_phrases(entries: &[IndexEntry]) -> Vec<String> {
    let mut path: Vec<&str> = Vec::new();
    entries
        .iter()
        .map(|e| {
            path.truncate(e.level);
            if e.level == 0 {
                path.push(main_term_head(&e.title));
            } else {
                path.push(e.title.as_str());
            }
            path.join(" ")
        })
        .collect()
}

/// The words of the main terms the Index sends to the condition ("Kidney - see condition",
/// "Antrum, antral - see condition", "Chronic - see condition"): by the Index's own
/// convention they say where or what kind, never what, so a reading made of them alone
/// states no condition. In the Index's order, each word once; a possessive's "s" ("Cowper's
/// gland") is no word.
pub fn condition_pointer_words(entries: &[IndexEntry]) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for entry in entries
        .iter()
        .filter(|e| e.level == 0 && is_condition_pointer(e))
    {
        for word in entry
            .title
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 1 && !matches!(*w, "of" | "or" | "and" | "the"))
        {
            let word = word.to_lowercase();
            if !words.contains(&word) {
                words.push(word);
            }
        }
    }
    words
}

/// The one-word main terms that name a condition (not sent to one), by their first form: an
/// analyzer may give a pointer the stem of a condition ("Infective" and "Infection",
/// "Septic" and "Sepsis"), and such a word names the condition after all.
pub fn condition_words(entries: &[IndexEntry]) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for entry in entries
        .iter()
        .filter(|e| e.level == 0 && !is_condition_pointer(e))
    {
        let head = main_term_head(&entry.title);
        if head.contains(|c: char| !c.is_alphanumeric()) {
            continue;
        }
        let word = head.to_lowercase();
        if !words.contains(&word) {
            words.push(word);
        }
    }
    words
}

fn is_condition_pointer(entry: &IndexEntry) -> bool {
    entry
        .see
        .as_deref()
        .is_some_and(|see| see.trim().eq_ignore_ascii_case("condition"))
}

/// Shortest common beginning of a word and its derived forms in a main term's list.
const MIN_SHARED_STEM: usize = 4;

/// A main term that lists forms of one word ("Stenosis, stenotic", "Anomaly, anomalous",
/// "Alcohol, alcoholic, alcohol-induced") names that word once: its forms are alternatives,
/// not words a note must all say ("aortic stenosis" is "Stenosis, stenotic, aortic (valve)
/// I35.0"). A main term whose comma adds a modifier ("Abruption, placenta", "Acidity,
/// gastric") stands whole.
pub fn main_term_head(title: &str) -> &str {
    let mut parts = title.split(',').map(str::trim);
    let Some(first) = parts.next() else {
        return title;
    };
    let shared = |other: &str| {
        first
            .chars()
            .zip(other.chars())
            .take_while(|(a, b)| a.eq_ignore_ascii_case(b))
            .count()
    };
    let mut rest = parts.filter(|p| !p.is_empty()).peekable();
    if first.contains(' ') || rest.peek().is_none() {
        return title;
    }
    if rest.all(|p| shared(p) >= MIN_SHARED_STEM) {
        first
    } else {
        title
    }
}

/// Resolves an index code as printed (`S72.0-`, `T51.3X1`, `K35.80`) in the tabular list.
/// A trailing dash means "see the tabular list for the rest": the category itself stands.
pub fn resolve_index_code(codes: &CodeSet, printed: &str) -> Option<CodeId> {
    let code = normalize_code(printed.trim_end_matches(['-', '.']));
    if code.is_empty() {
        return None;
    }
    codes.id(System::Icd10cm, &code)
}

/// Turns entries into terms: each coded entry under its full phrase (plus the table
/// heading), and each "see" entry under the codes of the entry it points to.
pub fn terms_from_entries(entries: &[IndexEntry], codes: &CodeSet) -> Vec<Term> {
    let phrases = entry_phrases(entries);
    let mut terms = Vec::new();
    for (entry, phrase) in entries.iter().zip(&phrases) {
        for (heading, printed) in &entry.codes {
            if let Some(id) = resolve_index_code(codes, printed) {
                let text = match heading {
                    Some(h) => format!("{phrase} {h}"),
                    None => phrase.clone(),
                };
                terms.push(Term {
                    code: id,
                    text,
                    source: Source::AlphabeticIndex,
                });
            }
        }
    }
    let targets = SeeResolver::new(entries);
    for (entry, phrase) in entries.iter().zip(&phrases) {
        let Some(see) = &entry.see else { continue };
        if !entry.codes.is_empty() {
            continue;
        }
        if let Some(target) = targets.resolve(see) {
            for (heading, printed) in &entries[target].codes {
                if heading.is_some() {
                    continue;
                }
                if let Some(id) = resolve_index_code(codes, printed) {
                    terms.push(Term {
                        code: id,
                        text: phrase.clone(),
                        source: Source::AlphabeticIndex,
                    });
                }
            }
        }
    }
    terms
}

/// Finds the entry a "see" reference names: "Pain, abdominal" is main term "Pain", subterm
/// "abdominal"; main terms may contain commas themselves ("Abdomen, abdominal").
struct SeeResolver<'a> {
    entries: &'a [IndexEntry],
    main_terms: HashMap<String, usize>,
}

impl<'a> SeeResolver<'a> {
    fn new(entries: &'a [IndexEntry]) -> Self {
        let mut main_terms: HashMap<String, usize> = HashMap::new();
        for (i, e) in entries.iter().enumerate().filter(|(_, e)| e.level == 0) {
            main_terms.insert(e.title.to_lowercase(), i);
        }
        // "see Insufficiency, aortic" names the main term "Insufficiency, insufficient" by
        // its first form; a main term spelt so exactly wins.
        for (i, e) in entries.iter().enumerate().filter(|(_, e)| e.level == 0) {
            main_terms
                .entry(main_term_head(&e.title).to_lowercase())
                .or_insert(i);
        }
        SeeResolver {
            entries,
            main_terms,
        }
    }

    fn resolve(&self, see: &str) -> Option<usize> {
        // "Maltreatment" / "Pain, abdominal" / "condition" (lower-case: a generic pointer).
        let see = see.split(" - ").next().unwrap_or(see);
        let parts: Vec<&str> = see.split(", ").map(str::trim).collect();
        for k in (1..=parts.len()).rev() {
            let main = parts[..k].join(", ").to_lowercase();
            let Some(&start) = self.main_terms.get(&main) else {
                continue;
            };
            let mut current = start;
            let mut ok = true;
            for part in &parts[k..] {
                match self.child(current, part) {
                    Some(c) => current = c,
                    None => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok && !self.entries[current].codes.is_empty() {
                return Some(current);
            }
        }
        None
    }

    fn child(&self, parent: usize, title: &str) -> Option<usize> {
        let level = self.entries[parent].level + 1;
        let title = title.to_lowercase();
        self.entries[parent + 1..]
            .iter()
            .enumerate()
            .take_while(|(_, e)| e.level >= level)
            .find(|(_, e)| e.level == level && e.title.to_lowercase() == title)
            .map(|(i, _)| parent + 1 + i)
    }
}

/// Convenience for callers that only want the entries of a file of either format.
pub fn load_alphabetic_index(path: &Path) -> Result<Vec<IndexEntry>> {
    // The first bytes tell the format; the whole file is read once, by its parser.
    let head = super::read_head(path)?;
    if head
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('<')
    {
        read_xml(path)
    } else {
        read_csv(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_headings_become_phrases() {
        assert_eq!(
            split_camel_case("PoisoningAccidental"),
            "poisoning accidental"
        );
        assert_eq!(split_camel_case("CaInSitu"), "ca in situ");
    }

    #[test]
    fn phrases_are_built_with_parents() {
        let e = |level: usize, title: &str| IndexEntry {
            level,
            title: title.into(),
            ..Default::default()
        };
        let entries = vec![
            e(0, "Fracture"),
            e(1, "femur"),
            e(2, "neck"),
            e(1, "rib"),
            e(0, "Pain"),
        ];
        assert_eq!(
            entry_phrases(&entries),
            vec![
                "Fracture",
                "Fracture femur",
                "Fracture femur neck",
                "Fracture rib",
                "Pain"
            ]
        );
    }

    #[test]
    fn a_main_term_of_word_forms_is_named_by_its_first_form() {
        assert_eq!(main_term_head("Stenosis, stenotic"), "Stenosis");
        assert_eq!(
            main_term_head("Alcohol, alcoholic, alcohol-induced"),
            "Alcohol"
        );
        assert_eq!(main_term_head("Abruption, placenta"), "Abruption, placenta");
        assert_eq!(main_term_head("Acidity, gastric"), "Acidity, gastric");
        assert_eq!(main_term_head("Pain"), "Pain");
        let e = |level: usize, title: &str| IndexEntry {
            level,
            title: title.into(),
            ..Default::default()
        };
        let entries = vec![e(0, "Stenosis, stenotic"), e(1, "aortic")];
        assert_eq!(entry_phrases(&entries)[1], "Stenosis aortic");
    }

    #[test]
    fn condition_pointers_are_the_words_of_main_terms_sent_to_the_condition() {
        let entry = |level: usize, title: &str, see: Option<&str>| IndexEntry {
            level,
            title: title.into(),
            see: see.map(Into::into),
            ..Default::default()
        };
        let entries = vec![
            entry(0, "Antrum, antral", Some("condition")),
            entry(0, "Circle of Willis", Some("condition")),
            entry(0, "Cowper's gland", Some("condition")),
            entry(0, "Antritis", Some("Sinusitis, maxillary")),
            entry(0, "Infection, infected, infective", None),
            entry(0, "Heart beat", None),
            entry(1, "kidney", Some("condition")),
        ];
        assert_eq!(
            condition_pointer_words(&entries),
            ["antrum", "antral", "circle", "willis", "cowper", "gland"]
        );
        assert_eq!(condition_words(&entries), ["antritis", "infection"]);
    }

    #[test]
    fn a_see_reference_finds_a_main_term_by_its_first_form() {
        let entries = vec![
            IndexEntry {
                level: 0,
                title: "Insufficiency, insufficient".into(),
                ..Default::default()
            },
            IndexEntry {
                level: 1,
                title: "aortic".into(),
                codes: vec![(None, "I35.1".into())],
                ..Default::default()
            },
        ];
        assert_eq!(
            SeeResolver::new(&entries).resolve("Insufficiency, aortic"),
            Some(1)
        );
    }
}

/// One phrase of the lookup gold set.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PhraseGold {
    pub id: String,
    pub text: String,
    /// Codes as printed with dots; a hit is the code or a descendant.
    pub codes: Vec<String>,
}

/// Samples `sample` distinct phrases (main term + subterms, nonessential modifiers left out)
/// whose codes resolve in the tabular list, deterministically from `seed`.
///
/// A phrase is written the way a coder would type it: a main term listed with its variants
/// ("Infection, infected, infective") contributes its first form, and the index's own
/// instruction "NEC" is dropped.
pub fn phrase_gold(
    path: &Path,
    codes: &CodeSet,
    sample: usize,
    seed: u64,
) -> Result<Vec<PhraseGold>> {
    let mut entries = load_alphabetic_index(path)?;
    for entry in entries.iter_mut() {
        if entry.level == 0 {
            if let Some((first, _)) = entry.title.split_once(", ") {
                entry.title = first.to_string();
            }
        }
        entry.title = entry
            .title
            .split_whitespace()
            .filter(|w| *w != "NEC")
            .collect::<Vec<_>>()
            .join(" ");
    }
    let phrases = entry_phrases(&entries);
    let mut by_phrase: std::collections::BTreeMap<String, Vec<String>> =
        std::collections::BTreeMap::new();
    for (entry, phrase) in entries.iter().zip(&phrases) {
        for (heading, printed) in &entry.codes {
            if heading.is_some() {
                continue;
            }
            if let Some(id) = resolve_index_code(codes, printed) {
                let shown = codes.get(id).display();
                let list = by_phrase.entry(phrase.clone()).or_default();
                if !list.contains(&shown) {
                    list.push(shown);
                }
            }
        }
    }
    let mut all: Vec<(String, Vec<String>)> = by_phrase.into_iter().collect();
    // Fisher-Yates with a SplitMix64 stream: deterministic across platforms and versions.
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for i in (1..all.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        all.swap(i, j);
    }
    all.truncate(sample);
    Ok(all
        .into_iter()
        .enumerate()
        .map(|(i, (text, codes))| PhraseGold {
            id: format!("p{i:05}"),
            text,
            codes,
        })
        .collect())
}
