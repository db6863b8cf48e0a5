//! `cloud-analyzer healthcheck`: a dependency-free HTTP probe for container images that have no
//! shell or curl (the analyzer's image is `FROM scratch`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

/// Arguments of `healthcheck`.
#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// Address of the service.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Path to probe.
    #[arg(long, default_value = "/healthz")]
    path: String,
}

/// Runs the command.
pub fn run(args: &HealthcheckArgs) -> ExitCode {
    crate::commands::finish("healthcheck", probe(args))
}

fn probe(args: &HealthcheckArgs) -> Result<String, String> {
    let timeout = Duration::from_secs(3);
    let mut stream = TcpStream::connect_timeout(&args.addr, timeout)
        .map_err(|e| format!("cannot connect to {}: {e}", args.addr))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        args.path, args.addr
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).map_err(|e| e.to_string())?;
    let line = String::from_utf8_lossy(&head[..n]);
    let status = line.split_whitespace().nth(1).unwrap_or("");
    if status == "200" {
        Ok(String::new())
    } else {
        Err(format!("{}{} answered {status:?}", args.addr, args.path))
    }
}
