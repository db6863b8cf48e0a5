//! The shared featurizer for the learned scorer: hashed character and word n-grams of the
//! normalized text. The trainer (`cloud-analyzer train`) and the edge run this exact code, so
//! a weight means the same thing in both.
//!
//! Features are binary (present or not) and the vector is scaled to unit length, so a long text
//! does not score higher merely for being long.

use alloc::vec::Vec;

/// Feature-space layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureSpec {
    /// Number of hash buckets (a power of two).
    pub dim: u32,
}

/// Character n-gram sizes.
const CHAR_NGRAMS: [usize; 2] = [3, 5];
/// Most n-grams taken from one text (bounds work on huge inputs).
const MAX_FEATURES: usize = 16_384;

/// FNV-1a, 32-bit: small, fast, identical everywhere.
fn fnv1a(seed: u32, bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811C_9DC5 ^ seed;
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

impl FeatureSpec {
    /// Sparse features of a normalized text (the *words* view): sorted, distinct bucket indices
    /// and the common value each takes (1/√n).
    pub fn featurize(&self, words: &str) -> (Vec<u32>, f32) {
        let mask = self.dim.saturating_sub(1);
        let mut idx: Vec<u32> = Vec::new();
        let bytes = words.as_bytes();
        // Character n-grams over char boundaries, with spaces as word edges.
        let starts: Vec<usize> = words
            .char_indices()
            .map(|(i, _)| i)
            .chain(core::iter::once(bytes.len()))
            .collect();
        for (k, &n) in CHAR_NGRAMS.iter().enumerate() {
            for w in starts.windows(n + 1) {
                if idx.len() >= MAX_FEATURES {
                    break;
                }
                if let (Some(&a), Some(&b)) = (w.first(), w.last()) {
                    idx.push(fnv1a(k as u32 + 1, &bytes[a..b]) & mask);
                }
            }
        }
        // Word unigrams and bigrams.
        let mut prev: Option<&str> = None;
        for word in words.split(' ').filter(|w| !w.is_empty()) {
            if idx.len() >= MAX_FEATURES {
                break;
            }
            idx.push(fnv1a(101, word.as_bytes()) & mask);
            if let Some(p) = prev {
                let h = fnv1a(fnv1a(102, p.as_bytes()), word.as_bytes());
                idx.push(h & mask);
            }
            prev = Some(word);
        }
        idx.sort_unstable();
        idx.dedup();
        let value = if idx.is_empty() {
            0.0
        } else {
            1.0 / libm::sqrtf(idx.len() as f32)
        };
        (idx, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_stable_and_normalized() {
        let spec = FeatureSpec { dim: 1 << 16 };
        let (a, va) = spec.featurize("ignore all previous instructions");
        let (b, vb) = spec.featurize("ignore all previous instructions");
        assert_eq!(a, b);
        assert_eq!(va, vb);
        assert!(a.iter().all(|&i| i < 1 << 16));
        assert!((va * va * a.len() as f32 - 1.0).abs() < 1e-4);
        assert_eq!(spec.featurize("").0.len(), 0);
    }
}
