//! The analyzer's HTTP service: the OpenAI-compatible firewall proxy
//! (`/v1/chat/completions`, `/v1/models`), the escalation API for the edges (`/v1/analyze`),
//! operator endpoints (`/v1/feedback`, `/v1/audit`), and `/healthz`, `/readyz`, `/metrics`.

mod access_log;
mod admission;
mod decide;
mod listen;
pub mod metrics;
mod operator;
mod proxy;
pub mod sessions;
mod unread_body;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use shared_core::contract::{
    categories_header, HEADER_CATEGORIES, HEADER_MONITOR, HEADER_REQUEST_ID, HEADER_SCORE,
    HEADER_VERDICT,
};
use shared_core::{Engine, Error, Request};
use subtle::ConstantTimeEq;

use crate::config::{Config, Secret, StateFailMode};
use crate::learn::cloud::CloudClassifier;
use crate::learn::Featurizer;
use crate::memory::adapter::BenignReference;
use crate::state::{now_ms, AuditEvent, DecisionRecord, SessionRecord, StateError, StateStore};
pub use decide::Outcome;
pub use listen::serve_http;
use metrics::Metrics;

/// Probe and scrape paths: never refused for load, never in the access log.
const PROBES: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// A client API key as the server holds it.
struct ClientKey {
    id: String,
    sha256: [u8; 32],
    rate_limit: u32,
    tenant: String,
}

/// Who is calling the proxy.
#[derive(Debug, Clone)]
pub struct Client {
    /// Key id (`anonymous` without configured keys).
    pub id: String,
    /// Tenant whose cache and sessions the request uses.
    pub tenant: String,
    /// Requests per minute (0 = unlimited).
    pub rate_limit: u32,
}

/// Everything a request handler needs; built once at start-up.
pub struct Service {
    engine: Engine,
    /// Burn modules are `Send` but not `Sync`; inference takes ~0.1 ms, so a mutex is enough.
    cloud: Mutex<CloudClassifier>,
    cloud_thresholds: crate::learn::cloud::CloudThresholds,
    /// The session window classifier (reads several turns together).
    window: Mutex<CloudClassifier>,
    featurizer: Featurizer,
    config: Config,
    store: Arc<dyn StateStore>,
    http: reqwest::Client,
    keys: Vec<ClientKey>,
    /// Prometheus metrics.
    pub metrics: Metrics,
    sessions: sessions::Sessions,
    /// Permits for requests in flight (`max_concurrent_requests`).
    in_flight: Arc<tokio::sync::Semaphore>,
}

