//! `cloud-analyzer eval --adapt K`: how much the attack memory learns from confirmed examples.
//!
//! For each attack family in the data, in turn: both models are trained without that family
//! (so it is new to them), the cascade scores the family and the scored half of the benign
//! items ("before"), then K seeded-random examples of the family are fed to a fresh attack
//! memory exactly as `/v1/feedback` feeds a confirmed false negative (the lexical memory and
//! the feedback adapter both learn them), and the rest of the family and the benign items are
//! scored again ("after": blocked by the cascade or recognized). The K examples themselves are
//! never scored.
//!
//! With `--adapt-unseen FILE`, that file's attack families are appended: no model trains on
//! them in any fold (one model, trained on all the other data, serves all of them), so they
//! measure adaptation to attacks the detectors have never seen the like of. The file's benign
//! items never train either; for those families they are scored as a second benign set
//! ("outside FPR"): a third-party set's benign items often share its attacks' task framing
//! and carrier documents, which the corpus's benign items do not, so they show what an
//! adaptation costs on traffic that looks like the attacks it learned. They are split in two
//! seeded halves: one is scored, the other stands for the tenant's traffic an operator watches.
//! With `--adapt-false-positives F`, after each such family's K attacks the operator reports
//! up to F false positives from that half, as they show up: in a seeded order, each item the
//! adapted memory now recognizes is fed back through the `/v1/feedback` path as a confirmed
//! false positive (the memory refits after each) until F have been.
//!
//! The benign items are split in two seeded halves: the feedback adapter's benign reference is
//! sampled from the training benign items *outside* the scored half (the other half and the
//! `--augment` files), as `train` samples it from all of them — so no scored benign item is
//! one the adapter was fitted against.

use std::time::Instant;

use cloud_analyzer::learn::data::Item;
use cloud_analyzer::learn::evaluate::{cascade_decision, classifier_decides};
use cloud_analyzer::learn::models::SplitMix;
use cloud_analyzer::learn::{fit, Backend, Featurized, Featurizer, FitConfig, Trained};
use cloud_analyzer::memory::adapter::{AdapterInput, BenignReference};
use cloud_analyzer::memory::attack::{AttackMemory, RecognitionPolicy};
use cloud_analyzer::memory::{lexical_embedding, Projection, PROJECTION_SEED};
use serde::Serialize;
use shared_core::{Decision, Engine};

/// Settings of one adaptation run.
pub struct AdaptSettings {
    /// Confirmed examples fed per family.
    pub k: usize,
    /// Seed for choosing them and for training.
    pub seed: u64,
    /// Skip training: report what the memory alone recognizes.
    pub memory_only: bool,
    /// Most false positives reported after the K attacks of each `--adapt-unseen` family,
    /// from the half of those files' benign items that is not scored.
    pub false_positives: usize,
    /// Networks per trained cloud classifier ([`FitConfig::cloud_bags`]).
    pub cloud_bags: usize,
    /// Burn backend.
    pub backend: Backend,
}

#[derive(Debug, Serialize)]
struct FamilyResult {
    family: String,
    /// Items scored (the family minus the K fed).
    n: usize,
    recall_before: Option<f64>,
    recall_after: f64,
    /// Share recognized by the lexical attack memory alone.
    memory_recall: f64,
    /// Share recognized by the feedback adapter alone (needs the trained models).
    adapter_recall: Option<f64>,
    fpr_before: Option<f64>,
    fpr_after: Option<f64>,
    /// Benign share recognized by the memory alone.
    memory_fpr: f64,
    /// Benign share recognized by the feedback adapter alone.
    adapter_fpr: Option<f64>,
    /// For a `--adapt-unseen` family: the share of the scored half of that file's benign
    /// items blocked before adaptation, and blocked or recognized after it.
    outside_fpr_before: Option<f64>,
    outside_fpr_after: Option<f64>,
    /// For a `--adapt-unseen` family: false positives reported (at most
    /// `--adapt-false-positives`; fewer when the watched half had no more).
    false_positives_fed: Option<usize>,
}

