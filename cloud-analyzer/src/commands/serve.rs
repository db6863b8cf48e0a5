//! `cloud-analyzer serve`: the analyzer service. Configuration: a TOML file (`--config`,
//! `MNEMOSYNE_CONFIG`), overridden by environment variables, overridden by these flags.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use cloud_analyzer::config::{Config, StateFailMode};
use cloud_analyzer::learn::Backend;
use cloud_analyzer::server::{router, serve_http, Service};
use cloud_analyzer::state::memory::MemoryStore;
use cloud_analyzer::state::redis::RedisStore;
use cloud_analyzer::state::StateStore;

use crate::commands::eval::load_engine_and_classifier;

/// Longest wait for one Redis command (or a connection) before it counts as a failure.
const REDIS_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

/// Arguments of `serve` (each overrides the config file and the environment).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML configuration file (default: `MNEMOSYNE_CONFIG`, else built-in defaults).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// OpenAI-compatible base URL of the LLM; `/chat/completions` is appended (default Groq's).
    #[arg(long)]
    upstream: Option<String>,
    /// Models from `train --out` instead of the built-in ones.
    #[arg(long)]
    models: Option<PathBuf>,
    /// A JSON policy file.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Burn backend.
    #[arg(long, value_enum)]
    backend: Option<Backend>,
    /// Print every environment variable the service reads, and exit.
    #[arg(long)]
    print_env: bool,
}

/// Runs the command.
pub fn run(args: &ServeArgs) -> ExitCode {
    if args.print_env {
        let lines: Vec<String> = cloud_analyzer::config::ENVIRONMENT
            .iter()
            .map(|(name, what)| format!("{name:34} {what}"))
            .collect();
        crate::commands::emit(&lines.join("\n"));
        return ExitCode::SUCCESS;
    }
    crate::commands::finish("serve", serve(args).map(|()| String::new()))
}

/// File, then environment, then flags; validated.
fn load_config(args: &ServeArgs) -> Result<Config, String> {
    let path = args
        .config
        .clone()
        .or_else(|| std::env::var_os("MNEMOSYNE_CONFIG").map(PathBuf::from));
    let mut config = match &path {
        Some(p) => Config::from_file(p)?,
        None => Config::default(),
    };
    config.apply_env(|name| std::env::var(name).ok())?;
    if let Some(v) = args.listen {
        config.listen = v;
    }
    if let Some(v) = &args.upstream {
        config.upstream_url = v.clone();
    }
    if let Some(v) = &args.models {
        config.models = Some(v.clone());
    }
    if let Some(v) = &args.policy {
        config.policy_file = Some(v.clone());
        config.policy = None;
    }
    if let Some(v) = args.backend {
        config.backend = v.to_possible_value().map(|p| p.get_name().to_string());
    }
    config.validate()?;
    Ok(config)
}

fn serve(args: &ServeArgs) -> Result<(), String> {
    let config = load_config(args).map_err(|e| format!("configuration error: {e}"))?;
    let unknown = Config::unknown_env(std::env::vars().map(|(k, _)| k));
    let backend = match &config.backend {
        Some(name) => Backend::from_str(name, true)
            .map_err(|_| format!("configuration error: backend {name:?} is not built in"))?,
        None => Backend::default_backend(),
    };
    let (engine, cloud) = load_engine_and_classifier(
        config.models.as_ref(),
        config.policy_file.as_ref(),
        config.policy.clone(),
        backend,
    )?;
    let window = crate::commands::eval::load_window_classifier(config.models.as_ref(), backend)?;
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start runtime: {e}"))?;
    runtime.block_on(async move {
        let mut redis = None;
        let store: Arc<dyn StateStore> = match &config.redis_url {
            Some(url) => {
                let store = Arc::new(
                    RedisStore::new(
                        url.expose(),
                        config.audit_max_len,
                        config.state_fail_mode == StateFailMode::Degrade,
                        REDIS_TIMEOUT,
                    )
                    .map_err(|e| format!("configuration error: REDIS_URL: {e}"))?,
                );
                redis = Some(Arc::clone(&store));
                store
            }
            None => Arc::new(MemoryStore::new(
                config.cache.max_entries,
                config.audit_max_len,
            )),
        };
        if let Err(e) = store.ping().await {
            eprintln!("cloud-analyzer: warning: state store not reachable yet ({e}); /readyz answers 503 until it is");
        }
        if let Some(redis) = &redis {
            // Writes audit entries that waited while Redis was away, without waiting for traffic.
            let redis = Arc::clone(redis);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    if redis.pending_audit() > 0 {
                        let _ = redis.ping().await;
                    }
                }
            });
        }
        let listen = config.listen;
        let summary = summary(&config, store.kind());
        let service = Arc::new(Service::new(engine, cloud, window, config, store)?);
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        eprintln!("cloud-analyzer listening on http://{local} ({summary})");
        for name in unknown {
            eprintln!("cloud-analyzer: warning: {name} is set but is not a setting (typo?); `serve --print-env` lists them");
        }
        let client_timeout = service.config().client_timeout();
        serve_http(listener, router(service), client_timeout, shutdown_signal()).await;
        if let Some(redis) = redis {
            let _ = redis.ping().await;
            let left = redis.pending_audit();
            if left > 0 {
                return Err(format!(
                    "{left} audit entries could not be written: Redis is still unreachable"
                ));
            }
        }
        Ok(())
    })
}

/// One line saying what is enforced, without any secret.
fn summary(c: &Config, state: &str) -> String {
    let mut parts = vec![format!("upstream {}", c.upstream_base())];
    parts.push(if c.upstream_api_key.is_some() {
        "upstream key set".into()
    } else {
        "no upstream key".into()
    });
    parts.push(if c.api_keys.is_empty() {
        "no client API keys: loopback only".into()
    } else {
        format!("{} client API key(s)", c.api_keys.len())
    });
    parts.push(if c.analyze_token.is_some() {
        "analyze token required".into()
    } else {
        "analyze token not set: loopback only".into()
    });
    parts.push(format!("state {state}"));
    parts.push(if c.models.is_some() {
        "models from --models".into()
    } else {
        "built-in models".into()
    });
    parts.join("; ")
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
