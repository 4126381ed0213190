//! The judgement of green's metrics ([`judge`]): against blue's over the same window (relative
//! limits) and against absolute limits, each check `pass`, `fail` or `inconclusive` when green
//! served too few requests to say. Pure: no I/O, no NaN.

use serde::Serialize;

use crate::analysis::spec::MetricLimits;

/// One side's numbers over the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Side {
    /// Requests (ECS) or invocations (Lambda).
    pub requests: f64,
    /// Failed requests (target 5XX) or invocation errors.
    pub errors: f64,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    Pass,
    Fail,
    Inconclusive,
}

/// One judged metric, with its numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricCheck {
    /// `errorRate`, `p95Latency`, `p99Latency` or `elbErrorRate`.
    pub check: String,
    pub outcome: Outcome,
    pub green: Option<f64>,
    pub blue: Option<f64>,
    /// The effective limit green was held to.
    pub limit: Option<f64>,
    pub green_samples: u64,
    pub blue_samples: u64,
    pub detail: String,
}

/// Judges green against blue and the absolute limits: `errorRate` and `p95Latency` always,
/// `p99Latency` when the policy sets `maxP99Ratio` or `maxP99Ms`. Counts that are not finite
/// or below zero count as zero, percentiles that are not finite or below zero as missing.
pub fn judge(limits: &MetricLimits, green: &Side, blue: &Side) -> Vec<MetricCheck> {
    let g = Clean::of(green);
    let b = Clean::of(blue);
    let min = limits.min_requests().max(1);
    let mut out = vec![
        error_rate(limits, &g, &b, min),
        latency(limits, Pct::P95, &g, &b, min),
    ];
    if limits.max_p99_ratio.is_some() || limits.max_p99_ms.is_some() {
        out.push(latency(limits, Pct::P99, &g, &b, min));
    }
    if g.samples < min {
        for c in &mut out {
            c.outcome = Outcome::Inconclusive;
            c.detail = format!("green served {} of the {min} requests needed", g.samples);
        }
    }
    out
}

/// The `elbErrorRate` check: the 5XX the load balancer generated itself (no target answered)
/// over all its requests, against `maxErrorRate`; `None` without that limit. Such 5XX may
/// count requests `RequestCount` leaves out (rejected before a target was chosen), so the
/// sample is the larger of the two counts and the rate at most 100%.
pub fn elb_error_rate(
    max_error_rate: Option<f64>,
    lb_requests: f64,
    elb_5xx: f64,
    min_requests: u64,
) -> Option<MetricCheck> {
    let max = rate_limit(max_error_rate)?;
    let errors = count(elb_5xx);
    let requests = count(lb_requests).max(errors);
    let samples = samples(requests);
    let min = min_requests.max(1);
    let rate = (requests > 0.0).then(|| errors / requests);
    let (outcome, detail) = match rate {
        Some(r) if samples >= min => (
            if exceeds(r, max) {
                Outcome::Fail
            } else {
                Outcome::Pass
            },
            format!(
                "load balancer 5XX {} of {samples} requests; limit at most {} (maxErrorRate)",
                pct(r),
                pct(max)
            ),
        ),
        _ => (
            Outcome::Inconclusive,
            format!("the load balancer served {samples} of the {min} requests needed"),
        ),
    };
    Some(check(
        "elbErrorRate",
        outcome,
        [rate, None, Some(max)],
        (samples, 0),
        detail,
    ))
}

/// Limits are exceeded only beyond float noise.
fn exceeds(value: f64, limit: f64) -> bool {
    value > limit + 1e-9 * limit.abs().max(1.0)
}

/// A count made safe: not finite or below zero counts as zero.
fn count(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 { x } else { 0.0 }
}

/// A rate limit made safe: not finite or below zero is none, above one is one.
fn rate_limit(r: Option<f64>) -> Option<f64> {
    r.filter(|r| r.is_finite() && *r >= 0.0).map(|r| r.min(1.0))
}

/// Percentiles above this (ms, some 30 years) are not latencies: they count as missing.
const MAX_MS: f64 = 1e12;

