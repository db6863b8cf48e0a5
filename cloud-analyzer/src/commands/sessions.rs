//! `gen-sessions` and `eval-sessions`: multi-turn conversations generated from labelled prompts,
//! run through the session analysis turn by turn, with the single-turn cascade as the baseline
//! in the same run.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use cloud_analyzer::learn::evaluate::{cascade_decision, classifier_decides};
use cloud_analyzer::learn::metrics::percentile;
use cloud_analyzer::learn::{Backend, Featurizer, DEFAULT_SEED};
use cloud_analyzer::memory::scenarios::{self, Scenario, MULTI_TURN_TYPES, TYPES};
use cloud_analyzer::memory::session::{Action, KeyRisk, SessionPolicy, SessionState, TurnInput};
use cloud_analyzer::memory::{lexical_embedding, Projection, PROJECTION_SEED};
use serde::Serialize;
use shared_core::Decision;

use crate::commands::{finish, load_data};

/// Arguments of `gen-sessions`.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// Labelled JSONL to build conversations from; repeat to combine files.
    #[arg(long, required = true)]
    data: Vec<PathBuf>,
    /// Directory to write `sessions.jsonl` (the conversations) and `train.jsonl` (the other
    /// half of the items, for training the models the evaluation uses).
    #[arg(long)]
    out: PathBuf,
    /// Conversations per type.
    #[arg(long, default_value_t = 150)]
    per_type: usize,
    /// Seed of the conversations.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Seed of the split of items into conversation and training halves (keep it fixed to
    /// draw several conversation sets — tuning and reporting — against the same models).
    #[arg(long, default_value_t = DEFAULT_SEED)]
    split_seed: u64,
}

/// Runs `gen-sessions`.
pub fn run_gen(args: &GenArgs) -> ExitCode {
    finish("gen-sessions", generate(args))
}

fn generate(args: &GenArgs) -> Result<String, String> {
    let items = load_data(&args.data)?;
    let (scenario_half, training_half) = scenarios::split_items(&items, args.split_seed);
    let conversations = scenarios::generate(&scenario_half, args.per_type, args.seed)?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let mut sessions = String::new();
    for c in &conversations {
        sessions.push_str(&serde_json::to_string(c).map_err(|e| e.to_string())?);
        sessions.push('\n');
    }
    let mut training = String::new();
    for i in &training_half {
        let line = serde_json::json!({
            "text": i.text,
            "label": if i.malicious { "malicious" } else { "benign" },
            "source": i.source,
            "category": i.category,
            "family": i.family,
        });
        training.push_str(&line.to_string());
        training.push('\n');
    }
    let write = |name: &str, text: &str| {
        let path = args.out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write("sessions.jsonl", &sessions)?;
    write("train.jsonl", &training)?;
    Ok(format!(
        "wrote {} conversations ({} per type) to {} and {} training items to {}",
        conversations.len(),
        args.per_type,
        args.out.join("sessions.jsonl").display(),
        training_half.len(),
        args.out.join("train.jsonl").display()
    ))
}

/// Arguments of `eval-sessions`.
#[derive(Debug, Args)]
pub struct EvalSessionsArgs {
    /// Conversations from `gen-sessions` (JSONL).
    #[arg(long)]
    data: PathBuf,
    /// Models from `train --out` (default: the built-in ones — which were trained on the whole
    /// corpus, so pass models trained on `train.jsonl` for an honest number).
    #[arg(long)]
    models: Option<PathBuf>,
    /// Burn backend.
    #[arg(long, value_enum, default_value_t = Backend::default_backend())]
    backend: Backend,
    /// Session settings as JSON (the `[sessions]` keys of the analyzer's configuration;
    /// defaults otherwise).
    #[arg(long)]
    session_policy: Option<String>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Re-cut every multi-turn attack as an attacker who probes the firewall would: each
    /// piece grows word by word while the single-turn cascade (the models evaluated) would
    /// still let it through, up to 40 words. A word the cascade stops even alone stays a
    /// piece of its own.
    #[arg(long)]
    adaptive_split: bool,
    /// Also write one JSON line per conversation to this file: its id, type and label, the
    /// turn the session analysis first stopped (counted from the attack's first turn in a
    /// malicious one), that turn's session reasons, risk and window probability, and the turn
    /// the single-turn cascade first blocked — to see which conversations raise false alarms
    /// and why.
    #[arg(long)]
    dump: Option<PathBuf>,
}

/// Longest piece of an adaptive split, in words (the generator's largest fragment).
const ADAPTIVE_MAX_WORDS: usize = 40;

/// Cuts `words` into consecutive pieces, each as long as `passes` allows (at most
/// [`ADAPTIVE_MAX_WORDS`]); a word that does not pass alone is a piece of its own.
fn adaptive_pieces(words: &[&str], passes: impl Fn(&str) -> bool) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut from = 0;
    while from < words.len() {
        let mut to = from + 1;
        while to < words.len()
            && to - from < ADAPTIVE_MAX_WORDS
            && passes(&words[from..=to].join(" "))
        {
            to += 1;
        }
        pieces.push(words[from..to].join(" "));
        from = to;
    }
    pieces
}