impl Service {
    /// Builds the service from its parts (config already validated).
    pub fn new(
        engine: Engine,
        cloud: CloudClassifier,
        window: CloudClassifier,
        config: Config,
        store: Arc<dyn StateStore>,
    ) -> Result<Service, String> {
        let keys = config
            .api_keys
            .iter()
            .map(|k| {
                let mut sha256 = [0u8; 32];
                for (i, byte) in sha256.iter_mut().enumerate() {
                    *byte = u8::from_str_radix(k.sha256.get(2 * i..2 * i + 2).unwrap_or("zz"), 16)
                        .map_err(|_| format!("api_keys: {:?} has a bad sha256", k.id))?;
                }
                Ok(ClientKey {
                    id: k.id.clone(),
                    sha256,
                    rate_limit: k
                        .rate_limit_per_minute
                        .unwrap_or(config.rate_limit_per_minute),
                    tenant: k.tenant.clone().unwrap_or_else(|| k.id.clone()),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let session_device = cloud.device().autodiff();
        let reference = match &config.models {
            Some(dir) => BenignReference::load(dir)?,
            None => Some(BenignReference::builtin()?),
        };
        match &reference {
            Some(r) if r.width() != cloud.adapter_width() => {
                return Err(format!(
                    "{}: the benign reference belongs to another cloud model (width {} ≠ {}); retrain or remove it",
                    crate::memory::adapter::REFERENCE_FILE,
                    r.width(),
                    cloud.adapter_width()
                ))
            }
            Some(_) => {}
            None => eprintln!(
                "cloud-analyzer: no {} next to the cloud model: the feedback adapter is off (`train` writes one)",
                crate::memory::adapter::REFERENCE_FILE
            ),
        }
        Ok(Service {
            cloud_thresholds: cloud.thresholds(),
            cloud: Mutex::new(cloud),
            window: Mutex::new(window),
            engine,
            featurizer: Featurizer::new().map_err(|e| e.to_string())?,
            http: proxy::http_client(&config)?,
            in_flight: Arc::new(tokio::sync::Semaphore::new(config.max_concurrent_requests)),
            config,
            store,
            keys,
            metrics: Metrics::new().map_err(|e| e.to_string())?,
            sessions: sessions::Sessions::new(session_device, reference),
        })
    }

    /// The configuration the service runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Checks `Authorization: Bearer <token>` against `expected` in constant time; no token
    /// configured means the endpoint is open (the server then only listens on loopback).
    fn token_ok(expected: Option<&Secret>, headers: &HeaderMap) -> bool {
        let Some(expected) = expected else {
            return true;
        };
        let presented = bearer(headers).unwrap_or("");
        // Compare hashes, so neither content nor length leaks through timing.
        let a = Sha256::digest(presented.as_bytes());
        let b = Sha256::digest(expected.expose().as_bytes());
        a.ct_eq(&b).into()
    }

    /// Identifies the client of the proxy by its API key (every key is compared, in constant time).
    fn client(&self, headers: &HeaderMap) -> Option<Client> {
        if self.keys.is_empty() {
            return Some(Client {
                id: "anonymous".into(),
                tenant: "default".into(),
                rate_limit: 0,
            });
        }
        let presented: [u8; 32] = Sha256::digest(bearer(headers).unwrap_or("").as_bytes()).into();
        let mut found = None;
        for key in &self.keys {
            if bool::from(key.sha256.ct_eq(&presented)) {
                found = Some(key);
            }
        }
        found.map(|k| Client {
            id: k.id.clone(),
            tenant: k.tenant.clone(),
            rate_limit: k.rate_limit,
        })
    }

    /// A state-store failure: counted, and in `closed` mode turned into a `503`.
    fn state_failure(&self, e: &StateError, id: &str) -> Option<Response> {
        self.metrics.state_errors.inc();
        eprintln!("cloud-analyzer: {e}");
        match self.config.state_fail_mode {
            StateFailMode::Degrade => None,
            StateFailMode::Closed => Some(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                "state_unavailable",
                "the analyzer's state store is unavailable",
                id,
            )),
        }
    }

    /// Records a decision for feedback and, for blocks and escalations, the audit log (awaited:
    /// an answer is only sent once its audit entry is stored, unless the store is down and the
    /// fail mode is `degrade`).
    async fn record(
        &self,
        route: &str,
        id: &str,
        tenant: &str,
        session: Option<&str>,
        outcome: &Outcome,
    ) -> Result<Option<SessionRecord>, Response> {
        let started = std::time::Instant::now();
        let record = DecisionRecord {
            request_id: id.to_string(),
            tenant: tenant.to_string(),
            session: session.map(str::to_string),
            route: route.to_string(),
            verdict: outcome.would.as_str().to_string(),
            score: outcome.score,
            edge_score: outcome.edge.score,
            categories: outcome.categories(),
            prompt_hash: outcome.prompt_hash.clone(),
            embedding: outcome.embedding.clone(),
            encoder: outcome.adapter_input.as_ref().map(|a| a.encoder.clone()),
            cloud_logit: outcome.adapter_input.as_ref().map(|a| a.logit),
            time_ms: now_ms(),
        };
        // Each write is attempted whatever happened to the others: the audit entry matters most
        // (in degrade mode the Redis store keeps it until Redis returns).
        let mut result = self
            .store
            .put_decision(&record, self.config.decision_ttl_secs)
            .await;
        let mut session_record = None;
        if let Some(session) = session {
            let turn = self
                .store
                .session_turn(
                    tenant,
                    session,
                    outcome.score,
                    outcome.would == shared_core::Decision::Block,
                )
                .await;
            match turn {
                Ok(r) => session_record = Some(r),
                Err(e) => result = result.and(Err(e)),
            }
        }
        if outcome.escalated || outcome.would == shared_core::Decision::Block {
            let event = AuditEvent {
                kind: if outcome.would == shared_core::Decision::Block {
                    "block".into()
                } else {
                    "escalation".into()
                },
                request_id: id.to_string(),
                tenant: tenant.to_string(),
                detail: json!({
                    "route": route,
                    "verdict": outcome.would.as_str(),
                    "enforced": outcome.decision.as_str(),
                    "score": four_decimals(outcome.score),
                    "edge_score": four_decimals(outcome.edge.score),
                    "cloud_probability": outcome.cloud_probability.map(four_decimals),
                    "lexical_probability": outcome.lexical_probability.map(four_decimals),
                    "cache": outcome.cache,
                    "categories": outcome.categories(),
                    "session": session,
                }),
                time_ms: record.time_ms,
            };
            let appended = self.store.audit_append(&event).await.map(|_| {
                self.metrics.audit_entries.inc();
            });
            result = result.and(appended);
        }
        self.metrics.stage("state", started);
        match result {
            Ok(()) => Ok(session_record),
            Err(e) => self.state_failure(&e, id).map_or(Ok(session_record), Err),
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// The router.
pub fn router(service: Arc<Service>) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(ready))
        .route("/metrics", get(render_metrics))
        .route("/v1/analyze", post(analyze));
    // Text generation, with and without `/v1`: chat completions, the Responses API
    // (placeholders restored in whole and streamed answers) and legacy completions; the first
    // name labels the route in metrics and the audit.
    for (route, endpoint) in [
        ("chat", "chat/completions"),
        ("responses", "responses"),
        ("completions", "completions"),
    ] {
        for path in [format!("/v1/{endpoint}"), format!("/{endpoint}")] {
            router = router.route(&path, proxy::generation_route(route, endpoint));
        }
    }
    router
        .route("/v1/models", get(proxy::models))
        .route("/models", get(proxy::models))
        .route("/v1/feedback", post(operator::feedback))
        .route("/v1/audit", get(operator::audit))
        .route("/v1/reviews", get(operator::reviews))
        .route("/v1/reviews/{request_id}", post(operator::decide_review))
        .route("/v1/decisions/{request_id}", get(operator::decision))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                "not_found",
                "no such endpoint",
                &request_id(),
            )
        })
        .method_not_allowed_fallback(|| async {
            error(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request_error",
                "method_not_allowed",
                "method not allowed on this endpoint",
                &request_id(),
            )
        })
        // Bodies are read by `read_body`, which answers 413 in the OpenAI error shape.
        .layer(DefaultBodyLimit::disable())
        // A body a handler answered without reading is read to its end (bounded) or the answer
        // closes the connection: keep-alive clients never reuse a connection being closed.
        .layer(axum::middleware::from_fn(unread_body::finish_unread_body))
        // Outside the body reading: a refused request costs none.
        .layer(axum::middleware::from_fn_with_state(
            service.clone(),
            admission::limit_requests_in_flight,
        ))
        .layer(axum::middleware::from_fn_with_state(
            service.clone(),
            access_log::log_request,
        ))
        .with_state(service)
}

async fn ready(State(s): State<Arc<Service>>) -> Response {
    let store = s.store.ping().await;
    let models = json!({"edge_scorer": s.engine.has_scorer(), "cloud_classifier": true});
    match store {
        Ok(()) => Json(json!({"status": "ready", "models": models, "state": s.store.kind()}))
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "models": models, "state": s.store.kind(), "error": e.to_string()})),
        )
            .into_response(),
    }
}

