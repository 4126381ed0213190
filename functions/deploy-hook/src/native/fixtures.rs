//! Test fixtures: an Amazon ECS blue/green service (cluster `shop`, service `web`) behind an
//! Application Load Balancer, as the twins hold it, and the payloads ECS sends for it.

use serde_json::{Value, json};

use crate::facts::{
    ListenerAction, ListenerFacts, LoadBalancerFacts, LoadBalancerKind, ResolvedLoadBalancer,
    RevisionLoadBalancer, RuleCondition, RuleFacts, ServiceDeploymentFacts, ServiceRevisionFacts,
    WeightedTargetGroup,
};
use crate::twins::MemoryLoadBalancer;
use crate::twins_ecs::MemoryServices;

pub(crate) const DEPLOYMENT: &str =
    "arn:aws:ecs:us-east-1:123456789012:service-deployment/shop/web/EZe5RNVLH6PPzHXINuP28";
pub(crate) const SERVICE: &str = "arn:aws:ecs:us-east-1:123456789012:service/shop/web";
pub(crate) const GREEN_REV: &str =
    "arn:aws:ecs:us-east-1:123456789012:service-revision/shop/web/9313423515462893900";
pub(crate) const BLUE_REV: &str =
    "arn:aws:ecs:us-east-1:123456789012:service-revision/shop/web/1920498462936580504";
/// `loadBalancers[].targetGroupArn` (a label, not a color).
pub(crate) const TG_A: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-a/1a";
/// `advancedConfiguration.alternateTargetGroupArn`.
pub(crate) const TG_B: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-b/2b";
pub(crate) const ALB: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/9";
pub(crate) const PROD_LISTENER: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/9/p";
pub(crate) const TEST_LISTENER: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/9/t";
pub(crate) const PROD_RULE: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/9/p/r1";
pub(crate) const TEST_RULE: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/9/t/r2";

/// The nested payload of `stage` with these weights.
pub(crate) fn payload(stage: &str, test: Value, prod: Value) -> Value {
    json!({
        "executionId": "0c1d7b5e-6a0e-4c43-9b34-6f0a8d1d2f11",
        "lifecycleStage": stage,
        "resourceArn": DEPLOYMENT,
        "executionDetails": {
            "serviceArn": SERVICE,
            "targetServiceRevisionArn": GREEN_REV,
            "testTrafficWeights": test,
            "productionTrafficWeights": prod
        }
    })
}

/// The payload of a stage whose weights are empty.
pub(crate) fn quiet(stage: &str) -> Value {
    payload(stage, json!({}), json!({}))
}

/// The target revision, served by `green` (one of [`TG_A`], [`TG_B`]).
pub(crate) fn revision(green: &str) -> ServiceRevisionFacts {
    ServiceRevisionFacts {
        arn: GREEN_REV.into(),
        service_arn: Some(SERVICE.into()),
        cluster_arn: Some("arn:aws:ecs:us-east-1:123456789012:cluster/shop".into()),
        task_definition: Some("arn:aws:ecs:us-east-1:123456789012:task-definition/web:42".into()),
        load_balancers: vec![RevisionLoadBalancer {
            target_group_arn: Some(TG_A.into()),
            container_name: Some("web".into()),
            container_port: Some(8080),
            alternate_target_group_arn: Some(TG_B.into()),
            production_listener_rule: Some(PROD_RULE.into()),
            test_listener_rule: Some(TEST_RULE.into()),
        }],
        resolved: Some(vec![ResolvedLoadBalancer {
            target_group_arn: Some(green.into()),
            production_listener_rule: Some(PROD_RULE.into()),
        }]),
    }
}

pub(crate) fn weighted(to: &[(&str, i32)]) -> ListenerAction {
    ListenerAction {
        kind: "forward".into(),
        target_group_arn: None,
        weighted: to
            .iter()
            .map(|(arn, w)| WeightedTargetGroup {
                arn: Some((*arn).to_owned()),
                weight: Some(*w),
            })
            .collect(),
    }
}

/// A rule forwarding `green` 100 and `blue` 0 (as ECS leaves it after a shift to green).
pub(crate) fn rule(arn: &str, to: &str, other: &str, conditions: Vec<RuleCondition>) -> RuleFacts {
    RuleFacts {
        arn: arn.into(),
        is_default: false,
        priority: Some("10".into()),
        conditions,
        actions: vec![weighted(&[(to, 100), (other, 0)])],
    }
}

pub(crate) fn alb(kind: LoadBalancerKind) -> LoadBalancerFacts {
    LoadBalancerFacts {
        arn: ALB.into(),
        name: Some("web".into()),
        kind: Some(kind),
        dns_name: "web-1.us-east-1.elb.amazonaws.com".into(),
    }
}

fn listener(arn: &str, port: i32) -> ListenerFacts {
    ListenerFacts {
        arn: arn.into(),
        protocol: Some("HTTP".into()),
        port: Some(port),
        load_balancer_arn: Some(ALB.into()),
        default_actions: vec![ListenerAction {
            kind: "fixed-response".into(),
            ..ListenerAction::default()
        }],
    }
}

/// Seeds the twins: green is `green`; the test rule serves green (conditions
/// `test_conditions`), production still serves blue; 3 tasks requested.
pub(crate) fn seed(
    services: &MemoryServices,
    lb: &MemoryLoadBalancer,
    green: &str,
    test_conditions: Vec<RuleCondition>,
) {
    let blue = if green == TG_A { TG_B } else { TG_A };
    services.set_revision(revision(green));
    services.set_deployment(ServiceDeploymentFacts {
        arn: DEPLOYMENT.into(),
        target_revision_arn: Some(GREEN_REV.into()),
        target_requested_count: Some(3),
    });
    lb.set_rule(rule(TEST_RULE, green, blue, test_conditions));
    lb.set_rule(rule(PROD_RULE, blue, green, vec![]));
    lb.add_listener(listener(PROD_LISTENER, 80));
    lb.add_listener(listener(TEST_LISTENER, 8080));
    lb.add_load_balancer(alb(LoadBalancerKind::Application));
}
