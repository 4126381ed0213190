//! build-alerts' fault matrix through the real binary: every AWS call it makes (DynamoDB
//! PutItem/UpdateItem/DeleteItem/GetItem and SNS Publish through the fault proxy in front of
//! moto; CodePipeline GetPipelineExecution/ListActionExecutions and CodeDeploy GetDeployment at
//! the emulator) suffers throttling, 5xx, a timeout, a reset and a reset after it took effect,
//! and the process dies between two calls. Each event is then delivered as Lambda delivers an
//! asynchronous invocation: again while it fails, at most twice, each retry after the former
//! attempt's deadline (Lambda waits one, then two minutes; the function's timeout is one).
//! What reaches the topic's subscriber is counted: exactly one alert, or none and the last
//! attempt's error (the dead letter); never a lost alert, and a doubled one only where the
//! outcome of a Publish is unknowable (see `Expect::AtLeastOnce`).
//!
//! The claim lease is the invocation's deadline plus a margin: a retry after a crash finds the
//! claim free (`a_crash_while_publishing_is_published_once_by_the_retry` fails with the former
//! fixed 90 s lease).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use codehooks_tests::faults::{self, ATTEMPTS, Fault, FaultProxy, Faults};
use codehooks_tests::topic_with_queue;
use codehooks_tests::{Function, Invocation, LocalAws, drain_queue, event, idempotency_table};
use serde_json::{Value, json};

const REGION: &str = "eu-west-1";
const TABLE: &str = "codehooks-alerts";
/// Each invocation's time limit where calls time out: enough for two slow attempts of a call.
/// Claims end with it, so the shorter it is, the sooner Lambda's retry may come.
const TIMEOUT_MS: u64 = 5_500;
/// The time limit where no call is slow.
const QUICK_TIMEOUT_MS: u64 = 2_000;
/// The read timeout where calls time out: well above what moto needs on a loaded machine (a
/// Publish that times out after it took effect is a second alert: see `Expect::AtLeastOnce`).
const READ_TIMEOUT_MS: u64 = 2_000;
/// The latency of a timeout fault: past [`READ_TIMEOUT_MS`].
const SLOW_MS: u64 = 3_000;
/// The read timeout elsewhere (the usual test setting).
const USUAL_READ_TIMEOUT_MS: u64 = 5_000;

struct World {
    local: LocalAws,
    proxy: FaultProxy,
    sdk: SdkConfig,
    topic: String,
    queue: String,
    /// The margin after the deadline (`CODEHOOKS_ALERTS_LEASE_MARGIN_SECONDS`).
    margin_s: u64,
    /// Each invocation's time limit.
    timeout_ms: u64,
    /// The function's read timeout.
    read_timeout_ms: u64,
}

