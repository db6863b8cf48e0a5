//! The Redis state store (`REDIS_URL`): replicas share cache, rate limits, sessions, decisions
//! and the audit log, and a restart loses nothing.
//!
//! Keys (every tenant-scoped key carries the tenant, hex-encoded so no tenant name can reach
//! into another's keys):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `mn:t:{tenant}:cache:{hash}` | string, TTL | cached verdict (JSON) |
//! | `mn:t:{tenant}:vcache` | vector set | prompt embeddings → hash (`VADD`/`VSIM`) |
//! | `mn:t:{tenant}:session:{id}` | hash, TTL 24 h | session record |
//! | `mn:t:{tenant}:sstate:{id}` | string (binary), TTL | session state: neural memory, risk, recent turns |
//! | `mn:t:{tenant}:amem:tenant` | string (binary) | the tenant's attack memory |
//! | `mn:reviews` | list, newest first, capped | turns held for approval |
//! | `mn:rl:{key}:{minute}` | counter, TTL 2 min | rate limit |
//! | `mn:decision:{request_id}` | string, TTL | decision record (JSON) |
//! | `mn:audit` | stream | hash-chained audit entries |
//! | `mn:audit:head` | string | `seq hash` of the newest entry |
//!
//! Audit appends are chained atomically by a script that only appends when the head is still
//! the one the entry was hashed against (replicas retry on a race). After an append the store
//! asks Redis to `WAITAOF` (when the server has an append-only file) so an acknowledged entry
//! is on disk. While Redis is unreachable in `degrade` mode, entries wait in memory, in order,
//! and are written first when it returns.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;

use super::{
    chain_hash, hex, now_ms, AuditEntry, AuditEvent, BlobKind, CachedVerdict, DecisionRecord,
    RateDecision, ReviewEntry, SessionRecord, StateError, StateResult, StateStore, GENESIS_HASH,
};

/// Audit entries held while Redis is down (degrade mode); past it the oldest are dropped and
/// counted in the log.
const MAX_PENDING_AUDIT: usize = 100_000;
/// Appends retried on a race with another replica before giving up.
const CHAIN_RETRIES: usize = 16;
const SESSION_TTL_SECS: u64 = 24 * 3600;
/// Held turns kept in the review queue.
const MAX_REVIEWS: isize = 10_000;
/// How long the breaker stays open after a connection failure.
const BREAKER_MS: u64 = 1000;

/// Appends `ARGV[3]` (the entry) when `KEYS[2]` (the head) still equals `ARGV[1]`; sets the
/// head to `ARGV[2]`. Returns 1, or the current head on a race.
const APPEND_SCRIPT: &str = r"
local head = redis.call('GET', KEYS[2]) or ''
if head ~= ARGV[1] then return head end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'entry', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2])
return 1
";

