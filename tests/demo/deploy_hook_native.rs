//! The Amazon ECS part of the deploy-hook demo: ECS's own blue/green deployment invokes the
//! hook at each lifecycle stage and reads the verdict from the answer (`hookStatus`). One
//! healthy deployment walks its stages; one whose green answers errors is failed (ECS rolls it
//! back, the alert carries the evidence), and the rollback's re-run traffic-shift hooks are
//! answered at once.

use aws_sdk_elasticloadbalancingv2 as elbv2;
use codehooks_tests::{Function, Invocation, LocalAws};
use serde_json::{Value, json};

use super::fixture::ecs::NativeDeployment;
use super::fixture::native::{NativeStack, NativeStackSpec, Tg, Traffic};
use super::fixture::routed::{Conditions, Green, RoutedService};
use super::fixture::{NEW_VERSION, REGION, default_subnets};
use super::{Shared, alert_brief, alert_for};

const NAME: &str = "deploy-hook";

/// What the test listener rule asks of a request: the hook's probes must carry both.
fn test_conditions() -> Conditions {
    Conditions {
        host: Some("green.shop.example.com".into()),
        headers: vec![("X-Canary".into(), "green".into())],
        ..Conditions::default()
    }
}

/// The `hook decision` log line the function wrote after `from` bytes of its logs (the answer
/// to ECS is only the status; the evidence is logged).
pub fn decision_since(f: &Function, from: usize) -> Value {
    let logs = f.logs();
    logs.get(from..)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("\"hook decision\""))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .next_back()
        .unwrap_or(Value::Null)
}

/// One answer to ECS, with why (from the decision log line).
fn line(inv: &Invocation, why: &Value) -> String {
    let mut answer = inv.response.clone();
    if let Some(d) = answer.get_mut("hookDetails") {
        *d = json!("{…}");
    }
    let mut out = format!(
        "answered {} in {:.0} ms",
        serde_json::to_string(&answer).unwrap_or_default(),
        inv.duration_ms
    );
    if let Some(s) = why["summary"].as_str().filter(|s| !s.is_empty()) {
        out.push_str(&format!("\n{s}"));
    }
    if let Some(url) = why["url"].as_str().filter(|u| !u.is_empty()) {
        out.push_str(&format!("\nprobed {url}"));
        if let Some(p95) = why["p95_ms"].as_f64() {
            out.push_str(&format!(", p95 {p95:.1} ms"));
        }
    }
    if !inv.is_ok() {
        out.push_str(&format!(
            "\n{}",
            inv.error_message.clone().unwrap_or_default()
        ));
    }
    out
}

fn invoke(f: &Function, payload: &Value, label: &str) -> (Invocation, Value) {
    let from = f.logs().len();
    let inv = f.invoke(payload, 30_000);
    // The decision line is written just before the answer; give the log reader a moment.
    std::thread::sleep(std::time::Duration::from_millis(30));
    let why = decision_since(f, from);
    crate::show(label, &line(&inv, &why));
    (inv, why)
}

fn status(inv: &Invocation) -> &str {
    inv.response["hookStatus"].as_str().unwrap_or("none")
}

