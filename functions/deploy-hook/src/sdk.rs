//! The SDK adapters of the two ports: the only code that touches the CodeDeploy and ELBv2
//! clients. Each converts the SDK's answer into plain facts at once.

use aws_sdk_codedeploy::types as cd;
use aws_sdk_elasticloadbalancingv2::types as elb;
use codehooks::{Error, Result};

use crate::facts::{
    ComputePlatform, Decision, DeploymentFacts, DeploymentTarget, LambdaFunctionInfo,
    LifecycleEvent, ListenerAction, ListenerFacts, LoadBalancerFacts, LoadBalancerKind, Reported,
    RuleCondition, RuleFacts, TargetGroup, TargetHealthFact, TaskSet, TrafficPair,
    WeightedTargetGroup,
};
use crate::ports::{Deployments, LoadBalancer};

/// Most deployment targets read (a blue/green ECS deployment has one).
const MAX_TARGETS: usize = 1000;
/// The most ListDeploymentTargets pages read for one deployment.
const MAX_TARGET_PAGES: usize = 100;
/// `BatchGetDeploymentTargets` takes at most 25 ids.
const BATCH: usize = 25;

/// [`Deployments`] over the CodeDeploy client.
#[derive(Debug, Clone)]
pub struct SdkDeployments {
    pub client: aws_sdk_codedeploy::Client,
}

impl SdkDeployments {
    pub fn new(sdk: &aws_config::SdkConfig) -> SdkDeployments {
        SdkDeployments {
            client: aws_sdk_codedeploy::Client::new(sdk),
        }
    }
}

/// The deployment's or the deployment group's target group pair.
pub fn traffic_pair(info: Option<&cd::LoadBalancerInfo>) -> Option<TrafficPair> {
    let pair = info?.target_group_pair_info_list().first()?;
    Some(TrafficPair {
        target_groups: pair
            .target_groups()
            .iter()
            .filter_map(|t| t.name().map(str::to_owned))
            .collect(),
        production_listeners: pair
            .prod_traffic_route()
            .map(|r| r.listener_arns().to_vec())
            .unwrap_or_default(),
        test_listeners: pair
            .test_traffic_route()
            .map(|r| r.listener_arns().to_vec())
            .unwrap_or_default(),
    })
}

/// A task set; the API spells its id `identifer`.
pub fn task_set(t: &cd::EcsTaskSet) -> TaskSet {
    TaskSet {
        id: t.identifer().unwrap_or_default().to_owned(),
        desired_count: t.desired_count,
        running_count: t.running_count,
        status: t.status().unwrap_or_default().to_owned(),
        traffic_weight: t.traffic_weight,
        target_group: t.target_group().and_then(|g| g.name()).map(str::to_owned),
        label: t.task_set_label().map(|l| l.as_str().to_owned()),
    }
}

fn lifecycle(events: &[cd::LifecycleEvent]) -> Vec<LifecycleEvent> {
    events
        .iter()
        .map(|e| LifecycleEvent {
            name: e.lifecycle_event_name().unwrap_or_default().to_owned(),
            status: e
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            started_ms: e.start_time().and_then(|t| t.to_millis().ok()),
            ended_ms: e.end_time().and_then(|t| t.to_millis().ok()),
        })
        .collect()
}

/// A deployment target by shape.
pub fn deployment_target(t: &cd::DeploymentTarget) -> DeploymentTarget {
    if let Some(e) = t.ecs_target() {
        DeploymentTarget::Ecs {
            target_id: e.target_id().unwrap_or_default().to_owned(),
            lifecycle: lifecycle(e.lifecycle_events()),
            task_sets: e.task_sets_info().iter().map(task_set).collect(),
        }
    } else if let Some(l) = t.lambda_target() {
        let info = l.lambda_function_info();
        let text =
            |f: fn(&cd::LambdaFunctionInfo) -> Option<&str>| info.and_then(f).map(str::to_owned);
        DeploymentTarget::Lambda {
            target_id: l.target_id().unwrap_or_default().to_owned(),
            lifecycle: lifecycle(l.lifecycle_events()),
            function: LambdaFunctionInfo {
                function_name: text(cd::LambdaFunctionInfo::function_name).unwrap_or_default(),
                alias: text(cd::LambdaFunctionInfo::function_alias),
                current_version: text(cd::LambdaFunctionInfo::current_version),
                target_version: text(cd::LambdaFunctionInfo::target_version),
                target_version_weight: info.map(|i| i.target_version_weight()),
            },
        }
    } else if let Some(c) = t.cloud_formation_target() {
        DeploymentTarget::CloudFormation {
            target_id: c.target_id().unwrap_or_default().to_owned(),
            lifecycle: lifecycle(c.lifecycle_events()),
        }
    } else {
        DeploymentTarget::Other(
            t.deployment_target_type()
                .map(|k| k.as_str().to_owned())
                .unwrap_or_default(),
        )
    }
}

