//! A cap on requests in flight: past `max_concurrent_requests`, a request is answered at once
//! with `503 overloaded`, `retry-after: 1` and `connection: close` instead of queueing its body
//! in memory. Each request in flight holds at most its route's body cap, so the cap bounds the
//! memory bodies take. Health, readiness and metrics are never refused, so probes keep
//! answering under load.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::IntGauge;

use super::{error, request_id, Service, PROBES};

/// The layer: a request in flight holds one permit until its answer's headers are ready (a
/// streamed answer's body is passed on without one).
pub async fn limit_requests_in_flight(
    State(s): State<Arc<Service>>,
    request: Request,
    next: Next,
) -> Response {
    if PROBES.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let Ok(_permit) = s.in_flight.clone().try_acquire_owned() else {
        s.metrics.overloaded.inc();
        let mut refused = error(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "overloaded",
            &format!(
                "the firewall is handling its maximum of {} requests; retry shortly",
                s.config.max_concurrent_requests
            ),
            &request_id(),
        );
        let headers = refused.headers_mut();
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        // The body is not read (that is the point), so the connection cannot carry another
        // request; saying so keeps a keep-alive client from reusing it.
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        return refused;
    };
    let _counted = Counted::new(&s.metrics.in_flight);
    next.run(request).await
}

/// One request in the in-flight gauge, also when its client goes away mid-request.
struct Counted<'a>(&'a IntGauge);

impl<'a> Counted<'a> {
    fn new(gauge: &'a IntGauge) -> Self {
        gauge.inc();
        Counted(gauge)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}
