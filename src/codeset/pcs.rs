//! ICD-10-PCS: the code titles (CSV) and per-axis meanings (the tables, SQLite).

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Code, CodeKind, CodeSet, System};
use crate::error::{Error, Result};

/// One of the seven characters of a PCS code and what it means there.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PcsAxis {
    pub axis: &'static str,
    pub value: char,
    /// Absent where the tables shipped do not describe that section.
    pub meaning: Option<String>,
}

/// Axis names of the Medical and Surgical section, the layout most sections share.
const AXES: [&str; 7] = [
    "section",
    "body_system",
    "root_operation",
    "body_part",
    "approach",
    "device",
    "qualifier",
];

/// Section titles (first character), from the ICD-10-PCS tables.
fn section_title(c: char) -> Option<&'static str> {
    Some(match c {
        '0' => "Medical and Surgical",
        '1' => "Obstetrics",
        '2' => "Placement",
        '3' => "Administration",
        '4' => "Measurement and Monitoring",
        '5' => "Extracorporeal or Systemic Assistance and Performance",
        '6' => "Extracorporeal or Systemic Therapies",
        '7' => "Osteopathic",
        '8' => "Other Procedures",
        '9' => "Chiropractic",
        'B' => "Imaging",
        'C' => "Nuclear Medicine",
        'D' => "Radiation Therapy",
        'F' => "Physical Rehabilitation and Diagnostic Audiology",
        'G' => "Mental Health",
        'H' => "Substance Abuse Treatment",
        'X' => "New Technology",
        _ => return None,
    })
}

/// Loads every PCS code from the CSV (`"code","long title"`), with axis meanings from the
/// tables database where it describes the code.
pub fn load_pcs(codes_csv: &Path, tables_db: Option<&Path>, set: &mut CodeSet) -> Result<()> {
    let axes = match tables_db {
        Some(db) => read_axis_meanings(db)?,
        None => HashMap::new(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(codes_csv)
        .map_err(|e| Error::parse(codes_csv, e.to_string()))?;
    for (line, record) in reader.records().enumerate() {
        let record =
            record.map_err(|e| Error::parse(codes_csv, format!("line {}: {e}", line + 1)))?;
        let (Some(code), Some(title)) = (record.get(0), record.get(1)) else {
            return Err(Error::parse(
                codes_csv,
                format!("line {}: expected code,title", line + 1),
            ));
        };
        let code = code.trim().to_ascii_uppercase();
        if code.len() != 7 || !code.is_ascii() {
            return Err(Error::parse(
                codes_csv,
                format!("line {}: `{code}` is not a 7-character PCS code", line + 1),
            ));
        }
        let meanings = axes.get(&code);
        let chars: Vec<char> = code.chars().collect();
        let axes: [PcsAxis; 7] = std::array::from_fn(|i| PcsAxis {
            axis: AXES[i],
            value: chars[i],
            meaning: match (i, meanings) {
                (0, _) => section_title(chars[0]).map(str::to_string),
                (_, Some(m)) => m[i].clone(),
                _ => None,
            },
        });
        set.push(Code {
            code,
            system: System::Icd10pcs,
            kind: CodeKind::Procedure,
            title: title.trim().to_string(),
            parent: None,
            children: Vec::new(),
            billable: true,
            notes: None,
            seventh: None,
            axes: Some(Box::new(axes)),
        });
    }
    Ok(())
}

type AxisMeanings = [Option<String>; 7];

fn read_axis_meanings(db: &Path) -> Result<HashMap<String, AxisMeanings>> {
    let fail = |e: rusqlite::Error| Error::parse(db, e.to_string());
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(fail)?;
    let mut stmt = conn
        .prepare(
            "SELECT code, sec_def, bs_def, ro_def, bp_def, ap_def, dv_def, qu_def FROM pcs_tree",
        )
        .map_err(fail)?;
    let rows = stmt
        .query_map([], |row| {
            let code: String = row.get(0)?;
            let mut meanings: AxisMeanings = Default::default();
            for (i, slot) in meanings.iter_mut().enumerate() {
                *slot = row.get::<_, Option<String>>(i + 1)?;
            }
            // "Bypass: Altering the route..." -> the value's name; the definition is for docs.
            if let Some(ro) = meanings[2].as_mut() {
                if let Some((name, _)) = ro.split_once(':') {
                    *ro = name.trim().to_string();
                }
            }
            Ok((code, meanings))
        })
        .map_err(fail)?;
    rows.collect::<std::result::Result<HashMap<_, _>, _>>()
        .map_err(fail)
}
