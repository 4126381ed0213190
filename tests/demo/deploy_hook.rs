//! The deploy-hook part of the demo: one healthy blue/green deployment walks through the five
//! ECS lifecycle hooks, and one whose green task set answers errors is rolled back, with the
//! evidence published to the alert topic; then the same function under Amazon ECS's own
//! blue/green ([`native`]) and as the hook of CodeDeploy Lambda deployments ([`lambda`]).

#[path = "../tests/deploy_hook_fixture/mod.rs"]
mod fixture;
#[path = "deploy_hook_lambda.rs"]
mod lambda;
#[path = "deploy_hook_native.rs"]
mod native;

/// What the parts of this demo share: local AWS, the alert topic and its queue.
pub struct Shared<'a> {
    pub local: &'a LocalAws,
    pub sdk: &'a aws_config::SdkConfig,
    pub topic: &'a str,
    pub queue: &'a str,
}

/// The alert about `deployment_id` among those read from the queue.
pub fn alert_for<'a>(alerts: &'a [Value], deployment_id: &str) -> Option<&'a Value> {
    alerts
        .iter()
        .find(|a| a["MessageAttributes"]["deploymentId"]["Value"] == deployment_id)
}

/// Shows an alert from the topic: its subject and the gist of its evidence.
pub fn alert_brief(alert: &Value) {
    // The chat document SNS delivers to queues; its `metadata.additionalContext` carries the evidence.
    let doc: Value =
        serde_json::from_str(alert["Message"].as_str().unwrap_or("{}")).unwrap_or(Value::Null);
    let body = &doc["metadata"]["additionalContext"];
    let mut brief = serde_json::Map::new();
    for key in [
        "platform",
        "hook",
        "service",
        "summary",
        "failedChecks",
        "url",
    ] {
        if !body[key].is_null() {
            brief.insert(key.to_owned(), body[key].clone());
        }
    }
    if let Some(samples) = body["probes"][0].get("samples") {
        brief.insert("probe samples".into(), samples.clone());
    }
    if let Some(samples) = body["lambda"]["events"][0].get("samples") {
        brief.insert("invocation samples".into(), samples.clone());
    }
    crate::show(
        &format!(
            "alert on the topic: {}",
            alert["Subject"].as_str().unwrap_or("")
        ),
        &serde_json::to_string_pretty(&brief).unwrap_or_default(),
    );
}

use aws_sdk_elasticloadbalancingv2 as elbv2;
use codehooks_tests::LocalAws;
use fixture::*;
use serde_json::{Value, json};

const NAME: &str = "deploy-hook";

fn line(inv: &codehooks_tests::Invocation) -> String {
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
    if let Some(l) = r["listener"].as_object() {
        out.push_str(&format!(
            "\nlistener: {} {} port {} forwarding to {}",
            l["role"].as_str().unwrap_or(""),
            l["protocol"].as_str().unwrap_or(""),
            l["port"],
            r["greenTargetGroup"].as_str().unwrap_or("?")
        ));
    }
    if let Some(h) = r["targetHealth"].as_object() {
        out.push_str(&format!(
            "\ntarget health: {} of {} required targets healthy",
            h["healthy"], h["required"]
        ));
    }
    for p in r["probes"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\nprobes of {}: {} of {} passed, p50 {} ms, p95 {} ms, failures {}",
            p["url"].as_str().unwrap_or(""),
            p["succeeded"],
            p["attempted"],
            p["p50Ms"],
            p["p95Ms"],
            p["failures"]
        ));
    }
    out
}

