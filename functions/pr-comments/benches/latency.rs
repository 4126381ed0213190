//! Measures pr-comments as Lambda runs it: cold start, warm latency per event type, and peak
//! memory of the real binary under the local Lambda Runtime API, against the local emulator.
//!
//! ```sh
//! cargo build -p pr-comments --release
//! cargo bench -p pr-comments --bench latency -- [path/to/pr-comments] [rounds]
//! ```
//!
//! The binary defaults to `target/release/pr-comments` (else `target/debug/pr-comments`).
//! Latencies are the function's own invocation times as the Runtime API measured them (from
//! handing out the event to receiving the answer), local endpoints answering in about a
//! millisecond; against AWS, the API round trips add their own tens of milliseconds.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use aws_sdk_codecommit::config::{BehaviorVersion, Credentials, Region};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";
const REPO: &str = "codehooks-demo";
const PROJECT: &str = "codehooks-pr-validation";
const MAIN: &str = "1f2e3d4c5b6a79880716253443526170f8e9dacb";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn http(method: &str, url: &str, body: &Value) -> Value {
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut s = TcpStream::connect(host).expect("connect");
    let body = serde_json::to_vec(body).expect("json");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .expect("write");
    s.write_all(&body).expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw);
    let (_, payload) = text.split_once("\r\n\r\n").expect("http answer");
    serde_json::from_str(payload).unwrap_or(Value::Null)
}

