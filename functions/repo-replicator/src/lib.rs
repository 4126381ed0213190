//! `repo-replicator`: mirrors every branch and tag change of CodeCommit repositories to
//! replicas in other regions, incrementally, from inside the Lambda.
//!
//! A `CodeCommit Repository State Change` event (`referenceCreated`, `referenceUpdated`,
//! `referenceDeleted`) is read as "repository X changed": the function fetches what its bare
//! cache of X lacks from the source, then makes every replica's branches and tags equal to the
//! source's, pushing only the objects each replica lacks and guarding each ref update with the
//! value it saw on the replica. The scheduled reconciliation (`Scheduled Event`) does the same
//! for every configured repository, so a lost event heals itself.

pub mod config;
pub mod gitsync;
pub mod signing;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_codecommit::Client as CodeCommit;
use codehooks::config::{ConfigError, Env};
use codehooks::emf::Metrics;
use codehooks::events::EventBridgeEvent;
use codehooks::{Error, Result};
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::{Config, Selection, valid_repository_name};
use crate::gitsync::{FetchStats, GitFailure, GitTarget, ReplicaStats};
use crate::signing::AwsKeys;

/// The function's name, as the demo and logs show it.
pub const NAME: &str = "repo-replicator";

const STATE_CHANGE: &str = "CodeCommit Repository State Change";
const SCHEDULED: &str = "Scheduled Event";
const REFERENCE_EVENTS: [&str; 3] = ["referenceCreated", "referenceUpdated", "referenceDeleted"];

/// The detail of a CodeCommit reference event (only what the function reads).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReferenceDetail {
    event: String,
    repository_name: String,
    #[serde(default)]
    reference_full_name: Option<String>,
    #[serde(default)]
    commit_id: Option<String>,
    #[serde(default)]
    old_commit_id: Option<String>,
}

/// The function's configuration and clients, built once per execution environment.
pub struct App {
    pub config: Arc<Config>,
    sdk: SdkConfig,
    source: CodeCommit,
    replicas: BTreeMap<String, CodeCommit>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Keeps libgit2 away from any user or system git configuration: Lambda has no HOME, and
/// nothing outside the cache directory should change how the function talks git.
fn prepare_libgit2() {
    use git2::ConfigLevel;
    for level in [
        ConfigLevel::System,
        ConfigLevel::XDG,
        ConfigLevel::Global,
        ConfigLevel::ProgramData,
    ] {
        // SAFETY: called once at start-up, before any other libgit2 call and before any
        // thread that could use libgit2 exists.
        if let Err(e) = unsafe { git2::opts::set_search_path(level, "") } {
            tracing::warn!(error = %e.message(), "cannot clear a libgit2 configuration search path");
        }
    }
    // SAFETY: as above; these only set process-wide integers inside libgit2.
    unsafe {
        let _ = git2::opts::set_server_connect_timeout_in_milliseconds(10_000);
        let _ = git2::opts::set_server_timeout_in_milliseconds(120_000);
    }
}

impl App {
    /// Reads and validates the configuration.
    pub async fn from_env() -> Result<Self> {
        let mut env = Env::from_process();
        let config = Config::read(&mut env);
        env.finish()?;
        prepare_libgit2();
        let sdk = codehooks::aws::load(&config.common.aws).await;
        Ok(Self::with_sdk(config, sdk))
    }

    /// An app with the given configuration and SDK configuration.
    pub fn with_sdk(config: Config, sdk: SdkConfig) -> Self {
        let source = CodeCommit::new(&codehooks::aws::in_region(&sdk, &config.source_region));
        let replicas = config
            .replica_regions
            .iter()
            .map(|r| {
                (
                    r.clone(),
                    CodeCommit::new(&codehooks::aws::in_region(&sdk, r)),
                )
            })
            .collect();
        Self {
            config: Arc::new(config),
            sdk,
            source,
            replicas,
        }
    }

