//! The plan: where a repository goes (its replica regions and, through
//! `CODEHOOKS_REPLICA_NAMES`, its name there) and which ref changes make a replica equal to
//! the source: [`safe_plan`] moves a replica ref only to a value the source
//! confirmed after the replica was listed, keeps a backup before a forced update or a delete,
//! and applies the replica's [`Policy`]. Pure functions over plain values.

use std::collections::BTreeMap;

use codehooks::names::RepositoryName;

use crate::config::Config;
use crate::endpoints::GitTarget;
use crate::policy::{self, Divergence, Policy};
use crate::ports::Relation;

pub use crate::refs::{OWN_PREFIX, ObjectId, RefChange, Refs, is_mirrored};

/// Why no plan is made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// An empty source would delete every ref of the replica: more likely a broken cache or
    /// listing than a real state, so the function refuses.
    #[error("the source has no branches or tags; refusing to delete every ref of {0}")]
    EmptySource(String),
}

/// What the safe plan is made from.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// The source's branches and tags, confirmed by a ref advertisement made after `replica`
    /// was listed (the cache's refs only when they equal it, or a fetch made after it).
    pub source: &'a Refs,
    /// The replica's refs as listed, the function's own refs (`refs/codehooks/`) included.
    pub replica: &'a Refs,
    /// For a ref both have with different values: how the source's value relates to the
    /// replica's (a missing entry counts as [`Relation::Unknown`]).
    pub relations: &'a BTreeMap<String, Relation>,
    pub policy: &'a Policy,
    /// Seconds since the epoch (names the backups).
    pub now_secs: u64,
}

/// The safe plan of one attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Backup refs to create (each keeps a replica value that `changes` overwrites or
    /// deletes): pushed, and confirmed, before `changes`.
    pub backups: Vec<RefChange>,
    /// Creations and updates, then deletions (backups past retention, finished slices, refs
    /// the source no longer has).
    pub changes: Vec<RefChange>,
    /// Refs left alone because they are not an ancestor of the source's value and the
    /// policy keeps divergent refs.
    pub kept: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.backups.is_empty() && self.changes.is_empty()
    }
}

/// The safe plan: the policy's refs of the replica moved to the confirmed source values; a
/// move that is not a fast-forward (and every delete) first keeps the old value under a backup
/// ref (when backups are on) or, in keep mode, is not made; backups past retention and
/// finished slice refs are deleted; nothing else under `refs/codehooks/` is touched.
pub fn safe_plan(input: PlanInput<'_>, target: &GitTarget) -> Result<Plan, PlanError> {
    let PlanInput {
        source,
        replica,
        relations,
        policy,
        now_secs,
    } = input;
    let mirrored_source = source.keys().any(|n| is_mirrored(n));
    if !mirrored_source && replica.keys().any(|n| policy.selects(n)) {
        return Err(PlanError::EmptySource(target.describe()));
    }
    let stamp = policy::stamp(now_secs);
    let mut plan = Plan::default();
    let mut kept_old: Vec<(String, ObjectId)> = Vec::new();
    for (name, new) in source.iter().filter(|(n, _)| policy.selects(n)) {
        let old = replica.get(name);
        let forced = match old {
            None => false,
            Some(o) if o == new => continue,
            Some(_) => match relations.get(name).copied().unwrap_or(Relation::Unknown) {
                Relation::Same | Relation::FastForward => false,
                Relation::Rewind | Relation::Diverged | Relation::Unknown => true,
            },
        };
        if forced && policy.divergence == Divergence::Keep {
            plan.kept.push(name.clone());
            continue;
        }
        if forced && let Some(o) = old {
            kept_old.push((name.clone(), o.clone()));
        }
        plan.changes.push(RefChange {
            name: name.clone(),
            old: old.cloned(),
            new: Some(new.clone()),
        });
    }
    let mut deletes: Vec<RefChange> = replica
        .iter()
        .filter(|(n, _)| policy.selects(n) && !source.contains_key(*n))
        .map(|(n, o)| {
            kept_old.push((n.clone(), o.clone()));
            RefChange {
                name: n.clone(),
                old: Some(o.clone()),
                new: None,
            }
        })
        .collect();
    let mut own_deletes = Vec::new();
    if policy.backup_retention > 0 {
        plan.backups = backups(replica, &stamp, &kept_old);
        own_deletes.extend(past_retention(
            replica,
            &plan.backups,
            &kept_old,
            policy.backup_retention,
        ));
    }
    // Slice refs: their ref is set by this plan (the slices pushed then, in `sync`, delete
    // the slice ref in the same push), or already there, or gone: either way finished.
    own_deletes.extend(
        replica
            .iter()
            .filter(|(n, _)| policy::parse_slice(n).is_some())
            .map(|(n, o)| RefChange {
                name: n.clone(),
                old: Some(o.clone()),
                new: None,
            }),
    );
    plan.changes.append(&mut own_deletes);
    plan.changes.append(&mut deletes);
    Ok(plan)
}

