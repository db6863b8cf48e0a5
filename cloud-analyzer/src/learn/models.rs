//! The two learned detectors, as Burn modules, and their training loop.
//!
//! * [`EdgeModel`]: logistic regression over shared-core's hashed n-gram features — a weight per
//!   bucket and a bias. Exported to shared-core's quantized `MNLS` format.
//! * [`CloudModel`]: a bag of n-gram embeddings (fastText-style: the mean of learned bucket
//!   vectors over the same featurizer at a larger hash space) joined with the shared-core
//!   signature and obfuscation signals, then a two-layer MLP.
//!
//! Sparse inputs are padded `[batch, len]` index tensors with a matching value tensor; padding
//! carries value 0, so it contributes neither to the output nor to any gradient.

use burn::module::{Module, Param};
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// A float tensor's values, in order (empty if the backend cannot read them back).
pub fn floats<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().try_to_vec::<f32>().unwrap_or_default()
}

/// One featurized example.
#[derive(Debug, Clone, Default)]
pub struct Example {
    /// Sorted distinct bucket indices.
    pub indices: Vec<u32>,
    /// The common feature value (1/√n).
    pub value: f32,
    /// Dense side signals (cloud model only).
    pub signals: Vec<f32>,
}

pub use shared_core::features::SIGNALS;

/// Logistic regression over hashed features.
#[derive(Module, Debug)]
pub struct EdgeModel {
    /// One weight per bucket (`[dim, 1]`).
    pub weights: Embedding,
    /// Weights of the dense signals (`[SIGNALS] → 1`, no bias).
    pub signals: Linear,
    /// The intercept (`[1]`).
    pub bias: Param<Tensor<1>>,
}

impl EdgeModel {
    /// A zero-initialized model over `dim` buckets.
    pub fn new(dim: usize, device: &Device) -> EdgeModel {
        EdgeModel {
            weights: EmbeddingConfig::new(dim, 1)
                .with_initializer(Initializer::Zeros)
                .init(device),
            signals: LinearConfig::new(SIGNALS, 1)
                .with_bias(false)
                .with_initializer(Initializer::Zeros)
                .init(device),
            bias: Param::from_tensor(Tensor::zeros([1], device)),
        }
    }

    /// Raw margins `[batch]`.
    pub fn forward(
        &self,
        indices: Tensor<2, Int>,
        values: Tensor<2>,
        signals: Tensor<2>,
    ) -> Tensor<1> {
        let [batch, len] = indices.dims();
        let w = self.weights.forward(indices).reshape([batch, len]);
        (w * values).sum_dim(1).reshape([batch])
            + self.signals.forward(signals).reshape([batch])
            + self.bias.val()
    }

    /// The signal weights as plain floats.
    pub fn export_signals(&self) -> [f32; SIGNALS] {
        let v = floats(self.signals.weight.val());
        let mut out = [0.0; SIGNALS];
        for (o, x) in out.iter_mut().zip(v) {
            *o = x;
        }
        out
    }

    /// The learned n-gram weights and bias as plain floats.
    pub fn export(&self) -> (Vec<f32>, f32) {
        let weights = floats(self.weights.weight.val());
        let bias = floats(self.bias.val()).first().copied().unwrap_or(0.0);
        (weights, bias)
    }
}

/// Embedding bag + signals + MLP.
#[derive(Module, Debug)]
pub struct CloudModel {
    /// Bucket vectors (`[dim, hidden]`).
    pub embed: Embedding,
    /// Projection of the dense signals into the same space.
    pub signals: Linear,
    /// Hidden layer.
    pub hidden: Linear,
    /// Output logit.
    pub out: Linear,
}

/// Shape of the cloud model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloudShape {
    /// Hash buckets.
    pub dim: usize,
    /// Embedding width.
    pub width: usize,
    /// Hidden layer width.
    pub hidden: usize,
}

