//! Mnemosyne's Envoy / Istio proxy-wasm HTTP filter.
//!
//! On the guarded routes (every path ending in `/chat/completions`, `/completions` or
//! `/responses` by default; any method but `GET`, `HEAD`, `OPTIONS`) it buffers the request body up to the
//! policy's cap (`413` past it), runs the shared-core triage at the end of the body (or at the
//! request's trailers, when it has them) and then forwards (with
//! `x-mnemosyne-*` headers; redacted body when policy redacts), answers `403`/`400` locally, or
//! escalates to the analyzer's `/v1/analyze` with `dispatch_http_call` and resumes or blocks on
//! its answer (the fail mode decides when it does not answer). Responses are never buffered:
//! streamed completions stream. All decisions live in `shared_core::host`; this file only moves
//! bytes between Envoy and it. `scripts/build-envoy-filter.sh` removes the exports of the
//! callbacks this file does not implement, so Envoy does not call them: implementing another
//! `HttpContext` callback means taking it off that script's list.

extern crate alloc;

pub mod config;

use alloc::boxed::Box;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::time::Duration;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use shared_core::contract::is_contract_header;
pub use shared_core::contract::HEADER_SESSION;
use shared_core::host::{self, AnalyzerReply, EdgeOpinion, Step};
use shared_core::Engine;

use crate::config::FilterConfig;

/// The proxy-wasm ABI entry point (`_initialize` plumbing), private: nothing to document.
mod entry {
    use super::{Box, LogLevel, Root, RootContext};

    proxy_wasm::main! {{
        proxy_wasm::set_log_level(LogLevel::Info);
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { shared: None }) });
    }}
}

/// Configuration and engine, built once per plugin configuration.
struct Shared {
    config: FilterConfig,
    engine: Engine,
}

