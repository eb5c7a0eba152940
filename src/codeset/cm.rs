//! Parser of the CMS ICD-10-CM tabular list XML (`ICD10CM.tabular`).

use std::path::Path;

use super::{
    normalize_code, parse_code_refs, Code, CodeId, CodeKind, CodeSet, Note, SeventhCharacters,
    System,
};
use crate::error::Result;
use crate::xml::{clean_text, XmlEvent, XmlStream};

/// Which note list a `<note>` belongs to.
#[derive(Clone, Copy, PartialEq)]
enum NoteKind {
    InclusionTerm,
    Includes,
    Excludes1,
    Excludes2,
    CodeFirst,
    UseAdditional,
    CodeAlso,
}

fn note_kind(element: &str) -> Option<NoteKind> {
    Some(match element {
        "inclusionTerm" => NoteKind::InclusionTerm,
        "includes" => NoteKind::Includes,
        "excludes1" => NoteKind::Excludes1,
        "excludes2" => NoteKind::Excludes2,
        "codeFirst" => NoteKind::CodeFirst,
        "useAdditionalCode" => NoteKind::UseAdditional,
        "codeAlso" => NoteKind::CodeAlso,
        _ => return None,
    })
}

/// An element whose node is not created yet: its `<name>`/`<desc>` are still being read.
struct OpenNode {
    element: &'static str,
    id: Option<CodeId>,
    name: String,
    range: Option<String>,
}

/// Parses the tabular list into `set`, then expands 7th-character codes.
pub fn parse_tabular(path: &Path, set: &mut CodeSet) -> Result<()> {
    let mut xml = XmlStream::open(path)?;
    let mut open: Vec<OpenNode> = Vec::new();
    let mut elements: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut note_kind_now: Option<NoteKind> = None;
    let mut extensions: Vec<(char, String)> = Vec::new();
    let mut extension_char: Option<char> = None;
    let mut saw_root = false;

    loop {
        match xml.next()? {
            XmlEvent::Eof => break,
            XmlEvent::Start { name, attrs } => {
                text.clear();
                match name.as_str() {
                    "ICD10CM.tabular" => saw_root = true,
                    "chapter" | "section" | "diag" => {
                        let range = attrs
                            .iter()
                            .find(|(k, _)| k == "id")
                            .map(|(_, v)| v.clone());
                        let element = match name.as_str() {
                            "chapter" => "chapter",
                            "section" => "section",
                            _ => "diag",
                        };
                        open.push(OpenNode {
                            element,
                            id: None,
                            name: String::new(),
                            range,
                        });
                    }
                    "extension" => {
                        extension_char = attrs
                            .iter()
                            .find(|(k, _)| k == "char")
                            .and_then(|(_, v)| v.chars().next());
                    }
                    "sevenChrDef" => extensions.clear(),
                    other => {
                        if let Some(kind) = note_kind(other) {
                            note_kind_now = Some(kind);
                        }
                    }
                }
                elements.push(name);
            }
            XmlEvent::Text(t) => text.push_str(&t),
            XmlEvent::End { name } => {
                elements.pop();
                match name.as_str() {
                    "name" => {
                        if let Some(node) = open.last_mut() {
                            if node.id.is_none() {
                                node.name = clean_text(&text);
                            }
                        }
                    }
                    "desc" => {
                        let title = clean_text(&text);
                        let parent = open.iter().rev().skip(1).find_map(|n| n.id);
                        if let Some(node) = open.last_mut() {
                            if node.id.is_none() {
                                node.id = Some(create_node(set, node, title, parent, &xml)?);
                            }
                        }
                    }
                    "note" => {
                        if let Some(id) = open.last().and_then(|n| n.id) {
                            apply_seventh_restriction(set, id, &text);
                        }
                        if let (Some(kind), Some(id)) =
                            (note_kind_now, open.last().and_then(|n| n.id))
                        {
                            let text = clean_text(&text);
                            if !text.is_empty() {
                                add_note(set.get_mut(id), kind, text);
                            }
                        }
                    }
                    "extension" => {
                        if let Some(c) = extension_char.take() {
                            extensions.push((c, clean_text(&text)));
                        }
                    }
                    "sevenChrDef" => {
                        if let Some(id) = open.last().and_then(|n| n.id) {
                            let index = set.seventh.len() as u32;
                            set.seventh.push(SeventhCharacters {
                                defined_at: set.get(id).code.clone(),
                                extensions: std::mem::take(&mut extensions),
                                not_with_sixth: Vec::new(),
                            });
                            set_seventh_below(set, id, index);
                        }
                    }
                    "chapter" | "section" | "diag" => {
                        open.pop();
                    }
                    other => {
                        if note_kind(other).is_some() {
                            note_kind_now = None;
                        }
                    }
                }
                text.clear();
            }
        }
    }
    if !saw_root {
        return Err(xml.error("not an ICD-10-CM tabular list (no <ICD10CM.tabular> root)"));
    }
    expand_seventh_characters(set);
    Ok(())
}

