//! Random interleavings of overlapping runs against the twin: several runs,
//! each with its own (possibly stale) cache, random pushes, force pushes and deletes at the
//! source, and other runs replicating between one run's listing and its push. Every ref
//! change a replica applies must go forward in the source's history (each value the source
//! held gets a version; a replica ref's version never decreases), and a last run leaves the
//! replica equal to the source.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use proptest::prelude::*;

use super::*;
use crate::endpoints::GitEndpoints;
use crate::plan::ObjectId;
use crate::policy::Policy;
use crate::twins::CodeCommitTwin;

const SRC: &str = "us-east-1";
const REP: &str = "eu-west-2";
const BRANCHES: [&str; 3] = ["refs/heads/main", "refs/heads/dev", "refs/tags/v1"];
const RUNS: usize = 3;

/// Runs a future of the twin (which never waits) to its end.
fn block<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1000 {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("the twin's future did not finish")
}

fn target(region: &str) -> GitTarget {
    GitEndpoints::default().target(&region.parse().unwrap(), &"app".parse().unwrap())
}

#[derive(Debug, Clone)]
enum SourceOp {
    Commit(usize),
    Force(usize),
    Delete(usize),
}

#[derive(Debug, Clone)]
enum Op {
    Source(SourceOp),
    /// Run `k` fetches into its own cache.
    Fetch(usize),
    /// Run `k` syncs from its cache.
    Sync(usize),
    /// Run `k` syncs; right after it lists the replica, the source changes and run `j`
    /// syncs from its own cache (fetching first when asked).
    Overlap(usize, SourceOp, usize, bool),
}

fn source_op() -> impl Strategy<Value = SourceOp> {
    prop_oneof![
        3 => (0..BRANCHES.len()).prop_map(SourceOp::Commit),
        2 => (0..BRANCHES.len()).prop_map(SourceOp::Force),
        1 => (0..BRANCHES.len()).prop_map(SourceOp::Delete),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => source_op().prop_map(Op::Source),
        2 => (0..RUNS).prop_map(Op::Fetch),
        2 => (0..RUNS).prop_map(Op::Sync),
        3 => (0..RUNS, source_op(), 0..RUNS, any::<bool>()).prop_map(|(k, s, j, f)| Op::Overlap(k, s, j, f)),
    ]
}

/// The source's history: every value each ref took, in order (fresh commits never repeat).
#[derive(Debug, Default)]
struct History {
    versions: BTreeMap<String, Vec<Option<ObjectId>>>,
    next: u32,
}

impl History {
    fn apply(&mut self, twin: &CodeCommitTwin, op: &SourceOp) {
        let (i, force, delete) = match op {
            SourceOp::Commit(i) => (*i, false, false),
            SourceOp::Force(i) => (*i, true, false),
            SourceOp::Delete(i) => (*i, false, true),
        };
        let name = BRANCHES[i];
        let current = twin.refs(SRC, "app").unwrap().get(name).cloned();
        let new = if delete {
            if current.is_none() || self.live(twin) <= 1 {
                return; // keep the source non-empty: an empty source is refused on purpose
            }
            None
        } else {
            self.next += 1;
            let id = ObjectId::new(format!("{:040x}", 0x1000 + self.next));
            // A force push goes back to the current commit's parent (or a new root).
            let parent = match (&current, force) {
                (Some(c), false) => Some(c.clone()),
                (Some(c), true) => twin.parent(c),
                (None, _) => None,
            };
            twin.commit(id.clone(), parent.as_slice());
            Some(id)
        };
        twin.set_ref(SRC, "app", name, new.clone());
        self.versions.entry(name.to_owned()).or_default().push(new);
    }

    fn live(&self, twin: &CodeCommitTwin) -> usize {
        twin.refs(SRC, "app").unwrap().len()
    }
}

