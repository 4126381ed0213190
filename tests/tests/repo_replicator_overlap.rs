//! repo-replicator under overlapping runs: two processes of the real binary
//! with separate caches (two execution environments) on one Lambda Runtime API, and the git
//! server holding one run's request while the other replicates a newer source state. A replica
//! must only ever move to a state the source had at or after the state it already holds.
//!
//! The git server logs every ref update a replica receives, in order; [`check_no_rewind`]
//! reads that log against the history of the source's refs the test recorded.
//!
//! Build first: `cargo build -p repo-replicator --bins`, then
//! `cargo test -p codehooks-tests --test repo_replicator_overlap`.
//! The random interleaving prints its seed; `CODEHOOKS_OVERLAP_SEED=<seed>` replays its
//! choices (the timing of the concurrent runs still varies) and `CODEHOOKS_OVERLAP_STEPS=<n>`
//! changes its length (default 40).

mod repo_replicator_support;

use std::collections::BTreeMap;

use codehooks_tests::{Function, Invocation};
use repo_replicator_support::*;
use serde_json::{Value, json};

const REPO: &str = "payments-api";
const HELD: &str = "eu-west-2";

/// The source's branches and tags after each change the test made, in order (the "states");
/// state 0 is before anything (the replicas start empty).
type History = Vec<BTreeMap<String, String>>;

/// Checks a replica's update log against the source's history: per branch or tag, each update
/// moves the ref to a value (or deletes it) that the source had at or after the point in the
/// history of the ref's previous replica value. Refs outside heads and tags (the replicator's
/// own `refs/codehooks/`) are not checked. Returns what went wrong, readably.
fn check_no_rewind(
    history: &[BTreeMap<String, String>],
    updates: &[RefUpdate],
) -> Result<(), String> {
    // Per ref: its successive values in the source (None: absent), each with the history step
    // where it started; and where in that list the replica's current value is.
    let mut lines: BTreeMap<&str, Vec<(usize, Option<&str>)>> = BTreeMap::new();
    let mut at: BTreeMap<&str, usize> = BTreeMap::new();
    for u in updates {
        let name = u.name.as_str();
        if !(name.starts_with("refs/heads/") || name.starts_with("refs/tags/")) {
            continue;
        }
        let line = lines.entry(name).or_insert_with(|| {
            let mut line: Vec<(usize, Option<&str>)> = Vec::new();
            for (step, state) in history.iter().enumerate() {
                let value = state.get(name).map(String::as_str);
                if line.last().is_none_or(|(_, v)| *v != value) {
                    line.push((step, value));
                }
            }
            line
        });
        let show =
            |v: Option<&str>| v.map_or("(absent)".to_owned(), |s| s[..s.len().min(10)].to_owned());
        let from = match at.get(name) {
            Some(i) => *i,
            // The first update: the replica's value before it must be one the source had.
            None => line
                .iter()
                .position(|(_, v)| *v == u.old.as_deref())
                .ok_or_else(|| {
                    format!(
                        "update #{} of {name}: the replica held {} before, a value the source never had",
                        u.seq,
                        show(u.old.as_deref())
                    )
                })?,
        };
        match line[from..]
            .iter()
            .position(|(_, v)| *v == u.new.as_deref())
        {
            Some(k) => {
                at.insert(name, from + k);
            }
            None => {
                let when = line
                    .iter()
                    .filter(|(_, v)| *v == u.new.as_deref())
                    .map(|(step, _)| step.to_string())
                    .collect::<Vec<_>>();
                return Err(if when.is_empty() {
                    format!(
                        "update #{} moved {name} from {} to {}, a value the source never had",
                        u.seq,
                        show(u.old.as_deref()),
                        show(u.new.as_deref())
                    )
                } else {
                    format!(
                        "REWIND: update #{} ({}) moved {name} from {} (the source's value from state {}) \
                         back to {} (the source's value only from state(s) {}); the source's values of it (state:value): {}",
                        u.seq,
                        u.by,
                        show(u.old.as_deref()),
                        line[from].0,
                        show(u.new.as_deref()),
                        when.join(", "),
                        line.iter()
                            .map(|(s, v)| format!("{s}:{}", show(*v)))
                            .collect::<Vec<_>>()
                            .join(" ")
                    )
                });
            }
        }
    }
    Ok(())
}

/// A replicator [`Setup`] and the history of the source's refs.
struct Overlap {
    setup: Setup,
    history: History,
}

impl std::ops::Deref for Overlap {
    type Target = Setup;
    fn deref(&self) -> &Setup {
        &self.setup
    }
}

