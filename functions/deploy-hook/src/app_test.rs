//! Unit tests of the orchestration (`app.rs`, `run.rs`) against the in-memory twins: what the
//! hook reports, and alerts, from what it finds. No network: probes are off except where a
//! refusal comes before them.

use std::time::{SystemTime, UNIX_EPOCH};

use codehooks::alert::MemoryPublisher;
use codehooks::once::MemoryOnceStore;
use serde_json::json;

use super::*;
use crate::config::config_from_pairs;
use crate::fixtures::*;
use crate::twins::MemoryDeployments;

type TestApp = App<crate::twins::Twins>;

const POLICY: &str = r#"{"default": {"probes": false, "targetHealthWaitMs": 300, "targetHealthPollMs": 100},
    "hooks": {"AfterAllowTraffic": {"probes": true}}}"#;

fn app(extra: &[(&str, &str)]) -> TestApp {
    app_with(extra)
}

fn app_with(extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![("CODEHOOKS_HOOK_POLICY", POLICY)];
    vars.extend_from_slice(extra);
    App::over_twins(config_from_pairs(vars).unwrap())
}

fn event(id: &str, deadline_in_ms: Option<u64>) -> LambdaEvent<Value> {
    let mut context = lambda_runtime::Context::default();
    context.invoked_function_arn =
        "arn:aws:lambda:us-east-1:123456789012:function:CodeDeployHook_x".into();
    context.request_id = "req-1".into();
    if let Some(ms) = deadline_in_ms {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        context.deadline = now + ms;
    }
    LambdaEvent::new(
        json!({"DeploymentId": id, "LifecycleEventHookExecutionId": "exec-1"}),
        context,
    )
}

fn alerts(app: &TestApp) -> &MemoryPublisher {
    app.alerts.as_ref().unwrap()
}

fn attribute(r: &codehooks::alert::Rendered, name: &str) -> String {
    r.attributes
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn health_polls(app: &TestApp) -> usize {
    app.load_balancer
        .calls()
        .iter()
        .filter(|c| c.starts_with("DescribeTargetHealth"))
        .count()
}

/// `app` seeded with `d-1` running `running`, its green targets answering `health`.
fn seeded(app: TestApp, running: &str, health: Vec<crate::facts::TargetHealthFact>) -> TestApp {
    seed(&app.deployments, &app.load_balancer, "d-1", running, 0);
    app.load_balancer.push_health(GREEN, health);
    app
}

#[tokio::test]
async fn a_healthy_green_is_reported_succeeded_without_an_alert() {
    let app = seeded(app(&[]), "AfterInstall", targets(2, "healthy", None));
    let ev = app.answer(event("d-1", None)).await.unwrap();
    assert_eq!(ev.decision, Decision::Succeeded, "{}", ev.summary);
    assert_eq!(ev.reported, "reported");
    assert_eq!(ev.checks[0].check, "targetHealth");
    assert_eq!(ev.region.as_deref(), Some("us-east-1"));
    assert_eq!(ev.account.as_deref(), Some("123456789012"));
    assert_eq!(
        app.deployments.status("d-1", "exec-1"),
        Some(Decision::Succeeded)
    );
    assert!(alerts(&app).published().is_empty());
}

#[tokio::test]
async fn a_discovery_failure_is_reported_failed_with_the_error_and_alerted() {
    let app = seeded(app(&[]), "AfterInstall", targets(2, "healthy", None));
    app.deployments.fail("GetDeployment", 10, false);
    let ev = app.answer(event("d-1", None)).await.unwrap();
    assert_eq!(ev.decision, Decision::Failed);
    assert_eq!(ev.failed_checks, ["discovery"]);
    assert!(ev.error.as_deref().unwrap_or("").contains("GetDeployment"));
    assert_eq!(
        app.deployments.status("d-1", "exec-1"),
        Some(Decision::Failed)
    );
    let sent = alerts(&app).published();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].subject.contains("d-1"), "{}", sent[0].subject);
    assert_eq!(attribute(&sent[0], "state"), "Failed");
    assert_eq!(attribute(&sent[0], "severity"), "error");
    assert!(
        sent[0].text.contains("GetDeployment failed"),
        "{}",
        sent[0].text
    );
}

