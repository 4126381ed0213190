//! CodePipeline's Lambda invoke action: the hook's checks and verdict as a pipeline step, for
//! deployments without lifecycle hooks (CodePipeline's standard ECS action, CloudFormation...).
//! A "Verify" stage after the deploy stage invokes this function with a job; the function
//! answers that job with `PutJobSuccessResult` or `PutJobFailureResult`.
//!
//! - [`event`]: the job of the invocation (`CodePipeline.job`); never keeps its artifact
//!   credentials.
//! - [`params`]: the action's `UserParameters` document (what to verify), validated with a
//!   message naming the bad field.
//! - [`rollout`]: a plain judgement of an ECS service's rolling deployment.
//! - [`progress`]: the continuation token that carries a long verification across invocations.
//! - `run`: one job from its payload to its answer; `phases`: the service, the probes, the
//!   alarm watch; `reply`: the answer, once, and the alert of a failure.

pub mod event;
pub mod params;
mod phases;
pub mod progress;
mod reply;
pub mod rollout;
mod run;

use serde::Serialize;

/// What the evidence says about the pipeline job.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobEvidence {
    /// This invocation's job (each continuation is a new job).
    pub job_id: String,
    pub pipeline: Option<String>,
    pub execution_id: Option<String>,
    /// Invocations of this verification so far, this one included.
    pub invocations: u32,
    /// The phase this invocation ended in (`service`, `probes`, `watch` or `done`).
    pub phase: String,
    /// What the service's rolling deployment looked like last.
    pub rollout: Option<String>,
    /// How the job was answered: `succeeded`, `failed`, `continued` or `alreadyAnswered`.
    pub answer: String,
}
