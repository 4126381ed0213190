//! The function's answer ([`Outcome`]: `status` is `ignored`, `replicated`, `partial` (a
//! replica ran out of time while its history was sent in slices), `failed` (logged only),
//! `enqueued` (the reconciliation fanned out on the work queue) or `batch` (an invocation
//! from the queue, with Lambda's `batchItemFailures`)) and the replication-specific metrics:
//! per fetch (`BytesFetched`, `ObjectsFetched`, `FetchMs`) and per replica (dimension
//! `ReplicaRegion`: `RefsChanged`, `BytesPushed`, `ObjectsPushed`, `DurationMs`,
//! `ReplicationLagMs`). The per-invocation record and summary line are the harness's.

use codehooks::emf::Metrics;
use codehooks::harness::Outcome as HarnessOutcome;
use serde::Serialize;

use crate::NAME;
use crate::endpoints::GitTarget;
use crate::fanout::BatchResponse;
use crate::ports::Fetched;
use crate::sync::ReplicaStats;

/// What one invocation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Outcome {
    /// The event is about a repository or region the function does not replicate.
    Ignored { reason: String },
    /// Every replica of every repository is in sync.
    Replicated(Report),
    /// No failure, but some replica ran out of time while its history was sent in slices:
    /// the next run goes on from where it stopped.
    Partial(Report),
    /// Some replica is not (only logged: the invocation fails).
    Failed(Report),
    /// The reconciliation queued one job per repository on the work queue.
    Enqueued(Enqueued),
    /// An invocation from the work queue: the repositories, and the batch response Lambda
    /// reads (`batchItemFailures`: the messages to deliver again).
    Batch(Batch),
}

/// The jobs a reconciliation queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Enqueued {
    pub trigger: &'static str,
    pub event_id: String,
    pub repositories: Vec<String>,
    /// Messages the queue accepted.
    pub messages: usize,
    pub duration_ms: u64,
}

/// The answer to an invocation from the work queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Batch {
    #[serde(flatten)]
    pub report: Report,
    #[serde(flatten)]
    pub response: BatchResponse,
}

impl HarnessOutcome for Outcome {
    fn label(&self) -> &str {
        match self {
            Outcome::Ignored { .. } => "ignored",
            Outcome::Replicated(_) => "replicated",
            Outcome::Partial(_) => "partial",
            Outcome::Failed(_) => "failed",
            Outcome::Enqueued(_) => "enqueued",
            Outcome::Batch(b) if b.response.is_all_done() => "batch",
            Outcome::Batch(_) => "batch-failures",
        }
    }

    fn record(&self, metrics: &mut Metrics) {
        match self {
            Outcome::Replicated(r)
            | Outcome::Partial(r)
            | Outcome::Failed(r)
            | Outcome::Batch(Batch { report: r, .. }) => {
                metrics.property("trigger", r.trigger);
                metrics.count("Repositories", r.repositories.len() as f64);
            }
            Outcome::Enqueued(e) => {
                metrics.property("trigger", e.trigger);
                metrics.count("Enqueued", e.messages as f64);
            }
            Outcome::Ignored { .. } => {}
        }
    }
}

/// The repositories an invocation replicated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// `event` or `schedule`.
    pub trigger: &'static str,
    pub event_id: String,
    pub repositories: Vec<RepositoryReport>,
    pub duration_ms: u64,
}

impl Report {
    /// Whether some replica was left `partial` by its time budget.
    pub fn is_partial(&self) -> bool {
        self.repositories.iter().any(RepositoryReport::is_partial)
    }
}