struct Root {
    shared: Option<Rc<Shared>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        let config = match FilterConfig::from_json(&bytes) {
            Ok(c) => c,
            Err(e) => {
                log_error(&format!("mnemosyne: rejecting plugin {e}"));
                self.shared = None;
                return false;
            }
        };
        let engine = match Engine::new(config.policy.clone()) {
            Ok(e) => e,
            Err(e) => {
                log_error(&format!("mnemosyne: rejecting plugin configuration: {e}"));
                self.shared = None;
                return false;
            }
        };
        if config.analyzer.is_none() {
            log_info(
                "mnemosyne: no analyzer configured; uncertain requests are decided by fail_mode",
            );
        }
        log_info(&format!(
            "mnemosyne: filter configured (routes {:?}, fail_mode {:?}, learned scorer {})",
            config.routes,
            config.fail_mode,
            engine.has_scorer()
        ));
        self.shared = Some(Rc::new(Shared { config, engine }));
        true
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        // Without a valid configuration no context is created and Envoy fails the requests
        // (the filter never passes traffic unchecked).
        let shared = Rc::clone(self.shared.as_ref()?);
        Some(Box::new(Request {
            shared,
            context_id,
            guarded: false,
            request_id: String::new(),
            session: None,
            response_headers: Vec::new(),
            replied: false,
            triaged: false,
            buffered: 0,
            pending: None,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// What an escalated request waits with.
struct Pending {
    forward_body: Option<String>,
    edge: EdgeOpinion,
    body_size: usize,
}

struct Request {
    shared: Rc<Shared>,
    context_id: u32,
    guarded: bool,
    request_id: String,
    session: Option<String>,
    /// `x-mnemosyne-*` headers for the response.
    response_headers: Vec<(&'static str, String)>,
    /// A local reply was sent (its headers are already on it).
    replied: bool,
    /// The body has been triaged (at its end, or at the trailers).
    triaged: bool,
    /// Bytes of body Envoy has buffered so far.
    buffered: usize,
    pending: Option<Pending>,
}

impl Context for Request {
    fn on_http_call_response(
        &mut self,
        _token: u32,
        _headers: usize,
        body_size: usize,
        _trailers: usize,
    ) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        let status = self
            .get_http_call_response_header(":status")
            .and_then(|s| s.parse::<u16>().ok());
        let body = self
            .get_http_call_response_body(0, body_size.min(1024 * 1024))
            .unwrap_or_default();
        let reply = match status {
            Some(status) => AnalyzerReply::Answered {
                status,
                body: &body,
            },
            None => AnalyzerReply::Failed,
        };
        if status != Some(200) {
            log_warn(&format!(
                "mnemosyne: analyzer answered {status:?} for {}; fail_mode {:?} decides",
                self.request_id, self.shared.config.fail_mode
            ));
        }
        let step = host::escalation_step(
            reply,
            self.shared.config.fail_mode,
            pending.forward_body,
            &self.request_id,
            &pending.edge,
        );
        if self.apply(step, pending.body_size) == Action::Continue {
            self.resume_http_request();
        }
    }
}

impl HttpContext for Request {
    fn on_http_request_headers(&mut self, _headers: usize, end_of_stream: bool) -> Action {
        // One host call for all the headers (rather than one per header read). As bytes: HTTP/1.1
        // allows values that are not UTF-8 (obs-text), and the string form of this call panics on
        // them — a client's `x-note: caf\xe9` stopped the filter.
        let request_headers = self.get_http_request_headers_bytes();
        let raw = |name: &str| {
            request_headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_slice())
        };
        // A value that is not UTF-8 counts as absent, except the path below.
        let header = |name: &str| raw(name).and_then(|v| core::str::from_utf8(v).ok());
        // Never absent: a path that is not UTF-8 is still matched (lossily), not let through as
        // no path at all.
        let path = String::from_utf8_lossy(raw(":path").unwrap_or_default());
        // Every method that can carry a body is guarded on a guarded route (an upstream that
        // took a PUT as a POST would otherwise get it unread); reads pass.
        let reads = matches!(header(":method"), Some("GET" | "HEAD" | "OPTIONS"));
        if reads || !host::route_matches(&self.shared.config.routes, &path) {
            return Action::Continue;
        }
        self.guarded = true;
        self.request_id = header("x-request-id")
            .filter(|v| !v.is_empty() && v.len() <= 128)
            .map_or_else(|| format!("mn-envoy-{:x}", self.context_id), str::to_string);
        self.session = header(HEADER_SESSION)
            .filter(|v| !v.is_empty() && v.len() <= 128)
            .map(str::to_string);
        let declared = header("content-length").and_then(|v| v.parse::<usize>().ok());
        // Verdict headers are the filter's to set: a client's own `x-mnemosyne-verdict: allow`
        // (or `-analyzer`, `-score`, …) never reaches the upstream.
        for (name, _) in &request_headers {
            if is_contract_header(name) {
                self.set_http_request_header(name, None);
            }
        }
        let cap = self.shared.config.policy.limits.max_body_bytes;
        if let Some(n) = declared.filter(|n| *n > cap) {
            return self.apply(host::too_large(cap, n, &self.request_id), 0);
        }
        if end_of_stream {
            // A POST without a body: the core answers 400.
            let step = host::triage_step(&self.shared.engine, b"", &self.request_id, None, None);
            return self.apply(step, 0);
        }
        if self.shared.config.hold_headers {
            // Hold the headers until the body is decided, so the verdict headers can be added.
            Action::Pause
        } else {
            // The headers go ahead; the body (held below) may change length when redacted.
            self.set_http_request_header("content-length", None);
            Action::Continue
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !self.guarded || self.replied || self.triaged {
            return Action::Continue;
        }
        let cap = self.shared.config.policy.limits.max_body_bytes;
        if body_size > cap {
            return self.apply(host::too_large(cap, body_size, &self.request_id), body_size);
        }
        self.buffered = body_size;
        if !end_of_stream {
            return Action::Pause;
        }
        self.triage_buffered_body()
    }

    fn on_http_request_trailers(&mut self, _trailers: usize) -> Action {
        // A request that ends with trailers (HTTP/2, or chunked HTTP/1 with trailers enabled)
        // never reaches the body callback with end_of_stream: its body is decided here, or it
        // would go upstream unchecked.
        if !self.guarded || self.replied || self.triaged {
            return Action::Continue;
        }
        self.triage_buffered_body()
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        if self.guarded && !self.replied {
            // The verdict headers the client reads are this filter's: an upstream's own (another
            // Mnemosyne behind this one, or anything else) are dropped, so an inner layer's
            // categories never sit beside this filter's verdict. One host call reads them all,
            // as bytes (an upstream's value need not be UTF-8; see the request headers).
            for (name, _) in self.get_http_response_headers_bytes() {
                if is_contract_header(&name) {
                    self.set_http_response_header(&name, None);
                }
            }
            for (name, value) in &self.response_headers {
                self.set_http_response_header(name, Some(value));
            }
        }
        // The body is never touched: streamed answers stream.
        Action::Continue
    }
}

impl Request {
    /// Triages the whole buffered body and performs the verdict.
    fn triage_buffered_body(&mut self) -> Action {
        self.triaged = true;
        let body_size = self.buffered;
        let body = self.get_http_request_body(0, body_size).unwrap_or_default();
        let step = host::triage_step(
            &self.shared.engine,
            &body,
            &self.request_id,
            self.session.as_deref(),
            self.shared.config.tenant.as_deref(),
        );
        self.apply(step, body_size)
    }

    /// Performs a step; returns what the current callback returns.
    fn apply(&mut self, step: Step, body_size: usize) -> Action {
        match step {
            Step::Forward { body, headers } => {
                let hold = self.shared.config.hold_headers;
                if hold {
                    for (name, value) in &headers {
                        self.set_http_request_header(name, Some(value));
                    }
                }
                if let Some(body) = body {
                    self.set_http_request_body(0, body_size, body.as_bytes());
                    if hold {
                        self.set_http_request_header(
                            "content-length",
                            Some(&body.len().to_string()),
                        );
                    }
                }
                self.response_headers = headers;
                Action::Continue
            }
            Step::Reject {
                status,
                body,
                headers,
            } => {
                let mut h: Vec<(&str, &str)> =
                    headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
                h.push(("content-type", "application/json"));
                self.replied = true;
                self.send_http_response(u32::from(status), h, Some(body.as_bytes()));
                Action::Pause
            }
            Step::Escalate {
                body,
                forward_body,
                edge,
            } => {
                let Some(analyzer) = self.shared.config.analyzer.clone() else {
                    let step = host::escalation_step(
                        AnalyzerReply::Failed,
                        self.shared.config.fail_mode,
                        forward_body,
                        &self.request_id,
                        &edge,
                    );
                    return self.apply(step, body_size);
                };
                let bearer = analyzer.token.as_ref().map(|t| format!("Bearer {t}"));
                let mut headers = alloc::vec![
                    (":method", "POST"),
                    (":path", analyzer.path.as_str()),
                    (":authority", analyzer.authority.as_str()),
                    ("content-type", "application/json"),
                    ("x-request-id", self.request_id.as_str()),
                ];
                if let Some(b) = &bearer {
                    headers.push(("authorization", b.as_str()));
                }
                let sent = self.dispatch_http_call(
                    &analyzer.cluster,
                    headers,
                    Some(body.as_bytes()),
                    Vec::new(),
                    Duration::from_millis(analyzer.timeout_ms),
                );
                match sent {
                    Ok(_) => {
                        self.pending = Some(Pending {
                            forward_body,
                            edge,
                            body_size,
                        });
                        Action::Pause
                    }
                    Err(status) => {
                        log_warn(&format!(
                            "mnemosyne: cannot call analyzer cluster {:?} ({status:?}); fail_mode {:?} decides",
                            analyzer.cluster, self.shared.config.fail_mode
                        ));
                        let step = host::escalation_step(
                            AnalyzerReply::Failed,
                            self.shared.config.fail_mode,
                            forward_body,
                            &self.request_id,
                            &edge,
                        );
                        self.apply(step, body_size)
                    }
                }
            }
        }
    }
}

fn log_error(message: &str) {
    let _ = proxy_wasm::hostcalls::log(LogLevel::Error, message);
}

fn log_warn(message: &str) {
    let _ = proxy_wasm::hostcalls::log(LogLevel::Warn, message);
}

fn log_info(message: &str) {
    let _ = proxy_wasm::hostcalls::log(LogLevel::Info, message);
}
