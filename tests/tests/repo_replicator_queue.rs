//! repo-replicator on its work queue: the real binary under the Lambda Runtime API, moto's SQS
//! (a FIFO queue), the emulator's CodeCommit and a real `git http-backend`.
//!
//! - The scheduled reconciliation with `CODEHOOKS_WORK_QUEUE_URL` set does no git work: it
//!   puts one message per repository on the FIFO queue (message group = repository, a
//!   deduplication id per repository and reason), read back with ReceiveMessage.
//! - Those messages, delivered as Lambda's SQS event source delivers them, are replicated; a
//!   record whose body is not a job is answered as a batch item failure (`batchItemFailures`),
//!   the rest of the batch succeeds.
//! - The caches' bounds through the binary: stale libgit2 locks of a crashed run are removed,
//!   the least recently used other cache is evicted past the budget, and a job whose cache
//!   another run holds waits `CODEHOOKS_CACHE_LOCK_WAIT_SECONDS`, then fails on its own.
//!
//! Build first: `cargo build -p repo-replicator`, then
//! `cargo test -p codehooks-tests --test repo_replicator_queue`.

mod repo_replicator_support;

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use codehooks_tests::Function;
use repo_replicator_support::*;
use serde_json::{Value, json};

const REPOS: [&str; 2] = ["ledger", "payments-api"];

struct Queue {
    setup: Setup,
    queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

impl std::ops::Deref for Queue {
    type Target = Setup;
    fn deref(&self) -> &Setup {
        &self.setup
    }
}

/// Both repositories with a commit at the source and empty replicas, and a FIFO work queue.
async fn setup() -> Queue {
    let setup = Setup::builder("queue")
        .moto()
        .repos(&REPOS)
        .repositories_env("payments-api,ledger")
        .start();
    for name in REPOS {
        let work = Work::new(
            &setup.scratch.path().join(name),
            &setup.server.repo(SOURCE, name),
        );
        work.commit("README.md", &format!("{name}\n"));
        work.git(&["tag", "v1"]);
        work.push("refs/heads/*:refs/heads/*");
        work.push("refs/tags/*:refs/tags/*");
    }
    let config = setup.local.sdk_config(setup.local.moto_url(), SOURCE).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue_url = sqs
        .create_queue()
        .queue_name("codehooks-repo-replicator-work.fifo")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "false")
        .attributes(QueueAttributeName::VisibilityTimeout, "600")
        .send()
        .await
        .expect("CreateQueue")
        .queue_url
        .expect("queue url");
    Queue {
        setup,
        queue_url,
        sqs,
    }
}

/// The replicator with the work queue (moto speaks plain http:// too: the test flag covers it).
fn start(s: &Queue, extra: &[(&str, &str)]) -> Function {
    let mut env = vec![("CODEHOOKS_WORK_QUEUE_URL", s.queue_url.as_str())];
    env.extend_from_slice(extra);
    s.start(&env)
}

