//! The analyzer's HTTP service (first slice): `GET /healthz`, `GET /readyz` and the escalation
//! API `POST /v1/analyze`. The OpenAI-compatible proxy, Redis state and metrics come with the
//! rest of the analyzer issue.

use std::sync::{Arc, Mutex};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use shared_core::{Decision, Engine, Error, Request};
use subtle::ConstantTimeEq;

use crate::learn::cloud::CloudClassifier;
use crate::learn::evaluate::cascade_decision;
use crate::learn::Featurizer;

/// Everything a request handler needs; built once at start-up.
pub struct Analyzer {
    engine: Engine,
    /// Burn modules are `Send` but not `Sync`; inference takes ~0.1 ms, so a mutex is enough.
    cloud: Mutex<CloudClassifier>,
    featurizer: Featurizer,
    /// Shared token the edges present on `/v1/analyze` (`Authorization: Bearer …`).
    token: Option<String>,
}

impl Analyzer {
    /// Builds the analyzer from its parts.
    pub fn new(
        engine: Engine,
        cloud: CloudClassifier,
        token: Option<String>,
    ) -> Result<Analyzer, String> {
        Ok(Analyzer {
            engine,
            cloud: Mutex::new(cloud),
            featurizer: Featurizer::new().map_err(|e| e.to_string())?,
            token: token.filter(|t| !t.is_empty()),
        })
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(expected) = &self.token else {
            return true;
        };
        let presented = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        // Constant time in the token's content (length differences still return early).
        presented.as_bytes().ct_eq(expected.as_bytes()).into()
    }
}

/// The router.
pub fn router(analyzer: Arc<Analyzer>) -> Router {
    let limit = analyzer.engine.policy().limits.max_body_bytes;
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(ready))
        .route("/v1/analyze", post(analyze))
        // Room for the JSON envelope around a body at the policy's cap.
        .layer(DefaultBodyLimit::max(
            limit.saturating_mul(2).saturating_add(64 * 1024),
        ))
        .with_state(analyzer)
}

async fn ready(State(a): State<Arc<Analyzer>>) -> Json<Value> {
    Json(
        json!({"status": "ready", "models": {"edge_scorer": a.engine.has_scorer(), "cloud_classifier": true}}),
    )
}

/// `POST /v1/analyze` input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalyzeRequest {
    /// The (possibly redacted) chat-completions body the edge saw.
    request: Value,
    /// The edge's own verdict, for the audit trail.
    #[serde(default)]
    edge_verdict: Option<Value>,
    #[serde(default)]
    session: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
}

fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("mn-{:x}-{:x}", t, N.fetch_add(1, Ordering::Relaxed))
}

fn error(status: StatusCode, kind: &str, code: &str, message: &str, id: &str) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "code": code, "param": null}, "mnemosyne": {"request_id": id}});
    (
        status,
        [(shared_core::contract::HEADER_REQUEST_ID, id.to_string())],
        Json(body),
    )
        .into_response()
}

fn core_error(e: &Error, id: &str) -> Response {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let body = shared_core::contract::error_body(e, id);
    (
        status,
        [
            ("content-type", "application/json".to_string()),
            (shared_core::contract::HEADER_REQUEST_ID, id.to_string()),
        ],
        body,
    )
        .into_response()
}

async fn analyze(
    State(a): State<Arc<Analyzer>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let id = request_id();
    if !a.authorized(&headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid_token",
            "missing or wrong analyzer token",
            &id,
        );
    }
    let input: AnalyzeRequest = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "invalid_json",
                &format!("body must be {{\"request\": <chat body>, …}}: {e}"),
                &id,
            )
        }
    };
    // Accepted as part of the contract; session risk and the audit log (later issues) use them.
    let _ = (&input.edge_verdict, &input.session, &input.tenant);
    let raw = input.request.to_string();
    let parsed = match Request::parse(raw.as_bytes(), &a.engine.policy().limits) {
        Ok(r) => r,
        Err(e) => return core_error(&e, &id),
    };
    let verdict = a.engine.triage(&parsed);
    let t = a.engine.policy().thresholds;
    let mut cloud_probability = None;
    let (score, decision) = {
        let text: String = parsed
            .segments
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        cascade_decision(
            verdict.score,
            verdict.decision,
            t.escalate,
            t.block,
            threshold(&a),
            || {
                let features = a.featurizer.featurize(&text);
                let p = a
                    .cloud
                    .lock()
                    .map(|c| c.probability(&features.cloud))
                    .unwrap_or(1.0);
                cloud_probability = Some(p);
                p
            },
        )
    };
    let decision = if verdict.monitor.is_some() {
        Decision::Allow
    } else {
        decision
    };
    let body = json!({
        "verdict": decision.as_str(),
        "score": four_decimals(score),
        "categories": verdict.categories,
        "reasons": verdict.reasons,
        "signals": {
            "edge_verdict": verdict.decision.as_str(),
            "edge_score": four_decimals(verdict.score),
            "cloud_probability": cloud_probability.map(four_decimals),
        },
        "request_id": id,
    });
    (
        StatusCode::OK,
        [
            (
                shared_core::contract::HEADER_VERDICT,
                decision.as_str().to_string(),
            ),
            (shared_core::contract::HEADER_SCORE, format!("{score:.4}")),
            (shared_core::contract::HEADER_REQUEST_ID, id),
        ],
        Json(body),
    )
        .into_response()
}

/// A probability rounded to four decimals in f64, so JSON shows `0.9818`, not `0.98180001974`.
fn four_decimals(x: f32) -> f64 {
    (f64::from(x) * 10_000.0).round() / 10_000.0
}

fn threshold(a: &Analyzer) -> f32 {
    a.cloud
        .lock()
        .map(|c| c.meta.block_threshold)
        .unwrap_or(0.5)
}
