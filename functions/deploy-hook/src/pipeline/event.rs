//! The job of one invocation: `{"CodePipeline.job": {"id", "accountId", "data": {...}}}`.
//!
//! Only what the verification needs is kept: the job id, the account, the action's
//! `FunctionName` and `UserParameters`, and the continuation token. The job's
//! `artifactCredentials` (temporary keys for the artifact bucket) are never read, kept or
//! logged: this action has no artifact to read.

use codehooks::{Error, Result};
use serde_json::Value;

use crate::contract::PIPELINE_FIELD;

/// The job of one invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEvent {
    /// The job id (a UUID): what the answer names.
    pub id: String,
    pub account_id: Option<String>,
    /// `actionConfiguration.configuration.FunctionName`.
    pub function_name: Option<String>,
    /// `actionConfiguration.configuration.UserParameters`, as given (a string in CodePipeline's
    /// events; judged by [`crate::pipeline::params`]).
    pub user_parameters: Option<Value>,
    /// The token this function answered the previous job of the action with.
    pub continuation_token: Option<String>,
}

/// Whether `s` is a UUID as CodePipeline writes job ids (hexadecimal, 8-4-4-4-12).
pub fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl JobEvent {
    /// Reads the job; without a job id to answer, the payload is `BadInput` (nothing can be
    /// answered, so nothing is called).
    pub fn parse(payload: &Value) -> Result<JobEvent> {
        let Some(job) = payload.get(PIPELINE_FIELD).and_then(Value::as_object) else {
            return Err(Error::bad_input(format!(
                "{PIPELINE_FIELD} must be an object with the job's id and data"
            )));
        };
        let id = match job.get("id") {
            Some(Value::String(s)) if is_uuid(s) => s.clone(),
            Some(Value::String(s)) => {
                return Err(Error::bad_input(format!(
                    "{PIPELINE_FIELD}.id {:?} is not a job id (a UUID)",
                    codehooks::text::cut(s, 80)
                )));
            }
            _ => {
                return Err(Error::bad_input(format!(
                    "{PIPELINE_FIELD}.id is missing: there is no job to answer"
                )));
            }
        };
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let data = job.get("data");
        let configuration = data
            .and_then(|d| d.get("actionConfiguration"))
            .and_then(|c| c.get("configuration"));
        Ok(JobEvent {
            id,
            account_id: text(job.get("accountId")),
            function_name: text(configuration.and_then(|c| c.get("FunctionName"))),
            user_parameters: configuration
                .and_then(|c| c.get("UserParameters"))
                .filter(|v| !v.is_null())
                .cloned(),
            continuation_token: text(data.and_then(|d| d.get("continuationToken")))
                .filter(|t| !t.is_empty()),
        })
    }
}

#[cfg(test)]
#[path = "event_test.rs"]
mod tests;
