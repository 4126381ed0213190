//! Which contract an invocation speaks, told apart from the payload itself: CodeDeploy's
//! lifecycle hook (`DeploymentId`, `LifecycleEventHookExecutionId`), for ECS and Lambda
//! deployments alike, or Amazon ECS's own lifecycle hook (`executionId`, `lifecycleStage`,
//! `resourceArn`, `executionDetails`; an early form has the details at the top level). A payload
//! with fields of both, or of neither, is refused before any call.

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

/// What the two shapes look like, for the errors.
pub const SHAPES: &str = "CodeDeploy's {\"DeploymentId\", \"LifecycleEventHookExecutionId\"} or \
     Amazon ECS's {\"executionId\", \"lifecycleStage\", \"resourceArn\", \"executionDetails\"}";

/// The contract of one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Contract {
    /// CodeDeploy (ECS or Lambda deployment): report with PutLifecycleEventHookExecutionStatus.
    CodeDeploy(HookPayload),
    /// Amazon ECS: answer with `hookStatus` (the payload, parsed by [`crate::native`]).
    EcsNative(Value),
}

impl Contract {
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
