//! The service's configuration: a TOML file, overridden by environment variables, overridden by
//! command-line flags, validated once at start-up.
//!
//! ```
//! use cloud_analyzer::config::Config;
//! let mut config = Config::from_toml(r#"
//!     listen = "127.0.0.1:9000"
//!     upstream_url = "http://127.0.0.1:9001/v1"
//!     [cache]
//!     similarity = 0.97
//! "#).unwrap();
//! config.apply_env(|name| (name == "MNEMOSYNE_LISTEN").then(|| "127.0.0.1:9002".to_string())).unwrap();
//! config.validate().unwrap();
//! assert_eq!(config.listen.port(), 9002);
//! assert!(Config::from_toml("listn = \"x\"").is_err()); // typos are errors, not silently ignored
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};
use shared_core::Policy;

/// Groq's OpenAI-compatible base URL; `/chat/completions` and `/models` are appended to it.
pub const DEFAULT_UPSTREAM: &str = "https://api.groq.com/openai/v1";

/// A value that must never be printed: `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// What the analyzer does when its state store (Redis) is unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateFailMode {
    /// Keep serving with in-process state (cache, rate limits) and hold audit entries in memory
    /// until Redis returns; detection itself is unaffected.
    #[default]
    Degrade,
    /// Answer `503` to every request that needs state until Redis returns.
    Closed,
}

/// The semantic and exact verdict cache.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// Whether verdicts are cached at all.
    pub enabled: bool,
    /// How long a cached verdict lives.
    pub ttl_secs: u64,
    /// Lowest cosine similarity at which a cached verdict answers a new prompt.
    pub similarity: f32,
    /// Most entries per tenant in the in-process store (oldest go first).
    pub max_entries: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            enabled: true,
            ttl_secs: 3600,
            similarity: 0.95,
            max_entries: 50_000,
        }
    }
}

/// Session risk, neural memories and the attack memory (`[sessions]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionsConfig {
    /// Whether turns are judged with the session's history (and the attack memory consulted).
    pub enabled: bool,
    /// Idle seconds after which a session's risk has halved (on top of the per-turn half-life).
    pub idle_half_life_secs: u64,
    /// Idle seconds after which a session's state is forgotten.
    pub ttl_secs: u64,
    /// Seconds after which a client key's count of stopped turns (across its sessions) has
    /// halved.
    pub key_half_life_secs: u64,
    /// Blocks at or above this score teach the attack memory (as confirmed attacks); above 1
    /// turns that off and leaves only `/v1/feedback`.
    pub learn_blocks_above: f32,
    /// Session risk thresholds and memory rates (`[sessions.policy]`).
    pub policy: crate::memory::session::SessionPolicy,
    /// When the attack memory recognizes a prompt (`[sessions.attack_memory]`).
    pub attack_memory: crate::memory::attack::RecognitionPolicy,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        SessionsConfig {
            enabled: true,
            idle_half_life_secs: 900,
            ttl_secs: 24 * 3600,
            key_half_life_secs: 3600,
            learn_blocks_above: 0.99,
            policy: crate::memory::session::SessionPolicy::default(),
            attack_memory: crate::memory::attack::RecognitionPolicy::default(),
        }
    }
}

/// One client API key, stored as the SHA-256 of the key (hex), never the key itself.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// A name for the key, used in logs, metrics and as the default tenant.
    pub id: String,
    /// Lower-case hex SHA-256 of the key (`cloud-analyzer hash-key` prints it).
    pub sha256: String,
    /// Requests per minute for this key; absent → `rate_limit_per_minute`.
    #[serde(default)]
    pub rate_limit_per_minute: Option<u32>,
    /// Tenant whose cache and sessions this key shares; absent → the key's `id`.
    #[serde(default)]
    pub tenant: Option<String>,
}

