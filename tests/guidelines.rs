//! The guideline suite (issue #11): short notes written from the ICD-10-CM Official
//! Guidelines for Coding and Reporting and the ICD-10-PCS Official Guidelines, each stating
//! the codes a certified coder expects among the top 5 suggestions (`must`) and the codes
//! that must not be suggested at all (`must_not`). Cases live in `tests/guidelines/cases/`
//! (diagnoses) and `tests/guidelines/cases/procedures/` (procedures); the format and the
//! known-failure policy are in `tests/guidelines/README.md`.
//!
//! The suite checks its own cases first (unique ids, required fields, every code existing in
//! the loaded code sets and every exact code billable), then runs every case against the real
//! engine, prints pass rates per chapter file and per guideline section, and fails on any
//! failure not listed in `tests/guidelines/known_failures.tsv`, on a listed case that passes
//! (remove it: the fix is kept) and on a listed id that is no case. The pass rates of
//! diagnoses and of procedures are printed against the target of 95%.
//!
//! `GUIDELINES_REPORT=path` writes every case's outcome (TSV, or JSON when the path ends in
//! `.json`); `GUIDELINES_ONLY=substring` runs only the cases whose id or file contains it
//! (for working on a case: the known-failure and pass-rate checks are then skipped).
//! `GUIDELINES_INDEX=index/full` runs the suite on another index (the build with the CMS
//! Alphabetic Index): rates are printed, the known-failure list (of the default index) is
//! not enforced.
//!
//! Needs the fetched assets and the built index (`scripts/setup`); without them the cases'
//! structure is still checked and the rest is skipped with a message.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chartcoder::codeset::{normalize_code, CodeSet, System};
use chartcoder::coding::{Setting, SuggestOptions, Suggestion};
use chartcoder::engine::Engine;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A `must` pattern has to be among this many suggestions of its code system.
const TOP: usize = 5;
/// The pass rate issue #11 asks for, for diagnoses and for procedures separately (reported;
/// the known-failure list is what the test enforces).
const TARGET_PASS_RATE: f64 = 0.95;

fn suite_dir() -> PathBuf {
    common::root().join("tests/guidelines")
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    id: String,
    section: String,
    note: String,
    #[serde(default)]
    setting: Setting,
    /// Empty: both systems.
    #[serde(default)]
    systems: Vec<System>,
    #[serde(default)]
    must: Vec<String>,
    #[serde(default)]
    must_not: Vec<String>,
    #[serde(default)]
    why: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Diagnoses,
    Procedures,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Diagnoses => "diagnoses",
            Kind::Procedures => "procedures",
        }
    }
    /// The system a pattern valid in both systems is read in.
    fn system(self) -> System {
        match self {
            Kind::Diagnoses => System::Icd10cm,
            Kind::Procedures => System::Icd10pcs,
        }
    }
}

/// A case with where it came from.
#[derive(Clone, Debug)]
struct Loaded {
    case: Case,
    /// Path relative to `tests/guidelines/cases` (`09-circulatory.json`, `procedures/...`).
    file: String,
    kind: Kind,
}

/// A code (`E11.40`, `0DTJ4ZZ`) or a prefix ending in `-` (`S52.5-`, `Z80-`), as read.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pattern {
    /// As written in the case.
    text: String,
    /// Dot-less, upper case, without the trailing `-`.
    code: String,
    prefix: bool,
    system: System,
}

impl Pattern {
    /// The pattern's code form, before its system is known.
    fn split(text: &str) -> (String, bool) {
        let trimmed = text.trim();
        match trimmed.strip_suffix('-') {
            Some(head) => (normalize_code(head), true),
            None => (normalize_code(trimmed), false),
        }
    }

    fn matches(&self, system: System, code: &str) -> bool {
        if system != self.system {
            return false;
        }
        let code = normalize_code(code);
        if self.prefix {
            code.starts_with(&self.code)
        } else {
            code == self.code
        }
    }
}

/// Every case file, sorted by path: `cases/*.json` then `cases/procedures/*.json`.
fn case_files() -> Vec<(PathBuf, Kind)> {
    let mut files = Vec::new();
    for (dir, kind) in [
        (suite_dir().join("cases"), Kind::Diagnoses),
        (suite_dir().join("cases/procedures"), Kind::Procedures),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
            .collect();
        found.sort();
        files.extend(found.into_iter().map(|p| (p, kind)));
    }
    files
}

