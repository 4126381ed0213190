//! Unit tests of the orchestration (`replicate.rs`), against the in-memory twin.

use super::*;
use crate::outcome::RepositoryReport;
use crate::plan::{ObjectId, Refs};
use crate::ports::Page;
use crate::queue::MemoryQueue;
use crate::twins::CodeCommitTwin;
use serde_json::json;

const SOURCE: &str = "us-east-1";
const REPLICAS: [&str; 2] = ["eu-west-2", "ap-southeast-2"];

fn oid(n: u8) -> ObjectId {
    ObjectId::new(format!("{n:02x}").repeat(20))
}

fn refs(pairs: &[(&str, u8)]) -> Refs {
    pairs
        .iter()
        .map(|(n, o)| ((*n).to_owned(), oid(*o)))
        .collect()
}

type Twin = Replicator<CodeCommitTwin, CodeCommitTwin, MemoryQueue>;

fn replicator(twin: &CodeCommitTwin, extra: &[(&str, &str)]) -> Twin {
    let mut pairs = vec![
        ("AWS_REGION", SOURCE),
        ("CODEHOOKS_REPLICA_REGIONS", "eu-west-2,ap-southeast-2"),
        ("CODEHOOKS_REPOSITORIES", "payments-api,ledger"),
    ];
    pairs.extend_from_slice(extra);
    let mut env = codehooks::config::Env::from_pairs(pairs);
    let config = Config::read(&mut env).unwrap();
    env.finish().unwrap();
    let queue = config.work_queue.as_ref().map(|_| MemoryQueue::new());
    Replicator::new(config, "codehooks-test", twin.clone(), twin.clone(), queue)
}

/// The source `payments-api` with two branches and a tag, and empty replicas.
fn world() -> CodeCommitTwin {
    let twin = CodeCommitTwin::new();
    let source = refs(&[
        ("refs/heads/main", 1),
        ("refs/heads/feature/x", 2),
        ("refs/tags/v1", 3),
    ]);
    twin.put(SOURCE, "payments-api", Some("Payments API"), source);
    for r in REPLICAS {
        twin.put(r, "payments-api", None, Refs::new());
    }
    twin
}

fn event(file: &str, repository: &str) -> Value {
    let path = format!("{}/../../events/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut e: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    if e.get("detail")
        .and_then(|d| d.get("repositoryName"))
        .is_some()
    {
        e["detail"]["repositoryName"] = json!(repository);
    }
    e
}

fn created(repository: &str) -> Value {
    event("repo-replicator-reference-created.json", repository)
}

fn schedule() -> Value {
    event("repo-replicator-scheduled-reconcile.json", "")
}

fn run<C: RepositoryCatalogue, M: Mirror, Q: WorkQueue>(
    r: &Replicator<C, M, Q>,
    payload: Value,
) -> Result<Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(r.handle(payload))
        .map(|o| serde_json::to_value(o).unwrap())
}

fn replica<'a>(answer: &'a Value, region: &str) -> &'a Value {
    answer["repositories"][0]["replicas"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["region"] == region))
        .unwrap_or_else(|| panic!("no {region} in {answer}"))
}

#[test]
fn an_event_brings_every_replica_in_sync() {
    let twin = world();
    let r = replicator(&twin, &[]);
    let answer = run(&r, created("payments-api")).unwrap();
    assert_eq!(answer["status"], "replicated");
    assert_eq!(answer["trigger"], "event");
    assert_eq!(answer["repositories"][0]["repository"], "payments-api");
    assert_eq!(answer["repositories"][0]["fetch"]["objects"], 3);
    let source = twin.refs(SOURCE, "payments-api").unwrap();
    for region in REPLICAS {
        assert_eq!(twin.refs(region, "payments-api").unwrap(), source);
        let rep = replica(&answer, region);
        assert_eq!(rep["updated"].as_array().unwrap().len(), 3, "{rep}");
        assert_eq!(rep["created"], false);
        assert_eq!(rep["casRetries"], 0);
        assert!(rep["lagMs"].is_u64(), "{rep}");
    }
    // The same event again: nothing to push, no lag (nothing changed).
    let again = run(&r, created("payments-api")).unwrap();
    assert_eq!(replica(&again, "eu-west-2")["updated"], json!([]));
    assert_eq!(replica(&again, "eu-west-2")["lagMs"], Value::Null);
}

