//! The feedback adapter: a logistic correction to the cloud classifier, refitted from the
//! attacks and false positives operators confirm through `/v1/feedback`.
//!
//! The attack memory ([`super::attack`]) keys on the prompt's lexical embedding, so it knows
//! near-copies of what it learned and little else. The adapter reads what the cloud classifier
//! reads — its encoder's bag vector, plus the lexical embedding — and keeps the classifier's
//! own opinion as a fixed offset:
//!
//! ```text
//! φ(x) = [ (bag(x) − μ) / σ ,  W_LEX · lexical(x) ]       μ, σ: of the benign reference
//! p(x) = sigmoid( logit(p_cloud(x)) + w·φ(x) + b )
//! ```
//!
//! `w, b` are fitted by weighted L2-regularized logistic regression: the confirmed attacks
//! (half the weight) against a *benign reference* — a seeded sample of the classifier's benign
//! training items, shipped with the model — plus the confirmed false positives (the other
//! half). Because the classifier's score is the offset, a few examples only have to move the
//! prompts the classifier was unsure about, and the benign reference keeps the correction off
//! ordinary traffic. A prompt is recognized when `p(x)` reaches the policy's threshold.
//!
//! Everything is plain, deterministic arithmetic on small vectors: a refit (500 gradient
//! steps over ≤ 512 + 128 rows of 289 features) takes tens of milliseconds and happens on
//! feedback only, never on the request path.

use std::collections::VecDeque;
use std::path::Path;

use super::neural::{f16_to_f32, f32_to_f16};
use super::EMBEDDING_DIM;
use crate::learn::cloud::CloudClassifier;
use crate::learn::models::{Example, SplitMix};
use crate::learn::Featurized;

/// Weight of the lexical embedding next to the standardized bag (a unit vector spread over
/// 256 dimensions, scaled so each dimension is about as large as a standardized bag one).
pub const LEXICAL_WEIGHT: f32 = 16.0;

/// Confirmed cases of each kind kept (and refitted on).
pub const MAX_CASES: usize = 64;

/// Most rows a benign reference may hold.
pub const MAX_REFERENCE: usize = 512;

/// Widest encoder a reference may describe.
const MAX_WIDTH: usize = 256;

/// Each confirmed false positive weighs this many reference rows.
const FALSE_POSITIVE_WEIGHT: f32 = 8.0;

const STEPS: usize = 500;
const STEP_SIZE: f32 = 0.5;
const L2: f32 = 0.01;

/// File the benign reference is saved in, next to the cloud model.
pub const REFERENCE_FILE: &str = "reference.bin";

/// The adapter's view of one prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct AdapterInput {
    /// The cloud encoder's bag vector weighted as the classifier weights it (`sum / √n`).
    pub encoder: Vec<f32>,
    /// The lexical embedding ([`super::lexical_embedding`]).
    pub lexical: Vec<f32>,
    /// The cloud classifier's calibrated log-odds.
    pub logit: f32,
}

impl AdapterInput {
    /// The input from the encoder's bucket sum and count, the lexical embedding and the cloud
    /// probability.
    pub fn new(sum: &[f32], buckets: f32, lexical: &[f32], probability: f32) -> AdapterInput {
        let scale = if buckets > 0.0 {
            1.0 / buckets.sqrt()
        } else {
            0.0
        };
        let p = probability.clamp(1e-6, 1.0 - 1e-6);
        AdapterInput {
            encoder: sum.iter().map(|x| x * scale).collect(),
            lexical: lexical.to_vec(),
            logit: (p / (1.0 - p)).ln(),
        }
    }

    /// The input of one featurized prompt under `cloud`.
    pub fn of(cloud: &CloudClassifier, example: &Example) -> AdapterInput {
        let encoding = cloud.encode(example);
        AdapterInput::new(
            cloud.adapter_bag(&encoding),
            encoding.buckets,
            &super::lexical_embedding(&example.indices),
            cloud.probability(example),
        )
    }

