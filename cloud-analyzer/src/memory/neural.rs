//! A neural long-term memory after Titans (Behrouz et al., 2025): a small MLP `M` that learns,
//! at test time, to map keys to values, where *surprise* is how badly it recalls a pair:
//!
//! ```text
//! surprise(k, v) = ‖M(k) − v‖² / ‖v‖²
//! g = ∇ surprise          (computed by Burn's autodiff; norm clipped to `max_grad`)
//! S ← η·S − θ·g            (momentum: past surprise keeps pushing for a while)
//! M ← (1 − α)·M + S        (forgetting gate: old associations fade unless refreshed)
//! ```
//!
//! Parameters live in plain vectors between calls — a memory is per session or per tenant and
//! must serialize compactly — and Burn runs the forward pass and the gradient on each update.

use burn::tensor::activation::silu;
use burn::tensor::{Device, Tensor, TensorData};

use crate::learn::models::{floats, SplitMix};

/// Key (= value) width of a memory.
pub const KEY_DIM: usize = 64;

/// Hidden width of a memory's MLP.
pub const HIDDEN: usize = 64;

/// Number of parameters of a memory (`W1`, `b1`, `W2`, `b2`).
pub const PARAMS: usize = KEY_DIM * HIDDEN + HIDDEN + HIDDEN * KEY_DIM + KEY_DIM;

/// How a memory learns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// θ: the step on the surprise gradient.
    pub learning_rate: f32,
    /// η: how much of the previous step carries over.
    pub momentum: f32,
    /// α: how much of the memory fades per update.
    pub forget: f32,
    /// Largest gradient norm a single update may apply (bounds what one turn can teach).
    pub max_grad: f32,
}

/// A forward pass of a memory over some pairs, kept so that learning from them needs no second
/// one (see [`NeuralMemory::recall`]).
#[derive(Debug)]
pub struct Recall {
    params: [Tensor<2>; 4],
    loss: Tensor<1>,
    /// `‖M(k) − v‖² / ‖v‖²` of each pair, in order.
    pub surprise: Vec<f32>,
}

/// A memory: MLP parameters and the momentum of their updates.
#[derive(Debug, Clone, PartialEq)]
pub struct NeuralMemory {
    /// `W1 [KEY_DIM, HIDDEN]`, `b1 [HIDDEN]`, `W2 [HIDDEN, KEY_DIM]`, `b2 [KEY_DIM]`, flattened.
    pub params: Vec<f32>,
    /// The momentum `S`, same layout.
    pub momentum: Vec<f32>,
    /// Updates applied so far.
    pub updates: u32,
}

const W1: std::ops::Range<usize> = 0..KEY_DIM * HIDDEN;
const B1: std::ops::Range<usize> = W1.end..W1.end + HIDDEN;
const W2: std::ops::Range<usize> = B1.end..B1.end + HIDDEN * KEY_DIM;
const B2: std::ops::Range<usize> = W2.end..W2.end + KEY_DIM;

