//! The green target group's health, as the load balancer sees it.

use std::time::Duration;

use codehooks::Result;
use serde::Serialize;
use tokio::time::Instant;

use crate::facts::TargetHealthFact;
use crate::ports::LoadBalancer;

/// Reasons that will not clear by waiting: the service answers, but wrongly or too slowly.
const FAIL_FAST: [&str; 2] = ["Target.ResponseCodeMismatch", "Target.Timeout"];

/// A target that is not healthy, with the load balancer's reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnhealthyTarget {
    pub id: String,
    pub port: Option<i32>,
    pub state: String,
    pub reason: Option<String>,
    pub description: Option<String>,
}

/// One look at the target group.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub registered: usize,
    pub healthy: usize,
    pub unhealthy: Vec<UnhealthyTarget>,
}

impl Snapshot {
    pub fn of(targets: &[TargetHealthFact]) -> Snapshot {
        let mut healthy = 0;
        let mut unhealthy = Vec::new();
        for t in targets {
            if t.state.as_deref() == Some("healthy") {
                healthy += 1;
                continue;
            }
            unhealthy.push(UnhealthyTarget {
                id: t.id.clone(),
                port: t.port,
                state: t.state.clone().unwrap_or_else(|| "unknown".into()),
                reason: t.reason.clone(),
                description: t.description.clone(),
            });
        }
        Snapshot {
            registered: targets.len(),
            healthy,
            unhealthy,
        }
    }

    /// A target whose reason means waiting will not help.
    pub fn fail_fast_reason(&self) -> Option<&UnhealthyTarget> {
        self.unhealthy.iter().find(|t| {
            t.state == "unhealthy" && t.reason.as_deref().is_some_and(|r| FAIL_FAST.contains(&r))
        })
    }
}

/// The outcome of the target health check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthResult {
    pub passed: bool,
    pub target_group: String,
    pub required: i64,
    pub healthy: usize,
    pub registered: usize,
    pub unhealthy: Vec<UnhealthyTarget>,
    pub waited_ms: u64,
    pub polls: u32,
    pub detail: String,
}

/// Waits until at least `required` targets of `target_group_arn` are healthy, at most until
/// `until`; gives up at once on a fail-fast reason.
pub async fn wait_healthy<L: LoadBalancer>(
    load_balancer: &L,
    target_group_name: &str,
    target_group_arn: &str,
    required: i64,
    poll: Duration,
    until: Instant,
) -> Result<HealthResult> {
    let start = Instant::now();
    let required = required.max(1);
    let mut polls = 0;
    loop {
        polls += 1;
        let targets = match load_balancer.target_health(target_group_arn).await {
            Ok(targets) => targets,
            Err(err) => {
                // Past the client's own retries: poll again while the wait allows, if it may pass.
                if !err.is_retryable() || Instant::now() + poll > until {
                    return Err(err);
                }
                tracing::warn!(error = %err, "target health unavailable for now; polling again");
                tokio::time::sleep(poll).await;
                continue;
            }
        };
        let snap = Snapshot::of(&targets);
        let waited_ms = start.elapsed().as_millis() as u64;
        let result = |passed: bool, detail: String| HealthResult {
            passed,
            target_group: target_group_name.to_owned(),
            required,
            healthy: snap.healthy,
            registered: snap.registered,
            unhealthy: snap.unhealthy.clone(),
            waited_ms,
            polls,
            detail,
        };
        if snap.healthy as i64 >= required {
            return Ok(result(
                true,
                format!(
                    "{} of {} required targets healthy in {target_group_name}",
                    snap.healthy, required
                ),
            ));
        }
        if let Some(t) = snap.fail_fast_reason() {
            return Ok(result(
                false,
                format!(
                    "target {} in {target_group_name} is unhealthy: {} ({})",
                    t.id,
                    t.reason.as_deref().unwrap_or_default(),
                    t.description.as_deref().unwrap_or("no description")
                ),
            ));
        }
        let now = Instant::now();
        if now + poll > until {
            return Ok(result(
                false,
                format!(
                    "only {} of {} required targets healthy in {target_group_name} after {} ms ({} registered)",
                    snap.healthy, required, waited_ms, snap.registered
                ),
            ));
        }
        tokio::time::sleep(poll).await;
    }
}

#[cfg(test)]
#[path = "health_test.rs"]
mod tests;
