//! I.C.13.d.2: a fracture in a patient with osteoporosis is one code of category M80 (the
//! osteoporosis's type, the fracture's site and side, the encounter), not the osteoporosis
//! code "without current pathological fracture" beside a traumatic or pathological fracture
//! code. The types, sites and the injuries that keep a fracture traumatic are data
//! (`data/osteoporotic_fractures.tsv`).

use super::{
    patterns, phrase_at, rows, rule, sentence_words, sides_stated, Addition, CodePattern, Finding,
    Verdict,
};
use crate::codeset::{CodeId, CodeKind, CodeSet};
use crate::text::Note;

const OSTEOPOROTIC_FRACTURES: &str = include_str!("data/osteoporotic_fractures.tsv");

const SECTION: &str = "I.C.13.d.2";

#[derive(Clone, Debug, Default)]
pub(super) struct OsteoporoticFractures {
    /// (osteoporosis codes, the M80 subcategory of their fractures: "M800").
    types: Vec<(Vec<CodePattern>, String)>,
    /// (fracture codes, the M80 site character).
    sites: Vec<(Vec<CodePattern>, char)>,
    /// Words of an injury that breaks a healthy bone.
    trauma: Vec<Vec<String>>,
}

impl OsteoporoticFractures {
    pub(super) fn new() -> OsteoporoticFractures {
        let mut out = OsteoporoticFractures::default();
        for row in rows(OSTEOPOROTIC_FRACTURES) {
            match row.as_slice() {
                ["type", codes, m80, ..] => out
                    .types
                    .push((patterns(codes), m80.replace('.', "").to_uppercase())),
                ["site", codes, site, ..] => {
                    if let Some(site) = site.chars().next() {
                        out.sites.push((patterns(codes), site));
                    }
                }
                ["trauma", words, ..] => out.trauma.extend(
                    words
                        .split('|')
                        .map(|p| p.split_whitespace().map(str::to_lowercase).collect())
                        .filter(|p: &Vec<String>| !p.is_empty()),
                ),
                _ => {}
            }
        }
        out
    }

    fn says_trauma(&self, note: &Note) -> bool {
        (0..note.sentences.len()).any(|s| {
            let words = sentence_words(note, s);
            self.trauma.iter().any(|p| phrase_at(&words, p).is_some())
        })
    }

