//! The decision path every route shares: shared-core triage → (escalated only) exact and
//! semantic verdict cache → cloud classifier → cascade rule.

use std::time::Instant;

use axum::response::Response;
use sha2::{Digest, Sha256};
use shared_core::{Decision, Request, Role, Verdict};

use super::Service;
use crate::learn::cloud::CloudOpinion;
use crate::learn::evaluate::{cascade_decision, classifier_decides};
use crate::memory::lexical_embedding as embedding;
use crate::state::{hex, CachedVerdict, StateResult};

/// How far the edge score of a new prompt may exceed that of a cached *allowed* near-duplicate
/// for the cached verdict to answer it (a benign prompt with an attack appended scores higher).
const SEMANTIC_ALLOW_MARGIN: f32 = 0.05;

/// What the decision path concluded for one request.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The shared-core verdict (redactions, reasons, categories).
    pub edge: Verdict,
    /// The edge's own decision (before monitor mode).
    pub edge_decision: Decision,
    /// Whether the edge escalated to the cloud tier.
    pub escalated: bool,
    /// The decision enforcement makes.
    pub would: Decision,
    /// The decision applied (`allow` in monitor mode).
    pub decision: Decision,
    /// Whether the policy is in monitor mode.
    pub monitor: bool,
    /// Final score.
    pub score: f32,
    /// The cloud classifier's probability, when it ran.
    pub cloud_probability: Option<f32>,
    /// The cloud tier's lexical model's probability, when it ran.
    pub lexical_probability: Option<f32>,
    /// `exact` or `semantic` when a cached verdict decided.
    pub cache: Option<&'static str>,
    /// Hex SHA-256 of the request's texts (the exact-cache key).
    pub prompt_hash: String,
    /// The semantic embedding, when computed.
    pub embedding: Option<Vec<f32>>,
    /// The feedback adapter's view of the prompt, when the session analysis computed it.
    pub adapter_input: Option<crate::memory::adapter::AdapterInput>,
    /// The decision of the single-turn cascade (before the session analysis).
    pub single_turn: Decision,
    /// The session analysis, when it ran.
    pub session: Option<super::sessions::SessionVerdict>,
}

impl Outcome {
    /// Category names.
    pub fn categories(&self) -> Vec<String> {
        self.edge
            .categories
            .iter()
            .map(|c| c.as_str().to_string())
            .collect()
    }
}

