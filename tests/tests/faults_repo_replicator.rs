//! repo-replicator's fault matrix: the real binary, CodeCommit from the emulator and a real
//! `git http-backend` (`tests/localaws/git_server.py`), each call failing in each way: the
//! CodeCommit calls throttled, 5xx, timed out, reset before and after they took effect; the
//! git fetch from the source and the push to the replicas (advertisement and pack) answered
//! 429 or 500, reset before and after they took effect, stalled past the invocation's deadline;
//! and the process killed while each call is held. The event is delivered again as Lambda's
//! retries would (twice at most): every replica then equals the source, or the last attempt
//! fails (a dead letter) and no replica ref moved backwards.
//!
//! Build first: `cargo build -p repo-replicator`, then
//! `cargo test -p codehooks-tests --test faults_repo_replicator`.

mod repo_replicator_support;

use std::collections::BTreeMap;
use std::time::Duration;

use codehooks_tests::faults::{self, ALL, ATTEMPTS, Fault, Faults};
use codehooks_tests::{Function, Invocation, LocalAws};
use repo_replicator_support::*;
use serde_json::{Value, json};

const REPO: &str = "payments-api";
const TIMEOUT_MS: u64 = 15_000;
const GIT_CALLS: [&str; 4] = [
    "upload-pack-refs",
    "upload-pack",
    "receive-pack-refs",
    "receive-pack",
];

struct Rig {
    _scratch: Scratch,
    local: LocalAws,
    server: GitServer,
    work: Work,
    cache: String,
    f: Option<Function>,
    next: u32,
    extra: Vec<(&'static str, String)>,
}

impl Rig {
    fn start() -> Rig {
        Rig::start_with(Vec::new())
    }

