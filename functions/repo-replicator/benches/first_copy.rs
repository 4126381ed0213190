//! Measurement: the first copy of a synthetic history to two empty
//! replicas through the `GitMirror` adapter (fetch into a cold cache, then list + push to both
//! replicas at once), against `git clone --mirror` + `git push --mirror` to each, over the
//! local git server. Run: `cargo bench --profile dev -p repo-replicator --bench first_copy -- 20000`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime};

use codehooks::config::Secret;
use repo_replicator::endpoints::GitTarget;
use repo_replicator::mirror::GitMirror;
use repo_replicator::plan::RefChange;
use repo_replicator::ports::{Mirror, Pushed};
use repo_replicator::signing::{AwsKeys, git_credentials};
use repo_replicator::sync::{SyncOptions, sync_replica};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
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
        .unwrap();
    let mut s = TcpStream::connect(host).unwrap();
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

fn traffic(server: &str) -> (u64, u64) {
    let v: serde_json::Value =
        serde_json::from_str(&http("GET", &format!("{server}/_git/requests"))).unwrap();
    let (mut f, mut p) = (0, 0);
    for r in v.as_array().into_iter().flatten() {
        let svc = r["service"].as_str().unwrap_or_default();
        if svc.contains("upload-pack") {
            f += r["bytes_out"].as_u64().unwrap_or(0);
        }
        if svc == "git-receive-pack" {
            p += r["bytes_in"].as_u64().unwrap_or(0);
        }
    }
    (f, p)
}

