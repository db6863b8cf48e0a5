//! One JSON line per answered request on standard output (`access_log = true`, the default):
//! when, which request id, method, path, status, the firewall's verdict, score and categories,
//! and the time to the answer's headers. Never a body, a query string, a header value other
//! than the firewall's own, or a key. Health, readiness and metrics requests are not logged.
//! A thread writes the lines, so a request never waits on standard output.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{json, Value};
use shared_core::contract::{HEADER_CATEGORIES, HEADER_REQUEST_ID, HEADER_SCORE, HEADER_VERDICT};

use super::Service;
use crate::state::now_ms;

/// Longest path written (a client chooses it).
const MAX_LOGGED_PATH: usize = 256;

/// Paths not logged.
const QUIET: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// The layer.
pub async fn log_request(State(s): State<Arc<Service>>, request: Request, next: Next) -> Response {
    if !s.config.access_log || QUIET.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let method = request.method().as_str().to_string();
    let path = logged_path(request.uri().path());
    let started = Instant::now();
    let response = next.run(request).await;
    let line = access_line(
        &method,
        &path,
        response.status().as_u16(),
        response.headers(),
        started.elapsed().as_secs_f64() * 1000.0,
    );
    PENDING.fetch_add(1, Ordering::AcqRel);
    if writer().try_send(line).is_err() {
        PENDING.fetch_sub(1, Ordering::AcqRel);
        s.metrics.access_log_dropped.inc();
    }
    response
}

/// Lines queued and not yet written.
static PENDING: AtomicUsize = AtomicUsize::new(0);

/// Waits (at most `limit`) until the queued lines are written: the server's last step.
pub async fn flush(limit: std::time::Duration) {
    let deadline = Instant::now() + limit;
    while PENDING.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Lines waiting for standard output before new ones are dropped.
const QUEUED_LINES: usize = 16 * 1024;

/// The queue to the thread that writes the lines: a request never waits on standard output
/// (a slow or stuck reader costs lines, counted in `mnemosyne_access_log_dropped_total`).
fn writer() -> &'static SyncSender<String> {
    static WRITER: OnceLock<SyncSender<String>> = OnceLock::new();
    WRITER.get_or_init(|| {
        let (sender, lines) = sync_channel::<String>(QUEUED_LINES);
        let spawned = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || {
                for line in lines {
                    // One write per line, so lines never interleave; a closed stdout costs
                    // the line.
                    let _ = writeln!(std::io::stdout().lock(), "{line}");
                    PENDING.fetch_sub(1, Ordering::AcqRel);
                }
            });
        if let Err(e) = spawned {
            // Without the thread the receiver is gone and every line counts as dropped.
            eprintln!("cloud-analyzer: access log off: cannot start its thread: {e}");
        }
        sender
    })
}

/// A path cut to [`MAX_LOGGED_PATH`] bytes at a character boundary.
fn logged_path(path: &str) -> String {
    let mut end = path.len().min(MAX_LOGGED_PATH);
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    path[..end].to_string()
}

/// The JSON line of one request.
fn access_line(method: &str, path: &str, status: u16, headers: &HeaderMap, ms: f64) -> String {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map_or(Value::Null, |v| Value::String(v.to_string()))
    };
    let score = headers
        .get(HEADER_SCORE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(Value::Null, Value::from);
    json!({
        "ts_ms": now_ms(),
        "request_id": text(HEADER_REQUEST_ID),
        "method": method,
        "path": path,
        "status": status,
        "verdict": text(HEADER_VERDICT),
        "score": score,
        "categories": text(HEADER_CATEGORIES),
        "ms": (ms * 1000.0).round() / 1000.0,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_line_has_the_firewalls_headers_and_nothing_else() {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER_REQUEST_ID, HeaderValue::from_static("mn-1"));
        headers.insert(HEADER_VERDICT, HeaderValue::from_static("block"));
        headers.insert(HEADER_SCORE, HeaderValue::from_static("0.9700"));
        headers.insert("set-cookie", HeaderValue::from_static("secret=1"));
        let line: Value = serde_json::from_str(&access_line(
            "POST",
            "/v1/chat/completions",
            403,
            &headers,
            1.5,
        ))
        .unwrap();
        assert_eq!(line["request_id"], "mn-1");
        assert_eq!(line["verdict"], "block");
        assert_eq!(line["score"], 0.97);
        assert_eq!(line["status"], 403);
        assert_eq!(line["categories"], Value::Null);
        assert!(!line.to_string().contains("secret"));
    }

    #[test]
    fn long_paths_are_cut_at_a_character_boundary() {
        let path = format!("/{}", "é".repeat(300));
        let cut = logged_path(&path);
        assert!(cut.len() <= MAX_LOGGED_PATH && path.starts_with(&cut));
    }
}
