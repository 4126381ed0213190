//! Unit tests of `fanout.rs`.

use super::*;
use crate::event::Work;
use crate::queue::{Job, JobReason};
use serde_json::{Value, json};

fn job(id: &str, repository: Option<&str>, sent_ms: Option<u64>) -> QueueJob {
    QueueJob {
        message_id: id.into(),
        work: match repository {
            Some(r) => Work::Job(Job::new(r.parse().unwrap(), JobReason::Reconcile)),
            None => Work::Bad("not a job".into()),
        },
        sent_ms,
        receive_count: 2,
    }
}

#[test]
fn the_batch_response_is_exactly_what_lambda_reads() {
    assert_eq!(
        serde_json::to_value(BatchResponse::all_done()).unwrap(),
        json!({"batchItemFailures": []})
    );
    let mut r = BatchResponse::default();
    r.fail("m-1").fail("m-2").fail("m-1");
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"batchItemFailures":[{"itemIdentifier":"m-1"},{"itemIdentifier":"m-2"}]}"#
    );
    assert_eq!(r.failed_ids().collect::<Vec<_>>(), ["m-1", "m-2"]);
    assert!(!r.is_all_done());
}

#[test]
fn bad_records_and_failed_jobs_are_delivered_again() {
    let jobs = [
        job("ok", Some("web"), None),
        job("bad", None, None),
        job("failed", Some("api"), None),
    ];
    let r = BatchResponse::of(&jobs, |j| j.message_id != "failed");
    assert_eq!(r.failed_ids().collect::<Vec<_>>(), ["bad", "failed"]);
    let r = BatchResponse::of(&jobs[..1], |_| true);
    assert!(r.is_all_done());
}

#[test]
fn the_lag_metric_has_the_repository_dimension() {
    let j = job("m-1", Some("web"), Some(1_000));
    assert_eq!(queue_lag_ms(&j, 4_500), Some(3_500));
    assert_eq!(queue_lag_ms(&j, 10), Some(0), "a clock behind gives 0");
    assert_eq!(queue_lag_ms(&job("m", Some("web"), None), 10), None);
    assert!(queue_lag_metrics("codehooks", "web", &job("m", None, None), 1).is_none());

    let m = queue_lag_metrics("codehooks", "web", &j, 4_500).unwrap();
    let v: Value = serde_json::from_str(&m.to_line(4_500)).unwrap();
    assert_eq!(v["QueueLagMs"], json!(3500));
    assert_eq!(v["Repository"], json!("web"));
    assert_eq!(v["Function"], json!(crate::NAME));
    assert_eq!(v["ReceiveCount"], json!(2));
    assert_eq!(v["messageId"], json!("m-1"));
    let declared = &v["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(declared["Dimensions"], json!([["Function", "Repository"]]));
    assert!(
        declared["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["Name"] == "QueueLagMs" && m["Unit"] == "Milliseconds")
    );
}