/// Updates a session hash and returns its fields.
const SESSION_SCRIPT: &str = r"
local turns = redis.call('HINCRBY', KEYS[1], 'turns', 1)
local blocked = redis.call('HINCRBY', KEYS[1], 'blocked', tonumber(ARGV[2]))
local max = tonumber(redis.call('HGET', KEYS[1], 'max_score') or '0')
local score = tonumber(ARGV[1])
if score > max then max = score end
redis.call('HSET', KEYS[1], 'max_score', tostring(max), 'last_seen_ms', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {turns, blocked, tostring(max)}
";

/// The Redis store.
pub struct RedisStore {
    conn: ConnectionManager,
    audit_max_len: usize,
    /// Keep audit entries in memory while Redis is down (degrade mode).
    buffer_audit: bool,
    pending: Mutex<VecDeque<AuditEvent>>,
    /// After a connection failure, operations fail fast until this time (ms since the epoch),
    /// so a Redis outage costs requests one timeout per second, not one per operation.
    down_until_ms: AtomicU64,
    /// Whether `WAITAOF` works on this server (no AOF, or a managed Redis without it → false).
    waitaof: AtomicBool,
    append: redis::Script,
    session: redis::Script,
}

fn err(e: redis::RedisError) -> StateError {
    StateError(format!("redis: {e}"))
}

fn tenant_key(tenant: &str, rest: &str) -> String {
    format!("mn:t:{}:{rest}", hex(tenant.as_bytes()))
}

impl RedisStore {
    /// Connects lazily (the service starts while Redis is still coming up; `/readyz` says
    /// when it answers). Commands time out after `timeout`.
    pub fn new(
        url: &str,
        audit_max_len: usize,
        buffer_audit: bool,
        timeout: Duration,
    ) -> StateResult<RedisStore> {
        let client = redis::Client::open(url).map_err(err)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(err)?;
        Ok(RedisStore {
            conn,
            audit_max_len: audit_max_len.max(1),
            buffer_audit,
            pending: Mutex::new(VecDeque::new()),
            waitaof: AtomicBool::new(true),
            down_until_ms: AtomicU64::new(0),
            append: redis::Script::new(APPEND_SCRIPT),
            session: redis::Script::new(SESSION_SCRIPT),
        })
    }

    /// Turns a Redis error into a state error; connection failures open the breaker.
    fn fail(&self, e: redis::RedisError) -> StateError {
        if e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
        {
            self.down_until_ms
                .store(now_ms().saturating_add(BREAKER_MS), Ordering::Relaxed);
        }
        err(e)
    }

    /// Fails fast while the breaker is open.
    fn check(&self) -> StateResult<()> {
        if now_ms() < self.down_until_ms.load(Ordering::Relaxed) {
            Err(StateError("redis: unreachable (retrying shortly)".into()))
        } else {
            Ok(())
        }
    }

    /// Audit entries waiting for Redis.
    pub fn pending_audit(&self) -> usize {
        self.pending.lock().map(|p| p.len()).unwrap_or(0)
    }

    /// Writes one event at the head of the chain.
    async fn chain(&self, event: &AuditEvent) -> StateResult<AuditEntry> {
        self.check()?;
        let mut conn = self.conn.clone();
        for _ in 0..CHAIN_RETRIES {
            let head: Option<String> = conn.get("mn:audit:head").await.map_err(|e| self.fail(e))?;
            let head = head.unwrap_or_default();
            let (seq, prev_hash) = match head.split_once(' ') {
                Some((s, h)) => (
                    s.parse::<u64>()
                        .map_err(|_| StateError("corrupt mn:audit:head".into()))?,
                    h.to_string(),
                ),
                None => (0, GENESIS_HASH.to_string()),
            };
            let seq = seq + 1;
            let hash = chain_hash(&prev_hash, seq, event);
            let entry = AuditEntry {
                seq,
                event: event.clone(),
                prev_hash,
                hash: hash.clone(),
            };
            let json = serde_json::to_string(&entry).map_err(|e| StateError(e.to_string()))?;
            let result: redis::Value = self
                .append
                .key("mn:audit")
                .key("mn:audit:head")
                .arg(&head)
                .arg(format!("{seq} {hash}"))
                .arg(json)
                .arg(self.audit_max_len)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| self.fail(e))?;
            if matches!(result, redis::Value::Int(1)) {
                self.wait_for_disk(&mut conn).await;
                return Ok(entry);
            }
        }
        Err(StateError(
            "audit append kept racing with other replicas".into(),
        ))
    }

    /// `WAITAOF 1 0 1000`: returns once the local append-only file has the write. Servers
    /// without AOF answer an error; then the store stops asking.
    async fn wait_for_disk(&self, conn: &mut ConnectionManager) {
        if !self.waitaof.load(Ordering::Relaxed) {
            return;
        }
        let r: redis::RedisResult<redis::Value> = redis::cmd("WAITAOF")
            .arg(1)
            .arg(0)
            .arg(1000)
            .query_async(conn)
            .await;
        if let Err(e) = r {
            self.waitaof.store(false, Ordering::Relaxed);
            eprintln!(
                "cloud-analyzer: Redis WAITAOF unavailable ({e}); audit entries are as durable as the server's persistence settings"
            );
        }
    }

    /// Writes buffered entries, oldest first; stops at the first failure.
    async fn flush_pending(&self) -> StateResult<()> {
        loop {
            let next = self
                .pending
                .lock()
                .map_err(|_| StateError("audit buffer poisoned".into()))?
                .front()
                .cloned();
            let Some(event) = next else {
                return Ok(());
            };
            self.chain(&event).await?;
            if let Ok(mut p) = self.pending.lock() {
                p.pop_front();
            }
        }
    }
}

