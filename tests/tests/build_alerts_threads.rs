//! build-alerts threads end to end: the real binary under the Lambda Runtime API, moto's SNS
//! (read back through an SQS subscription) and DynamoDB, and the emulator's CodePipeline
//! (`GetPipelineState`, `GetPipeline`, `ListActionExecutions`, `GetPipelineExecution`) and
//! CodeDeploy. The events of one failing pipeline run arrive in every order, each twice: one
//! root alert, in the execution's thread, and nothing else.

use std::collections::BTreeMap;

use codehooks_tests::alerts::{AlertsWorld as World, TABLE, attr, doc};
use codehooks_tests::event;
use serde_json::{Value, json};

const REGION: &str = "eu-west-1";
const PROJECT: &str = "shop-release-build";

async fn world() -> World {
    World::start(REGION)
        .await
        .with_env(&[("CODEHOOKS_ALERTS_RECOVERED", "true")])
}

/// Every order of `n` items (Heap's algorithm).
fn permutations(n: usize) -> Vec<Vec<usize>> {
    fn go(k: usize, a: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if k == 1 {
            out.push(a.clone());
            return;
        }
        for i in 0..k {
            go(k - 1, a, out);
            let j = if k.is_multiple_of(2) { i } else { 0 };
            a.swap(j, k - 1);
        }
    }
    let mut a: Vec<usize> = (0..n).collect();
    let mut out = Vec::new();
    go(n, &mut a, &mut out);
    out
}

/// One failing run of its own pipeline: names and ids that differ per run.
struct RunIds {
    pipeline: String,
    execution: String,
    build_uuid: String,
    deployment: String,
}

impl RunIds {
    fn new(i: usize) -> Self {
        Self {
            pipeline: format!("shop-release-{i:02}"),
            execution: format!("0a1b2c3d-4e5f-4a6b-8c7d-0000000000{i:02}"),
            build_uuid: format!("1f6e5d7c-4b8a-4c23-9ea6-0000000000{i:02}"),
            deployment: format!("d-THREADS{i:02}"),
        }
    }

    fn thread(&self) -> String {
        format!("codepipeline/{}/{}", self.pipeline, self.execution)
    }

    fn build_external_id(&self) -> String {
        format!("{PROJECT}:{}", self.build_uuid)
    }

    /// What CodePipeline recorded: the staging deployment succeeded, the build failed
    /// (`failed` names the action that failed: "build" or "deploy").
    fn seed(&self, failed: &str) -> Value {
        let action = |stage: &str, name: &str, provider: &str, status: &str, external: &str| {
            json!({
                "stageName": stage, "actionName": name, "status": status,
                "input": {"actionTypeId": {"category": if provider == "CodeBuild" { "Build" } else { "Deploy" },
                                           "owner": "AWS", "provider": provider, "version": "1"}},
                "output": {"executionResult": {"externalExecutionId": external,
                                               "externalExecutionSummary": format!("{name} {status}")}}
            })
        };
        let (build_status, deploy_status) = if failed == "build" {
            ("Failed", "Succeeded")
        } else {
            ("Succeeded", "Failed")
        };
        json!({
            "region": REGION,
            "codepipeline": {
                "executions": [{"pipelineName": self.pipeline, "pipelineExecutionId": self.execution,
                                "status": "Failed", "pipelineVersion": 1}],
                "actionExecutions": {self.execution.clone(): [
                    action("Build", "BuildImage", "CodeBuild", build_status, &self.build_external_id()),
                    action("Deploy", "Production", "CodeDeployToECS", deploy_status, &self.deployment),
                ]}
            },
            "codedeploy": {"deployments": [{
                "deploymentId": self.deployment, "applicationName": "shop",
                "deploymentGroupName": "shop-prod", "status": if failed == "build" { "Succeeded" } else { "Failed" },
                "computePlatform": "ECS",
                "errorInformation": {"code": "HEALTH_CONSTRAINTS", "message": "The tasks failed their health checks"}
            }]}
        })
    }

