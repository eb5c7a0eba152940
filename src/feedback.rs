//! Coders' decisions on suggestions: an append-only audit trail (who decided what, when).
//! The store sits behind a trait; SQLite (WAL) is the embedded default.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::codeset::CodeSet;
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Accept,
    Reject,
    Add,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Accept => "accept",
            Decision::Reject => "reject",
            Decision::Add => "add",
        }
    }
    fn parse(s: &str) -> Option<Decision> {
        match s {
            "accept" => Some(Decision::Accept),
            "reject" => Some(Decision::Reject),
            "add" => Some(Decision::Add),
            _ => None,
        }
    }
}

/// A decision as submitted.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct NewFeedback {
    pub document_id: String,
    /// As the coder wrote it; stored dotted as the code sets render it.
    pub code: String,
    pub decision: Decision,
    /// Evidence spans the decision refers to (`[{"start","end"}]`), kept as given.
    #[serde(default)]
    pub evidence: serde_json::Value,
    pub coder: String,
}

/// A stored decision.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FeedbackRecord {
    pub id: i64,
    pub document_id: String,
    pub code: String,
    pub decision: Decision,
    pub evidence: serde_json::Value,
    pub coder: String,
    /// RFC 3339, UTC.
    pub at: String,
}

/// Longest accepted document id, code or coder name.
const MAX_FIELD: usize = 256;

/// Checks a decision against the code sets: the code must exist, fields must be present.
pub fn validate(feedback: &NewFeedback, codes: &CodeSet) -> Result<NewFeedback> {
    for (name, value) in [
        ("document_id", &feedback.document_id),
        ("coder", &feedback.coder),
        ("code", &feedback.code),
    ] {
        if value.trim().is_empty() {
            return Err(Error::InvalidInput(format!("`{name}` is empty")));
        }
        if value.chars().count() > MAX_FIELD {
            return Err(Error::InvalidInput(format!(
                "`{name}` is longer than {MAX_FIELD} characters"
            )));
        }
    }
    let id = codes
        .find(&feedback.code)
        .ok_or_else(|| Error::UnknownCode(feedback.code.trim().to_string()))?;
    Ok(NewFeedback {
        code: codes.get(id).display(),
        ..feedback.clone()
    })
}

pub trait FeedbackStore: Send + Sync {
    /// Appends a decision; records are never updated or deleted.
    fn append(&self, feedback: &NewFeedback) -> Result<FeedbackRecord>;
    /// Every decision on a document, oldest first.
    fn history(&self, document_id: &str) -> Result<Vec<FeedbackRecord>>;
}

/// SQLite in WAL mode: durable on commit, readers never block the writer.
pub struct SqliteFeedbackStore {
    path: PathBuf,
    conn: Mutex<rusqlite::Connection>,
}

impl SqliteFeedbackStore {
    pub fn open(path: &Path) -> Result<SqliteFeedbackStore> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let fail =
            |e: rusqlite::Error| Error::Command(format!("feedback store {}: {e}", path.display()));
        let conn = rusqlite::Connection::open(path).map_err(fail)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(fail)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS feedback (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                document_id TEXT NOT NULL,
                code TEXT NOT NULL,
                decision TEXT NOT NULL CHECK (decision IN ('accept','reject','add')),
                evidence TEXT NOT NULL,
                coder TEXT NOT NULL,
                at_ms INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS feedback_document ON feedback(document_id, id);
            CREATE TRIGGER IF NOT EXISTS feedback_no_update BEFORE UPDATE ON feedback
                BEGIN SELECT RAISE(ABORT, 'feedback is append-only'); END;
            CREATE TRIGGER IF NOT EXISTS feedback_no_delete BEFORE DELETE ON feedback
                BEGIN SELECT RAISE(ABORT, 'feedback is append-only'); END;",
        )
        .map_err(fail)?;
        Ok(SqliteFeedbackStore {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    fn fail(&self, e: rusqlite::Error) -> Error {
        Error::Command(format!("feedback store {}: {e}", self.path.display()))
    }
}

impl FeedbackStore for SqliteFeedbackStore {
    fn append(&self, feedback: &NewFeedback) -> Result<FeedbackRecord> {
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let evidence = serde_json::to_string(&feedback.evidence).unwrap_or_else(|_| "null".into());
        let conn = self
            .conn
            .lock()
            .map_err(|_| Error::Command("feedback store lock poisoned".into()))?;
        conn.execute(
            "INSERT INTO feedback (document_id, code, decision, evidence, coder, at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![
                feedback.document_id,
                feedback.code,
                feedback.decision.as_str(),
                evidence,
                feedback.coder,
                at_ms
            ],
        )
        .map_err(|e| self.fail(e))?;
        Ok(FeedbackRecord {
            id: conn.last_insert_rowid(),
            document_id: feedback.document_id.clone(),
            code: feedback.code.clone(),
            decision: feedback.decision,
            evidence: feedback.evidence.clone(),
            coder: feedback.coder.clone(),
            at: rfc3339(at_ms),
        })
    }

    fn history(&self, document_id: &str) -> Result<Vec<FeedbackRecord>> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| Error::Command("feedback store lock poisoned".into()))?;
        let mut stmt = conn
            .prepare("SELECT id, document_id, code, decision, evidence, coder, at_ms FROM feedback WHERE document_id = ?1 ORDER BY id")
            .map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map([document_id], |row| {
                let decision: String = row.get(3)?;
                let evidence: String = row.get(4)?;
                Ok(FeedbackRecord {
                    id: row.get(0)?,
                    document_id: row.get(1)?,
                    code: row.get(2)?,
                    decision: Decision::parse(&decision).unwrap_or(Decision::Add),
                    evidence: serde_json::from_str(&evidence).unwrap_or(serde_json::Value::Null),
                    coder: row.get(5)?,
                    at: rfc3339(row.get(6)?),
                })
            })
            .map_err(|e| self.fail(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.fail(e))
    }
}

/// Milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (civil-from-days, proleptic
/// Gregorian), so no date crate is needed for one format.
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_render_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_764_078_330_123), "2025-11-25T13:45:30.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn store_is_append_only_and_durable_across_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("feedback.sqlite");
        let record = NewFeedback {
            document_id: "doc-1".into(),
            code: "E11.9".into(),
            decision: Decision::Accept,
            evidence: serde_json::json!([{"start": 0, "end": 8}]),
            coder: "ana".into(),
        };
        {
            let store = SqliteFeedbackStore::open(&path).expect("open");
            store.append(&record).expect("append");
            store
                .append(&NewFeedback {
                    decision: Decision::Reject,
                    ..record.clone()
                })
                .expect("append");
        }
        let store = SqliteFeedbackStore::open(&path).expect("reopen");
        let history = store.history("doc-1").expect("history");
        assert_eq!(history.len(), 2);
        assert_eq!(history[0].decision, Decision::Accept);
        assert_eq!(history[1].decision, Decision::Reject);
        assert!(history[0].id < history[1].id);
        assert_eq!(
            history[0].evidence,
            serde_json::json!([{"start": 0, "end": 8}])
        );
        assert!(store.history("other").expect("history").is_empty());
        let conn = rusqlite::Connection::open(&path).expect("raw");
        assert!(conn.execute("DELETE FROM feedback", []).is_err());
        assert!(conn.execute("UPDATE feedback SET coder = 'x'", []).is_err());
    }
}
