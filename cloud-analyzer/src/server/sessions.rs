//! Session risk and the attack memory on the request path: each turn is judged with its
//! session's history (state loaded from and saved to the store), prompts the tenant's attack
//! memory recognizes are blocked, high-confidence blocks and `/v1/feedback` teach that memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::response::Response;
use burn::tensor::Device;
use serde::Serialize;
use shared_core::contract::SessionStop;
use shared_core::Decision;

use super::{Outcome, Service};
use crate::learn::Featurized;
use crate::memory::adapter::{AdapterInput, BenignReference};
use crate::memory::attack::AttackMemory;
use crate::memory::session::{Action, KeyRisk, SessionState, TurnInput};
use crate::memory::{lexical_embedding, Projection, PROJECTION_SEED};
use crate::state::{now_ms, BlobKind, ReviewEntry};

/// Header carrying the session's action when it is not `allow`.
pub use shared_core::contract::HEADER_SESSION_ACTION;
/// Header carrying the session's risk.
pub const HEADER_SESSION_RISK: &str = "x-mnemosyne-session-risk";

/// How long a replica trusts its copy of a tenant's attack memory before re-reading it.
const ATTACK_MEMORY_REFRESH_MS: u64 = 2000;

/// The id under which a tenant's attack memory is stored.
const ATTACK_MEMORY_ID: &str = "tenant";

/// What the session analysis concluded for one turn.
#[derive(Debug, Clone, Serialize)]
pub struct SessionVerdict {
    /// `allow`, `warn`, `require_approval` or `block`.
    pub action: Action,
    /// Risk after the turn.
    pub risk: f32,
    /// Turns in the session so far.
    pub turns: u32,
    /// What raised the risk or decided.
    pub reasons: Vec<&'static str>,
    /// Whether the tenant's attack memory recognized the prompt.
    pub known_attack: bool,
    /// The feedback adapter's probability, once the tenant's adapter has learned an attack.
    pub adapted_probability: Option<f32>,
    /// Turns written into the session's neural memory so far.
    pub memory_updates: u32,
}

/// Runtime parts of the session analysis.
pub(super) struct Sessions {
    projection: Projection,
    device: Device,
    /// The feedback adapter's benign reference (`None`: the adapter is off).
    reference: Option<BenignReference>,
    /// tenant → (memory, when it was read from the store).
    attack: Mutex<HashMap<String, (Arc<AttackMemory>, u64)>>,
}

impl Sessions {
    pub(super) fn new(device: Device, reference: Option<BenignReference>) -> Sessions {
        Sessions {
            projection: Projection::new(PROJECTION_SEED),
            device,
            reference,
            attack: Mutex::new(HashMap::new()),
        }
    }
}

impl Service {
    /// The tenant's attack memory: the cached copy while fresh, else the stored one.
    async fn attack_memory(&self, tenant: &str, fresh: bool) -> Result<Arc<AttackMemory>, String> {
        let now = now_ms();
        if !fresh {
            if let Ok(cache) = self.sessions.attack.lock() {
                if let Some((m, at)) = cache.get(tenant) {
                    if now.saturating_sub(*at) < ATTACK_MEMORY_REFRESH_MS {
                        return Ok(Arc::clone(m));
                    }
                }
            }
        }
        let stored = self
            .store
            .blob(tenant, BlobKind::AttackMemory, ATTACK_MEMORY_ID)
            .await
            .map_err(|e| e.to_string())?;
        let memory = match stored {
            Some(bytes) => AttackMemory::decode(&bytes)
                .ok_or_else(|| format!("stored attack memory of tenant {tenant:?} is corrupt"))?,
            None => AttackMemory::new(),
        };
        let memory = Arc::new(memory);
        if let Ok(mut cache) = self.sessions.attack.lock() {
            cache.insert(tenant.to_string(), (Arc::clone(&memory), now));
        }
        Ok(memory)
    }

    /// Teaches the tenant's attack memory one confirmed case and stores it; returns the new
    /// version. With `adapter` (operator feedback) the feedback adapter learns it too.
    pub(super) async fn learn_case(
        &self,
        tenant: &str,
        embedding: &[f32],
        adapter: Option<&AdapterInput>,
        malicious: bool,
    ) -> Result<u64, String> {
        let mut memory = AttackMemory::clone(&*self.attack_memory(tenant, true).await?);
        let mut learn = || {
            memory.learn(
                embedding,
                malicious,
                adapter.zip(self.sessions.reference.as_ref()),
                &self.sessions.projection,
                &self.sessions.device,
            )
        };
        // Learning takes milliseconds (tens with the adapter's refit): on the multi-threaded
        // runtime `serve` uses, the worker hands its other tasks over while it computes.
        let multi_threaded = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi_threaded {
            tokio::task::block_in_place(learn);
        } else {
            learn();
        }
        self.store
            .put_blob(
                tenant,
                BlobKind::AttackMemory,
                ATTACK_MEMORY_ID,
                &memory.encode(),
                0,
            )
            .await
            .map_err(|e| e.to_string())?;
        let version = memory.version;
        if let Ok(mut cache) = self.sessions.attack.lock() {
            cache.insert(tenant.to_string(), (Arc::new(memory), now_ms()));
        }
        self.metrics
            .memory_updates
            .with_label_values(&[if malicious { "attack" } else { "benign" }])
            .inc();
        Ok(version)
    }

