//! Unit tests of `app.rs`: the orchestration against the in-memory twins (no network).

use std::time::{Duration, SystemTime};

use codehooks::alert::MemoryPublisher;
use codehooks::logtail::MemoryLogs;
use codehooks::once::{Claim, MemoryOnceStore, OnceOp};
use serde_json::json;

use super::*;
use crate::history::{ActionRun, DeploymentFacts, Lookup, MemoryReleaseHistory};

type Twin = App<MemoryPublisher, MemoryOnceStore, MemoryReleaseHistory, MemoryLogs>;

fn config(recovered: bool) -> Config {
    Config {
        topic_arn: "arn:aws:sns:eu-west-1:123456789012:alerts".into(),
        table: Some("alerts".into()),
        stopped: false,
        pull_requests: false,
        recovered,
        dedup_ttl: Duration::from_secs(48 * 3600),
        state_ttl: Duration::from_secs(90 * 86_400),
        lease_margin: Duration::from_secs(5),
        log_lines: 20,
        approvals: false,
        approvers: Vec::new(),
    }
}

fn app_with(recovered: bool, history: MemoryReleaseHistory) -> Twin {
    let store = MemoryOnceStore::new();
    App::new(
        config(recovered),
        MemoryPublisher::new(),
        Some(store),
        history,
        MemoryLogs::new(),
    )
}

/// The lease of an invocation starting now with Lambda's 60 s timeout: its deadline plus the
/// 5 s margin, on the store's clock.
fn lease(app: &Twin) -> SystemTime {
    let now = app
        .store()
        .map_or_else(SystemTime::now, MemoryOnceStore::now);
    let deadline = now + Duration::from_secs(60);
    let deadline_ms = deadline
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    codehooks::once::lease_until(deadline_ms, now, Duration::from_secs(5))
}

fn app() -> Twin {
    app_with(true, MemoryReleaseHistory::new())
}

fn event(name: &str) -> Value {
    let text = match name {
        "build-failed" => include_str!("../../../events/build-alerts-codebuild-failed.json"),
        "build-succeeded" => include_str!("../../../events/build-alerts-codebuild-succeeded.json"),
        "deploy-failed" => include_str!("../../../events/build-alerts-codedeploy-failure.json"),
        "action-failed" => {
            include_str!("../../../events/build-alerts-codepipeline-action-failed.json")
        }
        "action-failed-build" => {
            include_str!("../../../events/build-alerts-codepipeline-action-failed-build.json")
        }
        "pipeline-failed" => {
            include_str!("../../../events/build-alerts-codepipeline-pipeline-failed.json")
        }
        other => panic!("no event {other}"),
    };
    serde_json::from_str(text).unwrap()
}

/// The same event at another time (a later or earlier delivery of a new event).
fn at(mut ev: Value, id: &str, time: &str) -> Value {
    ev["id"] = json!(id);
    ev["time"] = json!(time);
    ev
}

fn label(o: &Outcome) -> &str {
    codehooks::harness::Outcome::label(o)
}

#[tokio::test]
async fn a_failure_publishes_once_and_a_redelivery_is_a_duplicate() {
    let app = app();
    let first = app
        .process(event("build-failed"), lease(&app))
        .await
        .unwrap();
    let Outcome::Published(p) = &first else {
        panic!("{first:?}")
    };
    assert_eq!(
        p.subject,
        "FAILED build shop-api #142 (9f86d08) in eu-west-1"
    );
    assert_eq!(p.message_id.as_deref(), Some("memory-1"));
    let again = app
        .process(event("build-failed"), lease(&app))
        .await
        .unwrap();
    assert_eq!(again, Outcome::duplicate());
    assert_eq!(app.publisher().published().len(), 1);
    // The answer keeps the keys the integration tests and the demo read.
    let v = serde_json::to_value(&first).unwrap();
    assert_eq!(v["outcome"], "published");
    assert!(v["subject"].is_string() && v["messageId"].is_string() && v["bytes"].is_u64());
    let v = serde_json::to_value(&again).unwrap();
    assert_eq!(
        (v["outcome"].as_str(), v["reason"].is_string()),
        (Some("duplicate"), true)
    );
}

#[tokio::test]
async fn busy_fails_the_invocation_so_it_is_retried() {
    let app = app();
    let key = idempotency::key(
        "build-alerts/build",
        &[
            "arn:aws:codebuild:eu-west-1:123456789012:build/shop-api:6a1f0e2d-9c3b-4d7e-8f51-2b4c6d8e0a13",
            "FAILED",
        ],
    );
    let store = app.store().unwrap();
    // An invocation claimed the alert and died.
    assert!(matches!(
        store.claim(&key, lease(&app)).await.unwrap(),
        Claim::Claimed(_)
    ));
    let err = app
        .process(event("build-failed"), lease(&app))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "Transient", "{err}");
    store.advance(Duration::from_secs(65));
    let err = app
        .process(event("build-failed"), lease(&app))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        "Transient",
        "still within its deadline plus the margin"
    );
    assert!(app.publisher().published().is_empty());
    // Just after the dead invocation's deadline plus the margin (66 s, well before the
    // former fixed 90 s lease), Lambda's retry takes the claim over and publishes.
    store.advance(Duration::from_secs(1));
    let out = app
        .process(event("build-failed"), lease(&app))
        .await
        .unwrap();
    assert_eq!(label(&out), "published");
}

