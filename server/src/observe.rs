//! Seeing what the server does: a request id on every request (its log lines and its audit
//! entries carry it, and the answer's `x-request-id` header tells it), Prometheus metrics at
//! `/metrics`, and `/health` (the process answers) beside `/ready` (the database answers and
//! every migration this binary knows is applied).
//!
//! The metrics are counted in memory by this process, lock-free on the way through a request
//! (a read lock finds the series; atomics count), and written out in Prometheus' text format
//! when scraped. `GATEHOUSE_METRICS_TOKEN`, when set, is the bearer token a scraper must send.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_core::audit::Origin;
use gatehouse_core::Core;
use serde_json::json;
use tracing::Instrument;

use crate::client_ip::TrustedProxies;

/// The request's id: the one a proxy in front sent (`x-request-id`, when it is a plain token of
/// at most 64 characters), else a new one.
fn request_id(req: &Request) -> String {
    let sent = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
    match sent {
        Some(id) => id.to_string(),
        None => new_id(),
    }
}

/// A new request id: this process's random prefix and a count, so ids never repeat within a
/// process and hardly ever across instances.
fn new_id() -> String {
    use std::hash::BuildHasher;
    use std::sync::LazyLock;
    static PREFIX: LazyLock<u32> = LazyLock::new(|| {
        std::collections::hash_map::RandomState::new().hash_one(std::process::id()) as u32
    });
    static COUNT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{:08x}{:08x}",
        *PREFIX,
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Upper bounds of the latency buckets, in seconds.
const BOUNDS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    /// Per bucket (not cumulative), the last for what is above every bound.
    buckets: [AtomicU64; BOUNDS.len() + 1],
    sum_ns: AtomicU64,
}

impl Histogram {
    fn observe(&self, seconds: f64, nanos: u64) {
        let i = BOUNDS.partition_point(|b| *b < seconds);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// A route's series: one histogram per method and status seen.
type RouteSeries = Vec<(Method, u16, Arc<Histogram>)>;

/// What the process counts, and how it tells a request's address.
pub struct Metrics {
    /// By route pattern (looked up by `&str`: nothing is allocated on a request's way through).
    requests: RwLock<HashMap<Arc<str>, RouteSeries>>,
    /// `GATEHOUSE_METRICS_TOKEN`.
    token: Option<String>,
    trusted: TrustedProxies,
}

impl Metrics {
    pub fn new(token: Option<String>, trusted: TrustedProxies) -> Arc<Metrics> {
        Arc::new(Metrics {
            requests: RwLock::default(),
            token,
            trusted,
        })
    }

    fn observe(&self, route: &str, method: &Method, status: u16, elapsed: std::time::Duration) {
        let find = |series: &RouteSeries| {
            series
                .iter()
                .find(|(m, s, _)| m == method && *s == status)
                .map(|(.., h)| h.clone())
        };
        let found = self
            .requests
            .read()
            .ok()
            .and_then(|all| all.get(route).and_then(find));
        let histogram = match found {
            Some(h) => h,
            None => {
                let Ok(mut all) = self.requests.write() else {
                    return;
                };
                let series = all.entry(route.into()).or_default();
                match find(series) {
                    Some(h) => h,
                    None => {
                        let h = Arc::new(Histogram::default());
                        series.push((method.clone(), status, h.clone()));
                        h
                    }
                }
            }
        };
        histogram.observe(elapsed.as_secs_f64(), elapsed.as_nanos() as u64);
    }
}

/// The outermost middleware: gives the request its id (in its extensions, its log lines' span,
/// its audit entries and the answer's header), runs it as coming from its [`Origin`], and counts
/// it under its route (the route's pattern, never the path as sent, so the series stay few) and
/// status.
pub async fn observe(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&req);
    let method = req.method().clone();
    // The site's files, and what nothing answers, are the fallback.
    let route = req.extensions().get::<MatchedPath>().cloned();
    let route = route.as_ref().map_or("fallback", MatchedPath::as_str);
    // What the audit log keeps beside the changes this request makes.
    let origin = Origin {
        ip: crate::client_ip::of(&metrics.trusted, &req).map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect()),
        request_id: Some(id.clone()),
    };
    let span = tracing::info_span!("request", id = %id);
    let mut response = origin.scope(next.run(req).instrument(span.clone())).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    // The access log, off unless asked for (`RUST_LOG=gatehouse::access=debug`).
    span.in_scope(|| {
        tracing::debug!(target: "gatehouse::access", %method, route = %route, status, micros = elapsed.as_micros() as u64)
    });
    metrics.observe(route, &method, status, elapsed);
    response
}