/// Every case, or the problems that make the suite invalid (unreadable files, bad JSON).
fn load_cases() -> (Vec<Loaded>, Vec<String>) {
    let cases_dir = suite_dir().join("cases");
    let mut cases = Vec::new();
    let mut problems = Vec::new();
    for (path, kind) in case_files() {
        let file = path
            .strip_prefix(&cases_dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                problems.push(format!("{file}: {e}"));
                continue;
            }
        };
        match serde_json::from_str::<Vec<Case>>(&text) {
            Ok(list) => cases.extend(list.into_iter().map(|case| Loaded {
                case,
                file: file.clone(),
                kind,
            })),
            Err(e) => problems.push(format!("{file}: not an array of cases: {e}")),
        }
    }
    (cases, problems)
}

fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('-')
        && !id.ends_with('-')
        && !id.contains("--")
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Problems with the cases that need no code set: ids, required fields, pattern syntax.
fn check_structure(cases: &[Loaded]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for l in cases {
        let c = &l.case;
        let at = format!("{} [{}]", l.file, c.id);
        if !is_kebab(&c.id) {
            problems.push(format!("{at}: id is not kebab-case"));
        }
        if let Some(first) = seen.insert(&c.id, &l.file) {
            problems.push(format!("{at}: id already used in {first}"));
        }
        if c.note.trim().is_empty() {
            problems.push(format!("{at}: empty note"));
        }
        if c.section.trim().is_empty() {
            problems.push(format!("{at}: no guideline section"));
        }
        if c.must.is_empty() && c.must_not.is_empty() {
            problems.push(format!("{at}: neither must nor must_not"));
        }
        for p in c.must.iter().chain(&c.must_not) {
            let (code, _) = Pattern::split(p);
            if code.is_empty() || !code.chars().all(|ch| ch.is_ascii_alphanumeric()) {
                problems.push(format!("{at}: pattern {p:?} is not a code or prefix"));
            }
        }
        let mut dup = HashSet::new();
        for p in c.must.iter().chain(&c.must_not) {
            if !dup.insert(Pattern::split(p)) {
                problems.push(format!("{at}: pattern {p:?} listed twice"));
            }
        }
    }
    problems
}

/// Dot-less codes of each system, sorted, for prefix checks.
struct CodeLists {
    sorted: HashMap<System, Vec<String>>,
}

impl CodeLists {
    fn new(codes: &CodeSet) -> CodeLists {
        let mut sorted: HashMap<System, Vec<String>> = HashMap::new();
        for (_, c) in codes.iter() {
            if !c.code.contains('-') {
                sorted.entry(c.system).or_default().push(c.code.clone());
            }
        }
        for list in sorted.values_mut() {
            list.sort();
            list.dedup();
        }
        CodeLists { sorted }
    }

    fn has_prefix(&self, system: System, prefix: &str) -> bool {
        let Some(list) = self.sorted.get(&system) else {
            return false;
        };
        let i = list.partition_point(|c| c.as_str() < prefix);
        list.get(i).is_some_and(|c| c.starts_with(prefix))
    }
}

