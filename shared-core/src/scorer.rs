//! The learned scorer: a linear model over [`crate::features`] — hashed n-grams of the text plus
//! the dense signal vector of the signatures and detectors — loaded from a compact weights file
//! that `cloud-analyzer train` writes. It is the edge's scoring stage: it decides how much each
//! piece of evidence counts.
//!
//! margin = bias + Σ ngram weights × 1/√n + Σ signal weights × signal; probability =
//! σ(a·margin + b) (Platt).
//!
//! ## Weights file format (little-endian)
//! | bytes | field |
//! |---|---|
//! | 4 | magic `MNLS` |
//! | 1 | version (2) |
//! | 4 | `dim` (u32, power of two) |
//! | 4 | `bias` (f32) |
//! | 4 | `scale` (f32): weight = i8 × scale |
//! | 4 | Platt `a` (f32) |
//! | 4 | Platt `b` (f32): probability = σ(a·margin + b) |
//! | 4 × [`SIGNALS`] | signal weights (f32) |
//! | dim | n-gram weights (i8) |

use alloc::vec::Vec;

use crate::features::{FeatureSpec, SIGNALS};
use crate::Error;

const MAGIC: &[u8; 4] = b"MNLS";
/// The shipped weights (see [`LinearScorer::builtin`]).
const BUILTIN: &[u8] = include_bytes!("../models/edge.mnls");
const VERSION: u8 = 2;
const HEADER: usize = 4 + 1 + 4 * 5 + 4 * SIGNALS;

/// A quantized linear model with Platt calibration.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearScorer {
    spec: FeatureSpec,
    bias: f32,
    scale: f32,
    platt_a: f32,
    platt_b: f32,
    signal_weights: [f32; SIGNALS],
    weights: Vec<i8>,
}

