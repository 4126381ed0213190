//! Unit tests of `sync.rs`, against the in-memory twin: batches, compare-and-swap misses, and
//! the overlap invariant: a source change between the listing and the push, a
//! stale cache, rewinds the source confirms or not, deletes, keep mode, slices.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use super::*;
use crate::endpoints::GitEndpoints;
use crate::plan::ObjectId;
use crate::policy::{Divergence, Policy};
use crate::twins::CodeCommitTwin;

const SRC: &str = "us-east-1";
const REP: &str = "eu-west-2";

fn oid(n: u8) -> ObjectId {
    ObjectId::new(format!("{n:02x}").repeat(20))
}

fn target(region: &str) -> GitTarget {
    GitEndpoints::default().target(&region.parse().unwrap(), &"app".parse().unwrap())
}

fn refs(pairs: &[(&str, u8)]) -> Refs {
    pairs
        .iter()
        .map(|(n, o)| ((*n).to_owned(), oid(*o)))
        .collect()
}

fn limits(max: usize, retries: u32) -> PushLimits {
    PushLimits {
        max_refs_per_push: max,
        cas_retries: retries,
    }
}

fn no_backups() -> Policy {
    Policy {
        backup_retention: 0,
        ..Policy::default()
    }
}

fn run_with(
    twin: &CodeCommitTwin,
    desired: &Refs,
    l: PushLimits,
    policy: &Policy,
    deadline: Option<Instant>,
) -> Result<ReplicaStats, MirrorError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let options = SyncOptions {
        limits: l,
        policy,
        slice_commits: 5000,
        deadline,
    };
    rt.block_on(sync_replica(
        twin,
        &target(SRC),
        &target(REP),
        desired,
        options,
    ))
}

fn run(twin: &CodeCommitTwin, desired: &Refs, l: PushLimits) -> Result<ReplicaStats, MirrorError> {
    run_with(twin, desired, l, &no_backups(), None)
}

/// A twin whose source holds `source` (its cache fetched) and whose replica holds `replica`.
fn twin_with(source: Refs, replica: Refs) -> CodeCommitTwin {
    let twin = CodeCommitTwin::new();
    twin.put(SRC, "app", None, source);
    twin.put(REP, "app", None, replica);
    twin
}

fn source8() -> Refs {
    let mut r = refs(&[("refs/heads/main", 1)]);
    for i in 0..7u8 {
        r.insert(format!("refs/tags/t{i}"), oid(1));
    }
    r
}

/// Runs `change` on the twin the first time a replica is listed.
fn once_after_listing(twin: &CodeCommitTwin, change: impl Fn(&CodeCommitTwin) + Send + 'static) {
    let fired = Arc::new(AtomicU32::new(0));
    twin.on_list(move |t, _| {
        if fired.fetch_add(1, Ordering::SeqCst) == 0 {
            change(t);
        }
    });
}

#[test]
fn pushes_the_plan_in_batches() {
    let desired = source8();
    let twin = twin_with(desired.clone(), refs(&[("refs/heads/old", 5)]));
    let s = run(&twin, &desired, limits(3, 3)).unwrap();
    assert_eq!(twin.refs(REP, "app").unwrap(), desired);
    // 9 changes (8 created, 1 deleted) in batches of 3.
    assert_eq!(s.pushes, 3);
    assert_eq!(s.created_or_updated.len(), 8);
    assert_eq!(s.deleted, ["refs/heads/old"]);
    assert_eq!(
        twin.calls(),
        [
            "list eu-west-2/app",
            "source_refs us-east-1/app",
            "push eu-west-2/app",
            "push eu-west-2/app",
            "push eu-west-2/app"
        ]
    );
    // In sync: one listing, one advertisement, nothing pushed.
    let s = run(&twin, &desired, limits(3, 3)).unwrap();
    assert_eq!((s.pushes, s.created_or_updated.len()), (0, 0));
}

#[test]
fn a_replica_that_moved_after_the_listing_is_planned_again() {
    let desired = refs(&[("refs/heads/main", 1)]);
    let twin = twin_with(desired.clone(), refs(&[("refs/heads/main", 0)]));
    twin.move_before_push(REP, "refs/heads/main", oid(9));
    let s = run(&twin, &desired, limits(4000, 3)).unwrap();
    assert_eq!(s.cas_retries, 1);
    assert_eq!(twin.refs(REP, "app").unwrap(), desired);
    assert_eq!(
        twin.calls(),
        [
            "list eu-west-2/app",
            "source_refs us-east-1/app",
            "push eu-west-2/app",
            "list eu-west-2/app",
            "list eu-west-2/app",
            "source_refs us-east-1/app",
            "push eu-west-2/app"
        ]
    );
}

