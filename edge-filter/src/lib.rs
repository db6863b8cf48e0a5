//! Mnemosyne's Cloudflare Worker: the shared-core triage at the edge location nearest the user,
//! in front of an OpenAI-compatible upstream (Groq by default).
//!
//! Guarded routes (`POST` to any path ending in `/chat/completions`, `/completions` or
//! `/responses` — `shared_core::host::DEFAULT_ROUTES`): the body is read up to the
//! policy's cap (`413` past it), triaged, and then forwarded (redacted when policy redacts; the
//! upstream's answer streams through as it arrives), answered locally (`400`/`403`), or escalated
//! to the analyzer (`ANALYZER_URL` + `ANALYZER_TOKEN`, or the `ANALYZER` service binding) with a
//! timeout, whose answer (or the fail mode) decides. Other `GET`/`HEAD` requests (`/v1/models`)
//! are forwarded with the server's key; other writes are refused (`404 route_not_served`). The decisions live in `shared_core::host`; this file moves bytes.
//!
//! Configuration (`wrangler.toml` vars and secrets): `UPSTREAM_URL`, `GROQ_API_KEY` (secret),
//! `POLICY` (JSON; core defaults when absent), `ANALYZER_URL`, `ANALYZER_TOKEN` (secret),
//! `ANALYZER_TIMEOUT_MS` (1000), `FAIL_MODE` (`closed` | `open`), `CORS_ALLOW_ORIGIN`.

use std::cell::RefCell;
use std::time::Duration;

use futures_util::future::{select, Either};
use serde_json::json;
use shared_core::host::{self, AnalyzerReply, FailMode, Step, DEFAULT_ROUTES};
use shared_core::{Engine, Policy};
use worker::{
    event, Context, Delay, Env, Fetch, Headers, Method, Request, RequestInit, Response, Result,
};

const DEFAULT_UPSTREAM: &str = "https://api.groq.com/openai/v1";

thread_local! {
    /// The engine for the policy text it was built from, reused across requests of an isolate.
    static ENGINE: RefCell<Option<(String, std::rc::Rc<Engine>)>> = const { RefCell::new(None) };
}

/// The engine for `policy_text`, built once per isolate (and rebuilt if the text changes).
fn engine_for(policy_text: &str) -> std::result::Result<std::rc::Rc<Engine>, String> {
    ENGINE.with(|slot| {
        if let Some((text, engine)) = slot.borrow().as_ref() {
            if text == policy_text {
                return Ok(std::rc::Rc::clone(engine));
            }
        }
        let policy = if policy_text.trim().is_empty() {
            Policy::default()
        } else {
            Policy::from_json(policy_text).map_err(|e| e.to_string())?
        };
        let engine = std::rc::Rc::new(Engine::new(policy).map_err(|e| e.to_string())?);
        *slot.borrow_mut() = Some((policy_text.to_string(), std::rc::Rc::clone(&engine)));
        Ok(engine)
    })
}

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .ok()
        .map(|v| v.to_string())
        .or_else(|| env.secret(name).ok().map(|v| v.to_string()))
        .filter(|v| !v.is_empty())
}

fn request_id(req: &Request) -> String {
    req.headers()
        .get("cf-ray")
        .ok()
        .flatten()
        .filter(|v| v.len() <= 128)
        .map(|ray| format!("mn-{ray}"))
        .unwrap_or_else(fallback_request_id)
}

/// An id without `cf-ray` (under `wrangler dev`, or behind something that strips it): the time
/// alone repeats — workerd's clock only moves between I/O — and the analyzer names its decision
/// with this id, so a random part keeps two requests' ids apart.
fn fallback_request_id() -> String {
    let random = |bits: f64| (worker::js_sys::Math::random() * bits) as u64;
    format!(
        "mn-edge-{:x}-{:08x}{:08x}",
        worker::Date::now().as_millis(),
        random(4_294_967_296.0),
        random(4_294_967_296.0)
    )
}

/// An OpenAI-style JSON error response.
fn error_response(
    status: u16,
    kind: &str,
    code: &str,
    message: &str,
    id: &str,
) -> Result<Response> {
    let body = json!({"error": {"message": message, "type": kind, "code": code, "param": null}, "mnemosyne": {"request_id": id}});
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    headers.set(shared_core::contract::HEADER_REQUEST_ID, id)?;
    Ok(Response::from_bytes(body.to_string().into_bytes())?
        .with_status(status)
        .with_headers(headers))
}