/// The facts of `GetDeployment`'s `deploymentInfo`.
pub fn deployment_facts(info: &cd::DeploymentInfo) -> DeploymentFacts {
    DeploymentFacts {
        platform: info
            .compute_platform()
            .map(|p| ComputePlatform::parse(p.as_str())),
        application: info.application_name().unwrap_or_default().to_owned(),
        deployment_group: info.deployment_group_name().unwrap_or_default().to_owned(),
        appspec: info
            .revision()
            .and_then(|r| r.app_spec_content())
            .and_then(|c| c.content())
            .map(str::to_owned),
        traffic_pair: traffic_pair(info.load_balancer_info()),
    }
}

impl Deployments for SdkDeployments {
    async fn deployment(&self, deployment_id: &str) -> Result<Option<DeploymentFacts>> {
        let out = self
            .client
            .get_deployment()
            .deployment_id(deployment_id)
            .send()
            .await
            .map_err(|e| Error::aws("GetDeployment", e))?;
        Ok(out.deployment_info().map(deployment_facts))
    }

    async fn targets(&self, deployment_id: &str) -> Result<Vec<DeploymentTarget>> {
        let mut ids = Vec::new();
        let mut next: Option<String> = None;
        // Bounded: a service answering empty pages with a next token cannot keep the hook
        // listing until its deadline.
        for _ in 0..MAX_TARGET_PAGES {
            let page = self
                .client
                .list_deployment_targets()
                .deployment_id(deployment_id)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| Error::aws("ListDeploymentTargets", e))?;
            ids.extend(page.target_ids().iter().cloned());
            match page.next_token() {
                Some(t) if !t.is_empty() && ids.len() < MAX_TARGETS => next = Some(t.to_owned()),
                _ => break,
            }
        }
        let mut targets = Vec::new();
        for chunk in ids.chunks(BATCH) {
            let out = self
                .client
                .batch_get_deployment_targets()
                .deployment_id(deployment_id)
                .set_target_ids(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| Error::aws("BatchGetDeploymentTargets", e))?;
            targets.extend(out.deployment_targets().iter().map(deployment_target));
        }
        Ok(targets)
    }

    async fn group_traffic_pair(
        &self,
        application: &str,
        deployment_group: &str,
    ) -> Result<Option<TrafficPair>> {
        let out = self
            .client
            .get_deployment_group()
            .application_name(application)
            .deployment_group_name(deployment_group)
            .send()
            .await
            .map_err(|e| Error::aws("GetDeploymentGroup", e))?;
        Ok(traffic_pair(
            out.deployment_group_info()
                .and_then(|g| g.load_balancer_info()),
        ))
    }

    async fn report(
        &self,
        deployment_id: &str,
        hook_execution_id: &str,
        status: Decision,
    ) -> Result<Reported> {
        let status = match status {
            Decision::Succeeded => cd::LifecycleEventStatus::Succeeded,
            Decision::Failed => cd::LifecycleEventStatus::Failed,
        };
        match self
            .client
            .put_lifecycle_event_hook_execution_status()
            .deployment_id(deployment_id)
            .lifecycle_event_hook_execution_id(hook_execution_id)
            .status(status)
            .send()
            .await
        {
            Ok(_) => Ok(Reported::Reported),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_lifecycle_event_already_completed_exception()) =>
            {
                Ok(Reported::AlreadyCompleted)
            }
            Err(e) => Err(Error::aws("PutLifecycleEventHookExecutionStatus", e)),
        }
    }
}

/// [`LoadBalancer`] over the ELBv2 client.
#[derive(Debug, Clone)]
pub struct SdkLoadBalancer {
    pub client: aws_sdk_elasticloadbalancingv2::Client,
}

impl SdkLoadBalancer {
    pub fn new(sdk: &aws_config::SdkConfig) -> SdkLoadBalancer {
        SdkLoadBalancer {
            client: aws_sdk_elasticloadbalancingv2::Client::new(sdk),
        }
    }
}

/// A listener's default action.
pub fn listener_action(a: &elb::Action) -> ListenerAction {
    ListenerAction {
        kind: a
            .r#type()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        target_group_arn: a.target_group_arn().map(str::to_owned),
        weighted: a
            .forward_config()
            .map(|f| f.target_groups())
            .unwrap_or_default()
            .iter()
            .map(|g| WeightedTargetGroup {
                arn: g.target_group_arn().map(str::to_owned),
                weight: g.weight(),
            })
            .collect(),
    }
}

/// A listener.
pub fn listener_facts(l: &elb::Listener) -> ListenerFacts {
    ListenerFacts {
        arn: l.listener_arn().unwrap_or_default().to_owned(),
        protocol: l.protocol().map(|p| p.as_str().to_owned()),
        port: l.port(),
        load_balancer_arn: l.load_balancer_arn().map(str::to_owned),
        default_actions: l.default_actions().iter().map(listener_action).collect(),
    }
}

