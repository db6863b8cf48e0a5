//! `cloud-analyzer train`: trains the edge scorer and the cloud classifier from labelled JSONL.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use cloud_analyzer::learn::cloud::EDGE_FILE;
use cloud_analyzer::learn::{fit, Backend, Featurizer, FitConfig, DEFAULT_SEED};
use cloud_analyzer::memory::adapter::{BenignReference, REFERENCE_FILE};
use indicatif::{ProgressBar, ProgressStyle};

use crate::commands::load_data;

/// Arguments of `train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Labelled JSONL (`{"text","label","source","category"}`; other fields are ignored, labels
    /// may also be 1/0 or true/false); repeat to combine files.
    #[arg(long, required = true)]
    data: Vec<PathBuf>,
    /// Directory for `edge.mnls`, `cloud.bpk`, `cloud.json` (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Seed for splits, initialization and shuffling.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Burn backend.
    #[arg(long, value_enum, default_value_t = Backend::default_backend())]
    backend: Backend,
    /// Also train the session window classifier (`window.bpk`): the cloud model again, with
    /// this many extra benign examples made of 2–4 benign items joined (how the session
    /// analysis reads consecutive turns together); 0 skips it.
    #[arg(long, default_value_t = 1000)]
    window_joined: usize,
    /// Share of those joins whose parts all come from one family (0–1; 0, the default, joins
    /// uniformly drawn items as the shipped window classifier was trained). An experiment:
    /// measured in the README ("Where the conversations' false alarms come from"), not adopted.
    #[arg(long, default_value_t = 0.0)]
    window_family_share: f64,
    /// Cross-fitted calibration over this many folds, shipped models trained on everything
    /// (see the README, "Learned detectors"); 0 = one hold-out split.
    #[arg(long)]
    calibration_folds: Option<usize>,
    /// Average this many edge models trained on different calibration splits (default 1;
    /// an experiment, see `FitConfig::edge_bags` and the README, "How stable these numbers
    /// are").
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
    /// Cloud classifiers (and session window classifiers) averaged as calibrated logits, each
    /// from its own seed and calibration split (see `FitConfig::cloud_bags`).
    #[arg(long, default_value_t = FitConfig::new(0).cloud_bags)]
    cloud_bags: usize,
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
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// Runs the command.
pub fn run(args: &TrainArgs) -> ExitCode {
    crate::commands::finish("train", train(args).map(|()| String::new()))
}

