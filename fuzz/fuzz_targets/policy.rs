//! The policy parser on arbitrary text: a validated policy or a config error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(policy) = shared_core::Policy::from_json(text) {
        assert!(policy.validate().is_ok());
    }
});
