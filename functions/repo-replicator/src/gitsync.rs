//! The git side of replication, on libgit2: a bare cache of the source repository that
//! survives warm invocations, an incremental fetch into it, and per-replica pushes of only
//! the refs that differ, guarded by a compare-and-swap on each ref's old value.
//!
//! Everything here blocks; the handler runs it on tokio's blocking pool.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use git2::{
    AutotagOption, Cred, CredentialType, Direction, FetchOptions, FetchPrune, Oid, PushOptions,
    RemoteCallbacks, Repository,
};

use crate::signing::{AwsKeys, git_credentials};

/// The refs a mirror carries: branches and tags (CodeCommit has no others).
const MIRRORED: [&str; 2] = ["refs/heads/", "refs/tags/"];

/// Where one repository is reached over git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitTarget {
    /// The region the repository lives in (part of the signature).
    pub region: String,
    /// The repository name.
    pub repository: String,
    /// The host the password is signed for (`git-codecommit.<region>.amazonaws.com`, a FIPS or VPC endpoint host).
    pub signed_host: String,
    /// Scheme, host and optional path prefix the connection goes to (`https://<signed_host>` unless overridden).
    pub connect_base: String,
}

impl GitTarget {
    /// `/v1/repos/<name>`: the signed path.
    pub fn path(&self) -> String {
        format!("/v1/repos/{}", self.repository)
    }
    pub fn url(&self) -> String {
        format!("{}{}", self.connect_base.trim_end_matches('/'), self.path())
    }
    /// Where the repository is, for messages (never with credentials).
    pub fn describe(&self) -> String {
        format!("{} in {}", self.repository, self.region)
    }
}

/// Why a git step failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitFailure {
    /// The server refused the signed credentials or the repository is not there (401, 403, 404).
    Refused(String),
    /// Anything else: network, protocol, rejected refs, local cache problems.
    Failed(String),
}

impl std::fmt::Display for GitFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitFailure::Refused(m) | GitFailure::Failed(m) => f.write_str(m),
        }
    }
}

fn classify(context: &str, e: &git2::Error) -> GitFailure {
    let msg = format!("{context}: {}", e.message());
    let lower = e.message().to_ascii_lowercase();
    if e.class() == git2::ErrorClass::Http
        && (lower.contains("401")
            || lower.contains("403")
            || lower.contains("404")
            || lower.contains("authentication"))
        || e.code() == git2::ErrorCode::Auth
    {
        GitFailure::Refused(msg)
    } else {
        GitFailure::Failed(msg)
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
        let c = git_credentials(keys, &target.signed_host, &target.path(), &target.region, SystemTime::now());
        Cred::userpass_plaintext(&c.username, &c.password)
    });
    cb
}

/// Opens the bare cache at `dir`, creating it (or recreating it when it is unreadable).
pub fn open_cache(dir: &Path) -> Result<Repository, GitFailure> {
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
        GitFailure::Failed(format!("cannot create the cache {}: {e}", dir.display()))
    })?;
    Repository::init_bare(dir).map_err(|e| {
        GitFailure::Failed(format!(
            "cannot create the cache {}: {}",
            dir.display(),
            e.message()
        ))
    })
}

/// What a fetch from the source brought.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchStats {
    pub bytes: u64,
    pub objects: u64,
    pub millis: u64,
}

/// Makes the cache's branches and tags equal to the source's: fetches what the cache lacks,
/// moves refs (forced) and prunes refs the source no longer has.
pub fn fetch_source(
    cache: &Repository,
    source: &GitTarget,
    keys: &AwsKeys,
) -> Result<FetchStats, GitFailure> {
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
    Ok(FetchStats {
        bytes: bytes.max(stats.received_bytes() as u64),
        objects: objects.max(stats.received_objects() as u64),
        millis: started.elapsed().as_millis() as u64,
    })
}

/// The mirrored refs of the cache: name → object id.
pub fn local_refs(cache: &Repository) -> Result<BTreeMap<String, Oid>, GitFailure> {
    let mut out = BTreeMap::new();
    let refs = cache.references().map_err(|e| {
        GitFailure::Failed(format!("cannot read the cache's refs: {}", e.message()))
    })?;
    for r in refs {
        let r =
            r.map_err(|e| GitFailure::Failed(format!("cannot read a cache ref: {}", e.message())))?;
        let (Ok(name), Some(oid)) = (r.name(), r.target()) else {
            continue;
        };
        if MIRRORED.iter().any(|p| name.starts_with(p)) {
            out.insert(name.to_owned(), oid);
        }
    }
    Ok(out)
}

/// The mirrored refs a remote advertises for pushing.
fn remote_refs(
    cache: &Repository,
    target: &GitTarget,
    keys: &AwsKeys,
) -> Result<BTreeMap<String, Oid>, GitFailure> {
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
) -> Result<BTreeMap<String, Oid>, GitFailure> {
    let heads = conn.list().map_err(|e| {
        classify(
            &format!("cannot list the refs of {}", target.describe()),
            &e,
        )
    })?;
    Ok(heads
        .iter()
        .filter(|h| MIRRORED.iter().any(|p| h.name().starts_with(p)) && !h.name().ends_with("^{}"))
        .map(|h| (h.name().to_owned(), h.oid()))
        .collect())
}

/// One ref to change on a replica: from `old` (what the replica had when listed) to `new`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefChange {
    pub name: String,
    pub old: Option<Oid>,
    pub new: Option<Oid>,
}

