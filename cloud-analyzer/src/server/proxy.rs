//! The OpenAI-compatible firewall proxy: `POST /v1/chat/completions`, `/v1/responses` and
//! `/v1/completions` (each also without `/v1`) decided by the cascade and forwarded to the upstream with the server's key, streamed responses
//! passed through as they arrive; `GET /v1/models` passed through.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, MethodRouter};
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use serde_json::{json, Value};
use shared_core::{Decision, Request};

use super::{contract_headers, core_error, error, read_body, request_id, Client, Service};
use crate::config::Config;
use shared_core::restore::{restore_json, StreamRestorer};

/// Largest non-streamed upstream body the proxy reads whole (to restore placeholders or wrap an
/// error); streamed bodies are never held.
const MAX_UPSTREAM_BODY: usize = 32 * 1024 * 1024;

/// Header a client may use to name its session (else the body's `user`, else the API key).
pub const HEADER_SESSION: &str = "x-mnemosyne-session";

/// The upstream HTTP client: rustls with the bundled Mozilla roots (no system libraries, so the
/// static container binary works), connect and idle-read timeouts from the config.
pub(super) fn http_client(config: &Config) -> Result<reqwest::Client, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS setup: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(Duration::from_secs(config.upstream_connect_timeout_secs))
        .read_timeout(Duration::from_secs(config.upstream_timeout_secs))
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// Authenticates the client and applies its rate limit.
async fn admit(
    s: &Service,
    headers: &HeaderMap,
    route: &str,
    id: &str,
) -> Result<Client, Response> {
    let Some(client) = s.client(headers) else {
        s.metrics.request(route, "unauthorized");
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "invalid_api_key",
            "Missing or incorrect API key for this Mnemosyne firewall.",
            id,
        ));
    };
    if client.rate_limit > 0 {
        match s.store.rate_limit(&client.id, client.rate_limit).await {
            Ok(d) if !d.allowed => {
                s.metrics.request(route, "rate_limited");
                let mut r = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limit_error",
                    "rate_limit_exceeded",
                    &format!(
                        "Rate limit of {} requests per minute reached for key `{}`; retry in {} s.",
                        client.rate_limit, client.id, d.reset_secs
                    ),
                    id,
                );
                if let Ok(v) = HeaderValue::from_str(&d.reset_secs.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return Err(r);
            }
            Ok(_) => {}
            Err(e) => {
                if let Some(r) = s.state_failure(&e, id) {
                    return Err(r);
                }
            }
        }
    }
    Ok(client)
}

