//! Unit tests of `payload.rs`.

use super::*;
use serde_json::json;

#[test]
fn parses_the_hook_payload_and_refuses_anything_else() {
    let ok = HookPayload::parse(&json!({"DeploymentId": "d-ABCDEF123", "LifecycleEventHookExecutionId": "eyJlbmNyeXB0ZWREYXRhIjoi"})).unwrap();
    assert_eq!(ok.deployment_id, "d-ABCDEF123");
    for bad in [
        json!({}),
        json!({"DeploymentId": "d-ABCDEF123"}),
        json!({"DeploymentId": "", "LifecycleEventHookExecutionId": "x"}),
        json!({"DeploymentId": 5, "LifecycleEventHookExecutionId": "x"}),
        json!({"DeploymentId": "arn:nope", "LifecycleEventHookExecutionId": "x"}),
        json!({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "a b"}),
        json!("just a string"),
    ] {
        let e = HookPayload::parse(&bad).unwrap_err();
        assert_eq!(e.kind(), "BadInput", "{bad}");
    }
}
