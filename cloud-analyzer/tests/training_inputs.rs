//! The shipped models' inputs are pinned: a digest of what `train` computes from every item of
//! the shipped training data (the corpus and the four generated sets `scripts/train.sh` names)
//! — the edge's and the cloud classifier's hashed n-grams, feature values, signal vectors and
//! hidden-text payloads.
//!
//! The shipped weights are `train`'s output on exactly these inputs. A change to the core that
//! moves any of them (a normalizer, a decoder, a signature list that is a learned input) makes
//! `train` give other weights and the shipped ones stale, silently: session 25's harm lists
//! raised the obfuscation signal of one corpus item, and the multi-turn evaluation, which trains
//! its own models, went from 0.7 % to 2.7 % false alarms before anyone noticed. When this test
//! fails on purpose, retrain (`bash scripts/train.sh`), re-measure, and record the digest it
//! prints.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use cloud_analyzer::learn::data::load;
use cloud_analyzer::learn::models::Example;
use cloud_analyzer::learn::Featurizer;

/// The digest of the inputs the shipped weights were trained on.
const SHIPPED_INPUTS: &str = "30d2f17dc0d1c924";

fn corpus_path() -> PathBuf {
    if let Ok(p) = std::env::var("MNEMOSYNE_CORPUS") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/corpus.jsonl")
}

/// FNV-1a, 64-bit, fed field by field.
struct Digest(u64);

impl Digest {
    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01B3);
        }
    }
    fn example(&mut self, e: &Example) {
        self.bytes(&(e.indices.len() as u64).to_le_bytes());
        for i in &e.indices {
            self.bytes(&i.to_le_bytes());
        }
        self.bytes(&e.value.to_bits().to_le_bytes());
        for s in &e.signals {
            self.bytes(&s.to_bits().to_le_bytes());
        }
    }
}

#[test]
fn the_shipped_models_inputs_are_unchanged() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = vec![corpus_path()];
    for name in [
        "benign_multilingual",
        "benign_hard_negatives",
        "benign_long_documents",
        "malicious_short",
    ] {
        files.push(root.join(format!("data/generated/{name}.jsonl")));
    }
    let featurizer = Featurizer::new().unwrap();
    let mut digest = Digest(0xCBF2_9CE4_8422_2325);
    let mut items = 0usize;
    for file in &files {
        let loaded = load(file).unwrap_or_else(|e| panic!("{}: {:?}", file.display(), e[0]));
        for item in loaded {
            let f = featurizer.featurize(&item.text);
            digest.bytes(&[u8::from(item.malicious)]);
            digest.example(&f.edge);
            digest.example(&f.cloud);
            digest.bytes(&(f.payloads.len() as u64).to_le_bytes());
            for p in f.payloads.iter().chain(&f.edge_payloads) {
                digest.example(p);
            }
            items += 1;
        }
    }
    assert_eq!(items, 4_168, "the shipped training data has 4,168 items");
    let found = format!("{:016x}", digest.0);
    assert_eq!(
        found, SHIPPED_INPUTS,
        "the learned models' inputs changed: the shipped weights are no longer what `train` \
         gives. Retrain (bash scripts/train.sh), re-measure, and set SHIPPED_INPUTS to {found}"
    );
}