/// A safe count as a whole number of samples.
fn samples(x: f64) -> u64 {
    // `as` saturates, and `count` already made NaN zero.
    x.round() as u64
}

/// One side made safe for judging.
struct Clean {
    samples: u64,
    /// Errors over requests; none without requests.
    rate: Option<f64>,
    p95: Option<f64>,
    p99: Option<f64>,
}

impl Clean {
    fn of(s: &Side) -> Clean {
        let requests = count(s.requests);
        let errors = count(s.errors).min(requests);
        let ms = |v: Option<f64>| v.filter(|v| (0.0..=MAX_MS).contains(v));
        Clean {
            samples: samples(requests),
            rate: (requests > 0.0).then(|| errors / requests),
            p95: ms(s.p95_ms),
            p99: ms(s.p99_ms),
        }
    }
}

/// A check with every number finite.
fn check(
    name: &str,
    outcome: Outcome,
    [green, blue, limit]: [Option<f64>; 3],
    (green_samples, blue_samples): (u64, u64),
    detail: String,
) -> MetricCheck {
    let finite = |v: Option<f64>| v.filter(|v| v.is_finite());
    MetricCheck {
        check: name.to_owned(),
        outcome,
        green: finite(green),
        blue: finite(blue),
        limit: finite(limit),
        green_samples,
        blue_samples,
        detail,
    }
}

/// The smaller of two optional limits.
fn tighter(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    a.into_iter().chain(b).reduce(f64::min)
}

/// A rate as a percentage: one decimal, three when that would show a non-zero rate as zero.
fn pct(rate: f64) -> String {
    let p = rate * 100.0;
    if p > 0.0 && p < 0.05 {
        format!("{p:.3}%")
    } else {
        format!("{p:.1}%")
    }
}

/// Milliseconds: whole above 100, one decimal below unless whole.
fn ms(v: f64) -> String {
    if v >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0} ms")
    } else {
        format!("{v:.1} ms")
    }
}

/// Why blue cannot be compared with, if it cannot.
fn blue_unusable(b: &Clean, value: Option<f64>, what: &str, min: u64) -> Option<String> {
    if b.samples < min {
        Some(format!(
            "blue served {} of the {min} requests needed to compare",
            b.samples
        ))
    } else if value.is_none() {
        Some(format!("blue reported no {what}"))
    } else {
        None
    }
}

/// The error rate against blue's plus `maxErrorRateIncrease` and against `maxErrorRate`.
fn error_rate(l: &MetricLimits, g: &Clean, b: &Clean, min: u64) -> MetricCheck {
    let increase = rate_limit(Some(l.max_error_rate_increase()));
    let absolute = rate_limit(l.max_error_rate);
    let unusable = blue_unusable(b, b.rate, "requests", min);
    let relative = match (unusable.is_none(), b.rate, increase) {
        (true, Some(br), Some(i)) => Some(br + i),
        _ => None,
    };
    let side = |rate: Option<f64>, n: u64, unit: &str| match rate {
        Some(r) => format!("{} of {n}{unit}", pct(r)),
        None => "no requests".to_owned(),
    };
    let mut detail = format!(
        "green {}, blue {}",
        side(g.rate, g.samples, " requests"),
        side(b.rate, b.samples, "")
    );
    let mut parts = Vec::new();
    if let (Some(r), Some(i)) = (relative, increase) {
        parts.push(format!("blue + {:.1} pp = {}", i * 100.0, pct(r)));
    }
    if let Some(a) = absolute {
        parts.push(format!("at most {} (maxErrorRate)", pct(a)));
    }
    explain(&mut detail, unusable, &parts, "maxErrorRate");
    check(
        "errorRate",
        judged(g.rate, relative, absolute),
        [g.rate, b.rate, tighter(relative, absolute)],
        (g.samples, b.samples),
        detail,
    )
}

