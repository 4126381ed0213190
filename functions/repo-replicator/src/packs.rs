//! The packs a push sends, built from the cache: once per set of wanted and held objects and
//! shared by the replicas that need the same objects (the second replica waits for the first
//! build), with libgit2's `PackBuilder` on every core; or, for an empty replica when the cache
//! is one pack and nothing else, that pack file as it is (no delta search at all: the deltas
//! the source's pack had are sent again). Built packs are temporary files under the cache
//! root, removed when the last push that uses them is done. Builds read the cache as a
//! [`Reading`] (no compaction or eviction under them); the cache's own pack keeps it while sent.

use std::collections::HashMap;
use std::fs;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use git2::{ObjectType, Repository};

use crate::cache::Reading;
use crate::ports::MirrorError;
use crate::refs::ObjectId;
use crate::store::{is_loose_object_dir, oid};

pub(crate) mod novel;

/// The pack git sends when there is nothing to send: the header of an empty pack and its SHA-1.
pub const EMPTY_PACK: [u8; 32] = [
    b'P', b'A', b'C', b'K', 0, 0, 0, 2, 0, 0, 0, 0, 0x02, 0x9d, 0x08, 0x82, 0x3b, 0xd8, 0xa8, 0xea,
    0xb5, 0x10, 0xad, 0x6a, 0xc7, 0x5c, 0x82, 0x3c, 0xfd, 0x3e, 0xd3, 0x1e,
];

/// Where a pack's bytes are.
#[derive(Debug)]
pub enum PackContent {
    /// No objects: [`EMPTY_PACK`].
    Empty,
    /// A file of the cache itself (never removed here).
    CachePack(PathBuf),
    /// A temporary file, removed on drop.
    Temporary(PathBuf),
}

/// One pack ready to send.
#[derive(Debug)]
pub struct Pack {
    pub content: PackContent,
    pub objects: u64,
    pub bytes: u64,
    /// How it was made, for logs: `empty`, `cache pack as is`, `built`.
    pub how: &'static str,
    /// Objects whose whole history a replica holds once it received this pack (every ref
    /// of the cache for the cache's own pack): later pushes need not send it again.
    pub covers: Vec<ObjectId>,
    /// For the cache's own pack file: the cache is being read while the pack lives (until the
    /// last push sending it is done), so no compaction or eviction removes the file.
    pub reading: Option<Reading>,
}

impl Pack {
    /// No objects to send ([`EMPTY_PACK`]); the replica then holds `covers`.
    fn empty(covers: Vec<ObjectId>) -> Self {
        Pack {
            content: PackContent::Empty,
            objects: 0,
            bytes: EMPTY_PACK.len() as u64,
            how: "empty",
            covers,
            reading: None,
        }
    }
}

impl Drop for Pack {
    fn drop(&mut self) {
        if let PackContent::Temporary(path) = &self.content
            && let Err(e) = fs::remove_file(path)
        {
            tracing::warn!(pack = %path.display(), error = %e, "cannot remove a temporary pack");
        }
    }
}

/// What a pack is for: the cache, the objects wanted, the objects the replica holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackKey {
    pub cache: PathBuf,
    pub wants: Vec<ObjectId>,
    pub haves: Vec<ObjectId>,
    /// The replica accepts `ofs-delta`, so the cache's own pack may go as it is.
    pub ofs_delta: bool,
}

impl PackKey {
    /// The key of `wants` and `haves` (sorted, without repeats).
    pub fn new(
        cache: &Path,
        wants: impl IntoIterator<Item = ObjectId>,
        haves: impl IntoIterator<Item = ObjectId>,
    ) -> Self {
        let set = |i: &mut dyn Iterator<Item = ObjectId>| {
            let mut v: Vec<ObjectId> = i.collect();
            v.sort();
            v.dedup();
            v
        };
        Self {
            cache: cache.to_path_buf(),
            wants: set(&mut wants.into_iter()),
            haves: set(&mut haves.into_iter()),
            ofs_delta: false,
        }
    }

