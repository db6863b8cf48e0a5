//! The normalizer on arbitrary text: never panics, and normalizing twice changes nothing.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let v = shared_core::views(text);
    assert_eq!(shared_core::normalize(&v.words), v.words);
    assert!(!v.compact().contains(' '));
});
