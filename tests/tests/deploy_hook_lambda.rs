//! deploy-hook as the `BeforeAllowTraffic` / `AfterAllowTraffic` hook of a CodeDeploy Lambda
//! deployment: the real binary under the Lambda Runtime API; CodeDeploy, Lambda (the function's
//! versions, answering as configured) and CloudWatch (the function's metrics) from the emulator;
//! SNS/SQS/DynamoDB from moto. The status goes to CodeDeploy through
//! `PutLifecycleEventHookExecutionStatus`, the answer is the evidence.

mod deploy_hook_fixture;

use codehooks_tests::{Function, Invocation};
use deploy_hook_fixture::lambda::{
    FUNCTIONS_VAR, LambdaDeploymentSpec, Point, invocations, now_s, seed_function,
    seed_lambda_deployment, seed_lambda_metrics,
};
use deploy_hook_fixture::world::World;
use deploy_hook_fixture::{hook_status, payload};
use serde_json::{Value, json};

/// Two test events for `orders`, each invoked twice, two at a time.
fn policy() -> String {
    json!({
        "lambda": {
            "default": {"invocations": 2, "concurrency": 2, "timeoutMs": 5000},
            "functions": {
                "orders": {"default": {"events": [
                    {"name": "get-order", "payload": {"action": "get", "id": "o-1"},
                     "expect": [{"pointer": "/statusCode", "equals": 200},
                                {"pointer": "/body/id", "equals": "o-1"}]},
                    {"name": "health", "payload": {"action": "health"},
                     "expect": [{"pointer": "/ok", "equals": true}]}
                ]}},
                "billing": {"default": {"events": [{"name": "ping", "payload": {"ping": true}}]}},
                "search": {
                    "default": {"events": [{"name": "query", "payload": {"q": "shoes"}}],
                                "invocations": 4},
                    "hooks": {"BeforeAllowTraffic": {"maxP95Ms": 150}}
                }
            }
        }
    })
    .to_string()
}

/// The world of these tests: the policy above and the functions it may invoke.
async fn world() -> World {
    World::start().await.with(&[
        ("CODEHOOKS_HOOK_POLICY", &policy()),
        (FUNCTIONS_VAR, "orders,payments,search"),
    ])
}

/// What a healthy version of `orders` answers to each test event.
fn healthy(version: &str) -> Value {
    json!({
        "payload": {"statusCode": 404},
        "responses": [
            {"when": {"pointer": "/action", "equals": "get"},
             "payload": {"statusCode": 200, "body": {"id": "o-1"}, "version": version}},
            {"when": {"pointer": "/action", "equals": "health"},
             "payload": {"ok": true, "version": version}}
        ]
    })
}

/// A version that must never be invoked (the alias's current one).
fn broken() -> Value {
    json!({"payload": {"statusCode": 500}, "functionError": "Unhandled"})
}

fn deployment<'a>(
    id: &'a str,
    running: &'a str,
    current: &'a str,
    target: &'a str,
) -> LambdaDeploymentSpec<'a> {
    LambdaDeploymentSpec {
        id,
        hook_execution_id: "hook-exec-1",
        group: "orders-live",
        function: "orders",
        alias: "live",
        current,
        target,
        running,
        shifted_at: now_s() - 300.0,
    }
}

fn assert_decision(inv: &Invocation, decision: &str, f: &Function) {
    assert!(inv.is_ok(), "invocation {inv:?}\nlogs:\n{}", f.logs());
    assert_eq!(
        inv.response["decision"],
        decision,
        "{:#}\nlogs:\n{}",
        inv.response,
        f.logs()
    );
    assert_eq!(inv.response["reported"], "reported", "{:#}", inv.response);
    assert_eq!(
        inv.response["platform"], "CodeDeployLambda",
        "{:#}",
        inv.response
    );
}

