//! Prometheus metrics, served at `/metrics` in the text exposition format: requests by API,
//! operation and outcome; request latency histograms; decisions by result; and the store's
//! cache counters, read when scraped.
//!
//! Each server has its own registry (not the process-global one), so that several servers in
//! one process (the tests) count apart.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// The operation label for requests whose operation is unknown (no `Action`, or one that is
/// not served): keeps the label set bounded whatever clients send.
pub const UNKNOWN_OPERATION: &str = "unknown";

/// A server's metrics.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// The decision counters by result (Allow, ExplicitDeny, ImplicitDeny), resolved once: a
    /// labelled lookup per decision would cost more than the decision.
    decisions: [IntCounter; 3],
    cache_hits: IntGauge,
    cache_misses: IntGauge,
}

impl Metrics {
    /// A fresh registry with Gatehouse's metrics.
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "gatehouse_requests_total",
                "Requests by API (query, authorize), operation and outcome (ok or the error code).",
            ),
            &["api", "operation", "outcome"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "gatehouse_request_duration_seconds",
                "Time from a request's arrival to its answer, by API and operation.",
            )
            .buckets(vec![
                0.000_05, 0.0001, 0.000_25, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                0.25, 0.5, 1.0, 2.5,
            ]),
            &["api", "operation"],
        )?;
        let decisions = IntCounterVec::new(
            Opts::new(
                "gatehouse_decisions_total",
                "Authorization decisions by result (Allow, ExplicitDeny, ImplicitDeny).",
            ),
            &["result"],
        )?;
        let cache_hits = IntGauge::new(
            "gatehouse_effective_policy_cache_hits",
            "Effective-policy lookups answered from the cache (no SQL), since start.",
        )?;
        let cache_misses = IntGauge::new(
            "gatehouse_effective_policy_cache_misses",
            "Effective-policy lookups that read the store, since start.",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(decisions.clone()))?;
        registry.register(Box::new(cache_hits.clone()))?;
        registry.register(Box::new(cache_misses.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            decisions: [
                decisions.with_label_values(&["Allow"]),
                decisions.with_label_values(&["ExplicitDeny"]),
                decisions.with_label_values(&["ImplicitDeny"]),
            ],
            cache_hits,
            cache_misses,
        })
    }

    /// Counts one answered request and its latency.
    pub fn request(&self, api: &str, operation: &str, outcome: &str, seconds: f64) {
        self.requests
            .with_label_values(&[api, operation, outcome])
            .inc();
        self.latency
            .with_label_values(&[api, operation])
            .observe(seconds);
    }

    /// Counts decisions.
    pub fn decisions(&self, result: gatehouse_engine::DecisionKind, n: u64) {
        let [allow, explicit, implicit] = &self.decisions;
        let counter = match result {
            gatehouse_engine::DecisionKind::Allow => allow,
            gatehouse_engine::DecisionKind::ExplicitDeny => explicit,
            gatehouse_engine::DecisionKind::ImplicitDeny => implicit,
        };
        counter.inc_by(n);
    }

    /// The exposition text, with the store's cache counters as they are now.
    pub fn render(&self, store: &gatehouse_store::Store) -> String {
        let (hits, misses) = store.cache_stats();
        self.cache_hits.set(i64::try_from(hits).unwrap_or(i64::MAX));
        self.cache_misses
            .set(i64::try_from(misses).unwrap_or(i64::MAX));
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

/// The content type of the exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";
