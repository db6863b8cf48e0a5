//! `cloud-analyzer eval`: runs one tier over labelled JSONL and reports quality and latency.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use cloud_analyzer::learn::cloud::{CloudClassifier, EDGE_FILE};
use cloud_analyzer::learn::evaluate::{self, Tier};
use cloud_analyzer::learn::{Backend, Featurizer};
use shared_core::scorer::LinearScorer;
use shared_core::{Engine, Policy};

use crate::commands::load_data;

/// Arguments of `eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Labelled JSONL; repeat to combine files.
    #[arg(long, required = true)]
    data: Vec<PathBuf>,
    /// Which tier to run.
    #[arg(long, value_enum, default_value_t = Tier::Cascade)]
    tier: Tier,
    /// Use the models in this directory (from `train --out`) instead of the built-in ones.
    #[arg(long)]
    models: Option<PathBuf>,
    /// A JSON policy file for the edge (defaults otherwise).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Burn backend.
    #[arg(long, value_enum, default_value_t = Backend::default_backend())]
    backend: Backend,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Adaptation evaluation: hold out each attack family in turn, feed K of its examples to
    /// the attack memory as confirmed false negatives, and report recall and benign FPR before
    /// and after (trains models per family; `--tier` and `--models` do not apply).
    #[arg(long, value_name = "K")]
    adapt: Option<usize>,
    /// With `--adapt`: labelled JSONL always used for training, never scored.
    #[arg(long)]
    augment: Vec<PathBuf>,
    /// With `--adapt`: labelled JSONL whose attack families no model ever trains on (held out
    /// in every fold, not only their own); each is adapted to like a held-out family. Its
    /// benign items never train: they are scored for its families as a second benign set
    /// ("outside FPR").
    #[arg(long, value_name = "FILE")]
    adapt_unseen: Vec<PathBuf>,
    /// With `--adapt-unseen`: after each of its families' K attacks, report up to F false
    /// positives as an operator would — benign items of the file (from the half that is not
    /// scored) that the adapted memory recognizes, fed back one at a time.
    #[arg(long, value_name = "F", default_value_t = 0)]
    adapt_false_positives: usize,
    /// With `--adapt`: seed for choosing the K examples and for training.
    #[arg(long, default_value_t = cloud_analyzer::learn::DEFAULT_SEED)]
    seed: u64,
    /// With `--adapt`: skip training and report what the memory alone recognizes.
    #[arg(long)]
    memory_only: bool,
    /// With `--adapt`: networks per trained cloud classifier (see `train --cloud-bags`).
    #[arg(long, default_value_t = cloud_analyzer::learn::FitConfig::new(0).cloud_bags)]
    cloud_bags: usize,
    /// Also write one JSON line per item to this file (its label, family, the tier's score,
    /// decision, whether the edge escalated it, the categories the edge found — none for the
    /// cloud tier, which runs no edge — and the first 200 characters of its text), to see which
    /// prompts a tier gets wrong and why.
    #[arg(long)]
    dump: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: &EvalArgs) -> ExitCode {
    crate::commands::finish("eval", eval(args))
}

/// Builds the edge engine and the cloud classifier from `--models` or the built-in ones.
pub fn load_models(
    models: Option<&PathBuf>,
    policy: Option<&PathBuf>,
    backend: Backend,
) -> Result<(Engine, CloudClassifier), String> {
    load_engine_and_classifier(models, policy, None, backend)
}

/// Like [`load_models`], with the policy given inline (`serve`'s TOML `[policy]`) when
/// `inline` is set.
pub fn load_engine_and_classifier(
    models: Option<&PathBuf>,
    policy: Option<&PathBuf>,
    inline: Option<Policy>,
    backend: Backend,
) -> Result<(Engine, CloudClassifier), String> {
    let policy = match (inline, policy) {
        (Some(p), _) => p,
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read policy {}: {e}", path.display()))?;
            Policy::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        (None, None) => Policy::default(),
    };
    let builder = Engine::builder().policy(policy);
    match models {
        Some(dir) => {
            let bytes = std::fs::read(dir.join(EDGE_FILE))
                .map_err(|e| format!("cannot read {}: {e}", dir.join(EDGE_FILE).display()))?;
            let scorer = LinearScorer::from_bytes(&bytes).map_err(|e| e.to_string())?;
            let engine = builder.scorer(scorer).build().map_err(|e| e.to_string())?;
            Ok((engine, CloudClassifier::load(dir, backend)?))
        }
        None => {
            let engine = builder.build().map_err(|e| e.to_string())?;
            if !engine.has_scorer() {
                return Err("this build has no built-in edge weights; pass --models DIR".into());
            }
            Ok((engine, CloudClassifier::builtin(backend)?))
        }
    }
}

/// The session window classifier: `window.bpk` in the models directory (the cloud model of
/// that directory when it has none — trained with `--window-joined 0`), else the built-in one.
pub fn load_window_classifier(
    models: Option<&PathBuf>,
    backend: Backend,
) -> Result<CloudClassifier, String> {
    match models {
        Some(dir)
            if dir
                .join(cloud_analyzer::learn::cloud::WINDOW_WEIGHTS_FILE)
                .exists() =>
        {
            CloudClassifier::load_window(dir, backend)
        }
        Some(dir) => CloudClassifier::load(dir, backend),
        None => CloudClassifier::builtin_window(backend),
    }
}

fn eval(args: &EvalArgs) -> Result<String, String> {
    let items = load_data(&args.data)?;
    if let Some(k) = args.adapt {
        if k == 0 {
            return Err("--adapt needs K ≥ 1".into());
        }
        let extra = if args.augment.is_empty() {
            Vec::new()
        } else {
            load_data(&args.augment)?
        };
        let unseen: Vec<_> = if args.adapt_unseen.is_empty() {
            Vec::new()
        } else {
            load_data(&args.adapt_unseen)?
        };
        if let Some(clash) = unseen
            .iter()
            .find(|u| items.iter().chain(&extra).any(|i| i.family == u.family))
        {
            return Err(format!(
                "--adapt-unseen: family {} is also in the training data",
                clash.family
            ));
        }
        let settings = crate::commands::adapt::AdaptSettings {
            k,
            seed: args.seed,
            memory_only: args.memory_only,
            false_positives: args.adapt_false_positives,
            cloud_bags: args.cloud_bags,
            backend: args.backend,
        };
        return crate::commands::adapt::run(&items, &extra, &unseen, &settings, args.json);
    }
    let (engine, cloud) = load_models(args.models.as_ref(), args.policy.as_ref(), args.backend)?;
    let featurizer = Featurizer::new().map_err(|e| e.to_string())?;
    let outcomes = evaluate::run(&items, args.tier, &engine, &cloud, &featurizer);
    let report = evaluate::report(args.tier, &items, &outcomes);
    if let Some(path) = &args.dump {
        let mut out = String::new();
        for (item, o) in items.iter().zip(&outcomes) {
            let text: String = item.text.chars().take(200).collect();
            out.push_str(
                &serde_json::json!({
                    "label": if item.malicious { "malicious" } else { "benign" },
                    "family": item.family,
                    "score": o.score,
                    "decision": o.decision.as_str(),
                    "escalated": o.escalated,
                    "categories": o.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                    "text": text,
                })
                .to_string(),
            );
            out.push('\n');
        }
        std::fs::write(path, out).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if args.json {
        serde_json::to_string(&report).map_err(|e| e.to_string())
    } else {
        Ok(evaluate::render(&report))
    }
}