/// The conversation with its attack re-cut by [`adaptive_pieces`]; the turns before the
/// attack stay, the other turns after it keep their order (for `low_and_slow`, one goes after
/// each piece, cycling).
fn recut(c: &Scenario, passes: impl Fn(&str) -> bool) -> Scenario {
    let (Some(start), false) = (c.attack_start, c.attack_turns.is_empty()) else {
        return c.clone();
    };
    if !MULTI_TURN_TYPES.contains(&c.kind.as_str()) && c.kind != "poisoning_control" {
        return c.clone();
    }
    let attack: Vec<&str> = c
        .attack_turns
        .iter()
        .filter_map(|&t| c.turns.get(t))
        .flat_map(|t| t.split_whitespace())
        .collect();
    let others: Vec<&String> = (start..c.turns.len())
        .filter(|t| !c.attack_turns.contains(t))
        .filter_map(|t| c.turns.get(t))
        .collect();
    let mut turns: Vec<String> = c.turns[..start].to_vec();
    let mut attack_turns = Vec::new();
    let interleave = c.kind == "low_and_slow" && !others.is_empty();
    for (i, piece) in adaptive_pieces(&attack, &passes).into_iter().enumerate() {
        attack_turns.push(turns.len());
        turns.push(piece);
        if interleave {
            turns.push(others[i % others.len()].clone());
        }
    }
    if !interleave {
        turns.extend(others.into_iter().cloned());
    }
    Scenario {
        turns,
        attack_turns,
        ..c.clone()
    }
}

/// Runs `eval-sessions`.
pub fn run_eval(args: &EvalSessionsArgs) -> ExitCode {
    finish("eval-sessions", evaluate(args))
}

fn load_scenarios(path: &PathBuf) -> Result<Vec<Scenario>, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("{}: line {}: {e}", path.display(), n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let s: Scenario = serde_json::from_str(&line)
            .map_err(|e| format!("{}: line {}: {e}", path.display(), n + 1))?;
        let valid = !s.turns.is_empty()
            && (s.label == "benign" || s.label == "malicious")
            && s.malicious() == s.attack_start.is_some()
            && s.attack_start.is_none_or(|a| a < s.turns.len())
            && (s.attack_turns.is_empty()
                || (s.malicious()
                    && s.attack_turns.first() == s.attack_start.as_ref()
                    && s.attack_turns.windows(2).all(|w| w[0] < w[1])
                    && s.attack_turns.iter().all(|&t| t < s.turns.len())));
        if !valid {
            return Err(format!(
                "{}: line {}: a conversation needs turns, a label, and attack_start (< turns) \
                 exactly when malicious; attack_turns, if given, rise from attack_start and \
                 stay below the number of turns",
                path.display(),
                n + 1
            ));
        }
        out.push(s);
    }
    Ok(out)
}

