//! The filter's plugin configuration (JSON in `plugin_config.configuration`), read once in
//! `on_configure` and shared by every request.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::Deserialize;
use shared_core::host::{FailMode, DEFAULT_ROUTES};
use shared_core::{Mode, Policy};

/// Where and how to escalate.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyzerConfig {
    /// Envoy cluster of the analyzer.
    pub cluster: String,
    /// `:authority` sent to it.
    #[serde(default = "default_authority")]
    pub authority: String,
    /// Path of the escalation API.
    #[serde(default = "default_path")]
    pub path: String,
    /// Bearer token (`MNEMOSYNE_ANALYZE_TOKEN` of the analyzer).
    #[serde(default)]
    pub token: Option<String>,
    /// How long to wait for its answer.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

fn default_authority() -> String {
    "mnemosyne-analyzer".into()
}
fn default_path() -> String {
    "/v1/analyze".into()
}
fn default_timeout() -> u64 {
    1000
}

/// The whole plugin configuration; every field optional except what escalation needs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// The shared-core policy (thresholds, actions, caps); defaults when absent.
    #[serde(default)]
    pub policy: Policy,
    /// Guarded paths (exact, or prefix ending in `*`).
    #[serde(default = "default_routes")]
    pub routes: Vec<String>,
    /// The analyzer; without it, what the edge would escalate is decided by `fail_mode`.
    #[serde(default)]
    pub analyzer: Option<AnalyzerConfig>,
    /// What happens when the analyzer cannot answer.
    #[serde(default)]
    pub fail_mode: FailMode,
    /// Annotate only, never block (same as `policy.mode = "monitor"`).
    #[serde(default)]
    pub monitor: bool,
    /// Tenant name sent to the analyzer.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Hold the request headers until the body is decided, so the upstream gets the
    /// `x-mnemosyne-*` headers and never sees a blocked request start. Needs Envoy's
    /// `allow_on_headers_stop_iteration: true` in the plugin config. `false` (for hosts that
    /// cannot set it, such as Istio's `WasmPlugin`): the headers go ahead without
    /// `content-length`, the body is still held and decided before any of it is sent.
    #[serde(default = "default_true")]
    pub hold_headers: bool,
}

fn default_true() -> bool {
    true
}

fn default_routes() -> Vec<String> {
    DEFAULT_ROUTES.iter().map(|r| r.to_string()).collect()
}

impl FilterConfig {
    /// Parses and validates; the error says what is wrong.
    pub fn from_json(bytes: &[u8]) -> Result<FilterConfig, String> {
        let text = if bytes.iter().all(u8::is_ascii_whitespace) {
            "{}".as_bytes()
        } else {
            bytes
        };
        // The error names the field (`fail_mode: unknown variant …`).
        let mut config: FilterConfig =
            serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(text))
                .map_err(|e| alloc::format!("configuration: {e}"))?;
        config
            .policy
            .validate()
            .map_err(|e| alloc::format!("configuration: policy: {e}"))?;
        if config.monitor {
            config.policy.mode = Mode::Monitor;
        }
        if config.routes.is_empty() || config.routes.iter().any(|r| !r.starts_with('/')) {
            return Err("configuration: routes must be non-empty paths starting with '/'".into());
        }
        if let Some(a) = &config.analyzer {
            if a.cluster.is_empty() {
                return Err("configuration: analyzer.cluster must not be empty".into());
            }
            if !(1..=60_000).contains(&a.timeout_ms) {
                return Err("configuration: analyzer.timeout_ms must be within [1, 60000]".into());
            }
            if !a.path.starts_with('/') {
                return Err("configuration: analyzer.path must start with '/'".into());
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_the_defaults() {
        let c = FilterConfig::from_json(b"").unwrap();
        assert_eq!(c.routes, default_routes());
        assert_eq!(c.fail_mode, FailMode::Closed);
        assert!(c.analyzer.is_none());
    }

    #[test]
    fn bad_configs_say_why() {
        for (bad, needle) in [
            (r#"{"fail_mode":"sometimes"}"#, "fail_mode"),
            (r#"{"routes":[]}"#, "routes"),
            (r#"{"analyzer":{"cluster":""}}"#, "cluster"),
            (
                r#"{"analyzer":{"cluster":"a","timeout_ms":0}}"#,
                "timeout_ms",
            ),
            (r#"{"policy":{"thresholds":{"block":2}}}"#, "policy"),
            (r#"{"polcy":{}}"#, "polcy"),
            ("not json", "configuration"),
        ] {
            let e = FilterConfig::from_json(bad.as_bytes()).unwrap_err();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }

    #[test]
    fn monitor_flag_sets_policy_mode() {
        let c = FilterConfig::from_json(br#"{"monitor":true,"analyzer":{"cluster":"a"}}"#).unwrap();
        assert_eq!(c.policy.mode, Mode::Monitor);
        assert_eq!(c.analyzer.unwrap().path, "/v1/analyze");
    }
}
