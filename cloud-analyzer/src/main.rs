//! `cloud-analyzer`: Mnemosyne's cloud tier. Today it offers `triage`; the service (`serve`) and
//! the model commands (`train`, `eval`) arrive with their issues.

#![forbid(unsafe_code)]

mod triage;

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
    Triage(triage::TriageArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Triage(args) => triage::run(&args),
    }
}
