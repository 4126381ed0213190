use super::*;
use crate::facts::{ListenerAction, WeightedTargetGroup};

const RULE: &str =
    "arn:aws:elasticloadbalancing:us-east-1:111111111111:listener-rule/app/alb/3e63/d91c/5bff";
const GREEN: &str = "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/green/d37b";
const BLUE: &str = "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/blue/17d3";

fn rule(conditions: Vec<RuleCondition>) -> RuleFacts {
    RuleFacts {
        arn: RULE.into(),
        is_default: false,
        priority: Some("1".into()),
        conditions,
        actions: vec![weighted(&[(GREEN, Some(100)), (BLUE, Some(0))])],
    }
}

fn weighted(groups: &[(&str, Option<i32>)]) -> ListenerAction {
    ListenerAction {
        kind: "forward".into(),
        target_group_arn: None,
        weighted: groups
            .iter()
            .map(|(arn, weight)| WeightedTargetGroup {
                arn: Some((*arn).to_owned()),
                weight: *weight,
            })
            .collect(),
    }
}

fn paths(p: &[&str]) -> Vec<String> {
    p.iter().map(|s| (*s).to_owned()).collect()
}

fn refused(conditions: Vec<RuleCondition>, p: &[&str], host: Option<&str>) -> String {
    let e = probe_shape(&rule(conditions), &paths(p), host).unwrap_err();
    assert!(e.0.contains(RULE), "{e}");
    e.0
}

#[test]
fn patterns_match_as_elb_matches_them() {
    assert!(pattern_matches("*.example.com", "api.EXAMPLE.com", true));
    assert!(!pattern_matches("*.example.com", "api.EXAMPLE.com", false));
    assert!(pattern_matches("/api/*", "/api/", false));
    assert!(pattern_matches("/api/*", "/api/v1/orders", false));
    assert!(!pattern_matches("/api/*", "/API/v1", false));
    assert!(pattern_matches("/v?/health", "/v2/health", false));
    assert!(!pattern_matches("/v?/health", "/v10/health", false));
    assert!(pattern_matches("*a*b", "xxaxxb", false));
    assert!(!pattern_matches("*a*b", "xxaxxbc", false));
    assert!(pattern_matches("lit\\*", "lit*", false));
    assert!(!pattern_matches("lit\\*", "literal", false));
    assert!(pattern_matches("*", "", false));
    assert_eq!(fill("*.example.com"), "codehooks.example.com");
    assert_eq!(fill("v?-\\*"), "vx-*");
}

#[test]
fn conditions_shape_the_probes() {
    let shape = probe_shape(
        &rule(vec![
            RuleCondition::HostHeader(vec!["*.shop.example.com".into()]),
            RuleCondition::PathPattern(vec!["/api/*".into(), "/health".into()]),
            RuleCondition::HttpHeader {
                name: "X-Canary".into(),
                values: vec!["tr?e".into()],
            },
            RuleCondition::QueryString(vec![
                (Some("stage".into()), "green".into()),
                (Some("other".into()), "x".into()),
            ]),
            RuleCondition::QueryString(vec![(None, "beta*".into())]),
            RuleCondition::HttpRequestMethod(vec!["GET".into(), "HEAD".into()]),
        ]),
        &paths(&["/health", "/api/orders?limit=1"]),
        None,
    )
    .unwrap();
    assert_eq!(shape.rule_arn.as_deref(), Some(RULE));
    assert_eq!(shape.host.as_deref(), Some("codehooks.shop.example.com"));
    assert_eq!(shape.headers, [("X-Canary".to_owned(), "trxe".to_owned())]);
    assert_eq!(
        shape.query,
        [
            ("stage".to_owned(), "green".to_owned()),
            (KEYLESS_QUERY_KEY.to_owned(), "betacodehooks".to_owned())
        ]
    );
}

#[test]
fn a_rule_without_conditions_needs_nothing() {
    let shape = probe_shape(&rule(vec![]), &paths(&["/"]), None).unwrap();
    assert!(shape.is_empty());
}

