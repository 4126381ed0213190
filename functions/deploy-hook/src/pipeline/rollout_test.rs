use super::*;

fn deployment(status: &str, td: &str, running: i64, state: Option<&str>) -> RollingDeployment {
    RollingDeployment {
        id: format!("ecs-svc/{status}"),
        status: status.into(),
        task_definition: Some(format!(
            "arn:aws:ecs:us-east-1:123456789012:task-definition/{td}"
        )),
        desired_count: 2,
        running_count: running,
        rollout_state: state.map(str::to_owned),
        ..RollingDeployment::default()
    }
}

fn service(deployments: Vec<RollingDeployment>) -> ServiceFacts {
    ServiceFacts {
        name: "web".into(),
        deployments,
        ..ServiceFacts::default()
    }
}

#[test]
fn a_completed_rollout_of_the_wanted_task_definition_is_ready() {
    let s = service(vec![deployment("PRIMARY", "web:7", 2, Some("COMPLETED"))]);
    match judge(&s, Some("web:7"), None) {
        Rollout::Ready {
            task_definition, ..
        } => assert_eq!(task_definition, "web:7"),
        other => panic!("{other:?}"),
    }
    let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7";
    assert!(matches!(judge(&s, Some(arn), None), Rollout::Ready { .. }));
}

#[test]
fn in_progress_or_short_of_tasks_waits() {
    let s = service(vec![
        deployment("PRIMARY", "web:7", 1, Some("IN_PROGRESS")),
        deployment("ACTIVE", "web:6", 2, Some("COMPLETED")),
    ]);
    assert!(
        matches!(judge(&s, Some("web:7"), None), Rollout::Waiting(w) if w.contains("IN_PROGRESS"))
    );
    let s = service(vec![deployment("PRIMARY", "web:7", 1, Some("COMPLETED"))]);
    assert!(matches!(judge(&s, None, None), Rollout::Waiting(w) if w.contains("1 running of 2")));
    assert!(matches!(judge(&s, None, Some(1)), Rollout::Ready { .. }));
}

#[test]
fn without_a_rollout_state_the_old_deployments_must_be_gone() {
    let s = service(vec![
        deployment("PRIMARY", "web:7", 2, None),
        deployment("ACTIVE", "web:6", 1, None),
    ]);
    assert!(matches!(judge(&s, None, None), Rollout::Waiting(w) if w.contains("older")));
    let s = service(vec![deployment("PRIMARY", "web:7", 2, None)]);
    assert!(matches!(judge(&s, None, None), Rollout::Ready { .. }));
}

#[test]
fn a_failed_rollout_or_another_task_definition_fails_at_once() {
    let mut d = deployment("PRIMARY", "web:7", 0, Some("FAILED"));
    d.rollout_state_reason = Some("circuit breaker tripped".into());
    let s = service(vec![d]);
    assert!(
        matches!(judge(&s, Some("web:7"), None), Rollout::Failed(w) if w.contains("circuit breaker"))
    );
    let s = service(vec![deployment("PRIMARY", "web:8", 2, Some("COMPLETED"))]);
    assert!(
        matches!(judge(&s, Some("web:7"), None), Rollout::Failed(w) if w.contains("web:8, not web:7"))
    );
}

#[test]
fn no_primary_yet_waits() {
    assert!(matches!(
        judge(&service(vec![]), None, None),
        Rollout::Waiting(_)
    ));
}

#[test]
fn an_inactive_service_fails() {
    let mut s = service(vec![deployment("PRIMARY", "web:7", 2, Some("COMPLETED"))]);
    s.status = Some("INACTIVE".into());
    assert!(matches!(judge(&s, None, None), Rollout::Failed(w) if w.contains("INACTIVE")));
}
