//! Unit tests of `app_links.rs` over the twins: threads, layer links, approval notices and
//! the streak a recovered notice reports.

use std::time::{Duration, SystemTime};

use codehooks::alert::{MemoryPublisher, Rendered};
use codehooks::logtail::MemoryLogs;
use codehooks::once::MemoryOnceStore;
use serde_json::{Value, json};

use crate::config::Config;
use crate::history::{ActionState, Lookup, MemoryReleaseHistory};
use crate::{App, Outcome};

type Twin = App<MemoryPublisher, MemoryOnceStore, MemoryReleaseHistory, MemoryLogs>;

const EXEC: &str = "f1e2d3c4-b5a6-4789-8abc-def012345678";
const BUILD: &str = "shop-release-build:1f6e5d7c-4b8a-4c23-9ea6-7a9b1c3d5f68";

fn config(approvals: bool) -> Config {
    let mut env = codehooks::config::Env::from_pairs([
        (
            "CODEHOOKS_ALERT_TOPIC_ARN",
            "arn:aws:sns:eu-west-1:123456789012:alerts",
        ),
        ("CODEHOOKS_ALERTS_TABLE", "alerts"),
        ("CODEHOOKS_ALERTS_RECOVERED", "true"),
        (
            "CODEHOOKS_ALERTS_APPROVALS",
            if approvals { "true" } else { "false" },
        ),
    ]);
    let c = Config::read(&mut env);
    env.finish().unwrap();
    c
}

fn twin(approvals: bool, history: MemoryReleaseHistory) -> Twin {
    App::new(
        config(approvals),
        MemoryPublisher::new(),
        Some(MemoryOnceStore::new()),
        history,
        MemoryLogs::new(),
    )
}

fn lease() -> SystemTime {
    // The twin store's clock starts at 1,800,000,000 s.
    std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_065)
}

fn event(name: &str) -> Value {
    let text = match name {
        "build" => include_str!("../../../events/build-alerts-codebuild-pipeline-failed.json"),
        "action" => {
            include_str!("../../../events/build-alerts-codepipeline-action-failed-build.json")
        }
        "pipeline-failed" => {
            include_str!("../../../events/build-alerts-codepipeline-pipeline-failed.json")
        }
        "pipeline-succeeded" => {
            include_str!("../../../events/build-alerts-codepipeline-pipeline-succeeded.json")
        }
        "deploy-failed" => include_str!("../../../events/build-alerts-codedeploy-failure.json"),
        "approval" => {
            include_str!("../../../events/build-alerts-codepipeline-approval-started.json")
        }
        other => panic!("no event {other}"),
    };
    serde_json::from_str(text).unwrap()
}

/// The CodeDeploy action of the same execution, failed (its deployment reports).
fn deploy_action() -> Value {
    let mut ev = event("action");
    ev["id"] = json!("5b1c2d3e-0000-4000-8000-000000000001");
    ev["detail"]["stage"] = json!("Deploy");
    ev["detail"]["action"] = json!("Production");
    ev["detail"]["type"]["provider"] = json!("CodeDeployToECS");
    ev["detail"]["type"]["category"] = json!("Deploy");
    ev["detail"]["execution-result"]["external-execution-id"] = json!("d-7K2P9QX4B");
    ev
}

fn chatbot(r: &Rendered) -> &Value {
    &r.chatbot
}

fn attribute<'a>(r: &'a Rendered, name: &str) -> &'a str {
    r.attributes
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

fn pipeline_state() -> Vec<ActionState> {
    vec![ActionState {
        stage: "Build".into(),
        action: "BuildImage".into(),
        execution_id: Some(EXEC.into()),
        status: Some("Failed".into()),
        external_id: Some(BUILD.into()),
        external_url: None,
    }]
}

