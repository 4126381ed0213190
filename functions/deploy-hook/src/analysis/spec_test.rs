//! Unit tests of the validation of a policy's `analysis`.

use super::*;

const AT: &str = "hooks.AfterAllowTestTraffic.analysis";

fn problems(a: &Analysis, ceiling: u32) -> Vec<String> {
    let mut out = Vec::new();
    validate(AT, a, ceiling, &mut out);
    out
}

fn gate(names: &[&str]) -> AlarmGate {
    AlarmGate {
        names: names.iter().map(|n| (*n).to_owned()).collect(),
        ..AlarmGate::default()
    }
}

fn with_metrics(m: MetricLimits) -> Analysis {
    Analysis {
        metrics: Some(m),
        ..Analysis::default()
    }
}

fn with_alarms(g: AlarmGate) -> Analysis {
    Analysis {
        alarms: Some(g),
        ..Analysis::default()
    }
}

/// The one problem of `a`, which must name its place and contain `part`.
fn one_problem(a: &Analysis, part: &str) {
    let p = problems(a, DEFAULT_LOAD_CEILING);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with(&format!("{AT}: ")), "{}", p[0]);
    assert!(p[0].contains(part), "{:?} lacks {part:?}", p[0]);
}

#[test]
fn the_documented_example_is_valid() {
    let a: Analysis = serde_json::from_str(
        r#"{"alarms": {"names": ["api-5xx"], "prefix": "shop-", "tags": {"codehooks": "gate"},
                       "insufficientData": "ignore"},
            "metrics": {"minRequests": 50, "maxErrorRateIncrease": 0.01, "maxP95Ratio": 1.2,
                        "maxP99Ratio": null, "maxErrorRate": null, "maxP95Ms": null,
                        "maxP99Ms": null, "latencySlackMs": 5},
            "lookbackMs": 0, "pollMs": 15000, "maxWaitMs": 600000, "onInconclusive": "fail",
            "load": {"rps": 5, "path": "/"}}"#,
    )
    .unwrap();
    assert_eq!(problems(&a, DEFAULT_LOAD_CEILING), Vec::<String>::new());
}

#[test]
fn the_bounds_themselves_are_valid() {
    let low = Analysis {
        alarms: Some(AlarmGate {
            prefix: Some("s".into()),
            tags: [("k".to_owned(), String::new())].into(),
            ..AlarmGate::default()
        }),
        metrics: Some(MetricLimits {
            min_requests: Some(1),
            max_error_rate_increase: Some(0.0),
            max_p95_ratio: Some(1.0),
            max_p99_ratio: Some(1.0),
            max_error_rate: Some(0.0),
            max_p95_ms: Some(1),
            max_p99_ms: Some(1),
            latency_slack_ms: Some(0),
        }),
        lookback_ms: Some(0),
        poll_ms: Some(1_000),
        max_wait_ms: Some(0),
        on_inconclusive: Some(OnInconclusive::Pass),
        load: Some(LoadSpec {
            rps: 1,
            path: Some("/".into()),
        }),
    };
    assert_eq!(problems(&low, 20), Vec::<String>::new());
    let high = Analysis {
        alarms: Some(AlarmGate {
            names: vec!["n".repeat(255); 100],
            prefix: Some("p".repeat(255)),
            tags: (0..10)
                .map(|i| (format!("{i}{}", "k".repeat(127)), "v".repeat(256)))
                .collect(),
            insufficient_data: InsufficientData::Fail,
        }),
        metrics: Some(MetricLimits {
            min_requests: Some(1_000_000),
            max_error_rate_increase: Some(1.0),
            max_p95_ratio: Some(100.0),
            max_p99_ratio: Some(100.0),
            max_error_rate: Some(1.0),
            max_p95_ms: Some(600_000),
            max_p99_ms: Some(600_000),
            latency_slack_ms: Some(60_000),
        }),
        lookback_ms: Some(3_600_000),
        poll_ms: Some(300_000),
        max_wait_ms: Some(3_600_000),
        on_inconclusive: None,
        load: Some(LoadSpec {
            rps: 20,
            path: Some(format!("/{}", "a".repeat(2_047))),
        }),
    };
    assert_eq!(problems(&high, 20), Vec::<String>::new());
}

