//! The git side of replication, on libgit2: a bare cache of the source repository that
//! survives warm invocations, an incremental fetch into it, listings of a replica's refs, and
//! pushes of ref changes guarded by a compare-and-swap on each ref's old value.
//!
//! Everything here blocks; [`crate::mirror`] runs it on tokio's blocking pool. The decisions
//! (what to push, when to plan again) are made by [`crate::plan`] and [`crate::sync`].

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use git2::{
    AutotagOption, Cred, CredentialType, Direction, FetchOptions, FetchPrune, Oid, PushOptions,
    RemoteCallbacks, Repository,
};

use crate::endpoints::GitTarget;
use crate::plan::{ObjectId, RefChange, Refs, is_mirrored, ref_changes};
use crate::ports::{Fetched, MirrorError, Opened, Pushed};
use crate::signing::{AwsKeys, git_credentials};

fn classify(context: &str, e: &git2::Error) -> MirrorError {
    let msg = format!("{context}: {}", e.message());
    let lower = e.message().to_ascii_lowercase();
    if e.class() == git2::ErrorClass::Http
        && (lower.contains("401")
            || lower.contains("403")
            || lower.contains("404")
            || lower.contains("authentication"))
        || e.code() == git2::ErrorCode::Auth
    {
        MirrorError::Refused(msg)
    } else {
        MirrorError::Failed(msg)
    }
}

fn object_id(oid: Oid) -> ObjectId {
    ObjectId::new(oid.to_string())
}

/// Callbacks that answer the first credential request with a freshly signed password and
/// refuse any further one: libgit2 asks again after every 401, and would loop forever.
fn signed_callbacks<'a>(
    keys: &'a AwsKeys,
    target: &'a GitTarget,
    asked: &'a Cell<u32>,
) -> RemoteCallbacks<'a> {
    let mut cb = RemoteCallbacks::new();
    cb.credentials(move |_url, _user, allowed| {
        asked.set(asked.get() + 1);
        if asked.get() > 1 {
            return Err(git2::Error::new(
                git2::ErrorCode::Auth,
                git2::ErrorClass::Http,
                "the git endpoint refused the signed credentials (check the role's codecommit:GitPull/GitPush permission and the signed host)",
            ));
        }
        if !allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            return Err(git2::Error::from_str("the git endpoint does not accept HTTP Basic credentials"));
        }
        let c = git_credentials(keys, &target.signed_host, &target.path(), target.region.as_str(), SystemTime::now());
        Cred::userpass_plaintext(c.username.expose(), c.password.expose())
    });
    cb
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

