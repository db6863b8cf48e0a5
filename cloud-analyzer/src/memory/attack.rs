//! The attack memory: a tenant-wide pair of neural memories that learn from confirmed cases.
//!
//! * The **attack** memory learns prompts confirmed as attacks — blocked with high confidence,
//!   or reported through `/v1/feedback` as missed — so paraphrases of them are recognized.
//! * The **benign** counterpart learns prompts confirmed as false positives the same way.
//!
//! A prompt is *recognized* when the attack memory recalls it well (low surprise) and clearly
//! better than the benign one. Both learn with the Titans update of [`super::neural`]; a
//! confirmed case is replayed together with the other recent ones of its kind (keys only, no
//! text), so a handful of examples is learned without washing out the earlier ones. Every
//! change bumps the version, which the store uses to persist it.

use std::collections::VecDeque;

use burn::tensor::Device;
use serde::Serialize;

use super::adapter::{AdapterInput, BenignReference, FeedbackAdapter};
use super::neural::{f16_to_f32, f32_to_f16, NeuralMemory, Rates, KEY_DIM};
use super::Projection;

/// Confirmed cases of each kind kept for replay.
pub const REPLAY: usize = 64;

/// Update steps per confirmed case.
const STEPS: usize = 30;

const RATES: Rates = Rates {
    learning_rate: 0.3,
    momentum: 0.5,
    forget: 0.0,
    max_grad: 2.0,
};

/// How an attack memory decides that it recognizes a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecognitionPolicy {
    /// Least familiarity (`1 − surprise`) under the attack memory.
    pub min_familiarity: f32,
    /// Least margin of the attack memory's familiarity over the benign memory's.
    pub min_margin: f32,
    /// Least adapted probability at which the feedback adapter ([`super::adapter`])
    /// recognizes a prompt.
    pub adapter_min_probability: f32,
}

impl Default for RecognitionPolicy {
    fn default() -> RecognitionPolicy {
        RecognitionPolicy {
            min_familiarity: 0.4,
            min_margin: 0.2,
            adapter_min_probability: 0.5,
        }
    }
}

/// What the memories make of one prompt.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Recognition {
    /// `1 − surprise` under the attack memory (≤ 1; about 0 for unfamiliar prompts).
    pub attack: f32,
    /// The same under the benign memory.
    pub benign: f32,
    /// The feedback adapter's probability, once it has learned an attack.
    pub adapted: Option<f32>,
    /// Whether the prompt counts as a known attack.
    pub known: bool,
}

/// One confirmed case, as the memories see it.
#[derive(Debug, Clone, PartialEq)]
struct Case {
    key: Vec<f32>,
    value: Vec<f32>,
}

/// The attack memory and its benign counterpart.
#[derive(Debug, Clone, PartialEq)]
pub struct AttackMemory {
    attacks: NeuralMemory,
    benign: NeuralMemory,
    attack_cases: VecDeque<Case>,
    benign_cases: VecDeque<Case>,
    /// The logistic correction fitted from operator feedback.
    pub adapter: FeedbackAdapter,
    /// Bumped on every change.
    pub version: u64,
}

impl Default for AttackMemory {
    fn default() -> AttackMemory {
        AttackMemory::new()
    }
}

impl AttackMemory {
    /// Empty memories (recognize nothing).
    pub fn new() -> AttackMemory {
        AttackMemory {
            attacks: NeuralMemory::new(super::PROJECTION_SEED ^ 0xA77A),
            benign: NeuralMemory::new(super::PROJECTION_SEED ^ 0xBE91),
            attack_cases: VecDeque::new(),
            benign_cases: VecDeque::new(),
            adapter: FeedbackAdapter::default(),
            version: 0,
        }
    }

    /// Confirmed attacks learned (up to [`REPLAY`] are kept for replay).
    pub fn attacks_learned(&self) -> u32 {
        self.attacks.updates / STEPS as u32
    }

    /// Learns one confirmed case (`malicious`: a confirmed attack; otherwise a confirmed false
    /// positive). With `adapter` (operator feedback), the feedback adapter learns it too.
    /// `device` must have autodiff.
    pub fn learn(
        &mut self,
        embedding: &[f32],
        malicious: bool,
        adapter: Option<(&AdapterInput, &BenignReference)>,
        projection: &Projection,
        device: &Device,
    ) {
        if let Some((input, reference)) = adapter {
            self.adapter.learn(input, malicious, reference);
        }
        let (key, value) = projection.pair(embedding);
        let (memory, cases) = if malicious {
            (&mut self.attacks, &mut self.attack_cases)
        } else {
            (&mut self.benign, &mut self.benign_cases)
        };
        cases.push_back(Case { key, value });
        while cases.len() > REPLAY {
            cases.pop_front();
        }
        let pairs: Vec<(&[f32], &[f32])> = cases
            .iter()
            .map(|c| (c.key.as_slice(), c.value.as_slice()))
            .collect();
        for _ in 0..STEPS {
            memory.update(&pairs, RATES, device);
        }
        self.version += 1;
    }

