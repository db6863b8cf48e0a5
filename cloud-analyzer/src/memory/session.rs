//! Session risk: what one conversation has said so far, and whether the latest turn — read with
//! the ones before it — should pass.
//!
//! Per turn, the caller supplies the single-turn probability (the cascade's evidence), the
//! cloud encoder's view of the text ([`Encoding`]) and its lexical embedding. The session then
//!
//! 1. scores **windows** of recent turns read together (the last two to four turns, and every
//!    recent turn that was itself somewhat suspicious): a payload split into harmless-looking
//!    fragments scores as the whole it forms;
//! 2. measures the turn's **surprise** under the session's neural memory, relative to the
//!    session's own history (a z-score): a sudden topic change into a sensitive request;
//! 3. notices **rising** scores over the last turns (a crescendo);
//! 4. accumulates **risk** with a half-life in turns, and maps risk to an action;
//! 5. writes the turn into the session memory only if it was low-risk (**gated writes**, with a
//!    bounded step), so an attacker cannot teach the memory that attacks are this session's
//!    normal.

use std::collections::VecDeque;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use shared_core::Decision;

use super::neural::{f16_to_f32, write_halves, NeuralMemory, Rates};
use super::Projection;
use crate::learn::cloud::Encoding;

/// What a session's state says about its latest turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Nothing unusual.
    Allow,
    /// Passes, marked with a header.
    Warn,
    /// Held for an operator (`403 approval_required`).
    RequireApproval,
    /// Blocked.
    Block,
}

impl Action {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Warn => "warn",
            Action::RequireApproval => "require_approval",
            Action::Block => "block",
        }
    }
}

/// How sessions are judged. The defaults were chosen on generated development scenarios (see
/// the README's "Sessions" section).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionPolicy {
    /// Turns after which accumulated risk has halved.
    pub half_life_turns: f32,
    /// Single-turn probability a turn must exceed to add risk.
    pub risk_floor: f32,
    /// Risk at which turns pass with a warning.
    pub warn_at: f32,
    /// Risk at which turns are held for approval.
    pub approval_at: f32,
    /// Probability of a window of turns read together at which the turn is blocked.
    pub window_block: f32,
    /// How much a window must exceed each of its turns read alone to count: turns together must
    /// say more than any one of them does.
    pub window_lift: f32,
    /// Single-turn probability from which a turn counts as a possible fragment.
    pub fragment_floor: f32,
    /// Only turns whose probabilities (alone and in windows) stay below this update the
    /// session memory.
    pub write_below: f32,
    /// Surprise z-score that counts as a sudden change of topic.
    pub novelty_z: f32,
    /// Single-turn probability from which a sudden change counts as a sensitive request.
    pub novelty_floor: f32,
    /// Risk a sudden change into a sensitive request adds.
    pub novelty_weight: f32,
    /// Risk steadily rising scores add.
    pub rising_weight: f32,
    /// How the session memory learns.
    pub learning_rate: f32,
    /// Momentum of the session memory.
    pub momentum: f32,
    /// Forgetting of the session memory.
    pub forget: f32,
    /// Largest gradient norm one turn may apply.
    pub max_grad: f32,
    /// Risk each recently stopped turn of the client key (in any of its sessions) adds to the
    /// key's other sessions: an attacker who opens a fresh session per attempt is still
    /// watched.
    pub key_weight: f32,
    /// Most risk the client key may add (below `approval_at`: the key alone only warns).
    pub key_cap: f32,
}

impl Default for SessionPolicy {
    fn default() -> SessionPolicy {
        SessionPolicy {
            half_life_turns: 3.0,
            risk_floor: 0.5,
            warn_at: 0.5,
            approval_at: 1.0,
            window_block: 0.9,
            window_lift: 0.0,
            fragment_floor: 0.2,
            write_below: 0.3,
            novelty_z: 2.0,
            novelty_floor: 0.35,
            novelty_weight: 0.3,
            rising_weight: 0.3,
            learning_rate: 0.2,
            momentum: 0.5,
            forget: 0.02,
            max_grad: 2.0,
            key_weight: 0.25,
            key_cap: 0.75,
        }
    }
}

impl SessionPolicy {
    fn rates(&self) -> Rates {
        Rates {
            learning_rate: self.learning_rate,
            momentum: self.momentum,
            forget: self.forget,
            max_grad: self.max_grad,
        }
    }

    /// Checks ranges; the message names the setting.
    pub fn validate(&self) -> Result<(), String> {
        let unit = [
            ("risk_floor", self.risk_floor),
            ("window_block", self.window_block),
            ("window_lift", self.window_lift),
            ("fragment_floor", self.fragment_floor),
            ("write_below", self.write_below),
            ("novelty_floor", self.novelty_floor),
            ("momentum", self.momentum),
            ("forget", self.forget),
        ];
        for (name, v) in unit {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("sessions.{name} must be in [0, 1], got {v}"));
            }
        }
        let positive = [
            ("half_life_turns", self.half_life_turns),
            ("warn_at", self.warn_at),
            ("approval_at", self.approval_at),
            ("novelty_z", self.novelty_z),
            ("learning_rate", self.learning_rate),
            ("max_grad", self.max_grad),
        ];
        for (name, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!(
                    "sessions.{name} must be a positive number, got {v}"
                ));
            }
        }
        for (name, v) in [
            ("novelty_weight", self.novelty_weight),
            ("rising_weight", self.rising_weight),
            ("key_weight", self.key_weight),
            ("key_cap", self.key_cap),
        ] {
            if !(0.0..=2.0).contains(&v) {
                return Err(format!("sessions.{name} must be in [0, 2], got {v}"));
            }
        }
        if self.approval_at < self.warn_at {
            return Err("sessions.approval_at must be at least sessions.warn_at".into());
        }
        Ok(())
    }
}

