//! Benchmark of deploy-hook: time from invocation to reported status for a healthy service with
//! the default checks, cold start (process start to first status reported), the time to `Failed`
//! for a broken service, and peak memory — the real binary under the local Lambda Runtime API,
//! CodeDeploy from the emulator, ELBv2 from moto, a real HTTP service on 127.0.0.1.
//!
//! The same cold start for the other two contracts: an Amazon ECS lifecycle hook
//! (`POST_TEST_TRAFFIC_SHIFT`, healthy green behind a weighted test rule, 30 probes; process
//! start to the `hookStatus` answer), the same stage with a probe window (`windowMs`) in one
//! invocation (the answer time beyond the window is the overhead), and a CodeDeploy Lambda
//! `BeforeAllowTraffic` (3 test events × 3 invocations of the target version in the emulator's
//! Lambda; process start to status reported), and a CodePipeline verify job (a completed
//! rolling deployment, four probes; process start to the job answered).
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
use fixture::ecs::NativeDeployment;
use fixture::lambda::{
    FUNCTIONS_VAR, LambdaDeploymentSpec, now_s, seed_function, seed_lambda_deployment,
};
use fixture::native::{NativeStack, NativeStackSpec, Tg};
use fixture::routed::{Conditions, Green, RoutedService};
use fixture::*;
use serde_json::{Value, json};

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
    spawn_with(local, bin, policy, &[])
}

