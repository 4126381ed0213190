//! Benchmark of deploy-hook: time from invocation to reported status for a healthy service with
//! the default checks, cold start (process start to first status reported), the time to `Failed`
//! for a broken service, and peak memory — the real binary under the local Lambda Runtime API,
//! CodeDeploy from the emulator, ELBv2 from moto, a real HTTP service on 127.0.0.1.
//!
//!     cargo build -p deploy-hook --release
//!     cargo bench -p codehooks-tests --bench deploy_hook -- [--debug] [--cold N] [--warm N]
//!
//! By default it measures `target/release/deploy-hook` (the shipped profile). A status is
//! reported before the invocation answers, so the invocation's end bounds the status time.

#[path = "../tests/deploy_hook_fixture/mod.rs"]
mod fixture;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use codehooks_tests::bench::{arg, peak_kib};
use codehooks_tests::{LocalAws, http, repo_root};
use fixture::*;
use serde_json::json;

fn stats(mut v: Vec<f64>) -> String {
    v.sort_by(f64::total_cmp);
    let pick = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    format!(
        "p50 {:>7.1} ms   p90 {:>7.1} ms   max {:>7.1} ms   (n={})",
        pick(0.5),
        pick(0.9),
        pick(1.0),
        v.len()
    )
}

fn spawn(local: &LocalAws, bin: &PathBuf, policy: &str) -> Child {
    let api = local.runtime_apis["deploy-hook"].clone();
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .envs(local.function_env(REGION))
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "CodeDeployHook_bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
        .env("CODEHOOKS_HOOK_BASE_URL", "http://127.0.0.1:{port}")
        .env("CODEHOOKS_HOOK_POLICY", policy)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd.spawn().expect("start deploy-hook")
}

fn invoke(local: &LocalAws, id: &str) -> (f64, String) {
    let api = &local.runtime_apis["deploy-hook"];
    let t = Instant::now();
    let answer = http::post_json(
        &format!("http://{api}/_invoke"),
        &json!({"event": payload(id, "hook-exec-1"), "timeout_ms": 60_000}),
    );
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let decision = answer["response"]["decision"]
        .as_str()
        .unwrap_or("?")
        .to_owned();
    (ms, decision)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let debug = std::env::args().any(|a| a == "--debug");
    let bin = repo_root()
        .join("target")
        .join(if debug { "debug" } else { "release" })
        .join("deploy-hook");
    assert!(bin.exists(), "{} is missing: build it first", bin.display());
    let (cold_n, warm_n) = (arg("--cold", 5), arg("--warm", 20));
    let size = std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0);
    println!(
        "deploy-hook benchmark: {} ({:.1} MiB)",
        bin.display(),
        size as f64 / 1048576.0
    );

    let local = LocalAws::builder()
        .moto()
        .emulator()
        .runtime_api("deploy-hook")
        .start();
    let sdk = local.sdk_config(local.moto_url(), REGION).await;
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let subnets = default_subnets(local.moto_url());
    let green = Service::start(Mode::Healthy, NEW_VERSION);
    let blue = Service::start(Mode::Healthy, OLD_VERSION);
    let broken = Service::start(Mode::Status(500), NEW_VERSION);
    let healthy_stack = Stack::create(
        &elb,
        &subnets,
        StackSpec::new("bench", blue.port, green.port),
    )
    .await;
    let broken_stack = Stack::create(
        &elb,
        &subnets,
        StackSpec::new("broken", blue.port, broken.port),
    )
    .await;
    let mut n = 0;
    let mut seed = |stack: &Stack| {
        n += 1;
        let id = format!("d-BENCH{n:04}");
        seed_deployment(
            &local,
            stack,
            DeploymentSpec {
                id: &id,
                hook_execution_id: "hook-exec-1",
                group: "bench",
                running: "AfterAllowTestTraffic",
                green_desired: 2,
                ecs: true,
                green_task_set: true,
                shifted: false,
            },
        );
        id
    };

    // Cold starts: a new process per invocation, the event already waiting.
    let mut cold = Vec::new();
    let mut peak = 0;
    for _ in 0..cold_n {
        let id = seed(&healthy_stack);
        let t = Instant::now();
        let mut child = spawn(&local, &bin, "");
        let (_, decision) = invoke(&local, &id);
        cold.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(decision, "Succeeded");
        peak = peak.max(peak_kib(child.id()).unwrap_or(0));
        let _ = child.kill();
        let _ = child.wait();
    }

    // Warm invocations of one process.
    let mut child = spawn(&local, &bin, "");
    let id = seed(&healthy_stack);
    invoke(&local, &id);
    let mut warm = Vec::new();
    for _ in 0..warm_n {
        let id = seed(&healthy_stack);
        let (ms, decision) = invoke(&local, &id);
        assert_eq!(decision, "Succeeded");
        warm.push(ms);
    }
    let mut failing = Vec::new();
    for _ in 0..5 {
        let id = seed(&broken_stack);
        let (ms, decision) = invoke(&local, &id);
        assert_eq!(decision, "Failed");
        failing.push(ms);
    }
    peak = peak.max(peak_kib(child.id()).unwrap_or(0));
    let _ = child.kill();
    let _ = child.wait();
    let mut child = spawn(&local, &bin, r#"{"default": {"warmupMs": 0}}"#);
    let mut failing_no_warmup = Vec::new();
    for _ in 0..5 {
        let id = seed(&broken_stack);
        let (ms, decision) = invoke(&local, &id);
        assert_eq!(decision, "Failed");
        failing_no_warmup.push(ms);
    }
    let _ = child.kill();
    let _ = child.wait();

    println!("healthy service, default checks (discovery, target health, 30 probes of /):");
    println!(
        "  cold start, process start -> status reported   {}",
        stats(cold)
    );
    println!(
        "  warm, invocation -> status reported           {}",
        stats(warm)
    );
    println!("service answering 500 (Failed, alert published):");
    println!(
        "  default 10 s warm-up, invocation -> status     {}",
        stats(failing)
    );
    println!(
        "  warmupMs 0, invocation -> status               {}",
        stats(failing_no_warmup)
    );
    println!(
        "peak RSS (VmHWM) of the function process: {:.1} MiB",
        peak as f64 / 1024.0
    );
    println!("(probes answered by the healthy service: {})", green.hits());
}
