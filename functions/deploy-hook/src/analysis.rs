//! The analysis: a verdict from what real traffic did, next to the probes' verdict. Opt-in per
//! hook with the policy's `analysis` ([`spec::Analysis`]):
//!
//! - [`alarms`]: CloudWatch alarms as a gate; any selected alarm in `ALARM` fails the hook.
//! - [`elb`] (ECS) and [`crate::lambda::compare`] (Lambda): the metrics of green and blue over
//!   the same window, from one `GetMetricData` call.
//! - [`judge`]: green against blue (relative limits) and against absolute limits, each check
//!   `pass`, `fail` or `inconclusive` (too few requests to say).
//! - [`load`]: an optional steady rate of requests through the test listener, so a quiet
//!   service still gets enough samples.
//! - `run`: the orchestration: within the budget (CodeDeploy), or over several invocations with
//!   `IN_PROGRESS` (Amazon ECS).

pub mod alarms;
pub mod elb;
pub mod judge;
pub mod load;
pub mod spec;

use serde::Serialize;

pub use alarms::AlarmCheck;
pub use judge::{MetricCheck, Outcome};
pub use load::LoadReport;
pub use spec::Analysis;

/// What the analysis read and judged.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisEvidence {
    /// The metric window read last (epoch milliseconds).
    pub from_ms: i64,
    pub to_ms: i64,
    /// Reads of the metrics so far.
    pub polls: u32,
    /// The analysis' outcome (before `onInconclusive` applies).
    pub outcome: Option<Outcome>,
    pub alarms: Vec<AlarmCheck>,
    pub metrics: Vec<MetricCheck>,
    pub load: Option<LoadReport>,
}
