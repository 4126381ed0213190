//! Tests of the packs: what a built pack holds, the cache's own pack sent as is, temporary
//! files removed, one build shared by concurrent pushes.

use std::sync::atomic::AtomicUsize;

use git2::Oid;

use super::*;
use crate::gitsync::tests::{commit, line, scratch_repo};

fn id(o: Oid) -> ObjectId {
    ObjectId::new(o.to_string())
}

fn key(repo: &Repository, wants: &[Oid], haves: &[Oid]) -> PackKey {
    PackKey::new(
        repo.path(),
        wants.iter().map(|w| id(*w)),
        haves.iter().map(|h| id(*h)),
    )
}

/// The objects of a pack file, by indexing it into `into` (a fresh repository).
fn unpack(path: &Path, into: &Repository) -> usize {
    let data = fs::read(path).unwrap_or_else(|e| panic!("{e}"));
    let odb = into.odb().unwrap_or_else(|e| panic!("{e}"));
    let mut w = odb.packwriter().unwrap_or_else(|e| panic!("{e}"));
    w.write_all(&data).unwrap_or_else(|e| panic!("{e}"));
    w.commit().unwrap_or_else(|e| panic!("{e}"));
    let mut n = 0;
    odb.foreach(|_| {
        n += 1;
        true
    })
    .unwrap_or_else(|e| panic!("{e}"));
    n
}

