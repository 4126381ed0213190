use serde_json::json;

use super::*;

const DEPLOYMENT: &str =
    "arn:aws:ecs:us-east-1:123456789012:service-deployment/shop/web/EZe5RNVLH6PPzHXINuP28";
const SERVICE: &str = "arn:aws:ecs:us-east-1:123456789012:service/shop/web";
const GREEN: &str = "arn:aws:ecs:us-east-1:123456789012:service-revision/shop/web/2";
const BLUE: &str = "arn:aws:ecs:us-east-1:123456789012:service-revision/shop/web/1";

fn event(stage: &str, test: serde_json::Value, prod: serde_json::Value) -> NativeEvent {
    NativeEvent::parse(&json!({
        "executionId": "e-1", "lifecycleStage": stage, "resourceArn": DEPLOYMENT,
        "executionDetails": {"serviceArn": SERVICE, "targetServiceRevisionArn": GREEN,
            "testTrafficWeights": test, "productionTrafficWeights": prod}
    }))
    .unwrap()
}

#[test]
fn weights_pointing_back_at_blue_at_a_traffic_shift_are_a_rollback() {
    let e = event(
        "TEST_TRAFFIC_SHIFT",
        json!({GREEN: 0, BLUE: 100}),
        json!({}),
    );
    let r = rollback(&e).unwrap();
    assert_eq!(r.weights, "testTrafficWeights");
    assert_eq!(r.to, [(BLUE.to_owned(), 100)]);
    assert!(r.describe(&e).contains("rolling the deployment back"));

    let e = event(
        "PRODUCTION_TRAFFIC_SHIFT",
        json!({}),
        json!({GREEN: 0, BLUE: 100}),
    );
    assert_eq!(rollback(&e).unwrap().weights, "productionTrafficWeights");

    // Green left out of the map altogether: still back at blue.
    let e = event("PRODUCTION_TRAFFIC_SHIFT", json!({}), json!({BLUE: 100}));
    assert!(rollback(&e).is_some());
}

#[test]
fn forward_shifts_and_steps_are_not_rollbacks() {
    for (stage, test, prod) in [
        (
            "TEST_TRAFFIC_SHIFT",
            json!({GREEN: 100, BLUE: 0}),
            json!({}),
        ),
        (
            "PRODUCTION_TRAFFIC_SHIFT",
            json!({}),
            json!({GREEN: 100, BLUE: 0}),
        ),
        // A canary or linear step.
        (
            "PRODUCTION_TRAFFIC_SHIFT",
            json!({}),
            json!({GREEN: 10, BLUE: 90}),
        ),
        // Before the production shift, blue has it all: normal.
        (
            "PRE_PRODUCTION_TRAFFIC_SHIFT",
            json!({}),
            json!({GREEN: 0, BLUE: 100}),
        ),
        // The other stages never are, whatever the weights.
        (
            "POST_TEST_TRAFFIC_SHIFT",
            json!({GREEN: 0, BLUE: 100}),
            json!({}),
        ),
        // Empty maps (a first deployment, or a stage that sends none).
        ("TEST_TRAFFIC_SHIFT", json!({}), json!({})),
        (
            "PRODUCTION_TRAFFIC_SHIFT",
            json!({}),
            json!({GREEN: 0, BLUE: 0}),
        ),
    ] {
        assert_eq!(
            rollback(&event(stage, test.clone(), prod.clone())),
            None,
            "{stage} {test} {prod}"
        );
    }
}

#[test]
fn the_test_weights_do_not_decide_the_production_shift() {
    let e = event(
        "PRODUCTION_TRAFFIC_SHIFT",
        json!({GREEN: 0, BLUE: 100}),
        json!({GREEN: 100, BLUE: 0}),
    );
    assert_eq!(rollback(&e), None);
}
