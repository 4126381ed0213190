//! Unit tests of `codebuild.rs`.

use super::*;
use serde_json::json;

fn origin() -> Origin {
    Origin {
        region: "eu-west-1".into(),
        account: "123456789012".into(),
        event_id: "e-1".into(),
        time: "2026-11-23T01:00:00Z".into(),
    }
}

fn detail() -> BuildDetail {
    serde_json::from_value(json!({
            "build-status": "FAILED",
            "project-name": "my-app",
            "build-id": "arn:aws:codebuild:eu-west-1:123456789012:build/my-app:0b3f8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
            "current-phase": "COMPLETED",
            "current-phase-context": "[: ]",
            "additional-information": {
                "build-number": 142.0,
                "initiator": "codepipeline/web-release",
                "source-version": "refs/heads/main",
                "resolved-source-version": "abc1234def5678abc1234def5678abc1234def56",
                "logs": {"group-name": "/aws/codebuild/my-app", "stream-name": "0b3f8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"},
                "phases": [
                    {"phase-context": [], "phase-type": "SUBMITTED", "phase-status": "SUCCEEDED", "duration-in-seconds": 0},
                    {"phase-context": [": "], "phase-type": "INSTALL", "phase-status": "SUCCEEDED", "duration-in-seconds": 20},
                    {"phase-context": ["COMMAND_EXECUTION_ERROR: Error while executing command: npm test. Reason: exit status 1"],
                     "phase-type": "BUILD", "phase-status": "FAILED", "duration-in-seconds": 172},
                    {"phase-type": "COMPLETED"}
                ]
            }
        }))
        .unwrap()
}

#[test]
fn reads_the_failure() {
    let d = detail();
    validate(&d).unwrap();
    assert_eq!(d.build_uuid(), "0b3f8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b");
    assert_eq!(pipeline(&d), Some("web-release"));
    assert_eq!(d.build_number(), Some(142));
    assert_eq!(version(&d).as_deref(), Some("main@abc1234"));
    assert_eq!(
        failed_phase(&d).unwrap().phase_type.as_deref(),
        Some("BUILD")
    );
    assert_eq!(
        reasons(&d),
        ["COMMAND_EXECUTION_ERROR: Error while executing command: npm test. Reason: exit status 1"]
    );
    assert_eq!(d.duration_seconds(), Some(192));
}

#[test]
fn writes_the_alert() {
    let a = alert(&detail(), &origin());
    assert_eq!(
        a.subject(),
        "FAILED build my-app #142 (main@abc1234) in eu-west-1"
    );
    assert_eq!(
        a.headline,
        "Build my-app #142 failed in phase BUILD after 3 min 12 s."
    );
    assert_eq!(a.thread_id, "codepipeline/web-release");
    let logs = &a.links[1].1;
    assert!(
        logs.contains("log-group/$252Faws$252Fcodebuild$252Fmy-app/log-events/0b3f8a4e"),
        "{logs}"
    );
    assert!(a.links[0].1.starts_with("https://eu-west-1.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/my-app/build/my-app%3A0b3f8a4e"));
    assert_eq!(a.event_type, "CodeBuildBuildFailed");
}

#[test]
fn pull_request_builds_are_told_apart() {
    let mut d = detail();
    d.additional_information.initiator = Some("codehooks-PrCommentsRole/pr-comments".into());
    d.additional_information.environment = serde_json::from_value(json!({
            "environment-variables": [
                {"name": "DB_PASSWORD", "type": "PLAINTEXT", "value": "hunter2"},
                {"name": "CODEHOOKS_PR_ID", "type": "PLAINTEXT", "value": "7"},
                {"name": "CODEHOOKS_PR_REPOSITORY", "type": "PLAINTEXT", "value": "shop-api"},
                {"name": "CODEHOOKS_PR_SOURCE_REFERENCE", "type": "PLAINTEXT", "value": "refs/heads/feature/login"},
                {"name": "CODEHOOKS_PR_SOURCE_COMMIT", "type": "PLAINTEXT", "value": "4c3a9e0f1b2d5c6e7f8091a2b3c4d5e6f7a8b9c0"},
                {"name": "CODEHOOKS_PR_DESTINATION_COMMIT", "type": "PLAINTEXT", "value": "0123456789abcdef0123456789abcdef01234567"},
                {"name": "CODEHOOKS_PR_REVISION_ID", "type": "PLAINTEXT", "value": "rev-1"}
            ]
        }))
        .unwrap();
    let pr = pull_request(&d).unwrap();
    assert_eq!(
        (pr.pull_request_id.as_str(), pr.repository.as_str()),
        ("7", "shop-api")
    );
    assert!(matches!(plan(&d, false, false), Run::Ignore(r) if r.contains("pull request #7")));
    assert_eq!(plan(&d, false, true), Run::Failure);
    let a = alert(&d, &origin());
    assert_eq!(
        a.subject(),
        "FAILED build my-app #142 (PR #7 feature/login@4c3a9e0) in eu-west-1"
    );
    assert_eq!(a.thread_id, "codecommit/shop-api/pull-requests/7");
    let all = format!("{:?}", a.render());
    assert!(
        !all.contains("hunter2"),
        "no environment value reaches an alert"
    );
}

