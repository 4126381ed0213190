//! Unit tests of `cache.rs`: real directories, real libgit2 repositories, real file locks.

use super::*;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;

use git2::{ObjectType, Oid, Signature};

/// A directory removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "codehooks-cache-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const MIB: u64 = 1024 * 1024;

/// A bare cache at `root/region/name.git` holding `bytes` of filler, last used `age` ago.
fn cache_of(root: &Path, name: &str, bytes: u64, age: Duration) -> PathBuf {
    let dir = root.join("us-east-1").join(format!("{name}.git"));
    Repository::init_bare(&dir).unwrap();
    fs::write(
        dir.join("objects").join("filler"),
        vec![7u8; bytes as usize],
    )
    .unwrap();
    let marker = File::create(dir.join(USED_MARKER)).unwrap();
    marker.set_modified(SystemTime::now() - age).unwrap();
    dir
}

fn bounds(budget_bytes: u64) -> CacheBounds {
    CacheBounds {
        budget_bytes,
        stale_lock_after: Duration::from_secs(600),
        lock_wait: Duration::from_secs(5),
        max_packs: 50,
    }
}

#[test]
fn bounds_default_to_three_quarters_of_the_ephemeral_storage() {
    let mut env = Env::from_pairs(Vec::<(String, String)>::new());
    let b = CacheBounds::read(&mut env);
    env.finish().unwrap();
    assert_eq!(b, CacheBounds::default());
    assert_eq!(b.budget_bytes, 384 * MIB);

    let mut env = Env::from_pairs([("CODEHOOKS_EPHEMERAL_MB", "2048")]);
    assert_eq!(CacheBounds::read(&mut env).budget_bytes, 1536 * MIB);
    let mut env = Env::from_pairs([
        ("CODEHOOKS_EPHEMERAL_MB", "2048"),
        ("CODEHOOKS_CACHE_BUDGET_MB", "100"),
        ("CODEHOOKS_STALE_LOCK_SECONDS", "60"),
        ("CODEHOOKS_CACHE_LOCK_WAIT_SECONDS", "0"),
        ("CODEHOOKS_CACHE_MAX_PACKS", "8"),
    ]);
    let b = CacheBounds::read(&mut env);
    env.finish().unwrap();
    assert_eq!(
        b,
        CacheBounds {
            budget_bytes: 100 * MIB,
            stale_lock_after: Duration::from_secs(60),
            lock_wait: Duration::ZERO,
            max_packs: 8,
        }
    );
}

#[test]
fn wrong_bounds_are_named() {
    let mut env = Env::from_pairs([
        ("CODEHOOKS_EPHEMERAL_MB", "100"),
        ("CODEHOOKS_CACHE_BUDGET_MB", "lots"),
        ("CODEHOOKS_STALE_LOCK_SECONDS", "1"),
        ("CODEHOOKS_CACHE_LOCK_WAIT_SECONDS", "-3"),
        ("CODEHOOKS_CACHE_MAX_PACKS", "1"),
    ]);
    let b = CacheBounds::read(&mut env);
    assert_eq!(b, CacheBounds::default());
    let err = env.finish().unwrap_err().to_string();
    for v in [
        "CODEHOOKS_EPHEMERAL_MB",
        "CODEHOOKS_CACHE_BUDGET_MB",
        "CODEHOOKS_STALE_LOCK_SECONDS",
        "CODEHOOKS_CACHE_LOCK_WAIT_SECONDS",
        "CODEHOOKS_CACHE_MAX_PACKS",
    ] {
        assert!(err.contains(v), "{v} missing from {err}");
    }
}

#[test]
fn eviction_removes_the_least_recently_used_caches_until_the_budget_fits() {
    let s = Scratch::new("evict");
    let root = &s.0;
    let oldest = cache_of(root, "oldest", MIB, Duration::from_secs(4000));
    let old = cache_of(root, "old", MIB, Duration::from_secs(3000));
    let recent = cache_of(root, "recent", MIB, Duration::from_secs(100));
    let current = cache_of(root, "current", MIB, Duration::from_secs(9000));
    let total = disk_usage(root);
    assert!(total >= 4 * MIB, "{total}");

    // Room for a bit more than two caches: the two least recently used others go, in order;
    // the cache just used stays although its marker is the oldest.
    let removed = evict(root, &current, total - MIB - MIB / 2);
    assert_eq!(removed, vec![oldest.clone(), old.clone()]);
    assert!(!oldest.exists() && !old.exists());
    assert!(recent.exists() && current.exists());
    assert!(disk_usage(root) <= total - MIB - MIB / 2);

    // Within budget: nothing goes.
    assert!(evict(root, &current, disk_usage(root)).is_empty());
    // Over budget with only the kept cache left besides `recent`: `recent` goes, never `current`.
    assert_eq!(evict(root, &current, 1), vec![recent.clone()]);
    assert!(current.exists());
    assert_eq!(caches(root), vec![current]);
}

