//! Unit tests of the load balancer's metrics: the window, the dimensions, the queries, and a
//! read over the CloudWatch twin.

use proptest::prelude::*;

use super::*;
use crate::twins_lambda::MemoryMetrics;

/// 2023-11-14T22:13:20Z.
const T: i64 = 1_700_000_000_000;
/// 2023-11-14T22:13:00Z.
const T_MIN: i64 = 1_699_999_980_000;
const LB: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188";
const GREEN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-green/73e2d6bc24d8a067";
const BLUE: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-blue/943f017f100becff";
const LB_DIM: &str = "app/shop/50dc6c495c0c9188";
const GREEN_DIM: &str = "targetgroup/shop-green/73e2d6bc24d8a067";
const BLUE_DIM: &str = "targetgroup/shop-blue/943f017f100becff";

fn targets(blue: bool) -> ElbTargets {
    ElbTargets {
        load_balancer_arn: LB.to_owned(),
        green_arn: GREEN.to_owned(),
        blue_arn: blue.then(|| BLUE.to_owned()),
    }
}

fn dims(q: &MetricQuery) -> Vec<(&str, &str)> {
    q.dimensions
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[test]
fn the_window_runs_from_the_start_minute_to_the_end_of_this_minute() {
    // 22:13:20 → 22:13:00; now 22:15:30 → 22:16:00: three minutes, one period.
    assert_eq!(window(T, T + 130_000), (T_MIN, T_MIN + 180_000, 180));
    // Times on the minute stay.
    assert_eq!(
        window(T_MIN, T_MIN + 120_000),
        (T_MIN, T_MIN + 120_000, 120)
    );
    // One millisecond past the minute counts the whole minute.
    assert_eq!(window(T_MIN, T_MIN + 60_001), (T_MIN, T_MIN + 120_000, 120));
}

#[test]
fn a_window_is_at_least_a_minute_long() {
    assert_eq!(window(T_MIN, T_MIN), (T_MIN, T_MIN + 60_000, 60));
    assert_eq!(window(T, T), (T_MIN, T_MIN + 60_000, 60));
    // A clock that went backwards.
    assert_eq!(window(T, T - 3_600_000), (T_MIN, T_MIN + 60_000, 60));
}

#[test]
fn absurd_times_are_clamped_without_overflow() {
    assert_eq!(window(i64::MIN, i64::MIN), (0, 60_000, 60));
    assert_eq!(window(-1, 1), (0, 60_000, 60));
    let (from, to, period) = window(i64::MIN, i64::MAX);
    assert_eq!((from, to, period), (0, MAX_MS, MAX_PERIOD_S));
    let (from, to, period) = window(i64::MAX, i64::MAX);
    assert_eq!((from, to, period), (MAX_MS, MAX_MS + 60_000, 60));
    assert_eq!(MAX_PERIOD_S % 60, 0);
}

#[test]
fn the_period_covers_the_range_in_whole_minutes() {
    assert_eq!(period_s(T_MIN, T_MIN + 300_000), 300);
    assert_eq!(period_s(T_MIN, T_MIN + 300_001), 360);
    assert_eq!(period_s(T_MIN, T_MIN + 1), 60);
    assert_eq!(period_s(T_MIN, T_MIN), 60);
    assert_eq!(period_s(T_MIN, T_MIN - 600_000), 60);
    assert_eq!(period_s(i64::MIN, i64::MAX), MAX_PERIOD_S);
    assert_eq!(period_s(i64::MAX, i64::MIN), 60);
}

proptest! {
    #[test]
    fn every_window_is_whole_minutes_covered_by_its_period(start in any::<i64>(), now in any::<i64>()) {
        let (from, to, period) = window(start, now);
        prop_assert!(0 <= from && from < to && to <= MAX_MS + 60_000);
        prop_assert_eq!(from % 60_000, 0);
        prop_assert_eq!(to % 60_000, 0);
        prop_assert!(period >= 60 && period % 60 == 0);
        prop_assert!(i64::from(period) * 1_000 >= (to - from).min(i64::from(MAX_PERIOD_S) * 1_000));
    }

    #[test]
    fn a_sane_window_is_one_exact_period(start in 0..MAX_MS / 2, len in 0..=86_400_000i64) {
        let (from, to, period) = window(start, start + len);
        prop_assert!(from <= start && start + len <= to);
        prop_assert_eq!(i64::from(period) * 1_000, to - from);
    }
}

#[test]
fn dimensions_come_from_the_arns() {
    assert_eq!(load_balancer_dimension(LB), Some(LB_DIM));
    assert_eq!(target_group_dimension(GREEN), Some(GREEN_DIM));
    for bad in [
        "",
        "app/shop/50dc6c495c0c9188",
        // A Network Load Balancer publishes to AWS/NetworkELB.
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/shop/50dc6c495c0c9188",
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop",
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app//50dc",
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/50dc/x",
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc/f1",
        GREEN,
    ] {
        assert_eq!(load_balancer_dimension(bad), None, "{bad}");
    }
    for bad in [
        "",
        "targetgroup/shop-green/73e2d6bc24d8a067/extra",
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-green",
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-green/",
        LB,
    ] {
        assert_eq!(target_group_dimension(bad), None, "{bad}");
    }
}

#[test]
fn queries_read_both_target_groups_and_the_load_balancer() {
    let q = queries(&targets(true), 300).unwrap();
    let shape: Vec<(&str, &str, &str)> = q
        .iter()
        .map(|q| (q.id.as_str(), q.metric_name.as_str(), q.stat.as_str()))
        .collect();
    assert_eq!(
        shape,
        [
            ("g_req", "RequestCount", "Sum"),
            ("g_t5", "HTTPCode_Target_5XX_Count", "Sum"),
            ("g_p95", "TargetResponseTime", "p95"),
            ("g_p99", "TargetResponseTime", "p99"),
            ("b_req", "RequestCount", "Sum"),
            ("b_t5", "HTTPCode_Target_5XX_Count", "Sum"),
            ("b_p95", "TargetResponseTime", "p95"),
            ("b_p99", "TargetResponseTime", "p99"),
            ("lb_req", "RequestCount", "Sum"),
            ("lb_e5", "HTTPCode_ELB_5XX_Count", "Sum"),
        ]
    );
    for q in &q {
        assert_eq!((q.namespace.as_str(), q.period_s), (NAMESPACE, 300));
        let want: Vec<(&str, &str)> = match &q.id[..2] {
            "g_" => vec![("TargetGroup", GREEN_DIM), ("LoadBalancer", LB_DIM)],
            "b_" => vec![("TargetGroup", BLUE_DIM), ("LoadBalancer", LB_DIM)],
            _ => vec![("LoadBalancer", LB_DIM)],
        };
        assert_eq!(dims(q), want, "{}", q.id);
    }
}

#[test]
fn without_blue_only_green_and_the_load_balancer_are_queried() {
    let ids: Vec<String> = queries(&targets(false), 60)
        .unwrap()
        .into_iter()
        .map(|q| q.id)
        .collect();
    assert_eq!(ids, ["g_req", "g_t5", "g_p95", "g_p99", "lb_req", "lb_e5"]);
}

#[test]
fn an_arn_without_a_dimension_is_bad_input_naming_it() {
    let nlb = "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/net/shop/50dc";
    let cases = [
        ElbTargets {
            load_balancer_arn: nlb.to_owned(),
            ..targets(true)
        },
        ElbTargets {
            green_arn: "not-an-arn".to_owned(),
            ..targets(true)
        },
        ElbTargets {
            blue_arn: Some(LB.to_owned()),
            ..targets(true)
        },
    ];
    for (t, named) in cases.iter().zip([nlb, "not-an-arn", LB]) {
        match queries(t, 60) {
            Err(Error::BadInput(m)) => assert!(m.contains(named), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}

/// The twin with green, blue and the load balancer's numbers.
fn twin() -> MemoryMetrics {
    let m = MemoryMetrics::new();
    let green = [("LoadBalancer", LB_DIM), ("TargetGroup", GREEN_DIM)];
    let blue = [("TargetGroup", BLUE_DIM), ("LoadBalancer", LB_DIM)];
    m.set_series_in(NAMESPACE, "RequestCount", &green, "Sum", &[300.0, 100.0]);
    m.set_series_in(
        NAMESPACE,
        "HTTPCode_Target_5XX_Count",
        &green,
        "Sum",
        &[4.0],
    );
    // Seconds, several values (the highest counts), a NaN that does not.
    m.set_series_in(
        NAMESPACE,
        "TargetResponseTime",
        &green,
        "p95",
        &[0.12, f64::NAN, 0.25],
    );
    m.set_series_in(NAMESPACE, "TargetResponseTime", &green, "p99", &[0.5]);
    m.set_series_in(NAMESPACE, "RequestCount", &blue, "Sum", &[5000.0]);
    m.set_series_in(
        NAMESPACE,
        "HTTPCode_Target_5XX_Count",
        &blue,
        "Sum",
        &[10.0, f64::INFINITY],
    );
    m.set_series_in(NAMESPACE, "TargetResponseTime", &blue, "p95", &[0.1]);
    m.set_series_in(
        NAMESPACE,
        "RequestCount",
        &[("LoadBalancer", LB_DIM)],
        "Sum",
        &[5600.0],
    );
    m.set_series_in(
        NAMESPACE,
        "HTTPCode_ELB_5XX_Count",
        &[("LoadBalancer", LB_DIM)],
        "Sum",
        &[2.0],
    );
    // Another namespace's metric of the same name and dimensions does not count.
    m.set_series_in("AWS/NetworkELB", "RequestCount", &green, "Sum", &[1e6]);
    m
}

#[tokio::test]
async fn a_read_adds_sums_and_takes_the_highest_percentile_in_ms() {
    let m = twin();
    let (from, to, period) = window(T, T + 130_000);
    let r = read(&m, &targets(true), from, to).await.unwrap();
    assert_eq!(
        r.green,
        Side {
            requests: 400.0,
            errors: 4.0,
            p95_ms: Some(250.0),
            p99_ms: Some(500.0),
        }
    );
    assert_eq!(
        r.blue,
        Side {
            requests: 5000.0,
            errors: 10.0,
            p95_ms: Some(100.0),
            p99_ms: None,
        }
    );
    assert_eq!((r.lb_requests, r.elb_5xx), (5600.0, 2.0));
    // One call, over the window, one period covering it.
    let calls = m.series_calls();
    assert_eq!(calls.len(), 1);
    let (q, start, end) = &calls[0];
    assert_eq!((*start, *end), (from, to));
    assert_eq!(q.len(), 10);
    assert!(q.iter().all(|q| q.period_s == period));
    assert!(m.calls().is_empty());
}

#[tokio::test]
async fn a_read_without_blue_or_data_gives_empty_sides() {
    let r = read(
        &MemoryMetrics::new(),
        &targets(false),
        T_MIN,
        T_MIN + 60_000,
    )
    .await
    .unwrap();
    assert_eq!(r, ElbReading::default());
    let m = twin();
    let r = read(&m, &targets(false), T_MIN, T_MIN + 60_000)
        .await
        .unwrap();
    assert_eq!(r.green.requests, 400.0);
    assert_eq!(r.blue, Side::default());
    assert_eq!(m.series_calls()[0].0.len(), 6);
}

#[tokio::test]
async fn a_failed_read_is_the_error_and_a_bad_arn_reads_nothing() {
    let m = twin();
    m.fail(1, true);
    let e = read(&m, &targets(true), T_MIN, T_MIN + 60_000)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Aws {
                operation: "GetMetricData",
                retryable: true,
                ..
            }
        ),
        "{e:?}"
    );
    let m = twin();
    let t = ElbTargets {
        green_arn: "nope".to_owned(),
        ..targets(true)
    };
    assert!(matches!(
        read(&m, &t, T_MIN, T_MIN + 60_000).await,
        Err(Error::BadInput(_))
    ));
    assert!(m.series_calls().is_empty());
}
