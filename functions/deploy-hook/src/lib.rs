//! `deploy-hook`: the verifier of deployments, for four contracts told apart from
//! the payload itself ([`contract`]):
//!
//! - **CodeDeploy, ECS**: `{"DeploymentId", "LifecycleEventHookExecutionId"}` from any of the
//!   five hooks of an ECS `appspec.yaml`. From the deployment alone it finds which hook is
//!   running, the green target group and the listener that serves it ([`discovery`]: the calls
//!   through the [`ports`], then [`decide`], a pure function of the [`facts`]); then it checks
//!   the green target group's health ([`health`]) and probes the service through the listener
//!   ([`probe`]), as the hook's policy says ([`policy`]), and reports `Succeeded` or `Failed`
//!   with `PutLifecycleEventHookExecutionStatus` before its deadline ([`app`]).
//! - **CodeDeploy, Lambda**: the same payload for a Lambda deployment: the target version is
//!   invoked with test events, and after the traffic shift its own errors and throttles count
//!   ([`lambda`]); reported the same way.
//! - **Amazon ECS**: ECS's own blue/green lifecycle hooks (`executionId`, `lifecycleStage`,
//!   `executionDetails`...): green found from the service revision and the listener rules, the
//!   same checks, and the verdict returned as `hookStatus` ([`native`], [`answer`]), with
//!   `IN_PROGRESS` for a probe window longer than one invocation.
//!
//! - **CodePipeline**: a Lambda invoke action's job (`CodePipeline.job`), for deployments
//!   without hooks (CodePipeline's ECS rolling update, CloudFormation...): the action's
//!   `UserParameters` say what to verify (an ECS service's rolling deployment, a URL to probe,
//!   alarms to watch), and the job is answered with `PutJobSuccessResult` (a continuation token
//!   while the verification goes on) or `PutJobFailureResult` ([`pipeline`]). The template
//!   deploys this mode as its own function and role (`CODEHOOKS_HOOK_CONTRACTS`).
//!
//! On `Failed` it publishes the evidence as an alert ([`alert`]), once per hook execution
//! ([`notify`]).
//!
//! Layers: [`app`], [`run`], [`native`], [`lambda`] and [`pipeline`] (orchestration, generic
//! over the [`ports::Ports`]) → [`ports`] → [`sdk`], [`sdk_ecs`], [`sdk_lambda`],
//! [`sdk_pipeline`] (the SDK adapters) or
//! `twins` (in memory, for the unit tests).

pub mod alert;
pub mod analysis;
mod analysis_run;
pub mod answer;
pub mod app;
pub mod checks;
pub mod config;
pub mod contract;
pub mod criteria;
pub mod decide;
pub mod discovery;
pub mod endpoint;
pub mod evidence;
pub mod facts;
pub mod health;
pub mod hook;
pub mod lambda;
pub mod measure;
pub mod native;
pub mod notify;
pub mod overrides;
pub mod payload;
pub mod pipeline;
pub mod plan;
pub mod policy;
pub mod ports;
pub mod probe;
pub mod readings;
pub mod rules;
pub mod run;
pub mod sdk;
pub mod sdk_cloudwatch;
pub mod sdk_ecs;
pub mod sdk_lambda;
pub mod sdk_pipeline;
pub mod stats;
#[cfg(test)]
pub mod twin_faults;
#[cfg(test)]
pub mod twins;
#[cfg(test)]
pub mod twins_ecs;
#[cfg(test)]
pub mod twins_lambda;
#[cfg(test)]
pub mod twins_pipeline;

pub use answer::{Answer, HookStatus, NativeAnswer};
pub use app::{App, SdkPorts};
pub use config::{Config, config_from_pairs};
pub use evidence::Evidence;
pub use facts::Decision;
pub use payload::HookPayload;

/// The function's name, as the demo and logs show it.
pub const NAME: &str = "deploy-hook";

#[cfg(test)]
mod fixtures;