fn failed_checks(inv: &Invocation) -> Vec<String> {
    inv.response["failedChecks"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn summary(inv: &Invocation) -> String {
    inv.response["summary"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// An invocation record's payload, parsed.
fn invoked_with(record: &Value) -> Value {
    match &record["payload"] {
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
        other => other.clone(),
    }
}

fn alert_evidence(message: &Value) -> Value {
    let doc: Value = serde_json::from_str(message["Message"].as_str().unwrap_or("{}"))
        .unwrap_or_else(|e| panic!("the alert is not JSON ({e}): {message:#}"));
    doc["metadata"]["additionalContext"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_allow_traffic_invokes_the_target_version_with_the_test_events() {
    let w = world().await;
    let queue = w.queue("lambda-healthy").await;
    let f = w.function(&[]);
    seed_function(
        &w.local,
        "orders",
        ("live", "7"),
        json!({"7": broken(), "8": healthy("8")}),
    );
    let d = deployment("d-LAMBDAOK1", "BeforeAllowTraffic", "7", "8");
    seed_lambda_deployment(&w.local, &d);

    let inv = f.invoke(&payload(d.id, d.hook_execution_id), 30_000);
    assert_decision(&inv, "Succeeded", &f);
    assert_eq!(
        hook_status(&w.local, d.id, d.hook_execution_id),
        "Succeeded"
    );
    let r = &inv.response;
    assert_eq!(r["hook"], "BeforeAllowTraffic");
    assert_eq!(r["application"], "orders-app");
    assert_eq!(r["deploymentGroup"], "orders-live");
    assert_eq!(r["lambda"]["function"], "orders", "{r:#}");
    assert_eq!(r["lambda"]["alias"], "live", "{r:#}");
    assert_eq!(r["lambda"]["currentVersion"], "7", "{r:#}");
    assert_eq!(r["lambda"]["targetVersion"], "8", "{r:#}");
    let events = r["lambda"]["events"].as_array().expect("event reports");
    assert_eq!(events.len(), 2, "{r:#}");
    for e in events {
        assert_eq!(e["qualifier"], "8", "{e:#}");
        assert_eq!(e["attempted"], 2, "{e:#}");
        assert_eq!(e["succeeded"], 2, "{e:#}");
    }

    // The emulator saw the target version invoked, synchronously, with the configured events:
    // never the alias, never $LATEST.
    let calls = invocations(&w.local, "orders");
    assert_eq!(calls.len(), 4, "two events, twice each: {calls:#?}");
    for c in &calls {
        assert_eq!(c["qualifier"], "8", "{c:#}");
        assert_eq!(c["executedVersion"], "8", "{c:#}");
        assert_eq!(c["invocationType"], "RequestResponse", "{c:#}");
    }
    for event in [
        json!({"action": "get", "id": "o-1"}),
        json!({"action": "health"}),
    ] {
        let n = calls.iter().filter(|c| invoked_with(c) == event).count();
        assert_eq!(n, 2, "{event} invoked twice: {calls:#?}");
    }
    assert!(
        w.alerts(&queue).await.is_empty(),
        "no alert for a healthy version"
    );
    // Delivered again: the status stays.
    let again = f.invoke(&payload(d.id, d.hook_execution_id), 30_000);
    assert!(again.is_ok(), "{again:?}");
    assert_eq!(
        again.response["reported"], "alreadyCompleted",
        "{:#}",
        again.response
    );
    assert_eq!(
        hook_status(&w.local, d.id, d.hook_execution_id),
        "Succeeded"
    );
    assert!(
        f.logs().contains("CodeDeploy Lambda"),
        "the decision log names the platform: {}",
        f.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_error_or_an_unexpected_answer_fails_the_hook() {
    let w = world().await;
    let queue = w.queue("lambda-failing").await;
    let f = w.function(&[]);

    // The target version throws.
    seed_function(
        &w.local,
        "orders",
        ("live", "7"),
        json!({"7": healthy("7"), "8": {
            "payload": {"errorType": "TypeError", "errorMessage": "Cannot read properties of undefined (reading 'id')"},
            "functionError": "Unhandled"
        }}),
    );
    let d = deployment("d-LAMBDAERR", "BeforeAllowTraffic", "7", "8");
    seed_lambda_deployment(&w.local, &d);
    let inv = f.invoke(&payload(d.id, d.hook_execution_id), 30_000);
    assert_decision(&inv, "Failed", &f);
    assert_eq!(hook_status(&w.local, d.id, d.hook_execution_id), "Failed");
    assert_eq!(failed_checks(&inv), ["invoke"], "{:#}", inv.response);
    let s = summary(&inv);
    assert!(
        s.contains("FunctionError") && s.contains("TypeError"),
        "{s}"
    );
    assert!(
        invocations(&w.local, "orders")
            .iter()
            .all(|c| c["qualifier"] == "8"),
        "only the target version"
    );
    let messages = w.alerts(&queue).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let attrs = &messages[0]["MessageAttributes"];
    for (name, value) in [
        ("source", "deploy-hook"),
        ("state", "Failed"),
        ("decision", "Failed"),
        ("hook", "BeforeAllowTraffic"),
        ("deploymentId", "d-LAMBDAERR"),
    ] {
        assert_eq!(attrs[name]["Value"], value, "{name}: {attrs:#}");
    }
    let evidence = alert_evidence(&messages[0]);
    assert_eq!(evidence["platform"], "CodeDeployLambda", "{evidence:#}");
    assert_eq!(evidence["lambda"]["targetVersion"], "8", "{evidence:#}");
    assert!(
        evidence["lambda"]["events"][0]["samples"][0]
            .as_str()
            .unwrap_or_default()
            .contains("Cannot read properties"),
        "{evidence:#}"
    );

    // The target version answers, but not what the event expects.
    seed_function(
        &w.local,
        "orders",
        ("live", "8"),
        json!({"8": healthy("8"), "9": {
            "payload": {"statusCode": 404},
            "responses": [
                {"when": {"pointer": "/action", "equals": "get"},
                 "payload": {"statusCode": 200, "body": {"id": "o-2"}}},
                {"when": {"pointer": "/action", "equals": "health"}, "payload": {"ok": true}}
            ]
        }}),
    );
    let d = deployment("d-LAMBDAMIS", "BeforeAllowTraffic", "8", "9");
    seed_lambda_deployment(&w.local, &d);
    let inv = f.invoke(&payload(d.id, d.hook_execution_id), 30_000);
    assert_decision(&inv, "Failed", &f);
    assert_eq!(hook_status(&w.local, d.id, d.hook_execution_id), "Failed");
    assert_eq!(failed_checks(&inv), ["invoke"], "{:#}", inv.response);
    let s = summary(&inv);
    assert!(s.contains("/body/id") && s.contains("o-2"), "{s}");
    let events = &inv.response["lambda"]["events"];
    assert_eq!(events[0]["event"], "get-order", "{events:#}");
    assert_eq!(events[0]["failed"], 2, "{events:#}");
    assert_eq!(events[1]["event"], "health", "{events:#}");
    assert_eq!(events[1]["failed"], 0, "{events:#}");
    let messages = w.alerts(&queue).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    drop(f);

    // Dry run: the same version is reported Succeeded, and what would have failed is published.
    let dry = w.function(&[("CODEHOOKS_HOOK_DRY_RUN", "true")]);
    let d = deployment("d-LAMBDADRY", "BeforeAllowTraffic", "8", "9");
    seed_lambda_deployment(&w.local, &d);
    let inv = dry.invoke(&payload(d.id, d.hook_execution_id), 30_000);
    assert_decision(&inv, "Succeeded", &dry);
    assert_eq!(inv.response["wouldFail"], true, "{:#}", inv.response);
    assert_eq!(
        hook_status(&w.local, d.id, d.hook_execution_id),
        "Succeeded"
    );
    let messages = w.alerts(&queue).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(
        messages[0]["MessageAttributes"]["state"]["Value"], "DryRunFailed",
        "{:#}",
        messages[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_allow_traffic_counts_the_new_versions_errors_since_the_shift() {
    let w = world().await;
    let queue = w.queue("lambda-metrics").await;
    let f = w.function(&[]);
    seed_function(
        &w.local,
        "orders",
        ("live", "9"),
        json!({"7": healthy("7"), "8": healthy("8"), "9": healthy("9")}),
    );
    let now = now_s();

    // 7 -> 8: version 8 erred three times since the shift (not counted: version 7's errors,
    // and version 8's before the shift).
    let d = LambdaDeploymentSpec {
        shifted_at: now - 300.0,
        ..deployment("d-LAMBDAAF1", "AfterAllowTraffic", "7", "8")
    };
    seed_lambda_deployment(&w.local, &d);
    // 8 -> 9: version 9 has no error since its shift; version 8's do not count.
    let healthy_shift = LambdaDeploymentSpec {
        shifted_at: now - 300.0,
        ..deployment("d-LAMBDAAF2", "AfterAllowTraffic", "8", "9")
    };
    seed_lambda_deployment(&w.local, &healthy_shift);
    let point = |version, metric, timestamp, value| Point {
        version,
        metric,
        timestamp,
        value,
    };
    seed_lambda_metrics(
        &w.local,
        "orders",
        "live",
        &[
            point("8", "Errors", now - 120.0, 2.0),
            point("8", "Errors", now - 60.0, 1.0),
            point("8", "Errors", now - 900.0, 4.0),
            point("7", "Errors", now - 120.0, 5.0),
            point("8", "Invocations", now - 120.0, 40.0),
            point("9", "Invocations", now - 120.0, 40.0),
            point("9", "Throttles", now - 900.0, 2.0),
        ],
    );

    let inv = f.invoke(&payload(d.id, d.hook_execution_id), 30_000);
    assert_decision(&inv, "Failed", &f);
    assert_eq!(hook_status(&w.local, d.id, d.hook_execution_id), "Failed");
    assert_eq!(failed_checks(&inv), ["errors"], "{:#}", inv.response);
    let s = summary(&inv);
    assert!(
        s.contains("3 errors") && s.contains("version 8"),
        "the numbers: {s}"
    );
    let m = &inv.response["lambda"]["metrics"];
    assert_eq!(m["errors"], 3.0, "{m:#}");
    assert_eq!(m["throttles"], 0.0, "{m:#}");
    assert_eq!(m["dimensions"]["ExecutedVersion"], "8", "{m:#}");
    assert_eq!(m["dimensions"]["Resource"], "orders:live", "{m:#}");
    // The smoke test still ran against the target version.
    let calls = invocations(&w.local, "orders");
    assert_eq!(calls.len(), 4, "{calls:#?}");
    assert!(calls.iter().all(|c| c["qualifier"] == "8"), "{calls:#?}");
    let messages = w.alerts(&queue).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(
        messages[0]["MessageAttributes"]["hook"]["Value"], "AfterAllowTraffic",
        "{:#}",
        messages[0]
    );

    let inv = f.invoke(
        &payload(healthy_shift.id, healthy_shift.hook_execution_id),
        30_000,
    );
    assert_decision(&inv, "Succeeded", &f);
    assert_eq!(
        hook_status(&w.local, healthy_shift.id, healthy_shift.hook_execution_id),
        "Succeeded"
    );
    let m = &inv.response["lambda"]["metrics"];
    assert_eq!(m["errors"], 0.0, "{m:#}");
    assert_eq!(m["throttles"], 0.0, "{m:#}");
    assert!(w.alerts(&queue).await.is_empty());
    let gets = w.local.emulator().requests(Some("GetMetricData"));
    assert!(gets.len() >= 2, "read from CloudWatch: {gets:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_outside_the_list_or_a_missing_version_fails_the_hook() {
    let w = world().await;
    let queue = w.queue("lambda-refused").await;
    let f = w.function(&[]);
    seed_function(
        &w.local,
        "billing",
        ("live", "3"),
        json!({"3": {"payload": {"ok": true}}, "4": {"payload": {"ok": true}}}),
    );
    let d = LambdaDeploymentSpec {
        function: "billing",
        group: "billing-live",
        ..deployment("d-LAMBDANOT", "BeforeAllowTraffic", "3", "4")
    };
    seed_lambda_deployment(&w.local, &d);
    let inv = f.invoke(&payload(d.id, d.hook_execution_id), 30_000);
    assert_decision(&inv, "Failed", &f);
    assert_eq!(hook_status(&w.local, d.id, d.hook_execution_id), "Failed");
    let s = summary(&inv);
    assert!(s.contains(FUNCTIONS_VAR) && s.contains("billing"), "{s}");
    assert!(
        invocations(&w.local, "billing").is_empty(),
        "a function outside the list is never invoked"
    );
    let messages = w.alerts(&queue).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert!(
        alert_evidence(&messages[0])["summary"]
            .as_str()
            .unwrap_or_default()
            .contains(FUNCTIONS_VAR),
        "{:#}",
        messages[0]
    );

    // A target version Lambda does not know: Failed, with Lambda's error.
    seed_function(
        &w.local,
        "orders",
        ("live", "8"),
        json!({"8": healthy("8")}),
    );
    let d = deployment("d-LAMBDANOV", "BeforeAllowTraffic", "8", "12");
    seed_lambda_deployment(&w.local, &d);
    let inv = f.invoke(&payload(d.id, d.hook_execution_id), 30_000);
    assert_decision(&inv, "Failed", &f);
    assert_eq!(hook_status(&w.local, d.id, d.hook_execution_id), "Failed");
    let s = summary(&inv);
    assert!(s.contains("ResourceNotFound"), "{s}");
    assert!(
        invocations(&w.local, "orders")
            .iter()
            .all(|c| c["qualifier"] == "12"),
        "the alias's version is never invoked instead"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_version_fails_its_latency_limit() {
    let w = world().await;
    let f = w.function(&[]);
    seed_function(
        &w.local,
        "search",
        ("live", "3"),
        json!({"3": {"payload": {"hits": 3}}, "4": {"payload": {"hits": 3}, "delayMs": 400}}),
    );
    let d = LambdaDeploymentSpec {
        function: "search",
        group: "search-live",
        ..deployment("d-LAMBDASLO", "BeforeAllowTraffic", "3", "4")
    };
    seed_lambda_deployment(&w.local, &d);
    let inv = f.invoke(&payload(d.id, d.hook_execution_id), 30_000);
    assert_decision(&inv, "Failed", &f);
    assert_eq!(failed_checks(&inv), ["p95Latency"], "{:#}", inv.response);
    let s = summary(&inv);
    assert!(s.contains("limit 150 ms"), "{s}");
    let p95 = inv.response["lambda"]["events"][0]["p95Ms"]
        .as_f64()
        .unwrap_or_default();
    assert!(p95 >= 400.0, "the version's own delay is measured: {p95}");
    assert_eq!(invocations(&w.local, "search").len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_events_end_to_end() {
    let w = world().await;
    let f = w.function(&[]);
    seed_function(
        &w.local,
        "orders",
        ("live", "7"),
        json!({"7": broken(), "8": healthy("8")}),
    );
    for (file, running) in [
        (
            "deploy-hook-lambda-before-allow-traffic.json",
            "BeforeAllowTraffic",
        ),
        (
            "deploy-hook-lambda-after-allow-traffic.json",
            "AfterAllowTraffic",
        ),
    ] {
        let event = codehooks_tests::event(file);
        let id = event["DeploymentId"].as_str().unwrap().to_owned();
        let exec = event["LifecycleEventHookExecutionId"]
            .as_str()
            .unwrap()
            .to_owned();
        seed_lambda_deployment(
            &w.local,
            &LambdaDeploymentSpec {
                hook_execution_id: &exec,
                ..deployment(&id, running, "7", "8")
            },
        );
        let inv = f.invoke(&event, 30_000);
        assert_decision(&inv, "Succeeded", &f);
        assert_eq!(inv.response["hook"], running, "{:#}", inv.response);
        assert_eq!(hook_status(&w.local, &id, &exec), "Succeeded");
    }
    let calls = invocations(&w.local, "orders");
    assert_eq!(calls.len(), 8, "{calls:#?}");
    assert!(calls.iter().all(|c| c["qualifier"] == "8"), "{calls:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_analysis_judges_the_new_version_against_the_old_under_the_alias() {
    let policy = json!({"lambda": {"functions": {"orders": {
        "default": {"events": [{"name": "health", "payload": {"action": "health"}}],
                    "invocations": 1},
        "hooks": {"AfterAllowTraffic": {
            "maxErrors": 1000, "maxThrottles": 1000,
            "analysis": {"metrics": {"minRequests": 50, "maxP95Ratio": 1.5}, "maxWaitMs": 0}
        }}
    }}}})
    .to_string();
    let w = World::start().await.with(&[
        ("CODEHOOKS_HOOK_POLICY", &policy),
        (FUNCTIONS_VAR, "orders"),
    ]);
    let f = w.function(&[]);
    seed_function(
        &w.local,
        "orders",
        ("live", "7"),
        json!({"6": healthy("6"), "7": healthy("7"), "8": healthy("8")}),
    );
    let now = now_s();
    // 6 -> 7: version 7 fails 6% of 100 invocations (2 of them throttled), version 6 0.5% of
    // 1000; 7 -> 8: version 8 is as good as 6 was, version 7's errors are the old side's.
    let worse = LambdaDeploymentSpec {
        shifted_at: now - 300.0,
        ..deployment("d-LAMBDAAN1", "AfterAllowTraffic", "6", "7")
    };
    let better = LambdaDeploymentSpec {
        shifted_at: now - 300.0,
        ..deployment("d-LAMBDAAN2", "AfterAllowTraffic", "7", "8")
    };
    seed_lambda_deployment(&w.local, &worse);
    seed_lambda_deployment(&w.local, &better);
    let point = |version, metric, ago: f64, value| Point {
        version,
        metric,
        timestamp: now - ago,
        value,
    };
    let mut points = vec![
        point("6", "Invocations", 120.0, 1000.0),
        point("6", "Errors", 120.0, 5.0),
        point("7", "Invocations", 120.0, 98.0),
        point("7", "Throttles", 120.0, 2.0),
        point("7", "Errors", 120.0, 4.0),
        point("8", "Invocations", 120.0, 200.0),
        point("8", "Errors", 120.0, 1.0),
    ];
    for (i, ms) in [40.0, 42.0, 45.0, 41.0, 44.0].into_iter().enumerate() {
        let ago = 200.0 - 10.0 * i as f64;
        points.push(point("6", "Duration", ago, ms));
        points.push(point("7", "Duration", ago, ms + 2.0));
        points.push(point("8", "Duration", ago, ms - 1.0));
    }
    seed_lambda_metrics(&w.local, "orders", "live", &points);

    let inv = f.invoke(&payload(worse.id, worse.hook_execution_id), 30_000);
    assert_decision(&inv, "Failed", &f);
    assert_eq!(
        failed_checks(&inv),
        ["analysisErrorRate"],
        "{:#}",
        inv.response
    );
    let metrics = inv.response["analysis"]["metrics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let rate = metrics
        .iter()
        .find(|m| m["check"] == "errorRate")
        .unwrap_or_else(|| panic!("{:#}", inv.response));
    assert!(
        (rate["green"].as_f64().unwrap_or_default() - 0.06).abs() < 1e-9,
        "{rate:#}"
    );
    assert!(
        (rate["blue"].as_f64().unwrap_or_default() - 0.005).abs() < 1e-9,
        "{rate:#}"
    );
    assert_eq!(rate["greenSamples"], 100, "{rate:#}");
    assert_eq!(rate["blueSamples"], 1000, "{rate:#}");
    let p95 = metrics
        .iter()
        .find(|m| m["check"] == "p95Latency")
        .unwrap_or_else(|| panic!("{:#}", inv.response));
    assert_eq!(p95["outcome"], "pass", "{p95:#}");
    assert_eq!(
        hook_status(&w.local, worse.id, worse.hook_execution_id),
        "Failed"
    );

    let inv = f.invoke(&payload(better.id, better.hook_execution_id), 30_000);
    assert_decision(&inv, "Succeeded", &f);
    assert_eq!(
        inv.response["analysis"]["outcome"], "pass",
        "{:#}",
        inv.response
    );
    let gets = w.local.emulator().requests(Some("GetMetricData"));
    let asked = serde_json::to_string(&gets).unwrap_or_default();
    assert!(asked.contains("ExecutedVersion"), "{asked}");
}