fn f32_at(bytes: &[u8], at: usize) -> Option<f32> {
    Some(f32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

impl LinearScorer {
    /// Parses a weights file.
    pub fn from_bytes(bytes: &[u8]) -> Result<LinearScorer, Error> {
        let bad = |m: &str| Error::config(alloc::format!("learned scorer weights: {m}"));
        if bytes.get(..4) != Some(MAGIC.as_slice()) {
            return Err(bad("missing MNLS magic"));
        }
        if bytes.get(4) != Some(&VERSION) {
            return Err(bad("unsupported version"));
        }
        let dim = u32::from_le_bytes(
            bytes
                .get(5..9)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| bad("truncated"))?,
        );
        if !dim.is_power_of_two() || dim > 1 << 24 {
            return Err(bad("dim must be a power of two ≤ 2^24"));
        }
        let read = |at| {
            f32_at(bytes, at)
                .filter(|x| x.is_finite())
                .ok_or_else(|| bad("truncated or non-finite header"))
        };
        let (bias, scale, platt_a, platt_b) = (read(9)?, read(13)?, read(17)?, read(21)?);
        let mut signal_weights = [0.0f32; SIGNALS];
        for (k, w) in signal_weights.iter_mut().enumerate() {
            *w = read(25 + 4 * k)?;
        }
        let body = bytes.get(HEADER..).ok_or_else(|| bad("truncated"))?;
        if body.len() != dim as usize {
            return Err(bad("weights length does not match dim"));
        }
        Ok(LinearScorer {
            spec: FeatureSpec { dim },
            bias,
            scale,
            platt_a,
            platt_b,
            signal_weights,
            weights: body.iter().map(|&b| b as i8).collect(),
        })
    }

    /// Serializes to the weights file format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + self.weights.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.spec.dim.to_le_bytes());
        for x in [self.bias, self.scale, self.platt_a, self.platt_b] {
            out.extend_from_slice(&x.to_le_bytes());
        }
        for x in self.signal_weights {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out.extend(self.weights.iter().map(|&w| w as u8));
        out
    }

    /// Builds a scorer from float weights, quantizing the n-gram weights to i8.
    pub fn from_weights(
        weights: &[f32],
        signal_weights: [f32; SIGNALS],
        bias: f32,
        platt_a: f32,
        platt_b: f32,
    ) -> Result<LinearScorer, Error> {
        let dim = weights.len() as u32;
        if !dim.is_power_of_two() {
            return Err(Error::config("learned scorer: dim must be a power of two"));
        }
        let max = weights.iter().fold(0.0f32, |m, w| m.max(w.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        let q = weights
            .iter()
            .map(|w| libm::roundf(w / scale).clamp(-127.0, 127.0) as i8)
            .collect();
        Ok(LinearScorer {
            spec: FeatureSpec { dim },
            bias,
            scale,
            platt_a,
            platt_b,
            signal_weights,
            weights: q,
        })
    }

    /// The same weights with another Platt calibration.
    pub fn with_calibration(mut self, platt_a: f32, platt_b: f32) -> LinearScorer {
        self.platt_a = platt_a;
        self.platt_b = platt_b;
        self
    }

    /// The featurizer this model was trained with.
    pub fn spec(&self) -> FeatureSpec {
        self.spec
    }

    /// The n-gram part of the margin of a normalized text (no bias, no signals).
    pub fn text_margin(&self, words: &str) -> f32 {
        let (sum, value) = self.spec.sum_distinct(words, |i| {
            i32::from(self.weights.get(i as usize).copied().unwrap_or(0))
        });
        sum as f32 * self.scale * value
    }

    /// The n-gram part of the margin of already featurized input (bucket indices and their
    /// common value).
    pub fn text_margin_of(&self, indices: &[u32], value: f32) -> f32 {
        let sum: i32 = indices
            .iter()
            .map(|&i| i32::from(self.weights.get(i as usize).copied().unwrap_or(0)))
            .sum();
        sum as f32 * self.scale * value
    }

    /// The signal part of the margin plus the bias.
    pub fn signal_margin(&self, signals: &[f32; SIGNALS]) -> f32 {
        self.bias
            + self
                .signal_weights
                .iter()
                .zip(signals)
                .map(|(w, s)| w * s)
                .sum::<f32>()
    }

    /// Full raw margin of a normalized text and its signal vector.
    pub fn margin(&self, words: &str, signals: &[f32; SIGNALS]) -> f32 {
        self.text_margin(words) + self.signal_margin(signals)
    }

    /// Calibrated probability of an uncalibrated margin.
    pub fn calibrate(&self, margin: f32) -> f32 {
        sigmoid(self.platt_a * margin + self.platt_b)
    }

    /// The scorer trained by `cloud-analyzer train` and shipped in `shared-core/models/`, when
    /// the crate was built with one (an empty file means none).
    pub fn builtin() -> Option<LinearScorer> {
        LinearScorer::from_bytes(BUILTIN).ok()
    }

    /// Calibrated probability that a normalized text with these signals is malicious.
    pub fn probability(&self, words: &str, signals: &[f32; SIGNALS]) -> f32 {
        self.calibrate(self.margin(words, signals))
    }
}

/// The logistic function.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + libm::expf(-x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_scoring() {
        let spec = FeatureSpec { dim: 1 << 10 };
        let mut w = alloc::vec![0.0f32; 1 << 10];
        for i in spec.featurize("ignore previous").0 {
            w[i as usize] = 2.0;
        }
        let mut sw = [0.0; SIGNALS];
        sw[0] = 3.0;
        let s = LinearScorer::from_weights(&w, sw, -1.0, 1.0, 0.0).unwrap();
        let back = LinearScorer::from_bytes(&s.to_bytes()).unwrap();
        assert_eq!(s, back);
        let none = [0.0; SIGNALS];
        assert!(back.probability("ignore previous", &none) > 0.6);
        assert!(back.probability("hello world", &none) < 0.4);
        let mut strong = none;
        strong[0] = 1.0;
        assert!(back.probability("hello world", &strong) > 0.8);
    }

    #[test]
    fn rejects_bad_files() {
        for bad in [&b""[..], b"XXXX", b"MNLS\x01", b"MNLS\x02\x03\x00\x00\x00"] {
            assert!(LinearScorer::from_bytes(bad).is_err());
        }
    }
}