impl NeuralMemory {
    /// A fresh memory with small seeded random weights (it recalls nothing yet).
    pub fn new(seed: u64) -> NeuralMemory {
        let mut rng = SplitMix(seed);
        let mut params = vec![0.0f32; PARAMS];
        let mut gaussian = |scale: f32| {
            // Sum of uniforms: close enough to a normal for an initialization.
            let u: f32 = (0..4)
                .map(|_| (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32)
                .sum();
            (u - 2.0) * scale * 1.732
        };
        let s1 = 1.0 / (KEY_DIM as f32).sqrt();
        let s2 = 0.1 / (HIDDEN as f32).sqrt();
        for w in &mut params[W1] {
            *w = gaussian(s1);
        }
        for w in &mut params[W2] {
            *w = gaussian(s2);
        }
        NeuralMemory {
            params,
            momentum: vec![0.0; PARAMS],
            updates: 0,
        }
    }

    /// The parameters as tensors that track gradients (for an update).
    fn tracked_tensors(&self, device: &Device) -> [Tensor<2>; 4] {
        let make = |range: std::ops::Range<usize>, shape: [usize; 2]| {
            Tensor::<2>::from_data(TensorData::new(self.params[range].to_vec(), shape), device)
                .require_grad()
        };
        [
            make(W1, [KEY_DIM, HIDDEN]),
            make(B1, [1, HIDDEN]),
            make(W2, [HIDDEN, KEY_DIM]),
            make(B2, [1, KEY_DIM]),
        ]
    }

    /// Surprise of each pair, `‖M(k) − v‖² / ‖v‖²` (rows of `keys` and `values`).
    fn surprise_tensor(params: &[Tensor<2>; 4], keys: Tensor<2>, values: Tensor<2>) -> Tensor<1> {
        let [w1, b1, w2, b2] = params.clone();
        let hidden = silu(keys.matmul(w1) + b1);
        let recalled = hidden.matmul(w2) + b2;
        let err = (recalled - values.clone()).powi_scalar(2).sum_dim(1);
        let norm = values.powi_scalar(2).sum_dim(1).clamp_min(1e-6);
        let rows = err.dims()[0];
        (err / norm).reshape([rows])
    }

    /// Surprise of each (key, value) pair, without learning: the forward pass on the plain
    /// parameters (a 64-wide MLP read one pair at a time, where Burn's per-operation cost was
    /// most of the time; the tests hold it to Burn's pass in [`recall`](Self::recall)).
    pub fn surprise(&self, pairs: &[(&[f32], &[f32])]) -> Vec<f32> {
        pairs
            .iter()
            .map(|(key, value)| self.surprise_of(key, value))
            .collect()
    }

    fn surprise_of(&self, key: &[f32], value: &[f32]) -> f32 {
        let entry = |v: &[f32], i: usize| v.get(i).copied().unwrap_or(0.0);
        let mut hidden = self.params[B1].to_vec();
        for (i, row) in self.params[W1].chunks_exact(HIDDEN).enumerate() {
            let k = entry(key, i);
            for (h, w) in hidden.iter_mut().zip(row) {
                *h += k * w;
            }
        }
        // SiLU: x · σ(x).
        hidden.iter_mut().for_each(|h| *h /= 1.0 + (-*h).exp());
        let mut recalled = self.params[B2].to_vec();
        for (h, row) in hidden.iter().zip(self.params[W2].chunks_exact(KEY_DIM)) {
            for (r, w) in recalled.iter_mut().zip(row) {
                *r += h * w;
            }
        }
        let (mut err, mut norm) = (0.0f32, 0.0f32);
        for (o, r) in recalled.iter().enumerate() {
            let v = entry(value, o);
            err += (r - v) * (r - v);
            norm += v * v;
        }
        err / norm.max(1e-6)
    }

    /// One update on the mean surprise of `pairs`; returns the surprise before the update.
    /// `device` must have autodiff enabled.
    pub fn update(&mut self, pairs: &[(&[f32], &[f32])], rates: Rates, device: &Device) -> f32 {
        match self.recall(pairs, device) {
            Some(recall) => self.learn(recall, rates),
            None => 0.0,
        }
    }

    /// The surprise of each pair, from a forward pass kept for [`learn`](Self::learn): a
    /// caller that decides from the surprise whether to learn (a session's write gate) runs
    /// the memory forward once. `None` without pairs. `device` must have autodiff enabled.
    pub fn recall(&self, pairs: &[(&[f32], &[f32])], device: &Device) -> Option<Recall> {
        if pairs.is_empty() {
            return None;
        }
        let params = self.tracked_tensors(device);
        let (keys, values) = pair_tensors(pairs, device);
        let per_pair = Self::surprise_tensor(&params, keys, values);
        let surprise = floats(per_pair.clone());
        Some(Recall {
            params,
            loss: per_pair.mean(),
            surprise,
        })
    }

    /// One update on the mean surprise of a [`recall`](Self::recall) of this memory (made
    /// since its last update); returns that mean.
    pub fn learn(&mut self, recall: Recall, rates: Rates) -> f32 {
        let Recall { params, loss, .. } = recall;
        let before = floats(loss.clone()).first().copied().unwrap_or(0.0);
        let grads = loss.backward();
        let mut gradient = Vec::with_capacity(PARAMS);
        for p in &params {
            let g = p.grad(&grads).map(floats).unwrap_or_default();
            let expected = p.dims()[0] * p.dims()[1];
            if g.len() != expected || g.iter().any(|x| !x.is_finite()) {
                // A backend that cannot return a gradient teaches nothing rather than garbage.
                return before;
            }
            gradient.extend(g);
        }
        let norm = gradient.iter().map(|g| g * g).sum::<f32>().sqrt();
        let clip = if norm > rates.max_grad && norm > 0.0 {
            rates.max_grad / norm
        } else {
            1.0
        };
        for ((p, s), g) in self
            .params
            .iter_mut()
            .zip(self.momentum.iter_mut())
            .zip(gradient)
        {
            *s = rates.momentum * *s - rates.learning_rate * clip * g;
            *p = (1.0 - rates.forget) * *p + *s;
        }
        self.updates = self.updates.saturating_add(1);
        before
    }

    /// Appends the memory as little-endian IEEE half floats (params, then momentum) and the
    /// update count: `4 · PARAMS + 4` bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        write_halves(&self.params, out);
        write_halves(&self.momentum, out);
        out.extend_from_slice(&self.updates.to_le_bytes());
    }

