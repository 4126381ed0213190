//! Unit tests of `detail.rs`.

use super::*;
use serde_json::json;

fn pr(event: &str, status: &str, merged: &str) -> PullRequestDetail {
    serde_json::from_value(json!({
        "event": event, "pullRequestId": "1", "pullRequestStatus": status, "isMerged": merged,
        "repositoryNames": ["MyDemoRepo"], "sourceCommit": "2774290EXAMPLE"
    }))
    .unwrap()
}

#[test]
fn pull_request_events_map_to_actions() {
    assert_eq!(
        pr("pullRequestCreated", "Open", "False").action(),
        PullRequestAction::Validate
    );
    assert_eq!(
        pr("pullRequestSourceBranchUpdated", "Open", "False").action(),
        PullRequestAction::Validate
    );
    assert_eq!(
        pr("pullRequestStatusChanged", "Closed", "False").action(),
        PullRequestAction::Closed
    );
    assert_eq!(
        pr("pullRequestStatusChanged", "Open", "False").action(),
        PullRequestAction::Validate
    );
    assert_eq!(
        pr("pullRequestMergeStatusUpdated", "Closed", "True").action(),
        PullRequestAction::Closed
    );
    assert_eq!(
        pr("pullRequestApprovalStateChanged", "Open", "False").action(),
        PullRequestAction::Ignore
    );
    assert_eq!(
        pr("pullRequestCreated", "Closed", "False").action(),
        PullRequestAction::Ignore
    );
}

#[test]
fn checks_pull_request_fields() {
    let d = pr("pullRequestCreated", "Open", "False");
    assert_eq!(d.pull_request_id().unwrap(), "1");
    assert_eq!(d.repository(&[]).unwrap(), "MyDemoRepo");
    assert_eq!(d.source_commit().unwrap(), "2774290EXAMPLE");
    let mut bad = d.clone();
    bad.pull_request_id = Some("1; drop".into());
    assert_eq!(bad.pull_request_id().unwrap_err().kind(), "BadInput");
    bad.repository_names = vec!["bad name`".into()];
    assert_eq!(bad.repository(&[]).unwrap_err().kind(), "BadInput");
    bad.repository_names = vec![];
    assert_eq!(
        bad.repository(&["arn:aws:codecommit:us-east-2:123456789012:FromArn".into()])
            .unwrap(),
        "FromArn"
    );
    bad.source_commit = Some("abc def".into());
    assert_eq!(bad.source_commit().unwrap_err().kind(), "BadInput");
}

fn build(status: &str, extra: Value) -> BuildDetail {
    let mut v = json!({
        "build-status": status,
        "project-name": "pr-validate",
        "build-id": "arn:aws:codebuild:us-east-1:123456789012:build/pr-validate:8745a7a9-c340-456a-9166-edf953571bEX",
        "additional-information": {
            "environment": {"environment-variables": [
                {"name": "CODEHOOKS_PR_ID", "type": "PLAINTEXT", "value": "7"},
                {"name": "CODEHOOKS_PR_REPOSITORY", "type": "PLAINTEXT", "value": "app"},
                {"name": "CODEHOOKS_PR_SOURCE_COMMIT", "type": "PLAINTEXT", "value": "a".repeat(40)},
                {"name": "CODEHOOKS_PR_DESTINATION_COMMIT", "type": "PLAINTEXT", "value": "b".repeat(40)},
                {"name": "CODEHOOKS_PR_REVISION_ID", "type": "PLAINTEXT", "value": "c".repeat(64)}
            ]}
        }
    });
    if let Value::Object(m) = extra {
        for (k, val) in m {
            v["additional-information"][k] = val;
        }
    }
    serde_json::from_value(v).unwrap()
}

#[test]
fn in_progress_builds_parse_without_phases_or_number() {
    let b = build("IN_PROGRESS", json!({}));
    assert_eq!(b.build_number(), None);
    assert_eq!(b.duration_seconds(), None);
    assert_eq!(b.failing_phase(), None);
    let link = b.link().unwrap().unwrap();
    assert_eq!(link.pull_request_id, "7");
    assert_eq!(link.repository, "app");
    let r = b.build_ref().unwrap();
    assert_eq!(r.id, "pr-validate:8745a7a9-c340-456a-9166-edf953571bEX");
    assert_eq!(r.region, "us-east-1");
    assert!(
        r.console_url().contains("/build/pr-validate%3A8745a7a9"),
        "{}",
        r.console_url()
    );
}

#[test]
fn failed_builds_report_phase_context_number_and_duration() {
    let b = build(
        "FAILED",
        json!({
            "build-number": 55.0,
            "phases": [
                {"phase-context": [], "duration-in-seconds": 1, "phase-type": "SUBMITTED", "phase-status": "SUCCEEDED"},
                {"phase-context": [": "], "duration-in-seconds": 36, "phase-type": "PROVISIONING", "phase-status": "SUCCEEDED"},
                {"phase-context": ["COMMAND_EXECUTION_ERROR: Error while executing command: make test. Reason: exit status 2"],
                 "duration-in-seconds": 70.0, "phase-type": "BUILD", "phase-status": "FAILED"},
                {"phase-type": "COMPLETED"}
            ]
        }),
    );
    assert_eq!(b.build_number(), Some(55));
    assert_eq!(b.duration_seconds(), Some(107));
    let (phase, ctx) = b.failing_phase().unwrap();
    assert_eq!(phase, "`BUILD` (FAILED)");
    assert_eq!(
        ctx,
        [
            "COMMAND_EXECUTION_ERROR: Error while executing command: make test. Reason: exit status 2"
        ]
    );
}

#[test]
fn builds_without_our_variables_are_not_linked() {
    let b: BuildDetail = serde_json::from_value(json!({
            "build-status": "SUCCEEDED", "project-name": "p1", "build-id": "x",
            "additional-information": {"environment": {"environment-variables": [{"name": "TEST", "value": "1"}]}}
        }))
        .unwrap();
    assert_eq!(b.link().unwrap(), None);
    let partial = BuildLink::from_vars([("CODEHOOKS_PR_ID", Some("3"))]);
    assert_eq!(partial.unwrap_err().kind(), "BadInput");
    let hostile = BuildLink::from_vars([
        ("CODEHOOKS_PR_ID", Some("3")),
        ("CODEHOOKS_PR_REPOSITORY", Some("app")),
        ("CODEHOOKS_PR_SOURCE_COMMIT", Some("abc)[x](http://evil)")),
        ("CODEHOOKS_PR_DESTINATION_COMMIT", Some("def")),
        ("CODEHOOKS_PR_REVISION_ID", Some("r1")),
    ]);
    assert_eq!(hostile.unwrap_err().kind(), "BadInput");
}

#[test]
fn build_arns_are_checked() {
    assert!(BuildRef::parse("arn:aws:codebuild:us-west-2:123456789012:build/my-sample-project:8745a7a9-c340-456a-9166-edf953571bEX").is_some());
    assert!(BuildRef::parse("arn:aws:codebuild:us-west-2:123456789012:project/x").is_none());
    assert!(BuildRef::parse("arn:aws:codebuild:us-west-2:123456789012:build/p](x):1").is_none());
    assert!(BuildRef::parse("pr-validate:1234").is_none());
}
