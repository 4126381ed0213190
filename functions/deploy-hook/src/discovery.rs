//! Zero-configuration discovery: from the deployment id alone, which hook is running, which
//! target group is green, and which listener (protocol, port, load balancer DNS name) serves it.

use aws_sdk_codedeploy::types as cd;
use aws_sdk_elasticloadbalancingv2::types as elb;
use codehooks::{Error, Result};
use serde::Serialize;

use crate::policy::{Hook, ListenerRole};

/// Why discovery could not produce a plan.
#[derive(Debug)]
pub enum DiscoveryError {
    /// An AWS call failed after the SDK's retries.
    Aws(Error),
    /// The deployment does not have a shape this hook supports (or the hook cannot tell).
    Unsupported(String),
}

impl From<Error> for DiscoveryError {
    fn from(e: Error) -> Self {
        DiscoveryError::Aws(e)
    }
}

fn unsupported(msg: impl Into<String>) -> DiscoveryError {
    DiscoveryError::Unsupported(msg.into())
}

/// The target groups and listeners of a blue/green deployment group.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficPair {
    pub target_groups: Vec<String>,
    pub production_listeners: Vec<String>,
    pub test_listeners: Vec<String>,
}

impl TrafficPair {
    fn from_info(info: Option<&cd::LoadBalancerInfo>) -> Option<TrafficPair> {
        let pair = info?.target_group_pair_info_list().first()?;
        let names: Vec<String> = pair
            .target_groups()
            .iter()
            .filter_map(|t| t.name().map(str::to_owned))
            .collect();
        Some(TrafficPair {
            target_groups: names,
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
}

/// One task set of the ECS deployment target.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSet {
    pub id: String,
    pub desired_count: i64,
    pub running_count: i64,
    pub status: String,
    pub traffic_weight: f64,
    pub target_group: Option<String>,
    pub label: Option<String>,
}

impl TaskSet {
    fn from_sdk(t: &cd::EcsTaskSet) -> TaskSet {
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
}

/// The green task set: labelled `Green`, or else the one that is not PRIMARY and takes no traffic.
pub fn green_task_set(sets: &[TaskSet]) -> Option<&TaskSet> {
    sets.iter()
        .find(|t| t.label.as_deref() == Some("Green"))
        .or_else(|| {
            sets.iter()
                .find(|t| !t.status.eq_ignore_ascii_case("PRIMARY") && t.traffic_weight == 0.0)
        })
}

/// The hook now running: the hook lifecycle event that is `InProgress` (the latest if several).
pub fn running_hook<'a>(events: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<Hook> {
    events
        .into_iter()
        .filter(|(_, status)| *status == "InProgress")
        .filter_map(|(name, _)| Hook::parse(name))
        .max()
}

/// `family:revision` and the ARN of the task definition named in an AppSpec document.
pub fn task_definition_in(appspec: &str) -> Option<(String, String)> {
    let start = appspec.find("arn:aws")?;
    let rest = &appspec[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '}' | ']'))
        .unwrap_or(rest.len());
    let arn = &rest[..end];
    let (_, tail) = arn.split_once(":task-definition/")?;
    (!tail.is_empty() && tail.contains(':')).then(|| (tail.to_owned(), arn.to_owned()))
}

/// A listener with what the probes need and where it forwards.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerInfo {
    pub role: ListenerRole,
    pub arn: String,
    pub protocol: String,
    pub port: u16,
    pub load_balancer_dns: String,
    /// Target group ARNs the default action forwards to with a weight above zero.
    pub forwards_to: Vec<String>,
}

impl ListenerInfo {
    pub fn scheme(&self) -> &'static str {
        if self.protocol.eq_ignore_ascii_case("HTTPS") {
            "https"
        } else {
            "http"
        }
    }
}

