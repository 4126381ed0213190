//! A rollback, recognised from the payload alone. Amazon ECS has no rollback stage: it runs the
//! `TEST_TRAFFIC_SHIFT` and `PRODUCTION_TRAFFIC_SHIFT` hooks again with the weights pointing
//! back at blue, while `targetServiceRevisionArn` still names green. Such an invocation is
//! answered `SUCCEEDED` at once, with no AWS call and no alert: a hook never blocks a rollback,
//! and answering it again changes nothing.
//!
//! Linear and canary steps give green a share above zero: not a rollback.
//! `PRE_PRODUCTION_TRAFFIC_SHIFT`'s `{green: 0, blue: 100}` is the normal state before the
//! shift: not a rollback either.

use crate::hook::Hook;
use crate::native::event::{NativeEvent, Weights};

/// Why an invocation is part of a rollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollback {
    /// Which weights said so (`testTrafficWeights` or `productionTrafficWeights`).
    pub weights: &'static str,
    /// The revisions that have the traffic, with their share.
    pub to: Vec<(String, u8)>,
}

impl Rollback {
    /// One line for the evidence and the log.
    pub fn describe(&self, event: &NativeEvent) -> String {
        let to: Vec<String> = self
            .to
            .iter()
            .map(|(arn, w)| format!("{arn} {w}%"))
            .collect();
        format!(
            "Amazon ECS is rolling the deployment back: {} {} gives the target revision {} 0% and {}; \
             a rollback is never blocked, so this hook answers SUCCEEDED at once",
            event.stage,
            self.weights,
            event.target_revision_arn,
            to.join(", ")
        )
    }
}

/// The rollback this invocation is part of, if it is one.
pub fn rollback(event: &NativeEvent) -> Option<Rollback> {
    let (name, weights) = match event.stage {
        Hook::TestTrafficShift => ("testTrafficWeights", &event.test_weights),
        Hook::ProductionTrafficShift => ("productionTrafficWeights", &event.production_weights),
        _ => return None,
    };
    away_from(&event.target_revision_arn, weights).map(|to| Rollback { weights: name, to })
}

/// The revisions with traffic when `target` has none (absent counts as none); `None` when
/// `target` has a share or nobody has any.
fn away_from(target: &str, weights: &Weights) -> Option<Vec<(String, u8)>> {
    if weights.get(target).copied().unwrap_or(0) > 0 {
        return None;
    }
    let to: Vec<(String, u8)> = weights
        .iter()
        .filter(|(arn, w)| arn.as_str() != target && **w > 0)
        .map(|(arn, w)| (arn.clone(), *w))
        .collect();
    (!to.is_empty()).then_some(to)
}

#[cfg(test)]
#[path = "rollback_test.rs"]
mod tests;
