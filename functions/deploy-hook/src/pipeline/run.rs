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
use codehooks::once::{OnceOnlyStore, State};
use codehooks::text::cut;
use serde_json::Value;
use tokio::time::Instant;

use crate::analysis::AnalysisEvidence;
use crate::analysis::alarms::{judge_alarms, selector};
use crate::analysis_run::all_passed;
use crate::answer::{Answer, JobAnswer};
use crate::app::{App, out_of_time};
use crate::endpoint::fill_version;
use crate::evidence::Evidence;
use crate::facts::{Decision, JobFailure, JobResult, Reported};
use crate::hook::Platform;
use crate::payload::{HookPayload, deadline_instant};
use crate::pipeline::JobEvidence;
use crate::pipeline::event::JobEvent;
use crate::pipeline::params::{self, Params, ServiceTarget, UrlTarget};
use crate::pipeline::progress::Progress;
use crate::pipeline::rollout::{self, Rollout};
use crate::ports::{Jobs, Metrics, Ports, Services};
use crate::probe::{self, CheckResult, Endpoint};
use crate::run::{ProbeTarget, probe_paths};

/// What the evidence calls the check of a pipeline action.
const CHECK: &str = "pipeline verification";
/// The most characters of a job's summary (`executionDetails.summary`).
const SUMMARY_MAX: usize = 2_048;
/// The most characters of a job's failure message (`failureDetails.message`).
const MESSAGE_MAX: usize = 5_000;
/// Pause between two attempts to answer the job.
const ANSWER_RETRY: Duration = Duration::from_millis(250);
/// The least time worth starting the probes with, beyond their warm-up and window: less, and
/// they start in the next invocation.
const PROBE_MIN: Duration = Duration::from_secs(5);
/// The recorded state of a job answered with success (or a continuation token).
const ANSWERED: &str = "ANSWERED";
/// The recorded state of a job whose failure is being answered (its alert is owed).
const FAILING: &str = crate::notify::FAILED_PENDING;

/// The once-only key of a job (its answer, its alert).
pub fn key(job_id: &str) -> String {
    format!("deploy-hook/pipeline/{job_id}")
}

/// How this invocation's checks end.
enum Step {
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

/// How a phase ends.
enum Phase<T> {
    Done(T),
    /// A check failed (it is in the evidence).
    Failed,
    /// Not yet, at the end of this invocation's time: what it waits for.
    Pending(String),
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
        progress.invocations += 1;
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
        let end_ms = progress.started_ms + p.timeout_seconds * 1_000;
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
            let watch_end = from + p.watch_seconds * 1_000;
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