    /// Judges one turn with its session's history, its client key's other sessions and the
    /// attack memory, updates the outcome, and stores the session's new state.
    pub(super) async fn session_step(
        &self,
        tenant: &str,
        session: Option<&str>,
        client_key: Option<&str>,
        id: &str,
        features: &Featurized,
        outcome: &mut Outcome,
    ) -> Result<(), Response> {
        let config = &self.config.sessions;
        let started = std::time::Instant::now();
        let embedding = outcome
            .embedding
            .clone()
            .unwrap_or_else(|| lexical_embedding(&features.cloud.indices));
        outcome.embedding = Some(embedding.clone());
        // The cloud classifier's view, for the window, the session's probability and the
        // feedback adapter (recognition now, `/v1/feedback` later through the record).
        // One pass over the prompt's buckets gives both (a poisoned lock fails closed).
        let cloud_p = match self.cloud.lock() {
            Ok(cloud) => {
                let encoding = cloud.encode(&features.cloud);
                // What the prompt hides (decoded payloads) is scored too, as on escalation.
                let p = outcome.cloud_probability.unwrap_or_else(|| {
                    if features.payloads.is_empty() {
                        cloud.probability_together(&[&encoding])
                    } else {
                        cloud.probability_of(features)
                    }
                });
                if self.sessions.reference.is_some() {
                    outcome.adapter_input = Some(AdapterInput::new(
                        cloud.adapter_bag(&encoding),
                        encoding.buckets,
                        &embedding,
                        p,
                    ));
                }
                p
            }
            Err(_) => outcome.cloud_probability.unwrap_or(1.0),
        };
        let attack = match self.attack_memory(tenant, false).await {
            Ok(m) => m,
            Err(e) => {
                self.metrics.state_errors.inc();
                eprintln!("cloud-analyzer: {e}");
                Arc::new(AttackMemory::new())
            }
        };
        let recognition = attack.recognize(
            &embedding,
            outcome
                .adapter_input
                .as_ref()
                .zip(self.sessions.reference.as_ref()),
            &config.attack_memory,
            &self.sessions.projection,
        );
        let known = recognition.known;
        let mut verdict = SessionVerdict {
            action: Action::Allow,
            risk: 0.0,
            turns: 0,
            reasons: Vec::new(),
            known_attack: known,
            adapted_probability: recognition.adapted,
            memory_updates: 0,
        };
        if let Some(session) = session {
            let stored = self
                .store
                .blob(tenant, BlobKind::SessionState, session)
                .await;
            let mut state = match stored {
                Ok(Some(bytes)) => SessionState::decode(&bytes).unwrap_or_default(),
                Ok(None) => SessionState::new(),
                Err(e) => match self.state_failure(&e, id) {
                    Some(r) => return Err(r),
                    None => SessionState::new(),
                },
            };
            let now = now_ms();
            if state.last_seen_ms > 0 {
                let idle = now.saturating_sub(state.last_seen_ms) as f32 / 1000.0;
                state.decay_idle(idle, config.idle_half_life_secs as f32);
            }
            state.last_seen_ms = now;
            // The key's other sessions count too (not when the key is itself the session).
            let key = client_key.filter(|k| *k != session);
            let mut key_risk = KeyRisk::default();
            if let Some(key) = key {
                key_risk = match self.store.blob(tenant, BlobKind::KeyRisk, key).await {
                    Ok(bytes) => bytes.and_then(|b| KeyRisk::decode(&b)).unwrap_or_default(),
                    Err(e) => match self.state_failure(&e, id) {
                        Some(r) => return Err(r),
                        None => KeyRisk::default(),
                    },
                };
                key_risk.advance(now, config.key_half_life_secs as f32);
            }
            // A held request an operator approved passes when it is sent again (once).
            let approved = crate::state::unhex32(&outcome.prompt_hash)
                .is_some_and(|digest| state.take_approval(&digest));
            let turn = {
                // A poisoned lock (a panic elsewhere) fails closed.
                let Ok(window) = self.window.lock() else {
                    return Err(super::error(
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        "server_error",
                        "internal",
                        "the cloud classifier is unavailable",
                        id,
                    ));
                };
                let input = TurnInput {
                    probability: (outcome.edge.score + cloud_p) / 2.0,
                    single_turn: outcome.would,
                    encoding: window.encode(&features.cloud),
                    embedding: &embedding,
                    known_attack: known,
                    prior: key_risk.prior(&config.policy),
                    approved,
                };
                state.turn(
                    &input,
                    &config.policy,
                    &self.sessions.projection,
                    &*window,
                    &self.sessions.device,
                )
            };
            verdict.action = turn.action;
            verdict.risk = turn.risk;
            verdict.turns = state.turns;
            verdict.reasons = turn.reasons;
            verdict.memory_updates = state.memory.updates;
            if let Err(e) = self
                .store
                .put_blob(
                    tenant,
                    BlobKind::SessionState,
                    session,
                    &state.encode(),
                    config.ttl_secs,
                )
                .await
            {
                if let Some(r) = self.state_failure(&e, id) {
                    return Err(r);
                }
            }
            if let Some(key) = key {
                key_risk.record(turn.action >= Action::RequireApproval);
                let stored = self
                    .store
                    .put_blob(
                        tenant,
                        BlobKind::KeyRisk,
                        key,
                        &key_risk.encode(),
                        config.ttl_secs,
                    )
                    .await;
                if let Err(e) = stored {
                    if let Some(r) = self.state_failure(&e, id) {
                        return Err(r);
                    }
                }
            }
        } else if known {
            verdict.action = Action::Block;
            verdict.reasons.push("attack_memory");
        }
        self.metrics.stage("session", started);
        self.metrics
            .session_actions
            .with_label_values(&[verdict.action.as_str()])
            .inc();
        // What the session adds on top of the single-turn decision.
        if outcome.would != Decision::Block && verdict.action >= Action::RequireApproval {
            outcome.would = Decision::Block;
            let familiarity = if known { recognition.attack } else { 0.0 };
            outcome.score = outcome
                .score
                .max(verdict.risk.min(1.0))
                .max(familiarity.clamp(0.0, 1.0));
            if !outcome.monitor {
                outcome.decision = Decision::Block;
            }
        }
        // Blocks this sure are confirmed attacks: the attack memory learns them (once).
        let single_turn_sure = outcome.single_turn == Decision::Block
            && outcome.score >= config.learn_blocks_above
            && !known;
        outcome.session = Some(verdict);
        if single_turn_sure {
            if let Err(e) = self.learn_case(tenant, &embedding, None, true).await {
                self.metrics.state_errors.inc();
                eprintln!("cloud-analyzer: attack memory not updated: {e}");
            }
        }
        Ok(())
    }