    /// Adds the M80 code of each fracture of an osteoporosis patient and drops the
    /// osteoporosis and fracture codes it stands for. `usable[i]`: finding `i` is
    /// established and still stands.
    pub(super) fn apply(
        &self,
        codes: &CodeSet,
        note: &Note,
        findings: &[Finding],
        usable: &[bool],
        verdict: &mut Verdict,
    ) {
        let Some((osteoporosis, subcategory)) = findings.iter().enumerate().find_map(|(i, f)| {
            let (_, m80) = self
                .types
                .iter()
                .find(|(p, _)| p.iter().any(|p| p.matches(codes, f.code)))?;
            (usable[i] && f.stated()).then_some((i, m80.as_str()))
        }) else {
            return;
        };
        if self.says_trauma(note) {
            return;
        }
        let site_of = |f: &Finding| {
            self.sites
                .iter()
                .find(|(p, _)| p.iter().any(|p| p.matches(codes, f.code)))
                .map(|(_, site)| *site)
        };
        let fractures: Vec<(usize, char)> = findings
            .iter()
            .enumerate()
            .filter(|&(i, f)| i != osteoporosis && usable[i] && f.stated())
            .filter_map(|(i, f)| Some((i, site_of(f)?)))
            .collect();
        // A reading inside a longer fracture's words ("fracture of ... neck" of "fracture of
        // right femoral neck") is no fracture of its own.
        let inside_another = |i: usize| {
            fractures.iter().any(|&(j, _)| {
                j != i
                    && findings[i].terms.iter().all(|t| {
                        findings[j]
                            .terms
                            .iter()
                            .any(|s| t.within(s) && s.tokens.len() > t.tokens.len())
                    })
            })
        };
        let note_lower = note.text.to_lowercase();
        let mut added: Vec<(CodeId, Vec<usize>)> = Vec::new();
        for &(i, site) in &fractures {
            if inside_another(i) {
                continue;
            }
            let f = &findings[i];
            let Some(code) = m80_code(codes, &format!("{subcategory}{site}"), note, f, &note_lower)
            else {
                continue;
            };
            match added.iter_mut().find(|(c, _)| *c == code) {
                Some((_, from)) => from.push(i),
                None => added.push((code, vec![i])),
            }
        }
        let Some(&(first, _)) = added.first() else {
            return;
        };
        // Every fracture reading goes, those inside another's words too, and with them a
        // side the laterality rule gave them.
        let all: Vec<usize> = fractures.iter().map(|&(i, _)| i).collect();
        verdict
            .added
            .retain(|a| !(a.rule.kind == "laterality" && a.from.iter().any(|j| all.contains(j))));
        let dropped_for = |code: CodeId| {
            let m80 = codes.get(code);
            rule(
                "osteoporotic_fracture",
                SECTION,
                format!(
                    "a fracture in osteoporosis is {} {} (category M80, not a traumatic \
                     fracture code)",
                    m80.display(),
                    m80.title
                ),
                vec![m80.display()],
            )
        };
        // An M80 code read with its site already ("fracture of right femoral neck due to
        // age-related osteoporosis") stays: it is a fracture coded right.
        let osteoporosis_coded = {
            let code = codes.get(findings[osteoporosis].code);
            code.code.starts_with("M80") && !code.title.contains("unspecified site")
        };
        let type_finding = (!osteoporosis_coded).then_some(&osteoporosis);
        for &i in type_finding.into_iter().chain(&all) {
            let code = added
                .iter()
                .find(|(_, from)| from.contains(&i))
                .map_or(first, |(c, _)| *c);
            verdict.dropped[i] = Some(dropped_for(code));
        }
        for (code, from) in added {
            let parts: Vec<String> = std::iter::once(osteoporosis)
                .chain(from.iter().copied())
                .map(|i| codes.get(findings[i].code).display())
                .collect();
            verdict.added.push(Addition {
                code,
                from: std::iter::once(osteoporosis).chain(from).collect(),
                said: Vec::new(),
                rule: rule(
                    "osteoporotic_fracture",
                    SECTION,
                    format!(
                        "{} with the fracture {}: a fracture in a patient with osteoporosis \
                         is coded to M80 by its site, side and encounter",
                        parts[0],
                        parts[1..].join(", ")
                    ),
                    parts,
                ),
            });
        }
    }
}

/// The billable M80 code of `subcategory` ("M8005") for the side `fracture` states (its
/// own title's, else the words around it) and the encounter the note states.
fn m80_code(
    codes: &CodeSet,
    subcategory: &str,
    note: &Note,
    fracture: &Finding,
    note_lower: &str,
) -> Option<CodeId> {
    let sub = codes.find(subcategory)?;
    let children = &codes.get(sub).children;
    let base = if children
        .first()
        .is_some_and(|&c| codes.get(c).kind == CodeKind::SeventhCharacter)
    {
        sub
    } else {
        let side = ["right", "left"]
            .into_iter()
            .find(|s| title_names(&codes.get(fracture.code).title, s))
            .or_else(|| match sides_stated(note, fracture).as_slice() {
                [side] => Some(*side),
                _ => None,
            })
            .unwrap_or("unspecified");
        children
            .iter()
            .copied()
            .find(|&c| title_names(&codes.get(c).title, side))?
    };
    if codes.get(base).billable {
        return Some(base);
    }
    crate::rules::seventh_character_for(codes, base, note_lower).map(|(code, _)| code)
}

/// Does `title` have `word` as a whole word (case aside)?
fn title_names(title: &str, word: &str) -> bool {
    title
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case(word))
}
