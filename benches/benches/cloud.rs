//! Criterion bench for the cloud classifier on one core: featurization (shared-core signals and
//! hashed n-grams) plus the Burn forward pass and calibration, per prompt; and the cloud tier's
//! whole opinion of an escalated prompt (the classifier and the lexical model, with payloads).
//!
//! Run: `cargo bench -p mnemosyne-benches --bench cloud`.

// A benchmark whose setup fails should stop loudly.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use cloud_analyzer::learn::cloud::CloudClassifier;
use cloud_analyzer::learn::{Backend, Featurizer};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use mnemosyne_benches::text;

fn bench_cloud(c: &mut Criterion) {
    let classifier = CloudClassifier::builtin(Backend::default_backend()).expect("built-in model");
    let featurizer = Featurizer::new().expect("featurizer");
    let mut group = c.benchmark_group("cloud_classifier");
    for (size, label) in [(1024, "1KB"), (10 * 1024, "10KB")] {
        for (kind, hostile) in [("benign", false), ("hostile", true)] {
            let t = text(size, hostile);
            group.bench_with_input(BenchmarkId::new(kind, label), &t, |bench, t| {
                bench.iter(|| classifier.probability(&featurizer.featurize(black_box(t)).cloud))
            });
        }
    }
    group.finish();
    let mut group = c.benchmark_group("cloud_tier_opinion");
    for (size, label) in [(1024, "1KB"), (10 * 1024, "10KB")] {
        for (kind, hostile) in [("benign", false), ("hostile", true)] {
            let t = text(size, hostile);
            group.bench_with_input(BenchmarkId::new(kind, label), &t, |bench, t| {
                bench.iter(|| classifier.opinion_of(&featurizer.featurize(black_box(t))))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_cloud);
criterion_main!(benches);
