//! Unit tests of the Lambda deployment's decision.

use super::*;
use crate::facts::DeploymentFacts;

const SHIFT_MS: i64 = 1_700_000_000_000;

/// The lifecycle events of a Lambda deployment with `running` in progress.
fn lifecycle(running: &str) -> Vec<LifecycleEvent> {
    let order = [
        "Start",
        "BeforeAllowTraffic",
        "AllowTraffic",
        "AfterAllowTraffic",
        "End",
    ];
    let at = order.iter().position(|n| *n == running).unwrap_or(99);
    order
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut e = LifecycleEvent::new(
                n,
                match i.cmp(&at) {
                    std::cmp::Ordering::Less => "Succeeded",
                    std::cmp::Ordering::Equal => "InProgress",
                    std::cmp::Ordering::Greater => "Pending",
                },
            );
            if *n == "AllowTraffic" && i < at {
                e.started_ms = Some(SHIFT_MS);
                e.ended_ms = Some(SHIFT_MS + 90_000);
            }
            e
        })
        .collect()
}

fn info(target: &str) -> LambdaFunctionInfo {
    LambdaFunctionInfo {
        function_name: "orders".into(),
        alias: Some("live".into()),
        current_version: Some("6".into()),
        target_version: Some(target.into()),
        target_version_weight: Some(0.0),
    }
}

fn facts_with(targets: Vec<DeploymentTarget>) -> Facts {
    Facts {
        deployment_id: "d-L1".into(),
        deployment: Some(DeploymentFacts {
            platform: Some(ComputePlatform::Lambda),
            application: "orders-app".into(),
            deployment_group: "orders-dg".into(),
            ..DeploymentFacts::default()
        }),
        targets,
        ..Facts::default()
    }
}

fn lambda_target(running: &str, function: LambdaFunctionInfo) -> DeploymentTarget {
    DeploymentTarget::Lambda {
        target_id: "orders".into(),
        lifecycle: lifecycle(running),
        function,
    }
}

fn facts(running: &str, target: &str) -> Facts {
    facts_with(vec![lambda_target(running, info(target))])
}

#[test]
fn before_allow_traffic_plans_the_target_version_without_a_shift_time() {
    let plan = decide(&facts("BeforeAllowTraffic", "7")).unwrap();
    assert_eq!(plan.hook, Hook::BeforeAllowTraffic);
    assert_eq!(plan.deployment_id, "d-L1");
    assert_eq!(plan.application, "orders-app");
    assert_eq!(plan.deployment_group, "orders-dg");
    assert_eq!(plan.target_id, "orders");
    assert_eq!(plan.function_name(), "orders");
    assert_eq!(plan.alias(), "live");
    assert_eq!(plan.target_version(), "7");
    assert_eq!(plan.function.current_version.as_deref(), Some("6"));
    assert_eq!(plan.shifted_at_ms, None);
    assert!(plan.notes.is_empty());
}

#[test]
fn after_allow_traffic_takes_the_shift_time_from_allow_traffic() {
    let plan = decide(&facts("AfterAllowTraffic", "7")).unwrap();
    assert_eq!(plan.hook, Hook::AfterAllowTraffic);
    assert_eq!(plan.shifted_at_ms, Some(SHIFT_MS));
}

#[test]
fn a_missing_allow_traffic_start_falls_back_with_a_note() {
    let mut events = lifecycle("AfterAllowTraffic");
    events[2].started_ms = None;
    let f = facts_with(vec![DeploymentTarget::Lambda {
        target_id: "orders".into(),
        lifecycle: events.clone(),
        function: info("7"),
    }]);
    let plan = decide(&f).unwrap();
    assert_eq!(plan.shifted_at_ms, Some(SHIFT_MS + 90_000));
    assert!(plan.notes[0].contains("AllowTraffic has no start time"));

    events[2].ended_ms = None;
    events[3].started_ms = Some(SHIFT_MS + 120_000);
    let f = facts_with(vec![DeploymentTarget::Lambda {
        target_id: "orders".into(),
        lifecycle: events.clone(),
        function: info("7"),
    }]);
    assert_eq!(decide(&f).unwrap().shifted_at_ms, Some(SHIFT_MS + 120_000));

    events[3].started_ms = None;
    let f = facts_with(vec![DeploymentTarget::Lambda {
        target_id: "orders".into(),
        lifecycle: events,
        function: info("7"),
    }]);
    assert_eq!(decide(&f).unwrap().shifted_at_ms, None);
}

