//! Unit tests of `evidence.rs`: the decision from the checks and the settings.

use super::*;
use crate::config::config_from_pairs;
use codehooks::harness::Outcome;

pub(crate) fn evidence(id: &str) -> Evidence {
    Evidence::new(&HookPayload {
        deployment_id: id.into(),
        hook_execution_id: "x".into(),
    })
}

#[test]
fn decisions_follow_dry_run_and_fail_open() {
    let base = config_from_pairs([]).unwrap();
    let mut ev = evidence("d-1");
    ev.checks
        .push(CheckResult::new("successRate", false, Some("/"), "1 of 10"));
    ev.conclude(&base);
    assert_eq!(ev.decision, Decision::Failed);
    assert_eq!(ev.failed_checks, ["successRate"]);
    assert_eq!(ev.label(), "Failed");

    let dry = Config {
        dry_run: true,
        ..base.clone()
    };
    let mut ev2 = ev.clone();
    ev2.conclude(&dry);
    assert_eq!(ev2.decision, Decision::Succeeded);
    assert!(ev2.would_fail && ev2.summary.starts_with("DRY RUN"));
    assert_eq!(ev2.label(), "DryRunFailed");

    // Fail-open passes errors, never failed checks.
    let open = Config {
        fail_open: true,
        ..base.clone()
    };
    let mut ev3 = ev.clone();
    ev3.conclude(&open);
    assert_eq!(ev3.decision, Decision::Failed);
    let mut ev4 = evidence("d-1");
    ev4.could_not("discovery", "GetDeployment failed");
    ev4.conclude(&open);
    assert_eq!(ev4.decision, Decision::Succeeded);
    assert!(ev4.fail_open);
    assert_eq!(ev4.label(), "FailOpenSucceeded");
    // Out of time, but green had already failed a check: still Failed.
    let mut ev5 = ev.clone();
    ev5.checks
        .push(CheckResult::new("deadline", false, None, "out of time"));
    ev5.conclude(&open);
    assert_eq!(ev5.decision, Decision::Failed);
    // Only out of time: fail-open passes it.
    let mut ev6 = evidence("d-1");
    ev6.checks.push(CheckResult::new(
        "deadline",
        false,
        Some("/"),
        "out of time",
    ));
    ev6.conclude(&open);
    assert_eq!(ev6.decision, Decision::Succeeded);
}

#[test]
fn the_answer_keeps_the_keys_the_tests_and_the_demo_read() {
    let mut ev = evidence("d-1");
    ev.conclude(&config_from_pairs([]).unwrap());
    let v = serde_json::to_value(&ev).unwrap();
    for key in [
        "decision",
        "reported",
        "summary",
        "failedChecks",
        "wouldFail",
        "failOpen",
        "probes",
        "targetHealth",
        "url",
        "connectTo",
        "listener",
        "greenTargetGroup",
        "targetType",
        "notes",
        "error",
        "durationMs",
        "hook",
        "checks",
    ] {
        assert!(v.get(key).is_some(), "{key}: {v:#}");
    }
    assert_eq!(v["decision"], "Succeeded");
    assert!(v.get("region").is_none() && v.get("infrastructure").is_none());
}
