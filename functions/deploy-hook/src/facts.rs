//! Plain facts about a deployment and its load balancer, as the ports return them: no SDK types,
//! so discovery's decision ([`crate::decide`]) is a pure function of these values.

use codehooks::Error;
use serde::Serialize;

/// The compute platform of a CodeDeploy deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComputePlatform {
    Server,
    Lambda,
    Ecs,
    /// A platform this version does not know (the name CodeDeploy gave).
    Other(String),
}

impl ComputePlatform {
    /// The platform from CodeDeploy's name for it.
    pub fn parse(name: &str) -> ComputePlatform {
        match name {
            "Server" => ComputePlatform::Server,
            "Lambda" => ComputePlatform::Lambda,
            "ECS" => ComputePlatform::Ecs,
            other => ComputePlatform::Other(other.to_owned()),
        }
    }

    /// CodeDeploy's name of the platform.
    pub fn as_str(&self) -> &str {
        match self {
            ComputePlatform::Server => "Server",
            ComputePlatform::Lambda => "Lambda",
            ComputePlatform::Ecs => "ECS",
            ComputePlatform::Other(name) => name,
        }
    }

    /// Whether the ECS discovery ([`crate::decide`]) can verify deployments of the platform
    /// (Lambda deployments have their own, [`crate::lambda`]).
    pub fn is_verifiable(&self) -> bool {
        matches!(self, ComputePlatform::Ecs)
    }
}

/// The target groups and listeners of a blue/green deployment (`targetGroupPairInfoList[0]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficPair {
    pub target_groups: Vec<String>,
    pub production_listeners: Vec<String>,
    pub test_listeners: Vec<String>,
}

/// What `GetDeployment` says about a deployment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeploymentFacts {
    /// `None` when CodeDeploy does not say.
    pub platform: Option<ComputePlatform>,
    pub application: String,
    pub deployment_group: String,
    /// The AppSpec content of the revision, when it is given inline.
    pub appspec: Option<String>,
    /// The deployment's own `loadBalancerInfo` target group pair.
    pub traffic_pair: Option<TrafficPair>,
}

/// One lifecycle event of a deployment target and its status (`InProgress`, `Succeeded`...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleEvent {
    pub name: String,
    pub status: String,
    /// When it started and ended (epoch milliseconds), when CodeDeploy says.
    pub started_ms: Option<i64>,
    pub ended_ms: Option<i64>,
}

impl LifecycleEvent {
    pub fn new(name: &str, status: &str) -> LifecycleEvent {
        LifecycleEvent {
            name: name.to_owned(),
            status: status.to_owned(),
            started_ms: None,
            ended_ms: None,
        }
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

/// A deployment target, by shape.
#[derive(Debug, Clone, PartialEq)]
pub enum DeploymentTarget {
    /// An ECS service (`ecsTarget`): lifecycle events and task sets.
    Ecs {
        target_id: String,
        lifecycle: Vec<LifecycleEvent>,
        task_sets: Vec<TaskSet>,
    },
    /// A CloudFormation blue/green stack (`cloudFormationTarget`): no task sets.
    CloudFormation {
        target_id: String,
        lifecycle: Vec<LifecycleEvent>,
    },
    /// A Lambda function's alias (`lambdaTarget`): the versions it shifts between.
    Lambda {
        target_id: String,
        lifecycle: Vec<LifecycleEvent>,
        function: LambdaFunctionInfo,
    },
    /// Any other target (`InstanceTarget`...): its type name.
    Other(String),
}

/// The function of a Lambda deployment target (`lambdaFunctionInfo`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LambdaFunctionInfo {
    pub function_name: String,
    pub alias: Option<String>,
    pub current_version: Option<String>,
    pub target_version: Option<String>,
    pub target_version_weight: Option<f64>,
}

/// A target group by name and ARN.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetGroup {
    pub name: String,
    pub arn: String,
}

/// A target group a forward action sends to, with its weight when one is given.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedTargetGroup {
    pub arn: Option<String>,
    pub weight: Option<i32>,
}

/// One default action of a listener.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListenerAction {
    /// The action type as ELB names it (`forward`, `redirect`, `fixed-response`...).
    pub kind: String,
    /// The single target group of a simple forward action.
    pub target_group_arn: Option<String>,
    /// The target groups of a forward action's `ForwardConfig`.
    pub weighted: Vec<WeightedTargetGroup>,
}

