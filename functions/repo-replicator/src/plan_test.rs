//! Unit tests of `plan.rs`.

use super::*;
use crate::endpoints::GitEndpoints;
use std::collections::BTreeMap;

fn oid(n: u8) -> ObjectId {
    ObjectId::new(format!("{n:02x}").repeat(20))
}

fn target() -> GitTarget {
    GitEndpoints::default().target(&"eu-west-2".parse().unwrap(), &"app".parse().unwrap())
}

#[test]
fn plan_updates_differences_and_deletes_extras_last() {
    let source: Refs = [
        ("refs/heads/main".to_owned(), oid(1)),
        ("refs/heads/new".to_owned(), oid(2)),
        ("refs/tags/v1".to_owned(), oid(3)),
    ]
    .into();
    let replica: Refs = [
        ("refs/heads/main".to_owned(), oid(9)),
        ("refs/heads/gone".to_owned(), oid(4)),
        ("refs/tags/v1".to_owned(), oid(3)),
    ]
    .into();
    let policy = retention(0);
    let relations = rel(&[("refs/heads/main", Relation::FastForward)]);
    let p = plan_of(&source, &replica, &relations, &policy);
    assert_eq!(
        p.changes,
        vec![
            RefChange {
                name: "refs/heads/main".into(),
                old: Some(oid(9)),
                new: Some(oid(1))
            },
            RefChange {
                name: "refs/heads/new".into(),
                old: None,
                new: Some(oid(2))
            },
            RefChange {
                name: "refs/heads/gone".into(),
                old: Some(oid(4)),
                new: None
            },
        ]
    );
    assert!(plan_of(&source, &source, &relations, &policy).is_empty());
    assert!(plan_of(&Refs::new(), &Refs::new(), &relations, &policy).is_empty());
}

#[test]
fn only_branches_and_tags_are_mirrored() {
    assert!(is_mirrored("refs/heads/feature/x"));
    assert!(is_mirrored("refs/tags/v1"));
    assert!(!is_mirrored("refs/tags/v1^{}"));
    assert!(!is_mirrored("refs/pull/1/head"));
    assert!(!is_mirrored("HEAD"));
}

