//! HTTP probes against the green task set through a load balancer listener.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::checks::Checks;
pub use crate::criteria::{Criteria, Verdict};
use crate::stats::Acc;
#[cfg(test)]
use crate::stats::allowance;
use crate::stats::round1;
pub use crate::stats::{CheckResult, PathReport, evaluate, percentile};

/// Longest part of a response body the checks read.
const BODY_LIMIT: usize = 64 * 1024;
/// Pause between warm-up attempts.
const WARMUP_RETRY: Duration = Duration::from_millis(250);

/// Where the probes go: the URL's scheme, host and port, and, when a host name is configured,
/// the addresses that name is sent to (so TLS verifies the configured name, not the balancer's).
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `scheme://host:port` (no path).
    pub origin: String,
    /// `(host name, addresses)` to connect to instead of resolving the host name.
    pub resolve: Option<(String, Vec<SocketAddr>)>,
    /// Where the connection really goes (for the evidence).
    pub connect_to: String,
}

/// The probe client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot build the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
    #[error("the probes cannot carry the header {0:?}: it is not a valid HTTP header")]
    Header(String),
}

/// Builds the probe client: bounded timeouts, no redirects followed, no proxy, TLS verified.
pub fn client(checks: &Checks, endpoint: &Endpoint) -> Result<reqwest::Client, ClientError> {
    shaped_client(checks, endpoint, &[])
}

/// [`client`], every request carrying `headers` (a listener rule's `http-header` conditions).
pub fn shaped_client(
    checks: &Checks,
    endpoint: &Endpoint,
    headers: &[(String, String)],
) -> Result<reqwest::Client, ClientError> {
    let mut extra = reqwest::header::HeaderMap::new();
    for (name, value) in headers {
        let bad = || ClientError::Header(format!("{name}: {value}"));
        let n = reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
        let v = reqwest::header::HeaderValue::from_str(value).map_err(|_| bad())?;
        extra.append(n, v);
    }
    let timeout = Duration::from_millis(checks.timeout_ms);
    let mut b = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(3)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .pool_max_idle_per_host(checks.concurrency as usize)
        .default_headers(extra)
        .user_agent(concat!("codehooks-deploy-hook/", env!("CARGO_PKG_VERSION")));
    if let Some((host, addrs)) = &endpoint.resolve {
        b = b.resolve_to_addrs(host, addrs);
    }
    b.build().map_err(ClientError::Build)
}

/// Sends one probe and judges it; returns the outcome and, for an answer, its latency.
pub async fn probe_once(
    client: &reqwest::Client,
    url: &str,
    criteria: &Criteria,
) -> (Verdict, Option<f64>) {
    let start = Instant::now();
    let resp = match client.get(url).send().await {
        Ok(r) => r,
        Err(e) => return (classify(&e), None),
    };
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let mut body = Vec::new();
    let mut resp = resp;
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() < BODY_LIMIT {
                    let take = (BODY_LIMIT - body.len()).min(chunk.len());
                    body.extend_from_slice(&chunk[..take]);
                }
                if body.len() >= BODY_LIMIT && !criteria.needs_body() {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => return (classify(&e), None),
        }
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    (criteria.judge(status, &headers, &body), Some(ms))
}

fn classify(e: &reqwest::Error) -> Verdict {
    let chain = codehooks::error::error_chain(e);
    if e.is_timeout() {
        Verdict::Fail("timeout", "no answer within the per-request timeout".into())
    } else if e.is_connect() {
        Verdict::Fail("connect", format!("cannot connect: {chain}"))
    } else {
        Verdict::Fail("error", chain)
    }
}

/// Probes `path` as the checks say, until done, an early stop, or `until`.
pub async fn probe_path(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    path: &str,
    criteria: Arc<Criteria>,
    warmup: bool,
    until: Instant,
) -> PathReport {
    probe_path_with(client, endpoint, path, &[], criteria, warmup, until).await
}

/// `origin` + `path`, with `query` parameters added (percent-encoded).
pub fn url_of(origin: &str, path: &str, query: &[(String, String)]) -> String {
    let mut url = format!("{origin}{path}");
    for (i, (k, v)) in query.iter().enumerate() {
        let sep = if i == 0 && !path.contains('?') {
            '?'
        } else {
            '&'
        };
        url.push(sep);
        url.push_str(&codehooks::text::pct(k));
        url.push('=');
        url.push_str(&codehooks::text::pct(v));
    }
    url
}

