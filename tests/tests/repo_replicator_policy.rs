//! repo-replicator's ref policy, end to end: the real binary under the
//! Lambda Runtime API, the emulator's CodeCommit (linked to the git server's repositories, so
//! its branches and `UpdateDefaultBranch` are checked against what was pushed), and a real
//! `git http-backend` behind `tests/localaws/git_server.py`.
//! - include/exclude patterns per replica, and refs outside the selection left alone;
//! - backups `refs/codehooks/backup/<time>/<ref>` of the old value before a forced update
//!   or a delete, made before the move, retention keeping only the newest N;
//! - keep mode: a divergent replica ref is left alone and reported, the rest mirrored;
//! - the replicas' default branch follows the source's.
//!
//! Build first: `cargo build -p repo-replicator --bins`, then
//! `cargo test -p codehooks-tests --test repo_replicator_policy`.

mod repo_replicator_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use codehooks_tests::Function;
use repo_replicator_support::*;
use serde_json::{Value, json};

const REPO: &str = "payments-api";
const BACKUP: &str = "refs/codehooks/backup/";

/// The source and both replicas exist in the emulator and on the git server; the emulator
/// reads their branches from the git server's repositories.
fn setup(source_default: Option<&str>) -> Setup {
    Setup::builder("policy")
        .description("Payments API")
        .default_branch(source_default)
        .seed_replicas()
        .link_git()
        .start()
}

fn start(s: &Setup, extra: &[(&str, &str)]) -> Function {
    s.start(extra)
}

/// As the support's [`invoke_ok`], and the repository was replicated.
fn invoke_ok(f: &Function, event: &Value) -> Value {
    let r = repo_replicator_support::invoke_ok(f, event);
    assert_eq!(r["status"], "replicated", "{r}");
    r
}

fn updated(id: &str) -> Value {
    reference_event("repo-replicator-reference-updated.json", REPO, id)
}

/// A report's list of ref names under `key`, sorted.
fn names(report: &Value, key: &str) -> Vec<String> {
    let mut v: Vec<String> = report[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} list in {report}"))
        .iter()
        .filter_map(|n| n.as_str().map(str::to_owned))
        .collect();
    v.sort();
    v
}

/// Every ref of a bare repository, the function's own included.
fn all_refs(repo: &Path) -> BTreeMap<String, String> {
    git(repo, &["for-each-ref", "--format=%(refname) %(objectname)"])
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, o)| (n.to_owned(), o.to_owned()))
        .collect()
}

/// The backups of `git_ref` in a replica, oldest first: (backup ref, object).
fn backups(repo: &Path, git_ref: &str) -> Vec<(String, String)> {
    let suffix = format!("/{git_ref}");
    all_refs(repo)
        .into_iter()
        .filter(|(n, _)| {
            n.strip_prefix(BACKUP)
                .and_then(|rest| rest.strip_suffix(&suffix))
                .is_some_and(is_stamp)
        })
        .collect()
}

/// The objects the backups of `git_ref` in a replica hold, oldest first.
fn backed_up(repo: &Path, git_ref: &str) -> Vec<String> {
    backups(repo, git_ref).into_iter().map(|(_, o)| o).collect()
}

/// `yyyymmddThhmmssZ`.
fn is_stamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit)
}

/// A commit made straight in a bare repository on top of `branch` (someone pushing to a
/// replica): moves the branch and returns the commit.
fn commit_in_bare(repo: &Path, branch: &str, message: &str) -> String {
    let tree = git(repo, &["rev-parse", &format!("{branch}^{{tree}}")]);
    let commit = git(
        repo,
        &["commit-tree", tree.trim(), "-p", branch, "-m", message],
    );
    let commit = commit.trim().to_owned();
    git(
        repo,
        &["update-ref", &format!("refs/heads/{branch}"), &commit],
    );
    commit
}

/// Backup refs are named by the second: let the clock pass into a new one.
fn next_second() {
    std::thread::sleep(Duration::from_millis(1_100));
}

