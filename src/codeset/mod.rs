//! Code systems: the ICD-10-CM tabular list and ICD-10-PCS, in one arena with O(1) lookup.
//!
//! Codes are stored without dots (`E1140`); [`display_code`] renders them for the edges.

mod cm;
mod pcs;

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::assets::{self, Assets};
use crate::error::Result;

pub use cm::parse_tabular;
pub use pcs::{load_pcs, PcsAxis};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum System {
    Icd10cm,
    Icd10pcs,
}

impl System {
    pub fn as_str(self) -> &'static str {
        match self {
            System::Icd10cm => "icd10cm",
            System::Icd10pcs => "icd10pcs",
        }
    }

    pub fn parse(s: &str) -> Option<System> {
        match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "icd10cm" | "cm" | "d" | "diagnoses" => Some(System::Icd10cm),
            "icd10pcs" | "pcs" | "p" | "procedures" => Some(System::Icd10pcs),
            _ => None,
        }
    }
}

/// Where a node sits in the classification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeKind {
    Chapter,
    Block,
    /// A code of the tabular list (category, subcategory or leaf).
    Code,
    /// A code generated from a 7th-character rule.
    SeventhCharacter,
    /// An ICD-10-PCS code.
    Procedure,
}

/// A reference to codes inside an instructional note: `(Z16.-)`, `(P35-P39)`, `(E11.9)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CodeRef {
    /// A code and everything under it (dot-less prefix).
    Prefix(String),
    /// An inclusive range of categories, both ends dot-less.
    Range(String, String),
}

impl CodeRef {
    /// Does this reference cover `code` (dot-less)?
    pub fn covers(&self, code: &str) -> bool {
        match self {
            CodeRef::Prefix(prefix) => code.starts_with(prefix.as_str()),
            CodeRef::Range(lo, hi) => {
                let head = &code[..code.len().min(hi.len().max(lo.len()))];
                head >= lo.as_str() && head <= hi.as_str()
                    || code.starts_with(lo.as_str())
                    || code.starts_with(hi.as_str())
            }
        }
    }
}

/// An instructional note with the code references found in its text.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Note {
    pub text: String,
    pub refs: Vec<CodeRef>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Notes {
    pub inclusion_terms: Vec<String>,
    pub includes: Vec<String>,
    pub excludes1: Vec<Note>,
    pub excludes2: Vec<Note>,
    pub code_first: Vec<Note>,
    pub use_additional: Vec<Note>,
    pub code_also: Vec<Note>,
}

impl Notes {
    fn is_empty(&self) -> bool {
        self.inclusion_terms.is_empty()
            && self.includes.is_empty()
            && self.excludes1.is_empty()
            && self.excludes2.is_empty()
            && self.code_first.is_empty()
            && self.use_additional.is_empty()
            && self.code_also.is_empty()
    }
}

/// The 7th characters a category or subcategory defines for the codes below it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SeventhCharacters {
    /// The code that defines them (dot-less).
    pub defined_at: String,
    pub extensions: Vec<(char, String)>,
    /// (6th character, 7th characters that do not apply with it), from notes such as
    /// "7th characters D and S do not apply to codes in category S06 with 6th character 7".
    #[serde(default)]
    pub not_with_sixth: Vec<(char, Vec<char>)>,
}

impl SeventhCharacters {
    /// The extensions valid for a base code padded to six characters.
    pub fn valid_for(&self, base: &str) -> impl Iterator<Item = &(char, String)> {
        let sixth = base.chars().nth(5);
        self.extensions.iter().filter(move |(c, _)| {
            !self
                .not_with_sixth
                .iter()
                .any(|(s, excluded)| Some(*s) == sixth && excluded.contains(c))
        })
    }
}

pub type CodeId = u32;

#[derive(Clone, Debug)]
pub struct Code {
    /// Dot-less code (`E1140`, `0016070`) or a block range (`A00-A09`).
    pub code: String,
    pub system: System,
    pub kind: CodeKind,
    pub title: String,
    pub parent: Option<CodeId>,
    pub children: Vec<CodeId>,
    /// Valid for reporting as it stands.
    pub billable: bool,
    /// Boxed: most codes carry no notes.
    pub notes: Option<Box<Notes>>,
    /// Index into [`CodeSet::seventh`] of the nearest definition, for codes that need a 7th character.
    pub seventh: Option<u32>,
    /// Per-axis meanings (ICD-10-PCS only).
    pub axes: Option<Box<[PcsAxis; 7]>>,
}

impl Code {
    pub fn display(&self) -> String {
        display_code(&self.code, self.system)
    }
    pub fn notes(&self) -> Option<&Notes> {
        self.notes.as_deref()
    }

