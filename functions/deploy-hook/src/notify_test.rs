//! Unit tests of the rollback alert's once-only rule ([`owed`]) and of its paths through the
//! orchestration against the twins: the status's answer lost then a retry, a publish refused
//! then a retry, a crash after the claim, with and without the table.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use codehooks::once::{Claim, MemoryOnceStore};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};

use super::*;
use crate::config::config_from_pairs;
use crate::fixtures::*;
use crate::ports::Deployments;

type TestApp = App<crate::twins::Twins>;

const POLICY: &str =
    r#"{"default": {"probes": false, "targetHealthWaitMs": 300, "targetHealthPollMs": 100}}"#;
const KEY: &str = "deploy-hook/d-1/exec-1";

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A hook on `d-1` whose green answers `health` in turn (the last repeats); with the table
/// when `table`.
fn app(table: bool, health: &[Vec<crate::facts::TargetHealthFact>]) -> TestApp {
    let app: TestApp = App {
        once: table.then(|| MemoryOnceStore::new().with_now(now_secs())),
        ..App::over_twins(config_from_pairs([("CODEHOOKS_HOOK_POLICY", POLICY)]).unwrap())
    };
    seed(
        &app.deployments,
        &app.load_balancer,
        "d-1",
        "AfterInstall",
        0,
    );
    for h in health {
        app.load_balancer.push_health(GREEN, h.clone());
    }
    app
}

fn failing() -> Vec<crate::facts::TargetHealthFact> {
    targets(2, "unhealthy", Some("Target.Timeout"))
}

fn healthy() -> Vec<crate::facts::TargetHealthFact> {
    targets(2, "healthy", None)
}

fn event(deadline_in_ms: Option<u64>) -> LambdaEvent<Value> {
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
        json!({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "exec-1"}),
        context,
    )
}

fn published(app: &TestApp) -> Vec<codehooks::alert::Rendered> {
    app.alerts.as_ref().unwrap().published()
}

fn store(app: &TestApp) -> &MemoryOnceStore {
    app.once.as_ref().unwrap()
}

fn attribute(r: &codehooks::alert::Rendered, name: &str) -> String {
    r.attributes
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn state(s: &str) -> State {
    State {
        state: s.into(),
        at: "2026-12-01T03:00:00Z".into(),
        detail: Some("targetHealth failed".into()),
        ..State::default()
    }
}

fn evidence(decision: Decision, would_fail: bool) -> Evidence {
    let payload = HookPayload::parse(
        &json!({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "exec-1"}),
    )
    .unwrap();
    let mut ev = Evidence::new(&payload);
    ev.decision = decision;
    ev.would_fail = would_fail;
    ev
}

/// The evidence, the report's answer, the recorded state, and who owes the alert.
type Row<'a> = (
    &'a Evidence,
    &'a Result<Reported>,
    Option<&'a State>,
    Option<Owed>,
);

#[test]
fn who_owes_the_alert() {
    use Reported::{AlreadyCompleted, Reported as Set};
    let failed = evidence(Decision::Failed, true);
    let passed = evidence(Decision::Succeeded, false);
    let dry_run = evidence(Decision::Succeeded, true);
    let lost: Result<Reported> = Err(Error::transient("lost"));
    let pending = state(FAILED_PENDING);
    let succeeded = state(SUCCEEDED);
    let rows: [Row<'_>; 10] = [
        (&failed, &Ok(Set), None, Some(Owed::Own)),
        (&dry_run, &Ok(Set), None, Some(Owed::Own)),
        (&passed, &Ok(Set), Some(&pending), None),
        (&failed, &lost, Some(&pending), None),
        (&passed, &lost, Some(&pending), None),
        (&failed, &Ok(AlreadyCompleted), None, Some(Owed::Own)),
        (&dry_run, &Ok(AlreadyCompleted), None, Some(Owed::Own)),
        (
            &passed,
            &Ok(AlreadyCompleted),
            Some(&pending),
            Some(Owed::Recorded("targetHealth failed".into())),
        ),
        (&passed, &Ok(AlreadyCompleted), Some(&succeeded), None),
        (&passed, &Ok(AlreadyCompleted), None, None),
    ];
    for (i, (ev, reported, recorded, want)) in rows.into_iter().enumerate() {
        assert_eq!(owed(ev, reported, recorded), want, "row {i}");
    }
}

/// The status lands but its answer is lost; the report's own retry finds it set
/// (`AlreadyCompleted`) and the alert is still published, once, and a later repeat of the
/// invocation publishes nothing.
#[tokio::test]
async fn a_lost_status_answer_still_alerts_once() {
    let app = app(true, &[failing()]);
    app.deployments.lose_report_answers(1, true);
    let ev = app.answer(event(None)).await.unwrap();
    assert_eq!(ev.reported, "alreadyCompleted");
    assert_eq!(
        app.deployments.status("d-1", "exec-1"),
        Some(Decision::Failed)
    );
    assert_eq!(published(&app).len(), 1);
    assert_eq!(store(&app).status(KEY), Some("done"));
    let again = app.answer(event(None)).await.unwrap();
    assert_eq!(again.reported, "alreadyCompleted");
    assert_eq!(published(&app).len(), 1, "a repeat publishes nothing");
}