#[test]
fn an_analysis_needs_alarms_or_metrics() {
    one_problem(
        &Analysis::default(),
        "analysis needs alarms, metrics or both",
    );
    assert!(problems(&with_metrics(MetricLimits::default()), 20).is_empty());
    assert!(problems(&with_alarms(gate(&["a"])), 20).is_empty());
}

#[test]
fn each_metric_limit_out_of_bounds_is_named_with_its_range() {
    let cases: Vec<(MetricLimits, &str)> = vec![
        (
            MetricLimits {
                min_requests: Some(0),
                ..MetricLimits::default()
            },
            "metrics.minRequests must be from 1 to 1000000, got 0",
        ),
        (
            MetricLimits {
                min_requests: Some(1_000_001),
                ..MetricLimits::default()
            },
            "metrics.minRequests must be from 1 to 1000000, got 1000001",
        ),
        (
            MetricLimits {
                max_error_rate_increase: Some(-0.1),
                ..MetricLimits::default()
            },
            "metrics.maxErrorRateIncrease must be from 0 to 1, got -0.1",
        ),
        (
            MetricLimits {
                max_error_rate: Some(1.5),
                ..MetricLimits::default()
            },
            "metrics.maxErrorRate must be from 0 to 1, got 1.5",
        ),
        (
            MetricLimits {
                max_error_rate: Some(f64::NAN),
                ..MetricLimits::default()
            },
            "metrics.maxErrorRate must be from 0 to 1, got NaN",
        ),
        (
            MetricLimits {
                max_p95_ratio: Some(0.5),
                ..MetricLimits::default()
            },
            "metrics.maxP95Ratio must be from 1 to 100, got 0.5",
        ),
        (
            MetricLimits {
                max_p99_ratio: Some(f64::INFINITY),
                ..MetricLimits::default()
            },
            "metrics.maxP99Ratio must be from 1 to 100, got inf",
        ),
        (
            MetricLimits {
                max_p95_ms: Some(0),
                ..MetricLimits::default()
            },
            "metrics.maxP95Ms must be from 1 to 600000, got 0",
        ),
        (
            MetricLimits {
                max_p99_ms: Some(600_001),
                ..MetricLimits::default()
            },
            "metrics.maxP99Ms must be from 1 to 600000, got 600001",
        ),
        (
            MetricLimits {
                latency_slack_ms: Some(60_001),
                ..MetricLimits::default()
            },
            "metrics.latencySlackMs must be from 0 to 60000, got 60001",
        ),
    ];
    for (m, message) in cases {
        let p = problems(&with_metrics(m), 20);
        assert_eq!(p, vec![format!("{AT}: {message}")]);
    }
}

#[test]
fn the_waits_out_of_bounds_are_named() {
    let base = with_alarms(gate(&["a"]));
    let cases = [
        (
            Analysis {
                lookback_ms: Some(3_600_001),
                ..base.clone()
            },
            "lookbackMs must be from 0 to 3600000, got 3600001",
        ),
        (
            Analysis {
                poll_ms: Some(999),
                ..base.clone()
            },
            "pollMs must be from 1000 to 300000, got 999",
        ),
        (
            Analysis {
                poll_ms: Some(300_001),
                ..base.clone()
            },
            "pollMs must be from 1000 to 300000, got 300001",
        ),
        (
            Analysis {
                max_wait_ms: Some(3_600_001),
                ..base.clone()
            },
            "maxWaitMs must be from 0 to 3600000, got 3600001",
        ),
    ];
    for (a, message) in cases {
        assert_eq!(problems(&a, 20), vec![format!("{AT}: {message}")]);
    }
}

#[test]
fn an_alarm_gate_must_select_something() {
    one_problem(
        &with_alarms(AlarmGate::default()),
        "alarms needs names, prefix or tags",
    );
    let tags_only = AlarmGate {
        tags: [("codehooks".to_owned(), "gate".to_owned())].into(),
        ..AlarmGate::default()
    };
    assert!(problems(&with_alarms(tags_only), 20).is_empty());
}

