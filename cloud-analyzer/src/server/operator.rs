//! Operator endpoints: `POST /v1/feedback` (mark a decision as a false positive or false
//! negative: stored, audited, and the verdict cache corrected for that prompt and its
//! near-duplicates) and `GET /v1/audit` (the tail of the hash-chained audit log).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{error, read_body, request_id, Service};
use crate::memory::adapter::AdapterInput;
use crate::state::{now_ms, verify_chain, AuditEvent, CachedVerdict, ReviewEntry, StateError};

/// Longest operator note kept.
const MAX_NOTE: usize = 2000;
/// Most audit entries one call returns.
const MAX_AUDIT_PAGE: usize = 1000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Label {
    /// The request was blocked (or escalated and blocked) but is benign.
    FalsePositive,
    /// The request was allowed but is an attack.
    FalseNegative,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Feedback {
    request_id: String,
    label: Label,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ReviewDecision {
    /// The held turn may pass: the session's risk starts over and the request, sent again,
    /// passes once.
    Approve,
    /// The session is closed: every later turn is blocked.
    Deny,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Review {
    decision: ReviewDecision,
    #[serde(default)]
    note: Option<String>,
}

/// An operator's input with a free-text note.
trait Noted {
    fn note(&self) -> Option<&str>;
}

impl Noted for Feedback {
    fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }
}

impl Noted for Review {
    fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }
}

/// The store failed: counted, and answered `503` (operator endpoints need their data).
fn state_unavailable(s: &Service, e: &StateError, id: &str) -> Response {
    s.metrics.state_errors.inc();
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "server_error",
        "state_unavailable",
        &e.to_string(),
        id,
    )
}

fn unauthorized(id: &str) -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "authentication_error",
        "invalid_token",
        "missing or wrong operator token",
        id,
    )
}

/// An operator's JSON body with an optional note: the token checked, the body read (at most
/// 64 KB) and parsed as `T` (`shape` describes it in the error), the note's length checked.
// The error is the response the handlers send as is.
#[allow(clippy::result_large_err)]
async fn operator_input<T: serde::de::DeserializeOwned + Noted>(
    s: &Service,
    headers: &HeaderMap,
    body: Body,
    shape: &str,
    id: &str,
) -> Result<T, Response> {
    if !Service::token_ok(s.config.operator_token(), headers) {
        return Err(unauthorized(id));
    }
    let bytes = read_body(body, headers, 64 * 1024, s.config.client_timeout(), id).await?;
    let input: T = serde_json::from_slice(&bytes).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "invalid_json",
            &format!("body must be {shape}: {e}"),
            id,
        )
    })?;
    if input.note().is_some_and(|n| n.len() > MAX_NOTE) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "note_too_long",
            &format!("note must be at most {MAX_NOTE} bytes"),
            id,
        ));
    }
    Ok(input)
}

/// The request id in an operator path (`/v1/decisions/{id}`, `/v1/reviews/{id}`): a path that
/// does not decode to UTF-8 is a `400` in the OpenAI error shape, not axum's plain-text one.
#[allow(clippy::result_large_err)]
fn path_request_id(
    path: Result<Path<String>, PathRejection>,
    id: &str,
) -> Result<String, Response> {
    path.map(|Path(p)| p).map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "invalid_request_id",
            "the request id in the path is not valid UTF-8",
            id,
        )
    })
}

fn unknown_decision(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "unknown_request_id",
        "no decision with this request id (unknown or expired)",
        id,
    )
}

