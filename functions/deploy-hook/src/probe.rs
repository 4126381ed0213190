//! HTTP probes against the green task set through a load balancer listener.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::policy::Checks;

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

/// One probe's outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Pass,
    /// Failure category (`status`, `timeout`, `connect`, `body`, `json`, `version`, `error`) and detail.
    Fail(&'static str, String),
}

/// What the per-request criteria compare against.
#[derive(Debug, Clone)]
pub struct Criteria {
    pub checks: Checks,
    /// The resolved version token, if a version assertion is configured.
    pub version_token: Option<String>,
}

impl Criteria {
    fn needs_body(&self) -> bool {
        self.checks.body_contains.is_some()
            || self.checks.json_field.is_some()
            || self
                .checks
                .version
                .as_ref()
                .is_some_and(|v| v.header.is_none())
    }

    /// Judges a response.
    pub fn judge(&self, status: u16, headers: &reqwest::header::HeaderMap, body: &[u8]) -> Outcome {
        if !self.checks.accepts(status) {
            return Outcome::Fail("status", format!("HTTP {status}"));
        }
        let text = String::from_utf8_lossy(body);
        if let Some(want) = &self.checks.body_contains
            && !text.contains(want.as_str())
        {
            return Outcome::Fail("body", format!("body does not contain {want:?}"));
        }
        if let Some(j) = &self.checks.json_field {
            match serde_json::from_slice::<Value>(body) {
                Err(_) => return Outcome::Fail("json", "body is not JSON".into()),
                Ok(v) => match v.pointer(&j.pointer) {
                    Some(got) if *got == j.equals => {}
                    Some(got) => {
                        return Outcome::Fail(
                            "json",
                            format!("{} is {got}, want {}", j.pointer, j.equals),
                        );
                    }
                    None => return Outcome::Fail("json", format!("{} is missing", j.pointer)),
                },
            }
        }
        if let (Some(v), Some(token)) = (&self.checks.version, &self.version_token) {
            match &v.header {
                Some(h) => {
                    let got = headers
                        .get(h.as_str())
                        .and_then(|x| x.to_str().ok())
                        .unwrap_or("");
                    if !got.contains(token.as_str()) {
                        return Outcome::Fail(
                            "version",
                            format!("header {h} is {got:?}, not the new revision {token:?}"),
                        );
                    }
                }
                None => {
                    if !text.contains(token.as_str()) {
                        return Outcome::Fail(
                            "version",
                            format!("body does not name the new revision {token:?}"),
                        );
                    }
                }
            }
        }
        Outcome::Pass
    }
}

