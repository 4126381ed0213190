//! build-alerts end to end: the real binary under the Lambda Runtime API, moto's SNS (read
//! back through an SQS subscription, exactly what a subscriber receives) and DynamoDB, and the
//! emulator's CodePipeline and CodeDeploy for the lookups.

use std::time::Duration;

use codehooks_tests::alerts::{AlertsWorld as World, TABLE, attr, doc};
use codehooks_tests::{LocalAws, event, subscribe_queue};
use serde_json::{Value, json};

const REGION: &str = "eu-west-1";
const EXEC_STACK: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

/// The CodePipeline executions and the CodeDeploy deployment the lookups find (AWS-shaped).
fn seed() -> Value {
    serde_json::from_str(include_str!("build_alerts_fixture/seed.json")).expect("seed.json")
}

async fn world() -> World {
    let w = World::start(REGION).await;
    w.local.emulator().seed(&seed());
    w
}

fn ok(inv: &codehooks_tests::Invocation) -> &Value {
    assert!(inv.is_ok(), "{inv:?}");
    &inv.response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failure_event_gives_the_expected_alert() {
    let w = world().await;
    let f = w.function(&[]);

    // CodeBuild FAILED: phase, reason, version, links to the build and its logs.
    let r = f.invoke(&event("build-alerts-codebuild-failed.json"), 10_000);
    assert_eq!(ok(&r)["outcome"], "published", "{}", f.logs());
    let got = w.received().await;
    assert_eq!(got.len(), 1, "{got:?}");
    let m = &got[0];
    assert_eq!(
        m["Subject"],
        "FAILED build shop-api #142 (9f86d08) in eu-west-1"
    );
    for (name, value) in [
        ("source", "codebuild"),
        ("name", "shop-api"),
        ("state", "FAILED"),
        ("severity", "error"),
        ("region", "eu-west-1"),
        ("account", "123456789012"),
    ] {
        assert_eq!(attr(m, name), value, "attribute {name}");
    }
    let d = doc(m);
    assert_eq!(d["version"], "1.0");
    assert_eq!(d["source"], "custom");
    assert_eq!(d["content"]["textType"], "client-markdown");
    let desc = d["content"]["description"].as_str().unwrap();
    assert!(
        desc.starts_with("Build shop-api #142 failed in phase BUILD after 3 min 22 s."),
        "{desc}"
    );
    assert!(desc.contains("COMMAND_EXECUTION_ERROR: Error while executing command: cargo test --locked. Reason: exit status 101"), "{desc}");
    let links = &d["metadata"]["additionalContext"]["links"];
    assert_eq!(
        links["Build"],
        "https://eu-west-1.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/shop-api/build/shop-api%3A6a1f0e2d-9c3b-4d7e-8f51-2b4c6d8e0a13/?region=eu-west-1"
    );
    assert!(
        links["Logs"]
            .as_str()
            .unwrap()
            .contains("log-group/$252Faws$252Fcodebuild$252Fshop-api/log-events/6a1f0e2d")
    );
    assert_eq!(d["metadata"]["threadId"], "codebuild/shop-api");
    assert_eq!(d["metadata"]["eventType"], "CodeBuildBuildFailed");

    // FAULT and TIMED_OUT.
    ok(&f.invoke(&event("build-alerts-codebuild-fault.json"), 10_000));
    ok(&f.invoke(&event("build-alerts-codebuild-timed-out.json"), 10_000));
    let got = w.received().await;
    let subjects: Vec<&str> = got.iter().map(|m| m["Subject"].as_str().unwrap()).collect();
    assert!(
        subjects.contains(&"FAULT build shop-api #143 (main) in eu-west-1"),
        "{subjects:?}"
    );
    assert!(
        subjects.contains(&"TIMED_OUT build shop-api-integration #31 (release/2.4) in eu-west-1"),
        "{subjects:?}"
    );
    let timed = got
        .iter()
        .find(|m| attr(m, "state") == "TIMED_OUT")
        .unwrap();
    let facts = &doc(timed)["metadata"]["additionalContext"]["facts"];
    assert_eq!(facts["Timeout"], "20 min");

    // CodeDeploy FAILURE: GetDeployment's error and rollback.
    let r = f.invoke(&event("build-alerts-codedeploy-failure.json"), 10_000);
    assert_eq!(ok(&r)["outcome"], "published", "{}", f.logs());
    let got = w.received().await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(
        m["Subject"],
        "FAILURE deployment shop/shop-prod d-7K2P9QX4B in eu-west-1"
    );
    assert_eq!(attr(m, "source"), "codedeploy");
    assert_eq!(attr(m, "deploymentId"), "d-7K2P9QX4B");
    let d = doc(m);
    let desc = d["content"]["description"].as_str().unwrap();
    assert!(desc.contains("HOOK_EXECUTION_FAILURE: The AfterAllowTestTraffic hook codehooks-deploy-hook reported Failed"), "{desc}");
    assert!(desc.contains("rolled back"), "{desc}");
    let links = &d["metadata"]["additionalContext"]["links"];
    assert_eq!(
        links["Deployment"],
        "https://eu-west-1.console.aws.amazon.com/codesuite/codedeploy/deployments/d-7K2P9QX4B?region=eu-west-1"
    );
    assert_eq!(
        links["Rollback"],
        "https://eu-west-1.console.aws.amazon.com/codesuite/codedeploy/deployments/d-9N4S1TZ6D?region=eu-west-1"
    );
    let facts = &d["metadata"]["additionalContext"]["facts"];
    assert_eq!(facts["Duration"], "7 min 48 s");
    assert_eq!(facts["Platform"], "ECS");

    // CodePipeline action FAILED (CloudFormation): the error from ListActionExecutions and
    // the revision from GetPipelineExecution.
    let r = f.invoke(
        &event("build-alerts-codepipeline-action-failed.json"),
        10_000,
    );
    assert_eq!(ok(&r)["outcome"], "published", "{}", f.logs());
    let got = w.received().await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(
        m["Subject"],
        "FAILED pipeline shop-release Infrastructure/DeployStack (de9f2c7) in eu-west-1"
    );
    let d = doc(m);
    let reasons = d["metadata"]["additionalContext"]["reasons"]
        .as_array()
        .unwrap();
    assert!(
        reasons[0]
            .as_str()
            .unwrap()
            .starts_with("JobFailed: Resource handler returned message"),
        "{reasons:?}"
    );
    assert_eq!(
        reasons[1],
        "Stack shop-infra in UPDATE_ROLLBACK_COMPLETE state"
    );
    let facts = &d["metadata"]["additionalContext"]["facts"];
    assert_eq!(
        facts["Source (SourceArtifact)"],
        "de9f2c7 Tighten the security groups"
    );
    assert!(facts["Started by"].as_str().unwrap().starts_with(
        "StartPipelineExecution (arn:aws:sts::123456789012:assumed-role/Admin/alice)"
    ));
    assert_eq!(
        d["metadata"]["additionalContext"]["links"]["Execution"],
        format!(
            "https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/shop-release/executions/{EXEC_STACK}/timeline?region=eu-west-1"
        )
    );
    // Everything about one pipeline execution shares its thread.
    assert_eq!(
        d["metadata"]["threadId"],
        format!("codepipeline/shop-release/{EXEC_STACK}")
    );
    let calls = w.local.emulator().requests(Some("ListActionExecutions"));
    assert!(!calls.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_failed_by_its_build_alerts_once() {
    let w = world().await;
    let f = w.function(&[]);
    // The build, its pipeline action and the pipeline execution all report the failure.
    let build = f.invoke(
        &event("build-alerts-codebuild-pipeline-failed.json"),
        10_000,
    );
    let action = f.invoke(
        &event("build-alerts-codepipeline-action-failed-build.json"),
        10_000,
    );
    let pipeline = f.invoke(
        &event("build-alerts-codepipeline-pipeline-failed.json"),
        10_000,
    );
    assert_eq!(ok(&build)["outcome"], "published");
    assert_eq!(ok(&action)["outcome"], "suppressed");
    assert_eq!(ok(&pipeline)["outcome"], "suppressed", "{pipeline:?}");
    assert!(
        pipeline.response["reason"]
            .as_str()
            .unwrap()
            .contains("Build/BuildImage")
    );
    let got = w.received().await;
    assert_eq!(got.len(), 1, "{got:?}");
    let m = &got[0];
    assert_eq!(
        m["Subject"],
        "FAILED build shop-release-build #87 in eu-west-1"
    );
    let d = doc(m);
    // GetPipelineState names the execution that ran the build: its thread.
    assert_eq!(
        d["metadata"]["threadId"],
        "codepipeline/shop-release/f1e2d3c4-b5a6-4789-8abc-def012345678"
    );
    assert_eq!(
        d["metadata"]["additionalContext"]["links"]["Pipeline"],
        "https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/shop-release/view?region=eu-west-1"
    );
    assert_eq!(
        d["metadata"]["additionalContext"]["facts"]["Started by"],
        "codepipeline/shop-release"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redeliveries_publish_nothing_twice() {
    let w = world().await;
    let f = w.function(&[]);
    let ev = event("build-alerts-codebuild-failed.json");
    assert_eq!(ok(&f.invoke(&ev, 10_000))["outcome"], "published");
    // EventBridge retries and at-least-once deliveries carry the same event again; another
    // event about the same build and state (a new id) is the same failure too.
    assert_eq!(ok(&f.invoke(&ev, 10_000))["outcome"], "duplicate");
    let mut other_id = ev.clone();
    other_id["id"] = json!("11111111-2222-4333-8444-555555555555");
    assert_eq!(ok(&f.invoke(&other_id, 10_000))["outcome"], "duplicate");
    let dep = event("build-alerts-codedeploy-failure.json");
    assert_eq!(ok(&f.invoke(&dep, 10_000))["outcome"], "published");
    assert_eq!(ok(&f.invoke(&dep, 10_000))["outcome"], "duplicate");
    assert_eq!(w.received().await.len(), 2);
    // A second process (another execution environment) sees the same table.
    drop(f);
    let g = w.function(&[]);
    assert_eq!(ok(&g.invoke(&ev, 10_000))["outcome"], "duplicate");
    assert!(w.received().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_builds_and_recovered_notices_are_options() {
    let w = world().await;
    let f = w.function(&[]);
    let r = f.invoke(&event("build-alerts-codebuild-stopped.json"), 10_000);
    assert_eq!(ok(&r)["outcome"], "ignored");
    let r = f.invoke(&event("build-alerts-codebuild-succeeded.json"), 10_000);
    assert_eq!(ok(&r)["outcome"], "ignored");
    assert!(w.received().await.is_empty());
    drop(f);

    let f = w.function(&[
        ("CODEHOOKS_ALERTS_STOPPED", "true"),
        ("CODEHOOKS_ALERTS_RECOVERED", "true"),
    ]);
    ok(&f.invoke(&event("build-alerts-codebuild-stopped.json"), 10_000));
    let got = w.received().await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0]["Subject"],
        "STOPPED build shop-api #144 (main) in eu-west-1"
    );
    assert_eq!(attr(&got[0], "severity"), "warning");

    // Failed, then a success: one recovered notice; another success: nothing.
    ok(&f.invoke(&event("build-alerts-codebuild-failed.json"), 10_000));
    assert_eq!(w.received().await.len(), 1);
    let r = f.invoke(&event("build-alerts-codebuild-succeeded.json"), 10_000);
    assert_eq!(ok(&r)["outcome"], "published", "{}", f.logs());
    let got = w.received().await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0]["Subject"],
        "RECOVERED build shop-api #145 (c0ffee2) in eu-west-1"
    );
    assert_eq!(attr(&got[0], "severity"), "info");
    assert!(
        doc(&got[0])["content"]["description"]
            .as_str()
            .unwrap()
            .contains("builds again")
    );
    let r = f.invoke(&event("build-alerts-codebuild-succeeded.json"), 10_000);
    assert_ne!(ok(&r)["outcome"], "published");
    // A late, older failure does not flip the state back.
    ok(&f.invoke(&event("build-alerts-codebuild-fault.json"), 10_000));
    let mut later = event("build-alerts-codebuild-succeeded.json");
    later["id"] = json!("99999999-2222-4333-8444-555555555555");
    later["time"] = json!("2026-11-23T00:40:00Z");
    assert_eq!(ok(&f.invoke(&later, 10_000))["outcome"], "ignored");
    assert_eq!(w.received().await.len(), 1, "only the fault's own alert");

    // Pipelines: the failure (suppressed in favour of the build) still marks the pipeline failed.
    ok(&f.invoke(
        &event("build-alerts-codepipeline-pipeline-failed.json"),
        10_000,
    ));
    let r = f.invoke(
        &event("build-alerts-codepipeline-pipeline-succeeded.json"),
        10_000,
    );
    assert_eq!(ok(&r)["outcome"], "published");
    let got = w.received().await;
    assert_eq!(
        got[0]["Subject"],
        "RECOVERED pipeline shop-release in eu-west-1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_request_builds_are_left_to_pr_comments_unless_asked() {
    let w = world().await;
    let f = w.function(&[]);
    let ev = event("build-alerts-codebuild-pull-request-failed.json");
    let r = f.invoke(&ev, 10_000);
    assert_eq!(ok(&r)["outcome"], "ignored");
    assert!(
        r.response["reason"]
            .as_str()
            .unwrap()
            .contains("pull request #12 in shop-api")
    );
    assert!(w.received().await.is_empty());
    drop(f);
    let f = w.function(&[("CODEHOOKS_ALERTS_PULL_REQUESTS", "true")]);
    assert_eq!(ok(&f.invoke(&ev, 10_000))["outcome"], "published");
    let got = w.received().await;
    assert_eq!(
        got[0]["Subject"],
        "FAILED build shop-api-pr #58 (PR #12 feature/checkout-retries@4c3a9e0) in eu-west-1"
    );
    let d = doc(&got[0]);
    assert_eq!(
        d["metadata"]["threadId"],
        "codecommit/shop-api/pull-requests/12"
    );
    assert_eq!(
        d["metadata"]["additionalContext"]["links"]["Pull request"],
        "https://eu-west-1.console.aws.amazon.com/codesuite/codecommit/repositories/shop-api/pull-requests/12/details?region=eu-west-1"
    );
    assert!(
        !got[0]["Message"]
            .as_str()
            .unwrap()
            .contains("b7c6d5e4f3a29180"),
        "no other build variable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_failures_fail_the_invocation_and_the_retry_publishes() {
    let w = world().await;
    // The topic does not exist (yet): SNS answers NotFound.
    let missing = w.topic.replace("codehooks-alerts", "codehooks-alerts-late");
    let f = w.local.function(
        "build-alerts",
        REGION,
        &[
            ("CODEHOOKS_ALERT_TOPIC_ARN", &missing),
            ("CODEHOOKS_ALERTS_TABLE", TABLE),
        ],
    );
    let ev = event("build-alerts-codebuild-failed.json");
    let r = f.invoke(&ev, 10_000);
    assert_eq!(r.status, "error", "{r:?}");
    assert_eq!(r.error_type.as_deref(), Some("AwsError"));
    assert!(
        r.error_message
            .as_deref()
            .unwrap()
            .contains("Publish failed"),
        "{r:?}"
    );
    // The claim was released: once the topic exists, EventBridge's retry publishes.
    let sns = aws_sdk_sns::Client::new(&w.sdk);
    let late = sns
        .create_topic()
        .name("codehooks-alerts-late")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    assert_eq!(late, missing);
    subscribe_queue(&w.sdk, &late, "late-subscriber").await;
    let r = f.invoke(&ev, 10_000);
    assert_eq!(ok(&r)["outcome"], "published", "{}", f.logs());
    assert_eq!(ok(&f.invoke(&ev, 10_000))["outcome"], "duplicate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_that_fail_still_alert_and_say_so() {
    let w = world().await;
    let f = w.function(&[]);
    w.local
        .emulator()
        .fault("CodeDeploy_20141006.GetDeployment", "error5xx", 10, 0);
    let r = f.invoke(&event("build-alerts-codedeploy-failure.json"), 20_000);
    assert_eq!(ok(&r)["outcome"], "published", "{}", f.logs());
    let got = w.received().await;
    let d = doc(&got[0]);
    let reasons = d["metadata"]["additionalContext"]["reasons"]
        .as_array()
        .unwrap();
    assert!(
        reasons
            .iter()
            .any(|r| r.as_str().unwrap().contains("could not be read")),
        "{reasons:?}"
    );
    assert_eq!(
        w.local.emulator().requests(Some("GetDeployment")).len(),
        3,
        "the SDK retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_and_unknown_events_are_rejected_without_a_publish() {
    let w = world().await;
    let f = w.function(&[]);
    let cases = [
        json!({"hello": "world"}),
        {
            let mut e = event("build-alerts-codebuild-failed.json");
            e["detail-type"] = json!("CodeBuild Build Phase Change");
            e
        },
        {
            let mut e = event("build-alerts-codedeploy-failure.json");
            e["source"] = json!("aws.ecs");
            e
        },
        {
            let mut e = event("build-alerts-codebuild-failed.json");
            e["detail"]["project-name"] = json!("../../etc");
            e
        },
        {
            let mut e = event("build-alerts-codepipeline-action-failed.json");
            e["detail"]["execution-id"] = json!("not-a-uuid");
            e
        },
        {
            let mut e = event("build-alerts-codedeploy-failure.json");
            e["region"] = json!("eu-west-1\nX-Injected: 1");
            e
        },
        {
            let mut e = event("build-alerts-codebuild-failed.json");
            e["time"] = json!("9".repeat(5000));
            e
        },
        {
            let mut e = event("build-alerts-codebuild-failed.json");
            e["detail"]["build-status"] = json!(42);
            e
        },
    ];
    for ev in &cases {
        let r = f.invoke(ev, 10_000);
        assert_eq!(r.status, "error", "{ev}: {r:?}");
        assert_eq!(r.error_type.as_deref(), Some("BadInput"), "{ev}: {r:?}");
    }
    let unknown = f.invoke(&cases[1], 10_000);
    assert!(
        unknown
            .error_message
            .unwrap()
            .contains("does not handle \"CodeBuild Build Phase Change\"")
    );
    assert!(w.received().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_and_hostile_fields_stay_within_sns_limits() {
    let w = world().await;
    let f = w.function(&[]);
    let mut ev = event("build-alerts-codebuild-failed.json");
    let hostile = "\"\\\u{0}\u{1b}[31m<script>é🚀\r\nSubject: pwned ".repeat(20_000);
    let info = &mut ev["detail"]["additional-information"];
    info["initiator"] = json!(hostile.clone());
    info["source-version"] = json!(format!("refs/heads/{}", "b".repeat(3000)));
    info["phases"][6]["phase-context"] = json!([hostile.clone(), hostile.clone(), hostile]);
    let r = f.invoke(&ev, 20_000);
    assert_eq!(ok(&r)["outcome"], "published", "{}", f.logs());
    assert!(r.response["bytes"].as_u64().unwrap() <= 250_000);
    let got = w.received().await;
    let m = &got[0];
    let subject = m["Subject"].as_str().unwrap();
    assert!(subject.len() < 100, "{subject}");
    assert!(
        subject.bytes().all(|b| (0x20..0x7f).contains(&b)),
        "{subject:?}"
    );
    assert!(
        subject.starts_with("FAILED build shop-api #142 (") && subject.ends_with(" in eu-west-1"),
        "{subject}"
    );
    let d = doc(m);
    let desc = d["content"]["description"].as_str().unwrap();
    assert!(desc.contains("more characters cut]"), "cut with a marker");
    assert!(
        desc.contains("https://eu-west-1.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/shop-api/build/shop-api%3A6a1f0e2d-9c3b-4d7e-8f51-2b4c6d8e0a13/?region=eu-west-1"),
        "the link is whole"
    );
    assert!(!attr(m, "name").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_stops_the_start_with_the_variable_named() {
    let w = world().await;
    let mut f = w.local.function(
        "build-alerts",
        REGION,
        &[
            (
                "CODEHOOKS_ALERT_TOPIC_ARN",
                "arn:aws:sqs:eu-west-1:123456789012:not-a-topic",
            ),
            ("CODEHOOKS_ALERTS_RECOVERED", "true"),
        ],
    );
    assert!(
        f.wait_exit(Duration::from_secs(10)).is_some(),
        "the process must exit"
    );
    let logs = f.logs();
    assert!(
        logs.contains("CODEHOOKS_ALERT_TOPIC_ARN must be an ARN of sns"),
        "{logs}"
    );
    assert!(
        logs.contains("CODEHOOKS_ALERTS_TABLE is required when CODEHOOKS_ALERTS_RECOVERED is true"),
        "{logs}"
    );
}

/// What was published to the topic, as SNS holds it before it picks a body per protocol
/// (moto's model data): `(subject, message)`.
fn published(local: &LocalAws) -> Vec<(String, Value)> {
    let data = codehooks_tests::http::get_json(&format!("{}/moto-api/data.json", local.moto_url()));
    let mut out = Vec::new();
    for topic in data["sns"]["Topic"].as_array().into_iter().flatten() {
        for n in topic["sent_notifications"].as_array().into_iter().flatten() {
            let message = serde_json::from_str(n[1].as_str().unwrap_or("")).unwrap_or(Value::Null);
            out.push((n[2].as_str().unwrap_or("").to_owned(), message));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_subscribers_get_plain_text_and_json_subscribers_the_chatbot_document() {
    let w = world().await;
    let f = w.function(&[]);
    ok(&f.invoke(&event("build-alerts-codebuild-failed.json"), 10_000));
    let sent = published(&w.local);
    assert_eq!(sent.len(), 1);
    let (subject, message) = &sent[0];
    assert_eq!(subject, "FAILED build shop-api #142 (9f86d08) in eu-west-1");
    // MessageStructure=json: a "default" string (e-mail and SMS fall back to it) and the
    // Chatbot document for the JSON protocols.
    let text = message["default"].as_str().expect("a default body");
    assert!(message.get("email").is_none());
    for p in ["https", "http", "sqs", "lambda", "firehose"] {
        let d: Value = serde_json::from_str(message[p].as_str().unwrap()).unwrap();
        assert_eq!(d["source"], "custom", "{p}");
    }
    assert!(text.starts_with("Build shop-api #142 failed in phase BUILD after 3 min 22 s.\n\nWhy\n  - COMMAND_EXECUTION_ERROR: Error while executing command: cargo test --locked. Reason: exit status 101\n"), "{text}");
    assert!(text.contains("  Started by:      alice\n"), "{text}");
    assert!(
        text.contains("\nPhases\n  SUBMITTED         SUCCEEDED  0 s\n"),
        "{text}"
    );
    assert!(
        text.contains("  BUILD             FAILED     2 min 16 s\n"),
        "{text}"
    );
    assert!(text.contains("\nLinks\n  Build: https://eu-west-1.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/shop-api/build/shop-api%3A6a1f0e2d-9c3b-4d7e-8f51-2b4c6d8e0a13/?region=eu-west-1\n  Logs: https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Faws$252Fcodebuild$252Fshop-api/log-events/6a1f0e2d-9c3b-4d7e-8f51-2b4c6d8e0a13\n"), "{text}");
    assert!(
        !text.contains("environment-variables"),
        "no build environment in alerts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_overlaps_a_running_one_is_retried_later() {
    let w = world().await;
    let f = w.function(&[]);
    let ev = event("build-alerts-codebuild-failed.json");
    // Another invocation claimed this alert a moment ago and is still publishing it.
    let key = codehooks::idempotency::key(
        "build-alerts/build",
        &[
            ev["detail"]["build-id"].as_str().unwrap(),
            ev["detail"]["build-status"].as_str().unwrap(),
        ],
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let s = |v: &str| aws_sdk_dynamodb::types::AttributeValue::S(v.to_owned());
    let n = |v: u64| aws_sdk_dynamodb::types::AttributeValue::N(v.to_string());
    aws_sdk_dynamodb::Client::new(&w.sdk)
        .put_item()
        .table_name(TABLE)
        .item("pk", s(&format!("once#{key}")))
        .item("status", s("pending"))
        .item("token", s("someone-else"))
        .item("leaseUntil", n(now + 60))
        .item("expiresAt", n(now + 86_400))
        .send()
        .await
        .unwrap();
    let r = f.invoke(&ev, 10_000);
    assert_eq!(r.status, "error", "{r:?}");
    assert_eq!(r.error_type.as_deref(), Some("Transient"), "{r:?}");
    assert!(w.received().await.is_empty(), "nothing published twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_action_past_the_first_page_of_action_runs_is_still_found() {
    let w = world().await;
    // 150 earlier action runs (retries, many stages) push the execution's real runs onto the
    // second page of ListActionExecutions (100 per page).
    let mut details: Vec<Value> = (0..150)
        .map(|i| {
            json!({
                "stageName": format!("Stage{i}"),
                "actionName": "Check",
                "status": "Succeeded",
                "input": {"actionTypeId": {"category": "Test", "owner": "AWS", "provider": "CodeBuild", "version": "1"}}
            })
        })
        .collect();
    let original = seed()["codepipeline"]["actionExecutions"][EXEC_STACK].clone();
    details.extend(original.as_array().cloned().unwrap_or_default());
    w.local.emulator().seed(&json!({
        "region": REGION,
        "codepipeline": {"actionExecutions": {EXEC_STACK: details}}
    }));
    let f = w.function(&[]);
    let r = f.invoke(
        &event("build-alerts-codepipeline-action-failed.json"),
        10_000,
    );
    assert_eq!(ok(&r)["outcome"], "published", "{}", f.logs());
    let got = w.received().await;
    assert_eq!(got.len(), 1);
    let d = doc(&got[0]);
    let reasons = d["metadata"]["additionalContext"]["reasons"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        reasons
            .first()
            .and_then(Value::as_str)
            .is_some_and(|r| r.starts_with("JobFailed: Resource handler returned message")),
        "{reasons:?}"
    );
    let calls = w.local.emulator().requests(Some("ListActionExecutions"));
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[1].to_string().contains("nextToken"), "{calls:?}");
}
