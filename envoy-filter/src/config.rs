//! The filter's plugin configuration (JSON in `plugin_config.configuration`), read once in
//! `on_configure` and shared by every request.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::Deserialize;
use shared_core::host::{self, FailMode, DEFAULT_ROUTES};
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
    /// Guarded paths: exact, a prefix ending in `*`, or a suffix starting with `*/`
    /// (default: `*/chat/completions`, `*/completions`, `*/responses`).
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
        if config.routes.is_empty() || !config.routes.iter().all(|r| host::route_is_valid(r)) {
            return Err(
                "configuration: routes must be non-empty paths starting with '/' (exact, or a prefix ending in '*') or suffixes starting with '*/'"
                    .into(),
            );
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
            (r#"{"routes":["*/"]}"#, "routes"),
            (r#"{"routes":["v1/chat/completions"]}"#, "routes"),
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

    /// The plugin configuration in the shipped `deploy/envoy.yaml` is one the filter accepts
    /// (Envoy's `--mode validate` does not run the filter's `on_configure`).
    #[test]
    fn the_shipped_envoy_yaml_configuration_is_accepted() {
        let yaml = include_str!("../deploy/envoy.yaml");
        let mut lines = yaml
            .lines()
            .skip_while(|l| !l.trim_end().ends_with("value: |"));
        let header = lines
            .next()
            .expect("a `value: |` block in deploy/envoy.yaml");
        let indent = header.len() - header.trim_start().len();
        let json: alloc::string::String = lines
            .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
            .collect::<Vec<_>>()
            .join("\n");
        let c = FilterConfig::from_json(json.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.routes, default_routes());
        assert!(c.analyzer.is_some());
        assert_eq!(c.fail_mode, FailMode::Closed);
    }

    #[test]
    fn monitor_flag_sets_policy_mode() {
        let c = FilterConfig::from_json(br#"{"monitor":true,"analyzer":{"cluster":"a"}}"#).unwrap();
        assert_eq!(c.policy.mode, Mode::Monitor);
        assert_eq!(c.analyzer.unwrap().path, "/v1/analyze");
    }

    mod properties {
        use super::*;
        use alloc::format;
        use proptest::prelude::*;

        proptest! {
            /// Whatever bytes Envoy hands over, parsing answers: a configuration that
            /// passed every check, or an error that says it is the configuration.
            #[test]
            fn any_bytes_give_a_checked_config_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                match FilterConfig::from_json(&bytes) {
                    Ok(c) => {
                        prop_assert!(!c.routes.is_empty() && c.routes.iter().all(|r| shared_core::host::route_is_valid(r)));
                        prop_assert!(c.policy.validate().is_ok());
                        if let Some(a) = &c.analyzer {
                            prop_assert!(!a.cluster.is_empty() && a.path.starts_with('/'));
                            prop_assert!((1..=60_000).contains(&a.timeout_ms));
                        }
                    }
                    Err(e) => prop_assert!(e.starts_with("configuration"), "{}", e),
                }
            }

            /// Well-formed settings are kept as given; a timeout out of range is refused.
            #[test]
            fn settings_round_trip_and_timeouts_are_bounded(
                route in "/[a-z0-9/*._-]{0,24}",
                cluster in "[a-z][a-z0-9_.|-]{0,30}",
                timeout in 0u64..120_000,
                open in any::<bool>(),
                hold in any::<bool>(),
            ) {
                let json = format!(
                    r#"{{"routes":["{route}"],"analyzer":{{"cluster":"{cluster}","timeout_ms":{timeout}}},"fail_mode":"{}","hold_headers":{hold}}}"#,
                    if open { "open" } else { "closed" },
                );
                let parsed = FilterConfig::from_json(json.as_bytes());
                if (1..=60_000).contains(&timeout) {
                    let c = parsed.map_err(TestCaseError::fail)?;
                    prop_assert_eq!(&c.routes, &alloc::vec![route]);
                    let a = c.analyzer.expect("analyzer");
                    prop_assert_eq!(a.cluster, cluster);
                    prop_assert_eq!(a.timeout_ms, timeout);
                    prop_assert_eq!(c.fail_mode, if open { FailMode::Open } else { FailMode::Closed });
                    prop_assert_eq!(c.hold_headers, hold);
                } else {
                    let e = parsed.expect_err("timeout out of range");
                    prop_assert!(e.contains("timeout_ms"), "{}", e);
                }
            }

            /// Deep nesting and huge numbers are errors, not crashes.
            #[test]
            fn hostile_json_is_an_error(depth in 1usize..3000, key in "[a-z_]{1,12}") {
                let nested = format!(r#"{{"{key}":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
                prop_assert!(FilterConfig::from_json(nested.as_bytes()).is_err());
                // 10^k for k up to 39: in range up to 10^4, refused past it — also past u64.
                let zeros = depth % 40;
                let big = format!(r#"{{"analyzer":{{"cluster":"a","timeout_ms":1{}}}}}"#, "0".repeat(zeros));
                let parsed = FilterConfig::from_json(big.as_bytes());
                prop_assert_eq!(parsed.is_ok(), zeros <= 4, "{:?}", parsed.map(|c| c.analyzer));
            }
        }
    }
}
