//! The load balancer's metrics of green and blue (namespace `AWS/ApplicationELB`) over one
//! window, in one `GetMetricData` call: per target group `RequestCount`,
//! `HTTPCode_Target_5XX_Count` and `TargetResponseTime` p95/p99; load-balancer-wide
//! `RequestCount` and `HTTPCode_ELB_5XX_Count` (ELB publishes its own 5XX per load balancer
//! only).
//!
//! The window is whole minutes and one period covers it all, so each query answers one value
//! (several if CloudWatch splits it: sums add up, percentiles take the highest). The Lambda
//! comparison shares [`period_s`] and [`Answers`].

use std::collections::HashMap;

use codehooks::{Error, Result};

use crate::analysis::judge::Side;
use crate::facts::{MetricQuery, MetricSeries};
use crate::ports::Metrics;

/// The namespace of the load balancer's metrics.
pub const NAMESPACE: &str = "AWS/ApplicationELB";
const MINUTE_MS: i64 = 60_000;
/// The latest instant a window may reach (9999-12-31T23:59:00Z): absurd times are clamped to
/// `0..=MAX_MS`, so no arithmetic on them can overflow.
pub const MAX_MS: i64 = 253_402_300_740_000;
/// The longest period (the largest multiple of 60 seconds an `i32` holds).
pub const MAX_PERIOD_S: i32 = i32::MAX / 60 * 60;

/// What is read: the load balancer and the two target groups (ARNs).
#[derive(Debug, Clone, PartialEq)]
pub struct ElbTargets {
    pub load_balancer_arn: String,
    pub green_arn: String,
    pub blue_arn: Option<String>,
}

/// What the load balancer's metrics say over the window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ElbReading {
    pub green: Side,
    pub blue: Side,
    /// Requests and ELB-generated 5XX of the whole load balancer.
    pub lb_requests: f64,
    pub elb_5xx: f64,
}

/// Whether `s` is `<kind>/<name>/<id>` with a non-empty name and id.
fn is_dimension(s: &str, kind: &str) -> bool {
    let mut parts = s.split('/');
    parts.next() == Some(kind)
        && parts.next().is_some_and(|p| !p.is_empty())
        && parts.next().is_some_and(|p| !p.is_empty())
        && parts.next().is_none()
}

/// The `LoadBalancer` dimension of an Application Load Balancer ARN (`app/<name>/<id>`).
pub fn load_balancer_dimension(arn: &str) -> Option<&str> {
    arn.split_once(":loadbalancer/")
        .map(|(_, d)| d)
        .filter(|d| is_dimension(d, "app"))
}

/// The `TargetGroup` dimension of a target group ARN (`targetgroup/<name>/<id>`).
pub fn target_group_dimension(arn: &str) -> Option<&str> {
    arn.rsplit_once(':')
        .map(|(_, d)| d)
        .filter(|d| is_dimension(d, "targetgroup"))
}

/// `ms` floored (`up` false) or rounded up to the minute, within `0..=MAX_MS`.
fn to_minute(ms: i64, up: bool) -> i64 {
    let ms = ms.clamp(0, MAX_MS);
    let floor = ms - ms.rem_euclid(MINUTE_MS);
    if up && floor < ms {
        floor + MINUTE_MS
    } else {
        floor
    }
}

/// The period covering `from_ms..to_ms` whole, in seconds: at least 60, a multiple of 60
/// (rounded up), at most [`MAX_PERIOD_S`].
pub fn period_s(from_ms: i64, to_ms: i64) -> i32 {
    let span_ms = to_ms.saturating_sub(from_ms).max(MINUTE_MS);
    let minutes = span_ms / MINUTE_MS + i64::from(span_ms % MINUTE_MS != 0);
    i32::try_from(minutes.saturating_mul(60))
        .unwrap_or(MAX_PERIOD_S)
        .min(MAX_PERIOD_S)
}

/// The window read: from `start_ms` floored to the minute to `now_ms` rounded up to the minute
/// (at least one minute), and the period covering it whole (one data point per query). Times
/// outside `0..=MAX_MS` are clamped into it.
pub fn window(start_ms: i64, now_ms: i64) -> (i64, i64, i32) {
    let from = to_minute(start_ms, false);
    let to = to_minute(now_ms, true).max(from + MINUTE_MS);
    (from, to, period_s(from, to))
}

fn query(
    id: &str,
    metric: &str,
    dimensions: &[(&str, &str)],
    stat: &str,
    period_s: i32,
) -> MetricQuery {
    MetricQuery {
        id: id.to_owned(),
        namespace: NAMESPACE.to_owned(),
        metric_name: metric.to_owned(),
        dimensions: dimensions
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        stat: stat.to_owned(),
        period_s,
    }
}