#[derive(Debug, Serialize)]
struct AdaptReport {
    k: usize,
    seed: u64,
    benign_n: usize,
    /// Benign items of the `--adapt-unseen` files scored (for their families only; the other
    /// half is where false positives are reported from).
    outside_benign_n: usize,
    families: Vec<FamilyResult>,
    mean_recall_gain_points: Option<f64>,
    mean_fpr_gain_points: Option<f64>,
    seconds: f64,
}

fn share(flags: impl Iterator<Item = bool>) -> f64 {
    let (mut hit, mut n) = (0usize, 0usize);
    for f in flags {
        hit += usize::from(f);
        n += 1;
    }
    if n == 0 {
        0.0
    } else {
        hit as f64 / n as f64
    }
}

/// Runs the adaptation evaluation; returns the report as text or JSON.
pub fn run(
    items: &[Item],
    extra: &[Item],
    unseen: &[Item],
    settings: &AdaptSettings,
    json: bool,
) -> Result<String, String> {
    let start = Instant::now();
    // Unseen items go after the data's own items: indices ≥ `trainable` never train.
    let trainable = items.len();
    let items: Vec<Item> = items.iter().chain(unseen).cloned().collect();
    let items = &items[..];
    let mut outside_benign: Vec<usize> = (trainable..items.len())
        .filter(|&i| !items[i].malicious)
        .collect();
    SplitMix(settings.seed ^ 0xF9).shuffle(&mut outside_benign);
    // The watched half keeps its seeded order: the order false positives show up in.
    let watched: Vec<usize> = outside_benign.split_off(outside_benign.len() / 2);
    outside_benign.sort_unstable();
    let mut unseen_model = None;
    let featurizer = Featurizer::new().map_err(|e| e.to_string())?;
    let features: Vec<Featurized> = items
        .iter()
        .map(|i| featurizer.featurize(&i.text))
        .collect();
    let extra_features: Vec<Featurized> = extra
        .iter()
        .map(|i| featurizer.featurize(&i.text))
        .collect();
    let embeddings: Vec<Vec<f32>> = features
        .iter()
        .map(|f| lexical_embedding(&f.cloud.indices))
        .collect();
    let projection = Projection::new(PROJECTION_SEED);
    let device = settings.backend.device().autodiff();
    let recognition = RecognitionPolicy::default();
    let mut benign: Vec<usize> = (0..trainable).filter(|&i| !items[i].malicious).collect();
    SplitMix(settings.seed ^ 0xBE).shuffle(&mut benign);
    let reference_pool: Vec<usize> = benign.split_off(benign.len() / 2);
    benign.sort_unstable();
    let mut families: Vec<&str> = items
        .iter()
        .filter(|i| i.malicious)
        .map(|i| i.family.as_str())
        .collect();
    families.sort_unstable();
    families.dedup();
    let mut results = Vec::new();
    for family in families {
        let mut members: Vec<usize> = (0..items.len())
            .filter(|&i| items[i].family == family)
            .collect();
        if members.len() <= settings.k {
            eprintln!("adapt: skipping {family} ({} items ≤ K)", members.len());
            continue;
        }
        SplitMix(settings.seed).shuffle(&mut members);
        let (fed, rest) = members.split_at(settings.k);
        let mut memory = AttackMemory::new();
        for &i in fed {
            memory.learn(&embeddings[i], true, None, &projection, &device);
        }
        let remembered = |i: usize| {
            memory
                .recognize(&embeddings[i], None, &recognition, &projection)
                .known
        };
        let memory_recall = share(rest.iter().map(|&i| remembered(i)));
        let memory_fpr = share(benign.iter().map(|&i| remembered(i)));
        let mut result = FamilyResult {
            family: family.to_string(),
            n: rest.len(),
            recall_before: None,
            recall_after: memory_recall,
            memory_recall,
            adapter_recall: None,
            fpr_before: None,
            fpr_after: None,
            memory_fpr,
            adapter_fpr: None,
            outside_fpr_before: None,
            outside_fpr_after: None,
            false_positives_fed: None,
        };
        if !settings.memory_only {
            let t = Instant::now();
            let is_unseen = members[0] >= trainable;
            let train_without = |family: Option<&str>| {
                let train: Vec<usize> = (0..trainable)
                    .filter(|&i| Some(items[i].family.as_str()) != family)
                    .collect();
                let mut x: Vec<Featurized> = train.iter().map(|&i| features[i].clone()).collect();
                let mut y: Vec<bool> = train.iter().map(|&i| items[i].malicious).collect();
                let mut fams: Vec<&str> = train.iter().map(|&i| items[i].family.as_str()).collect();
                x.extend(extra_features.iter().cloned());
                y.extend(extra.iter().map(|i| i.malicious));
                fams.extend(extra.iter().map(|i| i.family.as_str()));
                fit(
                    &x,
                    &y,
                    &fams,
                    &FitConfig {
                        cloud_bags: settings.cloud_bags,
                        ..FitConfig::new(settings.seed)
                    },
                    settings.backend,
                    |_, _, _| {},
                )
            };
            let own_model;
            let trained: &Trained = if is_unseen {
                if unseen_model.is_none() {
                    unseen_model = Some(train_without(None)?);
                }
                unseen_model.as_ref().ok_or("adapt: no model")?
            } else {
                own_model = train_without(Some(family))?;
                &own_model
            };
            let reference_examples: Vec<_> = reference_pool
                .iter()
                .map(|&i| &features[i].cloud)
                .chain(
                    extra_features
                        .iter()
                        .zip(extra)
                        .filter(|(_, item)| !item.malicious)
                        .map(|(f, _)| &f.cloud),
                )
                .collect();
            let reference =
                BenignReference::sample(&trained.cloud, &reference_examples, settings.seed)
                    .ok_or("adapt: no benign items for the adapter's reference")?;
            let input = |i: usize| AdapterInput::of(&trained.cloud, &features[i].cloud);
            let mut memory = AttackMemory::new();
            for &i in fed {
                memory.learn(
                    &embeddings[i],
                    true,
                    Some((&input(i), &reference)),
                    &projection,
                    &device,
                );
            }
            if is_unseen {
                let mut reported = 0;
                for &i in &watched {
                    if reported == settings.false_positives {
                        break;
                    }
                    let adapter = Some((&input(i), &reference));
                    if memory
                        .recognize(&embeddings[i], adapter, &recognition, &projection)
                        .known
                    {
                        memory.learn(&embeddings[i], false, adapter, &projection, &device);
                        reported += 1;
                    }
                }
                result.false_positives_fed = Some(reported);
            }
            let recognized: Vec<(bool, bool)> = (0..items.len())
                .map(|i| {
                    if items[i].malicious && items[i].family != family {
                        return (false, false);
                    }
                    let r = memory.recognize(
                        &embeddings[i],
                        Some((&input(i), &reference)),
                        &recognition,
                        &projection,
                    );
                    let adapted = r
                        .adapted
                        .is_some_and(|p| p >= recognition.adapter_min_probability);
                    (r.known, adapted)
                })
                .collect();
            let engine = Engine::builder()
                .scorer(trained.edge.clone())
                .build()
                .map_err(|e| e.to_string())?;
            let t_policy = engine.policy().thresholds;
            let blocked = |i: usize| -> bool {
                let Ok(v) = engine.triage_text(&items[i].text) else {
                    return true;
                };
                let (_, d) = cascade_decision(
                    v.score,
                    v.decision,
                    t_policy.escalate,
                    t_policy.block,
                    trained.cloud.thresholds(),
                    classifier_decides(&v, &items[i].text),
                    || trained.cloud.opinion_of(&features[i]),
                );
                d == Decision::Block
            };
            let before: Vec<bool> = rest.iter().map(|&i| blocked(i)).collect();
            let benign_before: Vec<bool> = benign.iter().map(|&i| blocked(i)).collect();
            result.recall_before = Some(share(before.iter().copied()));
            result.recall_after = share(
                rest.iter()
                    .zip(&before)
                    .map(|(&i, &b)| b || recognized[i].0),
            );
            result.adapter_recall = Some(share(rest.iter().map(|&i| recognized[i].1)));
            result.fpr_before = Some(share(benign_before.iter().copied()));
            result.fpr_after = Some(share(
                benign
                    .iter()
                    .zip(&benign_before)
                    .map(|(&i, &b)| b || recognized[i].0),
            ));
            result.adapter_fpr = Some(share(benign.iter().map(|&i| recognized[i].1)));
            if is_unseen && !outside_benign.is_empty() {
                let outside_before: Vec<bool> =
                    outside_benign.iter().map(|&i| blocked(i)).collect();
                result.outside_fpr_before = Some(share(outside_before.iter().copied()));
                result.outside_fpr_after = Some(share(
                    outside_benign
                        .iter()
                        .zip(&outside_before)
                        .map(|(&i, &b)| b || recognized[i].0),
                ));
            }
            let how = if is_unseen {
                "never trained on (one model for every unseen family)"
            } else {
                "trained without it"
            };
            eprintln!("adapt: {family}: {how}, {:.1} s", t.elapsed().as_secs_f64());
        }
        results.push(result);
    }
    let mean = |f: &dyn Fn(&FamilyResult) -> Option<f64>| -> Option<f64> {
        let v: Vec<f64> = results.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64 * 100.0)
    };
    let report = AdaptReport {
        k: settings.k,
        seed: settings.seed,
        benign_n: benign.len(),
        outside_benign_n: outside_benign.len(),
        mean_recall_gain_points: mean(&|r| r.recall_before.map(|b| r.recall_after - b)),
        mean_fpr_gain_points: mean(&|r| r.fpr_before.zip(r.fpr_after).map(|(b, a)| a - b)),
        families: results,
        seconds: start.elapsed().as_secs_f64(),
    };
    if json {
        return serde_json::to_string(&report).map_err(|e| e.to_string());
    }
    let pct = |x: Option<f64>| x.map_or("—".to_string(), |x| format!("{:.1} %", x * 100.0));
    let mut out = format!(
        "attack-memory adaptation, K = {} confirmed examples per held-out family (seed {}, {} benign items)\n\n",
        report.k, report.seed, report.benign_n
    );
    out.push_str(&format!(
        "{:<28} {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
        "family",
        "n",
        "recall<",
        "recall>",
        "memory",
        "adapter",
        "FPR<",
        "FPR>",
        "mem FPR",
        "adp FPR",
        "out FPR<",
        "out FPR>"
    ));
    for r in &report.families {
        out.push_str(&format!(
            "{:<28} {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
            r.family,
            r.n,
            pct(r.recall_before),
            pct(Some(r.recall_after)),
            pct(Some(r.memory_recall)),
            pct(r.adapter_recall),
            pct(r.fpr_before),
            pct(r.fpr_after),
            pct(Some(r.memory_fpr)),
            pct(r.adapter_fpr),
            pct(r.outside_fpr_before),
            pct(r.outside_fpr_after),
        ));
    }
    if let (Some(g), Some(f)) = (report.mean_recall_gain_points, report.mean_fpr_gain_points) {
        out.push_str(&format!(
            "\nmean recall gain {g:+.1} points, mean benign FPR change {f:+.2} points\n"
        ));
    }
    let outside: Vec<(f64, f64, usize)> = report
        .families
        .iter()
        .filter_map(|r| {
            let (before, after) = r.outside_fpr_before.zip(r.outside_fpr_after)?;
            Some((before, after, r.false_positives_fed.unwrap_or(0)))
        })
        .collect();
    if !outside.is_empty() {
        let n = outside.len() as f64;
        let before = outside.iter().map(|o| o.0).sum::<f64>() / n * 100.0;
        let after = outside.iter().map(|o| o.1).sum::<f64>() / n * 100.0;
        let reported: Vec<String> = outside.iter().map(|o| o.2.to_string()).collect();
        out.push_str(&format!(
            "--adapt-unseen families: {} of their files' benign items scored, blocked \
             {before:.2} % before, {after:.2} % after (mean over {} families; false positives \
             reported from the other half: {})\n",
            report.outside_benign_n,
            outside.len(),
            reported.join(" / ")
        ));
    }
    out.push_str(&format!("({:.1} s)\n", report.seconds));
    Ok(out)
}