/// The whole service configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// OpenAI-compatible base URL of the LLM (`…/v1`).
    pub upstream_url: String,
    /// Key sent to the upstream as `Authorization: Bearer …` (normally from `GROQ_API_KEY`).
    pub upstream_api_key: Option<Secret>,
    /// Longest wait for the upstream's response headers, and longest silence between two chunks
    /// of a streamed answer.
    pub upstream_timeout_secs: u64,
    /// Longest wait to connect to the upstream.
    pub upstream_connect_timeout_secs: u64,
    /// Longest a client may take to send a request's headers, and again its body (`408` past
    /// it): a client that trickles bytes cannot hold a connection and a request open forever.
    pub client_timeout_secs: u64,
    /// Most requests in flight; past it `503 overloaded` (health, readiness and metrics are
    /// always answered). Bounds the memory request bodies take to about this many body caps.
    pub max_concurrent_requests: usize,
    /// One JSON line per answered request on standard output (no bodies, no keys).
    pub access_log: bool,
    /// Token the edge filters present on `/v1/analyze`.
    pub analyze_token: Option<Secret>,
    /// Token for operator endpoints (`/v1/feedback`, `/v1/audit`); absent → `analyze_token`.
    pub admin_token: Option<Secret>,
    /// Models from `train --out` instead of the built-in ones.
    pub models: Option<PathBuf>,
    /// A JSON policy file (the shared-core policy).
    pub policy_file: Option<PathBuf>,
    /// The policy inline, as a TOML table (exclusive with `policy_file`).
    #[serde(deserialize_with = "inline_policy")]
    pub policy: Option<Policy>,
    /// Burn backend (`flex` or `ndarray`, as built).
    pub backend: Option<String>,
    /// Redis URL; absent → in-process state.
    pub redis_url: Option<Secret>,
    /// Behaviour while Redis is unreachable.
    pub state_fail_mode: StateFailMode,
    /// Verdict cache.
    pub cache: CacheConfig,
    /// Session risk and memories.
    pub sessions: SessionsConfig,
    /// Client API keys; none → anyone on loopback may call the proxy.
    pub api_keys: Vec<ApiKeyConfig>,
    /// Default per-key limit in requests per minute (0 = unlimited).
    pub rate_limit_per_minute: u32,
    /// How long decisions stay addressable by `/v1/feedback`.
    pub decision_ttl_secs: u64,
    /// Most audit entries kept by the in-process store (Redis keeps `audit_max_len`).
    pub audit_max_len: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            upstream_url: DEFAULT_UPSTREAM.to_string(),
            upstream_api_key: None,
            upstream_timeout_secs: 60,
            upstream_connect_timeout_secs: 5,
            client_timeout_secs: 30,
            max_concurrent_requests: 1024,
            access_log: true,
            analyze_token: None,
            admin_token: None,
            models: None,
            policy_file: None,
            policy: None,
            backend: None,
            redis_url: None,
            state_fail_mode: StateFailMode::Degrade,
            cache: CacheConfig::default(),
            sessions: SessionsConfig::default(),
            api_keys: Vec::new(),
            rate_limit_per_minute: 600,
            decision_ttl_secs: 7 * 24 * 3600,
            audit_max_len: 1_000_000,
        }
    }
}

fn inline_policy<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Policy>, D::Error> {
    let policy = Option::<Policy>::deserialize(d)?;
    if let Some(p) = &policy {
        p.validate().map_err(serde::de::Error::custom)?;
    }
    Ok(policy)
}