/// The emulator's view of a repository in `region`.
fn repository_state(s: &Setup, region: &str) -> Value {
    s.local.emulator().state(region)["repositories"][REPO].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patterns_choose_the_refs_each_replica_mirrors() {
    let s = setup(None);
    // eu-west-2: release branches (one level) and every tag but nightlies; ap-southeast-2: all.
    let f = start(
        &s,
        &[
            ("CODEHOOKS_REF_INCLUDE", "refs/heads/release/*,refs/tags/**"),
            ("CODEHOOKS_REF_EXCLUDE", "refs/tags/nightly-*"),
            (
                "CODEHOOKS_REPLICA_POLICIES",
                r#"{"ap-southeast-2": {"include": [], "exclude": []}}"#,
            ),
        ],
    );
    let w = &s.work;
    let base = w.commit("README.md", "payments\n");
    w.git(&["tag", "-a", "v1.0", "-m", "first release"]);
    w.git(&["tag", "nightly-1"]);
    w.git(&["tag", "builds/42"]);
    for b in ["release/1.0", "release/2.0", "release/old/0.9", "feature/x"] {
        w.git(&["branch", b]);
    }
    w.git(&["checkout", "--quiet", "release/2.0"]);
    let r2 = w.commit("fix.txt", "fix\n");
    w.git(&["checkout", "--quiet", "main"]);
    w.push("refs/heads/*:refs/heads/*");
    w.push("refs/tags/*:refs/tags/*");

    let r = invoke_ok(
        &f,
        &reference_event("repo-replicator-reference-created.json", REPO, "p-1"),
    );
    let eu_dir = s.server.repo("eu-west-2", REPO);
    let eu = refs(&eu_dir);
    let tag = w.git(&["rev-parse", "v1.0"]).trim().to_owned();
    assert_eq!(
        eu,
        BTreeMap::from([
            ("refs/heads/release/1.0".to_owned(), base.clone()),
            ("refs/heads/release/2.0".to_owned(), r2.clone()),
            ("refs/tags/builds/42".to_owned(), base.clone()),
            ("refs/tags/v1.0".to_owned(), tag),
        ]),
        "eu-west-2 mirrors only what its patterns select"
    );
    assert_eq!(
        names(replica_report(&r, "eu-west-2"), "updated"),
        [
            "refs/heads/release/1.0",
            "refs/heads/release/2.0",
            "refs/tags/builds/42",
            "refs/tags/v1.0"
        ]
    );
    assert_mirrored(&s.server, REPO, &["ap-southeast-2"]);
    fsck(&eu_dir);

    // A ref the replica has outside its selection is never touched; a selected ref deleted at
    // the source is deleted (after a backup); an unselected source change sends nothing.
    git(&eu_dir, &["update-ref", "refs/heads/eu-only", &base]);
    git(&eu_dir, &["update-ref", "refs/heads/main", &base]);
    w.push(":refs/heads/release/1.0");
    let feature = {
        w.git(&["checkout", "--quiet", "feature/x"]);
        let c = w.commit("x.txt", "x\n");
        w.git(&["checkout", "--quiet", "main"]);
        c
    };
    w.push("feature/x:feature/x");
    let main = w.commit("README.md", "payments, moved on\n");
    w.push("main:main");
    let r = invoke_ok(&f, &updated("p-2"));
    let eu = all_refs(&eu_dir);
    assert_eq!(eu.get("refs/heads/eu-only"), Some(&base));
    assert_eq!(
        eu.get("refs/heads/main"),
        Some(&base),
        "main is outside eu-west-2's selection: the source's move is not mirrored there"
    );
    assert!(!eu.contains_key("refs/heads/release/1.0"));
    assert!(!eu.contains_key("refs/heads/feature/x"));
    assert_eq!(
        names(replica_report(&r, "eu-west-2"), "deleted"),
        ["refs/heads/release/1.0"]
    );
    assert_eq!(
        backed_up(&eu_dir, "refs/heads/release/1.0"),
        [base.as_str()]
    );
    assert_mirrored(&s.server, REPO, &["ap-southeast-2"]);
    let ap = refs(&s.server.repo("ap-southeast-2", REPO));
    assert_eq!(ap["refs/heads/feature/x"], feature);
    assert_eq!(ap["refs/heads/main"], main);
    fsck(&eu_dir);
    // The source's default branch (main) is not mirrored to eu-west-2: it is not asked to
    // make it its default (the emulator, like CodeCommit, would refuse a branch it lacks).
    let calls = s.local.emulator().requests(Some("UpdateDefaultBranch"));
    assert!(calls.iter().all(|c| c["status"] == 200), "{calls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_pushes_and_deletes_leave_backups_and_retention_keeps_the_newest() {
    let s = setup(None);
    let f = start(&s, &[("CODEHOOKS_BACKUP_RETENTION", "2")]);
    let w = &s.work;
    let a = w.commit("src.txt", "a\n");
    let b = w.commit("src.txt", "b\n");
    w.git(&["branch", "feature"]);
    w.git(&["tag", "-a", "v1", "-m", "one"]);
    w.push("refs/heads/*:refs/heads/*");
    w.push("refs/tags/*:refs/tags/*");
    invoke_ok(&f, &updated("b-0"));
    assert_mirrored(&s.server, REPO, &REPLICAS);
    for r in REPLICAS {
        assert!(
            backups(&s.server.repo(r, REPO), "refs/heads/main").is_empty(),
            "no backup without a forced update"
        );
    }

    // A fast-forward makes no backup.
    let c = w.commit("src.txt", "c\n");
    w.push("main:main");
    invoke_ok(&f, &updated("b-ff"));
    assert!(
        all_refs(&s.server.repo("eu-west-2", REPO))
            .keys()
            .all(|n| !n.starts_with(BACKUP))
    );

    // Three force pushes: each replica keeps the old value of each, the newest two only.
    let mut old = vec![c.clone()];
    for i in 1..=3 {
        next_second();
        w.git(&["reset", "--quiet", "--hard", &a]);
        let forced = w.commit("src.txt", &format!("rewritten {i}\n"));
        w.push("+main:main");
        invoke_ok(&f, &updated(&format!("b-force-{i}")));
        assert_mirrored(&s.server, REPO, &REPLICAS);
        old.push(forced);
        for r in REPLICAS {
            let dir = s.server.repo(r, REPO);
            let kept = backed_up(&dir, "refs/heads/main");
            let first = old.len().saturating_sub(3);
            assert_eq!(
                kept,
                old[first..old.len() - 1],
                "{r}: the backups of main after force push {i}, oldest first"
            );
            for o in &kept {
                assert_eq!(git(&dir, &["cat-file", "-t", o]).trim(), "commit");
            }
            fsck(&dir);
        }
    }
    // The backup was written before the forced update, on each replica.
    for r in REPLICAS {
        let log = s.server.updates(r, REPO);
        let last_main = log
            .iter()
            .rfind(|u| u.name == "refs/heads/main")
            .expect("main was updated");
        let backup = log
            .iter()
            .rfind(|u| u.name.starts_with(BACKUP) && u.new.as_deref() == Some(old[2].as_str()))
            .expect("the last backup was written");
        assert!(
            backup.seq < last_main.seq,
            "{r}: the backup must land before the forced update: {log:?}"
        );
    }

    // Deletes at the source: the replica keeps the old values under backups.
    let tag = w.git(&["rev-parse", "v1"]).trim().to_owned();
    w.push(":refs/heads/feature");
    w.push(":refs/tags/v1");
    let r = invoke_ok(&f, &updated("b-del"));
    assert_mirrored(&s.server, REPO, &REPLICAS);
    for region in REPLICAS {
        let dir = s.server.repo(region, REPO);
        assert_eq!(
            backed_up(&dir, "refs/heads/feature"),
            [b.as_str()],
            "{region}"
        );
        assert_eq!(
            backed_up(&dir, "refs/tags/v1"),
            [tag.as_str()],
            "{region}: the tag object itself"
        );
        assert_eq!(
            names(replica_report(&r, region), "deleted"),
            ["refs/heads/feature", "refs/tags/v1"]
        );
        // Retention is per ref: main still has its two.
        assert_eq!(backups(&dir, "refs/heads/main").len(), 2);
        fsck(&dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_zero_makes_no_backups() {
    let s = setup(None);
    let f = start(
        &s,
        &[(
            "CODEHOOKS_REPLICA_POLICIES",
            r#"{"ap-southeast-2": {"backupRetention": 0}}"#,
        )],
    );
    let w = &s.work;
    let a = w.commit("src.txt", "a\n");
    let b = w.commit("src.txt", "b\n");
    w.git(&["branch", "feature"]);
    w.push("refs/heads/*:refs/heads/*");
    invoke_ok(&f, &updated("z-0"));
    w.git(&["reset", "--quiet", "--hard", &a]);
    w.commit("src.txt", "rewritten\n");
    w.push("+main:main");
    w.push(":refs/heads/feature");
    invoke_ok(&f, &updated("z-1"));
    assert_mirrored(&s.server, REPO, &REPLICAS);
    let ap = all_refs(&s.server.repo("ap-southeast-2", REPO));
    assert!(
        ap.keys().all(|n| !n.starts_with("refs/codehooks/")),
        "retention 0 keeps no backups: {ap:?}"
    );
    // The other replica (default retention) has both.
    let eu = s.server.repo("eu-west-2", REPO);
    assert_eq!(backed_up(&eu, "refs/heads/main"), [b.as_str()]);
    assert_eq!(backed_up(&eu, "refs/heads/feature"), [b.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_mode_leaves_a_divergent_replica_ref_alone_and_reports_it() {
    let s = setup(None);
    let f = start(
        &s,
        &[(
            "CODEHOOKS_REPLICA_POLICIES",
            r#"{"ap-southeast-2": {"divergence": "keep"}}"#,
        )],
    );
    let w = &s.work;
    w.commit("src.txt", "a\n");
    w.commit("src.txt", "b\n");
    w.push("main:main");
    invoke_ok(&f, &updated("k-0"));
    assert_mirrored(&s.server, REPO, &REPLICAS);

    // Someone commits on each replica directly; the source moves on meanwhile.
    let eu_dir = s.server.repo("eu-west-2", REPO);
    let ap_dir = s.server.repo("ap-southeast-2", REPO);
    let eu_local = commit_in_bare(&eu_dir, "main", "hotfix made on the eu-west-2 replica");
    let ap_local = commit_in_bare(&ap_dir, "main", "hotfix made on the ap-southeast-2 replica");
    let c = w.commit("src.txt", "c\n");
    w.git(&["tag", "v2"]);
    w.push("main:main");
    w.push("refs/tags/*:refs/tags/*");
    let r = invoke_ok(&f, &updated("k-1"));

    // Overwrite (the default): the source wins, the replica's own commit is kept in a backup
    // (an object the cache never had).
    assert_mirrored(&s.server, REPO, &["eu-west-2"]);
    assert_eq!(refs(&eu_dir)["refs/heads/main"], c);
    assert_eq!(backed_up(&eu_dir, "refs/heads/main"), [eu_local]);
    // Keep: main is left as the replica has it and reported; the new tag still arrives.
    let ap = refs(&ap_dir);
    assert_eq!(ap["refs/heads/main"], ap_local);
    assert_eq!(ap["refs/tags/v2"], c);
    let report = replica_report(&r, "ap-southeast-2");
    assert_eq!(names(report, "kept"), ["refs/heads/main"], "{report}");
    assert!(backups(&ap_dir, "refs/heads/main").is_empty());
    fsck(&eu_dir);
    fsck(&ap_dir);

    // Again: still kept, still reported, nothing pushed to ap-southeast-2.
    s.server.reset();
    let r = invoke_ok(&f, &updated("k-2"));
    assert_eq!(refs(&ap_dir)["refs/heads/main"], ap_local);
    assert_eq!(
        names(replica_report(&r, "ap-southeast-2"), "kept"),
        ["refs/heads/main"]
    );
    assert!(
        s.server
            .pushes()
            .iter()
            .all(|(region, _, _)| region != "ap-southeast-2"),
        "pushed to a replica with nothing to change: {:?}",
        s.server.pushes()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replicas_default_branch_follows_the_sources() {
    let s = setup(Some("trunk"));
    let f = start(&s, &[]);
    let w = &s.work;
    let main = w.commit("README.md", "payments\n");
    w.git(&["checkout", "--quiet", "-b", "trunk"]);
    w.commit("trunk.txt", "trunk\n");
    w.git(&["checkout", "--quiet", "main"]);
    w.push("refs/heads/*:refs/heads/*");
    let calls = |s: &Setup| s.local.emulator().requests(Some("UpdateDefaultBranch"));

    invoke_ok(
        &f,
        &reference_event("repo-replicator-reference-created.json", REPO, "d-1"),
    );
    assert_mirrored(&s.server, REPO, &REPLICAS);
    let made = calls(&s);
    for region in REPLICAS {
        let call = made
            .iter()
            .find(|c| c["region"] == region)
            .unwrap_or_else(|| panic!("no UpdateDefaultBranch in {region}: {made:?}"));
        assert_eq!(
            call["body"],
            json!({"repositoryName": REPO, "defaultBranchName": "trunk"})
        );
        let state = repository_state(&s, region);
        assert_eq!(state["repositoryMetadata"]["defaultBranch"], "trunk");
        assert_eq!(
            git(&s.server.repo(region, REPO), &["symbolic-ref", "HEAD"]).trim(),
            "refs/heads/trunk"
        );
    }
    // The emulator refuses a branch the replica does not have: every call came after the push.
    assert!(
        made.iter().all(|c| c["status"] == 200),
        "UpdateDefaultBranch refused: {made:?}"
    );
    assert!(made.iter().all(|c| c["region"] != SOURCE));

    // The source's default changes (no git event): the next reconciliation follows it.
    let sdk = s.local.sdk_config(s.local.emulator_url(), SOURCE).await;
    aws_sdk_codecommit::Client::new(&sdk)
        .update_default_branch()
        .repository_name(REPO)
        .default_branch_name("main")
        .send()
        .await
        .expect("UpdateDefaultBranch at the source");
    let before = calls(&s).len();
    invoke_ok(
        &f,
        &codehooks_tests::event("repo-replicator-scheduled-reconcile.json"),
    );
    let made = calls(&s);
    for region in REPLICAS {
        assert_eq!(
            repository_state(&s, region)["repositoryMetadata"]["defaultBranch"],
            "main",
            "{region}"
        );
        assert!(
            made[before..]
                .iter()
                .any(|c| c["region"] == region && c["body"]["defaultBranchName"] == "main")
        );
    }
    assert_eq!(
        refs(&s.server.repo("eu-west-2", REPO))["refs/heads/main"],
        main
    );

    // In step: no further calls.
    let before = calls(&s).len();
    invoke_ok(&f, &updated("d-3"));
    assert_eq!(calls(&s).len(), before, "{:?}", &calls(&s)[before..]);
    assert!(calls(&s).iter().all(|c| c["status"] == 200));
}