fn cors_headers(env: &Env, headers: &Headers) -> Result<()> {
    if let Some(origin) = var(env, "CORS_ALLOW_ORIGIN") {
        headers.set("access-control-allow-origin", &origin)?;
        headers.set(
            "access-control-expose-headers",
            "x-mnemosyne-verdict, x-mnemosyne-score, x-mnemosyne-request-id, x-mnemosyne-categories, x-mnemosyne-monitor, x-mnemosyne-analyzer",
        )?;
    }
    Ok(())
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let id = request_id(&req);
    let policy_text = var(&env, "POLICY").unwrap_or_default();
    let engine = match engine_for(&policy_text) {
        Ok(e) => e,
        // A bad policy never passes traffic unchecked.
        Err(e) => {
            return error_response(
                500,
                "server_error",
                "invalid_policy",
                &format!("the Worker's POLICY is invalid: {e}"),
                &id,
            )
        }
    };
    if req.method() == Method::Options {
        return preflight(&env);
    }
    let path = req.path();
    let routes: Vec<String> = DEFAULT_ROUTES.iter().map(|r| r.to_string()).collect();
    let guarded = host::route_matches(&routes, &path);
    if !guarded && matches!(req.method(), Method::Get | Method::Head) {
        return forward(&env, &req, None, Vec::new(), &id).await;
    }
    if !guarded || req.method() != Method::Post {
        // Only reads pass unguarded: a write elsewhere (a file upload for a batch of chat
        // requests, say) would reach the model with the server's key and no triage.
        return error_response(
            404,
            "invalid_request_error",
            "route_not_served",
            "This firewall forwards POST requests to chat completions, completions and responses only (and GET requests to other routes).",
            &id,
        );
    }
    let cap = engine.policy().limits.max_body_bytes;
    let declared = req
        .headers()
        .get("content-length")?
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = declared.filter(|n| *n > cap) {
        return perform(&env, &req, host::too_large(cap, n, &id), &id).await;
    }
    let mut req = req;
    let body = req.bytes().await?;
    if body.len() > cap {
        return perform(&env, &req, host::too_large(cap, body.len(), &id), &id).await;
    }
    let session = req.headers().get("x-mnemosyne-session")?;
    let tenant = var(&env, "TENANT");
    let step = host::triage_step(&engine, &body, &id, session.as_deref(), tenant.as_deref());
    let step = match step {
        Step::Escalate {
            body: analyze,
            forward_body,
            edge,
        } => {
            let fail_mode = match var(&env, "FAIL_MODE").as_deref() {
                Some("open") => FailMode::Open,
                _ => FailMode::Closed,
            };
            let (status, answer) = ask_analyzer(&env, &analyze, &id).await;
            let reply = match status {
                Some(status) => AnalyzerReply::Answered {
                    status,
                    body: &answer,
                },
                None => AnalyzerReply::Failed,
            };
            // The original body is forwarded unless the core redacted it.
            let forward_body =
                forward_body.or_else(|| Some(String::from_utf8_lossy(&body).into_owned()));
            host::escalation_step(reply, fail_mode, forward_body, &id, &edge)
        }
        Step::Forward {
            body: None,
            headers,
        } => Step::Forward {
            body: Some(String::from_utf8_lossy(&body).into_owned()),
            headers,
        },
        other => other,
    };
    perform(&env, &req, step, &id).await
}

/// Answers a step: a local response, or the upstream's (streamed) response.
async fn perform(env: &Env, req: &Request, step: Step, id: &str) -> Result<Response> {
    match step {
        Step::Forward { body, headers } => forward(env, req, body, headers, id).await,
        Step::Reject {
            status,
            body,
            headers,
        } => {
            let h = Headers::new();
            h.set("content-type", "application/json")?;
            for (k, v) in &headers {
                h.set(k, v)?;
            }
            cors_headers(env, &h)?;
            Ok(Response::from_bytes(body.into_bytes())?
                .with_status(status)
                .with_headers(h))
        }
        Step::Escalate { .. } => {
            error_response(500, "server_error", "internal", "unexpected escalation", id)
        }
    }
}

