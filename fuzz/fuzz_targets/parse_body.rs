//! The request parser on arbitrary bytes: a typed error or a request, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shared_core::{Limits, Request};

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = Request::parse(data, &Limits::default()) {
        assert!(request.text_len() <= data.len());
    }
});
