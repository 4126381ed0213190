//! Making one replica equal to the cache, over the [`Mirror`] port: list and plan, push the
//! plan in batches (CodeCommit takes at most 4,000 ref changes per push), each guarded by a
//! compare-and-swap on the old values; when the replica moved meanwhile, plan again (up to
//! `CODEHOOKS_CAS_RETRIES` times).

use std::time::Instant;

use crate::config::PushLimits;
use crate::endpoints::GitTarget;
use crate::plan::{RefChange, Refs};
use crate::ports::{Mirror, MirrorError, Pushed};

/// What happened to one replica.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaStats {
    pub created_or_updated: Vec<String>,
    pub deleted: Vec<String>,
    pub pushes: u32,
    pub bytes: u64,
    pub objects: u64,
    /// Times the replica had moved after it was listed, so the plan was made again.
    pub cas_retries: u32,
    pub millis: u64,
}

enum Settled {
    Done,
    /// The replica's ref was not at the value the plan was made from.
    Moved(String),
}

/// Makes `replica`'s branches and tags equal to `desired` (the cache of `source`).
pub async fn sync_replica<M: Mirror>(
    mirror: &M,
    source: &GitTarget,
    replica: &GitTarget,
    desired: &Refs,
    limits: PushLimits,
) -> Result<ReplicaStats, MirrorError> {
    let started = Instant::now();
    let size = limits.max_refs_per_push.max(1);
    let mut stats = ReplicaStats::default();
    'attempt: loop {
        // One connection lists the replica and carries the first push: a round trip (and a
        // TLS handshake) fewer per replica. Later batches connect again.
        let opened = mirror.open(source, replica, desired, size).await?;
        let mut first = opened.first;
        for batch in opened.changes.chunks(size) {
            let pushed = match first.take() {
                Some(p) => p,
                None => mirror.push(source, replica, batch).await?,
            };
            match settle(mirror, source, replica, batch, pushed, &mut stats).await? {
                Settled::Done => {}
                Settled::Moved(why) => {
                    if stats.cas_retries >= limits.cas_retries {
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
            }
        }
        stats.millis = started.elapsed().as_millis() as u64;
        return Ok(stats);
    }
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
            Some((_, None)) => {
                if change.new.is_some() {
                    stats.created_or_updated.push(change.name.clone());
                } else {
                    stats.deleted.push(change.name.clone());
                }
            }
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
    // A rejected ref may have moved between the advertisement and the update (the server
    // compares each ref with the old value the push names): look at the replica again.
    // Refs that are no longer at the value the plan was made from are a compare-and-swap
    // miss, planned again; anything else is a real rejection.
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

#[cfg(test)]
#[path = "sync_test.rs"]
mod tests;