/// Sends the request to the upstream with the server's key; the answer's body streams through.
async fn forward(
    env: &Env,
    req: &Request,
    body: Option<String>,
    extra: Vec<(&'static str, String)>,
    id: &str,
) -> Result<Response> {
    let base = var(env, "UPSTREAM_URL").unwrap_or_else(|| DEFAULT_UPSTREAM.to_string());
    let base = base.trim_end_matches('/');
    // `/v1/chat/completions` and `/chat/completions` both map to `{base}/chat/completions`.
    let path = req.path();
    let suffix = path.strip_prefix("/v1").unwrap_or(&path);
    let url = format!("{base}{suffix}");
    let headers = Headers::new();
    for name in ["content-type", "accept"] {
        if let Some(v) = req.headers().get(name)? {
            headers.set(name, &v)?;
        }
    }
    if let Some(key) = var(env, "GROQ_API_KEY") {
        headers.set("authorization", &format!("Bearer {key}"))?;
    }
    for (k, v) in &extra {
        headers.set(k, v)?;
    }
    let mut init = RequestInit::new();
    init.with_method(req.method()).with_headers(headers);
    if let Some(b) = body {
        init.with_body(Some(b.into()));
    }
    let upstream = match Fetch::Request(Request::new_with_init(&url, &init)?)
        .send()
        .await
    {
        Ok(r) => r,
        Err(_) => {
            return error_response(
                502,
                "upstream_error",
                "upstream_unreachable",
                "The upstream LLM could not be reached.",
                id,
            )
        }
    };
    let out = Headers::new();
    for (k, v) in upstream.headers().entries() {
        // Length and hop-by-hop headers are the runtime's; verdict headers are this Worker's
        // (an upstream's own — another Mnemosyne behind this one — would sit beside ours).
        let hop = matches!(
            k.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        );
        if !hop && !shared_core::contract::is_contract_header(&k) {
            out.append(&k, &v)?;
        }
    }
    for (k, v) in &extra {
        out.set(k, v)?;
    }
    if extra.is_empty() {
        out.set(shared_core::contract::HEADER_REQUEST_ID, id)?;
    }
    cors_headers(env, &out)?;
    let status = upstream.status_code();
    Ok(upstream.with_headers(out).with_status(status))
}

/// `POST {ANALYZER_URL}/v1/analyze` (or the `ANALYZER` service binding) within the timeout:
/// the status and body, or `None` when it did not answer.
async fn ask_analyzer(env: &Env, body: &str, id: &str) -> (Option<u16>, Vec<u8>) {
    let timeout = var(env, "ANALYZER_TIMEOUT_MS")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1000)
        .clamp(1, 60_000);
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json");
    let _ = headers.set("x-request-id", id);
    if let Some(token) = var(env, "ANALYZER_TOKEN") {
        let _ = headers.set("authorization", &format!("Bearer {token}"));
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    let call = async {
        let mut response = if let Ok(binding) = env.service("ANALYZER") {
            binding
                .fetch("https://analyzer/v1/analyze", Some(init))
                .await?
        } else {
            let Some(base) = var(env, "ANALYZER_URL") else {
                return Err(worker::Error::RustError("no analyzer configured".into()));
            };
            let url = format!("{}/v1/analyze", base.trim_end_matches('/'));
            Fetch::Request(Request::new_with_init(&url, &init)?)
                .send()
                .await?
        };
        let status = response.status_code();
        let bytes = response.bytes().await?;
        Ok::<_, worker::Error>((status, bytes))
    };
    let call = Box::pin(call);
    let delay = Delay::from(Duration::from_millis(timeout));
    match select(call, delay).await {
        Either::Left((Ok((status, bytes)), _)) => (Some(status), bytes),
        _ => (None, Vec::new()),
    }
}

fn preflight(env: &Env) -> Result<Response> {
    let h = Headers::new();
    match var(env, "CORS_ALLOW_ORIGIN") {
        Some(origin) => {
            h.set("access-control-allow-origin", &origin)?;
            h.set("access-control-allow-methods", "POST, GET, OPTIONS")?;
            h.set(
                "access-control-allow-headers",
                "authorization, content-type, x-mnemosyne-session",
            )?;
            h.set("access-control-max-age", "86400")?;
            Ok(Response::empty()?.with_status(204).with_headers(h))
        }
        None => Ok(Response::empty()?.with_status(405).with_headers(h)),
    }
}