#[tokio::test]
async fn a_failed_publish_releases_the_claim_so_a_retry_publishes() {
    let app = app();
    app.publisher().fail_next(1);
    let err = app
        .process(event("deploy-failed"), lease(&app))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(app.publisher().published().is_empty());
    let out = app
        .process(event("deploy-failed"), lease(&app))
        .await
        .unwrap();
    assert_eq!(label(&out), "published");
    assert_eq!(app.publisher().attempts(), 2);
    let attrs = &app.publisher().published()[0].attributes;
    assert!(attrs.contains(&("deploymentId".to_owned(), "d-7K2P9QX4B".to_owned())));
}

#[tokio::test]
async fn a_success_after_a_failure_sends_a_recovered_notice_once() {
    let app = app();
    app.process(event("build-failed"), lease(&app))
        .await
        .unwrap();
    let ok = event("build-succeeded");
    let out = app.process(ok.clone(), lease(&app)).await.unwrap();
    let Outcome::Published(p) = &out else {
        panic!("{out:?}")
    };
    assert!(
        p.subject.starts_with("RECOVERED build shop-api"),
        "{}",
        p.subject
    );
    // The state is now SUCCEEDED: another success says nothing.
    let next = at(ok, "later-success", "2026-11-23T05:00:00Z");
    assert_eq!(
        app.process(next, lease(&app)).await.unwrap(),
        Outcome::ignored("it did not fail last time")
    );
    assert_eq!(app.publisher().published().len(), 2);
}

#[tokio::test]
async fn an_older_event_never_overwrites_a_newer_state() {
    let app = app();
    // The success (00:31) is processed first, then a failure from before it (23:43) arrives.
    app.process(event("build-succeeded"), lease(&app))
        .await
        .unwrap();
    app.process(event("build-failed"), lease(&app))
        .await
        .unwrap();
    let store = app.store().unwrap();
    let state = store
        .state("codebuild/eu-west-1/shop-api")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.state, "SUCCEEDED");
    // And a success older than a recorded failure sends no notice.
    let app = self::app();
    let late_failure = at(
        event("build-failed"),
        "late-failure",
        "2026-11-23T09:00:00Z",
    );
    app.process(late_failure, lease(&app)).await.unwrap();
    assert_eq!(
        app.process(event("build-succeeded"), lease(&app))
            .await
            .unwrap(),
        Outcome::ignored("a later event set the state already")
    );
    assert_eq!(app.publisher().published().len(), 1);
}

#[tokio::test]
async fn recovered_notices_need_the_switch() {
    let app = app_with(false, MemoryReleaseHistory::new());
    app.process(event("build-failed"), lease(&app))
        .await
        .unwrap();
    let out = app
        .process(event("build-succeeded"), lease(&app))
        .await
        .unwrap();
    assert_eq!(label(&out), "ignored");
    assert!(
        app.store()
            .unwrap()
            .calls()
            .iter()
            .all(|c| !c.starts_with("RecordState"))
    );
}

#[tokio::test]
async fn pipeline_failures_with_a_failed_action_are_suppressed() {
    let history = MemoryReleaseHistory::new().with_action_runs(
        "shop-release",
        "f1e2d3c4-b5a6-4789-8abc-def012345678",
        vec![ActionRun {
            stage: "Build".into(),
            action: "Build".into(),
            status: "Failed".into(),
            provider: Some("CodeBuild".into()),
            ..Default::default()
        }],
    );
    let app = app_with(true, history);
    let out = app
        .process(event("pipeline-failed"), lease(&app))
        .await
        .unwrap();
    assert_eq!(
        out,
        Outcome::suppressed("the failed action Build/Build has its own alert")
    );
    // A CodeBuild action's own event is suppressed too: the build's event alerts.
    let out = app
        .process(event("action-failed-build"), lease(&app))
        .await
        .unwrap();
    assert_eq!(label(&out), "suppressed");
    assert!(app.publisher().published().is_empty());
    // The pipeline's failure is still its last known state.
    let state = app
        .store()
        .unwrap()
        .state("codepipeline/eu-west-1/shop-release")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.state, "FAILED");
}

#[tokio::test]
async fn a_pipeline_failure_without_a_failed_action_alerts() {
    let app = app();
    let out = app
        .process(event("pipeline-failed"), lease(&app))
        .await
        .unwrap();
    let Outcome::Published(p) = out else {
        panic!("not published")
    };
    assert!(
        p.subject.starts_with("FAILED pipeline shop-release"),
        "{}",
        p.subject
    );
}

