//! The statistics of the probes of one path ([`PathReport`]), the running tally that stops the
//! probes as soon as the result can no longer pass, and the pass criteria applied to them
//! ([`evaluate`]).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::checks::Checks;
use crate::criteria::Verdict;

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
    /// Every answer's latency (ms), sorted: what a window spanning invocations merges.
    #[serde(skip)]
    pub latencies: Vec<f64>,
    /// How long the counted probes ran (ms, after the warm-up).
    #[serde(skip)]
    pub probed_ms: u64,
    /// Failures before the first passing probe, and after the last one.
    #[serde(skip)]
    pub leading_failures: u32,
    #[serde(skip)]
    pub trailing_failures: u32,
}

impl PathReport {
    /// One line: `url: passed of attempted passed, p95 ...`.
    pub fn line(&self) -> String {
        format!(
            "{}: {} of {} passed, p95 {}",
            self.url,
            self.succeeded,
            self.attempted,
            self.p95_ms
                .map(|v| format!("{v:.1} ms"))
                .unwrap_or_else(|| "-".into())
        )
    }
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
pub(crate) struct Acc {
    pub(crate) attempted: u32,
    pub(crate) succeeded: u32,
    pub(crate) failed: u32,
    pub(crate) consecutive: u32,
    pub(crate) max_consecutive: u32,
    pub(crate) latencies: Vec<f64>,
    pub(crate) slow_p95: u32,
    pub(crate) slow_p99: u32,
    pub(crate) failures: BTreeMap<String, u32>,
    pub(crate) samples: Vec<String>,
    pub(crate) stop: Option<String>,
    /// Failures before the first pass.
    pub(crate) leading: u32,
    pub(crate) passed_once: bool,
}

/// How many of `n` may fail (or be slow) while the result can still pass at `rate`.
pub(crate) fn allowance(n: u32, rate: f64) -> u32 {
    let n = f64::from(n);
    (n - (rate * n - 1e-9).ceil()).max(0.0) as u32
}

impl Acc {
    pub(crate) fn record(
        &mut self,
        c: &Checks,
        planned: Option<u32>,
        outcome: Verdict,
        latency: Option<f64>,
    ) {
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
            Verdict::Pass => {
                self.succeeded += 1;
                self.consecutive = 0;
                self.passed_once = true;
            }
            Verdict::Fail(kind, detail) => {
                self.failed += 1;
                if !self.passed_once {
                    self.leading += 1;
                }
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

pub(crate) fn round1(v: f64) -> f64 {
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
