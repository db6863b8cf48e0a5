//! The in-process state store: the embedded default, bounded everywhere, lost on restart.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{
    chain_hash, now_ms, similarity, AuditEntry, AuditEvent, BlobKind, CachedVerdict,
    DecisionRecord, RateDecision, ReviewEntry, SessionRecord, StateError, StateResult, StateStore,
    GENESIS_HASH,
};

/// Most decisions kept for feedback.
const MAX_DECISIONS: usize = 100_000;
/// Most sessions kept.
const MAX_SESSIONS: usize = 100_000;
/// Idle sessions are forgotten after a day.
const SESSION_TTL_MS: u64 = 24 * 3600 * 1000;

/// Most blobs (session states, attack memories) kept; each is at most ~70 KB, so the bound is
/// about 700 MB at worst. The least recently written go first.
const MAX_BLOBS: usize = 10_000;
/// Most held turns kept for review.
const MAX_REVIEWS: usize = 10_000;

/// (tenant, kind, id) of a stored blob.
type BlobKey = (String, &'static str, String);

/// State in this process's memory.
pub struct MemoryStore {
    inner: Mutex<Inner>,
    cache_max: usize,
    audit_max: usize,
}

#[derive(Default)]
struct Inner {
    /// (tenant, hash) → verdict and expiry.
    exact: HashMap<(String, String), (CachedVerdict, u64)>,
    /// Insertion order of `exact`, for eviction.
    exact_order: VecDeque<(String, String)>,
    /// Per tenant: (hash, embedding) of entries that have one.
    semantic: HashMap<String, VecDeque<(String, Vec<f32>)>>,
    /// key → (minute, count).
    rate: HashMap<String, (u64, u32)>,
    sessions: HashMap<(String, String), SessionRecord>,
    decisions: HashMap<String, (DecisionRecord, u64)>,
    decision_order: VecDeque<String>,
    audit: VecDeque<AuditEntry>,
    /// (tenant, kind, id) → bytes, expiry (0: none), write sequence.
    blobs: HashMap<BlobKey, (Vec<u8>, u64, u64)>,
    blob_seq: u64,
    reviews: VecDeque<ReviewEntry>,
    audit_seq: u64,
    audit_head: String,
}

impl MemoryStore {
    /// A store holding at most `cache_max` cache entries and `audit_max` audit entries.
    pub fn new(cache_max: usize, audit_max: usize) -> MemoryStore {
        MemoryStore {
            inner: Mutex::new(Inner {
                audit_head: GENESIS_HASH.to_string(),
                ..Inner::default()
            }),
            cache_max: cache_max.max(1),
            audit_max: audit_max.max(1),
        }
    }

    fn lock(&self) -> StateResult<std::sync::MutexGuard<'_, Inner>> {
        self.inner
            .lock()
            .map_err(|_| StateError("in-process store poisoned".into()))
    }
}