    /// Bytes [`encode`](Self::encode) writes.
    pub const ENCODED_LEN: usize = 4 * PARAMS + 4;

    /// Reads what [`encode`](Self::encode) wrote; `None` if the bytes are short or hold
    /// non-finite values.
    pub fn decode(bytes: &[u8]) -> Option<NeuralMemory> {
        if bytes.len() < Self::ENCODED_LEN {
            return None;
        }
        let widen = |half: &[u8]| -> Option<Vec<f32>> {
            let mut finite = true;
            let values: Vec<f32> = half
                .chunks_exact(2)
                .map(|c| {
                    let h = u16::from_le_bytes([c[0], c[1]]);
                    finite &= f16_is_finite(h);
                    f16_to_f32(h)
                })
                .collect();
            finite.then_some(values)
        };
        let params = widen(&bytes[..2 * PARAMS])?;
        let momentum = widen(&bytes[2 * PARAMS..4 * PARAMS])?;
        let updates = u32::from_le_bytes(bytes[4 * PARAMS..4 * PARAMS + 4].try_into().ok()?);
        Some(NeuralMemory {
            params,
            momentum,
            updates,
        })
    }
}

fn pair_tensors(pairs: &[(&[f32], &[f32])], device: &Device) -> (Tensor<2>, Tensor<2>) {
    let rows = pairs.len();
    let mut k = Vec::with_capacity(rows * KEY_DIM);
    let mut v = Vec::with_capacity(rows * KEY_DIM);
    for (key, value) in pairs {
        k.extend((0..KEY_DIM).map(|i| key.get(i).copied().unwrap_or(0.0)));
        v.extend((0..KEY_DIM).map(|i| value.get(i).copied().unwrap_or(0.0)));
    }
    (
        Tensor::from_data(TensorData::new(k, [rows, KEY_DIM]), device),
        Tensor::from_data(TensorData::new(v, [rows, KEY_DIM]), device),
    )
}

/// Rounds an f32 to the nearest IEEE 754 half (saturating to ±65504, NaN kept).
#[inline]
pub fn f32_to_f16(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    if x.is_nan() {
        return 0x7e00;
    }
    let a = x.abs();
    if a >= 65520.0 {
        return sign | 0x7bff;
    }
    if a < 6.103_515_6e-5 {
        // Subnormal half: multiples of 2^-24, rounded half away from zero. `a · 2^24` is
        // below 1024, so adding 0.5 is exact and truncating is `round` (without a libm call:
        // the session state writes ~16,000 halves per turn, many of them this small).
        let m = (a * 16_777_216.0 + 0.5) as u16;
        return sign | m;
    }
    let exp = ((bits >> 23) & 0xff) as i32 - 127 + 15;
    let mant = bits & 0x7f_ffff;
    // Round to nearest even on the 13 dropped bits.
    let mut half = ((exp as u32) << 10) | (mant >> 13);
    let rest = mant & 0x1fff;
    if rest > 0x1000 || (rest == 0x1000 && half & 1 == 1) {
        half += 1;
    }
    sign | half.min(0x7bff) as u16
}