#[test]
fn events_outside_the_configuration_are_ignored_without_a_call() {
    let twin = world();
    let r = replicator(&twin, &[]);
    let other_repo = run(&r, created("not-replicated")).unwrap();
    assert_eq!(other_repo["status"], "ignored");
    let mut other_region = created("payments-api");
    other_region["region"] = json!("eu-west-2");
    let answer = run(&r, other_region).unwrap();
    assert_eq!(answer["status"], "ignored");
    assert!(answer["reason"].as_str().unwrap().contains("eu-west-2"));
    assert!(twin.calls().is_empty(), "{:?}", twin.calls());
}

#[test]
fn one_failing_replica_does_not_stop_the_others_and_fails_the_invocation() {
    let twin = world();
    twin.fail_git("eu-west-2");
    let r = replicator(&twin, &[]);
    let e = run(&r, created("payments-api")).unwrap_err();
    assert_eq!(e.kind(), "Transient");
    assert!(e.to_string().contains("payments-api in eu-west-2"), "{e}");
    assert_eq!(
        twin.refs("ap-southeast-2", "payments-api").unwrap(),
        twin.refs(SOURCE, "payments-api").unwrap()
    );
    assert!(twin.refs("eu-west-2", "payments-api").unwrap().is_empty());
}

#[test]
fn a_missing_replica_is_a_configuration_error_unless_creation_is_allowed() {
    // ap-southeast-2 has no replica.
    let twin = CodeCommitTwin::new();
    twin.put(
        SOURCE,
        "payments-api",
        Some("Payments API"),
        refs(&[("refs/heads/main", 1)]),
    );
    twin.put("eu-west-2", "payments-api", None, Refs::new());
    let e = run(&replicator(&twin, &[]), created("payments-api")).unwrap_err();
    assert_eq!(e.kind(), "Config");
    let text = e.to_string();
    assert!(
        text.contains("CODEHOOKS_CREATE_MISSING_REPLICAS") && text.contains("ap-southeast-2"),
        "{text}"
    );
    // eu-west-2 was still brought in sync; nothing was created.
    assert_eq!(twin.refs("eu-west-2", "payments-api").unwrap().len(), 1);
    assert!(
        !twin
            .calls()
            .iter()
            .any(|c| c.starts_with("CreateRepository"))
    );

    let r = replicator(&twin, &[("CODEHOOKS_CREATE_MISSING_REPLICAS", "true")]);
    let answer = run(&r, created("payments-api")).unwrap();
    assert_eq!(replica(&answer, "ap-southeast-2")["created"], true);
    assert_eq!(
        twin.description("ap-southeast-2", "payments-api"),
        Some(Some("Payments API".to_owned()))
    );
    assert_eq!(
        twin.refs("ap-southeast-2", "payments-api").unwrap().len(),
        1
    );
}

#[test]
fn replicas_take_their_mapped_names() {
    let twin = world();
    for r in REPLICAS {
        twin.put(r, "payments-dr", None, Refs::new());
    }
    let r = replicator(
        &twin,
        &[(
            "CODEHOOKS_REPLICA_NAMES",
            r#"{"payments-api":"payments-dr"}"#,
        )],
    );
    let answer = run(&r, created("payments-api")).unwrap();
    assert_eq!(replica(&answer, "eu-west-2")["replica"], "payments-dr");
    assert_eq!(twin.refs("eu-west-2", "payments-dr").unwrap().len(), 3);
    assert!(twin.refs("eu-west-2", "payments-api").unwrap().is_empty());
}

