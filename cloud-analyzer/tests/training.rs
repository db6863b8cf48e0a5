//! Training is deterministic, and shared-core's quantized inference matches Burn's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use cloud_analyzer::learn::data;
use cloud_analyzer::learn::models::{predict, train, EdgeModel};
use cloud_analyzer::learn::{
    edge_margin, fit, Backend, Featurized, Featurizer, FitConfig, EDGE_DIM,
};
use cloud_analyzer::memory::adapter::BenignReference;
use shared_core::scorer::LinearScorer;

/// A small, fixed sample of the development corpus (every 8th line), so the test stays quick.
fn sample() -> Vec<data::Item> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/corpus.jsonl");
    let items = data::load(&path).expect("corpus");
    items.into_iter().step_by(8).collect()
}

/// Both models' features, labels and family names of `items`.
fn featurized(items: &[data::Item]) -> (Vec<Featurized>, Vec<bool>, Vec<&str>) {
    let featurizer = Featurizer::new().unwrap();
    let features = items
        .iter()
        .map(|i| featurizer.featurize(&i.text))
        .collect();
    let labels = items.iter().map(|i| i.malicious).collect();
    let families = items.iter().map(|i| i.family.as_str()).collect();
    (features, labels, families)
}

/// Training seeds the backend's global random generator: tests that train take turns, or two
/// trainings interleave their draws and the determinism checks fail at random.
static TRAINING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    TRAINING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn quick_config(seed: u64) -> FitConfig {
    let mut config = FitConfig::new(seed);
    config.edge.epochs = 3;
    config.cloud.epochs = 2;
    // One cloud network (five by default) where the test is not about the ensemble, to keep
    // CI quick; the determinism test trains two.
    config.cloud_bags = 1;
    config
}

#[test]
fn retraining_on_the_same_data_gives_the_same_weights() {
    let _turn = one_at_a_time();
    let items = sample();
    let (features, labels, families) = featurized(&items);
    // Two averaged cloud networks (`FitConfig::cloud_bags`), so the ensemble's training and
    // record are held to the same determinism.
    let config = |seed| FitConfig {
        cloud_bags: 2,
        ..quick_config(seed)
    };
    let run = |seed| {
        let t = fit(
            &features,
            &labels,
            &families,
            &config(seed),
            Backend::default_backend(),
            |_, _, _| {},
        )
        .unwrap();
        let dir = tempdir();
        t.cloud.save(&dir).unwrap();
        let cloud = std::fs::read(dir.join("cloud.bpk")).unwrap();
        let meta = std::fs::read_to_string(dir.join("cloud.json")).unwrap();
        assert!(meta.contains("bag_curves"), "{meta}");
        let lexical = std::fs::read(dir.join("lexical.mnls")).unwrap();
        let reference = BenignReference::from_training(&t.cloud, &features, &labels, seed).unwrap();
        [
            ("edge weights", t.edge.to_bytes()),
            ("cloud weights", cloud),
            ("cloud calibration", meta.into_bytes()),
            (
                "the feedback adapter's benign reference",
                reference.encode(),
            ),
            ("the cloud tier's lexical model", lexical),
        ]
    };
    let a = run(7);
    let b = run(7);
    for ((part, x), (_, y)) in a.iter().zip(&b) {
        assert_eq!(x, y, "{part} differ between two runs with the same seed");
    }
    assert_ne!(
        a[4].1, a[0].1,
        "the lexical model is the bags' average, not the edge's own model"
    );
    let c = run(8);
    assert_ne!(
        a[0].1, c[0].1,
        "a different seed should give different weights"
    );
}

#[test]
fn an_ensemble_larger_than_an_encoding_carries_is_refused_before_training() {
    let items = sample();
    let (features, labels, families) = featurized(&items);
    let most = cloud_analyzer::learn::cloud::MAX_MEMBERS;
    for bags in [0, most + 1] {
        let config = FitConfig {
            cloud_bags: bags,
            ..quick_config(1)
        };
        let err = fit(
            &features,
            &labels,
            &families,
            &config,
            Backend::default_backend(),
            |_, _, _| panic!("trained with {bags} cloud bags"),
        )
        .err()
        .unwrap();
        assert!(err.contains(&format!("1 to {most} supported")), "{err}");
    }
}

