//! Unit tests of the new-against-old reading of a Lambda alias, over the CloudWatch twin.

use codehooks::Error;

use super::*;
use crate::twins_lambda::MemoryMetrics;

/// 2023-11-14T22:13:00Z.
const FROM: i64 = 1_699_999_980_000;

fn version(v: &str) -> [(&'static str, String); 3] {
    [
        ("FunctionName", "orders".to_owned()),
        ("Resource", "orders:live".to_owned()),
        ("ExecutedVersion", v.to_owned()),
    ]
}

fn set(m: &MemoryMetrics, v: &str, metric: &str, stat: &str, values: &[f64]) {
    let d = version(v);
    let dims: Vec<(&str, &str)> = d.iter().map(|(k, v)| (*k, v.as_str())).collect();
    m.set_series_in("AWS/Lambda", metric, &dims, stat, values);
}

#[test]
fn queries_name_each_version_under_the_alias() {
    let q = queries("orders", "live", "8", "7", 300);
    let shape: Vec<(&str, &str, &str)> = q
        .iter()
        .map(|q| (q.id.as_str(), q.metric_name.as_str(), q.stat.as_str()))
        .collect();
    assert_eq!(
        shape,
        [
            ("n_inv", "Invocations", "Sum"),
            ("n_err", "Errors", "Sum"),
            ("n_thr", "Throttles", "Sum"),
            ("n_p95", "Duration", "p95"),
            ("n_p99", "Duration", "p99"),
            ("o_inv", "Invocations", "Sum"),
            ("o_err", "Errors", "Sum"),
            ("o_thr", "Throttles", "Sum"),
            ("o_p95", "Duration", "p95"),
            ("o_p99", "Duration", "p99"),
        ]
    );
    for q in &q {
        assert_eq!((q.namespace.as_str(), q.period_s), ("AWS/Lambda", 300));
        let v = if q.id.starts_with("n_") { "8" } else { "7" };
        let want: Vec<(String, String)> = version(v)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert_eq!(q.dimensions, want, "{}", q.id);
    }
}

#[tokio::test]
async fn throttles_count_as_failed_requests_and_duration_stays_in_ms() {
    let m = MemoryMetrics::new();
    set(&m, "8", "Invocations", "Sum", &[90.0, 10.0]);
    set(&m, "8", "Errors", "Sum", &[3.0]);
    set(&m, "8", "Throttles", "Sum", &[2.0]);
    set(&m, "8", "Duration", "p95", &[120.0, 180.5, f64::NAN]);
    set(&m, "8", "Duration", "p99", &[400.0]);
    set(&m, "7", "Invocations", "Sum", &[1000.0]);
    set(&m, "7", "Errors", "Sum", &[1.0]);
    set(&m, "7", "Duration", "p95", &[100.0]);
    // The function's own totals (no ExecutedVersion) do not count.
    m.set_series_in(
        "AWS/Lambda",
        "Invocations",
        &[("FunctionName", "orders"), ("Resource", "orders:live")],
        "Sum",
        &[1e6],
    );
    let to = FROM + 240_000;
    let (new, old) = read(&m, "orders", "live", "8", "7", FROM, to)
        .await
        .unwrap();
    assert_eq!(
        new,
        Side {
            requests: 102.0,
            errors: 5.0,
            p95_ms: Some(180.5),
            p99_ms: Some(400.0),
        }
    );
    assert_eq!(
        old,
        Side {
            requests: 1000.0,
            errors: 1.0,
            p95_ms: Some(100.0),
            p99_ms: None,
        }
    );
    let calls = m.series_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0].1, calls[0].2), (FROM, to));
    assert!(calls[0].0.iter().all(|q| q.period_s == 240));
}

#[tokio::test]
async fn no_traffic_reads_as_zero_requests_and_no_percentiles() {
    let m = MemoryMetrics::new();
    let (new, old) = read(&m, "orders", "live", "8", "7", FROM, FROM + 1)
        .await
        .unwrap();
    assert_eq!((new, old), (Side::default(), Side::default()));
    // A range shorter than a minute is read with a one-minute period.
    assert!(m.series_calls()[0].0.iter().all(|q| q.period_s == 60));
}

#[tokio::test]
async fn a_failed_read_is_the_error() {
    let m = MemoryMetrics::new();
    m.fail(1, false);
    let e = read(&m, "orders", "live", "8", "7", FROM, FROM + 60_000)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Aws {
                operation: "GetMetricData",
                retryable: false,
                ..
            }
        ),
        "{e:?}"
    );
}