/// The status lands and the invocation dies before it alerts; the retry's checks now pass,
/// so only the record of the pending `Failed` says the alert is owed: it is published once,
/// as a `Failed` alert with the earlier reason.
#[tokio::test]
async fn a_retry_whose_checks_pass_alerts_the_failed_status_it_cannot_see() {
    let app = app(true, &[failing(), healthy()]);
    app.deployments.lose_report_answers(1, false);
    let first = app.answer(event(None)).await.unwrap_err();
    assert_eq!(first.kind(), "AwsError");
    assert!(
        published(&app).is_empty(),
        "the first attempt died before alerting"
    );
    assert_eq!(
        app.deployments.status("d-1", "exec-1"),
        Some(Decision::Failed)
    );
    let retry = app.answer(event(None)).await.unwrap();
    assert_eq!(retry.decision, Decision::Succeeded, "{}", retry.summary);
    assert_eq!(retry.reported, "alreadyCompleted");
    let sent = published(&app);
    assert_eq!(sent.len(), 1);
    assert_eq!(attribute(&sent[0], "state"), "Failed");
    assert!(
        sent[0].text.contains("earlier invocation"),
        "{}",
        sent[0].text
    );
    assert!(sent[0].text.contains("Target.Timeout"), "{}", sent[0].text);
    app.answer(event(None)).await.unwrap();
    assert_eq!(published(&app).len(), 1);
}

/// Without the table the retry cannot know what was set: a passing retry does not alert, a
/// failing one does (at least once).
#[tokio::test]
async fn without_the_table_the_alert_is_at_least_once() {
    let app = app(false, &[failing(), healthy()]);
    app.deployments.lose_report_answers(1, false);
    app.answer(event(None)).await.unwrap_err();
    app.answer(event(None)).await.unwrap();
    assert!(published(&app).is_empty(), "nothing recorded says Failed");

    let app = app_failing_twice_without_table();
    app.answer(event(None)).await.unwrap();
    app.answer(event(None)).await.unwrap();
    assert_eq!(
        published(&app).len(),
        2,
        "each invocation that fails alerts"
    );
}

fn app_failing_twice_without_table() -> TestApp {
    app(false, &[failing()])
}

/// A `Succeeded` this function set voids a `Failed` recorded by an attempt that died before
/// its status landed: a repeat whose status is `AlreadyCompleted` does not alert.
#[tokio::test]
async fn a_succeeded_status_voids_an_earlier_failed_record() {
    let app = app(true, &[healthy()]);
    store(&app)
        .record_state(KEY, &state(FAILED_PENDING), KEEP)
        .await
        .unwrap();
    let ev = app.answer(event(None)).await.unwrap();
    assert_eq!(ev.reported, "reported");
    let again = app.answer(event(None)).await.unwrap();
    assert_eq!(again.reported, "alreadyCompleted");
    assert!(published(&app).is_empty());
}

/// SNS refuses beyond the SDK's retries: the claim is released and the invocation fails (so
/// Lambda retries it, and the dead-letter queue keeps it when retries run out); the retry
/// publishes once.
#[tokio::test]
async fn a_refused_publish_fails_the_invocation_and_the_retry_publishes_once() {
    let app = app(true, &[failing()]);
    app.alerts.as_ref().unwrap().fail_next(1);
    let e = app.answer(event(None)).await.unwrap_err();
    assert!(e.to_string().contains("Publish"), "{e}");
    assert_eq!(
        app.deployments.status("d-1", "exec-1"),
        Some(Decision::Failed),
        "the status comes first"
    );
    assert_eq!(store(&app).status(KEY), None, "the claim is released");
    let ev = app.answer(event(None)).await.unwrap();
    assert_eq!(ev.reported, "alreadyCompleted");
    assert_eq!(published(&app).len(), 1);
    assert_eq!(store(&app).status(KEY), Some("done"));
    app.answer(event(None)).await.unwrap();
    assert_eq!(published(&app).len(), 1);
}

/// Without the table a refused publish still fails the invocation.
#[tokio::test]
async fn without_the_table_a_refused_publish_fails_the_invocation() {
    let app = app(false, &[failing()]);
    app.alerts.as_ref().unwrap().fail_next(1);
    assert!(app.answer(event(None)).await.is_err());
    app.answer(event(None)).await.unwrap();
    assert_eq!(published(&app).len(), 1);
}

/// An invocation died between its claim and its publish: while the claim's lease runs, a
/// retry waits for it and then fails (nothing is published twice); once the lease ended the
/// retry publishes, once.
#[tokio::test]
async fn a_crash_after_the_claim_is_published_once_by_a_retry() {
    let app = app(true, &[failing()]);
    let held = store(&app)
        .claim(KEY, store(&app).now() + Duration::from_secs(60))
        .await
        .unwrap();
    assert!(matches!(held, Claim::Claimed(_)));
    // The dead invocation had reported Failed.
    app.deployments
        .report("d-1", "exec-1", Decision::Failed)
        .await
        .unwrap();
    let e = app.answer(event(Some(1_500))).await.unwrap_err();
    assert_eq!(e.kind(), "Transient", "{e}");
    assert!(published(&app).is_empty());
    store(&app).advance(Duration::from_secs(120));
    let ev = app.answer(event(None)).await.unwrap();
    assert_eq!(ev.reported, "alreadyCompleted");
    assert_eq!(published(&app).len(), 1);
    assert_eq!(store(&app).status(KEY), Some("done"));
}

/// Every copy of one hook execution's alert carries the same id, `<deployment>/<hook
/// execution>`, as
/// the `alertId` attribute and the chat document's id, so a subscriber can drop a repeat.
#[tokio::test]
async fn every_copy_of_the_alert_carries_the_hook_execution_id() {
    let app = app(false, &[failing()]);
    app.answer(event(None)).await.unwrap();
    app.answer(event(None)).await.unwrap();
    let sent = published(&app);
    assert_eq!(sent.len(), 2);
    for r in &sent {
        assert_eq!(attribute(r, "alertId"), "d-1/exec-1");
        assert_eq!(r.chatbot["id"], "d-1/exec-1", "{}", r.chatbot);
        assert!(r.message.contains("alertId"), "{}", r.message);
    }
}
