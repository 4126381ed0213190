//! The SDK adapter of [`Services`] (Amazon ECS): the only code that touches the ECS client.
//! The conversions from the SDK's types to the plain facts are plain functions
//! ([`revision_facts`], [`deployment_facts`]), tested on values the SDK builds. An ARN ECS
//! does not know comes back as a `failures[]` entry, not an error: it is left out.

use aws_sdk_ecs::types as ecs;
use codehooks::{Error, Result};

use crate::facts::{
    ResolvedLoadBalancer, RevisionLoadBalancer, RollingDeployment, ServiceDeploymentFacts,
    ServiceFacts, ServiceRevisionFacts,
};
use crate::ports::Services;

/// The most ARNs one Describe call takes.
const BATCH: usize = 20;

/// [`Services`] over the ECS client.
#[derive(Debug, Clone)]
pub struct SdkServices {
    pub client: aws_sdk_ecs::Client,
}

impl SdkServices {
    pub fn new(sdk: &aws_config::SdkConfig) -> SdkServices {
        SdkServices {
            client: aws_sdk_ecs::Client::new(sdk),
        }
    }
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_owned)
}

/// One `loadBalancers[]` entry of a revision.
pub fn revision_load_balancer(lb: &ecs::LoadBalancer) -> RevisionLoadBalancer {
    let advanced = lb.advanced_configuration();
    RevisionLoadBalancer {
        target_group_arn: owned(lb.target_group_arn()),
        container_name: owned(lb.container_name()),
        container_port: lb.container_port(),
        alternate_target_group_arn: owned(advanced.and_then(|a| a.alternate_target_group_arn())),
        production_listener_rule: owned(advanced.and_then(|a| a.production_listener_rule())),
        test_listener_rule: owned(advanced.and_then(|a| a.test_listener_rule())),
    }
}

/// A service revision.
pub fn revision_facts(r: &ecs::ServiceRevision) -> ServiceRevisionFacts {
    ServiceRevisionFacts {
        arn: r.service_revision_arn().unwrap_or_default().to_owned(),
        service_arn: owned(r.service_arn()),
        cluster_arn: owned(r.cluster_arn()),
        task_definition: owned(r.task_definition()),
        load_balancers: r
            .load_balancers()
            .iter()
            .map(revision_load_balancer)
            .collect(),
        resolved: r.resolved_configuration().map(|c| {
            c.load_balancers()
                .iter()
                .map(|l| ResolvedLoadBalancer {
                    target_group_arn: owned(l.target_group_arn()),
                    production_listener_rule: owned(l.production_listener_rule()),
                })
                .collect()
        }),
    }
}

/// A service deployment.
pub fn deployment_facts(d: &ecs::ServiceDeployment) -> ServiceDeploymentFacts {
    let target = d.target_service_revision();
    ServiceDeploymentFacts {
        arn: d.service_deployment_arn().unwrap_or_default().to_owned(),
        target_revision_arn: owned(target.and_then(|t| t.arn())),
        // The SDK reads an absent count as 0.
        target_requested_count: target.map(|t| i64::from(t.requested_task_count())),
    }
}

/// A service and its deployments (`DescribeServices`).
pub fn service_facts(s: &ecs::Service) -> ServiceFacts {
    ServiceFacts {
        arn: s.service_arn().unwrap_or_default().to_owned(),
        name: s.service_name().unwrap_or_default().to_owned(),
        status: owned(s.status()),
        desired_count: i64::from(s.desired_count()),
        running_count: i64::from(s.running_count()),
        deployments: s
            .deployments()
            .iter()
            .map(|d| RollingDeployment {
                id: d.id().unwrap_or_default().to_owned(),
                status: d.status().unwrap_or_default().to_owned(),
                task_definition: owned(d.task_definition()),
                desired_count: i64::from(d.desired_count()),
                running_count: i64::from(d.running_count()),
                pending_count: i64::from(d.pending_count()),
                failed_tasks: i64::from(d.failed_tasks()),
                rollout_state: d.rollout_state().map(|r| r.as_str().to_owned()),
                rollout_state_reason: owned(d.rollout_state_reason()),
            })
            .collect(),
    }
}

/// Logs the `failures[]` of a Describe call (ARNs ECS does not know, or could not describe).
fn log_failures(operation: &str, failures: &[ecs::Failure]) {
    for f in failures {
        tracing::warn!(
            operation,
            arn = f.arn().unwrap_or_default(),
            reason = f.reason().unwrap_or_default(),
            detail = f.detail().unwrap_or_default(),
            "Amazon ECS could not describe it"
        );
    }
}

impl Services for SdkServices {
    async fn service_revisions(&self, arns: &[String]) -> Result<Vec<ServiceRevisionFacts>> {
        let mut out = Vec::new();
        for chunk in arns.chunks(BATCH) {
            let resp = self
                .client
                .describe_service_revisions()
                .set_service_revision_arns(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| Error::aws("DescribeServiceRevisions", e))?;
            log_failures("DescribeServiceRevisions", resp.failures());
            out.extend(resp.service_revisions().iter().map(revision_facts));
        }
        Ok(out)
    }

    async fn service_deployment(&self, arn: &str) -> Result<Option<ServiceDeploymentFacts>> {
        let resp = self
            .client
            .describe_service_deployments()
            .service_deployment_arns(arn)
            .send()
            .await
            .map_err(|e| Error::aws("DescribeServiceDeployments", e))?;
        log_failures("DescribeServiceDeployments", resp.failures());
        Ok(resp
            .service_deployments()
            .iter()
            .find(|d| d.service_deployment_arn() == Some(arn))
            .map(deployment_facts))
    }

    async fn service(&self, cluster: &str, service: &str) -> Result<Option<ServiceFacts>> {
        let resp = self
            .client
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .map_err(|e| Error::aws("DescribeServices", e));
        // A cluster ECS does not know has no such service either.
        let resp = match resp {
            Err(e) if e.aws_code() == Some("ClusterNotFoundException") => return Ok(None),
            other => other?,
        };
        log_failures("DescribeServices", resp.failures());
        let wanted = |s: &&ecs::Service| {
            s.service_name() == Some(service) || s.service_arn() == Some(service)
        };
        Ok(resp.services().iter().find(wanted).map(service_facts))
    }
}

#[cfg(test)]
#[path = "sdk_ecs_test.rs"]
mod tests;
