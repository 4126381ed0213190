//! After the traffic shift, real traffic counts too: the target version's own `Errors` and
//! `Throttles` under the alias since the shift, from CloudWatch (namespace `AWS/Lambda`,
//! dimensions `FunctionName`, `Resource` = `<function>:<alias>`, `ExecutedVersion`; `Sum` per
//! minute, from the minute the shift began to now), against `maxErrors` / `maxThrottles`.

use std::collections::BTreeMap;

use codehooks::Result;
use serde::Serialize;

use crate::facts::MetricQuery;
use crate::lambda::policy::LambdaChecks;
use crate::ports::Metrics;
use crate::stats::CheckResult;

/// The namespace of Lambda's own metrics.
pub const NAMESPACE: &str = "AWS/Lambda";
/// The period of the queries, in seconds.
pub const PERIOD_S: i32 = 60;
const MINUTE_MS: i64 = 60_000;

/// What CloudWatch says of the target version since the shift.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsReport {
    pub namespace: String,
    pub dimensions: BTreeMap<String, String>,
    /// The time range read (epoch milliseconds).
    pub from_ms: i64,
    pub to_ms: i64,
    pub errors: f64,
    pub throttles: f64,
    /// Data points found (0: no invocation of the version recorded yet).
    pub datapoints: usize,
}

/// The dimensions of the target version's metrics under the alias.
pub fn dimensions(function: &str, alias: &str, version: &str) -> Vec<(String, String)> {
    vec![
        ("FunctionName".to_owned(), function.to_owned()),
        ("Resource".to_owned(), format!("{function}:{alias}")),
        ("ExecutedVersion".to_owned(), version.to_owned()),
    ]
}

/// The two queries: `errors` and `throttles` (Sum per minute).
pub fn queries(function: &str, alias: &str, version: &str) -> Vec<MetricQuery> {
    [("errors", "Errors"), ("throttles", "Throttles")]
        .into_iter()
        .map(|(id, metric)| MetricQuery {
            id: id.to_owned(),
            namespace: NAMESPACE.to_owned(),
            metric_name: metric.to_owned(),
            dimensions: dimensions(function, alias, version),
            stat: "Sum".to_owned(),
            period_s: PERIOD_S,
        })
        .collect()
}

/// The time range: from the shift floored to the minute to now rounded up to the minute
/// (so the current minute counts), at least one minute long.
pub fn window(shifted_at_ms: i64, now_ms: i64) -> (i64, i64) {
    let from = shifted_at_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
    let to =
        (now_ms.div_euclid(MINUTE_MS) + i64::from(now_ms.rem_euclid(MINUTE_MS) != 0)) * MINUTE_MS;
    (from, to.max(from + MINUTE_MS))
}

/// Reads the target version's errors and throttles since the shift.
pub async fn read<M: Metrics>(
    metrics: &M,
    function: &str,
    alias: &str,
    version: &str,
    shifted_at_ms: i64,
    now_ms: i64,
) -> Result<MetricsReport> {
    let (from_ms, to_ms) = window(shifted_at_ms, now_ms);
    let sums = metrics
        .sums(&queries(function, alias, version), from_ms, to_ms)
        .await?;
    let total = |id: &str| {
        sums.iter()
            .filter(|s| s.id == id)
            .fold((0.0, 0), |(t, n), s| (t + s.sum, n + s.datapoints))
    };
    let (errors, e_points) = total("errors");
    let (throttles, t_points) = total("throttles");
    Ok(MetricsReport {
        namespace: NAMESPACE.to_owned(),
        dimensions: dimensions(function, alias, version).into_iter().collect(),
        from_ms,
        to_ms,
        errors,
        throttles,
        datapoints: e_points + t_points,
    })
}

/// The limits applied to the report (`errors`, `throttles`).
pub fn evaluate(c: &LambdaChecks, r: &MetricsReport, out: &mut Vec<CheckResult>) {
    let function = r.dimensions.get("Resource").map_or("", String::as_str);
    let version = r
        .dimensions
        .get("ExecutedVersion")
        .map_or("", String::as_str);
    let since = codehooks::time::rfc3339(u64::try_from(r.from_ms / 1_000).unwrap_or_default());
    for (check, what, got, limit) in [
        ("errors", "errors", r.errors, c.max_errors),
        ("throttles", "throttles", r.throttles, c.max_throttles),
    ] {
        out.push(CheckResult::new(
            check,
            got <= limit as f64,
            None,
            format!(
                "{} {what} of version {version} under {function} since {since} (limit {limit})",
                fmt_count(got)
            ),
        ));
    }
}

/// A count as CloudWatch gives it (a float), without a needless `.0`.
fn fmt_count(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
#[path = "metrics_test.rs"]
mod tests;