/// Resolves a case's patterns against the code sets: exact codes must exist and be billable,
/// prefixes must begin some code. Returns the patterns (must, must_not) or the problems.
fn resolve(
    l: &Loaded,
    codes: &CodeSet,
    lists: &CodeLists,
) -> Result<(Vec<Pattern>, Vec<Pattern>), Vec<String>> {
    let c = &l.case;
    let at = format!("{} [{}]", l.file, c.id);
    let mut problems = Vec::new();
    let allowed: Vec<System> = if c.systems.is_empty() {
        vec![System::Icd10cm, System::Icd10pcs]
    } else {
        c.systems.clone()
    };
    let mut one = |text: &str| -> Option<Pattern> {
        let (code, prefix) = Pattern::split(text);
        let valid: Vec<System> = allowed
            .iter()
            .copied()
            .filter(|&s| {
                if prefix {
                    lists.has_prefix(s, &code)
                } else {
                    codes.id(s, &code).is_some()
                }
            })
            .collect();
        let system = if valid.contains(&l.kind.system()) {
            l.kind.system()
        } else if let Some(&s) = valid.first() {
            s
        } else {
            problems.push(format!(
                "{at}: {text:?} is no {} in the loaded code sets",
                if prefix { "code prefix" } else { "code" }
            ));
            return None;
        };
        if !prefix {
            let id = codes.id(system, &code).expect("checked above");
            if !codes.get(id).billable {
                problems.push(format!(
                    "{at}: {text:?} is not billable (use a more specific code, or a prefix ending in '-')"
                ));
            }
        }
        Some(Pattern {
            text: text.to_string(),
            code,
            prefix,
            system,
        })
    };
    let must: Vec<Pattern> = c.must.iter().filter_map(|p| one(p)).collect();
    let must_not: Vec<Pattern> = c.must_not.iter().filter_map(|p| one(p)).collect();
    for m in must.iter().filter(|m| !m.prefix) {
        for n in must_not.iter().filter(|n| n.matches(m.system, &m.code)) {
            problems.push(format!(
                "{at}: must {:?} is excluded by must_not {:?}",
                m.text, n.text
            ));
        }
    }
    if problems.is_empty() {
        Ok((must, must_not))
    } else {
        Err(problems)
    }
}

/// One case's outcome.
#[derive(Clone, Debug, Serialize)]
struct Outcome {
    id: String,
    file: String,
    section: String,
    kind: Kind,
    pass: bool,
    /// Empty when the case passes.
    reason: String,
    /// Listed in known_failures.tsv.
    known: bool,
    /// The first suggestions of the case's kind's system, dotted.
    top: Vec<String>,
    /// The case's reasoning, for reading the report.
    why: String,
}

/// `(rank within its system, 1-based; suggestion)` of the first suggestion a pattern matches.
fn find<'a>(suggestions: &'a [Suggestion], p: &Pattern) -> Option<(usize, &'a Suggestion)> {
    suggestions
        .iter()
        .filter(|s| s.system == p.system)
        .enumerate()
        .find(|(_, s)| p.matches(s.system, &s.code))
        .map(|(i, s)| (i + 1, s))
}

/// Why a case fails (`None`: it passes), from the suggestions it got.
fn judge(suggestions: &[Suggestion], must: &[Pattern], must_not: &[Pattern]) -> Option<String> {
    let mut reasons = Vec::new();
    for p in must {
        match find(suggestions, p) {
            Some((rank, _)) if rank <= TOP => {}
            Some((rank, s)) => reasons.push(format!(
                "missing {} (rank {rank}: {}, score {:.3})",
                p.text, s.code, s.score
            )),
            None => reasons.push(format!("missing {} (not suggested)", p.text)),
        }
    }
    for p in must_not {
        let hits: Vec<String> = suggestions
            .iter()
            .filter(|s| s.system == p.system)
            .enumerate()
            .filter(|(_, s)| p.matches(s.system, &s.code))
            .map(|(i, s)| format!("{} at rank {} score {:.3}", s.code, i + 1, s.score))
            .collect();
        if !hits.is_empty() {
            reasons.push(format!("unwanted {}: {}", p.text, hits.join(", ")));
        }
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// `known_failures.tsv`: id -> reason, or the problems with the file.
fn load_known_failures() -> (BTreeMap<String, String>, Vec<String>) {
    let path = suite_dir().join("known_failures.tsv");
    let mut known = BTreeMap::new();
    let mut problems = Vec::new();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (known, problems),
        Err(e) => {
            problems.push(format!("{}: {e}", path.display()));
            return (known, problems);
        }
    };
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let (id, reason) = line.split_once('\t').unwrap_or((line, ""));
        let id = id.trim().to_string();
        if known
            .insert(id.clone(), reason.trim().to_string())
            .is_some()
        {
            problems.push(format!(
                "known_failures.tsv line {}: {id} listed twice",
                n + 1
            ));
        }
    }
    (known, problems)
}

