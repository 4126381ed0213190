//! One repository replicated to every replica region at once (creating a missing replica
//! when allowed), each replica through [`sync_replica`] under its policy and the
//! invocation's time budget, then its default branch made to follow the source's; one
//! replica failing does not stop the others.

use std::time::Instant;

use codehooks::config::ConfigError;
use codehooks::names::RepositoryName;
use codehooks::{Error, Result};

use crate::default_branch;
use crate::endpoints::GitTarget;
use crate::measure;
use crate::outcome::{self, FetchReport, ReplicaReport, RepositoryReport};
use crate::plan::{RepositoryPlan, repository_plan};
use crate::ports::{Created, Mirror, MirrorError, RepositoryCatalogue};
use crate::queue::WorkQueue;
use crate::replicate::{Replicator, join_all, now_ms};
use crate::sync::{SyncOptions, sync_replica};

impl<C: RepositoryCatalogue, M: Mirror, Q: WorkQueue> Replicator<C, M, Q> {
    /// Replicates one repository to every replica region; returns its report and the errors.
    pub(crate) async fn replicate(
        &self,
        repository: &RepositoryName,
        event_ms: Option<u64>,
        deadline: Option<Instant>,
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
                let planned = plan.replicas.len();
                measure::repository_metrics(&self.metrics_namespace, &report, planned).emit();
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
        let options = |t: &GitTarget| SyncOptions {
            limits: self.config.limits,
            policy: self.config.policy_for(&t.region),
            slice_commits: self.config.slice_commits,
            deadline,
        };
        let first = join_all(
            plan.replicas
                .iter()
                .map(|t| sync_replica(&self.mirror, &plan.source, t, &fetched.refs, options(t))),
        )
        .await;
        // The source's default branch, read once and only when a replica may need it.
        let mut source_default: Option<Option<String>> = None;
        let mut replicas = Vec::new();
        let mut errors = Vec::new();
        for (target, mut result) in plan.replicas.iter().zip(first) {
            let mut created = false;
            if let Err(MirrorError::Refused(why)) = &result {
                match self.ensure_replica(&plan, target, why).await {
                    Ok(()) => {
                        created = true;
                        result = sync_replica(
                            &self.mirror,
                            &plan.source,
                            target,
                            &fetched.refs,
                            options(target),
                        )
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
                    let mut report =
                        ReplicaReport::synced(target, &stats, created, event_ms, now_ms());
                    // On an event that changed nothing, nothing is asked (a default branch
                    // changed at the source has no event: the reconciliation carries it).
                    let changed = created
                        || !stats.created_or_updated.is_empty()
                        || !stats.deleted.is_empty();
                    let follow = self.config.follow_default_branch
                        && !stats.partial
                        && (changed || event_ms.is_none());
                    if follow && source_default.is_none() {
                        source_default = Some(self.source_default(repository).await);
                    }
                    if let (true, Some(Some(branch))) = (follow, &source_default) {
                        let policy = self.config.policy_for(&target.region);
                        match default_branch::follow(
                            &self.catalogue,
                            target,
                            branch,
                            &fetched.refs,
                            policy,
                        )
                        .await
                        {
                            Ok(changed) => report.set_default_branch(changed),
                            Err(e) => {
                                tracing::error!(repository = %repository, replica_region = %target.region, error = %e, "default branch not updated");
                                errors.push(e);
                            }
                        }
                    }
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
                        partial = stats.partial,
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
        measure::repository_metrics(&self.metrics_namespace, &report, plan.replicas.len()).emit();
        (report, errors)
    }

    /// The source's default branch (`None` when it has none or it cannot be read now: the
    /// replicas keep theirs this time).
    async fn source_default(&self, repository: &RepositoryName) -> Option<String> {
        let region = &self.config.source_region;
        default_branch::source_default(&self.catalogue, region, repository)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(repository = %repository, error = %e, "cannot read the source's default branch; replicas keep theirs this time");
                None
            })
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
