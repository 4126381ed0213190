//! The policy's `analysis` ([`Analysis`]): which alarms gate the hook, the limits of green's
//! metrics against blue's and absolute ones, how thin traffic is handled, and the optional load.
//! An `analysis` replaces the whole `analysis` of the layer below it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The default minimum of requests (or invocations) green must serve for a verdict.
pub const DEFAULT_MIN_REQUESTS: u64 = 50;
/// The default largest rise of green's error rate over blue's (percentage points / 100).
pub const DEFAULT_MAX_ERROR_RATE_INCREASE: f64 = 0.01;
/// The default largest ratio of green's p95 latency to blue's.
pub const DEFAULT_MAX_P95_RATIO: f64 = 1.2;
/// The default latency difference below which a ratio does not fail (ms).
pub const DEFAULT_LATENCY_SLACK_MS: u64 = 5;
/// The default pause between two reads of the metrics (ms).
pub const DEFAULT_POLL_MS: u64 = 15_000;
/// The default longest wait for enough samples (ms).
pub const DEFAULT_MAX_WAIT_MS: u64 = 600_000;
/// The default ceiling of `load.rps` (`CODEHOOKS_HOOK_MAX_LOAD_RPS`).
pub const DEFAULT_LOAD_CEILING: u32 = 20;

/// What `INSUFFICIENT_DATA` means for a gating alarm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum InsufficientData {
    #[default]
    Ignore,
    Fail,
}

/// What an analysis still inconclusive at the end of its wait decides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OnInconclusive {
    #[default]
    Fail,
    Pass,
}

/// The alarms that gate the hook: by name, name prefix and/or tags (all tags must match).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlarmGate {
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub insufficient_data: InsufficientData,
}

/// The limits of green's metrics (every field optional; see the getters for the defaults).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricLimits {
    pub min_requests: Option<u64>,
    pub max_error_rate_increase: Option<f64>,
    pub max_p95_ratio: Option<f64>,
    pub max_p99_ratio: Option<f64>,
    pub max_error_rate: Option<f64>,
    pub max_p95_ms: Option<u64>,
    pub max_p99_ms: Option<u64>,
    pub latency_slack_ms: Option<u64>,
}

impl MetricLimits {
    pub fn min_requests(&self) -> u64 {
        self.min_requests.unwrap_or(DEFAULT_MIN_REQUESTS)
    }
    pub fn max_error_rate_increase(&self) -> f64 {
        self.max_error_rate_increase
            .unwrap_or(DEFAULT_MAX_ERROR_RATE_INCREASE)
    }
    pub fn max_p95_ratio(&self) -> f64 {
        self.max_p95_ratio.unwrap_or(DEFAULT_MAX_P95_RATIO)
    }
    pub fn latency_slack_ms(&self) -> u64 {
        self.latency_slack_ms.unwrap_or(DEFAULT_LATENCY_SLACK_MS)
    }
}

/// A steady rate of requests through the test listener during the analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadSpec {
    pub rps: u32,
    #[serde(default)]
    pub path: Option<String>,
}

/// The policy's `analysis`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Analysis {
    pub alarms: Option<AlarmGate>,
    pub metrics: Option<MetricLimits>,
    pub lookback_ms: Option<u64>,
    pub poll_ms: Option<u64>,
    pub max_wait_ms: Option<u64>,
    pub on_inconclusive: Option<OnInconclusive>,
    pub load: Option<LoadSpec>,
}

impl Analysis {
    pub fn poll_ms(&self) -> u64 {
        self.poll_ms.unwrap_or(DEFAULT_POLL_MS)
    }
    pub fn max_wait_ms(&self) -> u64 {
        self.max_wait_ms.unwrap_or(DEFAULT_MAX_WAIT_MS)
    }
    pub fn lookback_ms(&self) -> u64 {
        self.lookback_ms.unwrap_or(0)
    }
    pub fn on_inconclusive(&self) -> OnInconclusive {
        self.on_inconclusive.unwrap_or_default()
    }
}

/// Every problem of `a` (`where_` names its place in the policy, e.g. `hooks.AfterAllowTestTraffic.analysis`);
/// `load_ceiling` is the most `load.rps` may ask for.
pub fn validate(where_: &str, a: &Analysis, load_ceiling: u32, problems: &mut Vec<String>) {
    let mut bad = |what: String| problems.push(format!("{where_}: {what}"));
    if a.alarms.is_none() && a.metrics.is_none() {
        bad("analysis needs alarms, metrics or both".into());
    }
    if let Some(g) = &a.alarms {
        alarm_problems(g, &mut bad);
    }
    if let Some(m) = &a.metrics {
        metric_problems(m, &mut bad);
    }
    let waits = [
        ("lookbackMs", a.lookback_ms, 0, 3_600_000),
        ("pollMs", a.poll_ms, 1_000, 300_000),
        ("maxWaitMs", a.max_wait_ms, 0, 3_600_000),
    ];
    for (name, value, lo, hi) in waits {
        out_of(&mut bad, name, value, lo, hi);
    }
    if let Some(l) = &a.load {
        load_problems(l, load_ceiling, &mut bad);
    }
}

