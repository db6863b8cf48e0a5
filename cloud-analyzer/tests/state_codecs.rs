//! Property tests for the binary codecs of stored state — session states and attack memories
//! come back from Redis, which another process (or an attacker with access to it) may have
//! written: any bytes decode to a valid value or to `None`, never a panic, and valid values
//! round-trip.

use cloud_analyzer::learn::cloud::Encoding;
use cloud_analyzer::learn::Backend;
use cloud_analyzer::memory::adapter::{AdapterInput, BenignReference};
use cloud_analyzer::memory::attack::AttackMemory;
use cloud_analyzer::memory::session::{SessionState, TurnTrace};
use cloud_analyzer::memory::{Projection, EMBEDDING_DIM};
use proptest::prelude::*;

fn session_with(turns: &[(f32, bool)], risk: f32) -> SessionState {
    let mut s = SessionState::new();
    s.risk = risk;
    s.turns = turns.len() as u32;
    for (i, &(p, stopped)) in turns.iter().enumerate() {
        s.recent.push_back(TurnTrace {
            encoding: Encoding {
                sum: (0..32).map(|k| (k as f32 - 16.0) * p + i as f32).collect(),
                buckets: 10.0 + i as f32,
                signals: vec![p; 12],
            },
            probability: p,
            stopped,
            // Known for some turns, unknown (a state saved in format 1) for others.
            alone: if i % 2 == 0 { p } else { f32::NAN },
        });
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_decode_or_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = SessionState::decode(&bytes);
        let _ = AttackMemory::decode(&bytes);
    }

    #[test]
    fn corrupted_states_never_panic(
        turns in proptest::collection::vec((0.0f32..1.0, any::<bool>()), 0..12),
        risk in 0.0f32..10.0,
        approvals in proptest::collection::vec(any::<[u8; 32]>(), 0..6),
        denied in any::<bool>(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..16),
        cut in any::<usize>(),
    ) {
        let mut state = session_with(&turns, risk);
        for digest in &approvals {
            state.approve(*digest);
        }
        state.risk = risk;
        if denied {
            state.deny();
        }
        let bytes = state.encode();
        let back = SessionState::decode(&bytes).expect("a valid state decodes");
        prop_assert_eq!(back.recent.len(), turns.len());
        prop_assert!((back.risk - risk).abs() < 1e-6);
        prop_assert_eq!(back.denied, denied);
        prop_assert_eq!(&back.approved, &state.approved);
        prop_assert!(back.approved.len() <= cloud_analyzer::memory::session::MAX_APPROVALS);
        let mut corrupt = bytes.clone();
        for (at, value) in flips {
            let i = at % corrupt.len();
            corrupt[i] = value;
        }
        if let Some(s) = SessionState::decode(&corrupt) {
            // Whatever decodes is usable: finite numbers, bounded history.
            prop_assert!(s.risk.is_finite() && s.recent.len() <= 12);
        }
        let _ = SessionState::decode(&bytes[..cut % bytes.len()]);
    }
}

fn adapter_input(seed: usize) -> AdapterInput {
    let mut lexical = vec![0.0f32; EMBEDDING_DIM];
    lexical[seed % EMBEDDING_DIM] = 1.0;
    AdapterInput {
        encoder: (0..32)
            .map(|k| ((k * 7 + seed * 13) % 11) as f32 / 10.0)
            .collect(),
        lexical,
        logit: (seed % 5) as f32 - 2.0,
    }
}

/// An attack memory that has learned three cases, two of them with the feedback adapter.
fn learned_attack_memory() -> Option<AttackMemory> {
    let device = Backend::default_backend().device().autodiff();
    let projection = Projection::new(3);
    let reference = BenignReference::new((0..40).map(adapter_input).collect())?;
    let mut m = AttackMemory::new();
    for i in 0..3 {
        let mut e = vec![0.0f32; EMBEDDING_DIM];
        e[i * 7] = 1.0;
        let input = adapter_input(100 + i);
        let adapter = (i != 2).then_some((&input, &reference));
        m.learn(&e, i != 1, adapter, &projection, &device);
    }
    Some(m)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn corrupted_attack_memories_never_panic(
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..16),
        cut in any::<usize>(),
    ) {
        let bytes = learned_attack_memory().expect("a memory").encode();
        let mut corrupt = bytes.clone();
        for (at, value) in flips {
            let i = at % corrupt.len();
            corrupt[i] = value;
        }
        let _ = AttackMemory::decode(&corrupt);
        let _ = AttackMemory::decode(&bytes[..cut % bytes.len()]);
    }
}

#[test]
fn attack_memory_round_trips_and_rejects_truncation() {
    let m = learned_attack_memory().expect("a memory");
    assert_eq!(m.adapter.attacks(), 1);
    let bytes = m.encode();
    let back = AttackMemory::decode(&bytes).expect("round trip");
    assert_eq!(back.version, 3);
    assert_eq!(back.adapter.attacks(), 1, "the adapter comes back");
    assert_eq!(back.encode(), bytes, "encoding is stable");
    for cut in [0, 5, 13, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            AttackMemory::decode(&bytes[..cut]).is_none(),
            "cut at {cut}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(AttackMemory::decode(&longer).is_none());
}
