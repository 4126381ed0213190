//! The decision of a Lambda deployment: a pure function from the facts discovery read (the
//! deployment and its targets) to the [`LambdaPlan`] of the running hook, or why there is none.
//!
//! CodeDeploy's Lambda deployment has one `lambdaTarget`: the function, the alias being
//! shifted, the current and target versions, and the lifecycle events `Start`,
//! `BeforeAllowTraffic`, `AllowTraffic`, `AfterAllowTraffic`, `End`.

use serde::Serialize;

use crate::facts::{ComputePlatform, DeploymentTarget, Facts, LambdaFunctionInfo, LifecycleEvent};
use crate::hook::Hook;

/// The hooks a Lambda deployment runs.
pub const LAMBDA_HOOKS: [Hook; 2] = [Hook::BeforeAllowTraffic, Hook::AfterAllowTraffic];

/// What the checks of a Lambda deployment need, found from the deployment alone.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaPlan {
    pub deployment_id: String,
    pub application: String,
    pub deployment_group: String,
    /// `BeforeAllowTraffic` or `AfterAllowTraffic`.
    pub hook: Hook,
    pub target_id: String,
    #[serde(skip)]
    pub function: LambdaFunctionInfo,
    /// When the traffic shift began (`AllowTraffic`'s start, epoch milliseconds).
    pub shifted_at_ms: Option<i64>,
    pub notes: Vec<String>,
}

impl LambdaPlan {
    /// The function's name.
    pub fn function_name(&self) -> &str {
        &self.function.function_name
    }

    /// The published version being deployed (checked by [`decide`]).
    pub fn target_version(&self) -> &str {
        self.function.target_version.as_deref().unwrap_or_default()
    }

    /// The alias being shifted (checked by [`decide`]).
    pub fn alias(&self) -> &str {
        self.function.alias.as_deref().unwrap_or_default()
    }
}

/// Whether `v` is a published version number (`$LATEST` and aliases are not).
pub fn is_published_version(v: &str) -> bool {
    !v.is_empty() && v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit())
}

/// The running Lambda hook: `BeforeAllowTraffic` or `AfterAllowTraffic`, `InProgress`.
fn running_hook(events: &[LifecycleEvent]) -> Option<Hook> {
    events
        .iter()
        .filter(|e| e.status == "InProgress")
        .filter_map(|e| Hook::parse(&e.name))
        .filter(|h| LAMBDA_HOOKS.contains(h))
        .max()
}

/// `name=status, ...` of the lifecycle events (for refusals).
fn summary(events: &[LifecycleEvent]) -> String {
    let parts: Vec<String> = events
        .iter()
        .map(|e| format!("{}={}", e.name, e.status))
        .collect();
    if parts.is_empty() {
        "no lifecycle events".to_owned()
    } else {
        parts.join(", ")
    }
}

/// The plan of the Lambda deployment the facts describe, or why there is none.
pub fn decide(facts: &Facts) -> Result<LambdaPlan, String> {
    let id = &facts.deployment_id;
    let d = facts
        .deployment
        .as_ref()
        .ok_or("GetDeployment returned no deploymentInfo")?;
    if let Some(p) = d
        .platform
        .as_ref()
        .filter(|p| **p != ComputePlatform::Lambda)
    {
        return Err(format!(
            "deployment {id} is on the {} compute platform, not Lambda",
            p.as_str()
        ));
    }
    if facts.targets.is_empty() {
        return Err(format!("deployment {id} has no deployment targets"));
    }
    let lambda: Vec<(&String, &Vec<LifecycleEvent>, &LambdaFunctionInfo)> = facts
        .targets
        .iter()
        .filter_map(|t| match t {
            DeploymentTarget::Lambda {
                target_id,
                lifecycle,
                function,
            } => Some((target_id, lifecycle, function)),
            _ => None,
        })
        .collect();
    let Some(first) = lambda.first() else {
        return Err(format!(
            "deployment {id} has no Lambda target (lambdaTarget); its targets are of another kind"
        ));
    };
    let running = lambda
        .iter()
        .find_map(|t| running_hook(t.1).map(|h| (t, h)));
    let Some(((target_id, lifecycle, function), hook)) = running else {
        return Err(format!(
            "no BeforeAllowTraffic or AfterAllowTraffic lifecycle event of deployment {id} is \
             InProgress ({}); the hook may already be complete",
            summary(first.1)
        ));
    };
    let name = function.function_name.trim();
    if name.is_empty() {
        return Err(format!(
            "the Lambda target {target_id} of deployment {id} names no function \
             (lambdaFunctionInfo.functionName)"
        ));
    }
    if !super::is_function_name(name) {
        return Err(format!(
            "the Lambda target of deployment {id} names function {name:?}, which is not a \
             function name (1 to 64 letters, digits, '-' or '_')"
        ));
    }
    let alias = function
        .alias
        .as_deref()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            format!(
                "the Lambda target of deployment {id} names no alias \
                 (lambdaFunctionInfo.functionAlias); a Lambda deployment shifts an alias"
            )
        })?;
    let target = function
        .target_version
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            format!(
                "the Lambda target of deployment {id} names no target version \
                 (lambdaFunctionInfo.targetVersion)"
            )
        })?;
    if target == alias || !is_published_version(target) {
        return Err(format!(
            "the target version of {name} is {target:?}, not a published version number: \
             this hook invokes only published versions, never $LATEST or an alias"
        ));
    }
    let mut notes = Vec::new();
    if function.current_version.as_deref() == Some(target) {
        notes.push(format!(
            "the current and target versions of {name}:{alias} are both {target}"
        ));
    }
    let shifted_at_ms = if hook == Hook::AfterAllowTraffic {
        shift_start(lifecycle, &mut notes)
    } else {
        None
    };
    Ok(LambdaPlan {
        deployment_id: id.clone(),
        application: d.application.clone(),
        deployment_group: d.deployment_group.clone(),
        hook,
        target_id: (*target_id).clone(),
        function: LambdaFunctionInfo {
            function_name: name.to_owned(),
            ..(*function).clone()
        },
        shifted_at_ms,
        notes,
    })
}

/// When the traffic shift began: `AllowTraffic`'s start; else (with a note) its end, or the
/// start of `AfterAllowTraffic`, the latest moment the shift can have begun.
fn shift_start(lifecycle: &[LifecycleEvent], notes: &mut Vec<String>) -> Option<i64> {
    let event = |name: &str| lifecycle.iter().find(|e| e.name == name);
    let allow = event("AllowTraffic");
    if let Some(t) = allow.and_then(|e| e.started_ms) {
        return Some(t);
    }
    let fallback = allow
        .and_then(|e| e.ended_ms)
        .map(|t| (t, "its end"))
        .or_else(|| {
            event("AfterAllowTraffic")
                .and_then(|e| e.started_ms)
                .map(|t| (t, "the start of AfterAllowTraffic"))
        });
    match fallback {
        Some((t, what)) => {
            notes.push(format!(
                "AllowTraffic has no start time; metrics are read from {what}"
            ));
            Some(t)
        }
        None => None,
    }
}

#[cfg(test)]
#[path = "decide_test.rs"]
mod tests;
