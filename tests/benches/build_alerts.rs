//! Benchmark of build-alerts: cold start, warm latency per event type and peak memory of the
//! real binary under the local Lambda Runtime API, against moto (SNS, SQS, DynamoDB, CloudWatch
//! Logs) and the emulator (CodePipeline, CodeDeploy). The failed build's log stream holds 500
//! coloured lines; the last rows compare the failed-build alert with log tails of 20 and 200
//! lines against the same alert with tails off.
//!
//!     cargo build -p build-alerts --release
//!     cargo bench -p codehooks-tests --bench build_alerts -- [--debug] [--cold N] [--warm N]
//!
//! By default it measures `target/release/build-alerts` (the shipped profile); `--debug` uses
//! `target/debug/build-alerts`. Latencies are the Runtime API's view of one invocation (event
//! handed out to response received), so they include the local endpoints' own time.

use std::path::PathBuf;
use std::time::Instant;

use codehooks_tests::bench::{self, arg};
use codehooks_tests::{LocalAws, event, repo_root};
use serde_json::{Value, json};

const REGION: &str = "eu-west-1";
const TABLE: &str = "codehooks-alerts";

/// The peak resident set (VmHWM, KiB) of our child process named `build-alerts`.
fn peak_kib() -> Option<u64> {
    let me = std::process::id().to_string();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // pid (comm) state ppid ...
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let comm = stat
            .get(stat.find('(').unwrap_or(0) + 1..close)
            .unwrap_or("");
        let ppid = stat[close + 1..].split_whitespace().nth(1).unwrap_or("");
        if comm == "build-alerts" && ppid == me {
            return entry
                .file_name()
                .to_str()
                .and_then(|pid| pid.parse().ok())
                .and_then(bench::peak_kib);
        }
    }
    None
}

fn stats(mut v: Vec<f64>) -> String {
    v.sort_by(|a, b| a.total_cmp(b));
    let pick = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    format!(
        "p50 {:>7.2} ms   p90 {:>7.2} ms   max {:>7.2} ms   (n={})",
        pick(0.5),
        pick(0.9),
        pick(1.0),
        v.len()
    )
}

fn uuid(i: usize, salt: u32) -> String {
    format!("{salt:08x}-0000-4000-8000-{i:012x}")
}

fn build_event(i: usize, salt: u32) -> Value {
    let mut e = event("build-alerts-codebuild-failed.json");
    let id = format!(
        "arn:aws:codebuild:{REGION}:123456789012:build/shop-api:{}",
        uuid(i, salt)
    );
    e["id"] = json!(uuid(i, salt ^ 0xffff));
    e["detail"]["build-id"] = json!(id);
    e["resources"] = json!([id]);
    e
}

fn main() {
    let debug = std::env::args().any(|a| a == "--debug");
    let cold_n = arg("--cold", 10);
    let warm_n = arg("--warm", 40);
    let root = repo_root();
    let profile = if debug { "debug" } else { "release" };
    let built = root.join("target").join(profile).join("build-alerts");
    assert!(
        built.exists(),
        "{} is missing: cargo build -p build-alerts{}",
        built.display(),
        if debug { "" } else { " --release" }
    );
    // The harness runs `$CARGO_TARGET_DIR/debug/<name>`: point it at a copy of the chosen binary.
    let dir: PathBuf = root.join("target/bench-build-alerts");
    std::fs::create_dir_all(dir.join("debug")).expect("bench dir");
    std::fs::copy(&built, dir.join("debug/build-alerts")).expect("copy the binary");
    let size = std::fs::metadata(&built).map(|m| m.len()).unwrap_or(0);
    // SAFETY: no other thread runs yet.
    unsafe { std::env::set_var("CARGO_TARGET_DIR", &dir) };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(run(profile, size, cold_n, warm_n));
}