/// Recent turns a session keeps (their encodings, not their text).
pub const RECENT_TURNS: usize = 12;

/// One remembered turn.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnTrace {
    /// The encoder's view of the turn.
    pub encoding: Encoding,
    /// The turn's single-turn probability.
    pub probability: f32,
    /// Whether the turn was blocked or held (it never reached the model, so later turns do
    /// not complete it).
    pub stopped: bool,
    /// The window classifier's probability of the turn read alone, kept so that windows can
    /// be compared with their turns without scoring each again (NaN when unknown: states
    /// saved in format 1; then it is scored when needed).
    pub alone: f32,
}

/// Everything a session carries from turn to turn.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionState {
    /// The session's neural memory of its own low-risk turns.
    pub memory: NeuralMemory,
    /// Accumulated risk.
    pub risk: f32,
    /// Turns seen.
    pub turns: u32,
    /// Turns blocked or held.
    pub stopped: u32,
    /// Highest single-turn probability so far.
    pub max_probability: f32,
    /// The most recent turns, oldest first.
    pub recent: VecDeque<TurnTrace>,
    /// Running mean of the surprise of written turns.
    pub surprise_mean: f32,
    /// Running variance of the same.
    pub surprise_var: f32,
    /// Written turns behind those statistics.
    pub surprise_n: u32,
    /// Milliseconds since the epoch of the last turn (0: never; set by the caller).
    pub last_seen_ms: u64,
    /// An operator denied a held turn (`POST /v1/reviews/{id}`): every later turn is blocked.
    pub denied: bool,
    /// SHA-256 digests of held requests an operator approved, not yet retried (oldest first, at
    /// most [`MAX_APPROVALS`]).
    pub approved: Vec<[u8; 32]>,
}

/// Most approved requests a session keeps waiting for their retry.
pub const MAX_APPROVALS: usize = 4;

/// The inputs of one turn.
#[derive(Debug, Clone)]
pub struct TurnInput<'a> {
    /// The single-turn probability that the text is an attack.
    pub probability: f32,
    /// What the single-turn cascade decided.
    pub single_turn: Decision,
    /// The cloud encoder's view of the text.
    pub encoding: Encoding,
    /// The text's lexical embedding.
    pub embedding: &'a [f32],
    /// Whether the shared attack memory recognizes the text.
    pub known_attack: bool,
    /// Risk the client key brings from its other sessions ([`KeyRisk::prior`]): counted for
    /// this turn's action, not stored in the session.
    pub prior: f32,
    /// An operator approved this very request after it was held
    /// ([`SessionState::take_approval`]): a hold becomes a warning (a block stays a block).
    pub approved: bool,
}

/// What one client key carries across its sessions: its recently stopped turns, decayed with
/// idle time. A few bytes in the state store.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct KeyRisk {
    /// Stopped turns, decayed.
    pub stopped: f32,
    /// Milliseconds since the epoch of the key's last turn (0: never).
    pub last_seen_ms: u64,
}

impl KeyRisk {
    /// The risk the key adds to a turn of any of its sessions.
    pub fn prior(&self, policy: &SessionPolicy) -> f32 {
        (self.stopped * policy.key_weight).min(policy.key_cap)
    }

    /// Decays for the time since the last turn (`half_life_secs` of silence halves it) and
    /// marks `now_ms` as seen.
    pub fn advance(&mut self, now_ms: u64, half_life_secs: f32) {
        if self.last_seen_ms > 0 && half_life_secs > 0.0 {
            let idle = now_ms.saturating_sub(self.last_seen_ms) as f32 / 1000.0;
            self.stopped *= 0.5f32.powf(idle / half_life_secs);
        }
        self.last_seen_ms = now_ms;
    }

    /// Counts one turn (bounded, so a flood cannot overflow or pin the key forever).
    pub fn record(&mut self, stopped: bool) {
        if stopped {
            self.stopped = (self.stopped + 1.0).min(64.0);
        }
    }