#[tokio::test]
async fn lookup_failures_still_alert_with_a_note() {
    let app = app();
    app.history().fail(Lookup::ActionRuns);
    app.history().fail(Lookup::Execution);
    app.history().fail(Lookup::Deployment);
    assert_eq!(
        label(
            &app.process(event("action-failed"), lease(&app))
                .await
                .unwrap()
        ),
        "published"
    );
    assert_eq!(
        label(
            &app.process(event("deploy-failed"), lease(&app))
                .await
                .unwrap()
        ),
        "published"
    );
    let published = app.publisher().published();
    assert!(
        published[0]
            .text
            .contains("(The action details could not be read: ListActionExecutions failed"),
        "{}",
        published[0].text
    );
    assert!(
        published[0]
            .text
            .contains("(The execution details could not be read")
    );
    assert!(
        published[1]
            .text
            .contains("(The deployment's details could not be read: GetDeployment failed")
    );
}

#[tokio::test]
async fn deployment_alerts_use_the_deployment_facts() {
    let history = MemoryReleaseHistory::new().with_deployment(
        "d-7K2P9QX4B",
        DeploymentFacts {
            error_code: Some("HEALTH_CONSTRAINTS".into()),
            error_message: Some("too many unhealthy instances".into()),
            rollback_deployment_id: Some("d-ROLLBACK1".into()),
            ..Default::default()
        },
    );
    let app = app_with(true, history);
    app.process(event("deploy-failed"), lease(&app))
        .await
        .unwrap();
    let r = &app.publisher().published()[0];
    assert!(
        r.text
            .contains("HEALTH_CONSTRAINTS: too many unhealthy instances"),
        "{}",
        r.text
    );
    assert!(r.text.contains("Sent by codehooks build-alerts."));
    assert_eq!(app.history().calls(), ["GetDeployment d-7K2P9QX4B"]);
    // A redelivery does not even look the deployment up again.
    app.process(event("deploy-failed"), lease(&app))
        .await
        .unwrap();
    assert_eq!(app.history().calls().len(), 1);
}

#[tokio::test]
async fn without_a_table_every_event_publishes() {
    let app: Twin = App::new(
        Config {
            table: None,
            ..config(false)
        },
        MemoryPublisher::new(),
        None,
        MemoryReleaseHistory::new(),
        MemoryLogs::new(),
    );
    app.process(event("build-failed"), lease(&app))
        .await
        .unwrap();
    app.process(event("build-failed"), lease(&app))
        .await
        .unwrap();
    assert_eq!(app.publisher().published().len(), 2);
}

#[tokio::test]
async fn a_store_outage_fails_before_publishing() {
    let app = app();
    app.store().unwrap().fail_next(OnceOp::Claim, 1);
    let err = app
        .process(event("build-failed"), lease(&app))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(app.publisher().published().is_empty());
}

#[tokio::test]
async fn bad_events_fail_before_any_side_effect() {
    let app = app();
    let mut ev = event("build-failed");
    ev["region"] = json!("eu-west-1/../x");
    assert_eq!(
        app.process(ev, lease(&app)).await.unwrap_err().kind(),
        "BadInput"
    );
    let mut ev = event("build-failed");
    ev["detail-type"] = json!("Something Else");
    assert_eq!(
        app.process(ev, lease(&app)).await.unwrap_err().kind(),
        "BadInput"
    );
    assert!(app.store().unwrap().calls().is_empty());
    assert_eq!(app.publisher().attempts(), 0);
}

#[tokio::test]
async fn a_failed_build_carries_its_log_tail_read_once_after_the_claim() {
    let logs = std::sync::Arc::new(MemoryLogs::new());
    logs.put(
        "/aws/codebuild/shop-api",
        "6a1f0e2d-9c3b-4d7e-8f51-2b4c6d8e0a13",
        [
            "\u{1b}[32mcargo test --locked\u{1b}[0m",
            "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
            "error: test failed, to rerun pass `--lib`",
        ],
    );
    let store = MemoryOnceStore::new();
    let now = store.now();
    let app = App::new(
        config(true),
        MemoryPublisher::new(),
        Some(store),
        MemoryReleaseHistory::new(),
        std::sync::Arc::clone(&logs),
    );
    let lease = now + Duration::from_secs(65);
    let out = app.process(event("build-failed"), lease).await.unwrap();
    assert!(matches!(out, Outcome::Published(_)), "{out:?}");
    let published = app.publisher().published();
    let text = &published[0].text;
    assert!(
        text.contains(
            "Last 3 log lines\n  cargo test --locked\n  export AWS_ACCESS_KEY_ID=****\n  error: test failed"
        ),
        "{text}"
    );
    assert!(!text.contains("AKIAIOSFODNN7EXAMPLE"));
    let tail = &published[0].chatbot["metadata"]["additionalContext"]["logTail"];
    assert_eq!(tail["olderLinesLeftOut"], false);
    assert_eq!(tail["group"], "/aws/codebuild/shop-api");
    assert_eq!(logs.reads(), 1);

    // A redelivery is a duplicate: the log is not read again.
    app.process(event("build-failed"), lease).await.unwrap();
    assert_eq!(app.publisher().published().len(), 1);
    assert_eq!(logs.reads(), 1);
}