    /// The same key for a replica that does (or does not) accept `ofs-delta`.
    pub fn with_ofs_delta(mut self, ofs_delta: bool) -> Self {
        self.ofs_delta = ofs_delta;
        self
    }
}

type Slot = tokio::sync::OnceCell<Arc<Pack>>;

/// A pack in use; the pack (and its file) lives while some push holds it.
#[derive(Debug, Clone)]
pub struct SharedPack {
    _slot: Arc<Slot>,
    pub pack: Arc<Pack>,
}

/// The packs being built or sent, by key.
#[derive(Debug, Default)]
pub struct PackMemo {
    slots: Mutex<HashMap<PackKey, Weak<Slot>>>,
}

impl PackMemo {
    /// The pack for `key`: built by `build` unless another push builds or holds it already
    /// (then this waits for that build). A failed build is not shared: the next caller tries.
    pub async fn get<F, Fut>(&self, key: PackKey, build: F) -> Result<SharedPack, MirrorError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Pack, MirrorError>>,
    {
        let slot = {
            let mut slots = self
                .slots
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            slots.retain(|_, w| w.strong_count() > 0);
            match slots.get(&key).and_then(Weak::upgrade) {
                Some(s) => s,
                None => {
                    let s = Arc::new(Slot::new());
                    slots.insert(key, Arc::downgrade(&s));
                    s
                }
            }
        };
        let pack = slot
            .get_or_try_init(|| async { build().await.map(Arc::new) })
            .await?
            .clone();
        Ok(SharedPack { _slot: slot, pack })
    }

    /// How many packs are held now (tests).
    pub fn live(&self) -> usize {
        let slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slots.values().filter(|w| w.strong_count() > 0).count()
    }
}

fn failed(what: &str, e: impl std::fmt::Display) -> MirrorError {
    MirrorError::Failed(format!("{what}: {e}"))
}

fn git_failed(what: &str) -> impl Fn(git2::Error) -> MirrorError + '_ {
    move |e| failed(what, e.message())
}

/// [`build`] on the cache at `key.cache`, as a reader of it (see [`crate::cache::Reading`]:
/// waiting at most `wait` for a compaction or an eviction to end): no file of the cache is
/// removed while the pack is built, and, when the pack is the cache's own pack file, while it
/// lives (the guard goes with it).
pub fn build_reading(key: &PackKey, temp_dir: &Path, wait: Duration) -> Result<Pack, MirrorError> {
    let reading = Reading::start(&key.cache, wait)?;
    let mut pack = {
        let cache = crate::store::read_cache(&key.cache)?;
        build(&cache, key, temp_dir)?
    };
    if matches!(pack.content, PackContent::CachePack(_)) {
        pack.reading = Some(reading);
    }
    Ok(pack)
}