async fn run(profile: &str, size: u64, cold_n: usize, warm_n: usize) {
    let local = LocalAws::builder()
        .moto()
        .emulator()
        .runtime_api("build-alerts")
        .start();
    let mut seed: Value =
        serde_json::from_str(include_str!("../tests/build_alerts_fixture/seed.json"))
            .expect("seed");
    let template = seed["codedeploy"]["deployments"][0].clone();
    let deployments: Vec<Value> = (0..warm_n)
        .map(|i| {
            let mut d = template.clone();
            d["deploymentId"] = json!(format!("d-BENCH{i:04}"));
            d
        })
        .collect();
    seed["codedeploy"]["deployments"] = json!(deployments);
    local.emulator().seed(&seed);
    let sdk = local.sdk_config(local.moto_url(), REGION).await;
    let (topic, _queue) =
        codehooks_tests::topic_with_queue(&sdk, "codehooks-alerts", "bench").await;
    codehooks_tests::idempotency_table(&sdk, TABLE).await;
    seed_build_log(&sdk).await;
    let env = [
        ("CODEHOOKS_ALERT_TOPIC_ARN", topic.as_str()),
        ("CODEHOOKS_ALERTS_TABLE", TABLE),
    ];

    println!(
        "build-alerts benchmark: {profile} binary, {:.1} MiB",
        size as f64 / 1_048_576.0
    );

    // Cold starts: a new process per sample; from spawn to the first response.
    let mut cold = Vec::new();
    let mut first = Vec::new();
    let mut cold_peak = Vec::new();
    for i in 0..cold_n {
        let t = Instant::now();
        let f = local.function("build-alerts", REGION, &env);
        let r = f.invoke(&build_event(i, 0xc01d), 15_000);
        cold.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(
            r.is_ok() && r.response["outcome"] == "published",
            "{r:?}\n{}",
            f.logs()
        );
        first.push(r.duration_ms);
        if let Some(k) = peak_kib() {
            cold_peak.push(k);
        }
    }
    println!(
        "cold start (spawn to first response, publish path): {}",
        stats(cold)
    );
    println!(
        "  of which the first invocation:                     {}",
        stats(first)
    );

    // Warm latency per event type, one process.
    let f = local.function("build-alerts", REGION, &env);
    let warm = f.invoke(&build_event(0, 0x3a3a), 15_000);
    assert!(warm.is_ok(), "{warm:?}");
    let mut rows: Vec<(&str, Vec<f64>)> = Vec::new();
    let mut time = |label: &'static str, make: &dyn Fn(usize) -> Value, outcome: &str| {
        let mut v = Vec::new();
        for i in 0..warm_n {
            let r = f.invoke(&make(i), 15_000);
            assert!(
                r.is_ok() && r.response["outcome"] == outcome,
                "{label}: {r:?}"
            );
            v.push(r.duration_ms);
        }
        rows.push((label, v));
    };
    time(
        "CodeBuild FAILED -> publish",
        &|i| build_event(i, 0xbeef),
        "published",
    );
    time(
        "CodeBuild FAILED redelivered -> duplicate",
        &|i| build_event(i, 0xbeef),
        "duplicate",
    );
    time(
        "CodePipeline action FAILED -> 2 lookups + publish",
        &|i| {
            let mut e = event("build-alerts-codepipeline-action-failed.json");
            e["detail"]["pipeline-execution-attempt"] = json!(i + 1);
            e
        },
        "published",
    );
    time(
        "CodeDeploy FAILURE -> GetDeployment + publish",
        &|i| {
            let mut e = event("build-alerts-codedeploy-failure.json");
            e["detail"]["deploymentId"] = json!(format!("d-BENCH{i:04}"));
            e
        },
        "published",
    );
    time(
        "CodePipeline execution FAILED -> lookup, suppressed",
        &|_| event("build-alerts-codepipeline-pipeline-failed.json"),
        "suppressed",
    );
    time(
        "CodePipeline CodeBuild action FAILED -> suppressed",
        &|_| event("build-alerts-codepipeline-action-failed-build.json"),
        "suppressed",
    );
    for (label, v) in rows {
        println!("warm  {label:<52} {}", stats(v));
    }
    let peak = peak_kib().unwrap_or(0);
    println!(
        "peak memory (VmHWM): after one cold invocation {} KiB (max of {}); after {} warm invocations {} KiB",
        cold_peak.iter().max().copied().unwrap_or(0),
        cold_peak.len(),
        warm_n * 6 + 1,
        peak
    );
    drop(f);

    // The log tail's cost: the same failed-build alert, one warm process per setting.
    let mut rows = Vec::new();
    for (label, lines) in [
        ("CodeBuild FAILED -> publish, log tail off", "0"),
        ("CodeBuild FAILED -> 20-line log tail + publish", "20"),
        ("CodeBuild FAILED -> 200-line log tail + publish", "200"),
    ] {
        let mut env = env.to_vec();
        env.push(("CODEHOOKS_ALERTS_LOG_LINES", lines));
        let f = local.function("build-alerts", REGION, &env);
        let salt = 0x7a11_0000 | lines.parse::<u32>().unwrap_or(0);
        assert!(f.invoke(&build_event(warm_n + 1, salt), 15_000).is_ok());
        let mut v = Vec::new();
        for i in 0..warm_n {
            let r = f.invoke(&build_event(i, salt), 15_000);
            assert!(
                r.is_ok() && r.response["outcome"] == "published",
                "{label}: {r:?}\n{}",
                f.logs()
            );
            v.push(r.duration_ms);
        }
        rows.push((label, v));
    }
    for (label, v) in rows {
        println!("warm  {label:<52} {}", stats(v));
    }
}

/// The failed build's log stream (the one the sample event names): 500 coloured lines with a
/// secret now and then.
async fn seed_build_log(sdk: &aws_config::SdkConfig) {
    let lines: Vec<String> = (0..500)
        .map(|i| {
            if i % 25 == 0 {
                format!("\u{1b}[33mexport DB_PASSWORD=hunter{i} AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\u{1b}[0m\n")
            } else {
                format!("\u{1b}[1;32m   Compiling\u{1b}[0m crate-{i} v0.1.{i} (/codebuild/output/src/crates/crate-{i})\n")
            }
        })
        .collect();
    codehooks_tests::logs::write_stream(
        sdk,
        "/aws/codebuild/shop-api",
        "6a1f0e2d-9c3b-4d7e-8f51-2b4c6d8e0a13",
        &lines,
    )
    .await;
}
