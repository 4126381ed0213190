//! Unit tests of `prbuild.rs`.

use super::*;
use serde_json::json;

fn link_vars() -> Value {
    json!([
        {"name": "CODEHOOKS_PR_ID", "type": "PLAINTEXT", "value": "7"},
        {"name": "CODEHOOKS_PR_REPOSITORY", "type": "PLAINTEXT", "value": "app"},
        {"name": "CODEHOOKS_PR_SOURCE_COMMIT", "type": "PLAINTEXT", "value": "a".repeat(40)},
        {"name": "CODEHOOKS_PR_DESTINATION_COMMIT", "type": "PLAINTEXT", "value": "b".repeat(40)},
        {"name": "CODEHOOKS_PR_REVISION_ID", "type": "PLAINTEXT", "value": "c".repeat(64)},
        {"name": "CODEHOOKS_PR_SOURCE_REFERENCE", "type": "PLAINTEXT", "value": "refs/heads/feature/x"},
        {"name": "DB_PASSWORD", "type": "PLAINTEXT", "value": "hunter2"}
    ])
}

fn detail(info: Value) -> BuildDetail {
    serde_json::from_value(json!({
        "build-status": "FAILED",
        "project-name": "pr-validate",
        "build-id": "arn:aws:codebuild:us-east-1:123456789012:build/pr-validate:8745a7a9-c340",
        "current-phase": "COMPLETED",
        "current-phase-context": "[: ]",
        "additional-information": info
    }))
    .unwrap()
}

fn full() -> BuildDetail {
    detail(json!({
        "initiator": "codepipeline/release",
        "build-number": 55.0,
        "source-version": "refs/heads/main",
        "resolved-source-version": "d".repeat(40),
        "build-start-time": "Sep 1, 2017 4:12:29 PM",
        "timeout-in-minutes": 60,
        "source": {"type": "CODECOMMIT", "location": "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/app"},
        "logs": {"deep-link": "https://console.aws.amazon.com/cloudwatch/home", "group-name": "/aws/codebuild/pr-validate", "stream-name": "8745a7a9"},
        "phases": [
            {"phase-type": "SUBMITTED", "phase-status": "SUCCEEDED", "duration-in-seconds": 1, "phase-context": []},
            {"phase-type": "BUILD", "phase-status": "FAILED", "duration-in-seconds": "41",
             "phase-context": ["COMMAND_EXECUTION_ERROR: exit status 2", {"statusCode": "X", "message": "m"}, ": ", 3]},
            {"phase-type": "COMPLETED"}
        ],
        "environment": {"environment-variables": link_vars()}
    }))
}

#[test]
fn reads_everything_both_functions_use() {
    let d = full();
    assert_eq!(d.status(), Some(BuildStatus::Failed));
    assert_eq!(d.current_phase.as_deref(), Some("COMPLETED"));
    let i = &d.additional_information;
    assert_eq!(i.initiator.as_deref(), Some("codepipeline/release"));
    assert_eq!(d.build_number(), Some(55));
    assert_eq!(i.timeout_in_minutes, Some(60.0));
    assert_eq!(
        i.source.as_ref().unwrap().kind.as_deref(),
        Some("CODECOMMIT")
    );
    let logs = i.logs.as_ref().unwrap();
    assert_eq!(logs.stream_name.as_deref(), Some("8745a7a9"));
    assert!(logs.deep_link.is_some() && logs.group_name.is_some());
    assert_eq!(d.duration_seconds(), Some(42));
    assert_eq!(
        i.phases[1].context_messages(),
        vec!["COMMAND_EXECUTION_ERROR: exit status 2", "X: m"]
    );
    assert_eq!(d.build_uuid(), "8745a7a9-c340");
    let link = d.link().unwrap().unwrap();
    assert_eq!(link.pull_request_id, "7");
    assert_eq!(link.source_branch(), Some("feature/x"));
    assert_eq!(link.destination_reference, None);
}