async fn render_metrics(State(s): State<Arc<Service>>) -> Response {
    (
        [("content-type", "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}

/// A fresh request id: time and a counter, unique per process.
pub fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("mn-{:x}-{:x}", t, N.fetch_add(1, Ordering::Relaxed))
}

/// An OpenAI-style error response.
pub fn error(status: StatusCode, kind: &str, code: &str, message: &str, id: &str) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "code": code, "param": null}, "mnemosyne": {"request_id": id}});
    (status, [(HEADER_REQUEST_ID, id.to_string())], Json(body)).into_response()
}

fn core_error(e: &Error, id: &str) -> Response {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let body = shared_core::contract::error_body(e, id);
    (
        status,
        [
            ("content-type", "application/json".to_string()),
            (HEADER_REQUEST_ID, id.to_string()),
        ],
        body,
    )
        .into_response()
}

/// Reads a request body up to `limit` bytes: `413` past it, `400` if the client breaks off.
async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
    timeout: Duration,
    id: &str,
) -> Result<Bytes, Response> {
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "body_too_large",
            &format!("request body exceeds the limit of {limit} bytes"),
            id,
        )
    };
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let read = async {
        let mut stream = body.into_data_stream();
        let mut out = bytes::BytesMut::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| {
                error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "body_unreadable",
                    "the request body could not be read",
                    id,
                )
            })?;
            if out.len() + chunk.len() > limit {
                return Err(too_large());
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    };
    let Ok(read) = tokio::time::timeout(timeout, read).await else {
        let mut late = error(
            StatusCode::REQUEST_TIMEOUT,
            "invalid_request_error",
            "request_timeout",
            &format!(
                "the request body did not arrive within {} s",
                timeout.as_secs()
            ),
            id,
        );
        // The rest of the body may still come; the connection cannot carry another request.
        late.headers_mut().insert(
            axum::http::header::CONNECTION,
            HeaderValue::from_static("close"),
        );
        return Err(late);
    };
    read
}

