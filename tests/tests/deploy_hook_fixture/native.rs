//! The load balancer of an Amazon ECS blue/green service, created in moto through the real SDK
//! as ECS wants it: an Application Load Balancer whose production and test listeners each have
//! a listener rule forwarding with weights (`ForwardConfig`) to the service's two target groups,
//! and answering 404 by default. ECS shifts traffic by changing those weights ([`NativeStack::shift`]);
//! the test rule carries conditions, so only requests that meet them reach green.

#![allow(dead_code)]

use aws_sdk_elasticloadbalancingv2 as elbv2;
use elbv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, ForwardActionConfig,
    HostHeaderConditionConfig, HttpHeaderConditionConfig, HttpRequestMethodConditionConfig,
    PathPatternConditionConfig, ProtocolEnum, QueryStringConditionConfig, QueryStringKeyValuePair,
    RuleCondition, TargetDescription, TargetGroupTuple, TargetTypeEnum,
};

use super::routed::Conditions;

/// The two target groups of the service: ECS alternates green between them from one
/// deployment to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tg {
    /// `loadBalancers[].targetGroupArn` of the service (a label, not a color).
    Primary,
    /// `loadBalancers[].advancedConfiguration.alternateTargetGroupArn`.
    Alternate,
}

impl Tg {
    pub fn other(self) -> Tg {
        match self {
            Tg::Primary => Tg::Alternate,
            Tg::Alternate => Tg::Primary,
        }
    }
}

/// The listener rule ECS shifts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Traffic {
    Test,
    Production,
}

/// What the stack looks like.
pub struct NativeStackSpec<'a> {
    /// A short name (load balancer and target group names derive from it).
    pub name: &'a str,
    /// The production listener's port (the service playing what it serves listens there).
    pub prod_port: u16,
    /// The test listener's port.
    pub test_port: u16,
    /// The test rule's conditions.
    pub test_conditions: Conditions,
    /// Where each rule forwards (weight 100; the other target group 0).
    pub prod_to: Tg,
    pub test_to: Tg,
    /// Registered targets per target group.
    pub primary_targets: usize,
    pub alternate_targets: usize,
}

impl<'a> NativeStackSpec<'a> {
    /// Before a first deployment's test traffic shift: both rules on the primary target group
    /// (blue), green (the alternate) registered with two targets.
    pub fn new(name: &'a str, prod_port: u16, test_port: u16, test_conditions: Conditions) -> Self {
        NativeStackSpec {
            name,
            prod_port,
            test_port,
            test_conditions,
            prod_to: Tg::Primary,
            test_to: Tg::Primary,
            primary_targets: 2,
            alternate_targets: 2,
        }
    }
}

/// The load balancer, its two target groups, listeners and listener rules, in moto.
#[derive(Clone, Debug)]
pub struct NativeStack {
    pub name: String,
    pub lb_arn: String,
    pub dns_name: String,
    pub primary_tg: String,
    pub alternate_tg: String,
    pub primary_tg_arn: String,
    pub alternate_tg_arn: String,
    pub prod_listener: String,
    pub test_listener: String,
    pub prod_rule: String,
    pub test_rule: String,
    pub prod_port: u16,
    pub test_port: u16,
}

/// The conditions of a rule, as ELB takes them.
pub fn rule_conditions(c: &Conditions) -> Vec<RuleCondition> {
    let mut out = Vec::new();
    if let Some(h) = &c.host {
        out.push(
            RuleCondition::builder()
                .field("host-header")
                .host_header_config(HostHeaderConditionConfig::builder().values(h).build())
                .build(),
        );
    }
    for (name, value) in &c.headers {
        out.push(
            RuleCondition::builder()
                .field("http-header")
                .http_header_config(
                    HttpHeaderConditionConfig::builder()
                        .http_header_name(name)
                        .values(value)
                        .build(),
                )
                .build(),
        );
    }
    if !c.query.is_empty() {
        let mut q = QueryStringConditionConfig::builder();
        for (k, v) in &c.query {
            q = q.values(QueryStringKeyValuePair::builder().key(k).value(v).build());
        }
        out.push(
            RuleCondition::builder()
                .field("query-string")
                .query_string_config(q.build())
                .build(),
        );
    }
    if let Some(m) = &c.method {
        out.push(
            RuleCondition::builder()
                .field("http-request-method")
                .http_request_method_config(
                    HttpRequestMethodConditionConfig::builder()
                        .values(m)
                        .build(),
                )
                .build(),
        );
    }
    if !c.paths.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(
                    PathPatternConditionConfig::builder()
                        .set_values(Some(c.paths.clone()))
                        .build(),
                )
                .build(),
        );
    }
    if out.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(PathPatternConditionConfig::builder().values("/*").build())
                .build(),
        );
    }
    out
}

/// A forward action with weights: `to` 100, the other 0 (both listed, as ECS leaves them).
fn weighted(to: &str, other: &str) -> Action {
    let tuple = |arn: &str, weight| {
        TargetGroupTuple::builder()
            .target_group_arn(arn)
            .weight(weight)
            .build()
    };
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .forward_config(
            ForwardActionConfig::builder()
                .target_groups(tuple(to, 100))
                .target_groups(tuple(other, 0))
                .build(),
        )
        .build()
}

