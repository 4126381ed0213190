//! The invocation payload CodeDeploy sends to a lifecycle hook, and the invocation's deadline.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use codehooks::{Error, Result};
use serde_json::Value;
use tokio::time::Instant;

/// The invocation payload CodeDeploy sends to a lifecycle hook.
#[derive(Debug, Clone, PartialEq)]
pub struct HookPayload {
    pub deployment_id: String,
    pub hook_execution_id: String,
}

impl HookPayload {
    pub fn parse(v: &Value) -> Result<HookPayload> {
        let field = |name: &str, max: usize| -> Result<String> {
            let s = v
                .get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    Error::bad_input(format!(
                        "{name} is missing: this function is a CodeDeploy lifecycle hook and expects \
                         {{\"DeploymentId\": ..., \"LifecycleEventHookExecutionId\": ...}}"
                    ))
                })?;
            if s.len() > max || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(Error::bad_input(format!(
                    "{name} is not a valid identifier"
                )));
            }
            Ok(s.to_owned())
        };
        let deployment_id = field("DeploymentId", 64)?;
        if !deployment_id.starts_with("d-")
            || !deployment_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(Error::bad_input(format!(
                "DeploymentId {deployment_id:?} is not a CodeDeploy deployment id (d-XXXXXXXXX)"
            )));
        }
        Ok(HookPayload {
            deployment_id,
            hook_execution_id: field("LifecycleEventHookExecutionId", 2048)?,
        })
    }
}

/// The instant of the invocation deadline (epoch milliseconds); without one, 15 minutes.
pub fn deadline_instant(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let left = if deadline_ms == 0 {
        900_000
    } else {
        deadline_ms.saturating_sub(now_ms)
    };
    Instant::now() + Duration::from_millis(left)
}

#[cfg(test)]
#[path = "payload_test.rs"]
mod tests;
