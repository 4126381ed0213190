//! CloudWatch for the analysis tests, through the real SDK against the local endpoint the
//! function reads: the load balancer's metrics of green and blue as AWS publishes them
//! (namespace `AWS/ApplicationELB`, per target group and per load balancer), and alarms in
//! each state.

#![allow(dead_code)]

use aws_sdk_cloudwatch as cw;
use codehooks_tests::LocalAws;
use cw::types::{Dimension, MetricDatum, StandardUnit, StateValue, Tag};

use super::REGION;

/// A CloudWatch client on the endpoint the function uses.
pub async fn client(local: &LocalAws) -> cw::Client {
    cw::Client::new(&local.sdk_config(local.emulator_url(), REGION).await)
}

/// The `LoadBalancer` dimension of a load balancer ARN.
pub fn lb_dimension(lb_arn: &str) -> String {
    lb_arn
        .split_once(":loadbalancer/")
        .map(|(_, d)| d.to_owned())
        .expect("a load balancer ARN")
}

/// The `TargetGroup` dimension of a target group ARN.
pub fn tg_dimension(tg_arn: &str) -> String {
    tg_arn
        .rsplit_once(':')
        .map(|(_, d)| d.to_owned())
        .expect("a target group ARN")
}

fn dim(name: &str, value: &str) -> Dimension {
    Dimension::builder().name(name).value(value).build()
}

fn now() -> cw::primitives::DateTime {
    cw::primitives::DateTime::from(std::time::SystemTime::now())
}

/// One `MetricStat` query of the load balancer's namespace.
pub fn query(
    id: &str,
    metric: &str,
    dimensions: &[(&str, &str)],
    stat: &str,
    period_s: i32,
) -> cw::types::MetricDataQuery {
    let metric = cw::types::Metric::builder()
        .namespace("AWS/ApplicationELB")
        .metric_name(metric)
        .set_dimensions(Some(dimensions.iter().map(|(k, v)| dim(k, v)).collect()))
        .build();
    cw::types::MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            cw::types::MetricStat::builder()
                .metric(metric)
                .period(period_s)
                .stat(stat)
                .build(),
        )
        .build()
}

/// What one target group served over the last minute.
#[derive(Clone, Debug)]
pub struct Traffic {
    pub requests: f64,
    pub target_5xx: f64,
    /// Response times in milliseconds, one per request sampled.
    pub latencies_ms: Vec<f64>,
}

impl Traffic {
    /// `requests` requests, `target_5xx` of them failed, all answered in `latency_ms`.
    pub fn new(requests: f64, target_5xx: f64, latency_ms: f64) -> Traffic {
        Traffic {
            requests,
            target_5xx,
            latencies_ms: vec![latency_ms; 20],
        }
    }
}

/// Publishes what the load balancer `lb_arn` reports for its target group `tg_arn`, now:
/// `RequestCount`, `HTTPCode_Target_5XX_Count` and `TargetResponseTime` (seconds), and adds
/// the requests to the load balancer's own `RequestCount`.
pub async fn put_target_group(cw: &cw::Client, lb_arn: &str, tg_arn: &str, t: &Traffic) {
    let lb = lb_dimension(lb_arn);
    let tg = tg_dimension(tg_arn);
    let per_tg = || vec![dim("TargetGroup", &tg), dim("LoadBalancer", &lb)];
    let count = |name: &str, dims: Vec<Dimension>, v: f64| {
        MetricDatum::builder()
            .metric_name(name)
            .set_dimensions(Some(dims))
            .timestamp(now())
            .unit(StandardUnit::Count)
            .value(v)
            .build()
    };
    let data = vec![
        count("RequestCount", per_tg(), t.requests),
        count("HTTPCode_Target_5XX_Count", per_tg(), t.target_5xx),
        count("RequestCount", vec![dim("LoadBalancer", &lb)], t.requests),
        MetricDatum::builder()
            .metric_name("TargetResponseTime")
            .set_dimensions(Some(per_tg()))
            .timestamp(now())
            .unit(StandardUnit::Seconds)
            .set_values(Some(t.latencies_ms.iter().map(|ms| ms / 1000.0).collect()))
            .build(),
    ];
    cw.put_metric_data()
        .namespace("AWS/ApplicationELB")
        .set_metric_data(Some(data))
        .send()
        .await
        .expect("PutMetricData");
}

/// An alarm named `name` in `state` (with `reason`), carrying `tags`.
pub async fn alarm(
    cw: &cw::Client,
    name: &str,
    state: StateValue,
    reason: &str,
    tags: &[(&str, &str)],
) {
    cw.put_metric_alarm()
        .alarm_name(name)
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .statistic(cw::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(5.0)
        .comparison_operator(cw::types::ComparisonOperator::GreaterThanThreshold)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
                .collect(),
        ))
        .send()
        .await
        .expect("PutMetricAlarm");
    cw.set_alarm_state()
        .alarm_name(name)
        .state_value(state)
        .state_reason(reason)
        .send()
        .await
        .expect("SetAlarmState");
}
