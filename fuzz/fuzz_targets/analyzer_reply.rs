//! The edge hosts' reading of an analyzer answer (`/v1/analyze` response bytes and status):
//! never panics, and whatever the bytes, the step is a forward or a 403 — never an escalation.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shared_core::host::{escalation_step, AnalyzerReply, FailMode, Step};

fuzz_target!(|input: (u16, bool, &[u8])| {
    let (status, open, body) = input;
    let mode = if open { FailMode::Open } else { FailMode::Closed };
    let step = escalation_step(AnalyzerReply::Answered { status, body }, mode, None, "fuzz", 0.5);
    match step {
        Step::Forward { .. } => {}
        Step::Reject { status, .. } => assert_eq!(status, 403),
        Step::Escalate { .. } => panic!("an analyzer answer never escalates again"),
    }
});