/// Every environment variable the service reads, with what it sets.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("MNEMOSYNE_CONFIG", "path of the TOML configuration file"),
    ("MNEMOSYNE_LISTEN", "listen"),
    ("MNEMOSYNE_UPSTREAM_URL", "upstream_url"),
    (
        "MNEMOSYNE_UPSTREAM_API_KEY",
        "upstream_api_key (wins over GROQ_API_KEY)",
    ),
    ("GROQ_API_KEY", "upstream_api_key"),
    ("MNEMOSYNE_UPSTREAM_TIMEOUT_SECS", "upstream_timeout_secs"),
    ("MNEMOSYNE_CLIENT_TIMEOUT_SECS", "client_timeout_secs"),
    (
        "MNEMOSYNE_MAX_CONCURRENT_REQUESTS",
        "max_concurrent_requests",
    ),
    ("MNEMOSYNE_ANALYZE_TOKEN", "analyze_token"),
    ("MNEMOSYNE_ADMIN_TOKEN", "admin_token"),
    ("MNEMOSYNE_MODELS", "models"),
    ("MNEMOSYNE_POLICY", "policy_file"),
    ("MNEMOSYNE_BACKEND", "backend"),
    ("REDIS_URL", "redis_url"),
    (
        "MNEMOSYNE_STATE_FAIL_MODE",
        "state_fail_mode (degrade | closed)",
    ),
    (
        "MNEMOSYNE_API_KEYS",
        "api_keys, as `id=sha256hex,id2=sha256hex`",
    ),
    ("MNEMOSYNE_RATE_LIMIT_PER_MINUTE", "rate_limit_per_minute"),
    ("MNEMOSYNE_CACHE_ENABLED", "cache.enabled (true | false)"),
    ("MNEMOSYNE_ACCESS_LOG", "access_log (true | false)"),
];

