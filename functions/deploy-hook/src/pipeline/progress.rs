//! The continuation token: where a verification longer than one invocation stands. This
//! function writes it in its success answer, CodePipeline hands it to the next job of the
//! action, and the next invocation goes on from it. JSON, at most 2,048 characters (the API's
//! limit); a token this function cannot read starts the verification over, with a note.

use serde::{Deserialize, Serialize};

/// The most characters of a continuation token.
pub const TOKEN_MAX: usize = 2_048;
/// The most characters of the probes' summary carried in the token.
const SUMMARY_MAX: usize = 400;

/// Where the verification stands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Progress {
    /// The token's format.
    pub v: u32,
    /// When the verification began (epoch ms): `timeoutSeconds` counts from it.
    pub started_ms: u64,
    /// Invocations so far (the one that wrote the token included).
    pub invocations: u32,
    /// The service's deployment is done; the task definition it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    #[serde(default)]
    pub service_done: bool,
    /// The probes passed; what they found.
    #[serde(default)]
    pub probed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_summary: Option<String>,
    /// When the alarm watch began (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch_from_ms: Option<u64>,
}

impl Progress {
    /// A verification starting at `now_ms`.
    pub fn new(now_ms: u64) -> Progress {
        Progress {
            v: 1,
            started_ms: now_ms,
            ..Progress::default()
        }
    }

    /// The progress a token carries, or a fresh one (with a note saying why) when there is no
    /// token or it cannot be read.
    pub fn load(token: Option<&str>, now_ms: u64) -> (Progress, Option<String>) {
        let Some(token) = token else {
            return (Progress::new(now_ms), None);
        };
        match serde_json::from_str::<Progress>(token) {
            Ok(p) if p.v == 1 && p.started_ms <= now_ms => (p, None),
            _ => (
                Progress::new(now_ms),
                Some(format!(
                    "the continuation token {:?} is not one this function wrote: the verification starts over",
                    codehooks::text::cut(token, 80)
                )),
            ),
        }
    }

    /// Keeps the probes' summary (bounded, so the token stays within its limit).
    pub fn set_probe_summary(&mut self, summary: &str) {
        self.probe_summary = Some(codehooks::text::cut(summary, SUMMARY_MAX));
    }

    /// The token (at most [`TOKEN_MAX`] characters: the probes' summary goes first).
    pub fn token(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        if text.chars().count() <= TOKEN_MAX {
            return text;
        }
        let lean = Progress {
            probe_summary: None,
            task_definition: self
                .task_definition
                .as_ref()
                .map(|t| codehooks::text::cut(t, 600)),
            ..self.clone()
        };
        serde_json::to_string(&lean).unwrap_or_default()
    }

    /// Seconds since the verification began.
    pub fn elapsed_s(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.started_ms) / 1_000
    }
}

#[cfg(test)]
#[path = "progress_test.rs"]
mod tests;
