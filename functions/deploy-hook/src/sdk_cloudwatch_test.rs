//! Unit tests of the CloudWatch adapter's conversions and choices. The adapter itself meets
//! the emulator's CloudWatch (alarms answered by moto behind its front) in
//! `tests/tests/deploy_hook_analysis.rs`.

use super::*;

fn query() -> MetricQuery {
    MetricQuery {
        id: "errors".into(),
        namespace: "AWS/Lambda".into(),
        metric_name: "Errors".into(),
        dimensions: vec![
            ("FunctionName".into(), "orders".into()),
            ("Resource".into(), "orders:live".into()),
            ("ExecutedVersion".into(), "7".into()),
        ],
        stat: "Sum".into(),
        period_s: 60,
    }
}

#[test]
fn a_metric_query_becomes_a_metric_stat_query() {
    let q = metric_data_query(&query());
    assert_eq!(q.id(), Some("errors"));
    assert_eq!(q.return_data(), Some(true));
    let stat = q.metric_stat().unwrap();
    assert_eq!((stat.period(), stat.stat()), (Some(60), Some("Sum")));
    let m = stat.metric().unwrap();
    assert_eq!(
        (m.namespace(), m.metric_name()),
        (Some("AWS/Lambda"), Some("Errors"))
    );
    let dims: Vec<(Option<&str>, Option<&str>)> = m
        .dimensions()
        .iter()
        .map(|d| (d.name(), d.value()))
        .collect();
    assert_eq!(
        dims,
        [
            (Some("FunctionName"), Some("orders")),
            (Some("Resource"), Some("orders:live")),
            (Some("ExecutedVersion"), Some("7")),
        ]
    );
}

fn result(id: &str, values: &[f64], status: cw::StatusCode) -> cw::MetricDataResult {
    let mut b = cw::MetricDataResult::builder().id(id).status_code(status);
    for v in values {
        b = b.values(*v);
    }
    b.build()
}

#[test]
fn pages_add_up_per_query_id() {
    let mut totals = Totals::new();
    add_page(
        &mut totals,
        &[
            result("errors", &[1.0, 2.0], cw::StatusCode::PartialData),
            result("throttles", &[], cw::StatusCode::PartialData),
        ],
    )
    .unwrap();
    add_page(
        &mut totals,
        &[result("errors", &[0.5], cw::StatusCode::Complete)],
    )
    .unwrap();
    let throttles = MetricQuery {
        id: "throttles".into(),
        ..query()
    };
    let missing = MetricQuery {
        id: "other".into(),
        ..query()
    };
    let got = sums(&[query(), throttles, missing], &totals);
    let got: Vec<(&str, f64, usize)> = got
        .iter()
        .map(|s| (s.id.as_str(), s.sum, s.datapoints))
        .collect();
    assert_eq!(
        got,
        [("errors", 3.5, 3), ("throttles", 0.0, 0), ("other", 0.0, 0)]
    );
}

#[test]
fn a_result_cloudwatch_could_not_compute_is_an_error() {
    let mut totals = Totals::new();
    let failed = cw::MetricDataResult::builder()
        .id("errors")
        .status_code(cw::StatusCode::InternalError)
        .messages(cw::MessageData::builder().value("try later").build())
        .build();
    let e = add_page(&mut totals, &[failed]).unwrap_err();
    assert_eq!(e.aws_code(), Some("InternalError"));
    assert!(e.is_retryable());
    assert!(e.to_string().contains("query errors: try later"), "{e}");
    let forbidden = result("errors", &[], cw::StatusCode::Forbidden);
    let e = add_page(&mut totals, &[forbidden]).unwrap_err();
    assert_eq!(e.aws_code(), Some("Forbidden"));
    assert!(!e.is_retryable());
}
