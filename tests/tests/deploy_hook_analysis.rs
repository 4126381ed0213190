//! deploy-hook's analysis of real traffic: the real binary under the Lambda Runtime API, the
//! load balancer in moto, CodeDeploy and Amazon ECS from the emulator, and CloudWatch metrics
//! and alarms put through the real SDK (stored in moto, read back with `GetMetricData` and
//! `DescribeAlarms`). Green's and blue's target groups report what the load balancer would
//! publish for them; the verdict compares the two.

mod deploy_hook_fixture;

use aws_sdk_cloudwatch::types::StateValue;
use codehooks_tests::{Function, Invocation};
use deploy_hook_fixture::cloudwatch::{self, Traffic};
use deploy_hook_fixture::ecs::NativeDeployment;
use deploy_hook_fixture::ecs_hook::{assert_answer, next_payload};
use deploy_hook_fixture::native::{NativeStackSpec, Tg};
use deploy_hook_fixture::routed::{Conditions, Green, RoutedService};
use deploy_hook_fixture::world::World;
use deploy_hook_fixture::*;
use serde_json::{Value, json};

/// A quick analysis: the window reaches five minutes back, and thin traffic waits 3 s.
fn analysis(extra: Value) -> Value {
    let mut a = json!({
        "metrics": {"minRequests": 100},
        "lookbackMs": 300000, "pollMs": 1000, "maxWaitMs": 0
    });
    if let (Some(a), Some(extra)) = (a.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            a.insert(k.clone(), v.clone());
        }
    }
    a
}

fn policy() -> String {
    let thin = |on: &str| {
        analysis(json!({"metrics": {"minRequests": 1000}, "maxWaitMs": 3000, "onInconclusive": on}))
    };
    json!({
        "default": {
            "requests": 5, "concurrency": 2, "timeoutMs": 2000, "warmupMs": 0, "maxP95Ms": 800,
            "targetHealthWaitMs": 1500, "targetHealthPollMs": 200
        },
        "deploymentGroups": {
            "relative": {"default": {"analysis": analysis(json!({}))}},
            "absolute": {"default": {"analysis": analysis(json!({
                "metrics": {"minRequests": 100, "maxErrorRate": 0.02}
            }))}},
            "thin": {"default": {"analysis": thin("fail")}},
            "thinpass": {"default": {"analysis": thin("pass")}},
            "alarms": {"default": {"analysis": {"alarms": {"prefix": "shop-"}}}},
            "tagged": {"default": {"analysis": {"alarms": {"tags": {"codehooks": "gate"}}}}},
            "load": {"default": {"analysis": analysis(json!({
                "metrics": {"minRequests": 1}, "pollMs": 1500, "load": {"rps": 4}
            }))}}
        },
        "services": {
            "shop-cluster/thin": {"hooks": {"POST_TEST_TRAFFIC_SHIFT": {"analysis": analysis(json!({
                "metrics": {"minRequests": 1000}, "maxWaitMs": 600000, "pollMs": 1000
            }))}}}
        }
    })
    .to_string()
}

async fn world() -> World {
    World::start().await.with(&[
        ("CODEHOOKS_HOOK_BASE_URL", "http://127.0.0.1:{port}"),
        ("CODEHOOKS_HOOK_POLICY", &policy()),
    ])
}

/// A stack named `name` whose green and blue target groups served `green` and `blue`.
async fn stack_with(
    w: &World,
    name: &str,
    green: &Service,
    green_t: &Traffic,
    blue_t: &Traffic,
) -> Stack {
    let blue = Service::start(Mode::Healthy, OLD_VERSION);
    let stack = w.stack(StackSpec::new(name, blue.port, green.port)).await;
    let cw = cloudwatch::client(&w.local).await;
    cloudwatch::put_target_group(&cw, &stack.lb_arn, &stack.green_tg_arn, green_t).await;
    cloudwatch::put_target_group(&cw, &stack.lb_arn, &stack.blue_tg_arn, blue_t).await;
    stack
}