    /// `MNKR`, version 1, the decayed count, the last-seen time.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = b"MNKR".to_vec();
        out.push(1);
        out.extend_from_slice(&self.stopped.to_le_bytes());
        out.extend_from_slice(&self.last_seen_ms.to_le_bytes());
        out
    }

    /// Reads what [`encode`](Self::encode) wrote; `None` for anything else.
    pub fn decode(bytes: &[u8]) -> Option<KeyRisk> {
        if bytes.len() != 17 || &bytes[..4] != b"MNKR" || bytes[4] != 1 {
            return None;
        }
        let stopped = f32::from_le_bytes(bytes[5..9].try_into().ok()?);
        let last_seen_ms = u64::from_le_bytes(bytes[9..17].try_into().ok()?);
        (stopped.is_finite() && (0.0..=64.0).contains(&stopped)).then_some(KeyRisk {
            stopped,
            last_seen_ms,
        })
    }
}

/// What the session made of one turn.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TurnOutcome {
    /// The action for this turn.
    pub action: Action,
    /// Risk after this turn, with the client key's prior.
    pub risk: f32,
    /// Highest probability of a window of turns read together that said more than each of its
    /// turns alone (0 if none did).
    pub window_probability: f32,
    /// Surprise under the session memory.
    pub surprise: f32,
    /// Surprise as a z-score against the session's history (0 until there is one).
    pub novelty: f32,
    /// What raised the risk or decided the action.
    pub reasons: Vec<&'static str>,
    /// Whether the turn was written into the session memory.
    pub remembered: bool,
}

/// Scores texts read together (the cloud classifier's
/// [`probability_together`](crate::learn::cloud::CloudClassifier::probability_together)).
pub trait Together {
    /// Probability that the parts, read together, are malicious.
    fn probability_together(&self, parts: &[&Encoding]) -> f32;
}

impl Together for crate::learn::cloud::CloudClassifier {
    fn probability_together(&self, parts: &[&Encoding]) -> f32 {
        crate::learn::cloud::CloudClassifier::probability_together(self, parts)
    }
}

impl SessionState {
    /// A new session.
    pub fn new() -> SessionState {
        SessionState {
            memory: NeuralMemory::new(super::PROJECTION_SEED ^ 0x5E55),
            risk: 0.0,
            turns: 0,
            stopped: 0,
            max_probability: 0.0,
            recent: VecDeque::new(),
            surprise_mean: 0.0,
            surprise_var: 0.0,
            surprise_n: 0,
            last_seen_ms: 0,
            denied: false,
            approved: Vec::new(),
        }
    }

    /// An operator approved a held request (its prompt digest): the session's risk starts over
    /// — the operator vouched for the conversation so far — and the request, sent again, passes
    /// once even if its own evidence would hold it again.
    pub fn approve(&mut self, digest: [u8; 32]) {
        self.risk = 0.0;
        if !self.approved.contains(&digest) {
            self.approved.push(digest);
        }
        if self.approved.len() > MAX_APPROVALS {
            self.approved.remove(0);
        }
    }

    /// An operator denied a held request: the session is closed, every later turn blocked.
    pub fn deny(&mut self) {
        self.denied = true;
        self.approved.clear();
    }

    /// Whether a request with this prompt digest was approved; the approval is used up.
    pub fn take_approval(&mut self, digest: &[u8; 32]) -> bool {
        let before = self.approved.len();
        self.approved.retain(|d| d != digest);
        self.approved.len() != before
    }

    /// The highest probability among windows of recent turns that end with `current` and say
    /// more than every turn in them read alone (by `policy.window_lift`; 0 if none does), the
    /// probability of `current` alone under the same model, and the highest probability of any
    /// window (what the memory's write gate looks at). A window that is only as suspicious as its
    /// most suspicious turn is that turn's evidence, which the single-turn tiers already
    /// weighed; on benign conversations made of never-trained-on text (README, "Sessions")
    /// windows lifted by one such turn were most of the false alarms.
    fn window_probability(
        &self,
        current: &TurnTrace,
        policy: &SessionPolicy,
        model: &dyn Together,
    ) -> (f32, f32, f32) {
        let alone = model.probability_together(&[&current.encoding]);
        // Turns encoded under a model of another width (a session saved before the cloud
        // model was replaced) cannot be read together with this one's: they are left out.
        let width = current.encoding.sum.len();
        let passed: Vec<&TurnTrace> = self
            .recent
            .iter()
            .filter(|t| !t.stopped && t.encoding.sum.len() == width)
            .collect();
        let passed_alone: Vec<f32> = passed
            .iter()
            .map(|t| {
                if t.alone.is_finite() {
                    t.alone
                } else {
                    model.probability_together(&[&t.encoding])
                }
            })
            .collect();
        let (mut best, mut any) = (0.0f32, 0.0f32);
        let mut consider = |turns: &[usize]| {
            let mut parts: Vec<&Encoding> = turns.iter().map(|&i| &passed[i].encoding).collect();
            parts.push(&current.encoding);
            let together = model.probability_together(&parts);
            any = any.max(together);
            let strongest = turns.iter().map(|&i| passed_alone[i]).fold(alone, f32::max);
            if together >= strongest + policy.window_lift {
                best = best.max(together);
            }
        };
        let n = passed.len();
        // The last two to four turns that passed, in a row.
        for k in 1..=3.min(n) {
            consider(&(n - k..n).collect::<Vec<_>>());
        }
        // Every recent fragment-like turn, with this one if it is one too.
        if current.probability >= policy.fragment_floor {
            let fragments: Vec<usize> = (0..n)
                .filter(|&i| passed[i].probability >= policy.fragment_floor)
                .collect();
            if fragments.len() >= 2 {
                consider(&fragments);
            }
        }
        (best, alone, any)
    }