#[tokio::test]
async fn a_pipeline_build_joins_its_execution_thread() {
    let history = MemoryReleaseHistory::new().with_pipeline_state("shop-release", pipeline_state());
    let app = twin(false, history);
    let out = app.process(event("build"), lease()).await.unwrap();
    assert!(matches!(out, Outcome::Published(_)), "{out:?}");
    let sent = app.publisher().published();
    let thread = format!("codepipeline/shop-release/{EXEC}");
    assert_eq!(chatbot(&sent[0])["metadata"]["threadId"], thread.as_str());
    assert_eq!(attribute(&sent[0], "threadId"), thread);
    let links = &chatbot(&sent[0])["metadata"]["additionalContext"]["links"];
    assert!(
        links["Pipeline execution"]
            .as_str()
            .unwrap()
            .ends_with(&format!(
                "/shop-release/executions/{EXEC}/timeline?region=eu-west-1"
            ))
    );
    let facts = &chatbot(&sent[0])["metadata"]["additionalContext"]["facts"];
    assert_eq!(facts["Stage / action"], "Build / BuildImage");
    assert_eq!(
        app.history().calls(),
        vec!["GetPipelineState shop-release".to_owned()]
    );
    // A redelivery looks nothing up and publishes nothing.
    let again = app.process(event("build"), lease()).await.unwrap();
    assert_eq!(again, Outcome::duplicate());
    assert_eq!(app.history().calls().len(), 1);
}

#[tokio::test]
async fn an_unmatched_build_says_so_in_the_pipeline_thread() {
    // Not in the state (another execution ran since), then the lookup failing.
    for fail in [false, true] {
        let history = MemoryReleaseHistory::new();
        if fail {
            history.fail(Lookup::PipelineState);
        }
        let app = twin(false, history);
        app.process(event("build"), lease()).await.unwrap();
        let sent = app.publisher().published();
        assert_eq!(
            chatbot(&sent[0])["metadata"]["threadId"],
            "codepipeline/shop-release"
        );
        assert_eq!(attribute(&sent[0], "threadId"), "codepipeline/shop-release");
        let fact =
            chatbot(&sent[0])["metadata"]["additionalContext"]["facts"]["Pipeline execution"]
                .as_str()
                .unwrap()
                .to_owned();
        assert!(fact.starts_with("could not be matched"), "{fact}");
        assert_eq!(fact.contains("AccessDeniedException"), fail, "{fact}");
    }
}

#[tokio::test]
async fn the_build_action_event_links_and_the_build_uses_the_link() {
    let app = twin(false, MemoryReleaseHistory::new());
    let out = app.process(event("action"), lease()).await.unwrap();
    assert!(matches!(out, Outcome::Suppressed { .. }), "{out:?}");
    app.process(event("build"), lease()).await.unwrap();
    let sent = app.publisher().published();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        attribute(&sent[0], "threadId"),
        format!("codepipeline/shop-release/{EXEC}")
    );
    // The link sufficed: no GetPipelineState.
    assert!(
        app.history().calls().is_empty(),
        "{:?}",
        app.history().calls()
    );
}

#[tokio::test]
async fn a_deployment_joins_the_run_when_its_action_event_came_first() {
    let app = twin(false, MemoryReleaseHistory::new());
    app.process(deploy_action(), lease()).await.unwrap();
    app.process(event("deploy-failed"), lease()).await.unwrap();
    let sent = app.publisher().published();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        attribute(&sent[0], "threadId"),
        format!("codepipeline/shop-release/{EXEC}")
    );
    assert_eq!(attribute(&sent[0], "deploymentId"), "d-7K2P9QX4B");

    // The other order: the deployment group's thread.
    let app = twin(false, MemoryReleaseHistory::new());
    app.process(event("deploy-failed"), lease()).await.unwrap();
    app.process(deploy_action(), lease()).await.unwrap();
    let sent = app.publisher().published();
    assert_eq!(sent.len(), 1);
    assert_eq!(attribute(&sent[0], "threadId"), "codedeploy/shop/shop-prod");
}