#[test]
fn no_running_lambda_hook_is_refused_with_the_lifecycle() {
    for running in ["Start", "AllowTraffic", "End", "done"] {
        let err = decide(&facts(running, "7")).unwrap_err();
        assert!(
            err.contains("no BeforeAllowTraffic or AfterAllowTraffic lifecycle event of deployment d-L1 is InProgress"),
            "{running}: {err}"
        );
        assert!(err.contains("Start="), "{err}");
    }
}

#[test]
fn an_ecs_hook_name_in_a_lambda_target_is_not_a_lambda_hook() {
    let f = facts_with(vec![DeploymentTarget::Lambda {
        target_id: "orders".into(),
        lifecycle: vec![LifecycleEvent::new("AfterAllowTestTraffic", "InProgress")],
        function: info("7"),
    }]);
    assert!(decide(&f).unwrap_err().contains("is InProgress"));
}

#[test]
fn target_versions_that_are_not_published_are_refused() {
    for bad in ["$LATEST", "live", "7a", "-1", "1.0"] {
        let err = decide(&facts("BeforeAllowTraffic", bad)).unwrap_err();
        assert!(
            err.contains("not a published version number") && err.contains("never $LATEST"),
            "{bad}: {err}"
        );
    }
    let mut f = info("7");
    f.target_version = None;
    let err = decide(&facts_with(vec![lambda_target("BeforeAllowTraffic", f)])).unwrap_err();
    assert!(err.contains("names no target version"), "{err}");
}

#[test]
fn the_function_and_its_alias_must_be_named() {
    let mut f = info("7");
    f.function_name = String::new();
    let err = decide(&facts_with(vec![lambda_target("BeforeAllowTraffic", f)])).unwrap_err();
    assert!(err.contains("names no function"), "{err}");

    let mut f = info("7");
    f.function_name = "arn:aws:lambda:us-east-1:123456789012:function:orders".into();
    let err = decide(&facts_with(vec![lambda_target("BeforeAllowTraffic", f)])).unwrap_err();
    assert!(err.contains("not a function name"), "{err}");

    let mut f = info("7");
    f.alias = None;
    let err = decide(&facts_with(vec![lambda_target("BeforeAllowTraffic", f)])).unwrap_err();
    assert!(err.contains("names no alias"), "{err}");
}

#[test]
fn same_current_and_target_version_is_noted() {
    let mut f = info("7");
    f.current_version = Some("7".into());
    let plan = decide(&facts_with(vec![lambda_target("BeforeAllowTraffic", f)])).unwrap();
    assert!(plan.notes[0].contains("are both 7"), "{:?}", plan.notes);
}

#[test]
fn deployments_without_a_lambda_target_are_refused() {
    let mut f = facts_with(vec![]);
    assert!(
        decide(&f)
            .unwrap_err()
            .contains("has no deployment targets")
    );
    f.targets = vec![DeploymentTarget::Other("InstanceTarget".into())];
    assert!(decide(&f).unwrap_err().contains("has no Lambda target"));
    f.deployment = None;
    assert!(decide(&f).unwrap_err().contains("no deploymentInfo"));
    let mut f = facts("BeforeAllowTraffic", "7");
    if let Some(d) = f.deployment.as_mut() {
        d.platform = Some(ComputePlatform::Ecs);
    }
    assert!(
        decide(&f)
            .unwrap_err()
            .contains("is on the ECS compute platform")
    );
}

#[test]
fn the_target_with_the_running_hook_is_chosen() {
    let f = facts_with(vec![
        DeploymentTarget::Other("InstanceTarget".into()),
        lambda_target("End", info("5")),
        lambda_target("BeforeAllowTraffic", info("7")),
    ]);
    assert_eq!(decide(&f).unwrap().target_version(), "7");
}