impl Config {
    /// Parses a TOML configuration (unknown keys are errors).
    pub fn from_toml(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Reads a TOML configuration file.
    pub fn from_file(path: &std::path::Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Config::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Overrides fields from environment variables (`lookup` is `std::env::var` in the binary).
    pub fn apply_env(&mut self, lookup: impl Fn(&str) -> Option<String>) -> Result<(), String> {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let parse_u = |name: &str, v: &str| -> Result<u64, String> {
            v.trim()
                .parse::<u64>()
                .map_err(|_| format!("{name}={v:?} is not a whole number"))
        };
        if let Some(v) = get("MNEMOSYNE_LISTEN") {
            self.listen = v.parse().map_err(|_| {
                format!("MNEMOSYNE_LISTEN={v:?} is not an address like 127.0.0.1:8080")
            })?;
        }
        if let Some(v) = get("MNEMOSYNE_UPSTREAM_URL") {
            self.upstream_url = v;
        }
        if let Some(v) = get("MNEMOSYNE_UPSTREAM_API_KEY").or_else(|| get("GROQ_API_KEY")) {
            self.upstream_api_key = Some(Secret(v));
        }
        if let Some(v) = get("MNEMOSYNE_UPSTREAM_TIMEOUT_SECS") {
            self.upstream_timeout_secs = parse_u("MNEMOSYNE_UPSTREAM_TIMEOUT_SECS", &v)?;
        }
        if let Some(v) = get("MNEMOSYNE_CLIENT_TIMEOUT_SECS") {
            self.client_timeout_secs = parse_u("MNEMOSYNE_CLIENT_TIMEOUT_SECS", &v)?;
        }
        if let Some(v) = get("MNEMOSYNE_MAX_CONCURRENT_REQUESTS") {
            let n = parse_u("MNEMOSYNE_MAX_CONCURRENT_REQUESTS", &v)?;
            self.max_concurrent_requests = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(v) = get("MNEMOSYNE_ANALYZE_TOKEN") {
            self.analyze_token = Some(Secret(v));
        }
        if let Some(v) = get("MNEMOSYNE_ADMIN_TOKEN") {
            self.admin_token = Some(Secret(v));
        }
        if let Some(v) = get("MNEMOSYNE_MODELS") {
            self.models = Some(PathBuf::from(v));
        }
        if let Some(v) = get("MNEMOSYNE_POLICY") {
            self.policy_file = Some(PathBuf::from(v));
        }
        if let Some(v) = get("MNEMOSYNE_BACKEND") {
            self.backend = Some(v);
        }
        if let Some(v) = get("REDIS_URL") {
            self.redis_url = Some(Secret(v));
        }
        if let Some(v) = get("MNEMOSYNE_STATE_FAIL_MODE") {
            self.state_fail_mode = match v.as_str() {
                "degrade" => StateFailMode::Degrade,
                "closed" => StateFailMode::Closed,
                _ => {
                    return Err(format!(
                        "MNEMOSYNE_STATE_FAIL_MODE={v:?}: expected `degrade` or `closed`"
                    ))
                }
            };
        }
        if let Some(v) = get("MNEMOSYNE_API_KEYS") {
            self.api_keys = parse_api_keys(&v)?;
        }
        if let Some(v) = get("MNEMOSYNE_RATE_LIMIT_PER_MINUTE") {
            let n = parse_u("MNEMOSYNE_RATE_LIMIT_PER_MINUTE", &v)?;
            self.rate_limit_per_minute = u32::try_from(n)
                .map_err(|_| format!("MNEMOSYNE_RATE_LIMIT_PER_MINUTE={v} is too large"))?;
        }
        let flag = |name: &str, v: &str| match v {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(format!("{name}={v:?}: expected true or false")),
        };
        if let Some(v) = get("MNEMOSYNE_CACHE_ENABLED") {
            self.cache.enabled = flag("MNEMOSYNE_CACHE_ENABLED", &v)?;
        }
        if let Some(v) = get("MNEMOSYNE_ACCESS_LOG") {
            self.access_log = flag("MNEMOSYNE_ACCESS_LOG", &v)?;
        }
        Ok(())
    }

    /// The `MNEMOSYNE_*` variables that are set but mean nothing to the service (likely typos).
    pub fn unknown_env(names: impl Iterator<Item = String>) -> Vec<String> {
        names
            .filter(|n| n.starts_with("MNEMOSYNE_"))
            .filter(|n| !ENVIRONMENT.iter().any(|(known, _)| known == n))
            .collect()
    }

    /// Checks ranges and consistency; the message names the setting.
    pub fn validate(&self) -> Result<(), String> {
        let url = self.upstream_url.trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
            return Err(format!(
                "upstream_url {:?} must be an http:// or https:// base URL such as {DEFAULT_UPSTREAM}",
                self.upstream_url
            ));
        }
        if url.ends_with("/chat/completions") {
            return Err(format!(
                "upstream_url {:?} must be the base URL; `/chat/completions` is appended to it",
                self.upstream_url
            ));
        }
        if self.upstream_timeout_secs == 0 || self.upstream_timeout_secs > 3600 {
            return Err("upstream_timeout_secs must be within [1, 3600]".into());
        }
        if self.upstream_connect_timeout_secs == 0 || self.upstream_connect_timeout_secs > 300 {
            return Err("upstream_connect_timeout_secs must be within [1, 300]".into());
        }
        if self.client_timeout_secs == 0 || self.client_timeout_secs > 3600 {
            return Err("client_timeout_secs must be within [1, 3600]".into());
        }
        if self.max_concurrent_requests == 0 || self.max_concurrent_requests > 1_000_000 {
            return Err("max_concurrent_requests must be within [1, 1000000]".into());
        }
        if self.policy.is_some() && self.policy_file.is_some() {
            return Err(
                "give the policy either inline ([policy]) or as policy_file, not both".into(),
            );
        }
        for (name, token) in [
            ("analyze_token", &self.analyze_token),
            ("admin_token", &self.admin_token),
        ] {
            if let Some(t) = token {
                if t.0.len() < 16 {
                    return Err(format!("{name} must be at least 16 characters"));
                }
            }
        }
        let c = &self.cache;
        if !(0.5..=1.0).contains(&c.similarity) {
            return Err("cache.similarity must be within [0.5, 1.0]".into());
        }
        if c.max_entries == 0 || c.ttl_secs == 0 {
            return Err("cache.max_entries and cache.ttl_secs must be positive".into());
        }
        let sessions = &self.sessions;
        sessions.policy.validate()?;
        if sessions.ttl_secs == 0
            || sessions.idle_half_life_secs == 0
            || sessions.key_half_life_secs == 0
        {
            return Err(
                "sessions.ttl_secs, sessions.idle_half_life_secs and sessions.key_half_life_secs must be positive".into(),
            );
        }
        if sessions.learn_blocks_above.is_nan() || sessions.learn_blocks_above < 0.5 {
            return Err(
                "sessions.learn_blocks_above must be at least 0.5 (above 1 turns it off)".into(),
            );
        }
        let a = sessions.attack_memory;
        if !((0.0..=1.0).contains(&a.min_familiarity)
            && (0.0..=2.0).contains(&a.min_margin)
            && (0.0..=2.0).contains(&a.adapter_min_probability))
        {
            return Err(
                "sessions.attack_memory: min_familiarity must be in [0, 1], min_margin and adapter_min_probability in [0, 2] (above 1 turns the adapter off)"
                    .into(),
            );
        }
        let mut ids = std::collections::BTreeSet::new();
        for key in &self.api_keys {
            if key.id.is_empty()
                || !key
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(format!(
                    "api_keys: id {:?} must be non-empty ASCII letters, digits, '-', '_' or '.'",
                    key.id
                ));
            }
            if !ids.insert(key.id.as_str()) {
                return Err(format!("api_keys: id {:?} appears twice", key.id));
            }
            if key.sha256.len() != 64 || !key.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "api_keys: {:?} needs sha256 = 64 hex digits (cloud-analyzer hash-key prints it)",
                    key.id
                ));
            }
        }
        if self.decision_ttl_secs == 0 || self.audit_max_len == 0 {
            return Err("decision_ttl_secs and audit_max_len must be positive".into());
        }
        if let Some(url) = &self.redis_url {
            let u = url.expose();
            if !(u.starts_with("redis://")
                || u.starts_with("rediss://")
                || u.starts_with("unix://"))
            {
                return Err("redis_url must start with redis://, rediss:// or unix://".into());
            }
        }
        if !self.listen.ip().is_loopback() {
            if self.api_keys.is_empty() {
                return Err(format!(
                    "refusing to listen on {} without client API keys (api_keys / MNEMOSYNE_API_KEYS): without keys the analyzer only listens on loopback",
                    self.listen
                ));
            }
            if self.analyze_token.is_none() {
                return Err(format!(
                    "refusing to listen on {} without MNEMOSYNE_ANALYZE_TOKEN: without a token the analyzer only listens on loopback",
                    self.listen
                ));
            }
        }
        Ok(())
    }

    /// The upstream base URL without a trailing slash.
    pub fn upstream_base(&self) -> &str {
        self.upstream_url.trim_end_matches('/')
    }

    /// [`Config::client_timeout_secs`].
    pub fn client_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.client_timeout_secs)
    }

    /// The token operator endpoints require.
    pub fn operator_token(&self) -> Option<&Secret> {
        self.admin_token.as_ref().or(self.analyze_token.as_ref())
    }
}

