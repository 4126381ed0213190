//! Zero-configuration discovery: from the deployment id alone, which hook is running, which
//! target group is green, and which listener (protocol, port, load balancer DNS name) serves it.
//!
//! [`fetch`] makes the calls through the two ports and collects plain [`Facts`]; it stops as soon
//! as the facts so far already rule a plan out. [`decide`](crate::decide::decide) turns the facts
//! into the plan. [`discover`] is the two in turn. A Lambda deployment stops after its targets:
//! [`crate::lambda::decide`] makes its plan.

use crate::decide::{self, Facts, GroupLookup};
use crate::facts::ComputePlatform;
use crate::lambda::LambdaPlan;
use crate::plan::{DiscoveryError, Plan};
use crate::ports::{Deployments, LoadBalancer};

/// What a CodeDeploy deployment is, and the plan of its running hook.
#[derive(Debug, Clone)]
pub enum Discovered {
    /// An ECS blue/green deployment.
    Ecs(Box<Plan>),
    /// A Lambda deployment (an alias shifting between versions).
    Lambda(Box<LambdaPlan>),
}

/// Whether the facts are those of a Lambda deployment.
fn is_lambda(facts: &Facts) -> bool {
    facts
        .deployment
        .as_ref()
        .is_some_and(|d| d.platform == Some(ComputePlatform::Lambda))
}

/// Finds the plan of the hook running in `deployment_id`.
///
/// `needs_test_listener(group)`: whether the test-traffic hooks of that deployment group will
/// probe (a preflight then insists on a test listener).
pub async fn discover<D: Deployments, L: LoadBalancer>(
    deployments: &D,
    load_balancer: &L,
    deployment_id: &str,
    needs_test_listener: impl Fn(&str) -> bool,
) -> Result<Discovered, DiscoveryError> {
    let facts = fetch(
        deployments,
        load_balancer,
        deployment_id,
        &needs_test_listener,
    )
    .await?;
    if is_lambda(&facts) {
        return crate::lambda::decide(&facts)
            .map(|p| Discovered::Lambda(Box::new(p)))
            .map_err(DiscoveryError::Unsupported);
    }
    decide::decide(facts, needs_test_listener).map(|p| Discovered::Ecs(Box::new(p)))
}

/// Reads what the plan needs, in order; an AWS error ends it (`Aws`).
pub async fn fetch<D: Deployments, L: LoadBalancer>(
    deployments: &D,
    load_balancer: &L,
    deployment_id: &str,
    needs_test_listener: &dyn Fn(&str) -> bool,
) -> Result<Facts, DiscoveryError> {
    let mut facts = Facts {
        deployment_id: deployment_id.to_owned(),
        deployment: deployments.deployment(deployment_id).await?,
        ..Facts::default()
    };
    if is_lambda(&facts) {
        facts.targets = deployments.targets(deployment_id).await?;
        return Ok(facts);
    }
    if decide::deployment(&facts).is_err() {
        return Ok(facts);
    }
    facts.targets = deployments.targets(deployment_id).await?;
    if decide::target(&facts).is_err() {
        return Ok(facts);
    }
    if let Some(d) = facts.deployment.as_ref().filter(|d| decide::reads_group(d)) {
        facts.group = match deployments
            .group_traffic_pair(&d.application, &d.deployment_group)
            .await
        {
            Ok(pair) => GroupLookup::Found(pair),
            Err(e) => GroupLookup::Failed(e),
        };
    }
    let pair = decide::target(&facts)
        .and_then(|t| decide::traffic_pair(&facts, &t, needs_test_listener, &mut Vec::new()));
    let Ok(pair) = pair else {
        return Ok(facts);
    };
    facts.target_groups = load_balancer.target_groups(&pair.target_groups).await?;
    if decide::pair_groups(&facts, &pair).is_err() {
        return Ok(facts);
    }
    let mut listener_arns = pair.production_listeners.clone();
    listener_arns.extend(pair.test_listeners.iter().cloned());
    facts.listeners = load_balancer.listeners(&listener_arns).await?;
    let lb_arn = decide::partial(&facts, needs_test_listener)
        .ok()
        .and_then(|p| decide::load_balancer_to_read(&p));
    if let Some(arn) = lb_arn {
        facts.load_balancer = load_balancer.load_balancer(&arn).await?;
    }
    Ok(facts)
}

#[cfg(test)]
#[path = "discovery_test.rs"]
mod tests;
