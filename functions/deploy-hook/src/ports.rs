//! The hook's ports, named by role: [`Deployments`] (CodeDeploy), [`LoadBalancer`] (ELBv2),
//! [`Services`] (Amazon ECS), [`Functions`] (AWS Lambda), [`Metrics`] (CloudWatch) and [`Jobs`] (CodePipeline), with
//! [`Ports`] naming one implementation of each (and of the shared alert publisher and
//! once-only store). They return plain facts ([`crate::facts`]); the SDK adapters are in
//! [`crate::sdk`], [`crate::sdk_ecs`] and [`crate::sdk_lambda`], the in-memory twins in `twins`
//! (compiled for the unit tests).

use std::future::Future;

use codehooks::Result;
use codehooks::alert::AlertPublisher;
use codehooks::once::OnceOnlyStore;

use crate::facts::{
    AlarmFacts, AlarmSelector, Decision, DeploymentFacts, DeploymentTarget, InvokeResult,
    JobResult, ListenerFacts, LoadBalancerFacts, MetricQuery, MetricSeries, MetricSum, Reported,
    RuleFacts, ServiceDeploymentFacts, ServiceFacts, ServiceRevisionFacts, TargetGroup,
    TargetHealthFact, TrafficPair,
};

/// One implementation of each port: the SDK's in production, the twins in unit tests.
pub trait Ports: Send + Sync + 'static {
    type Deployments: Deployments;
    type LoadBalancer: LoadBalancer;
    type Services: Services;
    type Functions: Functions;
    type Metrics: Metrics;
    type Jobs: Jobs;
    type Alerts: AlertPublisher;
    type Once: OnceOnlyStore;
}

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

    /// The listener rules with these ARNs.
    fn rules(&self, arns: &[String]) -> impl Future<Output = Result<Vec<RuleFacts>>> + Send;
}

/// Amazon ECS: the revisions and deployments of a service.
pub trait Services: Send + Sync {
    /// The service revisions with these ARNs (at most 20; unknown ones are left out).
    fn service_revisions(
        &self,
        arns: &[String],
    ) -> impl Future<Output = Result<Vec<ServiceRevisionFacts>>> + Send;

    /// The service deployment with this ARN (`None` when ECS does not know it).
    fn service_deployment(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<ServiceDeploymentFacts>>> + Send;

    /// The service `service` of `cluster` (names or ARNs; `None` when ECS does not know it).
    fn service(
        &self,
        cluster: &str,
        service: &str,
    ) -> impl Future<Output = Result<Option<ServiceFacts>>> + Send;
}

/// CodePipeline's job worker side: the answer to one job of a Lambda invoke action.
pub trait Jobs: Send + Sync {
    /// Answers job `job_id`; a job that already has its answer is [`Reported::AlreadyCompleted`].
    fn answer(
        &self,
        job_id: &str,
        result: &JobResult,
    ) -> impl Future<Output = Result<Reported>> + Send;
}

/// AWS Lambda: synchronous invocations of one version of a function.
pub trait Functions: Send + Sync {
    /// Invokes `function` at `qualifier` (a version) with `payload` and waits for its answer.
    fn invoke(
        &self,
        function: &str,
        qualifier: &str,
        payload: &[u8],
    ) -> impl Future<Output = Result<InvokeResult>> + Send;
}

/// CloudWatch: metrics over a time range, and alarms.
pub trait Metrics: Send + Sync {
    /// Every value of each query from `start_ms` to `end_ms` (epoch milliseconds), in one
    /// `GetMetricData` call per page.
    fn series(
        &self,
        queries: &[MetricQuery],
        start_ms: i64,
        end_ms: i64,
    ) -> impl Future<Output = Result<Vec<MetricSeries>>> + Send;

    /// The alarms `selector` selects (metric and composite), with their states.
    fn alarms(
        &self,
        selector: &AlarmSelector,
    ) -> impl Future<Output = Result<Vec<AlarmFacts>>> + Send;

    /// The total of each query from `start_ms` to `end_ms` (epoch milliseconds).
    fn sums(
        &self,
        queries: &[MetricQuery],
        start_ms: i64,
        end_ms: i64,
    ) -> impl Future<Output = Result<Vec<MetricSum>>> + Send;
}
