//! Unit tests of the native discovery, over the twins.

use serde_json::json;

use super::*;
use crate::native::fixtures::*;
use crate::twins::MemoryLoadBalancer;
use crate::twins_ecs::MemoryServices;

fn checks(stage: Hook) -> Checks {
    Checks::defaults(stage)
}

fn event(stage: &str) -> NativeEvent {
    NativeEvent::parse(&quiet(stage)).unwrap()
}

fn twins(
    green: &str,
    conditions: Vec<crate::facts::RuleCondition>,
) -> (MemoryServices, MemoryLoadBalancer) {
    let (s, l) = (MemoryServices::new(), MemoryLoadBalancer::new());
    seed(&s, &l, green, conditions);
    (s, l)
}

async fn plan(
    s: &MemoryServices,
    l: &MemoryLoadBalancer,
    stage: &str,
    c: &Checks,
) -> Result<Plan, DiscoveryError> {
    discover(s, l, &event(stage), c).await
}

fn unsupported(r: Result<Plan, DiscoveryError>) -> String {
    match r {
        Err(DiscoveryError::Unsupported(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn green_is_the_resolved_target_group_even_when_it_is_the_alternate_one() {
    for (green, blue) in [(TG_B, TG_A), (TG_A, TG_B)] {
        let (s, l) = twins(green, vec![]);
        let c = checks(Hook::PostTestTrafficShift);
        let p = plan(&s, &l, "POST_TEST_TRAFFIC_SHIFT", &c).await.unwrap();
        assert_eq!(p.green.as_ref().unwrap().arn, green);
        assert_eq!(p.blue.as_ref().unwrap().arn, blue);
        assert_eq!(p.platform, Platform::EcsNative);
        assert_eq!(p.target_type, TargetType::EcsService);
        assert_eq!(p.service.as_deref(), Some("shop/web"));
        assert_eq!(p.task_definition.as_deref(), Some("web:42"));
        assert_eq!(p.target_revision.as_deref(), Some(GREEN_REV));
        assert_eq!(p.desired_count, Some(3));
        let listener = p.listener.unwrap();
        assert_eq!(listener.arn, TEST_LISTENER);
        assert_eq!(listener.role, ListenerRole::Test);
        assert_eq!(listener.port, 8080);
        assert_eq!(listener.forwards_to, [green]);
        assert_eq!(p.shape.rule_arn.as_deref(), Some(TEST_RULE));
        assert!(
            p.notes
                .iter()
                .any(|n| n.contains("web-") && n.contains(" 100")),
            "{:?}",
            p.notes
        );
    }
}

#[tokio::test]
async fn the_test_rule_conditions_shape_the_probes() {
    let (s, l) = twins(
        TG_B,
        vec![
            crate::facts::RuleCondition::HostHeader(vec!["canary.example.com".into()]),
            crate::facts::RuleCondition::HttpHeader {
                name: "X-Stage".into(),
                values: vec!["green".into()],
            },
        ],
    );
    let p = plan(
        &s,
        &l,
        "POST_TEST_TRAFFIC_SHIFT",
        &checks(Hook::PostTestTrafficShift),
    )
    .await
    .unwrap();
    assert_eq!(p.shape.host.as_deref(), Some("canary.example.com"));
    assert_eq!(
        p.shape.headers,
        [("X-Stage".to_owned(), "green".to_owned())]
    );
}

#[tokio::test]
async fn production_probes_go_through_the_production_rule() {
    let (s, l) = twins(TG_B, vec![]);
    let p = plan(
        &s,
        &l,
        "POST_PRODUCTION_TRAFFIC_SHIFT",
        &checks(Hook::PostProductionTrafficShift),
    )
    .await
    .unwrap();
    let listener = p.listener.unwrap();
    assert_eq!(listener.arn, PROD_LISTENER);
    // Production still serves blue here: the listener check refuses it later.
    assert_eq!(listener.forwards_to, [TG_A]);
    assert!(
        crate::plan::verify_listener(&Plan {
            listener: Some(listener),
            ..p
        })
        .is_err()
    );
}

#[tokio::test]
async fn post_scale_up_needs_green_and_its_desired_count_only() {
    let (s, l) = twins(TG_B, vec![]);
    let p = plan(&s, &l, "POST_SCALE_UP", &checks(Hook::PostScaleUp))
        .await
        .unwrap();
    assert_eq!(p.green.unwrap().arn, TG_B);
    assert_eq!(p.desired_count, Some(3));
    assert!(p.listener.is_none());
    assert!(l.calls().is_empty(), "{:?}", l.calls());
    assert_eq!(
        s.calls(),
        [
            format!("DescribeServiceRevisions {GREEN_REV}"),
            format!("DescribeServiceDeployments {DEPLOYMENT}")
        ]
    );
}

#[tokio::test]
async fn an_unreadable_desired_count_falls_back_to_one_with_a_note() {
    let (s, l) = twins(TG_B, vec![]);
    s.fail("DescribeServiceDeployments", 1, false);
    let p = plan(&s, &l, "POST_SCALE_UP", &checks(Hook::PostScaleUp))
        .await
        .unwrap();
    assert_eq!(p.desired_count, Some(1));
    assert!(
        p.notes
            .iter()
            .any(|n| n.contains("desired count is unknown"))
    );
}

#[tokio::test]
async fn pre_scale_up_is_a_preflight_and_tolerates_an_unresolved_revision() {
    let (s, l) = twins(TG_B, vec![]);
    let mut r = revision(TG_B);
    r.resolved = None;
    s.set_revision(r);
    let p = plan(&s, &l, "PRE_SCALE_UP", &checks(Hook::PreScaleUp))
        .await
        .unwrap();
    assert!(p.green.is_none());
    assert!(p.notes.iter().any(|n| n.contains("resolvedConfiguration")));
    // Elsewhere, without it green cannot be told.
    let m = unsupported(plan(&s, &l, "POST_SCALE_UP", &checks(Hook::PostScaleUp)).await);
    assert!(m.contains("resolvedConfiguration"), "{m}");
}

#[tokio::test]
async fn refusals_say_what_is_missing() {
    let (s, l) = twins(TG_B, vec![]);
    let c = checks(Hook::PostTestTrafficShift);
    let other = NativeEvent::parse(&json!({
        "executionId": "e", "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT", "resourceArn": DEPLOYMENT,
        "executionDetails": {"serviceArn": SERVICE, "targetServiceRevisionArn": BLUE_REV}
    }))
    .unwrap();
    let m = unsupported(discover(&s, &l, &other, &c).await);
    assert!(m.contains("does not know the target revision"), "{m}");

    let mut r = revision(TG_B);
    r.load_balancers[0].test_listener_rule = None;
    s.set_revision(r);
    let m = unsupported(plan(&s, &l, "POST_TEST_TRAFFIC_SHIFT", &c).await);
    assert!(
        m.contains("testListenerRule") && m.contains("probes"),
        "{m}"
    );

    let (s, l) = twins(
        TG_B,
        vec![crate::facts::RuleCondition::SourceIp(vec![
            "10.0.0.0/8".into(),
        ])],
    );
    let m = unsupported(plan(&s, &l, "POST_TEST_TRAFFIC_SHIFT", &c).await);
    assert!(m.contains("source-ip") && m.contains(TEST_RULE), "{m}");

    let mut r = revision("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/3");
    r.arn = GREEN_REV.into();
    s.set_revision(r);
    let m = unsupported(plan(&s, &l, "POST_SCALE_UP", &checks(Hook::PostScaleUp)).await);
    assert!(m.contains("targetgroup/x/3"), "{m}");
}

#[tokio::test]
async fn a_network_load_balancer_cannot_take_http_probes() {
    let (s, l) = (MemoryServices::new(), MemoryLoadBalancer::new());
    let nlb_listener = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/net/web/9/t";
    let mut r = revision(TG_B);
    r.load_balancers[0].test_listener_rule = Some(nlb_listener.into());
    s.set_revision(r);
    l.add_listener(crate::facts::ListenerFacts {
        arn: nlb_listener.into(),
        protocol: Some("TCP".into()),
        port: Some(8080),
        load_balancer_arn: Some(ALB.into()),
        default_actions: vec![weighted(&[(TG_B, 100), (TG_A, 0)])],
    });
    l.add_load_balancer(alb(LoadBalancerKind::Network));
    let m = unsupported(
        plan(
            &s,
            &l,
            "POST_TEST_TRAFFIC_SHIFT",
            &checks(Hook::PostTestTrafficShift),
        )
        .await,
    );
    assert!(
        m.contains("network") && m.contains("Application Load Balancer"),
        "{m}"
    );
    assert!(
        !l.calls().iter().any(|c| c.starts_with("DescribeRules")),
        "an NLB's rule is its listener: {:?}",
        l.calls()
    );
}

#[tokio::test]
async fn aws_errors_are_errors_not_refusals() {
    let (s, l) = twins(TG_B, vec![]);
    s.fail("DescribeServiceRevisions", 1, true);
    let r = plan(&s, &l, "POST_SCALE_UP", &checks(Hook::PostScaleUp)).await;
    assert!(matches!(r, Err(DiscoveryError::Aws(_))), "{r:?}");
}
