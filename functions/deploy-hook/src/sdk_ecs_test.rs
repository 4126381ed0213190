//! Unit tests of `sdk_ecs.rs`: the SDK's shapes become facts, and the adapter reads a JSON 1.1
//! answer with `failures[]` from a local server as the SDK sends and parses it.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

use aws_sdk_ecs::config::{BehaviorVersion, Credentials, Region};

use super::*;

const REV: &str = "arn:aws:ecs:us-east-1:123456789012:service-revision/shop/web/2";
const DEP: &str = "arn:aws:ecs:us-east-1:123456789012:service-deployment/shop/web/abc";
const TG_A: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-a/1";
const TG_B: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-b/2";
const RULE: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/9/t/r2";

#[test]
fn a_revision_becomes_its_facts() {
    let r = ecs::ServiceRevision::builder()
        .service_revision_arn(REV)
        .service_arn("arn:aws:ecs:us-east-1:123456789012:service/shop/web")
        .task_definition("arn:aws:ecs:us-east-1:123456789012:task-definition/web:42")
        .load_balancers(
            ecs::LoadBalancer::builder()
                .target_group_arn(TG_A)
                .container_name("web")
                .container_port(8080)
                .advanced_configuration(
                    ecs::AdvancedConfiguration::builder()
                        .alternate_target_group_arn(TG_B)
                        .test_listener_rule(RULE)
                        .production_listener_rule("p")
                        .role_arn("arn:aws:iam::123456789012:role/r")
                        .build(),
                )
                .build(),
        )
        .resolved_configuration(
            ecs::ResolvedConfiguration::builder()
                .load_balancers(
                    ecs::ServiceRevisionLoadBalancer::builder()
                        .target_group_arn(TG_B)
                        .production_listener_rule("p")
                        .build(),
                )
                .build(),
        )
        .build();
    let f = revision_facts(&r);
    assert_eq!(f.arn, REV);
    assert_eq!(f.load_balancers[0].target_group_arn.as_deref(), Some(TG_A));
    assert_eq!(
        f.load_balancers[0].alternate_target_group_arn.as_deref(),
        Some(TG_B)
    );
    assert_eq!(
        f.load_balancers[0].test_listener_rule.as_deref(),
        Some(RULE)
    );
    assert_eq!(f.load_balancers[0].container_port, Some(8080));
    let resolved = f.resolved.unwrap();
    assert_eq!(resolved[0].target_group_arn.as_deref(), Some(TG_B));
    // No resolvedConfiguration (an inactive revision) stays distinct from an empty one.
    let bare = ecs::ServiceRevision::builder()
        .service_revision_arn(REV)
        .build();
    assert_eq!(revision_facts(&bare).resolved, None);
}

#[test]
fn a_service_deployment_becomes_its_facts() {
    let d = ecs::ServiceDeployment::builder()
        .service_deployment_arn(DEP)
        .status(ecs::ServiceDeploymentStatus::RollbackInProgress)
        .status_reason("alarm")
        .target_service_revision(
            ecs::ServiceRevisionSummary::builder()
                .arn(REV)
                .requested_task_count(3)
                .running_task_count(1)
                .build(),
        )
        .source_service_revisions(ecs::ServiceRevisionSummary::builder().arn("old").build())
        .rollback(ecs::Rollback::builder().service_revision_arn("old").build())
        .lifecycle_stage(ecs::ServiceDeploymentLifecycleStage::PostTestTrafficShift)
        .build();
    let f = deployment_facts(&d);
    assert_eq!(f.arn, DEP);
    assert_eq!(f.target_revision_arn.as_deref(), Some(REV));
    assert_eq!(f.target_requested_count, Some(3));
}

/// A local JSON 1.1 server answering each request with `body`; it records target and body.
/// `(X-Amz-Target, body)` of each request.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

