//! The bare cache of a source repository on disk: where it lives, opening (or creating) it,
//! its mirrored refs, and object ids in libgit2's terms. No network, no locking (that is
//! [`crate::cache`]); the modules that read or write a cache build on this one.

use std::fs;
use std::path::{Path, PathBuf};

use git2::{Oid, Repository};

use crate::ports::MirrorError;
use crate::refs::{ObjectId, Refs, is_mirrored};

/// Whether `name` is a directory of loose objects under `objects/` (two hexadecimal digits).
pub fn is_loose_object_dir(name: &str) -> bool {
    name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `oid` as an [`ObjectId`].
pub fn object_id(oid: Oid) -> ObjectId {
    ObjectId::new(oid.to_string())
}

/// Opens the bare cache at `dir`, creating it (or recreating it when it is unreadable).
pub fn open_cache(dir: &Path) -> Result<Repository, MirrorError> {
    if dir.join("HEAD").exists() {
        match Repository::open_bare(dir) {
            Ok(r) => return Ok(r),
            Err(e) => {
                tracing::warn!(cache = %dir.display(), error = %e.message(), "cache unreadable; starting it again");
                let _ = fs::remove_dir_all(dir);
            }
        }
    }
    fs::create_dir_all(dir).map_err(|e| {
        MirrorError::Failed(format!("cannot create the cache {}: {e}", dir.display()))
    })?;
    Repository::init_bare(dir).map_err(|e| {
        MirrorError::Failed(format!(
            "cannot create the cache {}: {}",
            dir.display(),
            e.message()
        ))
    })
}

/// Opens the existing cache at `dir` for reading (never creates it: that is the fetch's job,
/// under the cache's lock). Outside that lock, read it through [`reading`] (or hold a
/// [`crate::cache::Reading`]) for as long as its files are used.
pub fn read_cache(dir: &Path) -> Result<Repository, MirrorError> {
    Repository::open_bare(dir).map_err(|e| {
        MirrorError::Failed(format!(
            "cannot open the cache {}: {}",
            dir.display(),
            e.message()
        ))
    })
}

/// The mirrored refs of the cache.
pub fn local_refs(cache: &Repository) -> Result<Refs, MirrorError> {
    let mut out = Refs::new();
    let refs = cache.references().map_err(|e| {
        MirrorError::Failed(format!("cannot read the cache's refs: {}", e.message()))
    })?;
    for r in refs {
        let r = r.map_err(|e| {
            MirrorError::Failed(format!("cannot read a cache ref: {}", e.message()))
        })?;
        let (Ok(name), Some(oid)) = (r.name(), r.target()) else {
            continue;
        };
        if is_mirrored(name) {
            out.insert(name.to_owned(), object_id(oid));
        }
    }
    Ok(out)
}

/// `id` as a libgit2 id, or a clear error (ids come from servers).
pub fn oid(id: &ObjectId) -> Result<Oid, MirrorError> {
    Oid::from_str(id.as_str())
        .map_err(|_| MirrorError::Failed(format!("{id:?} is not a git object id")))
}

/// The directory of the cache of `repository` in `region` under `root`.
pub fn cache_dir(root: &Path, region: &str, repository: &str) -> PathBuf {
    root.join(region).join(format!("{repository}.git"))
}
