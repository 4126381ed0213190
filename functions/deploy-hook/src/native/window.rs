//! A probe window longer than one invocation can hold. Amazon ECS invokes the hook again after
//! an `IN_PROGRESS` answer, passing back the `hookDetails` it returned: each invocation probes
//! the part of the window that fits, keeps what it saw in `hookDetails.codehooksWindow`
//! ([`WindowState`]: counts, failures by kind, consecutive failures, a bounded latency sample;
//! under [`STATE_LIMIT`] bytes), and the verdict comes from the whole window once it is
//! complete (or as soon as it can no longer pass).
//!
//! The window is probing time, per path, as `windowMs` asks for one invocation; paths are
//! probed in turn. A state that is not this function's, or belongs to another deployment,
//! stage or revision, starts a new window (with a note). `executionId` is kept for the
//! evidence: ECS does not document that it stays the same across re-invocations of one hook,
//! and a window that restarted on every invocation would never end.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::checks::Checks;
use crate::native::WindowEvidence;
use crate::native::event::NativeEvent;
use crate::probe::{PathReport, percentile};
use crate::stats::round1;

/// The `hookDetails` key of the state.
pub const KEY: &str = "codehooksWindow";
/// The most the serialised state may take.
pub const STATE_LIMIT: usize = 8 * 1024;
/// The latencies kept, all paths together.
const SAMPLE_CAP: usize = 400;
/// Failure details kept per path, and their length.
const DETAILS_KEPT: usize = 3;
const DETAIL_MAX: usize = 160;
/// A path whose window is this close to complete is complete.
const TOLERANCE_MS: u64 = 250;
/// What the checks before the probes (discovery, listener, health) may take of an invocation.
const HEADROOM: Duration = Duration::from_secs(2);

/// Whether the window needs more than this invocation: `budget` is what it has left.
pub fn needs_window(checks: &Checks, budget: Duration) -> bool {
    checks.window_ms.is_some_and(|w| {
        let need = w.saturating_mul(checks.paths.len() as u64) + checks.warmup_ms;
        Duration::from_millis(need) + HEADROOM > budget
    })
}

/// What the probes of one path saw so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PathWindow {
    pub path: String,
    pub url: String,
    pub probed_ms: u64,
    pub attempted: u32,
    pub succeeded: u32,
    pub failed: u32,
    pub failures: BTreeMap<String, u32>,
    /// Failures since the last passing probe.
    pub consecutive: u32,
    pub max_consecutive: u32,
    /// Answers (latencies measured), and a sorted sample of their latencies.
    pub answered: u64,
    pub latencies: Vec<f64>,
    pub samples: Vec<String>,
}

/// The window's state, carried in `hookDetails.codehooksWindow`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WindowState {
    pub deployment: String,
    pub stage: String,
    pub revision: String,
    pub execution_id: String,
    pub window_ms: u64,
    pub started_ms: u64,
    pub invocations: u32,
    pub warmed_up: bool,
    pub paths: Vec<PathWindow>,
}

/// Evenly spaced values of a sorted list: `k` of them, the shape of the distribution kept.
fn thin(sorted: &[f64], k: usize) -> Vec<f64> {
    if k >= sorted.len() {
        return sorted.to_vec();
    }
    (0..k)
        .filter_map(|i| sorted.get((i * sorted.len() + sorted.len() / 2) / k.max(1)))
        .copied()
        .collect()
}

impl WindowState {
    /// A new window for `event`.
    pub fn new(event: &NativeEvent, checks: &Checks, now_ms: u64) -> WindowState {
        WindowState {
            deployment: event.resource_arn.clone(),
            stage: event.stage.as_str().to_owned(),
            revision: event.target_revision_arn.clone(),
            execution_id: event.execution_id.clone(),
            window_ms: checks.window_ms.unwrap_or_default(),
            started_ms: now_ms,
            invocations: 0,
            warmed_up: false,
            paths: checks
                .paths
                .iter()
                .map(|p| PathWindow {
                    path: p.clone(),
                    ..PathWindow::default()
                })
                .collect(),
        }
    }

    /// The state `hookDetails` carries for this hook, if any; the note says why one was set
    /// aside.
    pub fn load(event: &NativeEvent, checks: &Checks) -> (Option<WindowState>, Option<String>) {
        let Some(value) = event.hook_details.as_ref().and_then(|d| d.get(KEY)) else {
            return (None, None);
        };
        let state = match WindowState::deserialize(value) {
            Ok(s) => s,
            Err(e) => {
                return (
                    None,
                    Some(format!(
                        "hookDetails.{KEY} is not this function's window state ({e}): a new window starts"
                    )),
                );
            }
        };
        let foreign = [
            ("deployment", state.deployment == event.resource_arn),
            ("stage", state.stage == event.stage.as_str()),
            ("revision", state.revision == event.target_revision_arn),
            ("windowMs", Some(state.window_ms) == checks.window_ms),
            (
                "paths",
                state.paths.iter().map(|p| &p.path).eq(checks.paths.iter()),
            ),
        ]
        .into_iter()
        .filter(|(_, same)| !same)
        .map(|(what, _)| what)
        .collect::<Vec<_>>();
        if !foreign.is_empty() {
            return (
                None,
                Some(format!(
                    "hookDetails.{KEY} belongs to another window (its {} differ): a new window starts",
                    foreign.join(", ")
                )),
            );
        }
        let note = (state.execution_id != event.execution_id).then(|| {
            format!(
                "the window continues from executionId {} (this invocation's is {})",
                state.execution_id, event.execution_id
            )
        });
        (Some(state), note)
    }