/// `GET /ready`: 200 when the database answers and has every migration this binary knows; 503
/// with the reason otherwise.
pub async fn ready(State(core): State<Core>) -> Response {
    let check = tokio::time::timeout(std::time::Duration::from_secs(2), core.db.ready()).await;
    match check {
        Ok(Ok(())) => Json(json!({ "status": "ready" })).into_response(),
        Ok(Err(e)) => unavailable(&e.to_string()),
        Err(_) => unavailable("the database did not answer within 2 seconds"),
    }
}

fn unavailable(reason: &str) -> Response {
    let body = Json(json!({ "status": "unavailable", "reason": reason }));
    (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
}

/// `GET /metrics`: everything counted, in Prometheus' text format (0.0.4).
pub async fn metrics(
    State((core, metrics)): State<(Core, Arc<Metrics>)>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Some(token) = &metrics.token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !sent.is_some_and(|s| {
            gatehouse_core::crypto::constant_time_eq(s.as_bytes(), token.as_bytes())
        }) {
            return (
                StatusCode::UNAUTHORIZED,
                "A bearer token (GATEHOUSE_METRICS_TOKEN) is required.\n",
            )
                .into_response();
        }
    }
    let mut out = String::new();
    write_requests(&mut out, &metrics);
    family(
        &mut out,
        "gatehouse_sign_ins_total",
        "counter",
        "Sign-ins by this process, by method and result.",
    );
    for (method, result, n) in core.counters.sign_ins() {
        let _ = writeln!(
            out,
            "gatehouse_sign_ins_total{{method=\"{}\",result=\"{result}\"}} {n}",
            escape(&method)
        );
    }
    family(
        &mut out,
        "gatehouse_jobs",
        "gauge",
        "Jobs in the durable queue that wait, run or failed.",
    );
    let counts = core.job_counts().await.unwrap_or_default();
    for status in ["pending", "running", "failed"] {
        let n = counts
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n);
        let _ = writeln!(out, "gatehouse_jobs{{status=\"{status}\"}} {n}");
    }
    family(
        &mut out,
        "gatehouse_job_failures_total",
        "counter",
        "Job attempts that failed in this process.",
    );
    let _ = writeln!(
        out,
        "gatehouse_job_failures_total {}",
        core.counters.job_failures()
    );
    let (size, idle) = (core.db.pool.size(), core.db.pool.num_idle() as u32);
    family(
        &mut out,
        "gatehouse_db_pool_connections",
        "gauge",
        "The database pool's open connections, by state.",
    );
    let _ = writeln!(
        out,
        "gatehouse_db_pool_connections{{state=\"idle\"}} {idle}"
    );
    let _ = writeln!(
        out,
        "gatehouse_db_pool_connections{{state=\"in_use\"}} {}",
        size.saturating_sub(idle)
    );
    family(
        &mut out,
        "gatehouse_db_pool_max_connections",
        "gauge",
        "The most connections the pool opens.",
    );
    let _ = writeln!(
        out,
        "gatehouse_db_pool_max_connections {}",
        core.db.pool.options().get_max_connections()
    );
    family(
        &mut out,
        "gatehouse_analytics_events_dropped_total",
        "counter",
        "Analytics events dropped because the queue was full.",
    );
    let _ = writeln!(
        out,
        "gatehouse_analytics_events_dropped_total {}",
        core.analytics.dropped_total()
    );
    if let Some(rss) = resident_bytes() {
        family(
            &mut out,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
        );
        let _ = writeln!(out, "process_resident_memory_bytes {rss}");
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value as the text format writes it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn write_requests(out: &mut String, metrics: &Metrics) {
    let name = "gatehouse_http_request_duration_seconds";
    family(
        out,
        name,
        "histogram",
        "HTTP requests by method, route and status, and how long they took to answer.",
    );
    let Ok(all) = metrics.requests.read() else {
        return;
    };
    let mut series: Vec<_> = all
        .iter()
        .flat_map(|(route, by)| by.iter().map(move |(m, s, h)| (route, m, *s, h)))
        .collect();
    series.sort_by(|a, b| (a.0, a.1.as_str(), a.2).cmp(&(b.0, b.1.as_str(), b.2)));
    for (route, method, status, h) in series {
        let labels = format!(
            "method=\"{method}\",route=\"{}\",status=\"{status}\"",
            escape(route)
        );
        let mut cumulative = 0;
        for (i, bound) in BOUNDS.iter().enumerate() {
            cumulative += h.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        cumulative += h.buckets[BOUNDS.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {cumulative}");
        let sum = h.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
    }
}

/// This process's resident memory, from `/proc` (Linux).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
