//! Regression test over the development corpus (`../shared/data/corpus.jsonl`).
//!
//! Runs every prompt through the default engine and fails if recall on malicious prompts or the
//! false-positive rate on benign ones is worse than the figures recorded in
//! `tests/corpus_baseline.json`. The shipped learned scorer was trained on this corpus, so these
//! are training-set figures — a regression guard, not an evaluation (`cloud-analyzer crossval`
//! is the evaluation). After a deliberate change, refresh the record with
//! `MNEMOSYNE_UPDATE_BASELINE=1 cargo test -p shared-core --test corpus`.
//!
//! "Flagged" means not `allow` (escalated or blocked); "blocked" means `block`.

// Test code: a failed setup should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};
use shared_core::{Decision, Engine, Policy, Request, Role, Segment};

fn corpus_path() -> PathBuf {
    if let Ok(p) = std::env::var("MNEMOSYNE_CORPUS") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/corpus.jsonl")
}

#[derive(Default, Clone, Copy)]
struct Counts {
    n: usize,
    flagged: usize,
    blocked: usize,
}

impl Counts {
    fn add(&mut self, d: Decision) {
        self.n += 1;
        self.flagged += usize::from(d != Decision::Allow);
        self.blocked += usize::from(d == Decision::Block);
    }
    fn rate(x: usize, n: usize) -> f64 {
        if n == 0 {
            0.0
        } else {
            (x as f64 / n as f64 * 10_000.0).round() / 10_000.0
        }
    }
}

#[test]
fn corpus_does_not_regress() {
    let path = corpus_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read corpus at {} ({e}); set MNEMOSYNE_CORPUS",
            path.display()
        )
    });
    let engine = Engine::new(Policy::default()).unwrap();
    let mut malicious = Counts::default();
    let mut benign = Counts::default();
    let mut by_category: BTreeMap<String, Counts> = BTreeMap::new();
    let verbose = std::env::var("MNEMOSYNE_CORPUS_VERBOSE").is_ok();
    for (i, line) in text.lines().enumerate() {
        let item: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("corpus line {}: {e}", i + 1));
        let prompt = item["text"]
            .as_str()
            .unwrap_or_else(|| panic!("corpus line {}: no text", i + 1));
        let label = item["label"].as_str().unwrap_or_default();
        let category = item["category"].as_str().unwrap_or_default().to_string();
        let request = Request::from_segments(vec![Segment::new(Role::User, None, prompt)]);
        let verdict = engine.triage(&request);
        if label == "malicious" {
            malicious.add(verdict.decision);
        } else {
            benign.add(verdict.decision);
        }
        by_category
            .entry(format!("{label}/{category}"))
            .or_default()
            .add(verdict.decision);
        let wrong = (label == "malicious") == (verdict.decision == Decision::Allow);
        if verbose && wrong {
            let ids: Vec<&str> = verdict.reasons.iter().map(|r| r.id.as_str()).collect();
            let snippet: String = prompt.chars().take(160).collect();
            println!(
                "MISS {label} {category} {:?} {:.3} {ids:?} :: {}",
                verdict.decision,
                verdict.score,
                snippet.replace('\n', " ")
            );
        }
    }
    let measured = json!({
        "malicious": malicious.n,
        "benign": benign.n,
        "recall_flagged": Counts::rate(malicious.flagged, malicious.n),
        "recall_blocked": Counts::rate(malicious.blocked, malicious.n),
        "fpr_flagged": Counts::rate(benign.flagged, benign.n),
        "fpr_blocked": Counts::rate(benign.blocked, benign.n),
    });
    println!(
        "corpus: {}",
        serde_json::to_string_pretty(&measured).unwrap()
    );
    for (cat, c) in &by_category {
        println!(
            "  {cat:<48} n={:<5} flagged={:<6} blocked={}",
            c.n,
            Counts::rate(c.flagged, c.n),
            Counts::rate(c.blocked, c.n)
        );
    }
    let baseline_path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus_baseline.json");
    if std::env::var("MNEMOSYNE_UPDATE_BASELINE").is_ok() {
        std::fs::write(
            &baseline_path,
            serde_json::to_string_pretty(&measured).unwrap() + "\n",
        )
        .unwrap();
        return;
    }
    let baseline: Value =
        serde_json::from_str(&std::fs::read_to_string(&baseline_path).unwrap()).unwrap();
    let get = |v: &Value, k: &str| {
        v[k].as_f64()
            .unwrap_or_else(|| panic!("baseline has no {k}"))
    };
    for key in ["recall_flagged", "recall_blocked"] {
        assert!(
            get(&measured, key) >= get(&baseline, key),
            "{key} regressed: {} < {}",
            get(&measured, key),
            get(&baseline, key)
        );
    }
    for key in ["fpr_flagged", "fpr_blocked"] {
        assert!(
            get(&measured, key) <= get(&baseline, key),
            "{key} regressed: {} > {}",
            get(&measured, key),
            get(&baseline, key)
        );
    }
}
