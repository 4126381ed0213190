//! Unit tests of `build.rs`.

use super::*;
use codehooks::prbuild::BuildLink;
use serde_json::{Value, json};

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
    assert_eq!(failing_phase(&b), None);
    let link = b.link().unwrap().unwrap();
    assert_eq!(link.pull_request_id, "7");
    assert_eq!(link.repository, "app");
    let r = BuildRef::parse(&b.build_id).unwrap();
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
    let (phase, ctx) = failing_phase(&b).unwrap();
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
        (
            "CODEHOOKS_PR_DESTINATION_COMMIT",
            Some("ddddddddddddddddddddddddddddddddddddddd1"),
        ),
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

#[test]
fn build_links_use_the_partition_of_the_arn() {
    let cn = BuildRef::parse("arn:aws-cn:codebuild:cn-north-1:123456789012:build/p1:1").unwrap();
    assert!(cn.console_url().starts_with("https://console.amazonaws.cn/codesuite/codebuild/123456789012/projects/p1/build/p1%3A1/?region=cn-north-1"), "{}", cn.console_url());
    let gov =
        BuildRef::parse("arn:aws-us-gov:codebuild:us-gov-west-1:123456789012:build/p1:1").unwrap();
    assert!(
        gov.logs_url()
            .starts_with("https://console.amazonaws-us-gov.com/"),
        "{}",
        gov.logs_url()
    );
    assert!(BuildRef::parse("arn:awz:codebuild:us-east-1:123456789012:build/p1:1").is_none());
}

#[test]
fn ends_are_the_final_statuses() {
    assert_eq!(Ended::from_status("IN_PROGRESS"), None);
    assert_eq!(Ended::from_status("nope"), None);
    for s in ["SUCCEEDED", "FAILED", "FAULT", "TIMED_OUT", "STOPPED"] {
        assert_eq!(Ended::from_status(s).map(Ended::status), Some(s));
    }
}
