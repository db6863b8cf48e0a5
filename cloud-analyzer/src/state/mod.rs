//! The analyzer's state behind one interface, [`StateStore`], with two implementations: the
//! in-process [`memory::MemoryStore`] (the embedded default) and the Redis store (`REDIS_URL`).
//!
//! What lives here: the verdict cache (exact hash and nearest-neighbour on an embedding), the
//! per-key rate-limit counters, session records, the decisions `/v1/feedback` refers to, and the
//! hash-chained audit log. Every key is scoped by tenant where it holds tenant data.

pub mod memory;
pub mod redis;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Dimension of the semantic-cache embedding.
pub use crate::memory::EMBEDDING_DIM;

/// A state operation that failed (Redis unreachable, a corrupt record).
#[derive(Debug, Clone)]
pub struct StateError(pub String);

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "state store: {}", self.0)
    }
}

impl std::error::Error for StateError {}

/// Result of state operations.
pub type StateResult<T> = Result<T, StateError>;

/// A cached cascade decision for one prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedVerdict {
    /// `allow` or `block` (never `escalate`).
    pub verdict: String,
    /// The cascade score.
    pub score: f32,
    /// The edge score of the prompt that was decided (guards semantic reuse).
    pub edge_score: f32,
    /// Categories that fired.
    pub categories: Vec<String>,
    /// Where the decision came from: `cloud` or `feedback`.
    pub source: String,
}

/// One rate-limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// Requests left in the current window.
    pub remaining: u32,
    /// Seconds until the window resets.
    pub reset_secs: u64,
}

/// What the analyzer remembers about a session between requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Requests seen.
    pub turns: u64,
    /// Highest cascade score so far.
    pub max_score: f32,
    /// Requests blocked.
    pub blocked: u64,
    /// Milliseconds since the epoch of the last request.
    pub last_seen_ms: u64,
}

/// A decision, kept so `/v1/feedback` can refer to it by request id. Holds no prompt text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// The request id returned to the client.
    pub request_id: String,
    /// Tenant the request belonged to.
    pub tenant: String,
    /// Session, when one was given.
    pub session: Option<String>,
    /// Route that decided (`chat`, `analyze`).
    pub route: String,
    /// Final verdict.
    pub verdict: String,
    /// Final score.
    pub score: f32,
    /// Edge score.
    pub edge_score: f32,
    /// Categories that fired.
    pub categories: Vec<String>,
    /// Hex SHA-256 of the prompt's text (the exact-cache key).
    pub prompt_hash: String,
    /// The semantic embedding, when it was computed.
    pub embedding: Option<Vec<f32>>,
    /// The cloud encoder's weighted bag (the feedback adapter's input), when it was computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<Vec<f32>>,
    /// The cloud classifier's log-odds that went with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_logit: Option<f32>,
    /// Milliseconds since the epoch.
    pub time_ms: u64,
}

/// A turn held for an operator (`require_approval`), kept in the review queue. Holds no
/// prompt text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewEntry {
    /// The request that was held.
    pub request_id: String,
    /// Tenant.
    pub tenant: String,
    /// Session.
    pub session: String,
    /// Session risk after the turn.
    pub risk: f32,
    /// The turn's score.
    pub score: f32,
    /// What raised the risk.
    pub reasons: Vec<String>,
    /// Milliseconds since the epoch.
    pub time_ms: u64,
}

/// What a stored blob is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobKind {
    /// A session's [`SessionState`](crate::memory::session::SessionState).
    SessionState,
    /// A tenant's [`AttackMemory`](crate::memory::attack::AttackMemory).
    AttackMemory,
    /// A client key's [`KeyRisk`](crate::memory::session::KeyRisk).
    KeyRisk,
}

impl BlobKind {
    /// Key segment.
    pub fn as_str(self) -> &'static str {
        match self {
            BlobKind::SessionState => "sstate",
            BlobKind::AttackMemory => "amem",
            BlobKind::KeyRisk => "krisk",
        }
    }
}

/// An event for the audit log, before it is chained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// `block`, `escalation`, `feedback`, `rate_limited`.
    pub kind: String,
    /// The request the event is about.
    pub request_id: String,
    /// Tenant.
    pub tenant: String,
    /// Details (verdict, score, categories, label…), no prompt text.
    pub detail: serde_json::Value,
    /// Milliseconds since the epoch.
    pub time_ms: u64,
}

/// An audit entry: the event, its position, and the hash chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the log, from 1.
    pub seq: u64,
    /// The event.
    pub event: AuditEvent,
    /// Hash of the previous entry (64 zeros for the first).
    pub prev_hash: String,
    /// `sha256(prev_hash ‖ seq ‖ canonical JSON of the event)`, hex.
    pub hash: String,
}

/// The hash of the entry before the first.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Computes an entry's hash from the previous hash, its position and its event.
pub fn chain_hash(prev_hash: &str, seq: u64, event: &AuditEvent) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(seq.to_string().as_bytes());
    h.update(b"\n");
    // serde_json writes struct fields in declaration order and `detail` maps sorted: canonical.
    h.update(serde_json::to_vec(event).unwrap_or_default());
    hex(&h.finalize())
}

/// Checks a run of consecutive entries; returns the first broken position.
pub fn verify_chain(entries: &[AuditEntry]) -> Result<(), u64> {
    for (i, e) in entries.iter().enumerate() {
        if i > 0 && (e.prev_hash != entries[i - 1].hash || e.seq != entries[i - 1].seq + 1) {
            return Err(e.seq);
        }
        if chain_hash(&e.prev_hash, e.seq, &e.event) != e.hash {
            return Err(e.seq);
        }
    }
    Ok(())
}

