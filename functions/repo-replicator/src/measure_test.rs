//! Unit tests of `measure.rs`: one record per repository, with its lag, bytes and failures.

use super::*;
use crate::outcome::Synced;
use serde_json::{Value, json};

fn synced(region: &str, bytes: u64, lag_ms: Option<u64>) -> ReplicaReport {
    ReplicaReport::Synced(Synced {
        region: region.into(),
        replica: "app".into(),
        created: false,
        updated: vec!["refs/heads/main".into()],
        deleted: vec![],
        pushes: 1,
        bytes,
        objects: 3,
        cas_retries: 0,
        ms: 40,
        lag_ms,
        backups: vec![],
        pruned: vec![],
        kept: vec![],
        slices: 0,
        refetches: 0,
        partial: false,
        default_branch: None,
    })
}

fn failed(region: &str) -> ReplicaReport {
    ReplicaReport::Failed {
        region: region.into(),
        replica: "app".into(),
        error: "refused".into(),
    }
}

fn report(replicas: Option<Vec<ReplicaReport>>, error: Option<&str>) -> RepositoryReport {
    RepositoryReport {
        repository: "app".into(),
        fetch: None,
        replicas,
        error: error.map(str::to_owned),
    }
}

fn line(m: &Metrics) -> Value {
    serde_json::from_str(&m.to_line(1_700_000_000_000)).unwrap()
}

#[test]
fn the_record_has_the_repository_dimension_the_slowest_lag_and_all_bytes() {
    let r = report(
        Some(vec![
            synced("eu-west-1", 1000, Some(900)),
            synced("us-west-2", 500, Some(1500)),
            failed("ap-south-1"),
        ]),
        None,
    );
    let v = line(&repository_metrics("codehooks", &r, 3));
    let declared = &v["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(declared["Namespace"], "codehooks");
    assert_eq!(declared["Dimensions"], json!([["Function", "Repository"]]));
    assert_eq!(v["Function"], "repo-replicator");
    assert_eq!(v["Repository"], "app");
    assert_eq!(v["BytesPushed"], 1500);
    assert_eq!(v["ReplicationLagMs"], 1500);
    assert_eq!(v["ReplicationFailures"], 1);
}

#[test]
fn a_healthy_run_writes_zero_failures_and_no_lag_without_an_event() {
    let r = report(Some(vec![synced("eu-west-1", 0, None)]), None);
    let v = line(&repository_metrics("codehooks", &r, 1));
    assert_eq!(v["ReplicationFailures"], 0);
    assert_eq!(v["BytesPushed"], 0);
    assert!(v.get("ReplicationLagMs").is_none());
}

#[test]
fn a_source_that_cannot_be_fetched_fails_every_planned_replica() {
    let r = report(None, Some("fetching app: refused"));
    let v = line(&repository_metrics("codehooks", &r, 2));
    assert_eq!(v["ReplicationFailures"], 2);
    assert_eq!(v["BytesPushed"], 0);
    let none_planned = line(&repository_metrics("codehooks", &r, 0));
    assert_eq!(none_planned["ReplicationFailures"], 1);
}