/// `POST /v1/feedback`.
pub(super) async fn feedback(
    State(s): State<Arc<Service>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let id = request_id();
    let shape =
        r#"{"request_id": "…", "label": "false_positive" | "false_negative", "note"?: "…"}"#;
    let input: Feedback = match operator_input(&s, &headers, body, shape, &id).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let record = match s.store.decision(&input.request_id).await {
        Ok(Some(r)) => r,
        Ok(None) => return unknown_decision(&id),
        Err(e) => return state_unavailable(&s, &e, &id),
    };
    let (label, corrected) = match input.label {
        Label::FalsePositive => ("false_positive", "allow"),
        Label::FalseNegative => ("false_negative", "block"),
    };
    let event = AuditEvent {
        kind: "feedback".into(),
        request_id: record.request_id.clone(),
        tenant: record.tenant.clone(),
        detail: json!({
            "label": label,
            "note": input.note,
            "original_verdict": record.verdict,
            "original_score": super::four_decimals(record.score),
            "feedback_id": id,
        }),
        time_ms: now_ms(),
    };
    let entry = match s.store.audit_append(&event).await {
        Ok(e) => e,
        Err(e) => return state_unavailable(&s, &e, &id),
    };
    s.metrics.audit_entries.inc();
    // The operator's verdict replaces the cached one for this prompt (and, through its
    // embedding, near-duplicates of it) in this tenant.
    let cached = CachedVerdict {
        verdict: corrected.into(),
        score: if corrected == "block" { 1.0 } else { 0.0 },
        edge_score: record.edge_score,
        categories: record.categories.clone(),
        source: "feedback".into(),
    };
    let cache_updated = s
        .store
        .cache_put(
            &record.tenant,
            &record.prompt_hash,
            record.embedding.as_deref(),
            &cached,
            s.config.cache.ttl_secs.max(s.config.decision_ttl_secs),
        )
        .await
        .is_ok();
    // The attack memory learns the confirmed case (a missed attack, or a benign prompt for its
    // benign counterpart), when the decision kept the prompt's embedding.
    let memory_version = match (&record.embedding, s.config.sessions.enabled) {
        (Some(embedding), true) => {
            let malicious = matches!(input.label, Label::FalseNegative);
            let adapter = record
                .encoder
                .clone()
                .zip(record.cloud_logit)
                .map(|(encoder, logit)| AdapterInput {
                    encoder,
                    lexical: embedding.clone(),
                    logit,
                });
            match s
                .learn_case(&record.tenant, embedding, adapter.as_ref(), malicious)
                .await
            {
                Ok(v) => Some(v),
                Err(e) => {
                    s.metrics.state_errors.inc();
                    eprintln!("cloud-analyzer: attack memory not updated: {e}");
                    None
                }
            }
        }
        _ => None,
    };
    Json(json!({
        "status": "recorded",
        "request_id": record.request_id,
        "label": label,
        "audit_seq": entry.seq,
        "cache_updated": cache_updated,
        "memory_version": memory_version,
    }))
    .into_response()
}

/// `POST /v1/reviews/{request_id}`: an operator's decision on a held turn. It leaves the queue
/// (a second decision on it is `404`), the session learns it, and the audit log records it.
pub(super) async fn decide_review(
    State(s): State<Arc<Service>>,
    held: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let id = request_id();
    let held = match path_request_id(held, &id) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let shape = r#"{"decision": "approve" | "deny", "note"?: "…"}"#;
    let input: Review = match operator_input(&s, &headers, body, shape, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let entry = match s.store.take_review(&held).await {
        Ok(Some(e)) => e,
        Ok(None) => {
            return error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                "unknown_review",
                "no held turn with this request id in the review queue (never held, already decided, or expired)",
                &id,
            )
        }
        Err(e) => return state_unavailable(&s, &e, &id),
    };
    let approve = matches!(input.decision, ReviewDecision::Approve);
    // The held request's prompt digest, while its decision record is kept.
    let digest = match s.store.decision(&entry.request_id).await {
        Ok(record) => record.and_then(|r| crate::state::unhex32(&r.prompt_hash)),
        Err(_) => {
            s.metrics.state_errors.inc();
            None
        }
    };
    let session_updated = if entry.session.is_empty() || !s.config.sessions.enabled {
        false
    } else {
        match s
            .review_session(&entry.tenant, &entry.session, digest, approve)
            .await
        {
            Ok(updated) => updated,
            Err(e) => {
                // Not applied: the turn goes back to the queue for another try.
                requeue(&s, &entry).await;
                return state_unavailable(&s, &e, &id);
            }
        }
    };
    let decision = if approve { "approve" } else { "deny" };
    let event = AuditEvent {
        kind: "review".into(),
        request_id: entry.request_id.clone(),
        tenant: entry.tenant.clone(),
        detail: json!({
            "decision": decision,
            "note": input.note,
            "session_updated": session_updated,
            "risk": super::four_decimals(entry.risk),
            "review_id": id,
        }),
        time_ms: now_ms(),
    };
    let audited = match s.store.audit_append(&event).await {
        Ok(e) => e,
        Err(e) => {
            // Applied but not audited: queued again, so the operator's retry (applying the same
            // decision again changes nothing) records it.
            requeue(&s, &entry).await;
            return state_unavailable(&s, &e, &id);
        }
    };
    s.metrics.audit_entries.inc();
    s.metrics.reviews.with_label_values(&[decision]).inc();
    Json(json!({
        "status": "recorded",
        "request_id": entry.request_id,
        "decision": decision,
        "session": entry.session,
        "session_updated": session_updated,
        "audit_seq": audited.seq,
    }))
    .into_response()
}