/// Appends `values` as little-endian halves (one loop over a plain slice: through a chained
/// iterator the session state's encoding took 39 µs, this way 32).
pub fn write_halves(values: &[f32], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + 2 * values.len(), 0);
    for (slot, x) in out[start..].chunks_exact_mut(2).zip(values) {
        let [lo, hi] = f32_to_f16(*x).to_le_bytes();
        slot[0] = lo;
        slot[1] = hi;
    }
}

/// Widens an IEEE 754 half to f32 (exact; bit manipulation only, no branches).
#[inline]
pub fn f16_to_f32(h: u16) -> f32 {
    let h = u32::from(h);
    let sign = (h & 0x8000) << 16;
    let exp = (h >> 10) & 0x1f;
    let mant = h & 0x3ff;
    let normal = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    let special = sign | 0x7f80_0000 | (mant << 13);
    // Subnormal: mant · 2^-24, exactly representable in f32 (and ±0 for mant 0).
    let subnormal = f32::from_bits(sign | (mant as f32 / 16_777_216.0).to_bits());
    match exp {
        0 => subnormal,
        31 => f32::from_bits(special),
        _ => f32::from_bits(normal),
    }
}

/// Whether a half is finite (its exponent is not all ones).
#[inline]
pub fn f16_is_finite(h: u16) -> bool {
    h & 0x7c00 != 0x7c00
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::Backend;

    const RATES: Rates = Rates {
        learning_rate: 0.2,
        momentum: 0.6,
        forget: 0.0,
        max_grad: 5.0,
    };

    fn vector(seed: u64) -> Vec<f32> {
        let mut rng = SplitMix(seed);
        let v: Vec<f32> = (0..KEY_DIM)
            .map(|_| (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
            .collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    /// The straightforward widening the branch-free one replaced.
    fn reference_f16_to_f32(h: u16) -> f32 {
        let sign = u32::from(h & 0x8000) << 16;
        let exp = u32::from((h >> 10) & 0x1f);
        let mant = u32::from(h & 0x3ff);
        let bits = match exp {
            0 if mant == 0 => sign,
            // Subnormal: mant · 2^-24, exactly representable in f32.
            0 => {
                let v = mant as f32 / 16_777_216.0;
                return if sign != 0 { -v } else { v };
            }
            31 => sign | 0x7f80_0000 | (mant << 13),
            _ => sign | ((exp + 127 - 15) << 23) | (mant << 13),
        };
        f32::from_bits(bits)
    }

    #[test]
    fn widening_matches_the_reference_on_every_half() {
        for h in 0..=u16::MAX {
            let (got, want) = (f16_to_f32(h), reference_f16_to_f32(h));
            assert!(
                got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                "{h:#06x}"
            );
            assert_eq!(f16_is_finite(h), want.is_finite(), "{h:#06x}");
        }
    }

    #[test]
    fn subnormal_halves_round_like_round() {
        // Every f32 below the smallest normal half, in steps of 2^11 bit patterns (and the
        // halfway points between subnormal halves exactly).
        let limit = 6.103_515_6e-5f32.to_bits();
        let halfway = (0..1024u32).map(|m| (m as f32 + 0.5) / 16_777_216.0);
        for a in (0..limit)
            .step_by(2048)
            .map(f32::from_bits)
            .chain(halfway)
            .filter(|a| *a < 6.103_515_6e-5)
        {
            let want = (a * 16_777_216.0).round() as u16;
            assert_eq!(f32_to_f16(a), want, "{a:e}");
            assert_eq!(f32_to_f16(-a), 0x8000 | want, "{:e}", -a);
        }
    }

    #[test]
    fn every_half_widens_like_the_reference() {
        for h in 0..=u16::MAX {
            let got = f16_to_f32(h);
            let sign = if h & 0x8000 != 0 { -1.0f32 } else { 1.0 };
            let exp = i32::from((h >> 10) & 0x1f);
            let mant = f32::from(h & 0x3ff);
            let want = match exp {
                0 => sign * mant / 16_777_216.0,
                31 if mant == 0.0 => sign * f32::INFINITY,
                31 => f32::NAN,
                _ => sign * (1.0 + mant / 1024.0) * 2f32.powi(exp - 15),
            };
            assert!(
                got == want || (got.is_nan() && want.is_nan()),
                "{h:#06x}: {got} vs {want}"
            );
            // Infinities saturate to the largest finite half by design.
            if got.is_finite() {
                assert_eq!(f32_to_f16(got), h, "{h:#06x} round trip");
            }
        }
    }

    #[test]
    fn halves_round_trip() {
        for x in [0.0f32, 1.0, -2.5, 0.1, 65504.0, 1e-5, -3.1e-7] {
            let back = f16_to_f32(f32_to_f16(x));
            assert!((back - x).abs() <= x.abs() * 1e-3 + 6e-8, "{x} → {back}");
        }
        assert_eq!(f16_to_f32(f32_to_f16(1e9)), 65504.0);
    }

    #[test]
    fn memorizing_lowers_surprise_for_what_was_seen_only() {
        let device = Backend::default_backend().device().autodiff();
        let mut m = NeuralMemory::new(7);
        let (k, v) = (vector(1), vector(2));
        let (k2, v2) = (vector(3), vector(4));
        let before = m.surprise(&[(&k, &v), (&k2, &v2)]);
        for _ in 0..40 {
            m.update(&[(&k, &v)], RATES, &device);
        }
        let after = m.surprise(&[(&k, &v), (&k2, &v2)]);
        assert!(after[0] < 0.2 * before[0], "{before:?} → {after:?}");
        assert!(after[1] > 0.5, "unseen pair stays surprising: {after:?}");
        assert_eq!(m.updates, 40);
    }

    #[test]
    fn a_recall_gives_the_surprise_and_learns_like_an_update() {
        let device = Backend::default_backend().device().autodiff();
        let mut m = NeuralMemory::new(11);
        m.update(&[(&vector(7), &vector(8))], RATES, &device);
        let pairs: [(&[f32], &[f32]); 2] = [(&vector(1), &vector(2)), (&vector(3), &vector(4))];
        let recall = m.recall(&pairs, &device).unwrap();
        // Burn's forward pass and the plain one agree (to float rounding).
        for (burn, plain) in recall.surprise.iter().zip(m.surprise(&pairs)) {
            assert!(
                (burn - plain).abs() <= 1e-5 * (1.0 + burn.abs()),
                "{burn} vs {plain}"
            );
        }
        let mut updated = m.clone();
        let mean = updated.update(&pairs, RATES, &device);
        assert_eq!(m.learn(recall, RATES), mean);
        assert_eq!(m, updated);
        assert!(m.recall(&[], &device).is_none());
    }

    #[test]
    fn one_update_is_bounded() {
        let device = Backend::default_backend().device().autodiff();
        let mut m = NeuralMemory::new(7);
        let before = m.params.clone();
        let big: Vec<f32> = vector(5).into_iter().map(|x| x * 1e4).collect();
        m.update(&[(&big, &vector(6))], RATES, &device);
        let moved = m
            .params
            .iter()
            .zip(&before)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f32>()
            .sqrt();
        assert!(
            moved <= RATES.learning_rate * RATES.max_grad * 1.001,
            "{moved}"
        );
    }

    #[test]
    fn encoding_round_trips_and_rejects_garbage() {
        let device = Backend::default_backend().device().autodiff();
        let mut m = NeuralMemory::new(9);
        m.update(&[(&vector(1), &vector(2))], RATES, &device);
        let mut bytes = Vec::new();
        m.encode(&mut bytes);
        assert_eq!(bytes.len(), NeuralMemory::ENCODED_LEN);
        let back = NeuralMemory::decode(&bytes).unwrap();
        assert_eq!(back.updates, 1);
        for (a, b) in back.params.iter().zip(&m.params) {
            assert!((a - b).abs() <= b.abs() * 1e-3 + 1e-4);
        }
        assert!(NeuralMemory::decode(&bytes[..10]).is_none());
        let mut nan = bytes.clone();
        nan[0] = 0x00;
        nan[1] = 0x7e;
        assert!(NeuralMemory::decode(&nan).is_none());
    }
}
