//! Which contract an invocation speaks, told apart from the payload itself: CodeDeploy's
//! lifecycle hook (`DeploymentId`, `LifecycleEventHookExecutionId`), for ECS and Lambda
//! deployments alike, Amazon ECS's own lifecycle hook (`executionId`, `lifecycleStage`,
//! `resourceArn`, `executionDetails`; an early form has the details at the top level), or a
//! CodePipeline job of a Lambda invoke action (`CodePipeline.job`). A payload with fields of
//! several, or of none, is refused before any call; so is a contract the function is not
//! configured to serve ([`Kind`], `CODEHOOKS_HOOK_CONTRACTS`).

use codehooks::{Error, Result};
use serde_json::Value;

use crate::payload::HookPayload;

/// CodeDeploy's fields.
const CODEDEPLOY_FIELDS: [&str; 2] = ["DeploymentId", "LifecycleEventHookExecutionId"];
/// Amazon ECS's fields (nested and flat forms).
const ECS_FIELDS: [&str; 7] = [
    "executionId",
    "lifecycleStage",
    "resourceArn",
    "executionDetails",
    "serviceArn",
    "targetServiceRevisionArn",
    "hookDetails",
];

/// CodePipeline's field.
pub const PIPELINE_FIELD: &str = "CodePipeline.job";

/// What the three shapes look like, for the errors.
pub const SHAPES: &str = "CodeDeploy's {\"DeploymentId\", \"LifecycleEventHookExecutionId\"}, \
     Amazon ECS's {\"executionId\", \"lifecycleStage\", \"resourceArn\", \"executionDetails\"} \
     or CodePipeline's {\"CodePipeline.job\": {\"id\", \"data\"}}";

/// The contracts, as `CODEHOOKS_HOOK_CONTRACTS` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    CodeDeploy,
    Ecs,
    Pipeline,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::CodeDeploy, Kind::Ecs, Kind::Pipeline];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::CodeDeploy => "codedeploy",
            Kind::Ecs => "ecs",
            Kind::Pipeline => "pipeline",
        }
    }

    /// What the contract is, for the errors.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::CodeDeploy => "a CodeDeploy lifecycle hook",
            Kind::Ecs => "an Amazon ECS lifecycle hook",
            Kind::Pipeline => "a CodePipeline job",
        }
    }
}

/// The contract of one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Contract {
    /// CodeDeploy (ECS or Lambda deployment): report with PutLifecycleEventHookExecutionStatus.
    CodeDeploy(HookPayload),
    /// Amazon ECS: answer with `hookStatus` (the payload, parsed by [`crate::native`]).
    EcsNative(Value),
    /// CodePipeline: answer the job (the payload, parsed by [`crate::pipeline`]).
    PipelineJob(Value),
}

impl Contract {
    /// The contract's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Contract::CodeDeploy(_) => Kind::CodeDeploy,
            Contract::EcsNative(_) => Kind::Ecs,
            Contract::PipelineJob(_) => Kind::Pipeline,
        }
    }

    /// [`Contract::of`], refused (`BadInput`, no call) when `served` does not list it.
    pub fn served(payload: &Value, served: &[Kind]) -> Result<Contract> {
        let contract = Contract::of(payload)?;
        let kind = contract.kind();
        if served.contains(&kind) {
            return Ok(contract);
        }
        let names: Vec<&str> = served.iter().map(|k| k.as_str()).collect();
        Err(Error::bad_input(format!(
            "the payload is {}, but this function serves only {} (CODEHOOKS_HOOK_CONTRACTS); \
             invoke the function the stack deploys for it",
            kind.describe(),
            names.join(", ")
        )))
    }

    /// Tells the contract from the payload; a mixed or unknown payload is `BadInput`.
    pub fn of(payload: &Value) -> Result<Contract> {
        let Some(object) = payload.as_object() else {
            return Err(Error::bad_input(format!(
                "the payload is not a JSON object; this function is a lifecycle hook and expects {SHAPES}"
            )));
        };
        let present = |fields: &[&str]| -> Vec<String> {
            fields
                .iter()
                .filter(|f| object.contains_key(**f))
                .map(|f| (*f).to_owned())
                .collect()
        };
        let codedeploy = present(&CODEDEPLOY_FIELDS);
        let ecs = present(&ECS_FIELDS);
        if object.contains_key(PIPELINE_FIELD) {
            let others: Vec<String> = codedeploy.into_iter().chain(ecs).collect();
            if !others.is_empty() {
                return Err(Error::bad_input(format!(
                    "the payload mixes CodePipeline's {PIPELINE_FIELD} with lifecycle hook fields ({}); expected {SHAPES}",
                    others.join(", ")
                )));
            }
            return Ok(Contract::PipelineJob(payload.clone()));
        }
        match (codedeploy.is_empty(), ecs.is_empty()) {
            (false, true) => HookPayload::parse(payload).map(Contract::CodeDeploy),
            (true, false) => Ok(Contract::EcsNative(payload.clone())),
            (false, false) => Err(Error::bad_input(format!(
                "the payload mixes CodeDeploy's fields ({}) with Amazon ECS's ({}); expected {SHAPES}",
                codedeploy.join(", "),
                ecs.join(", ")
            ))),
            (true, true) => {
                let mut keys: Vec<&str> = object.keys().map(String::as_str).take(10).collect();
                keys.sort_unstable();
                Err(Error::bad_input(format!(
                    "the payload is not a lifecycle hook's (its fields: {}); expected {SHAPES}",
                    if keys.is_empty() {
                        "none".to_owned()
                    } else {
                        keys.join(", ")
                    }
                )))
            }
        }
    }
}

#[cfg(test)]
#[path = "contract_test.rs"]
mod tests;
