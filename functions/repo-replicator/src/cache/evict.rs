//! Eviction: the least recently used caches under the root are removed, never one another run
//! holds, until the root fits its size budget.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{CacheLock, Exclusive, USED_MARKER};

/// The total size of the files under `path` (not following symbolic links).
pub fn disk_usage(path: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![path.to_path_buf()];
    while let Some(p) = pending.pop() {
        let Ok(meta) = fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(entries) = fs::read_dir(&p) {
                pending.extend(entries.flatten().map(|e| e.path()));
            }
        } else {
            total += meta.len();
        }
    }
    total
}

fn is_bare_repository(path: &Path) -> bool {
    path.join("HEAD").is_file() && path.join("objects").is_dir()
}

/// The caches under `root` (bare repositories up to three levels down).
pub fn caches(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![(root.to_path_buf(), 0)];
    while let Some((d, depth)) = pending.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if is_bare_repository(&path) {
                out.push(path);
            } else if depth < 2 {
                pending.push((path, depth + 1));
            }
        }
    }
    out
}

/// When the cache at `dir` was last used (its marker, else the directory's own time).
fn last_used(dir: &Path) -> SystemTime {
    fs::metadata(dir.join(USED_MARKER))
        .or_else(|_| fs::metadata(dir))
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Removes least recently used caches under `root`, other than `keep` and any cache another
/// run holds, until `root` holds at most `budget` bytes; returns the caches it removed.
pub fn evict(root: &Path, keep: &Path, budget: u64) -> Vec<PathBuf> {
    let mut total = disk_usage(root);
    let mut removed = Vec::new();
    if total <= budget {
        return removed;
    }
    let mut candidates: Vec<(SystemTime, PathBuf)> = caches(root)
        .into_iter()
        .filter(|c| c != keep)
        .map(|c| (last_used(&c), c))
        .collect();
    candidates.sort();
    for (_, cache) in candidates {
        if total <= budget {
            break;
        }
        let lock = match CacheLock::try_take(&cache) {
            Ok(Some(lock)) => lock,
            Ok(None) => {
                tracing::info!(cache = %cache.display(), "cache in use; not evicted");
                continue;
            }
            Err(e) => {
                tracing::warn!(cache = %cache.display(), error = %e, "cannot lock a cache to evict it");
                continue;
            }
        };
        let alone = match Exclusive::try_take(&cache) {
            Ok(Some(alone)) => alone,
            Ok(None) => {
                tracing::info!(cache = %cache.display(), "cache being read; not evicted");
                continue;
            }
            Err(e) => {
                tracing::warn!(cache = %cache.display(), error = %e, "cannot lock a cache to evict it");
                continue;
            }
        };
        let size = disk_usage(&cache);
        match fs::remove_dir_all(&cache) {
            Ok(()) => {
                total = total.saturating_sub(size);
                tracing::info!(cache = %cache.display(), bytes = size, total, budget, "evicted the least recently used cache");
                removed.push(cache);
            }
            Err(e) => {
                tracing::warn!(cache = %cache.display(), error = %e, "cannot evict a cache");
                total = disk_usage(root);
            }
        }
        drop(alone);
        drop(lock);
    }
    if total > budget {
        tracing::warn!(
            total,
            budget,
            "the cache root is over its budget and nothing more can be evicted"
        );
    }
    removed
}