/// Adds the contract headers (`x-mnemosyne-verdict`, `-score`, `-request-id`, `-categories` when
/// a category fired, and `-monitor` in monitor mode) to a response.
fn contract_headers(response: &mut Response, outcome: Option<&Outcome>, id: &str) {
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(id) {
        h.insert(HEADER_REQUEST_ID, v);
    }
    if let Some(o) = outcome {
        if let Ok(v) = HeaderValue::from_str(o.decision.as_str()) {
            h.insert(HEADER_VERDICT, v);
        }
        if let Ok(v) = HeaderValue::from_str(&format!("{:.3}", o.score)) {
            h.insert(HEADER_SCORE, v);
        }
        if !o.edge.categories.is_empty() {
            if let Ok(v) = HeaderValue::from_str(&categories_header(&o.edge.categories)) {
                h.insert(HEADER_CATEGORIES, v);
            }
        }
        if o.monitor {
            if let Ok(v) = HeaderValue::from_str(o.would.as_str()) {
                h.insert(HEADER_MONITOR, v);
            }
        }
        if let Some(session) = &o.session {
            if session.action != crate::memory::session::Action::Allow {
                if let Ok(v) = HeaderValue::from_str(session.action.as_str()) {
                    h.insert(sessions::HEADER_SESSION_ACTION, v);
                }
            }
            if let Ok(v) = HeaderValue::from_str(&format!("{:.3}", session.risk)) {
                h.insert(sessions::HEADER_SESSION_RISK, v);
            }
        }
    }
}

/// `POST /v1/analyze` input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalyzeRequest {
    /// The (possibly redacted) chat-completions body the edge saw, as sent: parsed by the
    /// core's own parser (which refuses a repeated key), not first collapsed by serde_json.
    request: Box<serde_json::value::RawValue>,
    /// The edge's own verdict, for the audit trail.
    #[serde(default)]
    edge_verdict: Option<Value>,
    #[serde(default)]
    session: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
}

/// Longest tenant or session id accepted.
const MAX_ID_LEN: usize = 128;

fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID_LEN && s.chars().all(|c| !c.is_control())
}

/// The calling edge's request id: `x-request-id`, one value, a valid id of visible ASCII (it
/// goes back out in a header).
fn edge_request_id(headers: &HeaderMap) -> Option<String> {
    let mut values = headers.get_all("x-request-id").iter();
    let value = values.next()?.to_str().ok()?;
    let visible = value.bytes().all(|b| b.is_ascii_graphic());
    (values.next().is_none() && visible && valid_id(value)).then(|| value.to_string())
}

