//! Unit tests of the CloudWatch twin's series and alarms (what other tests rely on).

use std::collections::BTreeMap;

use codehooks::Error;

use super::*;

fn q(id: &str, namespace: &str, metric: &str, dims: &[(&str, &str)], stat: &str) -> MetricQuery {
    MetricQuery {
        id: id.to_owned(),
        namespace: namespace.to_owned(),
        metric_name: metric.to_owned(),
        dimensions: dims
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        stat: stat.to_owned(),
        period_s: 60,
    }
}

fn alarm(name: &str, state: &str) -> AlarmFacts {
    AlarmFacts {
        name: name.to_owned(),
        arn: format!("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{name}"),
        state: state.to_owned(),
        reason: format!("{name} is {state}"),
        updated_ms: Some(1),
    }
}

fn selector(names: &[&str], prefix: Option<&str>, tags: &[(&str, &str)]) -> AlarmSelector {
    AlarmSelector {
        names: names.iter().map(|n| (*n).to_owned()).collect(),
        prefix: prefix.map(str::to_owned),
        tags: tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn names(found: &[AlarmFacts]) -> Vec<&str> {
    found.iter().map(|a| a.name.as_str()).collect()
}

#[tokio::test]
async fn series_match_metric_stat_and_the_exact_dimension_set() {
    let m = MemoryMetrics::new();
    let ab = [("A", "1"), ("B", "2")];
    m.set_series("M", &ab, "Sum", &[1.0, 2.0]);
    m.set_series("M", &ab, "p95", &[0.5]);
    m.set_series_in("NS/Two", "M", &ab, "Max", &[9.0]);
    let queries = [
        q("any_order", "NS/One", "M", &[("B", "2"), ("A", "1")], "Sum"),
        q("other_stat", "NS/One", "M", &ab, "p95"),
        q("fewer_dims", "NS/One", "M", &[("A", "1")], "Sum"),
        q(
            "more_dims",
            "NS/One",
            "M",
            &[("A", "1"), ("B", "2"), ("C", "3")],
            "Sum",
        ),
        q(
            "other_value",
            "NS/One",
            "M",
            &[("A", "1"), ("B", "3")],
            "Sum",
        ),
        q("other_metric", "NS/One", "N", &ab, "Sum"),
        q("wrong_ns", "NS/One", "M", &ab, "Max"),
        q("right_ns", "NS/Two", "M", &ab, "Max"),
    ];
    let got = m.series(&queries, 10, 20).await.unwrap();
    let by_id: Vec<(&str, Vec<f64>)> = got
        .iter()
        .map(|s| (s.id.as_str(), s.values.clone()))
        .collect();
    assert_eq!(
        by_id,
        [
            ("any_order", vec![1.0, 2.0]),
            ("other_stat", vec![0.5]),
            ("fewer_dims", vec![]),
            ("more_dims", vec![]),
            ("other_value", vec![]),
            ("other_metric", vec![]),
            ("wrong_ns", vec![]),
            ("right_ns", vec![9.0]),
        ]
    );
    // Setting the same key again replaces its values.
    m.set_series("M", &[("B", "2"), ("A", "1")], "Sum", &[7.0]);
    let got = m.series(&queries[..1], 10, 20).await.unwrap();
    assert_eq!(got[0].values, [7.0]);
    let calls = m.series_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!((calls[0].0.len(), calls[0].1, calls[0].2), (8, 10, 20));
    assert!(m.calls().is_empty());
}

#[tokio::test]
async fn series_and_sums_fail_on_demand_and_keep_their_own_records() {
    let m = MemoryMetrics::new();
    m.set("M", &[("A", "1")], 5.0);
    m.fail(2, true);
    let q1 = [q("a", "NS", "M", &[("A", "1")], "Sum")];
    let e = m.series(&q1, 0, 60_000).await.unwrap_err();
    assert!(matches!(
        e,
        Error::Aws {
            operation: "GetMetricData",
            retryable: true,
            ..
        }
    ));
    assert!(m.sums(&q1, 0, 60_000).await.is_err());
    assert_eq!(m.sums(&q1, 0, 60_000).await.unwrap()[0].sum, 5.0);
    assert_eq!((m.series_calls().len(), m.calls().len()), (1, 2));
}

fn alarms() -> MemoryMetrics {
    let m = MemoryMetrics::new();
    m.set_alarm(
        alarm("shop-5xx", "ALARM"),
        &[("codehooks", "gate"), ("team", "shop")],
    );
    m.set_alarm(alarm("shop-latency", "OK"), &[("codehooks", "gate")]);
    m.set_alarm(
        alarm("api-errors", "INSUFFICIENT_DATA"),
        &[("team", "shop")],
    );
    m.set_alarm(alarm("billing", "OK"), &[]);
    m
}

#[tokio::test]
async fn alarms_are_selected_as_the_sdk_adapter_selects_them() {
    let m = alarms();
    let cases: [(AlarmSelector, &[&str]); 9] = [
        (selector(&[], None, &[]), &[]),
        (selector(&["billing", "missing"], None, &[]), &["billing"]),
        (
            selector(&[], Some("shop-"), &[]),
            &["shop-5xx", "shop-latency"],
        ),
        // Names ∪ prefix, each alarm once.
        (
            selector(&["billing", "shop-5xx"], Some("shop-"), &[]),
            &["shop-5xx", "shop-latency", "billing"],
        ),
        // Tags alone: every alarm carrying them all.
        (
            selector(&[], None, &[("codehooks", "gate")]),
            &["shop-5xx", "shop-latency"],
        ),
        (
            selector(&[], None, &[("codehooks", "gate"), ("team", "shop")]),
            &["shop-5xx"],
        ),
        (selector(&[], None, &[("team", "other")]), &[]),
        // Tags filter what names and prefix select.
        (
            selector(&["api-errors", "billing"], None, &[("team", "shop")]),
            &["api-errors"],
        ),
        (selector(&[], Some(""), &[]), &[]),
    ];
    for (sel, want) in &cases {
        let got = m.alarms(sel).await.unwrap();
        assert_eq!(names(&got), *want, "{sel:?}");
    }
    assert_eq!(m.alarm_calls().len(), cases.len());
    let got = m.alarms(&selector(&["shop-5xx"], None, &[])).await.unwrap();
    assert_eq!(got, [alarm("shop-5xx", "ALARM")]);
}

#[tokio::test]
async fn an_alarm_set_again_changes_its_state() {
    let m = alarms();
    m.set_alarm(alarm("shop-5xx", "OK"), &[]);
    let got = m
        .alarms(&selector(&[], Some("shop-5xx"), &[]))
        .await
        .unwrap();
    assert_eq!(got, [alarm("shop-5xx", "OK")]);
    // Its tags were replaced too.
    let got = m
        .alarms(&selector(&[], None, &[("codehooks", "gate")]))
        .await
        .unwrap();
    assert_eq!(names(&got), ["shop-latency"]);
}

#[tokio::test]
async fn alarm_reads_fail_on_demand_and_too_many_tagged_candidates_fail() {
    let m = alarms();
    m.fail_alarms(1, false);
    let sel = selector(&[], Some("shop-"), &[]);
    let e = m.alarms(&sel).await.unwrap_err();
    assert!(matches!(
        e,
        Error::Aws {
            operation: "DescribeAlarms",
            retryable: false,
            ..
        }
    ));
    assert_eq!(m.alarms(&sel).await.unwrap().len(), 2);
    // Metric faults do not touch alarms.
    m.fail(1, true);
    assert!(m.alarms(&sel).await.is_ok());

    let m = MemoryMetrics::new();
    for i in 0..=MAX_TAGGED_CANDIDATES {
        m.set_alarm(alarm(&format!("a{i:03}"), "OK"), &[("k", "v")]);
    }
    assert_eq!(
        m.alarms(&selector(&[], Some("a"), &[]))
            .await
            .unwrap()
            .len(),
        101
    );
    let e = m
        .alarms(&selector(&[], Some("a"), &[("k", "v")]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Aws {
                operation: "DescribeAlarms",
                ..
            }
        ),
        "{e:?}"
    );
}
