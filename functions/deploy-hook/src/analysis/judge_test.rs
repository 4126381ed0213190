//! Table-driven tests of the judgement of green's metrics against blue's and absolute limits.

use proptest::prelude::*;

use super::*;

fn side(requests: f64, errors: f64, p95: Option<f64>, p99: Option<f64>) -> Side {
    Side {
        requests,
        errors,
        p95_ms: p95,
        p99_ms: p99,
    }
}

/// A side with `requests` requests, `errors` errors and a p95 of `p95` ms.
fn s(requests: f64, errors: f64, p95: f64) -> Side {
    side(requests, errors, Some(p95), None)
}

fn outcomes(checks: &[MetricCheck]) -> Vec<(&str, Outcome)> {
    checks
        .iter()
        .map(|c| (c.check.as_str(), c.outcome))
        .collect()
}

fn find<'a>(checks: &'a [MetricCheck], name: &str) -> &'a MetricCheck {
    checks.iter().find(|c| c.check == name).unwrap()
}

use Outcome::{Fail, Inconclusive as Inc, Pass};

#[test]
fn the_table_of_verdicts() {
    let defaults = MetricLimits::default();
    let absolute = MetricLimits {
        max_error_rate: Some(0.05),
        max_p95_ms: Some(800),
        ..MetricLimits::default()
    };
    let p99 = MetricLimits {
        max_p99_ratio: Some(1.5),
        ..MetricLimits::default()
    };
    // (case, limits, green, blue, [errorRate, p95Latency, p99Latency if judged])
    let table: Vec<(&str, &MetricLimits, Side, Side, Vec<Outcome>)> = vec![
        (
            "no requests on either side",
            &defaults,
            s(0.0, 0.0, 0.0),
            s(0.0, 0.0, 0.0),
            vec![Inc, Inc],
        ),
        (
            "green one request short",
            &defaults,
            s(49.0, 0.0, 100.0),
            s(5000.0, 0.0, 100.0),
            vec![Inc, Inc],
        ),
        (
            "green thin even when plainly bad",
            &absolute,
            s(10.0, 10.0, 5000.0),
            s(5000.0, 0.0, 100.0),
            vec![Inc, Inc],
        ),
        (
            "green like blue",
            &defaults,
            s(1000.0, 1.0, 100.0),
            s(1000.0, 1.0, 100.0),
            vec![Pass, Pass],
        ),
        (
            "green better than blue",
            &defaults,
            s(1000.0, 0.0, 50.0),
            s(1000.0, 100.0, 300.0),
            vec![Pass, Pass],
        ),
        (
            "green worse beyond both relative limits",
            &defaults,
            s(400.0, 10.0, 180.0),
            s(5200.0, 15.6, 120.0),
            vec![Fail, Fail],
        ),
        (
            "at the limits exactly",
            &defaults,
            s(1000.0, 13.0, 144.0),
            s(1000.0, 3.0, 120.0),
            vec![Pass, Pass],
        ),
        (
            "just beyond the limits",
            &defaults,
            s(1000.0, 14.0, 144.5),
            s(1000.0, 3.0, 120.0),
            vec![Fail, Fail],
        ),
        (
            "both equally bad, no absolute limit",
            &defaults,
            s(1000.0, 200.0, 900.0),
            s(1000.0, 200.0, 900.0),
            vec![Pass, Pass],
        ),
        (
            "both equally bad, absolute limits",
            &absolute,
            s(1000.0, 200.0, 900.0),
            s(1000.0, 200.0, 900.0),
            vec![Fail, Fail],
        ),
        (
            "blue thin, no absolute limit",
            &defaults,
            s(1000.0, 0.0, 100.0),
            s(10.0, 0.0, 100.0),
            vec![Inc, Inc],
        ),
        (
            "blue thin, green within the absolute limits",
            &absolute,
            s(1000.0, 40.0, 700.0),
            s(10.0, 0.0, 100.0),
            vec![Pass, Pass],
        ),
        (
            "blue thin, green beyond the absolute limits",
            &absolute,
            s(1000.0, 60.0, 900.0),
            s(10.0, 0.0, 100.0),
            vec![Fail, Fail],
        ),
        (
            "blue without requests, absolute limits",
            &absolute,
            s(1000.0, 0.0, 100.0),
            s(0.0, 0.0, 0.0),
            vec![Pass, Pass],
        ),
        (
            "a single outlier: p99 huge, p95 fine, p99 not judged",
            &defaults,
            side(1000.0, 0.0, Some(100.0), Some(30_000.0)),
            side(1000.0, 0.0, Some(100.0), Some(150.0)),
            vec![Pass, Pass],
        ),
        (
            "a single outlier: p99 huge, p95 fine, p99 judged",
            &p99,
            side(1000.0, 0.0, Some(100.0), Some(30_000.0)),
            side(1000.0, 0.0, Some(100.0), Some(150.0)),
            vec![Pass, Pass, Fail],
        ),
        (
            "green without a p95",
            &defaults,
            side(1000.0, 0.0, None, None),
            s(1000.0, 0.0, 100.0),
            vec![Pass, Inc],
        ),
        (
            "blue without a p95, no absolute limit",
            &defaults,
            s(1000.0, 0.0, 100.0),
            side(1000.0, 0.0, None, None),
            vec![Pass, Inc],
        ),
        (
            "blue without a p95, absolute limit",
            &absolute,
            s(1000.0, 0.0, 100.0),
            side(1000.0, 0.0, None, None),
            vec![Pass, Pass],
        ),
        (
            "NaN and infinite counts count as none",
            &defaults,
            s(f64::NAN, f64::INFINITY, 100.0),
            s(f64::INFINITY, f64::NAN, 100.0),
            vec![Inc, Inc],
        ),
        (
            "negative errors count as none",
            &defaults,
            s(1000.0, -5.0, 100.0),
            s(1000.0, -5.0, 100.0),
            vec![Pass, Pass],
        ),
        (
            "a NaN percentile is missing",
            &defaults,
            side(1000.0, 0.0, Some(f64::NAN), None),
            s(1000.0, 0.0, 100.0),
            vec![Pass, Inc],
        ),
        (
            "a negative or infinite blue percentile is missing",
            &absolute,
            s(1000.0, 0.0, 100.0),
            side(1000.0, 0.0, Some(f64::NEG_INFINITY), None),
            vec![Pass, Pass],
        ),
    ];
    for (case, limits, green, blue, want) in table {
        let checks = judge(limits, &green, &blue);
        let got: Vec<Outcome> = checks.iter().map(|c| c.outcome).collect();
        assert_eq!(got, want, "{case}: {checks:#?}");
        let names: Vec<&str> = checks.iter().map(|c| c.check.as_str()).collect();
        assert_eq!(
            names,
            ["errorRate", "p95Latency", "p99Latency"][..want.len()],
            "{case}"
        );
    }
}

