//! Unit tests of `measure.rs`: the decision record's dimensions and count.

use super::*;
use crate::hook::Platform;
use crate::payload::HookPayload;
use serde_json::Value;

fn evidence(platform: Option<Platform>, hook: Option<&str>) -> Evidence {
    let mut ev = Evidence::new(&HookPayload {
        deployment_id: "d-ABC".into(),
        hook_execution_id: "x".into(),
    });
    ev.platform = platform;
    ev.hook = hook.map(str::to_owned);
    ev
}

fn record(m: &Metrics) -> Value {
    serde_json::from_str(&m.to_line(1_700_000_000_000)).unwrap()
}

#[test]
fn a_decision_is_counted_by_platform_stage_and_outcome() {
    let ev = evidence(Some(Platform::EcsNative), Some("POST_TEST_TRAFFIC_SHIFT"));
    let v = record(&decision_metrics("codehooks", &ev, "InProgress"));
    let declared = &v["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(declared["Namespace"], "codehooks");
    assert_eq!(
        declared["Dimensions"],
        serde_json::json!([["Function", "Platform", "Stage", "Outcome"]])
    );
    assert_eq!(declared["Metrics"][0]["Name"], "Decisions");
    assert_eq!(v["Decisions"], 1);
    assert_eq!(v["Function"], "deploy-hook");
    assert_eq!(v["Platform"], "Amazon ECS");
    assert_eq!(v["Stage"], "POST_TEST_TRAFFIC_SHIFT");
    assert_eq!(v["Outcome"], "InProgress");
    assert_eq!(v["deploymentId"], "d-ABC");
}

#[test]
fn an_unknown_platform_or_stage_still_has_every_dimension() {
    let ev = evidence(None, None);
    let v = record(&decision_metrics("ns", &ev, ev.state()));
    assert_eq!(v["Platform"], "unknown");
    assert_eq!(v["Stage"], "unknown");
    // Evidence starts as Failed until the checks conclude.
    assert_eq!(v["Outcome"], "Failed");
    let ev = evidence(Some(Platform::CodeDeployLambda), Some("BeforeAllowTraffic"));
    let v = record(&decision_metrics("ns", &ev, "Failed"));
    assert_eq!(v["Platform"], "CodeDeploy Lambda");
    assert_eq!(v["Outcome"], "Failed");
}