/// Puts a held turn back in the review queue after a decision on it failed half-way.
async fn requeue(s: &Service, entry: &ReviewEntry) {
    if s.store.push_review(entry).await.is_err() {
        s.metrics.state_errors.inc();
        eprintln!(
            "cloud-analyzer: review {} could not be put back in the queue",
            entry.request_id
        );
    }
}

/// `GET /v1/decisions/{request_id}`: what was decided for a request (no text, no vectors), so an
/// operator can see a decision a client reports before correcting it with `/v1/feedback`.
pub(super) async fn decision(
    State(s): State<Arc<Service>>,
    asked: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let id = request_id();
    let asked = match path_request_id(asked, &id) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if !Service::token_ok(s.config.operator_token(), &headers) {
        return unauthorized(&id);
    }
    match s.store.decision(&asked).await {
        Ok(Some(r)) => Json(json!({
            "request_id": r.request_id,
            "tenant": r.tenant,
            "session": r.session,
            "route": r.route,
            "verdict": r.verdict,
            "score": super::four_decimals(r.score),
            "edge_score": super::four_decimals(r.edge_score),
            "categories": r.categories,
            "time_ms": r.time_ms,
        }))
        .into_response(),
        Ok(None) => unknown_decision(&id),
        Err(e) => state_unavailable(&s, &e, &id),
    }
}

/// `GET /v1/reviews?limit=N`: turns held for approval, newest first.
pub(super) async fn reviews(
    State(s): State<Arc<Service>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let id = request_id();
    let limit = match authorized_page(&s, &headers, query.as_deref(), &id) {
        Ok(l) => l,
        Err(r) => return r,
    };
    match s.store.reviews(limit).await {
        Ok(entries) => Json(json!({"reviews": entries})).into_response(),
        Err(e) => state_unavailable(&s, &e, &id),
    }
}

/// The operator token checked, then the page size read: what the paged operator reads share.
#[allow(clippy::result_large_err)]
fn authorized_page(
    s: &Service,
    headers: &HeaderMap,
    query: Option<&str>,
    id: &str,
) -> Result<usize, Response> {
    if !Service::token_ok(s.config.operator_token(), headers) {
        return Err(unauthorized(id));
    }
    parse_limit(query, id)
}

/// Reads `?limit=N` (default 100, at most [`MAX_AUDIT_PAGE`]); any other parameter is an error.
// The error is the response the handlers send as is.
#[allow(clippy::result_large_err)]
fn parse_limit(query: Option<&str>, id: &str) -> Result<usize, Response> {
    let mut limit = 100;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("limit", v)) => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_AUDIT_PAGE).contains(&n) => limit = n,
                _ => {
                    return Err(error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request_error",
                        "invalid_limit",
                        &format!("limit must be a number within [1, {MAX_AUDIT_PAGE}]"),
                        id,
                    ))
                }
            },
            _ => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "invalid_query",
                    "the only query parameter is limit",
                    id,
                ))
            }
        }
    }
    Ok(limit)
}

/// `GET /v1/audit?limit=N`: the newest entries, oldest first, and whether their chain verifies.
pub(super) async fn audit(
    State(s): State<Arc<Service>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let id = request_id();
    let limit = match authorized_page(&s, &headers, query.as_deref(), &id) {
        Ok(l) => l,
        Err(r) => return r,
    };
    match s.store.audit_tail(limit).await {
        Ok(entries) => {
            let chain_ok = verify_chain(&entries).is_ok();
            Json(json!({"entries": entries, "chain_ok": chain_ok})).into_response()
        }
        Err(e) => state_unavailable(&s, &e, &id),
    }
}
