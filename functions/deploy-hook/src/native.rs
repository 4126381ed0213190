//! Amazon ECS's own blue/green (linear, canary) deployments: the lifecycle hook payload
//! ([`event`]), the rollback it may be part of ([`rollback`]), what the deployment is
//! ([`discover`]), the probe window that spans several invocations ([`window`]), and the answer
//! (`hookStatus`) returned to ECS (`run`).

pub mod analysis;
pub mod discover;
pub mod event;
#[cfg(test)]
mod fixtures;
pub mod rollback;
mod run;
pub mod window;

use serde::Serialize;

/// The probe window of a hook that spans several invocations (the evidence's `window` part).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowEvidence {
    /// The window asked for, per path (ms of probing).
    pub window_ms: u64,
    /// How much of it was probed so far, all paths together (ms).
    pub probed_ms: u64,
    /// How much all paths need together (ms).
    pub total_ms: u64,
    /// Invocations so far, this one included.
    pub invocations: u32,
    /// When the window began (epoch ms).
    pub started_ms: u64,
    /// Whether the window is complete (the verdict is from all of it).
    pub complete: bool,
    /// Latencies kept to compute the percentiles (a sample when the window is long).
    pub latency_sample: usize,
    /// Answers the latencies were taken from.
    pub answered: u64,
}
