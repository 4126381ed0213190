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

#[test]
fn reads_a_queue_job() {
    let inv = parse(event("repo-replicator-sqs-job.json")).unwrap();
    assert_eq!(inv.event_id, "8a1f5c2e-4b7d-4e19-9c3a-2f6d8b0e7a41");
    assert_eq!(inv.trigger.label(), "queue");
    let Trigger::Queue(jobs) = &inv.trigger else {
        panic!("{inv:?}")
    };
    assert_eq!(
        jobs,
        &vec![QueueJob {
            message_id: "8a1f5c2e-4b7d-4e19-9c3a-2f6d8b0e7a41".into(),
            work: Work::Job(Job::new(
                "payments-api".parse().unwrap(),
                crate::queue::JobReason::Reconcile
            )),
            sent_ms: Some(1_795_399_200_123),
            receive_count: 1,
        }]
    );
    assert!(jobs[0].job().is_some());
}

#[test]
fn a_bad_queue_record_is_a_bad_job_not_an_error() {
    let sample = event("repo-replicator-sqs-job.json");
    let good = sample["Records"][0].clone();
    let mut records = vec![good.clone()];
    for (i, body) in [
        json!("not json"),
        json!("{\"repository\": \"../etc\"}"),
        json!({"repository": "payments-api"}),
        Value::Null,
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = good.clone();
        r["messageId"] = json!(format!("bad-{i}"));
        r["body"] = body;
        r["attributes"] = json!({"ApproximateReceiveCount": "x"});
        records.push(r);
    }
    let mut no_body = good.clone();
    no_body["messageId"] = json!("bad-none");
    no_body.as_object_mut().unwrap().remove("body");
    no_body["attributes"] = json!({});
    records.push(no_body);
    let inv = parse(json!({ "Records": records })).unwrap();
    let Trigger::Queue(jobs) = inv.trigger else {
        panic!()
    };
    assert_eq!(jobs.len(), 6);
    assert!(jobs[0].job().is_some());
    for j in &jobs[1..] {
        let Work::Bad(why) = &j.work else {
            panic!("{j:?}")
        };
        assert!(why.contains(&j.message_id), "{why}");
        assert!(j.job().is_none());
        assert_eq!(j.receive_count, 1);
        assert_eq!(j.sent_ms, None);
    }
    let Work::Bad(why) = &jobs[2].work else {
        panic!()
    };
    assert!(why.contains("not a CodeCommit repository name"), "{why}");
}

#[test]
fn an_envelope_that_is_not_sqs_is_bad_input() {
    let sample = event("repo-replicator-sqs-job.json");
    for bad in [
        json!({"Records": []}),
        json!({"Records": "x"}),
        json!({"Records": [1]}),
        json!({"Records": [{"eventSource": "aws:s3", "messageId": "m"}]}),
        json!({"Records": [{"eventSource": "aws:sqs"}]}),
        json!({"Records": [{"eventSource": "aws:sqs", "messageId": ""}]}),
        json!({"Records": [{"eventSource": "aws:sqs", "messageId": "a\nb"}]}),
        json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m", "attributes": 3}]}),
    ] {
        let e = parse(bad.clone()).unwrap_err();
        assert_eq!(e.kind(), "BadInput", "{bad}");
    }
    let mut long = sample.clone();
    long["Records"][0]["messageId"] = json!("m".repeat(129));
    assert_eq!(parse(long).unwrap_err().kind(), "BadInput");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn sample_record() -> Value {
        event("repo-replicator-sqs-job.json")["Records"][0].clone()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever a record's body, id and attributes, the parser never panics: the record
        /// is a job naming a valid repository, a bad job, or (an envelope fault) bad input.
        #[test]
        fn a_queue_record_never_panics(
            body in any::<String>(),
            id in "[ -~\\n]{0,140}",
            count in any::<String>(),
            sent in any::<String>(),
        ) {
            let mut r = sample_record();
            r["body"] = json!(body);
            r["messageId"] = json!(id);
            r["attributes"] = json!({"ApproximateReceiveCount": count, "SentTimestamp": sent});
            match parse(json!({ "Records": [r] })) {
                Ok(inv) => {
                    let Trigger::Queue(jobs) = inv.trigger else {
                        panic!("not a queue trigger")
                    };
                    prop_assert_eq!(jobs.len(), 1);
                    prop_assert_eq!(&jobs[0].message_id, &id);
                    if let Some(job) = jobs[0].job() {
                        prop_assert!(codehooks::names::is_repository_name(job.repository.as_str()));
                    }
                }
                Err(e) => prop_assert_eq!(e.kind(), "BadInput"),
            }
        }

        /// A body naming a repository is a job exactly when the name is a repository name.
        #[test]
        fn a_body_is_a_job_exactly_for_valid_names(
            name in "[A-Za-z0-9._/ -]{0,110}",
            reason in prop_oneof![Just(None), Just(Some("reconcile")), Just(Some("continue"))],
        ) {
            let mut body = json!({ "repository": name });
            if let Some(r) = reason {
                body["reason"] = json!(r);
            }
            let mut r = sample_record();
            r["body"] = json!(body.to_string());
            let Ok(Invocation { trigger: Trigger::Queue(jobs), .. }) = parse(json!({ "Records": [r] })) else {
                panic!("a valid envelope")
            };
            let valid = codehooks::names::is_repository_name(&name);
            prop_assert_eq!(jobs[0].job().is_some(), valid, "{}", name);
        }
    }
}
