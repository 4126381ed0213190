//! CodeDeploy's Lambda deployments (`computePlatform` `Lambda`; SAM's `DeploymentPreference`
//! `PreTraffic` / `PostTraffic` hooks): the alias shifts from the current version to the target
//! version, and the hook verifies the target version.
//!
//! - [`decide`]: from the deployment's facts to the [`LambdaPlan`] (the running hook, the
//!   function, its alias and versions, when the shift began), a pure function.
//! - [`policy`]: the policy's `lambda` section (test events and limits) and the effective
//!   [`policy::LambdaChecks`] of one hook run.
//! - [`invoke`]: the test events, each invoked on the target version (never `$LATEST`, never
//!   the alias) a number of times with bounded concurrency, and their pass criteria.
//! - [`metrics`]: after the shift, the target version's own `Errors` and `Throttles` in
//!   CloudWatch, so real traffic counts too.
//! - `run`: the checks in order, filling the evidence ([`LambdaEvidence`]).

pub mod compare;
pub mod decide;
pub mod invoke;
pub mod metrics;
pub mod policy;
mod run;

use serde::Serialize;

pub use decide::{LambdaPlan, decide};
pub use invoke::EventReport;
pub use metrics::MetricsReport;

/// Whether `s` is a plain Lambda function name: 1 to 64 letters, digits, `-` or `_` (no ARN,
/// no qualifier).
pub fn is_function_name(s: &str) -> bool {
    codehooks::names::is_name(s, 1, 64, "-_")
}

/// What the Lambda checks found (the evidence's `lambda` part).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaEvidence {
    pub function: String,
    pub alias: Option<String>,
    pub current_version: Option<String>,
    pub target_version: Option<String>,
    /// The share of the alias's traffic the target version had when the hook read it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_version_weight: Option<f64>,
    /// When the traffic shift began (epoch milliseconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shifted_at_ms: Option<i64>,
    /// The invocations of each test event.
    pub events: Vec<EventReport>,
    /// The target version's errors and throttles since the shift (`AfterAllowTraffic`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsReport>,
}

impl LambdaEvidence {
    /// The evidence of a plan, before any check.
    pub fn of(plan: &LambdaPlan) -> LambdaEvidence {
        LambdaEvidence {
            function: plan.function.function_name.clone(),
            alias: plan.function.alias.clone(),
            current_version: plan.function.current_version.clone(),
            target_version: plan.function.target_version.clone(),
            target_version_weight: plan.function.target_version_weight,
            shifted_at_ms: plan.shifted_at_ms,
            events: Vec::new(),
            metrics: None,
        }
    }
}
