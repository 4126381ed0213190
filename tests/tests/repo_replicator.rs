//! repo-replicator: the real binary under the Lambda Runtime API, the emulator's CodeCommit,
//! and a real `git http-backend` that checks SigV4-derived git passwords like CodeCommit.
//!
//! Build first: `cargo build -p repo-replicator`, then
//! `cargo test -p codehooks-tests --test repo_replicator`.

mod repo_replicator_support;

use codehooks_tests::{Function, LocalAws, SECRET_KEY};
use repo_replicator_support::*;
use serde_json::{Value, json};
use std::time::Duration;

const REPO: &str = "payments-api";

/// `payments-api` at the source (described) and in `create_replicas`; the function
/// configured for `payments-api,ledger`.
fn setup(create_replicas: &[&str]) -> Setup {
    Setup::builder("it")
        .replicas(create_replicas)
        .description("Payments API (source of truth)")
        .repositories_env("payments-api,ledger")
        .start()
}

fn start(s: &Setup, extra: &[(&str, &str)]) -> Function {
    s.start(extra)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirrors_every_kind_of_ref_change_to_two_replicas() {
    let s = setup(&REPLICAS);
    let f = start(&s, &[]);
    let w = &s.work;

    // Branch creation with history, a ref name with slashes, an annotated and a lightweight tag.
    w.commit("README.md", "payments\n");
    let first = w.commit("src.txt", "v1\n");
    w.git(&["tag", "-a", "v1.0.0", "-m", "first release"]);
    w.git(&["tag", "light"]);
    w.git(&["checkout", "--quiet", "-b", "feature/retry-budget/v2"]);
    let feature = w.commit("retry.txt", "budget\n");
    w.git(&["checkout", "--quiet", "main"]);
    w.push("refs/heads/*:refs/heads/*");
    w.push("refs/tags/*:refs/tags/*");
    let created = reference_event("repo-replicator-reference-created.json", REPO, "ev-created");
    let r = invoke_ok(&f, &created);
    assert_eq!(r["status"], "replicated");
    assert_mirrored(&s.server, REPO, &REPLICAS);
    let eu = refs(&s.server.repo("eu-west-2", REPO));
    assert_eq!(eu["refs/heads/feature/retry-budget/v2"], feature);
    assert_eq!(eu["refs/heads/main"], first);
    // The annotated tag is the same tag object, not a new one.
    assert_eq!(
        eu["refs/tags/v1.0.0"],
        w.git(&["rev-parse", "v1.0.0"]).trim()
    );
    assert_eq!(
        git(
            &s.server.repo("eu-west-2", REPO),
            &["cat-file", "-t", "v1.0.0"]
        )
        .trim(),
        "tag"
    );
    assert_eq!(
        replica_report(&r, "eu-west-2")["updated"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    // Every request carried the session token in the username, and nothing secret was logged.
    let reqs = s.server.requests();
    assert!(
        reqs.iter()
            .filter(|q| q["status"] == 200)
            .all(|q| q["token_in_username"] == true)
    );
    let logs = f.logs();
    assert!(
        !logs.contains(SECRET_KEY) && !logs.contains("codehooks-test-session"),
        "{logs}"
    );
    assert!(
        logs.contains("\"ReplicationLagMs\"") && logs.contains("\"BytesPushed\""),
        "EMF metrics missing"
    );

    // Fast-forward.
    let second = w.commit("src.txt", "v2\n");
    w.push("main:main");
    let r = invoke_ok(
        &f,
        &reference_event("repo-replicator-reference-updated.json", REPO, "ev-ff"),
    );
    assert_mirrored(&s.server, REPO, &REPLICAS);
    assert_eq!(
        replica_report(&r, "ap-southeast-2")["updated"],
        json!(["refs/heads/main"])
    );
    assert_eq!(
        refs(&s.server.repo("ap-southeast-2", REPO))["refs/heads/main"],
        second
    );

    // Force push: main rewritten from an older commit.
    w.git(&["reset", "--quiet", "--hard", &first]);
    let rewritten = w.commit("src.txt", "v2 rewritten\n");
    w.push("+main:main");
    invoke_ok(
        &f,
        &reference_event("repo-replicator-reference-updated.json", REPO, "ev-force"),
    );
    assert_mirrored(&s.server, REPO, &REPLICAS);
    assert_eq!(
        refs(&s.server.repo("eu-west-2", REPO))["refs/heads/main"],
        rewritten
    );

    // Branch and tag deletion.
    w.push(":refs/heads/feature/retry-budget/v2");
    w.push(":refs/tags/light");
    let deleted = reference_event("repo-replicator-reference-deleted.json", REPO, "ev-deleted");
    let r = invoke_ok(&f, &deleted);
    assert_mirrored(&s.server, REPO, &REPLICAS);
    let eu = refs(&s.server.repo("eu-west-2", REPO));
    assert!(
        !eu.contains_key("refs/heads/feature/retry-budget/v2")
            && !eu.contains_key("refs/tags/light")
    );
    let mut gone: Vec<String> =
        serde_json::from_value(replica_report(&r, "eu-west-2")["deleted"].clone()).unwrap();
    gone.sort();
    assert_eq!(
        gone,
        ["refs/heads/feature/retry-budget/v2", "refs/tags/light"]
    );

    // The same event again, then an old event replayed: nothing moves, nothing is pushed.
    s.server.reset();
    let before = refs(&s.server.repo("eu-west-2", REPO));
    let r = invoke_ok(&f, &deleted);
    assert_eq!(replica_report(&r, "eu-west-2")["updated"], json!([]));
    invoke_ok(&f, &created);
    assert_eq!(
        refs(&s.server.repo("eu-west-2", REPO)),
        before,
        "an old event moved the replica"
    );
    assert_mirrored(&s.server, REPO, &REPLICAS);
    assert!(
        s.server.pushes().is_empty(),
        "pushed on a replayed event: {:?}",
        s.server.pushes()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_commit_change_on_a_long_history_transfers_little() {
    let s = setup(&REPLICAS);
    let w = &s.work;
    // 3,000 commits, written with fast-import.
    let mut stream = String::new();
    for i in 1..=3000 {
        let body = format!("line {i}\n");
        let message = format!("commit {i}");
        stream.push_str(&format!(
            "commit refs/heads/main\ncommitter Mary Major <mary@example.com> {} +0000\ndata {}\n{message}\n",
            1_700_000_000 + i,
            message.len()
        ));
        stream.push_str(&format!(
            "M 644 inline file{}.txt\ndata {}\n{body}\n",
            i % 50,
            body.len()
        ));
    }
    let mut child = std::process::Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(&w.dir)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    w.git(&["reset", "--quiet", "--hard", "main"]);
    w.push("main:main");
    let f = start(&s, &[]);
    invoke_ok(
        &f,
        &reference_event("repo-replicator-reference-created.json", REPO, "big-1"),
    );
    assert_mirrored(&s.server, REPO, &REPLICAS);

    s.server.reset();
    w.commit("file7.txt", "one more line\n");
    w.push("main:main");
    let r = invoke_ok(
        &f,
        &reference_event("repo-replicator-reference-updated.json", REPO, "big-2"),
    );
    assert_mirrored(&s.server, REPO, &REPLICAS);
    let pushes = s.server.pushes();
    assert_eq!(pushes.len(), 2, "{pushes:?}");
    // Per replica, one advertisement serves both the listing and the push.
    for region in REPLICAS {
        let adverts: Vec<Value> = s
            .server
            .requests()
            .into_iter()
            .filter(|q| {
                q["region"] == region && q["service"] == "info/refs?service=git-receive-pack"
            })
            .collect();
        assert_eq!(
            adverts.iter().filter(|q| q["status"] == 200).count(),
            1,
            "{adverts:?}"
        );
    }
    for (region, _, bytes) in &pushes {
        assert!(
            *bytes < 4096,
            "pushed {bytes} bytes to {region} for one commit"
        );
    }
    let fetched: u64 = s
        .server
        .requests()
        .iter()
        .filter(|q| q["region"] == SOURCE && q["service"] == "git-upload-pack")
        .map(|q| q["bytes_out"].as_u64().unwrap_or(0))
        .sum();
    eprintln!("one-commit change: pushes {pushes:?}, fetched {fetched} bytes");
    assert!(
        fetched < 8192,
        "fetched {fetched} bytes from the source for one commit"
    );
    assert_eq!(replica_report(&r, "eu-west-2")["objects"], 3, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_moved_meanwhile_is_planned_again() {
    let s = setup(&REPLICAS);
    // One ref change per push, so a change plan spans several connections.
    let f = start(&s, &[("CODEHOOKS_MAX_REFS_PER_PUSH", "1")]);
    let w = &s.work;
    let a = w.commit("a.txt", "a\n");
    w.push("main:main");
    invoke_ok(
        &f,
        &reference_event("repo-replicator-reference-created.json", REPO, "m-1"),
    );

    // Someone writes to the eu-west-2 replica after the function listed it, before the
    // connection of its second push advertises the refs: push negotiation sees it.
    let stray = w.commit("stray.txt", "not from the source\n");
    git(
        &w.dir,
        &[
            "push",
            "--quiet",
            s.server.repo("eu-west-2", REPO).to_str().unwrap(),
            "HEAD:refs/stray/x",
        ],
    );
    w.git(&["reset", "--quiet", "--hard", &a]);
    let b = w.commit("b.txt", "b\n");
    w.git(&["tag", "t2"]);
    w.push("+main:main");
    w.push("refs/tags/t2:refs/tags/t2");
    s.server.hook("eu-west-2", REPO, 2, "refs/tags/t2", &stray);
    let r = invoke_ok(
        &f,
        &reference_event("repo-replicator-reference-updated.json", REPO, "m-2"),
    );
    assert_eq!(replica_report(&r, "eu-west-2")["casRetries"], 1, "{r}");
    assert_eq!(replica_report(&r, "ap-southeast-2")["casRetries"], 0, "{r}");
    assert_mirrored(&s.server, REPO, &REPLICAS);
    assert_eq!(
        refs(&s.server.repo("eu-west-2", REPO))["refs/heads/main"],
        b
    );

    // Moved after the advertisement the push saw: git's own old-value check rejects the
    // update, the function finds the ref moved, and plans again.
    git(
        &w.dir,
        &[
            "push",
            "--quiet",
            s.server.repo("ap-southeast-2", REPO).to_str().unwrap(),
            &format!("{stray}:refs/stray/x"),
        ],
    );
    let c = w.commit("c.txt", "c\n");
    w.push("main:main");
    s.server
        .hook_push("ap-southeast-2", REPO, 1, "refs/heads/main", &stray);
    let r = invoke_ok(
        &f,
        &reference_event("repo-replicator-reference-updated.json", REPO, "m-3"),
    );
    assert_eq!(replica_report(&r, "ap-southeast-2")["casRetries"], 1, "{r}");
    assert_mirrored(&s.server, REPO, &REPLICAS);
    assert_eq!(
        refs(&s.server.repo("ap-southeast-2", REPO))["refs/heads/main"],
        c
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_replica_is_created_when_allowed_and_a_clear_error_otherwise() {
    let s = setup(&["eu-west-2"]);
    let w = &s.work;
    w.commit("a.txt", "a\n");
    w.push("main:main");
    let event = reference_event("repo-replicator-reference-created.json", REPO, "missing-1");

    // Not allowed: eu-west-2 is still updated, then the invocation fails naming the variable.
    let f = start(&s, &[]);
    let r = f.invoke(&event, 60_000);
    assert_eq!(r.error_type.as_deref(), Some("Config"), "{r:?}");
    let msg = r.error_message.unwrap_or_default();
    assert!(
        msg.contains("CODEHOOKS_CREATE_MISSING_REPLICAS") && msg.contains("ap-southeast-2"),
        "{msg}"
    );
    assert_mirrored(&s.server, REPO, &["eu-west-2"]);
    assert!(
        s.local
            .emulator()
            .requests(Some("CreateRepository"))
            .is_empty()
    );
    drop(f);

    // Allowed: created with the source's description, then filled.
    let f = start(&s, &[("CODEHOOKS_CREATE_MISSING_REPLICAS", "true")]);
    let r = invoke_ok(&f, &event);
    assert_eq!(replica_report(&r, "ap-southeast-2")["created"], true, "{r}");
    assert_mirrored(&s.server, REPO, &REPLICAS);
    let created = s.local.emulator().requests(Some("CreateRepository"));
    assert_eq!(created.len(), 1, "{created:?}");
    let state = s.local.emulator().state("ap-southeast-2");
    let text = state.to_string();
    assert!(text.contains("Payments API (source of truth)"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_without_the_test_flag_refuses_to_start() {
    let s = setup(&REPLICAS);
    s.work.commit("a.txt", "a\n");
    s.work.push("main:main");
    let connect = s.server.connect_url();
    assert!(connect.starts_with("http://"), "{connect}");
    let mut f = s.local.function(
        "repo-replicator",
        SOURCE,
        &[
            ("CODEHOOKS_REPLICA_REGIONS", "eu-west-2,ap-southeast-2"),
            ("CODEHOOKS_REPOSITORIES", REPO),
            ("CODEHOOKS_GIT_CONNECT_URL", &connect),
            ("CODEHOOKS_CACHE_DIR", &s.cache),
        ],
    );
    let status = f.wait_exit(Duration::from_secs(20));
    assert!(
        status.is_some_and(|s| !s.success()),
        "{status:?}\n{}",
        f.logs()
    );
    let logs = f.logs();
    assert!(
        logs.contains("CODEHOOKS_GIT_CONNECT_URL must start with https://")
            && logs.contains("CODEHOOKS_ALLOW_INSECURE_GIT=true"),
        "{logs}"
    );
    assert!(s.server.requests().is_empty(), "{:?}", s.server.requests());
    assert!(refs(&s.server.repo("eu-west-2", REPO)).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrongly_signed_requests_fail_without_looping() {
    let s = setup(&REPLICAS);
    s.work.commit("a.txt", "a\n");
    s.work.push("main:main");
    s.server.settings(&json!({"bad_signature_status": 401}));
    let f = start(&s, &[("AWS_SECRET_ACCESS_KEY", "not-the-right-secret")]);
    let r = f.invoke(
        &reference_event("repo-replicator-reference-created.json", REPO, "bad-sig"),
        60_000,
    );
    assert_eq!(r.status, "error", "{r:?}");
    let reqs = s.server.requests();
    assert!(
        reqs.iter().all(|q| q["status"] != 200),
        "a wrongly signed request was served: {reqs:?}"
    );
    // One anonymous try and one signed try, then the function stops asking.
    assert!(
        reqs.len() <= 4,
        "the credential callback looped: {} requests",
        reqs.len()
    );
    assert!(refs(&s.server.repo("eu-west-2", REPO)).is_empty());
    let logs = f.logs();
    assert!(!logs.contains("not-the-right-secret"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_repairs_lost_events_and_batches_ref_changes() {
    let s = setup(&REPLICAS);
    let w = &s.work;
    w.commit("a.txt", "a\n");
    for i in 0..7 {
        w.git(&["tag", &format!("t{i}")]);
    }
    w.push("refs/heads/*:refs/heads/*");
    w.push("refs/tags/*:refs/tags/*");
    // `ledger` is configured but does not exist anywhere: the schedule reports it, the rest heals.
    let f = start(
        &s,
        &[
            ("CODEHOOKS_MAX_REFS_PER_PUSH", "3"),
            ("CODEHOOKS_REPOSITORIES", "payments-api"),
        ],
    );
    let r = invoke_ok(
        &f,
        &codehooks_tests::event("repo-replicator-scheduled-reconcile.json"),
    );
    assert_eq!(r["trigger"], "schedule");
    assert_mirrored(&s.server, REPO, &REPLICAS);
    // 8 ref changes in batches of at most 3.
    assert_eq!(replica_report(&r, "eu-west-2")["pushes"], 3, "{r}");

    // Bad input: no side effect, a BadInput error.
    s.server.reset();
    let mut other = codehooks_tests::event("repo-replicator-reference-created.json");
    other["detail-type"] = json!("CodeCommit Pull Request State Change");
    let r = f.invoke(&other, 10_000);
    assert_eq!(r.error_type.as_deref(), Some("BadInput"), "{r:?}");
    let mut bad = codehooks_tests::event("repo-replicator-reference-created.json");
    bad["detail"]["repositoryName"] = json!("../../etc");
    let r = f.invoke(&bad, 10_000);
    assert_eq!(r.error_type.as_deref(), Some("BadInput"), "{r:?}");
    let r = f.invoke(&json!({"hello": "world"}), 10_000);
    assert_eq!(r.error_type.as_deref(), Some("BadInput"), "{r:?}");
    assert!(s.server.requests().is_empty());
    // A repository that is not configured is ignored.
    let r = invoke_ok(
        &f,
        &reference_event(
            "repo-replicator-reference-created.json",
            "someone-elses",
            "x",
        ),
    );
    assert_eq!(r["status"], "ignored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_of_every_repository_skips_exclusions() {
    let s = setup(&REPLICAS);
    s.work.commit("a.txt", "a\n");
    s.work.push("main:main");
    let ledger = s.server.create(SOURCE, "ledger");
    s.server.create(SOURCE, "scratch");
    for r in REPLICAS {
        s.server.create(r, "ledger");
        s.server.create(r, "scratch");
    }
    git(
        &s.work.dir,
        &["push", "--quiet", ledger.to_str().unwrap(), "main:main"],
    );
    git(
        &s.work.dir,
        &[
            "push",
            "--quiet",
            s.server.repo(SOURCE, "scratch").to_str().unwrap(),
            "main:main",
        ],
    );
    s.local.emulator().seed(&json!({
        "region": SOURCE,
        "codecommit": {"repositories": [{"repositoryName": "ledger"}, {"repositoryName": "scratch"}]}
    }));
    let f = start(
        &s,
        &[
            ("CODEHOOKS_REPOSITORIES", "*"),
            ("CODEHOOKS_EXCLUDE_REPOSITORIES", "scratch"),
        ],
    );
    let r = invoke_ok(
        &f,
        &codehooks_tests::event("repo-replicator-scheduled-reconcile.json"),
    );
    let names: Vec<&str> = r["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["repository"].as_str())
        .collect();
    assert_eq!(names, ["ledger", "payments-api"], "{r}");
    assert_mirrored(&s.server, REPO, &REPLICAS);
    assert_mirrored(&s.server, "ledger", &REPLICAS);
    assert!(refs(&s.server.repo("eu-west-2", "scratch")).is_empty());
    assert!(
        s.server
            .requests()
            .iter()
            .all(|q| q["repository"] != "scratch")
    );
    assert_eq!(
        s.local.emulator().requests(Some("ListRepositories")).len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signature_covers_the_git_host() {
    let scratch = Scratch::new("fips");
    let local = LocalAws::builder()
        .emulator()
        .runtime_api("repo-replicator")
        .start();
    // A server standing in for the FIPS endpoints.
    let server = GitServer::start_with_host(
        &scratch.path().join("git"),
        None,
        Some("git-codecommit-fips.{region}.amazonaws.com"),
    );
    let source = server.create(SOURCE, REPO);
    for r in REPLICAS {
        server.create(r, REPO);
    }
    let work = Work::new(scratch.path(), &source);
    work.commit("a.txt", "a\n");
    work.push("main:main");
    let cache = scratch.path().join("cache").to_string_lossy().into_owned();
    let connect = server.connect_url();
    let env = |host: &'static str| {
        vec![
            (
                "CODEHOOKS_REPLICA_REGIONS",
                "eu-west-2,ap-southeast-2".to_owned(),
            ),
            ("CODEHOOKS_REPOSITORIES", REPO.to_owned()),
            ("CODEHOOKS_GIT_CONNECT_URL", connect.clone()),
            ("CODEHOOKS_ALLOW_INSECURE_GIT", "true".to_owned()),
            ("CODEHOOKS_CACHE_DIR", cache.clone()),
            ("CODEHOOKS_GIT_HOST", host.to_owned()),
        ]
    };
    let event = reference_event("repo-replicator-reference-created.json", REPO, "fips-1");

    // Signed for the standard host: refused.
    let pairs = env("git-codecommit.{region}.amazonaws.com");
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let f = local.function("repo-replicator", SOURCE, &pairs);
    let r = f.invoke(&event, 60_000);
    assert_eq!(r.status, "error", "{r:?}");
    assert!(server.requests().iter().any(|q| q["status"] == 403));
    assert!(server.requests().iter().all(|q| q["status"] != 200));
    drop(f);

    // Signed for the FIPS host: replicated.
    let pairs = env("git-codecommit-fips.{region}.amazonaws.com");
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let f = local.function("repo-replicator", SOURCE, &pairs);
    invoke_ok(&f, &event);
    assert_mirrored(&server, REPO, &REPLICAS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicates_over_https_and_refuses_an_unknown_certificate() {
    let scratch = Scratch::new("tls");
    let local = LocalAws::builder()
        .emulator()
        .runtime_api("repo-replicator")
        .start();
    let server = GitServer::start_tls(&scratch.path().join("git"), None);
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let source = server.create(SOURCE, REPO);
    for r in REPLICAS {
        server.create(r, REPO);
    }
    let work = Work::new(scratch.path(), &source);
    work.commit("a.txt", "a\n");
    work.git(&["tag", "-a", "v1", "-m", "one"]);
    work.push("main:main");
    work.push("refs/tags/*:refs/tags/*");
    let cache = scratch.path().join("cache").to_string_lossy().into_owned();
    let connect = server.connect_url();
    let cert = server.certificate().to_string_lossy().into_owned();
    let base = [
        ("CODEHOOKS_REPLICA_REGIONS", "eu-west-2,ap-southeast-2"),
        ("CODEHOOKS_REPOSITORIES", REPO),
        ("CODEHOOKS_GIT_CONNECT_URL", connect.as_str()),
        ("CODEHOOKS_CACHE_DIR", cache.as_str()),
    ];
    let event = reference_event("repo-replicator-reference-created.json", REPO, "tls-1");

    // The certificate is not trusted: the TLS handshake fails, nothing is served.
    let f = local.function("repo-replicator", SOURCE, &base);
    let r = f.invoke(&event, 60_000);
    assert_eq!(r.status, "error", "{r:?}");
    let msg = r.error_message.unwrap_or_default();
    assert!(
        msg.contains("certificate") || msg.contains("SSL") || msg.contains("TLS"),
        "{msg}"
    );
    assert!(refs(&server.repo("eu-west-2", REPO)).is_empty());
    drop(f);

    // Trusted (as Lambda's CA bundle trusts CodeCommit's): replicated over TLS.
    let mut env = base.to_vec();
    env.push(("SSL_CERT_FILE", cert.as_str()));
    let f = local.function("repo-replicator", SOURCE, &env);
    invoke_ok(&f, &event);
    assert_mirrored(&server, REPO, &REPLICAS);
}