#[test]
fn the_details_give_green_blue_the_limit_and_the_samples() {
    let checks = judge(
        &MetricLimits::default(),
        &s(400.0, 10.0, 180.0),
        &s(5200.0, 15.6, 120.0),
    );
    let e = find(&checks, "errorRate");
    assert_eq!(
        e.detail,
        "green 2.5% of 400 requests, blue 0.3% of 5200; limit blue + 1.0 pp = 1.3%"
    );
    assert_eq!((e.green_samples, e.blue_samples), (400, 5200));
    assert_eq!(e.green, Some(0.025));
    assert!((e.blue.unwrap() - 0.003).abs() < 1e-12);
    assert!((e.limit.unwrap() - 0.013).abs() < 1e-12);
    let p = find(&checks, "p95Latency");
    assert_eq!(
        p.detail,
        "green p95 180 ms, blue 120 ms over 400/5200 requests; limit 1.2 x blue = 144 ms"
    );
    assert_eq!((p.green, p.blue), (Some(180.0), Some(120.0)));
    assert!((p.limit.unwrap() - 144.0).abs() < 1e-9);
}

#[test]
fn green_thin_names_the_requests_served_and_needed() {
    let limits = MetricLimits {
        min_requests: Some(100),
        max_p99_ms: Some(900),
        ..MetricLimits::default()
    };
    let checks = judge(&limits, &s(37.0, 0.0, 80.0), &s(5000.0, 0.0, 80.0));
    assert_eq!(checks.len(), 3);
    for c in &checks {
        assert_eq!(c.outcome, Inc);
        assert_eq!(c.detail, "green served 37 of the 100 requests needed");
        assert_eq!((c.green_samples, c.blue_samples), (37, 5000));
    }
}