    fn start_with(extra: Vec<(&'static str, String)>) -> Rig {
        let Setup {
            scratch,
            local,
            server,
            work,
            cache,
            ..
        } = Setup::builder("faults").seed_replicas().start();
        let mut rig = Rig {
            _scratch: scratch,
            local,
            server,
            work,
            cache,
            f: None,
            next: 0,
            extra,
        };
        rig.f = Some(rig.spawn());
        rig
    }

    fn spawn(&self) -> Function {
        let mut env: Vec<(&str, String)> = faults::fast_env();
        env.extend(replicator_env(&self.server, REPO, &self.cache));
        env.extend(self.extra.iter().cloned());
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.local.function("repo-replicator", SOURCE, &env)
    }

    fn api(&self) -> String {
        self.local.runtime_apis["repo-replicator"].clone()
    }

    /// A fresh process, as Lambda starts after a crash or a timed-out invocation.
    fn restart(&mut self) {
        drop(self.f.take());
        self.f = Some(self.spawn());
    }

    fn invoke(&self, event: &Value, timeout_ms: u64) -> Invocation {
        self.f
            .as_ref()
            .expect("function running")
            .invoke(event, timeout_ms)
    }

    /// Lambda's async delivery; a timed-out attempt ends its sandbox (a fresh process follows).
    fn deliver(&mut self, event: &Value, timeout_ms: u64) -> Vec<Invocation> {
        let mut out = Vec::new();
        for _ in 0..3 {
            let mut r = self.invoke(event, timeout_ms);
            if r.duration_ms > timeout_ms as f64 {
                // Lambda ends an invocation at its deadline, whatever it answers later.
                r.status = "timeout".to_owned();
            }
            let (ok, timed_out) = (r.is_ok(), r.status == "timeout");
            out.push(r);
            if ok {
                break;
            }
            if timed_out {
                self.restart();
            }
        }
        out
    }

    /// A new commit on the source's main and its reference event.
    fn change(&mut self) -> Value {
        self.next += 1;
        self.work.commit("counter.txt", &format!("{}\n", self.next));
        self.work.push("main:main");
        reference_event(
            "repo-replicator-reference-updated.json",
            REPO,
            &format!("ev-{}", self.next),
        )
    }

    fn replicas(&self) -> Vec<BTreeMap<String, String>> {
        REPLICAS
            .iter()
            .map(|r| refs(&self.server.repo(r, REPO)))
            .collect()
    }

    fn faults_for(&self, op: &str) -> Faults {
        if op.starts_with("CodeCommit_") {
            Faults::emulator(self.local.emulator_url())
        } else {
            Faults::git(&self.server.url)
        }
    }

    /// The CodeCommit targets one clean replication calls.
    fn codecommit_calls(&mut self) -> Vec<String> {
        let before = self.local.emulator().requests(None).len();
        let e = self.change();
        let r = self.invoke(&e, TIMEOUT_MS);
        assert!(
            r.is_ok(),
            "{r:?}\n{}",
            self.f.as_ref().map(Function::logs).unwrap_or_default()
        );
        let mut ops: Vec<String> = Vec::new();
        for q in self
            .local
            .emulator()
            .requests(None)
            .into_iter()
            .skip(before)
        {
            if let Some(t) = q["target"].as_str()
                && !ops.iter().any(|o| o == t)
            {
                ops.push(t.to_owned());
            }
        }
        ops
    }
}

/// Converged, or a dead letter with no replica ref moved backwards (each ref of `main` is
/// what it was before or the source's).
fn judge(rig: &Rig, before: &[BTreeMap<String, String>], attempts: &[Invocation]) -> Vec<String> {
    let source = refs(&rig.server.repo(SOURCE, REPO));
    let now = rig.replicas();
    let last = attempts.last().expect("an attempt");
    let converged = now.iter().all(|r| *r == source);
    let mut row = vec![format!(
        "{} after {} invocation(s); {}",
        if last.is_ok() {
            "ok".to_owned()
        } else {
            format!(
                "dead letter {} ({})",
                if last.status == "timeout" {
                    "timeout"
                } else {
                    last.error_type.as_deref().unwrap_or(&last.status)
                },
                last.error_message
                    .as_deref()
                    .unwrap_or("")
                    .chars()
                    .take(80)
                    .collect::<String>()
            )
        },
        attempts.len(),
        if converged {
            "replicas converged"
        } else {
            "replicas behind"
        }
    )];
    if last.is_ok() && !converged {
        row.push("answered ok but a replica differs from the source".to_owned());
    }
    for (i, (b, n)) in before.iter().zip(&now).enumerate() {
        let (was, is, want) = (
            b.get("refs/heads/main"),
            n.get("refs/heads/main"),
            source.get("refs/heads/main"),
        );
        if is != was && is != want {
            row.push(format!(
                "{} main rewound or moved elsewhere: {was:?} -> {is:?}",
                REPLICAS[i]
            ));
        }
    }
    for r in &now {
        if r.len() < before.iter().map(BTreeMap::len).min().unwrap_or(0) {
            row.push("a replica lost refs".to_owned());
        }
    }
    for r in REPLICAS {
        fsck(&rig.server.repo(r, REPO));
    }
    row
}

fn report(table: &[(String, String, Vec<String>)]) {
    eprintln!("| call | fault | outcome |");
    eprintln!("|---|---|---|");
    for (call, fault, row) in table {
        eprintln!("| {call} | {fault} | {} |", row.join("; "));
    }
    let broken: Vec<_> = table.iter().filter(|(_, _, r)| r.len() > 1).collect();
    assert!(broken.is_empty(), "lost or rewound: {broken:#?}");
}

/// Every CodeCommit call and every git request × every fault (a git "timeout" is a stall past
/// the invocation's deadline: libgit2's own timeout is 120 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_under_every_fault_converges_or_dead_letters_without_rewinding() {
    let mut rig = Rig::start();
    let mut calls = rig.codecommit_calls();
    calls.extend(GIT_CALLS.iter().map(|s| (*s).to_owned()));
    let mut table = Vec::new();
    for op in &calls {
        for fault in ALL {
            let git = !op.starts_with("CodeCommit_");
            let e = rig.change();
            let before = rig.replicas();
            let timeout_ms = if git && fault == Fault::Timeout {
                // Stalled longer than the invocation may run.
                crate_http_fault(&rig.server.url, op, 5_000);
                2_500
            } else {
                rig.faults_for(op).arm(op, fault, ATTEMPTS);
                TIMEOUT_MS
            };
            let attempts = rig.deliver(&e, timeout_ms);
            rig.faults_for(op).clear();
            let mut row = judge(&rig, &before, &attempts);
            if !attempts.last().is_some_and(Invocation::is_ok) {
                // The next event (or the reconciliation) repairs it: check that it does.
                let again = rig.deliver(&e, TIMEOUT_MS);
                let after = judge(&rig, &before, &again);
                row[0].push_str(&format!("; the next delivery: {}", after[0]));
                row.extend(after.into_iter().skip(1));
            }
            let name = if git && fault == Fault::Timeout {
                "stall past the deadline"
            } else {
                fault.kind()
            };
            table.push((op.clone(), name.to_owned(), row));
        }
    }
    report(&table);
}

/// A stall of `op` on the git server for `ms` (the latency fault with its own delay).
fn crate_http_fault(git_url: &str, op: &str, ms: u64) {
    codehooks_tests::http::post_json(
        &format!("{git_url}/_git/faults"),
        &json!({"operation": op, "kind": "latency", "count": 1, "latency_ms": ms}),
    );
}

/// The process is killed while each call is held (before it took effect and after); the retry
/// on a fresh process converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_each_step_is_repaired_by_the_retry() {
    let mut rig = Rig::start();
    let mut calls = rig.codecommit_calls();
    calls.extend(GIT_CALLS.iter().map(|s| (*s).to_owned()));
    let mut table = Vec::new();
    for op in &calls {
        for apply in [false, true] {
            let e = rig.change();
            let before = rig.replicas();
            rig.faults_for(op).hold(op, apply);
            let running = faults::invoke_in_background(&rig.api(), &e, TIMEOUT_MS);
            assert!(
                rig.faults_for(op).wait_held(Duration::from_secs(10)),
                "{op} was never called"
            );
            drop(rig.f.take());
            faults::crashed(&rig.api());
            rig.faults_for(op).release();
            rig.f = Some(rig.spawn());
            let first = running.join().expect("invocation thread");
            let mut attempts = vec![first];
            attempts.extend(rig.deliver(&e, TIMEOUT_MS).into_iter().take(2));
            let row = judge(&rig, &before, &attempts);
            let when = if apply {
                "crash after it took effect"
            } else {
                "crash before it took effect"
            };
            table.push((op.clone(), when.to_owned(), row));
        }
    }
    report(&table);
}

