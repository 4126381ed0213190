//! One CodePipeline job, answered before the invocation's deadline on every path:
//!
//! 1. The job ([`JobEvent::parse`]): without a job id nothing can be answered, so the payload is
//!    `BadInput` and nothing is called.
//! 2. A job this function already answered (recorded in the alerts table): nothing runs again;
//!    a recorded failure is answered again from the record (the first answer may have been
//!    lost) and its alert published if it was not.
//! 3. The degraded mode, or a bad `UserParameters`: the job fails as a `ConfigurationError`
//!    whose message names the variable or the field.
//! 4. The phases, each resumed from the continuation token: the service's rolling deployment
//!    (polled every `pollSeconds`), the probes of `url`, the alarm watch (`watchSeconds`). What
//!    does not fit in this invocation continues in the next: a success with a continuation
//!    token, until `timeoutSeconds` after the first invocation.
//! 5. The verdict ([`Evidence::conclude`]: dry run and fail-open apply), the answer (retried
//!    until the deadline), the decision log and metrics, and the alert of a failure, once.

use std::time::Duration;

use codehooks::Result;
use serde_json::Value;
use tokio::time::Instant;

use crate::analysis_run::all_passed;
use crate::answer::Answer;
use crate::app::{App, out_of_time};
use crate::evidence::Evidence;
use crate::hook::Platform;
use crate::payload::{HookPayload, deadline_instant};
use crate::pipeline::JobEvidence;
use crate::pipeline::event::JobEvent;
use crate::pipeline::params::{self, Params};
use crate::pipeline::phases::Phase;
use crate::pipeline::progress::Progress;
use crate::ports::Ports;
use crate::probe::CheckResult;

/// What the evidence calls the check of a pipeline action.
const CHECK: &str = "pipeline verification";
/// The least time worth starting the probes with, beyond their warm-up and window: less, and
/// they start in the next invocation.
const PROBE_MIN: Duration = Duration::from_secs(5);

/// How this invocation's checks end.
pub(super) enum Step {
    /// The verdict is in the evidence.
    Decide,
    /// The verification goes on in the next job: answer success with this progress.
    Continue {
        progress: Progress,
        what: String,
        /// `timeoutSeconds`, for the percentage done.
        timeout_s: u64,
    },
    /// The action or the function is misconfigured: the job fails as a `ConfigurationError`.
    Refuse(String),
}