/// The section a case is counted under: `I.C.9.a.2` -> `I.C.9`, `I.A.15` -> `I.A`,
/// `IV.H` -> `IV.H`, `B3.4a` -> `B3.4`, `B4.1a` -> `B4.1`.
fn section_group(section: &str) -> String {
    let s = section.trim().trim_start_matches("Section ").trim();
    let parts: Vec<&str> = s.split('.').filter(|p| !p.is_empty()).collect();
    let roman = |p: &str| !p.is_empty() && p.chars().all(|c| matches!(c, 'I' | 'V' | 'X'));
    if parts.first().is_some_and(|p| roman(p)) {
        // ICD-10-CM: chapter-specific guidelines (I.C.n) by chapter, others by section.
        let take = if parts.len() >= 3 && parts[0] == "I" && parts[1] == "C" {
            3
        } else {
            2
        };
        parts[..take.min(parts.len())].join(".")
    } else {
        // ICD-10-PCS: `B3.4a` -> `B3.4` (letters after the number dropped).
        let head = parts[..2.min(parts.len())].join(".");
        match head.find('.') {
            Some(dot) => {
                let (a, b) = head.split_at(dot + 1);
                let digits: String = b.chars().take_while(|c| c.is_ascii_digit()).collect();
                if digits.is_empty() {
                    a.trim_end_matches('.').to_string()
                } else {
                    format!("{a}{digits}")
                }
            }
            None => head,
        }
    }
}

/// A piece of a section name, numbers compared as numbers (`I.C.9` before `I.C.10`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SortKey {
    Number(u64),
    Text(String),
}

fn natural_key(name: &str) -> Vec<SortKey> {
    let mut key = Vec::new();
    let mut chars = name.chars().peekable();
    while let Some(&c) = chars.peek() {
        let digits = c.is_ascii_digit();
        let mut piece = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_digit() != digits {
                break;
            }
            piece.push(c);
            chars.next();
        }
        key.push(match piece.parse() {
            Ok(n) if digits => SortKey::Number(n),
            _ => SortKey::Text(piece),
        });
    }
    key
}

#[derive(Default)]
struct Tally {
    pass: usize,
    total: usize,
}

impl Tally {
    fn add(&mut self, pass: bool) {
        self.total += 1;
        self.pass += usize::from(pass);
    }
    fn rate(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.pass as f64 / self.total as f64
        }
    }
}

fn table(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    for kind in [Kind::Diagnoses, Kind::Procedures] {
        let mine: Vec<&Outcome> = outcomes.iter().filter(|o| o.kind == kind).collect();
        if mine.is_empty() {
            continue;
        }
        let mut files: BTreeMap<&str, Tally> = BTreeMap::new();
        let mut sections: BTreeMap<Vec<SortKey>, (String, Tally)> = BTreeMap::new();
        let mut all = Tally::default();
        for o in &mine {
            files.entry(&o.file).or_default().add(o.pass);
            let group = section_group(&o.section);
            sections
                .entry(natural_key(&group))
                .or_insert_with(|| (group, Tally::default()))
                .1
                .add(o.pass);
            all.add(o.pass);
        }
        let row = |out: &mut String, name: &str, t: &Tally| {
            let _ = writeln!(
                out,
                "  {name:<38} {:>4}/{:<4} {:>6.1}%",
                t.pass,
                t.total,
                100.0 * t.rate()
            );
        };
        let _ = writeln!(out, "{} by file:", kind.label());
        for (name, t) in &files {
            row(&mut out, name, t);
        }
        let _ = writeln!(out, "{} by guideline section:", kind.label());
        for (name, t) in sections.values() {
            row(&mut out, name, t);
        }
        row(&mut out, &format!("{} overall", kind.label()), &all);
        out.push('\n');
    }
    out
}

fn write_report(path: &Path, outcomes: &[Outcome]) {
    let text = if path.extension().is_some_and(|x| x == "json") {
        serde_json::to_string_pretty(outcomes).expect("outcomes serialize")
    } else {
        let mut text = String::from("id\tfile\tsection\tkind\tpass\tknown\treason\ttop\twhy\n");
        for o in outcomes {
            let _ = writeln!(
                text,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                o.id,
                o.file,
                o.section,
                o.kind.label(),
                o.pass,
                o.known,
                o.reason.replace(['\t', '\n'], " "),
                o.top.join(" "),
                o.why.replace(['\t', '\n'], " ")
            );
        }
        text
    };
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    eprintln!(
        "guidelines: report of every case written to {}",
        path.display()
    );
}

