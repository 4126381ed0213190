//! The shared DynamoDB do-once store (`codehooks::dedup`) against moto's DynamoDB, through the
//! real SDK client: conditional claims, done records, released and abandoned claims, the TTL
//! attribute, and last known states that out-of-order events cannot roll back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use codehooks::Error;
use codehooks::dedup::{Claim, KEY_ATTRIBUTE, Once, State, Store, TTL_ATTRIBUTE};
use codehooks_tests::LocalAws;

async fn table(local: &LocalAws, name: &str) -> aws_sdk_dynamodb::Client {
    let sdk = local.sdk_config(local.moto_url(), "eu-west-1").await;
    codehooks_tests::idempotency_table(&sdk, name).await
}

async fn item(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    ddb.get_item()
        .table_name(table)
        .key(KEY_ATTRIBUTE, AttributeValue::S(pk.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem")
        .item
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_complete_and_release() {
    let local = LocalAws::builder().moto().start();
    let ddb = table(&local, "dedup-a").await;
    let now = Arc::new(AtomicU64::new(1_800_000_000));
    let clock = Arc::clone(&now);
    let store = Store::new(ddb.clone(), "dedup-a")
        .with_ttl(Duration::from_secs(48 * 3600))
        .with_clock(move || clock.load(Ordering::SeqCst));
    // Each claim's lease: 300 s from the test's clock.
    let lease = || UNIX_EPOCH + Duration::from_secs(now.load(Ordering::SeqCst) + 300);

    // First claim wins; a second one while the first is pending is busy.
    let Claim::Claimed(held) = store.claim("event-1", lease()).await.unwrap() else {
        panic!("the first claim must win")
    };
    assert_eq!(held.key(), "event-1");
    assert_eq!(store.claim("event-1", lease()).await.unwrap(), Claim::Busy);

    // The pending record carries the TTL attribute (now + 48 h).
    let rec = item(&ddb, "dedup-a", "once#event-1").await.expect("record");
    assert_eq!(rec["status"].as_s().unwrap(), "pending");
    assert_eq!(
        rec[TTL_ATTRIBUTE].as_n().unwrap(),
        &(1_800_000_000u64 + 48 * 3600).to_string()
    );

    // Completed: every later claim answers Done.
    assert!(store.complete(&held).await.unwrap());
    assert_eq!(store.claim("event-1", lease()).await.unwrap(), Claim::Done);
    let rec = item(&ddb, "dedup-a", "once#event-1").await.unwrap();
    assert_eq!(rec["status"].as_s().unwrap(), "done");
    assert!(!rec.contains_key("leaseUntil"));

    // Released after a failure: the retry claims again.
    let Claim::Claimed(l2) = store.claim("event-2", lease()).await.unwrap() else {
        panic!()
    };
    store.release(&l2).await.unwrap();
    assert!(item(&ddb, "dedup-a", "once#event-2").await.is_none());
    let Claim::Claimed(l3) = store.claim("event-2", lease()).await.unwrap() else {
        panic!("a released key can be claimed again")
    };

    // Abandoned (the process died): busy until the lease ends, then claimable; the old
    // holder can neither complete nor release the new holder's claim.
    now.fetch_add(299, Ordering::SeqCst);
    assert_eq!(store.claim("event-2", lease()).await.unwrap(), Claim::Busy);
    now.fetch_add(2, Ordering::SeqCst);
    let Claim::Claimed(l4) = store.claim("event-2", lease()).await.unwrap() else {
        panic!("an abandoned claim is taken over after its lease")
    };
    assert!(
        !store.complete(&l3).await.unwrap(),
        "a lost claim cannot complete"
    );
    store.release(&l3).await.unwrap();
    assert_eq!(
        store.claim("event-2", lease()).await.unwrap(),
        Claim::Busy,
        "the new holder keeps it"
    );
    assert!(store.complete(&l4).await.unwrap());

    // A done record past its expiry (TTL deletion can lag) counts as gone.
    now.fetch_add(48 * 3600 + 1, Ordering::SeqCst);
    assert!(matches!(
        store.claim("event-1", lease()).await.unwrap(),
        Claim::Claimed(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_runs_work_once_and_retries_failures() {
    let local = LocalAws::builder().moto().start();
    let ddb = table(&local, "dedup-b").await;
    let store = Store::new(ddb, "dedup-b");
    let runs = AtomicU64::new(0);

    // A failing side effect is released and returned...
    let err = store
        .once(
            "k",
            SystemTime::now() + Duration::from_secs(300),
            || async {
                runs.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(Error::transient("publish failed"))
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "Transient");
    // ...so the retry runs it; the one after that does not.
    let first = store
        .once(
            "k",
            SystemTime::now() + Duration::from_secs(300),
            || async {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok(7)
            },
        )
        .await
        .unwrap();
    assert_eq!(first, Once::Ran(7));
    let again = store
        .once(
            "k",
            SystemTime::now() + Duration::from_secs(300),
            || async {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok(8)
            },
        )
        .await
        .unwrap();
    assert_eq!(again, Once::AlreadyDone);
    assert_eq!(runs.load(Ordering::SeqCst), 2);

    // Concurrent deliveries of one key: exactly one runs.
    let store = Arc::new(store);
    let mut handles = Vec::new();
    let ran = Arc::new(AtomicU64::new(0));
    for _ in 0..6 {
        let store = Arc::clone(&store);
        let ran = Arc::clone(&ran);
        handles.push(tokio::spawn(async move {
            store
                .once(
                    "concurrent",
                    SystemTime::now() + Duration::from_secs(300),
                    || async move {
                        ran.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Ok(())
                    },
                )
                .await
                .unwrap()
        }));
    }
    let mut outcomes = Vec::new();
    for h in handles {
        outcomes.push(h.await.unwrap());
    }
    assert_eq!(ran.load(Ordering::SeqCst), 1, "{outcomes:?}");
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Once::Ran(())))
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_known_state_ignores_older_events() {
    let local = LocalAws::builder().moto().start();
    let ddb = table(&local, "dedup-c").await;
    let store = Store::new(ddb, "dedup-c");
    let keep = Duration::from_secs(86_400);
    let st = |s: &str, at: &str| State {
        state: s.into(),
        at: at.into(),
        detail: Some("d-1".into()),
        ..State::default()
    };
    assert_eq!(store.state("codebuild/eu-west-1/app").await.unwrap(), None);
    assert!(
        store
            .record_state(
                "codebuild/eu-west-1/app",
                &st("FAILED", "2026-11-23T00:00:00Z"),
                keep
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .record_state(
                "codebuild/eu-west-1/app",
                &st("SUCCEEDED", "2026-11-23T00:10:00Z"),
                keep
            )
            .await
            .unwrap()
    );
    // A late delivery of an older failure does not roll the state back.
    assert!(
        !store
            .record_state(
                "codebuild/eu-west-1/app",
                &st("FAILED", "2026-11-23T00:05:00Z"),
                keep
            )
            .await
            .unwrap()
    );
    let now = store
        .state("codebuild/eu-west-1/app")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.state, "SUCCEEDED");
    assert_eq!(now.at, "2026-11-23T00:10:00Z");
    assert_eq!(now.detail.as_deref(), Some("d-1"));
    // The same event again is harmless.
    assert!(
        store
            .record_state(
                "codebuild/eu-west-1/app",
                &st("SUCCEEDED", "2026-11-23T00:10:00Z"),
                keep
            )
            .await
            .unwrap()
    );
}

/// One script of claims, completions, releases and states, run through the
/// `codehooks::once::OnceOnlyStore` port; returns what each step answered.
async fn once_script<S: codehooks::once::OnceOnlyStore>(
    store: &S,
    advance: impl Fn(u64),
    lease: impl Fn() -> SystemTime,
) -> Vec<String> {
    use codehooks::once::{self as port, Claim as C, Once as O, State as St};
    let mut log = Vec::new();
    let ran = port::once(store, "p-1", lease(), || async { Ok(1) })
        .await
        .unwrap();
    log.push(format!("{:?}", ran == O::Ran(1)));
    let again = port::once(store, "p-1", lease(), || async { Ok(2) })
        .await
        .unwrap();
    log.push(format!("{:?}", again == O::AlreadyDone));
    let failed = port::once(store, "p-2", lease(), || async {
        Err::<(), _>(Error::transient("x"))
    })
    .await;
    log.push(format!("{}", failed.is_err()));
    let retried = port::once(store, "p-2", lease(), || async { Ok(()) })
        .await
        .unwrap();
    log.push(format!("{:?}", retried == O::Ran(())));
    let first = match store.claim("p-3", lease()).await.unwrap() {
        C::Claimed(l) => l,
        _ => panic!("the first claim must win"),
    };
    log.push(format!(
        "busy {}",
        matches!(store.claim("p-3", lease()).await.unwrap(), C::Busy)
    ));
    advance(301);
    let second = match store.claim("p-3", lease()).await.unwrap() {
        C::Claimed(l) => l,
        _ => panic!("an abandoned claim is taken over after its lease"),
    };
    log.push(format!("lost {}", store.complete(&first).await.unwrap()));
    log.push(format!("won {}", store.complete(&second).await.unwrap()));
    let keep = Duration::from_secs(86_400);
    let st = |s: &str, at: &str| St {
        state: s.into(),
        at: at.into(),
        detail: None,
        ..St::default()
    };
    let newer = st("SUCCEEDED", "2026-11-23T02:00:00Z");
    log.push(format!(
        "{}",
        store.record_state("s", &newer, keep).await.unwrap()
    ));
    let older = st("FAILED", "2026-11-23T01:00:00Z");
    log.push(format!(
        "{}",
        store.record_state("s", &older, keep).await.unwrap()
    ));
    log.push(format!(
        "{:?}",
        store.state("s").await.unwrap().map(|s| s.state)
    ));
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_once_only_port_behaves_the_same_on_dynamodb_and_in_memory() {
    let local = LocalAws::builder().moto().start();
    let ddb = table(&local, "dedup-port").await;
    let now = Arc::new(AtomicU64::new(1_800_000_000));
    let clock = Arc::clone(&now);
    let store = Store::new(ddb, "dedup-port").with_clock(move || clock.load(Ordering::SeqCst));
    let on_dynamodb = once_script(
        &store,
        |s| {
            now.fetch_add(s, Ordering::SeqCst);
        },
        || UNIX_EPOCH + Duration::from_secs(now.load(Ordering::SeqCst) + 300),
    )
    .await;
    let memory = codehooks::once::MemoryOnceStore::new();
    let in_memory = once_script(
        &memory,
        |s| memory.advance(Duration::from_secs(s)),
        || memory.now() + Duration::from_secs(300),
    )
    .await;
    assert_eq!(on_dynamodb, in_memory);
    assert_eq!(
        in_memory,
        [
            "true",
            "true",
            "true",
            "true",
            "busy true",
            "lost false",
            "won true",
            "true",
            "false",
            "Some(\"SUCCEEDED\")"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_keeps_its_streak_and_older_items_still_read() {
    let local = LocalAws::builder().moto().start();
    let ddb = table(&local, "dedup-streak").await;
    let store = Store::new(ddb.clone(), "dedup-streak");
    let keep = Duration::from_secs(86_400);
    // An item written before streaks were kept: no since, failedRuns or first.
    let expires = (SystemTime::now() + keep)
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    ddb.put_item()
        .table_name("dedup-streak")
        .item(KEY_ATTRIBUTE, AttributeValue::S("state#old".into()))
        .item("state", AttributeValue::S("FAILED".into()))
        .item("at", AttributeValue::S("2026-11-23T00:00:00Z".into()))
        .item("detail", AttributeValue::S("e-0".into()))
        .item(TTL_ATTRIBUTE, AttributeValue::N(expires.to_string()))
        .send()
        .await
        .expect("PutItem");
    let old = store.state("old").await.unwrap().unwrap();
    assert_eq!(
        (
            old.state.as_str(),
            old.detail.as_deref(),
            old.since,
            old.failed_runs,
            old.first
        ),
        ("FAILED", Some("e-0"), None, 0, None)
    );
    let streak = State {
        state: "FAILED".into(),
        at: "2026-11-23T02:14:00Z".into(),
        detail: Some("e-3".into()),
        since: Some("2026-11-23T00:00:00Z".into()),
        failed_runs: 3,
        first: Some("e-1".into()),
    };
    assert!(store.record_state("new", &streak, keep).await.unwrap());
    assert_eq!(store.state("new").await.unwrap(), Some(streak));
    let rec = item(&ddb, "dedup-streak", "state#new").await.unwrap();
    assert_eq!(rec["failedRuns"].as_n().unwrap(), "3");
    assert_eq!(rec["since"].as_s().unwrap(), "2026-11-23T00:00:00Z");
}