impl CloudModel {
    /// A randomly initialized model (seed the device first for determinism).
    pub fn new(shape: CloudShape, device: &Device) -> CloudModel {
        CloudModel {
            embed: EmbeddingConfig::new(shape.dim, shape.width)
                .with_initializer(Initializer::Normal {
                    mean: 0.0,
                    std: 0.1,
                })
                .init(device),
            signals: LinearConfig::new(SIGNALS, shape.width).init(device),
            hidden: LinearConfig::new(shape.width, shape.hidden).init(device),
            out: LinearConfig::new(shape.hidden, 1).init(device),
        }
    }

    /// Raw margins `[batch]`.
    pub fn forward(
        &self,
        indices: Tensor<2, Int>,
        values: Tensor<2>,
        signals: Tensor<2>,
    ) -> Tensor<1> {
        let [batch, len] = indices.dims();
        let e = self.embed.forward(indices); // [batch, len, width]
        let bag = (e * values.reshape([batch, len, 1])).sum_dim(1); // [batch, 1, width]
        let width = bag.dims()[2];
        self.head(bag.reshape([batch, width]), signals)
    }

    /// The unweighted sum of the bucket vectors of each row (`[batch, width]`): the encoder
    /// part of [`forward`](Self::forward), before the `1/√n` weighting. Sums of several texts
    /// add up, which is how a session's turns are scored together without keeping their text.
    pub fn bag_sum(&self, indices: Tensor<2, Int>) -> Tensor<2> {
        let [batch, _] = indices.dims();
        let e = self.embed.forward(indices);
        let width = e.dims()[2];
        e.sum_dim(1).reshape([batch, width])
    }

    /// Margins `[batch]` from weighted bags (`[batch, width]`) and signals.
    pub fn head(&self, bag: Tensor<2>, signals: Tensor<2>) -> Tensor<1> {
        let batch = bag.dims()[0];
        let h = relu(bag + self.signals.forward(signals));
        let h = relu(self.hidden.forward(h));
        self.out.forward(h).reshape([batch])
    }
}

/// Several cloud models trained from different seeds on different calibration splits, saved
/// as one record: the cloud tier averages their calibrated log-odds (see
/// [`crate::learn::FitConfig::cloud_bags`]).
#[derive(Module, Debug)]
pub struct CloudEnsemble {
    /// The members, in training order (member 0 is the model a single fit would train).
    pub members: Vec<CloudModel>,
}

impl CloudEnsemble {
    /// `count` randomly initialized members (the shape a record is loaded into).
    pub fn new(shape: CloudShape, count: usize, device: &Device) -> CloudEnsemble {
        CloudEnsemble {
            members: (0..count).map(|_| CloudModel::new(shape, device)).collect(),
        }
    }
}

