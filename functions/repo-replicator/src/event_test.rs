//! Unit tests of `event.rs`.

use super::*;
use serde_json::json;

fn event(file: &str) -> Value {
    let path = format!("{}/../../events/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn reads_reference_changes_and_the_schedule() {
    let inv = parse(event("repo-replicator-reference-created.json")).unwrap();
    let Trigger::Change(c) = &inv.trigger else {
        panic!("{inv:?}")
    };
    assert_eq!(c.kind, "referenceCreated");
    assert_eq!(c.region.as_ref().map(Region::as_str), Some("us-east-1"));
    assert!(c.time_ms.is_some());
    assert_eq!(inv.trigger.label(), "event");
    let inv = parse(event("repo-replicator-scheduled-reconcile.json")).unwrap();
    assert_eq!(inv.trigger, Trigger::Reconcile);
    assert_eq!(inv.trigger.label(), "schedule");
}

#[test]
fn bad_input_is_refused() {
    let mut other = event("repo-replicator-reference-created.json");
    other["detail"]["event"] = json!("pullRequestCreated");
    let e = parse(other).unwrap_err();
    assert_eq!(e.kind(), "BadInput");
    assert!(e.to_string().contains("pullRequestCreated"), "{e}");

    let mut bad_name = event("repo-replicator-reference-updated.json");
    bad_name["detail"]["repositoryName"] = json!("a/../b");
    assert_eq!(parse(bad_name).unwrap_err().kind(), "BadInput");

    let mut no_detail = event("repo-replicator-reference-deleted.json");
    no_detail["detail"] = json!({"event": "referenceDeleted"});
    assert_eq!(parse(no_detail).unwrap_err().kind(), "BadInput");

    let mut wrong_type = event("repo-replicator-scheduled-reconcile.json");
    wrong_type["source"] = json!("aws.codebuild");
    assert_eq!(parse(wrong_type).unwrap_err().kind(), "BadInput");
    assert_eq!(parse(json!([1, 2])).unwrap_err().kind(), "BadInput");
}

#[test]
fn the_region_is_checked_before_it_can_reach_a_url() {
    let mut bad = event("repo-replicator-reference-created.json");
    bad["region"] = json!("evil.example.com/x");
    let e = parse(bad).unwrap_err();
    assert_eq!(e.kind(), "BadInput");
    assert!(e.to_string().contains("region"), "{e}");
    let mut none = event("repo-replicator-reference-created.json");
    none["region"] = json!("");
    let Trigger::Change(c) = parse(none).unwrap().trigger else {
        panic!()
    };
    assert_eq!(c.region, None);
}

#[test]
fn event_times_parse() {
    assert_eq!(
        parse_time_ms("2026-11-23T00:48:00Z"),
        Some(1_795_394_880_000)
    );
    assert_eq!(parse_time_ms("yesterday"), None);
}
