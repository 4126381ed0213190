//! Benchmark: the first copy of a repository to two empty replicas, and a one-commit update
//! once everything is warm, the replicator against the git command line, in one table.
//!
//! For each history size (synthetic, written by `git fast-import` straight into the source's
//! bare repository: `main` with N commits, a `release` branch and a tag half way), against
//! the same local git server (`tests/localaws/git_server.py`, which checks SigV4 git
//! passwords like CodeCommit):
//! - **cold**: empty replicas in two regions. Ours: empty cache, fetch the source, then
//!   `sync_replica` to both replicas at once (as one invocation does). The command line:
//!   `git clone --mirror` + `git push --mirror` to each replica.
//! - **warm**: one new commit at the source. Ours: the cache the cold run left, same calls.
//!   The command line: the mirror clone the cold run left, `git fetch --prune` +
//!   `git push --mirror` to each replica (its best case; a fresh clone would be the cold row).
//!
//! Ours and the command line write to separate replica pairs, so each warm run sends the same
//! one commit to both. Every row checks the replicas equal the source afterwards.
//!
//! Run: `cargo bench -p repo-replicator --bench replication -- 1000 20000` (history sizes in
//! commits; default 1000 and 20000; `CODEHOOKS_BENCH_LARGE=1` adds 100000, which takes
//! several minutes). Each figure is the median of `CODEHOOKS_BENCH_RUNS` runs (default 3).
//! `scripts/bench-first-copy` runs all three sizes. `CODEHOOKS_BENCH_PHASES=1` also times
//! each port call of a warm sync (fetch, source_refs, list, relation, slices, push) on one
//! replica, to stderr. Needs `git` and `python3`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Instant, SystemTime};

use codehooks::config::Secret;
use repo_replicator::config::PushLimits;
use repo_replicator::endpoints::GitTarget;
use repo_replicator::mirror::GitMirror;
use repo_replicator::plan::{ObjectId, RefChange};
use repo_replicator::policy::Policy;
use repo_replicator::ports::Mirror;
use repo_replicator::signing::{AwsKeys, git_credentials};
use repo_replicator::sync::{SyncOptions, sync_replica};

const ACCESS_KEY: &str = "AKIDCODEHOOKSTEST";
const SECRET_KEY: &str = "codehooks-test-secret-key";
const SOURCE: &str = "us-east-1";
/// The replicas ours writes to, and the replicas the command line writes to.
const OURS: [&str; 2] = ["eu-west-2", "ap-southeast-2"];
const CLI: [&str; 2] = ["eu-west-1", "ap-northeast-1"];
/// `CODEHOOKS_SLICE_COMMITS`' default: histories longer than this go in slices.
const SLICE_COMMITS: usize = 5_000;

/// One invocation of ours: fetch the source into the cache under `cache_root`, then bring
/// every replica in sync, all at once (the pack is built once and shared between replicas
/// that need the same objects). Returns the seconds the fetch took. With [`phases`], the only
/// code here that depends on the replicator's API.
fn ours(cache_root: &Path, keys: &AwsKeys, source: &GitTarget, replicas: &[GitTarget]) -> f64 {
    let mirror = GitMirror::with_keys(cache_root, keys.clone());
    let policy = Policy::default();
    // The function's defaults; no deadline (a sliced first copy goes to the end).
    let options = SyncOptions {
        limits: PushLimits {
            max_refs_per_push: 4000,
            cas_retries: 3,
        },
        policy: &policy,
        slice_commits: SLICE_COMMITS,
        deadline: None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let t = Instant::now();
        let fetched = mirror.fetch(source).await.expect("fetch the source");
        let fetch_secs = t.elapsed().as_secs_f64();
        let runs = replicas
            .iter()
            .map(|replica| sync_replica(&mirror, source, replica, &fetched.refs, options));
        for (replica, result) in replicas.iter().zip(join_all(runs).await) {
            if let Err(e) = result {
                panic!("replicating to {}: {e}", replica.describe());
            }
        }
        fetch_secs
    })
}

