//! Benchmark: replicating a one-commit push on a long history, warm cache versus cold cache,
//! versus `git clone --mirror` + `git push --mirror`, all against the same local git server
//! (`tests/localaws/git_server.py`, which checks SigV4 git passwords like CodeCommit).
//!
//! Run: `cargo bench -p repo-replicator --bench replication -- 1000 5000 20000`
//! (history sizes in commits; default 20000). Each figure is the median of
//! `CODEHOOKS_BENCH_RUNS` runs (default 5). Needs `git` and `python3`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime};

use codehooks::config::Secret;
use repo_replicator::config::PushLimits;
use repo_replicator::endpoints::GitTarget;
use repo_replicator::mirror::GitMirror;
use repo_replicator::ports::Mirror;
use repo_replicator::signing::{AwsKeys, git_credentials};
use repo_replicator::sync::sync_replica;

/// Fetches the source into the cache under `cache_root`, then brings the replica in sync.
fn replicate(
    cache_root: &Path,
    keys: &AwsKeys,
    source: &GitTarget,
    replica: &GitTarget,
    limits: PushLimits,
) {
    let mirror = GitMirror::with_keys(cache_root, keys.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let fetched = mirror.fetch(source).await.unwrap();
        sync_replica(&mirror, source, replica, &fetched.refs, limits)
            .await
            .unwrap();
    });
}

/// Fetches the source into the cache under `cache_root`.
fn fetch(cache_root: &Path, keys: &AwsKeys, source: &GitTarget) {
    let mirror = GitMirror::with_keys(cache_root, keys.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(mirror.fetch(source)).unwrap();
}

const ACCESS_KEY: &str = "AKIDCODEHOOKSTEST";
const SECRET_KEY: &str = "codehooks-test-secret-key";

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
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}

/// (bytes fetched from upload-pack, bytes pushed to receive-pack) since the last reset.
fn traffic(server: &str) -> (u64, u64) {
    let v: serde_json::Value =
        serde_json::from_str(&http("GET", &format!("{server}/_git/requests"))).unwrap_or_default();
    let mut fetched = 0;
    let mut pushed = 0;
    for r in v.as_array().into_iter().flatten() {
        let svc = r["service"].as_str().unwrap_or_default();
        if svc.starts_with("git-upload-pack") || svc.contains("service=git-upload-pack") {
            fetched += r["bytes_out"].as_u64().unwrap_or(0);
        }
        if svc == "git-receive-pack" {
            pushed += r["bytes_in"].as_u64().unwrap_or(0);
        }
    }
    (fetched, pushed)
}