/// The longest `load.path` (characters).
const MAX_LOAD_PATH: usize = 2_048;

/// Reports `name` outside `lo..=hi`.
fn out_of(bad: &mut dyn FnMut(String), name: &str, value: Option<u64>, lo: u64, hi: u64) {
    if let Some(v) = value
        && !(lo..=hi).contains(&v)
    {
        bad(format!("{name} must be from {lo} to {hi}, got {v}"));
    }
}

/// Reports `name` outside `lo..=hi` or not a finite number.
fn out_of_f64(bad: &mut dyn FnMut(String), name: &str, value: Option<f64>, lo: f64, hi: f64) {
    if let Some(v) = value
        && !(v.is_finite() && (lo..=hi).contains(&v))
    {
        bad(format!("{name} must be from {lo} to {hi}, got {v}"));
    }
}

pub(crate) fn alarm_problems(g: &AlarmGate, bad: &mut dyn FnMut(String)) {
    if g.names.is_empty() && g.prefix.is_none() && g.tags.is_empty() {
        bad("alarms needs names, prefix or tags to select the alarms".into());
    }
    if g.names.len() > 100 {
        bad(format!(
            "alarms.names lists {} names; at most 100",
            g.names.len()
        ));
    }
    for n in &g.names {
        let len = n.chars().count();
        if n.trim().is_empty() || len > 255 {
            bad(format!(
                "alarms.names entry {:?} must be 1 to 255 characters and not blank",
                clip(n)
            ));
        }
    }
    if let Some(p) = &g.prefix {
        let len = p.chars().count();
        if p.trim().is_empty() || len > 255 {
            bad(format!(
                "alarms.prefix {:?} must be 1 to 255 characters and not blank",
                clip(p)
            ));
        }
    }
    if g.tags.len() > 10 {
        bad(format!(
            "alarms.tags lists {} tags; at most 10",
            g.tags.len()
        ));
    }
    for (k, v) in &g.tags {
        if k.is_empty() || k.chars().count() > 128 {
            bad(format!(
                "alarms.tags key {:?} must be 1 to 128 characters",
                clip(k)
            ));
        }
        if v.chars().count() > 256 {
            bad(format!(
                "alarms.tags value of {:?} must be at most 256 characters",
                clip(k)
            ));
        }
    }
}

fn metric_problems(m: &MetricLimits, bad: &mut dyn FnMut(String)) {
    out_of(bad, "metrics.minRequests", m.min_requests, 1, 1_000_000);
    let floats = [
        (
            "metrics.maxErrorRateIncrease",
            m.max_error_rate_increase,
            0.0,
            1.0,
        ),
        ("metrics.maxErrorRate", m.max_error_rate, 0.0, 1.0),
        ("metrics.maxP95Ratio", m.max_p95_ratio, 1.0, 100.0),
        ("metrics.maxP99Ratio", m.max_p99_ratio, 1.0, 100.0),
    ];
    for (name, value, lo, hi) in floats {
        out_of_f64(bad, name, value, lo, hi);
    }
    let ms = [
        ("metrics.maxP95Ms", m.max_p95_ms, 1, 600_000),
        ("metrics.maxP99Ms", m.max_p99_ms, 1, 600_000),
        ("metrics.latencySlackMs", m.latency_slack_ms, 0, 60_000),
    ];
    for (name, value, lo, hi) in ms {
        out_of(bad, name, value, lo, hi);
    }
}

fn load_problems(l: &LoadSpec, ceiling: u32, bad: &mut dyn FnMut(String)) {
    if !(1..=ceiling).contains(&l.rps) {
        bad(format!(
            "load.rps must be from 1 to {ceiling} (the ceiling CODEHOOKS_HOOK_MAX_LOAD_RPS \
             sets), got {}",
            l.rps
        ));
    }
    if let Some(p) = &l.path {
        if p.chars().count() > MAX_LOAD_PATH {
            bad(format!(
                "load.path is {} characters long; at most {MAX_LOAD_PATH}",
                p.chars().count()
            ));
        } else if !p.starts_with('/') || p.chars().any(|c| c.is_whitespace() || c.is_control()) {
            bad(format!(
                "load.path {p:?} must start with / and contain no spaces"
            ));
        }
    }
}

/// At most 80 characters of `s` for a message.
fn clip(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_owned()
    } else {
        let head: String = s.chars().take(80).collect();
        format!("{head}...")
    }
}

#[cfg(test)]
#[path = "spec_test.rs"]
mod tests;
