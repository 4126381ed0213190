//! The pipeline action over the in-memory twins: what the job is answered, when it continues,
//! what is alerted, and that nothing runs twice.

use std::time::{SystemTime, UNIX_EPOCH};

use codehooks::once::MemoryOnceStore;
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};

use crate::answer::Answer;
use crate::app::App;
use crate::config::config_from_pairs;
use crate::facts::{AlarmFacts, JobFailure, JobResult, RollingDeployment, ServiceFacts};

type TestApp = App<crate::twins::Twins>;

const JOB: &str = "0b3f0c1e-7d2a-4c55-9a10-3c4d5e6f7a8b";
const NEXT: &str = "1b3f0c1e-7d2a-4c55-9a10-3c4d5e6f7a8b";
const EXECUTION: &str = "2b3f0c1e-7d2a-4c55-9a10-3c4d5e6f7a8b";

fn app(vars: &[(&str, &str)], once: bool) -> TestApp {
    App {
        once: once.then(MemoryOnceStore::new),
        ..App::over_twins(config_from_pairs(vars.iter().copied()).unwrap())
    }
}

fn invocation(
    id: &str,
    params: Value,
    token: Option<&str>,
    deadline_in_ms: u64,
) -> LambdaEvent<Value> {
    let mut context = lambda_runtime::Context::default();
    context.invoked_function_arn =
        "arn:aws:lambda:us-east-1:123456789012:function:stack-pipeline-verify".into();
    context.request_id = "req-1".into();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    context.deadline = now + deadline_in_ms;
    let mut data = json!({
        "actionConfiguration": {"configuration": {"FunctionName": "stack-pipeline-verify",
                                                  "UserParameters": params.to_string()}},
        "inputArtifacts": [], "outputArtifacts": [],
        "artifactCredentials": {"accessKeyId": "AKIAFAKE", "secretAccessKey": "very-secret", "sessionToken": "tok"}
    });
    if let Some(t) = token {
        data["continuationToken"] = json!(t);
    }
    LambdaEvent::new(
        json!({"CodePipeline.job": {"id": id, "accountId": "123456789012", "data": data}}),
        context,
    )
}

fn service(rollout: &str, td: &str, running: i64) -> ServiceFacts {
    ServiceFacts {
        arn: "arn:aws:ecs:us-east-1:123456789012:service/shop/web".into(),
        name: "web".into(),
        status: Some("ACTIVE".into()),
        desired_count: 2,
        running_count: running,
        deployments: vec![RollingDeployment {
            id: "ecs-svc/1".into(),
            status: "PRIMARY".into(),
            task_definition: Some(format!(
                "arn:aws:ecs:us-east-1:123456789012:task-definition/{td}"
            )),
            desired_count: 2,
            running_count: running,
            rollout_state: Some(rollout.into()),
            ..RollingDeployment::default()
        }],
    }
}

fn alarm(name: &str, state: &str) -> AlarmFacts {
    AlarmFacts {
        name: name.into(),
        arn: format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"),
        state: state.into(),
        reason: format!("{name} is {state}"),
        updated_ms: None,
    }
}

fn params() -> Value {
    json!({"service": {"cluster": "shop", "name": "web", "taskDefinition": "web:7"},
           "alarms": {"prefix": "web-"}, "pollSeconds": 1,
           "pipeline": {"name": "shop", "executionId": EXECUTION}})
}

/// A completed deployment of `web:7` and a quiet alarm.
fn healthy(app: &TestApp) {
    app.services
        .set_service("shop", service("COMPLETED", "web:7", 2));
    app.metrics.set_alarm(alarm("web-5xx", "OK"), &[]);
}

/// Invokes `app` with job `id` of the usual parameters, 20 s before its deadline.
async fn invoke(app: &TestApp, id: &str) -> codehooks::Result<Answer> {
    app.respond(invocation(id, params(), None, 20_000)).await
}

/// The failure job `id` was answered with.
fn failure(app: &TestApp, id: &str) -> (JobFailure, String) {
    match app.jobs.answer_of(id) {
        Some(JobResult::Failure { kind, message, .. }) => (kind, message),
        other => panic!("not a failure: {other:?}"),
    }
}

fn job(answer: &Answer) -> &crate::answer::JobAnswer {
    match answer {
        Answer::Job(j) => j,
        other => panic!("not a job answer: {other:?}"),
    }
}

#[tokio::test]
async fn a_completed_deployment_with_quiet_alarms_succeeds() {
    let app = app(&[], false);
    healthy(&app);
    let a = invoke(&app, JOB).await.unwrap();
    assert_eq!(job(&a).answer, "succeeded");
    match app.jobs.answer_of(JOB).unwrap() {
        JobResult::Success {
            continuation_token,
            summary,
            external_id,
            percent_complete,
        } => {
            assert_eq!(continuation_token, None);
            assert!(summary.contains("passed (service, alarms)"), "{summary}");
            assert_eq!(external_id, "req-1");
            assert_eq!(percent_complete, Some(100));
        }
        other => panic!("{other:?}"),
    }
    assert!(app.alerts.as_ref().unwrap().published().is_empty());
    assert_eq!(codehooks::harness::Outcome::label(&a), "Succeeded");
}

