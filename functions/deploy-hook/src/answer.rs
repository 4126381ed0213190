//! What an invocation answers. CodeDeploy's hooks report their status through CodeDeploy's API
//! and answer with the evidence; Amazon ECS reads the status from the answer itself
//! (`{"hookStatus": ..., "callBackDelay": ..., "hookDetails": ...}`), so that answer carries
//! exactly those fields and the evidence stays in the logs.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::evidence::Evidence;

/// The status an Amazon ECS lifecycle hook returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HookStatus {
    /// Go on to the next stage.
    Succeeded,
    /// Roll the deployment back.
    Failed,
    /// Invoke this hook again after `callBackDelay` seconds.
    InProgress,
}

impl HookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HookStatus::Succeeded => "SUCCEEDED",
            HookStatus::Failed => "FAILED",
            HookStatus::InProgress => "IN_PROGRESS",
        }
    }
}

/// The answer to Amazon ECS.
#[derive(Debug, Clone, Serialize)]
pub struct NativeAnswer {
    #[serde(rename = "hookStatus")]
    pub hook_status: HookStatus,
    /// Seconds before the next invocation (with `IN_PROGRESS`).
    #[serde(rename = "callBackDelay", skip_serializing_if = "Option::is_none")]
    pub call_back_delay: Option<u32>,
    /// Merged by ECS into the hook's details and passed to the next invocation.
    #[serde(rename = "hookDetails", skip_serializing_if = "Option::is_none")]
    pub hook_details: Option<Map<String, Value>>,
    /// What was found and checked (logged, not returned).
    #[serde(skip)]
    pub evidence: Box<Evidence>,
}

/// The answer to a CodePipeline job (the job itself was answered through CodePipeline's API;
/// this is what the invocation returns, for its logs and its caller).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobAnswer {
    pub job_id: String,
    /// `succeeded`, `failed`, `continued` (a continuation token: CodePipeline invokes again)
    /// or `alreadyAnswered`.
    pub answer: &'static str,
    pub summary: String,
    /// What was found and checked (logged, not returned).
    #[serde(skip)]
    pub evidence: Box<Evidence>,
}

/// What an invocation answers.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// A CodeDeploy hook: the status went to CodeDeploy; the answer is the evidence.
    Reported(Box<Evidence>),
    /// An Amazon ECS hook: the answer is the status.
    Native(NativeAnswer),
    /// A CodePipeline job: answered through CodePipeline's API.
    Job(JobAnswer),
}

impl Answer {
    /// The evidence behind the answer.
    pub fn evidence(&self) -> &Evidence {
        match self {
            Answer::Reported(ev) => ev,
            Answer::Native(n) => &n.evidence,
            Answer::Job(j) => &j.evidence,
        }
    }
}

impl codehooks::harness::Outcome for Answer {
    fn label(&self) -> &str {
        match self {
            Answer::Reported(ev) => ev.state(),
            Answer::Native(n) if n.hook_status == HookStatus::InProgress => "InProgress",
            Answer::Native(n) => n.evidence.state(),
            Answer::Job(j) if j.answer == "continued" => "InProgress",
            Answer::Job(j) if j.answer == "alreadyAnswered" => "AlreadyAnswered",
            Answer::Job(j) => j.evidence.state(),
        }
    }
}