#[tokio::test]
async fn fail_open_passes_a_discovery_failure_but_still_alerts() {
    let app = seeded(
        app(&[("CODEHOOKS_HOOK_FAIL_OPEN", "true")]),
        "AfterInstall",
        targets(2, "healthy", None),
    );
    app.deployments.fail("GetDeployment", 10, true);
    let ev = app.answer(event("d-1", None)).await.unwrap();
    assert_eq!(ev.decision, Decision::Succeeded);
    assert!(ev.fail_open && ev.would_fail);
    let sent = alerts(&app).published();
    assert_eq!(attribute(&sent[0], "state"), "FailOpenSucceeded");
    assert_eq!(attribute(&sent[0], "severity"), "warning");
}

#[tokio::test]
async fn fail_open_never_passes_a_failed_check() {
    let app = seeded(
        app(&[("CODEHOOKS_HOOK_FAIL_OPEN", "true")]),
        "AfterInstall",
        targets(2, "unhealthy", Some("Target.ResponseCodeMismatch")),
    );
    let ev = app.answer(event("d-1", None)).await.unwrap();
    assert_eq!(ev.decision, Decision::Failed);
    assert!(!ev.fail_open);
}

#[tokio::test]
async fn a_dry_run_reports_succeeded_and_publishes_what_would_have_failed() {
    let app = seeded(
        app(&[("CODEHOOKS_HOOK_DRY_RUN", "true")]),
        "AfterInstall",
        targets(2, "unhealthy", Some("Target.ResponseCodeMismatch")),
    );
    let ev = app.answer(event("d-1", None)).await.unwrap();
    assert_eq!(ev.decision, Decision::Succeeded);
    assert!(ev.dry_run && ev.would_fail);
    assert_eq!(
        app.deployments.status("d-1", "exec-1"),
        Some(Decision::Succeeded)
    );
    let subjects = alerts(&app).subjects();
    assert!(subjects[0].starts_with("[dry run]"), "{subjects:?}");
}

#[tokio::test]
async fn target_health_fails_fast_on_reasons_that_will_not_clear() {
    for reason in ["Target.ResponseCodeMismatch", "Target.Timeout"] {
        let app = seeded(
            app(&[]),
            "AfterInstall",
            targets(2, "unhealthy", Some(reason)),
        );
        let ev = app.answer(event("d-1", None)).await.unwrap();
        assert_eq!(ev.decision, Decision::Failed, "{reason}");
        assert_eq!(ev.failed_checks, ["targetHealth"]);
        assert_eq!(health_polls(&app), 1, "{reason}: no waiting");
        assert!(ev.summary.contains(reason), "{}", ev.summary);
    }
}

#[tokio::test]
async fn a_repeated_invocation_is_harmless() {
    let mut app = app(&[]);
    app.once = Some(MemoryOnceStore::new());
    let app = seeded(
        app,
        "AfterInstall",
        targets(2, "unhealthy", Some("Target.Timeout")),
    );
    let first = app.answer(event("d-1", None)).await.unwrap();
    assert_eq!(first.reported, "reported");
    let again = app.answer(event("d-1", None)).await.unwrap();
    assert_eq!(again.reported, "alreadyCompleted");
    assert_eq!(
        app.deployments.status("d-1", "exec-1"),
        Some(Decision::Failed)
    );
    assert_eq!(
        alerts(&app).attempts(),
        1,
        "with the table, one alert per hook execution"
    );
}

#[tokio::test]
async fn a_status_that_cannot_be_reported_is_the_invocations_error() {
    let app = seeded(
        app(&[]),
        "AfterInstall",
        targets(2, "unhealthy", Some("Target.Timeout")),
    );
    app.deployments
        .fail("PutLifecycleEventHookExecutionStatus", 10, false);
    let e = app.answer(event("d-1", None)).await.unwrap_err();
    assert_eq!(e.kind(), "AwsError");
    assert!(
        e.to_string()
            .contains("PutLifecycleEventHookExecutionStatus")
    );
    assert_eq!(app.deployments.status("d-1", "exec-1"), None);
    assert_eq!(
        alerts(&app).attempts(),
        0,
        "no alert for a status that was not set"
    );

    // A failure that may pass later is retried.
    let again = seeded(app_with(&[]), "AfterInstall", targets(2, "healthy", None));
    again
        .deployments
        .fail("PutLifecycleEventHookExecutionStatus", 2, true);
    let ev = again.answer(event("d-1", None)).await.unwrap();
    assert_eq!(ev.reported, "reported");
    let puts = again
        .deployments
        .calls()
        .iter()
        .filter(|c| c.starts_with("PutLifecycleEventHookExecutionStatus"))
        .count();
    assert_eq!(puts, 3);
}

