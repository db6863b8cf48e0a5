//! `cloud-analyzer triage`: one request in (stdin or `--text`), one verdict out (stdout).
//!
//! Exit code 0 whatever the verdict; 2 when the input or the policy is unusable, with the
//! reason on stderr.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use shared_core::{Engine, Policy, Verdict};

/// Largest stdin read; the policy's body cap applies on top.
const MAX_STDIN: u64 = 64 * 1024 * 1024;

/// Arguments of `triage`.
#[derive(Debug, Args)]
pub struct TriageArgs {
    /// Triage this text as a single user message instead of reading a request body from stdin.
    #[arg(long)]
    text: Option<String>,
    /// A JSON policy file (defaults apply to anything it leaves out).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Pretty-print the verdict.
    #[arg(long)]
    pretty: bool,
}

/// Runs the command.
pub fn run(args: &TriageArgs) -> ExitCode {
    crate::commands::finish("triage", triage(args))
}

fn triage(args: &TriageArgs) -> Result<String, String> {
    let policy = match &args.policy {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read policy {}: {e}", path.display()))?;
            Policy::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Policy::default(),
    };
    let engine = Engine::new(policy).map_err(|e| e.to_string())?;
    let verdict = match &args.text {
        Some(text) => engine
            .triage_text(text)
            .map_err(|e| format!("unusable text ({}): {e}", e.code()))?,
        None => {
            let mut body = Vec::new();
            std::io::stdin()
                .take(MAX_STDIN)
                .read_to_end(&mut body)
                .map_err(|e| format!("cannot read stdin: {e}"))?;
            engine
                .triage_body(&body)
                .map_err(|e| format!("unusable request ({}): {e}", e.code()))?
        }
    };
    render(&verdict, args.pretty)
}

fn render(verdict: &Verdict, pretty: bool) -> Result<String, String> {
    let mut value = serde_json::to_value(verdict).map_err(|e| e.to_string())?;
    if let (Some(body), Some(map)) = (&verdict.redacted_body, value.as_object_mut()) {
        map.insert(
            "redacted_body".into(),
            serde_json::Value::String(body.clone()),
        );
    }
    let out = if pretty {
        serde_json::to_string_pretty(&value)
    } else {
        serde_json::to_string(&value)
    };
    out.map_err(|e| e.to_string())
}
