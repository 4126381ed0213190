//! Test fixtures: the facts of a supported ECS blue/green deployment, and the twins seeded
//! with them.

use crate::decide::{Facts, GroupLookup};
use crate::facts::{
    ComputePlatform, DeploymentFacts, DeploymentTarget, LifecycleEvent, ListenerAction,
    ListenerFacts, LoadBalancerFacts, LoadBalancerKind, TargetGroup, TargetHealthFact, TaskSet,
    TrafficPair,
};
use crate::twins::{MemoryDeployments, MemoryLoadBalancer};

pub(crate) const BLUE: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/1";
pub(crate) const GREEN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/2";
pub(crate) const PROD: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/lb/1/prod";
pub(crate) const TEST: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/lb/1/test";
pub(crate) const LB: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/lb/1";

pub(crate) fn pair() -> TrafficPair {
    TrafficPair {
        target_groups: vec!["blue".into(), "green".into()],
        production_listeners: vec![PROD.into()],
        test_listeners: vec![TEST.into()],
    }
}

/// The lifecycle events of an ECS deployment with `running` in progress.
pub(crate) fn lifecycle(running: &str) -> Vec<LifecycleEvent> {
    let order = [
        "BeforeInstall",
        "Install",
        "AfterInstall",
        "AllowTestTraffic",
        "AfterAllowTestTraffic",
        "BeforeAllowTraffic",
        "AllowTraffic",
        "AfterAllowTraffic",
    ];
    let at = order.iter().position(|n| *n == running).unwrap_or(0);
    order
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let status = match i.cmp(&at) {
                std::cmp::Ordering::Less => "Succeeded",
                std::cmp::Ordering::Equal => "InProgress",
                std::cmp::Ordering::Greater => "Pending",
            };
            LifecycleEvent::new(n, status)
        })
        .collect()
}

pub(crate) fn task_set(label: Option<&str>, status: &str, weight: f64, tg: &str) -> TaskSet {
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

pub(crate) fn ecs(running: &str) -> DeploymentTarget {
    DeploymentTarget::Ecs {
        target_id: "cluster:service".into(),
        lifecycle: lifecycle(running),
        task_sets: vec![
            task_set(Some("Blue"), "PRIMARY", 100.0, "blue"),
            task_set(Some("Green"), "ACTIVE", 0.0, "green"),
        ],
    }
}

pub(crate) fn listener(arn: &str, port: i32, to: &str) -> ListenerFacts {
    ListenerFacts {
        arn: arn.into(),
        protocol: Some("HTTP".into()),
        port: Some(port),
        load_balancer_arn: Some(LB.into()),
        default_actions: vec![ListenerAction::forward(to)],
    }
}

pub(crate) fn alb() -> LoadBalancerFacts {
    LoadBalancerFacts {
        arn: LB.into(),
        name: Some("lb".into()),
        kind: Some(LoadBalancerKind::Application),
        dns_name: "lb-1.us-east-1.elb.amazonaws.com".into(),
    }
}

/// A supported ECS deployment with `running` in progress; production serves blue.
pub(crate) fn facts(running: &str) -> Facts {
    Facts {
        deployment_id: "d-DECIDE001".into(),
        deployment: Some(DeploymentFacts {
            platform: Some(ComputePlatform::Ecs),
            application: "shop".into(),
            deployment_group: "shop-prod".into(),
            appspec: Some(
                "TaskDefinition: \"arn:aws:ecs:us-east-1:123456789012:task-definition/shop:42\""
                    .into(),
            ),
            traffic_pair: None,
        }),
        targets: vec![ecs(running)],
        group: GroupLookup::Found(Some(pair())),
        target_groups: vec![
            TargetGroup {
                name: "blue".into(),
                arn: BLUE.into(),
            },
            TargetGroup {
                name: "green".into(),
                arn: GREEN.into(),
            },
        ],
        listeners: vec![listener(PROD, 443, BLUE), listener(TEST, 8443, GREEN)],
        load_balancer: Some(alb()),
    }
}

/// Seeds the twins with `facts(running)` under `id` (the group's pair, the load balancer's
/// target groups, listeners and load balancer), and `healthy` healthy green targets.
pub(crate) fn seed(
    deployments: &MemoryDeployments,
    load_balancer: &MemoryLoadBalancer,
    id: &str,
    running: &str,
    healthy: usize,
) {
    let f = facts(running);
    let d = f.deployment.clone().unwrap_or_default();
    deployments.add(id, d.clone(), f.targets.clone());
    if let GroupLookup::Found(pair) = &f.group {
        deployments.add_group(&d.application, &d.deployment_group, pair.clone());
    }
    for t in &f.target_groups {
        load_balancer.add_target_group(&t.name, &t.arn);
    }
    for l in f.listeners {
        load_balancer.add_listener(l);
    }
    load_balancer.add_load_balancer(alb());
    if healthy > 0 {
        load_balancer.push_health(GREEN, targets(healthy, "healthy", None));
    }
}

/// `n` targets in `state`, with `reason`.
pub(crate) fn targets(n: usize, state: &str, reason: Option<&str>) -> Vec<TargetHealthFact> {
    (0..n)
        .map(|i| TargetHealthFact {
            id: format!("10.0.1.{i}"),
            port: Some(8080),
            state: Some(state.into()),
            reason: reason.map(str::to_owned),
            description: reason.map(|_| "Health checks failed with these codes: [500]".into()),
        })
        .collect()
}