    /// Polls the service every `poll_s` seconds until its deployment is done, fails, or `bound`.
    async fn wait_service(
        &self,
        s: &ServiceTarget,
        poll_s: u64,
        ev: &mut Evidence,
        bound: Instant,
    ) -> Phase<String> {
        let poll = Duration::from_secs(poll_s);
        let mut polls = 0u32;
        loop {
            polls += 1;
            let waiting = match self.services.service(&s.cluster, &s.name).await {
                Ok(None) => {
                    ev.checks.push(CheckResult::new(
                        "service",
                        false,
                        None,
                        format!(
                            "Amazon ECS has no service {} in cluster {} (check service.name and service.cluster)",
                            s.name, s.cluster
                        ),
                    ));
                    return Phase::Failed;
                }
                Ok(Some(facts)) => {
                    match rollout::judge(&facts, s.task_definition.as_deref(), s.running_count) {
                        Rollout::Ready {
                            task_definition,
                            detail,
                        } => {
                            set_rollout(ev, &detail);
                            ev.checks
                                .push(CheckResult::new("service", true, None, detail));
                            ev.task_definition = Some(task_definition.clone());
                            return Phase::Done(task_definition);
                        }
                        Rollout::Failed(why) => {
                            set_rollout(ev, &why);
                            ev.checks
                                .push(CheckResult::new("service", false, None, why));
                            return Phase::Failed;
                        }
                        Rollout::Waiting(what) => {
                            set_rollout(ev, &what);
                            what
                        }
                    }
                }
                Err(e) if e.is_retryable() => {
                    tracing::warn!(error = %e, "reading the service failed; polling again");
                    format!("the service could not be read: {e}")
                }
                Err(e) => {
                    ev.could_not("service", e.to_string());
                    return Phase::Failed;
                }
            };
            if Instant::now() + poll >= bound {
                tracing::info!(polls, waiting = %waiting, "the service's deployment is not done in this invocation");
                return Phase::Pending(waiting);
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// The probes of `url` (with the checks' version token filled in).
    async fn probe_url(
        &self,
        u: &UrlTarget,
        p: &Params,
        execution_id: &str,
        task_definition: Option<&str>,
        ev: &mut Evidence,
        until: Instant,
    ) {
        let checks = &p.checks;
        let version_token = match &checks.version {
            None => None,
            Some(v) => match fill_version(&v.expected, execution_id, task_definition) {
                Some(t) => Some(t),
                None => {
                    ev.checks.push(CheckResult::new(
                        "version",
                        false,
                        None,
                        format!(
                            "the version assertion {:?} names the task definition, and no service deployment gave one",
                            v.expected
                        ),
                    ));
                    return;
                }
            },
        };
        let connect_to = u
            .origin
            .split_once("://")
            .map_or(u.origin.as_str(), |(_, rest)| rest)
            .to_owned();
        let endpoint = Endpoint {
            origin: u.origin.clone(),
            resolve: None,
            connect_to,
        };
        ev.url = Some(format!(
            "{}{}",
            endpoint.origin,
            checks.paths.first().map(String::as_str).unwrap_or("/")
        ));
        ev.connect_to = Some(endpoint.connect_to.clone());
        let client = match probe::client(checks, &endpoint) {
            Ok(c) => c,
            Err(e) => {
                ev.could_not("endpoint", e.to_string());
                return;
            }
        };
        let target = ProbeTarget {
            client: &client,
            endpoint: &endpoint,
            query: &[],
        };
        probe_paths(&target, checks, version_token, ev, until).await;
    }

    /// Reads the gate's alarms every `poll_s` seconds until `watch_end_ms` (epoch ms), an alarm
    /// fails the gate, or `bound`.
    async fn watch_alarms(
        &self,
        gate: &crate::analysis::spec::AlarmGate,
        watch_end_ms: u64,
        poll_s: u64,
        ev: &mut Evidence,
        bound: Instant,
    ) -> Phase<()> {
        let poll = Duration::from_secs(poll_s);
        loop {
            match self.metrics.alarms(&selector(gate)).await {
                Ok(found) => {
                    let (alarms, check) = judge_alarms(gate, &found);
                    let record = ev.analysis.get_or_insert_with(AnalysisEvidence::default);
                    record.polls += 1;
                    record.alarms = alarms;
                    let now = codehooks::time::now_millis();
                    if !check.passed || now >= watch_end_ms {
                        let failed = !check.passed;
                        ev.checks.push(check);
                        return if failed {
                            Phase::Failed
                        } else {
                            Phase::Done(())
                        };
                    }
                }
                Err(e) if e.is_retryable() => {
                    tracing::warn!(error = %e, "reading the alarms failed; reading again");
                }
                Err(e) => {
                    ev.could_not("alarms", e.to_string());
                    return Phase::Failed;
                }
            }
            let now = codehooks::time::now_millis();
            let left = Duration::from_millis(watch_end_ms.saturating_sub(now));
            let pause = poll.min(left);
            if Instant::now() + pause >= bound {
                return Phase::Pending(format!(
                    "watching the alarms: {} s of the watch left",
                    left.as_secs()
                ));
            }
            tokio::time::sleep(pause).await;
        }
    }

    /// Step 2: a job answered before, with the table. `None`: go on.
    async fn answered_before(
        &self,
        job: &JobEvent,
        ev: &mut Evidence,
        started: Instant,
        deadline: Instant,
    ) -> Option<Result<Answer>> {
        let store = self.once.as_ref()?;
        let by = (Instant::now() + Duration::from_secs(1)).min(deadline);
        let recorded = match tokio::time::timeout_at(by, store.state(&key(&job.id))).await {
            Ok(Ok(Some(s))) => s,
            Ok(Ok(None)) => return None,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot read whether the job was answered; verifying");
                return None;
            }
            Err(_) => {
                tracing::warn!("reading whether the job was answered timed out; verifying");
                return None;
            }
        };
        let detail = recorded.detail.clone().unwrap_or_default();
        if recorded.state == FAILING {
            tracing::info!(job_id = %job.id, "this job's failure was being answered by an earlier invocation: answering it again from the record");
            let kind = match recorded.first.as_deref() {
                Some("ConfigurationError") => JobFailure::ConfigurationError,
                _ => JobFailure::JobFailed,
            };
            ev.checks.push(CheckResult::new(
                "verification",
                false,
                None,
                format!("an earlier invocation of this job failed it: {detail}"),
            ));
            ev.error = Some(detail.clone());
            ev.conclude(&self.settings.clone().degraded());
            ev.summary = detail.clone();
            let result = JobResult::Failure {
                kind,
                message: cut(&detail, MESSAGE_MAX),
                external_id: external_id(ev, job),
            };
            return Some(
                self.deliver(job, ev.clone(), result, true, started, deadline)
                    .await,
            );
        }
        tracing::info!(job_id = %job.id, state = %recorded.state, "this job was answered by an earlier invocation: nothing to do");
        ev.decision = Decision::Succeeded;
        ev.summary = format!("the job was answered earlier: {detail}");
        ev.reported = Reported::AlreadyCompleted.as_str().to_owned();
        set_answer(ev, "alreadyAnswered");
        ev.duration_ms = started.elapsed().as_millis() as u64;
        crate::measure::log_and_measure(&self.metrics_namespace, ev, "AlreadyAnswered");
        Some(Ok(Answer::Job(JobAnswer {
            job_id: job.id.clone(),
            answer: "alreadyAnswered",
            summary: ev.summary.clone(),
            evidence: Box::new(ev.clone()),
        })))
    }

    /// Step 5 for a verdict, a continuation or a refusal.
    async fn finish_job(
        &self,
        job: &JobEvent,
        mut ev: Evidence,
        step: Step,
        started: Instant,
        deadline: Instant,
    ) -> Result<Answer> {
        let result = match step {
            Step::Continue {
                progress,
                what,
                timeout_s,
            } => {
                ev.conclude(&self.settings);
                ev.summary = format!(
                    "verifying (invocation {}): {what}; CodePipeline invokes again with the continuation token",
                    progress.invocations
                );
                let elapsed = progress.elapsed_s(codehooks::time::now_millis());
                let percent = (elapsed.saturating_mul(100) / timeout_s.max(1)).min(99);
                JobResult::Success {
                    summary: cut(&ev.summary, SUMMARY_MAX),
                    external_id: external_id(&ev, job),
                    continuation_token: Some(progress.token()),
                    percent_complete: i32::try_from(percent).ok(),
                }
            }
            Step::Refuse(message) => {
                ev.checks.push(CheckResult::new(
                    "configuration",
                    false,
                    None,
                    message.clone(),
                ));
                ev.error = Some(message.clone());
                ev.conclude(&self.settings.clone().degraded());
                JobResult::Failure {
                    kind: JobFailure::ConfigurationError,
                    message: cut(&message, MESSAGE_MAX),
                    external_id: external_id(&ev, job),
                }
            }
            Step::Decide => {
                ev.conclude(&self.settings);
                match ev.decision {
                    Decision::Succeeded => JobResult::Success {
                        summary: cut(&ev.summary, SUMMARY_MAX),
                        external_id: external_id(&ev, job),
                        continuation_token: None,
                        percent_complete: Some(100),
                    },
                    Decision::Failed => JobResult::Failure {
                        kind: JobFailure::JobFailed,
                        message: cut(&ev.summary, MESSAGE_MAX),
                        external_id: external_id(&ev, job),
                    },
                }
            }
        };
        let last = !matches!(
            &result,
            JobResult::Success {
                continuation_token: Some(_),
                ..
            }
        );
        self.deliver(job, ev, result, last, started, deadline).await
    }

    /// Records, answers, logs and measures; alerts a final verdict that is alert-worthy.
    async fn deliver(
        &self,
        job: &JobEvent,
        mut ev: Evidence,
        result: JobResult,
        last: bool,
        started: Instant,
        deadline: Instant,
    ) -> Result<Answer> {
        let answer_by = deadline
            .checked_sub(Duration::from_millis(100))
            .unwrap_or(deadline);
        if let JobResult::Failure { kind, message, .. } = &result {
            self.record_job(&job.id, FAILING, message, Some(kind.as_str()), answer_by)
                .await;
        }
        let answered = self.answer_until(&job.id, &result, answer_by).await;
        ev.reported = match &answered {
            Ok(r) => r.as_str().to_owned(),
            Err(e) => format!("error: {e}"),
        };
        let label = match (&result, &answered) {
            (_, Ok(Reported::AlreadyCompleted)) => "alreadyAnswered",
            (JobResult::Failure { .. }, _) => "failed",
            (JobResult::Success { .. }, _) if !last => "continued",
            (JobResult::Success { .. }, _) => "succeeded",
        };
        set_answer(&mut ev, label);
        if let (JobResult::Success { summary, .. }, Ok(Reported::Reported)) = (&result, &answered) {
            self.record_job(&job.id, ANSWERED, summary, None, answer_by)
                .await;
        }
        ev.duration_ms = started.elapsed().as_millis() as u64;
        let outcome = if last { ev.state() } else { "InProgress" };
        crate::measure::log_and_measure(&self.metrics_namespace, &ev, outcome);
        let reported = answered?;
        if last && ev.alert_worthy() {
            let alert = crate::alert::alert(&ev);
            self.publish_alert(&key(&job.id), &alert, deadline).await?;
        }
        tracing::info!(job_id = %job.id, answer = label, reported = reported.as_str(), "answered CodePipeline");
        let summary = match &result {
            JobResult::Success { summary, .. } => summary.clone(),
            JobResult::Failure { message, .. } => message.clone(),
        };
        Ok(Answer::Job(JobAnswer {
            job_id: job.id.clone(),
            answer: label,
            summary,
            evidence: Box::new(ev),
        }))
    }

    /// Answers the job; retries what may pass later until `by`.
    async fn answer_until(
        &self,
        job_id: &str,
        result: &JobResult,
        by: Instant,
    ) -> Result<Reported> {
        loop {
            let err = match tokio::time::timeout_at(by, self.jobs.answer(job_id, result)).await {
                Ok(Ok(r)) => return Ok(r),
                Ok(Err(e)) => e,
                Err(_) => {
                    return Err(codehooks::Error::transient(
                        "CodePipeline did not take the job's answer before the invocation's deadline",
                    ));
                }
            };
            if !err.is_retryable() || Instant::now() + ANSWER_RETRY >= by {
                tracing::error!(job_id, error = %err, "cannot answer the CodePipeline job");
                return Err(err);
            }
            tracing::warn!(error = %err, "answering the job failed; retrying");
            tokio::time::sleep(ANSWER_RETRY).await;
        }
    }

    /// Records the job's state in the alerts table (bounded; a failure is only logged).
    async fn record_job(
        &self,
        job_id: &str,
        state: &str,
        detail: &str,
        kind: Option<&str>,
        by: Instant,
    ) {
        let Some(store) = &self.once else {
            return;
        };
        let record = State {
            state: state.to_owned(),
            at: crate::alert::utc_now(),
            detail: Some(cut(detail, MESSAGE_MAX)),
            first: kind.map(str::to_owned),
            ..State::default()
        };
        let until = (Instant::now() + Duration::from_secs(1)).min(by);
        let key = key(job_id);
        match tokio::time::timeout_at(
            until,
            store.record_state(&key, &record, crate::notify::KEEP),
        )
        .await
        {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(key, state, error = %e, "cannot record the job's state"),
            Err(_) => tracing::warn!(key, state, "recording the job's state timed out"),
        }
    }
}

/// The external execution id: the invocation's request id (it names the function's log
/// stream entries), else the job id.
fn external_id(ev: &Evidence, job: &JobEvent) -> String {
    let id = if ev.request_id.is_empty() {
        &job.id
    } else {
        &ev.request_id
    };
    cut(id, 1_500)
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

fn set_rollout(ev: &mut Evidence, what: &str) {
    if let Some(j) = ev.pipeline.as_mut() {
        j.rollout = Some(what.to_owned());
    }
}

fn set_answer(ev: &mut Evidence, answer: &str) {
    if let Some(j) = ev.pipeline.as_mut() {
        j.answer = answer.to_owned();
    }
}

/// The probes' results in a line per path.
fn probe_summary(ev: &Evidence) -> String {
    ev.probes
        .iter()
        .map(|p| {
            format!(
                "{}: {} of {} passed, p95 {}",
                p.url,
                p.succeeded,
                p.attempted,
                p.p95_ms
                    .map(|v| format!("{v:.1} ms"))
                    .unwrap_or_else(|| "-".into())
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
#[path = "run_test.rs"]
mod tests;