#[test]
fn thin_blue_is_named_and_the_absolute_limit_decides() {
    let thin = s(10.0, 0.0, 100.0);
    let checks = judge(&MetricLimits::default(), &s(1000.0, 0.0, 100.0), &thin);
    assert_eq!(
        find(&checks, "errorRate").detail,
        "green 0.0% of 1000 requests, blue 0.0% of 10; blue served 10 of the 50 requests \
         needed to compare, and no absolute limit (maxErrorRate) is set"
    );
    let limits = MetricLimits {
        max_error_rate: Some(0.05),
        max_p95_ms: Some(800),
        ..MetricLimits::default()
    };
    let checks = judge(&limits, &s(1000.0, 60.0, 900.0), &thin);
    let e = find(&checks, "errorRate");
    assert_eq!(
        e.detail,
        "green 6.0% of 1000 requests, blue 0.0% of 10; blue served 10 of the 50 requests \
         needed to compare: comparison skipped; limit at most 5.0% (maxErrorRate)"
    );
    assert_eq!(e.limit, Some(0.05));
    let p = find(&checks, "p95Latency");
    assert!(
        p.detail
            .contains("comparison skipped; limit at most 800 ms (maxP95Ms)"),
        "{}",
        p.detail
    );
    assert_eq!(p.limit, Some(800.0));
}

#[test]
fn with_both_limits_the_tighter_is_the_limit_and_both_are_named() {
    let limits = MetricLimits {
        max_error_rate: Some(0.05),
        max_p95_ms: Some(130),
        ..MetricLimits::default()
    };
    let checks = judge(&limits, &s(1000.0, 20.0, 135.0), &s(1000.0, 10.0, 120.0));
    let e = find(&checks, "errorRate");
    assert_eq!(e.outcome, Pass);
    assert!((e.limit.unwrap() - 0.02).abs() < 1e-12);
    assert!(
        e.detail
            .ends_with("limit blue + 1.0 pp = 2.0% and at most 5.0% (maxErrorRate)"),
        "{}",
        e.detail
    );
    let p = find(&checks, "p95Latency");
    assert_eq!(p.outcome, Fail, "within 1.2 x blue but above maxP95Ms");
    assert_eq!(p.limit, Some(130.0));
}

#[test]
fn the_slack_keeps_small_differences_from_failing() {
    let blue = s(1000.0, 0.0, 10.0);
    // 14 ms is 1.4 x blue but only 4 ms more: within the 5 ms slack.
    let checks = judge(&MetricLimits::default(), &s(1000.0, 0.0, 14.0), &blue);
    let p = find(&checks, "p95Latency");
    assert_eq!(p.outcome, Pass);
    assert_eq!(p.limit, Some(15.0));
    assert!(
        p.detail
            .ends_with("limit blue + 5 ms slack = 15 ms (more than 1.2 x blue = 12 ms)"),
        "{}",
        p.detail
    );
    let checks = judge(&MetricLimits::default(), &s(1000.0, 0.0, 15.5), &blue);
    assert_eq!(find(&checks, "p95Latency").outcome, Fail);
    // No slack: the ratio alone.
    let strict = MetricLimits {
        latency_slack_ms: Some(0),
        ..MetricLimits::default()
    };
    let checks = judge(&strict, &s(1000.0, 0.0, 14.0), &blue);
    assert_eq!(find(&checks, "p95Latency").outcome, Fail);
}

#[test]
fn the_p99_check_is_judged_only_when_asked() {
    let g = side(1000.0, 0.0, Some(100.0), Some(400.0));
    let b = side(1000.0, 0.0, Some(100.0), Some(200.0));
    assert_eq!(judge(&MetricLimits::default(), &g, &b).len(), 2);
    let absolute_only = MetricLimits {
        max_p99_ms: Some(300),
        ..MetricLimits::default()
    };
    let checks = judge(&absolute_only, &g, &b);
    let p = find(&checks, "p99Latency");
    assert_eq!(p.outcome, Fail);
    assert_eq!(
        p.detail,
        "green p99 400 ms, blue 200 ms over 1000/1000 requests; limit at most 300 ms (maxP99Ms)"
    );
    // Absolute only: blue's traffic does not matter.
    let checks = judge(&absolute_only, &g, &side(3.0, 0.0, None, None));
    let p = find(&checks, "p99Latency");
    assert_eq!(p.outcome, Fail);
    assert!(!p.detail.contains("comparison"), "{}", p.detail);
    let ratio = MetricLimits {
        max_p99_ratio: Some(2.0),
        ..MetricLimits::default()
    };
    assert_eq!(find(&judge(&ratio, &g, &b), "p99Latency").outcome, Pass);
}

