//! The objects of an update, against `git rev-list --objects NEW --not HELD` on real
//! repositories: never one missing; the commits exactly those (clocks in order).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use git2::{Oid, Repository, Signature, Time};

use super::*;
use crate::gitsync::tests::scratch_repo;

/// A commit whose tree is `files` (paths with `/`), at `time`, on top of `parents`.
fn commit_at(repo: &Repository, parents: &[Oid], files: &[(&str, String)], time: i64) -> Oid {
    let mut index = git2::Index::new().unwrap_or_else(|e| panic!("{e}"));
    for (path, text) in files {
        let blob = repo.blob(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let entry = git2::IndexEntry {
            ctime: git2::IndexTime::new(0, 0),
            mtime: git2::IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            file_size: 0,
            id: blob,
            flags: 0,
            flags_extended: 0,
            path: path.as_bytes().to_vec(),
        };
        index.add(&entry).unwrap_or_else(|e| panic!("{e}"));
    }
    let tree = index
        .write_tree_to(repo)
        .and_then(|t| repo.find_tree(t))
        .unwrap_or_else(|e| panic!("{e}"));
    let sig =
        Signature::new("T", "t@example.com", &Time::new(time, 0)).unwrap_or_else(|e| panic!("{e}"));
    let parents: Vec<git2::Commit<'_>> = parents
        .iter()
        .map(|p| repo.find_commit(*p).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
    repo.commit(None, &sig, &sig, "c", &tree, &refs)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Twelve files in nested directories; commit `i` changes file `i % 12`.
fn files(i: usize, salt: &str) -> Vec<(&'static str, String)> {
    const PATHS: [&str; 12] = [
        "a.txt",
        "b.txt",
        "src/c.rs",
        "src/d.rs",
        "src/deep/e.rs",
        "src/deep/f.rs",
        "docs/g.md",
        "docs/h.md",
        "docs/x/i.md",
        "j",
        "k/l",
        "k/m/n",
    ];
    PATHS
        .iter()
        .enumerate()
        .map(|(n, p)| {
            let v = if n == i % 12 {
                format!("{i}{salt}")
            } else {
                format!("{}", i - i % 12)
            };
            (*p, format!("{p} {v}\n"))
        })
        .collect()
}

fn history(repo: &Repository, from: Option<Oid>, start: usize, n: usize, salt: &str) -> Vec<Oid> {
    let mut out: Vec<Oid> = from.into_iter().collect();
    for i in start..start + n {
        let parents: Vec<Oid> = out.last().copied().into_iter().collect();
        out.push(commit_at(
            repo,
            &parents,
            &files(i, salt),
            1_700_000_000 + i as i64 * 60,
        ));
    }
    out
}

fn rev_list(dir: &Path, wants: &[Oid], held: &[Oid]) -> BTreeSet<Oid> {
    let mut cmd = Command::new("git");
    cmd.arg("--git-dir")
        .arg(dir)
        .args(["rev-list", "--objects"]);
    cmd.args(wants.iter().map(Oid::to_string)).arg("--not");
    cmd.args(held.iter().map(Oid::to_string));
    let out = cmd.output().unwrap_or_else(|e| panic!("git rev-list: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(' ').next())
        .map(|h| Oid::from_str(h).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

fn commits_of(repo: &Repository, ids: &BTreeSet<Oid>) -> BTreeSet<Oid> {
    ids.iter()
        .copied()
        .filter(|i| repo.find_commit(*i).is_ok())
        .collect()
}

fn check(repo: &Repository, dir: &Path, wants: &[Oid], held: &[Oid]) -> BTreeSet<Oid> {
    let ours: BTreeSet<Oid> = objects(repo, wants, held)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("walk gave up"))
        .into_iter()
        .collect();
    let exact = rev_list(dir, wants, held);
    let missing: Vec<_> = exact.difference(&ours).collect();
    assert!(missing.is_empty(), "missing {missing:?}");
    assert_eq!(commits_of(repo, &ours), commits_of(repo, &exact));
    ours
}

#[test]
fn a_fast_forward_sends_the_new_commits_and_only_the_changed_entries() {
    let (dir, repo) = scratch_repo("novel-ff");
    let main = history(&repo, None, 0, 40, "");
    let more = history(&repo, main.last().copied(), 40, 3, "");
    let (wants, held) = (&more[more.len() - 1..], &main[main.len() - 1..]);
    let ours = check(&repo, &dir, wants, held);
    // Each commit changes two files (one edited, the one edited before restored: a blob the
    // replica has, which a comparison with the parent's tree cannot know), so at most one
    // object a commit more than the exact set.
    let exact = rev_list(&dir, wants, held);
    assert!(
        ours.len() <= exact.len() + 3,
        "{} objects, exactly {}",
        ours.len(),
        exact.len()
    );
}

#[test]
fn branches_merges_and_several_held_tips_miss_nothing() {
    let (dir, repo) = scratch_repo("novel-merge");
    let base = history(&repo, None, 0, 30, "");
    let left = history(&repo, base.last().copied(), 30, 15, "L");
    let right = history(&repo, Some(base[20]), 50, 10, "R");
    let (l, r) = (
        *left.last().unwrap_or(&base[0]),
        *right.last().unwrap_or(&base[0]),
    );
    let merge = commit_at(&repo, &[l, r], &files(99, "M"), 1_700_100_000);
    let after = history(&repo, Some(merge), 100, 4, "");
    let tip = *after.last().unwrap_or(&merge);
    check(&repo, &dir, &[tip], &[base[29]]);
    check(&repo, &dir, &[tip], &[left[5], right[3]]);
    check(&repo, &dir, &[tip, right[9]], &[base[10]]);
    check(&repo, &dir, &[tip], &[merge]);
    // A held tip newer than the wanted one (a rewind's pack is empty of commits).
    let ours = check(&repo, &dir, &[base[25]], &[tip]);
    assert!(commits_of(&repo, &ours).is_empty());
}

#[test]
fn skewed_clocks_may_send_more_but_never_less() {
    let (dir, repo) = scratch_repo("novel-skew");
    let base = history(&repo, None, 0, 10, "");
    // Commits whose times go backwards, then forwards again.
    let mut tip = *base.last().unwrap_or(&base[0]);
    for (i, t) in [5_i64, 1, 900, 2, 3].iter().enumerate() {
        tip = commit_at(&repo, &[tip], &files(200 + i, "S"), 1_600_000_000 + t);
    }
    let ours: BTreeSet<Oid> = objects(&repo, &[tip], &[base[9]])
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("walk gave up"))
        .into_iter()
        .collect();
    let exact = rev_list(&dir, &[tip], &[base[9]]);
    assert!(exact.is_subset(&ours));
}
