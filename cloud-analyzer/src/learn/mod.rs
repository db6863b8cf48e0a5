//! Training and evaluation of the learned detectors (`train`, `eval`, `crossval`).
//!
//! One pipeline, [`fit`], produces both models from labelled items: it splits the items 80/20
//! (stratified, seeded), trains each model with Burn on the 80 %, and fits Platt calibration on
//! the 20 % it did not see. The edge model is exported to shared-core's quantized format and its
//! calibration is fitted on the *quantized* margins, so what ships is what was calibrated. The
//! cloud tier's lexical model averages [`FitConfig::lexical_bags`] edge-type models over several
//! such splits, each calibrated on what its own split set aside; the classifier averages
//! [`FitConfig::cloud_bags`] networks trained on those splits, under one curve fitted on their
//! pooled held-back margins.

pub mod cloud;
pub mod data;
pub mod evaluate;
pub mod kernel;
pub mod metrics;
pub mod models;

use burn::module::Module;
use burn::tensor::Device;
use shared_core::features::FeatureSpec;
use shared_core::scorer::LinearScorer;
use shared_core::{views, Engine};

use crate::learn::cloud::{CloudClassifier, CloudMeta};
use crate::learn::models::{
    balanced_weights, predict, train, CloudModel, CloudShape, EdgeModel, Example, SplitMix,
    TrainConfig, SIGNALS,
};

/// Hash buckets of the edge scorer (one i8 weight each: 64 KiB).
pub const EDGE_DIM: u32 = 1 << 16;
/// Shape of the cloud classifier.
pub const CLOUD_SHAPE: CloudShape = CloudShape {
    dim: 1 << 15,
    width: 32,
    hidden: 32,
};
/// The seed `train` uses unless told otherwise.
pub const DEFAULT_SEED: u64 = 20_261_122;

/// Which Burn backend runs training and inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// burn-flex (pure Rust CPU).
    #[cfg(feature = "flex")]
    Flex,
    /// burn-ndarray (pure Rust CPU, deprecated upstream).
    #[cfg(feature = "ndarray")]
    Ndarray,
}

impl Backend {
    /// The default: flex when compiled in.
    pub fn default_backend() -> Backend {
        #[cfg(feature = "flex")]
        {
            Backend::Flex
        }
        #[cfg(all(not(feature = "flex"), feature = "ndarray"))]
        {
            Backend::Ndarray
        }
    }

    /// The device (without autodiff).
    pub fn device(self) -> Device {
        match self {
            #[cfg(feature = "flex")]
            Backend::Flex => Device::flex(),
            // Deprecated upstream in favour of flex; kept buildable for comparison.
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            Backend::Ndarray => Device::ndarray(),
        }
    }

    /// Name for reports.
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "flex")]
            Backend::Flex => "flex",
            #[cfg(feature = "ndarray")]
            Backend::Ndarray => "ndarray",
        }
    }
}