/// Builds the padded input tensors of a batch.
pub fn batch_tensors(
    examples: &[&Example],
    device: &Device,
) -> (Tensor<2, Int>, Tensor<2>, Tensor<2>) {
    let batch = examples.len().max(1);
    let len = examples
        .iter()
        .map(|e| e.indices.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut idx = vec![0i64; batch * len];
    let mut val = vec![0f32; batch * len];
    let mut sig = vec![0f32; batch * SIGNALS];
    for (row, e) in examples.iter().enumerate() {
        for (col, &i) in e.indices.iter().enumerate() {
            idx[row * len + col] = i64::from(i);
            val[row * len + col] = e.value;
        }
        for (k, &s) in e.signals.iter().take(SIGNALS).enumerate() {
            sig[row * SIGNALS + k] = s;
        }
    }
    (
        Tensor::from_data(TensorData::new(idx, [batch, len]), device),
        Tensor::from_data(TensorData::new(val, [batch, len]), device),
        Tensor::from_data(TensorData::new(sig, [batch, SIGNALS]), device),
    )
}

/// Training hyper-parameters.
#[derive(Debug, Clone, Copy)]
pub struct TrainConfig {
    /// Passes over the data.
    pub epochs: usize,
    /// Examples per step.
    pub batch: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// L2 penalty (as Adam weight decay).
    pub weight_decay: f32,
    /// Seed for initialization and shuffling.
    pub seed: u64,
}

/// SplitMix64: a tiny, portable, seeded generator for shuffling.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// Binary cross-entropy on logits, averaged, with per-class weights that balance the classes.
fn bce_with_logits(logits: Tensor<1>, targets: Tensor<1>, weights: Tensor<1>) -> Tensor<1> {
    // max(z, 0) − z·y + log(1 + e^{−|z|}), the numerically stable form.
    let loss = logits.clone().clamp_min(0.0) - logits.clone() * targets
        + (logits.abs().neg().exp() + 1.0).log();
    (loss * weights.clone()).sum() / weights.sum()
}

/// Sample weights that give each label half the total weight and, within a label, each family
/// an equal share — so one large family (the corpus has a jailbreak family holding half of the
/// attacks) cannot define what "malicious" means.
pub fn balanced_weights(labels: &[bool], families: &[&str]) -> Vec<f32> {
    use std::collections::BTreeMap;
    let mut count: BTreeMap<(bool, &str), usize> = BTreeMap::new();
    for (&m, &f) in labels.iter().zip(families) {
        *count.entry((m, f)).or_default() += 1;
    }
    let families_of = |m: bool| count.keys().filter(|k| k.0 == m).count().max(1) as f32;
    let (fm, fb) = (families_of(true), families_of(false));
    let n = labels.len() as f32;
    labels
        .iter()
        .zip(families)
        .map(|(&m, &f)| {
            let in_family = count.get(&(m, f)).copied().unwrap_or(1) as f32;
            let per_family = if m { fm } else { fb };
            // Total weight n: n/2 per label, split equally among that label's families.
            n / 2.0 / per_family / in_family
        })
        .collect()
}

/// Trains a model on examples, labels and sample weights; `progress` is called after each
/// epoch with the mean loss.
#[allow(clippy::too_many_arguments)]
pub fn train<M, F>(
    mut model: M,
    forward: F,
    examples: &[Example],
    labels: &[bool],
    sample_weights: &[f32],
    config: TrainConfig,
    device: &Device,
    mut progress: impl FnMut(usize, f64),
) -> M
where
    M: Module,
    F: Fn(&M, Tensor<2, Int>, Tensor<2>, Tensor<2>) -> Tensor<1>,
{
    let mut optimizer = AdamConfig::new()
        .with_weight_decay(Some(burn::optim::decay::WeightDecayConfig::new(
            config.weight_decay,
        )))
        .init();
    let mut rng = SplitMix(config.seed);
    let mut order: Vec<usize> = (0..examples.len()).collect();
    for epoch in 0..config.epochs {
        rng.shuffle(&mut order);
        let mut loss_sum = 0.0f64;
        let mut steps = 0usize;
        for chunk in order.chunks(config.batch.max(1)) {
            let batch: Vec<&Example> = chunk.iter().map(|&i| &examples[i]).collect();
            let (idx, val, sig) = batch_tensors(&batch, device);
            let y: Vec<f32> = chunk
                .iter()
                .map(|&i| f32::from(u8::from(labels[i])))
                .collect();
            let w: Vec<f32> = chunk
                .iter()
                .map(|&i| sample_weights.get(i).copied().unwrap_or(1.0))
                .collect();
            let n = y.len();
            let y = Tensor::from_data(TensorData::new(y, [n]), device);
            let w = Tensor::from_data(TensorData::new(w, [n]), device);
            let logits = forward(&model, idx, val, sig);
            let loss = bce_with_logits(logits, y, w);
            loss_sum += floats(loss.clone()).first().copied().map_or(0.0, f64::from);
            steps += 1;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(config.learning_rate, model, grads);
        }
        progress(epoch, loss_sum / steps.max(1) as f64);
    }
    model
}

/// Margins of a trained model on examples, in batches, without autodiff.
pub fn predict<M, F>(model: &M, forward: F, examples: &[Example], device: &Device) -> Vec<f32>
where
    F: Fn(&M, Tensor<2, Int>, Tensor<2>, Tensor<2>) -> Tensor<1>,
{
    let mut out = Vec::with_capacity(examples.len());
    for chunk in examples.chunks(64) {
        let batch: Vec<&Example> = chunk.iter().collect();
        let (idx, val, sig) = batch_tensors(&batch, device);
        out.extend(floats(forward(model, idx, val, sig)));
    }
    out
}
