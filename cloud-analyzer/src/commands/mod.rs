//! The binary's subcommands.

pub mod adapt;
pub mod crossval;
pub mod eval;
pub mod healthcheck;
pub mod serve;
pub mod sessions;
pub mod train;
pub mod triage;

use std::path::PathBuf;

use cloud_analyzer::learn::data::{self, Item};

/// Writes a command's output to stdout. A closed pipe (`… | head`) is not an error worth a
/// panic: the output is simply dropped.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

/// Ends a command: its output (if any) on stdout and exit code 0, or its error on stderr and
/// exit code 2.
pub fn finish(command: &str, result: Result<String, String>) -> std::process::ExitCode {
    match result {
        Ok(out) => {
            if !out.is_empty() {
                emit(&out);
            }
            std::process::ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("cloud-analyzer {command}: {message}");
            std::process::ExitCode::from(2)
        }
    }
}

/// `hash-key`: reads one key from stdin (trailing newline ignored) and prints its SHA-256, the
/// form `api_keys` stores. The key itself is never a command-line argument (shell history).
pub fn hash_key() -> std::process::ExitCode {
    let mut key = String::new();
    let result = std::io::stdin()
        .read_line(&mut key)
        .map_err(|e| format!("cannot read stdin: {e}"))
        .and_then(|_| {
            let key = key.trim_end_matches(['\n', '\r']);
            if key.len() < 16 {
                Err("a client API key should be at least 16 characters".into())
            } else {
                Ok(cloud_analyzer::state::sha256_hex(key.as_bytes()))
            }
        });
    finish("hash-key", result)
}

/// Loads and concatenates data files; every malformed line is reported.
pub fn load_data(paths: &[PathBuf]) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    for path in paths {
        match data::load(path) {
            Ok(mut v) => items.append(&mut v),
            Err(errors) => {
                let mut msg = format!("{}: {} problem(s)", path.display(), errors.len());
                for e in errors.iter().take(20) {
                    msg.push_str(&format!("\n  {e}"));
                }
                if errors.len() > 20 {
                    msg.push_str(&format!("\n  … and {} more", errors.len() - 20));
                }
                return Err(msg);
            }
        }
    }
    Ok(items)
}