/// Hyper-parameters of one fit.
#[derive(Debug, Clone)]
pub struct FitConfig {
    /// Seed for splits, initialization and shuffling.
    pub seed: u64,
    /// Edge model training.
    pub edge: TrainConfig,
    /// Cloud model training.
    pub cloud: TrainConfig,
    /// Share of items held back for calibration.
    pub calibration_share: f64,
    /// A hash bucket is trained only if it occurs in at least this many families.
    pub min_families: usize,
    /// Retrain the shipped models on every item after calibration, keeping the calibration
    /// curve. Off by default: on held-out families the refitted models scored worse (more
    /// steps on more data fit family-specific n-grams harder) and their margins no longer match
    /// the curve; see the README.
    pub refit: bool,
    /// Cross-fitted calibration when ≥ 2: the items are split into this many folds (collected
    /// families whole, generated items spread), a model trained without each fold scores it,
    /// Platt's curve is fitted on those out-of-fold scores of every item, and the shipped
    /// models are trained on everything. 0 keeps the single hold-out split above.
    pub calibration_folds: usize,
    /// With the single hold-out split: never set aside a generated or joined family whole
    /// (experiments; see the README, "How stable these numbers are").
    pub calibrate_on_collected_only: bool,
    /// With the single hold-out split: the edge scorer is the average of this many edge
    /// models, each trained on its own seeded split and calibrated on the families that split
    /// set aside. Averaging calibrated logits of linear models is one linear model (weights
    /// `Σ aₖ·wₖ / K`), so the edge still ships one weights file; the spread that one split's
    /// choice of families causes averages out. Measured, not adopted (see the README, "How
    /// stable these numbers are"): 5 bags raised held-out recall at 1 % FPR but made the edge
    /// surer of benign text with strong signature phrases. 1 (the default) keeps one model.
    pub edge_bags: usize,
    /// With `edge_bags` > 1: fit one Platt curve on the pooled held-back margins of every bag
    /// and apply it to the bags' mean margin, instead of averaging each bag's own calibrated
    /// logits (a bag whose few held-back families happened to separate easily gets a steep
    /// curve and would dominate the average).
    pub pooled_bag_calibration: bool,
    /// The cloud tier's *lexical model*: the average (as calibrated logits, so one linear
    /// model) of this many edge-type models, each trained on its own seeded calibration split
    /// and calibrated on the families that split set aside; bag 0 is the edge's own model.
    /// The edge keeps its single model (averaged bags are surer of benign text with strong
    /// signature phrases, which the edge must escalate, not block), while the cloud tier, which
    /// only decides what the edge escalated, takes the bags' better ranking of held-out
    /// families (see the README, "Learned detectors"). 0 or 1: no lexical model.
    pub lexical_bags: usize,
    /// With the single hold-out split: the cloud classifier (and the session window
    /// classifier) is an ensemble of this many models (at most [`cloud::MAX_MEMBERS`]), member
    /// `k` trained from its own seed on bag `k`'s fit split (the splits the lexical model's bags
    /// use; member 0 is the single model's, so 1 trains exactly the single model); one Platt
    /// curve is fitted on every member's margins on what its split set aside, and the tier
    /// averages the members' calibrated log-odds. One model's calibration swings with which
    /// families its split happened to set aside — across training seeds, session false alarms
    /// on the never-trained-on `data/eval/` conversations ranged 1.0–8.7 % with one model —
    /// which an average of several damps (see the README, "Five classifiers, averaged").
    pub cloud_bags: usize,
    /// Families whose items always train the fit models and are never set aside for
    /// calibration; the calibration split is drawn over the other items alone, exactly as
    /// without these families. To measure what new data does with the split held fixed (see
    /// the README, "How stable these numbers are").
    pub fit_only_families: Vec<String>,
    /// Share of each training item's weight moved to a copy of it without the signal vector
    /// (items with no signal are left as they are). The signatures' signals explain most
    /// training attacks by themselves, so without this the n-gram weights learn little of
    /// how an attack is worded, and an attack in new words that no signature matches scores
    /// like ordinary text; the copies make the n-grams predict the label alone as well. 0:
    /// off (see the README, "Signal dropout").
    pub signal_dropout: f32,
}

impl FitConfig {
    /// The defaults `train` uses.
    pub fn new(seed: u64) -> FitConfig {
        FitConfig {
            seed,
            edge: TrainConfig {
                epochs: 12,
                batch: 32,
                learning_rate: 0.05,
                weight_decay: 1e-4,
                seed,
            },
            cloud: TrainConfig {
                epochs: 10,
                batch: 32,
                learning_rate: 0.01,
                weight_decay: 1e-4,
                seed: seed ^ 0x5EED,
            },
            calibration_share: 0.2,
            min_families: 2,
            refit: false,
            calibration_folds: 0,
            calibrate_on_collected_only: false,
            edge_bags: 1,
            pooled_bag_calibration: false,
            lexical_bags: 5,
            cloud_bags: 5,
            fit_only_families: Vec::new(),
            signal_dropout: 0.0,
        }
    }

    /// Sets [`FitConfig::signal_dropout`]; a share outside 0 to 1 (or NaN) is refused.
    pub fn set_signal_dropout(&mut self, share: f32) -> Result<(), String> {
        if !(0.0..=1.0).contains(&share) {
            return Err(format!("--signal-dropout must be from 0 to 1, not {share}"));
        }
        self.signal_dropout = share;
        Ok(())
    }
}

/// The features of one text, computed once and shared by both models.
#[derive(Debug, Clone)]
pub struct Featurized {
    /// Edge-model input.
    pub edge: Example,
    /// Cloud-model input.
    pub cloud: Example,
    /// Cloud-model inputs of what the text hides (decoded spans, tag-character text, a ROT13
    /// reading), each with the text's signal vector: the cloud tier scores the strongest of
    /// them and the text, as the edge does ([`CloudClassifier::probability_of`]). Training
    /// uses only [`Featurized::cloud`].
    pub payloads: Vec<Example>,
    /// The same payloads as edge-model inputs (for the cloud tier's lexical model).
    pub edge_payloads: Vec<Example>,
}