/// Target group ARNs a listener's default actions forward to with a weight above zero.
pub fn forwarded_target_groups(actions: &[elb::Action]) -> Result<Vec<String>, String> {
    let forward: Vec<&elb::Action> = actions
        .iter()
        .filter(|a| a.r#type() == Some(&elb::ActionTypeEnum::Forward))
        .collect();
    if forward.is_empty() {
        let kinds: Vec<&str> = actions
            .iter()
            .filter_map(|a| a.r#type().map(|t| t.as_str()))
            .collect();
        return Err(format!(
            "its default action is not a forward action (found: {})",
            if kinds.is_empty() {
                "none".to_owned()
            } else {
                kinds.join(", ")
            }
        ));
    }
    let mut out = Vec::new();
    for a in forward {
        match a.forward_config().map(|f| f.target_groups()) {
            Some(groups) if !groups.is_empty() => {
                for g in groups {
                    // An omitted weight counts as 1 (ELB's documented default for a lone group).
                    if g.weight().unwrap_or(1) > 0
                        && let Some(arn) = g.target_group_arn()
                    {
                        out.push(arn.to_owned());
                    }
                }
            }
            _ => {
                if let Some(arn) = a.target_group_arn() {
                    out.push(arn.to_owned());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// A target group by name and ARN.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetGroup {
    pub name: String,
    pub arn: String,
}

/// Everything the checks need, found from the deployment alone.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub deployment_id: String,
    pub application: String,
    pub deployment_group: String,
    pub hook: Hook,
    /// `ECSTarget` or `CloudFormationTarget`.
    pub target_type: String,
    pub target_id: String,
    pub task_sets: Vec<TaskSet>,
    pub green: Option<TargetGroup>,
    pub blue: Option<TargetGroup>,
    /// The green task set's desired count (`None` when there is no task set to read it from).
    pub desired_count: Option<i64>,
    /// The listener the hook's probes go through (`None` for hooks without probes).
    pub listener: Option<ListenerInfo>,
    /// `family:revision` of the new task definition, when the AppSpec names one.
    pub task_definition: Option<String>,
    /// Remarks worth reading (fallbacks taken).
    pub notes: Vec<String>,
}

/// The clients discovery uses.
#[derive(Clone, Debug)]
pub struct Clients {
    pub codedeploy: aws_sdk_codedeploy::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
}

/// Finds the plan of the hook running in `deployment_id`.
///
/// `needs_test_listener(group)`: whether the test-traffic hooks of that deployment group will
/// probe (a preflight then insists on a test listener).
pub async fn discover(
    clients: &Clients,
    deployment_id: &str,
    needs_test_listener: impl Fn(&str) -> bool,
) -> Result<Plan, DiscoveryError> {
    let cdc = &clients.codedeploy;
    let info = cdc
        .get_deployment()
        .deployment_id(deployment_id)
        .send()
        .await
        .map_err(|e| Error::aws("GetDeployment", e))?
        .deployment_info
        .ok_or_else(|| unsupported("GetDeployment returned no deploymentInfo"))?;
    if let Some(p) = info.compute_platform()
        && *p != cd::ComputePlatform::Ecs
    {
        return Err(unsupported(format!(
            "deployment {deployment_id} is a {} deployment; this hook verifies ECS blue/green deployments",
            p.as_str()
        )));
    }
    let application = info.application_name().unwrap_or_default().to_owned();
    let group = info.deployment_group_name().unwrap_or_default().to_owned();
    let task_def = info
        .revision()
        .and_then(|r| r.app_spec_content())
        .and_then(|c| c.content())
        .and_then(task_definition_in);

    // The deployment target: its lifecycle events and task sets.
    let mut target_ids = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = cdc
            .list_deployment_targets()
            .deployment_id(deployment_id)
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|e| Error::aws("ListDeploymentTargets", e))?;
        target_ids.extend(page.target_ids().iter().cloned());
        match page.next_token() {
            Some(t) if !t.is_empty() && target_ids.len() < 1000 => next = Some(t.to_owned()),
            _ => break,
        }
    }
    if target_ids.is_empty() {
        return Err(unsupported(format!(
            "deployment {deployment_id} has no deployment targets"
        )));
    }
    let mut targets = Vec::new();
    for chunk in target_ids.chunks(25) {
        let out = cdc
            .batch_get_deployment_targets()
            .deployment_id(deployment_id)
            .set_target_ids(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| Error::aws("BatchGetDeploymentTargets", e))?;
        targets.extend(out.deployment_targets.unwrap_or_default());
    }

    let mut notes = Vec::new();
    let (target_type, target_id, events, task_sets) = if let Some(t) =
        targets.iter().find_map(|t| t.ecs_target())
    {
        (
            "ECSTarget",
            t.target_id().unwrap_or_default().to_owned(),
            lifecycle(t.lifecycle_events()),
            t.task_sets_info()
                .iter()
                .map(TaskSet::from_sdk)
                .collect::<Vec<_>>(),
        )
    } else if let Some(t) = targets.iter().find_map(|t| t.cloud_formation_target()) {
        notes.push(
            "CloudFormation blue/green deployment (AWS::CodeDeployBlueGreen): no task sets are reported, \
             so the green target group is the one the production listener does not serve before the \
             traffic shift"
                .to_owned(),
        );
        (
            "CloudFormationTarget",
            t.target_id().unwrap_or_default().to_owned(),
            lifecycle(t.lifecycle_events()),
            Vec::new(),
        )
    } else {
        let kinds: Vec<&str> = targets
            .iter()
            .filter_map(|t| t.deployment_target_type().map(|k| k.as_str()))
            .collect();
        return Err(unsupported(format!(
            "deployment {deployment_id} has no ECS or CloudFormation target (found: {})",
            if kinds.is_empty() {
                "none".to_owned()
            } else {
                kinds.join(", ")
            }
        )));
    };

    let hook = running_hook(events.iter().map(|(n, s)| (n.as_str(), s.as_str()))).ok_or_else(|| {
        let summary: Vec<String> = events.iter().map(|(n, s)| format!("{n}={s}")).collect();
        unsupported(format!(
            "no hook lifecycle event of deployment {deployment_id} is InProgress ({}); the hook may \
             already be complete",
            summary.join(", ")
        ))
    })?;

    // The target group pair: the deployment group's, else the deployment's own.
    let mut pair = None;
    if !application.is_empty() && !group.is_empty() {
        match cdc
            .get_deployment_group()
            .application_name(&application)
            .deployment_group_name(&group)
            .send()
            .await
        {
            Ok(out) => {
                pair = TrafficPair::from_info(
                    out.deployment_group_info()
                        .and_then(|g| g.load_balancer_info()),
                );
            }
            // A CloudFormation deployment may have no group to read: use the deployment's own.
            Err(e) if target_type == "CloudFormationTarget" => {
                notes.push(format!(
                    "GetDeploymentGroup failed ({}); using the deployment's own loadBalancerInfo",
                    Error::aws("GetDeploymentGroup", e)
                ));
            }
            Err(e) => return Err(Error::aws("GetDeploymentGroup", e).into()),
        }
    }
    if pair.as_ref().is_none_or(|p| p.target_groups.is_empty())
        && let Some(p) = TrafficPair::from_info(info.load_balancer_info())
    {
        if target_type == "CloudFormationTarget" {
            notes.push(
                "target groups and listeners read from the deployment's loadBalancerInfo".into(),
            );
        }
        pair = Some(p);
    }
    let pair = pair.ok_or_else(|| {
        if target_type == "CloudFormationTarget" {
            unsupported(format!(
                "CloudFormation blue/green deployment {deployment_id} names no target group pair \
                 (neither the deployment nor its group has loadBalancerInfo.targetGroupPairInfoList); \
                 this hook cannot find the green target group"
            ))
        } else {
            unsupported(format!(
                "deployment group {group} has no loadBalancerInfo.targetGroupPairInfoList: \
                 blue/green through a load balancer is required"
            ))
        }
    })?;
    if pair.target_groups.len() != 2 {
        return Err(unsupported(format!(
            "the target group pair lists {} target groups; blue/green needs two",
            pair.target_groups.len()
        )));
    }
    if pair.production_listeners.is_empty() {
        return Err(unsupported(
            "the target group pair has no production listener",
        ));
    }
    let uses_test = hook.listener() == Some(ListenerRole::Test)
        || (hook == Hook::BeforeInstall && needs_test_listener(&group));
    if uses_test && pair.test_listeners.is_empty() {
        return Err(unsupported(format!(
            "deployment group {group} has no test listener (testTrafficRoute); {hook} checks go through \
             it. Add a test listener or disable probes for this hook"
        )));
    }

    // ELBv2: target groups, listeners, load balancers.
    let tgs = clients
        .elb
        .describe_target_groups()
        .set_names(Some(pair.target_groups.clone()))
        .send()
        .await
        .map_err(|e| Error::aws("DescribeTargetGroups", e))?;
    let by_name = |name: &str| -> Result<TargetGroup, DiscoveryError> {
        tgs.target_groups()
            .iter()
            .find(|t| t.target_group_name() == Some(name))
            .and_then(|t| t.target_group_arn())
            .map(|arn| TargetGroup {
                name: name.to_owned(),
                arn: arn.to_owned(),
            })
            .ok_or_else(|| unsupported(format!("target group {name} was not found")))
    };
    let groups = [
        by_name(&pair.target_groups[0])?,
        by_name(&pair.target_groups[1])?,
    ];

    let mut listener_arns = pair.production_listeners.clone();
    listener_arns.extend(pair.test_listeners.iter().cloned());
    let listeners = clients
        .elb
        .describe_listeners()
        .set_listener_arns(Some(listener_arns))
        .send()
        .await
        .map_err(|e| Error::aws("DescribeListeners", e))?
        .listeners
        .unwrap_or_default();
    let find_listener = |arn: &str| -> Result<&elb::Listener, DiscoveryError> {
        listeners
            .iter()
            .find(|l| l.listener_arn() == Some(arn))
            .ok_or_else(|| unsupported(format!("listener {arn} was not found")))
    };
    let prod = find_listener(&pair.production_listeners[0])?;
    let test = match pair.test_listeners.first() {
        Some(arn) => Some(find_listener(arn)?),
        None => None,
    };

    // Blue and green.
    let green_set = green_task_set(&task_sets);
    let desired_count = green_set.map(|t| t.desired_count);
    let prod_forwards = forwarded_target_groups(prod.default_actions()).map_err(|e| {
        unsupported(format!(
            "production listener {}: {e}",
            pair.production_listeners[0]
        ))
    })?;
    let (green, blue) = match green_set.and_then(|t| t.target_group.clone()) {
        Some(name) => {
            let g = groups
                .iter()
                .find(|g| g.name == name)
                .cloned()
                .ok_or_else(|| {
                    unsupported(format!(
                        "the green task set's target group {name} is not one of the pair ({})",
                        pair.target_groups.join(", ")
                    ))
                })?;
            let b = groups.iter().find(|x| x.name != name).cloned();
            (Some(g), b)
        }
        None => {
            // Without task sets: before the traffic shift, blue is what production serves.
            let served: Vec<&TargetGroup> = groups
                .iter()
                .filter(|g| prod_forwards.contains(&g.arn))
                .collect();
            let other: Vec<&TargetGroup> = groups
                .iter()
                .filter(|g| !prod_forwards.contains(&g.arn))
                .collect();
            let (g, b) = if hook.after_traffic_shift() {
                (served.first(), other.first())
            } else {
                (other.first(), served.first())
            };
            match (g, b) {
                (Some(g), Some(b)) => {
                    if target_type == "ECSTarget" && hook != Hook::BeforeInstall {
                        notes.push("no task set is labelled Green; green found from the production listener".into());
                    }
                    (Some((*g).clone()), Some((*b).clone()))
                }
                _ if hook == Hook::BeforeInstall => (None, None),
                _ => {
                    return Err(unsupported(format!(
                        "cannot tell blue from green: the production listener forwards to {} of the pair",
                        if served.is_empty() { "neither" } else { "both" }
                    )));
                }
            }
        }
    };

    // The listener the hook probes through, checked to forward to green and not to blue.
    let chosen = match hook.listener() {
        Some(ListenerRole::Test) => test.map(|l| (ListenerRole::Test, l)),
        Some(ListenerRole::Production) => Some((ListenerRole::Production, prod)),
        None if hook == Hook::BeforeInstall => test
            .map(|l| (ListenerRole::Test, l))
            .or(Some((ListenerRole::Production, prod))),
        None => None,
    };
    let mut listener = None;
    if let Some((role, l)) = chosen {
        let arn = l.listener_arn().unwrap_or_default().to_owned();
        let lb_arn = l
            .load_balancer_arn()
            .ok_or_else(|| unsupported(format!("listener {arn} names no load balancer")))?;
        let lbs = clients
            .elb
            .describe_load_balancers()
            .load_balancer_arns(lb_arn)
            .send()
            .await
            .map_err(|e| Error::aws("DescribeLoadBalancers", e))?;
        let lb = lbs
            .load_balancers()
            .first()
            .ok_or_else(|| unsupported(format!("load balancer {lb_arn} was not found")))?;
        if let Some(t) = lb.r#type()
            && *t != elb::LoadBalancerTypeEnum::Application
        {
            return Err(unsupported(format!(
                "load balancer {} is a {} load balancer; the HTTP checks need an Application Load Balancer",
                lb.load_balancer_name().unwrap_or(lb_arn),
                t.as_str()
            )));
        }
        let protocol = l
            .protocol()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        if !matches!(protocol.as_str(), "HTTP" | "HTTPS") {
            return Err(unsupported(format!(
                "{} listener {arn} uses {protocol}; the HTTP checks need an HTTP or HTTPS listener",
                role.as_str()
            )));
        }
        let port = l
            .port()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| unsupported(format!("listener {arn} has no port")))?;
        let forwards_to = forwarded_target_groups(l.default_actions())
            .map_err(|e| unsupported(format!("{} listener {arn}: {e}", role.as_str())))?;
        listener = Some(ListenerInfo {
            role,
            arn,
            protocol,
            port,
            load_balancer_dns: lb.dns_name().unwrap_or_default().to_owned(),
            forwards_to,
        });
    }

    Ok(Plan {
        deployment_id: deployment_id.to_owned(),
        application,
        deployment_group: group,
        hook,
        target_type: target_type.to_owned(),
        target_id,
        task_sets,
        green,
        blue,
        desired_count,
        listener,
        task_definition: task_def.map(|(short, _)| short),
        notes,
    })
}

fn lifecycle(events: &[cd::LifecycleEvent]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| {
            (
                e.lifecycle_event_name().unwrap_or_default().to_owned(),
                e.status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// Checks that the probed listener serves green and not blue; the error says what it serves.
pub fn verify_listener(plan: &Plan) -> Result<(), String> {
    let (Some(l), Some(green)) = (&plan.listener, &plan.green) else {
        return Ok(());
    };
    if let Some(blue) = &plan.blue
        && l.forwards_to.contains(&blue.arn)
    {
        return Err(format!(
            "the {} listener {} forwards to the blue target group {}; refusing to pass a test of blue",
            l.role.as_str(),
            l.arn,
            blue.name
        ));
    }
    if !l.forwards_to.contains(&green.arn) {
        return Err(format!(
            "the {} listener {} does not forward to the green target group {} (it forwards to: {})",
            l.role.as_str(),
            l.arn,
            green.name,
            if l.forwards_to.is_empty() {
                "nothing".to_owned()
            } else {
                l.forwards_to.join(", ")
            }
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "discovery_test.rs"]
mod tests;
