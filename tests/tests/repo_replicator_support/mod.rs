//! Test support for repo-replicator: the local CodeCommit git endpoint
//! (`tests/localaws/git_server.py`), bare repositories on disk, the git CLI, and the
//! [`Setup`] every integration test of the replicator starts from.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use codehooks_tests::{Function, LocalAws, http};
use serde_json::{Value, json};

pub const SOURCE: &str = "us-east-1";
pub const REPLICAS: [&str; 2] = ["eu-west-2", "ap-southeast-2"];

/// A scratch directory, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(label: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "codehooks-rr-{label}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::env::var_os("CODEHOOKS_KEEP_SCRATCH").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The local git endpoint: `<url>/<region>/v1/repos/<name>`, repositories under `<root>/<region>/<name>`.
pub struct GitServer {
    pub url: String,
    pub root: PathBuf,
    _stdin: Option<ChildStdin>,
    child: Child,
}

impl GitServer {
    /// Starts the server; with `emulator`, repositories the emulator's CodeCommit knows are created on first access.
    pub fn start(root: &Path, emulator: Option<&str>) -> Self {
        Self::start_with_host(root, emulator, None)
    }

    /// As [`GitServer::start`], checking signatures for `host_template` (`{region}` filled in).
    pub fn start_with_host(
        root: &Path,
        emulator: Option<&str>,
        host_template: Option<&str>,
    ) -> Self {
        Self::start_opts(root, emulator, host_template, false)
    }

    /// As [`GitServer::start`], serving HTTPS with a fresh self-signed certificate for
    /// 127.0.0.1 (see [`GitServer::certificate`]).
    pub fn start_tls(root: &Path, emulator: Option<&str>) -> Self {
        Self::start_opts(root, emulator, None, true)
    }

    /// The certificate of a server started with [`GitServer::start_tls`] (PEM), for `SSL_CERT_FILE`.
    pub fn certificate(&self) -> PathBuf {
        self.root.join("tls/cert.pem")
    }

    fn start_opts(
        root: &Path,
        emulator: Option<&str>,
        host_template: Option<&str>,
        tls: bool,
    ) -> Self {
        let mut cmd = Command::new(codehooks_tests::python());
        cmd.arg(codehooks_tests::repo_root().join("tests/localaws/git_server.py"))
            .arg("--root")
            .arg(root)
            .arg("--access-key")
            .arg(codehooks_tests::ACCESS_KEY)
            .arg("--secret-key")
            .arg(codehooks_tests::SECRET_KEY);
        if let Some(e) = emulator {
            cmd.arg("--emulator").arg(e);
        }
        if let Some(h) = host_template {
            cmd.arg("--host-template").arg(h);
        }
        if tls {
            let dir = root.join("tls");
            std::fs::create_dir_all(&dir).expect("tls dir");
            let status = Command::new("openssl")
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                ])
                .args([
                    "-subj",
                    "/CN=127.0.0.1",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1",
                    // A server certificate, not a CA: rustls refuses a CA used as one.
                    "-addext",
                    "basicConstraints=critical,CA:FALSE",
                ])
                .arg("-keyout")
                .arg(dir.join("key.pem"))
                .arg("-out")
                .arg(dir.join("cert.pem"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("openssl");
            assert!(status.success(), "openssl req failed");
            cmd.arg("--tls-cert").arg(dir.join("cert.pem"));
            cmd.arg("--tls-key").arg(dir.join("key.pem"));
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start git_server.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("git server endpoint");
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("git server did not start: {e}: {line:?}"));
        GitServer {
            url: v["git"].as_str().expect("git url").to_owned(),
            root: root.to_path_buf(),
            _stdin: child.stdin.take(),
            child,
        }
    }

    /// `CODEHOOKS_GIT_CONNECT_URL` for the function.
    pub fn connect_url(&self) -> String {
        format!("{}/{{region}}", self.url)
    }

    pub fn repo(&self, region: &str, name: &str) -> PathBuf {
        self.root.join(region).join(name)
    }

