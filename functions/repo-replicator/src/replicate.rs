//! The orchestration, generic over the two ports: which repositories an invocation covers,
//! fetching each into its cache, bringing every replica region in sync at once (creating a
//! missing replica when allowed), and the verdict: one replica failing does not stop the
//! others; the invocation fails after all are done, so EventBridge retries it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use codehooks::config::ConfigError;
use codehooks::names::RepositoryName;
use codehooks::{Error, Result};
use serde_json::Value;

use crate::config::{Config, Selection};
use crate::endpoints::GitTarget;
use crate::event::{self, Invocation, Trigger};
use crate::outcome::{self, FetchReport, Outcome, ReplicaReport, Report, RepositoryReport};
use crate::plan::{RepositoryPlan, repository_plan};
use crate::ports::{Created, Mirror, MirrorError, RepositoryCatalogue};
use crate::sync::sync_replica;

/// At most this many ListRepositories pages per reconciliation (1,000 names each): a
/// service that keeps answering with a next token cannot keep the function listing forever.
pub const MAX_LIST_PAGES: usize = 100;

/// The replicator over a repository catalogue `C` and a git mirror `M`.
#[derive(Debug)]
pub struct Replicator<C, M> {
    pub config: Arc<Config>,
    /// The namespace of the replication metrics.
    pub metrics_namespace: String,
    pub catalogue: C,
    pub mirror: M,
}

impl<C: RepositoryCatalogue, M: Mirror> Replicator<C, M> {
    pub fn new(config: Config, metrics_namespace: &str, catalogue: C, mirror: M) -> Self {
        Self {
            config: Arc::new(config),
            metrics_namespace: metrics_namespace.to_owned(),
            catalogue,
            mirror,
        }
    }

    /// Handles one invocation's payload.
    pub async fn handle(&self, payload: Value) -> Result<Outcome> {
        let started = Instant::now();
        let invocation = event::parse(payload)?;
        self.run(invocation, started).await
    }