#[test]
fn falls_back_to_the_current_phase_context() {
    let mut d = detail();
    d.additional_information.phases.clear();
    d.current_phase_context = Some("[CLIENT_ERROR: repository not found]".into());
    assert_eq!(reasons(&d), ["CLIENT_ERROR: repository not found"]);
}

#[test]
fn rejects_forged_names() {
    let mut d = detail();
    d.project_name = "my app/../x".into();
    assert_eq!(validate(&d).unwrap_err().kind(), "BadInput");
    let mut d = detail();
    d.build_id = "arn:aws:codebuild:eu-west-1:123456789012:build/other:1".into();
    assert_eq!(validate(&d).unwrap_err().kind(), "BadInput");
}

#[test]
fn plans_by_status() {
    let mut d = detail();
    assert_eq!(plan(&d, false, false), Run::Failure);
    d.build_status = "STOPPED".into();
    assert!(matches!(plan(&d, false, false), Run::Ignore(_)));
    assert_eq!(plan(&d, true, false), Run::Failure);
    d.build_status = "SUCCEEDED".into();
    assert_eq!(plan(&d, false, false), Run::Success);
    d.build_status = "IN_PROGRESS".into();
    assert!(matches!(plan(&d, false, false), Run::Ignore(_)));
    assert_eq!(camel("TIMED_OUT"), "TimedOut");
}

#[test]
fn an_incomplete_pull_request_link_still_alerts() {
    let mut d = detail();
    d.additional_information.environment = serde_json::from_value(json!({
        "environment-variables": [
            {"name": "CODEHOOKS_PR_ID", "type": "PLAINTEXT", "value": "7"},
            {"name": "CODEHOOKS_PR_REPOSITORY", "type": "PLAINTEXT", "value": "shop-api"}
        ]
    }))
    .unwrap();
    assert!(pull_request(&d).is_none());
    assert_eq!(plan(&d, false, false), Run::Failure);
}

#[test]
fn null_fields_are_absent() {
    let d: BuildDetail = serde_json::from_value(json!({
        "build-status": "FAILED",
        "project-name": "my-app",
        "build-id": "my-app:1",
        "additional-information": {"phases": null, "build-number": "12", "environment": null}
    }))
    .unwrap();
    assert_eq!(d.build_number(), Some(12));
    assert!(failed_phase(&d).is_none() && pull_request(&d).is_none());
    assert_eq!(
        alert(&d, &origin()).subject(),
        "FAILED build my-app #12 in eu-west-1"
    );
}

#[test]
fn china_and_govcloud_get_their_partition_and_console() {
    for (region, partition, host) in [
        ("cn-north-1", "aws-cn", "console.amazonaws.cn"),
        (
            "us-gov-west-1",
            "aws-us-gov",
            "console.amazonaws-us-gov.com",
        ),
    ] {
        let run = Origin {
            region: region.into(),
            ..origin()
        };
        let a = alert(&detail(), &run);
        assert!(
            a.resources[0].starts_with(&format!(
                "arn:{partition}:codebuild:{region}:123456789012:build/my-app:"
            )),
            "{}",
            a.resources[0]
        );
        assert!(
            a.links
                .iter()
                .all(|(_, u)| u.starts_with(&format!("https://{host}/"))),
            "{:?}",
            a.links
        );
    }
}
