//! `cloud-analyzer crossval`: the validation protocol. Leave-one-family-out: for each source
//! family, both models are trained on every *other* family and scored on the held-out one, so
//! each item gets a score from models that never saw its family. The pooled held-out scores give
//! the headline numbers, a length-matched check and the threshold curves.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use cloud_analyzer::learn::cloud::CloudOpinion;
use cloud_analyzer::learn::data::Item;
use cloud_analyzer::learn::evaluate::{self, cascade_decision, Outcome, Report, Tier};
use cloud_analyzer::learn::metrics::{recall_at_fpr, roc_auc};
use cloud_analyzer::learn::models::SplitMix;
use cloud_analyzer::learn::{edge_margin, fit, Backend, Featurizer, FitConfig, DEFAULT_SEED};
use serde::Serialize;
use shared_core::{Decision, Engine};

use crate::commands::load_data;

/// Arguments of `crossval`.
#[derive(Debug, Args)]
pub struct CrossvalArgs {
    /// Labelled JSONL whose families are held out in turn and scored; repeat to combine files.
    #[arg(long, required = true)]
    data: Vec<PathBuf>,
    /// Labelled JSONL always used for training and never scored (augmentation such as the
    /// generated sets); repeat to combine files.
    #[arg(long)]
    augment: Vec<PathBuf>,
    /// Train a hash bucket only if it occurs in at least this many families.
    #[arg(long, default_value_t = FitConfig::new(0).min_families)]
    min_families: usize,
    /// Seed.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Burn backend.
    #[arg(long, value_enum, default_value_t = Backend::default_backend())]
    backend: Backend,
    /// Only hold out these families (default: every family).
    #[arg(long)]
    family: Vec<String>,
    /// Hold these families out together, in one fold (`FAMILY+FAMILY`; repeat for several
    /// groups): for families built from the same source material, such as garak's documents
    /// with an injection (`m:latent_injection`) and the same documents without one
    /// (`b:garak_benign`). Held out apart, each fold trains on the other's near-duplicates
    /// under the opposite label.
    #[arg(long)]
    hold_out_together: Vec<String>,
    /// Print one JSON object instead of the tables.
    #[arg(long)]
    json: bool,
    /// Also write every item's held-out scores (and its text) as JSONL to this file, for
    /// threshold analysis (`scripts/data/redecide_cascade.py`) and probes of other features.
    #[arg(long)]
    dump: Option<PathBuf>,
    /// Edge-model epochs (experiments; `train` uses the default).
    #[arg(long)]
    edge_epochs: Option<usize>,
    /// Edge-model L2 penalty (experiments).
    #[arg(long)]
    edge_l2: Option<f32>,
    /// Cloud-model epochs (experiments).
    #[arg(long)]
    cloud_epochs: Option<usize>,
    /// Cloud-model L2 penalty (experiments).
    #[arg(long)]
    cloud_l2: Option<f32>,
    /// Also refit on every training item after calibration (twice the time; see `FitConfig`).
    #[arg(long)]
    refit: bool,
    /// Cross-fitted calibration over this many folds (see `FitConfig::calibration_folds`).
    #[arg(long)]
    calibration_folds: Option<usize>,
    /// Never set aside a generated family whole for calibration (see `FitConfig`).
    #[arg(long)]
    calibrate_on_collected_only: bool,
    /// A family whose items always train and are left out of the calibration draw, so the
    /// split of everything else stays as without it (repeatable; see
    /// `FitConfig::fit_only_families`).
    #[arg(long, value_name = "FAMILY")]
    fit_only_family: Vec<String>,
    /// Share of the weight of each training item with a signature signal moved to a copy of
    /// it without its signals, so the n-grams learn attacks on their own too (see
    /// `FitConfig::signal_dropout`).
    #[arg(long, default_value_t = FitConfig::new(0).signal_dropout)]
    signal_dropout: f32,
    /// Average this many edge models trained on different calibration splits (see
    /// `FitConfig::edge_bags`).
    #[arg(long)]
    edge_bags: Option<usize>,
    /// With several edge bags: one calibration curve fitted on the bags' pooled held-back
    /// margins, applied to their mean margin (see `FitConfig::pooled_bag_calibration`).
    #[arg(long)]
    pooled_bag_calibration: bool,
    /// Edge-type models averaged into the cloud tier's lexical model (see
    /// `FitConfig::lexical_bags`; 0 or 1: none, the cloud tier then combines the edge's score
    /// with its classifier as before).
    #[arg(long, default_value_t = FitConfig::new(0).lexical_bags)]
    lexical_bags: usize,
    /// Add this many joined benign examples per fold, made from that fold's training items
    /// (as `train --joined`).
    #[arg(long, default_value_t = 0)]
    joined: usize,
    /// Experiment: cut texts longer than this many words into windows of this many words (half
    /// overlapping); benign training items' windows are added as benign training examples of
    /// their item's family, and the dump gets each held-out item's strongest cloud window
    /// (`cloud_windows`). 0: off.
    #[arg(long, default_value_t = 0)]
    window_words: usize,
    /// With `--window-words`: only score the windows; add none of them to training.
    #[arg(long)]
    window_score_only: bool,
    /// Cloud classifiers per fold, averaged as calibrated logits, each from its own training
    /// seed and calibration split (see `FitConfig::cloud_bags`).
    #[arg(long, default_value_t = FitConfig::new(0).cloud_bags)]
    cloud_bags: usize,
}

