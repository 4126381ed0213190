//! The twin's git side: the [`Mirror`] port over the twin's repositories, its caches and its
//! commit graph (the listing hook runs here, right after a replica is listed).

use std::collections::{BTreeMap, BTreeSet};

use super::{CodeCommitTwin, key, push_locked};
use crate::endpoints::GitTarget;
use crate::plan::{ObjectId, RefChange, Refs};
use crate::ports::{Fetched, Mirror, MirrorError, Pushed, Relation};

/// Whether `ancestor` is reachable from `from` in the graph (itself included).
fn reaches(
    parents: &BTreeMap<ObjectId, Vec<ObjectId>>,
    from: &ObjectId,
    ancestor: &ObjectId,
) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from];
    while let Some(c) = todo.pop() {
        if c == ancestor {
            return true;
        }
        if seen.insert(c)
            && let Some(ps) = parents.get(c)
        {
            todo.extend(ps.iter());
        }
    }
    false
}

impl Mirror for CodeCommitTwin {
    async fn fetch(&self, source: &GitTarget) -> std::result::Result<Fetched, MirrorError> {
        let mut w = self.git("fetch", source)?;
        let k = key(&source.region, &source.repository);
        let refs = w
            .repositories
            .get(&k)
            .map(|r| r.refs.clone())
            .unwrap_or_default();
        let before = w.caches.insert(k, refs.clone()).unwrap_or_default();
        let objects = refs
            .values()
            .filter(|o| !before.values().any(|b| b == *o))
            .count() as u64;
        Ok(Fetched {
            refs,
            bytes: objects * 100,
            objects,
            millis: 0,
        })
    }

    async fn source_refs(&self, source: &GitTarget) -> std::result::Result<Refs, MirrorError> {
        let w = self.git("source_refs", source)?;
        Ok(w.repositories
            .get(&key(&source.region, &source.repository))
            .map(|r| {
                r.refs
                    .iter()
                    .filter(|(n, _)| crate::plan::is_mirrored(n))
                    .map(|(n, o)| (n.clone(), o.clone()))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn relation(
        &self,
        _source: &GitTarget,
        old: &ObjectId,
        new: &ObjectId,
    ) -> std::result::Result<Relation, MirrorError> {
        let w = self.world();
        if old == new {
            return Ok(Relation::Same);
        }
        if !w.parents.contains_key(old) || !w.parents.contains_key(new) {
            return Ok(Relation::Unknown);
        }
        Ok(if reaches(&w.parents, new, old) {
            Relation::FastForward
        } else if reaches(&w.parents, old, new) {
            Relation::Rewind
        } else {
            Relation::Diverged
        })
    }

    async fn slices(
        &self,
        _source: &GitTarget,
        tip: &ObjectId,
        have: &[ObjectId],
        _max_commits: usize,
    ) -> std::result::Result<Vec<ObjectId>, MirrorError> {
        let w = self.world();
        let Some(points) = w.slice_points.get(tip) else {
            return Ok(vec![tip.clone()]);
        };
        let from = points
            .iter()
            .rposition(|p| have.contains(p))
            .map_or(0, |i| i + 1);
        let rest: Vec<ObjectId> = points[from..].to_vec();
        Ok(if rest.is_empty() {
            vec![tip.clone()]
        } else {
            rest
        })
    }

    async fn push(
        &self,
        _source: &GitTarget,
        replica: &GitTarget,
        changes: &[RefChange],
    ) -> std::result::Result<Pushed, MirrorError> {
        let mut w = self.git("push", replica)?;
        Ok(push_locked(&mut w, replica, changes))
    }

    async fn list(
        &self,
        _source: &GitTarget,
        replica: &GitTarget,
    ) -> std::result::Result<Refs, MirrorError> {
        let refs = {
            let w = self.git("list", replica)?;
            w.repositories
                .get(&key(&replica.region, &replica.repository))
                .map(|r| r.refs.clone())
                .unwrap_or_default()
        };
        let hook = self
            .on_list
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .take();
        if let Some(mut hook) = hook {
            hook(self, replica);
            let mut slot = self.on_list.lock().unwrap_or_else(|e| e.into_inner());
            if slot.0.is_none() {
                slot.0 = Some(hook);
            }
        }
        Ok(refs)
    }
}