#[test]
fn a_missing_percentile_is_named() {
    let checks = judge(
        &MetricLimits::default(),
        &side(1000.0, 0.0, None, None),
        &s(1000.0, 0.0, 100.0),
    );
    let p = find(&checks, "p95Latency");
    assert_eq!(
        p.detail,
        "green served 1000 requests but reported no p95 latency"
    );
    assert_eq!((p.green, p.limit), (None, None));
    let checks = judge(
        &MetricLimits::default(),
        &s(1000.0, 0.0, 100.0),
        &side(1000.0, 0.0, None, None),
    );
    let p = find(&checks, "p95Latency");
    assert_eq!(
        p.detail,
        "green p95 100 ms, blue none over 1000/1000 requests; blue reported no p95 latency, \
         and no absolute limit (maxP95Ms) is set"
    );
}

#[test]
fn errors_above_requests_are_a_rate_of_one() {
    let limits = MetricLimits {
        max_error_rate: Some(0.5),
        ..MetricLimits::default()
    };
    let checks = judge(&limits, &s(100.0, 250.0, 10.0), &s(100.0, 0.0, 10.0));
    let e = find(&checks, "errorRate");
    assert_eq!((e.outcome, e.green), (Fail, Some(1.0)));
}

#[test]
fn samples_are_whole_counts_and_saturate() {
    let checks = judge(
        &MetricLimits::default(),
        &s(1e30, 0.0, 1.0),
        &s(99.6, 0.0, 1.0),
    );
    let e = find(&checks, "errorRate");
    assert_eq!((e.green_samples, e.blue_samples), (u64::MAX, 100));
}

#[test]
fn the_limits_of_unvalidated_policies_yield_no_nan() {
    let limits = MetricLimits {
        max_error_rate_increase: Some(f64::NAN),
        max_p95_ratio: Some(f64::INFINITY),
        max_p99_ratio: Some(-1.0),
        max_error_rate: Some(f64::NAN),
        ..MetricLimits::default()
    };
    let checks = judge(&limits, &s(1000.0, 1.0, 100.0), &s(1000.0, 1.0, 100.0));
    assert_eq!(
        outcomes(&checks),
        [("errorRate", Inc), ("p95Latency", Inc), ("p99Latency", Inc)]
    );
    assert!(checks.iter().all(|c| c.limit.is_none()));
    assert!(checks.iter().all(|c| !c.detail.contains("NaN")));
}

#[test]
fn min_requests_of_zero_still_needs_one_request() {
    let limits = MetricLimits {
        min_requests: Some(0),
        ..MetricLimits::default()
    };
    let checks = judge(&limits, &s(0.0, 0.0, 1.0), &s(0.0, 0.0, 1.0));
    assert!(checks.iter().all(|c| c.outcome == Inc));
    assert_eq!(find(&checks, "errorRate").green, None);
}

#[test]
fn the_load_balancer_error_rate_is_absolute_only() {
    assert_eq!(elb_error_rate(None, 5600.0, 500.0, 50), None);
    let c = elb_error_rate(Some(0.005), 5600.0, 2.0, 50).unwrap();
    assert_eq!((c.check.as_str(), c.outcome), ("elbErrorRate", Pass));
    assert_eq!(
        c.detail,
        "load balancer 5XX 0.036% of 5600 requests; limit at most 0.5% (maxErrorRate)"
    );
    assert_eq!((c.green_samples, c.blue_samples, c.blue), (5600, 0, None));
    assert_eq!(c.limit, Some(0.005));
    let c = elb_error_rate(Some(0.005), 5600.0, 56.0, 50).unwrap();
    assert_eq!(c.outcome, Fail);
    assert_eq!(c.green, Some(0.01));
    let c = elb_error_rate(Some(0.005), 20.0, 0.0, 50).unwrap();
    assert_eq!(c.outcome, Inc);
    assert_eq!(
        c.detail,
        "the load balancer served 20 of the 50 requests needed"
    );
    // Rejected before a target was chosen: counted as 5XX but not as requests.
    let c = elb_error_rate(Some(0.005), 0.0, 80.0, 50).unwrap();
    assert_eq!((c.outcome, c.green, c.green_samples), (Fail, Some(1.0), 80));
    let c = elb_error_rate(Some(0.005), f64::NAN, f64::NEG_INFINITY, 50).unwrap();
    assert_eq!((c.outcome, c.green), (Inc, None));
    assert_eq!(elb_error_rate(Some(f64::NAN), 5600.0, 2.0, 50), None);
    // At the limit exactly.
    let c = elb_error_rate(Some(0.01), 5600.0, 56.0, 50).unwrap();
    assert_eq!(c.outcome, Pass);
}