fn setup(label: &str) -> Overlap {
    Overlap {
        setup: Setup::builder(label).description("Payments API").start(),
        history: vec![BTreeMap::new()],
    }
}

impl Overlap {
    /// Two processes of the replicator polling the same Runtime API, each with its own cache:
    /// while one is busy (held), the other takes the next invocation.
    fn start_pair(&self) -> [Function; 2] {
        ["cache-a", "cache-b"].map(|c| {
            let cache = self.scratch.path().join(c).to_string_lossy().into_owned();
            self.start_in(&cache, &[("CODEHOOKS_CAS_RETRIES", "10")])
        })
    }

    /// Records the source's refs after a change.
    fn record(&mut self) {
        self.history.push(refs(&self.source));
    }

    /// Commits on top of `base` (detached) and returns the commit.
    fn commit_on(&self, base: &str, file: &str, text: &str) -> String {
        self.work.git(&["checkout", "--quiet", "--detach", base]);
        self.work.commit(file, text)
    }

    /// Pushes one refspec to the source (forced) and records the source's refs.
    fn push(&mut self, spec: &str) {
        self.work.push(spec);
        self.record();
    }

    fn assert_no_rewind(&self, context: &str) {
        for region in REPLICAS {
            let log = self.server.updates(region, REPO);
            if let Err(e) = check_no_rewind(&self.history, &log) {
                panic!(
                    "{context}: {region}: {e}\nupdate log of {region}:\n{}",
                    log.iter()
                        .map(|u| format!(
                            "  #{} {} {} {} -> {}",
                            u.seq,
                            u.by,
                            u.name,
                            u.old.as_deref().unwrap_or("-"),
                            u.new.as_deref().unwrap_or("-")
                        ))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
            }
        }
    }
}

fn event(kind: &str, id: &str) -> Value {
    reference_event(&format!("repo-replicator-reference-{kind}.json"), REPO, id)
}

fn describe(r: &Invocation, f: &[Function; 2]) -> String {
    format!(
        "{} {:?} {:?}\nresponse: {}\nlogs of process 1:\n{}\nlogs of process 2:\n{}",
        r.status,
        r.error_type,
        r.error_message,
        r.response,
        f[0].logs(),
        f[1].logs()
    )
}

/// One run (A) is held at `service` of the eu-west-2 replica while the source moves from S1
/// to S2 and the other process (B) replicates S2; then A goes on. Returns A's answer.
fn held_run_meets_a_newer_replica(label: &str, service: &str, after: bool) -> Value {
    let mut s = setup(label);
    let procs = s.start_pair();

    // S0, replicated to both replicas.
    let c0 = s.work.commit("src.txt", "v0\n");
    s.push("main:main");
    s.work.git(&["branch", "old-feature"]);
    s.push("old-feature:old-feature");
    let r = procs[0].invoke(&event("created", "s0"), 60_000);
    assert!(r.is_ok(), "S0: {}", describe(&r, &procs));
    assert_mirrored(&s.server, REPO, &REPLICAS);

    // S1 at the source, not replicated yet: fast-forwards, a new annotated tag.
    let c1 = s.commit_on(&c0, "src.txt", "v1\n");
    s.push(&format!("{c1}:refs/heads/main"));
    let x1 = s.commit_on(&c0, "feature.txt", "x1\n");
    s.push(&format!("{x1}:refs/heads/old-feature"));
    s.work.git(&["tag", "-a", "v1", "-m", "one", &c1]);
    s.push("refs/tags/v1:refs/tags/v1");

    let hold = s.server.hold(HELD, REPO, service, after);
    std::thread::scope(|scope| {
        let a = scope.spawn(|| procs[0].invoke(&event("updated", "run-a"), 60_000));
        if !s.server.wait_hold(hold, "held", 30_000) {
            s.server.release(hold);
            let r = a.join().expect("run A's thread");
            panic!(
                "run A's {service} request to {HELD} was never held (does the replicator still \
                 make that request?): {}\nrequests: {:?}",
                describe(&r, &procs),
                s.server.requests()
            );
        }

        // S2: a new commit on main, a new branch, another branch deleted; then B replicates it.
        let c2 = s.commit_on(&c1, "src.txt", "v2\n");
        s.push(&format!("{c2}:refs/heads/main"));
        let n2 = s.commit_on(&c1, "new.txt", "new\n");
        s.push(&format!("{n2}:refs/heads/feature-new"));
        s.push(":refs/heads/old-feature");
        let s2 = refs(&s.source);
        let b = procs[1].invoke(&event("updated", "run-b"), 60_000);
        assert!(b.is_ok(), "run B: {}", describe(&b, &procs));
        assert_mirrored(&s.server, REPO, &REPLICAS);
        assert_eq!(
            s.server.holds()[0]["state"],
            "held",
            "run A went on before it was released"
        );

        s.server.release(hold);
        let r = a.join().expect("run A's thread");
        assert!(r.is_ok(), "run A: {}", describe(&r, &procs));
        assert_eq!(
            r.response["status"],
            "replicated",
            "{}",
            describe(&r, &procs)
        );
        s.assert_no_rewind(label);
        for region in REPLICAS {
            assert_eq!(
                refs(&s.server.repo(region, REPO)),
                s2,
                "{region} is not at S2 after run A went on: {}",
                describe(&r, &procs)
            );
            fsck(&s.server.repo(region, REPO));
        }
        r.response
    })
}

#[test]
fn a_run_held_before_listing_a_replica_does_not_rewind_it() {
    let a = held_run_meets_a_newer_replica("ov-list", service::RECEIVE_PACK_REFS, false);
    // A listed the replica at S2 and the source at S2: nothing to do.
    let eu = replica_report(&a, HELD);
    assert_eq!(
        (eu["updated"].clone(), eu["deleted"].clone()),
        (json!([]), json!([])),
        "{a}"
    );
}

#[test]
fn a_run_whose_replica_listing_went_stale_does_not_rewind_it() {
    // A's listing shows S0 (computed before B pushed), its answer arrives after B's push.
    held_run_meets_a_newer_replica("ov-stale", service::RECEIVE_PACK_REFS, true);
}

#[test]
fn a_run_held_at_its_push_is_refused_by_the_compare_and_swap_and_plans_again() {
    let a = held_run_meets_a_newer_replica("ov-push", service::RECEIVE_PACK, false);
    let eu = replica_report(&a, HELD);
    assert!(
        eu["casRetries"].as_u64().unwrap_or(0) >= 1,
        "A's push of S1 over S2 was not refused and planned again: {a}"
    );
}

/// A small linear congruential generator (Knuth's MMIX constants): the seed replays a run.
struct Lcg(u64);

impl Lcg {
    /// Seeds from any number (close seeds, such as clock readings, give unrelated sequences).
    fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Lcg(z ^ (z >> 31))
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            Some(&items[self.below(items.len())])
        }
    }
}

