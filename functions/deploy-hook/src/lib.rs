//! `deploy-hook`: the CodeDeploy lifecycle hook of ECS blue/green deployments.
//!
//! CodeDeploy invokes it with `{"DeploymentId": ..., "LifecycleEventHookExecutionId": ...}` from
//! any of the five hooks of an ECS `appspec.yaml`. From the deployment alone it finds which hook is
//! running, the green target group and the listener that serves it ([`discovery`]: the calls
//! through the [`ports`], then [`decide`], a pure function of the [`facts`]); then it checks the
//! green target group's health ([`health`]) and probes the service through the listener
//! ([`probe`]), as the hook's policy says ([`policy`]). It always reports `Succeeded` or `Failed`
//! with `PutLifecycleEventHookExecutionStatus` before its deadline ([`app`]); on `Failed` it
//! publishes the evidence as an alert ([`alert`]), once per hook execution
//! ([`notify`]).
//!
//! Layers: [`app`] and [`run`] (orchestration, generic over the ports) → [`ports`]
//! ([`Deployments`](ports::Deployments), [`LoadBalancer`](ports::LoadBalancer), and
//! `codehooks::alert::AlertPublisher`, `codehooks::once::OnceOnlyStore`) → [`sdk`] (the SDK adapters) or `twins` (in memory, for the unit tests).

pub mod alert;
pub mod app;
pub mod checks;
pub mod config;
pub mod criteria;
pub mod decide;
pub mod discovery;
pub mod endpoint;
pub mod evidence;
pub mod facts;
pub mod health;
pub mod hook;
pub mod measure;
pub mod notify;
pub mod overrides;
pub mod payload;
pub mod plan;
pub mod policy;
pub mod ports;
pub mod probe;
pub mod readings;
pub mod run;
pub mod sdk;
pub mod stats;
#[cfg(test)]
pub mod twins;

pub use app::App;
pub use config::{Config, config_from_pairs};
pub use evidence::Evidence;
pub use facts::Decision;
pub use payload::HookPayload;

/// The function's name, as the demo and logs show it.
pub const NAME: &str = "deploy-hook";

#[cfg(test)]
mod fixtures;