    /// The first path whose window is not complete.
    pub fn current(&self) -> Option<usize> {
        self.paths
            .iter()
            .position(|p| p.probed_ms + TOLERANCE_MS < self.window_ms)
    }

    /// What is left of path `i`'s window (ms).
    pub fn left_ms(&self, i: usize) -> u64 {
        self.paths
            .get(i)
            .map(|p| self.window_ms.saturating_sub(p.probed_ms))
            .unwrap_or_default()
    }

    /// Adds one invocation's probes of path `i`.
    pub fn merge(&mut self, i: usize, r: &PathReport) {
        let cap = (SAMPLE_CAP / self.paths.len().max(1)).max(10);
        let Some(p) = self.paths.get_mut(i) else {
            return;
        };
        p.url = r.url.clone();
        p.probed_ms += r.probed_ms;
        p.attempted += r.attempted;
        p.succeeded += r.succeeded;
        p.failed += r.failed;
        for (kind, n) in &r.failures {
            *p.failures.entry(kind.clone()).or_default() += n;
        }
        let all_failed = r.attempted > 0 && r.succeeded == 0;
        p.max_consecutive = p
            .max_consecutive
            .max(r.max_consecutive_failures)
            .max(p.consecutive + r.leading_failures);
        p.consecutive = if all_failed {
            p.consecutive + r.attempted
        } else {
            r.trailing_failures
        };
        for s in &r.samples {
            if p.samples.len() < DETAILS_KEPT && !p.samples.contains(s) {
                p.samples.push(codehooks::text::cut(s, DETAIL_MAX));
            }
        }
        // Each side keeps a share of the sample in proportion to the answers it stands for.
        let (old_n, new_n) = (p.answered, r.latencies.len() as u64);
        let total = old_n + new_n;
        if let Some(keep_old) = (cap as u64 * old_n).checked_div(total) {
            let keep_old = keep_old as usize;
            let keep_new = cap.saturating_sub(keep_old);
            let mut merged = thin(&p.latencies, keep_old);
            merged.extend(thin(&r.latencies, keep_new).into_iter().map(round1));
            merged.sort_by(f64::total_cmp);
            p.latencies = merged;
        }
        p.answered = total;
    }

    /// Whether the window can no longer pass: too many failures in a row on some path.
    pub fn failed_early(&self, checks: &Checks) -> bool {
        self.paths
            .iter()
            .any(|p| p.max_consecutive.max(p.consecutive) >= checks.max_consecutive_failures)
    }

    /// The most invocations the window may take before it is given up.
    pub fn invocation_limit(&self) -> u32 {
        let per_path = u32::try_from(self.window_ms / 1_000).unwrap_or(u32::MAX);
        per_path
            .saturating_add(1)
            .saturating_mul(self.paths.len() as u32)
            .saturating_add(10)
    }

    /// Each path's statistics over the window so far.
    pub fn reports(&self) -> Vec<PathReport> {
        self.paths
            .iter()
            .filter(|p| p.attempted > 0)
            .map(|p| PathReport {
                path: p.path.clone(),
                url: p.url.clone(),
                planned: 0,
                attempted: p.attempted,
                succeeded: p.succeeded,
                failed: p.failed,
                success_rate: f64::from(p.succeeded) / f64::from(p.attempted.max(1)),
                p50_ms: percentile(&p.latencies, 0.50),
                p95_ms: percentile(&p.latencies, 0.95),
                p99_ms: percentile(&p.latencies, 0.99),
                max_consecutive_failures: p.max_consecutive.max(p.consecutive),
                failures: p.failures.clone(),
                samples: p.samples.clone(),
                probed_ms: p.probed_ms,
                latencies: p.latencies.clone(),
                ..PathReport::default()
            })
            .collect()
    }

    /// The evidence's view of the window.
    pub fn evidence(&self) -> WindowEvidence {
        WindowEvidence {
            window_ms: self.window_ms,
            probed_ms: self.paths.iter().map(|p| p.probed_ms).sum(),
            total_ms: self.window_ms * self.paths.len() as u64,
            invocations: self.invocations,
            started_ms: self.started_ms,
            complete: self.current().is_none(),
            latency_sample: self.paths.iter().map(|p| p.latencies.len()).sum(),
            answered: self.paths.iter().map(|p| p.answered).sum(),
        }
    }

    /// The `hookDetails` to return with `IN_PROGRESS`: the state, thinned until it fits.
    pub fn details(&mut self) -> Map<String, Value> {
        loop {
            let value = serde_json::to_value(&*self).unwrap_or(Value::Null);
            let size = value.to_string().len();
            let sampled: usize = self.paths.iter().map(|p| p.latencies.len()).sum();
            if size < STATE_LIMIT || sampled == 0 {
                let mut m = Map::new();
                m.insert(KEY.to_owned(), value);
                return m;
            }
            for p in &mut self.paths {
                p.latencies = thin(&p.latencies, p.latencies.len() / 2);
                p.samples.truncate(1);
            }
        }
    }
}

#[cfg(test)]
#[path = "window_test.rs"]
mod tests;
