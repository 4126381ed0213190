//! Whether an ECS service's rolling deployment is done ([`judge`]): a plain judgement of what
//! `DescribeServices` returned.
//!
//! The newest deployment is the `PRIMARY` one. It is ready when it runs the task definition
//! asked for (when one is), ECS says its rollout `COMPLETED` (services without a rollout state:
//! it is the only deployment left), and at least the wanted tasks run (its desired count unless
//! the action says). A `FAILED` rollout, or a `PRIMARY` deployment of another task definition,
//! fails the verification at once: waiting would not change it.

use crate::facts::{RollingDeployment, ServiceFacts};

/// The judgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollout {
    /// Done: the task definition it runs.
    Ready {
        task_definition: String,
        detail: String,
    },
    /// Not yet: what it waits for.
    Waiting(String),
    /// Will not get there: why.
    Failed(String),
}

/// `family:revision` of a task definition given as either that or its ARN.
pub fn family_revision(td: &str) -> &str {
    match td.rsplit_once(":task-definition/") {
        Some((_, fr)) => fr,
        None => td,
    }
}

/// Judges `service`'s newest deployment against the task definition `wanted` and at least
/// `running` tasks.
pub fn judge(service: &ServiceFacts, wanted: Option<&str>, running: Option<i64>) -> Rollout {
    if let Some(status) = service.status.as_deref().filter(|s| *s != "ACTIVE") {
        return Rollout::Failed(format!(
            "service {} is {status}: it is being deleted or was deleted",
            service.name
        ));
    }
    let Some(primary) = service.deployments.iter().find(|d| d.status == "PRIMARY") else {
        return Rollout::Waiting(format!(
            "service {} has no PRIMARY deployment yet",
            service.name
        ));
    };
    let runs = primary.task_definition.as_deref().map(family_revision);
    if let Some(w) = wanted.map(family_revision)
        && runs != Some(w)
    {
        return Rollout::Failed(format!(
            "the newest deployment ({}) of service {} runs task definition {}, not {w}: another deployment replaced this one, or the deploy stage did not deploy {w}",
            primary.id,
            service.name,
            runs.unwrap_or("(none)")
        ));
    }
    let td = runs.unwrap_or_default().to_owned();
    if primary.rollout_state.as_deref() == Some("FAILED") {
        return Rollout::Failed(format!(
            "Amazon ECS reports the rollout of {td} ({}) FAILED: {}",
            primary.id,
            primary
                .rollout_state_reason
                .as_deref()
                .unwrap_or("no reason given")
        ));
    }
    let want = running.unwrap_or(primary.desired_count);
    let counts = counts(primary, want);
    match primary.rollout_state.as_deref() {
        Some("COMPLETED") => {}
        Some(state) => {
            return Rollout::Waiting(format!(
                "the rollout of {td} is {state} ({counts}){}",
                reason(primary)
            ));
        }
        None => {
            let others = service.deployments.len() - 1;
            if others > 0 {
                return Rollout::Waiting(format!(
                    "{others} older deployment(s) still running beside {td} ({counts})"
                ));
            }
        }
    }
    if primary.running_count < want {
        return Rollout::Waiting(format!("{td} runs too few tasks ({counts})"));
    }
    Rollout::Ready {
        detail: format!(
            "service {} completed its deployment of {td} ({counts})",
            service.name
        ),
        task_definition: td,
    }
}

fn counts(d: &RollingDeployment, want: i64) -> String {
    let mut out = format!(
        "{} running of {want} wanted, {} pending",
        d.running_count, d.pending_count
    );
    if d.failed_tasks > 0 {
        out.push_str(&format!(", {} failed to start", d.failed_tasks));
    }
    out
}

fn reason(d: &RollingDeployment) -> String {
    d.rollout_state_reason
        .as_deref()
        .map(|r| r.trim_end_matches('.'))
        .filter(|r| !r.is_empty())
        .map(|r| format!(": {r}"))
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "rollout_test.rs"]
mod tests;