#[test]
fn eviction_skips_a_cache_another_run_holds() {
    let s = Scratch::new("evict-held");
    let root = &s.0;
    let held = cache_of(root, "held", MIB, Duration::from_secs(5000));
    let free = cache_of(root, "free", MIB, Duration::from_secs(10));
    let current = cache_of(root, "current", MIB, Duration::ZERO);
    // Held with a plain flock on another open file, as another process would.
    let other = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path(&held))
        .unwrap();
    other.lock().unwrap();
    assert_eq!(evict(root, &current, MIB), vec![free.clone()]);
    assert!(held.exists() && current.exists());
    other.unlock().unwrap();
    assert_eq!(evict(root, &current, MIB), vec![held]);
}

#[test]
fn with_cache_creates_marks_and_evicts_others() {
    let s = Scratch::new("with");
    let root = &s.0;
    let other = cache_of(root, "other", 2 * MIB, Duration::from_secs(60));
    let dir = root.join("us-east-1").join("mine.git");
    let refs = with_cache(root, &dir, &bounds(MIB), |repo| {
        Ok(repo.references().map(|r| r.count()).unwrap_or(99))
    })
    .unwrap();
    assert_eq!(refs, 0);
    assert!(dir.join("HEAD").is_file());
    assert!(dir.join(USED_MARKER).is_file());
    assert!(!other.exists(), "the other cache is over the budget");
    // The lock is free again.
    assert!(CacheLock::try_take(&dir).unwrap().is_some());
    // An error from `f` comes back as it is, and the lock is released.
    let e = with_cache(root, &dir, &bounds(MIB), |_| -> Result<(), _> {
        Err(MirrorError::Refused("no".into()))
    });
    assert_eq!(e, Err(MirrorError::Refused("no".into())));
    assert!(CacheLock::try_take(&dir).unwrap().is_some());
}

#[test]
fn stale_locks_are_removed_and_fresh_ones_kept() {
    let s = Scratch::new("stale");
    let dir = s.0.join("eu-west-1").join("repo.git");
    Repository::init_bare(&dir).unwrap();
    let old = SystemTime::now() - Duration::from_secs(3600);
    let stale = [
        dir.join("refs")
            .join("heads")
            .join("release")
            .join("v1.lock"),
        dir.join("packed-refs.lock"),
        dir.join("config.lock"),
        dir.join("objects").join("pack").join("pack_git2_1234"),
    ];
    let fresh = dir.join("refs").join("heads").join("main.lock");
    let not_a_lock = dir.join("refs").join("heads").join("old-branch");
    for p in stale.iter().chain([&fresh, &not_a_lock]) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        let f = File::create(p).unwrap();
        if *p != fresh {
            f.set_modified(old).unwrap();
        }
    }
    with_cache(&s.0, &dir, &bounds(u64::MAX), |_| Ok(())).unwrap();
    for p in &stale {
        assert!(!p.exists(), "{} should be gone", p.display());
    }
    assert!(fresh.exists(), "a lock younger than the bound is kept");
    assert!(not_a_lock.exists());
    assert_eq!(
        remove_stale_locks(&dir, Duration::from_secs(600), SystemTime::now()),
        Vec::<PathBuf>::new()
    );
}

#[test]
fn the_lock_wait_has_a_deadline() {
    let s = Scratch::new("wait");
    let dir = s.0.join("us-east-1").join("busy.git");
    let (taken, release) = (mpsc::channel(), mpsc::channel::<()>());
    let holder = {
        let dir = dir.clone();
        std::thread::spawn(move || {
            let lock = CacheLock::take(&dir, Duration::ZERO).unwrap();
            taken.0.send(()).unwrap();
            release.1.recv().unwrap();
            drop(lock);
        })
    };
    taken.1.recv().unwrap();
    let mut b = bounds(u64::MAX);
    b.lock_wait = Duration::from_millis(300);
    let started = Instant::now();
    let e = with_cache(&s.0, &dir, &b, |_| Ok(())).unwrap_err();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    let text = e.to_string();
    assert!(text.contains("busy.git.lock"), "{text}");
    assert!(text.contains("0.3 s"), "{text}");
    assert!(text.contains("CODEHOOKS_CACHE_LOCK_WAIT_SECONDS"), "{text}");

    // Released while waiting: the run goes ahead.
    b.lock_wait = Duration::from_secs(10);
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        release.0.send(()).unwrap();
    });
    with_cache(&s.0, &dir, &b, |_| Ok(())).unwrap();
    releaser.join().unwrap();
    holder.join().unwrap();
}

