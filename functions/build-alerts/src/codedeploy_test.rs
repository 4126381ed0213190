//! Unit tests of `codedeploy.rs`.

use super::*;
use serde_json::json;

#[test]
fn alert_carries_error_and_rollback() {
    let d: DeploymentDetail = serde_json::from_value(json!({
        "instanceGroupId": "9fd2fbef-2157-40d8-91e7-6845af69e2d2",
        "region": "eu-west-1",
        "application": "shop",
        "deploymentId": "d-ABCDEFGHI",
        "state": "FAILURE",
        "deploymentGroup": "shop-prod"
    }))
    .unwrap();
    d.validate().unwrap();
    let f = DeploymentFacts {
        error_code: Some("ALARM_ACTIVE".into()),
        error_message: Some("One or more alarms have been activated".into()),
        rollback_deployment_id: Some("d-ROLLBACK1".into()),
        ..Default::default()
    };
    let run = Origin {
        region: "eu-west-1".into(),
        account: "123456789012".into(),
        event_id: "e".into(),
        time: "t".into(),
    };
    let a = alert(&d, &run, Some(&f), None);
    assert_eq!(
        a.subject(),
        "FAILURE deployment shop/shop-prod d-ABCDEFGHI in eu-west-1"
    );
    assert_eq!(
        a.reasons[0],
        "ALARM_ACTIVE: One or more alarms have been activated"
    );
    assert!(a.headline.contains("rolled back"));
    assert_eq!(a.links.len(), 2);
}

#[test]
fn rejects_forged_ids() {
    let d: DeploymentDetail = serde_json::from_value(json!({
        "deploymentId": "x/../y", "state": "FAILURE"
    }))
    .unwrap();
    assert_eq!(d.validate().unwrap_err().kind(), "BadInput");
}