/// A backup ref per value about to be overwritten or deleted (none when the replica already
/// has a backup of that value for that ref).
fn backups(replica: &Refs, stamp: &str, old: &[(String, ObjectId)]) -> Vec<RefChange> {
    let mut out = Vec::new();
    for (name, value) in old {
        // Already kept (an earlier attempt, or the same value backed up before).
        if replica
            .iter()
            .any(|(n, v)| v == value && policy::parse_backup(n).is_some_and(|(_, r)| r == name))
        {
            continue;
        }
        let mut candidate = policy::backup_ref(stamp, name);
        let mut n = 0;
        loop {
            match replica.get(&candidate) {
                Some(v) if v == value => break,
                Some(_) => {
                    n += 1;
                    candidate = policy::backup_ref(&format!("{stamp}.{n}"), name);
                }
                None => {
                    out.push(RefChange {
                        name: candidate,
                        old: None,
                        new: Some(value.clone()),
                    });
                    break;
                }
            }
        }
    }
    out
}

/// The replica's backups beyond the newest `keep` per ref, oldest first (counting the new
/// ones; neither a new one nor one that keeps a value this plan overwrites is deleted).
fn past_retention(
    replica: &Refs,
    new: &[RefChange],
    protected: &[(String, ObjectId)],
    keep: usize,
) -> Vec<RefChange> {
    // Per ref: (stamp, backup ref, value when the replica has it; `None` for a new one).
    type Backup<'a> = (&'a str, &'a str, Option<&'a ObjectId>);
    let mut per_ref: BTreeMap<&str, Vec<Backup<'_>>> = BTreeMap::new();
    for (name, value) in replica {
        if let Some((stamp, git_ref)) = policy::parse_backup(name) {
            per_ref
                .entry(git_ref)
                .or_default()
                .push((stamp, name, Some(value)));
        }
    }
    for c in new {
        if let Some((stamp, git_ref)) = policy::parse_backup(&c.name) {
            per_ref
                .entry(git_ref)
                .or_default()
                .push((stamp, &c.name, None));
        }
    }
    let mut out = Vec::new();
    for (git_ref, mut list) in per_ref {
        if list.len() <= keep {
            continue;
        }
        // Oldest first (stamps sort as times; a `.n` suffix after its base).
        list.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let excess = list.len() - keep;
        out.extend(
            list.into_iter()
                .filter_map(|(_, name, value)| value.map(|v| (name, v)))
                .filter(|(_, v)| !protected.iter().any(|(r, p)| r == git_ref && p == *v))
                .take(excess)
                .map(|(name, v)| RefChange {
                    name: name.to_owned(),
                    old: Some(v.clone()),
                    new: None,
                }),
        );
    }
    out
}

/// One repository's replication: where it is read and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryPlan {
    pub repository: RepositoryName,
    pub source: GitTarget,
    /// One per replica region, in the configured order, under the replica's name.
    pub replicas: Vec<GitTarget>,
}

/// Where `repository` is read from and written to.
pub fn repository_plan(config: &Config, repository: &RepositoryName) -> RepositoryPlan {
    let replica_name = config.replica_name(repository);
    RepositoryPlan {
        repository: repository.clone(),
        source: config.git.target(&config.source_region, repository),
        replicas: config
            .replica_regions
            .iter()
            .map(|region| config.git.target(region, replica_name))
            .collect(),
    }
}

#[cfg(test)]
#[path = "plan_test.rs"]
mod tests;