#[test]
fn overall_fails_on_any_fail_then_is_inconclusive_on_any_inconclusive() {
    let mk = |o| MetricCheck {
        check: "x".into(),
        outcome: o,
        green: None,
        blue: None,
        limit: None,
        green_samples: 0,
        blue_samples: 0,
        detail: String::new(),
    };
    assert_eq!(overall(&[]), Pass);
    assert_eq!(overall(&[mk(Pass), mk(Pass)]), Pass);
    assert_eq!(overall(&[mk(Pass), mk(Inc)]), Inc);
    assert_eq!(overall(&[mk(Inc), mk(Fail), mk(Pass)]), Fail);
}

#[test]
fn outcomes_serialise_in_lower_case() {
    assert_eq!(serde_json::to_string(&Inc).unwrap(), "\"inconclusive\"");
    let c = &judge(
        &MetricLimits::default(),
        &s(1.0, 0.0, 1.0),
        &s(1.0, 0.0, 1.0),
    )[0];
    let v = serde_json::to_value(c).unwrap();
    assert_eq!(v["greenSamples"], 1);
    assert_eq!(v["outcome"], "inconclusive");
}

/// Any f64, with the awkward ones often.
fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(-0.0),
        Just(f64::MAX),
        Just(f64::MIN_POSITIVE),
        -1e6..1e6f64,
        proptest::num::f64::ANY,
    ]
}

fn any_side() -> impl Strategy<Value = Side> {
    (
        any_f64(),
        any_f64(),
        proptest::option::of(any_f64()),
        proptest::option::of(any_f64()),
    )
        .prop_map(|(r, e, p95, p99)| side(r, e, p95, p99))
}

fn any_limits() -> impl Strategy<Value = MetricLimits> {
    (
        proptest::option::of(0u64..2_000),
        proptest::option::of(0.0..1.0f64),
        proptest::option::of(1.0..100.0f64),
        proptest::option::of(1.0..100.0f64),
        proptest::option::of(0.0..1.0f64),
        proptest::option::of(1u64..600_000),
        proptest::option::of(1u64..600_000),
        proptest::option::of(0u64..60_000),
    )
        .prop_map(|(mr, inc, r95, r99, mer, m95, m99, slack)| MetricLimits {
            min_requests: mr,
            max_error_rate_increase: inc,
            max_p95_ratio: r95,
            max_p99_ratio: r99,
            max_error_rate: mer,
            max_p95_ms: m95,
            max_p99_ms: m99,
            latency_slack_ms: slack,
        })
}

fn assert_clean(c: &MetricCheck) {
    for v in [c.green, c.blue, c.limit].into_iter().flatten() {
        assert!(v.is_finite() && v >= 0.0, "{c:?}");
    }
    assert!(
        !c.detail.contains("NaN") && !c.detail.contains("inf"),
        "{c:?}"
    );
    if let Some(g) = c.green
        && c.check == "errorRate"
    {
        assert!(g <= 1.0, "{c:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_input_yields_nan_or_infinity(limits in any_limits(), g in any_side(), b in any_side()) {
        let checks = judge(&limits, &g, &b);
        prop_assert!(checks.len() == 2 || checks.len() == 3);
        checks.iter().for_each(assert_clean);
    }

    #[test]
    fn the_load_balancer_check_yields_no_nan(
        max in proptest::option::of(any_f64()),
        requests in any_f64(),
        errors in any_f64(),
        min in 0u64..1_000,
    ) {
        if let Some(c) = elb_error_rate(max, requests, errors, min) {
            assert_clean(&c);
        }
    }

    #[test]
    fn green_no_worse_than_blue_never_fails_without_absolute_limits(
        requests in 50.0..1e9f64,
        errors_share in 0.0..1.0f64,
        p95 in 0.0..600_000.0f64,
    ) {
        let one = s(requests, requests * errors_share, p95);
        let checks = judge(&MetricLimits::default(), &one, &one);
        prop_assert_eq!(overall(&checks), Pass);
    }
}