    /// Creates an empty bare repository.
    pub fn create(&self, region: &str, name: &str) -> PathBuf {
        let dir = self.repo(region, name);
        std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
        git(
            &self.root,
            &[
                "init",
                "--quiet",
                "--bare",
                "-b",
                "main",
                dir.to_str().unwrap(),
            ],
        );
        dir
    }

    pub fn requests(&self) -> Vec<Value> {
        match http::get_json(&format!("{}/_git/requests", self.url)) {
            Value::Array(a) => a,
            other => panic!("unexpected answer {other}"),
        }
    }
    pub fn reset(&self) {
        http::post_json(&format!("{}/_git/reset", self.url), &json!({}));
    }
    /// Moves `git_ref` of a repository to `oid` just before its `advertisement`-th receive-pack listing.
    pub fn hook(&self, region: &str, repo: &str, advertisement: u32, git_ref: &str, oid: &str) {
        http::post_json(
            &format!("{}/_git/hook", self.url),
            &json!({"region": region, "repository": repo, "advertisement": advertisement, "ref": git_ref, "oid": oid}),
        );
    }
    /// Moves `git_ref` of a repository to `oid` just before its `push`-th receive-pack POST
    /// (after the client saw the advertisement).
    pub fn hook_push(&self, region: &str, repo: &str, push: u32, git_ref: &str, oid: &str) {
        http::post_json(
            &format!("{}/_git/hook", self.url),
            &json!({"region": region, "repository": repo, "push": push, "ref": git_ref, "oid": oid}),
        );
    }
    pub fn settings(&self, settings: &Value) {
        http::post_json(&format!("{}/_git/settings", self.url), settings);
    }