impl ListenerAction {
    /// A simple forward action to one target group.
    pub fn forward(target_group_arn: &str) -> ListenerAction {
        ListenerAction {
            kind: "forward".into(),
            target_group_arn: Some(target_group_arn.to_owned()),
            weighted: Vec::new(),
        }
    }
}

/// What `DescribeListeners` says about one listener.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListenerFacts {
    pub arn: String,
    /// `HTTP`, `HTTPS`, `TCP`...
    pub protocol: Option<String>,
    pub port: Option<i32>,
    pub load_balancer_arn: Option<String>,
    pub default_actions: Vec<ListenerAction>,
}

/// The kind of a load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadBalancerKind {
    Application,
    Network,
    Gateway,
    Other(String),
}

impl LoadBalancerKind {
    pub fn parse(name: &str) -> LoadBalancerKind {
        match name {
            "application" => LoadBalancerKind::Application,
            "network" => LoadBalancerKind::Network,
            "gateway" => LoadBalancerKind::Gateway,
            other => LoadBalancerKind::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            LoadBalancerKind::Application => "application",
            LoadBalancerKind::Network => "network",
            LoadBalancerKind::Gateway => "gateway",
            LoadBalancerKind::Other(name) => name,
        }
    }
}

/// What `DescribeLoadBalancers` says about one load balancer.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalancerFacts {
    pub arn: String,
    pub name: Option<String>,
    pub kind: Option<LoadBalancerKind>,
    pub dns_name: String,
}

/// One registered target and its health, as `DescribeTargetHealth` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetHealthFact {
    pub id: String,
    pub port: Option<i32>,
    /// `healthy`, `unhealthy`, `initial`, `draining`... (`None` when not reported).
    pub state: Option<String>,
    /// `Target.ResponseCodeMismatch`, `Target.Timeout`...
    pub reason: Option<String>,
    pub description: Option<String>,
}

/// What reporting a hook status did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    /// The status is now set.
    Reported,
    /// CodeDeploy already had a status for the hook (a repeated invocation): nothing changed.
    AlreadyCompleted,
}

impl Reported {
    pub fn as_str(self) -> &'static str {
        match self {
            Reported::Reported => "reported",
            Reported::AlreadyCompleted => "alreadyCompleted",
        }
    }
}

/// The status reported to CodeDeploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Decision {
    Succeeded,
    Failed,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Succeeded => "Succeeded",
            Decision::Failed => "Failed",
        }
    }
}

/// The result of reading the deployment group's target group pair.
#[derive(Debug, Default)]
pub enum GroupLookup {
    /// Not read (the deployment names no application or group, or discovery stopped before).
    #[default]
    NotAsked,
    /// The group's pair (`None`: the group has no `loadBalancerInfo`).
    Found(Option<TrafficPair>),
    /// `GetDeploymentGroup` failed.
    Failed(Error),
}

/// Everything discovery read, in the order it reads it; later fields stay empty when an
/// earlier fact already decides that there is no plan.
#[derive(Debug, Default)]
pub struct Facts {
    pub deployment_id: String,
    /// `None`: `GetDeployment` returned no `deploymentInfo`.
    pub deployment: Option<DeploymentFacts>,
    pub targets: Vec<DeploymentTarget>,
    pub group: GroupLookup,
    pub target_groups: Vec<TargetGroup>,
    pub listeners: Vec<ListenerFacts>,
    /// The load balancer of the listener the probes go through.
    pub load_balancer: Option<LoadBalancerFacts>,
}

/// One load balancer entry of an ECS service revision (`loadBalancers[]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RevisionLoadBalancer {
    /// The configured target group: a label, not green (ECS swaps the pair per deployment).
    pub target_group_arn: Option<String>,
    pub container_name: Option<String>,
    pub container_port: Option<i32>,
    pub alternate_target_group_arn: Option<String>,
    pub production_listener_rule: Option<String>,
    pub test_listener_rule: Option<String>,
}

/// What serves a revision's traffic (`resolvedConfiguration.loadBalancers[]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResolvedLoadBalancer {
    pub target_group_arn: Option<String>,
    pub production_listener_rule: Option<String>,
}

/// What `DescribeServiceRevisions` says about one revision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceRevisionFacts {
    pub arn: String,
    pub service_arn: Option<String>,
    pub cluster_arn: Option<String>,
    pub task_definition: Option<String>,
    pub load_balancers: Vec<RevisionLoadBalancer>,
    /// `None`: the revision has no `resolvedConfiguration` (ECS gives it for active revisions).
    pub resolved: Option<Vec<ResolvedLoadBalancer>>,
}