    fn build_failed(&self) -> Value {
        let mut e = event("build-alerts-codebuild-pipeline-failed.json");
        let arn = format!(
            "arn:aws:codebuild:{REGION}:123456789012:build/{PROJECT}:{}",
            self.build_uuid
        );
        e["id"] = json!(format!("b-{}", self.execution));
        e["resources"] = json!([arn]);
        e["detail"]["build-id"] = json!(arn);
        e["detail"]["additional-information"]["initiator"] =
            json!(format!("codepipeline/{}", self.pipeline));
        e
    }

    fn action_failed(&self, which: &str) -> Value {
        let mut e = event("build-alerts-codepipeline-action-failed-build.json");
        e["id"] = json!(format!("a-{which}-{}", self.execution));
        e["detail"]["pipeline"] = json!(self.pipeline);
        e["detail"]["execution-id"] = json!(self.execution);
        let r = &mut e["detail"]["execution-result"];
        if which == "build" {
            r["external-execution-id"] = json!(self.build_external_id());
        } else {
            e["detail"]["stage"] = json!("Deploy");
            e["detail"]["action"] = json!("Production");
            e["detail"]["type"]["provider"] = json!("CodeDeployToECS");
            e["detail"]["type"]["category"] = json!("Deploy");
            e["detail"]["execution-result"]["external-execution-id"] = json!(self.deployment);
            e["detail"]["execution-result"]["external-execution-url"] = Value::Null;
        }
        e
    }

    fn pipeline_failed(&self) -> Value {
        let mut e = event("build-alerts-codepipeline-pipeline-failed.json");
        e["id"] = json!(format!("p-{}", self.execution));
        e["detail"]["pipeline"] = json!(self.pipeline);
        e["detail"]["execution-id"] = json!(self.execution);
        e
    }

    fn deployment(&self, state: &str) -> Value {
        let file = if state == "SUCCESS" {
            "build-alerts-codedeploy-success.json"
        } else {
            "build-alerts-codedeploy-failure.json"
        };
        let mut e = event(file);
        e["id"] = json!(format!("d-{state}-{}", self.execution));
        e["detail"]["deploymentId"] = json!(self.deployment);
        e["detail"]["application"] = json!("shop");
        e["detail"]["deploymentGroup"] = json!("shop-prod");
        e
    }
}