pub async fn run() -> Result<(), String> {
    let local = LocalAws::builder()
        .moto()
        .emulator()
        .runtime_api(NAME)
        .start();
    let sdk = local.sdk_config(local.moto_url(), REGION).await;
    let elb = elbv2::Client::new(&sdk);
    let subnets = default_subnets(local.moto_url());
    let topic = aws_sdk_sns::Client::new(&sdk)
        .create_topic()
        .name("codehooks-alerts")
        .send()
        .await
        .map_err(|e| format!("CreateTopic: {e}"))?
        .topic_arn
        .unwrap_or_default();
    let queue = codehooks_tests::subscribe_queue(&sdk, &topic, "demo-deploy-alerts").await;

    // The services: blue answers with the old revision, green with the new one.
    let blue = Service::start(Mode::Healthy, OLD_VERSION);
    let green = Service::start(Mode::Healthy, NEW_VERSION);
    let stack = Stack::create(
        &elb,
        &subnets,
        StackSpec::new("shop", blue.port, green.port),
    )
    .await;
    println!(
        "  An ALB (moto) with a production listener on :{} (blue, {OLD_VERSION}) and a test listener on :{} (green, {NEW_VERSION});",
        stack.prod_port, stack.test_port
    );
    println!(
        "  Both are real HTTP servers on 127.0.0.1. The hook is told only the path to probe (/health)"
    );
    println!(
        "  and that X-App-Version names the revision; it discovers everything else from the deployment."
    );

    let policy = json!({"default": {
        "version": {"header": "X-App-Version", "expected": "{taskDefinition}"}
    }})
    .to_string();
    let f = local.function(
        NAME,
        REGION,
        &[
            ("CODEHOOKS_HOOK_BASE_URL", "http://127.0.0.1:{port}"),
            ("CODEHOOKS_HOOK_PATHS", "/health"),
            ("CODEHOOKS_HOOK_POLICY", &policy),
            ("CODEHOOKS_ALERT_TOPIC_ARN", &topic),
        ],
    );

    // A healthy deployment through its five hooks, one sample event per hook.
    println!();
    println!(
        "  Deployment 1: the new revision is healthy. CodeDeploy invokes the hook at each lifecycle event."
    );
    let hooks = [
        ("BeforeInstall", "deploy-hook-before-install.json"),
        ("AfterInstall", "deploy-hook-after-install.json"),
        (
            "AfterAllowTestTraffic",
            "deploy-hook-after-allow-test-traffic.json",
        ),
        (
            "BeforeAllowTraffic",
            "deploy-hook-before-allow-traffic.json",
        ),
        ("AfterAllowTraffic", "deploy-hook-after-allow-traffic.json"),
    ];
    for (hook, file) in hooks {
        let event = codehooks_tests::event(file);
        let id = event["DeploymentId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let exec = event["LifecycleEventHookExecutionId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let shifted = hook == "AfterAllowTraffic";
        if shifted {
            // AllowTraffic: production now forwards to green (the test listener moves out of the way).
            move_listener(
                &elb,
                &stack.test_listener,
                closed_port(),
                &stack.blue_tg_arn,
            )
            .await?;
            move_listener(&elb, &stack.prod_listener, green.port, &stack.green_tg_arn).await?;
        }
        seed_deployment(
            &local,
            &stack,
            DeploymentSpec {
                id: &id,
                hook_execution_id: &exec,
                group: "shop-prod",
                running: hook,
                green_desired: 2,
                ecs: true,
                green_task_set: hook != "BeforeInstall",
                shifted,
            },
        );
        let inv = f.invoke(&event, 60_000);
        if !inv.is_ok() {
            return Err(format!("{hook}: {inv:?}\n{}", f.logs()));
        }
        crate::show(&format!("{hook} ({file})"), &line(&inv));
        let status = local.emulator().hooks(REGION, &id)[exec.as_str()].clone();
        if status != "Succeeded" {
            return Err(format!("{hook} reported {status}"));
        }
    }
    println!(
        "  Blue answered {} requests: the hook never tested it.",
        blue.hits()
    );

    // A failing deployment: green answers 500 half the time.
    println!();
    println!(
        "  Deployment 2: the new revision fails one request in two. CodeDeploy runs AfterAllowTestTraffic."
    );
    let broken = Service::start(Mode::Flapping(2), NEW_VERSION);
    let stack2 = Stack::create(
        &elb,
        &subnets,
        StackSpec {
            weighted: true,
            ..StackSpec::new("cart", blue.port, broken.port)
        },
    )
    .await;
    let mut event: Value = codehooks_tests::event("deploy-hook-after-allow-test-traffic.json");
    event["DeploymentId"] = json!("d-8EXAMPLE4");
    let exec = event["LifecycleEventHookExecutionId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    seed_deployment(
        &local,
        &stack2,
        DeploymentSpec {
            id: "d-8EXAMPLE4",
            hook_execution_id: &exec,
            group: "cart-prod",
            running: "AfterAllowTestTraffic",
            green_desired: 2,
            ecs: true,
            green_task_set: true,
            shifted: false,
        },
    );
    let inv = f.invoke(&event, 60_000);
    if !inv.is_ok() {
        return Err(format!("failing deployment: {inv:?}"));
    }
    crate::show("AfterAllowTestTraffic (d-8EXAMPLE4)", &line(&inv));
    let status = local.emulator().hooks(REGION, "d-8EXAMPLE4")[exec.as_str()].clone();
    println!(
        "  CodeDeploy now holds {status} for the hook: it stops the deployment and rolls traffic back to blue."
    );
    if status != "Failed" {
        return Err(format!("the failing deployment reported {status}"));
    }

    let alerts = codehooks_tests::drain_queue(&sdk, &queue).await;
    let Some(alert) = alerts.first() else {
        return Err("no alert reached the topic".into());
    };
    // The chat document SNS delivers to queues; its `metadata.additionalContext` carries the evidence.
    let doc: Value =
        serde_json::from_str(alert["Message"].as_str().unwrap_or("{}")).unwrap_or(Value::Null);
    let body = &doc["metadata"]["additionalContext"];
    let brief = json!({
        "summary": body["summary"],
        "failedChecks": body["failedChecks"],
        "url": body["url"],
        "probe samples": body["probes"][0]["samples"],
        "targetHealth": format!("{} of {} healthy", body["targetHealth"]["healthy"], body["targetHealth"]["required"]),
    });
    crate::show(
        &format!(
            "alert on the topic: {}",
            alert["Subject"].as_str().unwrap_or("")
        ),
        &serde_json::to_string_pretty(&brief).unwrap_or_default(),
    );

    // Running the same invocation again changes nothing.
    let again = f.invoke(&event, 60_000);
    println!(
        "  A repeated invocation is harmless: reported {} (status stays {}).",
        again.response["reported"].as_str().unwrap_or("?"),
        local.emulator().hooks(REGION, "d-8EXAMPLE4")[exec.as_str()]
    );
    drop(f);

    let shared = Shared {
        local: &local,
        sdk: &sdk,
        topic: &topic,
        queue: &queue,
    };
    native::run(&shared).await?;
    lambda::run(&shared).await
}

async fn move_listener(
    elb: &elbv2::Client,
    listener: &str,
    port: u16,
    target_group: &str,
) -> Result<(), String> {
    elb.modify_listener()
        .listener_arn(listener)
        .port(i32::from(port))
        .default_actions(
            elbv2::types::Action::builder()
                .r#type(elbv2::types::ActionTypeEnum::Forward)
                .target_group_arn(target_group)
                .build(),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("ModifyListener: {e:?}"))
}
