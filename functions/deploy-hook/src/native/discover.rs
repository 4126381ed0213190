//! What an Amazon ECS deployment is, for one stage: the calls ([`fetch`], through
//! [`Services`] and [`LoadBalancer`]), then a pure decision ([`decide`]) to the [`Plan`].
//!
//! - Green is the target group that serves the target revision:
//!   `resolvedConfiguration.loadBalancers[].targetGroupArn` of the revision. ECS swaps the two
//!   target groups from one deployment to the next, so green is never inferred from
//!   `alternateTargetGroupArn`; blue is the other target group of the pair
//!   (`loadBalancers[].targetGroupArn` and `advancedConfiguration.alternateTargetGroupArn`).
//! - The probes go through the test listener rule (`POST_TEST_TRAFFIC_SHIFT`) or the production
//!   one (`POST_PRODUCTION_TRAFFIC_SHIFT`), from `advancedConfiguration`: the rule's conditions
//!   shape the probes ([`crate::rules`]), and where it forwards (weight above zero) is what the
//!   listener check compares with green and blue. Its listener and load balancer (which must
//!   be an Application Load Balancer) give the address.
//! - Green's desired count is the target revision's `requestedTaskCount`
//!   (DescribeServiceDeployments); when it cannot be read, 1, with a note.

use codehooks::Error;

use crate::checks::Checks;
use crate::facts::{
    ListenerFacts, LoadBalancerFacts, LoadBalancerKind, RevisionLoadBalancer, RuleFacts,
    ServiceDeploymentFacts, ServiceRevisionFacts, TargetGroup,
};
use crate::hook::{Hook, ListenerRole, Platform};
use crate::native::event::NativeEvent;
use crate::plan::{DiscoveryError, ListenerInfo, Plan, ProbeShape, TargetType};
use crate::ports::{LoadBalancer, Services};
use crate::rules;

/// Everything discovery read; later fields stay empty when they were not needed.
#[derive(Debug, Default)]
pub struct NativeFacts {
    /// The target revision (`None`: ECS does not know it).
    pub revision: Option<ServiceRevisionFacts>,
    /// The service deployment, when green's desired count is needed and could be read.
    pub deployment: Option<ServiceDeploymentFacts>,
    /// Why the service deployment could not be read (an optional read).
    pub deployment_error: Option<String>,
    pub rule: Option<RuleFacts>,
    pub listener: Option<ListenerFacts>,
    pub load_balancer: Option<LoadBalancerFacts>,
}

/// Whether the checks probe through a listener rule at this stage.
fn probing(event: &NativeEvent, checks: &Checks) -> bool {
    checks.probes && event.stage.listener().is_some()
}

/// The blue/green load balancer entry of a revision, green and blue target group ARNs.
struct Pair<'a> {
    entry: &'a RevisionLoadBalancer,
    green: String,
    blue: Option<String>,
}

