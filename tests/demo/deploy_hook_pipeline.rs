//! The pipeline-verify part of the demo: the deploy-hook binary as the function of a
//! CodePipeline "Verify" stage (a Lambda invoke action) after an ECS rolling deploy. CodePipeline
//! invokes it with a job; the function waits for the service's rollout, probes its URL, reads
//! its alarms and answers the job. One healthy rollout takes longer than an invocation, so the
//! job is answered with a continuation token and CodePipeline invokes again with the next job;
//! one rollout that ECS's circuit breaker stopped fails its job at once, with an alert.

// The deploy-hook part loads the same fixtures for its own use: this part is run on its own.
#[allow(clippy::duplicate_mod)]
#[path = "../tests/deploy_hook_fixture/mod.rs"]
mod fixture;

use aws_sdk_cloudwatch::types::StateValue;
use codehooks_tests::{Function, LocalAws};
use fixture::pipeline::{RollingService, Step, job, leaked_secret, run_job, seed_job};
use fixture::{Mode, REGION, Service, cloudwatch};
use serde_json::{Value, json};

const NAME: &str = "deploy-hook";
const TABLE: &str = "codehooks-alerts";
/// How long CodePipeline gives one invocation here (the template's is minutes): short, so the
/// healthy rollout needs several.
const INVOCATION_MS: u64 = 2_500;

/// One answered job: what the function answered and what CodePipeline holds.
fn line(step: &Step) -> String {
    let r = &step.invocation.response;
    let result = step.result();
    let mut out = format!(
        "{} in {:.0} ms: CodePipeline holds the job {}",
        r["answer"].as_str().unwrap_or("?"),
        step.invocation.duration_ms,
        step.job["status"].as_str().unwrap_or("?"),
    );
    if let Some(kind) = result["failureDetails"]["type"].as_str() {
        out.push_str(&format!(" ({kind})"));
    }
    out.push_str(&format!("\n{}", r["summary"].as_str().unwrap_or("")));
    if let Some(token) = step.token() {
        out.push_str(&format!(
            "\ncontinuation token ({} characters): {token}",
            token.len()
        ));
    }
    if let Some(p) = result["executionDetails"]["percentComplete"].as_i64() {
        out.push_str(&format!("\n{p}% complete"));
    }
    if let Some(next) = step.job["next"].as_str() {
        out.push_str(&format!("\nCodePipeline creates job {next} with the token"));
    }
    if !step.invocation.is_ok() {
        out.push_str(&format!(
            "\n{}",
            step.invocation.error_message.clone().unwrap_or_default()
        ));
    }
    out
}

/// Shows the `n`th job of an execution (from 1), as it is answered.
fn show_step(n: usize, step: &Step) {
    crate::show(
        &format!("job {n} ({})", step.job["id"].as_str().unwrap_or("?")),
        &line(step),
    );
}

/// Shows an alert from the topic: its subject, the chat thread, and the console links.
fn alert_brief(alert: &Value) {
    let doc: Value =
        serde_json::from_str(alert["Message"].as_str().unwrap_or("{}")).unwrap_or(Value::Null);
    let meta = &doc["metadata"];
    let mut text = format!(
        "eventType {}, threadId {}",
        meta["eventType"].as_str().unwrap_or("?"),
        meta["threadId"].as_str().unwrap_or("?")
    );
    let description = doc["content"]["description"].as_str().unwrap_or_default();
    for link in links(description) {
        text.push_str(&format!("\n{link}"));
    }
    if let Some(failed) = meta["additionalContext"]["failedChecks"].as_array() {
        text.push_str(&format!("\nfailed checks: {}", json!(failed)));
    }
    crate::show(
        &format!(
            "alert on the topic: {}",
            alert["Subject"].as_str().unwrap_or("")
        ),
        &text,
    );
}

/// The console links of an alert's description.
fn links(description: &str) -> Vec<String> {
    description
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == '<' || c == '>')
        .filter(|w| w.starts_with("https://"))
        .map(str::to_owned)
        .collect()
}

/// The verify action's `UserParameters`, as a pipeline would set them.
fn user_parameters(svc: &RollingService, url: &str, pipeline: &str, execution: &str) -> Value {
    json!({
        "service": {"cluster": svc.cluster, "name": svc.name, "taskDefinition": svc.task_definition},
        "url": url,
        "checks": {
            "requests": 6, "concurrency": 2, "warmupMs": 0,
            "version": {"header": "X-App-Version", "expected": "{taskDefinitionRevision}"}
        },
        "alarms": {"prefix": format!("{}-", svc.name)},
        "watchSeconds": 1,
        "timeoutSeconds": 300,
        "pollSeconds": 1,
        "pipeline": {"name": pipeline, "executionId": execution}
    })
}