/// The four queries of one target group, ids `<side>_req`, `_t5`, `_p95`, `_p99`.
fn target_group_queries(side: &str, tg: &str, lb: &str, period_s: i32, out: &mut Vec<MetricQuery>) {
    let dims = [("TargetGroup", tg), ("LoadBalancer", lb)];
    for (suffix, metric, stat) in [
        ("req", "RequestCount", "Sum"),
        ("t5", "HTTPCode_Target_5XX_Count", "Sum"),
        ("p95", "TargetResponseTime", "p95"),
        ("p99", "TargetResponseTime", "p99"),
    ] {
        out.push(query(
            &format!("{side}_{suffix}"),
            metric,
            &dims,
            stat,
            period_s,
        ));
    }
}

fn bad_arn(what: &str, arn: &str, shape: &str) -> Error {
    Error::bad_input(format!(
        "the {what} ARN {arn:?} does not name {shape}; its CloudWatch dimension cannot be derived"
    ))
}

/// The queries of one window: green (`g_*`), blue (`b_*`, when there is a blue target group)
/// and the load balancer (`lb_req`, `lb_e5`). An ARN whose dimension cannot be derived is
/// [`Error::BadInput`].
pub fn queries(t: &ElbTargets, period_s: i32) -> Result<Vec<MetricQuery>> {
    let lb = load_balancer_dimension(&t.load_balancer_arn).ok_or_else(|| {
        bad_arn(
            "load balancer",
            &t.load_balancer_arn,
            "an Application Load Balancer (…:loadbalancer/app/<name>/<id>)",
        )
    })?;
    let tg_shape = "a target group (…:targetgroup/<name>/<id>)";
    let green = target_group_dimension(&t.green_arn)
        .ok_or_else(|| bad_arn("green target group", &t.green_arn, tg_shape))?;
    let blue = match &t.blue_arn {
        Some(arn) => Some(
            target_group_dimension(arn)
                .ok_or_else(|| bad_arn("blue target group", arn, tg_shape))?,
        ),
        None => None,
    };
    let mut out = Vec::with_capacity(10);
    target_group_queries("g", green, lb, period_s, &mut out);
    if let Some(blue) = blue {
        target_group_queries("b", blue, lb, period_s, &mut out);
    }
    let lb_dims = [("LoadBalancer", lb)];
    out.push(query("lb_req", "RequestCount", &lb_dims, "Sum", period_s));
    out.push(query(
        "lb_e5",
        "HTTPCode_ELB_5XX_Count",
        &lb_dims,
        "Sum",
        period_s,
    ));
    Ok(out)
}

/// The finite values answered per query id (NaN and infinities are dropped).
pub struct Answers(HashMap<String, Vec<f64>>);

impl Answers {
    pub fn of(series: Vec<MetricSeries>) -> Answers {
        let mut by_id: HashMap<String, Vec<f64>> = HashMap::new();
        for s in series {
            by_id
                .entry(s.id)
                .or_default()
                .extend(s.values.into_iter().filter(|v| v.is_finite()));
        }
        Answers(by_id)
    }

    fn values(&self, id: &str) -> &[f64] {
        self.0.get(id).map_or(&[], Vec::as_slice)
    }

    /// The sum of every value of `id` (0 without values; never infinite).
    pub fn sum(&self, id: &str) -> f64 {
        self.values(id)
            .iter()
            .sum::<f64>()
            .clamp(f64::MIN, f64::MAX)
    }

    /// The highest value of `id` times `scale`; `None` without values.
    pub fn max(&self, id: &str, scale: f64) -> Option<f64> {
        self.values(id)
            .iter()
            .copied()
            .reduce(f64::max)
            .map(|v| v * scale)
            .filter(|v| v.is_finite())
    }
}

/// One target group's side (`TargetResponseTime` is in seconds: percentiles become ms).
fn side(a: &Answers, prefix: &str) -> Side {
    Side {
        requests: a.sum(&format!("{prefix}_req")),
        errors: a.sum(&format!("{prefix}_t5")),
        p95_ms: a.max(&format!("{prefix}_p95"), 1_000.0),
        p99_ms: a.max(&format!("{prefix}_p99"), 1_000.0),
    }
}

/// Reads the window's metrics in one `series` call, one period over `from_ms..to_ms`.
pub async fn read<M: Metrics>(
    metrics: &M,
    t: &ElbTargets,
    from_ms: i64,
    to_ms: i64,
) -> Result<ElbReading> {
    let queries = queries(t, period_s(from_ms, to_ms))?;
    let a = Answers::of(metrics.series(&queries, from_ms, to_ms).await?);
    Ok(ElbReading {
        green: side(&a, "g"),
        blue: if t.blue_arn.is_some() {
            side(&a, "b")
        } else {
            Side::default()
        },
        lb_requests: a.sum("lb_req"),
        elb_5xx: a.sum("lb_e5"),
    })
}

#[cfg(test)]
#[path = "elb_test.rs"]
mod tests;