/// A replica that does not exist yet is created (`CODEHOOKS_CREATE_MISSING_REPLICAS`): every
/// CodeCommit call of that path × every fault, on a new repository each time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_missing_replicas_under_every_codecommit_fault() {
    let names: Vec<String> = (0..40).map(|i| format!("fresh-{i}")).collect();
    let mut rig = Rig::start_with(vec![
        ("CODEHOOKS_CREATE_MISSING_REPLICAS", "true".to_owned()),
        ("CODEHOOKS_REPOSITORIES", names.join(",")),
    ]);
    let mut fresh = names.into_iter();
    let mut new_repository = |rig: &mut Rig| -> (String, Value) {
        let name = fresh.next().expect("enough names");
        let bare = rig.server.create(SOURCE, &name);
        rig.local.emulator().seed(&json!({
            "region": SOURCE,
            "codecommit": {"repositories": [{"repositoryName": name, "repositoryDescription": "fresh"}]}
        }));
        rig.next += 1;
        rig.work.commit("counter.txt", &format!("{}\n", rig.next));
        rig.work.git(&[
            "push",
            "--quiet",
            "--force",
            bare.to_str().unwrap_or_default(),
            "main:main",
        ]);
        let e = reference_event(
            "repo-replicator-reference-created.json",
            &name,
            &format!("ev-{name}"),
        );
        (name, e)
    };
    // One clean run names the calls.
    let before = rig.local.emulator().requests(None).len();
    let (name, e) = new_repository(&mut rig);
    let r = rig.invoke(&e, TIMEOUT_MS);
    assert!(r.is_ok(), "{r:?}");
    let mut calls: Vec<String> = Vec::new();
    for q in rig.local.emulator().requests(None).into_iter().skip(before) {
        if let Some(t) = q["target"].as_str()
            && !calls.iter().any(|o| o == t)
        {
            calls.push(t.to_owned());
        }
    }
    assert!(
        calls.iter().any(|c| c.ends_with("CreateRepository")),
        "{calls:?} ({name})"
    );
    let mut table = Vec::new();
    for op in &calls {
        for fault in ALL {
            let (name, e) = new_repository(&mut rig);
            rig.faults_for(op).arm(op, fault, ATTEMPTS);
            let attempts = rig.deliver(&e, TIMEOUT_MS);
            rig.faults_for(op).clear();
            let source = refs(&rig.server.repo(SOURCE, &name));
            let converged = REPLICAS
                .iter()
                .all(|r| refs(&rig.server.repo(r, &name)) == source);
            let last = attempts.last().expect("an attempt");
            let mut row = vec![format!(
                "{} after {} invocation(s); {}",
                if last.is_ok() {
                    "ok".to_owned()
                } else {
                    format!("dead letter {}", last.error_type.as_deref().unwrap_or("?"))
                },
                attempts.len(),
                if converged {
                    "replicas created and converged"
                } else {
                    "replicas behind"
                }
            )];
            if last.is_ok() && !converged {
                row.push("answered ok but a replica differs from the source".to_owned());
            }
            table.push((op.clone(), fault.kind().to_owned(), row));
        }
    }
    report(&table);
}

