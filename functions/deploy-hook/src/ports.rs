//! The hook's two ports, named by role: [`Deployments`] (CodeDeploy) and [`LoadBalancer`]
//! (ELBv2). They return plain facts ([`crate::facts`]); the SDK adapters are in [`crate::sdk`],
//! the in-memory twins in `twins` (compiled for the unit tests).

use std::future::Future;

use codehooks::Result;

use crate::facts::{
    Decision, DeploymentFacts, DeploymentTarget, ListenerFacts, LoadBalancerFacts, Reported,
    TargetGroup, TargetHealthFact, TrafficPair,
};

/// The deployment service: what a deployment is, and where a hook's status goes.
pub trait Deployments: Send + Sync {
    /// The deployment (`None` when the service returns no description of it).
    fn deployment(
        &self,
        deployment_id: &str,
    ) -> impl Future<Output = Result<Option<DeploymentFacts>>> + Send;

    /// Every target of the deployment (listed, then described).
    fn targets(
        &self,
        deployment_id: &str,
    ) -> impl Future<Output = Result<Vec<DeploymentTarget>>> + Send;

    /// The target group pair of a deployment group (`None` when it has none).
    fn group_traffic_pair(
        &self,
        application: &str,
        deployment_group: &str,
    ) -> impl Future<Output = Result<Option<TrafficPair>>> + Send;

    /// Sets a lifecycle hook's status; a status already set is [`Reported::AlreadyCompleted`].
    fn report(
        &self,
        deployment_id: &str,
        hook_execution_id: &str,
        status: Decision,
    ) -> impl Future<Output = Result<Reported>> + Send;
}

/// The load balancer in front of the service: target groups, listeners, target health.
pub trait LoadBalancer: Send + Sync {
    /// The target groups with these names (the service fails on a name it does not know).
    fn target_groups(
        &self,
        names: &[String],
    ) -> impl Future<Output = Result<Vec<TargetGroup>>> + Send;

    /// The listeners with these ARNs.
    fn listeners(&self, arns: &[String])
    -> impl Future<Output = Result<Vec<ListenerFacts>>> + Send;

    /// The load balancer with this ARN (`None` when the answer lists none).
    fn load_balancer(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<LoadBalancerFacts>>> + Send;

    /// The registered targets of a target group and their health.
    fn target_health(
        &self,
        target_group_arn: &str,
    ) -> impl Future<Output = Result<Vec<TargetHealthFact>>> + Send;
}