fn train(args: &TrainArgs) -> Result<(), String> {
    let start = Instant::now();
    let items = load_data(&args.data)?;
    let labels: Vec<bool> = items.iter().map(|i| i.malicious).collect();
    let featurizer = Featurizer::new().map_err(|e| e.to_string())?;
    let features: Vec<_> = items
        .iter()
        .map(|i| featurizer.featurize(&i.text))
        .collect();
    let mut config = FitConfig::new(args.seed);
    if let Some(k) = args.calibration_folds {
        config.calibration_folds = k;
    }
    if let Some(k) = args.edge_bags {
        config.edge_bags = k.max(1);
    }
    config.pooled_bag_calibration = args.pooled_bag_calibration;
    config.lexical_bags = args.lexical_bags;
    config.cloud_bags = args.cloud_bags;
    config.calibrate_on_collected_only = args.calibrate_on_collected_only;
    config.fit_only_families = args.fit_only_family.clone();
    config.set_signal_dropout(args.signal_dropout)?;
    if !(0.0..=1.0).contains(&args.window_family_share) {
        return Err(format!(
            "--window-family-share must be between 0 and 1, not {}",
            args.window_family_share
        ));
    }
    let runs = if config.calibration_folds >= 2 {
        config.calibration_folds + 1
    } else if config.refit {
        2
    } else {
        1
    };
    let fits = if args.window_joined > 0 { 2 } else { 1 };
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        let bags = if config.calibration_folds >= 2 {
            0
        } else {
            config.edge_bags.max(config.lexical_bags).saturating_sub(1)
        };
        let window_bags = if config.calibration_folds >= 2 || fits == 1 {
            0
        } else {
            config.edge_bags.saturating_sub(1)
        };
        let cloud_bags = if config.calibration_folds >= 2 {
            0
        } else {
            config.cloud_bags.saturating_sub(1) * runs * fits
        };
        ProgressBar::new(
            ((config.edge.epochs + config.cloud.epochs) * runs * fits
                + config.edge.epochs * (bags + window_bags)
                + config.cloud.epochs * cloud_bags) as u64,
        )
    };
    bar.set_style(
        ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} epochs  {msg}")
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
    );
    let families: Vec<&str> = items.iter().map(|i| i.family.as_str()).collect();
    let trained = fit(
        &features,
        &labels,
        &families,
        &config,
        args.backend,
        |stage, epoch, loss| {
            bar.set_prefix(stage.to_string());
            bar.set_message(format!("epoch {} loss {loss:.4}", epoch + 1));
            bar.inc(1);
        },
    )?;
    // The window classifier: the same training with joined benign examples added. Not used for
    // single prompts — joined examples made held-out single-prompt scores worse (README).
    let window = if args.window_joined > 0 {
        let joined = cloud_analyzer::learn::data::joined_benign(
            &items,
            args.window_joined,
            args.seed,
            args.window_family_share,
        );
        let mut features = features.clone();
        features.extend(joined.iter().map(|i| featurizer.featurize(&i.text)));
        let mut labels = labels.clone();
        labels.extend(joined.iter().map(|i| i.malicious));
        let mut families = families.clone();
        families.extend(joined.iter().map(|i| i.family.as_str()));
        // Sessions read windows with the classifier alone: no lexical model to train.
        let window_config = FitConfig {
            lexical_bags: 0,
            ..config.clone()
        };
        let trained = fit(
            &features,
            &labels,
            &families,
            &window_config,
            args.backend,
            |stage, epoch, loss| {
                bar.set_prefix(format!("window/{stage}"));
                bar.set_message(format!("epoch {} loss {loss:.4}", epoch + 1));
                bar.inc(1);
            },
        )?;
        Some(trained.cloud)
    } else {
        None
    };
    bar.finish_and_clear();
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    if let Some(window) = &window {
        window.save_window(&args.out)?;
    }
    let edge_path = args.out.join(EDGE_FILE);
    let edge_bytes = trained.edge.to_bytes();
    std::fs::write(&edge_path, &edge_bytes)
        .map_err(|e| format!("cannot write {}: {e}", edge_path.display()))?;
    trained.cloud.save(&args.out)?;
    let reference = BenignReference::from_training(&trained.cloud, &features, &labels, args.seed)
        .ok_or("no benign items to build the feedback adapter's reference from")?;
    let reference_path = args.out.join(REFERENCE_FILE);
    std::fs::write(&reference_path, reference.encode())
        .map_err(|e| format!("cannot write {}: {e}", reference_path.display()))?;
    let malicious = labels.iter().filter(|&&m| m).count();
    crate::commands::emit(&format!(
        "trained on {} items ({} malicious, {} benign) from {} file(s), seed {}, backend {}, in {:.1} s",
        items.len(),
        malicious,
        items.len() - malicious,
        args.data.len(),
        args.seed,
        args.backend.name(),
        start.elapsed().as_secs_f64()
    ));
    crate::commands::emit(&format!(
        "  edge scorer  → {} ({} KiB)",
        edge_path.display(),
        edge_bytes.len() / 1024
    ));
    crate::commands::emit(&format!(
        "  cloud model  → {}/{{cloud.bpk,cloud.json}} ({} model(s) averaged, block threshold {:.2})",
        args.out.display(),
        trained.cloud.member_count(),
        trained.cloud.meta.block_threshold
    ));
    if trained.cloud.lexical().is_some() {
        crate::commands::emit(&format!(
            "  lexical model → {} ({} edge-type models averaged; combined threshold {:.3})",
            args.out
                .join(cloud_analyzer::learn::cloud::LEXICAL_FILE)
                .display(),
            config.lexical_bags,
            trained.cloud.thresholds().combined
        ));
    }
    crate::commands::emit(&format!(
        "  benign reference → {} ({} items, for the feedback adapter)",
        reference_path.display(),
        reference.len()
    ));
    if window.is_some() {
        crate::commands::emit(&format!(
            "  window model → {}/{{window.bpk,window.json}} ({} joined benign examples)",
            args.out.display(),
            args.window_joined
        ));
    }
    Ok(())
}