/// Moves the share `p` of the weight of every example with a signal to a copy of it whose
/// signals are zero, appended after the originals (0 or less: nothing changes).
pub fn add_signal_free_copies(x: &mut Vec<Example>, y: &mut Vec<bool>, w: &mut Vec<f32>, p: f32) {
    if p <= 0.0 {
        return;
    }
    let p = p.min(1.0);
    for i in 0..x.len() {
        if x[i].signals.iter().all(|&s| s == 0.0) {
            continue;
        }
        let mut copy = x[i].clone();
        copy.signals.iter_mut().for_each(|s| *s = 0.0);
        x.push(copy);
        y.push(y[i]);
        w.push(w[i] * p);
        w[i] *= 1.0 - p;
    }
}

/// Computes model inputs from texts: shared-core's normalized words view, hashed n-grams, and
/// the signal vector of its signatures and detectors (run without any learned scorer, so the
/// models never see their own output) — exactly what the edge computes at triage time.
pub struct Featurizer {
    signatures_only: Engine,
}

impl Featurizer {
    /// Builds the featurizer.
    pub fn new() -> Result<Featurizer, shared_core::Error> {
        Ok(Featurizer {
            signatures_only: Engine::builder().without_scorer().build()?,
        })
    }

    /// Features of one text (texts over the body cap are truncated at a char boundary).
    pub fn featurize(&self, text: &str) -> Featurized {
        let limit = self.signatures_only.policy().limits.max_body_bytes;
        let mut cut = text.len().min(limit);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let (words, signals, hidden) = self
            .signatures_only
            .learning_inputs_with_payloads(&text[..cut])
            .unwrap_or_else(|_| (views(&text[..cut]).words, [0.0; SIGNALS], Vec::new()));
        let edge_spec = FeatureSpec { dim: EDGE_DIM };
        let cloud_spec = FeatureSpec {
            dim: CLOUD_SHAPE.dim as u32,
        };
        // One model input: a text's hashed n-grams in a feature space, with the signals.
        let example = |spec: FeatureSpec, words: &str| {
            let (indices, value) = spec.featurize(words);
            Example {
                indices,
                value,
                signals: signals.to_vec(),
            }
        };
        Featurized {
            edge: example(edge_spec, &words),
            cloud: example(cloud_spec, &words),
            payloads: hidden.iter().map(|w| example(cloud_spec, w)).collect(),
            edge_payloads: hidden.iter().map(|w| example(edge_spec, w)).collect(),
        }
    }
}

/// Both trained models.
pub struct Trained {
    /// The edge scorer, quantized and calibrated.
    pub edge: LinearScorer,
    /// The cloud classifier, calibrated, with the lexical model when
    /// [`FitConfig::lexical_bags`] ≥ 2.
    pub cloud: CloudClassifier,
}

/// One trained edge-type bag: float n-gram weights, signal weights, bias and its Platt curve.
type EdgeBag = (Vec<f32>, [f32; SIGNALS], f32, (f32, f32));

/// Averages linear models as calibrated logits: `Σ (aₖ·wₖ) / K`, bias `Σ (aₖ·bₖ + cₖ) / K`,
/// with each model's Platt curve `(aₖ, cₖ)`. The result is calibrated as it is (curve 1, 0).
fn average_calibrated(bags: &[EdgeBag]) -> Result<LinearScorer, String> {
    let k = bags.len().max(1) as f32;
    let mut sum_w = vec![0.0f32; EDGE_DIM as usize];
    let mut sum_s = [0.0f32; SIGNALS];
    let mut sum_b = 0.0f32;
    for (w, sig, b, (a, c)) in bags {
        sum_w
            .iter_mut()
            .zip(w)
            .for_each(|(acc, x)| *acc += a * x / k);
        sum_s
            .iter_mut()
            .zip(sig)
            .for_each(|(acc, x)| *acc += a * x / k);
        sum_b += (a * b + c) / k;
    }
    LinearScorer::from_weights(&sum_w, sum_s, sum_b, 1.0, 0.0).map_err(|e| e.to_string())
}

