//! The answer to the job, and what makes it once-only: the record of each job answered (so a
//! duplicate is not verified or answered again), the answer retried until the deadline, the
//! decision log and metrics, and the alert of a failed job, once.

use std::time::Duration;

use codehooks::Result;
use codehooks::once::{OnceOnlyStore, State};
use codehooks::text::cut;
use tokio::time::Instant;

use crate::answer::{Answer, JobAnswer};
use crate::app::App;
use crate::evidence::Evidence;
use crate::facts::{Decision, JobFailure, JobResult, Reported};
use crate::pipeline::event::JobEvent;
use crate::pipeline::run::Step;
use crate::ports::{Jobs, Ports};
use crate::probe::CheckResult;

/// The most characters of a job's summary (`executionDetails.summary`).
const SUMMARY_MAX: usize = 2_048;
/// The most characters of a job's failure message (`failureDetails.message`).
const MESSAGE_MAX: usize = 5_000;
/// Pause between two attempts to answer the job.
const ANSWER_RETRY: Duration = Duration::from_millis(250);
/// The recorded state of a job answered with success (or a continuation token).
const ANSWERED: &str = "ANSWERED";
/// The recorded state of a job whose failure is being answered (its alert is owed).
const FAILING: &str = crate::notify::FAILED_PENDING;

/// The once-only key of a job (its answer, its alert).
pub fn key(job_id: &str) -> String {
    format!("deploy-hook/pipeline/{job_id}")
}

impl<P: Ports> App<P> {
    /// Step 2: a job answered before, with the table. `None`: go on.
    pub(super) async fn answered_before(
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
        // A failure answered earlier keeps its kind in the record.
        ev.decision = match recorded.first {
            Some(_) => Decision::Failed,
            None => Decision::Succeeded,
        };
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
    pub(super) async fn finish_job(
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
        ev.duration_ms = started.elapsed().as_millis() as u64;
        let outcome = if last { ev.state() } else { "InProgress" };
        crate::measure::log_and_measure(&self.metrics_namespace, &ev, outcome);
        let reported = answered?;
        if last && ev.alert_worthy() {
            let alert = crate::alert::alert(&ev);
            self.publish_alert(&key(&job.id), &alert, deadline).await?;
        }
        // Answered, and alerted when owed: a repeat of this job has nothing left to do. (Until
        // here, a repeat answers a recorded failure again and publishes its alert if it was not.)
        let (summary, kind) = match &result {
            JobResult::Success { summary, .. } => (summary.clone(), None),
            JobResult::Failure { message, kind, .. } => (message.clone(), Some(kind.as_str())),
        };
        self.record_job(&job.id, ANSWERED, &summary, kind, deadline)
            .await;
        tracing::info!(job_id = %job.id, answer = label, reported = reported.as_str(), "answered CodePipeline");
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

fn set_answer(ev: &mut Evidence, answer: &str) {
    if let Some(j) = ev.pipeline.as_mut() {
        j.answer = answer.to_owned();
    }
}