#[test]
fn a_built_pack_holds_what_the_replica_lacks_and_is_removed_after_use() {
    let (dir, repo) = scratch_repo("packs-built");
    let c = line(&repo, 3);
    let temp = dir.join("tmp");
    let pack = build(
        &repo,
        &key(&repo, &[c[2]], &[c[0]]).with_ofs_delta(true),
        &temp,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // Two commits, their two trees and two blobs.
    assert_eq!(pack.objects, 6);
    assert_eq!(pack.how, "built");
    let PackContent::Temporary(path) = &pack.content else {
        panic!("{pack:?}")
    };
    let path = path.clone();
    assert!(path.starts_with(&temp));
    let (other_dir, other) = scratch_repo("packs-built-into");
    assert_eq!(unpack(&path, &other), 6);
    assert!(other.find_commit(c[2]).is_ok());
    drop(pack);
    assert!(!path.exists(), "the temporary pack outlived its use");
    let _ = fs::remove_dir_all(dir);
    let _ = fs::remove_dir_all(other_dir);
}

#[test]
fn wants_the_cache_lacks_or_the_replica_holds_give_an_empty_pack() {
    let (dir, repo) = scratch_repo("packs-empty");
    let c = line(&repo, 2);
    let lacking = ObjectId::new("1234567890123456789012345678901234567890");
    let k = PackKey::new(repo.path(), [lacking], []);
    let pack = build(&repo, &k.clone().with_ofs_delta(true), &dir.join("tmp"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(pack.content, PackContent::Empty), "{pack:?}");
    let pack = build(
        &repo,
        &key(&repo, &[c[1]], &[c[1]]).with_ofs_delta(true),
        &dir.join("tmp"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(pack.content, PackContent::Empty), "{pack:?}");
    assert_eq!(pack_header(&EMPTY_PACK), Some((0, 2)));
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn annotated_tags_go_with_their_commits() {
    let (dir, repo) = scratch_repo("packs-tags");
    let c = line(&repo, 1);
    let target = repo
        .find_object(c[0], None)
        .unwrap_or_else(|e| panic!("{e}"));
    let sig = git2::Signature::now("T", "t@example.com").unwrap_or_else(|e| panic!("{e}"));
    let tag = repo
        .tag_annotation_create("v1", &target, &sig, "v1")
        .unwrap_or_else(|e| panic!("{e}"));
    let pack = build(
        &repo,
        &key(&repo, &[tag], &[]).with_ofs_delta(false),
        &dir.join("tmp"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pack.objects, 4, "tag, commit, tree, blob");
    let _ = fs::remove_dir_all(dir);
}

/// A bare repository holding `source`'s history as exactly one pack.
fn packed_copy(source: &Repository, tip: Oid, name: &str) -> (PathBuf, Repository) {
    let (dir, _) = scratch_repo(name);
    let repo = packed_at(source, tip, &dir);
    (dir, repo)
}

/// A bare repository at `dir` holding `source`'s history as exactly one pack.
fn packed_at(source: &Repository, tip: Oid, dir: &Path) -> Repository {
    let repo = Repository::init_bare(dir).unwrap_or_else(|e| panic!("{e}"));
    let mut pb = source.packbuilder().unwrap_or_else(|e| panic!("{e}"));
    let mut walk = source.revwalk().unwrap_or_else(|e| panic!("{e}"));
    walk.push(tip).unwrap_or_else(|e| panic!("{e}"));
    pb.insert_walk(&mut walk).unwrap_or_else(|e| panic!("{e}"));
    pb.write(&dir.join("objects/pack"), 0o644)
        .unwrap_or_else(|e| panic!("{e}"));
    repo.reference("refs/heads/main", tip, true, "test")
        .unwrap_or_else(|e| panic!("{e}"));
    repo
}

#[test]
fn an_empty_replica_gets_the_caches_single_pack_as_is() {
    let (src_dir, src) = scratch_repo("packs-whole-src");
    let c = line(&src, 4);
    let (dir, repo) = packed_copy(&src, c[3], "packs-whole");
    let only = single_pack(&repo).unwrap_or_else(|e| panic!("{e}"));
    let Some(only) = only else {
        panic!("one pack and no loose object, but not seen as such")
    };
    let pack = build(
        &repo,
        &key(&repo, &[c[3]], &[]).with_ofs_delta(true),
        &dir.join("tmp"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pack.how, "cache pack as is");
    assert_eq!(pack.objects, 12);
    assert!(pack.covers.contains(&id(c[3])));
    assert!(matches!(&pack.content, PackContent::CachePack(p) if *p == only));
    drop(pack);
    assert!(only.exists(), "the cache's own pack must never be removed");
    // The replica does not take ofs-delta, or it already holds part of the history: built.
    let pack = build(
        &repo,
        &key(&repo, &[c[3]], &[]).with_ofs_delta(false),
        &dir.join("tmp"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pack.how, "built");
    let pack = build(
        &repo,
        &key(&repo, &[c[3]], &[c[1]]).with_ofs_delta(true),
        &dir.join("tmp"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((pack.how, pack.objects), ("built", 6));
    // A loose object: the pack no longer holds everything the cache has.
    commit(&repo, &[c[3]], "f.txt", "loose\n");
    assert_eq!(single_pack(&repo).ok(), Some(None));
    let _ = fs::remove_dir_all(dir);
    let _ = fs::remove_dir_all(src_dir);
}

#[test]
fn concurrent_pushes_share_one_build() {
    let (dir, repo) = scratch_repo("packs-memo");
    let c = line(&repo, 3);
    let memo = PackMemo::default();
    let builds = AtomicUsize::new(0);
    let k = key(&repo, &[c[2]], &[]);
    let temp = dir.join("tmp");
    let build_once = || async {
        builds.fetch_add(1, Ordering::SeqCst);
        // Both callers are waiting here at once.
        tokio::task::yield_now().await;
        let repo = Repository::open_bare(&dir).map_err(|e| failed("open", e.message()))?;
        build(&repo, &k, &temp)
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = rt.block_on(async {
        tokio::join!(
            memo.get(k.clone(), build_once),
            memo.get(k.clone(), build_once)
        )
    });
    let (a, b) = (
        a.unwrap_or_else(|e| panic!("{e}")),
        b.unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(builds.load(Ordering::SeqCst), 1);
    assert!(Arc::ptr_eq(&a.pack, &b.pack));
    assert_eq!(memo.live(), 1);
    let PackContent::Temporary(path) = &a.pack.content else {
        panic!("{:?}", a.pack)
    };
    let path = path.clone();
    drop(a);
    assert!(path.exists(), "removed while a push still held it");
    drop(b);
    assert!(!path.exists());
    assert_eq!(memo.live(), 0);
    // A different key is another build.
    let other = key(&repo, &[c[1]], &[]);
    let again = rt.block_on(memo.get(other, || async {
        builds.fetch_add(1, Ordering::SeqCst);
        Ok(Pack {
            content: PackContent::Empty,
            objects: 0,
            bytes: 32,
            how: "empty",
            covers: Vec::new(),
            reading: None,
        })
    }));
    assert!(again.is_ok());
    assert_eq!(builds.load(Ordering::SeqCst), 2);
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn stale_temporary_packs_are_removed_and_fresh_ones_kept() {
    let (dir, _repo) = scratch_repo("packs-stale");
    let temp = dir.join("tmp");
    fs::create_dir_all(&temp).unwrap_or_else(|e| panic!("{e}"));
    let old = temp.join("push-1-0-0.pack");
    let fresh = temp.join("push-1-1-0.pack");
    let other = temp.join("not-ours.pack");
    for p in [&old, &fresh, &other] {
        fs::write(p, b"PACK").unwrap_or_else(|e| panic!("{e}"));
    }
    let long_ago =
        std::time::SystemTime::now() - STALE_TEMP_PACK - std::time::Duration::from_secs(60);
    for p in [&old, &other] {
        fs::File::options()
            .write(true)
            .open(p)
            .and_then(|f| f.set_modified(long_ago))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    remove_stale(&temp);
    assert!(!old.exists());
    assert!(fresh.exists());
    assert!(
        other.exists(),
        "only the mirror's own temporary packs are removed"
    );
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn an_empty_replica_of_a_single_pack_cache_gets_one_slice() {
    let (src_dir, src) = scratch_repo("packs-slices-src");
    let c = line(&src, 10);
    let (dir, repo) = packed_copy(&src, c[9], "packs-slices");
    let slices = |have: &[Oid]| {
        let have: Vec<ObjectId> = have.iter().map(|h| id(*h)).collect();
        crate::gitsync::slices(&repo, &id(c[9]), &have, 3).unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(slices(&[]), vec![id(c[9])]);
    assert_eq!(slices(&[c[5]]), vec![id(c[8]), id(c[9])]);
    let _ = fs::remove_dir_all(dir);
    let _ = fs::remove_dir_all(src_dir);
}

/// A cache root of its own (eviction scans the whole root) holding one cache made of one pack
/// of a 4-commit history: (root, cache dir, the pack file, the history).
fn guarded_cache(name: &str) -> (PathBuf, PathBuf, PathBuf, Vec<Oid>) {
    let (src_dir, src) = scratch_repo(&format!("{name}-src"));
    let c = line(&src, 4);
    let root = std::env::temp_dir().join(format!(
        "codehooks-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = fs::remove_dir_all(&root);
    let dir = root.join("eu-west-1").join("repo.git");
    let repo = packed_at(&src, c[3], &dir);
    let only = single_pack(&repo)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("one pack expected"));
    let _ = fs::remove_dir_all(src_dir);
    (root, dir, only, c)
}

#[test]
fn a_cache_pack_being_pushed_is_neither_evicted_nor_compacted_until_the_push_is_done() {
    use crate::cache::{CacheBounds, Exclusive, evict, with_cache};
    use std::sync::mpsc;
    let (root, dir, only, c) = guarded_cache("packs-guard-push");
    let key = PackKey::new(&dir, [id(c[3])], []).with_ofs_delta(true);
    let pack = build_reading(&key, &root.join(".packs"), std::time::Duration::ZERO)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pack.how, "cache pack as is");
    assert!(matches!(&pack.content, PackContent::CachePack(p) if *p == only));
    assert!(
        pack.reading.is_some(),
        "the cache's own pack must keep the cache read"
    );
    // A push on another thread holds the pack and streams its file while this thread (as
    // another run would) collects the caches.
    let (held_tx, held_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let push = std::thread::spawn(move || {
        let shared = Arc::new(pack);
        let _ = held_tx.send(());
        let _ = done_rx.recv();
        let PackContent::CachePack(path) = &shared.content else {
            return Err("not the cache's pack".to_owned());
        };
        let data = fs::read(path).map_err(|e| format!("the pack went away under the push: {e}"))?;
        pack_header(&data).ok_or_else(|| "not a pack".to_owned())?;
        drop(shared);
        Ok(())
    });
    held_rx.recv().unwrap_or_else(|e| panic!("{e}"));
    let nothing_kept = root.join("none");
    assert!(
        evict(&root, &nothing_kept, 0).is_empty(),
        "evicted under a push"
    );
    assert!(only.exists());
    assert!(matches!(Exclusive::try_take(&dir), Ok(None)));
    // A run fetching into the cache finds it over its pack limit: compaction waits.
    let bounds = CacheBounds {
        budget_bytes: u64::MAX,
        max_packs: 0,
        ..CacheBounds::DEFAULT
    };
    with_cache(&root, &dir, &bounds, |_| Ok(())).unwrap_or_else(|e| panic!("{e}"));
    assert!(only.exists(), "compacted under a push");
    let _ = done_tx.send(());
    let pushed = push
        .join()
        .unwrap_or_else(|_| panic!("the push thread panicked"));
    assert_eq!(pushed, Ok(()));
    // The push is done: the cache may go now.
    assert_eq!(evict(&root, &nothing_kept, 0), vec![dir.clone()]);
    let _ = fs::remove_dir_all(root);
}

#[test]
fn a_pack_build_reads_the_cache_under_the_guard() {
    use crate::cache::Exclusive;
    let (root, dir, _only, c) = guarded_cache("packs-guard-build");
    let temp = root.join(".packs");
    let key = PackKey::new(&dir, [id(c[3])], [id(c[1])]).with_ofs_delta(true);
    // A compaction or an eviction is removing files: the build waits for it, with a deadline.
    let alone = Exclusive::try_take(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("nobody reads the cache yet"));
    let e = build_reading(&key, &temp, std::time::Duration::from_millis(100))
        .map(|p| p.how)
        .unwrap_err();
    assert!(e.to_string().contains("compacted or evicted"), "{e}");
    let (k, t) = (key.clone(), temp.clone());
    let waiting = std::thread::spawn(move || {
        build_reading(&k, &t, std::time::Duration::from_secs(20)).map(|p| (p.how, p.objects))
    });
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        !waiting.is_finished(),
        "built while the cache was being cleared"
    );
    drop(alone);
    let built = waiting
        .join()
        .unwrap_or_else(|_| panic!("the build thread panicked"));
    assert_eq!(built.ok(), Some(("built", 6)));
    // A built pack is a temporary file of its own: the guard ends with the build.
    let pack =
        build_reading(&key, &temp, std::time::Duration::ZERO).unwrap_or_else(|e| panic!("{e}"));
    assert!(pack.reading.is_none());
    assert!(matches!(Exclusive::try_take(&dir), Ok(Some(_))));
    drop(pack);
    let _ = fs::remove_dir_all(root);
}
