//! One Amazon ECS lifecycle hook invocation, answered before its deadline on every path:
//!
//! 1. The payload ([`NativeEvent::parse`]): a bad one is the invocation's error, which ECS
//!    takes as a failed hook (the deployment rolls back); the log says so.
//! 2. A rollback ([`rollback`]): `SUCCEEDED` at once, no call, no alert.
//! 3. The degraded mode (an invalid configuration): `FAILED` with the reason, alerted.
//! 4. The policy, with the service's own document from `hookDetails.codehooksPolicy` over it
//!    (invalid: `FAILED` with a `policy` check), and the stage's checks.
//! 5. A stage with nothing to check answers `SUCCEEDED` without any call; otherwise discovery
//!    ([`discover`]) then the checks every contract shares ([`App::check_ecs`]), within a
//!    window spanning invocations when it must ([`window`]).
//! 6. The verdict ([`Evidence::conclude`]: dry run and fail-open apply), the rollback alert,
//!    the decision log and metrics, and the answer.

use std::borrow::Cow;

use codehooks::Result;
use serde_json::Value;
use tokio::time::Instant;

use crate::analysis::Outcome;
use crate::analysis::spec::Analysis;
use crate::analysis_run::{Analysed, Mode, all_passed};
use crate::answer::{Answer, HookStatus, NativeAnswer};
use crate::app::{App, out_of_time};
use crate::evidence::Evidence;
use crate::facts::{Decision, Reported};
use crate::hook::{Hook, Platform};
use crate::native::analysis::AnalysisState;
use crate::native::discover::discover;
use crate::native::event::NativeEvent;
use crate::native::rollback::rollback;
use crate::native::window::{self, WindowState};
use crate::payload::{HookPayload, deadline_instant};
use crate::plan::{DiscoveryError, Plan, TargetType};
use crate::policy::Scope;
use crate::ports::Ports;
use crate::probe::{self, CheckResult};
use crate::run::now_ms;

/// Time kept between the end of a window's part and the end of the checks' budget.
const PART_SLACK: std::time::Duration = std::time::Duration::from_millis(150);

/// How the checks of one invocation end.
enum Step {
    /// The verdict is in the evidence; `strict`: dry run and fail-open do not apply.
    Decide { strict: bool },
    /// The window or the analysis goes on: answer `IN_PROGRESS` with this state.
    Pending {
        details: serde_json::Map<String, Value>,
        delay: u32,
        /// What goes on, for the summary.
        what: String,
    },
}

