//! The in-memory twin of [`Services`] (Amazon ECS): revisions and service deployments by ARN,
//! every call recorded, and failures on demand.

use std::sync::Mutex;

use codehooks::Result;

use crate::facts::{ServiceDeploymentFacts, ServiceFacts, ServiceRevisionFacts};
use crate::ports::Services;
use crate::twin_faults::{Faults, lock};

#[derive(Debug, Default)]
struct ServicesState {
    revisions: Vec<ServiceRevisionFacts>,
    deployments: Vec<ServiceDeploymentFacts>,
    /// `(cluster, service)` → the service.
    services: Vec<(String, ServiceFacts)>,
    calls: Vec<String>,
    faults: Faults,
}

/// Amazon ECS in memory.
#[derive(Debug, Default)]
pub struct MemoryServices {
    state: Mutex<ServicesState>,
}

impl MemoryServices {
    pub fn new() -> MemoryServices {
        MemoryServices::default()
    }

    /// Adds a revision, or replaces the one with its ARN.
    pub fn set_revision(&self, revision: ServiceRevisionFacts) {
        let mut s = lock(&self.state);
        s.revisions.retain(|r| r.arn != revision.arn);
        s.revisions.push(revision);
    }

    /// Adds a service deployment, or replaces the one with its ARN.
    pub fn set_deployment(&self, deployment: ServiceDeploymentFacts) {
        let mut s = lock(&self.state);
        s.deployments.retain(|d| d.arn != deployment.arn);
        s.deployments.push(deployment);
    }

    /// Adds a service of `cluster`, or replaces the one with its name.
    pub fn set_service(&self, cluster: &str, service: ServiceFacts) {
        let mut s = lock(&self.state);
        s.services
            .retain(|(c, x)| !(c == cluster && x.name == service.name));
        s.services.push((cluster.to_owned(), service));
    }

    /// Makes the next `times` calls of `operation` (`DescribeServiceRevisions`,
    /// `DescribeServiceDeployments`, `DescribeServices`) fail.
    pub fn fail(&self, operation: &'static str, times: u32, retryable: bool) {
        lock(&self.state)
            .faults
            .0
            .insert(operation, (times, retryable));
    }

    pub fn calls(&self) -> Vec<String> {
        lock(&self.state).calls.clone()
    }
}

impl Services for MemoryServices {
    async fn service_revisions(&self, arns: &[String]) -> Result<Vec<ServiceRevisionFacts>> {
        let mut s = lock(&self.state);
        s.calls
            .push(format!("DescribeServiceRevisions {}", arns.join(",")));
        s.faults.take("DescribeServiceRevisions")?;
        Ok(s.revisions
            .iter()
            .filter(|r| arns.contains(&r.arn))
            .cloned()
            .collect())
    }

    async fn service_deployment(&self, arn: &str) -> Result<Option<ServiceDeploymentFacts>> {
        let mut s = lock(&self.state);
        s.calls.push(format!("DescribeServiceDeployments {arn}"));
        s.faults.take("DescribeServiceDeployments")?;
        Ok(s.deployments.iter().find(|d| d.arn == arn).cloned())
    }

    async fn service(&self, cluster: &str, service: &str) -> Result<Option<ServiceFacts>> {
        let mut s = lock(&self.state);
        s.calls
            .push(format!("DescribeServices {cluster}/{service}"));
        s.faults.take("DescribeServices")?;
        Ok(s.services
            .iter()
            .find(|(c, x)| c == cluster && (x.name == service || x.arn == service))
            .map(|(_, x)| x.clone()))
    }
}