    /// Whether the memories (and, given its input, the feedback adapter) recognize a prompt
    /// as a known attack.
    pub fn recognize(
        &self,
        embedding: &[f32],
        adapter: Option<(&AdapterInput, &BenignReference)>,
        policy: &RecognitionPolicy,
        projection: &Projection,
    ) -> Recognition {
        if self.attack_cases.is_empty() {
            return Recognition {
                attack: 0.0,
                benign: 0.0,
                adapted: None,
                known: false,
            };
        }
        let adapted =
            adapter.and_then(|(input, reference)| self.adapter.probability(input, reference));
        let (key, value) = projection.pair(embedding);
        let familiarity = |m: &NeuralMemory, cases: &VecDeque<Case>| {
            if cases.is_empty() {
                0.0
            } else {
                1.0 - m
                    .surprise(&[(&key, &value)])
                    .first()
                    .copied()
                    .unwrap_or(1.0)
            }
        };
        let attack = familiarity(&self.attacks, &self.attack_cases);
        let benign = familiarity(&self.benign, &self.benign_cases);
        let remembered = attack >= policy.min_familiarity && attack - benign >= policy.min_margin;
        Recognition {
            attack,
            benign,
            adapted,
            known: remembered || adapted.is_some_and(|p| p >= policy.adapter_min_probability),
        }
    }

    /// The compact binary form: both memories in half floats, the replayed keys and values,
    /// the feedback adapter, the version.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(b"MNAM");
        out.push(2);
        out.extend_from_slice(&self.version.to_le_bytes());
        self.attacks.encode(&mut out);
        self.benign.encode(&mut out);
        for cases in [&self.attack_cases, &self.benign_cases] {
            out.push(cases.len() as u8);
            for c in cases {
                for x in c.key.iter().chain(&c.value) {
                    out.extend_from_slice(&f32_to_f16(*x).to_le_bytes());
                }
            }
        }
        self.adapter.encode(&mut out);
        out
    }

    /// Reads what [`encode`](Self::encode) wrote (or the version-1 form, without an adapter);
    /// `None` for anything else.
    pub fn decode(bytes: &[u8]) -> Option<AttackMemory> {
        if bytes.len() < 13 || &bytes[..4] != b"MNAM" || !matches!(bytes[4], 1 | 2) {
            return None;
        }
        let with_adapter = bytes[4] == 2;
        let version = u64::from_le_bytes(bytes[5..13].try_into().ok()?);
        let mut rest = &bytes[13..];
        let mut memory = || -> Option<NeuralMemory> {
            let m = NeuralMemory::decode(rest.get(..NeuralMemory::ENCODED_LEN)?)?;
            rest = &rest[NeuralMemory::ENCODED_LEN..];
            Some(m)
        };
        let attacks = memory()?;
        let benign = memory()?;
        let mut read_cases = || -> Option<VecDeque<Case>> {
            let n = usize::from(*rest.first()?);
            if n > REPLAY {
                return None;
            }
            rest = &rest[1..];
            let mut cases = VecDeque::with_capacity(n);
            for _ in 0..n {
                let raw = rest.get(..4 * KEY_DIM)?;
                rest = &rest[4 * KEY_DIM..];
                let mut v: Vec<f32> = raw
                    .chunks_exact(2)
                    .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
                    .collect();
                if v.iter().any(|x| !x.is_finite()) {
                    return None;
                }
                let value = v.split_off(KEY_DIM);
                cases.push_back(Case { key: v, value });
            }
            Some(cases)
        };
        let attack_cases = read_cases()?;
        let benign_cases = read_cases()?;
        let adapter = if with_adapter {
            FeedbackAdapter::decode(&mut rest)?
        } else {
            FeedbackAdapter::default()
        };
        if !rest.is_empty() {
            return None;
        }
        Some(AttackMemory {
            attacks,
            benign,
            attack_cases,
            benign_cases,
            adapter,
            version,
        })
    }
}
