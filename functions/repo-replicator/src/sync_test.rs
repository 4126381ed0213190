//! Unit tests of `sync.rs`, against the in-memory twin.

use super::*;
use crate::endpoints::GitEndpoints;
use crate::plan::ObjectId;
use crate::twins::CodeCommitTwin;

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

fn run(twin: &CodeCommitTwin, desired: &Refs, l: PushLimits) -> Result<ReplicaStats, MirrorError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(sync_replica(
        twin,
        &target("us-east-1"),
        &target("eu-west-2"),
        desired,
        l,
    ))
}

fn source8() -> Refs {
    let mut r = refs(&[("refs/heads/main", 1)]);
    for i in 0..7u8 {
        r.insert(format!("refs/tags/t{i}"), oid(1));
    }
    r
}

#[test]
fn pushes_the_plan_in_batches_on_as_few_connections_as_possible() {
    let twin = CodeCommitTwin::new();
    twin.put("eu-west-2", "app", None, refs(&[("refs/heads/old", 5)]));
    let desired = source8();
    let s = run(&twin, &desired, limits(3, 3)).unwrap();
    assert_eq!(twin.refs("eu-west-2", "app").unwrap(), desired);
    // 9 changes (8 created, 1 deleted) in batches of 3: the first rides on the listing.
    assert_eq!(s.pushes, 3);
    assert_eq!(s.created_or_updated.len(), 8);
    assert_eq!(s.deleted, ["refs/heads/old"]);
    assert_eq!(
        twin.calls(),
        [
            "open eu-west-2/app",
            "push eu-west-2/app",
            "push eu-west-2/app"
        ]
    );
    // In sync: one listing, nothing pushed.
    let s = run(&twin, &desired, limits(3, 3)).unwrap();
    assert_eq!((s.pushes, s.created_or_updated.len()), (0, 0));
}

#[test]
fn a_replica_that_moved_after_the_listing_is_planned_again() {
    let twin = CodeCommitTwin::new();
    twin.put("eu-west-2", "app", None, refs(&[("refs/heads/main", 0)]));
    twin.move_before_push("eu-west-2", "refs/heads/main", oid(9));
    let desired = refs(&[("refs/heads/main", 1)]);
    let s = run(&twin, &desired, limits(4000, 3)).unwrap();
    assert_eq!(s.cas_retries, 1);
    assert_eq!(twin.refs("eu-west-2", "app").unwrap(), desired);
    assert_eq!(
        twin.calls(),
        [
            "open eu-west-2/app",
            "list eu-west-2/app",
            "open eu-west-2/app"
        ]
    );
}

#[test]
fn a_replica_that_keeps_moving_is_given_up_after_the_retries() {
    let twin = CodeCommitTwin::new();
    twin.put("eu-west-2", "app", None, refs(&[("refs/heads/main", 0)]));
    for i in 0..5 {
        twin.move_before_push("eu-west-2", "refs/heads/main", oid(20 + i));
    }
    let e = run(&twin, &refs(&[("refs/heads/main", 1)]), limits(4000, 2)).unwrap_err();
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
    let twin = CodeCommitTwin::new();
    twin.put("eu-west-2", "app", None, Refs::new());
    twin.reject("eu-west-2", "refs/heads/main");
    let e = run(&twin, &refs(&[("refs/heads/main", 1)]), limits(4000, 3)).unwrap_err();
    assert_eq!(
        e,
        MirrorError::Failed(
            "app in eu-west-2 rejected: refs/heads/main: pre-receive hook declined".into()
        )
    );
}

#[test]
fn an_empty_source_does_not_empty_the_replica() {
    let twin = CodeCommitTwin::new();
    let before = refs(&[("refs/heads/main", 1)]);
    twin.put("eu-west-2", "app", None, before.clone());
    let e = run(&twin, &Refs::new(), limits(4000, 3)).unwrap_err();
    assert!(
        e.to_string().contains("refusing to delete every ref"),
        "{e}"
    );
    assert_eq!(twin.refs("eu-west-2", "app").unwrap(), before);
}
