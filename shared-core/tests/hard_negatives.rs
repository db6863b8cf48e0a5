//! Benign prompts that use attack vocabulary ("ignore", "system prompt", "password", "pretend",
//! "developer mode") and ordinary non-English text. These decide whether people keep a firewall
//! on: the default policy must never block them and may escalate only a few.

// Test code: a failed setup should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use shared_core::{Decision, Engine, Policy};

/// Share of these prompts the edge may escalate (the analyzer then decides).
const MAX_ESCALATION_RATE: f64 = 0.05;

#[test]
fn hard_negatives_are_not_blocked() {
    let engine = Engine::new(Policy::default()).unwrap();
    // Written for the project (CC0); evaluation only — never used for training.
    let prompts: Vec<String> = include_str!("../../data/eval/hard_negatives.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["text"].as_str().unwrap().to_string()
        })
        .collect();
    let mut escalated = Vec::new();
    for prompt in &prompts {
        let verdict = engine.triage_text(prompt).unwrap();
        let ids: Vec<&str> = verdict.reasons.iter().map(|r| r.id.as_str()).collect();
        assert_ne!(
            verdict.decision,
            Decision::Block,
            "blocked a benign prompt: {prompt} ({ids:?})"
        );
        if verdict.decision == Decision::Escalate {
            escalated.push(format!("{prompt} ({ids:?}, {:.2})", verdict.score));
        }
    }
    let rate = escalated.len() as f64 / prompts.len() as f64;
    println!(
        "hard negatives: {} prompts, {} escalated ({rate:.3})",
        prompts.len(),
        escalated.len()
    );
    for e in &escalated {
        println!("  escalated: {e}");
    }
    assert!(
        rate <= MAX_ESCALATION_RATE,
        "escalated {rate:.3} of hard negatives: {escalated:#?}"
    );
}