/// Every segment's text, one per line: what the models read.
fn joined_text(request: &Request) -> String {
    request
        .segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text of every segment the operator did not write (all but system and developer
/// messages), one per line: what [`classifier_decides`] measures a request's length and
/// wording on, so an application's own system prompt does not make a short question long.
fn request_text(request: &Request) -> String {
    request
        .segments
        .iter()
        .filter(|s| !matches!(s.role, Role::System | Role::Developer))
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The exact-cache key: SHA-256 over every segment's role and text.
fn prompt_hash(request: &Request) -> String {
    let mut h = Sha256::new();
    for s in &request.segments {
        h.update(s.role.as_str().as_bytes());
        h.update([0]);
        h.update(s.text.as_bytes());
        h.update([0]);
    }
    hex(&h.finalize())
}

impl Service {
    /// Decides one parsed request for `tenant` (from the client key `key`, when the request
    /// came with one).
    pub(super) async fn decide(
        &self,
        request: &Request,
        tenant: &str,
        session: Option<&str>,
        key: Option<&str>,
        id: &str,
    ) -> Result<Outcome, Response> {
        let started = Instant::now();
        let edge = self.engine.triage(request);
        self.metrics.stage("triage", started);
        let edge_decision = edge.monitor.unwrap_or(edge.decision);
        let monitor = edge.monitor.is_some();
        let hash = prompt_hash(request);
        let mut outcome = Outcome {
            edge_decision,
            escalated: edge_decision == Decision::Escalate,
            would: edge_decision,
            decision: edge_decision,
            monitor,
            score: edge.score,
            cloud_probability: None,
            lexical_probability: None,
            cache: None,
            prompt_hash: hash,
            embedding: None,
            adapter_input: None,
            single_turn: edge_decision,
            session: None,
            edge,
        };
        let sessions_on = self.config.sessions.enabled;
        let features = if sessions_on {
            let started = Instant::now();
            let f = self.featurizer.featurize(&joined_text(request));
            self.metrics.stage("featurize", started);
            Some(f)
        } else {
            None
        };
        if outcome.escalated {
            self.escalate(request, tenant, id, &mut outcome, features.as_ref())
                .await?;
        } else if edge_decision == Decision::Block && self.config.cache.enabled {
            self.operator_override(tenant, id, &mut outcome).await?;
        }
        outcome.single_turn = outcome.would;
        if let Some(features) = &features {
            self.session_step(tenant, session, key, id, features, &mut outcome)
                .await?;
        }
        if monitor {
            outcome.decision = Decision::Allow;
        }
        self.metrics.categories(&outcome.edge.categories);
        Ok(outcome)
    }

    async fn escalate(
        &self,
        request: &Request,
        tenant: &str,
        id: &str,
        outcome: &mut Outcome,
        features: Option<&crate::learn::Featurized>,
    ) -> Result<(), Response> {
        let cache_on = self.config.cache.enabled;
        if cache_on {
            let started = Instant::now();
            let hit = self.store.cache_exact(tenant, &outcome.prompt_hash).await;
            self.metrics.stage("cache", started);
            if let Some(cached) = self.counted("exact", hit, id)? {
                apply_cached(outcome, &cached, "exact");
                self.count_escalation(outcome);
                return Ok(());
            }
        }
        let started = Instant::now();
        let computed;
        let features = match features {
            Some(f) => f,
            None => {
                computed = self.featurizer.featurize(&joined_text(request));
                &computed
            }
        };
        let vector = embedding(&features.cloud.indices);
        self.metrics.stage("featurize", started);
        if cache_on {
            let started = Instant::now();
            let hit = self
                .store
                .cache_similar(tenant, &vector, self.config.cache.similarity)
                .await
                .map(|h| {
                    h.map(|(cached, _)| cached)
                        .filter(|c| semantic_reusable(outcome, c))
                });
            self.metrics.stage("cache", started);
            if let Some(cached) = self.counted("semantic", hit, id)? {
                apply_cached(outcome, &cached, "semantic");
                outcome.embedding = Some(vector);
                self.count_escalation(outcome);
                return Ok(());
            }
        }
        let started = Instant::now();
        let t = self.engine.policy().thresholds;
        let classifier_alone = classifier_decides(&outcome.edge, &request_text(request));
        let mut opinion = None;
        let (score, decision) = cascade_decision(
            outcome.edge.score,
            Decision::Escalate,
            t.escalate,
            t.block,
            self.cloud_thresholds,
            classifier_alone,
            || {
                // A poisoned lock (a panic elsewhere) fails closed.
                let o = self
                    .cloud
                    .lock()
                    .map(|c| c.opinion_of(features))
                    .unwrap_or(CloudOpinion {
                        classifier: 1.0,
                        lexical: Some(1.0),
                    });
                opinion = Some(o);
                o
            },
        );
        self.metrics.stage("cloud", started);
        outcome.score = score;
        outcome.would = decision;
        outcome.decision = decision;
        outcome.cloud_probability = opinion.map(|o| o.classifier);
        outcome.lexical_probability = opinion.and_then(|o| o.lexical);
        outcome.embedding = Some(vector);
        self.count_escalation(outcome);
        if cache_on {
            let cached = CachedVerdict {
                verdict: decision.as_str().to_string(),
                score,
                edge_score: outcome.edge.score,
                categories: outcome.categories(),
                source: "cloud".into(),
            };
            if let Err(e) = self
                .store
                .cache_put(
                    tenant,
                    &outcome.prompt_hash,
                    outcome.embedding.as_deref(),
                    &cached,
                    self.config.cache.ttl_secs,
                )
                .await
            {
                if let Some(r) = self.state_failure(&e, id) {
                    return Err(r);
                }
            }
        }
        Ok(())
    }

    /// An edge block that an operator marked a false positive (`/v1/feedback`) is allowed:
    /// only an exact match of the prompt, and only a verdict that came from feedback.
    async fn operator_override(
        &self,
        tenant: &str,
        id: &str,
        outcome: &mut Outcome,
    ) -> Result<(), Response> {
        let started = Instant::now();
        let hit = self
            .store
            .cache_exact(tenant, &outcome.prompt_hash)
            .await
            .map(|h| h.filter(|c| c.source == "feedback"));
        self.metrics.stage("cache", started);
        if let Some(cached) = self.counted("exact", hit, id)? {
            apply_cached(outcome, &cached, "exact");
        }
        Ok(())
    }

    /// Counts a cache lookup as a hit or a miss; a store failure is a miss in `degrade` mode
    /// and the `503` answer in `closed` mode.
    // The error is the response handlers send as is, like the async steps around it return.
    #[allow(clippy::result_large_err)]
    fn counted(
        &self,
        kind: &str,
        lookup: StateResult<Option<CachedVerdict>>,
        id: &str,
    ) -> Result<Option<CachedVerdict>, Response> {
        match lookup {
            Ok(found) => {
                let result = if found.is_some() { "hit" } else { "miss" };
                self.metrics
                    .cache_lookups
                    .with_label_values(&[kind, result])
                    .inc();
                Ok(found)
            }
            Err(e) => self.state_failure(&e, id).map_or(Ok(None), Err),
        }
    }

    fn count_escalation(&self, outcome: &Outcome) {
        self.metrics
            .escalations
            .with_label_values(&[outcome.would.as_str()])
            .inc();
    }
}

/// A cached near-duplicate's verdict answers a new prompt only if it cannot have been made more
/// dangerous: a cached block always applies; a cached allow only when the new prompt's edge
/// score is not meaningfully higher and it fires no category the cached one did not.
fn semantic_reusable(outcome: &Outcome, cached: &CachedVerdict) -> bool {
    if cached.verdict == "block" {
        return true;
    }
    outcome.edge.score <= cached.edge_score + SEMANTIC_ALLOW_MARGIN
        && outcome
            .categories()
            .iter()
            .all(|c| cached.categories.contains(c))
}

fn apply_cached(outcome: &mut Outcome, cached: &CachedVerdict, kind: &'static str) {
    let decision = if cached.verdict == "block" {
        Decision::Block
    } else {
        Decision::Allow
    };
    outcome.would = decision;
    outcome.decision = decision;
    outcome.score = cached.score;
    outcome.cache = Some(kind);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::Featurizer;
    use crate::state::similarity;

    #[test]
    fn near_duplicates_are_close_and_different_prompts_are_not() {
        let f = Featurizer::new().unwrap();
        let e = |t: &str| embedding(&f.featurize(t).cloud.indices);
        let a =
            e("Please summarise the attached quarterly report for the board meeting on Friday.");
        let b =
            e("Please summarise the attached quarterly report for the board meeting on Monday.");
        let c = e("Write a haiku about autumn leaves falling in a quiet Kyoto garden.");
        let norm: f32 = a.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-4);
        assert!(similarity(&a, &b) > 0.85, "{}", similarity(&a, &b));
        assert!(similarity(&a, &c) < 0.5, "{}", similarity(&a, &c));
    }
}