/// Every message visible on the queue now (left in flight, not deleted).
async fn receive_all(s: &Queue) -> Vec<aws_sdk_sqs::types::Message> {
    let mut out = Vec::new();
    loop {
        let r = s
            .sqs
            .receive_message()
            .queue_url(&s.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("ReceiveMessage");
        let msgs = r.messages.unwrap_or_default();
        if msgs.is_empty() {
            return out;
        }
        out.extend(msgs);
    }
}

fn attribute(m: &aws_sdk_sqs::types::Message, name: MessageSystemAttributeName) -> String {
    m.attributes()
        .and_then(|a| a.get(&name))
        .cloned()
        .unwrap_or_default()
}

/// The record Lambda's SQS event source makes of a received message.
fn record(m: &aws_sdk_sqs::types::Message, queue_arn: &str) -> Value {
    let attrs: BTreeMap<String, String> = m
        .attributes()
        .map(|a| {
            a.iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "messageId": m.message_id().unwrap_or_default(),
        "receiptHandle": m.receipt_handle().unwrap_or_default(),
        "body": m.body().unwrap_or_default(),
        "attributes": attrs,
        "messageAttributes": {},
        "md5OfBody": m.md5_of_body().unwrap_or_default(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": SOURCE,
    })
}

fn bucket_of_now() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() / 300_000)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconciliation_fans_out_and_the_queue_jobs_replicate() {
    let s = setup().await;
    let f = start(&s, &[]);

    // The schedule: one job per repository on the FIFO queue, no git work at all.
    let bucket = bucket_of_now();
    let schedule = codehooks_tests::event("repo-replicator-scheduled-reconcile.json");
    let r = invoke_ok(&f, &schedule);
    assert_eq!(r["status"], "enqueued", "{r}");
    assert!(
        s.server.requests().is_empty(),
        "the fan-out does no git work"
    );
    // A redelivered schedule within the same deduplication bucket queues nothing new.
    invoke_ok(&f, &schedule);
    let same_bucket = bucket_of_now() == bucket;

    let messages = receive_all(&s).await;
    let mut jobs: Vec<(String, String, Value)> = messages
        .iter()
        .map(|m| {
            let body: Value = serde_json::from_str(m.body().unwrap_or_default())
                .unwrap_or_else(|e| panic!("a job body is JSON: {e}"));
            (
                attribute(m, MessageSystemAttributeName::MessageGroupId),
                attribute(m, MessageSystemAttributeName::MessageDeduplicationId),
                body,
            )
        })
        .collect();
    jobs.sort_by(|a, b| a.0.cmp(&b.0));
    if same_bucket {
        assert_eq!(jobs.len(), 2, "one message per repository: {jobs:?}");
    }
    let groups: Vec<&str> = jobs.iter().map(|j| j.0.as_str()).collect();
    for name in REPOS {
        assert!(groups.contains(&name), "{name} not queued: {jobs:?}");
    }
    for (group, dedup, body) in &jobs {
        assert_eq!(body["repository"], json!(group), "group = repository");
        assert_eq!(body["reason"], "reconcile");
        assert!(dedup.starts_with(&format!("{group}:reconcile:")), "{dedup}");
    }
    for name in REPOS {
        for region in REPLICAS {
            assert!(refs(&s.server.repo(region, name)).is_empty());
        }
    }

    // The queue's messages, delivered as the event source delivers them, plus a record that
    // is not a job: the jobs replicate, the bad record alone is delivered again.
    let arn = format!("arn:aws:sqs:{SOURCE}:123456789012:codehooks-repo-replicator-work.fifo");
    let mut records: Vec<Value> = messages.iter().map(|m| record(m, &arn)).collect();
    records.truncate(2);
    let mut bad = records[0].clone();
    bad["messageId"] = json!("3c1f0b7e-bad0-4d4e-9a55-000000000001");
    bad["body"] = json!("{\"repository\": \"../../etc\"}");
    records.push(bad);
    let r = invoke_ok(&f, &json!({ "Records": records }));
    assert_eq!(
        r["batchItemFailures"],
        json!([{"itemIdentifier": "3c1f0b7e-bad0-4d4e-9a55-000000000001"}]),
        "{r}"
    );
    for name in REPOS {
        assert_mirrored(&s.server, name, &REPLICAS);
    }
    let logs = f.logs();
    assert!(logs.contains("\"QueueLagMs\""), "the lag metric: {logs}");

    // One job of the sample event's shape: a batch of one, all done.
    s.server.reset();
    let mut one = codehooks_tests::event("repo-replicator-sqs-job.json");
    one["Records"][0]["body"] = json!("{\"repository\":\"ledger\",\"reason\":\"continue\"}");
    let r = invoke_ok(&f, &one);
    assert_eq!(r["batchItemFailures"], json!([]), "{r}");
    assert_mirrored(&s.server, "ledger", &REPLICAS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_repositories_go_out_in_batches_of_ten_and_a_missing_queue_fails() {
    let s = setup().await;
    let names: Vec<String> = (0..23).map(|i| format!("repo-{i:02}")).collect();
    let list = names.join(",");
    let start_on = |queue: &str| {
        s.start(&[
            ("CODEHOOKS_REPLICA_REGIONS", "eu-west-2"),
            ("CODEHOOKS_REPOSITORIES", &list),
            ("CODEHOOKS_WORK_QUEUE_URL", queue),
        ])
    };
    let schedule = codehooks_tests::event("repo-replicator-scheduled-reconcile.json");
    let f = start_on(&s.queue_url);
    let r = invoke_ok(&f, &schedule);
    assert_eq!(r["status"], "enqueued", "{r}");
    assert_eq!(r["messages"], 23, "{r}");
    let mut groups: Vec<String> = receive_all(&s)
        .await
        .iter()
        .map(|m| attribute(m, MessageSystemAttributeName::MessageGroupId))
        .collect();
    groups.sort();
    assert_eq!(groups, names);
    drop(f);

    // A queue that does not exist: the schedule fails (and is retried by Lambda), nothing is
    // reported as queued.
    let missing = s.queue_url.replace("work.fifo", "gone.fifo");
    let f = start_on(&missing);
    let r = f.invoke(&schedule, 60_000);
    assert_eq!(r.error_type.as_deref(), Some("AwsError"), "{r:?}");
    assert!(
        r.error_message
            .as_deref()
            .unwrap_or_default()
            .contains("SendMessageBatch"),
        "{r:?}"
    );
}

/// A bare repository at `dir` made with the git command line.
fn bare(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "--quiet", "--bare"]);
}

fn age(path: &std::path::Path, seconds: u64) {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap();
    f.set_modified(SystemTime::now() - std::time::Duration::from_secs(seconds))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_caches_stay_within_their_disk_and_time_bounds() {
    let s = setup().await;
    let root = std::path::Path::new(&s.cache).join(SOURCE);
    // An old cache of another repository, over the 2 MB budget on its own.
    let old = root.join("old-repo.git");
    bare(&old);
    std::fs::write(old.join("objects").join("filler"), vec![1u8; 3 << 20]).unwrap();
    age(&old.join("codehooks-used"), 7200);
    // The cache of payments-api as a crashed run left it: libgit2 locks an hour old, which
    // would make the fetch fail ("failed to lock file").
    let cache = root.join("payments-api.git");
    bare(&cache);
    let stale = [
        cache.join("packed-refs.lock"),
        cache.join("refs").join("heads").join("main.lock"),
    ];
    for p in &stale {
        age(p, 3600);
    }
    let f = start(
        &s,
        &[
            ("CODEHOOKS_CACHE_BUDGET_MB", "2"),
            ("CODEHOOKS_STALE_LOCK_SECONDS", "600"),
            ("CODEHOOKS_CACHE_LOCK_WAIT_SECONDS", "1"),
        ],
    );
    let job = |id: &str, repository: &str| {
        let mut e = codehooks_tests::event("repo-replicator-sqs-job.json");
        e["Records"][0]["messageId"] = json!(id);
        e["Records"][0]["body"] = json!(json!({ "repository": repository }).to_string());
        e
    };

    let r = invoke_ok(&f, &job("m-payments", "payments-api"));
    assert_eq!(r["batchItemFailures"], json!([]), "{r}");
    assert_mirrored(&s.server, "payments-api", &REPLICAS);
    for p in &stale {
        assert!(!p.exists(), "{} was not cleaned", p.display());
    }
    assert!(f.logs().contains("stale lock"), "each removal is logged");
    assert!(!old.exists(), "the least recently used cache is evicted");
    assert!(cache.join("HEAD").exists(), "the cache just used stays");

    // Another run holds ledger's cache: the job waits a second, then fails on its own and is
    // delivered again; once the lock is free it goes through.
    let lock_path = root.join("ledger.git.lock");
    std::fs::create_dir_all(&root).unwrap();
    let held = std::fs::File::create(&lock_path).unwrap();
    held.lock().unwrap();
    let started = std::time::Instant::now();
    let r = invoke_ok(&f, &job("m-ledger", "ledger"));
    assert_eq!(
        r["batchItemFailures"],
        json!([{"itemIdentifier": "m-ledger"}]),
        "{r}"
    );
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    assert!(
        f.logs().contains("ledger.git.lock"),
        "the error names the lock"
    );
    for region in REPLICAS {
        assert!(refs(&s.server.repo(region, "ledger")).is_empty());
    }
    held.unlock().unwrap();
    let r = invoke_ok(&f, &job("m-ledger", "ledger"));
    assert_eq!(r["batchItemFailures"], json!([]), "{r}");
    assert_mirrored(&s.server, "ledger", &REPLICAS);
}