#[test]
fn a_replica_that_keeps_moving_is_given_up_after_the_retries() {
    let desired = refs(&[("refs/heads/main", 1)]);
    let twin = twin_with(desired.clone(), refs(&[("refs/heads/main", 0)]));
    for i in 0..5 {
        twin.move_before_push(REP, "refs/heads/main", oid(20 + i));
    }
    let e = run(&twin, &desired, limits(4000, 2)).unwrap_err();
    let MirrorError::Failed(text) = e else {
        panic!("{e:?}")
    };
    assert!(
        text.contains("kept moving") && text.contains("after 2 retries"),
        "{text}"
    );
}

#[test]
fn a_real_rejection_fails_the_replica() {
    let desired = refs(&[("refs/heads/main", 1)]);
    let twin = twin_with(desired.clone(), Refs::new());
    twin.reject(REP, "refs/heads/main");
    let e = run(&twin, &desired, limits(4000, 3)).unwrap_err();
    assert_eq!(
        e,
        MirrorError::Failed(
            "app in eu-west-2 rejected: refs/heads/main: pre-receive hook declined".into()
        )
    );
}

#[test]
fn an_empty_source_does_not_empty_the_replica() {
    let before = refs(&[("refs/heads/main", 1)]);
    let twin = twin_with(Refs::new(), before.clone());
    let e = run(&twin, &Refs::new(), limits(4000, 3)).unwrap_err();
    assert!(
        e.to_string().contains("refusing to delete every ref"),
        "{e}"
    );
    assert_eq!(twin.refs(REP, "app").unwrap(), before);
}

#[test]
fn a_stale_cache_never_rewinds_a_replica_a_newer_run_moved() {
    // A run fetched main@1 earlier; a newer run already put main@2 (the source's now) on
    // the replica. The old run must not move it back.
    let twin = twin_with(
        refs(&[("refs/heads/main", 2)]),
        refs(&[("refs/heads/main", 2)]),
    );
    twin.chain(&[oid(1), oid(2)]);
    let stale = refs(&[("refs/heads/main", 1)]);
    let s = run_with(&twin, &stale, limits(4000, 3), &Policy::default(), None).unwrap();
    assert_eq!(s.refetches, 1);
    assert_eq!(s.pushes, 0);
    assert!(twin.pushes().is_empty());
    assert_eq!(
        twin.refs(REP, "app").unwrap(),
        refs(&[("refs/heads/main", 2)])
    );
}

#[test]
fn a_stale_cache_never_deletes_a_branch_the_source_has() {
    // A newer run created feature on the replica; the old run's cache does not have it.
    let now = refs(&[("refs/heads/main", 1), ("refs/heads/feature", 3)]);
    let twin = twin_with(now.clone(), now.clone());
    let stale = refs(&[("refs/heads/main", 1)]);
    let s = run_with(&twin, &stale, limits(4000, 3), &Policy::default(), None).unwrap();
    assert_eq!((s.refetches, s.pushes), (1, 0));
    assert_eq!(twin.refs(REP, "app").unwrap(), now);
}

#[test]
fn a_source_push_between_the_listing_and_the_push_ends_at_the_newest_state() {
    let twin = twin_with(
        refs(&[("refs/heads/main", 1)]),
        refs(&[("refs/heads/main", 0)]),
    );
    twin.chain(&[oid(0), oid(1), oid(2)]);
    once_after_listing(&twin, |t| {
        t.set_ref(SRC, "app", "refs/heads/main", Some(oid(2)))
    });
    let desired = refs(&[("refs/heads/main", 1)]);
    let s = run_with(&twin, &desired, limits(4000, 3), &Policy::default(), None).unwrap();
    assert_eq!(s.refetches, 1);
    assert_eq!(
        twin.refs(REP, "app").unwrap(),
        refs(&[("refs/heads/main", 2)])
    );
    assert!(s.backups.is_empty(), "a fast-forward needs no backup");
}

#[test]
fn a_rewind_the_source_confirms_is_pushed_after_a_backup() {
    // The source was force-pushed back from 2 to 1; the cache knows it.
    let twin = twin_with(
        refs(&[("refs/heads/main", 1)]),
        refs(&[("refs/heads/main", 2)]),
    );
    twin.chain(&[oid(1), oid(2)]);
    let desired = refs(&[("refs/heads/main", 1)]);
    let s = run_with(&twin, &desired, limits(4000, 3), &Policy::default(), None).unwrap();
    let after = twin.refs(REP, "app").unwrap();
    assert_eq!(after["refs/heads/main"], oid(1));
    assert_eq!(s.backups.len(), 1);
    assert_eq!(after[&s.backups[0]], oid(2));
    assert!(
        s.backups[0].starts_with("refs/codehooks/backup/")
            && s.backups[0].ends_with("/refs/heads/main")
    );
    // The backup went in a push of its own, before the forced update.
    let pushes = twin.pushes();
    assert_eq!(pushes.len(), 2);
    assert_eq!(pushes[0].1[0].name, s.backups[0]);
    assert_eq!(pushes[1].1[0].name, "refs/heads/main");
}

