//! deploy-hook as an Amazon ECS blue/green lifecycle hook: the real binary under the Lambda
//! Runtime API, invoked as ECS invokes it (`executionId`, `lifecycleStage`, `resourceArn`,
//! `executionDetails`, `hookDetails`), answering with `hookStatus`. The service revisions and
//! deployment come from the emulator (ECS), the load balancer with its weighted listener rules
//! from moto (ELBv2, built through the real SDK), SNS/SQS/DynamoDB from moto, and real HTTP
//! services on 127.0.0.1 play green behind each listener rule: a request that does not meet
//! the test rule's conditions gets the listener's 404, as on a real load balancer.
//!
//! The load balancer's DNS name does not resolve here, so the function runs with
//! `CODEHOOKS_HOOK_BASE_URL=http://127.0.0.1:{port}`: the port still comes from the listener of
//! the rule it discovered, so each listener is created on the port of the service behind it.

mod deploy_hook_fixture;

use codehooks_tests::Invocation;
use codehooks_tests::faults::FaultProxy;
use deploy_hook_fixture::ecs::NativeDeployment;
use deploy_hook_fixture::ecs_hook::{assert_answer, next_payload, run_hook, status};
use deploy_hook_fixture::native::{NativeStack, NativeStackSpec, Tg, Traffic};
use deploy_hook_fixture::routed::{Conditions, Green, RoutedService};
use deploy_hook_fixture::world::World;
use deploy_hook_fixture::{NEW_VERSION, REGION, closed_port};
use serde_json::{Value, json};

/// The invocation timeout in the window tests: the `window*` services' 5 s window needs several.
const SLICE_MS: u64 = 2_500;

fn policy() -> String {
    let window = json!({"hooks": {"POST_TEST_TRAFFIC_SHIFT": {
        "windowMs": 5000, "intervalMs": 100, "concurrency": 1, "callBackDelaySeconds": 1
    }}});
    json!({
        "default": {
            "requests": 12, "concurrency": 3, "timeoutMs": 2000, "warmupMs": 0, "maxP95Ms": 800,
            "targetHealthWaitMs": 1500, "targetHealthPollMs": 200, "maxConsecutiveFailures": 3
        },
        "services": {
            "shop-cluster/window": window,
            "shop-cluster/windowfail": window,
            // Thousands of probes per invocation: the state carried in hookDetails stays small.
            "shop-cluster/windowbusy": {"hooks": {"POST_TEST_TRAFFIC_SHIFT": {
                "windowMs": 4000, "intervalMs": 0, "concurrency": 4, "callBackDelaySeconds": 1,
                "paths": ["/", "/ready"]
            }}},
            "rollback": {"hooks": {
                "TEST_TRAFFIC_SHIFT": {"targetHealth": true},
                "PRODUCTION_TRAFFIC_SHIFT": {"targetHealth": true}
            }}
        }
    })
    .to_string()
}

/// The world of these tests: the base URL and the policy above.
async fn world() -> World {
    World::start().await.with(&[
        ("CODEHOOKS_HOOK_BASE_URL", "http://127.0.0.1:{port}"),
        ("CODEHOOKS_HOOK_POLICY", &policy()),
    ])
}

/// What the test rule asks of a request: the probes must carry both.
fn test_conditions() -> Conditions {
    Conditions {
        host: Some("green.shop.example.com".into()),
        headers: vec![("X-Canary".into(), "green".into())],
        ..Conditions::default()
    }
}

/// Green behind the test listener (with the test rule's conditions) and behind the production
/// listener, and the stack with the test traffic already on green (the alternate target group).
async fn shifted(
    w: &World,
    name: &str,
    green: Green,
) -> (NativeStack, RoutedService, RoutedService) {
    let test = RoutedService::start(test_conditions(), green.clone(), NEW_VERSION);
    let prod = RoutedService::start(Conditions::default(), green, NEW_VERSION);
    let mut spec = NativeStackSpec::new(name, prod.port, test.port, test_conditions());
    spec.test_to = Tg::Alternate;
    (w.native_stack(spec).await, test, prod)
}

/// The evidence an alert carries (the chat document's `metadata.additionalContext`).
fn alert_evidence(message: &Value) -> Value {
    let doc: Value = serde_json::from_str(message["Message"].as_str().unwrap_or("{}"))
        .unwrap_or_else(|e| panic!("the alert is not JSON ({e}): {message:#}"));
    doc["metadata"]["additionalContext"].clone()
}

/// The requests `service` saw from index `from` on.
fn since(service: &RoutedService, from: usize) -> Vec<deploy_hook_fixture::routed::Seen> {
    service.seen().split_off(from)
}

