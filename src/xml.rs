//! A thin streaming layer over quick-xml shared by the tabular-list and Alphabetic Index
//! parsers: element starts/ends and text with entity references already resolved.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::error::{Error, Result};

pub(crate) enum XmlEvent {
    Start {
        name: String,
        attrs: Vec<(String, String)>,
    },
    End {
        name: String,
    },
    Text(String),
    Eof,
}

pub(crate) struct XmlStream<R: BufRead> {
    reader: Reader<R>,
    buf: Vec<u8>,
    path: PathBuf,
    /// A self-closing element yields Start then End; the End waits here.
    pending_end: Option<String>,
}

impl XmlStream<std::io::BufReader<std::fs::File>> {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        Ok(XmlStream::new(
            std::io::BufReader::with_capacity(1 << 16, file),
            path,
        ))
    }
}

impl<R: BufRead> XmlStream<R> {
    pub(crate) fn new(reader: R, path: &Path) -> Self {
        XmlStream {
            reader: Reader::from_reader(reader),
            buf: Vec::with_capacity(4096),
            path: path.to_path_buf(),
            pending_end: None,
        }
    }

    pub(crate) fn error(&self, reason: impl std::fmt::Display) -> Error {
        Error::parse(
            &self.path,
            format!("{reason} (near byte {})", self.reader.buffer_position()),
        )
    }

    pub(crate) fn next(&mut self) -> Result<XmlEvent> {
        if let Some(name) = self.pending_end.take() {
            return Ok(XmlEvent::End { name });
        }
        loop {
            self.buf.clear();
            let event = match self.reader.read_event_into(&mut self.buf) {
                Ok(event) => event,
                Err(e) => return Err(self.error(e)),
            };
            let is_empty = matches!(event, Event::Empty(_));
            let out = match event {
                Event::Start(e) | Event::Empty(e) => {
                    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                    let mut attrs = Vec::new();
                    for attr in e.attributes().flatten() {
                        let key =
                            String::from_utf8_lossy(attr.key.local_name().as_ref()).into_owned();
                        let value = attr
                            .unescape_value()
                            .map(|v| v.into_owned())
                            .unwrap_or_else(|_| String::from_utf8_lossy(&attr.value).into_owned());
                        attrs.push((key, value));
                    }
                    if is_empty {
                        self.pending_end = Some(name.clone());
                    }
                    XmlEvent::Start { name, attrs }
                }
                Event::End(e) => XmlEvent::End {
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                },
                Event::Text(t) => match t.decode() {
                    Ok(text) => XmlEvent::Text(text.into_owned()),
                    Err(e) => {
                        let reason = e.to_string();
                        return Err(self.error(reason));
                    }
                },
                Event::CData(t) => XmlEvent::Text(String::from_utf8_lossy(&t).into_owned()),
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => match r.as_ref() {
                            b"lt" => "<".into(),
                            b"gt" => ">".into(),
                            b"amp" => "&".into(),
                            b"apos" => "'".into(),
                            b"quot" => "\"".into(),
                            other => format!("&{};", String::from_utf8_lossy(other)),
                        },
                    };
                    XmlEvent::Text(resolved)
                }
                Event::Eof => XmlEvent::Eof,
                _ => continue,
            };
            return Ok(out);
        }
    }
}

/// Collapses runs of white space (the XML is pretty-printed) and trims.
pub(crate) fn clean_text(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