#[test]
fn a_refused_replica_that_exists_is_transient_not_created() {
    let twin = world();
    twin.refuse_git("eu-west-2");
    let r = replicator(&twin, &[("CODEHOOKS_CREATE_MISSING_REPLICAS", "true")]);
    let e = run(&r, created("payments-api")).unwrap_err();
    assert_eq!(e.kind(), "Transient");
    assert!(
        e.to_string()
            .contains("exists but its git endpoint refused"),
        "{e}"
    );
    assert!(
        !twin
            .calls()
            .iter()
            .any(|c| c.starts_with("CreateRepository"))
    );
}

#[test]
fn a_missing_source_is_bad_input_and_a_refused_one_transient() {
    let twin = CodeCommitTwin::new();
    let e = run(&replicator(&twin, &[]), created("payments-api")).unwrap_err();
    assert_eq!(e.kind(), "BadInput");
    assert!(e.to_string().contains("does not exist in us-east-1"), "{e}");

    let twin = world();
    twin.refuse_git(SOURCE);
    let e = run(&replicator(&twin, &[]), created("payments-api")).unwrap_err();
    assert_eq!(e.kind(), "Transient");
    assert!(
        e.to_string()
            .contains("exists but its git endpoint refused"),
        "{e}"
    );
}

#[test]
fn the_reconciliation_covers_the_configured_repositories() {
    let twin = world();
    let r = replicator(&twin, &[]);
    // `ledger` is configured but exists nowhere: reported, the rest heals, the run fails.
    let e = run(&r, schedule()).unwrap_err();
    assert_eq!(e.kind(), "BadInput");
    assert_eq!(
        twin.refs("eu-west-2", "payments-api").unwrap(),
        twin.refs(SOURCE, "payments-api").unwrap()
    );
    assert!(
        !twin
            .calls()
            .iter()
            .any(|c| c.starts_with("ListRepositories"))
    );
    let r = replicator(&twin, &[("CODEHOOKS_REPOSITORIES", "payments-api")]);
    let answer = run(&r, schedule()).unwrap();
    assert_eq!(answer["trigger"], "schedule");
}

