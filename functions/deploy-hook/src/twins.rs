//! In-memory twins of the ports, for the unit tests of discovery and of the orchestration:
//! state behind a `Mutex`, every call recorded, and knobs to make an operation fail. [`Twins`]
//! names them all (with the ECS and Lambda twins of `twins_ecs` and `twins_lambda`).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use codehooks::Result;

use codehooks::alert::MemoryPublisher;
use codehooks::once::MemoryOnceStore;

use crate::facts::{
    Decision, DeploymentFacts, DeploymentTarget, ListenerFacts, LoadBalancerFacts, Reported,
    RuleFacts, TargetGroup, TargetHealthFact, TrafficPair,
};
use crate::ports::{Deployments, LoadBalancer, Ports};
use crate::twin_faults::{Faults, lock, twin_error};
use crate::twins_ecs::MemoryServices;
use crate::twins_lambda::{MemoryFunctions, MemoryMetrics};
use crate::twins_pipeline::MemoryJobs;

/// Every port in memory.
#[derive(Debug)]
pub struct Twins;

impl Ports for Twins {
    type Deployments = MemoryDeployments;
    type LoadBalancer = MemoryLoadBalancer;
    type Services = MemoryServices;
    type Functions = MemoryFunctions;
    type Metrics = MemoryMetrics;
    type Jobs = MemoryJobs;
    type Alerts = MemoryPublisher;
    type Once = MemoryOnceStore;
}

#[derive(Debug, Default)]
struct DeploymentsState {
    deployments: HashMap<String, DeploymentFacts>,
    targets: HashMap<String, Vec<DeploymentTarget>>,
    groups: HashMap<(String, String), Option<TrafficPair>>,
    statuses: HashMap<(String, String), Decision>,
    calls: Vec<String>,
    faults: Faults,
    /// Status reports that take effect but whose answer is lost, and whether the error the
    /// caller gets is retryable (a timeout) or not (the process dies with it).
    lost_answers: (u32, bool),
}

/// The deployment service in memory.
#[derive(Debug, Default)]
pub struct MemoryDeployments {
    state: Mutex<DeploymentsState>,
}

impl MemoryDeployments {
    pub fn new() -> MemoryDeployments {
        MemoryDeployments::default()
    }

    /// Adds a deployment and its targets.
    pub fn add(&self, id: &str, facts: DeploymentFacts, targets: Vec<DeploymentTarget>) {
        let mut s = lock(&self.state);
        s.deployments.insert(id.to_owned(), facts);
        s.targets.insert(id.to_owned(), targets);
    }

    /// Adds a deployment group and its target group pair.
    pub fn add_group(&self, application: &str, group: &str, pair: Option<TrafficPair>) {
        lock(&self.state)
            .groups
            .insert((application.to_owned(), group.to_owned()), pair);
    }

    /// Makes the next `times` calls of `operation` (`GetDeployment`, `ListDeploymentTargets`,
    /// `GetDeploymentGroup`, `PutLifecycleEventHookExecutionStatus`) fail.
    pub fn fail(&self, operation: &'static str, times: u32, retryable: bool) {
        lock(&self.state)
            .faults
            .0
            .insert(operation, (times, retryable));
    }

    /// The next `times` status reports take effect, but their answer is lost: the caller gets
    /// an error, retryable (a timeout, a connection reset after the call) or not (standing for
    /// a crash right after the call: the invocation ends there).
    pub fn lose_report_answers(&self, times: u32, retryable: bool) {
        lock(&self.state).lost_answers = (times, retryable);
    }

    /// The operations called so far, with their main argument (`GetDeployment d-1`).
    pub fn calls(&self) -> Vec<String> {
        lock(&self.state).calls.clone()
    }

    /// The status reported for a hook execution.
    pub fn status(&self, id: &str, hook_execution_id: &str) -> Option<Decision> {
        lock(&self.state)
            .statuses
            .get(&(id.to_owned(), hook_execution_id.to_owned()))
            .copied()
    }

