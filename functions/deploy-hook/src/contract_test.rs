use serde_json::json;

use super::*;

#[test]
fn codedeploy_payloads_are_told_apart_from_ecs_ones() {
    let cd = json!({"DeploymentId": "d-ABCDEFGHI", "LifecycleEventHookExecutionId": "e1"});
    assert!(matches!(Contract::of(&cd), Ok(Contract::CodeDeploy(_))));
    let nested = json!({"executionId": "x", "lifecycleStage": "POST_SCALE_UP",
        "resourceArn": "arn", "executionDetails": {}});
    assert!(matches!(Contract::of(&nested), Ok(Contract::EcsNative(_))));
    let flat = json!({"serviceArn": "a", "targetServiceRevisionArn": "b"});
    assert!(matches!(Contract::of(&flat), Ok(Contract::EcsNative(_))));
}

#[test]
fn mixed_unknown_and_non_object_payloads_are_bad_input_naming_both_shapes() {
    for (payload, says) in [
        (
            json!({"DeploymentId": "d-ABCDEFGHI", "lifecycleStage": "POST_SCALE_UP"}),
            "mixes",
        ),
        (json!({"detail-type": "x"}), "detail-type"),
        (json!([1, 2]), "not a JSON object"),
        (json!({}), "fields: none"),
    ] {
        let e = Contract::of(&payload).unwrap_err();
        assert!(matches!(e, Error::BadInput(_)), "{e}");
        let text = e.to_string();
        assert!(text.contains(says), "{text}");
        assert!(
            text.contains("executionDetails") && text.contains("DeploymentId"),
            "{text}"
        );
    }
}

#[test]
fn a_codepipeline_job_is_its_own_contract_and_must_not_mix() {
    let job = json!({"CodePipeline.job": {"id": "x", "data": {}}});
    let c = Contract::of(&job).unwrap();
    assert_eq!(c.kind(), Kind::Pipeline);
    let mixed = json!({"CodePipeline.job": {}, "DeploymentId": "d-ABCDEFGHI"});
    let e = Contract::of(&mixed).unwrap_err().to_string();
    assert!(e.contains("mixes") && e.contains("DeploymentId"), "{e}");
}

#[test]
fn a_contract_the_function_does_not_serve_is_refused_naming_the_variable() {
    let job = json!({"CodePipeline.job": {"id": "x", "data": {}}});
    let e = Contract::served(&job, &[Kind::CodeDeploy, Kind::Ecs]).unwrap_err();
    assert!(matches!(e, Error::BadInput(_)));
    let text = e.to_string();
    assert!(
        text.contains("a CodePipeline job")
            && text.contains("codedeploy, ecs")
            && text.contains("CODEHOOKS_HOOK_CONTRACTS"),
        "{text}"
    );
    let cd = json!({"DeploymentId": "d-ABCDEFGHI", "LifecycleEventHookExecutionId": "e1"});
    assert!(Contract::served(&cd, &[Kind::Pipeline]).is_err());
    assert!(Contract::served(&cd, &Kind::ALL).is_ok());
}