    /// Whether the last turns' probabilities rose steadily to a notable level.
    fn rising(&self, current: f32, policy: &SessionPolicy) -> bool {
        let n = self.recent.len();
        if n < 2 || current < policy.risk_floor {
            return false;
        }
        let a = self.recent[n - 2].probability;
        let b = self.recent[n - 1].probability;
        a < b && b < current && current - a >= 0.15
    }

    /// Takes one turn: decides its action and updates the state. `device` must have autodiff
    /// (for the memory update).
    pub fn turn(
        &mut self,
        input: &TurnInput<'_>,
        policy: &SessionPolicy,
        projection: &Projection,
        model: &dyn Together,
        device: &Device,
    ) -> TurnOutcome {
        let mut reasons = Vec::new();
        let p = input.probability.clamp(0.0, 1.0);
        let mut current = TurnTrace {
            encoding: input.encoding.clone(),
            probability: p,
            stopped: false,
            alone: f32::NAN,
        };
        let (window, alone, any_window) = self.window_probability(&current, policy, model);
        current.alone = alone;
        // Only a window that says more than its turns alone is evidence of its own; the others
        // were left out (`window` is 0 when none did).
        let lifted = window > 0.0;
        let (key, value) = projection.pair(input.embedding);
        // One forward pass gives the surprise and, if the turn is remembered, the update.
        let recall = self.memory.recall(&[(&key, &value)], device);
        let surprise = recall
            .as_ref()
            .and_then(|r| r.surprise.first().copied())
            .unwrap_or(0.0);
        let novelty = if self.surprise_n >= 3 {
            (surprise - self.surprise_mean) / (self.surprise_var.sqrt() + 0.02)
        } else {
            0.0
        };

        let decay = 0.5f32.powf(1.0 / policy.half_life_turns);
        let mut evidence = (p - policy.risk_floor).max(0.0);
        if lifted {
            evidence += (window - policy.risk_floor).max(0.0);
        }
        if self.rising(p, policy) {
            evidence += policy.rising_weight;
            reasons.push("rising");
        }
        if novelty >= policy.novelty_z && p >= policy.novelty_floor {
            evidence += policy.novelty_weight;
            reasons.push("sudden_change");
        }
        if lifted && window >= policy.risk_floor {
            reasons.push("fragments");
        }
        // A turn stopped on its own (single-turn block, known attack) never reached the model:
        // it puts the session on watch, but one such turn alone does not hold the next.
        let stopped_alone = input.single_turn == Decision::Block || input.known_attack;
        if stopped_alone {
            evidence = evidence.min(policy.warn_at);
        }
        self.risk = self.risk * decay + evidence;
        // The client key's other sessions count for this turn's action only.
        let prior = if input.prior.is_finite() {
            input.prior.max(0.0)
        } else {
            0.0
        };
        let risk = self.risk + prior;

        let mut action = Action::Allow;
        if risk >= policy.warn_at {
            action = Action::Warn;
            reasons.push("risk");
        }
        if risk >= policy.approval_at {
            action = Action::RequireApproval;
        }
        let threshold = if action == Action::RequireApproval {
            policy.approval_at
        } else {
            policy.warn_at
        };
        if action >= Action::Warn && self.risk < threshold {
            reasons.push("key_risk");
        }
        if input.approved && action == Action::RequireApproval {
            action = Action::Warn;
            reasons.push("approved");
        }
        if input.known_attack {
            action = Action::Block;
            reasons.push("attack_memory");
        }
        if lifted && window >= policy.window_block {
            action = Action::Block;
            reasons.push("window");
        }
        if input.single_turn == Decision::Block {
            action = Action::Block;
            reasons.push("single_turn");
        }
        if self.denied {
            action = Action::Block;
            reasons.push("operator_denied");
        }

        let remembered =
            action == Action::Allow && p < policy.write_below && any_window < policy.write_below;
        if remembered {
            if let Some(recall) = recall {
                self.memory.learn(recall, policy.rates());
            }
            // Running mean and variance of the surprise of turns judged normal.
            self.surprise_n += 1;
            let n = self.surprise_n as f32;
            let delta = surprise - self.surprise_mean;
            self.surprise_mean += delta / n;
            self.surprise_var += (delta * (surprise - self.surprise_mean) - self.surprise_var) / n;
        }
        self.turns = self.turns.saturating_add(1);
        if action >= Action::RequireApproval {
            self.stopped = self.stopped.saturating_add(1);
        }
        self.max_probability = self.max_probability.max(p);
        current.stopped = action >= Action::RequireApproval;
        self.recent.push_back(current);
        while self.recent.len() > RECENT_TURNS {
            self.recent.pop_front();
        }
        TurnOutcome {
            action,
            risk,
            window_probability: window,
            surprise,
            novelty,
            reasons,
            remembered,
        }
    }