fn history(work: &Path, commits: usize) {
    let mut stream = String::new();
    for i in 1..=commits {
        let message = format!("commit {i}");
        let body = format!("{}\n", "x".repeat(40 + i % 60)) + &format!("line {i}\n");
        stream.push_str(&format!(
            "commit refs/heads/main\ncommitter Bench <bench@example.com> {} +0000\ndata {}\n{message}\nM 644 inline src/file{}.txt\ndata {}\n{body}\n",
            1_600_000_000 + i,
            message.len(),
            i % 400,
            body.len()
        ));
    }
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(work)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![20_000]
    } else {
        sizes
    };
    let root = std::env::temp_dir().join(format!("codehooks-rr-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let server_py =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/localaws/git_server.py");
    let mut child = Command::new("python3")
        .arg(server_py)
        .arg("--root")
        .arg(root.join("git"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 git_server.py");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let server = v["git"].as_str().unwrap().to_owned();
    let keys = AwsKeys {
        access_key_id: ACCESS_KEY.into(),
        secret_access_key: Secret::new(SECRET_KEY.into()),
        session_token: None,
    };
    let target = |region: &str, repo: &str| GitTarget {
        region: region.parse().unwrap(),
        repository: repo.parse().unwrap(),
        signed_host: format!("git-codecommit.{region}.amazonaws.com"),
        connect_base: format!("{server}/{region}"),
    };
    let limits = PushLimits {
        max_refs_per_push: 4000,
        cas_retries: 3,
    };
    let mut rows: Vec<BTreeMap<&str, String>> = Vec::new();
    println!("history  method                     seconds   fetched-bytes  pushed-bytes");
    for &n in &sizes {
        let repo = format!("bench{n}");
        let src = root.join("git/us-east-1").join(&repo);
        let dst = root.join("git/eu-west-2").join(&repo);
        std::fs::create_dir_all(src.parent().unwrap()).unwrap();
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        let work = root.join(format!("work{n}"));
        std::fs::create_dir_all(&work).unwrap();
        git(&work, &["init", "--quiet", "-b", "main"]);
        history(&work, n);
        git(
            &root,
            &[
                "clone",
                "--quiet",
                "--bare",
                work.to_str().unwrap(),
                src.to_str().unwrap(),
            ],
        );
        git(&src, &["repack", "-adq"]);
        git(
            &root,
            &[
                "clone",
                "--quiet",
                "--mirror",
                src.to_str().unwrap(),
                dst.to_str().unwrap(),
            ],
        );
        let before = git(&src, &["rev-parse", "main"]).trim().to_owned();

        // Warm the cache with the history, then push one commit to the source.
        let warm_dir = root.join(format!("cache-warm-{n}"));
        fetch(&warm_dir, &keys, &target("us-east-1", &repo));
        git(&work, &["checkout", "--quiet", "main"]);
        std::fs::write(work.join("one-more.txt"), "one more commit\n").unwrap();
        git(&work, &["add", "-A"]);
        git(
            &work,
            &[
                "-c",
                "user.name=Bench",
                "-c",
                "user.email=bench@example.com",
                "commit",
                "--quiet",
                "-m",
                "one more",
            ],
        );
        git(
            &work,
            &["push", "--quiet", src.to_str().unwrap(), "main:main"],
        );

        let runs: usize = std::env::var("CODEHOOKS_BENCH_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(5);
        // `prepare` runs untimed before each run; the replica is set back before each.
        let mut measure = |label: &str, prepare: &mut dyn FnMut(), f: &mut dyn FnMut()| {
            // The median of `runs` runs.
            let mut times = Vec::new();
            for _ in 0..runs.max(1) {
                prepare();
                git(&dst, &["update-ref", "refs/heads/main", &before]);
                http("POST", &format!("{server}/_git/reset"));
                let t = Instant::now();
                f();
                times.push(t.elapsed().as_secs_f64());
            }
            times.sort_by(f64::total_cmp);
            let secs = times[times.len() / 2];
            let (fetched, pushed) = traffic(&server);
            if std::env::var_os("CODEHOOKS_BENCH_TRACE").is_some() {
                eprintln!(
                    "{label}: {}",
                    http("GET", &format!("{server}/_git/requests"))
                );
            }
            assert_eq!(
                git(&dst, &["rev-parse", "main"]),
                git(&src, &["rev-parse", "main"]),
                "{label}"
            );
            println!("{n:>7}  {label:<25} {secs:>8.3} {fetched:>15} {pushed:>13}");
            rows.push(BTreeMap::from([
                ("history", n.to_string()),
                ("method", label.to_owned()),
                ("seconds", format!("{secs:.3}")),
                ("fetched", fetched.to_string()),
                ("pushed", pushed.to_string()),
            ]));
        };
        // Each warm run starts from a copy of the cache as it was before the new commit.
        let warm_run = root.join(format!("cache-warm-run-{n}"));
        let mut copy_warm = || {
            let _ = std::fs::remove_dir_all(&warm_run);
            let ok = Command::new("cp")
                .arg("-a")
                .arg(&warm_dir)
                .arg(&warm_run)
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(ok, "cp -a failed");
        };
        measure("replicator, warm cache", &mut copy_warm, &mut || {
            replicate(
                &warm_run,
                &keys,
                &target("us-east-1", &repo),
                &target("eu-west-2", &repo),
                limits,
            );
        });
        let cold_dir = root.join(format!("cache-cold-{n}"));
        measure("replicator, cold cache", &mut || {}, &mut || {
            let _ = std::fs::remove_dir_all(&cold_dir);
            replicate(
                &cold_dir,
                &keys,
                &target("us-east-1", &repo),
                &target("eu-west-2", &repo),
                limits,
            );
        });
        let mirror_dir: PathBuf = root.join(format!("mirror-{n}"));
        measure("clone --mirror+push --mirror", &mut || {}, &mut || {
            let _ = std::fs::remove_dir_all(&mirror_dir);
            let url = |region: &str| {
                let t = target(region, &repo);
                let c =
                    git_credentials(&keys, &t.signed_host, &t.path(), region, SystemTime::now());
                format!(
                    "{}/{region}/v1/repos/{repo}",
                    server.replace(
                        "http://",
                        &format!("http://{}:{}@", c.username.expose(), c.password.expose())
                    )
                )
            };
            git(
                &root,
                &[
                    "clone",
                    "--quiet",
                    "--mirror",
                    &url("us-east-1"),
                    mirror_dir.to_str().unwrap(),
                ],
            );
            git(
                &mirror_dir,
                &["push", "--quiet", "--mirror", &url("eu-west-2")],
            );
        });
    }
    drop(child.stdin.take());
    let _ = child.wait();
    if std::env::var_os("CODEHOOKS_BENCH_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&root);
    }
    println!("{}", serde_json::to_string(&rows).unwrap_or_default());
}
