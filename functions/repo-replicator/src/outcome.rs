//! The function's answer ([`Outcome`]) and the replication-specific metrics: per fetch
//! (`BytesFetched`, `ObjectsFetched`, `FetchMs`) and per replica (dimension `ReplicaRegion`:
//! `RefsChanged`, `BytesPushed`, `ObjectsPushed`, `DurationMs`, `ReplicationLagMs`). The
//! per-invocation record and summary line are the harness's.

use codehooks::emf::Metrics;
use codehooks::harness::Outcome as HarnessOutcome;
use serde::Serialize;

use crate::NAME;
use crate::endpoints::GitTarget;
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
    /// Some replica is not (only logged: the invocation fails).
    Failed(Report),
}

impl HarnessOutcome for Outcome {
    fn label(&self) -> &str {
        match self {
            Outcome::Ignored { .. } => "ignored",
            Outcome::Replicated(_) => "replicated",
            Outcome::Failed(_) => "failed",
        }
    }

    fn record(&self, metrics: &mut Metrics) {
        if let Outcome::Replicated(r) | Outcome::Failed(r) = self {
            metrics.property("trigger", r.trigger);
            metrics.count("Repositories", r.repositories.len() as f64);
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
                .filter(|_| changed > 0)
                .map(|t| now_ms.saturating_sub(t)),
        })
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