fn error_message(inv: &Invocation) -> String {
    inv.error_message.clone().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_green_passes_every_stage() {
    let w = world().await;
    let queue = w.queue("native-healthy").await;
    let f = w.function(&[]);
    let test = RoutedService::start(test_conditions(), Green::Healthy, NEW_VERSION);
    let prod = RoutedService::start(Conditions::default(), Green::Healthy, NEW_VERSION);
    let stack = w
        .native_stack(NativeStackSpec::new(
            "healthy",
            prod.port,
            test.port,
            test_conditions(),
        ))
        .await;
    let mut d = NativeDeployment::new(
        "healthy",
        "HealthyDeployment0001",
        9_313_423_515_462_893_900,
    );

    for (i, stage) in [
        "POST_SCALE_UP",
        "TEST_TRAFFIC_SHIFT",
        "POST_TEST_TRAFFIC_SHIFT",
        "PRODUCTION_TRAFFIC_SHIFT",
        "POST_PRODUCTION_TRAFFIC_SHIFT",
    ]
    .into_iter()
    .enumerate()
    {
        // ECS moves the traffic, then runs the stage's hook.
        match stage {
            "TEST_TRAFFIC_SHIFT" => stack.shift(&w.elb, Traffic::Test, d.green).await,
            "PRODUCTION_TRAFFIC_SHIFT" => stack.shift(&w.elb, Traffic::Production, d.green).await,
            _ => {}
        }
        d.stage = stage.to_owned();
        d.seed(&w.local, &stack);
        let (t0, p0) = (test.hits(), prod.hits());
        let inv = f.invoke(
            &d.payload(&format!("0000000{i}-healthy-exec"), stage),
            20_000,
        );
        assert_answer(&inv, "SUCCEEDED", &f);
        let (t, p) = (since(&test, t0), since(&prod, p0));
        match stage {
            "POST_TEST_TRAFFIC_SHIFT" => {
                assert_eq!(t.len(), 12, "the policy's 12 probes through the test rule");
                for s in &t {
                    assert!(
                        s.matched,
                        "a probe missed the test rule's conditions: {s:?}"
                    );
                    assert_eq!(s.host, "green.shop.example.com", "{s:?}");
                    assert_eq!(s.header("x-canary"), Some("green"), "{s:?}");
                    assert_eq!(s.method, "GET");
                }
                assert!(p.is_empty(), "no probe through the production listener yet");
            }
            "POST_PRODUCTION_TRAFFIC_SHIFT" => {
                assert!(
                    !p.is_empty(),
                    "the smoke probes go through the production rule"
                );
                assert!(p.iter().all(|s| s.matched), "{p:?}");
                assert!(t.is_empty(), "nothing through the test listener: {t:?}");
            }
            _ => assert!(
                t.is_empty() && p.is_empty(),
                "{stage} sends no probe: {t:?} {p:?}"
            ),
        }
    }

    assert!(
        w.alerts(&queue).await.is_empty(),
        "no alert for a healthy green"
    );
    let logs = f.logs();
    let decisions: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("\"hook decision\""))
        .collect();
    assert!(decisions.len() >= 5, "{logs}");
    assert!(
        decisions.iter().all(|l| l.contains("Amazon ECS")),
        "{decisions:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_green_fails_with_one_alert_and_dry_run_only_warns() {
    let w = world().await;
    let queue = w.queue("native-failing").await;
    let f = w.function(&[]);
    let (stack, test, _prod) = shifted(&w, "failing", Green::Status(500)).await;
    let d = NativeDeployment::new(
        "failing",
        "FailingDeployment0001",
        1_920_498_462_936_580_504,
    );
    d.seed(&w.local, &stack);

    let inv = f.invoke(
        &d.payload("1f0e5a77-failing-exec", "POST_TEST_TRAFFIC_SHIFT"),
        20_000,
    );
    assert_answer(&inv, "FAILED", &f);
    assert!(test.green_hits() >= 1, "green was probed");
    assert!(
        test.green_hits() < 12,
        "probing stopped once it could not pass: {}",
        test.green_hits()
    );
    // The same invocation delivered again: the same verdict, and the alert is not repeated.
    let again = f.invoke(
        &d.payload("1f0e5a77-failing-exec", "POST_TEST_TRAFFIC_SHIFT"),
        20_000,
    );
    assert_answer(&again, "FAILED", &f);

    let messages = w.alerts(&queue).await;
    assert_eq!(messages.len(), 1, "one alert: {messages:#?}");
    assert_eq!(
        messages[0]["MessageAttributes"]["alertId"]["Value"],
        format!("{}/1f0e5a77-failing-exec", d.deployment_arn()),
        "{:#}",
        messages[0]
    );
    let attrs = &messages[0]["MessageAttributes"];
    for (name, value) in [
        ("source", "deploy-hook"),
        ("state", "Failed"),
        ("severity", "error"),
        ("decision", "Failed"),
        ("hook", "POST_TEST_TRAFFIC_SHIFT"),
        ("region", REGION),
    ] {
        assert_eq!(attrs[name]["Value"], value, "{name}: {attrs:#}");
    }
    let evidence = alert_evidence(&messages[0]);
    assert_eq!(evidence["platform"], "EcsNative", "{evidence:#}");
    assert_eq!(evidence["hook"], "POST_TEST_TRAFFIC_SHIFT", "{evidence:#}");
    assert_eq!(evidence["service"], d.scope(), "{evidence:#}");
    assert_eq!(
        evidence["targetRevision"],
        d.green_revision_arn(),
        "{evidence:#}"
    );
    assert_eq!(evidence["failedChecks"][0], "successRate", "{evidence:#}");
    assert_eq!(
        evidence["greenTargetGroup"], stack.alternate_tg,
        "{evidence:#}"
    );
    assert!(
        evidence["probes"][0]["samples"][0]
            .as_str()
            .unwrap_or_default()
            .contains("HTTP 500"),
        "{evidence:#}"
    );

    // Too few healthy targets for green's requested tasks: POST_SCALE_UP fails on target health.
    let mut short = NativeDeployment::new(
        "failing",
        "ShortDeployment000001",
        1_920_498_462_936_580_600,
    );
    short.requested = 4;
    short.stage = "POST_SCALE_UP".into();
    short.seed(&w.local, &stack);
    let inv = f.invoke(
        &short.payload("1f1e5a77-short-exec", "POST_SCALE_UP"),
        20_000,
    );
    assert_answer(&inv, "FAILED", &f);
    let messages = w.alerts(&queue).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let evidence = alert_evidence(&messages[0]);
    assert_eq!(
        evidence["failedChecks"],
        json!(["targetHealth"]),
        "{evidence:#}"
    );
    assert_eq!(evidence["targetHealth"]["healthy"], 2, "{evidence:#}");
    drop(f);

    // Dry run: the same green passes, and what would have failed is published as a warning.
    let dry = w.function(&[("CODEHOOKS_HOOK_DRY_RUN", "true")]);
    let inv = dry.invoke(
        &d.payload("2f0e5a77-dryrun-exec", "POST_TEST_TRAFFIC_SHIFT"),
        20_000,
    );
    assert_answer(&inv, "SUCCEEDED", &dry);
    let messages = w.alerts(&queue).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let attrs = &messages[0]["MessageAttributes"];
    assert_eq!(attrs["state"]["Value"], "DryRunFailed", "{attrs:#}");
    assert_eq!(attrs["severity"]["Value"], "warning", "{attrs:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_rule_that_does_not_send_green_its_traffic_is_refused() {
    let w = world().await;
    let queue = w.queue("native-refused").await;
    let f = w.function(&[]);
    let test = RoutedService::start(test_conditions(), Green::Healthy, NEW_VERSION);
    let prod = RoutedService::start(Conditions::default(), Green::Healthy, NEW_VERSION);
    // ECS did not shift the test traffic: the test rule still forwards to blue.
    let stack = w
        .native_stack(NativeStackSpec::new(
            "unshifted",
            prod.port,
            test.port,
            test_conditions(),
        ))
        .await;
    let d = NativeDeployment::new(
        "unshifted",
        "UnshiftedDeployment01",
        5_000_000_000_000_000_002,
    );
    d.seed(&w.local, &stack);

    let inv = f.invoke(
        &d.payload("3a1b-unshifted-exec", "POST_TEST_TRAFFIC_SHIFT"),
        20_000,
    );
    assert_answer(&inv, "FAILED", &f);
    assert_eq!(test.hits() + prod.hits(), 0, "blue is never probed");
    let messages = w.alerts(&queue).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let evidence = alert_evidence(&messages[0]);
    let summary = evidence["summary"].as_str().unwrap_or_default();
    assert!(
        [&stack.test_rule, &stack.test_listener]
            .iter()
            .any(|r| summary.contains(r.as_str()))
            && [&stack.primary_tg, &stack.alternate_tg]
                .iter()
                .any(|t| summary.contains(t.as_str())),
        "the refusal names the test rule (or its listener) and where it forwards: {evidence:#}"
    );
    assert!(
        evidence["probes"].as_array().is_none_or(Vec::is_empty),
        "{evidence:#}"
    );

    // The production rule still on blue after the production shift: refused the same way.
    let inv = f.invoke(
        &d.payload("3c1b-unshifted-exec", "POST_PRODUCTION_TRAFFIC_SHIFT"),
        20_000,
    );
    assert_answer(&inv, "FAILED", &f);
    assert_eq!(test.hits() + prod.hits(), 0, "blue is never probed");
    let messages = w.alerts(&queue).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let summary = alert_evidence(&messages[0])["summary"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        summary.contains(&stack.prod_rule) || summary.contains(&stack.prod_listener),
        "the refusal names the production rule (or its listener): {summary}"
    );

    // A target revision ECS does not know: FAILED, saying which.
    let unknown = NativeDeployment::new(
        "unshifted",
        "UnknownRevision000001",
        5_000_000_000_000_000_009,
    );
    let inv = f.invoke(
        &unknown.payload("3b1b-unknown-exec", "POST_TEST_TRAFFIC_SHIFT"),
        20_000,
    );
    assert_answer(&inv, "FAILED", &f);
    assert_eq!(test.hits() + prod.hits(), 0);
    let messages = w.alerts(&queue).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let evidence = alert_evidence(&messages[0]);
    let summary = evidence["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains(&unknown.green_revision_arn())
            || summary.contains(&unknown.deployment_arn()),
        "the failure names what ECS does not know: {evidence:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_configuration_fails_the_checks_but_never_blocks_a_rollback() {
    let w = world().await;
    let queue = w.queue("native-degraded").await;
    let mut f = w.function(&[(
        "CODEHOOKS_HOOK_POLICY",
        r#"{"hooks": {"POST_TEST_TRAFFIC_SHIFT": {"minSuccessRate": 5}}}"#,
    )]);
    let (stack, test, _prod) = shifted(&w, "degraded", Green::Healthy).await;
    let d = NativeDeployment::new(
        "degraded",
        "DegradedDeployment001",
        4_000_000_000_000_000_002,
    );
    d.seed(&w.local, &stack);

    let inv = f.invoke(
        &d.payload("2c1b-degraded-exec", "POST_TEST_TRAFFIC_SHIFT"),
        20_000,
    );
    assert_answer(&inv, "FAILED", &f);
    assert_eq!(
        test.hits(),
        0,
        "nothing is checked with a wrong configuration"
    );
    let messages = w.alerts(&queue).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let evidence = alert_evidence(&messages[0]);
    assert_eq!(
        evidence["failedChecks"],
        json!(["configuration"]),
        "{evidence:#}"
    );
    let summary = evidence["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("CODEHOOKS_HOOK_POLICY") && summary.contains("minSuccessRate"),
        "{evidence:#}"
    );

    // A rollback still goes through at once.
    for stage in ["TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"] {
        let inv = f.invoke(&d.rollback_payload("2d1b-degraded-rollback", stage), 20_000);
        assert_answer(&inv, "SUCCEEDED", &f);
    }
    assert!(
        w.alerts(&queue).await.is_empty(),
        "a rollback is not alerted"
    );
    assert!(
        f.exited().is_none(),
        "the function keeps serving: {}",
        f.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_rules_conditions_shape_the_probes_or_refuse_them() {
    let w = world().await;
    let queue = w.queue("native-conditions").await;
    let f = w.function(&[]);

    // A query-string condition with a header one: every probe carries both.
    let conditions = Conditions {
        headers: vec![("X-Canary".into(), "green".into())],
        query: vec![("canary".into(), "1".into())],
        ..Conditions::default()
    };
    let test = RoutedService::start(conditions.clone(), Green::Healthy, NEW_VERSION);
    let mut spec = NativeStackSpec::new("query", closed_port(), test.port, conditions);
    spec.test_to = Tg::Alternate;
    let stack = w.native_stack(spec).await;
    let d = NativeDeployment::new("query", "QueryDeployment000001", 6_000_000_000_000_000_002);
    d.seed(&w.local, &stack);
    let inv = f.invoke(
        &d.payload("4a1b-query-exec", "POST_TEST_TRAFFIC_SHIFT"),
        20_000,
    );
    assert_answer(&inv, "SUCCEEDED", &f);
    let seen = test.seen();
    assert_eq!(seen.len(), 12, "{seen:?}");
    assert!(
        seen.iter()
            .all(|s| s.matched && s.query.contains("canary=1")),
        "{seen:?}"
    );

    // A method condition GET probes cannot meet: refused, nothing sent.
    let conditions = Conditions {
        method: Some("POST".into()),
        ..Conditions::default()
    };
    let test = RoutedService::start(conditions.clone(), Green::Healthy, NEW_VERSION);
    let mut spec = NativeStackSpec::new("method", closed_port(), test.port, conditions);
    spec.test_to = Tg::Alternate;
    let stack = w.native_stack(spec).await;
    let d = NativeDeployment::new("method", "MethodDeployment00001", 6_100_000_000_000_000_002);
    d.seed(&w.local, &stack);
    let inv = f.invoke(
        &d.payload("4b1b-method-exec", "POST_TEST_TRAFFIC_SHIFT"),
        20_000,
    );
    assert_answer(&inv, "FAILED", &f);
    assert_eq!(
        test.hits(),
        0,
        "no probe that the rule would not route: {:?}",
        test.seen()
    );
    let messages = w.alerts(&queue).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let summary = alert_evidence(&messages[0])["summary"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        summary.contains("http-request-method") || summary.contains("POST"),
        "the refusal names the condition: {summary}"
    );

    // Wildcards: the probes carry values the patterns match.
    let conditions = Conditions {
        host: Some("*.shop.example.com".into()),
        headers: vec![("X-Canary".into(), "gr?en*".into())],
        ..Conditions::default()
    };
    let test = RoutedService::start(conditions.clone(), Green::Healthy, NEW_VERSION);
    let mut spec = NativeStackSpec::new("wildcard", closed_port(), test.port, conditions);
    spec.test_to = Tg::Alternate;
    let stack = w.native_stack(spec).await;
    let d = NativeDeployment::new(
        "wildcard",
        "WildcardDeployment001",
        6_200_000_000_000_000_002,
    );
    d.seed(&w.local, &stack);
    let inv = f.invoke(
        &d.payload("4c1b-wildcard-exec", "POST_TEST_TRAFFIC_SHIFT"),
        20_000,
    );
    assert_answer(&inv, "SUCCEEDED", &f);
    let seen = test.seen();
    assert_eq!(seen.len(), 12, "{seen:?}");
    assert!(
        seen.iter()
            .all(|s| s.matched && !s.host.contains('*') && !s.host.starts_with('.')),
        "{seen:?}"
    );

    // A path pattern the default path does not match: refused, until the service's own
    // policy names a path it routes.
    let conditions = Conditions {
        paths: vec!["/api/*".into()],
        ..Conditions::default()
    };
    let test = RoutedService::start(conditions.clone(), Green::Healthy, NEW_VERSION);
    let mut spec = NativeStackSpec::new("paths", closed_port(), test.port, conditions);
    spec.test_to = Tg::Alternate;
    let stack = w.native_stack(spec).await;
    let mut d = NativeDeployment::new("paths", "PathsDeployment000001", 6_300_000_000_000_000_002);
    d.seed(&w.local, &stack);
    let inv = f.invoke(
        &d.payload("4d1b-paths-exec", "POST_TEST_TRAFFIC_SHIFT"),
        20_000,
    );
    assert_answer(&inv, "FAILED", &f);
    assert_eq!(test.hits(), 0, "{:?}", test.seen());
    let messages = w.alerts(&queue).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let summary = alert_evidence(&messages[0])["summary"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        summary.contains("/api/*"),
        "the refusal names the pattern: {summary}"
    );
    d.hook_details = Some(json!({"codehooksPolicy": {"default": {"paths": ["/api/health"]}}}));
    let inv = f.invoke(
        &d.payload("4e1b-paths-exec", "POST_TEST_TRAFFIC_SHIFT"),
        20_000,
    );
    assert_answer(&inv, "SUCCEEDED", &f);
    let seen = test.seen();
    assert_eq!(seen.len(), 12, "{seen:?}");
    assert!(
        seen.iter().all(|s| s.matched && s.path == "/api/health"),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_spans_several_in_progress_invocations() {
    let w = world().await;
    let queue = w.queue("native-window").await;
    let f = w.function(&[]);

    let (stack, test, _prod) = shifted(&w, "window", Green::Healthy).await;
    let mut d = NativeDeployment::new("window", "WindowDeployment00001", 7_000_000_000_000_000_002);
    d.hook_details = Some(json!({"team": "shop"}));
    d.seed(&w.local, &stack);
    let first = d.payload("5a1b-window-exec", "POST_TEST_TRAFFIC_SHIFT");
    let started = std::time::Instant::now();
    let invs = run_hook(&f, &first, SLICE_MS, 12, 1);
    let last = invs.last().unwrap();
    assert_answer(last, "SUCCEEDED", &f);
    assert!(
        invs.len() >= 2,
        "a 5 s window does not fit in one {SLICE_MS} ms invocation: {invs:#?}"
    );
    for inv in &invs[..invs.len() - 1] {
        assert_answer(inv, "IN_PROGRESS", &f);
        assert_eq!(inv.response["callBackDelay"], 1, "{:#}", inv.response);
        let details = &inv.response["hookDetails"];
        assert!(
            details["codehooksWindow"].is_object() || details["codehooksWindow"].is_string(),
            "{details:#}"
        );
        let size = details.to_string().len();
        assert!(size < 8 * 1024, "hookDetails is bounded: {size} bytes");
        assert!(
            inv.duration_ms < SLICE_MS as f64,
            "answered in time: {inv:?}"
        );
    }
    assert!(
        started.elapsed().as_millis() >= 5_000,
        "the window lasted its 5 s: {:?}",
        started.elapsed()
    );
    assert!(
        test.green_hits() >= 20,
        "probed across the window: {}",
        test.green_hits()
    );
    assert!(test.seen().iter().all(|s| s.matched));
    assert!(w.alerts(&queue).await.is_empty());

    // ECS does not document that executionId stays the same across IN_PROGRESS invocations:
    // with a new one each time, and with state that is not the function's, the window still
    // completes.
    let mut d = NativeDeployment::new("window", "WindowDeployment00002", 7_000_000_000_000_000_003);
    d.hook_details = Some(json!({"codehooksWindow": "not the function's state"}));
    d.seed(&w.local, &stack);
    let mut payload = d.payload("5d1b-window-exec-0", "POST_TEST_TRAFFIC_SHIFT");
    let mut answers = Vec::new();
    for i in 1..=12 {
        let inv = f.invoke(&payload, SLICE_MS);
        let done = status(&inv) != "IN_PROGRESS";
        answers.push(inv.clone());
        if done || !inv.is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
        payload = next_payload(&payload, &inv);
        payload["executionId"] = json!(format!("5d1b-window-exec-{i}"));
    }
    assert_answer(answers.last().unwrap(), "SUCCEEDED", &f);
    assert!(
        (2..=6).contains(&answers.len()),
        "the window went on across executionIds: {answers:#?}"
    );
    assert!(w.alerts(&queue).await.is_empty());

    // Green breaks after the first slice: a later invocation fails the window, with one alert.
    let (stack, test, _prod) = shifted(&w, "windowfail", Green::Healthy).await;
    let d = NativeDeployment::new(
        "windowfail",
        "WindowFailDeployment1",
        7_100_000_000_000_000_002,
    );
    d.seed(&w.local, &stack);
    let first = d.payload("5b1b-windowfail-exec", "POST_TEST_TRAFFIC_SHIFT");
    let inv = f.invoke(&first, SLICE_MS);
    assert_answer(&inv, "IN_PROGRESS", &f);
    test.set_green(Green::Status(500));
    std::thread::sleep(std::time::Duration::from_secs(1));
    let rest = run_hook(&f, &next_payload(&first, &inv), SLICE_MS, 12, 1);
    assert_answer(rest.last().unwrap(), "FAILED", &f);
    let messages = w.alerts(&queue).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let evidence = alert_evidence(&messages[0]);
    assert_eq!(evidence["failedChecks"][0], "successRate", "{evidence:#}");
    assert!(
        !evidence["window"].is_null(),
        "the alert shows the window: {evidence:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_state_stays_small_however_many_probes() {
    let w = world().await;
    let f = w.function(&[]);
    let (stack, test, _prod) = shifted(&w, "windowbusy", Green::Healthy).await;
    let d = NativeDeployment::new(
        "windowbusy",
        "BusyDeployment0000001",
        7_200_000_000_000_000_002,
    );
    d.seed(&w.local, &stack);
    let invs = run_hook(
        &f,
        &d.payload("5c1b-windowbusy-exec", "POST_TEST_TRAFFIC_SHIFT"),
        SLICE_MS,
        12,
        1,
    );
    assert_answer(invs.last().unwrap(), "SUCCEEDED", &f);
    assert!(invs.len() >= 3, "two paths of 4 s each: {}", invs.len());
    for inv in &invs[..invs.len() - 1] {
        let size = inv.response["hookDetails"].to_string().len();
        assert!(
            size < 8 * 1024,
            "hookDetails is bounded: {size} bytes after {} probes",
            test.hits()
        );
    }
    assert!(
        test.green_hits() >= 1_000,
        "a busy window: {}",
        test.green_hits()
    );
    let paths: std::collections::BTreeSet<String> =
        test.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(
        paths,
        ["/", "/ready"].map(String::from).into(),
        "both paths probed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_rerunning_the_traffic_shifts_succeeds_at_once() {
    let w = world().await;
    let queue = w.queue("native-rollback").await;
    // ELBv2 through a proxy that records every call the function makes.
    let proxy = FaultProxy::start(w.local.moto_url());
    let f = w.function(&[(
        "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2",
        proxy.url.as_str(),
    )]);
    let elb_calls =
        || match codehooks_tests::http::get_json(&format!("{}/_emulator/requests", proxy.url)) {
            Value::Array(a) => a,
            other => panic!("unexpected requests answer: {other}"),
        };
    // Green is gone, both rules are back on blue, and ECS is rolling back.
    let mut spec =
        NativeStackSpec::new("rollback", closed_port(), closed_port(), test_conditions());
    spec.alternate_targets = 0;
    let stack = w.native_stack(spec).await;
    let mut d = NativeDeployment::new(
        "rollback",
        "RollbackDeployment001",
        8_000_000_000_000_000_002,
    );
    d.status = "ROLLBACK_IN_PROGRESS".into();
    d.stage = "TEST_TRAFFIC_SHIFT".into();
    d.seed(&w.local, &stack);
    let ecs_before = w.local.emulator().requests(None).len();

    for stage in ["TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"] {
        for attempt in 0..2 {
            let payload = d.rollback_payload(&format!("6a1b-rollback-{stage}"), stage);
            let inv = f.invoke(&payload, 20_000);
            assert_answer(&inv, "SUCCEEDED", &f);
            assert!(
                inv.duration_ms < 1_000.0,
                "{stage} (attempt {attempt}) answered at once: {inv:?}"
            );
        }
    }
    assert_eq!(
        w.local.emulator().requests(None).len(),
        ecs_before,
        "no ECS call during a rollback: {:#?}",
        w.local.emulator().requests(None)
    );
    assert!(
        elb_calls().is_empty(),
        "no ELBv2 call during a rollback: {:#?}",
        elb_calls()
    );
    assert!(
        w.alerts(&queue).await.is_empty(),
        "a rollback is not alerted"
    );

    // The same stages going forward do check (the policy asks for target health there).
    let mut forward = NativeDeployment::new(
        "rollback",
        "ForwardDeployment0001",
        8_100_000_000_000_000_002,
    );
    forward.green = Tg::Primary;
    forward.seed(&w.local, &stack);
    let inv = f.invoke(
        &forward.payload("6b1b-forward-exec", "TEST_TRAFFIC_SHIFT"),
        20_000,
    );
    assert_answer(&inv, "SUCCEEDED", &f);
    assert!(
        elb_calls().iter().any(|r| r["operation"]
            .as_str()
            .unwrap_or_default()
            .contains("DescribeTargetHealth")),
        "going forward the policy's target health is checked: {:#?}",
        elb_calls()
    );

    // A canary step gives green a share: not a rollback, so it is checked too.
    let health_calls = || {
        elb_calls()
            .iter()
            .filter(|r| {
                r["operation"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("DescribeTargetHealth")
            })
            .count()
    };
    let before = health_calls();
    let mut step = forward.payload("6c1b-canary-exec", "PRODUCTION_TRAFFIC_SHIFT");
    step["executionDetails"]["productionTrafficWeights"] = json!({
        forward.green_revision_arn(): 10, forward.blue_revision_arn(): 90
    });
    let inv = f.invoke(&step, 20_000);
    assert_answer(&inv, "SUCCEEDED", &f);
    assert!(
        health_calls() > before,
        "a canary step is not taken for a rollback: {:#?}",
        elb_calls()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_payload_shapes_are_accepted_and_a_malformed_one_is_refused() {
    let w = world().await;
    let f = w.function(&[]);
    let em = w.local.emulator();
    let (stack, test, _prod) = shifted(&w, "shapes", Green::Healthy).await;
    let mut d = NativeDeployment::new("shapes", "ShapesDeployment00001", 9_000_000_000_000_000_002);
    d.seed(&w.local, &stack);

    // Nested (as ECS sends it), without and with hookDetails, and the early flat form.
    let nested = d.payload("7a1b-nested-exec", "POST_TEST_TRAFFIC_SHIFT");
    assert!(nested.get("hookDetails").is_none());
    let inv = f.invoke(&nested, 20_000);
    assert_answer(&inv, "SUCCEEDED", &f);
    assert_eq!(test.green_hits(), 12);
    d.hook_details = Some(json!({"team": "shop", "approvalChecked": true}));
    let inv = f.invoke(
        &d.payload("7b1b-details-exec", "POST_TEST_TRAFFIC_SHIFT"),
        20_000,
    );
    assert_answer(&inv, "SUCCEEDED", &f);
    assert_eq!(test.green_hits(), 24);
    let flat = d.flat_payload("7c1b-flat-exec", "POST_TEST_TRAFFIC_SHIFT");
    assert!(flat.get("executionDetails").is_none() && flat.get("serviceArn").is_some());
    let inv = f.invoke(&flat, 20_000);
    assert_answer(&inv, "SUCCEEDED", &f);
    assert_eq!(test.green_hits(), 36, "the flat form runs the same checks");
    // And a stage without checks, in both forms.
    for p in [
        d.payload("7d1b-nested-exec", "PRE_PRODUCTION_TRAFFIC_SHIFT"),
        d.flat_payload("7e1b-flat-exec", "PRE_PRODUCTION_TRAFFIC_SHIFT"),
    ] {
        assert_answer(&f.invoke(&p, 20_000), "SUCCEEDED", &f);
    }

    // Malformed: a function error naming what is wrong, and no call at all.
    let before = em.requests(None).len();
    let hits = test.hits();
    let mut no_details = d.payload("7f1b-bad-exec", "POST_TEST_TRAFFIC_SHIFT");
    no_details
        .as_object_mut()
        .unwrap()
        .remove("executionDetails");
    let mut no_target = d.payload("7f2b-bad-exec", "POST_TEST_TRAFFIC_SHIFT");
    no_target["executionDetails"]
        .as_object_mut()
        .unwrap()
        .remove("targetServiceRevisionArn");
    let mut unknown_stage = d.payload("7f3b-bad-exec", "POST_TEST_TRAFFIC_SHIFT");
    unknown_stage["lifecycleStage"] = json!("ROLLBACK");
    let mut weights = d.payload("7f4b-bad-exec", "TEST_TRAFFIC_SHIFT");
    weights["executionDetails"]["testTrafficWeights"] = json!("100");
    let mut mixed = d.payload("7f5b-bad-exec", "POST_TEST_TRAFFIC_SHIFT");
    mixed["DeploymentId"] = json!("d-MIXED0001");
    for (payload, names) in [
        (no_details, "executionDetails"),
        (no_target, "targetServiceRevisionArn"),
        (unknown_stage, "ROLLBACK"),
        (weights, "testTrafficWeights"),
        (mixed, "DeploymentId"),
    ] {
        let inv = f.invoke(&payload, 5_000);
        assert_eq!(inv.status, "error", "{payload:#} -> {inv:?}");
        assert_eq!(inv.error_type.as_deref(), Some("BadInput"), "{inv:?}");
        assert!(
            error_message(&inv).contains(names),
            "the error names {names}: {inv:?}"
        );
    }
    assert_eq!(
        em.requests(None).len(),
        before,
        "no AWS call for a malformed payload"
    );
    assert_eq!(test.hits(), hits, "nothing probed");
    let logs = f.logs();
    let said = logs
        .lines()
        .filter(|l| l.contains("rolls the deployment back") || l.contains("roll back"))
        .count();
    assert!(
        said >= 4,
        "the log says each malformed ECS payload rolls the deployment back: {logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_hook_details_override_the_policy() {
    let w = world().await;
    let queue = w.queue("native-override").await;
    let f = w.function(&[]);
    let (stack, test, _prod) = shifted(&w, "override", Green::Healthy).await;
    let mut d = NativeDeployment::new(
        "override",
        "OverrideDeployment001",
        9_100_000_000_000_000_002,
    );
    d.seed(&w.local, &stack);

    // An object.
    d.hook_details =
        Some(json!({"codehooksPolicy": {"default": {"paths": ["/ready"], "requests": 6}}}));
    let inv = f.invoke(
        &d.payload("8a1b-object-exec", "POST_TEST_TRAFFIC_SHIFT"),
        20_000,
    );
    assert_answer(&inv, "SUCCEEDED", &f);
    let seen = test.seen();
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert!(seen.iter().all(|s| s.path == "/ready"), "{seen:?}");

    // A JSON string, with the stage's own layer.
    let doc = json!({"hooks": {"POST_TEST_TRAFFIC_SHIFT": {"paths": ["/live"], "requests": 4}}});
    d.hook_details = Some(json!({"codehooksPolicy": doc.to_string(), "team": "shop"}));
    let inv = f.invoke(
        &d.payload("8b1b-string-exec", "POST_TEST_TRAFFIC_SHIFT"),
        20_000,
    );
    assert_answer(&inv, "SUCCEEDED", &f);
    let seen = since(&test, 6);
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(seen.iter().all(|s| s.path == "/live"), "{seen:?}");
    assert!(w.alerts(&queue).await.is_empty());

    // Invalid: FAILED with a policy check naming where the document is; nothing probed.
    let hits = test.hits();
    for (i, bad) in [json!({"default": {"requests": 0}}), json!("{not json")]
        .into_iter()
        .enumerate()
    {
        d.hook_details = Some(json!({"codehooksPolicy": bad}));
        let inv = f.invoke(
            &d.payload(&format!("8c{i}b-invalid-exec"), "POST_TEST_TRAFFIC_SHIFT"),
            20_000,
        );
        assert_answer(&inv, "FAILED", &f);
    }
    assert_eq!(test.hits(), hits, "nothing probed with an invalid policy");
    let messages = w.alerts(&queue).await;
    assert_eq!(messages.len(), 2, "{messages:#?}");
    for m in &messages {
        let evidence = alert_evidence(m);
        assert!(
            evidence["failedChecks"]
                .as_array()
                .is_some_and(|a| a.contains(&json!("policy"))),
            "{evidence:#}"
        );
        assert!(
            evidence["summary"]
                .as_str()
                .unwrap_or_default()
                .contains("hookDetails.codehooksPolicy"),
            "{evidence:#}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn green_is_the_target_group_the_revision_resolves_to() {
    let w = world().await;
    let queue = w.queue("native-swap").await;
    let f = w.function(&[]);
    let test = RoutedService::start(test_conditions(), Green::Healthy, NEW_VERSION);
    let prod = RoutedService::start(Conditions::default(), Green::Healthy, NEW_VERSION);
    // Three targets in the primary target group, two in the alternate.
    let mut spec = NativeStackSpec::new("swap", prod.port, test.port, test_conditions());
    spec.primary_targets = 3;
    spec.test_to = Tg::Alternate;
    let stack = w.native_stack(spec).await;

    // The first deployment: green is the alternate target group.
    let first = NativeDeployment::new("swap", "SwapDeployment0000001", 9_200_000_000_000_000_002);
    first.seed(&w.local, &stack);
    for stage in ["POST_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT"] {
        let inv = f.invoke(&first.payload("9a1b-first-exec", stage), 20_000);
        assert_answer(&inv, "SUCCEEDED", &f);
    }

    // The next one: ECS swapped the pair, green is the primary target group (three tasks),
    // whatever `alternateTargetGroupArn` says.
    let mut next =
        NativeDeployment::new("swap", "SwapDeployment0000002", 9_200_000_000_000_000_003);
    next.green = Tg::Primary;
    next.requested = 3;
    next.stage = "POST_SCALE_UP".into();
    next.seed(&w.local, &stack);
    let inv = f.invoke(&next.payload("9b1b-next-exec", "POST_SCALE_UP"), 20_000);
    assert_answer(&inv, "SUCCEEDED", &f);
    // The test rule still on the alternate (now blue): refused, nothing probed.
    let hits = test.hits();
    let inv = f.invoke(
        &next.payload("9c1b-next-exec", "POST_TEST_TRAFFIC_SHIFT"),
        20_000,
    );
    assert_answer(&inv, "FAILED", &f);
    assert_eq!(test.hits(), hits, "blue is never probed");
    let messages = w.alerts(&queue).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let evidence = alert_evidence(&messages[0]);
    assert_eq!(
        evidence["greenTargetGroup"], stack.primary_tg,
        "{evidence:#}"
    );
    assert_eq!(
        evidence["blueTargetGroup"], stack.alternate_tg,
        "{evidence:#}"
    );
    assert_eq!(
        evidence["failedChecks"],
        json!(["listener"]),
        "{evidence:#}"
    );
    // ECS shifts the test traffic to the primary: green passes.
    stack.shift(&w.elb, Traffic::Test, Tg::Primary).await;
    let inv = f.invoke(
        &next.payload("9d1b-next-exec", "POST_TEST_TRAFFIC_SHIFT"),
        20_000,
    );
    assert_answer(&inv, "SUCCEEDED", &f);
    assert_eq!(test.hits(), hits + 12);
    assert_eq!(status(&inv), "SUCCEEDED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_events_end_to_end() {
    let w = world().await;
    let f = w.function(&[]);
    let (stack, test, _prod) = shifted(&w, "web", Green::Healthy).await;
    // The deployment the samples in events/ name.
    let mut d = NativeDeployment::new("web", "Rk7xQ2mVb9TnWc3LpZ8aY", 4_980_306_466_373_577_095);
    d.cluster = "shop".into();
    d.blue_revision = 1_384_270_163_592_645_232;
    d.seed(&w.local, &stack);

    for (file, stage, rollback, flat) in [
        (
            "deploy-hook-ecs-post-scale-up-flat.json",
            "POST_SCALE_UP",
            false,
            true,
        ),
        (
            "deploy-hook-ecs-post-test-traffic-shift.json",
            "POST_TEST_TRAFFIC_SHIFT",
            false,
            false,
        ),
        (
            "deploy-hook-ecs-production-traffic-shift.json",
            "PRODUCTION_TRAFFIC_SHIFT",
            false,
            false,
        ),
        (
            "deploy-hook-ecs-production-traffic-shift-rollback.json",
            "PRODUCTION_TRAFFIC_SHIFT",
            true,
            false,
        ),
    ] {
        let event = codehooks_tests::event(file);
        // The sample is what ECS sends for this deployment at that stage.
        assert_eq!(event["lifecycleStage"], stage, "{file}");
        assert_eq!(event["resourceArn"], d.deployment_arn().as_str(), "{file}");
        let details = if flat {
            json!({
                "serviceArn": event["serviceArn"],
                "targetServiceRevisionArn": event["targetServiceRevisionArn"],
                "testTrafficWeights": event["testTrafficWeights"],
                "productionTrafficWeights": event["productionTrafficWeights"]
            })
        } else {
            event["executionDetails"].clone()
        };
        assert_eq!(details, d.details(stage, rollback), "{file}");
        let hits = test.hits();
        let inv = f.invoke(&event, 20_000);
        assert_answer(&inv, "SUCCEEDED", &f);
        if stage == "POST_TEST_TRAFFIC_SHIFT" {
            // The sample's own policy: 40 probes of /health.
            let seen = since(&test, hits);
            assert_eq!(seen.len(), 40, "{seen:?}");
            assert!(seen.iter().all(|s| s.matched && s.path == "/health"));
        } else {
            assert_eq!(test.hits(), hits, "{file} sends no probe");
        }
    }
}