#[test]
fn a_flock_of_another_open_file_is_respected() {
    let s = Scratch::new("flock");
    let dir = s.0.join("busy.git");
    let other = File::create(lock_path(&dir)).unwrap();
    other.lock().unwrap();
    assert!(CacheLock::try_take(&dir).unwrap().is_none());
    other.unlock().unwrap();
    assert!(CacheLock::try_take(&dir).unwrap().is_some());
}

/// Commits `n` times on `branch`, writing each commit's objects as a pack of its own (as many
/// small fetches would), and returns the last commit.
fn commit_in_packs(repo: &Repository, branch: &str, n: usize) -> Oid {
    let sig = Signature::now("t", "t@example.com").unwrap();
    let pack_dir = repo.path().join("objects").join("pack");
    let mut parent: Option<Oid> = None;
    for i in 0..n {
        let blob = repo
            .blob(format!("{branch} content {i}\n").as_bytes())
            .unwrap();
        let mut tb = repo.treebuilder(None).unwrap();
        tb.insert(format!("f{i}.txt"), blob, 0o100644).unwrap();
        if let Some(p) = parent {
            tb.insert("prev", repo.find_commit(p).unwrap().tree_id(), 0o040000)
                .unwrap();
        }
        let tree = repo.find_tree(tb.write().unwrap()).unwrap();
        let parents: Vec<_> = parent
            .map(|p| repo.find_commit(p).unwrap())
            .into_iter()
            .collect();
        let parent_refs: Vec<_> = parents.iter().collect();
        let c = repo
            .commit(
                Some(&format!("refs/heads/{branch}")),
                &sig,
                &sig,
                &format!("{branch} {i}"),
                &tree,
                &parent_refs,
            )
            .unwrap();
        let mut pb = repo.packbuilder().unwrap();
        pb.insert_commit(c).unwrap();
        pb.write(&pack_dir, 0).unwrap();
        parent = Some(c);
    }
    parent.unwrap()
}

/// Every object any ref reaches (commits with their parents, trees, blobs, tags).
fn reachable(repo: &Repository) -> HashSet<Oid> {
    let mut seen = HashSet::new();
    let mut pending: Vec<Oid> = repo
        .references()
        .unwrap()
        .map(|r| r.unwrap().resolve().unwrap().target().unwrap())
        .collect();
    while let Some(oid) = pending.pop() {
        if !seen.insert(oid) {
            continue;
        }
        let obj = repo.find_object(oid, None).unwrap();
        match obj.kind() {
            Some(ObjectType::Commit) => {
                let c = obj.as_commit().unwrap();
                pending.push(c.tree_id());
                pending.extend(c.parent_ids());
            }
            Some(ObjectType::Tree) => pending.extend(obj.as_tree().unwrap().iter().map(|e| e.id())),
            Some(ObjectType::Tag) => pending.push(obj.as_tag().unwrap().target_id()),
            _ => {}
        }
    }
    seen
}