/// Conversations one client key sends in a row in the session-rotation evaluation.
const ROTATION_GROUP: usize = 5;

#[derive(Debug, Default, Serialize)]
struct TypeResult {
    n: usize,
    malicious: bool,
    /// Malicious: share caught (blocked or held) at or after the first attack turn.
    caught: Option<f64>,
    /// The same for the single-turn cascade alone.
    baseline_caught: Option<f64>,
    /// Mean turns from the first attack turn to the catch (0 = the first attack turn).
    mean_turns_to_catch: Option<f64>,
    /// Benign: share with any turn blocked or held (a false alarm).
    false_alarms: Option<f64>,
    /// Benign: the same for the single-turn cascade alone.
    baseline_false_alarms: Option<f64>,
    /// Share of conversations with at least one warning.
    warned: f64,
    /// Malicious: share stopped before the attack began (a false alarm on its benign prefix).
    stopped_early: Option<f64>,
    /// Malicious: share whose attack turns, joined and sent as one prompt, the single-turn
    /// cascade blocks (what a detector that sees the whole attack at once could reach).
    whole_attack_blocked: Option<f64>,
    /// Malicious: share caught among the conversations whose whole attack is blocked.
    caught_when_whole_blocked: Option<f64>,
    /// Malicious: share caught among the rest.
    caught_when_whole_missed: Option<f64>,
}

#[derive(Debug, Serialize)]
struct SessionsReport {
    conversations: usize,
    turns: usize,
    per_type: BTreeMap<String, TypeResult>,
    malicious_caught: f64,
    malicious_baseline_caught: f64,
    multi_turn_caught: f64,
    multi_turn_baseline_caught: f64,
    benign_false_alarms: f64,
    benign_baseline_false_alarms: f64,
    /// Multi-turn types: share whose whole attack the single-turn cascade blocks, and the
    /// share caught among those and among the rest (absent for files without attack_turns).
    multi_turn_whole_attack_blocked: Option<f64>,
    multi_turn_caught_when_whole_blocked: Option<f64>,
    multi_turn_caught_when_whole_missed: Option<f64>,
    /// Every turn in a session of its own under one client key (session rotation): malicious
    /// conversations caught with the key's stopped turns carried over.
    rotation_caught: f64,
    /// The same without the key (each fresh session judged alone).
    rotation_caught_without_key: f64,
    /// Benign conversations with a turn held or blocked under rotation with the key.
    rotation_false_alarms: f64,
    /// Session analysis per turn (memory retrieval + update, windows), microseconds.
    session_step_us: BTreeMap<&'static str, f64>,
    seconds: f64,
}

/// What happened to the conversations of one type.
#[derive(Default)]
struct Outcomes {
    caught: Vec<bool>,
    baseline: Vec<bool>,
    to_catch: Vec<usize>,
    warned: Vec<bool>,
    early: Vec<bool>,
    /// Per malicious conversation with attack turns: (whole attack blocked, caught).
    whole: Vec<(bool, bool)>,
}

/// Shares of `whole` pairs: (whole blocked, caught when blocked, caught when not), each
/// `None` when it has no conversations to count.
fn whole_shares(whole: &[(bool, bool)]) -> (Option<f64>, Option<f64>, Option<f64>) {
    let share = |hit: usize, n: usize| (n > 0).then(|| hit as f64 / n as f64);
    let blocked = whole.iter().filter(|w| w.0).count();
    let caught_blocked = whole.iter().filter(|w| w.0 && w.1).count();
    let caught_missed = whole.iter().filter(|w| !w.0 && w.1).count();
    (
        share(blocked, whole.len()),
        share(caught_blocked, blocked),
        share(caught_missed, whole.len() - blocked),
    )
}

struct Tally {
    n: usize,
    hit: usize,
}

impl Tally {
    fn share(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.hit as f64 / self.n as f64
        }
    }
}