#[tokio::test]
async fn a_rollout_in_progress_continues_with_a_token_then_finishes() {
    let app = app(&[], false);
    app.services
        .set_service("shop", service("IN_PROGRESS", "web:7", 1));
    app.metrics.set_alarm(alarm("web-5xx", "OK"), &[]);
    let a = app
        .respond(invocation(JOB, params(), None, 1_500))
        .await
        .unwrap();
    assert_eq!(job(&a).answer, "continued");
    assert_eq!(codehooks::harness::Outcome::label(&a), "InProgress");
    let token = match app.jobs.answer_of(JOB).unwrap() {
        JobResult::Success {
            continuation_token: Some(t),
            summary,
            ..
        } => {
            assert!(summary.contains("IN_PROGRESS"), "{summary}");
            t
        }
        other => panic!("{other:?}"),
    };
    assert!(token.len() <= 2_048);

    app.services
        .set_service("shop", service("COMPLETED", "web:7", 2));
    let a = app
        .respond(invocation(NEXT, params(), Some(&token), 20_000))
        .await
        .unwrap();
    assert_eq!(job(&a).answer, "succeeded");
    let ev = a.evidence();
    assert_eq!(ev.pipeline.as_ref().unwrap().invocations, 2);
    assert!(matches!(
        app.jobs.answer_of(NEXT),
        Some(JobResult::Success {
            continuation_token: None,
            ..
        })
    ));
}

#[tokio::test]
async fn a_failed_rollout_fails_the_job_and_alerts_once() {
    let app = app(&[], true);
    let mut s = service("FAILED", "web:7", 0);
    s.deployments[0].rollout_state_reason = Some("tasks failed to start".into());
    app.services.set_service("shop", s);
    let a = invoke(&app, JOB).await.unwrap();
    assert_eq!(job(&a).answer, "failed");
    let (kind, message) = failure(&app, JOB);
    assert_eq!(kind, JobFailure::JobFailed);
    assert!(message.contains("tasks failed to start"), "{message}");
    let published = app.alerts.as_ref().unwrap().published();
    assert_eq!(published.len(), 1);
    let text = format!("{published:?}");
    assert!(text.contains("CodePipelineVerifyFailed"), "{text}");
    assert!(
        text.contains(&format!("codepipeline/shop/{EXECUTION}")),
        "{text}"
    );
    assert!(!text.contains("very-secret"));

    // The same job again: answered from the record, not checked again, not alerted again.
    let calls = app.services.calls().len();
    let a = invoke(&app, JOB).await.unwrap();
    assert_eq!(job(&a).answer, "alreadyAnswered");
    assert_eq!(app.services.calls().len(), calls);
    assert_eq!(app.jobs.calls().len(), 1);
    assert_eq!(app.alerts.as_ref().unwrap().published().len(), 1);
}