/// A listener rule's condition, from its typed configuration (else its `Values`).
pub fn rule_condition(c: &elb::RuleCondition) -> RuleCondition {
    let field = c.field().unwrap_or_default();
    let or_values = |typed: Option<&[String]>| match typed {
        Some(v) if !v.is_empty() => v.to_vec(),
        _ => c.values().to_vec(),
    };
    match field {
        "host-header" => {
            RuleCondition::HostHeader(or_values(c.host_header_config().map(|h| h.values())))
        }
        "path-pattern" => {
            RuleCondition::PathPattern(or_values(c.path_pattern_config().map(|p| p.values())))
        }
        "http-header" => RuleCondition::HttpHeader {
            name: c
                .http_header_config()
                .and_then(|h| h.http_header_name())
                .unwrap_or_default()
                .to_owned(),
            values: c
                .http_header_config()
                .map(|h| h.values().to_vec())
                .unwrap_or_default(),
        },
        "query-string" => RuleCondition::QueryString(
            c.query_string_config()
                .map(|q| q.values())
                .unwrap_or_default()
                .iter()
                .map(|kv| {
                    (
                        kv.key().map(str::to_owned),
                        kv.value().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
        ),
        "http-request-method" => RuleCondition::HttpRequestMethod(
            c.http_request_method_config()
                .map(|m| m.values().to_vec())
                .unwrap_or_default(),
        ),
        "source-ip" => RuleCondition::SourceIp(
            c.source_ip_config()
                .map(|s| s.values().to_vec())
                .unwrap_or_default(),
        ),
        other => RuleCondition::Other(other.to_owned()),
    }
}

/// A listener rule.
pub fn rule_facts(r: &elb::Rule) -> RuleFacts {
    RuleFacts {
        arn: r.rule_arn().unwrap_or_default().to_owned(),
        is_default: r.is_default().unwrap_or(false),
        priority: r.priority().map(str::to_owned),
        conditions: r.conditions().iter().map(rule_condition).collect(),
        actions: r.actions().iter().map(listener_action).collect(),
    }
}

/// A registered target and its health.
pub fn target_health_fact(d: &elb::TargetHealthDescription) -> TargetHealthFact {
    let th = d.target_health();
    TargetHealthFact {
        id: d
            .target()
            .and_then(|t| t.id())
            .unwrap_or_default()
            .to_owned(),
        port: d.target().and_then(|t| t.port()),
        state: th.and_then(|t| t.state()).map(|s| s.as_str().to_owned()),
        reason: th.and_then(|t| t.reason()).map(|r| r.as_str().to_owned()),
        description: th.and_then(|t| t.description()).map(str::to_owned),
    }
}

impl LoadBalancer for SdkLoadBalancer {
    async fn target_groups(&self, names: &[String]) -> Result<Vec<TargetGroup>> {
        let out = self
            .client
            .describe_target_groups()
            .set_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(|e| Error::aws("DescribeTargetGroups", e))?;
        Ok(out
            .target_groups()
            .iter()
            .filter_map(|t| {
                Some(TargetGroup {
                    name: t.target_group_name()?.to_owned(),
                    arn: t.target_group_arn()?.to_owned(),
                })
            })
            .collect())
    }

    async fn listeners(&self, arns: &[String]) -> Result<Vec<ListenerFacts>> {
        let out = self
            .client
            .describe_listeners()
            .set_listener_arns(Some(arns.to_vec()))
            .send()
            .await
            .map_err(|e| Error::aws("DescribeListeners", e))?;
        Ok(out.listeners().iter().map(listener_facts).collect())
    }

    async fn load_balancer(&self, arn: &str) -> Result<Option<LoadBalancerFacts>> {
        let out = self
            .client
            .describe_load_balancers()
            .load_balancer_arns(arn)
            .send()
            .await
            .map_err(|e| Error::aws("DescribeLoadBalancers", e))?;
        Ok(out.load_balancers().first().map(|lb| LoadBalancerFacts {
            arn: lb.load_balancer_arn().unwrap_or(arn).to_owned(),
            name: lb.load_balancer_name().map(str::to_owned),
            kind: lb.r#type().map(|t| LoadBalancerKind::parse(t.as_str())),
            dns_name: lb.dns_name().unwrap_or_default().to_owned(),
        }))
    }

    async fn target_health(&self, target_group_arn: &str) -> Result<Vec<TargetHealthFact>> {
        let out = self
            .client
            .describe_target_health()
            .target_group_arn(target_group_arn)
            .send()
            .await
            .map_err(|e| Error::aws("DescribeTargetHealth", e))?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .map(target_health_fact)
            .collect())
    }

    async fn rules(&self, arns: &[String]) -> Result<Vec<RuleFacts>> {
        let out = self
            .client
            .describe_rules()
            .set_rule_arns(Some(arns.to_vec()))
            .send()
            .await
            .map_err(|e| Error::aws("DescribeRules", e))?;
        Ok(out.rules().iter().map(rule_facts).collect())
    }
}

#[cfg(test)]
#[path = "sdk_test.rs"]
mod tests;
