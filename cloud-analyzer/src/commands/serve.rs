//! `cloud-analyzer serve`: the analyzer's HTTP service (health, readiness, escalation API).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use cloud_analyzer::learn::Backend;
use cloud_analyzer::server::{router, Analyzer};

use crate::commands::eval::load_models;

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "MNEMOSYNE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Shared token the edge filters present on `/v1/analyze` (`Authorization: Bearer …`).
    /// Without one the analyzer only listens on a loopback address.
    #[arg(long, env = "MNEMOSYNE_ANALYZE_TOKEN", hide_env_values = true)]
    analyze_token: Option<String>,
    /// Models from `train --out` instead of the built-in ones.
    #[arg(long, env = "MNEMOSYNE_MODELS")]
    models: Option<PathBuf>,
    /// A JSON policy file.
    #[arg(long, env = "MNEMOSYNE_POLICY")]
    policy: Option<PathBuf>,
    /// Burn backend.
    #[arg(long, value_enum, default_value_t = Backend::default_backend())]
    backend: Backend,
}

/// Runs the command.
pub fn run(args: &ServeArgs) -> ExitCode {
    crate::commands::finish("serve", serve(args).map(|()| String::new()))
}

fn serve(args: &ServeArgs) -> Result<(), String> {
    let token = args.analyze_token.clone().filter(|t| !t.is_empty());
    if token.is_none() && !args.listen.ip().is_loopback() {
        return Err(format!(
            "refusing to listen on {} without MNEMOSYNE_ANALYZE_TOKEN: without a token the analyzer only listens on loopback",
            args.listen
        ));
    }
    let (engine, cloud) = load_models(args.models.as_ref(), args.policy.as_ref(), args.backend)?;
    let analyzer = Arc::new(Analyzer::new(engine, cloud, token.clone())?);
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        eprintln!(
            "cloud-analyzer listening on http://{local} (analyze token {}; {})",
            if token.is_some() {
                "required"
            } else {
                "not set: loopback only"
            },
            if args.models.is_some() {
                "models from --models"
            } else {
                "built-in models"
            }
        );
        axum::serve(listener, router(analyzer))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| format!("server error: {e}"))
    })
}

/// Resolves on Ctrl-C or SIGTERM (what `podman stop` and Kubernetes send).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
