//! Unit tests of `decide.rs`: one table of facts → plan or refusal.

use super::*;
use crate::facts::{ComputePlatform, LifecycleEvent, ListenerAction, WeightedTargetGroup};
use crate::fixtures::*;
use crate::plan::verify_listener;
use codehooks::Error;

fn aws_error(op: &'static str) -> Error {
    Error::Aws {
        operation: op,
        code: "AccessDeniedException".into(),
        message: "no".into(),
        retryable: false,
    }
}

fn cloudformation(f: &mut Facts) {
    f.targets = vec![DeploymentTarget::CloudFormation {
        target_id: "stack".into(),
        lifecycle: lifecycle("AfterAllowTestTraffic"),
    }];
}

enum Expect {
    Plan(fn(&Plan)),
    Refused(&'static str),
    Aws(&'static str),
}

type Case = (&'static str, &'static str, fn(&mut Facts), Expect);

fn table() -> Vec<Case> {
    vec![
        (
            "ECS, test traffic: green by label, the test listener",
            "AfterAllowTestTraffic",
            |_| {},
            Expect::Plan(|p| {
                assert_eq!(p.hook, Hook::AfterAllowTestTraffic);
                assert_eq!(p.target_type, TargetType::Ecs);
                assert_eq!(p.green.as_ref().map(|g| g.arn.as_str()), Some(GREEN));
                assert_eq!(p.blue.as_ref().map(|g| g.arn.as_str()), Some(BLUE));
                let l = p.listener.as_ref().unwrap();
                assert_eq!((l.role, l.port), (ListenerRole::Test, 8443));
                assert_eq!(l.load_balancer_dns, "lb-1.us-east-1.elb.amazonaws.com");
                assert_eq!(p.task_definition.as_deref(), Some("shop:42"));
                assert_eq!(p.desired_count, Some(2));
                assert_eq!(p.task_sets[1].id, "ecs-svc/green");
                assert!(verify_listener(p).is_ok());
            }),
        ),
        (
            "a test listener forwarding to blue is refused",
            "AfterAllowTestTraffic",
            |f| f.listeners[1] = listener(TEST, 8443, BLUE),
            Expect::Plan(|p| {
                let e = verify_listener(p).unwrap_err().to_string();
                assert!(e.contains("refusing to pass a test of blue"), "{e}");
            }),
        ),
        (
            "a listener forwarding to both (weighted) is refused",
            "AfterAllowTestTraffic",
            |f| {
                f.listeners[1].default_actions = vec![ListenerAction {
                    kind: "forward".into(),
                    target_group_arn: None,
                    weighted: vec![
                        WeightedTargetGroup {
                            arn: Some(BLUE.into()),
                            weight: Some(10),
                        },
                        WeightedTargetGroup {
                            arn: Some(GREEN.into()),
                            weight: Some(90),
                        },
                    ],
                }]
            },
            Expect::Plan(|p| assert!(verify_listener(p).is_err())),
        ),
        (
            "after the shift: production serves green",
            "AfterAllowTraffic",
            |f| f.listeners[0] = listener(PROD, 443, GREEN),
            Expect::Plan(|p| {
                let l = p.listener.as_ref().unwrap();
                assert_eq!(l.role, ListenerRole::Production);
                assert!(verify_listener(p).is_ok());
            }),
        ),
        (
            "AfterInstall probes nothing",
            "AfterInstall",
            |_| {},
            Expect::Plan(|p| assert!(p.listener.is_none())),
        ),
        (
            "BeforeInstall before any green task set: green is what production does not serve",
            "BeforeInstall",
            |f| {
                f.targets = vec![DeploymentTarget::Ecs {
                    target_id: "c:s".into(),
                    lifecycle: lifecycle("BeforeInstall"),
                    task_sets: vec![task_set(None, "PRIMARY", 100.0, "blue")],
                }];
                f.listeners[1] = listener(TEST, 8443, BLUE);
            },
            Expect::Plan(|p| {
                assert_eq!(p.green.as_ref().unwrap().name, "green");
                assert!(p.notes.is_empty(), "{:?}", p.notes);
                assert_eq!(
                    p.listener.as_ref().map(|l| l.role),
                    Some(ListenerRole::Test)
                );
            }),
        ),
        (
            "BeforeInstall when production serves neither: no green yet",
            "BeforeInstall",
            |f| {
                f.targets = vec![DeploymentTarget::Ecs {
                    target_id: "c:s".into(),
                    lifecycle: lifecycle("BeforeInstall"),
                    task_sets: vec![],
                }];
                f.listeners[0] = listener(PROD, 443, "arn:other");
            },
            Expect::Plan(|p| assert!(p.green.is_none() && p.blue.is_none())),
        ),
        (
            "unlabelled task sets: green is the one without traffic",
            "AfterAllowTestTraffic",
            |f| {
                f.targets = vec![DeploymentTarget::Ecs {
                    target_id: "c:s".into(),
                    lifecycle: lifecycle("AfterAllowTestTraffic"),
                    task_sets: vec![
                        task_set(None, "PRIMARY", 100.0, "blue"),
                        task_set(None, "ACTIVE", 0.0, "green"),
                    ],
                }]
            },
            Expect::Plan(|p| assert_eq!(p.green.as_ref().unwrap().name, "green")),
        ),
        (
            "no task sets: green from the production listener, with a note",
            "AfterAllowTestTraffic",
            |f| {
                f.targets = vec![DeploymentTarget::Ecs {
                    target_id: "c:s".into(),
                    lifecycle: lifecycle("AfterAllowTestTraffic"),
                    task_sets: vec![],
                }]
            },
            Expect::Plan(|p| {
                assert_eq!(p.green.as_ref().unwrap().name, "green");
                assert!(
                    p.notes
                        .iter()
                        .any(|n| n.contains("no task set is labelled Green"))
                );
            }),
        ),
        (
            "CloudFormation: the group cannot be read, the deployment's loadBalancerInfo is",
            "AfterAllowTestTraffic",
            |f| {
                cloudformation(f);
                f.group = GroupLookup::Failed(aws_error("GetDeploymentGroup"));
                f.deployment.as_mut().unwrap().traffic_pair = Some(pair());
            },
            Expect::Plan(|p| {
                assert_eq!(p.target_type, TargetType::CloudFormation);
                assert_eq!(p.green.as_ref().unwrap().name, "green");
                assert!(p.task_sets.is_empty());
                let notes = p.notes.join("\n");
                assert!(notes.contains("CloudFormation blue/green"), "{notes}");
                assert!(notes.contains("GetDeploymentGroup failed"), "{notes}");
                assert!(
                    notes.contains("the deployment's loadBalancerInfo"),
                    "{notes}"
                );
            }),
        ),
        (
            "CloudFormation without any target group pair fails clearly",
            "AfterAllowTestTraffic",
            |f| {
                cloudformation(f);
                f.group = GroupLookup::Found(None);
            },
            Expect::Refused("names no target group pair"),
        ),
        (
            "ECS: a failed GetDeploymentGroup is an AWS error",
            "AfterAllowTestTraffic",
            |f| f.group = GroupLookup::Failed(aws_error("GetDeploymentGroup")),
            Expect::Aws("GetDeploymentGroup failed"),
        ),
        (
            "no application or group named: the deployment's own pair",
            "AfterAllowTestTraffic",
            |f| {
                let d = f.deployment.as_mut().unwrap();
                d.application.clear();
                d.traffic_pair = Some(pair());
                f.group = GroupLookup::NotAsked;
            },
            Expect::Plan(|p| assert_eq!(p.green.as_ref().unwrap().name, "green")),
        ),
        (
            "a Lambda deployment",
            "AfterAllowTestTraffic",
            |f| f.deployment.as_mut().unwrap().platform = Some(ComputePlatform::Lambda),
            Expect::Refused("is a Lambda deployment"),
        ),
        (
            "a Server deployment",
            "AfterAllowTestTraffic",
            |f| f.deployment.as_mut().unwrap().platform = Some(ComputePlatform::Server),
            Expect::Refused("is a Server deployment"),
        ),
        (
            "a platform this version does not know",
            "AfterAllowTestTraffic",
            |f| f.deployment.as_mut().unwrap().platform = Some(ComputePlatform::parse("Quantum")),
            Expect::Refused("is a Quantum deployment"),
        ),
        (
            "no deploymentInfo",
            "AfterAllowTestTraffic",
            |f| f.deployment = None,
            Expect::Refused("no deploymentInfo"),
        ),
        (
            "no deployment targets",
            "AfterAllowTestTraffic",
            |f| f.targets.clear(),
            Expect::Refused("has no deployment targets"),
        ),
        (
            "only an instance target",
            "AfterAllowTestTraffic",
            |f| f.targets = vec![DeploymentTarget::Other("InstanceTarget".into())],
            Expect::Refused("no ECS or CloudFormation target (found: InstanceTarget)"),
        ),
        (
            "no hook in progress",
            "Install",
            |_| {},
            Expect::Refused("Install=InProgress"),
        ),
        (
            "the group has no loadBalancerInfo",
            "AfterAllowTestTraffic",
            |f| f.group = GroupLookup::Found(None),
            Expect::Refused("blue/green through a load balancer is required"),
        ),
        (
            "a pair of one target group",
            "AfterAllowTestTraffic",
            |f| {
                let mut p = pair();
                p.target_groups.pop();
                f.group = GroupLookup::Found(Some(p));
            },
            Expect::Refused("blue/green needs two"),
        ),
        (
            "no production listener",
            "AfterAllowTestTraffic",
            |f| {
                let mut p = pair();
                p.production_listeners.clear();
                f.group = GroupLookup::Found(Some(p));
            },
            Expect::Refused("no production listener"),
        ),
        (
            "no test listener for a test-traffic hook",
            "AfterAllowTestTraffic",
            |f| {
                let mut p = pair();
                p.test_listeners.clear();
                f.group = GroupLookup::Found(Some(p));
            },
            Expect::Refused("has no test listener"),
        ),
        (
            "a target group is missing",
            "AfterAllowTestTraffic",
            |f| {
                f.target_groups.pop();
            },
            Expect::Refused("target group green was not found"),
        ),
        (
            "a listener is missing",
            "AfterAllowTestTraffic",
            |f| {
                f.listeners.pop();
            },
            Expect::Refused("was not found"),
        ),
        (
            "the load balancer is missing",
            "AfterAllowTestTraffic",
            |f| f.load_balancer = None,
            Expect::Refused("load balancer arn:aws:elasticloadbalancing"),
        ),
        (
            "a network load balancer",
            "AfterAllowTestTraffic",
            |f| {
                f.load_balancer = Some(LoadBalancerFacts {
                    kind: Some(LoadBalancerKind::Network),
                    ..alb()
                })
            },
            Expect::Refused("is a network load balancer"),
        ),
        (
            "a TCP listener",
            "AfterAllowTestTraffic",
            |f| f.listeners[1].protocol = Some("TCP".into()),
            Expect::Refused("uses TCP"),
        ),
        (
            "a production listener that redirects",
            "AfterAllowTestTraffic",
            |f| {
                f.listeners[0].default_actions = vec![ListenerAction {
                    kind: "redirect".into(),
                    ..ListenerAction::default()
                }]
            },
            Expect::Refused("not a forward action (found: redirect)"),
        ),
        (
            "the green task set's target group is not in the pair",
            "AfterAllowTestTraffic",
            |f| {
                f.targets = vec![DeploymentTarget::Ecs {
                    target_id: "c:s".into(),
                    lifecycle: lifecycle("AfterAllowTestTraffic"),
                    task_sets: vec![task_set(Some("Green"), "ACTIVE", 0.0, "other")],
                }]
            },
            Expect::Refused("is not one of the pair"),
        ),
    ]
}

#[test]
fn decides_every_shape_in_the_table() {
    for (name, running, change, expect) in table() {
        let mut f = facts(running);
        change(&mut f);
        let got = decide(f, |_| true);
        match (expect, got) {
            (Expect::Plan(check), Ok(plan)) => check(&plan),
            (Expect::Refused(want), Err(DiscoveryError::Unsupported(msg))) => {
                assert!(msg.contains(want), "{name}: {msg}")
            }
            (Expect::Aws(want), Err(DiscoveryError::Aws(e))) => {
                assert!(e.to_string().contains(want), "{name}: {e}")
            }
            (_, got) => panic!("{name}: unexpected {got:?}"),
        }
    }
}

#[test]
fn a_preflight_insists_on_a_test_listener_only_when_the_group_probes() {
    let no_test = || {
        let mut f = facts("BeforeInstall");
        let mut p = pair();
        p.test_listeners.clear();
        f.group = GroupLookup::Found(Some(p));
        f
    };
    assert!(decide(no_test(), |_| false).is_ok());
    let e = decide(no_test(), |g| g == "shop-prod").unwrap_err();
    assert!(e.to_string().contains("no test listener"), "{e}");
}

#[test]
fn finds_the_running_hook() {
    assert_eq!(
        running_hook(&lifecycle("AfterAllowTestTraffic")),
        Some(Hook::AfterAllowTestTraffic)
    );
    assert_eq!(running_hook(&lifecycle("Install")), None);
    assert_eq!(
        running_hook(&[LifecycleEvent::new("AfterAllowTraffic", "Succeeded")]),
        None
    );
}

#[test]
fn reads_the_task_definition_from_appspec_in_any_partition() {
    let yaml = "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: \"arn:aws:ecs:us-east-1:123456789012:task-definition/shop:42\"\n";
    assert_eq!(task_definition_in(yaml).unwrap().0, "shop:42");
    let json = r#"{"Resources":[{"TargetService":{"Properties":{"TaskDefinition":"arn:aws:ecs:eu-west-1:1:task-definition/web:7","LoadBalancerInfo":{}}}}]}"#;
    assert_eq!(task_definition_in(json).unwrap().0, "web:7");
    let china = "TaskDefinition: arn:aws-cn:ecs:cn-north-1:1:task-definition/web:3";
    assert_eq!(
        task_definition_in(china).unwrap(),
        (
            "web:3".to_owned(),
            "arn:aws-cn:ecs:cn-north-1:1:task-definition/web:3".to_owned()
        )
    );
    assert!(task_definition_in("TaskDefinition: <TASK_DEFINITION>").is_none());
}

#[test]
fn reads_forward_actions() {
    assert_eq!(
        forwarded_target_groups(&[ListenerAction::forward("arn:tg/green")]).unwrap(),
        ["arn:tg/green"]
    );
    let weighted = ListenerAction {
        kind: "forward".into(),
        target_group_arn: None,
        weighted: vec![
            WeightedTargetGroup {
                arn: Some("arn:tg/blue".into()),
                weight: Some(0),
            },
            WeightedTargetGroup {
                arn: Some("arn:tg/green".into()),
                weight: None,
            },
        ],
    };
    assert_eq!(
        forwarded_target_groups(&[weighted]).unwrap(),
        ["arn:tg/green"]
    );
    assert_eq!(
        forwarded_target_groups(&[]).unwrap_err().to_string(),
        "its default action is not a forward action (found: none)"
    );
}