    /// Handles one invocation.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value> {
        let started = Instant::now();
        let ev = EventBridgeEvent::parse(event.payload)?;
        let (repositories, trigger) = match (ev.source.as_str(), ev.detail_type.as_str()) {
            ("aws.codecommit", STATE_CHANGE) => {
                let d: ReferenceDetail = ev.detail_as()?;
                if !REFERENCE_EVENTS.contains(&d.event.as_str()) {
                    return Err(Error::bad_input(format!(
                        "{STATE_CHANGE} event {} is a {:?} event; only referenceCreated, referenceUpdated and referenceDeleted are replicated",
                        ev.id, d.event
                    )));
                }
                if !valid_repository_name(&d.repository_name) {
                    return Err(Error::bad_input(format!(
                        "event {}: detail.repositoryName {:?} is not a CodeCommit repository name",
                        ev.id, d.repository_name
                    )));
                }
                if !ev.region.is_empty() && ev.region != self.config.source_region {
                    tracing::info!(event_id = %ev.id, region = %ev.region, "event from another region than the source; ignored");
                    return Ok(
                        json!({"status": "ignored", "reason": format!("the event is from {}, the source region is {}", ev.region, self.config.source_region)}),
                    );
                }
                if !self.config.selects(&d.repository_name) {
                    tracing::info!(event_id = %ev.id, repository = %d.repository_name, "repository not replicated; ignored");
                    return Ok(
                        json!({"status": "ignored", "reason": format!("{} is not a replicated repository", d.repository_name)}),
                    );
                }
                tracing::info!(
                    event_id = %ev.id,
                    repository = %d.repository_name,
                    change = %d.event,
                    reference = d.reference_full_name.as_deref().unwrap_or(""),
                    commit = d.commit_id.as_deref().unwrap_or(""),
                    old_commit = d.old_commit_id.as_deref().unwrap_or(""),
                    "reference changed; mirroring the repository's current state"
                );
                (vec![d.repository_name], "event")
            }
            ("aws.events", SCHEDULED) => (self.reconciled_repositories().await?, "schedule"),
            (source, detail_type) => {
                return Err(Error::bad_input(format!(
                    "event {} ({source}, {detail_type:?}) is neither a {STATE_CHANGE} nor a {SCHEDULED}",
                    ev.id
                )));
            }
        };
        let event_ms = if trigger == "event" {
            parse_time_ms(&ev.time)
        } else {
            None
        };
        let keys = self.keys().await?;
        let mut reports = Vec::new();
        let mut errors: Vec<Error> = Vec::new();
        for repository in &repositories {
            let (report, mut errs) = self.replicate(repository, &keys, event_ms).await;
            reports.push(report);
            errors.append(&mut errs);
        }
        let summary = json!({
            "status": if errors.is_empty() { "replicated" } else { "failed" },
            "trigger": trigger,
            "eventId": ev.id,
            "repositories": reports,
            "durationMs": started.elapsed().as_millis() as u64,
        });
        if errors.is_empty() {
            return Ok(summary);
        }
        tracing::error!(result = %summary, "replication failed for some replicas");
        // Every region was tried; the invocation fails so EventBridge retries (then the DLQ keeps it).
        let text = errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        match errors.iter().find(|e| !e.is_retryable()) {
            Some(_) if errors.iter().all(|e| !e.is_retryable()) => Err(errors.swap_remove(0)),
            _ => Err(Error::transient(text)),
        }
    }

    /// The role's current credentials, for signing git requests.
    async fn keys(&self) -> Result<AwsKeys> {
        let provider = self
            .sdk
            .credentials_provider()
            .ok_or_else(|| Error::internal("no AWS credentials provider is configured"))?;
        let c = provider.provide_credentials().await.map_err(|e| {
            Error::transient(format!("cannot load the function's AWS credentials: {e}"))
        })?;
        Ok(AwsKeys {
            access_key_id: c.access_key_id().to_owned(),
            secret_access_key: c.secret_access_key().to_owned(),
            session_token: c.session_token().map(str::to_owned),
        })
    }

    /// The repositories a reconciliation covers.
    async fn reconciled_repositories(&self) -> Result<Vec<String>> {
        let names = match &self.config.repositories {
            Selection::Named(names) => names.clone(),
            Selection::All => {
                let mut names = Vec::new();
                let mut token = None;
                loop {
                    let page = self
                        .source
                        .list_repositories()
                        .set_next_token(token)
                        .send()
                        .await
                        .map_err(|e| Error::aws("ListRepositories", e))?;
                    names.extend(
                        page.repositories()
                            .iter()
                            .filter_map(|r| r.repository_name().map(str::to_owned)),
                    );
                    token = page.next_token().map(str::to_owned);
                    if token.is_none() {
                        break;
                    }
                }
                names
            }
        };
        Ok(names
            .into_iter()
            .filter(|n| self.config.selects(n))
            .collect())
    }