/// One repository: its fetch and its replicas, or why it could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepositoryReport {
    pub repository: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetch: Option<FetchReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<Vec<ReplicaReport>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RepositoryReport {
    /// Whether some replica of it was left `partial`.
    pub fn is_partial(&self) -> bool {
        self.replicas
            .iter()
            .flatten()
            .any(|r| matches!(r, ReplicaReport::Synced(s) if s.partial))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FetchReport {
    pub bytes: u64,
    pub objects: u64,
    pub ms: u64,
}

/// One replica: what changed, or why it is not in sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ReplicaReport {
    Synced(Synced),
    Failed {
        region: String,
        replica: String,
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Synced {
    pub region: String,
    pub replica: String,
    pub created: bool,
    pub updated: Vec<String>,
    pub deleted: Vec<String>,
    pub pushes: u32,
    pub bytes: u64,
    pub objects: u64,
    pub cas_retries: u32,
    pub ms: u64,
    /// From the event's time to the replica in sync (only for events that changed refs).
    pub lag_ms: Option<u64>,
    /// Backup refs made before forced updates and deletes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backups: Vec<String>,
    /// The function's own refs deleted (backups past retention, finished slices).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pruned: Vec<String>,
    /// Refs left as they are: not an ancestor of the source's, and the policy keeps them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<String>,
    /// Slice pushes (a long history sent in parts).
    #[serde(skip_serializing_if = "is_zero")]
    pub slices: u32,
    /// Fetches made again because the cache lagged behind the source.
    #[serde(skip_serializing_if = "is_zero")]
    pub refetches: u32,
    /// Time ran out while slices were pushed: not in sync yet, the next run goes on.
    pub partial: bool,
    /// The default branch set on the replica (it now follows the source's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl ReplicaReport {
    pub fn failed(target: &GitTarget, error: &codehooks::Error) -> Self {
        ReplicaReport::Failed {
            region: target.region.to_string(),
            replica: target.repository.to_string(),
            error: error.to_string(),
        }
    }

    /// A replica in sync; `now_ms` is when it was (for the lag).
    pub fn synced(
        target: &GitTarget,
        s: &ReplicaStats,
        created: bool,
        event_ms: Option<u64>,
        now_ms: u64,
    ) -> Self {
        let changed = s.created_or_updated.len() + s.deleted.len();
        ReplicaReport::Synced(Synced {
            region: target.region.to_string(),
            replica: target.repository.to_string(),
            created,
            updated: s.created_or_updated.clone(),
            deleted: s.deleted.clone(),
            pushes: s.pushes,
            bytes: s.bytes,
            objects: s.objects,
            cas_retries: s.cas_retries,
            ms: s.millis,
            lag_ms: event_ms
                .filter(|_| changed > 0 && !s.partial)
                .map(|t| now_ms.saturating_sub(t)),
            backups: s.backups.clone(),
            pruned: s.pruned.clone(),
            kept: s.kept.clone(),
            slices: s.slices,
            refetches: s.refetches,
            partial: s.partial,
            default_branch: None,
        })
    }

    /// Records the default branch set on the replica.
    pub fn set_default_branch(&mut self, branch: Option<String>) {
        if let ReplicaReport::Synced(s) = self {
            s.default_branch = branch;
        }
    }
}

impl FetchReport {
    pub fn of(f: &Fetched) -> Self {
        Self {
            bytes: f.bytes,
            objects: f.objects,
            ms: f.millis,
        }
    }
}

/// The metrics of a fetch.
pub fn fetch_metrics(namespace: &str, repository: &str, f: &Fetched) -> Metrics {
    let mut m = Metrics::new(namespace, NAME);
    m.bytes("BytesFetched", f.bytes as f64)
        .count("ObjectsFetched", f.objects as f64)
        .millis("FetchMs", f.millis as f64)
        .property("repository", repository);
    m
}

/// The metrics of a replica in sync.
pub fn replica_metrics(namespace: &str, repository: &str, r: &Synced) -> Metrics {
    let mut m = Metrics::new(namespace, NAME);
    m.dimension("ReplicaRegion", &r.region)
        .count("RefsChanged", (r.updated.len() + r.deleted.len()) as f64)
        .bytes("BytesPushed", r.bytes as f64)
        .count("ObjectsPushed", r.objects as f64)
        .millis("DurationMs", r.ms as f64)
        .property("repository", repository);
    if let Some(lag) = r.lag_ms {
        m.millis("ReplicationLagMs", lag as f64);
    }
    m
}