#[test]
fn reconciling_everything_lists_every_page_and_skips_exclusions() {
    let twin = world();
    for name in ["ledger", "scratch"] {
        twin.put(SOURCE, name, None, refs(&[("refs/heads/main", 7)]));
        for r in REPLICAS {
            twin.put(r, name, None, Refs::new());
        }
    }
    twin.page_size(1);
    let r = replicator(
        &twin,
        &[
            ("CODEHOOKS_REPOSITORIES", "*"),
            ("CODEHOOKS_EXCLUDE_REPOSITORIES", "scratch"),
        ],
    );
    let answer = run(&r, schedule()).unwrap();
    let names: Vec<&str> = answer["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["repository"].as_str())
        .collect();
    assert_eq!(names, ["ledger", "payments-api"]);
    assert!(twin.refs("eu-west-2", "scratch").unwrap().is_empty());
    let lists = twin
        .calls()
        .iter()
        .filter(|c| c.starts_with("ListRepositories"))
        .count();
    assert_eq!(lists, 3);
}

#[test]
fn names_from_the_listing_are_checked_before_they_become_paths() {
    let twin = world();
    twin.script_pages(vec![Page {
        names: vec![
            "../../etc".into(),
            "payments-api".into(),
            "a/b".into(),
            "x.git".into(),
        ],
        next_token: None,
    }]);
    let r = replicator(&twin, &[("CODEHOOKS_REPOSITORIES", "*")]);
    let answer = run(&r, schedule()).unwrap();
    assert_eq!(answer["repositories"].as_array().unwrap().len(), 1);
    assert_eq!(answer["repositories"][0]["repository"], "payments-api");
    assert!(
        twin.calls()
            .iter()
            .skip(1)
            .all(|c| c.ends_with(" us-east-1/payments-api") || c.ends_with("-2/payments-api")),
        "{:?}",
        twin.calls()
    );
}

#[test]
fn empty_pages_with_a_next_token_do_not_loop_forever() {
    let twin = world();
    let pages: Vec<Page> = (1..=MAX_LIST_PAGES + 50)
        .map(|i| Page {
            names: if i == 2 {
                vec!["payments-api".into()]
            } else {
                vec![]
            },
            next_token: Some(i.to_string()),
        })
        .collect();
    twin.script_pages(pages);
    let r = replicator(&twin, &[("CODEHOOKS_REPOSITORIES", "*")]);
    let answer = run(&r, schedule()).unwrap();
    let lists = twin
        .calls()
        .iter()
        .filter(|c| c.starts_with("ListRepositories"))
        .count();
    assert_eq!(lists, MAX_LIST_PAGES);
    // What was listed is still reconciled.
    assert_eq!(answer["repositories"][0]["repository"], "payments-api");
}

#[test]
fn a_listing_failure_fails_before_any_git_work() {
    let twin = world();
    twin.fail_api("ListRepositories", 1);
    let r = replicator(&twin, &[("CODEHOOKS_REPOSITORIES", "*")]);
    let e = run(&r, schedule()).unwrap_err();
    assert_eq!(e.kind(), "AwsError");
    assert!(e.is_retryable());
    assert!(
        twin.calls()
            .iter()
            .all(|c| c.starts_with("ListRepositories"))
    );
}

#[test]
fn the_verdict_keeps_a_final_error_only_when_every_error_is_final() {
    let bad = || Error::bad_input("gone");
    assert_eq!(verdict(vec![bad(), bad()]).kind(), "BadInput");
    let mixed = verdict(vec![bad(), Error::transient("network")]);
    assert_eq!(mixed.kind(), "Transient");
    assert!(mixed.to_string().contains("gone") && mixed.to_string().contains("network"));
}

#[test]
fn the_outcome_labels_and_serializes_as_the_readers_expect() {
    use codehooks::harness::Outcome as _;
    let ignored = Outcome::Ignored { reason: "x".into() };
    assert_eq!(ignored.label(), "ignored");
    assert_eq!(
        serde_json::to_value(&ignored).unwrap(),
        json!({"status": "ignored", "reason": "x"})
    );
    let report = Report {
        trigger: "schedule",
        event_id: "e".into(),
        repositories: vec![RepositoryReport {
            repository: "r".into(),
            fetch: None,
            replicas: None,
            error: Some("boom".into()),
        }],
        duration_ms: 1,
    };
    let done = Outcome::Replicated(report);
    assert_eq!(done.label(), "replicated");
    assert_eq!(
        serde_json::to_value(&done).unwrap(),
        json!({"status": "replicated", "trigger": "schedule", "eventId": "e", "durationMs": 1,
               "repositories": [{"repository": "r", "error": "boom"}]})
    );
}

// ---------------------------------------------------------------------------------------------
// Default branch, time budget, the work queue, per-replica policies.
// ---------------------------------------------------------------------------------------------

const QUEUE_URL: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/codehooks-work.fifo";

fn jobs(r: &Twin) -> Vec<(String, crate::queue::JobReason)> {
    r.queue
        .as_ref()
        .map(|q| {
            q.jobs()
                .into_iter()
                .map(|j| (j.repository.to_string(), j.reason))
                .collect()
        })
        .unwrap_or_default()
}

fn sqs(bodies: &[(&str, &str)]) -> Value {
    let sample = event("repo-replicator-sqs-job.json", "");
    let records: Vec<Value> = bodies
        .iter()
        .map(|(id, body)| {
            let mut r = sample["Records"][0].clone();
            r["messageId"] = json!(id);
            r["body"] = json!(body);
            r
        })
        .collect();
    json!({ "Records": records })
}

fn run_until(r: &Twin, payload: Value, deadline: Instant) -> Result<Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(r.handle_until(payload, Some(deadline)))
        .map(|o| serde_json::to_value(o).unwrap())
}