/// Splits indices into (fit, calibration). Calibration takes whole families where it can —
/// for each label, families in seeded random order are added while they fit in the target
/// share — and tops up with random items, so calibration sees families the calibration models
/// did not: its probabilities then describe new kinds of prompts, not memorized ones. With
/// `collected_only`, generated and joined families are never taken whole. Items of the
/// `fit_only` families are left out of the draw (they always go to fit), so adding them
/// leaves the split of the other items as it was.
pub fn calibration_split(
    labels: &[bool],
    families: &[&str],
    share: f64,
    seed: u64,
    collected_only: bool,
    fit_only: &[String],
) -> (Vec<usize>, Vec<usize>) {
    let mut rng = SplitMix(seed ^ 0xCA11_B8A7);
    let mut calib = vec![false; labels.len()];
    for class in [false, true] {
        let members: Vec<usize> = (0..labels.len())
            .filter(|&i| labels[i] == class && !fit_only.iter().any(|f| f == families[i]))
            .collect();
        let target = (members.len() as f64 * share).round() as usize;
        let mut names: Vec<&str> = members.iter().map(|&i| families[i]).collect();
        names.sort_unstable();
        names.dedup();
        if collected_only {
            names.retain(|n| !is_augmentation_family(n));
        }
        rng.shuffle(&mut names);
        let mut taken = 0usize;
        // Never take every family of a class: the fit models need some of each label.
        for name in names.iter().take(names.len().saturating_sub(1)) {
            let size = members.iter().filter(|&&i| families[i] == *name).count();
            if taken + size <= target {
                for &i in &members {
                    if families[i] == *name {
                        calib[i] = true;
                    }
                }
                taken += size;
            }
        }
        let mut rest: Vec<usize> = members.iter().copied().filter(|&i| !calib[i]).collect();
        rng.shuffle(&mut rest);
        for &i in rest.iter().take(target.saturating_sub(taken)) {
            calib[i] = true;
        }
    }
    let (c, f): (Vec<usize>, Vec<usize>) = (0..labels.len()).partition(|&i| calib[i]);
    (f, c)
}

/// Fold (in `0..folds`) of every item for cross-fitted calibration. For each label, collected
/// families in seeded random order go whole to the fold with the fewest items of that label so
/// far (largest first, so the folds come out balanced); generated and joined items are dealt
/// out one by one, so every fold model learns from them.
pub fn calibration_folds(
    labels: &[bool],
    families: &[&str],
    folds: usize,
    seed: u64,
) -> Vec<usize> {
    let folds = folds.max(1);
    let mut rng = SplitMix(seed ^ 0xF01D_5EED);
    let mut fold_of = vec![0usize; labels.len()];
    for class in [false, true] {
        let members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        let mut names: Vec<&str> = members.iter().map(|&i| families[i]).collect();
        names.sort_unstable();
        names.dedup();
        names.retain(|n| !is_augmentation_family(n));
        rng.shuffle(&mut names);
        let size = |name: &str| members.iter().filter(|&&i| families[i] == name).count();
        // Stable sort keeps the shuffled order among equal sizes.
        names.sort_by_key(|n| std::cmp::Reverse(size(n)));
        let mut load = vec![0usize; folds];
        for name in names {
            let (k, _) = load
                .iter()
                .enumerate()
                .min_by_key(|(_, l)| **l)
                .unwrap_or((0, &0));
            for &i in &members {
                if families[i] == name {
                    fold_of[i] = k;
                }
            }
            load[k] += size(name);
        }
        let mut spread: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| is_augmentation_family(families[i]))
            .collect();
        rng.shuffle(&mut spread);
        for (n, i) in spread.into_iter().enumerate() {
            fold_of[i] = n % folds;
        }
    }
    fold_of
}