/// The changes that make `replica` equal to `source`, deletions last.
pub fn plan(source: &BTreeMap<String, Oid>, replica: &BTreeMap<String, Oid>) -> Vec<RefChange> {
    let mut changes: Vec<RefChange> = source
        .iter()
        .filter(|(name, oid)| replica.get(*name) != Some(oid))
        .map(|(name, oid)| RefChange {
            name: name.clone(),
            old: replica.get(name).copied(),
            new: Some(*oid),
        })
        .collect();
    changes.extend(
        replica
            .iter()
            .filter(|(name, _)| !source.contains_key(*name))
            .map(|(name, oid)| RefChange {
                name: name.clone(),
                old: Some(*oid),
                new: None,
            }),
    );
    changes
}

/// How pushes to a replica are done.
#[derive(Debug, Clone, Copy)]
pub struct PushLimits {
    /// Ref changes per push (CodeCommit accepts at most 4,000).
    pub max_refs_per_push: usize,
    /// How often to list again and retry when the replica moved between listing and pushing.
    pub cas_retries: u32,
}

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

/// Makes the replica's branches and tags equal to the cache's.
pub fn sync_replica(
    cache: &Repository,
    target: &GitTarget,
    keys: &AwsKeys,
    limits: PushLimits,
) -> Result<ReplicaStats, GitFailure> {
    let started = Instant::now();
    let mut stats = ReplicaStats::default();
    let source = local_refs(cache)?;
    'attempt: loop {
        // One connection lists the replica and carries the first push: a round trip (and a
        // TLS handshake) fewer per replica. Later batches connect again.
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
        if source.is_empty() && !replica.is_empty() {
            return Err(GitFailure::Failed(format!(
                "the source has no branches or tags; refusing to delete every ref of {}",
                target.describe()
            )));
        }
        let changes = plan(&source, &replica);
        for (i, batch) in changes.chunks(limits.max_refs_per_push.max(1)).enumerate() {
            let outcome = if i == 0 {
                push_batch(cache, conn.remote(), target, keys, batch, &mut stats)?
            } else {
                let mut remote = cache
                    .remote_anonymous(&target.url())
                    .map_err(|e| classify("cannot set up the replica remote", &e))?;
                push_batch(cache, &mut remote, target, keys, batch, &mut stats)?
            };
            match outcome {
                BatchOutcome::Done => {}
                BatchOutcome::Moved(why) => {
                    if stats.cas_retries >= limits.cas_retries {
                        return Err(GitFailure::Failed(format!(
                            "{} kept moving while it was being updated ({why}); gave up after {} retries",
                            target.describe(),
                            stats.cas_retries
                        )));
                    }
                    stats.cas_retries += 1;
                    tracing::info!(replica = %target.describe(), reason = %why, "replica moved since it was listed; planning again");
                    continue 'attempt;
                }
            }
        }
        stats.millis = started.elapsed().as_millis() as u64;
        return Ok(stats);
    }
}

enum BatchOutcome {
    Done,
    /// The replica's ref was not at the value the plan was made from.
    Moved(String),
}

fn oid_or_none(oid: Oid) -> Option<Oid> {
    if oid.is_zero() { None } else { Some(oid) }
}

fn push_batch(
    cache: &Repository,
    remote: &mut git2::Remote<'_>,
    target: &GitTarget,
    keys: &AwsKeys,
    batch: &[RefChange],
    stats: &mut ReplicaStats,
) -> Result<BatchOutcome, GitFailure> {
    let expected: HashMap<&str, Option<Oid>> =
        batch.iter().map(|c| (c.name.as_str(), c.old)).collect();
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
                    Some(exp) if *exp == seen => {}
                    _ => {
                        *moved.borrow_mut() = Some(format!(
                            "{name} was expected at {} but is at {}",
                            expected
                                .get(name)
                                .copied()
                                .flatten()
                                .map_or("nothing".into(), |o| o.to_string()),
                            seen.map_or("nothing".into(), |o| o.to_string())
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
            return Ok(BatchOutcome::Moved(why));
        }
        result.map_err(|e| classify(&format!("push to {} failed", target.describe()), &e))?;
    }
    stats.pushes += 1;
    let (objects, bytes) = progress.get();
    stats.objects += objects;
    stats.bytes += bytes;
    // `push` succeeds even when the server rejected refs: every status must be checked.
    let statuses = statuses.into_inner();
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
            Some((name, Some(msg))) => rejected.push(format!("{name}: {msg}")),
            None => rejected.push(format!("{}: the server did not report on it", change.name)),
        }
    }
    if rejected.is_empty() {
        return Ok(BatchOutcome::Done);
    }
    // A rejected ref may have moved between the advertisement and the update (the server
    // compares each ref with the old value the push names): look at the replica again.
    // Refs that are no longer at the value the plan was made from are a compare-and-swap
    // miss, planned again; anything else is a real rejection.
    let now = remote_refs(cache, target, keys)?;
    let moved = batch.iter().any(|c| {
        rejected
            .iter()
            .any(|r| r.starts_with(&format!("{}: ", c.name)))
            && now.get(&c.name).copied() != c.old
    });
    if moved {
        Ok(BatchOutcome::Moved(rejected.join("; ")))
    } else {
        Err(GitFailure::Failed(format!(
            "{} rejected: {}",
            target.describe(),
            rejected.join("; ")
        )))
    }
}

/// The directory of the cache of `repository` in `region` under `root`.
pub fn cache_dir(root: &Path, region: &str, repository: &str) -> PathBuf {
    root.join(region).join(format!("{repository}.git"))
}

#[cfg(test)]
#[path = "gitsync_test.rs"]
mod tests;
