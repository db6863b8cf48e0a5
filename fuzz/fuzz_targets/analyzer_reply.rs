//! The edge hosts' reading of an analyzer answer (`/v1/analyze` response bytes and status):
//! never panics, and whatever the bytes, the step is a forward or a 403 — never an escalation.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shared_core::host::{escalation_step, AnalyzerReply, EdgeOpinion, FailMode, Step};

fuzz_target!(|input: (u16, bool, &[u8])| {
    let (status, open, body) = input;
    let mode = if open { FailMode::Open } else { FailMode::Closed };
    let edge = EdgeOpinion {
        score: 0.5,
        categories: Vec::new(),
    };
    let step = escalation_step(AnalyzerReply::Answered { status, body }, mode, None, "fuzz", &edge);
    match step {
        Step::Forward { headers, .. } => {
            // Header values only ever hold what the core wrote: no bytes of the answer's own.
            assert!(headers.iter().all(|(_, v)| v.bytes().all(|b| b.is_ascii_graphic())));
        }
        Step::Reject { status, headers, .. } => {
            assert_eq!(status, 403);
            assert!(headers.iter().all(|(_, v)| v.bytes().all(|b| b.is_ascii_graphic())));
        }
        Step::Escalate { .. } => panic!("an analyzer answer never escalates again"),
    }
});
