use serde_json::json;

use super::*;

const ID: &str = "11111111-2222-4333-8444-555555555555";

fn job(id: Value, data: Value) -> Value {
    json!({"CodePipeline.job": {"id": id, "accountId": "123456789012", "data": data}})
}

#[test]
fn reads_the_job_and_leaves_the_artifact_credentials_alone() {
    let e = JobEvent::parse(&job(
        json!(ID),
        json!({
            "actionConfiguration": {"configuration": {"FunctionName": "verify", "UserParameters": "{\"url\":\"http://x\"}"}},
            "inputArtifacts": [], "outputArtifacts": [],
            "artifactCredentials": {"accessKeyId": "AKIA", "secretAccessKey": "s3cr3t", "sessionToken": "tok"},
            "continuationToken": "{\"v\":1}"
        }),
    ))
    .unwrap();
    assert_eq!(e.id, ID);
    assert_eq!(e.account_id.as_deref(), Some("123456789012"));
    assert_eq!(e.function_name.as_deref(), Some("verify"));
    assert_eq!(e.user_parameters, Some(json!("{\"url\":\"http://x\"}")));
    assert_eq!(e.continuation_token.as_deref(), Some("{\"v\":1}"));
    assert!(!format!("{e:?}").contains("s3cr3t"));
}

#[test]
fn a_job_without_a_usable_id_is_bad_input() {
    for bad in [
        json!({"CodePipeline.job": "x"}),
        job(json!(null), json!({})),
        job(json!(42), json!({})),
        job(json!("not-a-uuid"), json!({})),
        job(json!("11111111-2222-4333-8444-55555555555"), json!({})),
    ] {
        let e = JobEvent::parse(&bad).unwrap_err();
        assert_eq!(e.kind(), "BadInput", "{bad}");
    }
}

#[test]
fn missing_parts_of_the_data_are_absent_not_errors() {
    let e = JobEvent::parse(&job(json!(ID), json!({}))).unwrap();
    assert_eq!(e.user_parameters, None);
    assert_eq!(e.continuation_token, None);
    let e = JobEvent::parse(&job(json!(ID), json!({"continuationToken": ""}))).unwrap();
    assert_eq!(e.continuation_token, None);
}

#[test]
fn uuids_are_told_apart() {
    assert!(is_uuid(ID));
    assert!(is_uuid("ABCDEF01-2222-4333-8444-555555555555"));
    assert!(!is_uuid("11111111222243338444555555555555"));
    assert!(!is_uuid("1111111g-2222-4333-8444-555555555555"));
    assert!(!is_uuid(""));
}
