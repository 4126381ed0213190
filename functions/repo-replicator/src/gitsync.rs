//! The cache side of replication, on libgit2: a bare cache of the source repository that
//! survives warm invocations, an incremental fetch into it, and the questions asked of its
//! history (how a ref move relates old and new values, where to slice a long history).
//! Listings and pushes go over [`crate::smart`]; packs are made by [`crate::packs`].
//!
//! Everything here blocks; [`crate::mirror`] runs it on tokio's blocking pool. The decisions
//! (what to push, when to plan again) are made by [`crate::plan`] and [`crate::sync`].

use std::cell::Cell;
use std::path::Path;
use std::time::{Instant, SystemTime};

use git2::{
    AutotagOption, Cred, CredentialType, FetchOptions, FetchPrune, Oid, RemoteCallbacks, Repository,
};

use crate::endpoints::GitTarget;
use crate::ports::{Fetched, MirrorError, Relation};
use crate::refs::{ObjectId, is_mirrored};
use crate::signing::{AwsKeys, git_credentials};
pub use crate::store::{cache_dir, local_refs, object_id, oid, open_cache, read_cache};

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

/// Runs `f` on the existing cache at `dir` outside its lock, as a reader: a
/// [`crate::cache::Reading`] guard (waiting at most `wait` for a compaction or an eviction to
/// end) keeps the cache's files from being removed until `f` is done.
pub fn reading<T>(
    dir: &Path,
    wait: std::time::Duration,
    f: impl FnOnce(&Repository) -> Result<T, MirrorError>,
) -> Result<T, MirrorError> {
    let _reading = crate::cache::Reading::start(dir, wait)?;
    let cache = read_cache(dir)?;
    f(&cache)
}

/// How many times a fetch is tried when the source moved a tip between libgit2's listing and
/// its request for the objects (see [`is_moved_tip`]).
pub const FETCH_ATTEMPTS: u32 = 3;

/// The source's mirrored refs as one listing saw them.
type Listing = std::collections::BTreeMap<String, Oid>;