/// Parses `id=sha256hex,id2=sha256hex`.
fn parse_api_keys(text: &str) -> Result<Vec<ApiKeyConfig>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (id, hash) = pair.split_once('=').ok_or_else(|| {
                "MNEMOSYNE_API_KEYS must look like `id=sha256hex,id2=sha256hex`".to_string()
            })?;
            Ok(ApiKeyConfig {
                id: id.trim().to_string(),
                sha256: hash.trim().to_ascii_lowercase(),
                rate_limit_per_minute: None,
                tenant: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn defaults_are_valid_and_loopback() {
        let c = Config::default();
        c.validate().unwrap();
        assert!(c.listen.ip().is_loopback());
        assert_eq!(c.upstream_base(), DEFAULT_UPSTREAM);
    }

    #[test]
    fn env_overrides_file_and_groq_key_is_secret() {
        let mut c = Config::from_toml("upstream_url = \"http://a.example/v1\"").unwrap();
        c.apply_env(env(&[
            ("MNEMOSYNE_UPSTREAM_URL", "http://b.example/v1/"),
            ("GROQ_API_KEY", "gsk_secret_value"),
        ]))
        .unwrap();
        assert_eq!(c.upstream_base(), "http://b.example/v1");
        let shown = format!("{c:?}");
        assert!(!shown.contains("gsk_secret_value"), "{shown}");
        assert_eq!(c.upstream_api_key.unwrap().expose(), "gsk_secret_value");
    }

    #[test]
    fn bad_settings_name_themselves() {
        for (toml, needle) in [
            ("listen = \"nope\"", "listen"),
            ("upstream_url = \"ftp://x\"", "upstream_url"),
            (
                "upstream_url = \"https://x.example/v1/chat/completions\"",
                "base URL",
            ),
            ("[cache]\nsimilarity = 0.1", "cache.similarity"),
            ("analyze_token = \"short\"", "analyze_token"),
            ("[[api_keys]]\nid = \"a\"\nsha256 = \"xyz\"", "sha256"),
            (
                "[policy.thresholds]\nescalate = 0.9\nblock = 0.5",
                "thresholds",
            ),
            ("listen = \"0.0.0.0:8080\"", "API keys"),
            ("redis_url = \"http://x\"", "redis_url"),
            ("client_timeout_secs = 0", "client_timeout_secs"),
            ("max_concurrent_requests = 0", "max_concurrent_requests"),
            (
                "[sessions.attack_memory]\nadapter_min_probability = -0.5",
                "adapter_min_probability",
            ),
        ] {
            let err = Config::from_toml(toml)
                .and_then(|c| c.validate().map(|()| c))
                .unwrap_err();
            assert!(err.contains(needle), "{toml:?} → {err}");
        }
        let mut c = Config::default();
        assert!(c
            .apply_env(env(&[("MNEMOSYNE_STATE_FAIL_MODE", "sometimes")]))
            .unwrap_err()
            .contains("MNEMOSYNE_STATE_FAIL_MODE"));
    }

    #[test]
    fn api_keys_from_env_and_unknown_variables() {
        let mut c = Config::default();
        let h = "a".repeat(64);
        let list: &'static str = Box::leak(format!("team-a={h}, team-b={h}").into_boxed_str());
        let pairs: &'static [(&'static str, &'static str)] =
            Box::leak(vec![("MNEMOSYNE_API_KEYS", list)].into_boxed_slice());
        c.apply_env(env(pairs)).unwrap();
        assert_eq!(c.api_keys.len(), 2);
        c.validate().unwrap();
        let unknown = Config::unknown_env(
            ["MNEMOSYNE_LISTEN", "MNEMOSYNE_LISTNE", "PATH"]
                .iter()
                .map(|s| s.to_string()),
        );
        assert_eq!(unknown, vec!["MNEMOSYNE_LISTNE".to_string()]);
    }

    #[test]
    fn the_example_file_is_valid() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../deploy/analyzer.example.toml");
        let c = Config::from_file(&path).unwrap();
        c.validate().unwrap();
        assert_eq!(
            c.policy.unwrap().action(shared_core::Category::Pii),
            shared_core::policy::Action::Redact
        );
    }

    #[test]
    fn inline_policy_is_read() {
        let c =
            Config::from_toml("[policy]\nmode = \"monitor\"\n[policy.actions]\npii = \"redact\"")
                .unwrap();
        c.validate().unwrap();
        assert_eq!(c.policy.unwrap().mode, shared_core::policy::Mode::Monitor);
    }
}