pub async fn run(s: &Shared<'_>) -> Result<(), String> {
    let local: &LocalAws = s.local;
    let elb = elbv2::Client::new(s.sdk);
    let subnets = default_subnets(local.moto_url());
    let policy = json!({"default": {"warmupMs": 0}}).to_string();
    let f = local.function(
        NAME,
        REGION,
        &[
            ("CODEHOOKS_HOOK_BASE_URL", "http://127.0.0.1:{port}"),
            ("CODEHOOKS_HOOK_POLICY", &policy),
            ("CODEHOOKS_ALERT_TOPIC_ARN", s.topic),
        ],
    );

    println!();
    println!(
        "  Amazon ECS blue/green (no CodeDeploy): ECS invokes the same function at each lifecycle stage"
    );
    println!(
        "  and reads the verdict from its answer. The test listener rule only routes requests for host"
    );
    println!(
        "  green.shop.example.com with X-Canary: green; the hook reads the rule and shapes its probes."
    );
    let test = RoutedService::start(test_conditions(), Green::Healthy, NEW_VERSION);
    let prod = RoutedService::start(Conditions::default(), Green::Healthy, NEW_VERSION);
    let stack = NativeStack::create(
        &elb,
        &subnets,
        NativeStackSpec::new("web", prod.port, test.port, test_conditions()),
    )
    .await;
    // The deployment the samples in events/ name.
    let mut d = NativeDeployment::new("web", "Rk7xQ2mVb9TnWc3LpZ8aY", 4_980_306_466_373_577_095);
    d.cluster = "shop".into();
    d.blue_revision = 1_384_270_163_592_645_232;

    println!();
    println!("  Deployment 3 (Amazon ECS): the new revision is healthy.");
    let stages = [
        (
            "POST_SCALE_UP",
            Some("deploy-hook-ecs-post-scale-up-flat.json"),
        ),
        ("TEST_TRAFFIC_SHIFT", None),
        (
            "POST_TEST_TRAFFIC_SHIFT",
            Some("deploy-hook-ecs-post-test-traffic-shift.json"),
        ),
        (
            "PRODUCTION_TRAFFIC_SHIFT",
            Some("deploy-hook-ecs-production-traffic-shift.json"),
        ),
        ("POST_PRODUCTION_TRAFFIC_SHIFT", None),
    ];
    for (i, (stage, sample)) in stages.into_iter().enumerate() {
        // ECS moves the traffic, then runs the stage's hook.
        match stage {
            "TEST_TRAFFIC_SHIFT" => stack.shift(&elb, Traffic::Test, d.green).await,
            "PRODUCTION_TRAFFIC_SHIFT" => stack.shift(&elb, Traffic::Production, d.green).await,
            _ => {}
        }
        d.stage = stage.to_owned();
        d.seed(local, &stack);
        let (payload, label) = match sample {
            Some(file) => (codehooks_tests::event(file), format!("{stage} ({file})")),
            None => (
                d.payload(&format!("7d2c41a0-0000-4000-8000-00000000000{i}"), stage),
                stage.to_owned(),
            ),
        };
        let (t0, p0) = (test.hits(), prod.hits());
        let (inv, _) = invoke(&f, &payload, &label);
        if status(&inv) != "SUCCEEDED" {
            return Err(format!("{stage}: {inv:?}\n{}", f.logs()));
        }
        let (t, p) = (test.hits() - t0, prod.hits() - p0);
        if t + p > 0 {
            let through = if t > 0 { "test" } else { "production" };
            let seen = if t > 0 { test.seen() } else { prod.seen() };
            let shape = seen.last().map(|s| match s.header("x-canary") {
                Some(canary) => format!("Host {}, X-Canary {canary}, path {}", s.host, s.path),
                None => format!("path {}", s.path),
            });
            println!(
                "  │ {} probes through the {through} rule ({}), all routed to green: {}",
                t + p,
                shape.unwrap_or_default(),
                seen.iter().all(|s| s.matched)
            );
        }
    }

    // A failing deployment: green breaks once test traffic reaches it.
    println!();
    println!("  Deployment 4 (Amazon ECS): green answers 500 at POST_TEST_TRAFFIC_SHIFT.");
    let broken = RoutedService::start(test_conditions(), Green::Status(500), NEW_VERSION);
    let mut spec = NativeStackSpec::new(
        "cart",
        super::fixture::closed_port(),
        broken.port,
        test_conditions(),
    );
    spec.test_to = Tg::Alternate;
    let stack2 = NativeStack::create(&elb, &subnets, spec).await;
    // Alerts of the parts before are not this deployment's.
    codehooks_tests::drain_queue(s.sdk, s.queue).await;
    let mut d2 = NativeDeployment::new("cart", "Cq4wN8zTe2RkYb6HmJ3sV", 2_718_281_828_459_045_235);
    d2.seed(local, &stack2);
    let (inv, _) = invoke(
        &f,
        &d2.payload("9e41b7c2-failing-exec", "POST_TEST_TRAFFIC_SHIFT"),
        "POST_TEST_TRAFFIC_SHIFT (cart)",
    );
    if status(&inv) != "FAILED" {
        return Err(format!("the failing ECS deployment answered {inv:?}"));
    }
    println!("  ECS reads FAILED and rolls the deployment back to blue.");
    let alerts = codehooks_tests::drain_queue(s.sdk, s.queue).await;
    let Some(alert) = alert_for(&alerts, &d2.deployment_arn()) else {
        return Err(format!(
            "no alert reached the topic for the ECS deployment: {alerts:#?}"
        ));
    };
    alert_brief(alert);

    // The rollback: ECS re-runs the traffic-shift hooks with the weights back on blue.
    stack2.shift(&elb, Traffic::Test, d2.green.other()).await;
    d2.status = "ROLLBACK_IN_PROGRESS".into();
    d2.stage = "TEST_TRAFFIC_SHIFT".into();
    d2.seed(local, &stack2);
    println!(
        "  The rollback re-runs the traffic-shift hooks (weights back on blue, target still green):"
    );
    let (calls, probes) = (local.emulator().requests(None).len(), broken.hits());
    for stage in ["TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"] {
        let (inv, _) = invoke(
            &f,
            &d2.rollback_payload("9e41b7c2-rollback-exec", stage),
            &format!("{stage} (rollback)"),
        );
        if status(&inv) != "SUCCEEDED" {
            return Err(format!("the rollback's {stage} answered {inv:?}"));
        }
    }
    let more = codehooks_tests::drain_queue(s.sdk, s.queue).await;
    let (calls, probes) = (
        local.emulator().requests(None).len() - calls,
        broken.hits() - probes,
    );
    println!(
        "  No ECS call, no probe, no alert (counted: {calls}, {probes}, {}): a rollback is never blocked.",
        more.len()
    );
    if !more.is_empty() || calls + probes > 0 {
        return Err(format!("the rollback was checked or alerted: {more:?}"));
    }
    Ok(())
}
