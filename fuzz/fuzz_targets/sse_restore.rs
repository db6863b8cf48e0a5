//! The SSE placeholder restorer on arbitrary upstream bytes split at arbitrary points: never
//! panics, and the same bytes give the same output however they are split.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shared_core::restore::StreamRestorer;

fn run(bytes: &[u8], cut: usize) -> Vec<u8> {
    let pairs = vec![
        ("[EMAIL_1]".to_string(), "ann@example.com".to_string()),
        ("[PHONE_1]".to_string(), "+1 555 0100".to_string()),
    ];
    let mut r = StreamRestorer::new(pairs);
    let cut = cut.min(bytes.len());
    let mut out = r.push(&bytes[..cut]);
    out.extend(r.push(&bytes[cut..]));
    out.extend(r.finish());
    out
}

fuzz_target!(|input: (u16, &[u8])| {
    let (cut, bytes) = input;
    let whole = run(bytes, bytes.len());
    let split = run(bytes, usize::from(cut));
    assert_eq!(whole, split);
});