impl<P: Ports> App<P> {
    /// Handles one CodePipeline job: the answer goes to CodePipeline's API.
    pub(crate) async fn answer_job(
        &self,
        payload: &Value,
        context: &lambda_runtime::Context,
    ) -> Result<Answer> {
        let started = Instant::now();
        let job = match JobEvent::parse(payload) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(error = %e, "the CodePipeline job is not valid: nothing to answer; the action times out unless it is invoked again with a valid job");
                return Err(e);
            }
        };
        let deadline = deadline_instant(context.deadline);
        let (until, margin) = self.budget(deadline);
        let mut ev = Evidence::new(&HookPayload {
            deployment_id: job.id.clone(),
            hook_execution_id: job.id.clone(),
        });
        self.locate(&mut ev, context);
        if ev.account.is_none() {
            ev.account = job
                .account_id
                .clone()
                .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()));
        }
        ev.platform = Some(Platform::Pipeline);
        ev.hook = Some(CHECK.to_owned());
        ev.pipeline = Some(JobEvidence {
            job_id: job.id.clone(),
            invocations: 1,
            phase: "start".into(),
            ..JobEvidence::default()
        });
        tracing::info!(job_id = %job.id, function = job.function_name.as_deref().unwrap_or(""), continued = job.continuation_token.is_some(), "verifying for a CodePipeline job");

        if let Some(answer) = self.answered_before(&job, &mut ev, started, deadline).await {
            return answer;
        }
        let step = match &self.config_error {
            Some(problem) => Step::Refuse(format!(
                "nothing was checked: the function's configuration is invalid: {problem}"
            )),
            None => {
                let ceiling = crate::analysis::spec::DEFAULT_LOAD_CEILING;
                match params::parse(job.user_parameters.as_ref(), ceiling) {
                    Err(e) => Step::Refuse(e.to_string()),
                    Ok(p) => {
                        let run = self.verify_job(&job, &p, &mut ev, until);
                        match tokio::time::timeout_at(until, run).await {
                            Ok(step) => step,
                            Err(_) => {
                                out_of_time(&mut ev, margin);
                                Step::Decide
                            }
                        }
                    }
                }
            }
        };
        self.finish_job(&job, ev, step, started, deadline).await
    }

    /// The phases (step 4).
    async fn verify_job(
        &self,
        job: &JobEvent,
        p: &Params,
        ev: &mut Evidence,
        until: Instant,
    ) -> Step {
        let now = codehooks::time::now_millis();
        let (mut progress, note) = Progress::load(job.continuation_token.as_deref(), now);
        ev.notes.extend(note);
        progress.invocations = progress.invocations.saturating_add(1);
        if let Some(pipe) = &p.pipeline {
            ev.deployment_id = pipe.execution_id.clone();
        }
        if let Some(j) = ev.pipeline.as_mut() {
            j.invocations = progress.invocations;
            j.pipeline = p.pipeline.as_ref().map(|x| x.name.clone());
            j.execution_id = p.pipeline.as_ref().map(|x| x.execution_id.clone());
        }
        if let Some(s) = &p.service {
            ev.service = Some(format!("{}/{}", short(&s.cluster), short(&s.name)));
        }
        // The whole verification ends `timeoutSeconds` after its first invocation.
        let end_ms = progress
            .started_ms
            .saturating_add(p.timeout_seconds * 1_000);
        let left = Duration::from_millis(end_ms.saturating_sub(now));
        let overall = Instant::now() + left;
        let bound = overall.min(until);
        let last_round = overall <= until;
        let continue_with = |progress: Progress, what: String, ev: &mut Evidence| {
            if last_round {
                ev.checks.push(CheckResult::new(
                    "timeout",
                    false,
                    None,
                    format!(
                        "the verification did not finish within timeoutSeconds ({} s): {what}",
                        p.timeout_seconds
                    ),
                ));
                Step::Decide
            } else {
                Step::Continue {
                    progress,
                    what,
                    timeout_s: p.timeout_seconds,
                }
            }
        };
        let mut polled_service = false;

        if let Some(s) = &p.service {
            if progress.service_done {
                ev.checks.push(CheckResult::new(
                    "service",
                    true,
                    None,
                    format!(
                        "the deployment of {} completed (invocation {} or earlier)",
                        progress.task_definition.as_deref().unwrap_or("the service"),
                        progress.invocations - 1
                    ),
                ));
                ev.task_definition = progress.task_definition.clone();
            } else {
                set_phase(ev, "service");
                polled_service = true;
                match self.wait_service(s, p.poll_seconds, ev, bound).await {
                    Phase::Done(td) => {
                        progress.service_done = true;
                        progress.task_definition = Some(td);
                    }
                    Phase::Failed => return Step::Decide,
                    Phase::Pending(what) => return continue_with(progress, what, ev),
                }
            }
        }
        if let Some(u) = &p.url {
            if progress.probed {
                ev.checks.push(CheckResult::new(
                    "probes",
                    true,
                    None,
                    progress
                        .probe_summary
                        .clone()
                        .unwrap_or_else(|| "the probes passed in an earlier invocation".into()),
                ));
            } else {
                set_phase(ev, "probes");
                let c = &p.checks;
                let need =
                    Duration::from_millis(c.warmup_ms + c.window_ms.unwrap_or(0)) + PROBE_MIN;
                // After a wait for the service, probes that would not fit start afresh.
                if polled_service && bound.saturating_duration_since(Instant::now()) < need {
                    return continue_with(
                        progress,
                        "the service is ready; the probes start in the next invocation".into(),
                        ev,
                    );
                }
                let exec = p
                    .pipeline
                    .as_ref()
                    .map_or(job.id.as_str(), |x| x.execution_id.as_str());
                self.probe_url(u, p, exec, progress.task_definition.as_deref(), ev, bound)
                    .await;
                if !all_passed(ev) || ev.probes.is_empty() {
                    if ev.probes.is_empty() && all_passed(ev) {
                        ev.checks.push(CheckResult::new(
                            "probes",
                            false,
                            None,
                            "no probe ran before the invocation's time ran out",
                        ));
                    }
                    return Step::Decide;
                }
                progress.probed = true;
                progress.set_probe_summary(&probe_summary(ev));
            }
        }
        if let Some(gate) = &p.alarms {
            set_phase(ev, "watch");
            let from = *progress
                .watch_from_ms
                .get_or_insert_with(codehooks::time::now_millis);
            let watch_end = from.saturating_add(p.watch_seconds * 1_000);
            match self
                .watch_alarms(gate, watch_end, p.poll_seconds, ev, bound)
                .await
            {
                Phase::Done(()) => {}
                Phase::Failed => return Step::Decide,
                Phase::Pending(what) => return continue_with(progress, what, ev),
            }
        }
        set_phase(ev, "done");
        Step::Decide
    }
}

/// The last part of a name or ARN.
fn short(name_or_arn: &str) -> &str {
    name_or_arn.rsplit('/').next().unwrap_or(name_or_arn)
}

fn set_phase(ev: &mut Evidence, phase: &str) {
    if let Some(j) = ev.pipeline.as_mut() {
        j.phase = phase.to_owned();
    }
}

/// The probes' results in a line per path.
fn probe_summary(ev: &Evidence) -> String {
    let lines: Vec<String> = ev.probes.iter().map(|p| p.line()).collect();
    lines.join("; ")
}

#[cfg(test)]
#[path = "run_test.rs"]
mod tests;