    /// A residual class: the title names "other" members of its condition ("Other
    /// pneumonia", "Fall (on) (from) other stairs and steps", "... other specified ..."),
    /// which a note's plain words never state better than the named or unspecified code.
    pub fn is_residual(&self) -> bool {
        // Runs once per index term at start-up: no allocation.
        let mut words = self.title.split(|c: char| !c.is_alphanumeric()).peekable();
        while let Some(w) = words.next() {
            if w.eq_ignore_ascii_case("other")
                && !words.peek().is_some_and(|n| n.eq_ignore_ascii_case("than"))
            {
                return true;
            }
        }
        false
    }
}

/// Renders a dot-less code with its dot (`E1140` -> `E11.40`); PCS codes have none.
pub fn display_code(code: &str, system: System) -> String {
    if system == System::Icd10cm && code.len() > 3 && !code.contains('-') && code.is_ascii() {
        format!("{}.{}", &code[..3], &code[3..])
    } else {
        code.to_string()
    }
}

/// Upper-case, no dots, no spaces: the internal form of any code a user types.
pub fn normalize_code(code: &str) -> String {
    code.trim()
        .chars()
        .filter(|c| *c != '.' && !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// All loaded code systems.
#[derive(Debug, Default)]
pub struct CodeSet {
    codes: Vec<Code>,
    by_code: HashMap<(System, String), CodeId>,
    pub seventh: Vec<SeventhCharacters>,
    pub versions: Vec<CodeSetVersion>,
    /// [`CodeSet::title_qualifiers`], computed once (the matcher and the guideline rules
    /// both need it at start-up); reset whenever a code is added or changed.
    title_qualifiers: std::sync::OnceLock<std::collections::HashSet<String>>,
}

/// Which release of a code system is loaded (shipped with every answer).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CodeSetVersion {
    pub system: System,
    pub fiscal_year: String,
    pub source: String,
    pub sha256: String,
}

impl CodeSet {
    /// The words the ICD-10-CM titles put right after a comma, where a title names a further
    /// axis of its condition ("Migraine without aura, intractable"; "..., left"; "..., not
    /// intractable"; "..., stage 3"). In a note, a comma before such a word opens another
    /// axis: a denial before the comma does not reach past it.
    pub fn title_qualifiers(&self) -> &std::collections::HashSet<String> {
        self.title_qualifiers
            .get_or_init(|| self.scan_title_qualifiers())
    }

    fn scan_title_qualifiers(&self) -> std::collections::HashSet<String> {
        self.codes
            .iter()
            .filter(|c| c.system == System::Icd10cm)
            .flat_map(|c| {
                c.title
                    .to_ascii_lowercase()
                    .split(", ")
                    .skip(1)
                    .filter_map(|clause| clause.split_whitespace().next().map(str::to_string))
                    .collect::<Vec<_>>()
            })
            .filter(|w| w.len() >= 3 && w.chars().all(|c| c.is_ascii_alphabetic()))
            .collect()
    }

    /// Loads ICD-10-CM and ICD-10-PCS from the fetched assets.
    pub fn load(assets: &Assets) -> Result<CodeSet> {
        let mut set = CodeSet::default();
        let tabular = assets.path(assets::ICD10CM_TABULAR)?;
        parse_tabular(&tabular, &mut set)?;
        set.versions.push(version_of(
            System::Icd10cm,
            assets::ICD10CM_FISCAL_YEAR,
            assets::ICD10CM_TABULAR,
        ));
        let codes = assets.path(assets::ICD10PCS_CODES)?;
        let tables = assets.path(assets::ICD10PCS_TABLES)?;
        load_pcs(&codes, Some(&tables), &mut set)?;
        set.versions.push(version_of(
            System::Icd10pcs,
            assets::ICD10PCS_FISCAL_YEAR,
            assets::ICD10PCS_CODES,
        ));
        Ok(set)
    }

    /// A fixture code set from tabular XML text (the tests' hand-written excerpts).
    #[cfg(test)]
    pub(crate) fn fixture(tabular_xml: &str) -> CodeSet {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tabular.xml");
        std::fs::write(&path, tabular_xml).expect("write fixture");
        CodeSet::from_tabular(&path, "2026").expect("fixture parses")
    }

    /// ICD-10-CM only, from a tabular XML file (tests and custom releases).
    pub fn from_tabular(path: &Path, fiscal_year: &str) -> Result<CodeSet> {
        let mut set = CodeSet::default();
        parse_tabular(path, &mut set)?;
        set.versions.push(CodeSetVersion {
            system: System::Icd10cm,
            fiscal_year: fiscal_year.to_string(),
            source: path.display().to_string(),
            sha256: assets::sha256_file(path)?,
        });
        Ok(set)
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    pub fn get(&self, id: CodeId) -> &Code {
        &self.codes[id as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = (CodeId, &Code)> {
        self.codes.iter().enumerate().map(|(i, c)| (i as CodeId, c))
    }

    /// O(1) lookup of a dot-less code in one system.
    pub fn id(&self, system: System, code: &str) -> Option<CodeId> {
        self.by_code.get(&(system, code.to_string())).copied()
    }

    /// Lookup of a code as a user writes it (any case, with or without dot); CM first.
    pub fn find(&self, code: &str) -> Option<CodeId> {
        let code = normalize_code(code);
        self.id(System::Icd10cm, &code)
            .or_else(|| self.id(System::Icd10pcs, &code))
    }

    pub fn ancestors(&self, id: CodeId) -> impl Iterator<Item = CodeId> + '_ {
        std::iter::successors(self.get(id).parent, move |p| self.get(*p).parent)
    }

    /// Depth below the chapter (a category is 1 below its block).
    pub fn depth(&self, id: CodeId) -> usize {
        self.ancestors(id).count()
    }

    /// Is `descendant` equal to or below `ancestor`?
    pub fn is_within(&self, descendant: CodeId, ancestor: CodeId) -> bool {
        descendant == ancestor || self.ancestors(descendant).any(|a| a == ancestor)
    }

    /// The 7th-character definition that applies to a code, if it needs one.
    pub fn seventh_characters(&self, id: CodeId) -> Option<&SeventhCharacters> {
        self.get(id).seventh.map(|i| &self.seventh[i as usize])
    }

    /// The billable code to report when the evidence names a non-billable code and nothing
    /// more specific: its "unspecified" child (`.9`, "..., unspecified", "without
    /// complications"), followed down to a billable code.
    pub fn default_billable(&self, id: CodeId) -> Option<CodeId> {
        let mut current = id;
        for _ in 0..8 {
            let code = self.get(current);
            if code.billable {
                return Some(current);
            }
            let best = code
                .children
                .iter()
                .map(|&c| (unspecified_rank(self.get(c)), c))
                .max_by_key(|(rank, c)| (*rank, std::cmp::Reverse(*c)));
            // Without an unspecified child the category stands for several distinct
            // conditions: guessing one would overstate the evidence. But of a "with X" /
            // "without X" pair, "without" is what a note silent on X states (the Index's
            // default: "Diabetes, type 1, with ketoacidosis E10.10", without coma).
            current = match best {
                Some((rank, c)) if rank >= 2 || code.children.len() == 1 => c,
                _ => self.without_of_pair(&code.children)?,
            };
        }
        None
    }

    /// Among `children`, the "... without X" code whose sibling reads "... with X" (and
    /// which has no other sibling), if any.
    fn without_of_pair(&self, children: &[CodeId]) -> Option<CodeId> {
        let [a, b] = children else {
            return None;
        };
        let title = |id: CodeId| self.get(id).title.to_ascii_lowercase();
        [(*a, *b), (*b, *a)]
            .into_iter()
            .find_map(|(without, with)| {
                let t = title(without);
                (t.contains(" without ") && t.replacen(" without ", " with ", 1) == title(with))
                    .then_some(without)
            })
    }

    pub fn count(&self, system: System, billable_only: bool) -> usize {
        self.codes
            .iter()
            .filter(|c| c.system == system && (!billable_only || c.billable))
            .count()
    }

    pub fn version(&self, system: System) -> Option<&CodeSetVersion> {
        self.versions.iter().find(|v| v.system == system)
    }

    pub(crate) fn push(&mut self, code: Code) -> CodeId {
        self.title_qualifiers.take();
        let id = self.codes.len() as CodeId;
        if let Some(parent) = code.parent {
            self.codes[parent as usize].children.push(id);
        }
        self.by_code.insert((code.system, code.code.clone()), id);
        self.codes.push(code);
        id
    }

    pub(crate) fn get_mut(&mut self, id: CodeId) -> &mut Code {
        self.title_qualifiers.take();
        &mut self.codes[id as usize]
    }
}

/// How clearly a child is its parent's "unspecified" default (0: not at all).
fn unspecified_rank(code: &Code) -> u8 {
    let title = code.title.to_ascii_lowercase();
    let mut rank: u8 = 0;
    if code.code.ends_with('9') {
        rank += 2;
    }
    // "with unspecified ... disorder" (F10.29) names a complication of unknown kind, not
    // the condition's default.
    if title.contains("unspecified")
        && !title.contains("other specified")
        && !title.contains("with unspecified")
    {
        rank += 2;
    }
    if title.contains("without") || title.ends_with(" nos") {
        rank += 1;
    }
    // "Not specified as recurrent" is what a note silent on recurrence states (Index:
    // "Colitis, Clostridium difficile, not specified as recurrent A04.72").
    if title.contains("not specified as") {
        rank += 2;
    }
    // The Index's default for a dependence is "uncomplicated" ("Dependence, alcohol
    // F10.20").
    if title.contains("uncomplicated") {
        rank += 3;
    }
    if title.starts_with("other") {
        rank = rank.saturating_sub(2);
    }
    rank
}

fn version_of(system: System, fiscal_year: &str, asset: &str) -> CodeSetVersion {
    let spec = Assets::spec(asset);
    CodeSetVersion {
        system,
        fiscal_year: fiscal_year.to_string(),
        source: spec.map_or_else(String::new, |s| {
            format!("PyPI {}=={} {}", s.package, s.version, s.member)
        }),
        sha256: spec.map_or_else(String::new, |s| s.sha256.to_string()),
    }
}

/// Finds code references in note text: `(Z16.-)`, `(P35-P39)`, `E11.9`, `(I20.-, I21.-)`.
pub fn parse_code_refs(text: &str) -> Vec<CodeRef> {
    use std::sync::LazyLock;
    static CODE: LazyLock<regex::Regex> = LazyLock::new(|| {
        // Every letter opens a code: chapter 22's U codes (U07.1 COVID-19) included.
        regex::Regex::new(r"\b([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{0,4})?)(?:-([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?))?")
            .expect("valid regex")
    });
    CODE.captures_iter(text)
        .map(|c| {
            let lo = normalize_code(&c[1]);
            match c.get(2) {
                Some(hi) => CodeRef::Range(lo, normalize_code(hi.as_str())),
                None => CodeRef::Prefix(lo),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_qualifiers_follow_the_codes_they_are_read_from() {
        let mut set = CodeSet::fixture(
            r#"<ICD10CM.tabular><version>2026</version>
              <chapter><name>6</name><desc>Nervous system (G00-G99)</desc>
                <section id="G40-G47"><desc>Episodic disorders (G40-G47)</desc>
                  <diag><name>G43</name><desc>Migraine</desc>
                    <diag><name>G43.0</name><desc>Migraine without aura, not intractable</desc></diag>
                  </diag>
                </section>
              </chapter></ICD10CM.tabular>"#,
        );
        assert!(set.title_qualifiers().contains("not"));
        // Computed once, then the same set on every call.
        assert!(std::ptr::eq(set.title_qualifiers(), set.title_qualifiers()));
        let id = set.find("G43.0").expect("fixture code");
        set.get_mut(id).title = "Migraine without aura, intractable".into();
        assert!(set.title_qualifiers().contains("intractable"));
        assert!(!set.title_qualifiers().contains("not"));
    }

    #[test]
    fn code_refs_are_found_in_notes() {
        assert_eq!(
            parse_code_refs("code to identify resistance to antimicrobial drugs (Z16.-)"),
            vec![CodeRef::Prefix("Z16".into())]
        );
        assert_eq!(
            parse_code_refs("infectious diseases specific to the perinatal period (P35-P39)"),
            vec![CodeRef::Range("P35".into(), "P39".into())]
        );
        assert_eq!(
            parse_code_refs("diabetes (E08.-, E09.-, E11.9)"),
            vec![
                CodeRef::Prefix("E08".into()),
                CodeRef::Prefix("E09".into()),
                CodeRef::Prefix("E119".into())
            ]
        );
        assert_eq!(
            parse_code_refs("COVID-19 (U07.1)"),
            vec![CodeRef::Prefix("U071".into())]
        );
    }

    #[test]
    fn ranges_cover_their_categories_and_below() {
        let r = CodeRef::Range("P35".into(), "P39".into());
        assert!(r.covers("P35"));
        assert!(r.covers("P372"));
        assert!(r.covers("P399"));
        assert!(!r.covers("P40"));
        assert!(!r.covers("P34"));
        assert!(CodeRef::Prefix("Z16".into()).covers("Z1611"));
    }

    #[test]
    fn codes_display_with_dots_only_for_cm() {
        assert_eq!(display_code("E1140", System::Icd10cm), "E11.40");
        assert_eq!(display_code("I10", System::Icd10cm), "I10");
        assert_eq!(display_code("0016070", System::Icd10pcs), "0016070");
        assert_eq!(normalize_code(" e11.40 "), "E1140");
    }
}