#[test]
fn a_rewind_the_source_does_not_confirm_is_not_pushed() {
    // The cache says 1 (an ancestor of the replica's 2); the source has moved on to 3.
    let twin = twin_with(
        refs(&[("refs/heads/main", 3)]),
        refs(&[("refs/heads/main", 2)]),
    );
    twin.chain(&[oid(1), oid(2), oid(3)]);
    let stale = refs(&[("refs/heads/main", 1)]);
    let s = run_with(&twin, &stale, limits(4000, 3), &Policy::default(), None).unwrap();
    assert!(
        twin.pushes()
            .iter()
            .all(|(_, b)| b.iter().all(|c| c.new != Some(oid(1))))
    );
    assert_eq!(
        twin.mirrored(REP, "app").unwrap(),
        refs(&[("refs/heads/main", 3)])
    );
    assert!(s.backups.is_empty());
}

#[test]
fn a_delete_the_source_confirms_keeps_a_backup() {
    let twin = twin_with(
        refs(&[("refs/heads/main", 1)]),
        refs(&[("refs/heads/main", 1), ("refs/heads/gone", 4)]),
    );
    // The cache still has the branch: the source's advertisement says it is gone.
    let stale = refs(&[("refs/heads/main", 1), ("refs/heads/gone", 4)]);
    let s = run_with(&twin, &stale, limits(4000, 3), &Policy::default(), None).unwrap();
    assert_eq!(s.deleted, ["refs/heads/gone"]);
    let after = twin.refs(REP, "app").unwrap();
    assert_eq!(
        twin.mirrored(REP, "app").unwrap(),
        refs(&[("refs/heads/main", 1)])
    );
    assert_eq!(after[&s.backups[0]], oid(4));
}

#[test]
fn keep_mode_leaves_a_divergent_replica_ref_alone() {
    let twin = twin_with(
        refs(&[("refs/heads/main", 3)]),
        refs(&[("refs/heads/main", 2)]),
    );
    twin.commit(oid(1), &[]);
    twin.commit(oid(2), &[oid(1)]);
    twin.commit(oid(3), &[oid(1)]);
    let policy = Policy {
        divergence: Divergence::Keep,
        ..Policy::default()
    };
    let desired = refs(&[("refs/heads/main", 3)]);
    let s = run_with(&twin, &desired, limits(4000, 3), &policy, None).unwrap();
    assert_eq!(s.kept, ["refs/heads/main"]);
    assert_eq!(s.pushes, 0);
    assert_eq!(
        twin.refs(REP, "app").unwrap(),
        refs(&[("refs/heads/main", 2)])
    );
}

#[test]
fn a_long_history_goes_in_slices_then_the_real_ref() {
    let desired = refs(&[("refs/heads/main", 9)]);
    let twin = twin_with(desired.clone(), Refs::new());
    twin.script_slices(oid(9), vec![oid(3), oid(6), oid(9)]);
    let s = run(&twin, &desired, limits(4000, 3)).unwrap();
    assert_eq!(s.slices, 2);
    assert!(!s.partial);
    assert_eq!(
        twin.refs(REP, "app").unwrap(),
        desired,
        "slice ref left behind"
    );
    let pushed: Vec<Vec<RefChange>> = twin.pushes().into_iter().map(|(_, b)| b).collect();
    let slice = "refs/codehooks/slice/refs/heads/main";
    assert_eq!(pushed[0][0].name, slice);
    assert_eq!(pushed[0][0].new, Some(oid(3)));
    assert_eq!(pushed[1][0].new, Some(oid(6)));
    assert_eq!(
        pushed[2],
        [
            RefChange {
                name: "refs/heads/main".into(),
                old: None,
                new: Some(oid(9))
            },
            RefChange {
                name: slice.into(),
                old: Some(oid(6)),
                new: None
            }
        ]
    );
}

#[test]
fn out_of_time_a_sliced_copy_is_partial_and_the_next_run_goes_on() {
    let desired = refs(&[("refs/heads/main", 9)]);
    let twin = twin_with(desired.clone(), Refs::new());
    twin.script_slices(oid(9), vec![oid(3), oid(6), oid(9)]);
    let s = run_with(
        &twin,
        &desired,
        limits(4000, 3),
        &no_backups(),
        Some(Instant::now()),
    )
    .unwrap();
    assert!(s.partial);
    assert_eq!(s.pushes, 0);
    assert!(twin.mirrored(REP, "app").unwrap().is_empty());
    // The replica already has the first slice (an earlier run): this run goes on from it.
    twin.set_ref(
        REP,
        "app",
        "refs/codehooks/slice/refs/heads/main",
        Some(oid(3)),
    );
    let s = run(&twin, &desired, limits(4000, 3)).unwrap();
    assert_eq!((s.slices, s.partial), (1, false));
    assert_eq!(twin.refs(REP, "app").unwrap(), desired);
}
