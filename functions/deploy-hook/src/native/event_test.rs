use serde_json::{Value, json};

use super::*;

const DEPLOYMENT: &str = "arn:aws:ecs:us-west-2:123456789012:service-deployment/my-cluster/my-service/EZe5RNVLH6PPzHXINuP28";
const SERVICE: &str = "arn:aws:ecs:us-west-2:123456789012:service/my-cluster/my-service";
const GREEN: &str =
    "arn:aws:ecs:us-west-2:123456789012:service-revision/my-cluster/my-service/9313423515462893900";
const BLUE: &str =
    "arn:aws:ecs:us-west-2:123456789012:service-revision/my-cluster/my-service/1920498462936580504";

fn nested() -> Value {
    json!({
        "executionId": "f4fcae0f-9bec-41c6-ba87-0eaa0cef8af5",
        "lifecycleStage": "PRODUCTION_TRAFFIC_SHIFT",
        "resourceArn": DEPLOYMENT,
        "executionDetails": {
            "serviceArn": SERVICE,
            "targetServiceRevisionArn": GREEN,
            "testTrafficWeights": {},
            "productionTrafficWeights": {GREEN: 100, BLUE: 0}
        },
        "hookDetails": {"S3_BUCKET_NAME": "b", "approvalChecked": true}
    })
}

/// A change that spoils the payload.
type Change = Box<dyn Fn(&mut Value)>;

fn message(v: &Value) -> String {
    let e = NativeEvent::parse(v).unwrap_err();
    assert_eq!(e.kind(), "BadInput", "{e}");
    e.to_string()
}

#[test]
fn the_documented_nested_payload_is_read() {
    let e = NativeEvent::parse(&nested()).unwrap();
    assert_eq!(e.stage, Hook::ProductionTrafficShift);
    assert_eq!(e.resource_arn, DEPLOYMENT);
    assert_eq!(e.target_revision_arn, GREEN);
    assert_eq!(e.production_weights.get(GREEN), Some(&100));
    assert_eq!(e.production_weights.get(BLUE), Some(&0));
    assert!(e.test_weights.is_empty());
    assert_eq!(e.service_name(), "my-cluster/my-service");
    assert!(!e.flat);
    assert_eq!(e.hook_details.unwrap()["approvalChecked"], json!(true));
}

#[test]
fn the_flat_form_of_the_early_guide_is_read_the_same() {
    let mut v = nested();
    let details = v["executionDetails"].take();
    let top = v.as_object_mut().unwrap();
    top.remove("executionDetails");
    top.remove("hookDetails");
    for (k, val) in details.as_object().unwrap() {
        top.insert(k.clone(), val.clone());
    }
    let e = NativeEvent::parse(&v).unwrap();
    assert!(e.flat);
    assert_eq!(e.target_revision_arn, GREEN);
    assert_eq!(e.production_weights.len(), 2);
    assert_eq!(e.hook_details, None);
}

#[test]
fn weights_and_hook_details_may_be_absent() {
    let mut v = nested();
    let d = v["executionDetails"].as_object_mut().unwrap();
    d.remove("testTrafficWeights");
    d.remove("productionTrafficWeights");
    v.as_object_mut().unwrap().remove("hookDetails");
    let e = NativeEvent::parse(&v).unwrap();
    assert!(e.test_weights.is_empty() && e.production_weights.is_empty());
}

#[test]
fn other_partitions_are_read() {
    for partition in ["aws-cn", "aws-us-gov"] {
        let text = nested()
            .to_string()
            .replace("arn:aws:", &format!("arn:{partition}:"));
        let e = NativeEvent::parse(&serde_json::from_str(&text).unwrap()).unwrap();
        assert!(e.service_arn.starts_with(&format!("arn:{partition}:ecs:")));
    }
}

#[test]
fn both_forms_at_once_are_refused() {
    let mut v = nested();
    v["serviceArn"] = json!(SERVICE);
    let m = message(&v);
    assert!(m.contains("both executionDetails"), "{m}");
    assert!(m.contains("serviceArn"), "{m}");
}

#[test]
fn malformed_payloads_are_refused_with_the_field_named() {
    let cases: Vec<(&str, Change)> = vec![
        (
            "executionDetails is missing",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("executionDetails");
            }),
        ),
        (
            "executionDetails must be an object",
            Box::new(|v| v["executionDetails"] = json!([])),
        ),
        (
            "lifecycleStage \"ROLLBACK\"",
            Box::new(|v| v["lifecycleStage"] = json!("ROLLBACK")),
        ),
        (
            "lifecycleStage is missing",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("lifecycleStage");
            }),
        ),
        (
            "executionId must be",
            Box::new(|v| v["executionId"] = json!("x".repeat(200))),
        ),
        (
            "executionId must be a string",
            Box::new(|v| v["executionId"] = json!(7)),
        ),
        (
            "resourceArn",
            Box::new(|v| v["resourceArn"] = json!(SERVICE)),
        ),
        (
            "serviceArn",
            Box::new(|v| {
                v["executionDetails"]["serviceArn"] =
                    json!("arn:aws:ecs:us-west-2:123456789012:service/other/my-service")
            }),
        ),
        (
            "not an Amazon ECS ARN",
            Box::new(|v| {
                v["executionDetails"]["targetServiceRevisionArn"] =
                    json!("arn:aws:lambda:us-west-2:123456789012:function:f")
            }),
        ),
        (
            "is not an AWS partition",
            Box::new(|v| {
                v["executionDetails"]["serviceArn"] =
                    json!("arn:nope:ecs:us-west-2:123456789012:service/my-cluster/my-service")
            }),
        ),
        (
            "(aws-cn",
            Box::new(|v| {
                v["executionDetails"]["serviceArn"] =
                    json!("arn:aws-cn:ecs:us-west-2:123456789012:service/my-cluster/my-service")
            }),
        ),
        (
            "integer from 0 to 100",
            Box::new(|v| v["executionDetails"]["productionTrafficWeights"] = json!({GREEN: 101})),
        ),
        (
            "integer from 0 to 100",
            Box::new(|v| v["executionDetails"]["productionTrafficWeights"] = json!({GREEN: 50.5})),
        ),
        (
            "testTrafficWeights must be an object",
            Box::new(|v| v["executionDetails"]["testTrafficWeights"] = json!([GREEN])),
        ),
        (
            "testTrafficWeights key",
            Box::new(|v| v["executionDetails"]["testTrafficWeights"] = json!({"green": 100})),
        ),
        (
            "hookDetails must be an object",
            Box::new(|v| v["hookDetails"] = json!("x")),
        ),
    ];
    for (want, change) in cases {
        let mut v = nested();
        change(&mut v);
        let m = message(&v);
        assert!(m.contains(want), "want {want:?} in {m}");
        assert!(m.contains("Amazon ECS lifecycle hook payload: "), "{m}");
    }
    assert!(message(&json!([1])).contains("JSON object"));
}