/// The pack that brings a replica holding `haves` to `wants` (objects the cache lacks are left
/// out: the replica holds them, e.g. a backup of its own old value). `temp_dir` receives built
/// packs.
pub fn build(cache: &Repository, key: &PackKey, temp_dir: &Path) -> Result<Pack, MirrorError> {
    let started = Instant::now();
    let mut wants = Vec::new();
    for w in &key.wants {
        if key.haves.binary_search(w).is_ok() {
            continue;
        }
        if let Ok(o) = cache.find_object(oid(w)?, None) {
            wants.push(o);
        }
    }
    if wants.is_empty() {
        return Ok(Pack::empty(key.wants.clone()));
    }
    let mut hidden = Vec::new();
    for h in &key.haves {
        if let Ok(c) = cache
            .find_object(oid(h)?, None)
            .and_then(|o| o.peel(ObjectType::Commit))
        {
            hidden.push(c.id());
        }
    }
    if hidden.is_empty()
        && key.ofs_delta
        && let Some(pack) = sendable_whole(cache)?
    {
        tracing::info!(pack = %pack.display(), "sending the cache's pack as it is");
        let covers = crate::store::local_refs(cache)?
            .into_values()
            .chain(key.wants.iter().cloned())
            .collect();
        return whole(pack, covers);
    }
    let mut pb = cache
        .packbuilder()
        .map_err(git_failed("cannot start a pack"))?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    pb.set_threads(u32::try_from(cores).unwrap_or(1));
    let mut walk = cache
        .revwalk()
        .map_err(git_failed("cannot walk the cache"))?;
    let mut commits = Vec::new();
    for mut o in wants {
        // Tags (of tags) are sent themselves, then what they point at.
        while o.kind() == Some(ObjectType::Tag) {
            pb.insert_object(o.id(), None)
                .map_err(git_failed("cannot add a tag to a pack"))?;
            let Some(t) = o.as_tag().map(|t| t.target_id()) else {
                break;
            };
            o = cache
                .find_object(t, None)
                .map_err(git_failed("a tag's target is missing from the cache"))?;
        }
        match o.kind() {
            Some(ObjectType::Commit) => {
                commits.push(o.id());
            }
            Some(ObjectType::Tree) => pb
                .insert_tree(o.id())
                .map_err(git_failed("cannot add a tree to a pack"))?,
            _ => pb
                .insert_object(o.id(), None)
                .map_err(git_failed("cannot add an object to a pack"))?,
        }
    }
    // An update of a replica that holds history: only the commits and tree entries it lacks
    // (libgit2's walk would first mark the whole held history).
    let novel = if hidden.is_empty() || commits.is_empty() {
        None
    } else {
        novel::objects(cache, &commits, &hidden).map_err(git_failed("cannot walk the cache"))?
    };
    if let Some(objects) = novel {
        for id in objects {
            pb.insert_object(id, None)
                .map_err(git_failed("cannot add an object to a pack"))?;
        }
    } else if !commits.is_empty() {
        for c in commits {
            walk.push(c).map_err(git_failed("cannot walk the cache"))?;
        }
        for h in hidden {
            walk.hide(h).map_err(git_failed("cannot walk the cache"))?;
        }
        pb.insert_walk(&mut walk)
            .map_err(git_failed("cannot add history to a pack"))?;
    }
    let objects = pb.object_count() as u64;
    if objects == 0 {
        return Ok(Pack::empty(key.wants.clone()));
    }
    let path = temp_path(temp_dir)?;
    // Removed on drop from here on, whatever happens.
    let mut pack = Pack {
        content: PackContent::Temporary(path.clone()),
        objects,
        bytes: 0,
        how: "built",
        covers: key.wants.clone(),
        reading: None,
    };
    let file = fs::File::create(&path)
        .map_err(|e| failed(&format!("cannot create {}", path.display()), e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut write_error = None;
    pb.foreach(|chunk| match out.write_all(chunk) {
        Ok(()) => true,
        Err(e) => {
            write_error = Some(e);
            false
        }
    })
    .map_err(git_failed("cannot write a pack"))?;
    if let Some(e) = write_error {
        return Err(failed(&format!("cannot write {}", path.display()), e));
    }
    out.flush()
        .map_err(|e| failed(&format!("cannot write {}", path.display()), e))?;
    pack.bytes = fs::metadata(&path)
        .map_err(|e| failed(&format!("cannot read {}", path.display()), e))?
        .len();
    tracing::info!(
        objects,
        bytes = pack.bytes,
        millis = started.elapsed().as_millis() as u64,
        "built a pack"
    );
    Ok(pack)
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// A temporary pack older than this is a crashed run's leftover (no push lasts that long).
pub const STALE_TEMP_PACK: Duration = Duration::from_secs(3 * 3600);

/// Removes the temporary packs under `dir` older than [`STALE_TEMP_PACK`].
pub fn remove_stale(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMP_PACK);
        let ours = entry.file_name().to_string_lossy().starts_with("push-");
        if old && ours {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// A new temporary pack file name under `dir` (created; stale leftovers removed).
fn temp_path(dir: &Path) -> Result<PathBuf, MirrorError> {
    fs::create_dir_all(dir).map_err(|e| failed(&format!("cannot create {}", dir.display()), e))?;
    remove_stale(dir);
    let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    Ok(dir.join(format!("push-{}-{n}-{nanos}.pack", std::process::id())))
}

/// The most the cache's own pack may weigh to go as it is in one push (a first copy of a
/// larger repository goes in slices of built packs, so that it progresses across invocations).
pub const WHOLE_PACK_MAX_BYTES: u64 = 2 << 30;

/// The cache's single pack, when it may go as it is (see [`single_pack`]) and is no larger
/// than [`WHOLE_PACK_MAX_BYTES`].
pub fn sendable_whole(cache: &Repository) -> Result<Option<PathBuf>, MirrorError> {
    Ok(single_pack(cache)?
        .filter(|p| fs::metadata(p).is_ok_and(|m| m.len() <= WHOLE_PACK_MAX_BYTES)))
}

/// The cache's pack when it holds every object of the cache: exactly one complete pack
/// (`pack-<id>.pack` with its index), no loose object, no alternates.
pub fn single_pack(cache: &Repository) -> Result<Option<PathBuf>, MirrorError> {
    let objects = cache.path().join("objects");
    if objects.join("info/alternates").exists() {
        return Ok(None);
    }
    let read = |dir: &Path| {
        fs::read_dir(dir).map_err(|e| failed(&format!("cannot read {}", dir.display()), e))
    };
    for entry in read(&objects)? {
        let entry = entry.map_err(|e| failed("cannot read the cache's objects", e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if is_loose_object_dir(&name) && read(&entry.path())?.next().is_some() {
            return Ok(None);
        }
    }
    let mut packs = Vec::new();
    for entry in read(&objects.join("pack"))? {
        let path = entry
            .map_err(|e| failed("cannot read the cache's packs", e))?
            .path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with("pack-") && name.ends_with(".pack") {
            packs.push(path);
        }
    }
    Ok(match packs.as_slice() {
        [one] if one.with_extension("idx").exists() => Some(one.clone()),
        _ => None,
    })
}

/// `path`, a pack of the cache, to be sent as is.
fn whole(path: PathBuf, covers: Vec<ObjectId>) -> Result<Pack, MirrorError> {
    let mut header = [0u8; 12];
    let mut f =
        fs::File::open(&path).map_err(|e| failed(&format!("cannot open {}", path.display()), e))?;
    f.read_exact(&mut header)
        .map_err(|e| failed(&format!("cannot read {}", path.display()), e))?;
    let (objects, version) = pack_header(&header)
        .ok_or_else(|| MirrorError::Failed(format!("{} is not a pack", path.display())))?;
    if !(2..=3).contains(&version) {
        return Err(MirrorError::Failed(format!(
            "{} is a pack of version {version}",
            path.display()
        )));
    }
    let bytes = f
        .metadata()
        .map_err(|e| failed(&format!("cannot read {}", path.display()), e))?
        .len();
    Ok(Pack {
        content: PackContent::CachePack(path),
        objects: u64::from(objects),
        bytes,
        how: "cache pack as is",
        covers,
        reading: None,
    })
}

/// (object count, version) of a pack header.
pub fn pack_header(header: &[u8]) -> Option<(u32, u32)> {
    let h = header.get(..12)?;
    if &h[..4] != b"PACK" {
        return None;
    }
    let word = |i: usize| {
        h.get(i..i + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes)
    };
    Some((word(8)?, word(4)?))
}

#[cfg(test)]
#[path = "packs_test.rs"]
mod tests;