/// A push held while its process is killed, released only after a retry replicated a newer
/// commit: the stale push reaches the replica last, and the replica must not rewind to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_push_landing_after_a_newer_one_does_not_rewind_the_replica() {
    let mut rig = Rig::start();
    let first = rig.change();
    assert!(rig.invoke(&first, TIMEOUT_MS).is_ok());
    let older = rig.change();
    let git = Faults::git(&rig.server.url);
    git.hold("receive-pack", true);
    let running = faults::invoke_in_background(&rig.api(), &older, TIMEOUT_MS);
    assert!(git.wait_held(Duration::from_secs(10)), "no push was held");
    drop(rig.f.take());
    faults::crashed(&rig.api());
    rig.f = Some(rig.spawn());
    assert_eq!(
        running
            .join()
            .expect("invocation thread")
            .error_type
            .as_deref(),
        Some("Runtime.ExitError")
    );
    // The source moves on; the retry (or the next event) replicates the newer commit.
    let newer = rig.change();
    let attempts = rig.deliver(&newer, TIMEOUT_MS);
    assert!(
        attempts.last().is_some_and(Invocation::is_ok),
        "{attempts:?}"
    );
    let source = refs(&rig.server.repo(SOURCE, REPO));
    // Now the stale push arrives.
    git.release();
    std::thread::sleep(Duration::from_millis(500));
    for r in REPLICAS {
        assert_eq!(
            refs(&rig.server.repo(r, REPO)),
            source,
            "{r} rewound by the stale push"
        );
    }
    // And the stale event's own retry changes nothing either.
    assert!(rig.invoke(&older, TIMEOUT_MS).is_ok());
    for r in REPLICAS {
        assert_eq!(
            refs(&rig.server.repo(r, REPO)),
            source,
            "{r} rewound by an old event"
        );
    }
}
