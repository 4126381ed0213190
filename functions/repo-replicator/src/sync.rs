//! Making one replica equal to the source, over the [`Mirror`] port, safely under overlapping
//! runs. Each attempt:
//! 1. lists the replica (T1: its refs, the function's own refs included);
//! 2. reads the source's refs now (T2 > T1, a ref advertisement);
//! 3. when the cache differs from the source at T2, fetches again (at most once per attempt),
//!    so the plan is never made from a cache older than the listing;
//! 4. plans ([`safe_plan`]): a move that is not a fast-forward is made only because the source
//!    is there now, after a backup of the old value (or not at all, in keep mode);
//! 5. pushes slices of a long history first (oldest first, through `refs/codehooks/slice/<ref>`,
//!    checking the deadline between pushes: out of time, the replica is left `partial`), then
//!    the backups, then the plan in batches (CodeCommit takes at most 4,000 ref changes per
//!    push), every command guarded by the old value seen at T1; a ref that moved meanwhile
//!    means planning again from step 1 (up to `CODEHOOKS_CAS_RETRIES` times).
//!
//! Why it never rewinds: the replica's value at T1 was put there by a run that read the source
//! before T1; it is moved only to the source's value at T2 > T1 (or later), and only while it
//! still holds the T1 value.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use crate::config::PushLimits;
use crate::endpoints::GitTarget;
use crate::plan::{OWN_PREFIX, ObjectId, Plan, PlanInput, RefChange, Refs, is_mirrored, safe_plan};
use crate::policy::{self, Policy};
use crate::ports::{Mirror, MirrorError, Pushed, Relation};

/// How one replica is brought in sync.
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions<'a> {
    pub limits: PushLimits,
    pub policy: &'a Policy,
    /// A ref whose history needs more commits than this is sent in slices.
    pub slice_commits: usize,
    /// When to stop pushing slices (the invocation's deadline minus a safety margin).
    pub deadline: Option<Instant>,
}

/// What happened to one replica.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaStats {
    /// Branches and tags created or updated.
    pub created_or_updated: Vec<String>,
    /// Branches and tags deleted.
    pub deleted: Vec<String>,
    /// Backup refs made (`refs/codehooks/backup/...`).
    pub backups: Vec<String>,
    /// The function's own refs deleted (backups past retention, finished slices).
    pub pruned: Vec<String>,
    /// Refs left alone: not an ancestor of the source's value, and the policy keeps them.
    pub kept: Vec<String>,
    pub pushes: u32,
    pub bytes: u64,
    pub objects: u64,
    /// Slice pushes (history sent in parts).
    pub slices: u32,
    /// Times the replica had moved after it was listed, so the plan was made again.
    pub cas_retries: u32,
    /// Fetches made because the cache lagged behind the source.
    pub refetches: u32,
    /// Time ran out while slices were pushed: the next run goes on from there.
    pub partial: bool,
    pub millis: u64,
}

enum Settled {
    Done,
    /// The replica's ref was not at the value the plan was made from.
    Moved(String),
}

