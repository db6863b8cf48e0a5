//! The Envoy filter's plugin configuration on arbitrary bytes: a checked configuration or a
//! configuration error, never a panic (a panic in `on_configure` would take the filter down).
//! The same bytes as a request path through the guarded-route check (every host runs it on the
//! client's path): an answer, never a panic, and a canonical path that reads the same again.
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
    let path = String::from_utf8_lossy(bytes);
    let canonical = shared_core::host::canonical_path(&path);
    assert!(canonical.starts_with('/') && !canonical.contains("//"));
    let routes: Vec<String> = shared_core::host::DEFAULT_ROUTES
        .iter()
        .map(|r| r.to_string())
        .collect();
    if !canonical.contains(['%', '?', '#']) {
        assert_eq!(
            shared_core::host::route_matches(&routes, &path),
            shared_core::host::route_matches(&routes, &canonical)
        );
    }
});
