//! Prometheus metrics (`GET /metrics`).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// Latency buckets from 10 µs to 60 s.
const BUCKETS: &[f64] = &[
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Every metric the service exports.
pub struct Metrics {
    registry: Registry,
    /// Requests by route and final verdict (`allow`, `block`, `error`, `rate_limited`…).
    pub requests: IntCounterVec,
    /// Decided requests by category found (`pii`, `jailbreak`, `unread_content`…); a request
    /// counts once per category.
    pub categories: IntCounterVec,
    /// Time per stage: `parse`, `triage`, `cache`, `cloud`, `state`, `upstream_headers`.
    pub stage_seconds: HistogramVec,
    /// Cache lookups by kind (`exact`, `semantic`) and result (`hit`, `miss`).
    pub cache_lookups: IntCounterVec,
    /// Upstream responses by status code (`timeout`, `unreachable` for transport failures).
    pub upstream_responses: IntCounterVec,
    /// Time from sending to the upstream until its response headers.
    pub upstream_seconds: HistogramVec,
    /// Edge escalations, by how the cloud tier decided them.
    pub escalations: IntCounterVec,
    /// Session actions (`allow`, `warn`, `require_approval`, `block`).
    pub session_actions: IntCounterVec,
    /// Attack-memory updates, by kind (`attack`, `benign`).
    pub memory_updates: IntCounterVec,
    /// Held turns an operator decided, by decision (`approve`, `deny`).
    pub reviews: IntCounterVec,
    /// State-store operations that failed.
    pub state_errors: IntCounter,
    /// Audit entries written.
    pub audit_entries: IntCounter,
    /// Requests refused with `503 overloaded` (`max_concurrent_requests` in flight).
    pub overloaded: IntCounter,
    /// Requests in flight (health, readiness and metrics not counted).
    pub in_flight: IntGauge,
    /// Access-log lines dropped because standard output did not keep up.
    pub access_log_dropped: IntCounter,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new_custom(Some("mnemosyne".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("requests_total", "Requests by route and verdict"),
            &["route", "verdict"],
        )?;
        let categories = IntCounterVec::new(
            Opts::new(
                "categories_total",
                "Decided requests by category found (once per request and category)",
            ),
            &["category"],
        )?;
        let stage_seconds = HistogramVec::new(
            HistogramOpts::new("stage_seconds", "Time per decision stage")
                .buckets(BUCKETS.to_vec()),
            &["stage"],
        )?;
        let cache_lookups = IntCounterVec::new(
            Opts::new("cache_lookups_total", "Verdict-cache lookups"),
            &["kind", "result"],
        )?;
        let upstream_responses = IntCounterVec::new(
            Opts::new("upstream_responses_total", "Upstream responses by status"),
            &["status"],
        )?;
        let upstream_seconds = HistogramVec::new(
            HistogramOpts::new("upstream_seconds", "Upstream time to response headers")
                .buckets(BUCKETS.to_vec()),
            &["route"],
        )?;
        let escalations = IntCounterVec::new(
            Opts::new("escalations_total", "Edge escalations by cloud outcome"),
            &["outcome"],
        )?;
        let session_actions = IntCounterVec::new(
            Opts::new("session_actions_total", "Session analysis actions"),
            &["action"],
        )?;
        let memory_updates = IntCounterVec::new(
            Opts::new("memory_updates_total", "Attack-memory updates by kind"),
            &["kind"],
        )?;
        let reviews = IntCounterVec::new(
            Opts::new("reviews_total", "Held turns decided by an operator"),
            &["decision"],
        )?;
        let state_errors = IntCounter::new("state_errors_total", "Failed state-store operations")?;
        let audit_entries = IntCounter::new("audit_entries_total", "Audit entries written")?;
        let overloaded = IntCounter::new(
            "overloaded_total",
            "Requests refused because max_concurrent_requests were in flight",
        )?;
        let in_flight = IntGauge::new("requests_in_flight", "Requests in flight")?;
        let access_log_dropped = IntCounter::new(
            "access_log_dropped_total",
            "Access-log lines dropped because standard output did not keep up",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(categories.clone()))?;
        registry.register(Box::new(stage_seconds.clone()))?;
        registry.register(Box::new(cache_lookups.clone()))?;
        registry.register(Box::new(upstream_responses.clone()))?;
        registry.register(Box::new(upstream_seconds.clone()))?;
        registry.register(Box::new(escalations.clone()))?;
        registry.register(Box::new(session_actions.clone()))?;
        registry.register(Box::new(memory_updates.clone()))?;
        registry.register(Box::new(reviews.clone()))?;
        registry.register(Box::new(state_errors.clone()))?;
        registry.register(Box::new(audit_entries.clone()))?;
        registry.register(Box::new(overloaded.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(access_log_dropped.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            categories,
            stage_seconds,
            cache_lookups,
            upstream_responses,
            upstream_seconds,
            escalations,
            session_actions,
            memory_updates,
            reviews,
            state_errors,
            audit_entries,
            overloaded,
            in_flight,
            access_log_dropped,
        })
    }

    /// Records a stage's duration.
    pub fn stage(&self, stage: &str, started: std::time::Instant) {
        self.stage_seconds
            .with_label_values(&[stage])
            .observe(started.elapsed().as_secs_f64());
    }

    /// Counts a finished request.
    pub fn request(&self, route: &str, verdict: &str) {
        self.requests.with_label_values(&[route, verdict]).inc();
    }

    /// Counts the categories of one decided request.
    pub fn categories(&self, categories: &[shared_core::Category]) {
        for category in categories {
            self.categories
                .with_label_values(&[category.as_str()])
                .inc();
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(out).unwrap_or_default()
    }
}