/// Makes the cache's branches and tags equal to the source's: fetches what the cache lacks,
/// moves refs (forced) and prunes refs the source no longer has.
pub fn fetch_source(
    cache: &Repository,
    source: &GitTarget,
    keys: &AwsKeys,
) -> Result<Fetched, MirrorError> {
    let started = Instant::now();
    let asked = Cell::new(0);
    let received = Cell::new((0u64, 0u64));
    let mut cb = signed_callbacks(keys, source, &asked);
    cb.transfer_progress(|p| {
        received.set((p.received_bytes() as u64, p.received_objects() as u64));
        true
    });
    let mut fo = FetchOptions::new();
    fo.remote_callbacks(cb);
    fo.prune(FetchPrune::On);
    fo.download_tags(AutotagOption::None);
    fo.update_fetchhead(false);
    let mut remote = cache
        .remote_anonymous(&source.url())
        .map_err(|e| classify("cannot set up the source remote", &e))?;
    remote
        .fetch(
            &["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
            Some(&mut fo),
            None,
        )
        .map_err(|e| classify(&format!("fetch from {} failed", source.describe()), &e))?;
    let stats = remote.stats();
    let (bytes, objects) = received.get();
    Ok(Fetched {
        refs: local_refs(cache)?,
        bytes: bytes.max(stats.received_bytes() as u64),
        objects: objects.max(stats.received_objects() as u64),
        millis: started.elapsed().as_millis() as u64,
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

/// The mirrored refs `target` advertises for pushing.
pub fn list_refs(
    cache: &Repository,
    target: &GitTarget,
    keys: &AwsKeys,
) -> Result<Refs, MirrorError> {
    let asked = Cell::new(0);
    let mut remote = cache
        .remote_anonymous(&target.url())
        .map_err(|e| classify("cannot set up the replica remote", &e))?;
    let conn = remote
        .connect_auth(
            Direction::Push,
            Some(signed_callbacks(keys, target, &asked)),
            None,
        )
        .map_err(|e| classify(&format!("cannot reach {}", target.describe()), &e))?;
    advertised(&conn, target)
}

/// The mirrored refs of a connection's advertisement.
fn advertised(
    conn: &git2::RemoteConnection<'_, '_, '_>,
    target: &GitTarget,
) -> Result<Refs, MirrorError> {
    let heads = conn.list().map_err(|e| {
        classify(
            &format!("cannot list the refs of {}", target.describe()),
            &e,
        )
    })?;
    Ok(heads
        .iter()
        .filter(|h| is_mirrored(h.name()))
        .map(|h| (h.name().to_owned(), object_id(h.oid())))
        .collect())
}

/// Lists `target`, plans towards `desired`, and pushes the first `batch` changes over the
/// connection that listed it.
pub fn open_and_push(
    cache: &Repository,
    target: &GitTarget,
    keys: &AwsKeys,
    desired: &Refs,
    batch: usize,
) -> Result<Opened, MirrorError> {
    let asked = Cell::new(0);
    let mut listing = cache
        .remote_anonymous(&target.url())
        .map_err(|e| classify("cannot set up the replica remote", &e))?;
    let mut conn = listing
        .connect_auth(
            Direction::Push,
            Some(signed_callbacks(keys, target, &asked)),
            None,
        )
        .map_err(|e| classify(&format!("cannot reach {}", target.describe()), &e))?;
    let replica = advertised(&conn, target)?;
    let changes =
        ref_changes(desired, &replica, target).map_err(|e| MirrorError::Failed(e.to_string()))?;
    let first = match changes.chunks(batch.max(1)).next() {
        Some(first) => Some(push_on(conn.remote(), target, keys, first)?),
        None => None,
    };
    Ok(Opened {
        replica,
        changes,
        first,
    })
}

/// Pushes `batch` to `target` over a new connection.
pub fn push_changes(
    cache: &Repository,
    target: &GitTarget,
    keys: &AwsKeys,
    batch: &[RefChange],
) -> Result<Pushed, MirrorError> {
    let mut remote = cache
        .remote_anonymous(&target.url())
        .map_err(|e| classify("cannot set up the replica remote", &e))?;
    push_on(&mut remote, target, keys, batch)
}

fn oid_or_none(oid: Oid) -> Option<ObjectId> {
    if oid.is_zero() {
        None
    } else {
        Some(object_id(oid))
    }
}

fn show(id: Option<&ObjectId>) -> String {
    id.map_or("nothing".into(), ToString::to_string)
}

/// One push: refused in negotiation when a ref is not at the old value the change names.
fn push_on(
    remote: &mut git2::Remote<'_>,
    target: &GitTarget,
    keys: &AwsKeys,
    batch: &[RefChange],
) -> Result<Pushed, MirrorError> {
    let expected: HashMap<&str, Option<&ObjectId>> = batch
        .iter()
        .map(|c| (c.name.as_str(), c.old.as_ref()))
        .collect();
    let specs: Vec<String> = batch
        .iter()
        .map(|c| match c.new {
            Some(_) => format!("+{0}:{0}", c.name),
            None => format!(":{}", c.name),
        })
        .collect();
    let moved: RefCell<Option<String>> = RefCell::new(None);
    let statuses: RefCell<Vec<(String, Option<String>)>> = RefCell::new(Vec::new());
    let progress = Cell::new((0u64, 0u64));
    let asked = Cell::new(0);
    {
        let mut cb = signed_callbacks(keys, target, &asked);
        cb.push_negotiation(|updates| {
            for u in updates {
                let name = u.dst_refname().unwrap_or_default();
                let seen = oid_or_none(u.src());
                match expected.get(name) {
                    Some(exp) if *exp == seen.as_ref() => {}
                    _ => {
                        *moved.borrow_mut() = Some(format!(
                            "{name} was expected at {} but is at {}",
                            show(expected.get(name).copied().flatten()),
                            show(seen.as_ref())
                        ));
                        return Err(git2::Error::from_str("replica moved since it was listed"));
                    }
                }
            }
            Ok(())
        });
        cb.push_update_reference(|name, status| {
            statuses
                .borrow_mut()
                .push((name.to_owned(), status.map(str::to_owned)));
            Ok(())
        });
        cb.push_transfer_progress(|current, _total, bytes| {
            progress.set((current as u64, bytes as u64));
        });
        let mut po = PushOptions::new();
        po.remote_callbacks(cb);
        let result = remote.push(&specs, Some(&mut po));
        if let Some(why) = moved.borrow().clone() {
            return Ok(Pushed::Moved(why));
        }
        result.map_err(|e| classify(&format!("push to {} failed", target.describe()), &e))?;
    }
    let (objects, bytes) = progress.get();
    Ok(Pushed::Sent {
        statuses: statuses.into_inner(),
        bytes,
        objects,
    })
}

/// The directory of the cache of `repository` in `region` under `root`.
pub fn cache_dir(root: &Path, region: &str, repository: &str) -> PathBuf {
    root.join(region).join(format!("{repository}.git"))
}
