//! Memory across requests: a per-session neural memory and session risk ([`session`]), and a
//! shared attack memory that learns from confirmed cases ([`attack`]), both built on the
//! test-time-trained MLP of [`neural`].
//!
//! Everything here is pure computation over values the caller passes in (encodings, scores);
//! the server loads and stores the state, the evaluation commands drive it over generated
//! conversations.

pub mod adapter;
pub mod attack;
pub mod neural;
pub mod scenarios;
pub mod session;

use crate::learn::models::SplitMix;
use neural::KEY_DIM;

/// Width of the lexical embedding (the semantic cache's vectors, and the memories' input).
pub const EMBEDDING_DIM: usize = 256;

/// A unit vector of the prompt's hashed n-grams folded into [`EMBEDDING_DIM`] signed buckets:
/// near-duplicate prompts (a changed word, different spacing) land close together.
pub fn lexical_embedding(indices: &[u32]) -> Vec<f32> {
    let mut v = vec![0.0f32; EMBEDDING_DIM];
    let dim = EMBEDDING_DIM as u32;
    for &i in indices {
        let sign = if (i / dim) % 2 == 0 { 1.0 } else { -1.0 };
        v[(i % dim) as usize] += sign;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// The fixed random projections that turn an embedding into a memory's key and value
/// (Johnson–Lindenstrauss: ±1/√KEY_DIM entries keep lengths and angles on average). Seeded,
/// so every replica and every restart projects alike.
#[derive(Debug, Clone)]
pub struct Projection {
    /// `[EMBEDDING_DIM, KEY_DIM]`: row `i` holds embedding entry `i`'s weight in each key
    /// entry (stored transposed, so a projection is one pass over the embedding that adds a
    /// row at a time; each output still sums its terms in embedding order).
    key: Vec<f32>,
    /// The same for values.
    value: Vec<f32>,
}

impl Projection {
    /// The projections for `seed`.
    pub fn new(seed: u64) -> Projection {
        let mut rng = SplitMix(seed);
        let scale = 1.0 / (KEY_DIM as f32).sqrt();
        let mut matrix = || -> Vec<f32> {
            (0..EMBEDDING_DIM * KEY_DIM)
                .map(|_| {
                    if rng.next_u64() & 1 == 0 {
                        scale
                    } else {
                        -scale
                    }
                })
                .collect()
        };
        // Drawn key entry by key entry (`[KEY_DIM, EMBEDDING_DIM]`), kept transposed.
        let transpose = |m: Vec<f32>| -> Vec<f32> {
            let mut t = vec![0.0f32; m.len()];
            for (j, row) in m.chunks_exact(EMBEDDING_DIM).enumerate() {
                for (i, x) in row.iter().enumerate() {
                    t[i * KEY_DIM + j] = *x;
                }
            }
            t
        };
        let key = transpose(matrix());
        let value = transpose(matrix());
        Projection { key, value }
    }

    /// `(key, value)` of an embedding.
    pub fn pair(&self, embedding: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let project = |m: &[f32]| -> Vec<f32> {
            let mut out = vec![0.0f32; KEY_DIM];
            for (row, e) in m.chunks_exact(KEY_DIM).zip(embedding) {
                for (o, w) in out.iter_mut().zip(row) {
                    *o += w * e;
                }
            }
            out
        };
        (project(&self.key), project(&self.value))
    }
}

/// The seed of the projections the analyzer uses.
pub const PROJECTION_SEED: u64 = 0x4D4E_454D_4F53_594E;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_projection_is_the_drawn_matrix_product_in_embedding_order() {
        // Keys and values stored by earlier versions (sessions, attack memories) must keep
        // meaning the same: the matrices are drawn key entry by key entry, each entry's 256
        // signs in a row, and each output sums its terms in embedding order.
        let mut rng = SplitMix(PROJECTION_SEED);
        let scale = 1.0 / (KEY_DIM as f32).sqrt();
        let mut draw = || -> Vec<f32> {
            (0..EMBEDDING_DIM * KEY_DIM)
                .map(|_| {
                    if rng.next_u64() & 1 == 0 {
                        scale
                    } else {
                        -scale
                    }
                })
                .collect()
        };
        let (key_rows, value_rows) = (draw(), draw());
        let projection = Projection::new(PROJECTION_SEED);
        let embedding = lexical_embedding(&(0..400).map(|i| i * 7919).collect::<Vec<u32>>());
        let (key, value) = projection.pair(&embedding);
        for (rows, got) in [(&key_rows, key), (&value_rows, value)] {
            for (j, got) in got.iter().enumerate() {
                let want: f32 = rows[j * EMBEDDING_DIM..(j + 1) * EMBEDDING_DIM]
                    .iter()
                    .zip(&embedding)
                    .map(|(a, b)| a * b)
                    .sum();
                assert_eq!(got.to_bits(), want.to_bits(), "entry {j}");
            }
        }
    }
}
