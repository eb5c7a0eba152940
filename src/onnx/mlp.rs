//! A small multilayer perceptron for binary ranking, trained in Rust and exported as a
//! standard ONNX graph that ONNX Runtime runs.
//!
//! Inputs are standardised with the training mean and scale (stored in the model and in the
//! graph), hidden layers are ReLU, the output is one sigmoid probability. Training is
//! deterministic given the seed: mini-batch Adam on the (optionally weighted) binary
//! cross-entropy with L2 on the weights, He-initialised, with optional early stopping on a
//! held-out share of the samples chosen by the same seed.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::onnx::graph::{Dim, Graph, Model, Node, Tensor, ValueInfo};

/// Name of the graph input: float `[batch, features]`.
pub const INPUT: &str = "features";
/// Name of the graph output: float `[batch, 1]`.
pub const OUTPUT: &str = "probability";

/// Metadata keys written into the exported model.
pub const META_KIND: &str = "chartcoder.kind";
pub const META_FEATURE_COUNT: &str = "chartcoder.feature_count";
/// JSON array of feature names, in input order.
pub const META_FEATURE_NAMES: &str = "chartcoder.feature_names";
pub const META_HIDDEN: &str = "chartcoder.hidden";
pub const META_SEED: &str = "chartcoder.seed";
/// JSON of [`MlpConfig`].
pub const META_CONFIG: &str = "chartcoder.training_config";
/// JSON of [`FitReport`].
pub const META_METRICS: &str = "chartcoder.training_metrics";
/// Value of [`META_KIND`].
pub const KIND: &str = "ranker-mlp";

const RESERVED: [&str; 7] = [
    META_KIND,
    META_FEATURE_COUNT,
    META_FEATURE_NAMES,
    META_HIDDEN,
    META_SEED,
    META_CONFIG,
    META_METRICS,
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlpConfig {
    /// Widths of the hidden ReLU layers, input side first (empty: logistic regression).
    pub hidden: Vec<usize>,
    /// Passes over the training samples (at most: early stopping may end sooner).
    pub epochs: usize,
    pub learning_rate: f32,
    /// L2 penalty on the weights (not the biases), added to the gradient.
    pub l2: f32,
    pub batch_size: usize,
    pub seed: u64,
    /// Share of the samples held out to pick the best epoch, in [0, 1); 0 trains on all.
    pub validation_fraction: f32,
    /// Epochs without a better held-out loss before stopping; 0 runs every epoch (the best
    /// epoch is still the one kept).
    pub patience: usize,
}

impl Default for MlpConfig {
    fn default() -> MlpConfig {
        MlpConfig {
            hidden: vec![32, 16],
            epochs: 200,
            learning_rate: 3e-3,
            l2: 1e-4,
            batch_size: 64,
            seed: 42,
            validation_fraction: 0.1,
            patience: 20,
        }
    }
}

/// What training did, written into the model's metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    pub samples: usize,
    pub positives: usize,
    pub validation_samples: usize,
    pub epochs_run: usize,
    /// The epoch whose parameters were kept (the last one without a held-out set).
    pub best_epoch: usize,
    /// Weighted mean log-loss on the training part at initialisation and at the end.
    pub initial_loss: f32,
    pub train_loss: f32,
    /// Weighted mean log-loss on the held-out part, of the kept parameters.
    pub validation_loss: Option<f32>,
}

/// A dense layer: `outputs x inputs` row-major weights (the layout of ONNX `Gemm` with
/// `transB = 1`) and one bias per output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    pub inputs: usize,
    pub outputs: usize,
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
}