/// `CODEHOOKS_BENCH_PHASES=1`: before a warm run, times each port call a sync of `replica`
/// makes for the new commit (`old` the previous tip of main, `new` the current one), pushing
/// it there, to stderr. (That replica is then in sync before the timed run: with this set,
/// the warm row measures one replica's push, not two.)
fn phases(
    cache_root: &Path,
    keys: &AwsKeys,
    source: &GitTarget,
    replica: &GitTarget,
    old: &str,
    new: &str,
) {
    let mirror = GitMirror::with_keys(cache_root, keys.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (old, new) = (ObjectId::new(old), ObjectId::new(new));
    rt.block_on(async {
        let t = Instant::now();
        mirror.fetch(source).await.expect("fetch");
        let fetch = t.elapsed();
        let t = Instant::now();
        mirror.source_refs(source).await.expect("source_refs");
        let source_refs = t.elapsed();
        let t = Instant::now();
        mirror.list(source, replica).await.expect("list");
        let list = t.elapsed();
        let t = Instant::now();
        let relation = mirror.relation(source, &old, &new).await.expect("relation");
        let relation_t = t.elapsed();
        let t = Instant::now();
        let points = mirror
            .slices(source, &new, std::slice::from_ref(&old), SLICE_COMMITS)
            .await
            .expect("slices");
        let slices = t.elapsed();
        let t = Instant::now();
        let change = RefChange {
            name: "refs/heads/main".into(),
            old: Some(old.clone()),
            new: Some(new.clone()),
        };
        let pushed = mirror
            .push(source, replica, std::slice::from_ref(&change))
            .await
            .expect("push");
        let push = t.elapsed();
        eprintln!(
            "  phases: fetch {fetch:.2?}, source_refs {source_refs:.2?}, list {list:.2?}, \
             relation {relation_t:.2?} ({relation:?}), slices {slices:.2?} ({} points), \
             push {push:.2?} ({pushed:?})",
            points.len()
        );
    });
}

/// Runs the futures concurrently on the current task; their outputs in order.
async fn join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in futures.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn http(method: &str, url: &str) -> String {
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut s = TcpStream::connect(host).expect("connect");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}

/// Bytes served by upload-pack (fetched from the source) and bytes received by receive-pack
/// per region (pushed to each replica), since the last reset.
fn traffic(server: &str) -> (u64, BTreeMap<String, u64>) {
    // The server logs a request after answering it: wait until the log stops growing.
    let read = || -> serde_json::Value {
        serde_json::from_str(&http("GET", &format!("{server}/_git/requests"))).unwrap_or_default()
    };
    let mut v = read();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let again = read();
        if again == v {
            break;
        }
        v = again;
    }
    let mut fetched = 0;
    let mut pushed = BTreeMap::new();
    for r in v.as_array().into_iter().flatten() {
        let svc = r["service"].as_str().unwrap_or_default();
        if svc.starts_with("git-upload-pack") || svc.contains("service=git-upload-pack") {
            fetched += r["bytes_out"].as_u64().unwrap_or(0);
        }
        if svc == "git-receive-pack" {
            let region = r["region"].as_str().unwrap_or_default().to_owned();
            *pushed.entry(region).or_insert(0) += r["bytes_in"].as_u64().unwrap_or(0);
        }
    }
    (fetched, pushed)
}

/// A small deterministic generator of file contents (xorshift).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// `lines` lines of 48 hex digits.
    fn text(&mut self, lines: usize) -> String {
        (0..lines)
            .map(|_| {
                format!(
                    "{:016x}{:016x}{:016x}\n",
                    self.next(),
                    self.next(),
                    self.next()
                )
            })
            .collect()
    }
}

/// One fast-import commit on `branch`: rewrites one of 400 files (about 1 KB), like an edit.
fn commit_command(branch: &str, i: usize, from: Option<&str>, noise: &mut Noise) -> String {
    let message = format!("commit {i}");
    let body = format!("file version {i}\n{}", noise.text(20));
    let from = from.map(|f| format!("from {f}\n")).unwrap_or_default();
    format!(
        "commit refs/heads/{branch}\ncommitter Bench <bench@example.com> {} +0000\ndata {}\n{message}\n{from}M 644 inline src/file{}.txt\ndata {}\n{body}\n",
        1_600_000_000 + i,
        message.len(),
        i % 400,
        body.len()
    )
}

fn fast_import(bare: &Path, stream: &str) {
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .env("GIT_DIR", bare)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stream.as_bytes())
        .expect("write the stream");
    assert!(child.wait().expect("fast-import").success());
}

/// The source: `main` with `commits` commits, `release` and the tag `v1.0` half way.
fn history(bare: &Path, commits: usize) {
    git(bare, &["init", "--quiet", "--bare", "-b", "main", "."]);
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let mut stream = String::with_capacity(commits * 1200);
    for i in 1..=commits {
        stream.push_str(&commit_command("main", i, None, &mut noise));
        if i == commits / 2 {
            stream.push_str("reset refs/heads/release\nfrom refs/heads/main\n\n");
            stream.push_str(&format!(
                "tag v1.0\nfrom refs/heads/main\ntagger Bench <bench@example.com> {} +0000\ndata 5\nv1.0\n\n",
                1_600_000_000 + i
            ));
        }
    }
    fast_import(bare, &stream);
}

/// One new commit on the source's `main`.
fn one_more(bare: &Path, i: usize) {
    let mut noise = Noise(0x2545_f491_4f6c_dd1d ^ i as u64);
    fast_import(
        bare,
        &commit_command("main", i, Some("refs/heads/main^0"), &mut noise),
    );
}