/// [`probe_path`], every request carrying the `query` parameters (a listener rule's
/// `query-string` conditions).
pub async fn probe_path_with(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    path: &str,
    query: &[(String, String)],
    criteria: Arc<Criteria>,
    warmup: bool,
    until: Instant,
) -> PathReport {
    let c = &criteria.checks;
    let url = url_of(&endpoint.origin, path, query);
    let mut report = PathReport {
        path: path.to_owned(),
        url: url.clone(),
        ..PathReport::default()
    };

    // Warm-up: failures are retried, not counted, until one probe passes or the period ends.
    if warmup && c.warmup_ms > 0 {
        let start = Instant::now();
        let end = (start + Duration::from_millis(c.warmup_ms)).min(until);
        loop {
            report.warmup_attempts += 1;
            let (outcome, _) = tokio::select! {
                r = probe_once(client, &url, &criteria) => r,
                _ = tokio::time::sleep_until(until) => (Verdict::Fail("timeout", String::new()), None),
            };
            if outcome == Verdict::Pass || Instant::now() + WARMUP_RETRY >= end {
                break;
            }
            tokio::time::sleep(WARMUP_RETRY).await;
        }
        report.warmup_ms = Some(start.elapsed().as_millis() as u64);
    }

    let counted_from = Instant::now();
    let planned = if c.window_ms.is_some() {
        None
    } else {
        Some(c.requests)
    };
    report.planned = planned.unwrap_or(0);
    let window_end = c
        .window_ms
        .map(|w| (Instant::now() + Duration::from_millis(w)).min(until));
    let acc = Arc::new(Mutex::new(Acc::default()));
    let issued = Arc::new(AtomicU32::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..c.concurrency.max(1) {
        let (client, url, criteria) = (client.clone(), url.clone(), Arc::clone(&criteria));
        let (acc, issued, stop) = (Arc::clone(&acc), Arc::clone(&issued), Arc::clone(&stop));
        workers.spawn(async move {
            let c = &criteria.checks;
            loop {
                if stop.load(Ordering::Relaxed) || Instant::now() >= until {
                    break;
                }
                let more = match (planned, window_end) {
                    (Some(n), _) => issued.fetch_add(1, Ordering::Relaxed) < n,
                    (None, Some(end)) => Instant::now() < end,
                    (None, None) => false,
                };
                if !more {
                    break;
                }
                let began = Instant::now();
                let (outcome, latency) = tokio::select! {
                    r = probe_once(&client, &url, &criteria) => r,
                    _ = tokio::time::sleep_until(until) => break,
                };
                {
                    let Ok(mut a) = acc.lock() else { break };
                    a.record(c, planned, outcome, latency);
                    if a.stop.is_some() {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                if c.interval_ms > 0 {
                    let next = began + Duration::from_millis(c.interval_ms);
                    tokio::time::sleep_until(next.min(until)).await;
                }
            }
        });
    }
    while workers.join_next().await.is_some() {}

    let Ok(mut a) = acc.lock().map(|mut g| std::mem::take(&mut *g)) else {
        report.stopped_early = Some("internal: statistics lost".into());
        return report;
    };
    a.latencies.sort_by(f64::total_cmp);
    report.probed_ms = counted_from.elapsed().as_millis() as u64;
    report.leading_failures = a.leading;
    report.trailing_failures = a.consecutive;
    report.attempted = a.attempted;
    report.succeeded = a.succeeded;
    report.failed = a.failed;
    report.success_rate = if a.attempted == 0 {
        0.0
    } else {
        f64::from(a.succeeded) / f64::from(a.attempted)
    };
    report.p50_ms = percentile(&a.latencies, 0.50).map(round1);
    report.p95_ms = percentile(&a.latencies, 0.95).map(round1);
    report.p99_ms = percentile(&a.latencies, 0.99).map(round1);
    report.max_consecutive_failures = a.max_consecutive;
    report.failures = a.failures;
    report.samples = a.samples;
    report.latencies = std::mem::take(&mut a.latencies);
    report.stopped_early = a.stop.or_else(|| {
        let short = planned.is_some_and(|n| a.attempted < n);
        (Instant::now() >= until && (short || a.attempted == 0))
            .then(|| "the time budget ran out".to_owned())
    });
    report
}

#[cfg(test)]
#[path = "probe_test.rs"]
mod tests;
