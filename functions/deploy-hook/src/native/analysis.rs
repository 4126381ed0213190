//! The analysis of an Amazon ECS hook across invocations: when the traffic so far is too thin
//! for a verdict, the hook answers `IN_PROGRESS` and keeps [`AnalysisState`] in
//! `hookDetails.codehooksAnalysis`; Amazon ECS passes it back with the next invocation, which
//! goes straight to the analysis (the probes passed already) and reads the metrics again over
//! the same window, grown to now.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::native::event::NativeEvent;

/// The `hookDetails` key of the state.
pub const KEY: &str = "codehooksAnalysis";

/// What an analysis that goes on carries from one invocation to the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalysisState {
    pub deployment: String,
    pub stage: String,
    pub revision: String,
    /// Where the metric window starts (epoch ms): when the probes of this hook began.
    pub window_from_ms: i64,
    /// When the analysis began waiting (epoch ms): `maxWaitMs` counts from here.
    pub started_ms: i64,
    /// Invocations of the analysis so far.
    pub invocations: u32,
}

impl AnalysisState {
    /// A new analysis of `event`'s hook.
    pub fn new(event: &NativeEvent, window_from_ms: i64, now_ms: i64) -> AnalysisState {
        AnalysisState {
            deployment: event.resource_arn.clone(),
            stage: event.stage.as_str().to_owned(),
            revision: event.target_revision_arn.clone(),
            window_from_ms,
            started_ms: now_ms,
            invocations: 0,
        }
    }

    /// The state `hookDetails` carries for this hook, if any; the note says why one was set
    /// aside.
    pub fn load(event: &NativeEvent) -> (Option<AnalysisState>, Option<String>) {
        let Some(value) = event.hook_details.as_ref().and_then(|d| d.get(KEY)) else {
            return (None, None);
        };
        match AnalysisState::deserialize(value) {
            Err(e) => (
                None,
                Some(format!(
                    "hookDetails.{KEY} is not this function's analysis state ({e}): the checks start over"
                )),
            ),
            Ok(s)
                if s.deployment != event.resource_arn
                    || s.stage != event.stage.as_str()
                    || s.revision != event.target_revision_arn =>
            {
                (
                    None,
                    Some(format!(
                        "hookDetails.{KEY} belongs to another deployment, stage or revision: the checks start over"
                    )),
                )
            }
            Ok(s) => (Some(s), None),
        }
    }

    /// How long the analysis has waited so far (ms).
    pub fn waited_ms(&self, now_ms: i64) -> u64 {
        u64::try_from(now_ms.saturating_sub(self.started_ms)).unwrap_or(0)
    }

    /// The `hookDetails` to return with `IN_PROGRESS`.
    pub fn details(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            KEY.to_owned(),
            serde_json::to_value(self).unwrap_or(Value::Null),
        );
        m
    }
}

#[cfg(test)]
#[path = "analysis_test.rs"]
mod tests;