fn history(work: &Path, commits: usize) {
    let mut stream = String::new();
    for i in 1..=commits {
        let message = format!("commit {i}");
        let body = format!("{}\n", "x".repeat(40 + i % 60)) + &format!("line {i}\n");
        stream.push_str(&format!(
            "commit refs/heads/main\ncommitter Bench <bench@example.com> {} +0000\ndata {}\n{message}\nM 644 inline src/file{}.txt\ndata {}\n{body}\n",
            1_600_000_000 + i, message.len(), i % 400, body.len()
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
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let root = std::env::temp_dir().join(format!("codehooks-first-copy-{}", std::process::id()));
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
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let server = v["git"].as_str().unwrap().to_owned();
    let keys = AwsKeys {
        access_key_id: "AKIDCODEHOOKSTEST".into(),
        secret_access_key: Secret::new("codehooks-test-secret-key".into()),
        session_token: None,
    };
    let target = |region: &str, repo: &str| GitTarget {
        region: region.parse().unwrap(),
        repository: repo.parse().unwrap(),
        signed_host: format!("git-codecommit.{region}.amazonaws.com"),
        connect_base: format!("{server}/{region}"),
    };
    let repo = format!("first{n}");
    let src = root.join("git/us-east-1").join(&repo);
    std::fs::create_dir_all(src.parent().unwrap()).unwrap();
    let work = root.join("work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "--quiet", "-b", "main"]);
    history(&work, n);
    git(&work, &["tag", "-a", "v1", "-m", "v1", "main~5"]);
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
    let replicas = ["eu-west-2", "ap-southeast-2"];
    let reset = || {
        for r in replicas {
            let d = root.join("git").join(r).join(&repo);
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(d.parent().unwrap()).unwrap();
            git(&root, &["init", "--quiet", "--bare", d.to_str().unwrap()]);
        }
        http("POST", &format!("{server}/_git/reset"));
    };
    let check = |label: &str| {
        for r in replicas {
            let d = root.join("git").join(r).join(&repo);
            assert_eq!(
                git(&d, &["show-ref"]),
                git(&src, &["show-ref"]),
                "{label} {r}"
            );
            git(&d, &["fsck", "--connectivity-only", "--no-progress"]);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let built = std::env::var_os("BUILT").is_some();
    let sliced: Option<usize> = std::env::var("SLICES").ok().and_then(|v| v.parse().ok());
    for run in 0..runs {
        reset();
        let cache = root.join(format!("cache-{run}"));
        let mirror = GitMirror::with_keys(&cache, keys.clone());
        let t = Instant::now();
        let (tf, tp) = rt.block_on(async {
            let s = target("us-east-1", &repo);
            let fetched = mirror.fetch(&s).await.unwrap();
            if built {
                // A loose object: the cache is no longer one pack, so the pack is built.
                let repo = git2::Repository::open_bare(mirror.cache_dir(&s)).unwrap();
                repo.blob(b"loose").unwrap();
            }
            let tf = t.elapsed().as_secs_f64();
            if let Some(slice_commits) = sliced {
                // The whole flow: list, source refs, plan, slices, push.
                let policy = repo_replicator::policy::Policy::default();
                let options = SyncOptions {
                    limits: repo_replicator::config::PushLimits {
                        max_refs_per_push: 4000,
                        cas_retries: 3,
                    },
                    policy: &policy,
                    slice_commits,
                    deadline: None,
                };
                let (a, b) = (target(replicas[0], &repo), target(replicas[1], &repo));
                let (x, y) = tokio::join!(
                    sync_replica(&mirror, &s, &a, &fetched.refs, options),
                    sync_replica(&mirror, &s, &b, &fetched.refs, options)
                );
                let (x, y) = (x.unwrap(), y.unwrap());
                eprintln!(
                    "sync: {} + {} pushes, {} + {} slices",
                    x.pushes, y.pushes, x.slices, y.slices
                );
                return (tf, t.elapsed().as_secs_f64() - tf);
            }
            let one = |r: &'static str| {
                let (mirror, s, fetched) = (&mirror, &s, &fetched);
                let rt = target(r, &repo);
                async move {
                    let listed = mirror.list(s, &rt).await.unwrap();
                    assert!(listed.is_empty());
                    let changes: Vec<RefChange> = fetched
                        .refs
                        .iter()
                        .map(|(name, id)| RefChange {
                            name: name.clone(),
                            old: None,
                            new: Some(id.clone()),
                        })
                        .collect();
                    let p = mirror.push(s, &rt, &changes).await.unwrap();
                    let Pushed::Sent { statuses, .. } = p else {
                        panic!("moved")
                    };
                    assert!(statuses.iter().all(|(_, s)| s.is_none()), "{statuses:?}");
                }
            };
            let (a, b) = (one(replicas[0]), one(replicas[1]));
            let both = async { tokio::join!(a, b) };
            both.await;
            (tf, t.elapsed().as_secs_f64() - tf)
        });
        let secs = t.elapsed().as_secs_f64();
        let (f, p) = traffic(&server);
        check("ours");
        let how = match (built, sliced) {
            (_, Some(_)) => "sync_replica with slices",
            (true, None) => "built pack",
            (false, None) => "cache pack as is",
        };
        println!(
            "{n:>7} ours (GitMirror, {how}) run {run}: {secs:7.2} s (fetch {tf:.2} s, push both {tp:.2} s) fetched {f} B pushed {p} B (both replicas)"
        );
        reset();
        let mdir = root.join(format!("mirror-{run}"));
        let url = |region: &str| {
            let t = target(region, &repo);
            let c = git_credentials(&keys, &t.signed_host, &t.path(), region, SystemTime::now());
            format!(
                "{}/{region}/v1/repos/{repo}",
                server.replace(
                    "http://",
                    &format!("http://{}:{}@", c.username.expose(), c.password.expose())
                )
            )
        };
        let t = Instant::now();
        git(
            &root,
            &[
                "clone",
                "--quiet",
                "--mirror",
                &url("us-east-1"),
                mdir.to_str().unwrap(),
            ],
        );
        let tf = t.elapsed().as_secs_f64();
        for r in replicas {
            git(&mdir, &["push", "--quiet", "--mirror", &url(r)]);
        }
        let secs = t.elapsed().as_secs_f64();
        let (f, p) = traffic(&server);
        check("git");
        println!(
            "{n:>7} clone --mirror + push --mirror x2 run {run}: {secs:7.2} s (clone {tf:.2} s) fetched {f} B pushed {p} B (both replicas)"
        );
    }
    drop(child.stdin.take());
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&root);
}