#[test]
fn alarm_names_are_bounded() {
    one_problem(
        &with_alarms(AlarmGate {
            names: vec!["a".into(); 101],
            ..AlarmGate::default()
        }),
        "alarms.names lists 101 names; at most 100",
    );
    one_problem(&with_alarms(gate(&["ok", ""])), "alarms.names entry \"\"");
    one_problem(&with_alarms(gate(&["  "])), "not blank");
    let long = "n".repeat(256);
    one_problem(&with_alarms(gate(&[&long])), "must be 1 to 255 characters");
    // 255 characters of two bytes each are still 255 characters.
    let wide = "é".repeat(255);
    assert!(problems(&with_alarms(gate(&[&wide])), 20).is_empty());
}

#[test]
fn a_long_name_is_clipped_in_the_message() {
    let long = "n".repeat(5_000);
    let p = problems(&with_alarms(gate(&[&long])), 20);
    assert_eq!(p.len(), 1);
    assert!(p[0].len() < 300, "{}", p[0]);
}

#[test]
fn the_prefix_is_bounded() {
    for prefix in [String::new(), " ".into(), "p".repeat(256)] {
        one_problem(
            &with_alarms(AlarmGate {
                prefix: Some(prefix),
                ..AlarmGate::default()
            }),
            "alarms.prefix",
        );
    }
}

#[test]
fn tags_are_bounded() {
    let tags = |pairs: Vec<(String, String)>| {
        with_alarms(AlarmGate {
            tags: pairs.into_iter().collect(),
            ..AlarmGate::default()
        })
    };
    one_problem(
        &tags((0..11).map(|i| (format!("k{i}"), "v".into())).collect()),
        "alarms.tags lists 11 tags; at most 10",
    );
    one_problem(
        &tags(vec![(String::new(), "v".into())]),
        "alarms.tags key \"\" must be 1 to 128 characters",
    );
    one_problem(
        &tags(vec![("k".repeat(129), "v".into())]),
        "must be 1 to 128 characters",
    );
    one_problem(
        &tags(vec![("k".into(), "v".repeat(257))]),
        "alarms.tags value of \"k\" must be at most 256 characters",
    );
}

#[test]
fn the_load_rate_is_bounded_by_the_ceiling() {
    let load = |rps: u32, path: Option<&str>| Analysis {
        load: Some(LoadSpec {
            rps,
            path: path.map(str::to_owned),
        }),
        ..with_alarms(gate(&["a"]))
    };
    assert!(problems(&load(50, None), 50).is_empty());
    let p = problems(&load(51, None), 50);
    assert_eq!(p.len(), 1);
    assert!(
        p[0].contains("load.rps must be from 1 to 50")
            && p[0].contains("CODEHOOKS_HOOK_MAX_LOAD_RPS")
            && p[0].ends_with("got 51"),
        "{}",
        p[0]
    );
    assert_eq!(problems(&load(0, None), 50).len(), 1);
}

#[test]
fn the_load_path_must_be_a_path() {
    let load = |path: String| Analysis {
        load: Some(LoadSpec {
            rps: 1,
            path: Some(path),
        }),
        ..with_alarms(gate(&["a"]))
    };
    for path in ["health", "/a b", "/a\tb", "/a\u{7}", ""] {
        one_problem(
            &load(path.to_owned()),
            "must start with / and contain no spaces",
        );
    }
    one_problem(
        &load(format!("/{}", "a".repeat(2_048))),
        "load.path is 2049 characters long; at most 2048",
    );
    assert!(problems(&load("/health?x=1".into()), 20).is_empty());
}

#[test]
fn every_problem_is_reported_at_once() {
    let a = Analysis {
        alarms: Some(AlarmGate::default()),
        metrics: Some(MetricLimits {
            min_requests: Some(0),
            max_p95_ratio: Some(0.5),
            ..MetricLimits::default()
        }),
        poll_ms: Some(1),
        load: Some(LoadSpec {
            rps: 0,
            path: Some("x".into()),
        }),
        ..Analysis::default()
    };
    let p = problems(&a, 20);
    assert_eq!(p.len(), 6, "{p:?}");
    assert!(p.iter().all(|m| m.starts_with(&format!("{AT}: "))));
}