#[test]
fn the_configured_host_name_is_used_when_the_rule_accepts_it() {
    let c = || vec![RuleCondition::HostHeader(vec!["*.example.com".into()])];
    let shape = probe_shape(&rule(c()), &paths(&["/"]), Some("shop.example.com")).unwrap();
    assert_eq!(shape.host.as_deref(), Some("shop.example.com"));
    let m = refused(c(), &["/"], Some("shop.example.org"));
    assert!(
        m.contains("shop.example.org") && m.contains("*.example.com"),
        "{m}"
    );
}

#[test]
fn conditions_no_probe_can_meet_are_refused_clearly() {
    let m = refused(
        vec![RuleCondition::PathPattern(vec!["/api/*".into()])],
        &["/api/x", "/health", "/"],
        None,
    );
    assert!(
        m.contains("\"/health\", \"/\"") && m.contains("\"/api/*\""),
        "{m}"
    );
    assert!(!m.contains("\"/api/x\""), "{m}");

    let m = refused(
        vec![RuleCondition::HttpRequestMethod(vec!["POST".into()])],
        &["/"],
        None,
    );
    assert!(m.contains("GET"), "{m}");

    let m = refused(
        vec![RuleCondition::SourceIp(vec!["10.0.0.0/8".into()])],
        &["/"],
        None,
    );
    assert!(m.contains("source-ip") && m.contains("10.0.0.0/8"), "{m}");

    let m = refused(vec![RuleCondition::HostHeader(vec![])], &["/"], None);
    assert!(m.contains("regex"), "{m}");

    let m = refused(
        vec![RuleCondition::HostHeader(vec!["*".into()])],
        &["/"],
        None,
    );
    assert!(m.contains("hostName"), "{m}");

    let m = refused(
        vec![RuleCondition::HttpHeader {
            name: "bad header".into(),
            values: vec!["v".into()],
        }],
        &["/"],
        None,
    );
    assert!(m.contains("bad header"), "{m}");

    let m = refused(vec![RuleCondition::Other("grpc".into())], &["/"], None);
    assert!(m.contains("grpc"), "{m}");
}

#[test]
fn forward_weights_say_where_the_rule_sends_traffic() {
    let r = rule(vec![]);
    assert_eq!(
        forward_weights(&r),
        [(GREEN.to_owned(), 100), (BLUE.to_owned(), 0)]
    );
    assert_eq!(serving(&r).unwrap(), [GREEN]);
    let mut both = rule(vec![]);
    both.actions = vec![weighted(&[(GREEN, Some(90)), (BLUE, Some(10))])];
    assert_eq!(serving(&both).unwrap(), [BLUE, GREEN]);
    let mut simple = rule(vec![]);
    simple.actions = vec![ListenerAction::forward(BLUE)];
    assert_eq!(forward_weights(&simple), [(BLUE.to_owned(), 1)]);
    let mut fixed = rule(vec![]);
    fixed.actions = vec![ListenerAction {
        kind: "fixed-response".into(),
        ..ListenerAction::default()
    }];
    assert!(serving(&fixed).is_err());
}

#[test]
fn the_listener_of_a_rule_and_the_name_of_a_target_group() {
    assert_eq!(
        listener_of(RULE).as_deref(),
        Some("arn:aws:elasticloadbalancing:us-east-1:111111111111:listener/app/alb/3e63/d91c")
    );
    let nlb = "arn:aws-cn:elasticloadbalancing:cn-north-1:111111111111:listener/net/nlb/1/2";
    assert!(is_listener_arn(nlb));
    assert_eq!(listener_of(nlb).as_deref(), Some(nlb));
    assert_eq!(
        listener_of("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/x/1"),
        None
    );
    assert_eq!(listener_of("not an arn"), None);
    assert_eq!(target_group_name(GREEN).as_deref(), Some("green"));
    assert_eq!(target_group_name(RULE), None);
}