/// One random change at the source (one push, so every source state is recorded).
fn mutate(s: &mut Overlap, rng: &mut Lcg, commits: &mut Vec<String>, step: usize, n: &mut u32) {
    let now = refs(&s.source);
    let branches: Vec<String> = now
        .keys()
        .filter_map(|k| k.strip_prefix("refs/heads/"))
        .map(str::to_owned)
        .collect();
    let tags: Vec<String> = now
        .keys()
        .filter_map(|k| k.strip_prefix("refs/tags/"))
        .map(str::to_owned)
        .collect();
    let tip = |b: &str| now[&format!("refs/heads/{b}")].clone();
    let parent = |c: &str| {
        let out = s.work.git(&["rev-list", "--parents", "-n", "1", c]);
        out.split_whitespace().nth(1).map(str::to_owned)
    };
    *n += 1;
    let text = format!("step {step} change {n}\n");
    let file = format!("f{}.txt", rng.below(5));
    let Some(b) = rng.pick(&branches).cloned() else {
        return;
    };
    match rng.below(9) {
        // A new commit on a branch (fast-forward).
        0 | 1 => {
            let c = s.commit_on(&tip(&b), &file, &text);
            commits.push(c.clone());
            s.push(&format!("{c}:refs/heads/{b}"));
        }
        // Force-pushed back one commit.
        2 => {
            if let Some(p) = parent(&tip(&b)) {
                s.push(&format!("+{p}:refs/heads/{b}"));
            }
        }
        // Force-pushed sideways: a new commit on the tip's parent.
        3 => {
            if let Some(p) = parent(&tip(&b)) {
                let c = s.commit_on(&p, &file, &text);
                commits.push(c.clone());
                s.push(&format!("+{c}:refs/heads/{b}"));
            }
        }
        // Force-pushed to any commit made so far (possibly an old one).
        4 => {
            if let Some(c) = rng.pick(commits).cloned() {
                s.push(&format!("+{c}:refs/heads/{b}"));
            }
        }
        // A branch created (or recreated) from a tip, with or without a commit of its own.
        5 => {
            let name = format!("topic/b{}", rng.below(4));
            let mut c = tip(&b);
            if rng.below(2) == 0 {
                c = s.commit_on(&c, &file, &text);
                commits.push(c.clone());
            }
            s.push(&format!("+{c}:refs/heads/{name}"));
        }
        // A branch deleted (main stays).
        6 => {
            let others: Vec<&String> = branches.iter().filter(|x| *x != "main").collect();
            if let Some(x) = rng.pick(&others) {
                s.push(&format!(":refs/heads/{x}"));
            }
        }
        // A tag created or moved, lightweight or annotated.
        7 => {
            let name = format!("t{}", rng.below(3));
            let target = rng.pick(commits).cloned().unwrap_or_else(|| tip(&b));
            if rng.below(2) == 0 {
                s.push(&format!("+{target}:refs/tags/{name}"));
            } else {
                s.work
                    .git(&["tag", "-f", "-a", &name, "-m", &text, &target]);
                s.push(&format!("+refs/tags/{name}:refs/tags/{name}"));
            }
        }
        // A tag deleted.
        _ => {
            if let Some(t) = rng.pick(&tags).cloned() {
                s.push(&format!(":refs/tags/{t}"));
            }
        }
    }
}

