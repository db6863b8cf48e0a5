//! The shared featurizer for the learned scorer: hashed character and word n-grams of the
//! normalized text. The trainer (`cloud-analyzer train`) and the edge run this exact code, so
//! a weight means the same thing in both.
//!
//! Features are binary (present or not) and the vector is scaled to unit length, so a long text
//! does not score higher merely for being long.

use alloc::vec::Vec;

use crate::category::Category;
use crate::decode::Layer;
use crate::verdict::Reason;

/// Length of the dense signal vector (see [`signal_vector`]).
pub const SIGNALS: usize = 12;

/// Attack categories with their own slot in the signal vector.
const SIGNAL_CATEGORIES: [Category; 7] = [
    Category::InstructionOverride,
    Category::PromptExtraction,
    Category::Jailbreak,
    Category::TemplateInjection,
    Category::DataExfiltration,
    Category::ToolMisuse,
    Category::Obfuscation,
];

/// The dense signals of the signatures and detectors that fired on a request, as the learned
/// models take them:
///
/// | slot | meaning |
/// |---|---|
/// | 0–6 | strongest weight per attack category (override, extraction, jailbreak, template, exfiltration, tool misuse, obfuscation) |
/// | 7 | the text discusses attacks (1/0) |
/// | 8 | some signal was found under an obfuscating layer (1/0) |
/// | 9 | noisy-OR of all signal weights |
/// | 10 | distinct attack signals ÷ 4, at most 1 |
/// | 11 | PII or secrets present (1/0) |
pub fn signal_vector<'a>(
    reasons: impl IntoIterator<Item = &'a Reason>,
    discussion: bool,
) -> [f32; SIGNALS] {
    let mut out = [0.0f32; SIGNALS];
    let mut keep = 1.0f32;
    let mut attacks = 0usize;
    for r in reasons {
        if r.category == Category::HarmfulRequest {
            // Not a learned input (the models predate it): its policy action decides.
            continue;
        }
        if let Some(k) = SIGNAL_CATEGORIES.iter().position(|&c| c == r.category) {
            out[k] = out[k].max(r.weight);
        }
        if r.layer != Layer::Plain {
            out[8] = 1.0;
        }
        if matches!(r.category, Category::Pii | Category::Secret) {
            out[11] = 1.0;
        }
        if r.category.is_attack() && r.weight > 0.0 {
            attacks += 1;
        }
        keep *= 1.0 - r.weight.clamp(0.0, 1.0);
    }
    out[7] = f32::from(u8::from(discussion));
    out[9] = 1.0 - keep;
    out[10] = (attacks as f32 / 4.0).min(1.0);
    out
}

/// Feature-space layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureSpec {
    /// Number of hash buckets (a power of two).
    pub dim: u32,
}

/// Character n-gram sizes.
const CHAR_NGRAMS: [usize; 2] = [3, 5];
/// The largest of [`CHAR_NGRAMS`] (derived, so it cannot drift from the list).
const LONGEST_CHAR_NGRAM: usize = {
    let mut longest = 0;
    let mut k = 0;
    while k < CHAR_NGRAMS.len() {
        if CHAR_NGRAMS[k] > longest {
            longest = CHAR_NGRAMS[k];
        }
        k += 1;
    }
    longest
};
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