async fn world(margin_s: u64, timeout_ms: u64) -> World {
    let local = LocalAws::builder()
        .moto()
        .emulator()
        .runtime_api("build-alerts")
        .start();
    let seed = include_str!("build_alerts_fixture/seed.json");
    local
        .emulator()
        .seed(&serde_json::from_str(seed).expect("seed.json"));
    let proxy = FaultProxy::start(local.moto_url());
    let sdk = local.sdk_config(local.moto_url(), REGION).await;
    let (topic, queue) = topic_with_queue(&sdk, "codehooks-alerts", "alerts-subscriber").await;
    idempotency_table(&sdk, TABLE).await;
    World {
        local,
        proxy,
        sdk,
        topic,
        queue,
        margin_s,
        timeout_ms,
        read_timeout_ms: USUAL_READ_TIMEOUT_MS,
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl World {
    /// Sleeps until a claim taken by an invocation whose deadline is `deadline_ms` has ended:
    /// the deadline rounded up to a second, plus the margin, plus the second the store's `<`
    /// needs (Lambda's retries come one and two minutes later).
    fn after_lease(&self, deadline_ms: u64) {
        // The Runtime API sets the invocation's own deadline a little after the test read
        // the clock, and the lease is kept in whole seconds rounded up: a deadline that
        // crosses a second boundary on the way ends the lease a second later. Allow for it.
        let end = ((deadline_ms + 1000).div_ceil(1000) + self.margin_s + 1) * 1000 + 50;
        let now = now_ms();
        if end > now {
            std::thread::sleep(Duration::from_millis(end - now));
        }
    }

    fn api(&self) -> String {
        self.local.runtime_apis["build-alerts"].clone()
    }

    /// A new process of the function. `fast`: two attempts per call and a 400 ms read
    /// timeout (the fault matrix); else the usual test settings (a held call then waits for
    /// the test to kill the process instead of timing out first).
    fn function(&self, fast: bool) -> Function {
        let margin = self.margin_s.to_string();
        let mut fast = if fast { faults::fast_env() } else { Vec::new() };
        for (k, v) in &mut fast {
            if *k == "CODEHOOKS_AWS_READ_TIMEOUT_MS" {
                *v = self.read_timeout_ms.to_string();
            }
        }
        let mut env: Vec<(&str, &str)> = vec![
            ("CODEHOOKS_ALERT_TOPIC_ARN", self.topic.as_str()),
            ("CODEHOOKS_ALERTS_TABLE", TABLE),
            ("CODEHOOKS_ALERTS_RECOVERED", "true"),
            ("CODEHOOKS_ALERTS_LEASE_MARGIN_SECONDS", margin.as_str()),
            ("AWS_ENDPOINT_URL_DYNAMODB", self.proxy.url.as_str()),
            ("AWS_ENDPOINT_URL_SNS", self.proxy.url.as_str()),
        ];
        env.extend(fast.iter().map(|(k, v)| (*k, v.as_str())));
        self.local.function("build-alerts", REGION, &env)
    }

    fn moto_faults(&self) -> Faults {
        self.proxy.faults()
    }

    fn emulator_faults(&self) -> Faults {
        Faults::emulator(self.local.emulator_url())
    }

    /// The faults of the service that serves `operation`.
    fn faults_of(&self, operation: &str) -> Faults {
        match operation {
            "GetDeployment" | "GetPipelineExecution" | "ListActionExecutions" => {
                self.emulator_faults()
            }
            _ => self.moto_faults(),
        }
    }

    /// The next `count` calls of `operation` suffer `fault` (a timeout: [`SLOW_MS`] late).
    fn arm(&self, operation: &str, fault: Fault, count: u32) {
        let faults = self.faults_of(operation);
        if fault == Fault::Timeout {
            codehooks_tests::http::post_json(
                &format!("{}/faults", faults.control),
                &json!({"operation": operation, "kind": fault.kind(), "count": count,
                        "latency_ms": SLOW_MS}),
            );
        } else {
            faults.arm(operation, fault, count);
        }
    }

    fn clear(&self) {
        self.moto_faults().clear();
        self.emulator_faults().clear();
    }

    /// Lambda's asynchronous invocation of `ev` on `f`: the event, then up to two retries
    /// while it fails, each after the former attempt's claim lease ended.
    fn lambda(&self, f: &Function, ev: &Value) -> Vec<Invocation> {
        let mut out = Vec::new();
        for _ in 0..3 {
            let deadline = now_ms() + self.timeout_ms;
            let r = f.invoke(ev, self.timeout_ms);
            let ok = r.is_ok();
            out.push(r);
            if ok {
                break;
            }
            self.after_lease(deadline);
        }
        out
    }

    async fn alerts(&self) -> usize {
        drain_queue(&self.sdk, &self.queue).await.len()
    }
}

/// What a cell must end in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Exactly one alert reaches the subscriber.
    Once,
    /// No alert, and Lambda's last attempt failed: the event goes to the dead-letter queue.
    DeadLetter,
    /// At least one alert: the Publish took effect but its answer was lost (a timeout or a
    /// reset after SNS accepted it), so nobody can know it was published; a retry publishes
    /// again. SNS standard topics (the only ones chat and e-mail subscribers accept) take no
    /// de-duplication id.
    AtLeastOnce,
}

/// A cell of the matrix: the call, the event, another call's fault with it, the expectation.
type Cell = (&'static str, Value, Option<(&'static str, Fault)>, Expect);