/// The branches and tags of a bare repository.
fn refs(bare: &Path) -> String {
    git(
        bare,
        &[
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            "refs/heads",
            "refs/tags",
        ],
    )
}

fn empty_bare(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("replica dir");
    git(dir, &["init", "--quiet", "--bare", "-b", "main", "."]);
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mib(bytes: u64) -> String {
    if bytes < 1_000_000 {
        format!("{:.1} kB", bytes as f64 / 1e3)
    } else {
        format!("{:.2} MB", bytes as f64 / 1e6)
    }
}

struct Server {
    url: String,
    child: Child,
}

impl Server {
    fn start(root: &Path) -> Self {
        let server_py =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/localaws/git_server.py");
        let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
        let python = if python.exists() {
            python
        } else {
            PathBuf::from("python3")
        };
        let mut child = Command::new(python)
            .arg(server_py)
            .arg("--root")
            .arg(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 git_server.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the server's address");
        let v: serde_json::Value = serde_json::from_str(&line).expect("the server's address");
        let url = v["git"].as_str().expect("git url").to_owned();
        Server { url, child }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// One row of the table.
struct Row {
    commits: usize,
    case: &'static str,
    method: &'static str,
    seconds: f64,
    /// Ours: the part of `seconds` the fetch took.
    fetch: Option<f64>,
    fetched: u64,
    pushed: BTreeMap<String, u64>,
}

fn main() {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![1_000, 20_000];
    }
    if std::env::var_os("CODEHOOKS_BENCH_LARGE").is_some() && !sizes.contains(&100_000) {
        sizes.push(100_000);
    }
    let runs: usize = std::env::var("CODEHOOKS_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let root = std::env::temp_dir().join(format!("codehooks-rr-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("scratch dir");
    let server = Server::start(&root.join("git"));
    let keys = AwsKeys {
        access_key_id: ACCESS_KEY.into(),
        secret_access_key: Secret::new(SECRET_KEY.into()),
        session_token: None,
    };
    let target = |region: &str, repo: &str| GitTarget {
        region: region.parse().expect("region"),
        repository: repo.parse().expect("repository"),
        signed_host: format!("git-codecommit.{region}.amazonaws.com"),
        connect_base: format!("{}/{region}", server.url),
    };
    // A git URL with a freshly signed password (valid 15 minutes).
    let url = |region: &str, repo: &str| {
        let t = target(region, repo);
        let c = git_credentials(&keys, &t.signed_host, &t.path(), region, SystemTime::now());
        format!(
            "{}/{region}/v1/repos/{repo}",
            server.url.replace(
                "http://",
                &format!("http://{}:{}@", c.username.expose(), c.password.expose())
            )
        )
    };
    let reset = || {
        http("POST", &format!("{}/_git/reset", server.url));
    };
    let bare = |region: &str, repo: &str| root.join("git").join(region).join(repo);

    let mut rows: Vec<Row> = Vec::new();
    let mut sources = Vec::new();
    for &n in &sizes {
        let repo = format!("bench{n}");
        let src = bare(SOURCE, &repo);
        std::fs::create_dir_all(&src).expect("source dir");
        let t = Instant::now();
        history(&src, n);
        let size_kib = git(&src, &["count-objects", "-v"])
            .lines()
            .find_map(|l| l.strip_prefix("size-pack: "))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        eprintln!(
            "{n} commits: source written in {:.1} s, {} packed",
            t.elapsed().as_secs_f64(),
            mib(size_kib * 1024)
        );
        sources.push((n, size_kib * 1024));
        let source = target(SOURCE, &repo);
        let ours_replicas: Vec<GitTarget> = OURS.iter().map(|r| target(r, &repo)).collect();
        let cache = root.join(format!("cache-{n}"));
        let mirror = root.join(format!("mirror-{n}"));
        let check = |regions: &[&str], label: &str| {
            let want = refs(&src);
            for r in regions {
                assert_eq!(
                    refs(&bare(r, &repo)),
                    want,
                    "{label}: {r} differs from the source"
                );
            }
        };
        let mut record = |case,
                          method,
                          times: Vec<f64>,
                          fetch: Option<f64>,
                          traffic: (u64, BTreeMap<String, u64>)| {
            let seconds = median(times);
            eprintln!("{n:>7} {case:<5} {method:<45} {seconds:>8.3} s");
            rows.push(Row {
                commits: n,
                case,
                method,
                seconds,
                fetch,
                fetched: traffic.0,
                pushed: traffic.1,
            });
        };

        // Cold: empty replicas, empty cache / no mirror clone.
        let mut times = Vec::new();
        let mut fetches = Vec::new();
        let mut seen = (0, BTreeMap::new());
        for _ in 0..runs {
            for r in OURS {
                empty_bare(&bare(r, &repo));
            }
            let _ = std::fs::remove_dir_all(&cache);
            reset();
            let t = Instant::now();
            fetches.push(ours(&cache, &keys, &source, &ours_replicas));
            times.push(t.elapsed().as_secs_f64());
            seen = traffic(&server.url);
            check(&OURS, "ours, cold");
        }
        record(
            "cold",
            "ours: fetch + sync_replica x2",
            times,
            Some(median(fetches)),
            seen,
        );

        let mut times = Vec::new();
        let mut seen = (0, BTreeMap::new());
        for _ in 0..runs {
            for r in CLI {
                empty_bare(&bare(r, &repo));
            }
            let _ = std::fs::remove_dir_all(&mirror);
            reset();
            let t = Instant::now();
            git(
                &root,
                &[
                    "clone",
                    "--quiet",
                    "--mirror",
                    &url(SOURCE, &repo),
                    mirror.to_str().expect("utf-8 path"),
                ],
            );
            for r in CLI {
                git(&mirror, &["push", "--quiet", "--mirror", &url(r, &repo)]);
            }
            times.push(t.elapsed().as_secs_f64());
            seen = traffic(&server.url);
            check(&CLI, "command line, cold");
        }
        record(
            "cold",
            "git clone --mirror + push --mirror x2",
            times,
            None,
            seen,
        );

        // Warm: one new commit at the source, then each side with what its cold run left.
        let mut ours_times = Vec::new();
        let mut ours_fetches = Vec::new();
        let mut cli_times = Vec::new();
        let mut ours_seen = (0, BTreeMap::new());
        let mut cli_seen = (0, BTreeMap::new());
        for run in 0..runs {
            let before = git(&src, &["rev-parse", "main"]).trim().to_owned();
            one_more(&src, n + 1 + run);
            if std::env::var_os("CODEHOOKS_BENCH_PHASES").is_some() {
                let after = git(&src, &["rev-parse", "main"]).trim().to_owned();
                phases(&cache, &keys, &source, &ours_replicas[0], &before, &after);
            }
            reset();
            let t = Instant::now();
            ours_fetches.push(ours(&cache, &keys, &source, &ours_replicas));
            ours_times.push(t.elapsed().as_secs_f64());
            ours_seen = traffic(&server.url);
            check(&OURS, "ours, warm");

            reset();
            let t = Instant::now();
            git(
                &mirror,
                &[
                    "fetch",
                    "--quiet",
                    "--prune",
                    &url(SOURCE, &repo),
                    "+refs/heads/*:refs/heads/*",
                    "+refs/tags/*:refs/tags/*",
                ],
            );
            for r in CLI {
                git(&mirror, &["push", "--quiet", "--mirror", &url(r, &repo)]);
            }
            cli_times.push(t.elapsed().as_secs_f64());
            cli_seen = traffic(&server.url);
            check(&CLI, "command line, warm");
        }
        record(
            "warm",
            "ours: fetch + sync_replica x2",
            ours_times,
            Some(median(ours_fetches)),
            ours_seen,
        );
        record(
            "warm",
            "git fetch + push --mirror x2 (kept clone)",
            cli_times,
            None,
            cli_seen,
        );
        // The next size starts from an empty disk.
        for r in OURS.iter().chain(CLI.iter()) {
            let _ = std::fs::remove_dir_all(bare(r, &repo));
        }
        let _ = std::fs::remove_dir_all(&cache);
        let _ = std::fs::remove_dir_all(&mirror);
        let _ = std::fs::remove_dir_all(&src);
    }
    drop(server);
    if std::env::var_os("CODEHOOKS_BENCH_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&root);
    }

    println!(
        "\nFirst copy to two empty replicas (cold) and a one-commit update (warm); median of {runs} run(s)."
    );
    for (n, bytes) in &sources {
        println!("  {n} commits: source pack {}", mib(*bytes));
    }
    println!(
        "\n| commits | case | method | seconds | of which fetch | fetched | pushed per replica |\n|---:|---|---|---:|---:|---:|---:|"
    );
    for r in &rows {
        let pushed: Vec<String> = r.pushed.values().map(|b| mib(*b)).collect();
        println!(
            "| {} | {} | {} | {:.3} | {} | {} | {} |",
            r.commits,
            r.case,
            r.method,
            r.seconds,
            r.fetch.map(|f| format!("{f:.3}")).unwrap_or_default(),
            mib(r.fetched),
            pushed.join(" / ")
        );
    }
    let json: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "commits": r.commits,
                "case": r.case,
                "method": r.method,
                "seconds": (r.seconds * 1000.0).round() / 1000.0,
                "fetch_seconds": r.fetch.map(|f| (f * 1000.0).round() / 1000.0),
                "fetched_bytes": r.fetched,
                "pushed_bytes": r.pushed,
            })
        })
        .collect();
    println!("{}", serde_json::Value::Array(json));
}