    fn well_formed(&self, width: usize) -> bool {
        self.encoder.len() == width
            && self.lexical.len() == EMBEDDING_DIM
            && self.logit.is_finite()
            && self
                .encoder
                .iter()
                .chain(&self.lexical)
                .all(|x| x.is_finite())
    }

    fn encode(&self, out: &mut Vec<u8>) {
        for x in self
            .encoder
            .iter()
            .chain(&self.lexical)
            .chain(std::iter::once(&self.logit))
        {
            out.extend_from_slice(&f32_to_f16(*x).to_le_bytes());
        }
    }

    fn decode(bytes: &mut &[u8], width: usize) -> Option<AdapterInput> {
        let len = 2 * (width + EMBEDDING_DIM + 1);
        let raw = bytes.get(..len)?;
        *bytes = &bytes[len..];
        let mut v: Vec<f32> = raw
            .chunks_exact(2)
            .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
            .collect();
        let logit = v.pop()?;
        let lexical = v.split_off(width);
        let input = AdapterInput {
            encoder: v,
            lexical,
            logit,
        };
        input.well_formed(width).then_some(input)
    }
}

/// Benign prompts the adapter is fitted against, and the statistics that standardize the bag.
#[derive(Debug, Clone, PartialEq)]
pub struct BenignReference {
    mean: Vec<f32>,
    scale: Vec<f32>,
    rows: Vec<AdapterInput>,
    /// FNV-1a of the encoded rows: which model (and training data) the reference belongs to.
    fingerprint: u64,
}

impl BenignReference {
    /// A reference from benign inputs (at most [`MAX_REFERENCE`] are kept, in order); `None`
    /// if there are none or their shapes differ.
    pub fn new(mut rows: Vec<AdapterInput>) -> Option<BenignReference> {
        rows.truncate(MAX_REFERENCE);
        let width = rows.first()?.encoder.len();
        if width == 0 || width > MAX_WIDTH || !rows.iter().all(|r| r.well_formed(width)) {
            return None;
        }
        let n = rows.len() as f32;
        let mut mean = vec![0.0f32; width];
        for r in &rows {
            mean.iter_mut()
                .zip(&r.encoder)
                .for_each(|(m, x)| *m += x / n);
        }
        let mut scale = vec![0.0f32; width];
        for r in &rows {
            scale
                .iter_mut()
                .zip(r.encoder.iter().zip(&mean))
                .for_each(|(s, (x, m))| *s += (x - m) * (x - m) / n);
        }
        scale.iter_mut().for_each(|s| *s = 1.0 / (s.sqrt() + 1e-6));
        let mut encoded = Vec::new();
        for r in &rows {
            r.encode(&mut encoded);
        }
        let fingerprint = encoded.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Some(BenignReference {
            mean,
            scale,
            rows,
            fingerprint,
        })
    }

    /// The reference for `cloud` from benign training examples: a `seed`ed sample of at most
    /// [`MAX_REFERENCE`].
    pub fn sample(
        cloud: &CloudClassifier,
        benign: &[&Example],
        seed: u64,
    ) -> Option<BenignReference> {
        let mut order: Vec<usize> = (0..benign.len()).collect();
        SplitMix(seed ^ 0x5EF0).shuffle(&mut order);
        order.truncate(MAX_REFERENCE);
        BenignReference::new(
            order
                .iter()
                .map(|&i| AdapterInput::of(cloud, benign[i]))
                .collect(),
        )
    }

    /// The reference `train` ships: sampled from the benign ones of its training items.
    pub fn from_training(
        cloud: &CloudClassifier,
        features: &[Featurized],
        labels: &[bool],
        seed: u64,
    ) -> Option<BenignReference> {
        let benign: Vec<&Example> = features
            .iter()
            .zip(labels)
            .filter(|(_, &malicious)| !malicious)
            .map(|(f, _)| &f.cloud)
            .collect();
        BenignReference::sample(cloud, &benign, seed)
    }

