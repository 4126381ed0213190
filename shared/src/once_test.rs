//! Unit tests of `once.rs`: the in-memory twin keeps the store's rules.

use std::time::{SystemTime, UNIX_EPOCH};

use super::*;

/// A lease of 90 s from the store's clock.
fn lease(store: &MemoryOnceStore) -> SystemTime {
    store.now() + Duration::from_secs(90)
}

fn state(s: &str, at: &str) -> State {
    State {
        state: s.into(),
        at: at.into(),
        detail: None,
        ..State::default()
    }
}

#[tokio::test]
async fn work_runs_once_and_a_redelivery_is_done() {
    let store = MemoryOnceStore::new();
    let out = once(&store, "k", lease(&store), || async { Ok(1) })
        .await
        .unwrap();
    assert_eq!(out, Once::Ran(1));
    assert_eq!(store.status("k"), Some("done"));
    let again = once(&store, "k", lease(&store), || async { Ok(2) })
        .await
        .unwrap();
    assert_eq!(again, Once::AlreadyDone);
}

#[tokio::test]
async fn a_failed_work_releases_its_claim() {
    let store = MemoryOnceStore::new();
    let err = once(&store, "k", lease(&store), || async {
        Err::<(), _>(Error::transient("publish failed"))
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("publish failed"));
    assert_eq!(store.status("k"), None);
    assert_eq!(
        once(&store, "k", lease(&store), || async { Ok(()) })
            .await
            .unwrap(),
        Once::Ran(())
    );
}

#[tokio::test]
async fn a_held_claim_is_busy_until_its_lease_ends() {
    let store = MemoryOnceStore::new();
    let Claim::Claimed(first) = store.claim("k", lease(&store)).await.unwrap() else {
        panic!("not claimed")
    };
    assert_eq!(first.key(), "k");
    assert_eq!(store.claim("k", lease(&store)).await.unwrap(), Claim::Busy);
    store.advance(Duration::from_secs(91));
    let Claim::Claimed(second) = store.claim("k", lease(&store)).await.unwrap() else {
        panic!("the abandoned claim was not taken over")
    };
    // The first holder lost it: completing or releasing changes nothing.
    assert!(!store.complete(&first).await.unwrap());
    store.release(&first).await.unwrap();
    assert_eq!(store.status("k"), Some("pending"));
    assert!(store.complete(&second).await.unwrap());
    assert_eq!(store.claim("k", lease(&store)).await.unwrap(), Claim::Done);
}

#[tokio::test]
async fn done_records_expire() {
    let store = MemoryOnceStore::new().with_ttl(Duration::from_secs(3600));
    once(&store, "k", lease(&store), || async { Ok(()) })
        .await
        .unwrap();
    store.advance(Duration::from_secs(3601));
    assert_eq!(store.status("k"), None);
    assert!(matches!(
        store.claim("k", lease(&store)).await.unwrap(),
        Claim::Claimed(_)
    ));
}

#[tokio::test]
async fn an_older_event_never_overwrites_a_newer_state() {
    let store = MemoryOnceStore::new();
    let keep = Duration::from_secs(86_400);
    let newer = state("SUCCEEDED", "2026-11-23T02:00:00Z");
    assert!(store.record_state("p", &newer, keep).await.unwrap());
    let older = state("FAILED", "2026-11-23T01:00:00Z");
    assert!(!store.record_state("p", &older, keep).await.unwrap());
    assert_eq!(store.state("p").await.unwrap(), Some(newer.clone()));
    // The same time may be written again; an expired state is no state.
    assert!(store.record_state("p", &newer, keep).await.unwrap());
    store.advance(Duration::from_secs(86_401));
    assert_eq!(store.state("p").await.unwrap(), None);
    assert!(store.record_state("p", &older, keep).await.unwrap());
}

#[tokio::test]
async fn failures_can_be_injected_and_calls_are_recorded() {
    let store = MemoryOnceStore::new();
    store.fail_next(OnceOp::Claim, 1);
    let err = once(&store, "k", lease(&store), || async { Ok(()) })
        .await
        .unwrap_err();
    assert!(
        err.is_retryable() && err.to_string().contains("PutItem"),
        "{err}"
    );
    // A failed complete after the work still reports the work as done.
    store.fail_next(OnceOp::Complete, 1);
    assert_eq!(
        once(&store, "k", lease(&store), || async { Ok(()) })
            .await
            .unwrap(),
        Once::Ran(())
    );
    assert_eq!(store.calls(), ["Claim k", "Claim k", "Complete k"]);
}

#[test]
fn a_lease_ends_after_the_deadline_plus_the_margin() {
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let margin = Duration::from_secs(5);
    // A 60 s invocation: the lease ends 65 s from now (not 90).
    let deadline_ms = 1_800_000_060_000;
    assert_eq!(
        lease_until(deadline_ms, now, margin),
        now + Duration::from_secs(65)
    );
    // A deadline in the past counts as now; one past Lambda's 15 minutes is capped.
    assert_eq!(lease_until(0, now, margin), now + margin);
    assert_eq!(
        lease_until(u64::MAX, now, margin),
        now + MAX_INVOCATION + margin
    );
    // Seconds are rounded up: a lease never ends before its instant.
    assert_eq!(
        epoch_secs_ceil(now + Duration::from_millis(1)),
        1_800_000_001
    );
    assert_eq!(epoch_secs_ceil(now), 1_800_000_000);
}

#[tokio::test]
async fn each_claim_carries_its_own_lease() {
    let store = MemoryOnceStore::new();
    let short = store.now() + Duration::from_secs(10);
    let Claim::Claimed(_) = store.claim("a", short).await.unwrap() else {
        panic!("not claimed")
    };
    let Claim::Claimed(_) = store.claim("b", lease(&store)).await.unwrap() else {
        panic!("not claimed")
    };
    store.advance(Duration::from_secs(11));
    assert!(matches!(
        store.claim("a", lease(&store)).await.unwrap(),
        Claim::Claimed(_)
    ));
    assert_eq!(store.claim("b", lease(&store)).await.unwrap(), Claim::Busy);
}
