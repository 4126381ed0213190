//! What discovery produces: the [`Plan`] of one hook run (which hook, which target group is
//! green, which listener the probes go through), and why there may be none ([`DiscoveryError`]).

use codehooks::Error;
use serde::Serialize;

use crate::facts::{TargetGroup, TaskSet};
use crate::hook::Platform;
use crate::policy::{Hook, ListenerRole};

/// Why discovery could not produce a plan.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// An AWS call failed after the SDK's retries.
    #[error(transparent)]
    Aws(Error),
    /// The deployment does not have a shape this hook supports (or the hook cannot tell).
    #[error("{0}")]
    Unsupported(String),
}

impl From<Error> for DiscoveryError {
    fn from(e: Error) -> Self {
        DiscoveryError::Aws(e)
    }
}

/// The shape of the deployment target the plan was found from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TargetType {
    /// An ECS service with task sets.
    #[serde(rename = "ECSTarget")]
    Ecs,
    /// A CloudFormation blue/green stack (`AWS::CodeDeployBlueGreen`): no task sets.
    #[serde(rename = "CloudFormationTarget")]
    CloudFormation,
    /// An ECS service deploying itself (Amazon ECS blue/green): revisions, no task sets.
    #[serde(rename = "ECSService")]
    EcsService,
}

impl TargetType {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetType::Ecs => "ECSTarget",
            TargetType::CloudFormation => "CloudFormationTarget",
            TargetType::EcsService => "ECSService",
        }
    }
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
    /// The load balancer's ARN (its CloudWatch dimension is the part after `loadbalancer/`).
    pub load_balancer_arn: String,
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

/// How the probes must look to match a listener rule's conditions (default: plain requests).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeShape {
    /// The rule whose conditions shaped the probes.
    pub rule_arn: Option<String>,
    /// The `Host` the rule wants (the probes' host name for TLS too).
    pub host: Option<String>,
    /// Headers every probe carries.
    pub headers: Vec<(String, String)>,
    /// Query parameters every probe carries.
    pub query: Vec<(String, String)>,
}

impl ProbeShape {
    pub fn is_empty(&self) -> bool {
        self.host.is_none() && self.headers.is_empty() && self.query.is_empty()
    }
}

/// Everything the checks need, found from the deployment alone.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub platform: Platform,
    /// The CodeDeploy deployment id, or the ECS service deployment ARN.
    pub deployment_id: String,
    pub application: String,
    pub deployment_group: String,
    pub hook: Hook,
    pub target_type: TargetType,
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
    /// `cluster/service` of an Amazon ECS deployment.
    pub service: Option<String>,
    /// The service revision being deployed (Amazon ECS).
    pub target_revision: Option<String>,
    /// How probes must look to match the probed rule's conditions.
    #[serde(skip_serializing_if = "ProbeShape::is_empty")]
    pub shape: ProbeShape,
    /// Remarks worth reading (fallbacks taken).
    pub notes: Vec<String>,
}

/// The probed listener does not serve green only; the message says what it serves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ListenerRefused(pub String);

/// Checks that the probed listener serves green and not blue; the error says what it serves.
pub fn verify_listener(plan: &Plan) -> Result<(), ListenerRefused> {
    let (Some(l), Some(green)) = (&plan.listener, &plan.green) else {
        return Ok(());
    };
    if let Some(blue) = &plan.blue
        && l.forwards_to.contains(&blue.arn)
    {
        return Err(ListenerRefused(format!(
            "the {} listener {} forwards to the blue target group {}; refusing to pass a test of blue",
            l.role.as_str(),
            l.arn,
            blue.name
        )));
    }
    if !l.forwards_to.contains(&green.arn) {
        return Err(ListenerRefused(format!(
            "the {} listener {} does not forward to the green target group {} (it forwards to: {})",
            l.role.as_str(),
            l.arn,
            green.name,
            if l.forwards_to.is_empty() {
                "nothing".to_owned()
            } else {
                l.forwards_to.join(", ")
            }
        )));
    }
    Ok(())
}