fn fail_with(title: &str, problems: &[String]) -> ! {
    panic!("{title} ({}):\n  {}", problems.len(), problems.join("\n  "));
}

#[test]
fn guideline_suite() {
    let (mut cases, mut problems) = load_cases();
    problems.extend(check_structure(&cases));
    if cases.is_empty() {
        problems.push("no cases under tests/guidelines/cases".into());
    }
    if !problems.is_empty() {
        fail_with("the guideline suite's cases are malformed", &problems);
    }
    let only = std::env::var("GUIDELINES_ONLY")
        .ok()
        .filter(|s| !s.is_empty());
    if let Some(only) = &only {
        cases.retain(|l| l.case.id.contains(only.as_str()) || l.file.contains(only.as_str()));
        eprintln!("guidelines: GUIDELINES_ONLY={only}: {} cases", cases.len());
    }
    let (known, known_problems) = load_known_failures();

    // Another index (the Alphabetic Index build, `scripts/build-full-index`): the rates are
    // reported, the known-failure list (kept for the default index) is not enforced.
    let other_index = std::env::var_os("GUIDELINES_INDEX").filter(|p| !p.is_empty());
    let engine = match &other_index {
        Some(index) => {
            let Some(mut config) = common::setup_or_skip() else {
                return;
            };
            config.index = PathBuf::from(index);
            eprintln!("guidelines: index {}", config.index.display());
            match Engine::open(config) {
                Ok(engine) => engine,
                Err(e) => common::open_failed("Engine::open", &e),
            }
        }
        None => {
            let Some(engine) = common::open_engine_or_skip() else {
                return;
            };
            engine
        }
    };
    let lists = CodeLists::new(&engine.codes);
    let mut resolved = Vec::with_capacity(cases.len());
    for l in &cases {
        match resolve(l, &engine.codes, &lists) {
            Ok(patterns) => resolved.push(patterns),
            Err(p) => problems.extend(p),
        }
    }
    if !problems.is_empty() {
        fail_with(
            "the guideline suite's cases name codes the code sets lack or cannot report",
            &problems,
        );
    }

    let started = std::time::Instant::now();
    let outcomes: Vec<Outcome> = cases
        .par_iter()
        .zip(resolved.par_iter())
        .map(|(l, (must, must_not))| run_case(&engine, l, must, must_not, &known))
        .collect();
    eprintln!(
        "guidelines: {} cases in {:.2} s",
        outcomes.len(),
        started.elapsed().as_secs_f64()
    );
    println!("\n{}", table(&outcomes));
    if let Some(path) = std::env::var_os("GUIDELINES_REPORT").filter(|p| !p.is_empty()) {
        write_report(Path::new(&path), &outcomes);
    }

    let mut problems = known_problems;
    for o in outcomes.iter().filter(|_| other_index.is_none()) {
        match (o.pass, o.known) {
            (false, false) => problems.push(format!(
                "{} [{}] {}: fails: {}",
                o.file, o.id, o.section, o.reason
            )),
            (true, true) => problems.push(format!(
                "{} [{}]: passes now (fixed): remove it from known_failures.tsv",
                o.file, o.id
            )),
            _ => {}
        }
    }
    let known_fail_count = outcomes.iter().filter(|o| !o.pass && o.known).count();
    if known_fail_count > 0 {
        eprintln!("guidelines: {known_fail_count} known failures (known_failures.tsv)");
    }
    if only.is_none() {
        let ids: HashSet<&str> = outcomes.iter().map(|o| o.id.as_str()).collect();
        for id in known.keys().filter(|id| !ids.contains(id.as_str())) {
            problems.push(format!("known_failures.tsv lists {id}, which is no case"));
        }
        // The pass rate is reported against the target; the known-failure list,
        // not a rate, is what fails the test (every failure is listed with its reason, so
        // a regression or an unlisted failure fails at once).
        for kind in [Kind::Diagnoses, Kind::Procedures] {
            let mut t = Tally::default();
            for o in outcomes.iter().filter(|o| o.kind == kind) {
                t.add(o.pass);
            }
            if t.total > 0 {
                eprintln!(
                    "guidelines: {} pass rate {:.1}% ({}/{}); target {:.0}%{}",
                    kind.label(),
                    100.0 * t.rate(),
                    t.pass,
                    t.total,
                    100.0 * TARGET_PASS_RATE,
                    if t.rate() < TARGET_PASS_RATE {
                        " (not met)"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    if !problems.is_empty() {
        fail_with("guideline suite", &problems);
    }
}

fn run_case(
    engine: &Engine,
    l: &Loaded,
    must: &[Pattern],
    must_not: &[Pattern],
    known: &BTreeMap<String, String>,
) -> Outcome {
    let c = &l.case;
    let options = SuggestOptions {
        setting: c.setting,
        systems: c.systems.clone(),
        ..SuggestOptions::default()
    };
    let (reason, top) = match engine.suggest(Some(c.id.clone()), &c.note, &options) {
        Ok(coding) => {
            let system = l.kind.system();
            let top = coding
                .suggestions
                .iter()
                .filter(|s| s.system == system)
                .take(TOP)
                .map(|s| s.code.clone())
                .collect();
            (judge(&coding.suggestions, must, must_not), top)
        }
        Err(e) => (Some(format!("suggest failed: {e}")), Vec::new()),
    };
    Outcome {
        id: c.id.clone(),
        file: l.file.clone(),
        section: c.section.clone(),
        kind: l.kind,
        pass: reason.is_none(),
        reason: reason.unwrap_or_default(),
        known: known.contains_key(&c.id),
        top,
        why: c.why.clone(),
    }
}

#[test]
fn section_groups() {
    assert_eq!(section_group("I.C.9.a.2"), "I.C.9");
    assert_eq!(section_group("I.C.21.c.4"), "I.C.21");
    assert_eq!(section_group("I.A.15"), "I.A");
    assert_eq!(section_group("I.B.9"), "I.B");
    assert_eq!(section_group("IV.H"), "IV.H");
    assert_eq!(section_group("II.H"), "II.H");
    assert_eq!(section_group("B3.4a"), "B3.4");
    assert_eq!(section_group("B3.2"), "B3.2");
    assert_eq!(section_group("B4.1a"), "B4.1");
    assert_eq!(section_group("A2"), "A2");
}

#[test]
fn patterns_match_codes_and_prefixes() {
    let p = |text: &str, system| {
        let (code, prefix) = Pattern::split(text);
        Pattern {
            text: text.into(),
            code,
            prefix,
            system,
        }
    };
    let exact = p("E11.40", System::Icd10cm);
    assert!(exact.matches(System::Icd10cm, "E11.40"));
    assert!(!exact.matches(System::Icd10cm, "E11.401"));
    assert!(!exact.matches(System::Icd10pcs, "E1140"));
    let prefix = p("S52.5-", System::Icd10cm);
    assert!(prefix.matches(System::Icd10cm, "S52.501A"));
    assert!(!prefix.matches(System::Icd10cm, "S52.6"));
    let cat = p("Z80-", System::Icd10cm);
    assert!(cat.matches(System::Icd10cm, "Z80.0"));
    let dotted = p("R05.-", System::Icd10cm);
    assert!(dotted.matches(System::Icd10cm, "R05.1"));
    let pcs = p("0DT-", System::Icd10pcs);
    assert!(pcs.matches(System::Icd10pcs, "0DTJ4ZZ"));
    assert!(!pcs.matches(System::Icd10cm, "0DTJ4ZZ"));
}

#[test]
fn sections_sort_naturally() {
    let mut names = vec!["I.C.10", "I.C.9", "I.C.2", "IV.H", "I.B", "B3.11", "B3.2"];
    names.sort_by_key(|n| natural_key(n));
    assert_eq!(
        names,
        ["B3.2", "B3.11", "I.B", "I.C.2", "I.C.9", "I.C.10", "IV.H"]
    );
}

#[test]
fn kebab_ids() {
    assert!(is_kebab("dm-neuropathy"));
    assert!(is_kebab("copd-ae-2"));
    assert!(!is_kebab("DM-neuropathy"));
    assert!(!is_kebab("dm_neuropathy"));
    assert!(!is_kebab("-dm"));
    assert!(!is_kebab(""));
}