/// What `DescribeServiceDeployments` says about one service deployment: what the checks read
/// (how many tasks green should have).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceDeploymentFacts {
    pub arn: String,
    pub target_revision_arn: Option<String>,
    pub target_requested_count: Option<i64>,
}

/// What `DescribeServices` says about a service of the rolling-update kind: its counts and its
/// deployments (the `PRIMARY` one is the newest).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceFacts {
    pub arn: String,
    pub name: String,
    pub status: Option<String>,
    pub desired_count: i64,
    pub running_count: i64,
    pub deployments: Vec<RollingDeployment>,
}

/// One entry of a service's `deployments[]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RollingDeployment {
    pub id: String,
    /// `PRIMARY`, `ACTIVE` or `INACTIVE`.
    pub status: String,
    pub task_definition: Option<String>,
    pub desired_count: i64,
    pub running_count: i64,
    pub pending_count: i64,
    pub failed_tasks: i64,
    /// `COMPLETED`, `IN_PROGRESS` or `FAILED` (absent for services that do not report it).
    pub rollout_state: Option<String>,
    pub rollout_state_reason: Option<String>,
}

/// How a CodePipeline job ends: success (with a continuation token while the work goes on) or
/// failure, each with what the action's execution shows.
#[derive(Debug, Clone, PartialEq)]
pub enum JobResult {
    Success {
        /// At most 2,048 characters.
        summary: String,
        external_id: String,
        /// Present while the verification goes on: CodePipeline invokes again with it.
        continuation_token: Option<String>,
        percent_complete: Option<i32>,
    },
    Failure {
        kind: JobFailure,
        /// At most 5,000 characters.
        message: String,
        external_id: String,
    },
}

/// `failureDetails.type` of a failed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobFailure {
    /// The new version failed the checks (or could not be checked).
    JobFailed,
    /// The action's `UserParameters` (or the function's configuration) is wrong.
    ConfigurationError,
}

impl JobFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            JobFailure::JobFailed => "JobFailed",
            JobFailure::ConfigurationError => "ConfigurationError",
        }
    }
}

/// One condition of a listener rule.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleCondition {
    HostHeader(Vec<String>),
    PathPattern(Vec<String>),
    HttpHeader {
        name: String,
        values: Vec<String>,
    },
    /// `(key, value)` pairs; a pair without a key matches the value alone.
    QueryString(Vec<(Option<String>, String)>),
    HttpRequestMethod(Vec<String>),
    SourceIp(Vec<String>),
    /// A field this version does not know.
    Other(String),
}

/// What `DescribeRules` says about one listener rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleFacts {
    pub arn: String,
    pub is_default: bool,
    pub priority: Option<String>,
    pub conditions: Vec<RuleCondition>,
    pub actions: Vec<ListenerAction>,
}

/// The answer of one synchronous Lambda invocation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InvokeResult {
    pub status: u16,
    /// `Unhandled`, `Handled`...: the function failed.
    pub function_error: Option<String>,
    pub executed_version: Option<String>,
    pub payload: Vec<u8>,
    /// Round trip, as the caller measured it.
    pub duration_ms: f64,
}

/// One CloudWatch metric to add up over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricQuery {
    /// Lower-case start, letters, digits and `_` (CloudWatch's rule for query ids).
    pub id: String,
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<(String, String)>,
    /// `Sum`, `Maximum`...
    pub stat: String,
    pub period_s: i32,
}

/// The total of one [`MetricQuery`] over the time asked.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSum {
    pub id: String,
    pub sum: f64,
    pub datapoints: usize,
}

/// Every value CloudWatch answered for one [`MetricQuery`] id (all pages, any order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricSeries {
    pub id: String,
    pub values: Vec<f64>,
}

/// Which alarms to read: by name, by name prefix, and those carrying all of `tags`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlarmSelector {
    pub names: Vec<String>,
    pub prefix: Option<String>,
    pub tags: std::collections::BTreeMap<String, String>,
}

/// One CloudWatch alarm (metric or composite) and its state.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmFacts {
    pub name: String,
    pub arn: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    pub reason: String,
    /// When the state last changed (epoch milliseconds).
    pub updated_ms: Option<i64>,
}