fn listing(heads: &[git2::RemoteHead<'_>]) -> Listing {
    heads
        .iter()
        .filter(|h| is_mirrored(h.name()))
        .map(|h| (h.name().to_owned(), h.oid()))
        .collect()
}

/// Whether a fetch failed the way a fetch over HTTP fails when the source moved or deleted a
/// tip after libgit2 listed it and before its request for that tip arrived: `git upload-pack`
/// answers `not our ref <id>` and stops, which libgit2 reports as the end of the stream in
/// the middle of the negotiation (or, from a server that sends it, as the remote's error).
pub fn is_moved_tip(e: &git2::Error) -> bool {
    e.class() == git2::ErrorClass::Net
        && (e.code() == git2::ErrorCode::Eof
            && e.message() == "could not read from remote repository"
            || e.message().contains("not our ref"))
}

/// Whether a failed fetch should be tried again: it failed as [`is_moved_tip`] says, and the
/// source's refs now differ from the listing the fetch went by (so a tip did move).
pub fn retry_fetch(e: &git2::Error, used: Option<&Listing>, now: Option<&Listing>) -> bool {
    is_moved_tip(e) && matches!((used, now), (Some(u), Some(n)) if u != n)
}

/// One fetch; on failure, the error and the listing libgit2 went by (when it got that far).
fn fetch_once(
    cache: &Repository,
    source: &GitTarget,
    keys: &AwsKeys,
) -> Result<(u64, u64), (git2::Error, Option<Listing>)> {
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
        .map_err(|e| (e, None))?;
    if let Err(e) = remote.fetch(
        &["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
        Some(&mut fo),
        None,
    ) {
        // libgit2 keeps the advertisement it fetched by after the connection closed.
        let used = remote.list().ok().map(listing);
        return Err((e, used));
    }
    let stats = remote.stats();
    let (bytes, objects) = received.get();
    Ok((
        bytes.max(stats.received_bytes() as u64),
        objects.max(stats.received_objects() as u64),
    ))
}

/// The source's mirrored refs now (one ref advertisement).
fn list_source(
    cache: &Repository,
    source: &GitTarget,
    keys: &AwsKeys,
) -> Result<Listing, git2::Error> {
    let asked = Cell::new(0);
    let mut remote = cache.remote_anonymous(&source.url())?;
    let connection = remote.connect_auth(
        git2::Direction::Fetch,
        Some(signed_callbacks(keys, source, &asked)),
        None,
    )?;
    Ok(listing(connection.list()?))
}

/// Makes the cache's branches and tags equal to the source's: fetches what the cache lacks,
/// moves refs (forced) and prunes refs the source no longer has. A fetch that lost a race with
/// a force push or a delete at the source (see [`retry_fetch`]) is tried again, listing the
/// source again, up to [`FETCH_ATTEMPTS`] times.
pub fn fetch_source(
    cache: &Repository,
    source: &GitTarget,
    keys: &AwsKeys,
) -> Result<Fetched, MirrorError> {
    let started = Instant::now();
    let mut attempt = 1;
    let (bytes, objects) = loop {
        match fetch_once(cache, source, keys) {
            Ok(done) => break done,
            Err((e, used)) => {
                let now = if attempt < FETCH_ATTEMPTS && used.is_some() && is_moved_tip(&e) {
                    list_source(cache, source, keys)
                        .inspect_err(|le| {
                            tracing::warn!(source = %source.describe(), error = %le.message(), "cannot list the source again after a failed fetch")
                        })
                        .ok()
                } else {
                    None
                };
                if retry_fetch(&e, used.as_ref(), now.as_ref()) {
                    tracing::warn!(
                        source = %source.describe(),
                        attempt,
                        error = %e.message(),
                        "the source moved a ref while it was fetched; fetching again"
                    );
                    attempt += 1;
                    continue;
                }
                return Err(classify(
                    &format!("fetch from {} failed", source.describe()),
                    &e,
                ));
            }
        }
    };
    Ok(Fetched {
        refs: local_refs(cache)?,
        bytes,
        objects,
        millis: started.elapsed().as_millis() as u64,
    })
}

/// The commit `id` peels to in the cache: `None` when the cache lacks the object, or when it
/// is not (a tag of) a commit.
fn peeled_commit(cache: &Repository, id: &ObjectId) -> Result<Option<Oid>, MirrorError> {
    let Ok(object) = cache.find_object(oid(id)?, None) else {
        return Ok(None);
    };
    Ok(object.peel(git2::ObjectType::Commit).ok().map(|c| c.id()))
}

/// How `new` relates to `old` in the cache's history (annotated tags peeled to commits; two
/// ids that peel to the same commit are `Same`).
pub fn relation(
    cache: &Repository,
    old: &ObjectId,
    new: &ObjectId,
) -> Result<Relation, MirrorError> {
    if old == new {
        return Ok(Relation::Same);
    }
    let (Some(o), Some(n)) = (peeled_commit(cache, old)?, peeled_commit(cache, new)?) else {
        return Ok(Relation::Unknown);
    };
    let descends = |a: Oid, b: Oid| {
        cache.graph_descendant_of(a, b).map_err(|e| {
            MirrorError::Failed(format!(
                "cannot compare {a} with {b} in the cache: {}",
                e.message()
            ))
        })
    };
    Ok(if o == n {
        Relation::Same
    } else if descends(n, o)? {
        Relation::FastForward
    } else if descends(o, n)? {
        Relation::Rewind
    } else {
        Relation::Diverged
    })
}

/// Slice points for sending `tip`'s history to a replica holding `have` (see
/// [`crate::ports::Mirror::slices`]): commits on tip's first-parent line, oldest first, one
/// every `max_commits` commits the replica lacks (counted in a topological walk, so a merge's
/// side history counts towards the point that brings it), the last being `tip` itself. A
/// replica holding none of it while the cache is one pack small enough to send as it is
/// gets `[tip]`: that pack goes whole, with no delta search, whatever the history's length.
pub fn slices(
    cache: &Repository,
    tip: &ObjectId,
    have: &[ObjectId],
    max_commits: usize,
) -> Result<Vec<ObjectId>, MirrorError> {
    let walk_error = |e: git2::Error| {
        MirrorError::Failed(format!("cannot walk the cache's history: {}", e.message()))
    };
    let Some(tip_commit) = peeled_commit(cache, tip)? else {
        if cache.find_object(oid(tip)?, None).is_ok() {
            return Ok(vec![tip.clone()]);
        }
        return Err(MirrorError::Failed(format!("the cache lacks {tip}")));
    };
    let mut hidden = Vec::new();
    for h in have {
        if let Some(c) = peeled_commit(cache, h)? {
            hidden.push(c);
        }
    }
    // A replica holding nothing of this history gets the cache's own pack as it is (no
    // delta search, see `packs::build`): slicing would only add round trips.
    if hidden.is_empty() && crate::packs::sendable_whole(cache)?.is_some() {
        return Ok(vec![tip.clone()]);
    }
    // An update of a few commits (the usual case) needs one push: found without libgit2's
    // walk, which first marks the whole held history.
    if !hidden.is_empty()
        && crate::packs::novel::new_commits(cache, &[tip_commit], &hidden, max_commits)
            .map_err(walk_error)?
            .is_some()
    {
        return Ok(vec![tip.clone()]);
    }
    // The first-parent line the replica lacks.
    let mut line = std::collections::HashSet::new();
    let mut fp = cache.revwalk().map_err(walk_error)?;
    fp.simplify_first_parent().map_err(walk_error)?;
    fp.push(tip_commit).map_err(walk_error)?;
    for h in &hidden {
        fp.hide(*h).map_err(walk_error)?;
    }
    for c in fp {
        line.insert(c.map_err(walk_error)?);
    }
    let mut all = cache.revwalk().map_err(walk_error)?;
    all.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
        .map_err(walk_error)?;
    all.push(tip_commit).map_err(walk_error)?;
    for h in &hidden {
        all.hide(*h).map_err(walk_error)?;
    }
    let (mut points, mut since) = (Vec::new(), 0usize);
    for c in all {
        let c = c.map_err(walk_error)?;
        since += 1;
        if since >= max_commits.max(1) && line.contains(&c) && c != tip_commit {
            points.push(object_id(c));
            since = 0;
        }
    }
    points.push(tip.clone());
    Ok(points)
}

#[cfg(test)]
#[path = "gitsync_test.rs"]
pub(crate) mod tests;