    /// Pushes served since the last reset: (region, repository, request bytes) of receive-pack POSTs.
    pub fn pushes(&self) -> Vec<(String, String, u64)> {
        self.requests()
            .iter()
            .filter(|r| {
                r["method"] == "POST" && r["service"] == "git-receive-pack" && r["status"] == 200
            })
            .map(|r| {
                (
                    r["region"].as_str().unwrap_or_default().to_owned(),
                    r["repository"].as_str().unwrap_or_default().to_owned(),
                    r["bytes_in"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    }
}

/// One ref change a repository of the git server received, in order (`/_git/updates`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// Server-wide order of the change.
    pub seq: u64,
    pub name: String,
    /// `None`: the ref did not exist before (a creation).
    pub old: Option<String>,
    /// `None`: the ref was deleted.
    pub new: Option<String>,
    /// `push` (receive-pack) or `hook` (a [`GitServer::hook`] write).
    pub by: String,
}

/// Git requests a hold can catch (the names of the server's fault plan).
pub mod service {
    /// A push's ref advertisement (`GET info/refs?service=git-receive-pack`): a replica's listing.
    pub const RECEIVE_PACK_REFS: &str = "receive-pack-refs";
    /// A push (`POST git-receive-pack`).
    pub const RECEIVE_PACK: &str = "receive-pack";
    /// A fetch's ref advertisement.
    pub const UPLOAD_PACK_REFS: &str = "upload-pack-refs";
    /// A fetch (`POST git-upload-pack`).
    pub const UPLOAD_PACK: &str = "upload-pack";
}

impl GitServer {
    /// Arms a one-shot hold: the next authenticated request of `repo` in `region` whose
    /// operation is `service` (see [`service`]) waits, before the backend runs (`after` false:
    /// a held push has not landed) or after it ran and before the answer (`after` true),
    /// until [`GitServer::release`] (or 60 s). Returns the hold's id.
    pub fn hold(&self, region: &str, repo: &str, service: &str, after: bool) -> u64 {
        let answer = http::post_json(
            &format!("{}/_git/hold", self.url),
            &json!({"region": region, "repository": repo, "service": service,
                    "phase": if after { "after" } else { "before" }, "timeout_ms": 60_000}),
        );
        answer["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("no hold id in {answer}"))
    }

    /// Waits (in the server, no polling) until hold `id` reached `state` (`held`, `released`,
    /// `done`) or a later one; returns whether it did within `timeout_ms`.
    pub fn wait_hold(&self, id: u64, state: &str, timeout_ms: u64) -> bool {
        let answer = http::post_json(
            &format!("{}/_git/hold/wait", self.url),
            &json!({"id": id, "state": state, "timeout_ms": timeout_ms}),
        );
        answer["reached"] == true
    }

    /// Lets the request held by hold `id` go on.
    pub fn release(&self, id: u64) {
        http::post_json(
            &format!("{}/_git/hold/release", self.url),
            &json!({ "id": id }),
        );
    }

    /// The next `count` requests of `operation` (a [`service`] name, or `*`) are answered
    /// `latency_ms` late (the server's fault plan; the request itself is served normally).
    pub fn delay(&self, operation: &str, count: u32, latency_ms: u64) {
        http::post_json(
            &format!("{}/_git/faults", self.url),
            &json!({"operation": operation, "kind": "latency", "count": count, "latency_ms": latency_ms}),
        );
    }

    /// Every hold armed since the last reset, with its state.
    pub fn holds(&self) -> Vec<Value> {
        match &http::get_json(&format!("{}/_git/hold", self.url))["holds"] {
            Value::Array(a) => a.clone(),
            other => panic!("unexpected holds answer {other}"),
        }
    }

    /// Every ref change repository `repo` of `region` received through the server since it
    /// started (or its last reset), in order.
    pub fn updates(&self, region: &str, repo: &str) -> Vec<RefUpdate> {
        let all = http::get_json(&format!(
            "{}/_git/updates?region={region}&repository={repo}",
            self.url
        ));
        let text = |v: &Value| v.as_str().map(str::to_owned);
        all.as_array()
            .unwrap_or_else(|| panic!("unexpected updates answer {all}"))
            .iter()
            .map(|u| RefUpdate {
                seq: u["seq"].as_u64().unwrap_or(0),
                name: text(&u["ref"]).unwrap_or_default(),
                old: text(&u["old"]),
                new: text(&u["new"]),
                by: text(&u["by"]).unwrap_or_default(),
            })
            .collect()
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        self._stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs git in `dir` with a fixed identity and no user configuration; returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Mary Major")
        .env("GIT_AUTHOR_EMAIL", "mary@example.com")
        .env("GIT_COMMITTER_NAME", "Mary Major")
        .env("GIT_COMMITTER_EMAIL", "mary@example.com")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A working repository whose pushes go straight to a bare repository on disk: a developer
/// pushing to the source repository.
pub struct Work {
    pub dir: PathBuf,
    pub remote: PathBuf,
}

impl Work {
    pub fn new(scratch: &Path, remote: &Path) -> Self {
        let dir = scratch.join("work");
        std::fs::create_dir_all(&dir).unwrap();
        git(&dir, &["init", "--quiet", "-b", "main"]);
        Work {
            dir,
            remote: remote.to_path_buf(),
        }
    }
    pub fn git(&self, args: &[&str]) -> String {
        git(&self.dir, args)
    }
    /// Commits a file change; returns the commit id.
    pub fn commit(&self, file: &str, text: &str) -> String {
        std::fs::write(self.dir.join(file), text).unwrap();
        self.git(&["add", "-A"]);
        self.git(&["commit", "--quiet", "-m", &format!("change {file}")]);
        self.head()
    }
    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }
    /// `git push --force <source> <spec>`.
    pub fn push(&self, spec: &str) {
        self.git(&[
            "push",
            "--quiet",
            "--force",
            self.remote.to_str().unwrap(),
            spec,
        ]);
    }
}

/// The branches and tags of a bare repository.
pub fn refs(repo: &Path) -> BTreeMap<String, String> {
    git(
        repo,
        &[
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            "refs/heads",
            "refs/tags",
        ],
    )
    .lines()
    .filter_map(|l| l.split_once(' '))
    .map(|(n, o)| (n.to_owned(), o.to_owned()))
    .collect()
}

/// `git fsck --strict` passes and every ref resolves.
pub fn fsck(repo: &Path) {
    git(repo, &["fsck", "--strict", "--no-progress"]);
}

/// Every replica's refs equal the source's, and every replica is clean.
pub fn assert_mirrored(server: &GitServer, name: &str, replicas: &[&str]) {
    let source = refs(&server.repo(SOURCE, name));
    for region in replicas {
        let replica = server.repo(region, name);
        assert_eq!(
            refs(&replica),
            source,
            "{region}/{name} differs from the source"
        );
        fsck(&replica);
    }
}

/// A CodeCommit reference event from `events/`, about `repository`.
pub fn reference_event(file: &str, repository: &str, id: &str) -> Value {
    let mut e = codehooks_tests::event(file);
    e["id"] = json!(id);
    e["detail"]["repositoryName"] = json!(repository);
    let arn = codehooks::arn::Arn::new(SOURCE, "codecommit", "123456789012", repository);
    e["resources"] = json!([arn.to_string()]);
    e
}

/// A replicator test's world: LocalAws (the emulator, the function's Runtime API, moto when
/// asked), the git server linked to the emulator, the source and replica repositories (created
/// on the git server and seeded in the emulator's CodeCommit), a working repository pushing to
/// the first source repository, and a cache directory for the function.
pub struct Setup {
    pub scratch: Scratch,
    pub local: LocalAws,
    pub server: GitServer,
    /// Pushes to the source of the first repository.
    pub work: Work,
    /// The first repository at the source (bare, on the git server).
    pub source: PathBuf,
    /// `CODEHOOKS_CACHE_DIR` of [`Setup::start`].
    pub cache: String,
    repositories: String,
}

/// Options of a [`Setup`]; see [`Setup::builder`].
pub struct SetupBuilder {
    label: String,
    repos: Vec<String>,
    replicas: Vec<String>,
    description: Option<String>,
    default_branch: Option<String>,
    seed_replicas: bool,
    link_git: bool,
    moto: bool,
    repositories: Option<String>,
}

impl Setup {
    /// `payments-api` at the source and both replicas (on the git server); only the source
    /// known to the emulator; the function configured for `payments-api`.
    pub fn builder(label: &str) -> SetupBuilder {
        SetupBuilder {
            label: label.to_owned(),
            repos: vec!["payments-api".to_owned()],
            replicas: REPLICAS.iter().map(|r| (*r).to_owned()).collect(),
            description: None,
            default_branch: None,
            seed_replicas: false,
            link_git: false,
            moto: false,
            repositories: None,
        }
    }

    /// The replicator on the Runtime API with [`replicator_env`] and `extra` (later wins).
    pub fn start(&self, extra: &[(&str, &str)]) -> Function {
        self.start_in(&self.cache, extra)
    }

    /// As [`Setup::start`] with its own cache directory (another execution environment).
    pub fn start_in(&self, cache: &str, extra: &[(&str, &str)]) -> Function {
        let base = replicator_env(&self.server, &self.repositories, cache);
        let mut env: Vec<(&str, &str)> = base.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.extend_from_slice(extra);
        self.local.function("repo-replicator", SOURCE, &env)
    }
}

impl SetupBuilder {
    /// The repositories (default `payments-api`): created at the source and the replicas,
    /// seeded in the emulator; [`Setup::work`] pushes to the first.
    pub fn repos(mut self, names: &[&str]) -> Self {
        self.repos = names.iter().map(|n| (*n).to_owned()).collect();
        self
    }
    /// The replica regions whose repositories exist on the git server (default both).
    pub fn replicas(mut self, regions: &[&str]) -> Self {
        self.replicas = regions.iter().map(|r| (*r).to_owned()).collect();
        self
    }
    /// The repositories' description in the emulator.
    pub fn description(mut self, text: &str) -> Self {
        self.description = Some(text.to_owned());
        self
    }
    /// The source repositories' default branch in the emulator.
    pub fn default_branch(mut self, branch: Option<&str>) -> Self {
        self.default_branch = branch.map(str::to_owned);
        self
    }
    /// The replicas' repositories are known to the emulator's CodeCommit too.
    pub fn seed_replicas(mut self) -> Self {
        self.seed_replicas = true;
        self
    }
    /// The emulator reads branches from the git server's repositories.
    pub fn link_git(mut self) -> Self {
        self.link_git = true;
        self
    }
    /// Starts moto too.
    pub fn moto(mut self) -> Self {
        self.moto = true;
        self
    }
    /// `CODEHOOKS_REPOSITORIES` (default: the repositories, comma-separated).
    pub fn repositories_env(mut self, value: &str) -> Self {
        self.repositories = Some(value.to_owned());
        self
    }

    pub fn start(self) -> Setup {
        let scratch = Scratch::new(&self.label);
        let mut builder = LocalAws::builder();
        if self.moto {
            builder = builder.moto();
        }
        let local = builder.emulator().runtime_api("repo-replicator").start();
        let server = GitServer::start(&scratch.path().join("git"), Some(local.emulator_url()));
        for name in &self.repos {
            server.create(SOURCE, name);
            for r in &self.replicas {
                server.create(r, name);
            }
        }
        if self.link_git {
            http::post_json(
                &format!("{}/_emulator/git", local.emulator_url()),
                &json!({"root": server.root}),
            );
        }
        let seed = |region: &str, default_branch: Option<&str>| {
            let repositories: Vec<Value> = self
                .repos
                .iter()
                .map(|name| {
                    let mut repo = json!({ "repositoryName": name });
                    if let Some(d) = &self.description {
                        repo["repositoryDescription"] = json!(d);
                    }
                    if let Some(b) = default_branch {
                        repo["defaultBranch"] = json!(b);
                    }
                    repo
                })
                .collect();
            local
                .emulator()
                .seed(&json!({"region": region, "codecommit": {"repositories": repositories}}));
        };
        seed(SOURCE, self.default_branch.as_deref());
        if self.seed_replicas {
            for r in REPLICAS {
                seed(r, None);
            }
        }
        let source = server.repo(SOURCE, &self.repos[0]);
        let work = Work::new(scratch.path(), &source);
        let cache = scratch.path().join("cache").to_string_lossy().into_owned();
        let repositories = self.repositories.unwrap_or_else(|| self.repos.join(","));
        Setup {
            scratch,
            local,
            server,
            work,
            source,
            cache,
            repositories,
        }
    }
}

/// The replicator's environment for the local git server: both replicas, `repositories`, the
/// server's connect URL (plain http://, so with the explicit test flag) and `cache`.
pub fn replicator_env(
    server: &GitServer,
    repositories: &str,
    cache: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("CODEHOOKS_REPLICA_REGIONS", REPLICAS.join(",")),
        ("CODEHOOKS_REPOSITORIES", repositories.to_owned()),
        ("CODEHOOKS_GIT_CONNECT_URL", server.connect_url()),
        // The local git server speaks plain http://, which needs the explicit test flag.
        ("CODEHOOKS_ALLOW_INSECURE_GIT", "true".to_owned()),
        ("CODEHOOKS_CACHE_DIR", cache.to_owned()),
    ]
}

/// Invokes and asserts the invocation succeeded (the logs otherwise); returns the response.
pub fn invoke_ok(f: &Function, event: &Value) -> Value {
    let r = f.invoke(event, 60_000);
    assert!(
        r.is_ok(),
        "invocation failed: {:?} {:?}\nlogs:\n{}",
        r.error_type,
        r.error_message,
        f.logs()
    );
    r.response
}

/// The report of replica `region` of the first repository in a response.
pub fn replica_report<'a>(response: &'a Value, region: &str) -> &'a Value {
    response["repositories"][0]["replicas"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["region"] == region))
        .unwrap_or_else(|| panic!("no report for {region} in {response}"))
}