#[test]
fn the_replicas_default_branch_follows_the_sources() {
    let twin = world();
    twin.put_default_branch(SOURCE, "payments-api", Some("feature/x"));
    let r = replicator(&twin, &[]);
    let answer = run(&r, created("payments-api")).unwrap();
    for region in REPLICAS {
        assert_eq!(
            twin.default_branch(region, "payments-api"),
            Some(Some("feature/x".to_owned()))
        );
        assert_eq!(replica(&answer, region)["defaultBranch"], "feature/x");
    }
    let updates = |t: &CodeCommitTwin| {
        t.calls()
            .iter()
            .filter(|c| c.starts_with("UpdateDefaultBranch"))
            .count()
    };
    assert_eq!(updates(&twin), 2);
    // An event that changes nothing asks nothing.
    let before = twin.calls().len();
    let again = run(&r, created("payments-api")).unwrap();
    assert_eq!(updates(&twin), 2);
    assert_eq!(replica(&again, "eu-west-2")["defaultBranch"], Value::Null);
    assert!(
        !twin.calls()[before..]
            .iter()
            .any(|c| c.starts_with("GetRepository")),
        "{:?}",
        twin.calls()
    );
    // A default branch changed at the source has no event: the reconciliation carries it.
    twin.put_default_branch(SOURCE, "payments-api", Some("main"));
    let only = replicator(&twin, &[("CODEHOOKS_REPOSITORIES", "payments-api")]);
    let answer = run(&only, schedule()).unwrap();
    assert_eq!(
        answer["repositories"][0]["replicas"][0]["defaultBranch"],
        "main"
    );
    assert_eq!(
        twin.default_branch("ap-southeast-2", "payments-api"),
        Some(Some("main".to_owned()))
    );
    assert_eq!(updates(&twin), 4);

    // Turned off: not even asked.
    let twin = world();
    twin.put_default_branch(SOURCE, "payments-api", Some("feature/x"));
    let r = replicator(&twin, &[("CODEHOOKS_FOLLOW_DEFAULT_BRANCH", "false")]);
    run(&r, created("payments-api")).unwrap();
    assert!(
        !twin
            .calls()
            .iter()
            .any(|c| c.starts_with("GetRepository") || c.starts_with("UpdateDefaultBranch")),
        "{:?}",
        twin.calls()
    );
    assert_eq!(
        twin.default_branch("eu-west-2", "payments-api"),
        Some(Some("main".to_owned()))
    );
}

#[test]
fn a_default_branch_the_policy_does_not_mirror_is_not_followed() {
    let twin = world();
    twin.put_default_branch(SOURCE, "payments-api", Some("feature/x"));
    let r = replicator(&twin, &[("CODEHOOKS_REF_EXCLUDE", "refs/heads/feature/**")]);
    run(&r, created("payments-api")).unwrap();
    assert!(
        !twin
            .calls()
            .iter()
            .any(|c| c.starts_with("UpdateDefaultBranch"))
    );
    assert!(
        !twin
            .refs("eu-west-2", "payments-api")
            .unwrap()
            .contains_key("refs/heads/feature/x")
    );
}