fn pipeline_failed(exec: &str, time: &str, id: &str) -> Value {
    let mut ev = event("pipeline-failed");
    ev["detail"]["execution-id"] = json!(exec);
    ev["time"] = json!(time);
    ev["id"] = json!(id);
    ev
}

#[tokio::test]
async fn the_recovered_notice_counts_each_failed_run_once() {
    let app = twin(false, MemoryReleaseHistory::new());
    let first = "0a1b2c3d-0000-4000-8000-000000000001";
    let second = "0a1b2c3d-0000-4000-8000-000000000002";
    let e1 = pipeline_failed(first, "2026-11-22T22:30:00Z", "e-1");
    app.process(e1.clone(), lease()).await.unwrap();
    // A duplicate delivery counts nothing.
    assert_eq!(
        app.process(e1, lease()).await.unwrap(),
        Outcome::duplicate()
    );
    let e2 = pipeline_failed(second, "2026-11-23T00:00:00Z", "e-2");
    app.process(e2.clone(), lease()).await.unwrap();
    app.process(e2, lease()).await.unwrap();
    let out = app
        .process(event("pipeline-succeeded"), lease())
        .await
        .unwrap();
    assert!(matches!(out, Outcome::Published(_)), "{out:?}");
    let sent = app.publisher().published();
    assert_eq!(sent.len(), 3);
    let notice = &sent[2];
    let doc = chatbot(notice);
    let desc = doc["content"]["description"].as_str().unwrap();
    assert!(
        desc.contains("it was broken for 2 h 14 min, 2 failed runs."),
        "{desc}"
    );
    let ctx = &doc["metadata"]["additionalContext"];
    assert_eq!(ctx["facts"]["Failed runs"], "2");
    assert_eq!(ctx["facts"]["Broken since"], "2026-11-22T22:30:00Z");
    assert!(
        ctx["links"]["First failed run"]
            .as_str()
            .unwrap()
            .contains(&format!("/executions/{first}/")),
        "{ctx}"
    );
    // The notice closes the thread of the last failed run.
    assert_eq!(
        attribute(notice, "threadId"),
        format!("codepipeline/shop-release/{second}")
    );
}

#[tokio::test]
async fn approval_notices_need_the_switch_and_go_out_once() {
    let off = twin(false, MemoryReleaseHistory::new());
    let out = off.process(event("approval"), lease()).await.unwrap();
    assert!(matches!(out, Outcome::Ignored { .. }), "{out:?}");
    assert!(off.publisher().published().is_empty());

    let history = MemoryReleaseHistory::new().with_action_configuration(
        "shop-release",
        "Production",
        "ApproveRelease",
        &[
            ("CustomData", "Check the canary first."),
            ("ExternalEntityLink", "https://wiki.example.com/release"),
        ],
    );
    let on = twin(true, history);
    let out = on.process(event("approval"), lease()).await.unwrap();
    assert!(matches!(out, Outcome::Published(_)), "{out:?}");
    assert_eq!(
        on.process(event("approval"), lease()).await.unwrap(),
        Outcome::duplicate()
    );
    let sent = on.publisher().published();
    assert_eq!(sent.len(), 1);
    assert_eq!(attribute(&sent[0], "severity"), "info");
    assert_eq!(
        attribute(&sent[0], "threadId"),
        "codepipeline/shop-release/7b2e4c6a-1d3f-4a5b-9c8d-0e1f2a3b4c5d"
    );
    let ctx = &chatbot(&sent[0])["metadata"]["additionalContext"];
    assert_eq!(ctx["reasons"][0], "Check the canary first.");
    assert_eq!(ctx["links"]["Review"], "https://wiki.example.com/release");
    assert_eq!(
        on.history().calls(),
        vec!["GetPipeline shop-release Production ApproveRelease".to_owned()]
    );
}
