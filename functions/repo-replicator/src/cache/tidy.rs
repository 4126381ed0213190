//! Keeping one cache in shape under its lock: stale libgit2 lock files removed, many small
//! packs compacted into one.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use git2::{ObjectType, Repository};

use super::failed;
use crate::ports::MirrorError;
use crate::store::is_loose_object_dir;

/// Whether `name` is a file libgit2 (or git) leaves behind when it dies mid-write.
fn is_leftover(name: &str) -> bool {
    name.ends_with(".lock") || name.starts_with("pack_git2_") || name.starts_with("tmp_pack_")
}

/// Removes libgit2's lock and temporary files older than `after` from the cache at `dir`
/// (top level, `refs/**`, `logs/**`, `objects/pack`, `objects/info`); returns what it removed.
/// Only called with the cache's own lock held, so no live run owns them.
pub fn remove_stale_locks(dir: &Path, after: Duration, now: SystemTime) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let mut pending = vec![
        (dir.to_path_buf(), false),
        (dir.join("refs"), true),
        (dir.join("logs"), true),
        (dir.join("objects").join("pack"), false),
        (dir.join("objects").join("info"), false),
    ];
    while let Some((d, recurse)) = pending.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                if recurse {
                    pending.push((path, true));
                }
                continue;
            }
            let name = entry.file_name();
            if !is_leftover(&name.to_string_lossy()) {
                continue;
            }
            let age = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            if age < after {
                continue;
            }
            match fs::remove_file(&path) {
                Ok(()) => {
                    tracing::warn!(file = %path.display(), age_s = age.as_secs(), "removed a stale lock left by a crashed run");
                    removed.push(path);
                }
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "cannot remove a stale lock")
                }
            }
        }
    }
    removed
}

/// The `.pack` files of the cache at `dir`.
fn packs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir.join("objects").join("pack")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pack"))
        .collect()
}

/// How many packs the cache at `dir` has.
pub fn pack_count(dir: &Path) -> usize {
    packs(dir).len()
}

/// Rewrites every object reachable from the cache's refs into one new pack, then removes the
/// other packs (and their indexes) and the loose objects. Call only with the cache's lock held.
pub fn compact(repo: &Repository) -> Result<(), MirrorError> {
    let git = |what: &str, e: git2::Error| failed(format!("{what}: {}", e.message()));
    let dir = repo.path().to_path_buf();
    let old = packs(&dir);
    let mut builder = repo
        .packbuilder()
        .map_err(|e| git("cannot start a pack", e))?;
    builder.set_threads(0);
    let mut walk = repo
        .revwalk()
        .map_err(|e| git("cannot walk the cache", e))?;
    let mut pushed = false;
    let refs = repo
        .references()
        .map_err(|e| git("cannot read the cache's refs", e))?;
    for r in refs {
        let r = r.map_err(|e| git("cannot read a cache ref", e))?;
        let Some(mut oid) = r.resolve().ok().and_then(|r| r.target()) else {
            continue;
        };
        // Annotated tags (possibly of tags): the tag objects, then what they point at.
        loop {
            let obj = repo
                .find_object(oid, None)
                .map_err(|e| git("a ref names a missing object", e))?;
            match obj.kind() {
                Some(ObjectType::Tag) => {
                    builder
                        .insert_object(oid, None)
                        .map_err(|e| git("cannot pack a tag", e))?;
                    let Some(target) = obj.as_tag().map(git2::Tag::target_id) else {
                        break;
                    };
                    oid = target;
                }
                Some(ObjectType::Commit) => {
                    walk.push(oid).map_err(|e| git("cannot walk a commit", e))?;
                    pushed = true;
                    break;
                }
                _ => {
                    builder
                        .insert_recursive(oid, None)
                        .map_err(|e| git("cannot pack an object", e))?;
                    break;
                }
            }
        }
    }
    if pushed {
        builder
            .insert_walk(&mut walk)
            .map_err(|e| git("cannot pack the history", e))?;
    }
    let pack_dir = dir.join("objects").join("pack");
    builder
        .write(&pack_dir, 0)
        .map_err(|e| git("cannot write the compacted pack", e))?;
    let name = builder
        .name()
        .map_err(|e| git("the compacted pack has no name", e))?
        .map(str::to_owned);
    let Some(name) = name else {
        return Err(failed("the compacted pack has no name"));
    };
    let kept = pack_dir.join(format!("pack-{name}.pack"));
    if !kept.exists() {
        return Err(failed(format!(
            "the compacted pack {} was not written",
            kept.display()
        )));
    }
    // A pack marked `.keep` is someone's on purpose: left alone.
    for pack in old
        .iter()
        .filter(|p| **p != kept && !p.with_extension("keep").exists())
    {
        for ext in ["pack", "idx", "rev", "bitmap", "mtimes"] {
            let _ = fs::remove_file(pack.with_extension(ext));
        }
    }
    remove_loose_objects(&dir.join("objects"));
    Ok(())
}

/// Removes the loose objects (every one is in the compacted pack or unreachable).
fn remove_loose_objects(objects: &Path) {
    let Ok(entries) = fs::read_dir(objects) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if is_loose_object_dir(&name) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}
