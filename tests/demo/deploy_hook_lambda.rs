//! The CodeDeploy Lambda part of the deploy-hook demo: the same function as the
//! `BeforeAllowTraffic` / `AfterAllowTraffic` hook of a Lambda alias deployment. It invokes the
//! target version (never the alias) with the configured test events, counts the version's own
//! errors since the traffic shift, and reports to CodeDeploy; a failure is alerted.

use codehooks_tests::{Function, Invocation, LocalAws};
use serde_json::{Value, json};

use super::fixture::lambda::{
    FUNCTIONS_VAR, LambdaDeploymentSpec, Point, invocations, now_s, seed_function,
    seed_lambda_deployment, seed_lambda_metrics,
};
use super::fixture::{REGION, hook_status};
use super::{Shared, alert_brief, alert_for};

const NAME: &str = "deploy-hook";

/// Two test events for `orders`, each invoked three times, two at a time.
fn policy() -> String {
    json!({"lambda": {
        "default": {"invocations": 3, "concurrency": 2, "timeoutMs": 5000},
        "functions": {"orders": {"default": {"events": [
            {"name": "get-order", "payload": {"action": "get", "id": "o-1"},
             "expect": [{"pointer": "/statusCode", "equals": 200}]},
            {"name": "health", "payload": {"action": "health"},
             "expect": [{"pointer": "/ok", "equals": true}]}
        ]}}}
    }})
    .to_string()
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

fn line(inv: &Invocation) -> String {
    let r = &inv.response;
    let reported = match r["reported"].as_str() {
        Some("reported") => "reported to CodeDeploy",
        Some("alreadyCompleted") => "CodeDeploy already had it",
        _ => "not reported",
    };
    let mut out = format!(
        "{} ({reported}) after {} ms\n{}",
        r["decision"].as_str().unwrap_or("?"),
        r["durationMs"],
        r["summary"].as_str().unwrap_or(""),
    );
    let l = &r["lambda"];
    for e in l["events"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\nevent {}: version {} invoked {} times, {} passed, p95 {} ms{}",
            e["event"].as_str().unwrap_or("?"),
            e["qualifier"].as_str().unwrap_or("?"),
            e["attempted"],
            e["succeeded"],
            e["p95Ms"],
            e["samples"][0]
                .as_str()
                .map(|s| format!(", e.g. {s}"))
                .unwrap_or_default()
        ));
    }
    if l["metrics"].is_object() {
        out.push_str(&format!(
            "\nCloudWatch since the shift (ExecutedVersion {}): {} errors, {} throttles",
            l["metrics"]["dimensions"]["ExecutedVersion"]
                .as_str()
                .unwrap_or("?"),
            l["metrics"]["errors"],
            l["metrics"]["throttles"]
        ));
    }
    out
}

/// Seeds the deployment, invokes the hook and shows the result; the status CodeDeploy holds.
fn play(
    local: &LocalAws,
    f: &Function,
    d: &LambdaDeploymentSpec<'_>,
    event: Option<Value>,
) -> Result<String, String> {
    seed_lambda_deployment(local, d);
    let payload = event.unwrap_or_else(|| super::fixture::payload(d.id, d.hook_execution_id));
    let inv = f.invoke(&payload, 30_000);
    if !inv.is_ok() {
        return Err(format!("{}: {inv:?}\n{}", d.id, f.logs()));
    }
    crate::show(
        &format!(
            "{} of orders:{} {}→{} ({})",
            d.running, d.alias, d.current, d.target, d.id
        ),
        &line(&inv),
    );
    Ok(hook_status(local, d.id, d.hook_execution_id))
}