/// Makes `replica`'s refs (those its policy selects) equal to the source's; `desired` is the
/// cache of `source` as the invocation's fetch left it.
pub async fn sync_replica<M: Mirror>(
    mirror: &M,
    source: &GitTarget,
    replica: &GitTarget,
    desired: &Refs,
    options: SyncOptions<'_>,
) -> Result<ReplicaStats, MirrorError> {
    let started = Instant::now();
    let size = options.limits.max_refs_per_push.max(1);
    let mut stats = ReplicaStats::default();
    let mut desired = mirrored(desired);
    'attempt: loop {
        let listed = mirror.list(source, replica).await?;
        let confirmed = mirror.source_refs(source).await?;
        if desired != confirmed {
            // At most one fetch per attempt (the cache from an earlier attempt predates this
            // listing, so it is never used without a fresh confirmation).
            if stats.refetches > options.limits.cas_retries {
                return Err(MirrorError::Failed(format!(
                    "the source of {} kept changing; gave up after {} fetches",
                    replica.describe(),
                    stats.refetches
                )));
            }
            // The cache lags: fetch again. The fetch starts after T2, so its refs are the
            // source's at a time after the listing.
            stats.refetches += 1;
            tracing::info!(replica = %replica.describe(), "the cache lags behind the source; fetching again");
            desired = mirrored(&mirror.fetch(source).await?.refs);
        }
        let relations = relations(mirror, source, &listed, &desired).await?;
        let input = PlanInput {
            source: &desired,
            replica: &listed,
            relations: &relations,
            policy: options.policy,
            now_secs: codehooks::time::epoch_secs(SystemTime::now()),
        };
        let mut plan = safe_plan(input, replica).map_err(|e| MirrorError::Failed(e.to_string()))?;
        stats.kept = plan.kept.clone();
        let mut moved = match push_slices(
            mirror, source, replica, &listed, &mut plan, options, &mut stats,
        )
        .await?
        {
            Sliced::OutOfTime => {
                stats.partial = true;
                tracing::warn!(replica = %replica.describe(), slices = stats.slices, "out of time while sending history in slices; the next run goes on");
                break;
            }
            Sliced::Moved(why) => Some(why),
            Sliced::Done => None,
        };
        if moved.is_none() {
            let batches = plan.backups.chunks(size).chain(plan.changes.chunks(size));
            for batch in batches {
                let pushed = mirror.push(source, replica, batch).await?;
                if let Settled::Moved(why) =
                    settle(mirror, source, replica, batch, pushed, &mut stats).await?
                {
                    moved = Some(why);
                    break;
                }
            }
        }
        let Some(why) = moved else { break };
        if stats.cas_retries >= options.limits.cas_retries {
            return Err(MirrorError::Failed(format!(
                "{} kept moving while it was being updated ({why}); gave up after {} retries",
                replica.describe(),
                stats.cas_retries
            )));
        }
        stats.cas_retries += 1;
        tracing::info!(replica = %replica.describe(), reason = %why, "replica moved since it was listed; planning again");
        continue 'attempt;
    }
    stats.millis = started.elapsed().as_millis() as u64;
    Ok(stats)
}

/// The branches and tags of `refs`.
fn mirrored(refs: &Refs) -> Refs {
    refs.iter()
        .filter(|(n, _)| is_mirrored(n))
        .map(|(n, o)| (n.clone(), o.clone()))
        .collect()
}

/// How the source's value relates to the replica's, for each branch or tag both have with
/// different values.
async fn relations<M: Mirror>(
    mirror: &M,
    source: &GitTarget,
    listed: &Refs,
    desired: &Refs,
) -> Result<BTreeMap<String, Relation>, MirrorError> {
    let mut out = BTreeMap::new();
    for (name, new) in desired {
        if let Some(old) = listed.get(name)
            && old != new
        {
            out.insert(name.clone(), mirror.relation(source, old, new).await?);
        }
    }
    Ok(out)
}

enum Sliced {
    Done,
    Moved(String),
    OutOfTime,
}

