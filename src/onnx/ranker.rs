//! The learned ranker as an ONNX file run by ONNX Runtime: one call scores all of a note's
//! candidates. Generic over the feature vector; the file's metadata says how many features
//! (and which) it was trained on, and loading checks them against what the caller computes.

use std::collections::BTreeMap;
use std::path::Path;

use ort::value::{TensorElementType, TensorRef};

use crate::error::{Error, Result};
use crate::onnx::mlp::{INPUT, META_FEATURE_COUNT, META_FEATURE_NAMES, OUTPUT};
use crate::onnx::runtime::SessionPool;

pub struct OnnxRanker {
    pool: SessionPool,
    features: usize,
    feature_names: Vec<String>,
    metadata: BTreeMap<String, String>,
}

impl OnnxRanker {
    /// Opens a ranker file as `workers` sessions of the runtime at `library`. With
    /// `expected_features`, the file must record exactly these feature names, in order.
    pub fn open(
        library: &Path,
        model: &Path,
        workers: usize,
        expected_features: Option<&[&str]>,
    ) -> Result<OnnxRanker> {
        let pool = SessionPool::open(library, model, workers)?;
        OnnxRanker::from_pool(pool, expected_features)
    }

    /// As [`OnnxRanker::open`], for a model in memory; `name` stands for it in errors.
    pub fn from_memory(
        library: &Path,
        name: &Path,
        bytes: &[u8],
        workers: usize,
        expected_features: Option<&[&str]>,
    ) -> Result<OnnxRanker> {
        let pool = SessionPool::from_memory(library, name, bytes, workers)?;
        OnnxRanker::from_pool(pool, expected_features)
    }

    fn from_pool(pool: SessionPool, expected: Option<&[&str]>) -> Result<OnnxRanker> {
        let path = pool.path().to_path_buf();
        // `Error::Model` itself says how to rebuild the ranker (`chartcoder train`).
        let wrong = |reason: String| Error::Model {
            path: path.clone(),
            reason,
        };
        pool.expect_io(&[INPUT], &[OUTPUT])?;
        let metadata = pool.custom_metadata()?;
        let features: usize = match metadata.get(META_FEATURE_COUNT) {
            Some(count) => count.trim().parse().map_err(|_| {
                wrong(format!(
                    "its `{META_FEATURE_COUNT}` metadata `{count}` is not a count"
                ))
            })?,
            None => {
                return Err(wrong(format!(
                    "no `{META_FEATURE_COUNT}` metadata: not a ranker written by chartcoder"
                )))
            }
        };
        if features == 0 {
            return Err(wrong("it records zero features".into()));
        }
        let feature_names: Vec<String> = match metadata.get(META_FEATURE_NAMES) {
            Some(json) => serde_json::from_str(json).map_err(|e| {
                wrong(format!(
                    "its `{META_FEATURE_NAMES}` metadata is unreadable: {e}"
                ))
            })?,
            None => Vec::new(),
        };
        if !feature_names.is_empty() && feature_names.len() != features {
            return Err(wrong(format!(
                "it names {} features but records {features}",
                feature_names.len()
            )));
        }
        // The graph's own shapes must agree with the metadata.
        let shapes = pool.inspect(|session| {
            let shape = |outlets: &[ort::value::Outlet], name: &str| {
                outlets.iter().find(|o| o.name() == name).map(|o| {
                    (
                        o.dtype().tensor_type(),
                        o.dtype().tensor_shape().map(|s| s.to_vec()),
                    )
                })
            };
            (
                shape(session.inputs(), INPUT),
                shape(session.outputs(), OUTPUT),
            )
        });
        let want_in = format!("float [batch, {features}]");
        match &shapes.0 {
            Some((Some(TensorElementType::Float32), Some(dims)))
                if dims.len() == 2 && (dims[1] == features as i64 || dims[1] < 0) => {}
            other => {
                return Err(wrong(format!(
                    "input `{INPUT}` is {}, expected {want_in}",
                    describe(other)
                )))
            }
        }
        match &shapes.1 {
            Some((Some(TensorElementType::Float32), Some(dims)))
                if dims.len() == 2 && (dims[1] == 1 || dims[1] < 0) => {}
            other => {
                return Err(wrong(format!(
                    "output `{OUTPUT}` is {}, expected float [batch, 1]",
                    describe(other)
                )))
            }
        }
        if let Some(expected) = expected {
            if features != expected.len() {
                return Err(wrong(format!(
                    "it was trained on {features} features, the engine computes {}",
                    expected.len()
                )));
            }
            if feature_names.is_empty() {
                return Err(wrong(format!(
                    "it does not record its feature names (the engine computes {expected:?})"
                )));
            }
            if let Some(i) = (0..features).find(|&i| feature_names[i] != expected[i]) {
                return Err(wrong(format!(
                    "feature {i} is `{}` in the model, `{}` in the engine",
                    feature_names[i], expected[i]
                )));
            }
        }
        Ok(OnnxRanker {
            pool,
            features,
            feature_names,
            metadata,
        })
    }

    pub fn path(&self) -> &Path {
        self.pool.path()
    }

    pub fn feature_count(&self) -> usize {
        self.features
    }

    /// Feature names recorded in the file (empty if it records none).
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// All custom metadata of the file (training configuration and metrics included).
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// One probability per row, in order, from one runtime call. Every row must have
    /// [`OnnxRanker::feature_count`] entries.
    pub fn score_batch<R: AsRef<[f32]>>(&self, rows: &[R]) -> Result<Vec<f32>> {
        let mut flat = Vec::with_capacity(rows.len() * self.features);
        for (i, row) in rows.iter().enumerate() {
            let row = row.as_ref();
            if row.len() != self.features {
                return Err(Error::InvalidInput(format!(
                    "ranker row {i} has {} features, the model {} takes {}",
                    row.len(),
                    self.path().display(),
                    self.features
                )));
            }
            flat.extend_from_slice(row);
        }
        self.score_flat(&flat)
    }

    /// As [`OnnxRanker::score_batch`], rows laid end to end (`len` a multiple of the
    /// feature count).
    pub fn score_flat(&self, flat: &[f32]) -> Result<Vec<f32>> {
        if flat.is_empty() {
            return Ok(Vec::new());
        }
        if !flat.len().is_multiple_of(self.features) {
            return Err(Error::InvalidInput(format!(
                "{} values are not whole rows of {} features",
                flat.len(),
                self.features
            )));
        }
        let rows = flat.len() / self.features;
        let scores = self.pool.run(|session| {
            let input = TensorRef::from_array_view(([rows, self.features], flat))?;
            let outputs = session.run(ort::inputs![INPUT => input])?;
            let (_, data) = outputs[OUTPUT].try_extract_tensor::<f32>()?;
            Ok(data.to_vec())
        })?;
        if scores.len() != rows {
            return Err(Error::Model {
                path: self.path().to_path_buf(),
                reason: format!("returned {} scores for {rows} rows", scores.len()),
            });
        }
        Ok(scores)
    }
}

fn describe(outlet: &Option<(Option<TensorElementType>, Option<Vec<i64>>)>) -> String {
    match outlet {
        None => "absent".into(),
        Some((None, _)) => "not a tensor".into(),
        Some((Some(ty), dims)) => format!("{ty:?} {:?}", dims.as_deref().unwrap_or(&[])),
    }
}
