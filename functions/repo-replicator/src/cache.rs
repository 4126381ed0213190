//! The bare caches under the cache root, kept within bounds: one run at a time per cache
//! (`<cache>.lock`, waited on with a deadline), libgit2 `*.lock` files left by a crash removed
//! once older than a bound, a cache that grew many packs from small fetches compacted into one,
//! and the least recently used other caches evicted until the root fits its size budget.
//!
//! [`with_cache`] is how the mirror writes to a cache (the fetch); a run that reads a cache
//! afterwards, outside its lock, holds a [`Reading`] so that no eviction or compaction removes
//! files under it. Everything here blocks (the mirror runs it on tokio's blocking pool).

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use codehooks::config::Env;
use git2::Repository;

use crate::ports::MirrorError;

mod evict;
mod readers;
mod tidy;

pub use evict::{caches, disk_usage, evict};
pub use readers::{Exclusive, Reading, readers_path};
pub use tidy::{compact, pack_count, remove_stale_locks};

/// The file whose modification time says when a cache was last used.
pub const USED_MARKER: &str = "codehooks-used";

/// The disk and time bounds of the caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheBounds {
    /// The most the cache root may hold after a run (`CODEHOOKS_CACHE_BUDGET_MB`).
    pub budget_bytes: u64,
    /// A libgit2 `*.lock` file older than this is a crash's leftover (`CODEHOOKS_STALE_LOCK_SECONDS`).
    pub stale_lock_after: Duration,
    /// How long a run waits for another run's lock on the same cache (`CODEHOOKS_CACHE_LOCK_WAIT_SECONDS`).
    pub lock_wait: Duration,
    /// A cache with more packs than this is compacted into one (`CODEHOOKS_CACHE_MAX_PACKS`).
    pub max_packs: usize,
}

const MB: u64 = 1024 * 1024;

impl CacheBounds {
    /// The bounds when no variable is set: 384 MB (three quarters of Lambda's default 512 MB
    /// of `/tmp`), locks stale after 10 minutes, a minute's wait for a busy cache, 50 packs.
    pub const DEFAULT: Self = Self {
        budget_bytes: 384 * MB,
        stale_lock_after: Duration::from_secs(600),
        lock_wait: Duration::from_secs(60),
        max_packs: 50,
    };

    /// Reads the bounds; every wrong variable is recorded in `env` (a default stands in).
    pub fn read(env: &mut Env<'_>) -> Self {
        // Lambda's ephemeral storage is 512 MB to 10,240 MB; the template passes its size.
        let ephemeral_mb = env.u64_in("CODEHOOKS_EPHEMERAL_MB", 512, 512..=10_240);
        let budget_mb = env.u64_in(
            "CODEHOOKS_CACHE_BUDGET_MB",
            ephemeral_mb * 3 / 4,
            1..=1_048_576,
        );
        let stale = env.u64_in("CODEHOOKS_STALE_LOCK_SECONDS", 600, 10..=86_400);
        let wait = env.u64_in("CODEHOOKS_CACHE_LOCK_WAIT_SECONDS", 60, 0..=900);
        let max_packs = env.u64_in("CODEHOOKS_CACHE_MAX_PACKS", 50, 2..=10_000);
        Self {
            budget_bytes: budget_mb * MB,
            stale_lock_after: Duration::from_secs(stale),
            lock_wait: Duration::from_secs(wait),
            max_packs: max_packs as usize,
        }
    }
}

impl Default for CacheBounds {
    fn default() -> Self {
        Self::DEFAULT
    }
}

fn failed(what: impl std::fmt::Display) -> MirrorError {
    MirrorError::Failed(what.to_string())
}

/// The lock file of the cache at `dir`: `<dir>.lock`, beside it (never removed, so that every
/// run locks the same file).
pub fn lock_path(dir: &Path) -> PathBuf {
    beside(dir, ".lock")
}

/// `<dir><suffix>`: a file beside the cache directory `dir`.
fn beside(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    dir.with_file_name(name)
}

/// Opens the lock file at `path` for `flock`, creating it (and its directory) when missing.
fn open_lock_file(path: &Path) -> Result<File, MirrorError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| failed(format!("cannot create {}: {e}", parent.display())))?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| failed(format!("cannot open {}: {e}", path.display())))
}