#[tokio::test]
async fn a_listener_that_serves_blue_is_refused_before_any_check_of_green() {
    // AfterAllowTraffic probes through production, which here still forwards to blue.
    let app = seeded(app(&[]), "AfterAllowTraffic", targets(2, "healthy", None));
    let ev = app.answer(event("d-1", None)).await.unwrap();
    assert_eq!(ev.decision, Decision::Failed);
    assert_eq!(ev.failed_checks, ["listener"]);
    assert!(
        ev.summary.contains("refusing to pass a test of blue"),
        "{}",
        ev.summary
    );
    assert_eq!(health_polls(&app), 0);
}

#[tokio::test]
async fn the_status_is_reported_before_a_short_deadline() {
    let app = seeded(
        app(&[(
            "CODEHOOKS_HOOK_POLICY",
            r#"{"default": {"probes": false, "targetHealthWaitMs": 60000, "targetHealthPollMs": 100}}"#,
        )]),
        "AfterInstall",
        targets(2, "initial", Some("Elb.InitialHealthChecking")),
    );
    let started = std::time::Instant::now();
    let ev = app.answer(event("d-1", Some(1_500))).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(1_500));
    assert_eq!(ev.decision, Decision::Failed);
    assert_eq!(ev.reported, "reported");
    assert_eq!(
        app.deployments.status("d-1", "exec-1"),
        Some(Decision::Failed)
    );
}

#[tokio::test]
async fn a_long_deployment_group_still_gets_an_alert_sns_accepts() {
    let app = app(&[]);
    let group = "g".repeat(200);
    let mut f = facts("AfterInstall").deployment.unwrap();
    f.deployment_group = group.clone();
    app.deployments.add("d-LONG", f, vec![ecs("AfterInstall")]);
    app.deployments.add_group("shop", &group, Some(pair()));
    seed(
        &MemoryDeployments::new(),
        &app.load_balancer,
        "d-x",
        "AfterInstall",
        0,
    );
    app.load_balancer
        .push_health(GREEN, targets(2, "unhealthy", Some("Target.Timeout")));
    let ev = app.answer(event("d-LONG", None)).await.unwrap();
    assert_eq!(ev.decision, Decision::Failed);
    let sent = alerts(&app).published();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].subject.chars().count() < 100, "{}", sent[0].subject);
    assert!(sent[0].message.len() <= codehooks::alert::MESSAGE_LIMIT);
}

#[tokio::test]
async fn the_degraded_mode_reports_failed_whatever_dry_run_and_fail_open_say() {
    let mut app = app(&[
        ("CODEHOOKS_HOOK_DRY_RUN", "true"),
        ("CODEHOOKS_HOOK_FAIL_OPEN", "true"),
    ]);
    app.config_error = Some(ConfigError::single(
        "CODEHOOKS_HOOK_POLICY",
        "hooks.AfterAllowTestTraffic: minSuccessRate must be from 0 to 1",
    ));
    let app = seeded(app, "AfterInstall", targets(2, "healthy", None));

    // Not a hook payload: BadInput, and no call at all.
    let mut bad = event("d-1", None);
    bad.payload = json!({"hello": 1});
    assert_eq!(app.answer(bad).await.unwrap_err().kind(), "BadInput");
    assert!(app.deployments.calls().is_empty());

    let e = app.answer(event("d-1", None)).await.unwrap_err();
    assert_eq!(e.kind(), "Config");
    assert!(e.to_string().contains("CODEHOOKS_HOOK_POLICY"), "{e}");
    assert_eq!(
        app.deployments.status("d-1", "exec-1"),
        Some(Decision::Failed)
    );
    assert_eq!(
        app.deployments.calls(),
        ["PutLifecycleEventHookExecutionStatus d-1 exec-1 Failed"],
        "nothing but the report is called"
    );
    assert!(app.load_balancer.calls().is_empty());
    let sent = alerts(&app).published();
    assert_eq!(sent.len(), 1);
    assert_eq!(attribute(&sent[0], "state"), "Failed");
    assert!(sent[0].text.contains("configuration"), "{}", sent[0].text);
}
