//! The SSE placeholder restorer on arbitrary upstream bytes split at arbitrary points: never
//! panics, and the same bytes give the same output however they are split. The same input is
//! also read as the deltas of a Responses stream (pieces separated by `|`), whose restored
//! deltas must add up to the restored text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shared_core::restore::{restore_text, StreamRestorer};

fn pairs() -> Vec<(String, String)> {
    vec![
        ("[EMAIL_1]".to_string(), "ann@example.com".to_string()),
        ("[PHONE_1]".to_string(), "+1 555 0100".to_string()),
    ]
}

fn run(bytes: &[u8], cut: usize) -> Vec<u8> {
    let mut r = StreamRestorer::new(pairs());
    let cut = cut.min(bytes.len());
    let mut out = r.push(&bytes[..cut]);
    out.extend(r.push(&bytes[cut..]));
    out.extend(r.finish());
    out
}

/// A Responses stream with one `response.output_text.delta` event per piece.
fn responses_stream(pieces: &[&str]) -> Vec<u8> {
    let mut out = String::new();
    for piece in pieces {
        let event = serde_json::json!({"type": "response.output_text.delta",
            "output_index": 0, "content_index": 0, "delta": piece});
        out.push_str(&format!(
            "event: response.output_text.delta\ndata: {event}\n\n"
        ));
    }
    out.push_str("event: response.completed\ndata: {\"type\":\"response.completed\"}\n\n");
    out.into_bytes()
}

fn deltas_of(sse: &[u8]) -> String {
    let text = String::from_utf8_lossy(sse);
    let mut deltas = String::new();
    for data in text.lines().filter_map(|l| l.strip_prefix("data: ")) {
        let event: serde_json::Value =
            serde_json::from_str(data).expect("the restorer writes JSON");
        if let Some(d) = event["delta"].as_str() {
            deltas.push_str(d);
        }
    }
    deltas
}

fuzz_target!(|input: (u16, &[u8])| {
    let (cut, bytes) = input;
    let whole = run(bytes, bytes.len());
    let split = run(bytes, usize::from(cut));
    assert_eq!(whole, split);

    let text = String::from_utf8_lossy(bytes);
    let pieces: Vec<&str> = text.split('|').collect();
    let sse = responses_stream(&pieces);
    let restored = run(&sse, usize::from(cut));
    assert_eq!(
        deltas_of(&restored),
        restore_text(&pieces.concat(), &pairs())
    );
});