    /// Decays the risk for idle time: `half_life_secs` of silence halves it.
    pub fn decay_idle(&mut self, idle_secs: f32, half_life_secs: f32) {
        if half_life_secs > 0.0 && idle_secs > 0.0 {
            self.risk *= 0.5f32.powf(idle_secs / half_life_secs);
        }
    }

    /// The compact binary form (format 2): header, the neural memory in half floats, then the
    /// recent turns. Format 1 (read too) lacked each turn's `alone`. Format 3 is format 2 followed
    /// by what an operator decided (a denied flag, the approved digests); it is written only
    /// when there is such a decision, so replicas that predate it read every other session.
    pub fn encode(&self) -> Vec<u8> {
        let operator = self.denied || !self.approved.is_empty();
        let mut out = Vec::with_capacity(36 * 1024);
        out.extend_from_slice(b"MNSS");
        out.push(if operator { 3 } else { 2 });
        for x in [
            self.risk,
            self.max_probability,
            self.surprise_mean,
            self.surprise_var,
        ] {
            out.extend_from_slice(&x.to_le_bytes());
        }
        for x in [self.turns, self.stopped, self.surprise_n] {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out.extend_from_slice(&self.last_seen_ms.to_le_bytes());
        self.memory.encode(&mut out);
        out.push(self.recent.len() as u8);
        for t in &self.recent {
            out.push(t.encoding.sum.len() as u8);
            out.push(t.encoding.signals.len() as u8);
            out.push(u8::from(t.stopped));
            out.extend_from_slice(&t.encoding.buckets.to_le_bytes());
            out.extend_from_slice(&t.probability.to_le_bytes());
            out.extend_from_slice(&t.alone.to_le_bytes());
            write_halves(&t.encoding.sum, &mut out);
            write_halves(&t.encoding.signals, &mut out);
        }
        if operator {
            out.push(u8::from(self.denied));
            let approved = &self.approved[self.approved.len().saturating_sub(MAX_APPROVALS)..];
            out.push(approved.len() as u8);
            for digest in approved {
                out.extend_from_slice(digest);
            }
        }
        out
    }

    /// Reads what [`encode`](Self::encode) wrote; `None` for anything else.
    pub fn decode(bytes: &[u8]) -> Option<SessionState> {
        let mut r = Reader(bytes);
        if r.take(4)? != b"MNSS" {
            return None;
        }
        let format = r.take(1)?[0];
        if !(1..=3).contains(&format) {
            return None;
        }
        let risk = r.f32()?;
        let max_probability = r.f32()?;
        let surprise_mean = r.f32()?;
        let surprise_var = r.f32()?;
        let turns = r.u32()?;
        let stopped = r.u32()?;
        let surprise_n = r.u32()?;
        let last_seen_ms = u64::from_le_bytes(r.take(8)?.try_into().ok()?);
        let memory = NeuralMemory::decode(r.take(NeuralMemory::ENCODED_LEN)?)?;
        let count = usize::from(r.take(1)?[0]);
        if count > RECENT_TURNS {
            return None;
        }
        let mut recent = VecDeque::with_capacity(count);
        for _ in 0..count {
            let width = usize::from(r.take(1)?[0]);
            let signals = usize::from(r.take(1)?[0]);
            let stopped = match r.take(1)?[0] {
                0 => false,
                1 => true,
                _ => return None,
            };
            let buckets = r.f32()?;
            let probability = r.f32()?;
            let alone = if format >= 2 { r.f32()? } else { f32::NAN };
            if !(alone.is_nan() || (0.0..=1.0).contains(&alone)) {
                return None;
            }
            let mut halves = Vec::with_capacity(width + signals);
            for c in r.take(2 * (width + signals))?.chunks_exact(2) {
                halves.push(f16_to_f32(u16::from_le_bytes([c[0], c[1]])));
            }
            let signals = halves.split_off(width);
            recent.push_back(TurnTrace {
                encoding: Encoding {
                    sum: halves,
                    buckets,
                    signals,
                },
                probability,
                stopped,
                alone,
            });
        }
        let (mut denied, mut approved) = (false, Vec::new());
        if format >= 3 {
            denied = match r.take(1)?[0] {
                0 => false,
                1 => true,
                _ => return None,
            };
            let count = usize::from(r.take(1)?[0]);
            if count > MAX_APPROVALS {
                return None;
            }
            for _ in 0..count {
                approved.push(<[u8; 32]>::try_from(r.take(32)?).ok()?);
            }
        }
        let finite = [risk, max_probability, surprise_mean, surprise_var]
            .iter()
            .all(|x| x.is_finite());
        if !finite || !r.0.is_empty() {
            return None;
        }
        Some(SessionState {
            memory,
            risk,
            turns,
            stopped,
            max_probability,
            recent,
            surprise_mean,
            surprise_var,
            surprise_n,
            last_seen_ms,
            denied,
            approved,
        })
    }
}

impl Default for SessionState {
    fn default() -> SessionState {
        SessionState::new()
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn f32(&mut self) -> Option<f32> {
        Some(f32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::Backend;

    /// A stand-in for the classifier: "malicious together" when the parts' first coordinates
    /// add up to at least 1 (each fragment carries a share of the attack).
    struct Sum;

    impl Together for Sum {
        fn probability_together(&self, parts: &[&Encoding]) -> f32 {
            let total: f32 = parts.iter().map(|p| p.sum[0]).sum();
            total.clamp(0.0, 1.0)
        }
    }

    /// A turn's encoding as wide as an ensemble's can be (every member's 32-wide bag side by
    /// side), so the size checks below hold for any shipped classifier.
    fn encoding(share: f32) -> Encoding {
        let mut sum = vec![0.0; 32 * crate::learn::cloud::MAX_MEMBERS];
        sum[0] = share;
        Encoding {
            sum,
            buckets: 10.0,
            signals: vec![0.0; 12],
        }
    }

    fn turn(state: &mut SessionState, p: f32, share: f32, seed: usize) -> TurnOutcome {
        turn_with_prior(state, p, share, seed, 0.0)
    }

    fn turn_with_prior(
        state: &mut SessionState,
        p: f32,
        share: f32,
        seed: usize,
        prior: f32,
    ) -> TurnOutcome {
        turn_with(state, p, share, seed, prior, false)
    }

    fn turn_with(
        state: &mut SessionState,
        p: f32,
        share: f32,
        seed: usize,
        prior: f32,
        approved: bool,
    ) -> TurnOutcome {
        let device = Backend::default_backend().device().autodiff();
        let mut embedding = vec![0.0f32; super::super::EMBEDDING_DIM];
        embedding[seed % super::super::EMBEDDING_DIM] = 1.0;
        let input = TurnInput {
            probability: p,
            single_turn: Decision::Allow,
            encoding: encoding(share),
            embedding: &embedding,
            known_attack: false,
            prior,
            approved,
        };
        state.turn(
            &input,
            &SessionPolicy::default(),
            &Projection::new(1),
            &Sum,
            &device,
        )
    }

    /// A session whose risk holds its next turn.
    fn held_session() -> SessionState {
        let mut s = SessionState::new();
        s.risk = 2.0;
        let held = turn(&mut s, 0.6, 0.0, 1);
        assert_eq!(held.action, Action::RequireApproval, "{held:?}");
        s
    }

    #[test]
    fn an_approved_hold_passes_once_and_the_session_starts_over() {
        let digest = [7u8; 32];
        let mut s = held_session();
        s.approve(digest);
        assert_eq!(s.risk, 0.0);
        assert!(
            !s.take_approval(&[8u8; 32]),
            "another request is not approved"
        );
        assert!(s.take_approval(&digest));
        assert!(!s.take_approval(&digest), "an approval is used once");
        // The approved request passes even where its own evidence would hold it again…
        let mut again = held_session();
        again.risk = 2.0;
        let approved = turn_with(&mut again, 0.6, 0.0, 2, 0.0, true);
        assert_eq!(approved.action, Action::Warn, "{approved:?}");
        assert!(approved.reasons.contains(&"approved"));
        // …but an approval never lifts a block.
        let mut blocked = held_session();
        let device = Backend::default_backend().device().autodiff();
        let embedding = vec![0.0f32; super::super::EMBEDDING_DIM];
        let input = TurnInput {
            probability: 0.99,
            single_turn: Decision::Block,
            encoding: encoding(0.0),
            embedding: &embedding,
            known_attack: false,
            prior: 0.0,
            approved: true,
        };
        let out = blocked.turn(
            &input,
            &SessionPolicy::default(),
            &Projection::new(1),
            &Sum,
            &device,
        );
        assert_eq!(out.action, Action::Block);
        // At most MAX_APPROVALS wait; the oldest goes first.
        let mut many = SessionState::new();
        for i in 0..=MAX_APPROVALS as u8 {
            many.approve([i; 32]);
        }
        assert_eq!(many.approved.len(), MAX_APPROVALS);
        assert!(!many.take_approval(&[0; 32]));
        assert!(many.take_approval(&[MAX_APPROVALS as u8; 32]));
    }

    #[test]
    fn a_denied_session_blocks_every_later_turn() {
        let mut s = held_session();
        s.approve([1u8; 32]);
        s.deny();
        assert!(s.approved.is_empty());
        for seed in 0..3 {
            let out = turn(&mut s, 0.01, 0.0, 10 + seed);
            assert_eq!(out.action, Action::Block, "{out:?}");
            assert!(out.reasons.contains(&"operator_denied"));
        }
        // It survives the store.
        let back = SessionState::decode(&s.encode()).unwrap();
        assert!(back.denied);
    }

    #[test]
    fn operator_decisions_round_trip_and_leave_other_states_in_format_2() {
        let mut s = SessionState::new();
        for t in 0..4 {
            turn(&mut s, 0.05, 0.01, t);
        }
        let plain = s.encode();
        assert_eq!(
            plain[4], 2,
            "no operator decision: the format older replicas read"
        );
        s.approve([3u8; 32]);
        s.approve([4u8; 32]);
        let bytes = s.encode();
        assert_eq!(bytes[4], 3);
        assert_eq!(bytes.len(), plain.len() + 2 + 64);
        let back = SessionState::decode(&bytes).unwrap();
        assert_eq!(back.approved, vec![[3u8; 32], [4u8; 32]]);
        assert!(!back.denied);
        assert_eq!(back.encode(), bytes);
        for cut in 1..=66 {
            assert!(
                SessionState::decode(&bytes[..bytes.len() - cut]).is_none(),
                "{cut}"
            );
        }
        let mut bad = bytes.clone();
        bad[plain.len()] = 2; // a denied flag that is neither 0 nor 1
        assert!(SessionState::decode(&bad).is_none());
        let mut bad = bytes.clone();
        bad[plain.len() + 1] = MAX_APPROVALS as u8 + 1;
        assert!(SessionState::decode(&bad).is_none());
        let mut longer = bytes;
        longer.push(0);
        assert!(SessionState::decode(&longer).is_none());
    }

    #[test]
    fn a_flagged_key_warns_and_holds_sooner_without_touching_the_session() {
        let policy = SessionPolicy::default();
        let mut key = KeyRisk::default();
        key.advance(1_000, 3600.0);
        assert_eq!(key.prior(&policy), 0.0);
        for _ in 0..10 {
            key.record(true);
        }
        key.record(false);
        assert_eq!(key.prior(&policy), policy.key_cap, "capped");
        // A benign turn of another session of the key: warned, not held.
        let mut fresh = SessionState::new();
        let benign = turn_with_prior(&mut fresh, 0.05, 0.0, 1, key.prior(&policy));
        assert_eq!(benign.action, Action::Warn);
        assert!(benign.reasons.contains(&"key_risk"), "{:?}", benign.reasons);
        assert_eq!(
            fresh.risk, 0.0,
            "the key's prior is not stored in the session"
        );
        // A borderline turn (that alone would pass) is held.
        let mut alone = SessionState::new();
        assert_eq!(turn(&mut alone, 0.8, 0.0, 2).action, Action::Allow);
        let mut watched = SessionState::new();
        let held = turn_with_prior(&mut watched, 0.8, 0.0, 2, key.prior(&policy));
        assert_eq!(held.action, Action::RequireApproval, "{held:?}");
        // An hour of silence halves the key's count; the codec round-trips and refuses junk.
        let before = key.stopped;
        key.advance(1_000 + 3_600_000, 3600.0);
        assert!((key.stopped - before / 2.0).abs() < 1e-3);
        assert_eq!(KeyRisk::decode(&key.encode()), Some(key));
        assert_eq!(KeyRisk::decode(&key.encode()[..16]), None);
        let mut bad = key.encode();
        bad[5..9].copy_from_slice(&f32::NAN.to_le_bytes());
        assert_eq!(KeyRisk::decode(&bad), None);
    }

    #[test]
    fn benign_turns_pass_and_are_remembered() {
        let mut s = SessionState::new();
        for t in 0..8 {
            let o = turn(&mut s, 0.05, 0.0, t % 2);
            assert_eq!(o.action, Action::Allow, "turn {t}: {o:?}");
            assert!(o.remembered);
        }
        assert_eq!(s.turns, 8);
        assert_eq!(s.memory.updates, 8);
    }

    #[test]
    fn fragments_that_only_together_match_are_blocked_and_never_remembered() {
        let mut s = SessionState::new();
        turn(&mut s, 0.05, 0.0, 1);
        let first = turn(&mut s, 0.1, 0.4, 2);
        assert_eq!(first.action, Action::Allow);
        let second = turn(&mut s, 0.1, 0.4, 3);
        assert!(second.window_probability < 0.9);
        let third = turn(&mut s, 0.1, 0.4, 4);
        assert_eq!(third.action, Action::Block, "{third:?}");
        assert!(third.reasons.contains(&"window"));
        assert!(!third.remembered);
    }

    #[test]
    fn turns_encoded_under_another_model_width_are_left_out_of_windows() {
        let mut s = SessionState::new();
        turn(&mut s, 0.05, 0.0, 1);
        turn(&mut s, 0.1, 0.4, 2);
        turn(&mut s, 0.1, 0.4, 3);
        // As if the session had been saved under a one-network model (32 wide).
        for t in &mut s.recent {
            t.encoding.sum.truncate(32);
        }
        let third = turn(&mut s, 0.1, 0.4, 4);
        assert_ne!(third.action, Action::Block, "{third:?}");
        assert_eq!(third.window_probability, 0.0, "{third:?}");
        // Turns of the current width count again.
        let fourth = turn(&mut s, 0.1, 0.4, 5);
        let fifth = turn(&mut s, 0.1, 0.4, 6);
        assert!(fourth.window_probability < 0.9);
        assert_eq!(fifth.action, Action::Block, "{fifth:?}");
    }

    #[test]
    fn a_window_only_as_suspicious_as_one_of_its_turns_is_not_evidence() {
        // A turn the window model finds suspicious on its own (the single-turn tiers let it
        // pass), then an ordinary one: the two together say no more than the first alone.
        let mut s = SessionState::new();
        let first = turn(&mut s, 0.3, 1.0, 1);
        assert_eq!(first.action, Action::Allow);
        let second = turn(&mut s, 0.05, -0.02, 2);
        assert_eq!(second.action, Action::Allow, "{second:?}");
        assert_eq!(second.window_probability, 0.0);
        assert!(!second.reasons.contains(&"window"));
        assert!(!second.reasons.contains(&"fragments"));
    }

    #[test]
    fn risk_accumulates_and_decays() {
        let mut s = SessionState::new();
        let a = turn(&mut s, 0.9, 0.0, 1);
        assert!(a.risk > 0.3);
        let b = turn(&mut s, 0.9, 0.0, 2);
        assert!(b.risk > a.risk);
        assert_eq!(b.action, Action::Warn, "{b:?}");
        let held = (3..8).find(|&t| turn(&mut s, 0.9, 0.0, t).action >= Action::RequireApproval);
        assert!(held.is_some(), "steady suspicious turns end up held");
        let before = s.risk;
        s.decay_idle(60.0, 60.0);
        assert!((s.risk - before / 2.0).abs() < 1e-4);
    }

    #[test]
    fn state_round_trips_compactly() {
        let mut s = SessionState::new();
        for t in 0..20 {
            turn(&mut s, 0.05 * (t % 3) as f32, 0.01, t);
        }
        let bytes = s.encode();
        assert!(bytes.len() <= 64 * 1024, "{} bytes", bytes.len());
        let back = SessionState::decode(&bytes).unwrap();
        assert_eq!(back.turns, 20);
        assert_eq!(back.recent.len(), RECENT_TURNS);
        assert!((back.risk - s.risk).abs() < 1e-6);
        assert!(back.recent.iter().all(|t| t.alone.is_finite()));
        assert_eq!(back.encode(), bytes);
        assert!(SessionState::decode(&bytes[..bytes.len() - 1]).is_none());
        assert!(SessionState::decode(b"MNSS\x02").is_none());
        assert!(SessionState::decode(b"MNSS\x03").is_none());
        assert!(SessionState::decode(&[]).is_none());
    }

    /// The format-1 bytes of a state: its format-2 encoding without each turn's `alone`.
    fn format_1(state: &SessionState) -> Vec<u8> {
        let bytes = state.encode();
        let head = 5 + 16 + 12 + 8 + NeuralMemory::ENCODED_LEN;
        let mut out = bytes[..head].to_vec();
        out[4] = 1;
        out.push(bytes[head]);
        let mut at = head + 1;
        for _ in 0..bytes[head] {
            let halves = 2 * (usize::from(bytes[at]) + usize::from(bytes[at + 1]));
            out.extend_from_slice(&bytes[at..at + 11]); // sizes, stopped, buckets, probability
            out.extend_from_slice(&bytes[at + 15..at + 15 + halves]); // skips `alone`
            at += 15 + halves;
        }
        assert_eq!(at, bytes.len());
        out
    }

    #[test]
    fn states_saved_before_format_2_still_load_and_continue() {
        let mut s = SessionState::new();
        for t in 0..5 {
            turn(&mut s, 0.05, 0.3, t);
        }
        let old = SessionState::decode(&format_1(&s)).expect("format 1 reads");
        let new = SessionState::decode(&s.encode()).expect("format 2 reads");
        assert_eq!(old.recent.len(), 5);
        assert!(old.recent.iter().all(|t| t.alone.is_nan()));
        assert!(new.recent.iter().all(|t| t.alone.is_finite()));
        for (o, n) in old.recent.iter().zip(&new.recent) {
            assert_eq!((&o.encoding, o.probability), (&n.encoding, n.probability));
        }
        // Unknown `alone`s are scored when needed: the same turn gives the same outcome.
        let (mut a, mut b) = (new, old);
        assert_eq!(turn(&mut a, 0.1, 0.3, 9), turn(&mut b, 0.1, 0.3, 9));
        // …which decides: after a turn suspicious alone, an ordinary one is no window evidence,
        // whether that turn's `alone` was saved or has to be scored again.
        let mut s = SessionState::new();
        turn(&mut s, 0.3, 1.0, 1);
        let mut old = SessionState::decode(&format_1(&s)).expect("format 1 reads");
        assert!(old.recent[0].alone.is_nan());
        let after = turn(&mut old, 0.05, -0.02, 2);
        assert_eq!(after.action, Action::Allow, "{after:?}");
        assert_eq!(after.window_probability, 0.0);
        // A value out of range is refused, not trusted.
        let mut bytes = s.encode();
        let first_alone = 5 + 16 + 12 + 8 + NeuralMemory::ENCODED_LEN + 1 + 11;
        bytes[first_alone..first_alone + 4].copy_from_slice(&7.0f32.to_le_bytes());
        assert!(SessionState::decode(&bytes).is_none());
    }

    #[test]
    fn bad_settings_are_named() {
        let p = SessionPolicy {
            window_block: 1.5,
            ..SessionPolicy::default()
        };
        assert!(p.validate().unwrap_err().contains("window_block"));
        assert!(SessionPolicy::default().validate().is_ok());
    }
}