fn spawn_with(local: &LocalAws, bin: &PathBuf, policy: &str, extra: &[(&str, &str)]) -> Child {
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
        .envs(extra.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd.spawn().expect("start deploy-hook")
}

fn invoke(local: &LocalAws, id: &str) -> (f64, String) {
    let (ms, response) = invoke_event(local, &payload(id, "hook-exec-1"));
    let decision = response["decision"].as_str().unwrap_or("?").to_owned();
    (ms, decision)
}

/// Invokes with `event`; the round trip and the function's answer.
fn invoke_event(local: &LocalAws, event: &Value) -> (f64, Value) {
    let api = &local.runtime_apis["deploy-hook"];
    let t = Instant::now();
    let answer = http::post_json(
        &format!("http://{api}/_invoke"),
        &json!({"event": event, "timeout_ms": 60_000}),
    );
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    (ms, answer["response"].clone())
}

/// Cold starts of `n` processes: each one starts, answers `event(i)` and is stopped; the time
/// from process start to the answer, checked by `ok`, and the peak memory.
fn cold_starts(
    local: &LocalAws,
    bin: &PathBuf,
    policy: &str,
    extra: &[(&str, &str)],
    n: usize,
    mut event: impl FnMut(usize) -> Value,
    ok: impl Fn(&Value) -> bool,
) -> (Vec<f64>, u64) {
    let (mut times, mut peak) = (Vec::new(), 0);
    for i in 0..n {
        let e = event(i);
        let t = Instant::now();
        let mut child = spawn_with(local, bin, policy, extra);
        let (_, response) = invoke_event(local, &e);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(ok(&response), "unexpected answer: {response:#}");
        peak = peak.max(peak_kib(child.id()).unwrap_or(0));
        let _ = child.kill();
        let _ = child.wait();
    }
    (times, peak)
}

/// The `hookStatus` of an answer to Amazon ECS.
fn hook_status(response: &Value) -> &str {
    response["hookStatus"].as_str().unwrap_or("?")
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

    // Amazon ECS lifecycle hooks: green behind the test rule (weighted forward, test traffic
    // shifted to green), the hook's answer is the status.
    let routed = RoutedService::start(Conditions::default(), Green::Healthy, NEW_VERSION);
    let mut spec =
        NativeStackSpec::new("native", closed_port(), routed.port, Conditions::default());
    spec.test_to = Tg::Alternate;
    let native_stack = NativeStack::create(&elb, &subnets, spec).await;
    let mut k = 0u64;
    let mut native_event = |_: usize| {
        k += 1;
        let d = NativeDeployment::new(
            "native",
            &format!("BenchDeployment{k:06}"),
            9_000_000_000_000_000_000 + 2 * k,
        );
        d.seed(&local, &native_stack);
        d.payload(&format!("bench-exec-{k}"), "POST_TEST_TRAFFIC_SHIFT")
    };
    let succeeded = |r: &Value| hook_status(r) == "SUCCEEDED";
    let before = routed.green_hits();
    let (native_cold, native_peak) =
        cold_starts(&local, &bin, "", &[], cold_n, &mut native_event, succeeded);
    let native_probes = (routed.green_hits() - before) / cold_n.max(1);
    // The same stage with a probe window that fits in one invocation.
    let window_ms = 2_000.0;
    let window_policy = json!({"hooks": {"POST_TEST_TRAFFIC_SHIFT": {
        "windowMs": window_ms as u64, "intervalMs": 100
    }}})
    .to_string();
    let (window_cold, window_peak) = cold_starts(
        &local,
        &bin,
        &window_policy,
        &[],
        cold_n,
        &mut native_event,
        succeeded,
    );
    let mut child = spawn(&local, &bin, &window_policy);
    invoke_event(&local, &native_event(0));
    let mut window_warm = Vec::new();
    for _ in 0..cold_n {
        let (ms, r) = invoke_event(&local, &native_event(0));
        assert!(succeeded(&r), "{r:#}");
        window_warm.push(ms);
    }
    let _ = child.kill();
    let _ = child.wait();

    // CodeDeploy Lambda: BeforeAllowTraffic invokes the target version with the test events.
    seed_function(
        &local,
        "orders",
        ("live", "7"),
        json!({"7": {"payload": {"ok": true}}, "8": {"payload": {"ok": true, "statusCode": 200}}}),
    );
    let lambda_policy = json!({"lambda": {"default": {
        "invocations": 3, "concurrency": 2,
        "events": [
            {"name": "get", "payload": {"action": "get"}, "expect": [{"pointer": "/ok", "equals": true}]},
            {"name": "list", "payload": {"action": "list"}, "expect": [{"pointer": "/statusCode", "equals": 200}]},
            {"name": "health", "payload": {"action": "health"}}
        ]
    }}})
    .to_string();
    let shifted_at = now_s() - 300.0;
    let lambda_event = |i: usize| {
        let id = format!("d-BNCHL{i:04}");
        seed_lambda_deployment(
            &local,
            &LambdaDeploymentSpec {
                id: &id,
                hook_execution_id: "hook-exec-1",
                group: "orders-live",
                function: "orders",
                alias: "live",
                current: "7",
                target: "8",
                running: "BeforeAllowTraffic",
                shifted_at,
            },
        );
        payload(&id, "hook-exec-1")
    };
    let (lambda_cold, lambda_peak) = cold_starts(
        &local,
        &bin,
        &lambda_policy,
        &[(FUNCTIONS_VAR, "orders")],
        cold_n,
        lambda_event,
        |r| {
            r["decision"] == "Succeeded"
                && r["lambda"]["events"].as_array().map(Vec::len) == Some(3)
        },
    );

    println!(
        "Amazon ECS lifecycle hook, POST_TEST_TRAFFIC_SHIFT, healthy green through the test rule:"
    );
    println!(
        "  cold start, process start -> hookStatus ({native_probes} requests) {}",
        stats(native_cold)
    );
    println!(
        "  probe window of {:.0} ms in one invocation, cold        {}",
        window_ms,
        stats(window_cold.clone())
    );
    println!(
        "    overhead beyond the window (cold)                   {}",
        stats(window_cold.iter().map(|t| t - window_ms).collect())
    );
    println!(
        "    overhead beyond the window (warm)                   {}",
        stats(window_warm.iter().map(|t| t - window_ms).collect())
    );
    println!(
        "CodeDeploy Lambda, BeforeAllowTraffic, 3 events x 3 invocations of the target version:"
    );
    println!(
        "  cold start, process start -> status reported   {}",
        stats(lambda_cold)
    );
    println!(
        "peak RSS (VmHWM) per contract: Amazon ECS {:.1} MiB (window {:.1} MiB), CodeDeploy Lambda {:.1} MiB",
        native_peak as f64 / 1024.0,
        window_peak as f64 / 1024.0,
        lambda_peak as f64 / 1024.0
    );

    pipeline(&local, &bin, &green, cold_n, warm_n);
    analysis(&local, &elb, &subnets, &bin, warm_n).await;
}

/// A CodePipeline verify job: a completed rolling deployment (one `DescribeServices`), four
/// probes of the healthy service with the version header, the job answered with
/// `PutJobSuccessResult`; process start to the answer (cold), and warm invocations.
fn pipeline(local: &LocalAws, bin: &PathBuf, green: &Service, cold_n: usize, warm_n: usize) {
    let svc = fixture::pipeline::RollingService::completed("benchweb", NEW_VERSION);
    svc.seed(local);
    let url = format!("http://127.0.0.1:{}/", green.port);
    let mut n = 0u32;
    let mut job_event = |_: usize| {
        n += 1;
        let exec = fixture::pipeline::execution_id(n);
        let params = fixture::pipeline::params(&svc, &url, "bench", &exec);
        fixture::pipeline::seed_job(local, None, "bench", &exec, &params)["event"].clone()
    };
    let succeeded = |r: &Value| r["answer"] == "succeeded";
    let (cold, peak) = cold_starts(local, bin, "", &[], cold_n, &mut job_event, succeeded);
    let mut child = spawn(local, bin, "");
    invoke_event(local, &job_event(0));
    let mut warm = Vec::new();
    for _ in 0..warm_n {
        let (ms, r) = invoke_event(local, &job_event(0));
        assert!(succeeded(&r), "{r:#}");
        warm.push(ms);
    }
    let _ = child.kill();
    let _ = child.wait();
    println!("CodePipeline verify job, completed rollout + 4 probes, job answered:");
    println!(
        "  cold start, process start -> job answered     {}",
        stats(cold)
    );
    println!(
        "  warm, invocation -> job answered              {}",
        stats(warm)
    );
    println!(
        "peak RSS (VmHWM), CodePipeline job: {:.1} MiB",
        peak as f64 / 1024.0
    );
}

/// The time the analysis adds to a decision: warm invocations of the healthy stack with and
/// without `analysis` (alarms by prefix and green's and blue's load balancer metrics), and one
/// `GetMetricData` of the window's ten queries timed alone from this process.
async fn analysis(
    local: &LocalAws,
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    subnets: &[String],
    bin: &PathBuf,
    warm_n: usize,
) {
    use fixture::cloudwatch::{self, Traffic};
    let green = Service::start(Mode::Healthy, NEW_VERSION);
    let blue = Service::start(Mode::Healthy, OLD_VERSION);
    let stack = Stack::create(
        elb,
        subnets,
        StackSpec::new("analysed", blue.port, green.port),
    )
    .await;
    let cw = cloudwatch::client(local).await;
    cloudwatch::put_target_group(
        &cw,
        &stack.lb_arn,
        &stack.green_tg_arn,
        &Traffic::new(800.0, 2.0, 45.0),
    )
    .await;
    cloudwatch::put_target_group(
        &cw,
        &stack.lb_arn,
        &stack.blue_tg_arn,
        &Traffic::new(8000.0, 20.0, 45.0),
    )
    .await;
    for i in 0..5 {
        cloudwatch::alarm(
            &cw,
            &format!("bench-{i}"),
            aws_sdk_cloudwatch::types::StateValue::Ok,
            "quiet",
            &[],
        )
        .await;
    }
    let mut n = 0;
    let mut warm = |policy: &str| {
        let mut child = spawn(local, bin, policy);
        let mut times = Vec::new();
        for i in 0..=warm_n {
            n += 1;
            let id = format!("d-AN{n:07}");
            seed_deployment(
                local,
                &stack,
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
            let (ms, decision) = invoke(local, &id);
            assert_eq!(decision, "Succeeded");
            if i > 0 {
                times.push(ms);
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        times
    };
    let plain = warm("");
    let analysed = warm(
        r#"{"default": {"analysis": {"metrics": {"minRequests": 100}, "alarms": {"prefix": "bench-"}, "lookbackMs": 300000}}}"#,
    );
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let added = median(&analysed) - median(&plain);
    let mut reads = Vec::new();
    let lb = cloudwatch::lb_dimension(&stack.lb_arn);
    let end = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    let start = end - std::time::Duration::from_secs(600);
    for _ in 0..warm_n {
        let mut q = Vec::new();
        for (prefix, tg) in [("g", &stack.green_tg_arn), ("b", &stack.blue_tg_arn)] {
            let tg = cloudwatch::tg_dimension(tg);
            for (id, metric, stat) in [
                ("req", "RequestCount", "Sum"),
                ("t5", "HTTPCode_Target_5XX_Count", "Sum"),
                ("p95", "TargetResponseTime", "p95"),
                ("p99", "TargetResponseTime", "p99"),
            ] {
                q.push(cloudwatch::query(
                    &format!("{prefix}_{id}"),
                    metric,
                    &[("TargetGroup", &tg), ("LoadBalancer", &lb)],
                    stat,
                    600,
                ));
            }
        }
        q.push(cloudwatch::query(
            "lb_req",
            "RequestCount",
            &[("LoadBalancer", &lb)],
            "Sum",
            600,
        ));
        q.push(cloudwatch::query(
            "lb_e5",
            "HTTPCode_ELB_5XX_Count",
            &[("LoadBalancer", &lb)],
            "Sum",
            600,
        ));
        let t = Instant::now();
        cw.get_metric_data()
            .set_metric_data_queries(Some(q))
            .start_time(start.into())
            .end_time(end.into())
            .send()
            .await
            .expect("GetMetricData");
        reads.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!("analysis (alarms by prefix: 5 alarms; green and blue load balancer metrics):");
    println!(
        "  warm, without analysis                        {}",
        stats(plain)
    );
    println!(
        "  warm, with analysis                           {}",
        stats(analysed)
    );
    println!("  added by the analysis (p50 difference)        {added:.1} ms");
    println!(
        "  one GetMetricData, the window's 10 queries     {}",
        stats(reads)
    );
}