    fn call(&self, operation: &'static str, arg: &str) -> Result<MutexGuard<'_, DeploymentsState>> {
        let mut s = lock(&self.state);
        s.calls.push(format!("{operation} {arg}"));
        s.faults.take(operation)?;
        Ok(s)
    }
}

impl Deployments for MemoryDeployments {
    async fn deployment(&self, deployment_id: &str) -> Result<Option<DeploymentFacts>> {
        let s = self.call("GetDeployment", deployment_id)?;
        match s.deployments.get(deployment_id) {
            Some(d) => Ok(Some(d.clone())),
            None => Err(twin_error(
                "GetDeployment",
                "DeploymentDoesNotExistException",
                false,
            )),
        }
    }

    async fn targets(&self, deployment_id: &str) -> Result<Vec<DeploymentTarget>> {
        let s = self.call("ListDeploymentTargets", deployment_id)?;
        Ok(s.targets.get(deployment_id).cloned().unwrap_or_default())
    }

    async fn group_traffic_pair(
        &self,
        application: &str,
        deployment_group: &str,
    ) -> Result<Option<TrafficPair>> {
        let s = self.call(
            "GetDeploymentGroup",
            &format!("{application}/{deployment_group}"),
        )?;
        s.groups
            .get(&(application.to_owned(), deployment_group.to_owned()))
            .cloned()
            .ok_or_else(|| {
                twin_error(
                    "GetDeploymentGroup",
                    "DeploymentGroupDoesNotExistException",
                    false,
                )
            })
    }

    async fn report(
        &self,
        deployment_id: &str,
        hook_execution_id: &str,
        status: Decision,
    ) -> Result<Reported> {
        let mut s = self.call(
            "PutLifecycleEventHookExecutionStatus",
            &format!("{deployment_id} {hook_execution_id} {}", status.as_str()),
        )?;
        let key = (deployment_id.to_owned(), hook_execution_id.to_owned());
        if s.statuses.contains_key(&key) {
            return Ok(Reported::AlreadyCompleted);
        }
        s.statuses.insert(key, status);
        if s.lost_answers.0 > 0 {
            s.lost_answers.0 -= 1;
            return Err(twin_error(
                "PutLifecycleEventHookExecutionStatus",
                "RequestTimeout",
                s.lost_answers.1,
            ));
        }
        Ok(Reported::Reported)
    }
}

#[derive(Debug, Default)]
struct LoadBalancerState {
    target_groups: Vec<TargetGroup>,
    listeners: Vec<ListenerFacts>,
    load_balancers: Vec<LoadBalancerFacts>,
    rules: Vec<RuleFacts>,
    /// Per target group ARN, the answers in turn; the last one repeats.
    health: HashMap<String, VecDeque<Vec<TargetHealthFact>>>,
    calls: Vec<String>,
    faults: Faults,
}

/// The load balancer in memory.
#[derive(Debug, Default)]
pub struct MemoryLoadBalancer {
    state: Mutex<LoadBalancerState>,
}

impl MemoryLoadBalancer {
    pub fn new() -> MemoryLoadBalancer {
        MemoryLoadBalancer::default()
    }

    pub fn add_target_group(&self, name: &str, arn: &str) {
        lock(&self.state).target_groups.push(TargetGroup {
            name: name.to_owned(),
            arn: arn.to_owned(),
        });
    }

    pub fn add_listener(&self, listener: ListenerFacts) {
        lock(&self.state).listeners.push(listener);
    }

    pub fn add_load_balancer(&self, lb: LoadBalancerFacts) {
        lock(&self.state).load_balancers.push(lb);
    }

    /// Adds a listener rule, or replaces the one with its ARN (ECS rewrites the weights).
    pub fn set_rule(&self, rule: RuleFacts) {
        let mut s = lock(&self.state);
        s.rules.retain(|r| r.arn != rule.arn);
        s.rules.push(rule);
    }