#[test]
fn shared_core_scores_match_burn_to_within_quantization() {
    let _turn = one_at_a_time();
    use burn::module::Module;
    let items = sample();
    let featurizer = Featurizer::new().unwrap();
    let examples: Vec<_> = items
        .iter()
        .map(|i| featurizer.featurize(&i.text).edge)
        .collect();
    let labels: Vec<bool> = items.iter().map(|i| i.malicious).collect();
    let backend = Backend::default_backend();
    let plain = backend.device();
    plain.seed(1);
    let device = plain.clone().autodiff();
    let mut config = FitConfig::new(1).edge;
    config.epochs = 3;
    let model = train(
        EdgeModel::new(EDGE_DIM as usize, &device),
        |m: &EdgeModel, i, v, s| m.forward(i, v, s),
        &examples,
        &labels,
        &vec![1.0; labels.len()],
        config,
        &device,
        |_, _| {},
    )
    .valid();
    let burn_margins = predict(
        &model,
        |m: &EdgeModel, i, v, s| m.forward(i, v, s),
        &examples,
        &plain,
    );
    let (weights, bias) = model.export();
    let max_w = weights.iter().fold(0.0f32, |m, w| m.max(w.abs()));
    let scorer =
        LinearScorer::from_weights(&weights, model.export_signals(), bias, 1.0, 0.0).unwrap();
    let scorer = LinearScorer::from_bytes(&scorer.to_bytes()).unwrap();
    let mut worst = 0.0f32;
    for (e, &burn) in examples.iter().zip(&burn_margins) {
        let core = edge_margin(&scorer, e);
        // Each n-gram weight is off by at most half a quantization step.
        let bound = 0.5 * (max_w / 127.0) * e.value * e.indices.len() as f32 + 1e-3;
        assert!(
            (core - burn).abs() <= bound,
            "core {core} vs burn {burn} (bound {bound})"
        );
        worst = worst.max((scorer.calibrate(core) - scorer.calibrate(burn)).abs());
    }
    assert!(worst < 0.02, "probabilities differ by up to {worst}");
    // The engine's own path (raw text → words and signals → margin) agrees with the featurized
    // one the trainer used.
    let engine = shared_core::Engine::builder()
        .without_scorer()
        .build()
        .unwrap();
    for (item, e) in items.iter().zip(&examples).take(50) {
        let (words, signals) = engine.learning_inputs(&item.text).unwrap();
        let direct = scorer.margin(&words, &signals);
        assert!((direct - edge_margin(&scorer, e)).abs() < 1e-4);
    }
}

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "mnemosyne-train-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn bagged_edge_is_one_deterministic_linear_model_that_still_ranks() {
    let _turn = one_at_a_time();
    let items = sample();
    let (features, labels, families) = featurized(&items);
    let edge = |bags| {
        let mut config = quick_config(7);
        config.edge_bags = bags;
        config.lexical_bags = 0;
        fit(
            &features,
            &labels,
            &families,
            &config,
            Backend::default_backend(),
            |_, _, _| {},
        )
        .unwrap()
        .edge
    };
    let single = edge(1);
    let bagged = edge(3);
    assert_eq!(
        bagged.to_bytes(),
        edge(3).to_bytes(),
        "bagging is not deterministic"
    );
    // The averaged logits are calibrated probabilities already: they must still rank attacks
    // above benign prompts on the data they came from.
    let probabilities = |scorer: &LinearScorer| -> Vec<f32> {
        features
            .iter()
            .map(|f| scorer.calibrate(edge_margin(scorer, &f.edge)))
            .collect()
    };
    let scores = probabilities(&bagged);
    // Bags trained on other splits are other models: the average is not bag 0 (the single
    // model's own split) rescaled.
    let moved = scores
        .iter()
        .zip(probabilities(&single))
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        moved > 0.01,
        "three bags scored like the single model ({moved})"
    );
    let auc = cloud_analyzer::learn::metrics::roc_auc(&scores, &labels).unwrap();
    assert!(auc > 0.9, "bagged edge AUC {auc}");
}