pub async fn run(s: &Shared<'_>) -> Result<(), String> {
    let local = s.local;
    let policy = policy();
    let f = local.function(
        NAME,
        REGION,
        &[
            ("CODEHOOKS_HOOK_POLICY", &policy),
            ("CODEHOOKS_ALERT_TOPIC_ARN", s.topic),
            (FUNCTIONS_VAR, "orders"),
        ],
    );
    println!();
    println!(
        "  CodeDeploy Lambda: the alias orders:live moves from one version to the next; the same function"
    );
    println!(
        "  is the deployment's BeforeAllowTraffic and AfterAllowTraffic hook ({FUNCTIONS_VAR}=orders)."
    );
    seed_function(
        local,
        "orders",
        ("live", "7"),
        json!({
            "7": healthy("7"),
            "8": healthy("8"),
            "9": {"payload": {"errorType": "TypeError",
                              "errorMessage": "Cannot read properties of undefined (reading 'id')"},
                  "functionError": "Unhandled"}
        }),
    );
    let now = now_s();
    let spec = |id, running, current, target, exec| LambdaDeploymentSpec {
        id,
        hook_execution_id: exec,
        group: "orders-live",
        function: "orders",
        alias: "live",
        current,
        target,
        running,
        shifted_at: now - 300.0,
    };

    println!();
    println!("  Deployment 5 (CodeDeploy Lambda): version 8 is healthy.");
    let sample = codehooks_tests::event("deploy-hook-lambda-before-allow-traffic.json");
    let id = sample["DeploymentId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let exec = sample["LifecycleEventHookExecutionId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let d = spec(&id, "BeforeAllowTraffic", "7", "8", &exec);
    let status = play(local, &f, &d, Some(sample.clone()))?;
    let calls = invocations(local, "orders");
    let qualifiers: std::collections::BTreeSet<&str> = calls
        .iter()
        .filter_map(|c| c["qualifier"].as_str())
        .collect();
    println!(
        "  CodeDeploy holds {status}; Lambda saw {} invocations, of version(s) {:?} only (never the alias, never $LATEST).",
        calls.len(),
        qualifiers
    );
    if status != "Succeeded" {
        return Err(format!("the healthy Lambda deployment reported {status}"));
    }
    let sample = codehooks_tests::event("deploy-hook-lambda-after-allow-traffic.json");
    let exec = sample["LifecycleEventHookExecutionId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let after = spec(&id, "AfterAllowTraffic", "7", "8", &exec);
    let status = play(local, &f, &after, Some(sample.clone()))?;
    if status != "Succeeded" {
        return Err(format!("AfterAllowTraffic of version 8 reported {status}"));
    }

    println!();
    println!("  Deployment 6 (CodeDeploy Lambda): version 9 throws on every event.");
    let d = spec(
        "d-L4MBDA9ER",
        "BeforeAllowTraffic",
        "8",
        "9",
        "before-exec-9",
    );
    let status = play(local, &f, &d, None)?;
    println!("  CodeDeploy holds {status}: the alias stays on version 8.");
    if status != "Failed" {
        return Err(format!("the failing Lambda deployment reported {status}"));
    }
    let alerts = codehooks_tests::drain_queue(s.sdk, s.queue).await;
    let Some(alert) = alert_for(&alerts, d.id) else {
        return Err(format!(
            "no alert reached the topic for the Lambda deployment: {alerts:#?}"
        ));
    };
    alert_brief(alert);

    println!();
    println!(
        "  Deployment 7 (CodeDeploy Lambda): version 8's test events pass, but real traffic since the"
    );
    println!("  shift made it fail 3 times (CloudWatch Errors, ExecutedVersion 8).");
    seed_lambda_metrics(
        local,
        "orders",
        "live",
        &[
            Point {
                version: "8",
                metric: "Errors",
                timestamp: now - 120.0,
                value: 2.0,
            },
            Point {
                version: "8",
                metric: "Errors",
                timestamp: now - 60.0,
                value: 1.0,
            },
            Point {
                version: "8",
                metric: "Invocations",
                timestamp: now - 120.0,
                value: 40.0,
            },
        ],
    );
    let d = spec(
        "d-L4MBDA8AF",
        "AfterAllowTraffic",
        "7",
        "8",
        "after-exec-8b",
    );
    let status = play(local, &f, &d, None)?;
    println!("  CodeDeploy holds {status}: it shifts the alias back to version 7.");
    if status != "Failed" {
        return Err(format!("AfterAllowTraffic with errors reported {status}"));
    }
    let alerts = codehooks_tests::drain_queue(s.sdk, s.queue).await;
    let Some(alert) = alert_for(&alerts, d.id) else {
        return Err(format!(
            "no alert reached the topic for the errors since the shift: {alerts:#?}"
        ));
    };
    println!(
        "  alert on the topic: {}",
        alert["Subject"].as_str().unwrap_or("")
    );
    Ok(())
}