pub async fn run() -> Result<(), String> {
    let local = LocalAws::builder()
        .moto()
        .emulator()
        .runtime_api(NAME)
        .start();
    let sdk = local.sdk_config(local.moto_url(), REGION).await;
    let (topic, queue) =
        codehooks_tests::topic_with_queue(&sdk, "codehooks-alerts", "demo-pipeline-alerts").await;
    codehooks_tests::idempotency_table(&sdk, TABLE).await;
    let f = local.function(
        NAME,
        REGION,
        &[
            ("CODEHOOKS_HOOK_CONTRACTS", "pipeline"),
            ("CODEHOOKS_ALERT_TOPIC_ARN", &topic),
            ("CODEHOOKS_ALERTS_TABLE", TABLE),
            ("CODEHOOKS_HOOK_REPORT_MARGIN_MS", "500"),
        ],
    );
    let cw = cloudwatch::client(&local).await;
    cloudwatch::alarm(&cw, "web-5xx", StateValue::Ok, "no errors", &[]).await;
    cloudwatch::alarm(&cw, "web-p95", StateValue::Ok, "fast enough", &[]).await;

    println!(
        "  CodePipeline's Verify stage: a Lambda invoke action runs the same binary (pipeline-verify,"
    );
    println!(
        "  CODEHOOKS_HOOK_CONTRACTS=pipeline) after a standard ECS deploy action. It answers each job with"
    );
    println!(
        "  PutJobSuccessResult or PutJobFailureResult; here each invocation may run {INVOCATION_MS} ms."
    );

    // A healthy rollout, still in progress when the job starts.
    println!();
    println!(
        "  Execution 1 of shop-web: ECS is rolling service web from web:41 to web:42 (1 of 2 tasks new)."
    );
    let web = Service::start(Mode::Healthy, "web:42");
    let rolling = RollingService::in_progress("web", "web:42", "web:41");
    rolling.seed(&local);
    let exec = "3d5f7b9e-2c4a-4e6d-8f0b-1a3c5e7f9b2d";
    let url = format!("http://127.0.0.1:{}/health", web.port);
    let first = seed_job(
        &local,
        None,
        "shop-web",
        exec,
        &user_parameters(&rolling, &url, "shop-web", exec),
    );
    let id = first["id"].as_str().unwrap_or_default().to_owned();
    let steps = run_job(&f, &local, &id, INVOCATION_MS, 8, |n, step| {
        show_step(n, step);
        if n == 1 {
            println!("  Meanwhile ECS finishes the rollout: both tasks run web:42.");
            rolling.finished().seed(&local);
        }
    });
    if let Some(last) = steps.last() {
        show_step(steps.len(), last);
    }
    let last = steps.last().ok_or("no job was run")?;
    if last.job["status"] != "Succeeded" || last.token().is_some() {
        return Err(format!(
            "the healthy rollout's verification: {last:#?}\n{}",
            f.logs()
        ));
    }
    println!(
        "  {} jobs, one invocation each; {} probe requests reached web:42; the Verify action succeeds.",
        steps.len(),
        web.hits()
    );

    // A rollout ECS's circuit breaker stopped.
    println!();
    println!(
        "  Execution 2 of shop-cart: the new tasks of cart:17 keep failing to start; ECS's circuit"
    );
    println!("  breaker marks the rollout FAILED.");
    let cart = Service::start(Mode::Healthy, "cart:16");
    let broken = RollingService::failed("cart", "cart:17", "cart:16");
    broken.seed(&local);
    let exec = "9a7c5e3b-1d2f-4a6b-8c0d-2e4f6a8b0c1d";
    let url = format!("http://127.0.0.1:{}/health", cart.port);
    let first = seed_job(
        &local,
        None,
        "shop-cart",
        exec,
        &user_parameters(&broken, &url, "shop-cart", exec),
    );
    let id = first["id"].as_str().unwrap_or_default().to_owned();
    let steps = run_job(&f, &local, &id, 30_000, 4, show_step);
    if let Some(last) = steps.last() {
        show_step(steps.len(), last);
    }
    let step = steps.last().ok_or("no job was run")?;
    if step.job["status"] != "Failed" {
        return Err(format!("the failed rollout's verification: {step:#?}"));
    }
    println!(
        "  CodePipeline fails the Verify action and stops execution 2 there (the service was not probed: {} requests).",
        cart.hits()
    );
    let alerts = codehooks_tests::drain_queue(&sdk, &queue).await;
    let Some(alert) = alerts.first() else {
        return Err("no alert reached the topic for the failed rollout".into());
    };
    alert_brief(alert);

    // The same job delivered again (a retried invocation).
    let again = f.invoke(&job(&local, &id)["event"], 30_000);
    let view = job(&local, &id);
    let more = codehooks_tests::drain_queue(&sdk, &queue).await;
    println!(
        "  The same job delivered again: answered {}; CodePipeline refused {} second answer(s); {} more alert(s).",
        again.response["answer"].as_str().unwrap_or("?"),
        view["refused"].as_array().map_or(0, Vec::len),
        more.len()
    );
    if !more.is_empty() {
        return Err(format!("a repeated job alerted again: {more:#?}"));
    }
    check_logs(&f)
}

/// The jobs' artifact credentials never reach the logs.
fn check_logs(f: &Function) -> Result<(), String> {
    match leaked_secret(&f.logs()) {
        Some(s) => Err(format!("the function logged an artifact credential ({s})")),
        None => {
            println!("  The jobs' artifactCredentials appear nowhere in the function's logs.");
            Ok(())
        }
    }
}