/// Sends the history of every ref the plan creates or updates that needs more than
/// `slice_commits` commits the replica lacks: the slice ref moved through the slice points,
/// oldest first, one push each. The plan then sets the real ref and deletes the slice ref.
async fn push_slices<M: Mirror>(
    mirror: &M,
    source: &GitTarget,
    replica: &GitTarget,
    listed: &Refs,
    plan: &mut Plan,
    options: SyncOptions<'_>,
    stats: &mut ReplicaStats,
) -> Result<Sliced, MirrorError> {
    let mut have: Vec<ObjectId> = listed.values().cloned().collect();
    have.sort();
    have.dedup();
    let max = options.slice_commits.max(1);
    let wanted: Vec<(String, ObjectId)> = plan
        .changes
        .iter()
        .filter(|c| !c.name.starts_with(OWN_PREFIX))
        .filter_map(|c| c.new.clone().map(|n| (c.name.clone(), n)))
        .collect();
    for (name, tip) in wanted {
        let points = mirror.slices(source, &tip, &have, max).await?;
        let Some((_, steps)) = points.split_last() else {
            continue;
        };
        let slice = policy::slice_ref(&name);
        let mut at = listed.get(&slice).cloned();
        for point in steps {
            if at.as_ref() == Some(point) {
                continue;
            }
            if options.deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(Sliced::OutOfTime);
            }
            let change = RefChange {
                name: slice.clone(),
                old: at.clone(),
                new: Some(point.clone()),
            };
            let batch = std::slice::from_ref(&change);
            let pushed = mirror.push(source, replica, batch).await?;
            if let Settled::Moved(why) =
                settle(mirror, source, replica, batch, pushed, stats).await?
            {
                return Ok(Sliced::Moved(why));
            }
            stats.slices += 1;
            at = Some(point.clone());
            have.push(point.clone());
        }
        if let Some(at) = at {
            match plan.changes.iter_mut().find(|c| c.name == slice) {
                Some(c) => c.old = Some(at),
                None => plan.changes.push(RefChange {
                    name: slice,
                    old: Some(at),
                    new: None,
                }),
            }
        }
    }
    Ok(Sliced::Done)
}

/// Counts a push and reads the server's word on each ref.
async fn settle<M: Mirror>(
    mirror: &M,
    source: &GitTarget,
    replica: &GitTarget,
    batch: &[RefChange],
    pushed: Pushed,
    stats: &mut ReplicaStats,
) -> Result<Settled, MirrorError> {
    let (statuses, bytes, objects) = match pushed {
        Pushed::Moved(why) => return Ok(Settled::Moved(why)),
        Pushed::Sent {
            statuses,
            bytes,
            objects,
        } => (statuses, bytes, objects),
    };
    stats.pushes += 1;
    stats.objects += objects;
    stats.bytes += bytes;
    // A push succeeds even when the server rejected refs: every status must be checked.
    let mut rejected = Vec::new();
    for change in batch {
        match statuses.iter().find(|(n, _)| *n == change.name) {
            Some((_, None)) => record(stats, change),
            Some((name, Some(msg))) => rejected.push((name.clone(), format!("{name}: {msg}"))),
            None => rejected.push((
                change.name.clone(),
                format!("{}: the server did not report on it", change.name),
            )),
        }
    }
    if rejected.is_empty() {
        return Ok(Settled::Done);
    }
    // A rejected ref may have moved between the listing and the update (the server compares
    // each ref with the old value the push names): look at the replica again. Refs that are
    // no longer at the value the plan was made from are a compare-and-swap miss, planned
    // again; anything else is a real rejection.
    let now = mirror.list(source, replica).await?;
    let text = rejected
        .iter()
        .map(|(_, t)| t.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let moved = batch
        .iter()
        .any(|c| rejected.iter().any(|(n, _)| *n == c.name) && now.get(&c.name) != c.old.as_ref());
    if moved {
        Ok(Settled::Moved(text))
    } else {
        Err(MirrorError::Failed(format!(
            "{} rejected: {text}",
            replica.describe()
        )))
    }
}

/// Files a change the server accepted under the list it belongs to.
fn record(stats: &mut ReplicaStats, change: &RefChange) {
    let name = change.name.clone();
    if change.name.starts_with(policy::SLICE_PREFIX) && change.new.is_some() {
        return;
    }
    let list = match (change.name.starts_with(OWN_PREFIX), change.new.is_some()) {
        (false, true) => &mut stats.created_or_updated,
        (false, false) => &mut stats.deleted,
        (true, true) => &mut stats.backups,
        (true, false) => &mut stats.pruned,
    };
    list.push(name);
}

#[cfg(test)]
#[path = "sync_test.rs"]
mod tests;

#[cfg(test)]
#[path = "interleave_test.rs"]
mod interleave;