/// Runs AfterAllowTestTraffic of deployment `id` in group `group` on `stack`.
fn run(w: &World, f: &Function, stack: &Stack, id: &str, group: &str) -> Invocation {
    seed_deployment(
        &w.local,
        stack,
        DeploymentSpec {
            id,
            hook_execution_id: "hook-exec-1",
            group,
            running: "AfterAllowTestTraffic",
            green_desired: 2,
            ecs: true,
            green_task_set: true,
            shifted: false,
        },
    );
    f.invoke(&payload(id, "hook-exec-1"), 30_000)
}

fn decided(inv: &Invocation, decision: &str, f: &Function) {
    assert!(inv.is_ok(), "invocation {inv:?}\nlogs:\n{}", f.logs());
    assert_eq!(inv.response["decision"], decision, "{:#}", inv.response);
}

/// The check named `name` in the evidence.
fn check<'a>(inv: &'a Invocation, name: &str) -> &'a Value {
    inv.response["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["check"] == name))
        .unwrap_or_else(|| panic!("no check {name}: {:#}", inv.response))
}

/// The analysis' metric check named `name`, with its numbers.
fn metric<'a>(inv: &'a Invocation, name: &str) -> &'a Value {
    inv.response["analysis"]["metrics"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["check"] == name))
        .unwrap_or_else(|| panic!("no metric {name}: {:#}", inv.response))
}