fn server(body: &'static str) -> (String, Seen) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut w = stream.try_clone().unwrap();
            let mut r = BufReader::new(stream);
            let (mut target, mut length) = (String::new(), 0usize);
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("x-amz-target:") {
                    target = v.trim().to_owned();
                }
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut req = vec![0; length];
            let _ = r.read_exact(&mut req);
            record
                .lock()
                .unwrap()
                .push((target, String::from_utf8_lossy(&req).into_owned()));
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = w.write_all(answer.as_bytes());
        }
    });
    (origin, seen)
}

fn adapter(origin: &str) -> SdkServices {
    let conf = aws_sdk_ecs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKID", "secret", None, None, "test"))
        .endpoint_url(origin)
        .build();
    SdkServices {
        client: aws_sdk_ecs::Client::from_conf(conf),
    }
}

#[tokio::test]
async fn unknown_arns_come_back_as_failures_and_are_left_out() {
    let (origin, seen) = server(
        r#"{"serviceRevisions":[{"serviceRevisionArn":"arn:aws:ecs:us-east-1:123456789012:service-revision/shop/web/2",
            "resolvedConfiguration":{"loadBalancers":[{"targetGroupArn":"tg"}]}}],
            "failures":[{"arn":"arn:aws:ecs:us-east-1:123456789012:service-revision/shop/web/9","reason":"MISSING"}]}"#,
    );
    let s = adapter(&origin);
    let missing = "arn:aws:ecs:us-east-1:123456789012:service-revision/shop/web/9";
    let got = s
        .service_revisions(&[REV.to_owned(), missing.to_owned()])
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].arn, REV);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen[0].0,
        "amazonec2containerservicev20141113.describeservicerevisions"
    );
    let sent: serde_json::Value = serde_json::from_str(&seen[0].1).unwrap();
    assert_eq!(
        sent["serviceRevisionArns"],
        serde_json::json!([REV, missing])
    );
}

#[tokio::test]
async fn a_service_deployment_ecs_does_not_know_is_none() {
    let (origin, seen) =
        server(r#"{"serviceDeployments":[],"failures":[{"arn":"x","reason":"MISSING"}]}"#);
    let got = adapter(&origin).service_deployment(DEP).await.unwrap();
    assert_eq!(got, None);
    let sent: serde_json::Value = serde_json::from_str(&seen.lock().unwrap()[0].1).unwrap();
    assert_eq!(sent["serviceDeploymentArns"], serde_json::json!([DEP]));
}

#[test]
fn a_service_becomes_its_facts_with_each_deployment() {
    let s = ecs::Service::builder()
        .service_arn("arn:aws:ecs:us-east-1:123456789012:service/shop/web")
        .service_name("web")
        .status("ACTIVE")
        .desired_count(2)
        .running_count(2)
        .deployments(
            ecs::Deployment::builder()
                .id("ecs-svc/1")
                .status("PRIMARY")
                .task_definition("arn:aws:ecs:us-east-1:123456789012:task-definition/web:42")
                .desired_count(2)
                .running_count(1)
                .pending_count(1)
                .failed_tasks(3)
                .rollout_state(ecs::DeploymentRolloutState::InProgress)
                .rollout_state_reason("ECS deployment ecs-svc/1 in progress.")
                .build(),
        )
        .build();
    let f = service_facts(&s);
    assert_eq!(
        (f.name.as_str(), f.status.as_deref()),
        ("web", Some("ACTIVE"))
    );
    assert_eq!((f.desired_count, f.running_count), (2, 2));
    let d = &f.deployments[0];
    assert_eq!(
        (d.status.as_str(), d.rollout_state.as_deref()),
        ("PRIMARY", Some("IN_PROGRESS"))
    );
    assert_eq!(
        (d.running_count, d.pending_count, d.failed_tasks),
        (1, 1, 3)
    );
    assert_eq!(
        d.task_definition.as_deref(),
        Some("arn:aws:ecs:us-east-1:123456789012:task-definition/web:42")
    );
}