/// Caches locked by this process. `flock` already excludes other processes and other open
/// files, but on NFS (EFS) Linux emulates it with per-process `fcntl` locks, which would let
/// two threads of one process both "hold" it.
static HELD: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// A held cache lock; released when dropped.
#[derive(Debug)]
pub struct CacheLock {
    path: PathBuf,
    file: File,
}

impl CacheLock {
    /// Takes the lock of the cache at `dir` if nobody holds it; `None` when somebody does.
    pub fn try_take(dir: &Path) -> Result<Option<Self>, MirrorError> {
        let path = lock_path(dir);
        {
            let mut held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
            if !held.get_or_insert_with(HashSet::new).insert(path.clone()) {
                return Ok(None);
            }
        }
        let release = |path: &Path| {
            let mut held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
            held.get_or_insert_with(HashSet::new).remove(path);
        };
        let file = match open_lock_file(&path) {
            Ok(f) => f,
            Err(e) => {
                release(&path);
                return Err(e);
            }
        };
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { path, file })),
            Err(TryLockError::WouldBlock) => {
                release(&path);
                Ok(None)
            }
            Err(TryLockError::Error(e)) => {
                release(&path);
                Err(failed(format!("cannot lock {}: {e}", path.display())))
            }
        }
    }

    /// Takes the lock of the cache at `dir`, waiting at most `wait` for another run to let go.
    pub fn take(dir: &Path, wait: Duration) -> Result<Self, MirrorError> {
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(20);
        loop {
            if let Some(lock) = Self::try_take(dir)? {
                return Ok(lock);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(failed(format!(
                    "the cache lock {} is held by another run; gave up after waiting {} s \
                     (CODEHOOKS_CACHE_LOCK_WAIT_SECONDS)",
                    lock_path(dir).display(),
                    wait.as_secs_f64()
                )));
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }
}

impl Drop for CacheLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
        let mut held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
        held.get_or_insert_with(HashSet::new).remove(&self.path);
    }
}

/// Runs `f` on the cache at `dir` (under `root`) within `bounds`: locks it (waiting at most
/// `lock_wait`), removes stale libgit2 locks, opens or creates it, runs `f`, compacts it when
/// it has more than `max_packs` packs, marks it used, unlocks it, then evicts least recently
/// used other caches until `root` fits `budget_bytes`.
pub fn with_cache<T>(
    root: &Path,
    dir: &Path,
    bounds: &CacheBounds,
    f: impl FnOnce(&Repository) -> Result<T, MirrorError>,
) -> Result<T, MirrorError> {
    let result = {
        let _lock = CacheLock::take(dir, bounds.lock_wait)?;
        remove_stale_locks(dir, bounds.stale_lock_after, SystemTime::now());
        let repo = crate::store::open_cache(dir)?;
        let result = f(&repo);
        if result.is_ok() {
            let packs = pack_count(dir);
            if packs > bounds.max_packs {
                // Compaction removes packs: never under a run reading the cache.
                match Exclusive::try_take(dir) {
                    Ok(Some(_alone)) => match compact(&repo) {
                        Ok(()) => {
                            tracing::info!(cache = %dir.display(), packs, "cache compacted into one pack")
                        }
                        Err(e) => {
                            tracing::warn!(cache = %dir.display(), packs, error = %e, "cache compaction failed")
                        }
                    },
                    Ok(None) => {
                        tracing::info!(cache = %dir.display(), packs, "cache being read; compaction left to a later run")
                    }
                    Err(e) => {
                        tracing::warn!(cache = %dir.display(), error = %e, "cache compaction skipped")
                    }
                }
            }
        }
        mark_used(dir);
        result
    };
    evict(root, dir, bounds.budget_bytes);
    result
}

/// Sets the cache's last-used time to now.
fn mark_used(dir: &Path) {
    let marker = dir.join(USED_MARKER);
    let done = File::create(&marker).and_then(|f| f.set_modified(SystemTime::now()));
    if let Err(e) = done {
        tracing::warn!(marker = %marker.display(), error = %e, "cannot mark the cache used");
    }
}

#[cfg(test)]
#[path = "cache_test.rs"]
mod tests;