fn alert_evidence(message: &Value) -> Value {
    let doc: Value = serde_json::from_str(message["Message"].as_str().unwrap_or("{}"))
        .unwrap_or_else(|e| panic!("the alert is not JSON ({e}): {message:#}"));
    doc["metadata"]["additionalContext"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn green_is_judged_against_blue_and_against_absolute_limits() {
    let w = world().await;
    let queue = w.queue("analysis-alerts").await;
    let f = w.function(&[]);
    let green = Service::start(Mode::Healthy, NEW_VERSION);

    // Green fails 5% of 400 requests, blue 0.3% of 5000: beyond blue + 1 pp.
    let worse = stack_with(
        &w,
        "worse",
        &green,
        &Traffic::new(400.0, 20.0, 40.0),
        &Traffic::new(5000.0, 15.0, 40.0),
    )
    .await;
    let inv = run(&w, &f, &worse, "d-WORSE0001", "relative");
    decided(&inv, "Failed", &f);
    assert_eq!(
        hook_status(&w.local, "d-WORSE0001", "hook-exec-1"),
        "Failed"
    );
    let m = metric(&inv, "errorRate");
    assert_eq!(m["outcome"], "fail", "{m:#}");
    assert_eq!(m["green"], 0.05);
    assert_eq!(m["blue"], 0.003);
    assert_eq!(m["greenSamples"], 400);
    assert_eq!(m["blueSamples"], 5000);
    assert!((m["limit"].as_f64().unwrap() - 0.013).abs() < 1e-9, "{m:#}");
    assert_eq!(check(&inv, "analysisErrorRate")["passed"], false);
    assert_eq!(metric(&inv, "p95Latency")["outcome"], "pass");
    // The alert carries the same numbers.
    let alerts = w.alerts(&queue).await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let evidence = alert_evidence(&alerts[0]);
    assert_eq!(
        evidence["analysis"]["metrics"][0]["green"], 0.05,
        "{evidence:#}"
    );
    let text = alerts[0]["Message"].as_str().unwrap_or_default();
    assert!(text.contains("errorRate"), "{text}");

    // Both fail 5%: the comparison passes, and without an absolute limit so does the hook...
    let same = |name: &'static str| {
        let green = &green;
        let w = &w;
        async move {
            stack_with(
                w,
                name,
                green,
                &Traffic::new(400.0, 20.0, 40.0),
                &Traffic::new(5000.0, 250.0, 40.0),
            )
            .await
        }
    };
    let s = same("samea").await;
    let inv = run(&w, &f, &s, "d-SAMEBAD01", "relative");
    decided(&inv, "Succeeded", &f);
    assert_eq!(metric(&inv, "errorRate")["outcome"], "pass");
    // ...but an absolute limit of 2% fails it.
    let s = same("sameb").await;
    let inv = run(&w, &f, &s, "d-SAMEBAD02", "absolute");
    decided(&inv, "Failed", &f);
    let m = metric(&inv, "errorRate");
    assert_eq!(m["outcome"], "fail", "{m:#}");
    assert_eq!(m["limit"], 0.02, "{m:#}");

    // Green's p95 three times blue's fails the latency check.
    let slow = stack_with(
        &w,
        "slower",
        &green,
        &Traffic::new(400.0, 0.0, 300.0),
        &Traffic::new(5000.0, 0.0, 100.0),
    )
    .await;
    let inv = run(&w, &f, &slow, "d-SLOWER001", "relative");
    decided(&inv, "Failed", &f);
    let m = metric(&inv, "p95Latency");
    assert_eq!(m["outcome"], "fail", "{m:#}");
    assert!((m["green"].as_f64().unwrap() - 300.0).abs() < 1e-6, "{m:#}");
    assert!((m["blue"].as_f64().unwrap() - 100.0).abs() < 1e-6, "{m:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thin_traffic_is_inconclusive_and_the_policy_decides() {
    let w = world().await;
    let f = w.function(&[]);
    let green = Service::start(Mode::Healthy, NEW_VERSION);
    let thin = |name: &'static str| {
        let green = &green;
        let w = &w;
        async move {
            stack_with(
                w,
                name,
                green,
                &Traffic::new(12.0, 0.0, 40.0),
                &Traffic::new(30.0, 0.0, 40.0),
            )
            .await
        }
    };
    // Fail closed: after waiting up to 3 s, still 12 of the 1000 requests needed.
    let s = thin("thina").await;
    let inv = run(&w, &f, &s, "d-THINFAIL1", "thin");
    decided(&inv, "Failed", &f);
    let c = check(&inv, "analysisErrorRate");
    assert_eq!(c["passed"], false);
    let detail = c["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("inconclusive"), "{detail}");
    assert!(detail.contains("12"), "{detail}");
    assert_eq!(inv.response["analysis"]["outcome"], "inconclusive");
    assert!(
        inv.response["analysis"]["polls"].as_u64().unwrap() >= 2,
        "it read again while waiting: {:#}",
        inv.response["analysis"]
    );
    // The same traffic under onInconclusive: pass.
    let s = thin("thinb").await;
    let inv = run(&w, &f, &s, "d-THINPASS1", "thinpass");
    decided(&inv, "Succeeded", &f);
    assert_eq!(check(&inv, "analysisErrorRate")["passed"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_in_alarm_fails_the_hook_with_its_reason() {
    let w = world().await;
    let f = w.function(&[]);
    let cw = cloudwatch::client(&w.local).await;
    let green = Service::start(Mode::Healthy, NEW_VERSION);
    let quiet = Traffic::new(0.0, 0.0, 40.0);

    cloudwatch::alarm(&cw, "shop-latency", StateValue::Ok, "all quiet", &[]).await;
    cloudwatch::alarm(&cw, "shop-db", StateValue::InsufficientData, "no data", &[]).await;
    let s = stack_with(&w, "alarmok", &green, &quiet, &quiet).await;
    let inv = run(&w, &f, &s, "d-ALARMOK01", "alarms");
    decided(&inv, "Succeeded", &f);
    let c = check(&inv, "alarms");
    assert_eq!(c["passed"], true, "{c:#}");
    assert_eq!(
        inv.response["analysis"]["alarms"].as_array().unwrap().len(),
        2
    );

    let reason = "Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0).";
    cloudwatch::alarm(&cw, "shop-api-5xx", StateValue::Alarm, reason, &[]).await;
    let s = stack_with(&w, "alarmbad", &green, &quiet, &quiet).await;
    let inv = run(&w, &f, &s, "d-ALARMBAD1", "alarms");
    decided(&inv, "Failed", &f);
    assert_eq!(
        hook_status(&w.local, "d-ALARMBAD1", "hook-exec-1"),
        "Failed"
    );
    let c = check(&inv, "alarms");
    assert_eq!(c["passed"], false);
    let detail = c["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("shop-api-5xx") && detail.contains(reason),
        "{detail}"
    );

    // Found by tag: only the tagged alarm gates.
    cloudwatch::alarm(
        &cw,
        "orders-errors",
        StateValue::Alarm,
        "orders broke",
        &[("codehooks", "gate")],
    )
    .await;
    let s = stack_with(&w, "tagged", &green, &quiet, &quiet).await;
    let inv = run(&w, &f, &s, "d-TAGGED001", "tagged");
    decided(&inv, "Failed", &f);
    let alarms = inv.response["analysis"]["alarms"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(alarms.len(), 1, "{alarms:#?}");
    assert_eq!(alarms[0]["name"], "orders-errors");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_reaches_green_through_the_test_listener() {
    let w = world().await;
    let f = w.function(&[]);
    let green = Service::start(Mode::Healthy, NEW_VERSION);
    let s = stack_with(
        &w,
        "loaded",
        &green,
        &Traffic::new(40.0, 0.0, 40.0),
        &Traffic::new(400.0, 0.0, 40.0),
    )
    .await;
    let before = green.hits();
    let inv = run(&w, &f, &s, "d-LOADED001", "load");
    decided(&inv, "Succeeded", &f);
    let load = &inv.response["analysis"]["load"];
    assert_eq!(load["rps"], 4, "{load:#}");
    let sent = load["sent"].as_u64().unwrap();
    assert!((3..=8).contains(&sent), "about 4 rps for 1.5 s: {load:#}");
    assert_eq!(load["errors"], 0, "{load:#}");
    assert!(
        green.hits() - before >= 5 + sent,
        "the probes and the load hit green"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_amazon_ecs_thin_traffic_answers_in_progress_until_enough_samples() {
    let w = world().await;
    let f = w.function(&[]);
    let cw = cloudwatch::client(&w.local).await;
    let test = RoutedService::start(Conditions::default(), Green::Healthy, NEW_VERSION);
    let prod = RoutedService::start(Conditions::default(), Green::Healthy, NEW_VERSION);
    let mut spec = NativeStackSpec::new("thin", prod.port, test.port, Conditions::default());
    spec.test_to = Tg::Alternate;
    let stack = w.native_stack(spec).await;
    let d = NativeDeployment::new("thin", "ThinDeployment0001", 9_313_423_515_462_893_900);
    d.seed(&w.local, &stack);
    let green_tg = stack.tg_arn(d.green).to_owned();
    let blue_tg = stack.tg_arn(d.green.other()).to_owned();
    cloudwatch::put_target_group(
        &cw,
        &stack.lb_arn,
        &green_tg,
        &Traffic::new(30.0, 0.0, 40.0),
    )
    .await;
    cloudwatch::put_target_group(
        &cw,
        &stack.lb_arn,
        &blue_tg,
        &Traffic::new(3000.0, 3.0, 40.0),
    )
    .await;

    let first = d.payload("00000001-thin-exec", "POST_TEST_TRAFFIC_SHIFT");
    let inv = f.invoke(&first, 20_000);
    assert_answer(&inv, "IN_PROGRESS", &f);
    let details = &inv.response["hookDetails"]["codehooksAnalysis"];
    assert!(
        details.is_object(),
        "the wait is carried: {:#}",
        inv.response
    );
    let delay = inv.response["callBackDelay"].as_u64().unwrap();
    assert!((1..=900).contains(&delay), "{delay}");

    // More traffic arrives; the next invocation reads again and decides.
    cloudwatch::put_target_group(
        &cw,
        &stack.lb_arn,
        &green_tg,
        &Traffic::new(2000.0, 1.0, 40.0),
    )
    .await;
    let hits = test.hits();
    let inv = f.invoke(&next_payload(&first, &inv), 20_000);
    assert_answer(&inv, "SUCCEEDED", &f);
    assert_eq!(
        test.hits(),
        hits,
        "the probes passed already: only the analysis runs again"
    );
}