/// The session a request belongs to: the header, else the body's `user`, else the API key.
fn session_of(headers: &HeaderMap, request: &Request, client: &Client) -> Option<String> {
    let from_header = headers
        .get(HEADER_SESSION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let from_body = || {
        request
            .body()
            .and_then(|b| b.get("user"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let keyed = || (client.id != "anonymous").then(|| client.id.clone());
    from_header
        .or_else(from_body)
        .or_else(keyed)
        .filter(|s| super::valid_id(s))
}

/// The `POST` handler of a text-generation endpoint: [`generation`] with its metrics label
/// (`chat`, `responses`, `completions`) and upstream path (`chat/completions`, …).
pub(super) fn generation_route(
    route: &'static str,
    endpoint: &'static str,
) -> MethodRouter<Arc<Service>> {
    post(
        move |State(s): State<Arc<Service>>, headers: HeaderMap, body: Body| {
            generation(s, headers, body, route, endpoint)
        },
    )
}

/// One text-generation request: triaged and decided by the cascade, then forwarded to
/// `{upstream}/{endpoint}` with the server's key (`route` names it in metrics and the audit).
async fn generation(
    s: Arc<Service>,
    headers: HeaderMap,
    body: Body,
    route: &'static str,
    endpoint: &str,
) -> Response {
    let id = request_id();
    let client = match admit(&s, &headers, route, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let limits = s.engine.policy().limits;
    let bytes = match read_body(
        body,
        &headers,
        limits.max_body_bytes,
        s.config.client_timeout(),
        &id,
    )
    .await
    {
        Ok(b) => b,
        Err(r) => {
            s.metrics.request(route, "error");
            return r;
        }
    };
    let started = Instant::now();
    let parsed = match Request::parse(&bytes, &limits) {
        Ok(r) => r,
        Err(e) => {
            s.metrics.request(route, "error");
            return core_error(&e, &id);
        }
    };
    s.metrics.stage("parse", started);
    let session = session_of(&headers, &parsed, &client);
    let key = (client.id != "anonymous").then_some(client.id.as_str());
    let outcome = match s
        .decide(&parsed, &client.tenant, session.as_deref(), key, &id)
        .await
    {
        Ok(o) => o,
        Err(r) => return r,
    };
    if let Err(r) = s
        .record(route, &id, &client.tenant, session.as_deref(), &outcome)
        .await
    {
        s.metrics.request(route, "error");
        return r;
    }
    if outcome.decision == Decision::Block && super::sessions::held_for_approval(&outcome) {
        s.metrics.request(route, "approval_required");
        if let Err(r) = s
            .queue_review(&client.tenant, session.as_deref(), &id, &outcome)
            .await
        {
            return r;
        }
    } else if outcome.decision == Decision::Block {
        s.metrics.request(route, "block");
    }
    if let Some(stop) = super::sessions::session_stop(&outcome) {
        let mut r = super::error(
            StatusCode::FORBIDDEN,
            "permission_error",
            stop.code(),
            stop.message(),
            &id,
        );
        contract_headers(&mut r, Some(&outcome), &id);
        return r;
    }
    if outcome.decision == Decision::Block {
        let mut shown = outcome.edge.clone();
        shown.decision = Decision::Block;
        shown.score = outcome.score;
        let body = shared_core::contract::block_body(&shown, &id);
        let mut r = (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        contract_headers(&mut r, Some(&outcome), &id);
        return r;
    }
    s.metrics.request(route, "allow");
    let streaming = parsed
        .body()
        .and_then(|b| b.get("stream"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let forward = outcome
        .edge
        .redacted_body
        .clone()
        .map(Bytes::from)
        .unwrap_or(bytes);
    let url = format!("{}/{endpoint}", s.config.upstream_base());
    let mut request = s
        .http
        .post(url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(forward);
    if streaming {
        request = request.header(header::ACCEPT, "text/event-stream");
    }
    let restore = outcome.edge.restore.clone();
    let mut response = forward_to_upstream(&s, request, route, &id, restore).await;
    contract_headers(&mut response, Some(&outcome), &id);
    response
}

/// `GET /v1/models`: passed through with the server's key.
pub(super) async fn models(State(s): State<Arc<Service>>, headers: HeaderMap) -> Response {
    let id = request_id();
    let route = "models";
    if let Err(r) = admit(&s, &headers, route, &id).await {
        return r;
    }
    s.metrics.request(route, "allow");
    let url = format!("{}/models", s.config.upstream_base());
    let mut response = forward_to_upstream(&s, s.http.get(url), route, &id, Vec::new()).await;
    contract_headers(&mut response, None, &id);
    response
}

/// Sends `request` with the server's key and turns the upstream's answer into ours: success
/// bodies stream through (placeholders restored when `restore` is non-empty), errors keep the
/// OpenAI error shape, transport failures become `502`/`504`.
async fn forward_to_upstream(
    s: &Service,
    mut request: reqwest::RequestBuilder,
    route: &str,
    id: &str,
    restore: Vec<(String, String)>,
) -> Response {
    if let Some(key) = &s.config.upstream_api_key {
        request = request.bearer_auth(key.expose());
    }
    let started = Instant::now();
    let timeout = Duration::from_secs(s.config.upstream_timeout_secs);
    let sent = tokio::time::timeout(timeout, request.send()).await;
    s.metrics
        .upstream_seconds
        .with_label_values(&[route])
        .observe(started.elapsed().as_secs_f64());
    let upstream = match sent {
        Err(_) => return upstream_failure(s, "timeout", id),
        Ok(Err(e)) if e.is_timeout() => return upstream_failure(s, "timeout", id),
        Ok(Err(e)) if e.is_connect() => return upstream_failure(s, "unreachable", id),
        Ok(Err(e)) => {
            eprintln!("cloud-analyzer: upstream request failed: {e}");
            return upstream_failure(s, "failed", id);
        }
        Ok(Ok(r)) => r,
    };
    let status = upstream.status();
    s.metrics
        .upstream_responses
        .with_label_values(&[status.as_str()])
        .inc();
    let mut headers = HeaderMap::new();
    for (name, value) in upstream.headers() {
        if passed_through(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    let is_sse = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let code = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    if !status.is_success() {
        let body = match read_capped(upstream).await {
            Ok(b) => b,
            Err(_) => return upstream_failure(s, "failed", id),
        };
        return upstream_error(code, headers, &body, id);
    }
    if is_sse || restore.is_empty() {
        let relay = Relay {
            upstream: upstream.bytes_stream().boxed(),
            restorer: (!restore.is_empty()).then(|| StreamRestorer::new(restore)),
            sse: is_sse,
            done: false,
        };
        let mut r = Response::new(Body::from_stream(relay.into_stream()));
        *r.status_mut() = code;
        *r.headers_mut() = headers;
        return r;
    }
    // A whole JSON answer whose placeholders must be put back.
    let body = match read_capped(upstream).await {
        Ok(b) => b,
        Err(_) => return upstream_failure(s, "failed", id),
    };
    let body = match serde_json::from_slice::<Value>(&body) {
        Ok(mut v) => {
            restore_json(&mut v, &restore);
            Bytes::from(v.to_string())
        }
        Err(_) => body,
    };
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = code;
    *r.headers_mut() = headers;
    r
}

/// Upstream response headers worth passing on (content type, rate-limit and request ids);
/// hop-by-hop and length headers are the server's own business.
fn passed_through(name: &HeaderName) -> bool {
    let n = name.as_str();
    n == "content-type"
        || n == "retry-after"
        || n == "cache-control"
        || n == "x-request-id"
        || n == "openai-processing-ms"
        || n == "openai-model"
        || n.starts_with("x-ratelimit-")
        || n.starts_with("x-groq-")
}

async fn read_capped(response: reqwest::Response) -> Result<Bytes, ()> {
    let mut stream = response.bytes_stream();
    let mut out = bytes::BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ())?;
        if out.len() + chunk.len() > MAX_UPSTREAM_BODY {
            return Err(());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

fn upstream_failure(s: &Service, kind: &str, id: &str) -> Response {
    s.metrics
        .upstream_responses
        .with_label_values(&[kind])
        .inc();
    match kind {
        "timeout" => error(
            StatusCode::GATEWAY_TIMEOUT,
            "upstream_error",
            "upstream_timeout",
            "The upstream LLM did not answer in time.",
            id,
        ),
        "unreachable" => error(
            StatusCode::BAD_GATEWAY,
            "upstream_error",
            "upstream_unreachable",
            "The upstream LLM could not be reached.",
            id,
        ),
        _ => error(
            StatusCode::BAD_GATEWAY,
            "upstream_error",
            "upstream_error",
            "The upstream LLM's answer could not be read.",
            id,
        ),
    }
}

/// An upstream error with its status kept (429 with its `retry-after`); a body already in the
/// OpenAI error shape passes unchanged, anything else is wrapped in it.
fn upstream_error(status: StatusCode, mut headers: HeaderMap, body: &Bytes, id: &str) -> Response {
    let shaped = serde_json::from_slice::<Value>(body)
        .ok()
        .filter(|v| v.get("error").is_some_and(Value::is_object));
    let body = match shaped {
        Some(v) => v.to_string(),
        None => {
            let text = String::from_utf8_lossy(body);
            let snippet: String = text.chars().take(300).collect();
            json!({"error": {
                "message": format!("The upstream LLM answered {}: {}", status.as_u16(), snippet.trim()),
                "type": "upstream_error",
                "code": "upstream_error",
                "param": null,
            }, "mnemosyne": {"request_id": id}})
            .to_string()
        }
    };
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    r
}

/// Relays an upstream body chunk by chunk, restoring placeholders when asked. If the upstream
/// breaks off mid-stream, an SSE stream ends with an OpenAI-style error event (clients raise it);
/// any other body ends with an error so the client sees a truncated response, not a short one.
struct Relay {
    upstream: BoxStream<'static, reqwest::Result<Bytes>>,
    restorer: Option<StreamRestorer>,
    sse: bool,
    done: bool,
}

impl Relay {
    fn into_stream(self) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
        futures_util::stream::unfold(self, |mut relay| async move {
            if relay.done {
                return None;
            }
            loop {
                match relay.upstream.next().await {
                    Some(Ok(chunk)) => {
                        let out = match &mut relay.restorer {
                            Some(r) => Bytes::from(r.push(&chunk)),
                            None => chunk,
                        };
                        if !out.is_empty() {
                            return Some((Ok(out), relay));
                        }
                    }
                    Some(Err(e)) => {
                        relay.done = true;
                        eprintln!("cloud-analyzer: upstream stream broke off: {e}");
                        if !relay.sse {
                            return Some((Err(std::io::Error::other("upstream broke off")), relay));
                        }
                        let mut out = relay
                            .restorer
                            .as_mut()
                            .map(StreamRestorer::finish)
                            .unwrap_or_default();
                        let event = json!({"error": {"message": "The upstream LLM's stream broke off.", "type": "upstream_error", "code": "upstream_stream_interrupted", "param": null}});
                        out.extend_from_slice(format!("data: {event}\n\n").as_bytes());
                        return Some((Ok(Bytes::from(out)), relay));
                    }
                    None => {
                        relay.done = true;
                        let out = relay
                            .restorer
                            .as_mut()
                            .map(StreamRestorer::finish)
                            .unwrap_or_default();
                        return (!out.is_empty()).then(|| (Ok(Bytes::from(out)), relay));
                    }
                }
            }
        })
    }
}