/// Windows of `size` words (stride `size / 2`) of a text longer than `size` words; none
/// otherwise.
fn word_windows(text: &str, size: usize) -> Vec<String> {
    if size == 0 {
        return Vec::new();
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() <= size {
        return Vec::new();
    }
    let stride = (size / 2).max(1);
    let mut out = Vec::new();
    let mut start = 0;
    loop {
        let end = (start + size).min(words.len());
        out.push(words[start..end].join(" "));
        if end == words.len() {
            break;
        }
        start += stride;
    }
    out
}

/// The folds: each family alone, except the groups named by `--hold-out-together`, which are
/// held out as one fold each. A grouped family that is not in the data, or is named twice, is
/// an error (a typo would otherwise silently leave the families apart).
fn fold_groups(families: &[String], together: &[String]) -> Result<Vec<Vec<String>>, String> {
    let mut folds: Vec<Vec<String>> = Vec::new();
    let mut grouped: Vec<&str> = Vec::new();
    for group in together.iter().map(|g| g.split('+')) {
        let mut fold = Vec::new();
        for name in group {
            let name = name.trim();
            if !families.iter().any(|f| f == name) {
                return Err(format!(
                    "--hold-out-together: no family {name:?} in the data (families: {})",
                    families.join(", ")
                ));
            }
            if grouped.contains(&name) {
                return Err(format!("--hold-out-together: {name:?} is named twice"));
            }
            grouped.push(name);
            fold.push(name.to_string());
        }
        folds.push(fold);
    }
    for f in families {
        if !grouped.contains(&f.as_str()) {
            folds.push(vec![f.clone()]);
        }
    }
    folds.sort();
    Ok(folds)
}

/// Held-out scores of one item.
#[derive(Debug, Clone, Copy)]
struct Held {
    edge_score: f32,
    edge_decision: Decision,
    learned: f32,
    cloud: f32,
    /// The cloud tier's lexical model, when the fold has one.
    lexical: Option<f32>,
    /// The cloud tier decides by the classifier alone (`evaluate::classifier_decides`).
    classifier_alone: bool,
    /// Strongest window of the text (`--window-words`), when it has windows.
    cloud_windows: Option<f32>,
    /// The lexical model's and the edge's learned scorer's strongest window.
    lexical_windows: Option<f32>,
    learned_windows: Option<f32>,
    cloud_thresholds: cloud_analyzer::learn::cloud::CloudThresholds,
    escalate_at: f32,
    block_at: f32,
}

#[derive(Debug, Serialize)]
struct LengthCheck {
    /// AUC of text length alone (how strong the confound is).
    length_only_auc: Option<f64>,
    /// Items in the length-matched subset.
    matched_n: usize,
    /// AUC of each tier's score on the length-matched subset.
    edge_auc: Option<f64>,
    learned_auc: Option<f64>,
    cloud_auc: Option<f64>,
    cascade_auc: Option<f64>,
    /// Length-alone AUC on the matched subset (≈ 0.5 when matching worked).
    matched_length_auc: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Curves {
    /// Benign share at or above each edge score threshold, for picking the policy thresholds.
    benign_edge_rate: Vec<(f32, f64)>,
    /// Lowest cloud threshold keeping cascade FPR ≤ 1 %, and the cascade recall it gives.
    cloud_threshold_for_1pct: Option<(f32, f64)>,
}

#[derive(Debug, Serialize)]
struct CrossvalReport {
    seed: u64,
    backend: &'static str,
    folds: usize,
    seconds: f64,
    learned_roc_auc: Option<f64>,
    edge: Report,
    cloud: Report,
    cascade: Report,
    length: LengthCheck,
    curves: Curves,
}

/// Runs the command.
pub fn run(args: &CrossvalArgs) -> ExitCode {
    crate::commands::finish("crossval", crossval(args))
}

fn crossval(args: &CrossvalArgs) -> Result<String, String> {
    let start = Instant::now();
    let all_items = load_data(&args.data)?;
    let extra = if args.augment.is_empty() {
        Vec::new()
    } else {
        load_data(&args.augment)?
    };
    let featurizer = Featurizer::new().map_err(|e| e.to_string())?;
    let features: Vec<_> = all_items
        .iter()
        .map(|i| featurizer.featurize(&i.text))
        .collect();
    let labels: Vec<bool> = all_items.iter().map(|i| i.malicious).collect();
    let extra_features: Vec<_> = extra
        .iter()
        .map(|i| featurizer.featurize(&i.text))
        .collect();
    let mut families: Vec<String> = all_items.iter().map(|i| i.family.clone()).collect();
    families.sort();
    families.dedup();
    if !args.family.is_empty() {
        families.retain(|f| args.family.contains(f));
    }
    let folds = fold_groups(&families, &args.hold_out_together)?;
    let mut config = FitConfig::new(args.seed);
    config.refit = args.refit;
    config.calibrate_on_collected_only = args.calibrate_on_collected_only;
    config.fit_only_families = args.fit_only_family.clone();
    config.set_signal_dropout(args.signal_dropout)?;
    if let Some(k) = args.calibration_folds {
        config.calibration_folds = k;
    }
    config.min_families = args.min_families;
    if let Some(k) = args.edge_bags {
        config.edge_bags = k;
    }
    config.pooled_bag_calibration = args.pooled_bag_calibration;
    config.lexical_bags = args.lexical_bags;
    config.cloud_bags = args.cloud_bags;
    if let Some(x) = args.edge_epochs {
        config.edge.epochs = x;
    }
    if let Some(x) = args.edge_l2 {
        config.edge.weight_decay = x;
    }
    if let Some(x) = args.cloud_epochs {
        config.cloud.epochs = x;
    }
    if let Some(x) = args.cloud_l2 {
        config.cloud.weight_decay = x;
    }
    let mut held: Vec<Option<Held>> = vec![None; all_items.len()];
    for (k, fold) in folds.iter().enumerate() {
        let family = fold.join("+");
        let train_idx: Vec<usize> = (0..all_items.len())
            .filter(|&i| !fold.contains(&all_items[i].family))
            .collect();
        let test_idx: Vec<usize> = (0..all_items.len())
            .filter(|&i| fold.contains(&all_items[i].family))
            .collect();
        let mut x: Vec<_> = train_idx.iter().map(|&i| features[i].clone()).collect();
        let mut y: Vec<bool> = train_idx.iter().map(|&i| labels[i]).collect();
        let mut fams: Vec<&str> = train_idx
            .iter()
            .map(|&i| all_items[i].family.as_str())
            .collect();
        x.extend(extra_features.iter().cloned());
        y.extend(extra.iter().map(|i| i.malicious));
        fams.extend(extra.iter().map(|i| i.family.as_str()));
        let fold_items: Vec<Item> = train_idx
            .iter()
            .map(|&i| all_items[i].clone())
            .chain(extra.iter().cloned())
            .collect();
        let joined =
            cloud_analyzer::learn::data::joined_benign(&fold_items, args.joined, args.seed, 0.0);
        x.extend(joined.iter().map(|i| featurizer.featurize(&i.text)));
        y.extend(joined.iter().map(|i| i.malicious));
        fams.extend(joined.iter().map(|i| i.family.as_str()));
        let windowed: Vec<(String, &str)> = fold_items
            .iter()
            .filter(|i| !i.malicious && !args.window_score_only)
            .flat_map(|i| {
                word_windows(&i.text, args.window_words)
                    .into_iter()
                    .map(|w| (w, i.family.as_str()))
            })
            .collect();
        x.extend(windowed.iter().map(|(w, _)| featurizer.featurize(w)));
        y.extend(windowed.iter().map(|_| false));
        fams.extend(windowed.iter().map(|(_, f)| *f));
        let t = Instant::now();
        let trained = fit(&x, &y, &fams, &config, args.backend, |_, _, _| {})?;
        let cloud = &trained.cloud;
        let cloud_probability = |f: &cloud_analyzer::learn::Featurized| cloud.probability_of(f);
        let engine = Engine::builder()
            .scorer(trained.edge.clone())
            .build()
            .map_err(|e| e.to_string())?;
        for &i in &test_idx {
            let text = &all_items[i].text;
            let windows: Vec<_> = word_windows(text, args.window_words)
                .iter()
                .map(|w| featurizer.featurize(w))
                .collect();
            let verdict = engine.triage_text(text).map_err(|e| e.to_string())?;
            let learned = trained
                .edge
                .calibrate(edge_margin(&trained.edge, &features[i].edge));
            held[i] = Some(Held {
                edge_score: verdict.score,
                edge_decision: verdict.decision,
                learned,
                cloud: cloud_probability(&features[i]),
                lexical: cloud.opinion_of(&features[i]).lexical,
                classifier_alone: evaluate::classifier_decides(&verdict, text),
                cloud_windows: windows.iter().map(cloud_probability).reduce(f32::max),
                lexical_windows: windows
                    .iter()
                    .filter_map(|f| cloud.opinion_of(f).lexical)
                    .reduce(f32::max),
                learned_windows: windows
                    .iter()
                    .map(|f| trained.edge.calibrate(edge_margin(&trained.edge, &f.edge)))
                    .reduce(f32::max),
                cloud_thresholds: cloud.thresholds(),
                escalate_at: engine.policy().thresholds.escalate,
                block_at: engine.policy().thresholds.block,
            });
        }
        eprintln!(
            "fold {}/{}: held out {family} ({} items), trained on {} in {:.1} s",
            k + 1,
            folds.len(),
            test_idx.len(),
            y.len(),
            t.elapsed().as_secs_f64()
        );
    }
    let (items, held): (Vec<Item>, Vec<Held>) = all_items
        .into_iter()
        .zip(held)
        .filter_map(|(item, h)| h.map(|h| (item, h)))
        .unzip();
    let labels: Vec<bool> = items.iter().map(|i| i.malicious).collect();

    let outcome = |score: f32, decision: Decision, escalated: bool| Outcome {
        score,
        decision,
        escalated,
        latency_us: 0.0,
        categories: Vec::new(),
    };
    let edge: Vec<Outcome> = held
        .iter()
        .map(|h| {
            outcome(
                h.edge_score,
                h.edge_decision,
                h.edge_decision == Decision::Escalate,
            )
        })
        .collect();
    let cloud: Vec<Outcome> = held
        .iter()
        .map(|h| {
            let d = if h.cloud >= h.cloud_thresholds.classifier {
                Decision::Block
            } else {
                Decision::Allow
            };
            outcome(h.cloud, d, false)
        })
        .collect();
    let cascade: Vec<Outcome> = held
        .iter()
        .map(|h| {
            let (s, d) = cascade_decision(
                h.edge_score,
                h.edge_decision,
                h.escalate_at,
                h.block_at,
                h.cloud_thresholds,
                h.classifier_alone,
                || CloudOpinion {
                    classifier: h.cloud,
                    lexical: h.lexical,
                },
            );
            outcome(s, d, h.edge_decision == Decision::Escalate)
        })
        .collect();
    let learned_scores: Vec<f32> = held.iter().map(|h| h.learned).collect();
    if let Some(path) = &args.dump {
        let mut out = String::new();
        for (item, h) in items.iter().zip(&held) {
            out.push_str(
                &serde_json::json!({
                    "label": if item.malicious { "malicious" } else { "benign" },
                    "family": item.family,
                    "category": item.category,
                    "chars": item.text.chars().count(),
                    "text": item.text,
                    "edge_score": h.edge_score,
                    "edge_decision": h.edge_decision.as_str(),
                    "cloud": h.cloud,
                    "lexical": h.lexical,
                    "classifier_alone": h.classifier_alone,
                    "cloud_windows": h.cloud_windows,
                    "lexical_windows": h.lexical_windows,
                    "learned_windows": h.learned_windows,
                    "learned": h.learned,
                })
                .to_string(),
            );
            out.push('\n');
        }
        std::fs::write(path, out).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }

    // Length confound.
    let lengths: Vec<f32> = items
        .iter()
        .map(|i| i.text.chars().count() as f32)
        .collect();
    let matched = length_matched(&lengths, &labels, args.seed);
    let sub = |v: &[f32]| -> Vec<f32> { matched.iter().map(|&i| v[i]).collect() };
    let sub_labels: Vec<bool> = matched.iter().map(|&i| labels[i]).collect();
    let score_of = |o: &[Outcome]| -> Vec<f32> { o.iter().map(|x| x.score).collect() };
    let length = LengthCheck {
        length_only_auc: roc_auc(&lengths, &labels),
        matched_n: matched.len(),
        edge_auc: roc_auc(&sub(&score_of(&edge)), &sub_labels),
        learned_auc: roc_auc(&sub(&learned_scores), &sub_labels),
        cloud_auc: roc_auc(&sub(&score_of(&cloud)), &sub_labels),
        cascade_auc: roc_auc(&sub(&score_of(&cascade)), &sub_labels),
        matched_length_auc: roc_auc(&sub(&lengths), &sub_labels),
    };

    // Threshold curves.
    let benign_edge: Vec<f32> = held
        .iter()
        .zip(&labels)
        .filter(|(_, &m)| !m)
        .map(|(h, _)| h.edge_score)
        .collect();
    let benign_edge_rate = [
        0.2f32, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95,
    ]
    .iter()
    .map(|&t| {
        let n = benign_edge.iter().filter(|&&s| s >= t).count();
        (t, n as f64 / benign_edge.len().max(1) as f64)
    })
    .collect();
    // Cascade score restricted to the cloud's part: what the cloud threshold controls.
    let escalated_cloud: Vec<f32> = held
        .iter()
        .map(|h| match h.edge_decision {
            Decision::Escalate => match h.lexical {
                Some(l) => {
                    let w = h.cloud_thresholds.lexical_weight;
                    (1.0 - w) * h.cloud + w * l
                }
                None => (h.cloud + h.edge_score) / 2.0,
            },
            Decision::Block => 2.0,
            Decision::Allow => -1.0,
        })
        .collect();
    let cloud_threshold_for_1pct = recall_at_fpr(&escalated_cloud, &labels, 0.01);

    let report = CrossvalReport {
        seed: args.seed,
        backend: args.backend.name(),
        folds: folds.len(),
        seconds: start.elapsed().as_secs_f64(),
        learned_roc_auc: roc_auc(&learned_scores, &labels),
        edge: evaluate::report(Tier::Edge, &items, &edge),
        cloud: evaluate::report(Tier::Cloud, &items, &cloud),
        cascade: evaluate::report(Tier::Cascade, &items, &cascade),
        length,
        curves: Curves {
            benign_edge_rate,
            cloud_threshold_for_1pct,
        },
    };
    if args.json {
        return serde_json::to_string(&report).map_err(|e| e.to_string());
    }
    let mut s = format!(
        "leave-one-family-out over {} folds, seed {}, backend {}, {:.0} s\n\
         (every score below comes from models that did not see the item's family)\n\n",
        report.folds, report.seed, report.backend, report.seconds
    );
    s.push_str(&format!(
        "learned edge scorer alone: ROC AUC {}\n\n",
        report
            .learned_roc_auc
            .map_or("—".into(), |v| format!("{v:.4}"))
    ));
    for r in [&report.edge, &report.cloud, &report.cascade] {
        s.push_str(&evaluate::render(r));
        s.push('\n');
    }
    let f = |x: Option<f64>| x.map_or("—".to_string(), |v| format!("{v:.4}"));
    s.push_str(&format!(
        "length confound: length alone AUC {}; on a length-matched subset of {} items (length AUC {}):\n  edge {}  learned {}  cloud {}  cascade {}\n",
        f(report.length.length_only_auc),
        report.length.matched_n,
        f(report.length.matched_length_auc),
        f(report.length.edge_auc),
        f(report.length.learned_auc),
        f(report.length.cloud_auc),
        f(report.length.cascade_auc),
    ));
    s.push_str("benign share at or above an edge score:");
    for (t, r) in &report.curves.benign_edge_rate {
        s.push_str(&format!(" {t:.2}→{:.1}%", r * 100.0));
    }
    s.push('\n');
    if let Some((t, r)) = report.curves.cloud_threshold_for_1pct {
        s.push_str(&format!(
            "cloud threshold for cascade FPR ≤ 1%: {t:.3} (cascade recall {:.1}%)\n",
            r * 100.0
        ));
    }
    Ok(s)
}

/// Indices of a subset where both labels have the same length distribution: items are binned by
/// log₂ length and each bin keeps as many of each label as the rarer label has there.
fn length_matched(lengths: &[f32], labels: &[bool], seed: u64) -> Vec<usize> {
    let bin = |l: f32| (l.max(1.0).log2() * 2.0) as i32; // half-octave bins
    let mut bins: std::collections::BTreeMap<i32, (Vec<usize>, Vec<usize>)> = Default::default();
    for (i, (&l, &m)) in lengths.iter().zip(labels).enumerate() {
        let e = bins.entry(bin(l)).or_default();
        if m {
            e.0.push(i);
        } else {
            e.1.push(i);
        }
    }
    let mut rng = SplitMix(seed ^ 0x1E46);
    let mut out = Vec::new();
    for (_, (mut mal, mut ben)) in bins {
        let k = mal.len().min(ben.len());
        rng.shuffle(&mut mal);
        rng.shuffle(&mut ben);
        out.extend_from_slice(&mal[..k]);
        out.extend_from_slice(&ben[..k]);
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::{fold_groups, word_windows};

    #[test]
    fn grouped_families_share_one_fold_and_typos_are_errors() {
        let families: Vec<String> = ["b:docs", "b:math", "m:latent", "m:wild"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let alone = fold_groups(&families, &[]).unwrap();
        assert_eq!(
            alone.len(),
            4,
            "without groups every family is its own fold"
        );
        let grouped = fold_groups(&families, &["b:docs+m:latent".to_string()]).unwrap();
        assert_eq!(
            grouped,
            [
                vec!["b:docs".to_string(), "m:latent".to_string()],
                vec!["b:math".to_string()],
                vec!["m:wild".to_string()],
            ]
        );
        let every: Vec<&String> = grouped.iter().flatten().collect();
        assert_eq!(
            every.len(),
            families.len(),
            "each family is in exactly one fold"
        );
        let typo = fold_groups(&families, &["b:docs+m:latnet".to_string()]).unwrap_err();
        assert!(typo.contains("m:latnet"), "{typo}");
        let twice = fold_groups(
            &families,
            &["b:docs+m:latent".to_string(), "m:latent+m:wild".to_string()],
        )
        .unwrap_err();
        assert!(twice.contains("named twice"), "{twice}");
    }

    #[test]
    fn windows_overlap_by_half_and_cover_every_word() {
        let text = (0..10)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            word_windows(&text, 10).is_empty(),
            "a text that fits has none"
        );
        assert!(word_windows(&text, 0).is_empty(), "0 turns windows off");
        let w = word_windows(&text, 4);
        assert_eq!(
            w,
            ["w0 w1 w2 w3", "w2 w3 w4 w5", "w4 w5 w6 w7", "w6 w7 w8 w9"]
        );
        let odd = word_windows("a b c d e", 4);
        assert_eq!(odd, ["a b c d", "c d e"]);
    }
}