/// Green and blue from the revision (see the module's documentation).
fn pair(revision: &ServiceRevisionFacts) -> Result<Option<Pair<'_>>, String> {
    let Some(resolved) = &revision.resolved else {
        return Ok(None);
    };
    for entry in &revision.load_balancers {
        let of_pair = [&entry.target_group_arn, &entry.alternate_target_group_arn];
        let green = resolved
            .iter()
            .filter_map(|r| r.target_group_arn.as_ref())
            .find(|tg| of_pair.iter().any(|p| p.as_ref() == Some(*tg)));
        if let Some(green) = green {
            let blue = of_pair
                .into_iter()
                .flatten()
                .find(|tg| *tg != green)
                .cloned();
            return Ok(Some(Pair {
                entry,
                green: green.clone(),
                blue,
            }));
        }
    }
    Err(format!(
        "the target revision {} is served by target group {} (resolvedConfiguration), which is not one of its \
         load balancers' target groups",
        revision.arn,
        resolved
            .iter()
            .filter_map(|r| r.target_group_arn.as_deref())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The listener rule the probes of `role` go through.
fn rule_arn(pair: &Pair<'_>, role: ListenerRole) -> Option<String> {
    match role {
        ListenerRole::Test => pair.entry.test_listener_rule.clone(),
        ListenerRole::Production => pair.entry.production_listener_rule.clone(),
    }
}

/// Reads what the plan of `event`'s stage needs, in order; stops early when a later read
/// cannot help.
pub async fn fetch<S: Services, L: LoadBalancer>(
    services: &S,
    load_balancer: &L,
    event: &NativeEvent,
    checks: &Checks,
) -> Result<NativeFacts, Error> {
    let mut facts = NativeFacts::default();
    let wanted = [event.target_revision_arn.clone()];
    facts.revision = services
        .service_revisions(&wanted)
        .await?
        .into_iter()
        .find(|r| r.arn == event.target_revision_arn);
    if checks.target_health {
        match services.service_deployment(&event.resource_arn).await {
            Ok(d) => facts.deployment = d,
            Err(e) => facts.deployment_error = Some(e.to_string()),
        }
    }
    let (Some(revision), Some(role)) = (&facts.revision, event.stage.listener()) else {
        return Ok(facts);
    };
    if !probing(event, checks) {
        return Ok(facts);
    }
    let Some(arn) = pair(revision)
        .ok()
        .flatten()
        .and_then(|p| rule_arn(&p, role))
    else {
        return Ok(facts);
    };
    if !rules::is_listener_arn(&arn) {
        facts.rule = load_balancer
            .rules(std::slice::from_ref(&arn))
            .await?
            .into_iter()
            .find(|r| r.arn == arn);
    }
    let Some(listener_arn) = rules::listener_of(&arn) else {
        return Ok(facts);
    };
    facts.listener = load_balancer
        .listeners(&[listener_arn])
        .await?
        .into_iter()
        .next();
    if let Some(lb) = facts
        .listener
        .as_ref()
        .and_then(|l| l.load_balancer_arn.clone())
    {
        facts.load_balancer = load_balancer.load_balancer(&lb).await?;
    }
    Ok(facts)
}

fn target_group(arn: &str) -> TargetGroup {
    TargetGroup {
        name: rules::target_group_name(arn).unwrap_or_else(|| arn.to_owned()),
        arn: arn.to_owned(),
    }
}

/// The plan of `event`'s stage from what [`fetch`] read; `Unsupported` says why there is none.
pub fn decide(
    event: &NativeEvent,
    checks: &Checks,
    facts: &NativeFacts,
) -> Result<Plan, DiscoveryError> {
    let unsupported = |m: String| DiscoveryError::Unsupported(m);
    let revision = facts.revision.as_ref().ok_or_else(|| {
        unsupported(format!(
            "Amazon ECS does not know the target revision {} (DescribeServiceRevisions)",
            event.target_revision_arn
        ))
    })?;
    let mut notes = Vec::new();
    let pair = pair(revision).map_err(unsupported)?;
    if pair.is_none() {
        let why = format!(
            "the target revision {} has no resolvedConfiguration yet: which target group is green cannot be told",
            revision.arn
        );
        if event.stage != Hook::PreScaleUp {
            return Err(unsupported(why));
        }
        notes.push(why);
    }
    let green = pair.as_ref().map(|p| target_group(&p.green));
    let blue = pair
        .as_ref()
        .and_then(|p| p.blue.as_deref().map(target_group));
    let desired_count = checks
        .target_health
        .then(|| desired(event, facts, &mut notes));
    let mut shape = ProbeShape::default();
    let mut listener = None;
    if let (Some(role), Some(pair), true) = (event.stage.listener(), &pair, probing(event, checks))
    {
        let (info, s) = probe_route(role, pair, checks, facts, &mut notes)?;
        listener = Some(info);
        shape = s;
    }
    let task_definition = revision.task_definition.as_deref().map(|td| {
        td.split_once(":task-definition/")
            .map(|(_, t)| t.to_owned())
            .unwrap_or_else(|| td.to_owned())
    });
    Ok(Plan {
        platform: Platform::EcsNative,
        deployment_id: event.resource_arn.clone(),
        application: String::new(),
        deployment_group: String::new(),
        hook: event.stage,
        target_type: TargetType::EcsService,
        target_id: event.service_arn.clone(),
        task_sets: Vec::new(),
        green,
        blue,
        desired_count,
        listener,
        task_definition,
        service: Some(event.service_name()),
        target_revision: Some(event.target_revision_arn.clone()),
        shape,
        notes,
    })
}

/// Green's desired count: the target revision's `requestedTaskCount`, else 1 (noted).
fn desired(event: &NativeEvent, facts: &NativeFacts, notes: &mut Vec<String>) -> i64 {
    let count = facts
        .deployment
        .as_ref()
        .filter(|d| {
            d.target_revision_arn
                .as_deref()
                .is_none_or(|t| t == event.target_revision_arn)
        })
        .and_then(|d| d.target_requested_count)
        .filter(|n| *n > 0);
    count.unwrap_or_else(|| {
        notes.push(format!(
            "green's desired count is unknown ({}): waiting for 1 healthy target",
            facts.deployment_error.as_deref().unwrap_or(
                "DescribeServiceDeployments gives no requestedTaskCount for the target revision"
            )
        ));
        1
    })
}

/// The listener the probes go through and the shape of the probes, from the stage's rule.
fn probe_route(
    role: ListenerRole,
    pair: &Pair<'_>,
    checks: &Checks,
    facts: &NativeFacts,
    notes: &mut Vec<String>,
) -> Result<(ListenerInfo, ProbeShape), DiscoveryError> {
    let unsupported = |m: String| DiscoveryError::Unsupported(m);
    let field = match role {
        ListenerRole::Test => "testListenerRule",
        ListenerRole::Production => "productionListenerRule",
    };
    let rule_arn = rule_arn(pair, role).ok_or_else(|| {
        unsupported(format!(
            "the service's load balancer has no {field} (advancedConfiguration): there is no {} traffic to probe \
             green through; set probes to false for this stage in the policy",
            role.as_str()
        ))
    })?;
    let listener = facts
        .listener
        .as_ref()
        .ok_or_else(|| unsupported(format!("the listener of {field} {rule_arn} was not found")))?;
    let lb = facts.load_balancer.as_ref().ok_or_else(|| {
        unsupported(format!(
            "the load balancer of listener {} was not found",
            listener.arn
        ))
    })?;
    if lb.kind != Some(LoadBalancerKind::Application) {
        return Err(unsupported(format!(
            "the load balancer {} is a{} load balancer: HTTP probes through a listener rule need an \
             Application Load Balancer; set probes to false for this stage in the policy",
            lb.name.as_deref().unwrap_or(&lb.arn),
            lb.kind
                .as_ref()
                .map(|k| format!(" {}", k.as_str()))
                .unwrap_or_else(|| "n unknown kind of".into())
        )));
    }
    let (forwards_to, shape) = match &facts.rule {
        None if rules::is_listener_arn(&rule_arn) => (
            crate::readings::forwarded_target_groups(&listener.default_actions)
                .map_err(|e| unsupported(format!("listener {}: {e}", listener.arn)))?,
            ProbeShape::default(),
        ),
        None => {
            return Err(unsupported(format!(
                "the {field} {rule_arn} was not found (DescribeRules)"
            )));
        }
        Some(rule) => {
            let weights: Vec<String> = rules::forward_weights(rule)
                .iter()
                .map(|(tg, w)| format!("{} {w}", target_group(tg).name))
                .collect();
            notes.push(format!(
                "the {} listener rule {} forwards to: {}",
                role.as_str(),
                rule.arn,
                weights.join(", ")
            ));
            let to = rules::serving(rule)
                .map_err(|e| unsupported(format!("listener rule {}: {e}", rule.arn)))?;
            let shape = rules::probe_shape(rule, &checks.paths, checks.host_name.as_deref())
                .map_err(|e| unsupported(e.to_string()))?;
            (to, shape)
        }
    };
    let port = listener
        .port
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| unsupported(format!("listener {} has no port", listener.arn)))?;
    Ok((
        ListenerInfo {
            role,
            arn: listener.arn.clone(),
            protocol: listener.protocol.clone().unwrap_or_else(|| "HTTP".into()),
            port,
            load_balancer_dns: lb.dns_name.clone(),
            load_balancer_arn: lb.arn.clone(),
            forwards_to,
        },
        shape,
    ))
}

/// Discovery: [`fetch`], then [`decide`].
pub async fn discover<S: Services, L: LoadBalancer>(
    services: &S,
    load_balancer: &L,
    event: &NativeEvent,
    checks: &Checks,
) -> Result<Plan, DiscoveryError> {
    let facts = fetch(services, load_balancer, event, checks).await?;
    decide(event, checks, &facts)
}

#[cfg(test)]
#[path = "discover_test.rs"]
mod tests;
