//! Unit tests of the post-shift metrics, over the CloudWatch twin.

use super::*;
use crate::hook::Hook;
use crate::twins_lambda::MemoryMetrics;

/// 2023-11-14T22:13:20Z.
const SHIFT_MS: i64 = 1_700_000_000_000;
const DIMS: [(&str, &str); 3] = [
    ("FunctionName", "orders"),
    ("Resource", "orders:live"),
    ("ExecutedVersion", "7"),
];

fn checks() -> LambdaChecks {
    LambdaChecks::defaults(Hook::AfterAllowTraffic)
}

#[test]
fn the_window_runs_from_the_shift_minute_to_the_end_of_this_minute() {
    // 22:13:20 → 22:13:00; now 22:15:30 → 22:16:00.
    assert_eq!(
        window(SHIFT_MS, SHIFT_MS + 130_000),
        (1_699_999_980_000, 1_700_000_160_000)
    );
    // A now on the minute stays; a window is at least a minute long.
    assert_eq!(
        window(1_699_999_980_000, 1_700_000_040_000),
        (1_699_999_980_000, 1_700_000_040_000)
    );
    assert_eq!(
        window(SHIFT_MS, SHIFT_MS),
        (1_699_999_980_000, 1_700_000_040_000)
    );
    assert_eq!(
        window(1_699_999_980_000, 1_699_999_980_000),
        (1_699_999_980_000, 1_700_000_040_000)
    );
}

#[test]
fn queries_name_the_version_under_the_alias() {
    let q = queries("orders", "live", "7");
    assert_eq!(q.len(), 2);
    assert_eq!(
        (q[0].id.as_str(), q[0].metric_name.as_str()),
        ("errors", "Errors")
    );
    assert_eq!(
        (q[1].id.as_str(), q[1].metric_name.as_str()),
        ("throttles", "Throttles")
    );
    for q in &q {
        assert_eq!(q.namespace, "AWS/Lambda");
        assert_eq!((q.stat.as_str(), q.period_s), ("Sum", 60));
        let dims: Vec<(&str, &str)> = q
            .dimensions
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(dims, DIMS);
    }
}

#[tokio::test]
async fn errors_and_throttles_since_the_shift_are_read_and_judged() {
    let m = MemoryMetrics::new();
    m.set("Errors", &DIMS, 3.0);
    m.set("Throttles", &DIMS, 0.0);
    // Another version's errors do not count.
    m.set(
        "Errors",
        &[
            ("FunctionName", "orders"),
            ("Resource", "orders:live"),
            ("ExecutedVersion", "6"),
        ],
        50.0,
    );
    let now = SHIFT_MS + 130_000;
    let r = read(&m, "orders", "live", "7", SHIFT_MS, now)
        .await
        .unwrap();
    assert_eq!((r.errors, r.throttles, r.datapoints), (3.0, 0.0, 2));
    assert_eq!((r.from_ms, r.to_ms), window(SHIFT_MS, now));
    assert_eq!(r.dimensions["Resource"], "orders:live");
    let calls = m.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0].1, calls[0].2), window(SHIFT_MS, now));

    let mut out = Vec::new();
    evaluate(&checks(), &r, &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!((out[0].check.as_str(), out[0].passed), ("errors", false));
    assert_eq!(
        out[0].detail,
        "3 errors of version 7 under orders:live since 2023-11-14T22:13:00Z (limit 0)"
    );
    assert_eq!((out[1].check.as_str(), out[1].passed), ("throttles", true));

    let lenient = LambdaChecks {
        max_errors: 3,
        ..checks()
    };
    let mut out = Vec::new();
    evaluate(&lenient, &r, &mut out);
    assert!(out.iter().all(|c| c.passed));
}

#[tokio::test]
async fn throttles_above_the_limit_fail_and_no_data_passes() {
    let m = MemoryMetrics::new();
    m.set("Throttles", &DIMS, 2.5);
    let r = read(&m, "orders", "live", "7", SHIFT_MS, SHIFT_MS + 1)
        .await
        .unwrap();
    let mut out = Vec::new();
    evaluate(&checks(), &r, &mut out);
    assert!(out[0].passed && !out[1].passed);
    assert!(
        out[1].detail.starts_with("2.5 throttles"),
        "{}",
        out[1].detail
    );

    let r = read(
        &MemoryMetrics::new(),
        "orders",
        "live",
        "7",
        SHIFT_MS,
        SHIFT_MS + 1,
    )
    .await
    .unwrap();
    assert_eq!((r.errors, r.throttles, r.datapoints), (0.0, 0.0, 0));
}

#[tokio::test]
async fn a_read_failure_is_an_error() {
    let m = MemoryMetrics::new();
    m.fail(1, false);
    let e = read(&m, "orders", "live", "7", SHIFT_MS, SHIFT_MS + 1)
        .await
        .unwrap_err();
    assert_eq!(e.aws_code(), Some("AccessDeniedException"));
}
