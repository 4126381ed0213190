//! The per-repository metrics record (dimension `Repository`): how late the replicas came in
//! sync after the event (`ReplicationLagMs`, the slowest replica), what was pushed
//! (`BytesPushed`, every replica) and how many replicas were left out of sync
//! (`ReplicationFailures`; every planned replica when the source could not be fetched). One
//! record per repository and run, written with zero failures too, so a repository's graph
//! shows its healthy runs.

use codehooks::emf::Metrics;

use crate::NAME;
use crate::outcome::{ReplicaReport, RepositoryReport};

/// The record of one repository's run; `planned` is the number of replicas it has.
pub fn repository_metrics(namespace: &str, report: &RepositoryReport, planned: usize) -> Metrics {
    let replicas = report.replicas.as_deref().unwrap_or_default();
    let mut lag: Option<u64> = None;
    let (mut bytes, mut failures) = (0u64, 0usize);
    for r in replicas {
        match r {
            ReplicaReport::Synced(s) => {
                bytes += s.bytes;
                if let Some(l) = s.lag_ms {
                    lag = Some(lag.map_or(l, |m| m.max(l)));
                }
            }
            ReplicaReport::Failed { .. } => failures += 1,
        }
    }
    if report.error.is_some() && report.replicas.is_none() {
        failures = planned.max(1);
    }
    let mut m = Metrics::new(namespace, NAME);
    m.dimension("Repository", &report.repository)
        .bytes("BytesPushed", bytes as f64)
        .count("ReplicationFailures", failures as f64);
    if let Some(l) = lag {
        m.millis("ReplicationLagMs", l as f64);
    }
    m
}

#[cfg(test)]
#[path = "measure_test.rs"]
mod tests;