#[test]
fn null_equals_absent_everywhere() {
    // Every optional member written as null reads exactly as when it is left out.
    let nulls = detail(json!({
        "initiator": null, "build-number": null, "source-version": null,
        "resolved-source-version": null, "build-start-time": null, "timeout-in-minutes": null,
        "source": null, "logs": null, "phases": null, "environment": null
    }));
    let absent = detail(json!({}));
    let whole_null = detail(Value::Null);
    for d in [&nulls, &absent, &whole_null] {
        let i = &d.additional_information;
        assert!(i.initiator.is_none() && i.source_version.is_none());
        assert!(i.resolved_source_version.is_none() && i.build_start_time.is_none());
        assert!(i.timeout_in_minutes.is_none() && i.source.is_none() && i.logs.is_none());
        assert!(i.phases.is_empty() && i.environment.is_none());
        assert_eq!(d.build_number(), None);
        assert_eq!(d.duration_seconds(), None);
        assert_eq!(d.link().unwrap(), None);
    }
    let no_detail: BuildDetail = serde_json::from_value(json!({
        "build-status": "IN_PROGRESS", "project-name": "p1", "build-id": "p1:1",
        "current-phase": null, "current-phase-context": null
    }))
    .unwrap();
    assert!(no_detail.current_phase.is_none() && no_detail.current_phase_context.is_none());
    assert!(no_detail.additional_information.phases.is_empty());

    // Nested nulls: the lists, the objects and the variables' members.
    let d = detail(json!({
        "logs": {"deep-link": null, "group-name": null, "stream-name": null},
        "source": {"type": null, "location": null},
        "phases": [{"phase-type": null, "phase-status": null, "duration-in-seconds": null, "phase-context": null}],
        "environment": {"environment-variables": null}
    }));
    let i = &d.additional_information;
    assert!(i.logs.as_ref().unwrap().deep_link.is_none());
    assert!(i.source.as_ref().unwrap().kind.is_none());
    assert!(i.phases[0].phase_context.is_empty() && i.phases[0].phase_type.is_none());
    assert!(
        i.environment
            .as_ref()
            .unwrap()
            .environment_variables
            .is_empty()
    );
    assert_eq!(d.link().unwrap(), None);

    let vars = detail(json!({"environment": {"environment-variables": [
        {"name": null, "type": null, "value": "x"},
        {"name": "CODEHOOKS_PR_ID", "type": "PLAINTEXT", "value": null}
    ]}}));
    // A null pull request id is no pull request id: not our build.
    assert_eq!(vars.link().unwrap(), None);

    // A required member is missing whether it is null or left out.
    for bad in [
        json!({"build-status": null, "project-name": "p1", "build-id": "p1:1"}),
        json!({"project-name": "p1", "build-id": "p1:1"}),
    ] {
        assert!(serde_json::from_value::<BuildDetail>(bad).is_err());
    }
}

#[test]
fn numbers_may_be_floats_or_text_and_nonsense_is_none() {
    let d = detail(
        json!({"build-number": "12", "phases": [{"duration-in-seconds": 2.9}, {"duration-in-seconds": -1}]}),
    );
    assert_eq!(d.build_number(), Some(12));
    assert_eq!(d.duration_seconds(), Some(2));
    let d = detail(
        json!({"build-number": -3, "timeout-in-minutes": "soon", "phases": [{"duration-in-seconds": {}}]}),
    );
    assert_eq!(d.build_number(), None);
    assert_eq!(d.additional_information.timeout_in_minutes, None);
    assert_eq!(d.duration_seconds(), None);
    let d = detail(json!({"build-number": 1e300}));
    assert_eq!(d.build_number(), None);
}

#[test]
fn other_variables_are_never_printed() {
    let d = full();
    let printed = format!("{d:?}");
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(printed.contains("<redacted>"), "{printed}");
    assert!(printed.contains(&"a".repeat(40)), "{printed}");
}

#[test]
fn the_link_is_all_or_nothing_and_checked() {
    let mut vars: Vec<(&str, Option<&str>)> = vec![("OTHER", Some("x"))];
    assert_eq!(BuildLink::from_vars(vars.clone()).unwrap(), None);
    vars.push((vars::PR_ID, Some("7")));
    vars.push((vars::REPOSITORY, Some("app")));
    let partial = BuildLink::from_vars(vars.clone()).unwrap_err();
    assert_eq!(partial.kind(), "BadInput");
    assert!(
        partial.to_string().contains(vars::SOURCE_COMMIT),
        "{partial}"
    );

    let a = "a".repeat(40);
    let b = "b".repeat(40);
    vars.extend([
        (vars::SOURCE_COMMIT, Some(a.as_str())),
        (vars::DESTINATION_COMMIT, Some(b.as_str())),
        (vars::REVISION_ID, Some("rev-1")),
    ]);
    let link = BuildLink::from_vars(vars.clone()).unwrap().unwrap();
    assert_eq!(link.revision_id, "rev-1");
    assert_eq!(link.source_reference, None);

    // What `to_vars` writes, `from_vars` reads back.
    let mut full = link.clone();
    full.source_reference = Some("refs/heads/f".into());
    full.destination_reference = Some("refs/heads/main".into());
    let written = full.to_vars();
    assert_eq!(written.len(), 7);
    let back = BuildLink::from_vars(written.iter().map(|(n, v)| (*n, Some(v.as_str()))));
    assert_eq!(back.unwrap(), Some(full));

    for (name, value) in [
        (vars::PR_ID, "7; rm"),
        (vars::REPOSITORY, "bad name`"),
        (vars::SOURCE_COMMIT, "abc def"),
        (vars::DESTINATION_COMMIT, ""),
        (vars::REVISION_ID, "r/../1"),
    ] {
        let mut bad = vars.clone();
        bad.retain(|(n, _)| *n != name);
        bad.push((name, Some(value)));
        let e = BuildLink::from_vars(bad).unwrap_err();
        assert_eq!(e.kind(), "BadInput", "{name}");
        assert!(e.to_string().contains(name), "{e}");
    }
}

#[test]
fn statuses_round_trip() {
    for s in [
        "IN_PROGRESS",
        "SUCCEEDED",
        "FAILED",
        "FAULT",
        "TIMED_OUT",
        "STOPPED",
    ] {
        let st = BuildStatus::parse(s).unwrap();
        assert_eq!(st.as_str(), s);
        assert_eq!(st.is_final(), s != "IN_PROGRESS");
    }
    assert_eq!(BuildStatus::parse("succeeded"), None);
    assert_eq!(branch("refs/heads/a/b"), "a/b");
    assert_eq!(branch("refs/tags/v1"), "refs/tags/v1");
}
