//! The objects an update adds to a replica that already holds some commits, found without
//! walking the whole history: libgit2's revision walk marks every ancestor of a hidden commit
//! before it starts (a cost that grows with the repository, about half a second per push on a
//! 100,000-commit history), where an update of a few commits needs only the commits between
//! the new tips and the replica's.
//!
//! Commits: the wanted tips and the held ones are painted down together, newest first (by
//! committer time), and the walk stops when every commit left to look at is held; a clock skew
//! can only make a held commit look new, so the result may hold a commit too many, never one
//! too few. Trees and blobs: each new commit's tree compared with its parents' trees, entry by
//! entry, descending only where they differ (an object at the same place in a parent's tree is
//! on the replica, or sent with that parent).

use std::collections::{BinaryHeap, HashSet};

use git2::{ObjectType, Oid, Repository, Tree};

/// The walk gives up past this many commits (the caller then uses libgit2's own walk).
pub const MAX_COMMITS: usize = 20_000;

/// The commits, trees and blobs reachable from `wants` (commit ids) that a holder of `held`
/// (commit ids, with all their history) lacks; `None` when the walk would pass [`MAX_COMMITS`].
pub fn objects(
    repo: &Repository,
    wants: &[Oid],
    held: &[Oid],
) -> Result<Option<Vec<Oid>>, git2::Error> {
    let Some(commits) = new_commits(repo, wants, held, MAX_COMMITS)? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for c in commits {
        let commit = repo.find_commit(c)?;
        out.push(c);
        let tree = commit.tree()?;
        let parents: Vec<Tree<'_>> = commit
            .parents()
            .map(|p| p.tree())
            .collect::<Result<_, _>>()?;
        if seen.insert(tree.id()) && !parents.iter().any(|p| p.id() == tree.id()) {
            out.push(tree.id());
            tree_difference(repo, &tree, &parents, &mut seen, &mut out)?;
        }
    }
    Ok(Some(out))
}

/// Entry (time, commit, held) in the paint queue: newest first.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Queued(i64, Oid, bool);

/// The commits reachable from `wants` and not from `held` (a superset when clocks are skewed),
/// children before parents; `None` past `limit`.
pub fn new_commits(
    repo: &Repository,
    wants: &[Oid],
    held: &[Oid],
    limit: usize,
) -> Result<Option<Vec<Oid>>, git2::Error> {
    let mut queue = BinaryHeap::new();
    let mut painted_held: HashSet<Oid> = HashSet::new();
    let mut painted_new: HashSet<Oid> = HashSet::new();
    let mut pending_new = 0usize;
    for (ids, is_held) in [(held, true), (wants, false)] {
        for id in ids {
            let c = repo.find_commit(*id)?;
            queue.push(Queued(c.time().seconds(), *id, is_held));
            if !is_held {
                pending_new += 1;
            }
        }
    }
    let mut order = Vec::new();
    let mut walked = 0usize;
    while pending_new > 0 {
        let Some(Queued(_, id, is_held)) = queue.pop() else {
            break;
        };
        if !is_held {
            pending_new -= 1;
        }
        walked += 1;
        if walked > limit.saturating_mul(2) {
            return Ok(None);
        }
        if is_held {
            if !painted_held.insert(id) {
                continue;
            }
        } else if painted_held.contains(&id) || !painted_new.insert(id) {
            continue;
        } else {
            order.push(id);
            if order.len() > limit {
                return Ok(None);
            }
        }
        for parent in repo.find_commit(id)?.parents() {
            queue.push(Queued(parent.time().seconds(), parent.id(), is_held));
            if !is_held {
                pending_new += 1;
            }
        }
    }
    // A commit first seen as new and later reached from a held one is held after all.
    order.retain(|c| !painted_held.contains(c));
    Ok(Some(order))
}

/// Adds to `out` the entries of `tree` (recursively) that no tree of `parents` has at the same
/// name with the same id.
fn tree_difference(
    repo: &Repository,
    tree: &Tree<'_>,
    parents: &[Tree<'_>],
    seen: &mut HashSet<Oid>,
    out: &mut Vec<Oid>,
) -> Result<(), git2::Error> {
    for entry in tree.iter() {
        let id = entry.id();
        let name = entry.name_bytes();
        let same: Vec<_> = parents
            .iter()
            .filter_map(|p| p.get_name_bytes(name))
            .collect();
        if same.iter().any(|e| e.id() == id) || !seen.insert(id) {
            continue;
        }
        match entry.kind() {
            Some(ObjectType::Tree) => {
                out.push(id);
                let sub = repo.find_tree(id)?;
                let parent_subs: Vec<Tree<'_>> = same
                    .iter()
                    .filter(|e| e.kind() == Some(ObjectType::Tree))
                    .map(|e| repo.find_tree(e.id()))
                    .collect::<Result<_, _>>()?;
                tree_difference(repo, &sub, &parent_subs, seen, out)?;
            }
            Some(ObjectType::Blob) => out.push(id),
            // Submodule commits are not objects of this repository.
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "novel_test.rs"]
mod tests;