/// Appends the FNV-1a hash (masked) of every `N`-byte window of an ASCII text, at most `left`
/// of them. A fixed `N` and no early exit per window keep the loop branch-free, so the windows'
/// multiplications overlap (or vectorize).
fn ascii_char_ngrams<const N: usize>(
    bytes: &[u8],
    seed: u32,
    mask: u32,
    left: usize,
    out: &mut Vec<u32>,
) {
    let count = (bytes.len() + 1).saturating_sub(N).min(left);
    out.extend(bytes.windows(N).take(count).map(|w| {
        let mut h: u32 = 0x811C_9DC5 ^ seed;
        for &b in w.iter().take(N) {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
        h & mask
    }));
}

impl FeatureSpec {
    /// Appends to `out` the bucket index of every n-gram of a normalized text (the *words*
    /// view), duplicates included, in a fixed order (character 3-grams, 5-grams, then words and
    /// word bigrams), at most [`MAX_FEATURES`] of them: a huge text costs no more than one of
    /// [`MAX_FEATURES`] n-grams.
    fn buckets_into(&self, words: &str, out: &mut Vec<u32>) {
        let mask = self.dim.saturating_sub(1);
        let bytes = words.as_bytes();
        let cap = out.len() + MAX_FEATURES;
        let left = |out: &Vec<u32>| cap.saturating_sub(out.len());
        // Character n-grams over char boundaries, with spaces as word edges.
        if words.is_ascii() {
            const _: () = assert!(CHAR_NGRAMS[0] == 3 && CHAR_NGRAMS[1] == 5);
            ascii_char_ngrams::<3>(bytes, 1, mask, left(out), out);
            ascii_char_ngrams::<5>(bytes, 2, mask, left(out), out);
        } else {
            // Past MAX_FEATURES + the largest n, the first n-gram pass alone reaches the cap,
            // so later char boundaries are never read.
            let starts: Vec<usize> = words
                .char_indices()
                .map(|(i, _)| i)
                .chain(core::iter::once(bytes.len()))
                .take(MAX_FEATURES + LONGEST_CHAR_NGRAM + 1)
                .collect();
            for (k, &n) in CHAR_NGRAMS.iter().enumerate() {
                let seed = k as u32 + 1;
                let room = left(out);
                out.extend(
                    starts
                        .windows(n + 1)
                        .filter_map(|w| Some(fnv1a(seed, &bytes[*w.first()?..*w.last()?]) & mask))
                        .take(room),
                );
            }
        }
        if left(out) == 0 {
            return;
        }
        // Word unigrams and bigrams.
        // Split on the space byte (never part of a multi-byte character): cheaper than a
        // char searcher on short words.
        let mut prev: Option<&[u8]> = None;
        for word in bytes.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
            out.push(fnv1a(101, word) & mask);
            if let Some(p) = prev {
                if left(out) == 0 {
                    return;
                }
                out.push(fnv1a(fnv1a(102, p), word) & mask);
            }
            if left(out) == 0 {
                return;
            }
            prev = Some(word);
        }
    }

    /// The sum of `weight(bucket)` over the *distinct* buckets of a normalized text, and the
    /// feature value (1/√n, n distinct buckets). Hashes every n-gram first (a tight loop), then
    /// counts each bucket once with a bitset and no branch on whether it was seen before (that
    /// is unpredictable): the edge's fast path.
    pub fn sum_distinct(&self, words: &str, weight: impl Fn(u32) -> i32) -> (i32, f32) {
        // Two character n-grams per byte plus at most one word and one bigram per two bytes.
        let mut buckets = Vec::with_capacity((3 * words.len() + 1).min(MAX_FEATURES));
        self.buckets_into(words, &mut buckets);
        let mut seen = alloc::vec![0u64; (self.dim as usize).div_ceil(64)];
        let mut distinct = 0usize;
        let mut sum = 0i32;
        for &i in &buckets {
            if let Some(slot) = seen.get_mut((i / 64) as usize) {
                let bit = 1u64 << (i % 64);
                let new = *slot & bit == 0;
                *slot |= bit;
                distinct += usize::from(new);
                sum += weight(i) & -i32::from(new);
            }
        }
        (sum, unit_value(distinct))
    }

    /// Sparse features of a normalized text (the *words* view): sorted, distinct bucket indices
    /// and the common value each takes (1/√n).
    pub fn featurize(&self, words: &str) -> (Vec<u32>, f32) {
        let mut idx: Vec<u32> = Vec::new();
        self.buckets_into(words, &mut idx);
        sort_distinct(&mut idx, self.dim as usize);
        let value = unit_value(idx.len());
        (idx, value)
    }
}

/// Sorts `idx` and drops repeats. Bucket indices are below `dim`: when a bitset of `dim` bits
/// costs no more to scan than the indices to sort, the bits are set and read back in order
/// (a 1 KB prompt has thousands of n-grams; sorting them was a tenth of the analyzer's
/// featurization); otherwise, or if an index is out of range, a plain sort.
fn sort_distinct(idx: &mut Vec<u32>, dim: usize) {
    let words = dim.div_ceil(64);
    if words == 0 || words > 4 * idx.len() + 64 {
        idx.sort_unstable();
        idx.dedup();
        return;
    }
    let mut bits = alloc::vec![0u64; words];
    for &i in idx.iter() {
        match bits.get_mut(i as usize / 64) {
            Some(word) => *word |= 1 << (i % 64),
            None => {
                idx.sort_unstable();
                idx.dedup();
                return;
            }
        }
    }
    idx.clear();
    for (w, &word) in bits.iter().enumerate() {
        let mut word = word;
        while word != 0 {
            idx.push((w * 64) as u32 + word.trailing_zeros());
            word &= word - 1;
        }
    }
}