    /// Queues one `DescribeTargetHealth` answer for a target group (the last one repeats).
    pub fn push_health(&self, target_group_arn: &str, targets: Vec<TargetHealthFact>) {
        lock(&self.state)
            .health
            .entry(target_group_arn.to_owned())
            .or_default()
            .push_back(targets);
    }

    /// Makes the next `times` calls of `operation` (`DescribeTargetGroups`, `DescribeListeners`,
    /// `DescribeLoadBalancers`, `DescribeTargetHealth`) fail.
    pub fn fail(&self, operation: &'static str, times: u32, retryable: bool) {
        lock(&self.state)
            .faults
            .0
            .insert(operation, (times, retryable));
    }

    pub fn calls(&self) -> Vec<String> {
        lock(&self.state).calls.clone()
    }

    fn call(
        &self,
        operation: &'static str,
        arg: &str,
    ) -> Result<MutexGuard<'_, LoadBalancerState>> {
        let mut s = lock(&self.state);
        s.calls.push(format!("{operation} {arg}"));
        s.faults.take(operation)?;
        Ok(s)
    }
}

impl LoadBalancer for MemoryLoadBalancer {
    async fn target_groups(&self, names: &[String]) -> Result<Vec<TargetGroup>> {
        let s = self.call("DescribeTargetGroups", &names.join(","))?;
        names
            .iter()
            .map(|n| {
                s.target_groups
                    .iter()
                    .find(|t| &t.name == n)
                    .cloned()
                    .ok_or_else(|| twin_error("DescribeTargetGroups", "TargetGroupNotFound", false))
            })
            .collect()
    }

    async fn listeners(&self, arns: &[String]) -> Result<Vec<ListenerFacts>> {
        let s = self.call("DescribeListeners", &arns.join(","))?;
        arns.iter()
            .map(|a| {
                s.listeners
                    .iter()
                    .find(|l| &l.arn == a)
                    .cloned()
                    .ok_or_else(|| twin_error("DescribeListeners", "ListenerNotFound", false))
            })
            .collect()
    }

    async fn load_balancer(&self, arn: &str) -> Result<Option<LoadBalancerFacts>> {
        let s = self.call("DescribeLoadBalancers", arn)?;
        Ok(s.load_balancers.iter().find(|l| l.arn == arn).cloned())
    }

    async fn target_health(&self, target_group_arn: &str) -> Result<Vec<TargetHealthFact>> {
        let mut s = self.call("DescribeTargetHealth", target_group_arn)?;
        let Some(queue) = s.health.get_mut(target_group_arn) else {
            return Err(twin_error(
                "DescribeTargetHealth",
                "TargetGroupNotFound",
                false,
            ));
        };
        let answer = if queue.len() > 1 {
            queue.pop_front()
        } else {
            queue.front().cloned()
        };
        Ok(answer.unwrap_or_default())
    }

    async fn rules(&self, arns: &[String]) -> Result<Vec<RuleFacts>> {
        let s = self.call("DescribeRules", &arns.join(","))?;
        arns.iter()
            .map(|a| {
                s.rules
                    .iter()
                    .find(|r| &r.arn == a)
                    .cloned()
                    .ok_or_else(|| twin_error("DescribeRules", "RuleNotFound", false))
            })
            .collect()
    }
}

impl crate::app::App<Twins> {
    /// The function over fresh twins: `settings`, alerts in memory, no once-only table, the
    /// region `us-east-1`, a valid configuration.
    pub fn over_twins(settings: crate::config::Config) -> crate::app::App<Twins> {
        crate::app::App {
            metrics_namespace: "test".into(),
            settings,
            deployments: MemoryDeployments::new(),
            load_balancer: MemoryLoadBalancer::new(),
            services: MemoryServices::new(),
            functions: MemoryFunctions::new(),
            jobs: MemoryJobs::new(),
            metrics: MemoryMetrics::new(),
            alerts: Some(MemoryPublisher::new()),
            once: None,
            region: Some("us-east-1".into()),
            config_error: None,
        }
    }
}
