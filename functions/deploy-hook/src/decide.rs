//! Discovery's decision: a pure function from the facts the ports returned ([`Facts`]) to the
//! [`Plan`] of the hook run, or why there is none. No I/O here; [`crate::discovery`] fetches.
//!
//! A new compute platform or target shape is a new variant of
//! [`ComputePlatform`](crate::facts::ComputePlatform) / [`DeploymentTarget`] and a row in the
//! table-driven tests of `decide_test.rs`.

use crate::facts::{
    DeploymentFacts, DeploymentTarget, ListenerFacts, LoadBalancerFacts, LoadBalancerKind,
    TargetGroup, TaskSet, TrafficPair,
};
pub use crate::facts::{Facts, GroupLookup};
use crate::plan::{DiscoveryError, ListenerInfo, Plan, TargetType};
use crate::policy::{Hook, ListenerRole};
pub use crate::readings::{
    NotForwarding, forwarded_target_groups, green_task_set, running_hook, task_definition_in,
};

/// Why the facts give no plan (before the AWS error, if any, is taken out of the facts).
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    Unsupported(String),
    /// `GetDeploymentGroup` failed and nothing replaces it.
    GroupLookupFailed,
}

fn unsupported(msg: impl Into<String>) -> Refusal {
    Refusal::Unsupported(msg.into())
}

/// The plan of the hook running in the deployment the facts describe.
///
/// `needs_test_listener(group)`: whether the test-traffic hooks of that deployment group will
/// probe (a preflight then insists on a test listener).
pub fn decide(
    mut facts: Facts,
    needs_test_listener: impl Fn(&str) -> bool,
) -> Result<Plan, DiscoveryError> {
    let refusal = match plan(&facts, &needs_test_listener) {
        Ok(p) => return Ok(p),
        Err(r) => r,
    };
    match (refusal, std::mem::take(&mut facts.group)) {
        (Refusal::GroupLookupFailed, GroupLookup::Failed(e)) => Err(DiscoveryError::Aws(e)),
        (Refusal::GroupLookupFailed, _) => Err(DiscoveryError::Unsupported(
            "the deployment group could not be read".into(),
        )),
        (Refusal::Unsupported(m), _) => Err(DiscoveryError::Unsupported(m)),
    }
}

/// The deployment, on a platform this hook verifies.
pub fn deployment(facts: &Facts) -> Result<&DeploymentFacts, Refusal> {
    let d = facts
        .deployment
        .as_ref()
        .ok_or_else(|| unsupported("GetDeployment returned no deploymentInfo"))?;
    if let Some(p) = &d.platform
        && !p.is_verifiable()
    {
        return Err(unsupported(format!(
            "deployment {} is a {} deployment; this hook verifies ECS blue/green deployments",
            facts.deployment_id,
            p.as_str()
        )));
    }
    Ok(d)
}

/// The deployment target the hook checks and the hook now running in it.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub target_type: TargetType,
    pub target_id: &'a str,
    pub task_sets: &'a [TaskSet],
    pub hook: Hook,
}

/// The ECS target (else the CloudFormation one) and its running hook.
pub fn target(facts: &Facts) -> Result<Target<'_>, Refusal> {
    let id = &facts.deployment_id;
    if facts.targets.is_empty() {
        return Err(unsupported(format!(
            "deployment {id} has no deployment targets"
        )));
    }
    let ecs = facts.targets.iter().find_map(|t| match t {
        DeploymentTarget::Ecs {
            target_id,
            lifecycle,
            task_sets,
        } => Some((TargetType::Ecs, target_id, lifecycle, task_sets.as_slice())),
        _ => None,
    });
    let cfn = || {
        facts.targets.iter().find_map(|t| match t {
            DeploymentTarget::CloudFormation {
                target_id,
                lifecycle,
            } => Some((TargetType::CloudFormation, target_id, lifecycle, &[][..])),
            _ => None,
        })
    };
    let Some((target_type, target_id, lifecycle, task_sets)) = ecs.or_else(cfn) else {
        let kinds: Vec<&str> = facts
            .targets
            .iter()
            .filter_map(|t| match t {
                DeploymentTarget::Other(k) if !k.is_empty() => Some(k.as_str()),
                _ => None,
            })
            .collect();
        return Err(unsupported(format!(
            "deployment {id} has no ECS or CloudFormation target (found: {})",
            if kinds.is_empty() {
                "none".to_owned()
            } else {
                kinds.join(", ")
            }
        )));
    };
    let hook = running_hook(lifecycle).ok_or_else(|| {
        let summary: Vec<String> = lifecycle
            .iter()
            .map(|e| format!("{}={}", e.name, e.status))
            .collect();
        unsupported(format!(
            "no hook lifecycle event of deployment {id} is InProgress ({}); the hook may \
             already be complete",
            summary.join(", ")
        ))
    })?;
    Ok(Target {
        target_type,
        target_id,
        task_sets,
        hook,
    })
}

