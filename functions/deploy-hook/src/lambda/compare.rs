//! The new version against the old under the alias (namespace `AWS/Lambda`, dimensions
//! `FunctionName`, `Resource` = `<function>:<alias>`, `ExecutedVersion`): `Invocations`,
//! `Errors`, `Throttles` and `Duration` p95/p99 of each over the same window, in one
//! `GetMetricData` call, as the two [`Side`]s the judgement compares.
//!
//! Lambda publishes these metrics with exactly that dimension set for invocations through an
//! alias (`ExecutedVersion` names the version the alias routed to). `Invocations` leaves out
//! throttled requests, yet a throttled invocation is a request the version failed to serve:
//! a side's `requests` are `Invocations + Throttles` and its `errors` are
//! `Errors + Throttles`. `Duration` is in milliseconds already. The period covers the window
//! whole, as for the load balancer ([`elb::period_s`]).

use codehooks::Result;

use crate::analysis::elb::{self, Answers};
use crate::analysis::judge::Side;
use crate::facts::MetricQuery;
use crate::lambda::metrics::{NAMESPACE, dimensions};
use crate::ports::Metrics;

/// The five queries of one version, ids `<side>_inv`, `_err`, `_thr`, `_p95`, `_p99`.
fn version_queries(
    side: &str,
    function: &str,
    alias: &str,
    version: &str,
    period_s: i32,
    out: &mut Vec<MetricQuery>,
) {
    for (suffix, metric, stat) in [
        ("inv", "Invocations", "Sum"),
        ("err", "Errors", "Sum"),
        ("thr", "Throttles", "Sum"),
        ("p95", "Duration", "p95"),
        ("p99", "Duration", "p99"),
    ] {
        out.push(MetricQuery {
            id: format!("{side}_{suffix}"),
            namespace: NAMESPACE.to_owned(),
            metric_name: metric.to_owned(),
            dimensions: dimensions(function, alias, version),
            stat: stat.to_owned(),
            period_s,
        });
    }
}

/// The queries of both versions over one window of `period_s`: the new version (`n_*`), then
/// the old (`o_*`).
pub fn queries(
    function: &str,
    alias: &str,
    new_version: &str,
    old_version: &str,
    period_s: i32,
) -> Vec<MetricQuery> {
    let mut out = Vec::with_capacity(10);
    version_queries("n", function, alias, new_version, period_s, &mut out);
    version_queries("o", function, alias, old_version, period_s, &mut out);
    out
}

/// One version's side.
fn side(a: &Answers, prefix: &str) -> Side {
    let throttles = a.sum(&format!("{prefix}_thr"));
    let add = |x: f64| (x + throttles).clamp(f64::MIN, f64::MAX);
    Side {
        requests: add(a.sum(&format!("{prefix}_inv"))),
        errors: add(a.sum(&format!("{prefix}_err"))),
        p95_ms: a.max(&format!("{prefix}_p95"), 1.0),
        p99_ms: a.max(&format!("{prefix}_p99"), 1.0),
    }
}

/// Reads both versions over `from_ms..to_ms` (one period) in one `series` call: (new, old).
pub async fn read<M: Metrics>(
    metrics: &M,
    function: &str,
    alias: &str,
    new_version: &str,
    old_version: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<(Side, Side)> {
    let queries = queries(
        function,
        alias,
        new_version,
        old_version,
        elb::period_s(from_ms, to_ms),
    );
    let a = Answers::of(metrics.series(&queries, from_ms, to_ms).await?);
    Ok((side(&a, "n"), side(&a, "o")))
}

#[cfg(test)]
#[path = "compare_test.rs"]
mod tests;
