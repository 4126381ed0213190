//! The orchestration, generic over the ports (catalogue, mirror, work queue): which
//! repositories an invocation covers (an event's, the reconciliation's, or the queue's jobs:
//! see [`crate::jobs`]), each replicated by [`crate::repository`] within the invocation's time
//! budget, and the verdict: one replica failing does not stop the others; the invocation fails
//! after all are done, so EventBridge retries it.

use std::sync::Arc;
use std::time::Instant;

use codehooks::names::RepositoryName;
use codehooks::{Error, Result};
use serde_json::Value;

use crate::config::{Config, Selection};
use crate::event::{self, Invocation, Trigger};
use crate::outcome::{Outcome, Report};
use crate::ports::{Mirror, RepositoryCatalogue};
use crate::queue::WorkQueue;

/// At most this many ListRepositories pages per reconciliation (1,000 names each): a
/// service that keeps answering with a next token cannot keep the function listing forever.
pub const MAX_LIST_PAGES: usize = 100;

/// The replicator over a repository catalogue `C`, a git mirror `M` and, when the
/// reconciliation fans out, a work queue `Q`.
#[derive(Debug)]
pub struct Replicator<C, M, Q> {
    pub config: Arc<Config>,
    /// The namespace of the replication metrics.
    pub metrics_namespace: String,
    pub catalogue: C,
    pub mirror: M,
    /// `None`: the reconciliation replicates every repository itself, one after another.
    pub queue: Option<Q>,
}

impl<C: RepositoryCatalogue, M: Mirror, Q: WorkQueue> Replicator<C, M, Q> {
    pub fn new(
        config: Config,
        metrics_namespace: &str,
        catalogue: C,
        mirror: M,
        queue: Option<Q>,
    ) -> Self {
        Self {
            config: Arc::new(config),
            metrics_namespace: metrics_namespace.to_owned(),
            catalogue,
            mirror,
            queue,
        }
    }

    /// Handles one invocation's payload, with no deadline.
    pub async fn handle(&self, payload: Value) -> Result<Outcome> {
        self.handle_until(payload, None).await
    }

    /// Handles one invocation's payload; `deadline` is when the invocation must have answered.
    pub async fn handle_until(&self, payload: Value, deadline: Option<Instant>) -> Result<Outcome> {
        let started = Instant::now();
        let invocation = event::parse(payload)?;
        self.run(invocation, started, deadline).await
    }

    /// Carries out an invocation.
    pub async fn run(
        &self,
        invocation: Invocation,
        started: Instant,
        deadline: Option<Instant>,
    ) -> Result<Outcome> {
        // Slices stop a margin before the deadline: the answer and the logs still fit.
        let slices_until = deadline.map(|d| {
            d.checked_sub(self.config.deadline_margin)
                .unwrap_or(started)
                .max(started)
        });
        let Invocation { event_id, trigger } = invocation;
        let (repositories, event_ms) = match &trigger {
            Trigger::Change(c) => {
                if let Some(region) = &c.region
                    && *region != self.config.source_region
                {
                    tracing::info!(event_id = %event_id, region = %region, "event from another region than the source; ignored");
                    return Ok(Outcome::Ignored {
                        reason: format!(
                            "the event is from {region}, the source region is {}",
                            self.config.source_region
                        ),
                    });
                }
                if !self.config.selects(&c.repository) {
                    tracing::info!(event_id = %event_id, repository = %c.repository, "repository not replicated; ignored");
                    return Ok(Outcome::Ignored {
                        reason: format!("{} is not a replicated repository", c.repository),
                    });
                }
                tracing::info!(
                    event_id = %event_id,
                    repository = %c.repository,
                    change = %c.kind,
                    reference = c.reference.as_deref().unwrap_or(""),
                    commit = c.commit.as_deref().unwrap_or(""),
                    old_commit = c.old_commit.as_deref().unwrap_or(""),
                    "reference changed; mirroring the repository's current state"
                );
                (vec![c.repository.clone()], c.time_ms)
            }
            Trigger::Reconcile => {
                let repositories = self.reconciled_repositories().await?;
                if let Some(queue) = &self.queue {
                    return self.enqueue(queue, event_id, repositories, started).await;
                }
                (repositories, None)
            }
            Trigger::Queue(jobs) => {
                return Ok(self.run_jobs(event_id, jobs, started, slices_until).await);
            }
        };
        let mut reports = Vec::new();
        let mut errors: Vec<Error> = Vec::new();
        for repository in &repositories {
            let (report, mut errs) = self.replicate(repository, event_ms, slices_until).await;
            reports.push(report);
            errors.append(&mut errs);
        }
        if let Err(e) = self.continue_later(&reports).await {
            errors.push(e);
        }
        let report = Report {
            trigger: trigger.label(),
            event_id,
            repositories: reports,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        if errors.is_empty() {
            if report.is_partial() {
                return Ok(Outcome::Partial(report));
            }
            return Ok(Outcome::Replicated(report));
        }
        let failed = serde_json::to_string(&Outcome::Failed(report)).unwrap_or_default();
        tracing::error!(result = %failed, "replication failed for some replicas");
        Err(verdict(errors))
    }

    /// The repositories a reconciliation covers: the configured ones, or every repository of
    /// the source region whose name is a valid one, minus the exclusions.
    pub async fn reconciled_repositories(&self) -> Result<Vec<RepositoryName>> {
        let names = match &self.config.repositories {
            Selection::Named(names) => names.clone(),
            Selection::All => self.list_all().await?,
        };
        Ok(names
            .into_iter()
            .filter(|n| self.config.selects(n))
            .collect())
    }

    async fn list_all(&self) -> Result<Vec<RepositoryName>> {
        let region = &self.config.source_region;
        let mut names = Vec::new();
        let mut token = None;
        for page_number in 1..=MAX_LIST_PAGES {
            let page = self.catalogue.list_page(region, token).await?;
            for raw in page.names {
                match raw.parse::<RepositoryName>() {
                    Ok(n) => names.push(n),
                    Err(e) => {
                        tracing::warn!(name = %raw.escape_debug(), error = %e, "ListRepositories returned a name that is not a CodeCommit repository name; skipped")
                    }
                }
            }
            token = page.next_token;
            if token.is_none() {
                return Ok(names);
            }
            if page_number == MAX_LIST_PAGES {
                tracing::error!(
                    pages = MAX_LIST_PAGES,
                    listed = names.len(),
                    "ListRepositories still had a next token; stopped listing, reconciling what was listed"
                );
            }
        }
        Ok(names)
    }
}

/// The invocation's error once every replica was tried: the first error when none is worth
/// retrying (bad input, configuration), otherwise a transient error naming them all, so
/// EventBridge retries (then the dead-letter queue keeps the event).
pub fn verdict(mut errors: Vec<Error>) -> Error {
    if !errors.is_empty() && errors.iter().all(|e| !e.is_retryable()) {
        return errors.swap_remove(0);
    }
    let text = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    Error::transient(text)
}

pub(crate) use codehooks::join::join_all;
pub(crate) use codehooks::time::now_millis as now_ms;

#[cfg(test)]
#[path = "replicate_test.rs"]
mod tests;