/// Builds the probe client: bounded timeouts, no redirects followed, no proxy, TLS verified.
pub fn client(checks: &Checks, endpoint: &Endpoint) -> Result<reqwest::Client, String> {
    let timeout = Duration::from_millis(checks.timeout_ms);
    let mut b = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(3)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .pool_max_idle_per_host(checks.concurrency as usize)
        .user_agent(concat!("codehooks-deploy-hook/", env!("CARGO_PKG_VERSION")));
    if let Some((host, addrs)) = &endpoint.resolve {
        b = b.resolve_to_addrs(host, addrs);
    }
    b.build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Sends one probe and judges it; returns the outcome and, for an answer, its latency.
pub async fn probe_once(
    client: &reqwest::Client,
    url: &str,
    criteria: &Criteria,
) -> (Outcome, Option<f64>) {
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

fn classify(e: &reqwest::Error) -> Outcome {
    let chain = codehooks::error::error_chain(e);
    if e.is_timeout() {
        Outcome::Fail("timeout", "no answer within the per-request timeout".into())
    } else if e.is_connect() {
        Outcome::Fail("connect", format!("cannot connect: {chain}"))
    } else {
        Outcome::Fail("error", chain)
    }
}

/// The statistics and verdict of the probes of one path.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PathReport {
    pub path: String,
    pub url: String,
    pub planned: u32,
    pub attempted: u32,
    pub succeeded: u32,
    pub failed: u32,
    pub success_rate: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_consecutive_failures: u32,
    pub failures: BTreeMap<String, u32>,
    pub samples: Vec<String>,
    pub warmup_ms: Option<u64>,
    pub warmup_attempts: u32,
    pub stopped_early: Option<String>,
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

#[derive(Default)]
struct Acc {
    attempted: u32,
    succeeded: u32,
    failed: u32,
    consecutive: u32,
    max_consecutive: u32,
    latencies: Vec<f64>,
    slow_p95: u32,
    slow_p99: u32,
    failures: BTreeMap<String, u32>,
    samples: Vec<String>,
    stop: Option<String>,
}

/// How many of `n` may fail (or be slow) while the result can still pass at `rate`.
fn allowance(n: u32, rate: f64) -> u32 {
    let n = f64::from(n);
    (n - (rate * n - 1e-9).ceil()).max(0.0) as u32
}

impl Acc {
    fn record(&mut self, c: &Checks, planned: Option<u32>, outcome: Outcome, latency: Option<f64>) {
        self.attempted += 1;
        if let Some(ms) = latency {
            self.latencies.push(ms);
            if c.max_p95_ms.is_some_and(|m| ms > m as f64) {
                self.slow_p95 += 1;
            }
            if c.max_p99_ms.is_some_and(|m| ms > m as f64) {
                self.slow_p99 += 1;
            }
        }
        match outcome {
            Outcome::Pass => {
                self.succeeded += 1;
                self.consecutive = 0;
            }
            Outcome::Fail(kind, detail) => {
                self.failed += 1;
                self.consecutive += 1;
                self.max_consecutive = self.max_consecutive.max(self.consecutive);
                *self.failures.entry(kind.to_owned()).or_default() += 1;
                if self.samples.len() < 5 && !self.samples.contains(&detail) {
                    self.samples.push(detail);
                }
            }
        }
        if self.stop.is_some() {
            return;
        }
        if self.consecutive >= c.max_consecutive_failures {
            self.stop = Some(format!("{} consecutive failures", self.consecutive));
        } else if let Some(n) = planned {
            if self.failed > allowance(n, c.min_success_rate) {
                self.stop = Some(format!(
                    "{} of {n} probes failed: the success rate can no longer reach {}",
                    self.failed, c.min_success_rate
                ));
            } else if c.max_p95_ms.is_some() && self.slow_p95 > allowance(n, 0.95) {
                self.stop = Some(format!(
                    "{} probes slower than the p95 limit: p95 can no longer pass",
                    self.slow_p95
                ));
            } else if c.max_p99_ms.is_some() && self.slow_p99 > allowance(n, 0.99) {
                self.stop = Some(format!(
                    "{} probes slower than the p99 limit: p99 can no longer pass",
                    self.slow_p99
                ));
            }
        }
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
    let c = &criteria.checks;
    let url = format!("{}{}", endpoint.origin, path);
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
                _ = tokio::time::sleep_until(until) => (Outcome::Fail("timeout", String::new()), None),
            };
            if outcome == Outcome::Pass || Instant::now() + WARMUP_RETRY >= end {
                break;
            }
            tokio::time::sleep(WARMUP_RETRY).await;
        }
        report.warmup_ms = Some(start.elapsed().as_millis() as u64);
    }

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
    report.stopped_early = a.stop.or_else(|| {
        let short = planned.is_some_and(|n| a.attempted < n);
        (Instant::now() >= until && (short || a.attempted == 0))
            .then(|| "the time budget ran out".to_owned())
    });
    report
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// One named check and whether it passed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    pub check: String,
    pub passed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub detail: String,
}

impl CheckResult {
    pub fn new(check: &str, passed: bool, path: Option<&str>, detail: impl Into<String>) -> Self {
        CheckResult {
            check: check.to_owned(),
            passed,
            path: path.map(str::to_owned),
            detail: detail.into(),
        }
    }
}

/// The pass criteria applied to one path's statistics.
pub fn evaluate(c: &Checks, r: &PathReport, out: &mut Vec<CheckResult>) {
    let p = Some(r.path.as_str());
    let reasons = if r.failures.is_empty() {
        String::new()
    } else {
        let parts: Vec<String> = r
            .failures
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        format!(" (failures: {})", parts.join(", "))
    };
    if r.attempted == 0 {
        out.push(CheckResult::new(
            "successRate",
            false,
            p,
            format!("no probe of {} completed", r.url),
        ));
    } else {
        out.push(CheckResult::new(
            "successRate",
            r.success_rate + 1e-9 >= c.min_success_rate,
            p,
            format!(
                "{} of {} probes passed ({:.1}%, minimum {:.1}%){reasons}",
                r.succeeded,
                r.attempted,
                r.success_rate * 100.0,
                c.min_success_rate * 100.0
            ),
        ));
    }
    for (name, limit, got) in [
        ("p95Latency", c.max_p95_ms, r.p95_ms),
        ("p99Latency", c.max_p99_ms, r.p99_ms),
    ] {
        if let (Some(limit), Some(got)) = (limit, got) {
            out.push(CheckResult::new(
                name,
                got <= limit as f64,
                p,
                format!("{got:.1} ms (limit {limit} ms)"),
            ));
        }
    }
    out.push(CheckResult::new(
        "consecutiveFailures",
        r.max_consecutive_failures < c.max_consecutive_failures,
        p,
        format!(
            "{} in a row (limit {})",
            r.max_consecutive_failures, c.max_consecutive_failures
        ),
    ));
    if let Some(reason) = &r.stopped_early
        && reason.contains("time budget")
    {
        out.push(CheckResult::new(
            "deadline",
            false,
            p,
            format!(
                "probes stopped after {} of {}: {reason}",
                r.attempted, r.planned
            ),
        ));
    }
}

#[cfg(test)]
#[path = "probe_test.rs"]
mod tests;