impl NativeStack {
    pub async fn create(
        elb: &elbv2::Client,
        subnets: &[String],
        spec: NativeStackSpec<'_>,
    ) -> NativeStack {
        let lb = elb
            .create_load_balancer()
            .name(format!("{}-alb", spec.name))
            .set_subnets(Some(subnets.to_vec()))
            .r#type(elbv2::types::LoadBalancerTypeEnum::Application)
            .send()
            .await
            .expect("CreateLoadBalancer");
        let lb = &lb.load_balancers()[0];
        let lb_arn = lb.load_balancer_arn().expect("lb arn").to_owned();
        let mut arns = Vec::new();
        for (i, (suffix, count)) in [("a", spec.primary_targets), ("b", spec.alternate_targets)]
            .into_iter()
            .enumerate()
        {
            let tg = elb
                .create_target_group()
                .name(format!("{}-{suffix}", spec.name))
                .protocol(ProtocolEnum::Http)
                .port(8080)
                .vpc_id(lb.vpc_id().unwrap_or_default())
                .target_type(TargetTypeEnum::Ip)
                .health_check_path("/health")
                .send()
                .await
                .expect("CreateTargetGroup");
            let arn = tg.target_groups()[0]
                .target_group_arn()
                .expect("tg arn")
                .to_owned();
            if count > 0 {
                let mut req = elb.register_targets().target_group_arn(&arn);
                for t in 0..count {
                    req = req.targets(
                        TargetDescription::builder()
                            .id(format!("10.0.{}.{}", 10 + i, 10 + t))
                            .port(8080)
                            .build(),
                    );
                }
                req.send().await.expect("RegisterTargets");
            }
            arns.push(arn);
        }
        let not_found = Action::builder()
            .r#type(ActionTypeEnum::FixedResponse)
            .fixed_response_config(
                FixedResponseActionConfig::builder()
                    .status_code("404")
                    .content_type("text/plain")
                    .message_body("no listener rule matched")
                    .build(),
            )
            .build();
        let mut stack = NativeStack {
            name: spec.name.to_owned(),
            lb_arn: lb_arn.clone(),
            dns_name: lb.dns_name().unwrap_or_default().to_owned(),
            primary_tg: format!("{}-a", spec.name),
            alternate_tg: format!("{}-b", spec.name),
            primary_tg_arn: arns[0].clone(),
            alternate_tg_arn: arns[1].clone(),
            prod_listener: String::new(),
            test_listener: String::new(),
            prod_rule: String::new(),
            test_rule: String::new(),
            prod_port: spec.prod_port,
            test_port: spec.test_port,
        };
        for (port, to, conditions) in [
            (spec.prod_port, spec.prod_to, Conditions::default()),
            (spec.test_port, spec.test_to, spec.test_conditions.clone()),
        ] {
            let listener = elb
                .create_listener()
                .load_balancer_arn(&lb_arn)
                .protocol(ProtocolEnum::Http)
                .port(i32::from(port))
                .default_actions(not_found.clone())
                .send()
                .await
                .expect("CreateListener");
            let listener = listener.listeners()[0]
                .listener_arn()
                .expect("listener arn")
                .to_owned();
            let rule = elb
                .create_rule()
                .listener_arn(&listener)
                .priority(10)
                .set_conditions(Some(rule_conditions(&conditions)))
                .actions(weighted(stack.tg_arn(to), stack.tg_arn(to.other())))
                .send()
                .await
                .expect("CreateRule");
            let rule = rule.rules()[0].rule_arn().expect("rule arn").to_owned();
            if port == spec.prod_port && stack.prod_rule.is_empty() {
                (stack.prod_listener, stack.prod_rule) = (listener, rule);
            } else {
                (stack.test_listener, stack.test_rule) = (listener, rule);
            }
        }
        stack
    }

    pub fn tg_arn(&self, tg: Tg) -> &str {
        match tg {
            Tg::Primary => &self.primary_tg_arn,
            Tg::Alternate => &self.alternate_tg_arn,
        }
    }

    pub fn tg_name(&self, tg: Tg) -> &str {
        match tg {
            Tg::Primary => &self.primary_tg,
            Tg::Alternate => &self.alternate_tg,
        }
    }

    pub fn rule(&self, traffic: Traffic) -> &str {
        match traffic {
            Traffic::Test => &self.test_rule,
            Traffic::Production => &self.prod_rule,
        }
    }

    /// What ECS does at a traffic shift: the rule forwards `to` at 100 and the other at 0.
    pub async fn shift(&self, elb: &elbv2::Client, traffic: Traffic, to: Tg) {
        elb.modify_rule()
            .rule_arn(self.rule(traffic))
            .actions(weighted(self.tg_arn(to), self.tg_arn(to.other())))
            .send()
            .await
            .expect("ModifyRule");
    }
}