impl<P: Ports> App<P> {
    /// Handles one Amazon ECS lifecycle hook invocation: the answer is the status.
    pub(crate) async fn answer_native(
        &self,
        payload: &Value,
        context: &lambda_runtime::Context,
    ) -> Result<Answer> {
        let started = Instant::now();
        let event = match NativeEvent::parse(payload) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "the Amazon ECS lifecycle hook payload is not valid: the invocation fails, and Amazon ECS rolls the deployment back");
                return Err(e);
            }
        };
        let deadline = deadline_instant(context.deadline);
        let (until, margin) = self.budget(deadline);
        let hook = HookPayload {
            deployment_id: event.resource_arn.clone(),
            hook_execution_id: event.execution_id.clone(),
        };
        let mut ev = Evidence::new(&hook);
        self.locate(&mut ev, context);
        ev.platform = Some(Platform::EcsNative);
        ev.hook = Some(event.stage.to_string());
        ev.service = Some(event.service_name());
        ev.target_revision = Some(event.target_revision_arn.clone());
        ev.target_type = Some(TargetType::EcsService);
        if event.flat {
            ev.notes.push(
                "the payload has the flat form of the early guide (executionDetails' fields at the top level)"
                    .into(),
            );
        }

        if let Some(r) = rollback(&event) {
            let detail = r.describe(&event);
            tracing::info!(deployment = %event.resource_arn, stage = %event.stage, "{detail}");
            ev.checks
                .push(CheckResult::new("rollback", true, None, detail));
            return Ok(self
                .finish(ev, &hook, Step::Decide { strict: false }, started, deadline)
                .await);
        }
        let step = match &self.config_error {
            Some(problem) => {
                ev.checks.push(CheckResult::new(
                    "configuration",
                    false,
                    None,
                    format!("nothing was checked: the function's {problem}"),
                ));
                ev.error = Some(problem.to_string());
                Step::Decide { strict: true }
            }
            None => {
                let run = self.verify(&event, &mut ev, until);
                match tokio::time::timeout_at(until, run).await {
                    Ok(step) => step,
                    Err(_) => {
                        out_of_time(&mut ev, margin);
                        Step::Decide { strict: false }
                    }
                }
            }
        };
        Ok(self.finish(ev, &hook, step, started, deadline).await)
    }

    /// The policy, the stage's checks, discovery and the checks (steps 4 and 5).
    async fn verify(&self, event: &NativeEvent, ev: &mut Evidence, until: Instant) -> Step {
        let started_ms = now_ms();
        let overlay = event
            .hook_details
            .as_ref()
            .and_then(|d| d.get("codehooksPolicy"));
        let policy = match overlay {
            None => Cow::Borrowed(&self.settings.policy),
            Some(doc) => match self.settings.policy.overlaid(doc) {
                Ok(p) => {
                    ev.notes.push(
                        "the service's own policy (hookDetails.codehooksPolicy) applies".into(),
                    );
                    Cow::Owned(p)
                }
                Err(e) => {
                    ev.checks.push(CheckResult::new(
                        "policy",
                        false,
                        None,
                        format!("the service's policy is not valid: {e}"),
                    ));
                    ev.error = Some(e.to_string());
                    return Step::Decide { strict: true };
                }
            },
        };
        let scope = Scope::Service {
            cluster: &event.cluster,
            service: &event.service,
        };
        let checks = policy.checks_in(event.stage, scope);
        if !checks.enabled {
            ev.notes.push(format!(
                "checks of {} are disabled by the policy",
                event.stage
            ));
            return Step::Decide { strict: false };
        }
        if !checks.target_health && !checks.probes && event.stage != Hook::PreScaleUp {
            ev.notes.push(format!(
                "{} has nothing to check (no target health, no probes): answered at once",
                event.stage
            ));
            return Step::Decide { strict: false };
        }
        let plan = match discover(&self.services, &self.load_balancer, event, &checks).await {
            Ok(plan) => plan,
            Err(DiscoveryError::Unsupported(msg)) => {
                ev.checks
                    .push(CheckResult::new("discovery", false, None, msg));
                return Step::Decide { strict: false };
            }
            Err(DiscoveryError::Aws(e)) => {
                ev.could_not("discovery", e.to_string());
                return Step::Decide { strict: false };
            }
        };
        let (carried, note) = AnalysisState::load(event);
        ev.notes.extend(note);
        if let (Some(a), Some(state)) = (&checks.analysis, carried) {
            ev.notes.push(format!(
                "the probes passed in an earlier invocation; the analysis goes on (invocation {})",
                state.invocations + 1
            ));
            return self
                .native_analysis(&plan, &checks, a, state, ev, until)
                .await;
        }
        let budget = until.saturating_duration_since(Instant::now());
        let (state, note) = WindowState::load(event, &checks);
        ev.notes.extend(note);
        let probing = checks.probes && plan.listener.is_some();
        let (step, from) = if probing && (state.is_some() || window::needs_window(&checks, budget))
        {
            let state = state
                .unwrap_or_else(|| WindowState::new(event, &checks, codehooks::time::now_millis()));
            let from = i64::try_from(state.started_ms).unwrap_or(started_ms);
            (
                self.window_part(&plan, &checks, state, ev, until).await,
                from,
            )
        } else {
            self.check_ecs(&plan, &checks, ev, until).await;
            (Step::Decide { strict: false }, started_ms)
        };
        match (&checks.analysis, step) {
            (Some(a), Step::Decide { strict: false }) if all_passed(ev) => {
                let state = AnalysisState::new(event, from, now_ms());
                self.native_analysis(&plan, &checks, a, state, ev, until)
                    .await
            }
            (_, step) => step,
        }
    }

    /// One invocation's analysis: a verdict, or `IN_PROGRESS` while the traffic is too thin
    /// and `maxWaitMs` has not passed.
    async fn native_analysis(
        &self,
        plan: &Plan,
        checks: &crate::checks::Checks,
        a: &Analysis,
        mut state: AnalysisState,
        ev: &mut Evidence,
        until: Instant,
    ) -> Step {
        state.invocations += 1;
        let waited_ms = state.waited_ms(now_ms());
        let mode = Mode::Once { waited_ms };
        match self
            .analyse_ecs(plan, checks, a, state.window_from_ms, mode, ev, until)
            .await
        {
            Analysed::Done => Step::Decide { strict: false },
            Analysed::Pending => {
                let thin = ev
                    .analysis
                    .as_ref()
                    .and_then(|r| {
                        r.metrics
                            .iter()
                            .find(|m| m.outcome == Outcome::Inconclusive)
                    })
                    .map_or_else(|| "too little traffic".to_owned(), |m| m.detail.clone());
                Step::Pending {
                    details: state.details(),
                    delay: u32::try_from(a.poll_ms() / 1_000)
                        .unwrap_or(900)
                        .clamp(1, 900),
                    what: format!(
                        "the analysis is inconclusive so far ({thin}); waited {} of {} s",
                        waited_ms / 1_000,
                        a.max_wait_ms() / 1_000
                    ),
                }
            }
        }
    }

    /// One invocation's part of a window: the checks with the probes of the current path for
    /// what is left of its window (cut at `until`), merged into the state.
    async fn window_part(
        &self,
        plan: &Plan,
        checks: &crate::checks::Checks,
        mut state: WindowState,
        ev: &mut Evidence,
        until: Instant,
    ) -> Step {
        state.invocations += 1;
        let current = state.current();
        if let Some(i) = current {
            if state.invocations > state.invocation_limit() {
                ev.checks.push(CheckResult::new(
                    "window",
                    false,
                    None,
                    format!(
                        "the probe window did not complete in {} invocations; raise the function's timeout",
                        state.invocations - 1
                    ),
                ));
                ev.window = Some(state.evidence());
                return Step::Decide { strict: false };
            }
            let path = state.paths[i].path.clone();
            let mut part = checks.clone();
            part.paths = vec![path.clone()];
            part.window_ms = Some(state.left_ms(i));
            if state.warmed_up {
                part.warmup_ms = 0;
            }
            let before = ev.checks.len();
            // The part ends a little before the budget, so the state is kept, not timed out.
            let part_until = until.checked_sub(PART_SLACK).unwrap_or(until);
            self.check_ecs(plan, &part, ev, part_until).await;
            let report = ev.probes.pop();
            // The probes' own verdict on the part is replaced by the window's.
            let mut kept = ev.checks.split_off(before);
            kept.retain(|c| c.path.as_deref() != Some(path.as_str()));
            ev.checks.extend(kept);
            if let Some(r) = &report {
                state.warmed_up = true;
                state.merge(i, r);
            }
            if report.is_none() || ev.checks.iter().any(|c| !c.passed) {
                ev.window = Some(state.evidence());
                return Step::Decide { strict: false };
            }
        }
        ev.window = Some(state.evidence());
        if state.current().is_some() && !state.failed_early(checks) {
            let w = state.evidence();
            return Step::Pending {
                details: state.details(),
                delay: checks.call_back_delay_seconds,
                what: format!(
                    "{} of {} ms of the probe window done",
                    w.probed_ms, w.total_ms
                ),
            };
        }
        ev.probes = state.reports();
        for r in &ev.probes {
            probe::evaluate(checks, r, &mut ev.checks);
        }
        Step::Decide { strict: false }
    }

    /// Concludes, alerts, logs and measures; the answer.
    async fn finish(
        &self,
        mut ev: Evidence,
        hook: &HookPayload,
        step: Step,
        started: Instant,
        deadline: Instant,
    ) -> Answer {
        ev.reported = "returned".into();
        let (status, delay, details) = match step {
            Step::Decide { strict } => {
                let settings = if strict {
                    Cow::Owned(self.settings.clone().degraded())
                } else {
                    Cow::Borrowed(&self.settings)
                };
                ev.conclude(&settings);
                let status = match ev.decision {
                    Decision::Succeeded => HookStatus::Succeeded,
                    Decision::Failed => HookStatus::Failed,
                };
                (status, None, None)
            }
            Step::Pending {
                details,
                delay,
                what,
            } => {
                ev.conclude(&self.settings);
                ev.summary = format!(
                    "{} in progress: {what}; Amazon ECS invokes again in {delay} s",
                    ev.hook.as_deref().unwrap_or("lifecycle hook"),
                );
                (HookStatus::InProgress, Some(delay), Some(details))
            }
        };
        ev.duration_ms = started.elapsed().as_millis() as u64;
        let outcome = if status == HookStatus::InProgress {
            "InProgress"
        } else {
            ev.state()
        };
        crate::measure::log_and_measure(&self.metrics_namespace, &ev, outcome);
        if status != HookStatus::InProgress
            && let Err(e) = self
                .alert_owed(hook, &ev, &Ok(Reported::Reported), deadline)
                .await
        {
            // The answer is the status: an error here would roll the deployment back.
            tracing::error!(error = %e, "the rollback alert was not published");
        }
        tracing::info!(hook_status = status.as_str(), "answering Amazon ECS");
        Answer::Native(NativeAnswer {
            hook_status: status,
            call_back_delay: delay,
            hook_details: details,
            evidence: Box::new(ev),
        })
    }
}

#[cfg(test)]
#[path = "run_test.rs"]
mod tests;