/// Whether discovery reads the deployment group (it names an application and a group).
pub fn reads_group(d: &DeploymentFacts) -> bool {
    !d.application.is_empty() && !d.deployment_group.is_empty()
}

/// The target group pair: the deployment group's, else the deployment's own; checked to have
/// what blue/green through a load balancer needs. Fallbacks taken are added to `notes`.
pub fn traffic_pair(
    facts: &Facts,
    target: &Target<'_>,
    needs_test_listener: &dyn Fn(&str) -> bool,
    notes: &mut Vec<String>,
) -> Result<TrafficPair, Refusal> {
    let d = deployment(facts)?;
    let id = &facts.deployment_id;
    let group = &d.deployment_group;
    let cfn = target.target_type == TargetType::CloudFormation;
    let mut pair = match &facts.group {
        GroupLookup::Found(p) => p.clone(),
        GroupLookup::NotAsked => None,
        // A CloudFormation deployment may have no group to read: use the deployment's own.
        GroupLookup::Failed(e) if cfn => {
            notes.push(format!(
                "GetDeploymentGroup failed ({e}); using the deployment's own loadBalancerInfo"
            ));
            None
        }
        GroupLookup::Failed(_) => return Err(Refusal::GroupLookupFailed),
    };
    if pair.as_ref().is_none_or(|p| p.target_groups.is_empty())
        && let Some(p) = &d.traffic_pair
    {
        if cfn {
            notes.push(
                "target groups and listeners read from the deployment's loadBalancerInfo".into(),
            );
        }
        pair = Some(p.clone());
    }
    let pair = pair.ok_or_else(|| {
        if cfn {
            unsupported(format!(
                "CloudFormation blue/green deployment {id} names no target group pair \
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
    let hook = target.hook;
    let uses_test = hook.listener() == Some(ListenerRole::Test)
        || (hook == Hook::BeforeInstall && needs_test_listener(group));
    if uses_test && pair.test_listeners.is_empty() {
        return Err(unsupported(format!(
            "deployment group {group} has no test listener (testTrafficRoute); {hook} checks go through \
             it. Add a test listener or disable probes for this hook"
        )));
    }
    Ok(pair)
}

/// The two target groups of the pair, by name.
pub fn pair_groups(facts: &Facts, pair: &TrafficPair) -> Result<[TargetGroup; 2], Refusal> {
    let by_name = |name: &str| {
        facts
            .target_groups
            .iter()
            .find(|t| t.name == name)
            .cloned()
            .ok_or_else(|| unsupported(format!("target group {name} was not found")))
    };
    Ok([
        by_name(&pair.target_groups[0])?,
        by_name(&pair.target_groups[1])?,
    ])
}

/// All the plan needs but the probed listener's load balancer.
#[derive(Debug, Clone)]
pub struct Partial<'a> {
    pub deployment: &'a DeploymentFacts,
    pub target: Target<'a>,
    pub green: Option<TargetGroup>,
    pub blue: Option<TargetGroup>,
    pub desired_count: Option<i64>,
    /// The listener the hook probes through, and its role.
    pub chosen: Option<(ListenerRole, &'a ListenerFacts)>,
    pub notes: Vec<String>,
}

/// Everything up to the choice of the listener to probe through.
pub fn partial<'a>(
    facts: &'a Facts,
    needs_test_listener: &dyn Fn(&str) -> bool,
) -> Result<Partial<'a>, Refusal> {
    let d = deployment(facts)?;
    let target = target(facts)?;
    let mut notes = Vec::new();
    if target.target_type == TargetType::CloudFormation {
        notes.push(
            "CloudFormation blue/green deployment (AWS::CodeDeployBlueGreen): no task sets are reported, \
             so the green target group is the one the production listener does not serve before the \
             traffic shift"
                .to_owned(),
        );
    }
    let pair = traffic_pair(facts, &target, needs_test_listener, &mut notes)?;
    let groups = pair_groups(facts, &pair)?;
    let find_listener = |arn: &str| {
        facts
            .listeners
            .iter()
            .find(|l| l.arn == arn)
            .ok_or_else(|| unsupported(format!("listener {arn} was not found")))
    };
    let prod = find_listener(&pair.production_listeners[0])?;
    let test = match pair.test_listeners.first() {
        Some(arn) => Some(find_listener(arn)?),
        None => None,
    };

    // Blue and green.
    let hook = target.hook;
    let green_set = green_task_set(target.task_sets);
    let desired_count = green_set.map(|t| t.desired_count);
    let prod_forwards = forwarded_target_groups(&prod.default_actions).map_err(|e| {
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
            let (served, other): (Vec<&TargetGroup>, Vec<&TargetGroup>) =
                groups.iter().partition(|g| prod_forwards.contains(&g.arn));
            let (g, b) = if hook.after_traffic_shift() {
                (served.first(), other.first())
            } else {
                (other.first(), served.first())
            };
            match (g, b) {
                (Some(g), Some(b)) => {
                    if target.target_type == TargetType::Ecs && hook != Hook::BeforeInstall {
                        notes.push(
                            "no task set is labelled Green; green found from the production listener"
                                .into(),
                        );
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

    let chosen = match hook.listener() {
        Some(ListenerRole::Test) => test.map(|l| (ListenerRole::Test, l)),
        Some(ListenerRole::Production) => Some((ListenerRole::Production, prod)),
        None if hook == Hook::BeforeInstall => test
            .map(|l| (ListenerRole::Test, l))
            .or(Some((ListenerRole::Production, prod))),
        None => None,
    };
    Ok(Partial {
        deployment: d,
        target,
        green,
        blue,
        desired_count,
        chosen,
        notes,
    })
}

/// The load balancer discovery has to read: the probed listener's.
pub fn load_balancer_to_read(partial: &Partial<'_>) -> Option<String> {
    partial
        .chosen
        .and_then(|(_, l)| l.load_balancer_arn.clone())
}

/// The whole plan from the facts.
pub fn plan(facts: &Facts, needs_test_listener: &dyn Fn(&str) -> bool) -> Result<Plan, Refusal> {
    let p = partial(facts, needs_test_listener)?;
    let listener = match p.chosen {
        Some((role, l)) => Some(probed_listener(role, l, facts.load_balancer.as_ref())?),
        None => None,
    };
    Ok(Plan {
        platform: crate::hook::Platform::CodeDeployEcs,
        deployment_id: facts.deployment_id.clone(),
        application: p.deployment.application.clone(),
        deployment_group: p.deployment.deployment_group.clone(),
        hook: p.target.hook,
        target_type: p.target.target_type,
        target_id: p.target.target_id.to_owned(),
        task_sets: p.target.task_sets.to_vec(),
        green: p.green,
        blue: p.blue,
        desired_count: p.desired_count,
        listener,
        task_definition: p
            .deployment
            .appspec
            .as_deref()
            .and_then(task_definition_in)
            .map(|(short, _)| short),
        service: None,
        target_revision: None,
        shape: Default::default(),
        notes: p.notes,
    })
}

/// The probed listener, checked to be HTTP(S) on an Application Load Balancer.
fn probed_listener(
    role: ListenerRole,
    l: &ListenerFacts,
    lb: Option<&LoadBalancerFacts>,
) -> Result<ListenerInfo, Refusal> {
    let arn = &l.arn;
    let lb_arn = l
        .load_balancer_arn
        .as_deref()
        .ok_or_else(|| unsupported(format!("listener {arn} names no load balancer")))?;
    let lb = lb
        .filter(|lb| lb.arn == lb_arn)
        .ok_or_else(|| unsupported(format!("load balancer {lb_arn} was not found")))?;
    if let Some(kind) = &lb.kind
        && *kind != LoadBalancerKind::Application
    {
        return Err(unsupported(format!(
            "load balancer {} is a {} load balancer; the HTTP checks need an Application Load Balancer",
            lb.name.as_deref().unwrap_or(lb_arn),
            kind.as_str()
        )));
    }
    let protocol = l.protocol.clone().unwrap_or_default();
    if !matches!(protocol.as_str(), "HTTP" | "HTTPS") {
        return Err(unsupported(format!(
            "{} listener {arn} uses {protocol}; the HTTP checks need an HTTP or HTTPS listener",
            role.as_str()
        )));
    }
    let port = l
        .port
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| unsupported(format!("listener {arn} has no port")))?;
    let forwards_to = forwarded_target_groups(&l.default_actions)
        .map_err(|e| unsupported(format!("{} listener {arn}: {e}", role.as_str())))?;
    Ok(ListenerInfo {
        role,
        arn: arn.clone(),
        protocol,
        port,
        load_balancer_dns: lb.dns_name.clone(),
        load_balancer_arn: lb.arn.clone(),
        forwards_to,
    })
}

#[cfg(test)]
#[path = "decide_test.rs"]
mod tests;