fn evaluate(args: &EvalSessionsArgs) -> Result<String, String> {
    let start = Instant::now();
    let conversations = load_scenarios(&args.data)?;
    let (engine, cloud) =
        crate::commands::eval::load_models(args.models.as_ref(), None, args.backend)?;
    let window = crate::commands::eval::load_window_classifier(args.models.as_ref(), args.backend)?;
    let featurizer = Featurizer::new().map_err(|e| e.to_string())?;
    let projection = Projection::new(PROJECTION_SEED);
    let device = args.backend.device().autodiff();
    let policy: SessionPolicy = match &args.session_policy {
        Some(text) => serde_json::from_str(text).map_err(|e| format!("--session-policy: {e}"))?,
        None => SessionPolicy::default(),
    };
    policy.validate()?;
    let thresholds = engine.policy().thresholds;
    let mut per_type: BTreeMap<String, Outcomes> = BTreeMap::new();
    let mut step_us = Vec::new();
    let mut turns_total = 0usize;
    let (mut rotation_key, mut rotation_alone, mut rotation_benign) = (
        Tally { n: 0, hit: 0 },
        Tally { n: 0, hit: 0 },
        Tally { n: 0, hit: 0 },
    );
    let mut keys: BTreeMap<String, (KeyRisk, usize)> = BTreeMap::new();
    // The single-turn cascade on one prompt: its features, edge score, classifier probability
    // and decision.
    let single_turn = |text: &str| {
        let features = featurizer.featurize(text);
        let (edge_score, edge_decision, classifier_alone) = match engine.triage_text(text) {
            Ok(v) => (v.score, v.decision, classifier_decides(&v, text)),
            Err(_) => (1.0, Decision::Block, false),
        };
        let opinion = cloud.opinion_of(&features);
        let (_, single) = cascade_decision(
            edge_score,
            edge_decision,
            thresholds.escalate,
            thresholds.block,
            cloud.thresholds(),
            classifier_alone,
            || opinion,
        );
        (features, edge_score, opinion.classifier, single)
    };
    let conversations: Vec<Scenario> = if args.adaptive_split {
        conversations
            .iter()
            .map(|c| recut(c, |text| single_turn(text).3 != Decision::Block))
            .collect()
    } else {
        conversations
    };
    let mut multi_whole: Vec<(bool, bool)> = Vec::new();
    let mut dump = Vec::new();
    for c in &conversations {
        let mut state = SessionState::new();
        let mut rotated = Vec::with_capacity(c.turns.len());
        let mut caught: Option<usize> = None;
        let mut stopped_by = None;
        let mut baseline: Option<usize> = None;
        let mut stopped_early = false;
        let mut warned = false;
        let attack_start = c.attack_start.unwrap_or(usize::MAX);
        for (t, text) in c.turns.iter().enumerate() {
            turns_total += 1;
            let (features, edge_score, cloud_p, single) = single_turn(text);
            let embedding = lexical_embedding(&features.cloud.indices);
            let input = TurnInput {
                probability: (edge_score + cloud_p) / 2.0,
                single_turn: single,
                encoding: window.encode(&features.cloud),
                embedding: &embedding,
                known_attack: false,
                prior: 0.0,
                approved: false,
            };
            let step = Instant::now();
            let outcome = state.turn(&input, &policy, &projection, &window, &device);
            rotated.push((
                input.probability,
                single,
                input.encoding.clone(),
                embedding.clone(),
            ));
            step_us.push(step.elapsed().as_secs_f64() * 1e6);
            warned |= outcome.action == Action::Warn;
            let stops = outcome.action >= Action::RequireApproval;
            if c.malicious() && t < attack_start {
                stopped_early |= stops;
                continue;
            }
            if stops && caught.is_none() {
                caught = Some(t);
                stopped_by = Some((
                    outcome.reasons.clone(),
                    outcome.risk,
                    outcome.window_probability,
                ));
            }
            if single == Decision::Block && baseline.is_none() {
                baseline = Some(t);
            }
        }
        // Session rotation: the same turns from one client key, each in a session of its own
        // — with the key's stopped turns carried to its next sessions, and without. A key
        // sends ROTATION_GROUP conversations of one type in a row (an attacker who keeps
        // trying), so what it did in earlier ones counts in later ones.
        let (key, used) = keys.entry(c.kind.clone()).or_default();
        if *used % ROTATION_GROUP == 0 {
            *key = KeyRisk::default();
        }
        *used += 1;
        let (mut with_key, mut alone) = (false, false);
        for (t, (probability, single, encoding, embedding)) in rotated.into_iter().enumerate() {
            let run = |prior: f32| {
                let input = TurnInput {
                    probability,
                    single_turn: single,
                    encoding: encoding.clone(),
                    embedding: &embedding,
                    known_attack: false,
                    prior,
                    approved: false,
                };
                SessionState::new().turn(&input, &policy, &projection, &window, &device)
            };
            let keyed = run(key.prior(&policy)).action >= Action::RequireApproval;
            key.record(keyed);
            let counts = !c.malicious() || t >= attack_start;
            with_key |= keyed && counts;
            alone |= run(0.0).action >= Action::RequireApproval && counts;
        }
        if c.malicious() {
            rotation_key.n += 1;
            rotation_key.hit += usize::from(with_key);
            rotation_alone.n += 1;
            rotation_alone.hit += usize::from(alone);
        } else {
            rotation_benign.n += 1;
            rotation_benign.hit += usize::from(with_key);
        }
        if args.dump.is_some() {
            let from = c.attack_start.unwrap_or(0);
            let (reasons, risk, window_p) = stopped_by.unwrap_or_default();
            dump.push(
                serde_json::json!({
                    "id": c.id,
                    "type": c.kind,
                    "label": c.label,
                    "turns": c.turns.len(),
                    "stopped_at": caught.map(|t| t - from.min(t)),
                    "reasons": reasons,
                    "risk": risk,
                    "window_probability": window_p,
                    "single_turn_blocked_at": baseline.map(|t| t - from.min(t)),
                })
                .to_string(),
            );
        }
        let entry = per_type.entry(c.kind.clone()).or_default();
        entry.caught.push(caught.is_some());
        entry.baseline.push(baseline.is_some());
        if let Some(t) = caught {
            entry.to_catch.push(t - c.attack_start.unwrap_or(0));
        }
        entry.warned.push(warned);
        entry.early.push(stopped_early);
        if !c.attack_turns.is_empty() {
            let pieces: Vec<&str> = c
                .attack_turns
                .iter()
                .filter_map(|&t| c.turns.get(t).map(String::as_str))
                .collect();
            let whole_blocked = single_turn(&pieces.join(" ")).3 == Decision::Block;
            entry.whole.push((whole_blocked, caught.is_some()));
            if MULTI_TURN_TYPES.contains(&c.kind.as_str()) {
                multi_whole.push((whole_blocked, caught.is_some()));
            }
        }
    }
    if let Some(path) = &args.dump {
        let mut text = dump.join("\n");
        text.push('\n');
        std::fs::write(path, text).map_err(|e| format!("--dump {}: {e}", path.display()))?;
    }
    let mut report_types = BTreeMap::new();
    let (mut mal, mut mal_base, mut multi, mut multi_base, mut ben, mut ben_base) = (
        Tally { n: 0, hit: 0 },
        Tally { n: 0, hit: 0 },
        Tally { n: 0, hit: 0 },
        Tally { n: 0, hit: 0 },
        Tally { n: 0, hit: 0 },
        Tally { n: 0, hit: 0 },
    );
    for (kind, o) in &per_type {
        let (caught, baseline, to_catch, warned, early) =
            (&o.caught, &o.baseline, &o.to_catch, &o.warned, &o.early);
        let malicious = conversations
            .iter()
            .find(|c| &c.kind == kind)
            .is_some_and(Scenario::malicious);
        let n = caught.len();
        let rate = |v: &[bool]| v.iter().filter(|&&x| x).count() as f64 / v.len().max(1) as f64;
        let hits = caught.iter().filter(|&&x| x).count();
        let base_hits = baseline.iter().filter(|&&x| x).count();
        if malicious {
            mal.n += n;
            mal.hit += hits;
            mal_base.n += n;
            mal_base.hit += base_hits;
            if MULTI_TURN_TYPES.contains(&kind.as_str()) {
                multi.n += n;
                multi.hit += hits;
                multi_base.n += n;
                multi_base.hit += base_hits;
            }
        } else {
            ben.n += n;
            ben.hit += hits;
            ben_base.n += n;
            ben_base.hit += base_hits;
        }
        report_types.insert(
            kind.clone(),
            TypeResult {
                n,
                malicious,
                caught: malicious.then(|| rate(caught)),
                baseline_caught: malicious.then(|| rate(baseline)),
                mean_turns_to_catch: (malicious && !to_catch.is_empty())
                    .then(|| to_catch.iter().sum::<usize>() as f64 / to_catch.len() as f64),
                false_alarms: (!malicious).then(|| rate(caught)),
                baseline_false_alarms: (!malicious).then(|| rate(baseline)),
                warned: rate(warned),
                stopped_early: malicious.then(|| rate(early)),
                whole_attack_blocked: whole_shares(&o.whole).0,
                caught_when_whole_blocked: whole_shares(&o.whole).1,
                caught_when_whole_missed: whole_shares(&o.whole).2,
            },
        );
    }
    let mut step = BTreeMap::new();
    step.insert("p50", percentile(&step_us, 50.0));
    step.insert("p99", percentile(&step_us, 99.0));
    let report = SessionsReport {
        conversations: conversations.len(),
        turns: turns_total,
        per_type: report_types,
        malicious_caught: mal.share(),
        malicious_baseline_caught: mal_base.share(),
        multi_turn_caught: multi.share(),
        multi_turn_baseline_caught: multi_base.share(),
        benign_false_alarms: ben.share(),
        benign_baseline_false_alarms: ben_base.share(),
        multi_turn_whole_attack_blocked: whole_shares(&multi_whole).0,
        multi_turn_caught_when_whole_blocked: whole_shares(&multi_whole).1,
        multi_turn_caught_when_whole_missed: whole_shares(&multi_whole).2,
        rotation_caught: rotation_key.share(),
        rotation_caught_without_key: rotation_alone.share(),
        rotation_false_alarms: rotation_benign.share(),
        session_step_us: step,
        seconds: start.elapsed().as_secs_f64(),
    };
    if args.json {
        return serde_json::to_string(&report).map_err(|e| e.to_string());
    }
    Ok(render(&report))
}

