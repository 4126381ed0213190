//! The work queue in the orchestration: a scheduled reconciliation with a
//! queue configured enqueues one job per repository (outcome `enqueued`); an invocation from
//! the queue replicates each job and answers the batch response (failed jobs are delivered
//! again, then dead-lettered); a repository left `partial` by its time budget is queued again
//! as a `Continue` job, so a first copy of any size converges across invocations.

use std::time::Instant;

use codehooks::Result;
use codehooks::names::RepositoryName;

use crate::event::QueueJob;
use crate::fanout::{self, BatchResponse};
use crate::outcome::{Batch, Enqueued, Outcome, Report, RepositoryReport};
use crate::ports::{Mirror, RepositoryCatalogue};
use crate::queue::{Job, JobReason, WorkQueue};
use crate::replicate::{Replicator, now_ms};

impl<C: RepositoryCatalogue, M: Mirror, Q: WorkQueue> Replicator<C, M, Q> {
    /// One `Reconcile` job per repository.
    pub(crate) async fn enqueue(
        &self,
        queue: &Q,
        event_id: String,
        repositories: Vec<RepositoryName>,
        started: Instant,
    ) -> Result<Outcome> {
        let jobs: Vec<Job> = repositories
            .iter()
            .map(|r| Job::new(r.clone(), JobReason::Reconcile))
            .collect();
        let sent = queue.send(&jobs).await?;
        tracing::info!(
            repositories = jobs.len(),
            messages = sent.messages,
            "reconciliation fanned out on the work queue"
        );
        Ok(Outcome::Enqueued(Enqueued {
            trigger: "schedule",
            event_id,
            repositories: repositories.iter().map(ToString::to_string).collect(),
            messages: sent.messages,
            duration_ms: started.elapsed().as_millis() as u64,
        }))
    }

    /// Queues a `Continue` job for each repository left partial (nothing without a queue:
    /// the next event or reconciliation goes on).
    pub(crate) async fn continue_later(&self, reports: &[RepositoryReport]) -> Result<()> {
        let Some(queue) = &self.queue else {
            return Ok(());
        };
        let jobs: Vec<Job> = reports
            .iter()
            .filter(|r| r.is_partial())
            .filter_map(|r| r.repository.parse().ok())
            .map(|r| Job::new(r, JobReason::Continue))
            .collect();
        if jobs.is_empty() {
            return Ok(());
        }
        queue.send(&jobs).await?;
        tracing::info!(
            repositories = jobs.len(),
            "partial repositories queued to continue"
        );
        Ok(())
    }

    /// Replicates each job of a queue invocation; a bad record, a failed repository or a
    /// partial one that cannot be queued again is a batch item failure.
    pub(crate) async fn run_jobs(
        &self,
        event_id: String,
        jobs: &[QueueJob],
        started: Instant,
        deadline: Option<Instant>,
    ) -> Outcome {
        let mut response = BatchResponse::all_done();
        let mut reports = Vec::new();
        for record in jobs {
            let Some(job) = record.job() else {
                tracing::error!(message_id = %record.message_id, "queue record is not a job; it will be dead-lettered");
                response.fail(&record.message_id);
                continue;
            };
            if !self.config.selects(&job.repository) {
                tracing::info!(repository = %job.repository, "queued repository is not replicated (any more); dropped");
                continue;
            }
            let (report, errors) = self.replicate(&job.repository, None, deadline).await;
            let mut done = errors.is_empty();
            if done && report.is_partial() {
                if self.queue.is_none() {
                    // Without a queue to continue on, SQS delivers the message again.
                    done = false;
                } else if let Err(e) = self.continue_later(std::slice::from_ref(&report)).await {
                    tracing::error!(repository = %job.repository, error = %e, "cannot queue the rest of a partial repository");
                    done = false;
                }
            }
            if done {
                if let Some(m) = fanout::queue_lag_metrics(
                    &self.metrics_namespace,
                    job.repository.as_str(),
                    record,
                    now_ms(),
                ) {
                    m.emit();
                }
            } else {
                for e in &errors {
                    tracing::error!(repository = %job.repository, error = %e, "queued repository not replicated; delivered again later");
                }
                response.fail(&record.message_id);
            }
            reports.push(report);
        }
        Outcome::Batch(Batch {
            report: Report {
                trigger: "queue",
                event_id,
                repositories: reports,
                duration_ms: started.elapsed().as_millis() as u64,
            },
            response,
        })
    }
}
