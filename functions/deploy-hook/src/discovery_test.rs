//! Unit tests of `discovery.rs`.

use super::*;

fn set(label: Option<&str>, status: &str, weight: f64, tg: &str) -> TaskSet {
    TaskSet {
        id: format!("ecs-svc/{tg}"),
        desired_count: 2,
        running_count: 2,
        status: status.into(),
        traffic_weight: weight,
        target_group: Some(tg.into()),
        label: label.map(str::to_owned),
    }
}

#[test]
fn finds_green_by_label_then_by_weight() {
    let labelled = [
        set(Some("Blue"), "PRIMARY", 100.0, "blue"),
        set(Some("Green"), "ACTIVE", 0.0, "green"),
    ];
    assert_eq!(
        green_task_set(&labelled).unwrap().target_group.as_deref(),
        Some("green")
    );
    let unlabelled = [
        set(None, "PRIMARY", 100.0, "a"),
        set(None, "ACTIVE", 0.0, "b"),
    ];
    assert_eq!(
        green_task_set(&unlabelled).unwrap().target_group.as_deref(),
        Some("b")
    );
    assert!(green_task_set(&[set(None, "PRIMARY", 100.0, "a")]).is_none());
}

#[test]
fn finds_the_running_hook() {
    let events = [
        ("BeforeInstall", "Succeeded"),
        ("Install", "Succeeded"),
        ("AfterInstall", "Succeeded"),
        ("AllowTestTraffic", "Succeeded"),
        ("AfterAllowTestTraffic", "InProgress"),
        ("BeforeAllowTraffic", "Pending"),
    ];
    assert_eq!(running_hook(events), Some(Hook::AfterAllowTestTraffic));
    assert_eq!(running_hook([("Install", "InProgress")]), None);
    assert_eq!(running_hook([("AfterAllowTraffic", "Succeeded")]), None);
}

#[test]
fn reads_the_task_definition_from_appspec() {
    let yaml = "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: \"arn:aws:ecs:us-east-1:123456789012:task-definition/shop:42\"\n";
    assert_eq!(task_definition_in(yaml).unwrap().0, "shop:42");
    let json = r#"{"Resources":[{"TargetService":{"Properties":{"TaskDefinition":"arn:aws:ecs:eu-west-1:1:task-definition/web:7","LoadBalancerInfo":{}}}}]}"#;
    assert_eq!(task_definition_in(json).unwrap().0, "web:7");
    assert!(task_definition_in("TaskDefinition: <TASK_DEFINITION>").is_none());
}

#[test]
fn reads_forward_actions() {
    let simple = elb::Action::builder()
        .r#type(elb::ActionTypeEnum::Forward)
        .target_group_arn("arn:tg/green")
        .build();
    assert_eq!(
        forwarded_target_groups(&[simple]).unwrap(),
        ["arn:tg/green"]
    );
    let weighted = elb::Action::builder()
        .r#type(elb::ActionTypeEnum::Forward)
        .forward_config(
            elb::ForwardActionConfig::builder()
                .target_groups(
                    elb::TargetGroupTuple::builder()
                        .target_group_arn("arn:tg/blue")
                        .weight(0)
                        .build(),
                )
                .target_groups(
                    elb::TargetGroupTuple::builder()
                        .target_group_arn("arn:tg/green")
                        .weight(100)
                        .build(),
                )
                .build(),
        )
        .build();
    assert_eq!(
        forwarded_target_groups(&[weighted]).unwrap(),
        ["arn:tg/green"]
    );
    let redirect = elb::Action::builder()
        .r#type(elb::ActionTypeEnum::Redirect)
        .build();
    assert!(
        forwarded_target_groups(&[redirect])
            .unwrap_err()
            .contains("redirect")
    );
}

fn plan(forwards: &[&str]) -> Plan {
    Plan {
        deployment_id: "d-1".into(),
        application: "a".into(),
        deployment_group: "g".into(),
        hook: Hook::AfterAllowTestTraffic,
        target_type: "ECSTarget".into(),
        target_id: "c:s".into(),
        task_sets: vec![],
        green: Some(TargetGroup {
            name: "green".into(),
            arn: "arn:tg/green".into(),
        }),
        blue: Some(TargetGroup {
            name: "blue".into(),
            arn: "arn:tg/blue".into(),
        }),
        desired_count: Some(2),
        listener: Some(ListenerInfo {
            role: ListenerRole::Test,
            arn: "arn:listener/test".into(),
            protocol: "HTTP".into(),
            port: 8080,
            load_balancer_dns: "lb".into(),
            forwards_to: forwards.iter().map(|s| s.to_string()).collect(),
        }),
        task_definition: None,
        notes: vec![],
    }
}

#[test]
fn refuses_a_listener_that_serves_blue() {
    assert!(verify_listener(&plan(&["arn:tg/green"])).is_ok());
    let e = verify_listener(&plan(&["arn:tg/blue"])).unwrap_err();
    assert!(e.contains("refusing to pass a test of blue"), "{e}");
    assert!(verify_listener(&plan(&["arn:tg/blue", "arn:tg/green"])).is_err());
    assert!(
        verify_listener(&plan(&[]))
            .unwrap_err()
            .contains("does not forward")
    );
}