/// What bag `k`'s seeds are XORed with (0 for bag 0, so one bag trains as without bagging).
fn bag_seed(k: usize) -> u64 {
    (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Progress label of bag `k` of a model: `edge/cal` for bag 0, `edge/bag3` for bag 3.
fn stage_name(model: &str, k: usize) -> String {
    if k == 0 {
        format!("{model}/cal")
    } else {
        format!("{model}/bag{k}")
    }
}

/// Whether a family is training augmentation (generated or joined) rather than collected data.
fn is_augmentation_family(name: &str) -> bool {
    name.contains(":generated_") || name == data::JOINED_FAMILY
}

/// The quantized edge scorer's raw margin on a featurized example.
pub fn edge_margin(scorer: &LinearScorer, e: &Example) -> f32 {
    let mut signals = [0.0f32; SIGNALS];
    for (s, x) in signals.iter_mut().zip(&e.signals) {
        *s = *x;
    }
    scorer.text_margin_of(&e.indices, e.value) + scorer.signal_margin(&signals)
}

/// Which buckets occur in at least `min_families` distinct families.
pub fn shared_buckets(
    examples: &[Example],
    families: &[&str],
    dim: usize,
    min_families: usize,
) -> Vec<bool> {
    let mut names: Vec<&str> = families.to_vec();
    names.sort_unstable();
    names.dedup();
    // Joined examples are made of other families' text: they are no evidence that a bucket
    // generalizes across families.
    names.retain(|n| *n != data::JOINED_FAMILY);
    let mut count = vec![0u16; dim];
    for name in names {
        let mut seen = vec![false; dim];
        for (e, _) in examples.iter().zip(families).filter(|(_, f)| **f == name) {
            for &b in &e.indices {
                if let Some(s) = seen.get_mut(b as usize) {
                    *s = true;
                }
            }
        }
        for (c, s) in count.iter_mut().zip(seen) {
            *c += u16::from(s);
        }
    }
    count
        .into_iter()
        .map(|c| usize::from(c) >= min_families)
        .collect()
}

/// Trains and calibrates both models: models trained on the [`calibration_split`]'s fit part
/// score its calibration part, and Platt's curve is fitted on those scores. The shipped models
/// are those models (or, with [`FitConfig::refit`], models retrained on every item with the
/// same settings, taking the same curve). `progress(stage, epoch, loss)` reports each epoch.
pub fn fit(
    features: &[Featurized],
    labels: &[bool],
    families: &[&str],
    config: &FitConfig,
    backend: Backend,
    mut progress: impl FnMut(&str, usize, f64),
) -> Result<Trained, String> {
    if features.len() != labels.len() || features.len() != families.len() || features.is_empty() {
        return Err("no training data".into());
    }
    if labels.iter().all(|&m| m) || labels.iter().all(|&m| !m) {
        return Err("training data needs both malicious and benign items".into());
    }
    if !(1..=cloud::MAX_MEMBERS).contains(&config.cloud_bags) {
        return Err(format!(
            "cloud bags: {} asked, 1 to {} supported",
            config.cloud_bags,
            cloud::MAX_MEMBERS
        ));
    }
    let all_idx: Vec<usize> = (0..labels.len()).collect();
    let pick = |idx: &[usize], edge: bool| -> (Vec<Example>, Vec<bool>) {
        idx.iter()
            .map(|&i| {
                let f = &features[i];
                (
                    if edge {
                        f.edge.clone()
                    } else {
                        f.cloud.clone()
                    },
                    labels[i],
                )
            })
            .unzip()
    };
    // Training inputs keep only buckets seen in several families: a bucket that occurs in one
    // family alone identifies that family's template or style, not an attack.
    let pick_train = |idx: &[usize], edge: bool| -> (Vec<Example>, Vec<bool>, Vec<f32>) {
        let (mut x, y) = pick(idx, edge);
        let fams: Vec<&str> = idx.iter().map(|&i| families[i]).collect();
        let dim = if edge {
            EDGE_DIM as usize
        } else {
            CLOUD_SHAPE.dim
        };
        let keep = shared_buckets(&x, &fams, dim, config.min_families);
        for e in &mut x {
            e.indices.retain(|&b| keep[b as usize]);
        }
        let mut w = balanced_weights(&y, &fams);
        let mut y = y;
        add_signal_free_copies(&mut x, &mut y, &mut w, config.signal_dropout);
        (x, y, w)
    };
    let plain = backend.device();
    let device = plain.clone().autodiff();
    // The edge model's float weights, n-gram signal weights and bias.
    let train_edge_floats =
        |idx: &[usize], stage: &str, progress: &mut dyn FnMut(&str, usize, f64)| {
            plain.seed(config.seed);
            let (x, y, w) = pick_train(idx, true);
            let model = train(
                EdgeModel::new(EDGE_DIM as usize, &device),
                |m: &EdgeModel, i, v, s| m.forward(i, v, s),
                &x,
                &y,
                &w,
                config.edge,
                &device,
                |e, l| progress(stage, e, l),
            );
            let model = model.valid();
            let (weights, bias) = model.export();
            (weights, model.export_signals(), bias)
        };
    let train_edge = |idx: &[usize], stage: &str, progress: &mut dyn FnMut(&str, usize, f64)| {
        let (weights, signals, bias) = train_edge_floats(idx, stage, progress);
        LinearScorer::from_weights(&weights, signals, bias, 1.0, 0.0).map_err(|e| e.to_string())
    };
    // Cloud model `member` of an ensemble (0: the single model) on the items `idx`.
    let train_cloud_member =
        |idx: &[usize], member: usize, stage: &str, progress: &mut dyn FnMut(&str, usize, f64)| {
            let shift = bag_seed(member);
            plain.seed(config.seed ^ 0x5EED ^ shift);
            let (x, y, w) = pick_train(idx, false);
            let mut settings = config.cloud;
            settings.seed ^= shift;
            train(
                CloudModel::new(CLOUD_SHAPE, &device),
                |m: &CloudModel, i, v, s| m.forward(i, v, s),
                &x,
                &y,
                &w,
                settings,
                &device,
                |e, l| progress(stage, e, l),
            )
            .valid()
        };
    let train_cloud = |idx: &[usize], stage: &str, progress: &mut dyn FnMut(&str, usize, f64)| {
        train_cloud_member(idx, 0, stage, progress)
    };
    // Bag `k`'s (fit, calibration) split: the [`calibration_split`] of the seed for bag 0
    // (`bag_seed(0)` is 0), of a seed of its own for every further bag.
    let bag_split = |k: usize| {
        calibration_split(
            labels,
            families,
            config.calibration_share,
            config.seed ^ bag_seed(k),
            config.calibrate_on_collected_only,
            &config.fit_only_families,
        )
    };
    let cloud_forward = |m: &CloudModel, i, v, s| m.forward(i, v, s);

    let ((edge_a, edge_b), cloud_curves, edge, cloud_members, lexical) = if config.calibration_folds
        >= 2
    {
        // Cross-fitted: every item scored by models that did not see its fold.
        let fold_of = calibration_folds(labels, families, config.calibration_folds, config.seed);
        let mut edge_margins = vec![0.0f32; labels.len()];
        let mut cloud_margins = vec![0.0f32; labels.len()];
        for k in 0..config.calibration_folds {
            let (held, rest): (Vec<usize>, Vec<usize>) =
                all_idx.iter().partition(|&&i| fold_of[i] == k);
            if held.is_empty() || rest.is_empty() {
                continue;
            }
            let edge_k = train_edge(&rest, &format!("edge/cal{k}"), &mut progress)?;
            let (xh, _) = pick(&held, true);
            for (&i, e) in held.iter().zip(&xh) {
                edge_margins[i] = edge_margin(&edge_k, e);
            }
            let cloud_k = train_cloud(&rest, &format!("cloud/cal{k}"), &mut progress);
            let (xh, _) = pick(&held, false);
            for (&i, m) in held
                .iter()
                .zip(predict(&cloud_k, cloud_forward, &xh, &plain))
            {
                cloud_margins[i] = m;
            }
        }
        (
            metrics::fit_platt(&edge_margins, labels),
            vec![metrics::fit_platt(&cloud_margins, labels)],
            train_edge(&all_idx, "edge", &mut progress)?,
            vec![train_cloud(&all_idx, "cloud", &mut progress)],
            None,
        )
    } else {
        // Calibration curves from models that did not see the calibration part. With
        // `edge_bags` or `lexical_bags` > 1, more splits (bag 0 is the split above), each edge
        // model calibrated on what its split set aside.
        let bags = config.edge_bags.max(config.lexical_bags).max(1);
        let mut trained_bags = Vec::with_capacity(bags);
        let (mut pooled_margins, mut pooled_labels) = (Vec::new(), Vec::new());
        let mut first = None;
        for k in 0..bags {
            let (fit_k, calib_k) = bag_split(k);
            let stage = stage_name("edge", k);
            let (w, sig, b) = train_edge_floats(&fit_k, &stage, &mut progress);
            let scorer =
                LinearScorer::from_weights(&w, sig, b, 1.0, 0.0).map_err(|e| e.to_string())?;
            let (xc, yc) = pick(&calib_k, true);
            let margins: Vec<f32> = xc.iter().map(|e| edge_margin(&scorer, e)).collect();
            let curve = metrics::fit_platt(&margins, &yc);
            if k < config.edge_bags {
                pooled_margins.extend(margins);
                pooled_labels.extend(yc);
            }
            first.get_or_insert((scorer, curve));
            trained_bags.push((w, sig, b, curve));
        }
        let edge_bags = config.edge_bags.clamp(1, bags);
        let (edge_cal, edge_curve) = match first {
            Some(single) if edge_bags == 1 => single,
            _ if config.pooled_bag_calibration => {
                // Raw weights averaged, one curve fitted on every bag's held-back margins.
                let raw: Vec<_> = trained_bags[..edge_bags]
                    .iter()
                    .map(|(w, sig, b, _)| (w.clone(), *sig, *b, (1.0, 0.0)))
                    .collect();
                (
                    average_calibrated(&raw)?,
                    metrics::fit_platt(&pooled_margins, &pooled_labels),
                )
            }
            _ => (average_calibrated(&trained_bags[..edge_bags])?, (1.0, 0.0)),
        };
        let lexical = if config.lexical_bags >= 2 {
            Some(average_calibrated(&trained_bags[..config.lexical_bags])?)
        } else {
            None
        };
        // The cloud classifier: one model per cloud bag. One curve, fitted on every member's
        // margins on what its own split set aside (pooled), serves all members: the average of
        // their calibrated log-odds is then that curve applied to their mean margin, and no
        // member whose held-back families happened to separate easily dominates it.
        let mut cloud_members = Vec::new();
        let (mut pooled_margins, mut pooled_labels) = (Vec::new(), Vec::new());
        for k in 0..config.cloud_bags {
            let (fit_k, calib_k) = bag_split(k);
            let model = train_cloud_member(&fit_k, k, &stage_name("cloud", k), &mut progress);
            let (xc, yc) = pick(&calib_k, false);
            pooled_margins.extend(predict(&model, cloud_forward, &xc, &plain));
            pooled_labels.extend(yc);
            cloud_members.push(model);
        }
        let cloud_curves =
            vec![metrics::fit_platt(&pooled_margins, &pooled_labels); cloud_members.len()];
        // The shipped models, on everything.
        let (edge, cloud_members) = if config.refit {
            let mut refitted = Vec::new();
            for k in 0..cloud_members.len() {
                refitted.push(train_cloud_member(&all_idx, k, "cloud", &mut progress));
            }
            (train_edge(&all_idx, "edge", &mut progress)?, refitted)
        } else {
            (edge_cal, cloud_members)
        };
        (edge_curve, cloud_curves, edge, cloud_members, lexical)
    };
    let edge = edge.with_calibration(edge_a, edge_b);
    let (cloud_a, cloud_b) = cloud_curves.first().copied().unwrap_or((1.0, 0.0));
    let meta = CloudMeta {
        format: 1,
        dim: CLOUD_SHAPE.dim,
        width: CLOUD_SHAPE.width,
        hidden: CLOUD_SHAPE.hidden,
        signals: SIGNALS,
        platt_a: cloud_a,
        platt_b: cloud_b,
        bag_curves: cloud_curves.iter().skip(1).map(|&(a, b)| [a, b]).collect(),
        block_threshold: cloud::DEFAULT_BLOCK_THRESHOLD,
        combined_threshold: None,
        lexical_weight: None,
    };
    Ok(Trained {
        edge,
        cloud: CloudClassifier::from_members(cloud_members, meta, plain)?.with_lexical(lexical),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Labels and family names of `n` items per `(family, n, malicious)`.
    fn items(spec: &[(&'static str, usize, bool)]) -> (Vec<bool>, Vec<&'static str>) {
        spec.iter()
            .flat_map(|&(name, n, malicious)| core::iter::repeat_n((malicious, name), n))
            .unzip()
    }

    #[test]
    fn signal_free_copies_move_weight_and_keep_everything_else() {
        let example = |signals: Vec<f32>| Example {
            indices: vec![3, 7],
            value: 0.5,
            signals,
        };
        let original = vec![
            example(vec![0.0, 1.0]),
            example(vec![0.0, 0.0]),
            example(vec![2.0, 0.0]),
        ];
        let (mut x, mut y, mut w) = (
            original.clone(),
            vec![true, false, false],
            vec![4.0, 2.0, 1.0],
        );
        add_signal_free_copies(&mut x, &mut y, &mut w, 0.25);
        // The items without a signal get no copy; each copy follows the originals.
        assert_eq!(x.len(), 5);
        assert_eq!(y, [true, false, false, true, false]);
        assert_eq!(w, [3.0, 2.0, 0.75, 1.0, 0.25]);
        for (copy, of) in x[3..].iter().zip([&original[0], &original[2]]) {
            assert_eq!(copy.indices, of.indices);
            assert_eq!(copy.value, of.value);
            assert!(copy.signals.iter().all(|&s| s == 0.0));
        }
        assert_eq!(
            x[..3].iter().map(|e| e.signals.clone()).collect::<Vec<_>>(),
            original
                .iter()
                .map(|e| e.signals.clone())
                .collect::<Vec<_>>()
        );
        // The total weight stays what it was.
        assert_eq!(w.iter().sum::<f32>(), 7.0);
        // 0 changes nothing.
        let (mut x0, mut y0, mut w0) = (
            original.clone(),
            vec![true, false, false],
            vec![4.0, 2.0, 1.0],
        );
        add_signal_free_copies(&mut x0, &mut y0, &mut w0, 0.0);
        assert_eq!((x0.len(), w0), (3, vec![4.0, 2.0, 1.0]));
    }

    #[test]
    fn calibration_can_leave_generated_families_in_the_fit_part() {
        let (labels, families) = items(&[
            ("b:docs", 40, false),
            ("b:chat", 300, false),
            ("b:math", 20, false),
            ("b:generated_docs", 30, false),
            ("m:wild", 300, true),
            ("m:encoded", 30, true),
            ("m:leak", 20, true),
            ("m:generated_injection", 30, true),
        ]);
        let whole = |calib: &[usize], name: &str| {
            calib.iter().filter(|&&i| families[i] == name).count()
                == families.iter().filter(|f| **f == name).count()
        };
        let mut generated_taken = false;
        for seed in 0..20 {
            let (_, calib) = calibration_split(&labels, &families, 0.2, seed, true, &[]);
            for generated in ["b:generated_docs", "m:generated_injection"] {
                assert!(
                    !whole(&calib, generated),
                    "seed {seed}: {generated} taken whole"
                );
            }
            assert!(["b:docs", "b:math"].iter().any(|f| whole(&calib, f)));
            assert!(["m:encoded", "m:leak"].iter().any(|f| whole(&calib, f)));
            let (_, calib) = calibration_split(&labels, &families, 0.2, seed, false, &[]);
            generated_taken |=
                whole(&calib, "b:generated_docs") || whole(&calib, "m:generated_injection");
        }
        assert!(
            generated_taken,
            "the default split never took a generated family whole"
        );
    }

    #[test]
    fn fit_only_families_always_fit_and_leave_the_rest_of_the_split_unchanged() {
        let base = [
            ("b:docs", 40, false),
            ("b:chat", 300, false),
            ("b:math", 20, false),
            ("m:wild", 300, true),
            ("m:encoded", 30, true),
            ("m:leak", 20, true),
        ];
        let (labels, families) = items(&base);
        let mut extended = base.to_vec();
        // Interleave the new families among the old ones, as extra files would add them.
        extended.insert(1, ("b:new_lookalikes", 90, false));
        extended.push(("m:new_intents", 120, true));
        let (labels2, families2) = items(&extended);
        let fit_only = ["b:new_lookalikes".to_string(), "m:new_intents".to_string()];
        // Map each old item to its position in the extended list (same order within families).
        let old_positions: Vec<usize> = (0..labels2.len())
            .filter(|&i| !fit_only.iter().any(|f| f == families2[i]))
            .collect();
        assert_eq!(old_positions.len(), labels.len());
        for seed in 0..20 {
            let (_, calib) = calibration_split(&labels, &families, 0.2, seed, false, &[]);
            let (_, calib2) = calibration_split(&labels2, &families2, 0.2, seed, false, &fit_only);
            let mapped: Vec<usize> = calib.iter().map(|&i| old_positions[i]).collect();
            assert_eq!(mapped, calib2, "seed {seed}: the old items' split changed");
            assert!(calib2
                .iter()
                .all(|&i| !fit_only.iter().any(|f| f == families2[i])));
        }
    }

    #[test]
    fn calibration_folds_keep_collected_families_whole_and_spread_generated_items() {
        let (labels, families) = items(&[
            ("b:chat", 300, false),
            ("b:code", 200, false),
            ("b:math", 120, false),
            ("b:docs", 40, false),
            ("b:generated_docs", 60, false),
            ("m:wild", 400, true),
            ("m:inject", 150, true),
            ("m:encoded", 120, true),
            ("m:leak", 20, true),
            ("m:generated_injection", 60, true),
        ]);
        for seed in 0..10 {
            let fold_of = calibration_folds(&labels, &families, 2, seed);
            let folds_of = |name: &str| {
                let mut f: Vec<usize> = (0..labels.len())
                    .filter(|&i| families[i] == name)
                    .map(|i| fold_of[i])
                    .collect();
                f.sort_unstable();
                f.dedup();
                f
            };
            for name in [
                "b:chat",
                "b:code",
                "b:math",
                "b:docs",
                "m:wild",
                "m:inject",
                "m:encoded",
                "m:leak",
            ] {
                assert_eq!(
                    folds_of(name).len(),
                    1,
                    "seed {seed}: {name} split across folds"
                );
            }
            for name in ["b:generated_docs", "m:generated_injection"] {
                assert_eq!(folds_of(name), vec![0, 1], "seed {seed}: {name} not spread");
            }
            // Balanced: the largest family goes alone against the rest (400 vs 350 + 40 ...).
            for class in [false, true] {
                let count = |k: usize| {
                    (0..labels.len())
                        .filter(|&i| labels[i] == class && fold_of[i] == k)
                        .count()
                };
                let (a, b) = (count(0), count(1));
                assert!(a.abs_diff(b) * 3 <= a + b, "seed {seed}: folds {a} vs {b}");
            }
        }
    }
}
