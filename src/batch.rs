//! Bulk coding: notes from a JSONL file (`{"id","text"}` lines) or a folder of `.txt` files,
//! coded on all cores, written as JSONL in input order, resumable (ids already in the output
//! are skipped), one bad document reported and skipped without stopping the run.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;

use crate::coding::SuggestOptions;
use crate::engine::Engine;
use crate::error::{Error, Result};

/// Documents coded between two writes of the output (bounds memory and lost work).
const CHUNK: usize = 256;

#[derive(Clone, Debug, Default)]
pub struct BatchOptions {
    pub suggest: SuggestOptions,
    pub progress: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct BatchReport {
    pub coded: usize,
    pub failed: usize,
    pub skipped_already_done: usize,
    pub seconds: f64,
    pub notes_per_second: f64,
}

/// A document to code, or the reason it cannot be read.
enum Document {
    Note { id: String, text: String },
    Unreadable { id: String, error: Error },
}

impl Document {
    fn id(&self) -> &str {
        match self {
            Document::Note { id, .. } | Document::Unreadable { id, .. } => id,
        }
    }
}

pub fn run_batch(
    engine: &Engine,
    input: &Path,
    output: &Path,
    options: &BatchOptions,
) -> Result<BatchReport> {
    // The bounds of every surface (`crate::options`), before any file is touched.
    options.suggest.validate()?;
    let started = Instant::now();
    let done = completed_ids(output)?;
    let documents = read_documents(input)?;
    let total = documents.len();
    let todo: Vec<Document> = documents
        .into_iter()
        .filter(|d| !done.contains(d.id()))
        .collect();
    let skipped = total - todo.len();
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(output)
        .map_err(|e| Error::io(output, e))?;
    let mut out = BufWriter::new(file);
    let bar = if options.progress {
        let bar = ProgressBar::new(todo.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} coding {pos}/{len} notes [{bar:40}] {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let (mut coded, mut failed) = (0usize, 0usize);
    for chunk in todo.chunks(CHUNK) {
        let lines: Vec<(String, bool)> = chunk
            .par_iter()
            .map(|doc| {
                let result = match doc {
                    Document::Note { id, text } => engine.suggest(Some(id.clone()), text, &options.suggest),
                    Document::Unreadable { error, .. } => Err(error.clone_kind()),
                };
                match result {
                    Ok(coding) => (serde_json::to_string(&coding).unwrap_or_default(), true),
                    Err(e) => {
                        // The id and the reason only: note text is patient data.
                        tracing::warn!(id = doc.id(), code = e.code(), "document skipped: {e}");
                        let line = serde_json::json!({"id": doc.id(), "error": {"code": e.code(), "message": e.to_string()}});
                        (line.to_string(), false)
                    }
                }
            })
            .collect();
        for (line, ok) in lines {
            writeln!(out, "{line}").map_err(|e| Error::io(output, e))?;
            if ok {
                coded += 1;
            } else {
                failed += 1;
            }
        }
        out.flush().map_err(|e| Error::io(output, e))?;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    Ok(BatchReport {
        coded,
        failed,
        skipped_already_done: skipped,
        seconds,
        notes_per_second: if seconds > 0.0 {
            (coded + failed) as f64 / seconds
        } else {
            0.0
        },
    })
}

/// Ids of the complete lines already in `output`. A torn last line (an interrupted run) is
/// cut off so the file stays valid JSONL.
fn completed_ids(output: &Path) -> Result<HashSet<String>> {
    let mut ids = HashSet::new();
    let Ok(file) = File::open(output) else {
        return Ok(ids);
    };
    let mut reader = BufReader::new(file);
    let mut valid_len = 0u64;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io(output, e))?;
        if n == 0 {
            break;
        }
        let parsed = serde_json::from_slice::<serde_json::Value>(&line).ok();
        match parsed
            .as_ref()
            .and_then(|v| v.get("id"))
            .and_then(id_string)
        {
            Some(id) if line.ends_with(b"\n") => {
                ids.insert(id);
                valid_len += n as u64;
            }
            _ => break,
        }
    }
    let len = std::fs::metadata(output)
        .map_err(|e| Error::io(output, e))?
        .len();
    if valid_len < len {
        let file = OpenOptions::new()
            .write(true)
            .open(output)
            .map_err(|e| Error::io(output, e))?;
        file.set_len(valid_len).map_err(|e| Error::io(output, e))?;
    }
    Ok(ids)
}

fn id_string(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// All documents of a JSONL file or a folder of `.txt` files, in a stable order.
fn read_documents(input: &Path) -> Result<Vec<Document>> {
    if input.is_dir() {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(input)
            .map_err(|e| Error::io(input, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect();
        paths.sort();
        return Ok(paths
            .into_iter()
            .map(|p| {
                let id = p
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                match std::fs::read(&p) {
                    Ok(bytes) => match String::from_utf8(bytes) {
                        Ok(text) => Document::Note { id, text },
                        Err(e) => Document::Unreadable {
                            id,
                            error: Error::InvalidInput(format!(
                                "{}: invalid UTF-8 at byte {}",
                                p.display(),
                                e.utf8_error().valid_up_to()
                            )),
                        },
                    },
                    Err(e) => Document::Unreadable {
                        id,
                        error: Error::io(&p, e),
                    },
                }
            })
            .collect());
    }
    let file = File::open(input).map_err(|e| Error::io(input, e))?;
    let mut reader = BufReader::new(file);
    let mut docs = Vec::new();
    let mut raw = Vec::new();
    let mut line_no = 0usize;
    loop {
        raw.clear();
        let n = reader
            .read_until(b'\n', &mut raw)
            .map_err(|e| Error::io(input, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        docs.push(parse_line(&raw, line_no));
    }
    Ok(docs)
}

fn parse_line(raw: &[u8], line_no: usize) -> Document {
    let fallback_id = format!("line:{line_no}");
    let text = match std::str::from_utf8(raw) {
        Ok(t) => t,
        Err(e) => {
            return Document::Unreadable {
                id: fallback_id,
                error: Error::InvalidInput(format!(
                    "line {line_no}: invalid UTF-8 at byte {}",
                    e.valid_up_to()
                )),
            }
        }
    };
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return Document::Unreadable {
                id: fallback_id,
                error: Error::InvalidInput(format!("line {line_no}: malformed JSON ({e})")),
            }
        }
    };
    let id = value.get("id").and_then(id_string).unwrap_or(fallback_id);
    match value.get("text").and_then(|t| t.as_str()) {
        Some(t) => Document::Note {
            id,
            text: t.to_string(),
        },
        None => Document::Unreadable {
            id,
            error: Error::InvalidInput(format!("line {line_no}: no string field \"text\"")),
        },
    }
}