    /// Width of the encoder this reference belongs to.
    pub fn width(&self) -> usize {
        self.mean.len()
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether it holds no rows (never true for a constructed reference).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn features(&self, input: &AdapterInput) -> Vec<f32> {
        let mut f = Vec::with_capacity(self.width() + EMBEDDING_DIM);
        f.extend(
            input
                .encoder
                .iter()
                .zip(self.mean.iter().zip(&self.scale))
                .map(|(x, (m, s))| (x - m) * s),
        );
        f.extend(input.lexical.iter().map(|x| x * LEXICAL_WEIGHT));
        f
    }

    /// `MNBR`, version, width, rows, then each row in half floats (statistics are recomputed
    /// on load).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = b"MNBR".to_vec();
        out.push(1);
        out.extend_from_slice(&(self.width() as u16).to_le_bytes());
        out.extend_from_slice(&(self.rows.len() as u16).to_le_bytes());
        for r in &self.rows {
            r.encode(&mut out);
        }
        out
    }

    /// Reads what [`encode`](Self::encode) wrote; `None` for anything else.
    pub fn decode(bytes: &[u8]) -> Option<BenignReference> {
        if bytes.len() < 9 || &bytes[..4] != b"MNBR" || bytes[4] != 1 {
            return None;
        }
        let width = usize::from(u16::from_le_bytes([bytes[5], bytes[6]]));
        let n = usize::from(u16::from_le_bytes([bytes[7], bytes[8]]));
        if width == 0 || width > MAX_WIDTH || n == 0 || n > MAX_REFERENCE {
            return None;
        }
        let mut rest = &bytes[9..];
        let rows = (0..n)
            .map(|_| AdapterInput::decode(&mut rest, width))
            .collect::<Option<Vec<_>>>()?;
        if !rest.is_empty() {
            return None;
        }
        BenignReference::new(rows)
    }

    /// The reference shipped with the built-in cloud model (written by `train`; a test checks
    /// it decodes and matches the model).
    pub fn builtin() -> Result<BenignReference, String> {
        BenignReference::decode(BUILTIN_REFERENCE)
            .ok_or_else(|| "the built-in models/reference.bin is corrupt".to_string())
    }

