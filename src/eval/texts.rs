//! Loading the plain-text documents of a CodiEsp split.

use std::ffi::OsStr;
use std::path::Path;

use super::error::EvalError;

/// Reads every `*.txt` file of `dir` (not recursive) as `(id, text)`, where the id is the file
/// stem, sorted by id.
///
/// Texts are returned byte for byte (no BOM or line-ending clean-up) because gold evidence
/// spans are offsets into them. A file that is not UTF-8 is an error naming that file.
pub fn load_texts(dir: &Path) -> Result<Vec<(String, String)>, EvalError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(EvalError::io(dir))? {
        let path = entry.map_err(EvalError::io(dir))?.path();
        // `is_file` follows symlinks, so linked corpora work; directories named *.txt do not.
        if path.extension() != Some(OsStr::new("txt")) || !path.is_file() {
            continue;
        }
        let Some(id) = path.file_stem().and_then(OsStr::to_str) else {
            return Err(EvalError::NonUtf8FileName { path });
        };
        let id = id.to_owned();
        let bytes = std::fs::read(&path).map_err(EvalError::io(&path))?;
        let text = String::from_utf8(bytes).map_err(|e| EvalError::InvalidUtf8 {
            offset: e.utf8_error().valid_up_to(),
            path,
        })?;
        out.push((id, text));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sorted_txt_files_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files: [(&str, &[u8]); 4] = [
            ("b.txt", b"second\r\n"),
            ("a.txt", "\u{feff}first é".as_bytes()),
            ("notes.md", b"ignored"),
            ("c.TXT", b"ignored too"),
        ];
        for (name, content) in files {
            std::fs::write(dir.path().join(name), content).expect("write");
        }
        std::fs::create_dir(dir.path().join("d.txt")).expect("mkdir");
        let texts = load_texts(dir.path()).expect("load");
        assert_eq!(
            texts,
            [
                ("a".to_owned(), "\u{feff}first é".to_owned()),
                ("b".to_owned(), "second\r\n".to_owned()),
            ]
        );
    }

    #[test]
    fn invalid_utf8_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ok.txt"), b"fine").expect("write");
        std::fs::write(dir.path().join("bad.txt"), b"caf\xe9").expect("write");
        let err = load_texts(dir.path()).unwrap_err();
        assert!(
            matches!(&err, EvalError::InvalidUtf8 { path, offset: 3 } if path.ends_with("bad.txt")),
            "{err:?}"
        );
        assert!(err.to_string().contains("bad.txt"));
        assert!(load_texts(&dir.path().join("absent")).is_err());
    }
}
