//! Full triage on arbitrary bytes, as a body and as raw text: a verdict or a typed error.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shared_core::{Engine, Policy};

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let policy = Policy::from_json(r#"{"actions":{"pii":"redact"}}"#).expect("valid policy");
        Engine::new(policy).expect("engine builds")
    })
}

fuzz_target!(|data: &[u8]| {
    match engine().triage_body(data) {
        Ok(v) => assert!((0.0..=1.0).contains(&v.score)),
        Err(e) => assert!(matches!(e.http_status(), 400 | 413)),
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let v = engine().triage_text(text).expect("fuzz inputs are under the size cap");
        assert!((0.0..=1.0).contains(&v.score));
    }
});