    /// The reference in a model directory, if the directory has one.
    pub fn load(dir: &Path) -> Result<Option<BenignReference>, String> {
        let path = dir.join(REFERENCE_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => BenignReference::decode(&bytes)
                .map(Some)
                .ok_or_else(|| format!("{}: not a benign reference file", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }
}

const BUILTIN_REFERENCE: &[u8] = include_bytes!("../../models/reference.bin");

/// The fitted correction and the confirmed cases it was fitted on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeedbackAdapter {
    attacks: VecDeque<AdapterInput>,
    false_positives: VecDeque<AdapterInput>,
    weights: Vec<f32>,
    bias: f32,
    /// Fingerprint of the reference (so of the model) the cases and weights belong to.
    reference: u64,
}

impl FeedbackAdapter {
    /// Confirmed attacks held.
    pub fn attacks(&self) -> usize {
        self.attacks.len()
    }

    /// Adds one confirmed case and refits against `reference`. Inputs of another width than
    /// the reference's (a different model) are ignored; returns whether it was learned.
    pub fn learn(
        &mut self,
        input: &AdapterInput,
        malicious: bool,
        reference: &BenignReference,
    ) -> bool {
        if !input.well_formed(reference.width()) {
            return false;
        }
        // Cases learned under another model (the cloud model was replaced or retrained) are
        // vectors of another space: they cannot be refitted.
        if self.reference != reference.fingerprint {
            self.attacks.clear();
            self.false_positives.clear();
            self.reference = reference.fingerprint;
        }
        let cases = if malicious {
            &mut self.attacks
        } else {
            &mut self.false_positives
        };
        cases.push_back(input.clone());
        while cases.len() > MAX_CASES {
            cases.pop_front();
        }
        self.refit(reference);
        true
    }

    /// The adapted probability that a prompt is an attack; `None` until an attack is learned
    /// (or when the input does not fit the reference).
    pub fn probability(&self, input: &AdapterInput, reference: &BenignReference) -> Option<f32> {
        if self.attacks.is_empty()
            || self.reference != reference.fingerprint
            || !input.well_formed(reference.width())
        {
            return None;
        }
        if self.weights.len() != reference.width() + EMBEDDING_DIM {
            return None;
        }
        let f = reference.features(input);
        let z = input.logit + self.bias + dot(&self.weights, &f);
        Some(shared_core::scorer::sigmoid(z))
    }

    fn refit(&mut self, reference: &BenignReference) {
        let dims = reference.width() + EMBEDDING_DIM;
        self.weights = vec![0.0; dims];
        self.bias = 0.0;
        if self.attacks.is_empty() {
            return;
        }
        // (features, offset, label, weight): attacks share half the weight, the reference
        // and the confirmed false positives the other half.
        let mut rows: Vec<(Vec<f32>, f32, f32, f32)> = Vec::new();
        let attack_weight = 0.5 / self.attacks.len() as f32;
        for a in &self.attacks {
            rows.push((reference.features(a), a.logit, 1.0, attack_weight));
        }
        let negatives =
            reference.len() as f32 + FALSE_POSITIVE_WEIGHT * self.false_positives.len() as f32;
        for r in &reference.rows {
            rows.push((reference.features(r), r.logit, 0.0, 0.5 / negatives));
        }
        for fp in &self.false_positives {
            rows.push((
                reference.features(fp),
                fp.logit,
                0.0,
                0.5 * FALSE_POSITIVE_WEIGHT / negatives,
            ));
        }
        let mut grad = vec![0.0f32; dims];
        for _ in 0..STEPS {
            grad.iter_mut().for_each(|g| *g = 0.0);
            let mut grad_bias = 0.0f32;
            for (f, offset, label, weight) in &rows {
                let z = (offset + self.bias + dot(&self.weights, f)).clamp(-50.0, 50.0);
                let err = (shared_core::scorer::sigmoid(z) - label) * weight;
                grad.iter_mut().zip(f).for_each(|(g, x)| *g += err * x);
                grad_bias += err;
            }
            self.weights
                .iter_mut()
                .zip(&grad)
                .for_each(|(w, g)| *w -= STEP_SIZE * (g + L2 * *w));
            self.bias -= STEP_SIZE * grad_bias;
        }
    }

    /// The reference fingerprint, cases in half floats, fitted weights in full floats.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let width = self.attacks.front().or(self.false_positives.front());
        let width = width.map_or(0, |c| c.encoder.len());
        out.extend_from_slice(&self.reference.to_le_bytes());
        out.extend_from_slice(&(width as u16).to_le_bytes());
        for cases in [&self.attacks, &self.false_positives] {
            out.push(cases.len() as u8);
            for c in cases {
                c.encode(out);
            }
        }
        out.extend_from_slice(&(self.weights.len() as u16).to_le_bytes());
        for w in self.weights.iter().chain(std::iter::once(&self.bias)) {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }

    /// Reads what [`encode`](Self::encode) wrote from the front of `bytes`.
    pub fn decode(bytes: &mut &[u8]) -> Option<FeedbackAdapter> {
        let reference = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
        *bytes = &bytes[8..];
        let width = usize::from(u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]));
        if width > MAX_WIDTH {
            return None;
        }
        *bytes = &bytes[2..];
        let mut read_cases = || -> Option<VecDeque<AdapterInput>> {
            let n = usize::from(*bytes.first()?);
            if n > MAX_CASES || (n > 0 && width == 0) {
                return None;
            }
            *bytes = &bytes[1..];
            (0..n).map(|_| AdapterInput::decode(bytes, width)).collect()
        };
        let attacks = read_cases()?;
        let false_positives = read_cases()?;
        let dims = usize::from(u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]));
        if dims != 0 && dims != width + EMBEDDING_DIM {
            return None;
        }
        *bytes = &bytes[2..];
        let raw = bytes.get(..4 * (dims + 1))?;
        *bytes = &bytes[4 * (dims + 1)..];
        let mut weights: Vec<f32> = raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if weights.iter().any(|w| !w.is_finite()) {
            return None;
        }
        let bias = weights.pop()?;
        Some(FeedbackAdapter {
            attacks,
            false_positives,
            weights,
            bias,
            reference,
        })
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIDTH: usize = 8;

    fn noise(rng: &mut SplitMix) -> f32 {
        (rng.next_u64() % 2001) as f32 / 1000.0 - 1.0
    }

    /// A benign-looking input (bag around 0, unsure classifier) or an attack-looking one (the
    /// first bag dimension high) — the classifier itself is unsure of both.
    fn input(rng: &mut SplitMix, attack: bool) -> AdapterInput {
        let mut encoder: Vec<f32> = (0..WIDTH).map(|_| noise(rng)).collect();
        if attack {
            encoder[0] += 4.0;
        }
        let mut lexical: Vec<f32> = (0..EMBEDDING_DIM).map(|_| noise(rng)).collect();
        let norm = lexical.iter().map(|x| x * x).sum::<f32>().sqrt();
        lexical.iter_mut().for_each(|x| *x /= norm);
        AdapterInput {
            encoder,
            lexical,
            logit: -1.0,
        }
    }

    fn reference(rng: &mut SplitMix) -> BenignReference {
        BenignReference::new((0..200).map(|_| input(rng, false)).collect()).unwrap()
    }

    #[test]
    fn learns_a_direction_from_a_few_attacks_and_keeps_benign_below() {
        let mut rng = SplitMix(7);
        let reference = reference(&mut rng);
        let mut adapter = FeedbackAdapter::default();
        let probe = input(&mut rng, true);
        assert_eq!(adapter.probability(&probe, &reference), None);
        for _ in 0..10 {
            assert!(adapter.learn(&input(&mut rng, true), true, &reference));
        }
        let mut recognized = |attack: bool| {
            (0..100)
                .filter(|_| {
                    adapter
                        .probability(&input(&mut rng, attack), &reference)
                        .unwrap()
                        >= 0.5
                })
                .count()
        };
        let caught = recognized(true);
        let false_alarms = recognized(false);
        assert!(caught >= 90, "{caught} of 100 unseen attacks recognized");
        assert!(false_alarms <= 2, "{false_alarms} of 100 benign recognized");
    }

    #[test]
    fn a_confirmed_false_positive_pulls_its_neighbourhood_back() {
        let mut rng = SplitMix(11);
        let reference = reference(&mut rng);
        let mut adapter = FeedbackAdapter::default();
        for _ in 0..10 {
            adapter.learn(&input(&mut rng, true), true, &reference);
        }
        let mut near_miss = input(&mut rng, true);
        near_miss.encoder[0] -= 1.5;
        let before = adapter.probability(&near_miss, &reference).unwrap();
        for _ in 0..5 {
            adapter.learn(&near_miss, false, &reference);
        }
        let after = adapter.probability(&near_miss, &reference).unwrap();
        assert!(after < before, "{before} → {after}");
    }

    #[test]
    fn inputs_of_another_model_are_refused() {
        let mut rng = SplitMix(3);
        let reference = reference(&mut rng);
        let mut adapter = FeedbackAdapter::default();
        let mut wide = input(&mut rng, true);
        wide.encoder.push(0.0);
        assert!(!adapter.learn(&wide, true, &reference));
        assert_eq!(adapter.attacks(), 0);
        adapter.learn(&input(&mut rng, true), true, &reference);
        assert_eq!(adapter.probability(&wide, &reference), None);
    }

    #[test]
    fn a_new_model_starts_the_adapter_over() {
        let mut rng = SplitMix(13);
        let reference = reference(&mut rng);
        let mut adapter = FeedbackAdapter::default();
        for _ in 0..3 {
            adapter.learn(&input(&mut rng, true), true, &reference);
        }
        // A retrained model of the same shape: its reference differs, the old cases are
        // vectors of another space.
        let retrained =
            BenignReference::new((0..50).map(|_| input(&mut rng, false)).collect()).unwrap();
        assert_eq!(retrained.width(), reference.width());
        let probe = input(&mut rng, true);
        assert!(adapter.probability(&probe, &reference).is_some());
        assert_eq!(adapter.probability(&probe, &retrained), None, "silent");
        assert!(adapter.learn(&input(&mut rng, true), true, &retrained));
        assert_eq!(adapter.attacks(), 1, "the old model's cases were dropped");
        assert!(adapter.probability(&probe, &retrained).is_some());
        // Another shape altogether: refused until a case of that shape comes.
        let narrow = |x: AdapterInput| AdapterInput {
            encoder: x.encoder[..WIDTH - 2].to_vec(),
            ..x
        };
        let rows: Vec<AdapterInput> = (0..50).map(|_| narrow(input(&mut rng, false))).collect();
        let other = BenignReference::new(rows).unwrap();
        assert_eq!(adapter.probability(&narrow(probe.clone()), &other), None);
        assert!(adapter.learn(&narrow(input(&mut rng, true)), true, &other));
        assert_eq!(adapter.attacks(), 1);
    }

    #[test]
    fn encodings_round_trip_and_reject_garbage() {
        let mut rng = SplitMix(5);
        let reference = reference(&mut rng);
        let decoded = BenignReference::decode(&reference.encode()).unwrap();
        assert_eq!(decoded.len(), reference.len());
        assert_eq!(decoded.width(), WIDTH);
        let mut adapter = FeedbackAdapter::default();
        for i in 0..6 {
            adapter.learn(&input(&mut rng, true), i % 3 != 0, &reference);
        }
        let mut bytes = Vec::new();
        adapter.encode(&mut bytes);
        let mut slice = bytes.as_slice();
        let back = FeedbackAdapter::decode(&mut slice).unwrap();
        assert!(slice.is_empty());
        assert_eq!(back.weights, adapter.weights);
        assert_eq!(back.attacks(), adapter.attacks());
        let probe = input(&mut rng, true);
        assert_eq!(
            back.probability(&probe, &reference),
            adapter.probability(&probe, &reference)
        );
        for cut in 0..bytes.len() {
            let mut short = &bytes[..cut];
            assert!(
                FeedbackAdapter::decode(&mut short).is_none(),
                "cut at {cut}"
            );
        }
        assert!(BenignReference::decode(b"MNBR\x01").is_none());
        let encoded = reference.encode();
        assert!(BenignReference::decode(&encoded[..encoded.len() - 1]).is_none());
    }

    #[test]
    fn the_shipped_reference_matches_the_shipped_model() {
        let reference = BenignReference::builtin().unwrap();
        let cloud = CloudClassifier::builtin(crate::learn::Backend::default_backend())
            .expect("built-in cloud model");
        assert_eq!(reference.width(), cloud.adapter_width());
        assert!(reference.len() >= 100);
    }

    #[test]
    fn refitting_is_deterministic() {
        let mut rng = SplitMix(9);
        let reference = reference(&mut rng);
        let cases: Vec<AdapterInput> = (0..5).map(|_| input(&mut rng, true)).collect();
        let fit = || {
            let mut a = FeedbackAdapter::default();
            for c in &cases {
                a.learn(c, true, &reference);
            }
            a
        };
        assert_eq!(fit(), fit());
    }
}