#[test]
fn compaction_makes_one_pack_and_keeps_every_refs_objects() {
    let s = Scratch::new("compact");
    let dir = s.0.join("us-east-1").join("many.git");
    let repo = Repository::init_bare(&dir).unwrap();
    let main = commit_in_packs(&repo, "main", 8);
    commit_in_packs(&repo, "feature", 4);
    let sig = Signature::now("t", "t@example.com").unwrap();
    let main_obj = repo.find_object(main, None).unwrap();
    let tag = repo.tag("v1", &main_obj, &sig, "release", false).unwrap();
    let tag_obj = repo.find_object(tag, None).unwrap();
    repo.tag("v1-signed-again", &tag_obj, &sig, "tag of a tag", false)
        .unwrap();
    let lone = repo.blob(b"a tagged blob\n").unwrap();
    repo.tag_lightweight("blob-tag", &repo.find_object(lone, None).unwrap(), false)
        .unwrap();
    // Unreachable garbage from an old fetch.
    let garbage = repo.blob(b"nobody points here\n").unwrap();
    let before = reachable(&repo);
    assert_eq!(pack_count(&dir), 12);

    let mut b = bounds(u64::MAX);
    b.max_packs = 5;
    with_cache(&s.0, &dir, &b, |_| Ok(())).unwrap();
    assert_eq!(pack_count(&dir), 1);

    let repo = Repository::open_bare(&dir).unwrap();
    assert_eq!(reachable(&repo), before);
    let odb = repo.odb().unwrap();
    for oid in &before {
        assert!(odb.exists(*oid), "{oid} lost");
    }
    assert!(!odb.exists(garbage), "loose garbage is dropped");
    let fsck = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(&dir)
        .args(["fsck", "--full", "--strict", "--no-dangling"])
        .output();
    if let Ok(out) = fsck {
        assert!(
            out.status.success(),
            "git fsck: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Within the bound: left alone.
    commit_in_packs(&repo, "more", 2);
    with_cache(&s.0, &dir, &b, |_| Ok(())).unwrap();
    assert_eq!(pack_count(&dir), 3);
}

#[test]
fn a_cache_being_read_is_neither_evicted_nor_compacted() {
    let s = Scratch::new("readers");
    let root = &s.0;
    let read = cache_of(root, "read", MIB, Duration::from_secs(5000));
    let current = cache_of(root, "current", MIB, Duration::ZERO);
    let reading = Reading::start(&read, Duration::ZERO).unwrap();
    let second = Reading::start(&read, Duration::ZERO).unwrap();
    assert!(evict(root, &current, MIB).is_empty());
    drop(reading);
    assert!(evict(root, &current, MIB).is_empty(), "one reader is left");
    drop(second);
    assert_eq!(evicted_once_free(root, &current), vec![read.clone()]);

    // Another process reading (a shared lock on another open file).
    let other = cache_of(root, "other", MIB, Duration::from_secs(5000));
    let file = File::create(readers_path(&other)).unwrap();
    file.lock_shared().unwrap();
    assert!(evict(root, &current, MIB).is_empty());
    file.unlock().unwrap();
    assert_eq!(evicted_once_free(root, &current), vec![other]);

    // Compaction waits for the readers to be gone.
    let dir = root.join("us-east-1").join("packs.git");
    let repo = Repository::init_bare(&dir).unwrap();
    commit_in_packs(&repo, "main", 4);
    let mut b = bounds(u64::MAX);
    b.max_packs = 2;
    let reading = Reading::start(&dir, Duration::ZERO).unwrap();
    with_cache(root, &dir, &b, |_| Ok(())).unwrap();
    assert_eq!(pack_count(&dir), 4);
    drop(reading);
    let compacted = eventually(|| {
        with_cache(root, &dir, &b, |_| Ok(())).unwrap();
        (pack_count(&dir) == 1).then_some(())
    });
    assert_eq!(pack_count(&dir), 1, "{compacted:?}");
}

/// Runs `f` until it gives `Some`, at most 40 times 25 ms apart. A lock released by a drop
/// here can outlive the drop for a moment: a git process another test's thread starts in
/// between holds a copy of the descriptor until its exec closes it.
fn eventually<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
    for _ in 0..40 {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    None
}

/// What `evict` removes once the caches' readers are gone (see [`eventually`]).
fn evicted_once_free(root: &Path, current: &Path) -> Vec<PathBuf> {
    eventually(|| Some(evict(root, current, MIB)).filter(|v| !v.is_empty())).unwrap_or_default()
}

#[test]
fn reading_waits_for_an_eviction_or_compaction_with_a_deadline() {
    let s = Scratch::new("reading-wait");
    let dir = s.0.join("us-east-1").join("busy.git");
    let alone = Exclusive::try_take(&dir).unwrap().unwrap();
    assert!(Exclusive::try_take(&dir).unwrap().is_none());
    let e = Reading::start(&dir, Duration::from_millis(100)).unwrap_err();
    assert!(e.to_string().contains("busy.git"), "{e}");
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        drop(alone);
    });
    let reading = Reading::start(&dir, Duration::from_secs(10)).unwrap();
    releaser.join().unwrap();
    assert!(Exclusive::try_take(&dir).unwrap().is_none());
    drop(reading);
    assert!(Exclusive::try_take(&dir).unwrap().is_some());
}
