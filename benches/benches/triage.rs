//! Criterion benches for the triage hot paths.
//!
//! - `triage/{benign,hostile}/{1,10,100}KB`: full triage of a chat-completions body.
//! - `normalize/{1,10,100}KB`, `normalize_ascii/{1,10,100}KB`: building the normalized views
//!   alone, of the hostile text (general path) and of the benign text (ASCII path).
//! - `signatures/{mnemosyne,regexset_baseline}/{benign,hostile}/{1,10,100}KB`: the signature stage on the same
//!   normalized text, against a baseline built the way the seed design does it — a
//!   `regex::RegexSet` over the same phrase lists (alternations, gaps and all), matched on the
//!   lowercased, normalized words view, plus the template list on the symbols view.
//!
//! - `scorer_text_margin/{1,10,100}KB`: the learned scorer's n-gram stage on the benign text.
//!
//! Run: `cargo bench -p mnemosyne-benches --bench triage`.

// A benchmark whose setup fails should stop loudly.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mnemosyne_benches::text;
use regex::RegexSet;
use shared_core::scorer::LinearScorer;
use shared_core::signatures::{SignatureSet, BUILTIN_PHRASE_FILES, BUILTIN_TEMPLATE_FILE};
use shared_core::{views, Engine, Policy};

fn body(text: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "model": "llama-3.1-8b-instant",
        "messages": [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": text}],
    }))
    .expect("serializable")
}

const SIZES: [(usize, &str); 3] = [(1024, "1KB"), (10 * 1024, "10KB"), (100 * 1024, "100KB")];

fn bench_triage(c: &mut Criterion) {
    let engine = Engine::new(Policy::default()).expect("default engine");
    let mut group = c.benchmark_group("triage");
    for (size, label) in SIZES {
        for (kind, hostile) in [("benign", false), ("hostile", true)] {
            let b = body(&text(size, hostile));
            group.throughput(Throughput::Bytes(b.len() as u64));
            group.bench_with_input(BenchmarkId::new(kind, label), &b, |bench, b| {
                bench.iter(|| engine.triage_body(black_box(b)).expect("valid body"))
            });
        }
    }
    group.finish();
    // The same 1 KB requests without the learned scorer: what the scorer costs.
    let plain = Engine::builder()
        .without_scorer()
        .build()
        .expect("engine without scorer");
    let mut group = c.benchmark_group("triage_without_learned_scorer");
    for (kind, hostile) in [("benign", false), ("hostile", true)] {
        let b = body(&text(1024, hostile));
        group.throughput(Throughput::Bytes(b.len() as u64));
        group.bench_with_input(BenchmarkId::new(kind, "1KB"), &b, |bench, b| {
            bench.iter(|| plain.triage_body(black_box(b)).expect("valid body"))
        });
    }
    group.finish();
}

fn bench_normalize(c: &mut Criterion) {
    // `normalize`: the hostile text (general, non-ASCII path); `normalize_ascii`: the benign
    // text (byte-level ASCII path).
    for (name, hostile) in [("normalize_ascii", false), ("normalize", true)] {
        let mut group = c.benchmark_group(name);
        for (size, label) in SIZES {
            let t = text(size, hostile);
            group.throughput(Throughput::Bytes(t.len() as u64));
            group.bench_with_input(BenchmarkId::from_parameter(label), &t, |bench, t| {
                bench.iter(|| views(black_box(t)))
            });
        }
        group.finish();
    }
}

/// The phrase lists as regular expressions: slots become alternations, `~N` becomes up to N
/// words, options are folded the way the engine folds them.
fn baseline_regexes() -> (Vec<String>, Vec<String>) {
    let mut phrases = Vec::new();
    for (_, contents) in BUILTIN_PHRASE_FILES {
        for line in contents
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let pattern = line
                .splitn(3, char::is_whitespace)
                .nth(2)
                .unwrap_or_default();
            let prefix = pattern.ends_with('*');
            let pattern = pattern.trim_end_matches('*');
            let mut re = String::from(r"\b");
            let mut first = true;
            for token in pattern.split_whitespace() {
                if let Some(n) = token.strip_prefix('~') {
                    re.push_str(&format!(r"(?:\s+\S+){{0,{n}}}"));
                    continue;
                }
                if !first {
                    re.push_str(r"\s*");
                }
                first = false;
                let mut rest = token;
                while !rest.is_empty() {
                    if let Some(inner) = rest.strip_prefix('{') {
                        let close = inner.find('}').unwrap_or(inner.len());
                        let options: Vec<String> = inner[..close]
                            .split('|')
                            .map(|o| regex::escape(&shared_core::normalize(&o.replace('_', " "))))
                            .collect();
                        re.push_str(&format!("(?:{})", options.join("|")));
                        rest = inner.get(close + 1..).unwrap_or("");
                    } else {
                        let end = rest.find('{').unwrap_or(rest.len());
                        re.push_str(&regex::escape(&shared_core::normalize(
                            &rest[..end].replace('_', " "),
                        )));
                        rest = &rest[end..];
                    }
                }
            }
            if !prefix {
                re.push_str(r"\b");
            }
            phrases.push(re);
        }
    }
    let templates = BUILTIN_TEMPLATE_FILE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            regex::escape(
                &l.splitn(3, char::is_whitespace)
                    .nth(2)
                    .unwrap_or_default()
                    .replace("\\n", "\n")
                    .to_lowercase(),
            )
        })
        .collect();
    (phrases, templates)
}

fn bench_signatures(c: &mut Criterion) {
    let set = SignatureSet::builtin().expect("builtin signatures");
    let (phrases, templates) = baseline_regexes();
    let phrase_set = RegexSet::new(&phrases).expect("phrase regexes compile");
    let template_set = RegexSet::new(&templates).expect("template regexes compile");
    let mut group = c.benchmark_group("signatures");
    for (size, label) in SIZES {
        for (kind, hostile) in [("benign", false), ("hostile", true)] {
            let v = views(&text(size, hostile));
            group.throughput(Throughput::Bytes(v.words.len() as u64));
            group.bench_with_input(
                BenchmarkId::new(format!("mnemosyne/{kind}"), label),
                &v,
                |bench, v| bench.iter(|| set.matches(black_box(v))),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("regexset_baseline/{kind}"), label),
                &v,
                |bench, v| {
                    bench.iter(|| {
                        let a = phrase_set.matches(black_box(&v.words));
                        let b = template_set.matches(black_box(&v.symbols));
                        (a.matched_any(), b.matched_any())
                    })
                },
            );
        }
    }
    group.finish();
}

/// The learned scorer's n-gram stage alone (hashing, counting distinct buckets, summing their
/// weights) on the normalized benign text.
fn bench_scorer(c: &mut Criterion) {
    let scorer = LinearScorer::builtin().expect("shipped edge weights");
    let mut group = c.benchmark_group("scorer_text_margin");
    for (size, label) in SIZES {
        let words = views(&text(size, false)).words;
        group.throughput(Throughput::Bytes(words.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(label), &words, |bench, w| {
            bench.iter(|| scorer.text_margin(black_box(w)))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_triage,
    bench_normalize,
    bench_signatures,
    bench_scorer
);
criterion_main!(benches);
