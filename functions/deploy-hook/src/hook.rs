//! The lifecycle hooks and stages this function verifies, the platform they belong to, and the
//! listener each one's probes go through.
//!
//! CodeDeploy names its hooks after lifecycle events (`AfterAllowTestTraffic`...), for ECS and
//! Lambda deployments alike; Amazon ECS's own blue/green deployments name stages
//! (`POST_TEST_TRAFFIC_SHIFT`...). The policy's `hooks` map takes both spellings.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A lifecycle hook (CodeDeploy) or lifecycle stage (Amazon ECS) that runs this function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Hook {
    BeforeInstall,
    AfterInstall,
    AfterAllowTestTraffic,
    BeforeAllowTraffic,
    AfterAllowTraffic,
    #[serde(rename = "RECONCILE_SERVICE")]
    ReconcileService,
    #[serde(rename = "PRE_SCALE_UP")]
    PreScaleUp,
    #[serde(rename = "POST_SCALE_UP")]
    PostScaleUp,
    #[serde(rename = "TEST_TRAFFIC_SHIFT")]
    TestTrafficShift,
    #[serde(rename = "POST_TEST_TRAFFIC_SHIFT")]
    PostTestTrafficShift,
    #[serde(rename = "PRE_PRODUCTION_TRAFFIC_SHIFT")]
    PreProductionTrafficShift,
    #[serde(rename = "PRODUCTION_TRAFFIC_SHIFT")]
    ProductionTrafficShift,
    #[serde(rename = "POST_PRODUCTION_TRAFFIC_SHIFT")]
    PostProductionTrafficShift,
}

impl Hook {
    /// CodeDeploy's hooks (ECS deployments; Lambda deployments use the two traffic hooks).
    pub const CODEDEPLOY: [Hook; 5] = [
        Hook::BeforeInstall,
        Hook::AfterInstall,
        Hook::AfterAllowTestTraffic,
        Hook::BeforeAllowTraffic,
        Hook::AfterAllowTraffic,
    ];

    /// Amazon ECS's lifecycle stages, in the order a deployment passes them.
    pub const ECS_STAGES: [Hook; 8] = [
        Hook::ReconcileService,
        Hook::PreScaleUp,
        Hook::PostScaleUp,
        Hook::TestTrafficShift,
        Hook::PostTestTrafficShift,
        Hook::PreProductionTrafficShift,
        Hook::ProductionTrafficShift,
        Hook::PostProductionTrafficShift,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Hook::BeforeInstall => "BeforeInstall",
            Hook::AfterInstall => "AfterInstall",
            Hook::AfterAllowTestTraffic => "AfterAllowTestTraffic",
            Hook::BeforeAllowTraffic => "BeforeAllowTraffic",
            Hook::AfterAllowTraffic => "AfterAllowTraffic",
            Hook::ReconcileService => "RECONCILE_SERVICE",
            Hook::PreScaleUp => "PRE_SCALE_UP",
            Hook::PostScaleUp => "POST_SCALE_UP",
            Hook::TestTrafficShift => "TEST_TRAFFIC_SHIFT",
            Hook::PostTestTrafficShift => "POST_TEST_TRAFFIC_SHIFT",
            Hook::PreProductionTrafficShift => "PRE_PRODUCTION_TRAFFIC_SHIFT",
            Hook::ProductionTrafficShift => "PRODUCTION_TRAFFIC_SHIFT",
            Hook::PostProductionTrafficShift => "POST_PRODUCTION_TRAFFIC_SHIFT",
        }
    }

    /// A CodeDeploy hook by its lifecycle event name.
    pub fn parse(name: &str) -> Option<Hook> {
        Hook::CODEDEPLOY.into_iter().find(|h| h.as_str() == name)
    }

    /// An Amazon ECS lifecycle stage by its name.
    pub fn parse_stage(name: &str) -> Option<Hook> {
        Hook::ECS_STAGES.into_iter().find(|h| h.as_str() == name)
    }

    /// Whether this is one of Amazon ECS's lifecycle stages.
    pub fn is_ecs_stage(self) -> bool {
        Hook::ECS_STAGES.contains(&self)
    }

    /// Which listener carries the traffic this hook checks (`None`: no HTTP probes possible).
    pub fn listener(self) -> Option<ListenerRole> {
        match self {
            Hook::AfterAllowTestTraffic | Hook::BeforeAllowTraffic | Hook::PostTestTrafficShift => {
                Some(ListenerRole::Test)
            }
            Hook::AfterAllowTraffic | Hook::PostProductionTrafficShift => {
                Some(ListenerRole::Production)
            }
            _ => None,
        }
    }

    /// Whether the production traffic already moved to green when this hook runs.
    pub fn after_traffic_shift(self) -> bool {
        matches!(
            self,
            Hook::AfterAllowTraffic | Hook::PostProductionTrafficShift
        )
    }
}

/// The kind of deployment a hook belongs to: how it is found, how probes are aimed, and how the
/// verdict is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Platform {
    /// CodeDeploy's ECS blue/green deployment: status reported to CodeDeploy.
    CodeDeployEcs,
    /// Amazon ECS's own blue/green (linear, canary) deployment: status returned as `hookStatus`.
    EcsNative,
    /// CodeDeploy's Lambda deployment (alias traffic shifting): status reported to CodeDeploy.
    CodeDeployLambda,
    /// A CodePipeline Lambda invoke action verifying what an earlier stage deployed: the job
    /// answered through CodePipeline's API.
    Pipeline,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::CodeDeployEcs => "CodeDeploy ECS",
            Platform::EcsNative => "Amazon ECS",
            Platform::CodeDeployLambda => "CodeDeploy Lambda",
            Platform::Pipeline => "CodePipeline",
        }
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The listener a hook's probes go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ListenerRole {
    Test,
    Production,
}

impl ListenerRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ListenerRole::Test => "test",
            ListenerRole::Production => "production",
        }
    }
}
