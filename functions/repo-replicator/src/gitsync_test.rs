//! Tests of the cache's history questions (relation, slices) on a real bare repository.

use git2::{Oid, Repository, Signature};

use super::*;
use std::fs;
use std::path::PathBuf;

/// A fresh bare repository in a directory of its own.
pub fn scratch_repo(name: &str) -> (PathBuf, Repository) {
    let dir = std::env::temp_dir().join(format!(
        "codehooks-gitsync-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = fs::remove_dir_all(&dir);
    let repo = Repository::init_bare(&dir).unwrap_or_else(|e| panic!("init {dir:?}: {e}"));
    (dir, repo)
}

/// A commit of one file `name` = `text` on top of `parents`.
pub fn commit(repo: &Repository, parents: &[Oid], name: &str, text: &str) -> Oid {
    let blob = repo.blob(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let mut tb = repo.treebuilder(None).unwrap_or_else(|e| panic!("{e}"));
    tb.insert(name, blob, 0o100644)
        .unwrap_or_else(|e| panic!("{e}"));
    let tree = repo
        .find_tree(tb.write().unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"));
    let sig = Signature::new("T", "t@example.com", &git2::Time::new(1_700_000_000, 0))
        .unwrap_or_else(|e| panic!("{e}"));
    let parents: Vec<git2::Commit<'_>> = parents
        .iter()
        .map(|p| repo.find_commit(*p).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
    repo.commit(None, &sig, &sig, text, &tree, &refs)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A line of `n` commits, oldest first.
pub fn line(repo: &Repository, n: usize) -> Vec<Oid> {
    let mut out: Vec<Oid> = Vec::new();
    for i in 0..n {
        let parents: Vec<Oid> = out.last().copied().into_iter().collect();
        out.push(commit(repo, &parents, "f.txt", &format!("{i}\n")));
    }
    out
}

fn id(o: Oid) -> ObjectId {
    object_id(o)
}

#[test]
fn relation_reads_the_history_and_peels_tags() {
    let (dir, repo) = scratch_repo("relation");
    let c = line(&repo, 3);
    let side = commit(&repo, &[c[0]], "g.txt", "side\n");
    let target = repo
        .find_object(c[2], None)
        .unwrap_or_else(|e| panic!("{e}"));
    let sig = Signature::now("T", "t@example.com").unwrap_or_else(|e| panic!("{e}"));
    let tag = repo
        .tag_annotation_create("v1", &target, &sig, "v1")
        .unwrap_or_else(|e| panic!("{e}"));
    let r = |a: Oid, b: Oid| relation(&repo, &id(a), &id(b)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r(c[0], c[0]), Relation::Same);
    assert_eq!(r(c[0], c[2]), Relation::FastForward);
    assert_eq!(r(c[2], c[0]), Relation::Rewind);
    assert_eq!(r(c[2], side), Relation::Diverged);
    assert_eq!(r(tag, c[2]), Relation::Same);
    assert_eq!(r(c[1], tag), Relation::FastForward);
    let missing = ObjectId::new("1234567890123456789012345678901234567890");
    assert_eq!(
        relation(&repo, &missing, &id(c[0])).ok(),
        Some(Relation::Unknown)
    );
    assert!(relation(&repo, &ObjectId::new("not-hex"), &id(c[0])).is_err());
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn slices_go_oldest_first_and_end_at_the_tip() {
    let (dir, repo) = scratch_repo("slices");
    let c = line(&repo, 10);
    let s = |have: &[Oid], max: usize| {
        let have: Vec<ObjectId> = have.iter().map(|h| id(*h)).collect();
        slices(&repo, &id(c[9]), &have, max).unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(s(&[], 3), vec![id(c[2]), id(c[5]), id(c[8]), id(c[9])]);
    assert_eq!(s(&[c[3]], 3), vec![id(c[6]), id(c[9])]);
    assert_eq!(s(&[], 100), vec![id(c[9])]);
    assert_eq!(s(&[c[9]], 3), vec![id(c[9])]);
    // A `have` the cache lacks is ignored.
    let unknown = ObjectId::new("1234567890123456789012345678901234567890");
    let points = slices(&repo, &id(c[9]), &[unknown], 5).unwrap_or_default();
    assert_eq!(points, vec![id(c[4]), id(c[9])]);
    assert!(
        slices(
            &repo,
            &ObjectId::new("1234567890123456789012345678901234567890"),
            &[],
            5
        )
        .is_err()
    );
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn a_merge_counts_its_side_history_and_points_stay_on_the_first_parent_line() {
    let (dir, repo) = scratch_repo("merge");
    let main = line(&repo, 2);
    let mut side = vec![commit(&repo, &[main[0]], "s.txt", "s0\n")];
    for i in 1..6 {
        side.push(commit(&repo, &[side[i - 1]], "s.txt", &format!("s{i}\n")));
    }
    let merge = commit(&repo, &[main[1], side[5]], "m.txt", "merge\n");
    let after = commit(&repo, &[merge], "m.txt", "after\n");
    let points = slices(&repo, &id(after), &[], 3).unwrap_or_default();
    let first_parent = [main[0], main[1], merge, after].map(id);
    assert!(
        points.iter().all(|p| first_parent.contains(p)),
        "{points:?}"
    );
    assert_eq!(points.last(), Some(&id(after)));
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn reading_holds_the_guard_while_the_cache_is_read_and_waits_for_a_removal() {
    use crate::cache::{Exclusive, readers_path};
    use std::time::Duration;
    let (dir, repo) = scratch_repo("reading");
    let c = line(&repo, 2);
    let r = reading(&dir, Duration::ZERO, |cache| {
        assert!(
            matches!(Exclusive::try_take(&dir), Ok(None)),
            "the cache could be cleared while read"
        );
        relation(cache, &id(c[0]), &id(c[1]))
    });
    assert_eq!(r.ok(), Some(Relation::FastForward));
    let alone = Exclusive::try_take(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the guard outlived the read"));
    let waited = reading(&dir, Duration::from_millis(50), |_| Ok(()));
    assert!(waited.is_err(), "read while the cache was being cleared");
    drop(alone);
    let _ = fs::remove_dir_all(&dir);
    let _ = fs::remove_file(readers_path(&dir));
}

#[test]
fn only_a_fetch_that_lost_a_race_with_a_moved_tip_is_tried_again() {
    use git2::{Error, ErrorClass, ErrorCode};
    let eof = Error::new(
        ErrorCode::Eof,
        ErrorClass::Net,
        "could not read from remote repository",
    );
    let err_pkt = Error::new(
        ErrorCode::GenericError,
        ErrorClass::Net,
        "remote error: upload-pack: not our ref 1234567890123456789012345678901234567890",
    );
    let refs_eof = Error::new(
        ErrorCode::Eof,
        ErrorClass::Net,
        "could not read refs from remote repository",
    );
    let http = Error::new(
        ErrorCode::GenericError,
        ErrorClass::Http,
        "unexpected http status code: 500",
    );
    let odb = Error::new(
        ErrorCode::Eof,
        ErrorClass::Odb,
        "could not read from remote repository",
    );
    assert!(is_moved_tip(&eof));
    assert!(is_moved_tip(&err_pkt));
    for other in [&refs_eof, &http, &odb] {
        assert!(!is_moved_tip(other), "{other}");
    }
    let at = |hex: &str| -> Listing {
        [(
            "refs/heads/main".to_owned(),
            Oid::from_str(hex).unwrap_or_else(|e| panic!("{e}")),
        )]
        .into()
    };
    let (a, b) = (
        at("1111111111111111111111111111111111111111"),
        at("2222222222222222222222222222222222222222"),
    );
    assert!(retry_fetch(&eof, Some(&a), Some(&b)));
    assert!(
        retry_fetch(&eof, Some(&a), Some(&Listing::new())),
        "a deleted tip"
    );
    // The source did not move (or cannot be listed): the failure is something else.
    assert!(!retry_fetch(&eof, Some(&a), Some(&a)));
    assert!(!retry_fetch(&eof, None, Some(&b)));
    assert!(!retry_fetch(&eof, Some(&a), None));
    assert!(!retry_fetch(&http, Some(&a), Some(&b)));
}