/// Checks each change the replica applied since `from`: its version in the source's history
/// never goes back. `at` holds each replica ref's current version.
fn check_forward(
    history: &History,
    twin: &CodeCommitTwin,
    at: &mut BTreeMap<String, usize>,
    from: usize,
) -> Result<usize, String> {
    let applied = twin.applied();
    for (_, c) in &applied[from..] {
        if !crate::plan::is_mirrored(&c.name) {
            continue;
        }
        let versions = &history.versions[&c.name];
        let now = at.get(&c.name).copied().unwrap_or(0);
        let found = versions
            .iter()
            .enumerate()
            .skip(now)
            .find(|(_, v)| **v == c.new)
            .map(|(i, _)| i);
        match found {
            Some(i) => {
                at.insert(c.name.clone(), i);
            }
            None => {
                return Err(format!(
                    "{} moved back: {:?} -> {:?}; the source's history is {:?}, the replica was at version {now}",
                    c.name, c.old, c.new, versions
                ));
            }
        }
    }
    Ok(applied.len())
}

fn sync_from(
    twin: &CodeCommitTwin,
    cache: &Refs,
    policy: &Policy,
) -> Result<ReplicaStats, MirrorError> {
    let options = SyncOptions {
        limits: PushLimits {
            max_refs_per_push: 2,
            cas_retries: 10,
        },
        policy,
        slice_commits: 5000,
        deadline: None,
    };
    block(sync_replica(
        twin,
        &target(SRC),
        &target(REP),
        cache,
        options,
    ))
}

fn fetch(twin: &CodeCommitTwin) -> Refs {
    block(twin.fetch(&target(SRC))).unwrap().refs
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn overlapping_runs_never_rewind_a_replica_and_end_equal(ops in prop::collection::vec(op(), 1..40)) {
        let twin = CodeCommitTwin::new();
        let mut history = History::default();
        twin.put(SRC, "app", None, Refs::new());
        twin.put(REP, "app", None, Refs::new());
        for name in BRANCHES {
            history.versions.insert(name.to_owned(), vec![None]);
        }
        history.apply(&twin, &SourceOp::Commit(0));
        let history = Arc::new(Mutex::new(history));
        let policy = Policy::default();
        let initial = fetch(&twin);
        let caches: Arc<Mutex<Vec<Refs>>> = Arc::new(Mutex::new(vec![initial; RUNS]));
        let mut at = BTreeMap::new();
        let mut seen = 0;
        for op in ops {
            match op {
                Op::Source(s) => history.lock().unwrap().apply(&twin, &s),
                Op::Fetch(k) => caches.lock().unwrap()[k] = fetch(&twin),
                Op::Sync(k) => {
                    let cache = caches.lock().unwrap()[k].clone();
                    let _ = sync_from(&twin, &cache, &policy);
                }
                Op::Overlap(k, s, j, fetch_first) => {
                    let fired = Arc::new(AtomicBool::new(false));
                    let (h, c, p) = (history.clone(), caches.clone(), policy.clone());
                    twin.on_list(move |t, _| {
                        if fired.swap(true, Ordering::SeqCst) {
                            return;
                        }
                        h.lock().unwrap().apply(t, &s);
                        if fetch_first {
                            c.lock().unwrap()[j] = fetch(t);
                        }
                        let cache = c.lock().unwrap()[j].clone();
                        let _ = sync_from(t, &cache, &p);
                    });
                    let cache = caches.lock().unwrap()[k].clone();
                    let _ = sync_from(&twin, &cache, &policy);
                    twin.on_list(|_, _| {});
                }
            }
            let h = history.lock().unwrap();
            seen = check_forward(&h, &twin, &mut at, seen).map_err(TestCaseError::fail)?;
        }
        // A last run from a fresh cache: the replica equals the source.
        let cache = fetch(&twin);
        sync_from(&twin, &cache, &policy).map_err(|e| TestCaseError::fail(e.to_string()))?;
        check_forward(&history.lock().unwrap(), &twin, &mut at, seen).map_err(TestCaseError::fail)?;
        prop_assert_eq!(twin.mirrored(REP, "app"), twin.refs(SRC, "app"));
    }
}
