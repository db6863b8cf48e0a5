//! Criterion bench for the session analysis on one core, per turn: the neural memory's
//! retrieval (surprise) and gated update, the windows of recent turns scored together by the
//! cloud classifier, and risk — `SessionState::turn` on a session that already holds 12
//! recent turns — plus the attack memory's recognition and one confirmed-case update, the
//! feedback adapter's input, probability and refit, and encoding a session's state for the
//! store.
//!
//! Run: `cargo bench -p mnemosyne-benches --bench memory`.

// A benchmark whose setup fails should stop loudly.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use cloud_analyzer::learn::cloud::CloudClassifier;
use cloud_analyzer::learn::{Backend, Featurizer};
use cloud_analyzer::memory::adapter::{AdapterInput, BenignReference, FeedbackAdapter};
use cloud_analyzer::memory::attack::{AttackMemory, RecognitionPolicy};
use cloud_analyzer::memory::session::{SessionPolicy, SessionState, TurnInput};
use cloud_analyzer::memory::{lexical_embedding, Projection, PROJECTION_SEED};
use criterion::{criterion_group, criterion_main, Criterion};
use mnemosyne_benches::text;
use shared_core::Decision;

fn bench_memory(c: &mut Criterion) {
    let classifier = CloudClassifier::builtin(Backend::default_backend()).expect("built-in model");
    let featurizer = Featurizer::new().expect("featurizer");
    let projection = Projection::new(PROJECTION_SEED);
    let device = Backend::default_backend().device().autodiff();
    let policy = SessionPolicy::default();
    let turns: Vec<_> = (0..16)
        .map(|i| {
            let t = format!("{} turn {i}", text(1024, false));
            let f = featurizer.featurize(&t);
            (
                classifier.encode(&f.cloud),
                lexical_embedding(&f.cloud.indices),
            )
        })
        .collect();
    let mut warm = SessionState::new();
    for (encoding, embedding) in turns.iter().take(12) {
        let input = TurnInput {
            probability: 0.05,
            single_turn: Decision::Allow,
            encoding: encoding.clone(),
            embedding,
            known_attack: false,
            prior: 0.0,
            approved: false,
        };
        warm.turn(&input, &policy, &projection, &classifier, &device);
    }
    let mut group = c.benchmark_group("session");
    let (encoding, embedding) = &turns[12];
    // A low-risk turn: windows, retrieval and a memory update.
    group.bench_function("turn_with_update", |b| {
        b.iter_batched(
            || warm.clone(),
            |mut state| {
                let input = TurnInput {
                    probability: 0.05,
                    single_turn: Decision::Allow,
                    encoding: encoding.clone(),
                    embedding,
                    known_attack: false,
                    prior: 0.0,
                    approved: false,
                };
                black_box(state.turn(&input, &policy, &projection, &classifier, &device))
            },
            criterion::BatchSize::SmallInput,
        )
    });
    group.bench_function("encode_state", |b| b.iter(|| black_box(warm.encode())));
    let bytes = warm.encode();
    group.bench_function("decode_state", |b| {
        b.iter(|| black_box(SessionState::decode(black_box(&bytes))))
    });
    let mut attack = AttackMemory::new();
    for (_, embedding) in turns.iter().take(10) {
        attack.learn(embedding, true, None, &projection, &device);
    }
    let recognition = RecognitionPolicy::default();
    group.bench_function("attack_recognize", |b| {
        b.iter(|| black_box(attack.recognize(embedding, None, &recognition, &projection)))
    });
    group.bench_function("attack_learn_case", |b| {
        b.iter_batched(
            || attack.clone(),
            |mut m| m.learn(embedding, true, None, &projection, &device),
            criterion::BatchSize::SmallInput,
        )
    });
    // The feedback adapter against the shipped benign reference (512 items), after ten
    // confirmed attacks.
    let reference = BenignReference::builtin().expect("built-in reference");
    let inputs: Vec<AdapterInput> = (0..16)
        .map(|i| {
            let f = featurizer.featurize(&format!("{} case {i}", text(1024, true)));
            AdapterInput::of(&classifier, &f.cloud)
        })
        .collect();
    let mut adapter = FeedbackAdapter::default();
    for input in inputs.iter().take(10) {
        adapter.learn(input, true, &reference);
    }
    let prompt = featurizer.featurize(&text(1024, false));
    group.bench_function("adapter_input", |b| {
        b.iter(|| black_box(AdapterInput::of(&classifier, black_box(&prompt.cloud))))
    });
    group.bench_function("adapter_probability", |b| {
        b.iter(|| black_box(adapter.probability(&inputs[12], &reference)))
    });
    group.bench_function("adapter_learn_case", |b| {
        b.iter_batched(
            || adapter.clone(),
            |mut a| a.learn(&inputs[11], true, &reference),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
    eprintln!("session state: {} bytes", bytes.len());
    let mut with_adapter = attack.clone();
    with_adapter.adapter = adapter;
    eprintln!(
        "attack memory with 10 adapter cases: {} bytes",
        with_adapter.encode().len()
    );
}

criterion_group!(benches, bench_memory);
criterion_main!(benches);