/// Pass, fail or inconclusive for a value against its limits.
fn judged(value: Option<f64>, relative: Option<f64>, absolute: Option<f64>) -> Outcome {
    let Some(v) = value else {
        return Outcome::Inconclusive;
    };
    if [relative, absolute]
        .into_iter()
        .flatten()
        .any(|l| exceeds(v, l))
    {
        Outcome::Fail
    } else if relative.is_none() && absolute.is_none() {
        Outcome::Inconclusive
    } else {
        Outcome::Pass
    }
}

/// Ends a detail: why blue was not compared with, and the limits.
fn explain(detail: &mut String, unusable: Option<String>, parts: &[String], abs_name: &str) {
    if let Some(why) = unusable {
        if parts.is_empty() {
            detail.push_str(&format!(
                "; {why}, and no absolute limit ({abs_name}) is set"
            ));
            return;
        }
        detail.push_str(&format!("; {why}: comparison skipped"));
    }
    if parts.is_empty() {
        detail.push_str("; no limit applies");
    } else {
        detail.push_str(&format!("; limit {}", parts.join(" and ")));
    }
}

/// A latency percentile.
#[derive(Clone, Copy)]
enum Pct {
    P95,
    P99,
}

/// A percentile against `ratio` x blue's (beyond the slack) and against the absolute limit.
fn latency(l: &MetricLimits, p: Pct, g: &Clean, b: &Clean, min: u64) -> MetricCheck {
    let (name, what, abs_name, ratio, absolute, gv, bv) = match p {
        Pct::P95 => (
            "p95Latency",
            "p95",
            "maxP95Ms",
            Some(l.max_p95_ratio()),
            l.max_p95_ms,
            g.p95,
            b.p95,
        ),
        Pct::P99 => (
            "p99Latency",
            "p99",
            "maxP99Ms",
            l.max_p99_ratio,
            l.max_p99_ms,
            g.p99,
            b.p99,
        ),
    };
    // Validated ratios are 1..=100; a wilder one is no limit.
    let ratio = ratio.filter(|r| (0.0..=1e6).contains(r));
    let absolute = absolute.map(|a| a as f64);
    let slack = l.latency_slack_ms() as f64;
    let Some(gv) = gv else {
        let detail = format!(
            "green served {} requests but reported no {what} latency",
            g.samples
        );
        return check(
            name,
            Outcome::Inconclusive,
            [None, bv, None],
            (g.samples, b.samples),
            detail,
        );
    };
    let blue_text = bv.map_or_else(|| "none".to_owned(), ms);
    let mut detail = format!(
        "green {what} {}, blue {blue_text} over {}/{} requests",
        ms(gv),
        g.samples,
        b.samples
    );
    // Without a ratio the check is absolute only: blue does not matter.
    let unusable = ratio.and_then(|_| blue_unusable(b, bv, &format!("{what} latency"), min));
    let mut parts = Vec::new();
    let relative = match (unusable.is_none(), bv, ratio) {
        (true, Some(bv), Some(r)) => {
            let times = r * bv;
            let plus = bv + slack;
            parts.push(if times >= plus {
                format!("{r} x blue = {}", ms(times))
            } else {
                format!(
                    "blue + {} slack = {} (more than {r} x blue = {})",
                    ms(slack),
                    ms(plus),
                    ms(times)
                )
            });
            Some(times.max(plus))
        }
        _ => None,
    };
    if let Some(a) = absolute {
        parts.push(format!("at most {} ({abs_name})", ms(a)));
    }
    explain(&mut detail, unusable, &parts, abs_name);
    check(
        name,
        judged(Some(gv), relative, absolute),
        [Some(gv), bv, tighter(relative, absolute)],
        (g.samples, b.samples),
        detail,
    )
}

/// The outcome of several checks: any `fail` fails, else any `inconclusive` is inconclusive.
pub fn overall(checks: &[MetricCheck]) -> Outcome {
    if checks.iter().any(|c| c.outcome == Outcome::Fail) {
        Outcome::Fail
    } else if checks.iter().any(|c| c.outcome == Outcome::Inconclusive) {
        Outcome::Inconclusive
    } else {
        Outcome::Pass
    }
}

#[cfg(test)]
#[path = "judge_test.rs"]
mod tests;