#[tokio::test]
async fn a_failure_recorded_but_not_answered_is_answered_from_the_record_and_alerted() {
    use codehooks::once::{OnceOnlyStore, State};
    let app = app(&[], true);
    let record = State {
        state: "FAILED".into(),
        at: "2026-12-02T00:00:00Z".into(),
        detail: Some("pipeline verification failed: service: the rollout FAILED".into()),
        first: Some("JobFailed".into()),
        ..State::default()
    };
    let store = app.once.as_ref().unwrap();
    store
        .record_state(
            &super::super::reply::key(JOB),
            &record,
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    let a = invoke(&app, JOB).await.unwrap();
    assert_eq!(job(&a).answer, "failed");
    let (kind, message) = failure(&app, JOB);
    assert_eq!(kind, JobFailure::JobFailed);
    assert!(message.contains("the rollout FAILED"), "{message}");
    assert!(app.services.calls().is_empty());
    assert_eq!(app.alerts.as_ref().unwrap().published().len(), 1);
    // Answered and alerted: a further repeat calls nothing.
    let a = invoke(&app, JOB).await.unwrap();
    assert_eq!(job(&a).answer, "alreadyAnswered");
    assert_eq!(app.jobs.calls().len(), 1);
}

#[tokio::test]
async fn a_duplicate_of_an_answered_job_changes_nothing() {
    let app = app(&[], true);
    healthy(&app);
    invoke(&app, JOB).await.unwrap();
    let a = invoke(&app, JOB).await.unwrap();
    assert_eq!(job(&a).answer, "alreadyAnswered");
    assert_eq!(app.jobs.calls().len(), 1);
}

#[tokio::test]
async fn without_the_table_a_duplicate_is_harmless() {
    let app = app(&[], false);
    healthy(&app);
    invoke(&app, JOB).await.unwrap();
    let a = invoke(&app, JOB).await.unwrap();
    assert_eq!(job(&a).answer, "alreadyAnswered");
    assert_eq!(app.jobs.calls().len(), 2);
}

#[tokio::test]
async fn an_alarm_in_alarm_fails_the_job() {
    let app = app(&[], false);
    app.services
        .set_service("shop", service("COMPLETED", "web:7", 2));
    app.metrics.set_alarm(alarm("web-5xx", "ALARM"), &[]);
    invoke(&app, JOB).await.unwrap();
    let (kind, message) = failure(&app, JOB);
    assert_eq!(kind, JobFailure::JobFailed);
    assert!(message.contains("web-5xx"), "{message}");
}

#[tokio::test]
async fn a_bad_document_fails_the_job_as_a_configuration_error_without_a_check() {
    let app = app(&[], false);
    let bad = json!({"service": {"name": "web"}, "pollSeconds": 0});
    app.respond(invocation(JOB, bad, None, 20_000))
        .await
        .unwrap();
    let (kind, message) = failure(&app, JOB);
    assert_eq!(kind, JobFailure::ConfigurationError);
    assert!(message.contains("pollSeconds"), "{message}");
    assert!(app.services.calls().is_empty());
}

#[tokio::test]
async fn dry_run_does_not_pass_a_bad_document() {
    let app = app(&[("CODEHOOKS_HOOK_DRY_RUN", "true")], false);
    app.respond(invocation(JOB, json!({}), None, 20_000))
        .await
        .unwrap();
    assert!(matches!(
        app.jobs.answer_of(JOB),
        Some(JobResult::Failure {
            kind: JobFailure::ConfigurationError,
            ..
        })
    ));
}

#[tokio::test]
async fn the_degraded_mode_fails_every_job_naming_the_variable() {
    let mut app = app(&[], false);
    app.config_error = Some(
        crate::config::config_from_pairs([("CODEHOOKS_HOOK_CONTRACTS", "pipelines")]).unwrap_err(),
    );
    invoke(&app, JOB).await.unwrap();
    let (kind, message) = failure(&app, JOB);
    assert_eq!(kind, JobFailure::ConfigurationError);
    assert!(message.contains("CODEHOOKS_HOOK_CONTRACTS"), "{message}");
}

#[tokio::test]
async fn a_missing_service_or_a_replaced_task_definition_fails() {
    let app = app(&[], false);
    invoke(&app, JOB).await.unwrap();
    assert!(
        matches!(app.jobs.answer_of(JOB), Some(JobResult::Failure { message, .. }) if message.contains("has no service web"))
    );
    app.services
        .set_service("shop", service("COMPLETED", "web:8", 2));
    invoke(&app, NEXT).await.unwrap();
    assert!(
        matches!(app.jobs.answer_of(NEXT), Some(JobResult::Failure { message, .. }) if message.contains("web:8, not web:7"))
    );
}

#[tokio::test]
async fn an_answer_that_fails_is_retried_then_is_the_error() {
    let app = app(&[], false);
    healthy(&app);
    app.jobs.fail("PutJobSuccessResult", 1, true);
    let a = invoke(&app, JOB).await.unwrap();
    assert_eq!(job(&a).answer, "succeeded");
    assert_eq!(app.jobs.calls().len(), 2);

    app.jobs.fail("PutJobSuccessResult", 1, false);
    let e = invoke(&app, NEXT).await.unwrap_err();
    assert!(e.to_string().contains("PutJobSuccessResult"), "{e}");
}

#[tokio::test]
async fn a_job_without_an_id_is_bad_input_and_nothing_is_called() {
    let app = app(&[], false);
    let mut e = invocation(JOB, params(), None, 20_000);
    e.payload["CodePipeline.job"]["id"] = json!("job-1");
    assert_eq!(app.respond(e).await.unwrap_err().kind(), "BadInput");
    assert!(app.jobs.calls().is_empty());
}

#[tokio::test]
async fn a_function_that_does_not_serve_pipelines_refuses_the_job() {
    let app = app(&[("CODEHOOKS_HOOK_CONTRACTS", "codedeploy,ecs")], false);
    let e = invoke(&app, JOB).await.unwrap_err();
    assert_eq!(e.kind(), "BadInput");
    assert!(e.to_string().contains("CODEHOOKS_HOOK_CONTRACTS"), "{e}");
    assert!(app.jobs.calls().is_empty());
}

#[tokio::test]
async fn a_token_with_extreme_numbers_does_not_break_the_verification() {
    let app = app(&[], false);
    healthy(&app);
    let token = format!(
        r#"{{"v":1,"startedMs":1,"invocations":{},"serviceDone":false,"probed":false,"watchFromMs":{}}}"#,
        u32::MAX,
        u64::MAX
    );
    let a = app
        .respond(invocation(JOB, params(), Some(&token), 20_000))
        .await
        .unwrap();
    // Begun at the epoch's first millisecond: long past timeoutSeconds, so it fails, saying so.
    assert_eq!(job(&a).answer, "failed");
    let (_, message) = failure(&app, JOB);
    assert!(message.contains("timeoutSeconds"), "{message}");
}