#[async_trait]
impl StateStore for MemoryStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn ping(&self) -> StateResult<()> {
        self.lock().map(|_| ())
    }

    async fn cache_exact(
        &self,
        tenant: &str,
        prompt_hash: &str,
    ) -> StateResult<Option<CachedVerdict>> {
        let inner = self.lock()?;
        let now = now_ms();
        Ok(inner
            .exact
            .get(&(tenant.to_string(), prompt_hash.to_string()))
            .filter(|(_, expires)| *expires > now)
            .map(|(v, _)| v.clone()))
    }

    async fn cache_similar(
        &self,
        tenant: &str,
        embedding: &[f32],
        min_similarity: f32,
    ) -> StateResult<Option<(CachedVerdict, f32)>> {
        let inner = self.lock()?;
        let now = now_ms();
        let Some(entries) = inner.semantic.get(tenant) else {
            return Ok(None);
        };
        let mut best: Option<(&str, f32)> = None;
        for (hash, vector) in entries {
            let s = similarity(embedding, vector);
            if s >= min_similarity && best.is_none_or(|(_, b)| s > b) {
                best = Some((hash, s));
            }
        }
        Ok(best.and_then(|(hash, s)| {
            inner
                .exact
                .get(&(tenant.to_string(), hash.to_string()))
                .filter(|(_, expires)| *expires > now)
                .map(|(v, _)| (v.clone(), s))
        }))
    }

    async fn cache_put(
        &self,
        tenant: &str,
        prompt_hash: &str,
        embedding: Option<&[f32]>,
        verdict: &CachedVerdict,
        ttl_secs: u64,
    ) -> StateResult<()> {
        let mut inner = self.lock()?;
        let key = (tenant.to_string(), prompt_hash.to_string());
        let expires = now_ms().saturating_add(ttl_secs.saturating_mul(1000));
        let fresh = inner
            .exact
            .insert(key.clone(), (verdict.clone(), expires))
            .is_none();
        if fresh {
            inner.exact_order.push_back(key);
            if let Some(vector) = embedding {
                inner
                    .semantic
                    .entry(tenant.to_string())
                    .or_default()
                    .push_back((prompt_hash.to_string(), vector.to_vec()));
            }
        }
        while inner.exact_order.len() > self.cache_max {
            if let Some(old) = inner.exact_order.pop_front() {
                inner.exact.remove(&old);
                if let Some(list) = inner.semantic.get_mut(&old.0) {
                    list.retain(|(h, _)| *h != old.1);
                }
            }
        }
        Ok(())
    }

    async fn rate_limit(&self, key: &str, limit: u32) -> StateResult<RateDecision> {
        let now = now_ms() / 1000;
        let minute = now / 60;
        let reset_secs = 60 - now % 60;
        if limit == 0 {
            return Ok(RateDecision {
                allowed: true,
                remaining: u32::MAX,
                reset_secs,
            });
        }
        let mut inner = self.lock()?;
        if inner.rate.len() > 100_000 {
            inner.rate.retain(|_, (m, _)| *m == minute);
        }
        let slot = inner.rate.entry(key.to_string()).or_insert((minute, 0));
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        slot.1 = slot.1.saturating_add(1);
        Ok(RateDecision {
            allowed: slot.1 <= limit,
            remaining: limit.saturating_sub(slot.1),
            reset_secs,
        })
    }

    async fn session_turn(
        &self,
        tenant: &str,
        session: &str,
        score: f32,
        blocked: bool,
    ) -> StateResult<SessionRecord> {
        let mut inner = self.lock()?;
        let now = now_ms();
        if inner.sessions.len() >= MAX_SESSIONS {
            inner
                .sessions
                .retain(|_, s| now.saturating_sub(s.last_seen_ms) < SESSION_TTL_MS);
        }
        if inner.sessions.len() >= MAX_SESSIONS {
            return Err(StateError("too many live sessions".into()));
        }
        let record = inner
            .sessions
            .entry((tenant.to_string(), session.to_string()))
            .or_default();
        record.turns += 1;
        record.max_score = record.max_score.max(score);
        record.blocked += u64::from(blocked);
        record.last_seen_ms = now;
        Ok(record.clone())
    }

    async fn session(&self, tenant: &str, session: &str) -> StateResult<Option<SessionRecord>> {
        let inner = self.lock()?;
        let now = now_ms();
        Ok(inner
            .sessions
            .get(&(tenant.to_string(), session.to_string()))
            .filter(|s| now.saturating_sub(s.last_seen_ms) < SESSION_TTL_MS)
            .cloned())
    }

    async fn blob(&self, tenant: &str, kind: BlobKind, id: &str) -> StateResult<Option<Vec<u8>>> {
        let inner = self.lock()?;
        let now = now_ms();
        Ok(inner
            .blobs
            .get(&(tenant.to_string(), kind.as_str(), id.to_string()))
            .filter(|(_, expires, _)| *expires == 0 || *expires > now)
            .map(|(b, _, _)| b.clone()))
    }

    async fn put_blob(
        &self,
        tenant: &str,
        kind: BlobKind,
        id: &str,
        bytes: &[u8],
        ttl_secs: u64,
    ) -> StateResult<()> {
        let mut inner = self.lock()?;
        let now = now_ms();
        let expires = if ttl_secs == 0 {
            0
        } else {
            now.saturating_add(ttl_secs.saturating_mul(1000))
        };
        inner.blob_seq += 1;
        let seq = inner.blob_seq;
        let key = (tenant.to_string(), kind.as_str(), id.to_string());
        if !inner.blobs.contains_key(&key) && inner.blobs.len() >= MAX_BLOBS {
            inner.blobs.retain(|_, (_, e, _)| *e == 0 || *e > now);
            if inner.blobs.len() >= MAX_BLOBS {
                // Evict the least recently written session state (never an attack memory).
                let oldest = inner
                    .blobs
                    .iter()
                    .filter(|(k, _)| k.1 == BlobKind::SessionState.as_str())
                    .min_by_key(|(_, (_, _, s))| *s)
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    inner.blobs.remove(&k);
                }
            }
        }
        inner.blobs.insert(key, (bytes.to_vec(), expires, seq));
        Ok(())
    }

    async fn push_review(&self, entry: &ReviewEntry) -> StateResult<()> {
        let mut inner = self.lock()?;
        inner.reviews.push_front(entry.clone());
        inner.reviews.truncate(MAX_REVIEWS);
        Ok(())
    }

    async fn reviews(&self, limit: usize) -> StateResult<Vec<ReviewEntry>> {
        let inner = self.lock()?;
        Ok(inner.reviews.iter().take(limit).cloned().collect())
    }

    async fn take_review(&self, request_id: &str) -> StateResult<Option<ReviewEntry>> {
        let mut inner = self.lock()?;
        let at = inner
            .reviews
            .iter()
            .position(|e| e.request_id == request_id);
        Ok(at.and_then(|i| inner.reviews.remove(i)))
    }

    async fn put_decision(&self, record: &DecisionRecord, ttl_secs: u64) -> StateResult<()> {
        let mut inner = self.lock()?;
        let expires = now_ms().saturating_add(ttl_secs.saturating_mul(1000));
        if inner
            .decisions
            .insert(record.request_id.clone(), (record.clone(), expires))
            .is_none()
        {
            inner.decision_order.push_back(record.request_id.clone());
        }
        while inner.decision_order.len() > MAX_DECISIONS {
            if let Some(old) = inner.decision_order.pop_front() {
                inner.decisions.remove(&old);
            }
        }
        Ok(())
    }

    async fn decision(&self, request_id: &str) -> StateResult<Option<DecisionRecord>> {
        let inner = self.lock()?;
        let now = now_ms();
        Ok(inner
            .decisions
            .get(request_id)
            .filter(|(_, e)| *e > now)
            .map(|(r, _)| r.clone()))
    }

    async fn audit_append(&self, event: &AuditEvent) -> StateResult<AuditEntry> {
        let mut inner = self.lock()?;
        let seq = inner.audit_seq + 1;
        let prev_hash = inner.audit_head.clone();
        let hash = chain_hash(&prev_hash, seq, event);
        let entry = AuditEntry {
            seq,
            event: event.clone(),
            prev_hash,
            hash: hash.clone(),
        };
        inner.audit_seq = seq;
        inner.audit_head = hash;
        inner.audit.push_back(entry.clone());
        while inner.audit.len() > self.audit_max {
            inner.audit.pop_front();
        }
        Ok(entry)
    }

    async fn audit_tail(&self, limit: usize) -> StateResult<Vec<AuditEntry>> {
        let inner = self.lock()?;
        let skip = inner.audit.len().saturating_sub(limit);
        Ok(inner.audit.iter().skip(skip).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::verify_chain;
    use super::*;

    fn verdict(v: &str) -> CachedVerdict {
        CachedVerdict {
            verdict: v.into(),
            score: 0.5,
            edge_score: 0.4,
            categories: vec![],
            source: "cloud".into(),
        }
    }

    fn unit(seed: usize) -> Vec<f32> {
        let mut v = vec![0.0f32; 256];
        v[seed % 256] = 1.0;
        v
    }

    #[tokio::test]
    async fn cache_is_tenant_isolated_bounded_and_semantic() {
        let s = MemoryStore::new(2, 10);
        s.cache_put("a", "h1", Some(&unit(1)), &verdict("allow"), 60)
            .await
            .unwrap();
        assert!(s.cache_exact("b", "h1").await.unwrap().is_none());
        assert_eq!(
            s.cache_exact("a", "h1").await.unwrap(),
            Some(verdict("allow"))
        );
        let (hit, sim) = s.cache_similar("a", &unit(1), 0.9).await.unwrap().unwrap();
        assert_eq!((hit.verdict.as_str(), sim), ("allow", 1.0));
        assert!(s.cache_similar("a", &unit(2), 0.9).await.unwrap().is_none());
        assert!(s.cache_similar("b", &unit(1), 0.9).await.unwrap().is_none());
        // Eviction of the oldest past the bound, semantic index included.
        s.cache_put("a", "h2", Some(&unit(2)), &verdict("block"), 60)
            .await
            .unwrap();
        s.cache_put("a", "h3", Some(&unit(3)), &verdict("block"), 60)
            .await
            .unwrap();
        assert!(s.cache_exact("a", "h1").await.unwrap().is_none());
        assert!(s.cache_similar("a", &unit(1), 0.9).await.unwrap().is_none());
        // An update (feedback) replaces the verdict the semantic index points at.
        s.cache_put("a", "h3", None, &verdict("allow"), 60)
            .await
            .unwrap();
        let (hit, _) = s.cache_similar("a", &unit(3), 0.9).await.unwrap().unwrap();
        assert_eq!(hit.verdict, "allow");
    }

    #[tokio::test]
    async fn rate_limit_counts_per_key() {
        let s = MemoryStore::new(10, 10);
        for i in 0..3 {
            let d = s.rate_limit("k", 3).await.unwrap();
            assert!(d.allowed);
            assert_eq!(d.remaining, 2 - i);
        }
        assert!(!s.rate_limit("k", 3).await.unwrap().allowed);
        assert!(s.rate_limit("other", 3).await.unwrap().allowed);
        assert!(s.rate_limit("k", 0).await.unwrap().allowed);
    }

    #[tokio::test]
    async fn audit_chains_and_bounds() {
        let s = MemoryStore::new(10, 3);
        for i in 0..5 {
            let e = AuditEvent {
                kind: "block".into(),
                request_id: format!("r{i}"),
                tenant: "t".into(),
                detail: serde_json::json!({}),
                time_ms: i,
            };
            assert_eq!(s.audit_append(&e).await.unwrap().seq, i + 1);
        }
        let tail = s.audit_tail(10).await.unwrap();
        assert_eq!(tail.len(), 3);
        assert_eq!(tail[0].seq, 3);
        assert_eq!(verify_chain(&tail), Ok(()));
    }

    #[tokio::test]
    async fn sessions_accumulate() {
        let s = MemoryStore::new(10, 10);
        s.session_turn("t", "s1", 0.2, false).await.unwrap();
        let r = s.session_turn("t", "s1", 0.9, true).await.unwrap();
        assert_eq!((r.turns, r.blocked, r.max_score), (2, 1, 0.9));
        assert!(s.session("u", "s1").await.unwrap().is_none());
    }
}