impl Layer {
    fn forward(&self, input: &[f32], output: &mut [f32]) {
        let rows = self.weights.chunks(self.inputs.max(1)).zip(&self.bias);
        for (out, (row, bias)) in output.iter_mut().zip(rows) {
            let dot: f32 = row.iter().zip(input).map(|(w, x)| w * x).sum();
            *out = dot + bias;
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mlp {
    /// Training mean and scale per feature: the network sees `(x - mean) / scale`.
    pub mean: Vec<f32>,
    pub scale: Vec<f32>,
    /// Hidden layers (ReLU) then the output layer (one unit, sigmoid).
    pub layers: Vec<Layer>,
    pub config: MlpConfig,
    pub report: FitReport,
}

impl Mlp {
    /// Number of input features.
    pub fn feature_count(&self) -> usize {
        self.mean.len()
    }

    /// Fits a network on `(features, label)` samples, each sample weighted by `weights[i]`
    /// (all 1 when `None`). Every feature vector must have the same, non-zero length and
    /// finite values.
    pub fn fit<X: AsRef<[f32]>>(
        samples: &[(X, bool)],
        weights: Option<&[f32]>,
        config: &MlpConfig,
    ) -> Result<Mlp> {
        let n_features = check_samples(samples, weights, config)?;
        let n = samples.len();
        let weight = |i: usize| weights.map_or(1.0, |w| w[i]);
        let label = |i: usize| f32::from(u8::from(samples[i].1));

        let mut rng = SplitMix64::new(config.seed);
        let mut order: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut order);
        let held_out =
            ((n as f64 * f64::from(config.validation_fraction)).round() as usize).min(n - 1);
        let (validation, train) = order.split_at(held_out);
        let mut train = train.to_vec();
        let validation = validation.to_vec();

        // Standardisation from the training part; constant features keep scale 1.
        let count = train.len() as f64;
        let mut mean = vec![0.0f64; n_features];
        for &i in &train {
            for (m, x) in mean.iter_mut().zip(samples[i].0.as_ref()) {
                *m += f64::from(*x) / count;
            }
        }
        let mut var = vec![0.0f64; n_features];
        for &i in &train {
            for ((v, m), x) in var.iter_mut().zip(&mean).zip(samples[i].0.as_ref()) {
                *v += (f64::from(*x) - m).powi(2) / count;
            }
        }
        let mean: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
        let scale: Vec<f32> = var
            .iter()
            .map(|&v| {
                if v.sqrt() < 1e-6 {
                    1.0
                } else {
                    v.sqrt() as f32
                }
            })
            .collect();
        let standard: Vec<f32> = samples
            .iter()
            .flat_map(|(x, _)| {
                x.as_ref()
                    .iter()
                    .zip(mean.iter().zip(&scale))
                    .map(|(v, (m, s))| (v - m) / s)
            })
            .collect();
        let row = |i: usize| &standard[i * n_features..(i + 1) * n_features];

        // He-initialised weights; the output bias starts at the base rate's log-odds.
        let mut widths = vec![n_features];
        widths.extend(&config.hidden);
        widths.push(1);
        let mut layers: Vec<Layer> = widths
            .windows(2)
            .map(|pair| {
                let (inputs, outputs) = (pair[0], pair[1]);
                let std = (2.0 / inputs as f64).sqrt();
                Layer {
                    inputs,
                    outputs,
                    weights: (0..inputs * outputs)
                        .map(|_| (rng.normal() * std) as f32)
                        .collect(),
                    bias: vec![0.0; outputs],
                }
            })
            .collect();
        let (mut pos, mut total) = (0.0f64, 0.0f64);
        for &i in &train {
            pos += f64::from(weight(i) * label(i));
            total += f64::from(weight(i));
        }
        let base = if total > 0.0 { pos / total } else { 0.5 }.clamp(1e-4, 1.0 - 1e-4);
        if let Some(last) = layers.last_mut() {
            last.bias[0] = (base / (1.0 - base)).ln() as f32;
        }

        let mut net = Network::new(&layers);
        let loss_on = |layers: &[Layer], net: &mut Network, part: &[usize]| -> f32 {
            let (mut sum, mut total) = (0.0f64, 0.0f64);
            for &i in part {
                let z = net.forward(layers, row(i));
                sum += f64::from(weight(i)) * f64::from(bce_from_logit(z, label(i)));
                total += f64::from(weight(i));
            }
            if total > 0.0 {
                (sum / total) as f32
            } else {
                0.0
            }
        };
        let initial_loss = loss_on(&layers, &mut net, &train);

        let mut adam = Adam::new(&layers);
        let mut grads: Vec<Layer> = layers.iter().map(Layer::zeroed).collect();
        // Held-out loss, epoch and parameters of the best epoch so far.
        let mut best: Option<(f32, usize, Vec<Layer>)> = None;
        let mut epochs_run = 0;
        for epoch in 1..=config.epochs {
            epochs_run = epoch;
            rng.shuffle(&mut train);
            for batch in train.chunks(config.batch_size) {
                let batch_weight: f32 = batch.iter().map(|&i| weight(i)).sum();
                if batch_weight <= 0.0 {
                    continue;
                }
                grads.iter_mut().for_each(Layer::clear);
                for &i in batch {
                    let z = net.forward(&layers, row(i));
                    let dz = weight(i) * (sigmoid(z) - label(i)) / batch_weight;
                    net.backward(&layers, &mut grads, dz);
                }
                for (g, l) in grads.iter_mut().zip(&layers) {
                    for (gw, w) in g.weights.iter_mut().zip(&l.weights) {
                        *gw += config.l2 * w;
                    }
                }
                adam.step(&mut layers, &grads, config.learning_rate);
            }
            if validation.is_empty() {
                continue;
            }
            let loss = loss_on(&layers, &mut net, &validation);
            let best_epoch = best.as_ref().map_or(0, |b| b.1);
            if loss.is_finite() && best.as_ref().is_none_or(|b| loss < b.0) {
                best = Some((loss, epoch, layers.clone()));
            } else if config.patience > 0 && epoch - best_epoch >= config.patience {
                break;
            }
        }
        let (validation_loss, best_epoch) = match best {
            Some((loss, epoch, kept)) => {
                layers = kept;
                (Some(loss), epoch)
            }
            None => (None, epochs_run),
        };
        let finite = |v: &[f32]| v.iter().all(|x| x.is_finite());
        if !layers.iter().all(|l| finite(&l.weights) && finite(&l.bias)) {
            return Err(Error::InvalidInput(format!(
                "training diverged (non-finite weights); lower the learning rate ({})",
                config.learning_rate
            )));
        }
        let train_loss = loss_on(&layers, &mut net, &train);
        let report = FitReport {
            samples: n,
            positives: samples.iter().filter(|(_, y)| *y).count(),
            validation_samples: validation.len(),
            epochs_run,
            best_epoch,
            initial_loss,
            train_loss,
            validation_loss,
        };
        Ok(Mlp {
            mean,
            scale,
            layers,
            config: config.clone(),
            report,
        })
    }

    /// The probability for one feature vector, computed as the exported graph does.
    /// `x` should have [`Mlp::feature_count`] entries: missing ones count as the training
    /// mean and extra ones are ignored.
    pub fn predict(&self, x: &[f32]) -> f32 {
        let mut input: Vec<f32> = self
            .mean
            .iter()
            .zip(&self.scale)
            .enumerate()
            .map(|(i, (m, s))| x.get(i).map_or(0.0, |v| (v - m) / s))
            .collect();
        let last = self.layers.len().saturating_sub(1);
        for (l, layer) in self.layers.iter().enumerate() {
            let mut output = vec![0.0; layer.outputs];
            layer.forward(&input, &mut output);
            if l < last {
                output.iter_mut().for_each(|v| *v = v.max(0.0));
            }
            input = output;
        }
        input.first().map_or(0.5, |&z| sigmoid(z))
    }

    /// Unweighted mean log-loss on samples (probabilities clamped to [1e-7, 1 - 1e-7]).
    pub fn log_loss<X: AsRef<[f32]>>(&self, samples: &[(X, bool)]) -> f32 {
        log_loss(samples.iter().map(|(x, y)| (self.predict(x.as_ref()), *y)))
    }

    /// The model as an ONNX file: input [`INPUT`] float `[batch, F]`, output [`OUTPUT`]
    /// float `[batch, 1]`, nodes `Sub`, `Div`, then `Gemm` + `Relu` per hidden layer and
    /// `Gemm` + `Sigmoid`. The metadata records the feature count, the feature names when
    /// given (they must be `F`), the seed, the layer widths, the training configuration and
    /// report, then `extra` (whose keys must not be the reserved `chartcoder.*` ones).
    /// Byte-identical for identical models and arguments.
    pub fn to_onnx(&self, feature_names: &[&str], extra: &[(&str, &str)]) -> Result<Vec<u8>> {
        Mlp::ensemble_to_onnx(std::slice::from_ref(self), feature_names, extra)
    }

    /// Several networks over the same features as one ONNX file whose output is the mean of
    /// their probabilities (averaging seeds lowers the variance of a small training set).
    /// One member gives exactly [`Mlp::to_onnx`]'s file.
    pub fn ensemble_to_onnx(
        members: &[Mlp],
        feature_names: &[&str],
        extra: &[(&str, &str)],
    ) -> Result<Vec<u8>> {
        let Some(first) = members.first() else {
            return Err(Error::InvalidInput("an ensemble needs a member".into()));
        };
        let f = first.feature_count();
        if members.iter().any(|m| m.feature_count() != f) {
            return Err(Error::InvalidInput(
                "ensemble members take different feature counts".into(),
            ));
        }
        if !feature_names.is_empty() && feature_names.len() != f {
            return Err(Error::InvalidInput(format!(
                "{} feature names for a model of {f} features",
                feature_names.len()
            )));
        }
        if let Some((key, _)) = extra.iter().find(|(k, _)| RESERVED.contains(k)) {
            return Err(Error::InvalidInput(format!(
                "metadata key `{key}` is reserved"
            )));
        }
        let batch = || Dim::Symbolic("batch".into());
        let mut graph = Graph {
            name: "chartcoder_ranker".into(),
            doc_string: "P(code belongs to note) from the ranker's feature vector".into(),
            inputs: vec![ValueInfo {
                name: INPUT.into(),
                dims: vec![batch(), Dim::Fixed(f as i64)],
            }],
            outputs: vec![ValueInfo {
                name: OUTPUT.into(),
                dims: vec![batch(), Dim::Fixed(1)],
            }],
            ..Default::default()
        };
        if let [only] = members {
            only.push_nodes(&mut graph, "", OUTPUT);
        } else {
            let outputs: Vec<String> = (0..members.len()).map(|i| format!("m{i}_p")).collect();
            for (i, member) in members.iter().enumerate() {
                member.push_nodes(&mut graph, &format!("m{i}_"), &outputs[i]);
            }
            let inputs: Vec<&str> = outputs.iter().map(String::as_str).collect();
            graph
                .nodes
                .push(Node::new("average", "Mean", &inputs, &[OUTPUT]));
        }
        let mut model = Model::new(graph);
        let mut meta = vec![
            (META_KIND.to_string(), KIND.to_string()),
            (META_FEATURE_COUNT.to_string(), f.to_string()),
        ];
        if !feature_names.is_empty() {
            meta.push((META_FEATURE_NAMES.to_string(), json(&feature_names)));
        }
        meta.push((
            META_HIDDEN.to_string(),
            first
                .config
                .hidden
                .iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>()
                .join(","),
        ));
        let seeds: Vec<String> = members.iter().map(|m| m.config.seed.to_string()).collect();
        meta.push((META_SEED.to_string(), seeds.join(",")));
        meta.push((META_CONFIG.to_string(), json(&first.config)));
        let metrics = match members {
            [only] => json(&only.report),
            _ => json(&members.iter().map(|m| &m.report).collect::<Vec<_>>()),
        };
        meta.push((META_METRICS.to_string(), metrics));
        meta.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        model.metadata = meta;
        Ok(model.encode())
    }

    /// Adds this network's nodes and weights to `graph`, names prefixed by `prefix`, reading
    /// [`INPUT`] and writing its probability to `output`.
    fn push_nodes(&self, graph: &mut Graph, prefix: &str, output: &str) {
        let f = self.feature_count();
        graph.initializers.push(Tensor {
            name: format!("{prefix}mean"),
            dims: vec![f as i64],
            data: self.mean.clone(),
        });
        graph.initializers.push(Tensor {
            name: format!("{prefix}scale"),
            dims: vec![f as i64],
            data: self.scale.clone(),
        });
        let (mean, scale) = (format!("{prefix}mean"), format!("{prefix}scale"));
        let (centered, standardised) =
            (format!("{prefix}centered"), format!("{prefix}standardised"));
        graph.nodes.push(Node::new(
            &format!("{prefix}center"),
            "Sub",
            &[INPUT, &mean],
            &[&centered],
        ));
        graph.nodes.push(Node::new(
            &format!("{prefix}standardise"),
            "Div",
            &[&centered, &scale],
            &[&standardised],
        ));
        let mut current = standardised;
        let last = self.layers.len().saturating_sub(1);
        for (l, layer) in self.layers.iter().enumerate() {
            let (w, b, z) = (
                format!("{prefix}w{l}"),
                format!("{prefix}b{l}"),
                format!("{prefix}z{l}"),
            );
            graph.initializers.push(Tensor {
                name: w.clone(),
                dims: vec![layer.outputs as i64, layer.inputs as i64],
                data: layer.weights.clone(),
            });
            graph.initializers.push(Tensor {
                name: b.clone(),
                dims: vec![layer.outputs as i64],
                data: layer.bias.clone(),
            });
            graph.nodes.push(
                Node::new(
                    &format!("{prefix}dense{l}"),
                    "Gemm",
                    &[&current, &w, &b],
                    &[&z],
                )
                .with_int("transB", 1),
            );
            let (op, out) = if l < last {
                ("Relu", format!("{prefix}h{l}"))
            } else {
                ("Sigmoid", output.to_string())
            };
            graph
                .nodes
                .push(Node::new(&format!("{prefix}act{l}"), op, &[&z], &[&out]));
            current = out;
        }
    }
}

/// Compact JSON of a metadata value (plain data: serialisation cannot fail).
fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Mean log-loss of `(probability, label)` pairs, probabilities clamped to [1e-7, 1 - 1e-7].
pub fn log_loss(pairs: impl IntoIterator<Item = (f32, bool)>) -> f32 {
    let (mut sum, mut n) = (0.0f64, 0usize);
    for (p, y) in pairs {
        let p = f64::from(p).clamp(1e-7, 1.0 - 1e-7);
        sum -= if y { p.ln() } else { (1.0 - p).ln() };
        n += 1;
    }
    (sum / n.max(1) as f64) as f32
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// Binary cross-entropy from a logit, stable for large |z|: softplus(z) - y z.
fn bce_from_logit(z: f32, y: f32) -> f32 {
    z.max(0.0) + (-z.abs()).exp().ln_1p() - y * z
}

fn check_samples<X: AsRef<[f32]>>(
    samples: &[(X, bool)],
    weights: Option<&[f32]>,
    config: &MlpConfig,
) -> Result<usize> {
    let invalid = |m: String| Err(Error::InvalidInput(m));
    let Some((first, _)) = samples.first() else {
        return invalid("no training samples".into());
    };
    let n_features = first.as_ref().len();
    if n_features == 0 {
        return invalid("training samples have no features".into());
    }
    for (i, (x, _)) in samples.iter().enumerate() {
        let x = x.as_ref();
        if x.len() != n_features {
            return invalid(format!(
                "sample {i} has {} features, the first has {n_features}",
                x.len()
            ));
        }
        if let Some(j) = x.iter().position(|v| !v.is_finite()) {
            return invalid(format!("sample {i} has a non-finite feature {j}"));
        }
    }
    if let Some(w) = weights {
        if w.len() != samples.len() {
            return invalid(format!(
                "{} sample weights for {} samples",
                w.len(),
                samples.len()
            ));
        }
        let sum: f32 = w.iter().sum();
        if w.iter().any(|v| !v.is_finite() || *v < 0.0) || !(sum > 0.0 && sum.is_finite()) {
            return invalid("sample weights must be finite, >= 0 and not all 0".into());
        }
    }
    if config.hidden.contains(&0) {
        return invalid("hidden layers must have at least one unit".into());
    }
    if config.batch_size == 0 {
        return invalid("batch size must be at least 1".into());
    }
    if !(config.learning_rate.is_finite() && config.learning_rate > 0.0) {
        return invalid("learning rate must be positive".into());
    }
    if !(config.l2.is_finite() && config.l2 >= 0.0) {
        return invalid("l2 must be >= 0".into());
    }
    if !(0.0..1.0).contains(&config.validation_fraction) {
        return invalid("validation fraction must be in [0, 1)".into());
    }
    Ok(n_features)
}

impl Layer {
    fn zeroed(&self) -> Layer {
        Layer {
            inputs: self.inputs,
            outputs: self.outputs,
            weights: vec![0.0; self.weights.len()],
            bias: vec![0.0; self.bias.len()],
        }
    }

    fn clear(&mut self) {
        self.weights.iter_mut().for_each(|v| *v = 0.0);
        self.bias.iter_mut().for_each(|v| *v = 0.0);
    }
}

/// Activations of one forward pass, kept for the backward pass (no allocation per sample).
struct Network {
    /// `acts[0]` is the input; `acts[l + 1]` the output of layer `l` (after ReLU for hidden
    /// layers, the logit for the last).
    acts: Vec<Vec<f32>>,
    deltas: Vec<Vec<f32>>,
}

impl Network {
    fn new(layers: &[Layer]) -> Network {
        let mut acts = vec![vec![0.0; layers.first().map_or(0, |l| l.inputs)]];
        acts.extend(layers.iter().map(|l| vec![0.0; l.outputs]));
        let deltas = acts.clone();
        Network { acts, deltas }
    }

    /// The logit for one standardised input.
    fn forward(&mut self, layers: &[Layer], x: &[f32]) -> f32 {
        self.acts[0].copy_from_slice(x);
        let last = layers.len() - 1;
        for (l, layer) in layers.iter().enumerate() {
            let (before, after) = self.acts.split_at_mut(l + 1);
            layer.forward(&before[l], &mut after[0]);
            if l < last {
                after[0].iter_mut().for_each(|v| *v = v.max(0.0));
            }
        }
        self.acts[layers.len()][0]
    }

    /// Adds the gradients of the last forward pass, given d(loss)/d(logit), into `grads`.
    fn backward(&mut self, layers: &[Layer], grads: &mut [Layer], dz: f32) {
        let top = layers.len();
        self.deltas[top][0] = dz;
        for l in (0..top).rev() {
            let layer = &layers[l];
            let grad = &mut grads[l];
            let (lower, upper) = self.deltas.split_at_mut(l + 1);
            let delta = &upper[0];
            let input = &self.acts[l];
            for (o, &d) in delta.iter().enumerate() {
                if d == 0.0 {
                    continue;
                }
                grad.bias[o] += d;
                let row = &mut grad.weights[o * layer.inputs..(o + 1) * layer.inputs];
                for (g, x) in row.iter_mut().zip(input) {
                    *g += d * x;
                }
            }
            if l == 0 {
                break;
            }
            // Back through the weights and the ReLU of the layer below.
            let below = &mut lower[l];
            below.iter_mut().for_each(|v| *v = 0.0);
            for (o, &d) in delta.iter().enumerate() {
                if d == 0.0 {
                    continue;
                }
                let row = &layer.weights[o * layer.inputs..(o + 1) * layer.inputs];
                for (b, w) in below.iter_mut().zip(row) {
                    *b += d * w;
                }
            }
            for (b, a) in below.iter_mut().zip(&self.acts[l]) {
                if *a <= 0.0 {
                    *b = 0.0;
                }
            }
        }
    }
}

/// Adam moments for every parameter.
struct Adam {
    m: Vec<Layer>,
    v: Vec<Layer>,
    t: i32,
}

impl Adam {
    const B1: f32 = 0.9;
    const B2: f32 = 0.999;
    const EPS: f32 = 1e-8;

    fn new(layers: &[Layer]) -> Adam {
        Adam {
            m: layers.iter().map(Layer::zeroed).collect(),
            v: layers.iter().map(Layer::zeroed).collect(),
            t: 0,
        }
    }

    fn step(&mut self, layers: &mut [Layer], grads: &[Layer], lr: f32) {
        self.t = self.t.saturating_add(1);
        let c1 = 1.0 - Self::B1.powi(self.t);
        let c2 = 1.0 - Self::B2.powi(self.t);
        let update = |p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]| {
            for i in 0..p.len() {
                m[i] = Self::B1 * m[i] + (1.0 - Self::B1) * g[i];
                v[i] = Self::B2 * v[i] + (1.0 - Self::B2) * g[i] * g[i];
                p[i] -= lr * (m[i] / c1) / ((v[i] / c2).sqrt() + Self::EPS);
            }
        };
        for (((layer, g), m), v) in layers
            .iter_mut()
            .zip(grads)
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            update(
                &mut layer.weights,
                &g.weights,
                &mut m.weights,
                &mut v.weights,
            );
            update(&mut layer.bias, &g.bias, &mut m.bias, &mut v.bias);
        }
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014): small, fast, and the same on every platform.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Uniform in `0..n` (n > 0), by rejection (no modulo bias).
    pub fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % n;
            }
        }
    }

    /// Fisher-Yates.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// XOR of two coordinates' signs, with noise dimensions: not linearly separable.
    pub(crate) fn xor_set(n: usize, seed: u64) -> Vec<(Vec<f32>, bool)> {
        let mut rng = SplitMix64::new(seed);
        (0..n)
            .map(|_| {
                let x: Vec<f32> = (0..4).map(|_| (rng.uniform() * 2.0 - 1.0) as f32).collect();
                let y = (x[0] > 0.0) != (x[1] > 0.0);
                (x, y)
            })
            .collect()
    }

    fn small() -> MlpConfig {
        MlpConfig {
            hidden: vec![16, 8],
            epochs: 150,
            learning_rate: 0.01,
            batch_size: 32,
            ..MlpConfig::default()
        }
    }

    #[test]
    fn splitmix_is_the_reference_sequence() {
        // First outputs of SplitMix64 seeded with 0 (reference implementation).
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn learns_xor_that_a_linear_model_cannot() {
        let train = xor_set(1200, 1);
        let test = xor_set(400, 2);
        let mlp = Mlp::fit(&train, None, &small()).unwrap();
        let linear = Mlp::fit(
            &train,
            None,
            &MlpConfig {
                hidden: vec![],
                ..small()
            },
        )
        .unwrap();
        assert!(
            mlp.report.train_loss < mlp.report.initial_loss * 0.5,
            "{:?}",
            mlp.report
        );
        let (l_mlp, l_lin) = (mlp.log_loss(&test), linear.log_loss(&test));
        assert!(l_mlp < 0.3, "mlp test log-loss {l_mlp}");
        assert!(l_lin > 0.6, "a linear model cannot do XOR: {l_lin}");
        let accuracy = test
            .iter()
            .filter(|(x, y)| (mlp.predict(x) > 0.5) == *y)
            .count() as f32
            / test.len() as f32;
        assert!(accuracy > 0.9, "accuracy {accuracy}");
    }

    #[test]
    fn same_seed_same_model_other_seed_other_model() {
        let train = xor_set(300, 3);
        let config = MlpConfig {
            epochs: 10,
            ..small()
        };
        let a = Mlp::fit(&train, None, &config).unwrap();
        let b = Mlp::fit(&train, None, &config).unwrap();
        assert_eq!(a, b);
        let c = Mlp::fit(&train, None, &MlpConfig { seed: 7, ..config }).unwrap();
        assert_ne!(a.layers, c.layers);
    }

    #[test]
    fn sample_weights_shift_the_probabilities() {
        // Labels independent of the features: the model can only learn the (weighted) base
        // rate, 1/2 unweighted, 5/6 with positives weighted 5.
        let mut rng = SplitMix64::new(9);
        let train: Vec<(Vec<f32>, bool)> = xor_set(400, 4)
            .into_iter()
            .map(|(x, _)| (x, rng.uniform() < 0.5))
            .collect();
        let config = MlpConfig {
            epochs: 20,
            validation_fraction: 0.0,
            ..small()
        };
        let weights: Vec<f32> = train
            .iter()
            .map(|(_, y)| if *y { 5.0 } else { 1.0 })
            .collect();
        let plain = Mlp::fit(&train, None, &config).unwrap();
        let heavy = Mlp::fit(&train, Some(&weights), &config).unwrap();
        let mean = |m: &Mlp| train.iter().map(|(x, _)| m.predict(x)).sum::<f32>() / 400.0;
        let (plain_mean, heavy_mean) = (mean(&plain), mean(&heavy));
        assert!((plain_mean - 0.5).abs() < 0.1, "{plain_mean}");
        assert!((heavy_mean - 5.0 / 6.0).abs() < 0.1, "{heavy_mean}");
        assert_eq!(plain.report.validation_loss, None);
        assert_eq!(plain.report.epochs_run, 20);
    }

    #[test]
    fn early_stopping_keeps_the_best_epoch() {
        let train = xor_set(200, 5);
        let config = MlpConfig {
            epochs: 400,
            patience: 5,
            validation_fraction: 0.25,
            ..small()
        };
        let mlp = Mlp::fit(&train, None, &config).unwrap();
        assert_eq!(mlp.report.validation_samples, 50);
        assert!(mlp.report.epochs_run < 400, "{:?}", mlp.report);
        assert_eq!(mlp.report.epochs_run, mlp.report.best_epoch + 5);
        let held_out = mlp.report.validation_loss.unwrap();
        assert!(held_out.is_finite() && held_out < mlp.report.initial_loss);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let config = small();
        let none: [(Vec<f32>, bool); 0] = [];
        assert!(Mlp::fit(&none, None, &config).is_err());
        let ragged = vec![(vec![1.0, 2.0], true), (vec![1.0], false)];
        assert!(Mlp::fit(&ragged, None, &config).is_err());
        let nan = vec![(vec![f32::NAN], true)];
        assert!(Mlp::fit(&nan, None, &config).is_err());
        let ok = vec![(vec![1.0], true), (vec![0.0], false)];
        assert!(Mlp::fit(&ok, Some(&[1.0]), &config).is_err());
        assert!(Mlp::fit(&ok, Some(&[0.0, 0.0]), &config).is_err());
        for bad in [
            MlpConfig {
                hidden: vec![0],
                ..small()
            },
            MlpConfig {
                batch_size: 0,
                ..small()
            },
            MlpConfig {
                learning_rate: 0.0,
                ..small()
            },
            MlpConfig {
                validation_fraction: 1.0,
                ..small()
            },
        ] {
            assert!(Mlp::fit(&ok, None, &bad).is_err(), "{bad:?}");
        }
        let diverging = MlpConfig {
            learning_rate: 1e30,
            l2: 1e30,
            epochs: 3,
            ..small()
        };
        let spread = xor_set(100, 8);
        assert!(matches!(
            Mlp::fit(&spread, None, &diverging),
            Err(Error::InvalidInput(m)) if m.contains("diverged")
        ));
        // A single sample and a constant feature still train (no held-out set possible).
        let one = vec![([3.0f32, 3.0], true)];
        let m = Mlp::fit(
            &one,
            None,
            &MlpConfig {
                epochs: 2,
                ..small()
            },
        )
        .unwrap();
        assert!(m.predict(&[3.0, 3.0]).is_finite());
        assert!(
            m.predict(&[]).is_finite(),
            "short input is read as the mean"
        );
        let m = Mlp::fit(
            &ok,
            None,
            &MlpConfig {
                epochs: 2,
                ..small()
            },
        )
        .unwrap();
        assert!(
            m.to_onnx(&["a", "b"], &[]).is_err(),
            "two names for one feature"
        );
        assert!(m.to_onnx(&["a"], &[(META_SEED, "1")]).is_err());
        assert!(m.to_onnx(&["a"], &[("trained_on", "x")]).is_ok());
    }

    #[test]
    fn export_writes_the_graph_and_metadata() {
        use crate::onnx::graph::tests::{bytes, decode, get, Field};
        let train = xor_set(200, 6);
        let mlp = Mlp::fit(
            &train,
            None,
            &MlpConfig {
                epochs: 3,
                ..small()
            },
        )
        .unwrap();
        let onnx = mlp
            .to_onnx(&["a", "b", "c", "d"], &[("trained_on", "xor")])
            .unwrap();
        let top = decode(&onnx);
        let meta: Vec<(String, String)> = get(&top, 14)
            .iter()
            .map(|m| {
                let kv = decode(bytes(m));
                let s = |f: &Field| String::from_utf8(bytes(f).to_vec()).unwrap();
                (s(&get(&kv, 1)[0]), s(&get(&kv, 2)[0]))
            })
            .collect();
        let value = |k: &str| {
            meta.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(value(META_FEATURE_COUNT), Some("4"));
        assert_eq!(value(META_FEATURE_NAMES), Some(r#"["a","b","c","d"]"#));
        assert_eq!(value(META_HIDDEN), Some("16,8"));
        assert_eq!(value(META_SEED), Some("42"));
        assert_eq!(value("trained_on"), Some("xor"));
        let report: FitReport = serde_json::from_str(value(META_METRICS).unwrap()).unwrap();
        assert_eq!(report, mlp.report);
        let graph = decode(bytes(&get(&top, 7)[0]));
        let ops: Vec<String> = get(&graph, 1)
            .iter()
            .map(|n| String::from_utf8(bytes(&get(&decode(bytes(n)), 4)[0]).to_vec()).unwrap())
            .collect();
        assert_eq!(
            ops,
            ["Sub", "Div", "Gemm", "Relu", "Gemm", "Relu", "Gemm", "Sigmoid"]
        );
        // mean, scale, then weight and bias per layer.
        assert_eq!(get(&graph, 5).len(), 2 + 2 * 3);
    }
}