async fn analyze(State(s): State<Arc<Service>>, headers: HeaderMap, body: Body) -> Response {
    let mut id = request_id();
    let route = "analyze";
    if !Service::token_ok(s.config.analyze_token.as_ref(), &headers) {
        s.metrics.request(route, "unauthorized");
        return error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid_token",
            "missing or wrong analyzer token",
            &id,
        );
    }
    // Room for the JSON envelope around a body at the policy's cap.
    let limit = s
        .engine
        .policy()
        .limits
        .max_body_bytes
        .saturating_mul(2)
        .saturating_add(64 * 1024);
    let bytes = match read_body(body, &headers, limit, s.config.client_timeout(), &id).await {
        Ok(b) => b,
        Err(r) => {
            s.metrics.request(route, "error");
            return r;
        }
    };
    let input: AnalyzeRequest = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            s.metrics.request(route, "error");
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "invalid_json",
                &format!("body must be {{\"request\": <chat body>, …}}: {e}"),
                &id,
            );
        }
    };
    for (name, value) in [("tenant", &input.tenant), ("session", &input.session)] {
        if value.as_deref().is_some_and(|v| !valid_id(v)) {
            s.metrics.request(route, "error");
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "invalid_id",
                &format!("{name} must be 1–{MAX_ID_LEN} characters without control characters"),
                &id,
            );
        }
    }
    let _ = &input.edge_verdict;
    // The edge's request id (`x-request-id`, which the Envoy filter and the Worker send) names
    // the decision, so the id its client sees is the one `/v1/feedback` and `/v1/reviews` take.
    // Never one a decision already has: a client that can choose its edge id must not replace
    // another request's decision record (and so what an operator's feedback applies to).
    if let Some(edge_id) = edge_request_id(&headers) {
        match s.store.decision(&edge_id).await {
            Ok(None) => id = edge_id,
            Ok(Some(_)) => {}
            Err(_) => s.metrics.state_errors.inc(),
        }
    }
    let tenant = input.tenant.as_deref().unwrap_or("default");
    let raw = input.request.get();
    let started = std::time::Instant::now();
    let parsed = match Request::parse(raw.as_bytes(), &s.engine.policy().limits) {
        Ok(r) => r,
        Err(e) => {
            s.metrics.request(route, "error");
            return core_error(&e, &id);
        }
    };
    s.metrics.stage("parse", started);
    let outcome = match s
        .decide(&parsed, tenant, input.session.as_deref(), None, &id)
        .await
    {
        Ok(o) => o,
        Err(r) => return r,
    };
    if outcome.decision == shared_core::Decision::Block && sessions::held_for_approval(&outcome) {
        if let Err(r) = s
            .queue_review(tenant, input.session.as_deref(), &id, &outcome)
            .await
        {
            return r;
        }
    }
    let session = match s
        .record(route, &id, tenant, input.session.as_deref(), &outcome)
        .await
    {
        Ok(session) => session,
        Err(r) => return r,
    };
    s.metrics.request(route, outcome.decision.as_str());
    let body = json!({
        "verdict": outcome.decision.as_str(),
        "score": four_decimals(outcome.score),
        "categories": outcome.edge.categories,
        "reasons": outcome.edge.reasons,
        "monitor": outcome.monitor.then(|| outcome.would.as_str()),
        "signals": {
            "edge_verdict": outcome.edge_decision.as_str(),
            "edge_score": four_decimals(outcome.edge.score),
            "cloud_probability": outcome.cloud_probability.map(four_decimals),
            "lexical_probability": outcome.lexical_probability.map(four_decimals),
            "cache": outcome.cache,
            "adapted_probability": outcome
                .session
                .as_ref()
                .and_then(|a| a.adapted_probability)
                .map(four_decimals),
        },
        "session": session.map(|r| {
            let analysis = outcome.session.as_ref();
            json!({
                "turns": r.turns,
                "blocked": r.blocked,
                "max_score": four_decimals(r.max_score),
                "action": analysis.map(|a| a.action.as_str()),
                "risk": analysis.map(|a| four_decimals(a.risk)),
                "reasons": analysis.map(|a| a.reasons.clone()),
                "analyzed_turns": analysis.map(|a| a.turns),
                "memory_updates": analysis.map(|a| a.memory_updates),
            })
        }),
        "known_attack": outcome.session.as_ref().is_some_and(|a| a.known_attack),
        "request_id": id,
    });
    let mut response = (StatusCode::OK, Json(body)).into_response();
    contract_headers(&mut response, Some(&outcome), &id);
    response
}

/// A probability rounded to four decimals in f64, so JSON shows `0.9818`, not `0.98180001974`.
fn four_decimals(x: f32) -> f64 {
    (f64::from(x) * 10_000.0).round() / 10_000.0
}
