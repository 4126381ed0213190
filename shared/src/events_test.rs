//! Unit tests of `events.rs`.

use super::*;
use serde_json::json;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct BuildDetail {
    build_status: String,
    project_name: String,
}

fn event() -> Value {
    json!({
        "version": "0",
        "id": "c030038d-8c4d-6141-9545-00ff7b7153EX",
        "detail-type": "CodeBuild Build State Change",
        "source": "aws.codebuild",
        "account": "123456789012",
        "time": "2017-09-01T16:14:28Z",
        "region": "us-west-2",
        "resources": ["arn:aws:codebuild:us-west-2:123456789012:build/my-sample-project:8745a7a9"],
        "detail": {"build-status": "FAILED", "project-name": "my-sample-project"}
    })
}

#[test]
fn parses_envelope_and_detail() {
    let ev = EventBridgeEvent::parse(event()).unwrap();
    assert_eq!(ev.detail_type, "CodeBuild Build State Change");
    assert_eq!(ev.region, "us-west-2");
    let d: BuildDetail = ev.detail_as().unwrap();
    assert_eq!(d.build_status, "FAILED");
    assert_eq!(d.project_name, "my-sample-project");
}

#[test]
fn rejects_what_does_not_fit_with_a_clear_error() {
    let err = EventBridgeEvent::parse(json!({"hello": "world"})).unwrap_err();
    assert_eq!(err.kind(), "BadInput");
    assert!(
        err.to_string().contains("not an EventBridge event"),
        "{err}"
    );

    let mut bad = event();
    bad["detail"] = json!({"build-status": 3});
    let err = EventBridgeEvent::parse(bad)
        .unwrap()
        .detail_as::<BuildDetail>()
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("CodeBuild Build State Change"), "{text}");
    assert!(
        text.contains("build-status") || text.contains("invalid type"),
        "{text}"
    );
}
