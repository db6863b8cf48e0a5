//! `cloud-analyzer`: Mnemosyne's cloud tier. Commands: `triage` (one request through the shared
//! core), `train` and `eval` (the learned detectors), `crossval` (the validation protocol), `serve` (the service).

#![forbid(unsafe_code)]

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Mnemosyne cloud analyzer.
#[derive(Debug, Parser)]
#[command(name = "cloud-analyzer", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Triage one request with the shared core and print the verdict as JSON.
    Triage(commands::triage::TriageArgs),
    /// Train the edge scorer and the cloud classifier from labelled JSONL.
    Train(commands::train::TrainArgs),
    /// Evaluate a tier (edge, cloud or cascade) on labelled JSONL.
    Eval(commands::eval::EvalArgs),
    /// Generate multi-turn conversations from labelled JSONL (seeded) for `eval-sessions`.
    GenSessions(commands::sessions::GenArgs),
    /// Run generated conversations through the session analysis, with the single-turn
    /// cascade as the baseline.
    EvalSessions(commands::sessions::EvalSessionsArgs),
    /// Leave-one-family-out cross-validation of both models and the cascade.
    Crossval(commands::crossval::CrossvalArgs),
    /// Run the analyzer service: the OpenAI-compatible firewall proxy and the escalation API.
    Serve(commands::serve::ServeArgs),
    /// Exit 0 when the service at `--url` answers `/healthz` with 200 (the container's health check).
    Healthcheck(commands::healthcheck::HealthcheckArgs),
    /// Print the SHA-256 of a client API key (read from stdin) for the `api_keys` setting.
    HashKey,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Triage(args) => commands::triage::run(&args),
        Command::Train(args) => commands::train::run(&args),
        Command::Eval(args) => commands::eval::run(&args),
        Command::Crossval(args) => commands::crossval::run(&args),
        Command::GenSessions(args) => commands::sessions::run_gen(&args),
        Command::EvalSessions(args) => commands::sessions::run_eval(&args),
        Command::Serve(args) => commands::serve::run(&args),
        Command::HashKey => commands::hash_key(),
        Command::Healthcheck(args) => commands::healthcheck::run(&args),
    }
}