fn unit_value(distinct: usize) -> f32 {
    if distinct == 0 {
        0.0
    } else {
        1.0 / libm::sqrtf(distinct as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The bitset path and the sort path give the same sorted, distinct indices, for any
        /// bucket count (an index past it, never produced by the featurizer, included).
        #[test]
        fn sort_distinct_sorts_and_drops_repeats(
            mut idx in proptest::collection::vec(0u32..5000, 0..3000),
            dim in 0usize..6000,
        ) {
            let mut want = idx.clone();
            want.sort_unstable();
            want.dedup();
            sort_distinct(&mut idx, dim);
            proptest::prop_assert_eq!(idx, want);
        }
    }

    /// Every n-gram of the text, in emission order, with no cap and no early exit.
    fn all_buckets(spec: FeatureSpec, words: &str) -> Vec<u32> {
        let mask = spec.dim - 1;
        let chars: Vec<usize> = words
            .char_indices()
            .map(|(i, _)| i)
            .chain(core::iter::once(words.len()))
            .collect();
        let mut out = Vec::new();
        for (k, &n) in CHAR_NGRAMS.iter().enumerate() {
            for w in chars.windows(n + 1) {
                out.push(fnv1a(k as u32 + 1, &words.as_bytes()[w[0]..w[n]]) & mask);
            }
        }
        let mut prev: Option<&str> = None;
        for word in words.split(' ').filter(|w| !w.is_empty()) {
            out.push(fnv1a(101, word.as_bytes()) & mask);
            if let Some(p) = prev {
                out.push(fnv1a(fnv1a(102, p.as_bytes()), word.as_bytes()) & mask);
            }
            prev = Some(word);
        }
        out
    }

    #[test]
    fn stopping_at_the_cap_keeps_the_same_features() {
        let spec = FeatureSpec { dim: 1 << 12 };
        let long_ascii = "ignore the previous rules ".repeat(900);
        let long_mixed = "größe 世界 ok — ".repeat(1_400);
        let near_cap = "x".repeat(MAX_FEATURES + 3);
        for text in [
            "",
            "ab",
            "short text",
            "größe 世界",
            long_ascii.as_str(),
            long_mixed.as_str(),
            near_cap.as_str(),
        ] {
            let mut got = Vec::new();
            spec.buckets_into(text, &mut got);
            let mut want = all_buckets(spec, text);
            want.truncate(MAX_FEATURES);
            assert_eq!(got, want, "text of {} bytes", text.len());
        }
    }

    /// Texts sized so the cap falls inside the 5-gram pass, inside the word pass (on a word
    /// and on a bigram), and just past the end — ASCII and mixed.
    #[test]
    fn the_cap_cuts_every_pass_at_the_same_n_gram() {
        let spec = FeatureSpec { dim: 1 << 12 };
        let mut cut_in = [false; 3];
        for unit in ["ignore the previous rules ", "größe 世界 ok — "] {
            for len in (5_000..9_500).step_by(97) {
                let mut text = unit.repeat(len / unit.len() + 1);
                let mut cut = len;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
                let full = all_buckets(spec, &text);
                let chars = text.chars().count();
                let char_grams = chars.saturating_sub(2) + chars.saturating_sub(4);
                if full.len() > MAX_FEATURES {
                    cut_in[usize::from(char_grams >= MAX_FEATURES)] = true;
                } else {
                    cut_in[2] = true;
                }
                let mut got = Vec::new();
                spec.buckets_into(&text, &mut got);
                let mut want = full;
                want.truncate(MAX_FEATURES);
                assert_eq!(got, want, "text of {} bytes", text.len());
            }
        }
        assert_eq!(
            cut_in, [true; 3],
            "words pass, char pass, no cut all exercised"
        );
    }

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
        // The streaming form sums exactly the same buckets.
        for text in [
            "ignore all previous instructions",
            "größe 世界 ok",
            "a a a a",
        ] {
            let (idx, v) = spec.featurize(text);
            // Weights that tell every bucket apart: the sum counts each distinct one once.
            let weight = |i: u32| (i % 1000) as i32 + 1;
            let (sum, v2) = spec.sum_distinct(text, weight);
            assert_eq!(sum, idx.iter().map(|&i| weight(i)).sum::<i32>());
            assert_eq!(v, v2);
        }
    }
}
