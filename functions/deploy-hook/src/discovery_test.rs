//! Unit tests of `discovery.rs`: what `fetch` calls through the twins, and when it stops.

use super::*;

/// The ECS plan of a discovery, or a failed test.
fn ecs(d: Result<Discovered, DiscoveryError>) -> Plan {
    match d {
        Ok(Discovered::Ecs(p)) => *p,
        other => panic!("expected an ECS plan, got {other:?}"),
    }
}
use crate::facts::ComputePlatform;
use crate::fixtures::*;
use crate::plan::TargetType;
use crate::twins::{MemoryDeployments, MemoryLoadBalancer};

fn world(running: &str) -> (MemoryDeployments, MemoryLoadBalancer) {
    let (d, l) = (MemoryDeployments::new(), MemoryLoadBalancer::new());
    seed(&d, &l, "d-1", running, 2);
    (d, l)
}

fn ops(calls: Vec<String>) -> Vec<String> {
    calls
        .into_iter()
        .map(|c| c.split(' ').next().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn finds_the_plan_with_one_call_each() {
    let (d, l) = world("AfterAllowTestTraffic");
    let plan = ecs(discover(&d, &l, "d-1", |_| true).await);
    assert_eq!(plan.green.unwrap().arn, GREEN);
    assert_eq!(plan.target_type, TargetType::Ecs);
    assert_eq!(
        ops(d.calls()),
        [
            "GetDeployment",
            "ListDeploymentTargets",
            "GetDeploymentGroup"
        ]
    );
    assert_eq!(
        ops(l.calls()),
        [
            "DescribeTargetGroups",
            "DescribeListeners",
            "DescribeLoadBalancers"
        ]
    );
    assert!(l.calls()[2].ends_with(LB));
}

#[tokio::test]
async fn a_hook_without_probes_reads_no_load_balancer() {
    let (d, l) = world("AfterInstall");
    let plan = ecs(discover(&d, &l, "d-1", |_| true).await);
    assert!(plan.listener.is_none());
    assert!(!ops(l.calls()).contains(&"DescribeLoadBalancers".to_owned()));
}

#[tokio::test]
async fn stops_reading_once_the_facts_rule_a_plan_out() {
    // Another platform: nothing after GetDeployment.
    let (d, l) = (MemoryDeployments::new(), MemoryLoadBalancer::new());
    let mut f = facts("AfterAllowTestTraffic").deployment.unwrap();
    f.platform = Some(ComputePlatform::Server);
    d.add("d-2", f, vec![]);
    let e = discover(&d, &l, "d-2", |_| true).await.unwrap_err();
    assert!(e.to_string().contains("Server"), "{e}");
    assert_eq!(ops(d.calls()), ["GetDeployment"]);
    assert!(l.calls().is_empty());

    // A Lambda deployment: its targets, then no deployment group and no load balancer.
    let (d, l) = (MemoryDeployments::new(), MemoryLoadBalancer::new());
    let mut f = facts("AfterAllowTestTraffic").deployment.unwrap();
    f.platform = Some(ComputePlatform::Lambda);
    d.add("d-3", f, vec![]);
    let _ = discover(&d, &l, "d-3", |_| true).await;
    assert_eq!(ops(d.calls()), ["GetDeployment", "ListDeploymentTargets"]);
    assert!(l.calls().is_empty());

    // No hook in progress: no deployment group, no load balancer.
    let (d, l) = world("Install");
    assert!(matches!(
        discover(&d, &l, "d-1", |_| true).await,
        Err(DiscoveryError::Unsupported(_))
    ));
    assert_eq!(ops(d.calls()), ["GetDeployment", "ListDeploymentTargets"]);
    assert!(l.calls().is_empty());
}

#[tokio::test]
async fn aws_errors_end_discovery_as_aws_errors() {
    let (d, l) = world("AfterAllowTestTraffic");
    d.fail("ListDeploymentTargets", 1, true);
    let e = discover(&d, &l, "d-1", |_| true).await.unwrap_err();
    assert!(
        matches!(&e, DiscoveryError::Aws(err) if err.to_string().contains("ListDeploymentTargets")),
        "{e}"
    );

    // An ECS deployment whose group cannot be read: the error, and no load balancer call.
    let (d, l) = world("AfterAllowTestTraffic");
    d.fail("GetDeploymentGroup", 1, false);
    let e = discover(&d, &l, "d-1", |_| true).await.unwrap_err();
    assert!(matches!(e, DiscoveryError::Aws(_)), "{e}");
    assert!(l.calls().is_empty());

    let (d, l) = world("AfterAllowTestTraffic");
    l.fail("DescribeListeners", 1, false);
    let e = discover(&d, &l, "d-1", |_| true).await.unwrap_err();
    assert!(e.to_string().contains("DescribeListeners"), "{e}");
}

#[tokio::test]
async fn a_cloudformation_deployment_falls_back_to_its_own_pair() {
    let (d, l) = (MemoryDeployments::new(), MemoryLoadBalancer::new());
    seed(&d, &l, "d-1", "AfterAllowTestTraffic", 2);
    let mut f = facts("AfterAllowTestTraffic").deployment.unwrap();
    f.deployment_group = "not-a-group".into();
    f.traffic_pair = Some(pair());
    d.add(
        "d-3",
        f,
        vec![crate::facts::DeploymentTarget::CloudFormation {
            target_id: "stack".into(),
            lifecycle: lifecycle("AfterAllowTestTraffic"),
        }],
    );
    let plan = ecs(discover(&d, &l, "d-3", |_| true).await);
    assert_eq!(plan.target_type, TargetType::CloudFormation);
    assert_eq!(plan.green.unwrap().name, "green");
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("GetDeploymentGroup failed"))
    );
}