    /// Replicates one repository to every replica region; returns its report and the errors.
    async fn replicate(
        &self,
        repository: &str,
        keys: &AwsKeys,
        event_ms: Option<u64>,
    ) -> (Value, Vec<Error>) {
        let cfg = Arc::clone(&self.config);
        let dir = gitsync::cache_dir(&cfg.cache_dir, &cfg.source_region, repository);
        let source = cfg.target(&cfg.source_region, repository);
        let fetched = {
            let (dir, source, keys) = (dir.clone(), source.clone(), keys.clone());
            blocking(move || fetch_into_cache(&dir, &source, &keys)).await
        };
        let fetch = match fetched {
            Ok(f) => f,
            Err(failure) => {
                let err = self.source_failure(repository, failure).await;
                tracing::error!(repository, error = %err, "cannot fetch the source");
                return (
                    json!({"repository": repository, "error": err.to_string()}),
                    vec![err],
                );
            }
        };
        let mut m = Metrics::new(&cfg.common.metrics_namespace, NAME);
        m.bytes("BytesFetched", fetch.bytes as f64)
            .count("ObjectsFetched", fetch.objects as f64)
            .millis("FetchMs", fetch.millis as f64)
            .property("repository", repository);
        m.emit();
        tracing::info!(
            repository,
            bytes = fetch.bytes,
            objects = fetch.objects,
            ms = fetch.millis,
            "source fetched into the cache"
        );

        // Every replica region at once; each thread opens its own handle on the cache.
        let mut running = Vec::new();
        for region in &cfg.replica_regions {
            let target = cfg.target(region, cfg.replica_name(repository));
            running.push((
                region.clone(),
                target.clone(),
                self.spawn_sync(&dir, target, keys),
            ));
        }
        let mut replicas = Vec::new();
        let mut errors = Vec::new();
        for (region, target, handle) in running {
            let mut outcome = handle.await;
            let mut created = false;
            if let Err(GitFailure::Refused(why)) = &outcome {
                match self.ensure_replica(repository, &target, why).await {
                    Ok(()) => {
                        created = true;
                        outcome = self.spawn_sync(&dir, target.clone(), keys).await;
                    }
                    Err(e) => {
                        tracing::error!(repository, replica_region = %region, error = %e, "replica unavailable");
                        replicas.push(json!({"region": region, "replica": target.repository, "error": e.to_string()}));
                        errors.push(e);
                        continue;
                    }
                }
            }
            match outcome {
                Ok(stats) => {
                    replicas.push(self.report(repository, &target, &stats, created, event_ms));
                }
                Err(f) => {
                    let e = Error::transient(format!(
                        "replicating {repository} to {}: {f}",
                        target.describe()
                    ));
                    tracing::error!(repository, replica_region = %region, error = %e, "replica not updated");
                    replicas.push(json!({"region": region, "replica": target.repository, "error": e.to_string()}));
                    errors.push(e);
                }
            }
        }
        (
            json!({
                "repository": repository,
                "fetch": {"bytes": fetch.bytes, "objects": fetch.objects, "ms": fetch.millis},
                "replicas": replicas,
            }),
            errors,
        )
    }

    fn spawn_sync(
        &self,
        dir: &Path,
        target: GitTarget,
        keys: &AwsKeys,
    ) -> impl std::future::Future<Output = std::result::Result<ReplicaStats, GitFailure>> + use<>
    {
        let (dir, keys, limits) = (dir.to_path_buf(), keys.clone(), self.config.limits);
        blocking(move || {
            let cache = gitsync::open_cache(&dir)?;
            gitsync::sync_replica(&cache, &target, &keys, limits)
        })
    }

    /// Logs, measures and describes one replica's outcome.
    fn report(
        &self,
        repository: &str,
        target: &GitTarget,
        s: &ReplicaStats,
        created: bool,
        event_ms: Option<u64>,
    ) -> Value {
        let changed = s.created_or_updated.len() + s.deleted.len();
        let lag = event_ms
            .filter(|_| changed > 0)
            .map(|t| now_ms().saturating_sub(t));
        let mut m = Metrics::new(&self.config.common.metrics_namespace, NAME);
        m.dimension("ReplicaRegion", &target.region)
            .count("RefsChanged", changed as f64)
            .bytes("BytesPushed", s.bytes as f64)
            .count("ObjectsPushed", s.objects as f64)
            .millis("DurationMs", s.millis as f64)
            .property("repository", repository);
        if let Some(lag) = lag {
            m.millis("ReplicationLagMs", lag as f64);
        }
        m.emit();
        tracing::info!(
            repository,
            replica = %target.describe(),
            updated = ?s.created_or_updated,
            deleted = ?s.deleted,
            bytes = s.bytes,
            objects = s.objects,
            cas_retries = s.cas_retries,
            created,
            "replica in sync"
        );
        json!({
            "region": target.region,
            "replica": target.repository,
            "created": created,
            "updated": s.created_or_updated,
            "deleted": s.deleted,
            "pushes": s.pushes,
            "bytes": s.bytes,
            "objects": s.objects,
            "casRetries": s.cas_retries,
            "ms": s.millis,
            "lagMs": lag,
        })
    }