#[test]
fn out_of_time_a_repository_is_partial_and_queued_to_continue() {
    let twin = world();
    twin.script_slices(oid(1), vec![oid(10), oid(1)]);
    // Without a queue: the answer says partial; the next run goes on.
    let r = replicator(&twin, &[]);
    let answer = run_until(&r, created("payments-api"), Instant::now()).unwrap();
    assert_eq!(answer["status"], "partial");
    assert_eq!(replica(&answer, "eu-west-2")["partial"], true);
    assert!(
        !twin
            .calls()
            .iter()
            .any(|c| c.starts_with("UpdateDefaultBranch"))
    );
    // With a queue: a Continue job as well.
    let r = replicator(&twin, &[("CODEHOOKS_WORK_QUEUE_URL", QUEUE_URL)]);
    let answer = run_until(&r, created("payments-api"), Instant::now()).unwrap();
    assert_eq!(answer["status"], "partial");
    assert_eq!(
        jobs(&r),
        [("payments-api".to_owned(), crate::queue::JobReason::Continue)]
    );
    // With time: in sync through the slices.
    let answer = run(&r, created("payments-api")).unwrap();
    assert_eq!(answer["status"], "replicated");
    assert_eq!(replica(&answer, "eu-west-2")["slices"], 1);
    assert_eq!(
        twin.mirrored("eu-west-2", "payments-api"),
        twin.refs(SOURCE, "payments-api")
    );
}

#[test]
fn a_reconciliation_with_a_queue_enqueues_one_job_per_repository() {
    let twin = world();
    let r = replicator(&twin, &[("CODEHOOKS_WORK_QUEUE_URL", QUEUE_URL)]);
    let answer = run(&r, schedule()).unwrap();
    assert_eq!(answer["status"], "enqueued");
    assert_eq!(answer["repositories"], json!(["payments-api", "ledger"]));
    assert_eq!(answer["messages"], 2);
    assert_eq!(jobs(&r).len(), 2);
    assert!(twin.calls().is_empty(), "{:?}", twin.calls());
    // A queue that fails: the reconciliation fails (EventBridge retries it).
    r.queue.as_ref().unwrap().fail_next(1);
    assert!(run(&r, schedule()).is_err());
}

#[test]
fn queued_jobs_are_replicated_and_failures_are_answered_per_message() {
    let twin = world();
    let r = replicator(&twin, &[("CODEHOOKS_WORK_QUEUE_URL", QUEUE_URL)]);
    let payload = sqs(&[
        (
            "m-ok",
            r#"{"repository":"payments-api","reason":"reconcile"}"#,
        ),
        ("m-bad", "not json"),
        ("m-missing", r#"{"repository":"ledger"}"#),
        ("m-other", r#"{"repository":"not-replicated"}"#),
    ]);
    let answer = run(&r, payload).unwrap();
    assert_eq!(answer["status"], "batch");
    assert_eq!(answer["trigger"], "queue");
    assert_eq!(
        answer["batchItemFailures"],
        json!([{"itemIdentifier": "m-bad"}, {"itemIdentifier": "m-missing"}])
    );
    assert_eq!(
        twin.mirrored("eu-west-2", "payments-api"),
        twin.refs(SOURCE, "payments-api")
    );
    assert_eq!(answer["repositories"].as_array().unwrap().len(), 2);
}

#[test]
fn each_replica_region_may_have_its_own_ref_policy() {
    let twin = world();
    let r = replicator(
        &twin,
        &[(
            "CODEHOOKS_REPLICA_POLICIES",
            r#"{"eu-west-2": {"include": ["refs/heads/main"]}}"#,
        )],
    );
    run(&r, created("payments-api")).unwrap();
    assert_eq!(
        twin.refs("eu-west-2", "payments-api").unwrap(),
        refs(&[("refs/heads/main", 1)])
    );
    assert_eq!(
        twin.refs("ap-southeast-2", "payments-api"),
        twin.refs(SOURCE, "payments-api")
    );
}

#[test]
fn the_lambda_deadline_becomes_an_instant() {
    assert_eq!(crate::deadline_of(0), None);
    let now_ms = now_ms();
    let d = crate::deadline_of(now_ms + 60_000).unwrap();
    let left = d.saturating_duration_since(Instant::now()).as_secs();
    assert!((58..=60).contains(&left), "{left}");
    // A deadline already past is now, not a panic.
    let d = crate::deadline_of(now_ms.saturating_sub(5_000)).unwrap();
    assert!(d <= Instant::now());
}
