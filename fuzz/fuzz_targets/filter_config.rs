//! The Envoy filter's plugin configuration on arbitrary bytes: a checked configuration or a
//! configuration error, never a panic (a panic in `on_configure` would take the filter down).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    match envoy_filter::config::FilterConfig::from_json(bytes) {
        Ok(config) => {
            assert!(!config.routes.is_empty());
            assert!(config.policy.validate().is_ok());
        }
        Err(e) => assert!(e.starts_with("configuration")),
    }
});