#[test]
fn random_interleavings_end_equal_and_never_rewind() {
    let seed = std::env::var("CODEHOOKS_OVERLAP_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let steps: usize = std::env::var("CODEHOOKS_OVERLAP_STEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    eprintln!(
        "random interleaving: seed {seed}, {steps} steps (replay: CODEHOOKS_OVERLAP_SEED={seed})"
    );
    let mut rng = Lcg::new(seed);
    let mut s = setup("ov-rand");
    let procs = s.start_pair();
    let first = s.work.commit("src.txt", "v0\n");
    s.push("main:main");
    let mut commits = vec![first];
    let mut n = 0u32;
    let mut failures = Vec::new();
    let mut fatal = 0;
    let mut runs = 0usize;
    let kinds = ["created", "updated", "deleted"];
    for step in 0..steps {
        for _ in 0..rng.below(3) {
            mutate(&mut s, &mut rng, &mut commits, step, &mut n);
        }
        let count = [2, 2, 2, 2, 1, 1, 1, 0][rng.below(8)];
        let events: Vec<Value> = (0..count)
            .map(|i| {
                if rng.below(5) == 0 {
                    codehooks_tests::event("repo-replicator-scheduled-reconcile.json")
                } else {
                    event(kinds[rng.below(3)], &format!("step-{step}-{i}"))
                }
            })
            .collect();
        // Sometimes the first run's replica listing or push is slowed down, so that a run
        // started later (after more source changes) gets there first.
        if count > 0 && rng.below(2) == 0 {
            let op = [service::RECEIVE_PACK_REFS, service::RECEIVE_PACK][rng.below(2)];
            s.server.delay(op, 1, 100 + 100 * rng.below(4) as u64);
        }
        let between = rng.below(3);
        let after = rng.below(2);
        let results: Vec<Invocation> = std::thread::scope(|scope| {
            let mut handles = Vec::new();
            for (i, e) in events.iter().enumerate() {
                handles.push(scope.spawn(|| procs[0].invoke(e, 60_000)));
                // Source changes while the runs go on: between the first and the second run's
                // start, and after.
                let changes = if i == 0 { between } else { after };
                for _ in 0..changes {
                    mutate(&mut s, &mut rng, &mut commits, step, &mut n);
                }
            }
            handles
                .into_iter()
                .map(|h| h.join().expect("invocation thread"))
                .collect()
        });
        // Drop a delay no run used, so it does not leak into the next step.
        http_delete(&format!("{}/_git/faults", s.server.url));
        runs += results.len();
        for r in results {
            if !r.is_ok() {
                failures.push(format!(
                    "step {step}: {} {:?} {:?} {}",
                    r.status, r.error_type, r.error_message, r.response
                ));
                if r.error_type.as_deref() != Some("Transient") {
                    fatal += 1;
                }
            }
        }
        s.assert_no_rewind(&format!("seed {seed}, step {step}"));
    }
    // One more replication: everything equal, clean, and no rewind on the way.
    let r = procs[1].invoke(&event("updated", "final"), 60_000);
    assert!(
        r.is_ok(),
        "seed {seed}: final run: {}",
        describe(&r, &procs)
    );
    let source = refs(&s.source);
    for region in REPLICAS {
        assert_eq!(
            refs(&s.server.repo(region, REPO)),
            source,
            "seed {seed}: {region} differs from the source after the final run"
        );
        fsck(&s.server.repo(region, REPO));
    }
    s.assert_no_rewind(&format!("seed {seed}, at the end"));
    let updates: usize = REPLICAS
        .iter()
        .map(|r| s.server.updates(r, REPO).len())
        .sum();
    eprintln!(
        "seed {seed}: {runs} runs, {} source states, {updates} replica ref updates, {} failed runs",
        s.history.len(),
        failures.len()
    );
    // A run may fail with a retryable error (Lambda retries it): a fetch that raced a force
    // push at the source. Anything else is a defect.
    if !failures.is_empty() {
        eprintln!(
            "seed {seed}: failed runs:\n{}\ngit requests that failed or where git wrote to stderr:\n{}",
            failures.join("\n"),
            s.server
                .requests()
                .iter()
                .filter(|q| (q["status"] != 200 && q["status"] != 401) || q.get("stderr").is_some())
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert_eq!(
        fatal,
        0,
        "seed {seed}: runs failed with a non-retryable error:\n{}",
        failures.join("\n")
    );
}

/// `DELETE` on a control URL of a local server.
fn http_delete(url: &str) {
    let (status, body) = codehooks_tests::http::request("DELETE", url, None);
    assert!(
        (200..300).contains(&status),
        "{url}: {status} {}",
        String::from_utf8_lossy(&body)
    );
}

fn upd(seq: u64, name: &str, old: Option<&str>, new: Option<&str>) -> RefUpdate {
    RefUpdate {
        seq,
        name: name.to_owned(),
        old: old.map(str::to_owned),
        new: new.map(str::to_owned),
        by: "push".to_owned(),
    }
}

#[test]
fn the_rewind_checker_tells_a_rewind_from_a_source_force_push() {
    let state = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    const M: &str = "refs/heads/main";
    const X: &str = "refs/heads/x";
    // main: a, b, c, then the source force-pushes back to a, then d; x: created at b, deleted,
    // created again at b.
    let history = vec![
        state(&[]),
        state(&[(M, "a")]),
        state(&[(M, "b"), (X, "b")]),
        state(&[(M, "c"), (X, "b")]),
        state(&[(M, "a")]),
        state(&[(M, "d"), (X, "b")]),
    ];
    let ok = |u: &[RefUpdate]| check_no_rewind(&history, u);
    // Following the source, skipping states, and its own force push back to a.
    assert_eq!(
        ok(&[upd(1, M, None, Some("a")), upd(2, M, Some("a"), Some("c"))]),
        Ok(())
    );
    assert_eq!(
        ok(&[upd(1, M, None, Some("c")), upd(2, M, Some("c"), Some("a"))]),
        Ok(())
    );
    assert_eq!(
        ok(&[
            upd(1, M, None, Some("b")),
            upd(2, M, Some("b"), Some("a")),
            upd(3, M, Some("a"), Some("d"))
        ]),
        Ok(())
    );
    // x deleted and recreated as the source did; the replicator's own refs are not checked.
    assert_eq!(
        ok(&[
            upd(1, X, None, Some("b")),
            upd(2, X, Some("b"), None),
            upd(3, X, None, Some("b")),
            upd(4, "refs/codehooks/backup/x", None, Some("zz")),
        ]),
        Ok(())
    );
    // Rewinds: main back from c to b (the source never went back to b), from d to a, x
    // deleted again after the source recreated it for good.
    let e = ok(&[upd(1, M, None, Some("c")), upd(2, M, Some("c"), Some("b"))]).unwrap_err();
    assert!(e.contains("REWIND") && e.contains("refs/heads/main"), "{e}");
    let e = ok(&[upd(1, M, None, Some("d")), upd(2, M, Some("d"), Some("a"))]).unwrap_err();
    assert!(e.contains("REWIND"), "{e}");
    let e = ok(&[
        upd(1, X, None, Some("b")),
        upd(2, X, Some("b"), None),
        upd(3, X, None, Some("b")),
        upd(4, X, Some("b"), None),
    ])
    .unwrap_err();
    assert!(e.contains("REWIND") && e.contains("#4"), "{e}");
    // Values the source never had.
    let e = ok(&[upd(1, M, None, Some("q"))]).unwrap_err();
    assert!(e.contains("never had"), "{e}");
    let e = ok(&[upd(1, M, Some("q"), Some("a"))]).unwrap_err();
    assert!(e.contains("never had"), "{e}");
}