/// The messages per `threadId` attribute.
fn by_thread(got: &[Value]) -> BTreeMap<String, Vec<&Value>> {
    let mut m: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for e in got {
        m.entry(attr(e, "threadId").to_owned()).or_default().push(e);
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_build_run_gives_one_alert_in_its_thread_in_every_order() {
    let w = world().await;
    let f = w.function(&[]);
    let orders = permutations(4);
    assert_eq!(orders.len(), 24);
    for (i, order) in orders.iter().enumerate() {
        let run = RunIds::new(i);
        w.local.emulator().seed(&run.seed("build"));
        let events = [
            run.build_failed(),
            run.action_failed("build"),
            run.pipeline_failed(),
            run.deployment("SUCCESS"),
        ];
        // Every event in this order, then every event again.
        for round in 0..2 {
            for &k in order {
                let r = f.invoke(&events[k], 10_000);
                assert!(
                    r.is_ok(),
                    "run {i} round {round} event {k}: {r:?}\n{}",
                    f.logs()
                );
            }
        }
    }
    let got = w.received().await;
    assert_eq!(got.len(), 24, "one alert per run, no burst: {got:#?}");
    let threads = by_thread(&got);
    for i in 0..24 {
        let run = RunIds::new(i);
        let mine = threads.get(&run.thread()).map(Vec::as_slice).unwrap_or(&[]);
        assert_eq!(mine.len(), 1, "run {i}: {:?}", threads.keys());
        let m = mine[0];
        assert_eq!(
            m["Subject"],
            "FAILED build shop-release-build #87 in eu-west-1"
        );
        let d = doc(m);
        assert_eq!(d["metadata"]["threadId"], run.thread().as_str());
        let ctx = &d["metadata"]["additionalContext"];
        assert_eq!(ctx["facts"]["Stage / action"], "Build / BuildImage");
        assert_eq!(
            ctx["links"]["Pipeline execution"],
            format!(
                "https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/{}/executions/{}/timeline?region=eu-west-1",
                run.pipeline, run.execution
            )
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_deployment_run_gives_one_alert_in_every_order() {
    let w = world().await;
    let f = w.function(&[]);
    let orders = permutations(3);
    for (i, order) in orders.iter().enumerate() {
        let run = RunIds::new(40 + i);
        w.local.emulator().seed(&run.seed("deploy"));
        let events = [
            run.deployment("FAILURE"),
            run.action_failed("deploy"),
            run.pipeline_failed(),
        ];
        for _ in 0..2 {
            for &k in order {
                let r = f.invoke(&events[k], 10_000);
                assert!(r.is_ok(), "run {i} event {k}: {r:?}\n{}", f.logs());
            }
        }
        let got = w.received().await;
        assert_eq!(got.len(), 1, "order {order:?}: {got:#?}");
        let m = &got[0];
        assert_eq!(attr(m, "deploymentId"), run.deployment);
        // The deployment joins the run's thread when the pipeline's action event came first.
        let action_first = order.iter().position(|&k| k == 1) < order.iter().position(|&k| k == 0);
        let expected = if action_first {
            run.thread()
        } else {
            "codedeploy/shop/shop-prod".to_owned()
        };
        assert_eq!(attr(m, "threadId"), expected, "order {order:?}");
        assert_eq!(doc(m)["metadata"]["threadId"], expected.as_str());
        if action_first {
            assert!(
                doc(m)["metadata"]["additionalContext"]["links"]["Pipeline execution"]
                    .as_str()
                    .unwrap()
                    .contains(&run.execution)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_failure_links_the_failed_build_and_recovery_counts_the_runs() {
    let w = world().await;
    let f = w.function(&[]);
    // Two failed executions of one pipeline with no failed action (a stage condition), the
    // first delivered twice, then a success.
    let first = "0b1c2d3e-0000-4000-8000-000000000001";
    let second = "0b1c2d3e-0000-4000-8000-000000000002";
    let succeeded = "1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e";
    w.local.emulator().seed(&json!({
        "region": REGION,
        "codepipeline": {"executions": [
            {"pipelineName": "shop-release", "pipelineExecutionId": first, "status": "Failed"},
            {"pipelineName": "shop-release", "pipelineExecutionId": second, "status": "Failed"},
            {"pipelineName": "shop-release", "pipelineExecutionId": succeeded, "status": "Succeeded"},
        ]}
    }));
    let failed = |exec: &str, time: &str| {
        let mut e = event("build-alerts-codepipeline-pipeline-failed.json");
        e["id"] = json!(format!("p-{exec}"));
        e["time"] = json!(time);
        e["detail"]["execution-id"] = json!(exec);
        e
    };
    for e in [
        failed(first, "2026-11-22T22:30:00Z"),
        failed(first, "2026-11-22T22:30:00Z"),
        failed(second, "2026-11-23T00:00:00Z"),
    ] {
        let r = f.invoke(&e, 10_000);
        assert!(r.is_ok(), "{r:?}");
    }
    let got = w.received().await;
    assert_eq!(got.len(), 2, "{got:#?}");
    let r = f.invoke(
        &event("build-alerts-codepipeline-pipeline-succeeded.json"),
        10_000,
    );
    assert_eq!(r.response["outcome"], "published", "{r:?}\n{}", f.logs());
    let got = w.received().await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(attr(m, "state"), "RECOVERED");
    assert_eq!(
        attr(m, "threadId"),
        format!("codepipeline/shop-release/{second}")
    );
    let d = doc(m);
    let desc = d["content"]["description"].as_str().unwrap();
    assert!(
        desc.contains("it was broken for 2 h 14 min, 2 failed runs."),
        "{desc}"
    );
    let ctx = &d["metadata"]["additionalContext"];
    assert_eq!(ctx["facts"]["Failed runs"], "2");
    assert!(
        ctx["links"]["First failed run"]
            .as_str()
            .unwrap()
            .contains(&format!("/executions/{first}/")),
        "{ctx}"
    );
    // After the success the item holds the new state, without the closed streak.
    let ddb = aws_sdk_dynamodb::Client::new(&w.sdk);
    let item = ddb
        .get_item()
        .table_name(TABLE)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(
                "state#codepipeline/eu-west-1/shop-release".into(),
            ),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["state"].as_s().unwrap(), "SUCCEEDED");
    assert!(!item.contains_key("failedRuns"));

    // A CloudFormation action failed while a build of the same execution failed too: the
    // action's alert links the build.
    let run = RunIds::new(60);
    let mut seed = run.seed("build");
    seed["codepipeline"]["actionExecutions"][run.execution.as_str()]
        .as_array_mut()
        .unwrap()
        .push(
            json!({"stageName": "Build", "actionName": "Stack", "status": "Failed",
                     "input": {"actionTypeId": {"category": "Deploy", "owner": "AWS",
                                                "provider": "CloudFormation", "version": "1"}}}),
        );
    w.local.emulator().seed(&seed);
    let mut e = run.action_failed("build");
    e["detail"]["action"] = json!("Stack");
    e["detail"]["type"]["provider"] = json!("CloudFormation");
    let r = f.invoke(&e, 10_000);
    assert_eq!(r.response["outcome"], "published", "{r:?}");
    let got = w.received().await;
    let ctx = &doc(&got[0])["metadata"]["additionalContext"];
    assert_eq!(attr(&got[0], "threadId"), run.thread());
    assert!(
        ctx["links"]["Build Build/BuildImage"]
            .as_str()
            .unwrap()
            .contains(&format!("build/{PROJECT}%3A{}", run.build_uuid)),
        "{ctx}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_approval_gives_one_notice() {
    let w = world().await;
    w.local.emulator().seed(&json!({
        "region": REGION,
        "codepipeline": {"pipelineDeclarations": [{
            "name": "shop-release",
            "roleArn": "arn:aws:iam::123456789012:role/shop-release-pipeline",
            "stages": [
                {"name": "Build", "actions": [{"name": "BuildImage", "actionTypeId":
                    {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                    "configuration": {"ProjectName": PROJECT}}]},
                {"name": "Production", "actions": [{"name": "ApproveRelease", "actionTypeId":
                    {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
                    "configuration": {
                        "CustomData": "Check the canary dashboard before approving.",
                        "ExternalEntityLink": "https://wiki.example.com/releases/shop"}}]}
            ]
        }]}
    }));
    let ev = event("build-alerts-codepipeline-approval-started.json");
    // Off by default.
    let f = w.function(&[]);
    assert_eq!(f.invoke(&ev, 10_000).response["outcome"], "ignored");
    drop(f);
    let f = w.function(&[
        ("CODEHOOKS_ALERTS_APPROVALS", "true"),
        (
            "CODEHOOKS_ALERTS_APPROVERS",
            "arn:aws:iam::123456789012:role/release-managers",
        ),
    ]);
    let r = f.invoke(&ev, 10_000);
    assert_eq!(r.response["outcome"], "published", "{r:?}\n{}", f.logs());
    assert_eq!(f.invoke(&ev, 10_000).response["outcome"], "duplicate");
    let got = w.received().await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(
        m["Subject"],
        "WAITING approval shop-release Production/ApproveRelease in eu-west-1"
    );
    assert_eq!(attr(m, "severity"), "info");
    assert_eq!(
        attr(m, "threadId"),
        "codepipeline/shop-release/7b2e4c6a-1d3f-4a5b-9c8d-0e1f2a3b4c5d"
    );
    let ctx = &doc(m)["metadata"]["additionalContext"];
    assert_eq!(
        ctx["reasons"][0],
        "Check the canary dashboard before approving."
    );
    assert_eq!(
        ctx["links"]["Review"],
        "https://wiki.example.com/releases/shop"
    );
    assert_eq!(
        ctx["facts"]["Who may approve"],
        "arn:aws:iam::123456789012:role/release-managers"
    );
    assert_eq!(w.local.emulator().requests(Some("GetPipeline")).len(), 1);
    // A bad approver list stops the function at start-up, naming the variable.
    let mut bad = w.function(&[("CODEHOOKS_ALERTS_APPROVERS", "not an arn")]);
    assert!(bad.wait_exit(std::time::Duration::from_secs(10)).is_some());
    assert!(
        bad.logs().contains("CODEHOOKS_ALERTS_APPROVERS"),
        "{}",
        bad.logs()
    );
}