fn event(file: &str) -> Value {
    let text = std::fs::read_to_string(root().join("events").join(file)).expect("event file");
    serde_json::from_str(&text).expect("event json")
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

struct Samples(Vec<(String, f64)>);

impl Samples {
    fn report(&self) {
        let mut kinds: Vec<&str> = self.0.iter().map(|(k, _)| k.as_str()).collect();
        kinds.dedup();
        kinds.sort();
        kinds.dedup();
        println!(
            "{:<44} {:>5} {:>8} {:>8} {:>8}",
            "warm invocation", "n", "p50 ms", "p90 ms", "max ms"
        );
        for k in kinds {
            let mut v: Vec<f64> = self
                .0
                .iter()
                .filter(|(x, _)| x == k)
                .map(|(_, d)| *d)
                .collect();
            v.sort_by(f64::total_cmp);
            let pct = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
            println!(
                "{k:<44} {:>5} {:>8.2} {:>8.2} {:>8.2}",
                v.len(),
                pct(0.5),
                pct(0.9),
                v[v.len() - 1]
            );
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // `cargo bench` appends `--bench` to the arguments.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    // `cargo bench` runs this from the package's folder: a relative path is taken from the
    // workspace root, where the command was given.
    let binary = args.first().map(|p| root().join(p)).unwrap_or_else(|| {
        let release = root().join("target/release/pr-comments");
        if release.exists() {
            release
        } else {
            root().join("target/debug/pr-comments")
        }
    });
    let rounds: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(25);
    let python = root().join(".venv/bin/python");

    let mut serve = Command::new(&python)
        .arg(root().join("tests/localaws/serve.py"))
        .args(["--emulator", "--runtime-api", "pr-comments"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start serve.py");
    let mut line = String::new();
    BufReader::new(serve.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("endpoints");
    let endpoints: Value = serde_json::from_str(&line).expect("endpoints json");
    let emu = endpoints["emulator"].as_str().expect("emulator").to_owned();
    let api = endpoints["runtime_apis"]["pr-comments"]
        .as_str()
        .expect("runtime api")
        .to_owned();

    let commit = |i: usize| format!("{:040x}", 0xabc0_0000_u64 + i as u64);
    http(
        "POST",
        &format!("{emu}/_emulator/seed"),
        &json!({"region": REGION,
            "codecommit": {"repositories": [{"repositoryName": REPO, "branches": {"main": MAIN, "feature/login": commit(0)}}]},
            "codebuild": {"projects": [{"name": PROJECT, "badgeEnabled": true}]}}),
    );
    let conf = aws_sdk_codecommit::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(&emu)
        .credentials_provider(Credentials::new(
            "AKIDDEVELOPER",
            "secret",
            None,
            None,
            "bench",
        ))
        .build();
    let dev = aws_sdk_codecommit::Client::from_conf(conf);
    let target = aws_sdk_codecommit::types::Target::builder()
        .repository_name(REPO)
        .source_reference("feature/login")
        .destination_reference("main")
        .build()
        .expect("target");
    let pr_id = dev
        .create_pull_request()
        .title("bench")
        .targets(target)
        .send()
        .await
        .expect("CreatePullRequest")
        .pull_request
        .and_then(|p| p.pull_request_id)
        .expect("pull request id");

    let state = || {
        http(
            "GET",
            &format!("{emu}/_emulator/state?region={REGION}"),
            &json!({}),
        )
    };
    let pr_event = |file: &str| {
        let s = state();
        let pr = &s["pullRequests"][&pr_id]["pullRequest"];
        let mut e = event(file);
        e["detail"]["pullRequestId"] = json!(pr_id);
        e["detail"]["sourceCommit"] = pr["pullRequestTargets"][0]["sourceCommit"].clone();
        e["detail"]["destinationCommit"] = pr["pullRequestTargets"][0]["destinationCommit"].clone();
        e["detail"]["revisionId"] = pr["revisionId"].clone();
        e
    };
    let latest_build = || {
        let s = state();
        let mut b: Vec<Value> = s["builds"]
            .as_object()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        b.sort_by_key(|b| b["buildNumber"].as_u64());
        b.pop().expect("a build")
    };
    let build_event = |file: &str, b: &Value| {
        let mut e = event(file);
        e["id"] = json!(format!(
            "{}-{}",
            b["id"].as_str().unwrap_or(""),
            b["buildStatus"].as_str().unwrap_or("")
        ));
        e["detail"]["build-id"] = b["arn"].clone();
        e["resources"] = json!([b["arn"]]);
        e["detail"]["build-status"] = b["buildStatus"].clone();
        let vars: Vec<Value> = b["environment"]["environmentVariables"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|v| json!({"name": v["name"], "type": "PLAINTEXT", "value": v["value"]}))
            .collect();
        e["detail"]["additional-information"]["environment"]["environment-variables"] = json!(vars);
        e
    };

    let start = Instant::now();
    let mut child: Child = Command::new(&binary)
        .env_clear()
        .envs([
            ("AWS_LAMBDA_RUNTIME_API", api.as_str()),
            ("AWS_LAMBDA_FUNCTION_NAME", "pr-comments"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
            ("AWS_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", "AKIDCODEHOOKSTEST"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "session"),
            ("AWS_ENDPOINT_URL_CODECOMMIT", emu.as_str()),
            ("AWS_ENDPOINT_URL_CODEBUILD", emu.as_str()),
            ("CODEHOOKS_PR_REPOSITORIES", REPO),
            ("CODEHOOKS_PR_BUILD_PROJECT", PROJECT),
            ("CODEHOOKS_PR_APPROVAL", "on"),
            (
                "CODEHOOKS_PR_AUTHOR_ARN",
                "arn:aws:iam::123456789012:role/AKIDCODEHOOKSTEST",
            ),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the function");
    let invoke = |e: &Value| {
        let out = http(
            "POST",
            &format!("http://{api}/_invoke"),
            &json!({"event": e, "timeout_ms": 30_000}),
        );
        assert_eq!(out["status"], "ok", "{out}");
        out
    };

    // Cold start: process start, configuration, SDK clients, first event (pullRequestCreated).
    let first = invoke(&pr_event("pr-comments-pull-request-created.json"));
    let cold = start.elapsed().as_secs_f64() * 1000.0;
    let first_ms = first["duration_ms"].as_f64().unwrap_or(0.0);

    let mut samples = Samples(Vec::new());
    let mut record = |kind: &str, out: &Value| {
        samples
            .0
            .push((kind.to_owned(), out["duration_ms"].as_f64().unwrap_or(0.0)))
    };
    for i in 1..=rounds {
        http(
            "POST",
            &format!("{emu}/_emulator/branch"),
            &json!({"region": REGION, "repositoryName": REPO, "branch": "feature/login", "commitId": commit(i)}),
        );
        let previous = latest_build();
        let out = invoke(&pr_event(
            "pr-comments-pull-request-source-branch-updated.json",
        ));
        record("pullRequestSourceBranchUpdated (start+stop)", &out);
        let stopped = state()["builds"][previous["id"].as_str().unwrap_or("")].clone();
        let out = invoke(&build_event("pr-comments-build-failed.json", &stopped));
        record("build STOPPED (superseded, edit)", &out);
        let b = latest_build();
        let out = invoke(&build_event("pr-comments-build-in-progress.json", &b));
        record("build IN_PROGRESS (no call)", &out);
        let status = if i % 2 == 0 { "SUCCEEDED" } else { "FAILED" };
        http(
            "POST",
            &format!("{emu}/_emulator/build"),
            &json!({"region": REGION, "id": b["id"], "buildStatus": status}),
        );
        let b = latest_build();
        let file = if i % 2 == 0 {
            "pr-comments-build-succeeded.json"
        } else {
            "pr-comments-build-failed.json"
        };
        let e = build_event(file, &b);
        let out = invoke(&e);
        record(&format!("build {status} (edit+approval)"), &out);
        let out = invoke(&e);
        record("duplicate build result (unchanged)", &out);
    }
    let out = invoke(&pr_event("pr-comments-pull-request-closed.json"));
    record("pullRequestStatusChanged CLOSED", &out);
    let peak = peak_rss_kib(child.id());

    println!(
        "binary: {} ({} bytes)",
        binary.display(),
        std::fs::metadata(&binary).map(|m| m.len()).unwrap_or(0)
    );
    println!(
        "cold start (spawn to first answer, pullRequestCreated): {cold:.1} ms; that invocation alone: {first_ms:.2} ms"
    );
    samples.report();
    println!(
        "peak RSS (VmHWM) after {} invocations: {:.1} MiB",
        rounds * 5 + 2,
        peak as f64 / 1024.0
    );

    let _ = child.kill();
    let _ = child.wait();
    drop(serve.stdin.take());
    let _ = serve.wait();
}