    /// Explains a failed fetch: a missing source repository, or the git failure itself.
    async fn source_failure(&self, repository: &str, failure: GitFailure) -> Error {
        if let GitFailure::Refused(why) = &failure {
            match self
                .source
                .get_repository()
                .repository_name(repository)
                .send()
                .await
            {
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_repository_does_not_exist_exception()) =>
                {
                    return Error::bad_input(format!(
                        "the source repository {repository} does not exist in {}",
                        self.config.source_region
                    ));
                }
                Ok(_) => {
                    return Error::transient(format!(
                        "the source repository {repository} exists but its git endpoint refused the function: {why}"
                    ));
                }
                Err(_) => {}
            }
        }
        Error::transient(format!(
            "fetching {repository} from {}: {failure}",
            self.config.source_region
        ))
    }

    /// After a refused connection to a replica: whether it exists; creates it when it is
    /// missing and the configuration allows it.
    async fn ensure_replica(&self, repository: &str, target: &GitTarget, why: &str) -> Result<()> {
        let client = self
            .replicas
            .get(&target.region)
            .ok_or_else(|| Error::internal(format!("no client for {}", target.region)))?;
        match client
            .get_repository()
            .repository_name(&target.repository)
            .send()
            .await
        {
            Ok(_) => {
                return Err(Error::transient(format!(
                    "{} exists but its git endpoint refused the function: {why}",
                    target.describe()
                )));
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_repository_does_not_exist_exception()) => {}
            Err(e) => return Err(Error::aws("GetRepository", e)),
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
            .source
            .get_repository()
            .repository_name(repository)
            .send()
            .await
            .map_err(|e| Error::aws("GetRepository", e))?
            .repository_metadata
            .and_then(|m| m.repository_description);
        match client
            .create_repository()
            .repository_name(&target.repository)
            .set_repository_description(description)
            .send()
            .await
        {
            Ok(_) => {
                tracing::info!(replica = %target.describe(), "replica repository created");
                Ok(())
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_repository_name_exists_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(Error::aws("CreateRepository", e)),
        }
    }
}

/// Fetches the source into the cache, holding the cache's lock (several execution
/// environments share it when it lives on EFS).
fn fetch_into_cache(
    dir: &Path,
    source: &GitTarget,
    keys: &AwsKeys,
) -> std::result::Result<FetchStats, GitFailure> {
    let lock_path = PathBuf::from(format!("{}.lock", dir.display()));
    if let Some(parent) = lock_path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| {
            GitFailure::Failed(format!(
                "cannot create the cache directory {}: {e}",
                parent.display()
            ))
        })?;
    }
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| GitFailure::Failed(format!("cannot open {}: {e}", lock_path.display())))?;
    lock.lock()
        .map_err(|e| GitFailure::Failed(format!("cannot lock {}: {e}", lock_path.display())))?;
    let cache = gitsync::open_cache(dir)?;
    let out = gitsync::fetch_source(&cache, source, keys);
    let _ = lock.unlock();
    out
}

/// Runs blocking git work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::result::Result<T, GitFailure> + Send + 'static,
) -> std::result::Result<T, GitFailure> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(GitFailure::Failed(format!("git work stopped: {e}"))))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Milliseconds since the epoch of an RFC 3339 time (`2026-11-23T01:02:03Z`).
fn parse_time_ms(time: &str) -> Option<u64> {
    let t =
        aws_smithy_types::DateTime::from_str(time, aws_smithy_types::date_time::Format::DateTime)
            .ok()?;
    u64::try_from(t.to_millis().ok()?).ok()
}

/// A one-line description of what the function does.
pub fn describe() -> Value {
    json!({"function": NAME, "does": "mirrors CodeCommit branch and tag changes to replica regions"})
}

#[cfg(test)]
#[path = "lib_test.rs"]
mod tests;