    /// Applies an operator's review of a held turn to its session: `approve` starts the
    /// session's risk over and lets the held request (its prompt digest, when its decision
    /// record is still kept) pass once when sent again; otherwise the session is closed. Returns
    /// whether the session was still stored (an expired one has nothing left to change).
    pub(super) async fn review_session(
        &self,
        tenant: &str,
        session: &str,
        digest: Option<[u8; 32]>,
        approve: bool,
    ) -> Result<bool, crate::state::StateError> {
        let Some(bytes) = self
            .store
            .blob(tenant, BlobKind::SessionState, session)
            .await?
        else {
            return Ok(false);
        };
        let mut state = SessionState::decode(&bytes).unwrap_or_default();
        if approve {
            match digest {
                Some(d) => state.approve(d),
                None => state.risk = 0.0,
            }
        } else {
            state.deny();
        }
        self.store
            .put_blob(
                tenant,
                BlobKind::SessionState,
                session,
                &state.encode(),
                self.config.sessions.ttl_secs,
            )
            .await?;
        Ok(true)
    }

    /// Queues a held turn for review.
    pub(super) async fn queue_review(
        &self,
        tenant: &str,
        session: Option<&str>,
        id: &str,
        outcome: &Outcome,
    ) -> Result<(), Response> {
        let Some(verdict) = &outcome.session else {
            return Ok(());
        };
        let entry = ReviewEntry {
            request_id: id.to_string(),
            tenant: tenant.to_string(),
            session: session.unwrap_or("").to_string(),
            risk: verdict.risk,
            score: outcome.score,
            reasons: verdict.reasons.iter().map(|r| r.to_string()).collect(),
            time_ms: now_ms(),
        };
        match self.store.push_review(&entry).await {
            Ok(()) => Ok(()),
            Err(e) => self.state_failure(&e, id).map_or(Ok(()), Err),
        }
    }
}

/// Whether an outcome is a hold for approval rather than a block.
pub fn held_for_approval(outcome: &Outcome) -> bool {
    outcome
        .session
        .as_ref()
        .is_some_and(|s| s.action == Action::RequireApproval)
        && outcome.single_turn != Decision::Block
}

/// Why the session stopped a blocked outcome, when it did: held for approval, or closed by an
/// operator (a denied review). The edges read the same from `/v1/analyze`'s `session` object
/// (`shared_core::contract::SessionStop::from_analysis`).
pub fn session_stop(outcome: &Outcome) -> Option<SessionStop> {
    if outcome.decision != Decision::Block {
        return None;
    }
    let session = outcome.session.as_ref()?;
    if session.reasons.contains(&"operator_denied") {
        Some(SessionStop::ClosedByOperator)
    } else {
        held_for_approval(outcome).then_some(SessionStop::HeldForApproval)
    }
}