/// A deployment failure for deployment `id` (its own alert key).
fn deployment(id: &str) -> Value {
    let mut ev = event("build-alerts-codedeploy-failure.json");
    ev["id"] = json!(format!("ev-{id}"));
    ev["detail"]["deploymentId"] = json!(id);
    ev
}

/// The CloudFormation action failure of the seeded execution, as attempt `attempt` (its own
/// alert key; the lookups find the same execution).
fn action(attempt: u32) -> Value {
    let mut ev = event("build-alerts-codepipeline-action-failed.json");
    ev["id"] = json!(format!("ev-action-{attempt}"));
    ev["detail"]["pipeline-execution-attempt"] = json!(f64::from(attempt));
    ev
}

fn fault_name(f: Fault) -> &'static str {
    match f {
        Fault::Throttle => "throttling",
        Fault::Error5xx => "5xx",
        Fault::Timeout => "timeout",
        Fault::Reset => "reset",
        Fault::ResetAfter => "reset after effect",
    }
}

fn statuses(attempts: &[Invocation]) -> String {
    attempts
        .iter()
        .map(|a| match a.status.as_str() {
            "ok" => a.response["outcome"].as_str().unwrap_or("ok").to_owned(),
            _ => a.error_type.clone().unwrap_or_else(|| a.status.clone()),
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

/// Checks one cell and returns its table row.
fn judge(
    call: &str,
    fault: &str,
    attempts: &[Invocation],
    alerts: usize,
    expect: Expect,
    logs: &str,
) -> String {
    let last_ok = attempts.last().is_some_and(Invocation::is_ok);
    let row = format!("| {call} | {fault} | {} | {alerts} |", statuses(attempts));
    match expect {
        Expect::Once => assert!(alerts == 1 && last_ok, "{row}\n{logs}"),
        Expect::DeadLetter => assert!(alerts == 0 && !last_ok, "{row}\n{logs}"),
        Expect::AtLeastOnce => assert!(alerts >= 1 && last_ok, "{row}\n{logs}"),
    }
    eprintln!("{row}");
    row
}

/// The calls of one fault kind (those `i % parts == part` of them): each call suffers `fault`
/// on every SDK attempt of the first invocation; Lambda's retries then meet a healthy
/// service. Returns the table's rows.
async fn matrix_of(
    fault: Fault,
    (part, parts): (usize, usize),
    ready: &std::sync::Barrier,
) -> Vec<String> {
    let slow = fault == Fault::Timeout;
    let mut w = world(0, if slow { TIMEOUT_MS } else { QUICK_TIMEOUT_MS }).await;
    if slow {
        w.read_timeout_ms = READ_TIMEOUT_MS;
    }
    let f = w.function(true);
    // The cells start once every world is up (starting moto is the heaviest part).
    ready.wait();
    let name = fault_name(fault);
    // A Publish whose request reached SNS but whose answer was lost.
    let ambiguous = fault == Fault::Timeout || fault == Fault::ResetAfter;
    let publish = if ambiguous {
        Expect::AtLeastOnce
    } else {
        Expect::Once
    };
    // (call, event, another call's fault with it, expectation)
    let cells: Vec<Cell> = vec![
        (
            "DynamoDB PutItem (claim)",
            deployment("d-PUT"),
            None,
            Expect::Once,
        ),
        ("SNS Publish", deployment("d-PUBLISH"), None, publish),
        (
            "DynamoDB UpdateItem (complete)",
            deployment("d-UPDATE"),
            None,
            Expect::Once,
        ),
        (
            "DynamoDB DeleteItem (release after a Publish 5xx)",
            deployment("d-DELETE"),
            Some(("Publish", Fault::Error5xx)),
            Expect::Once,
        ),
        (
            "CodeDeploy GetDeployment",
            event("build-alerts-codedeploy-failure.json"),
            None,
            Expect::Once,
        ),
        (
            "CodePipeline GetPipelineExecution",
            action(1),
            None,
            Expect::Once,
        ),
        (
            "CodePipeline ListActionExecutions",
            action(2),
            None,
            Expect::Once,
        ),
        (
            "DynamoDB GetItem (last known state)",
            event("build-alerts-codedeploy-success.json"),
            None,
            Expect::Once,
        ),
    ];
    let mut rows = Vec::new();
    let mut first = None;
    for (i, (call, ev, with, expect)) in cells.into_iter().enumerate() {
        if i % parts != part {
            continue;
        }
        first.get_or_insert_with(|| ev.clone());
        let op = call.split_whitespace().nth(1).expect("an operation name");
        w.arm(op, fault, ATTEMPTS);
        if let Some((other, other_fault)) = with {
            w.arm(other, other_fault, ATTEMPTS);
        }
        let attempts = w.lambda(&f, &ev);
        w.clear();
        let alerts = w.alerts().await;
        rows.push(judge(call, name, &attempts, alerts, expect, &f.logs()));
    }
    // A Publish that fails on every attempt of every delivery: a dead letter, no alert; or,
    // when each Publish reached SNS and only its answer was lost, every one of them is an
    // alert (shown with a reset after the effect; a timeout is the same case, and slower).
    if part == 0 && fault != Fault::Timeout {
        w.arm("Publish", fault, ATTEMPTS * 3);
        let attempts = w.lambda(&f, &deployment("d-DEAD"));
        w.clear();
        let alerts = w.alerts().await;
        let call = "SNS Publish, on every delivery";
        if ambiguous {
            let row = format!("| {call} | {name} | {} | {alerts} |", statuses(&attempts));
            assert!(attempts.iter().all(|a| !a.is_ok()), "{row}");
            assert_eq!(
                alerts as u32,
                3 * ATTEMPTS,
                "every attempt published: {row}"
            );
            rows.push(row);
        } else {
            let logs = f.logs();
            rows.push(judge(
                call,
                name,
                &attempts,
                alerts,
                Expect::DeadLetter,
                &logs,
            ));
        }
    }
    // Nothing was left pending: a redelivery is a duplicate.
    let again = f.invoke(&first.expect("a cell"), w.timeout_ms);
    assert_eq!(again.response["outcome"], "duplicate", "{again:?}");
    assert_eq!(w.alerts().await, 0);
    rows
}

/// Every fault kind at once, each in its own world (its own moto, emulator and proxy): the
/// cells mostly wait for Lambda's retry, so they run side by side.
#[test]
fn the_fault_matrix() {
    // The timeouts are slow: their calls are shared out over three worlds.
    let worlds: Vec<(Fault, (usize, usize))> = faults::ALL
        .into_iter()
        .flat_map(|fault| {
            let parts = if fault == Fault::Timeout { 3 } else { 1 };
            (0..parts).map(move |part| (fault, (part, parts)))
        })
        .collect();
    let ready = std::sync::Arc::new(std::sync::Barrier::new(worlds.len()));
    let runs: Vec<_> = worlds
        .iter()
        .map(|&(fault, part)| {
            let ready = std::sync::Arc::clone(&ready);
            std::thread::spawn(move || {
                let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
                rt.block_on(matrix_of(fault, part, &ready))
            })
        })
        .collect();
    let mut failed = Vec::new();
    let mut table = vec![
        "| call | fault | attempts (Lambda's retries) | alerts |".to_owned(),
        "|---|---|---|---|".to_owned(),
    ];
    for (&(fault, _), run) in worlds.iter().zip(runs) {
        match run.join() {
            Ok(rows) => table.extend(rows),
            Err(_) => failed.push(fault_name(fault)),
        }
    }
    eprintln!("{}", table.join("\n"));
    assert!(failed.is_empty(), "the matrix failed for: {failed:?}");
}

/// Starts `ev` on a new process of the function, holds `operation` (not applied), kills the
/// process while it waits, then lets Lambda retry after the first attempt's deadline.
/// Returns (the first attempt, the retries, the number of alerts).
async fn crash_at(w: &World, operation: &str, ev: &Value) -> (Invocation, Vec<Invocation>, usize) {
    let faults = w.faults_of(operation);
    faults.hold(operation, false);
    let f = w.function(false);
    let deadline = now_ms() + TIMEOUT_MS;
    let first = faults::invoke_in_background(&w.api(), ev, TIMEOUT_MS);
    assert!(
        faults.wait_held(Duration::from_secs(5)),
        "{operation} was never called: {}",
        f.logs()
    );
    drop(f); // kills the process
    faults::crashed(&w.api());
    faults.release();
    let first = first.join().expect("the invoking thread");
    w.clear();
    let f = w.function(false);
    w.after_lease(deadline);
    let retries = w.lambda(&f, ev);
    let alerts = w.alerts().await;
    (first, retries, alerts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_each_step_is_alerted_once_by_the_retry() {
    let w = world(1, QUICK_TIMEOUT_MS).await;
    // The steps of a deployment's alert: claim (PutItem), GetDeployment, Publish, complete
    // (UpdateItem). A crash just before each call.
    for (operation, ev, expect) in [
        ("PutItem", deployment("d-CRASHCLAIM"), Expect::Once),
        (
            "GetDeployment",
            event("build-alerts-codedeploy-failure.json"),
            Expect::Once,
        ),
        ("Publish", deployment("d-CRASHPUBLISH"), Expect::Once),
        // Published, then the process died before recording it: the retry cannot know and
        // publishes again (the one window of claim, act, complete).
        (
            "UpdateItem",
            deployment("d-CRASHCOMPLETE"),
            Expect::AtLeastOnce,
        ),
    ] {
        let (first, retries, alerts) = crash_at(&w, operation, &ev).await;
        assert_eq!(
            first.error_type.as_deref(),
            Some("Runtime.ExitError"),
            "{first:?}"
        );
        let mut all = vec![first];
        all.extend(retries);
        let call = format!("crash before {operation}");
        judge(&call, "process killed", &all, alerts, expect, "");
        if expect == Expect::AtLeastOnce {
            assert_eq!(alerts, 2, "published by the dead process and by the retry");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_while_publishing_is_published_once_by_the_retry() {
    let w = world(1, QUICK_TIMEOUT_MS).await;
    let ev = event("build-alerts-codebuild-failed.json");
    // The process dies while its Publish is held (not delivered).
    let faults = w.moto_faults();
    faults.hold("Publish", false);
    let f = w.function(false);
    let deadline = now_ms() + TIMEOUT_MS;
    let first = faults::invoke_in_background(&w.api(), &ev, TIMEOUT_MS);
    assert!(faults.wait_held(Duration::from_secs(5)), "{}", f.logs());
    drop(f);
    faults::crashed(&w.api());
    faults.release();
    let first = first.join().expect("the invoking thread");
    assert_eq!(first.error_type.as_deref(), Some("Runtime.ExitError"));
    w.clear();
    assert_eq!(w.alerts().await, 0, "nothing was published");

    // A retry before the dead invocation's deadline finds the claim busy and fails (Lambda
    // retries it again).
    let f = w.function(false);
    let early = f.invoke(&ev, TIMEOUT_MS);
    assert!(now_ms() < deadline, "the early retry came too late");
    assert_eq!(early.error_type.as_deref(), Some("Transient"), "{early:?}");
    assert!(
        early
            .error_message
            .as_deref()
            .is_some_and(|m| m.contains("another invocation")),
        "{early:?}"
    );

    // Lambda's retry after the deadline (plus the margin) takes the claim over and publishes
    // exactly once; with the former fixed 90 s lease it would still be busy.
    w.after_lease(deadline);
    let retry = f.invoke(&ev, TIMEOUT_MS);
    assert_eq!(
        retry.response["outcome"],
        "published",
        "{retry:?}\n{}",
        f.logs()
    );
    let again = f.invoke(&ev, TIMEOUT_MS);
    assert_eq!(again.response["outcome"], "duplicate", "{again:?}");
    assert_eq!(w.alerts().await, 1);
}
