//! Unit tests of `queue.rs`: the message body, the deduplication ids, the URL rule, the twin.

use super::*;

fn repo(name: &str) -> RepositoryName {
    name.parse().unwrap()
}

#[test]
fn a_job_survives_its_body() {
    for reason in [JobReason::Reconcile, JobReason::Continue] {
        let job = Job::new(repo("billing-service.v2"), reason);
        assert_eq!(Job::from_body(&job.body()), Ok(job));
    }
    let body: serde_json::Value =
        serde_json::from_str(&Job::new(repo("r"), JobReason::Continue).body()).unwrap();
    assert_eq!(body, json!({"repository": "r", "reason": "continue"}));
    // The documented minimal body: a reconciliation.
    assert_eq!(
        Job::from_body(r#"{"repository": "web"}"#),
        Ok(Job::new(repo("web"), JobReason::Reconcile))
    );
}

#[test]
fn a_body_that_is_not_a_job_says_why() {
    for bad in [
        "",
        "web",
        "[]",
        "{}",
        r#"{"repository": 7}"#,
        r#"{"repository": "web", "reason": "later"}"#,
        r#"{"repository": "web", "extra": 1}"#,
    ] {
        assert!(
            matches!(Job::from_body(bad), Err(BodyError::Shape(_))),
            "{bad:?}"
        );
    }
    for name in ["../etc", "a/b", "x.git", ""] {
        let body = json!({ "repository": name }).to_string();
        let e = Job::from_body(&body).unwrap_err();
        assert!(matches!(e, BodyError::Repository(_)), "{name:?}: {e}");
        assert!(e.to_string().contains("not a CodeCommit repository name"));
    }
    let long = "x".repeat(10_000);
    let e = Job::from_body(&json!({ "repository": long }).to_string()).unwrap_err();
    assert!(e.to_string().len() < 200, "the error quotes a bounded part");
}

#[test]
fn deduplication_ids_bucket_reconciliations_not_continuations() {
    let r = Job::new(repo("web"), JobReason::Reconcile);
    let t = 1_795_394_880_000;
    assert_eq!(
        r.deduplication_id(t),
        r.deduplication_id(t + 299_999 - t % 300_000)
    );
    assert_ne!(r.deduplication_id(t), r.deduplication_id(t + 300_000));
    assert!(r.deduplication_id(t).starts_with("web:reconcile:"));
    let c = Job::new(repo("web"), JobReason::Continue);
    assert_ne!(c.deduplication_id(t), c.deduplication_id(t + 1));
    assert_ne!(c.deduplication_id(t), r.deduplication_id(t));
    let longest = Job::new(repo(&"a".repeat(100)), JobReason::Reconcile);
    let id = longest.deduplication_id(u64::MAX);
    assert!(id.len() <= 128, "{}", id.len());
    let c = Job::new(repo(&"a".repeat(100)), JobReason::Continue);
    assert!(c.deduplication_id(u64::MAX).len() <= 128);
}

#[test]
fn the_queue_url_must_be_a_fifo_queue_over_https() {
    let good = "https://sqs.eu-west-1.amazonaws.com/123456789012/codehooks-work.fifo";
    assert!(is_fifo_queue_url(good, false));
    assert!(is_fifo_queue_url(
        "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/w_1.fifo",
        false
    ));
    for bad in [
        "http://sqs.eu-west-1.amazonaws.com/123456789012/codehooks-work.fifo",
        "https://sqs.eu-west-1.amazonaws.com/123456789012/codehooks-work",
        "https://sqs.eu-west-1.amazonaws.com/12345/codehooks-work.fifo",
        "https://sqs.eu-west-1.amazonaws.com/123456789012/.fifo",
        "https://sqs.eu-west-1.amazonaws.com/123456789012/a b.fifo",
        "https://user@sqs.eu-west-1.amazonaws.com/123456789012/q.fifo",
        "https://sqs.eu-west-1.amazonaws.com/123456789012/q.fifo/x",
        "https://sqs.eu-west-1.amazonaws.com:443/123456789012/q.fifo",
        "arn:aws:sqs:eu-west-1:123456789012:q.fifo",
        "http://127.0.0.1:5000/123456789012/q.fifo",
    ] {
        assert!(!is_fifo_queue_url(bad, false), "{bad}");
    }
    assert!(!is_fifo_queue_url(
        &format!("https://h.example.com/123456789012/{}.fifo", "q".repeat(76)),
        false
    ));
    // Tests only: a local moto.
    assert!(is_fifo_queue_url(
        "http://127.0.0.1:5000/123456789012/q.fifo",
        true
    ));
    assert!(is_fifo_queue_url(
        "http://localhost:5000/123456789012/q.fifo",
        true
    ));
    assert!(!is_fifo_queue_url(
        "http://example.com/123456789012/q.fifo",
        true
    ));
}

#[test]
fn the_queue_is_optional_and_checked() {
    let mut env = Env::from_pairs(Vec::<(String, String)>::new());
    assert_eq!(QueueConfig::read(&mut env, false), None);
    env.finish().unwrap();

    let url = "https://sqs.us-east-1.amazonaws.com/123456789012/work.fifo";
    let mut env = Env::from_pairs([("CODEHOOKS_WORK_QUEUE_URL", url)]);
    assert_eq!(
        QueueConfig::read(&mut env, false),
        Some(QueueConfig { url: url.into() })
    );
    env.finish().unwrap();

    let local = "http://127.0.0.1:5000/123456789012/work.fifo";
    let mut env = Env::from_pairs([("CODEHOOKS_WORK_QUEUE_URL", local)]);
    assert_eq!(QueueConfig::read(&mut env, false), None);
    let err = env.finish().unwrap_err().to_string();
    assert!(err.contains("CODEHOOKS_WORK_QUEUE_URL"), "{err}");

    let mut env = Env::from_pairs([
        ("CODEHOOKS_WORK_QUEUE_URL", local),
        ("CODEHOOKS_ALLOW_INSECURE_GIT", "true"),
    ]);
    let insecure = env.bool_or("CODEHOOKS_ALLOW_INSECURE_GIT", false);
    assert!(QueueConfig::read(&mut env, insecure).is_some());
    env.finish().unwrap();
}

#[tokio::test]
async fn the_twin_records_and_fails_on_demand() {
    let q = MemoryQueue::new();
    let jobs = vec![
        Job::new(repo("a"), JobReason::Reconcile),
        Job::new(repo("b"), JobReason::Continue),
    ];
    q.fail_next(1);
    let e = q.send(&jobs).await.unwrap_err();
    assert_eq!(e.kind(), "AwsError");
    assert!(q.jobs().is_empty());
    assert_eq!(q.send(&jobs).await.unwrap(), Sent { messages: 2 });
    assert_eq!(q.jobs(), jobs);
    assert_eq!(q.calls(), 2);
}