fn create_node<R: std::io::BufRead>(
    set: &mut CodeSet,
    node: &OpenNode,
    title: String,
    parent: Option<CodeId>,
    xml: &XmlStream<R>,
) -> Result<CodeId> {
    let (code, kind, title) = match node.element {
        "chapter" => {
            // "Certain infectious and parasitic diseases (A00-B99)": the range is the key.
            let (title, range) = match (title.rfind('('), title.ends_with(')')) {
                (Some(open), true) => (
                    title[..open].trim().to_string(),
                    title[open + 1..title.len() - 1].to_string(),
                ),
                _ => (title.clone(), format!("CHAPTER-{}", node.name)),
            };
            (range, CodeKind::Chapter, title)
        }
        "section" => {
            let range = node
                .range
                .clone()
                .unwrap_or_else(|| format!("SECTION-{}", set.len()));
            (range, CodeKind::Block, title)
        }
        _ => {
            if node.name.is_empty() {
                return Err(xml.error("a <diag> without <name>"));
            }
            (normalize_code(&node.name), CodeKind::Code, title)
        }
    };
    let seventh = parent.and_then(|p| set.get(p).seventh);
    Ok(set.push(Code {
        code,
        system: System::Icd10cm,
        kind,
        title,
        parent,
        children: Vec::new(),
        billable: false,
        notes: None,
        seventh,
        axes: None,
    }))
}

fn add_note(code: &mut Code, kind: NoteKind, text: String) {
    let notes = code.notes.get_or_insert_with(Box::default);
    let with_refs = |text: String| Note {
        refs: parse_code_refs(&text),
        text,
    };
    match kind {
        NoteKind::InclusionTerm => notes.inclusion_terms.push(text),
        NoteKind::Includes => notes.includes.push(text),
        NoteKind::Excludes1 => notes.excludes1.push(with_refs(text)),
        NoteKind::Excludes2 => notes.excludes2.push(with_refs(text)),
        NoteKind::CodeFirst => notes.code_first.push(with_refs(text)),
        NoteKind::UseAdditional => notes.use_additional.push(with_refs(text)),
        NoteKind::CodeAlso => notes.code_also.push(with_refs(text)),
    }
    debug_assert!(!notes.is_empty());
}

/// A definition applies to the code that states it and everything below it (nearest wins).
/// Children normally inherit it at creation; any created earlier still carry the value
/// inherited from above, and only those are updated.
fn set_seventh_below(set: &mut CodeSet, id: CodeId, index: u32) {
    let inherited = set.get(id).seventh;
    let mut stack = vec![id];
    while let Some(current) = stack.pop() {
        let code = set.get_mut(current);
        if current != id && code.seventh != inherited {
            continue;
        }
        code.seventh = Some(index);
        stack.extend(set.get(current).children.iter().copied());
    }
}

/// Leaves that need a 7th character become non-billable and get one billable child per
/// extension: the code padded with the placeholder X to six characters, then the extension.
fn expand_seventh_characters(set: &mut CodeSet) {
    let leaves: Vec<CodeId> = set
        .iter()
        .filter(|(_, c)| {
            c.system == System::Icd10cm && c.kind == CodeKind::Code && c.children.is_empty()
        })
        .map(|(id, _)| id)
        .collect();
    for id in leaves {
        let Some(seventh) = set.get(id).seventh else {
            set.get_mut(id).billable = true;
            continue;
        };
        let base = {
            let mut base = set.get(id).code.clone();
            while base.len() < 6 {
                base.push('X');
            }
            base
        };
        let title = set.get(id).title.clone();
        let extensions: Vec<(char, String)> = set.seventh[seventh as usize]
            .valid_for(&base)
            .cloned()
            .collect();
        for (ch, meaning) in extensions {
            set.push(Code {
                code: format!("{base}{ch}"),
                system: System::Icd10cm,
                kind: CodeKind::SeventhCharacter,
                title: format!("{title}, {meaning}"),
                parent: Some(id),
                children: Vec::new(),
                billable: true,
                notes: None,
                seventh: None,
                axes: None,
            });
        }
    }
}

/// "7th characters D and S do not apply to codes in category S06 with 6th character 7 - ...,
/// or 8 - ..." restricts the extensions of the definition in force at `id`.
fn apply_seventh_restriction(set: &mut CodeSet, id: CodeId, note: &str) {
    use std::sync::LazyLock;
    static RULE: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"7th characters? ((?:[A-Z](?:,| and| or)?\s*)+)do(?:es)? not apply to codes in (?:sub)?category \S+ with 6th character (\d)(?:.*?,? or (\d))?")
            .expect("valid regex")
    });
    let Some(seventh) = set.get(id).seventh else {
        return;
    };
    let Some(caps) = RULE.captures(note) else {
        return;
    };
    let excluded: Vec<char> = caps[1].chars().filter(|c| c.is_ascii_uppercase()).collect();
    let sixths = [caps.get(2), caps.get(3)];
    let definition = &mut set.seventh[seventh as usize];
    for sixth in sixths
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str().chars().next())
    {
        definition.not_with_sixth.push((sixth, excluded.clone()));
    }
}