#[test]
fn replicas_take_their_mapped_names_in_every_region() {
    let mut env = codehooks::config::Env::from_pairs([
        ("AWS_REGION", "us-east-1"),
        ("CODEHOOKS_REPLICA_REGIONS", "eu-west-2,cn-north-1"),
        ("CODEHOOKS_REPOSITORIES", "app,infra"),
        ("CODEHOOKS_REPLICA_NAMES", r#"{"app":"app-dr"}"#),
    ]);
    let config = Config::read(&mut env).unwrap();
    env.finish().unwrap();
    let p = repository_plan(&config, &"app".parse().unwrap());
    assert_eq!(p.source.describe(), "app in us-east-1");
    let replicas: Vec<String> = p.replicas.iter().map(GitTarget::url).collect();
    assert_eq!(
        replicas,
        [
            "https://git-codecommit.eu-west-2.amazonaws.com/v1/repos/app-dr",
            "https://git-codecommit.cn-north-1.amazonaws.com.cn/v1/repos/app-dr"
        ]
    );
    let p = repository_plan(&config, &"infra".parse().unwrap());
    assert_eq!(p.replicas[0].repository.as_str(), "infra");
}

// ---------------------------------------------------------------------------------------------
// The safe plan.
// ---------------------------------------------------------------------------------------------

use crate::policy::{Divergence, Policy, RefPattern};

/// 2026-12-01T05:00:00Z.
const NOW: u64 = 1_796_101_200;
const STAMP: &str = "20261201T050000Z";

fn r(pairs: &[(&str, u8)]) -> Refs {
    pairs
        .iter()
        .map(|(n, o)| ((*n).to_owned(), oid(*o)))
        .collect()
}

fn rel(pairs: &[(&str, Relation)]) -> BTreeMap<String, Relation> {
    pairs.iter().map(|(n, r)| ((*n).to_owned(), *r)).collect()
}

fn plan_of(
    source: &Refs,
    replica: &Refs,
    relations: &BTreeMap<String, Relation>,
    policy: &Policy,
) -> Plan {
    safe_plan(
        PlanInput {
            source,
            replica,
            relations,
            policy,
            now_secs: NOW,
        },
        &target(),
    )
    .unwrap()
}

fn change(name: &str, old: Option<u8>, new: Option<u8>) -> RefChange {
    RefChange {
        name: name.into(),
        old: old.map(oid),
        new: new.map(oid),
    }
}

fn backup(name: &str) -> String {
    format!("refs/codehooks/backup/{STAMP}/{name}")
}

/// An older backup of `refs/heads/main`, made at `stamp`.
fn main_backup(stamp: &str) -> String {
    format!("refs/codehooks/backup/{stamp}/refs/heads/main")
}

/// A policy keeping `n` backups per ref.
fn retention(n: usize) -> Policy {
    Policy {
        backup_retention: n,
        ..Policy::default()
    }
}

/// The plan when the source's only ref is `refs/heads/main` at 2 (no relation known).
fn main_moves_to_2(replica: &Refs, policy: &Policy) -> Plan {
    plan_of(
        &r(&[("refs/heads/main", 2)]),
        replica,
        &BTreeMap::new(),
        policy,
    )
}

#[test]
fn the_stamp_is_utc_compact() {
    assert_eq!(crate::policy::stamp(NOW), STAMP);
    assert_eq!(crate::policy::stamp(0), "19700101T000000Z");
    assert_eq!(crate::policy::stamp(951_782_400), "20000229T000000Z");
}

#[test]
fn fast_forwards_and_creations_need_no_backup() {
    let source = r(&[("refs/heads/main", 2), ("refs/tags/v1", 3)]);
    let replica = r(&[("refs/heads/main", 1)]);
    let p = plan_of(
        &source,
        &replica,
        &rel(&[("refs/heads/main", Relation::FastForward)]),
        &Policy::default(),
    );
    assert!(p.backups.is_empty());
    assert_eq!(
        p.changes,
        [
            change("refs/heads/main", Some(1), Some(2)),
            change("refs/tags/v1", None, Some(3))
        ]
    );
}

#[test]
fn a_forced_update_or_a_delete_keeps_the_old_value_first() {
    let source = r(&[("refs/heads/main", 2), ("refs/heads/dev", 5)]);
    let replica = r(&[
        ("refs/heads/main", 1),
        ("refs/heads/dev", 4),
        ("refs/heads/gone", 6),
    ]);
    let relations = rel(&[
        ("refs/heads/main", Relation::Rewind),
        ("refs/heads/dev", Relation::Unknown),
    ]);
    let p = plan_of(&source, &replica, &relations, &Policy::default());
    assert_eq!(
        p.backups,
        [
            change(&backup("refs/heads/dev"), None, Some(4)),
            change(&backup("refs/heads/main"), None, Some(1)),
            change(&backup("refs/heads/gone"), None, Some(6)),
        ]
    );
    assert_eq!(
        p.changes,
        [
            change("refs/heads/dev", Some(4), Some(5)),
            change("refs/heads/main", Some(1), Some(2)),
            change("refs/heads/gone", Some(6), None),
        ]
    );
    // A missing relation counts as unknown: a backup too.
    let p = plan_of(&source, &replica, &BTreeMap::new(), &Policy::default());
    assert_eq!(p.backups.len(), 3);
}

#[test]
fn retention_zero_makes_no_backups_and_keeps_old_ones() {
    let policy = retention(0);
    let old_backup = "refs/codehooks/backup/20200101T000000Z/refs/heads/main";
    let replica = r(&[("refs/heads/main", 1), (old_backup, 7)]);
    let p = main_moves_to_2(&replica, &policy);
    assert!(p.backups.is_empty());
    assert_eq!(p.changes, [change("refs/heads/main", Some(1), Some(2))]);
}

#[test]
fn backups_past_retention_are_deleted_oldest_first_never_the_new_one() {
    let policy = retention(2);
    let replica = r(&[
        ("refs/heads/main", 1),
        (&main_backup("20250101T000000Z"), 10),
        (&main_backup("20240101T000000Z"), 11),
        (&main_backup("20260101T000000Z"), 12),
        (
            "refs/codehooks/backup/20200101T000000Z/refs/heads/other",
            13,
        ),
    ]);
    let p = main_moves_to_2(&replica, &policy);
    assert_eq!(
        p.backups,
        [change(&backup("refs/heads/main"), None, Some(1))]
    );
    assert_eq!(
        p.changes,
        [
            change("refs/heads/main", Some(1), Some(2)),
            change(&main_backup("20240101T000000Z"), Some(11), None),
            change(&main_backup("20250101T000000Z"), Some(10), None),
        ]
    );
}

#[test]
fn a_value_already_backed_up_is_not_backed_up_again_and_a_name_is_never_overwritten() {
    let policy = Policy::default();
    let older = "refs/codehooks/backup/20200101T000000Z/refs/heads/main";
    let replica = r(&[("refs/heads/main", 1), (older, 1)]);
    let p = main_moves_to_2(&replica, &policy);
    assert!(p.backups.is_empty());
    // The same name taken by another value: a suffixed name.
    let replica = r(&[("refs/heads/main", 1), (&backup("refs/heads/main"), 9)]);
    let p = main_moves_to_2(&replica, &policy);
    assert_eq!(
        p.backups,
        [change(
            &format!("refs/codehooks/backup/{STAMP}.1/refs/heads/main"),
            None,
            Some(1)
        )]
    );
}

#[test]
fn retention_never_deletes_the_backup_of_a_value_being_overwritten() {
    let policy = retention(1);
    // The oldest backup keeps the value main is about to lose.
    let replica = r(&[
        ("refs/heads/main", 1),
        (&main_backup("20200101T000000Z"), 1),
        (&main_backup("20210101T000000Z"), 5),
    ]);
    let p = main_moves_to_2(&replica, &policy);
    assert!(p.backups.is_empty());
    assert_eq!(
        p.changes,
        [
            change("refs/heads/main", Some(1), Some(2)),
            change(&main_backup("20210101T000000Z"), Some(5), None),
        ]
    );
}

#[test]
fn keep_mode_leaves_divergent_refs_and_reports_them() {
    let policy = Policy {
        divergence: Divergence::Keep,
        ..Policy::default()
    };
    let source = r(&[
        ("refs/heads/main", 2),
        ("refs/heads/dev", 5),
        ("refs/heads/ff", 8),
    ]);
    let replica = r(&[
        ("refs/heads/main", 1),
        ("refs/heads/dev", 4),
        ("refs/heads/ff", 7),
    ]);
    let relations = rel(&[
        ("refs/heads/main", Relation::Diverged),
        ("refs/heads/dev", Relation::Rewind),
        ("refs/heads/ff", Relation::FastForward),
    ]);
    let p = plan_of(&source, &replica, &relations, &policy);
    assert_eq!(p.kept, ["refs/heads/dev", "refs/heads/main"]);
    assert!(p.backups.is_empty());
    assert_eq!(p.changes, [change("refs/heads/ff", Some(7), Some(8))]);
}

#[test]
fn patterns_choose_the_refs_and_never_the_own_ones() {
    let policy = Policy {
        include: vec![
            RefPattern::new("refs/heads/release/*").unwrap(),
            RefPattern::new("refs/tags/**").unwrap(),
        ],
        exclude: vec![RefPattern::new("refs/tags/tmp/**").unwrap()],
        ..Policy::default()
    };
    let source = r(&[
        ("refs/heads/main", 1),
        ("refs/heads/release/1.0", 2),
        ("refs/heads/release/1.0/hotfix", 3),
        ("refs/tags/v1", 4),
        ("refs/tags/tmp/x", 5),
    ]);
    let replica = r(&[
        ("refs/heads/other", 6),
        ("refs/codehooks/backup/20200101T000000Z/refs/heads/x", 7),
        ("refs/codehooks/mine", 8),
        ("refs/tags/tmp/y", 9),
    ]);
    let p = plan_of(&source, &replica, &BTreeMap::new(), &policy);
    assert_eq!(
        p.changes,
        [
            change("refs/heads/release/1.0", None, Some(2)),
            change("refs/tags/v1", None, Some(4)),
        ]
    );
    assert!(p.backups.is_empty());
}

#[test]
fn finished_slice_refs_are_deleted_before_the_ref_deletes() {
    let replica = r(&[
        ("refs/heads/gone", 1),
        ("refs/codehooks/slice/refs/heads/main", 2),
    ]);
    let p = plan_of(
        &r(&[("refs/heads/main", 3)]),
        &replica,
        &BTreeMap::new(),
        &Policy::default(),
    );
    assert_eq!(
        p.changes,
        [
            change("refs/heads/main", None, Some(3)),
            change("refs/codehooks/slice/refs/heads/main", Some(2), None),
            change("refs/heads/gone", Some(1), None),
        ]
    );
}

#[test]
fn an_empty_source_is_refused_by_the_safe_plan_too() {
    let replica = r(&[("refs/heads/main", 1)]);
    let e = safe_plan(
        PlanInput {
            source: &Refs::new(),
            replica: &replica,
            relations: &BTreeMap::new(),
            policy: &Policy::default(),
            now_secs: NOW,
        },
        &target(),
    );
    assert_eq!(e, Err(PlanError::EmptySource("app in eu-west-2".into())));
}

#[test]
fn globs_match_within_and_across_segments() {
    let p = |s: &str| RefPattern::new(s).unwrap();
    assert!(p("refs/heads/*").matches("refs/heads/main"));
    assert!(!p("refs/heads/*").matches("refs/heads/feature/x"));
    assert!(p("refs/heads/**").matches("refs/heads/feature/x"));
    assert!(p("refs/heads/rel-*").matches("refs/heads/rel-1"));
    assert!(p("refs/**/v*").matches("refs/tags/a/v1"));
    assert!(p("refs/heads/**/fix").matches("refs/heads/fix"));
    assert!(p("refs/heads/**/fix").matches("refs/heads/a/b/fix"));
    assert!(!p("refs/heads/**/fix").matches("refs/heads/prefix"));
    assert!(!p("refs/tags/v1").matches("refs/tags/v10"));
    assert!(RefPattern::new("heads/*").is_err());
    assert!(RefPattern::new("refs/codehooks/**").is_err());
    assert!(RefPattern::new("refs/heads/a b").is_err());
}
