//! One JSON line per answered request on standard output (`access_log = true`, the default):
//! when, which request id, method, path, status, the firewall's verdict, score and categories,
//! and the time to the answer's headers. Never a body, a query string, a header value other
//! than the firewall's own, or a key. Health, readiness and metrics requests are not logged.
//! A thread writes the queued lines in batches, so a request never waits on standard output.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{json, Value};
use shared_core::contract::{HEADER_CATEGORIES, HEADER_REQUEST_ID, HEADER_SCORE, HEADER_VERDICT};

use super::{Service, PROBES};
use crate::state::now_ms;

/// Longest path written (a client chooses it).
const MAX_LOGGED_PATH: usize = 256;

/// The layer.
pub async fn log_request(State(s): State<Arc<Service>>, request: Request, next: Next) -> Response {
    if !s.config.access_log || PROBES.contains(&request.uri().path()) {
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
    if !enqueue(line) {
        s.metrics.access_log_dropped.inc();
    }
    response
}

/// Lines waiting for standard output before new ones are dropped.
const QUEUED_LINES: usize = 16 * 1024;

/// How often the writer thread writes what has queued up (one write per batch).
const WRITE_EVERY: Duration = Duration::from_millis(50);

/// Lines not yet written; a request only appends here (no wake-up, no system call).
static QUEUE: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Lines taken from the queue and being written.
static WRITING: AtomicUsize = AtomicUsize::new(0);

/// Queues a line (false: the queue is full, the line is dropped). A slow or stuck reader of
/// standard output costs lines, never a request's time.
fn enqueue(line: String) -> bool {
    start_writer();
    let mut queue = QUEUE.lock().unwrap_or_else(PoisonError::into_inner);
    if queue.len() >= QUEUED_LINES {
        return false;
    }
    queue.push(line);
    true
}

/// Starts, once, the thread that writes the queued lines every [`WRITE_EVERY`].
fn start_writer() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let spawned = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(|| loop {
                std::thread::sleep(WRITE_EVERY);
                write_queued();
            });
        if let Err(e) = spawned {
            eprintln!("cloud-analyzer: access log: cannot start its thread ({e}); lines will be dropped once the queue is full");
        }
    });
}

/// Writes what has queued up in one write (so lines never interleave); a closed standard
/// output costs the lines.
fn write_queued() {
    let batch = {
        let mut queue = QUEUE.lock().unwrap_or_else(PoisonError::into_inner);
        WRITING.store(queue.len(), Ordering::Release);
        std::mem::take(&mut *queue)
    };
    if !batch.is_empty() {
        let mut out = String::with_capacity(batch.iter().map(|l| l.len() + 1).sum());
        for line in &batch {
            out.push_str(line);
            out.push('\n');
        }
        let _ = std::io::stdout().lock().write_all(out.as_bytes());
    }
    WRITING.store(0, Ordering::Release);
}

/// Waits (at most `limit`) until the queued lines are written: the server's last step.
pub async fn flush(limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let queued = QUEUE.lock().unwrap_or_else(PoisonError::into_inner).len();
        if queued == 0 && WRITING.load(Ordering::Acquire) == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
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
