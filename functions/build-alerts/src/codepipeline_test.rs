//! Unit tests of `codepipeline.rs`.

use super::*;
use serde_json::json;

fn origin() -> Origin {
    Origin {
        region: "us-east-1".into(),
        account: "123456789012".into(),
        event_id: "e-2".into(),
        time: "2026-11-23T01:00:00Z".into(),
    }
}

fn action(provider: &str) -> PipelineDetail {
    serde_json::from_value(json!({
        "pipeline": "web-release",
        "execution-id": "4c6b2f1e-7a8d-4b9c-a0e1-f2a3b4c5d6e7",
        "stage": "Approve",
        "action": "ChangeReview",
        "state": "FAILED",
        "region": "us-east-1",
        "type": {"owner": "AWS", "provider": provider, "category": "Approval", "version": "1"},
        "version": 3.0,
        "pipeline-execution-attempt": 1.0
    }))
    .unwrap()
}

#[test]
fn covered_providers_are_left_to_their_own_events() {
    assert!(matches!(plan_action(&action("CodeBuild")), Run::Ignore(_)));
    assert!(matches!(
        plan_action(&action("CodeDeployToECS")),
        Run::Ignore(_)
    ));
    assert_eq!(plan_action(&action("Manual")), Run::Failure);
}

#[test]
fn action_alert_uses_the_lookups() {
    let d = action("Manual");
    d.validate(true).unwrap();
    let l = Lookups {
        actions: Some(vec![ActionRun {
            stage: "Approve".into(),
            action: "ChangeReview".into(),
            status: "Failed".into(),
            summary: Some("Rejected: the change window is closed".into()),
            ..Default::default()
        }]),
        execution: Some(ExecutionFacts {
            revisions: vec![(
                "Source".into(),
                "abc1234def5678abc1234def5678abc1234def56".into(),
                Some("Fix login".into()),
            )],
            ..Default::default()
        }),
        problems: vec![],
    };
    let a = action_alert(&d, &origin(), &l);
    assert_eq!(
        a.subject(),
        "FAILED pipeline web-release Approve/ChangeReview (abc1234) in us-east-1"
    );
    assert_eq!(a.reasons, ["Rejected: the change window is closed"]);
    assert!(
        a.links[0]
            .1
            .contains("/executions/4c6b2f1e-7a8d-4b9c-a0e1-f2a3b4c5d6e7/timeline?region=us-east-1")
    );
}

#[test]
fn validation_rejects_forged_ids() {
    let mut d = action("Manual");
    d.execution_id = "../../x".into();
    assert_eq!(d.validate(true).unwrap_err().kind(), "BadInput");
    let mut d = action("Manual");
    d.stage = None;
    assert_eq!(d.validate(true).unwrap_err().kind(), "BadInput");
    assert!(d.validate(false).is_ok());
}
