//! Runs that read a cache outside its lock (the pushes build packs from it, the plans ask
//! about its history) while other runs may fetch into it: a [`Reading`] guard keeps the cache
//! from being evicted or compacted under them. Fetching only adds packs and moves refs, so it
//! needs no exclusion from readers; removing files does.
//!
//! Readers hold a shared `flock` on `<cache>.readers`; eviction and compaction take it
//! exclusively, without waiting, and skip the cache when they cannot. As with the cache lock,
//! this process also keeps its own table, because on NFS (EFS) Linux emulates `flock` with
//! per-process `fcntl` locks (which one process does not exclude itself from, and which any
//! close of the file drops): one open file per cache and process, whatever the readers.

use std::collections::HashMap;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{beside, failed, open_lock_file};
use crate::ports::MirrorError;

/// How this process uses each cache it reads or clears.
enum Use {
    Reading { count: usize, _file: File },
    Exclusive,
}

static USES: Mutex<Option<HashMap<PathBuf, Use>>> = Mutex::new(None);

fn uses() -> MutexGuard<'static, Option<HashMap<PathBuf, Use>>> {
    USES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The readers' lock file of the cache at `dir`: `<dir>.readers`.
pub fn readers_path(dir: &Path) -> PathBuf {
    beside(dir, ".readers")
}

fn open(dir: &Path) -> Result<File, MirrorError> {
    open_lock_file(&readers_path(dir))
}

/// A run reading the cache at `dir`: while it lives, the cache is neither evicted nor
/// compacted (by this process or another sharing the cache root).
#[derive(Debug)]
pub struct Reading {
    dir: PathBuf,
}

impl Reading {
    /// Starts reading, waiting at most `wait` for a compaction or an eviction of the cache
    /// to end (the cache may be gone then: opening it says so).
    pub fn start(dir: &Path, wait: Duration) -> Result<Self, MirrorError> {
        let deadline = Instant::now() + wait;
        loop {
            {
                let mut guard = uses();
                let map = guard.get_or_insert_with(HashMap::new);
                match map.get_mut(dir) {
                    Some(Use::Reading { count, .. }) => {
                        *count += 1;
                        return Ok(Self {
                            dir: dir.to_path_buf(),
                        });
                    }
                    Some(Use::Exclusive) => {}
                    None => {
                        let file = open(dir)?;
                        match file.try_lock_shared() {
                            Ok(()) => {
                                map.insert(
                                    dir.to_path_buf(),
                                    Use::Reading {
                                        count: 1,
                                        _file: file,
                                    },
                                );
                                return Ok(Self {
                                    dir: dir.to_path_buf(),
                                });
                            }
                            Err(TryLockError::WouldBlock) => {}
                            Err(TryLockError::Error(e)) => {
                                return Err(failed(format!(
                                    "cannot lock {}: {e}",
                                    readers_path(dir).display()
                                )));
                            }
                        }
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(failed(format!(
                    "the cache {} is being compacted or evicted; gave up after waiting {} s",
                    dir.display(),
                    wait.as_secs_f64()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Reading {
    fn drop(&mut self) {
        let mut guard = uses();
        let map = guard.get_or_insert_with(HashMap::new);
        if let Some(Use::Reading { count, .. }) = map.get_mut(&self.dir) {
            *count -= 1;
            if *count == 0 {
                // Dropping the file releases the shared lock.
                map.remove(&self.dir);
            }
        }
    }
}

/// The right to remove files of a cache nobody reads.
#[derive(Debug)]
pub struct Exclusive {
    dir: PathBuf,
    file: Option<File>,
}

impl Exclusive {
    /// `None` when a run (here or in another process) is reading the cache at `dir`.
    pub fn try_take(dir: &Path) -> Result<Option<Self>, MirrorError> {
        let mut guard = uses();
        let map = guard.get_or_insert_with(HashMap::new);
        if map.contains_key(dir) {
            return Ok(None);
        }
        let file = open(dir)?;
        match file.try_lock() {
            Ok(()) => {
                map.insert(dir.to_path_buf(), Use::Exclusive);
                Ok(Some(Self {
                    dir: dir.to_path_buf(),
                    file: Some(file),
                }))
            }
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(failed(format!(
                "cannot lock {}: {e}",
                readers_path(dir).display()
            ))),
        }
    }
}

impl Drop for Exclusive {
    fn drop(&mut self) {
        let mut guard = uses();
        // Unlocked before the table lets this process's readers in.
        drop(self.file.take());
        guard.get_or_insert_with(HashMap::new).remove(&self.dir);
    }
}