/// The 32 bytes a 64-digit hex string spells (either case), or `None`.
pub fn unhex32(s: &str) -> Option<[u8; 32]> {
    let s = s.as_bytes();
    if s.len() != 64 {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; 32];
    for (i, pair) in s.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// Hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Cosine similarity of two unit vectors (their dot product).
pub fn similarity(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The interface both stores implement.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// `memory` or `redis`.
    fn kind(&self) -> &'static str;
    /// Whether the store answers.
    async fn ping(&self) -> StateResult<()>;
    /// Exact-hash cache lookup.
    async fn cache_exact(
        &self,
        tenant: &str,
        prompt_hash: &str,
    ) -> StateResult<Option<CachedVerdict>>;
    /// Nearest cached verdict with similarity ≥ `min_similarity`, with its similarity.
    async fn cache_similar(
        &self,
        tenant: &str,
        embedding: &[f32],
        min_similarity: f32,
    ) -> StateResult<Option<(CachedVerdict, f32)>>;
    /// Stores a verdict under its hash (and its embedding, when given), for `ttl_secs`.
    async fn cache_put(
        &self,
        tenant: &str,
        prompt_hash: &str,
        embedding: Option<&[f32]>,
        verdict: &CachedVerdict,
        ttl_secs: u64,
    ) -> StateResult<()>;
    /// Counts one request against `key`'s per-minute `limit` (0 = unlimited).
    async fn rate_limit(&self, key: &str, limit: u32) -> StateResult<RateDecision>;
    /// Records one turn of a session and returns the updated record.
    async fn session_turn(
        &self,
        tenant: &str,
        session: &str,
        score: f32,
        blocked: bool,
    ) -> StateResult<SessionRecord>;
    /// Reads a session record.
    async fn session(&self, tenant: &str, session: &str) -> StateResult<Option<SessionRecord>>;
    /// Reads a stored blob (a session state, an attack memory).
    async fn blob(&self, tenant: &str, kind: BlobKind, id: &str) -> StateResult<Option<Vec<u8>>>;
    /// Stores a blob for `ttl_secs` (0: no expiry).
    async fn put_blob(
        &self,
        tenant: &str,
        kind: BlobKind,
        id: &str,
        bytes: &[u8],
        ttl_secs: u64,
    ) -> StateResult<()>;
    /// Queues a held turn for review.
    async fn push_review(&self, entry: &ReviewEntry) -> StateResult<()>;
    /// The newest `limit` held turns, newest first.
    async fn reviews(&self, limit: usize) -> StateResult<Vec<ReviewEntry>>;
    /// Takes the held turn with this request id out of the queue (`None`: not there — never
    /// held, already decided, or pushed out by newer ones). Two callers never both get it.
    async fn take_review(&self, request_id: &str) -> StateResult<Option<ReviewEntry>>;
    /// Keeps a decision for `ttl_secs`.
    async fn put_decision(&self, record: &DecisionRecord, ttl_secs: u64) -> StateResult<()>;
    /// Looks a decision up by request id.
    async fn decision(&self, request_id: &str) -> StateResult<Option<DecisionRecord>>;
    /// Appends an event to the audit log; returns the chained entry once it is stored.
    async fn audit_append(&self, event: &AuditEvent) -> StateResult<AuditEntry>;
    /// The last `limit` audit entries, oldest first.
    async fn audit_tail(&self, limit: usize) -> StateResult<Vec<AuditEntry>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u64) -> AuditEvent {
        AuditEvent {
            kind: "block".into(),
            request_id: format!("r{n}"),
            tenant: "t".into(),
            detail: serde_json::json!({"score": 0.99, "categories": ["jailbreak"]}),
            time_ms: n,
        }
    }

    #[test]
    fn chain_detects_tampering() {
        let mut entries = Vec::new();
        let mut prev = GENESIS_HASH.to_string();
        for seq in 1..=5 {
            let e = event(seq);
            let hash = chain_hash(&prev, seq, &e);
            entries.push(AuditEntry {
                seq,
                event: e,
                prev_hash: prev.clone(),
                hash: hash.clone(),
            });
            prev = hash;
        }
        assert_eq!(verify_chain(&entries), Ok(()));
        let mut edited = entries.clone();
        edited[2].event.kind = "allow".into();
        assert_eq!(verify_chain(&edited), Err(3));
        let mut dropped = entries.clone();
        dropped.remove(1);
        assert_eq!(verify_chain(&dropped), Err(3));
    }

    #[test]
    fn entries_verify_after_a_json_round_trip() {
        // Stored entries come back from Redis as JSON text; awkward floats must not break them.
        let mut e = event(1);
        e.detail = serde_json::json!({"score": 0.9990794658660888_f64, "p": 1.0f32 / 3.0});
        let hash = chain_hash(GENESIS_HASH, 1, &e);
        let entry = AuditEntry {
            seq: 1,
            event: e,
            prev_hash: GENESIS_HASH.into(),
            hash,
        };
        let back: AuditEntry =
            serde_json::from_str(&serde_json::to_string(&entry).unwrap()).unwrap();
        assert_eq!(verify_chain(&[back]), Ok(()));
    }

    #[test]
    fn hex_and_sha() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn unhex32_reads_what_hex_writes_and_nothing_else() {
        let digest: [u8; 32] = std::array::from_fn(|i| (i * 37 + 5) as u8);
        assert_eq!(unhex32(&hex(&digest)), Some(digest));
        assert_eq!(unhex32(&hex(&digest).to_uppercase()), Some(digest));
        for bad in [
            "",
            "00",
            &"0".repeat(63),
            &"0".repeat(65),
            &"g".repeat(64),
            &"é".repeat(32),
        ] {
            assert_eq!(unhex32(bad), None, "{bad:?}");
        }
    }
}