#[async_trait]
impl StateStore for RedisStore {
    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> StateResult<()> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| self.fail(e))?;
        self.down_until_ms.store(0, Ordering::Relaxed);
        // A good moment to write what waited while Redis was away.
        if self.pending_audit() > 0 {
            self.flush_pending().await?;
        }
        Ok(())
    }

    async fn cache_exact(
        &self,
        tenant: &str,
        prompt_hash: &str,
    ) -> StateResult<Option<CachedVerdict>> {
        self.check()?;
        let mut conn = self.conn.clone();
        let raw: Option<String> = conn
            .get(tenant_key(tenant, &format!("cache:{prompt_hash}")))
            .await
            .map_err(|e| self.fail(e))?;
        Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
    }

    async fn cache_similar(
        &self,
        tenant: &str,
        embedding: &[f32],
        min_similarity: f32,
    ) -> StateResult<Option<(CachedVerdict, f32)>> {
        self.check()?;
        let mut conn = self.conn.clone();
        let set = tenant_key(tenant, "vcache");
        let blob: Vec<u8> = embedding.iter().flat_map(|x| x.to_le_bytes()).collect();
        // Scores are (1 + cosine) / 2.
        let hits: Vec<(String, f64)> = redis::cmd("VSIM")
            .arg(&set)
            .arg("FP32")
            .arg(blob)
            .arg("WITHSCORES")
            .arg("COUNT")
            .arg(3)
            .query_async(&mut conn)
            .await
            .or_else(|e| {
                // No set yet for this tenant.
                if e.kind() == redis::ErrorKind::UnexpectedReturnType
                    || e.to_string().contains("key does not exist")
                {
                    Ok(Vec::new())
                } else {
                    Err(e)
                }
            })
            .map_err(|e| self.fail(e))?;
        for (hash, score) in hits {
            let similarity = (2.0 * score - 1.0) as f32;
            if similarity < min_similarity {
                break;
            }
            match self.cache_exact(tenant, &hash).await? {
                Some(v) => return Ok(Some((v, similarity))),
                None => {
                    // The verdict expired: drop its vector too.
                    let _: redis::RedisResult<i64> = redis::cmd("VREM")
                        .arg(&set)
                        .arg(&hash)
                        .query_async(&mut conn)
                        .await;
                }
            }
        }
        Ok(None)
    }

    async fn cache_put(
        &self,
        tenant: &str,
        prompt_hash: &str,
        embedding: Option<&[f32]>,
        verdict: &CachedVerdict,
        ttl_secs: u64,
    ) -> StateResult<()> {
        self.check()?;
        let mut conn = self.conn.clone();
        let json = serde_json::to_string(verdict).map_err(|e| StateError(e.to_string()))?;
        let _: () = conn
            .set_ex(
                tenant_key(tenant, &format!("cache:{prompt_hash}")),
                json,
                ttl_secs,
            )
            .await
            .map_err(|e| self.fail(e))?;
        if let Some(vector) = embedding {
            let blob: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
            let _: i64 = redis::cmd("VADD")
                .arg(tenant_key(tenant, "vcache"))
                .arg("FP32")
                .arg(blob)
                .arg(prompt_hash)
                .arg("NOQUANT")
                .query_async(&mut conn)
                .await
                .map_err(|e| self.fail(e))?;
        }
        Ok(())
    }

    async fn rate_limit(&self, key: &str, limit: u32) -> StateResult<RateDecision> {
        self.check()?;
        let now = now_ms() / 1000;
        let reset_secs = 60 - now % 60;
        if limit == 0 {
            return Ok(RateDecision {
                allowed: true,
                remaining: u32::MAX,
                reset_secs,
            });
        }
        let mut conn = self.conn.clone();
        let counter = format!("mn:rl:{}:{}", hex(key.as_bytes()), now / 60);
        let (count,): (u64,) = redis::pipe()
            .atomic()
            .incr(&counter, 1)
            .expire(&counter, 120)
            .ignore()
            .query_async(&mut conn)
            .await
            .map_err(|e| self.fail(e))?;
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        Ok(RateDecision {
            allowed: count <= limit,
            remaining: limit.saturating_sub(count),
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
        self.check()?;
        let mut conn = self.conn.clone();
        let now = now_ms();
        let (turns, blocked, max): (u64, u64, String) = self
            .session
            .key(tenant_key(
                tenant,
                &format!("session:{}", hex(session.as_bytes())),
            ))
            .arg(score)
            .arg(u8::from(blocked))
            .arg(now)
            .arg(SESSION_TTL_SECS)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.fail(e))?;
        Ok(SessionRecord {
            turns,
            max_score: max.parse().unwrap_or(score),
            blocked,
            last_seen_ms: now,
        })
    }

    async fn session(&self, tenant: &str, session: &str) -> StateResult<Option<SessionRecord>> {
        self.check()?;
        let mut conn = self.conn.clone();
        let fields: std::collections::HashMap<String, String> = conn
            .hgetall(tenant_key(
                tenant,
                &format!("session:{}", hex(session.as_bytes())),
            ))
            .await
            .map_err(|e| self.fail(e))?;
        if fields.is_empty() {
            return Ok(None);
        }
        let num = |k: &str| {
            fields
                .get(k)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(Some(SessionRecord {
            turns: num("turns"),
            blocked: num("blocked"),
            max_score: fields
                .get("max_score")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0),
            last_seen_ms: num("last_seen_ms"),
        }))
    }

    async fn blob(&self, tenant: &str, kind: BlobKind, id: &str) -> StateResult<Option<Vec<u8>>> {
        self.check()?;
        let mut conn = self.conn.clone();
        let key = tenant_key(tenant, &format!("{}:{}", kind.as_str(), hex(id.as_bytes())));
        conn.get(key).await.map_err(|e| self.fail(e))
    }

    async fn put_blob(
        &self,
        tenant: &str,
        kind: BlobKind,
        id: &str,
        bytes: &[u8],
        ttl_secs: u64,
    ) -> StateResult<()> {
        self.check()?;
        let mut conn = self.conn.clone();
        let key = tenant_key(tenant, &format!("{}:{}", kind.as_str(), hex(id.as_bytes())));
        if ttl_secs == 0 {
            conn.set(key, bytes).await.map_err(|e| self.fail(e))
        } else {
            conn.set_ex(key, bytes, ttl_secs)
                .await
                .map_err(|e| self.fail(e))
        }
    }

    async fn push_review(&self, entry: &ReviewEntry) -> StateResult<()> {
        self.check()?;
        let mut conn = self.conn.clone();
        let json = serde_json::to_string(entry).map_err(|e| StateError(e.to_string()))?;
        redis::pipe()
            .atomic()
            .lpush("mn:reviews", json)
            .ltrim("mn:reviews", 0, MAX_REVIEWS - 1)
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| self.fail(e))
    }

    async fn reviews(&self, limit: usize) -> StateResult<Vec<ReviewEntry>> {
        self.check()?;
        let mut conn = self.conn.clone();
        let stop = isize::try_from(limit)
            .unwrap_or(isize::MAX)
            .saturating_sub(1);
        let raw: Vec<String> = conn
            .lrange("mn:reviews", 0, stop)
            .await
            .map_err(|e| self.fail(e))?;
        Ok(raw
            .iter()
            .filter_map(|r| serde_json::from_str(r).ok())
            .collect())
    }

    async fn take_review(&self, request_id: &str) -> StateResult<Option<ReviewEntry>> {
        self.check()?;
        let mut conn = self.conn.clone();
        // The queue is capped (MAX_REVIEWS entries of a few hundred bytes), and this is an
        // operator's call, not the request path.
        let raw: Vec<String> = conn
            .lrange("mn:reviews", 0, -1)
            .await
            .map_err(|e| self.fail(e))?;
        for json in raw {
            let Ok(entry) = serde_json::from_str::<ReviewEntry>(&json) else {
                continue;
            };
            if entry.request_id != request_id {
                continue;
            }
            // LREM is the claim: of two operators deciding at once, one removes it.
            let removed: i64 = conn
                .lrem("mn:reviews", 1, &json)
                .await
                .map_err(|e| self.fail(e))?;
            return Ok((removed > 0).then_some(entry));
        }
        Ok(None)
    }

    async fn put_decision(&self, record: &DecisionRecord, ttl_secs: u64) -> StateResult<()> {
        self.check()?;
        let mut conn = self.conn.clone();
        let json = serde_json::to_string(record).map_err(|e| StateError(e.to_string()))?;
        conn.set_ex(format!("mn:decision:{}", record.request_id), json, ttl_secs)
            .await
            .map_err(|e| self.fail(e))
    }

    async fn decision(&self, request_id: &str) -> StateResult<Option<DecisionRecord>> {
        self.check()?;
        let mut conn = self.conn.clone();
        let raw: Option<String> = conn
            .get(format!("mn:decision:{request_id}"))
            .await
            .map_err(|e| self.fail(e))?;
        Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
    }

    async fn audit_append(&self, event: &AuditEvent) -> StateResult<AuditEntry> {
        // Entries that waited for Redis go first, so the chain keeps the order of events.
        let result = match self.flush_pending().await {
            Ok(()) => self.chain(event).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(entry) => Ok(entry),
            Err(e) => {
                if self.buffer_audit {
                    if let Ok(mut p) = self.pending.lock() {
                        if p.len() >= MAX_PENDING_AUDIT {
                            p.pop_front();
                            eprintln!("cloud-analyzer: audit buffer full while Redis is down; oldest entry dropped");
                        }
                        p.push_back(event.clone());
                    }
                }
                Err(e)
            }
        }
    }

    async fn audit_tail(&self, limit: usize) -> StateResult<Vec<AuditEntry>> {
        self.check()?;
        let mut conn = self.conn.clone();
        let raw: redis::streams::StreamRangeReply = conn
            .xrevrange_count("mn:audit", "+", "-", limit)
            .await
            .map_err(|e| self.fail(e))?;
        let mut entries: Vec<AuditEntry> = raw
            .ids
            .iter()
            .filter_map(|id| id.get::<String>("entry"))
            .filter_map(|json| serde_json::from_str(&json).ok())
            .collect();
        entries.reverse();
        Ok(entries)
    }
}