fn render(r: &SessionsReport) -> String {
    let pct = |x: Option<f64>| x.map_or("—".to_string(), |x| format!("{:.1} %", x * 100.0));
    let mut out = format!(
        "{} conversations, {} turns; caught = blocked or held for approval at or after the first attack turn\n\n",
        r.conversations, r.turns
    );
    out.push_str(&format!(
        "{:<18} {:>4} {:>9} {:>10} {:>8} {:>9} {:>10} {:>8} {:>8} {:>8}\n",
        "type",
        "n",
        "caught",
        "baseline",
        "turns→",
        "false al.",
        "baseline",
        "warned",
        "early",
        "whole"
    ));
    for kind in TYPES {
        let Some(t) = r.per_type.get(kind) else {
            continue;
        };
        out.push_str(&format!(
            "{:<18} {:>4} {:>9} {:>10} {:>8} {:>9} {:>10} {:>8} {:>8} {:>8}\n",
            kind,
            t.n,
            pct(t.caught),
            pct(t.baseline_caught),
            t.mean_turns_to_catch
                .map_or("—".into(), |x| format!("{x:.1}")),
            pct(t.false_alarms),
            pct(t.baseline_false_alarms),
            pct(Some(t.warned)),
            pct(t.stopped_early),
            pct(t.whole_attack_blocked),
        ));
    }
    if let Some(whole) = r.multi_turn_whole_attack_blocked {
        out.push_str(&format!(
            "\nwhole = the attack turns joined and sent as one prompt, blocked by the single-turn cascade.\n\
             Multi-turn types: whole attack blocked {}; caught {} of those conversations and {} of the rest\n",
            pct(Some(whole)),
            pct(r.multi_turn_caught_when_whole_blocked),
            pct(r.multi_turn_caught_when_whole_missed),
        ));
    }
    out.push_str(&format!(
        "\nsession rotation (every turn a new session; one client key per {ROTATION_GROUP} conversations of a type): malicious caught {} \
         with the key's stopped turns carried over, {} without; benign false alarms {}\n",
        pct(Some(r.rotation_caught)),
        pct(Some(r.rotation_caught_without_key)),
        pct(Some(r.rotation_false_alarms)),
    ));
    out.push_str(&format!(
        "\nmalicious caught {} (single-turn baseline {}); multi-turn types {} (baseline {}); \
         benign false alarms {} (baseline {})\nsession step p50 {:.0} µs, p99 {:.0} µs; {:.1} s\n",
        pct(Some(r.malicious_caught)),
        pct(Some(r.malicious_baseline_caught)),
        pct(Some(r.multi_turn_caught)),
        pct(Some(r.multi_turn_baseline_caught)),
        pct(Some(r.benign_false_alarms)),
        pct(Some(r.benign_baseline_false_alarms)),
        r.session_step_us.get("p50").copied().unwrap_or(0.0),
        r.session_step_us.get("p99").copied().unwrap_or(0.0),
        r.seconds
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in cascade: stops any text containing "forbidden" or longer than five words.
    fn passes(text: &str) -> bool {
        !text.contains("forbidden") && text.split_whitespace().count() <= 5
    }

    #[test]
    fn adaptive_pieces_keep_every_word_and_only_stop_what_stops_alone() {
        let text = "one two three four five six seven forbidden eight nine ten eleven twelve";
        let words: Vec<&str> = text.split_whitespace().collect();
        let pieces = adaptive_pieces(&words, passes);
        assert_eq!(pieces.join(" "), text);
        for p in &pieces {
            assert!(passes(p) || p.split_whitespace().count() == 1, "{p}");
        }
        assert!(pieces.contains(&"forbidden".to_string()));
        assert_eq!(pieces[0], "one two three four five");
        let always: Vec<String> = adaptive_pieces(&vec!["w"; 100], |_| true);
        assert!(always
            .iter()
            .all(|p| p.split_whitespace().count() <= ADAPTIVE_MAX_WORDS));
    }

    #[test]
    fn recut_keeps_the_prefix_the_other_turns_and_the_attack() {
        let c = Scenario {
            id: "low_and_slow-0001".into(),
            kind: "low_and_slow".into(),
            label: "malicious".into(),
            attack_start: Some(1),
            attack_turns: vec![1, 3],
            turns: vec![
                "hello there".into(),
                "a b c d e f g".into(),
                "topic one".into(),
                "h i j".into(),
                "topic two".into(),
            ],
        };
        let r = recut(&c, passes);
        assert_eq!(r.turns[0], "hello there");
        assert_eq!(r.attack_start, Some(1));
        assert_eq!(r.attack_turns.first(), Some(&1));
        let joined: Vec<&str> = r
            .attack_turns
            .iter()
            .map(|&t| r.turns[t].as_str())
            .collect();
        assert_eq!(joined.join(" "), "a b c d e f g h i j");
        assert!(r.attack_turns.iter().all(|&t| passes(&r.turns[t])));
        // A topic turn after each piece, cycling through the original ones.
        assert_eq!(r.turns.len(), 1 + 2 * r.attack_turns.len());
        assert_eq!(r.turns[2], "topic one");
        // Benign conversations and single-turn attacks are left alone.
        let sudden = Scenario {
            kind: "sudden_injection".into(),
            ..c.clone()
        };
        assert_eq!(recut(&sudden, passes), sudden);
    }
}