    /// Carries out an invocation.
    pub async fn run(&self, invocation: Invocation, started: Instant) -> Result<Outcome> {
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
            Trigger::Reconcile => (self.reconciled_repositories().await?, None),
        };
        let mut reports = Vec::new();
        let mut errors: Vec<Error> = Vec::new();
        for repository in &repositories {
            let (report, mut errs) = self.replicate(repository, event_ms).await;
            reports.push(report);
            errors.append(&mut errs);
        }
        let report = Report {
            trigger: trigger.label(),
            event_id,
            repositories: reports,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        if errors.is_empty() {
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

    /// Replicates one repository to every replica region; returns its report and the errors.
    async fn replicate(
        &self,
        repository: &RepositoryName,
        event_ms: Option<u64>,
    ) -> (RepositoryReport, Vec<Error>) {
        let plan = repository_plan(&self.config, repository);
        let fetched = match self.mirror.fetch(&plan.source).await {
            Ok(f) => f,
            Err(failure) => {
                let err = self.source_failure(&plan, failure).await;
                tracing::error!(repository = %repository, error = %err, "cannot fetch the source");
                let report = RepositoryReport {
                    repository: repository.to_string(),
                    fetch: None,
                    replicas: None,
                    error: Some(err.to_string()),
                };
                return (report, vec![err]);
            }
        };
        outcome::fetch_metrics(&self.metrics_namespace, repository.as_str(), &fetched).emit();
        tracing::info!(
            repository = %repository,
            bytes = fetched.bytes,
            objects = fetched.objects,
            ms = fetched.millis,
            "source fetched into the cache"
        );

        // Every replica region at once.
        let limits = self.config.limits;
        let first = join_all(
            plan.replicas
                .iter()
                .map(|t| sync_replica(&self.mirror, &plan.source, t, &fetched.refs, limits)),
        )
        .await;
        let mut replicas = Vec::new();
        let mut errors = Vec::new();
        for (target, mut result) in plan.replicas.iter().zip(first) {
            let mut created = false;
            if let Err(MirrorError::Refused(why)) = &result {
                match self.ensure_replica(&plan, target, why).await {
                    Ok(()) => {
                        created = true;
                        result =
                            sync_replica(&self.mirror, &plan.source, target, &fetched.refs, limits)
                                .await;
                    }
                    Err(e) => {
                        tracing::error!(repository = %repository, replica_region = %target.region, error = %e, "replica unavailable");
                        replicas.push(ReplicaReport::failed(target, &e));
                        errors.push(e);
                        continue;
                    }
                }
            }
            match result {
                Ok(stats) => {
                    let report = ReplicaReport::synced(target, &stats, created, event_ms, now_ms());
                    if let ReplicaReport::Synced(s) = &report {
                        outcome::replica_metrics(&self.metrics_namespace, repository.as_str(), s)
                            .emit();
                    }
                    tracing::info!(
                        repository = %repository,
                        replica = %target.describe(),
                        updated = ?stats.created_or_updated,
                        deleted = ?stats.deleted,
                        bytes = stats.bytes,
                        objects = stats.objects,
                        cas_retries = stats.cas_retries,
                        created,
                        "replica in sync"
                    );
                    replicas.push(report);
                }
                Err(f) => {
                    let e = Error::transient(format!(
                        "replicating {repository} to {}: {f}",
                        target.describe()
                    ));
                    tracing::error!(repository = %repository, replica_region = %target.region, error = %e, "replica not updated");
                    replicas.push(ReplicaReport::failed(target, &e));
                    errors.push(e);
                }
            }
        }
        let report = RepositoryReport {
            repository: repository.to_string(),
            fetch: Some(FetchReport::of(&fetched)),
            replicas: Some(replicas),
            error: None,
        };
        (report, errors)
    }

    /// Explains a failed fetch: a missing source repository, or the git failure itself.
    async fn source_failure(&self, plan: &RepositoryPlan, failure: MirrorError) -> Error {
        let (region, repository) = (&self.config.source_region, &plan.repository);
        if let MirrorError::Refused(why) = &failure {
            match self.catalogue.repository(region, repository).await {
                Ok(None) => {
                    return Error::bad_input(format!(
                        "the source repository {repository} does not exist in {region}"
                    ));
                }
                Ok(Some(_)) => {
                    return Error::transient(format!(
                        "the source repository {repository} exists but its git endpoint refused the function: {why}"
                    ));
                }
                Err(_) => {}
            }
        }
        Error::transient(format!("fetching {repository} from {region}: {failure}"))
    }

    /// After a refused connection to a replica: whether it exists; creates it when it is
    /// missing and the configuration allows it.
    async fn ensure_replica(
        &self,
        plan: &RepositoryPlan,
        target: &GitTarget,
        why: &str,
    ) -> Result<()> {
        if self
            .catalogue
            .repository(&target.region, &target.repository)
            .await?
            .is_some()
        {
            return Err(Error::transient(format!(
                "{} exists but its git endpoint refused the function: {why}",
                target.describe()
            )));
        }
        if !self.config.create_missing {
            return Err(ConfigError::single(
                "CODEHOOKS_CREATE_MISSING_REPLICAS",
                format!(
                    "is false and the replica {} does not exist; create it or allow the function to",
                    target.describe()
                ),
            )
            .into());
        }
        let description = self
            .catalogue
            .repository(&self.config.source_region, &plan.repository)
            .await?
            .and_then(|info| info.description);
        match self
            .catalogue
            .create(&target.region, &target.repository, description)
            .await?
        {
            Created::Created => {
                tracing::info!(replica = %target.describe(), "replica repository created")
            }
            Created::AlreadyExists => {
                tracing::info!(replica = %target.describe(), "replica repository created meanwhile")
            }
        }
        Ok(())
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

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Runs the futures concurrently on the current task; their outputs in order.
async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[cfg(test)]
#[path = "replicate_test.rs"]
mod tests;
