//! Property tests for what the hosts do with network bytes. Redaction restore in streams: however the upstream's bytes are split, the
//! client reads the same text, with every complete placeholder restored and nothing else changed;
//! arbitrary bytes never panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use serde_json::{json, Value};
use shared_core::restore::{restore_text, StreamRestorer};

fn pairs() -> Vec<(String, String)> {
    vec![
        ("[EMAIL_1]".into(), "ann@example.com".into()),
        ("[EMAIL_2]".into(), "bob@example.org".into()),
        ("[PHONE_1]".into(), "+49 30 1234567".into()),
    ]
}

/// Pieces of model output: words, brackets, placeholder fragments, non-ASCII.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[".to_string()),
        Just("]".to_string()),
        Just("[EMAIL_1]".to_string()),
        Just("[EM".to_string()),
        Just("AIL_".to_string()),
        Just("2]".to_string()),
        Just("[PHONE_1".to_string()),
        "[a-zA-Z ]{0,6}",
        "[äß日本🙂]{1,3}",
    ]
}

fn sse(contents: &[String]) -> String {
    let mut s = String::new();
    for (i, c) in contents.iter().enumerate() {
        let finish = if i + 1 == contents.len() {
            json!("stop")
        } else {
            Value::Null
        };
        let chunk = json!({"object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": c}, "finish_reason": finish}]});
        s.push_str(&format!("data: {chunk}\n\n"));
    }
    s.push_str("data: [DONE]\n\n");
    s
}

fn content_of(out: &str) -> String {
    out.split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .flat_map(|v| {
            v["choices"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|c| c["delta"]["content"].as_str().map(str::to_string))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn run(input: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut r = StreamRestorer::new(pairs());
    let mut out = Vec::new();
    let mut last = 0;
    let mut cuts = cuts.to_vec();
    cuts.sort_unstable();
    for c in cuts {
        let c = c.min(input.len());
        out.extend(r.push(&input[last..c]));
        last = c;
    }
    out.extend(r.push(&input[last..]));
    out.extend(r.finish());
    out
}

proptest! {
    #[test]
    fn any_split_reads_the_restored_text(
        contents in prop::collection::vec(prop::collection::vec(piece(), 1..4).prop_map(|v| v.concat()), 1..8),
        cuts in prop::collection::vec(0usize..4000, 0..6),
    ) {
        let input = sse(&contents);
        let out = String::from_utf8(run(input.as_bytes(), &cuts)).unwrap();
        prop_assert_eq!(content_of(&out), restore_text(&contents.concat(), &pairs()));
        prop_assert!(out.ends_with("data: [DONE]\n\n"));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000), cuts in prop::collection::vec(0usize..2000, 0..6)) {
        let out = run(&bytes, &cuts);
        // Restoring lengthens only by what placeholders expand to.
        prop_assert!(out.len() <= bytes.len() * 3 + 4096);
    }
}

mod analyzer_replies {
    use proptest::prelude::*;
    use shared_core::host::{escalation_step, AnalyzerReply, EdgeOpinion, FailMode, Step};

    fn headers_of(step: &Step) -> &[(&'static str, String)] {
        match step {
            Step::Forward { headers, .. } | Step::Reject { headers, .. } => headers,
            Step::Escalate { .. } => &[],
        }
    }

    proptest! {
        /// Whatever the analyzer (or something pretending to be it) answers, the edge forwards
        /// or blocks; fail-closed never forwards anything but a well-formed `allow`.
        #[test]
        fn any_reply_is_forward_or_block(status in 0u16..600, body in prop::collection::vec(any::<u8>(), 0..300), verdict in "(allow|block|escalate|ALLOW|)", score in -1.0f32..2.0, categories in prop::collection::vec("(pii|jailbreak|\\PC{0,12})", 0..4)) {
            let json = serde_json::json!({"verdict": verdict, "score": score, "categories": categories}).to_string();
            let edge = EdgeOpinion { score: 0.5, categories: Vec::new() };
            for bytes in [body.as_slice(), json.as_bytes()] {
                let step = escalation_step(AnalyzerReply::Answered { status, body: bytes }, FailMode::Closed, None, "r", &edge);
                // Whatever the analyzer names, every header value is safe to send
                // (no line breaks or non-ASCII smuggled into a header).
                for (_, value) in headers_of(&step) {
                    prop_assert!(value.bytes().all(|b| b.is_ascii_graphic()), "{value:?}");
                }
                let forwarded = matches!(step, Step::Forward { .. });
                let escalated = matches!(step, Step::Escalate { .. });
                prop_assert!(!escalated);
                if forwarded {
                    prop_assert!(status == 200 && bytes == json.as_bytes() && verdict == "allow" && (0.0..=1.0).contains(&score));
                }
            }
        }
    }
}
