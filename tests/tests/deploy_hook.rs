//! deploy-hook: the real binary under the Lambda Runtime API, CodeDeploy from the emulator,
//! ELBv2/SNS/SQS from moto, and a real HTTP service on 127.0.0.1 playing the green task set.
//!
//! The load balancer's DNS name does not resolve here, so the function runs with
//! `CODEHOOKS_HOOK_BASE_URL=http://127.0.0.1:{port}`: the port still comes from the listener it
//! discovered, so each listener is created on the port of the service that plays its target.

mod deploy_hook_fixture;

use std::time::Duration;

use aws_sdk_elasticloadbalancingv2 as elbv2;
use codehooks_tests::{Function, Invocation, LocalAws};
use deploy_hook_fixture::world::World;
use deploy_hook_fixture::*;
use serde_json::{Value, json};

fn policy() -> String {
    json!({
        "default": {
            "requests": 20, "concurrency": 4, "timeoutMs": 2000, "warmupMs": 0, "maxP95Ms": 600,
            "targetHealthWaitMs": 1500, "targetHealthPollMs": 200, "maxConsecutiveFailures": 5
        },
        "hooks": {"AfterAllowTraffic": {"requests": 5}},
        "deploymentGroups": {
            "warm": {"default": {"warmupMs": 6000}},
            "body": {"default": {"bodyContains": "\"status\":\"ok\""}},
            "versioned": {"default": {"version": {"header": "X-App-Version", "expected": "{taskDefinition}"}}},
            "deadline": {"default": {"timeoutMs": 5000, "maxP95Ms": 10000, "requests": 50}},
            "paths": {"default": {"paths": ["/", "/ready"], "requests": 10}}
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

/// The usual stack; the test port comes first here, as the tests name green before blue.
fn spec(name: &str, test_port: u16, prod_port: u16) -> StackSpec<'_> {
    StackSpec::new(name, prod_port, test_port)
}

fn deployment<'a>(id: &'a str, group: &'a str, running: &'a str) -> DeploymentSpec<'a> {
    DeploymentSpec {
        id,
        hook_execution_id: "hook-exec-1",
        group,
        running,
        green_desired: 2,
        ecs: true,
        green_task_set: true,
        shifted: false,
    }
}

/// A Network Load Balancer with TCP listeners and target groups, in moto.
async fn nlb_stack(w: &World, test_port: u16, prod_port: u16) -> Stack {
    use elbv2::types::{
        Action, ActionTypeEnum, LoadBalancerTypeEnum, ProtocolEnum, TargetTypeEnum,
    };
    let lb = w
        .elb
        .create_load_balancer()
        .name("tcp-nlb")
        .set_subnets(Some(w.subnets.clone()))
        .r#type(LoadBalancerTypeEnum::Network)
        .send()
        .await
        .expect("CreateLoadBalancer");
    let lb = &lb.load_balancers()[0];
    let mut tgs = Vec::new();
    for color in ["blue", "green"] {
        let tg = w
            .elb
            .create_target_group()
            .name(format!("tcp-{color}"))
            .protocol(ProtocolEnum::Tcp)
            .port(8080)
            .vpc_id(lb.vpc_id().unwrap_or_default())
            .target_type(TargetTypeEnum::Ip)
            .send()
            .await
            .expect("CreateTargetGroup");
        tgs.push(tg.target_groups()[0].target_group_arn().unwrap().to_owned());
    }
    let mut listeners = Vec::new();
    for (port, tg) in [(prod_port, &tgs[0]), (test_port, &tgs[1])] {
        let l = w
            .elb
            .create_listener()
            .load_balancer_arn(lb.load_balancer_arn().unwrap())
            .protocol(ProtocolEnum::Tcp)
            .port(i32::from(port))
            .default_actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn(tg)
                    .build(),
            )
            .send()
            .await
            .expect("CreateListener");
        listeners.push(l.listeners()[0].listener_arn().unwrap().to_owned());
    }
    Stack {
        name: "tcp".into(),
        lb_arn: lb.load_balancer_arn().unwrap_or_default().to_owned(),
        blue_tg: "tcp-blue".into(),
        green_tg: "tcp-green".into(),
        blue_tg_arn: tgs[0].clone(),
        green_tg_arn: tgs[1].clone(),
        prod_listener: listeners[0].clone(),
        test_listener: listeners[1].clone(),
        dns_name: lb.dns_name().unwrap_or_default().to_owned(),
        prod_port,
        test_port,
    }
}

fn clear_faults(local: &LocalAws) {
    let (status, _) = codehooks_tests::http::request(
        "DELETE",
        &format!("{}/_emulator/faults", local.emulator_url()),
        None,
    );
    assert_eq!(status, 200);
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

/// The evidence an alert carries: the `metadata.additionalContext` of the chat document SNS delivers to
/// queues (e-mail gets the plain-text `default` body).
fn alert_evidence(message: &Value) -> Value {
    let doc: Value = serde_json::from_str(message["Message"].as_str().unwrap_or("{}"))
        .unwrap_or_else(|e| panic!("the alert is not JSON ({e}): {message:#}"));
    doc["metadata"]["additionalContext"].clone()
}

fn assert_decision(inv: &Invocation, decision: &str, f: &Function) {
    assert!(inv.is_ok(), "invocation {inv:?}\nlogs:\n{}", f.logs());
    assert_eq!(inv.response["decision"], decision, "{:#}", inv.response);
    assert_eq!(inv.response["reported"], "reported", "{:#}", inv.response);
}

/// Runs one AfterAllowTestTraffic scenario against `service` and returns the invocation.
async fn scenario(
    w: &World,
    f: &Function,
    id: &str,
    group: &str,
    test_port: u16,
    name: &str,
) -> Invocation {
    let blue = Service::start(Mode::Healthy, OLD_VERSION);
    let stack = w.stack(spec(name, test_port, blue.port)).await;
    seed_deployment(
        &w.local,
        &stack,
        deployment(id, group, "AfterAllowTestTraffic"),
    );
    let inv = f.invoke(&payload(id, "hook-exec-1"), 30_000);
    assert_eq!(blue.hits(), 0, "nothing probes blue");
    inv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_green_service_decides_the_status_and_failures_carry_evidence() {
    let w = world().await;
    let queue = codehooks_tests::subscribe_queue(&w.sdk, &w.topic, "deploy-alerts-q1").await;
    let f = w.function(&[]);

    // Healthy: every default check passes through the test listener.
    let green = Service::start(Mode::Healthy, NEW_VERSION);
    let inv = scenario(&w, &f, "d-HEALTHY01", "shop", green.port, "healthy").await;
    assert_decision(&inv, "Succeeded", &f);
    assert_eq!(
        hook_status(&w.local, "d-HEALTHY01", "hook-exec-1"),
        "Succeeded"
    );
    let r = &inv.response;
    assert_eq!(r["hook"], "AfterAllowTestTraffic");
    assert_eq!(r["listener"]["role"], "test");
    assert_eq!(r["url"], format!("http://127.0.0.1:{}/", green.port));
    assert_eq!(r["probes"][0]["attempted"], 20);
    assert_eq!(r["probes"][0]["successRate"], 1.0);
    assert_eq!(r["targetHealth"]["healthy"], 2);
    assert!(green.hits() >= 20);

    // 500s.
    let green = Service::start(Mode::Status(500), NEW_VERSION);
    let inv = scenario(&w, &f, "d-ERRORS500", "shop", green.port, "errors").await;
    assert_decision(&inv, "Failed", &f);
    assert_eq!(
        hook_status(&w.local, "d-ERRORS500", "hook-exec-1"),
        "Failed"
    );
    assert_eq!(failed_checks(&inv)[0], "successRate");
    assert!(
        inv.response["probes"][0]["failures"]["status"]
            .as_u64()
            .unwrap()
            >= 2
    );
    assert!(
        inv.response["probes"][0]["attempted"].as_u64().unwrap() < 20,
        "stopped as soon as it could not pass"
    );
    // Delivered again: the status stays, and no second alert goes out.
    let again = f.invoke(&payload("d-ERRORS500", "hook-exec-1"), 30_000);
    assert!(again.is_ok(), "{again:?}");
    assert_eq!(again.response["reported"], "alreadyCompleted");

    // Slow: p95 over the limit.
    let green = Service::start(Mode::Slow(Duration::from_millis(1000)), NEW_VERSION);
    let inv = scenario(&w, &f, "d-SLOWSLOW1", "shop", green.port, "slow").await;
    assert_decision(&inv, "Failed", &f);
    assert!(
        failed_checks(&inv).contains(&"p95Latency".to_owned()),
        "{:#}",
        inv.response
    );
    assert!(!failed_checks(&inv).contains(&"successRate".to_owned()));

    // Flapping: one in four answers 503.
    let green = Service::start(Mode::Flapping(4), NEW_VERSION);
    let inv = scenario(&w, &f, "d-FLAPPING1", "shop", green.port, "flap").await;
    assert_decision(&inv, "Failed", &f);
    assert_eq!(failed_checks(&inv), ["successRate"], "{:#}", inv.response);

    // Healthy only after a warm-up: the warm-up period absorbs the early failures.
    let green = Service::start(Mode::WarmUp(Duration::from_millis(1500)), NEW_VERSION);
    let inv = scenario(&w, &f, "d-WARMUPAB1", "warm", green.port, "warm").await;
    assert_decision(&inv, "Succeeded", &f);
    assert!(
        inv.response["probes"][0]["warmupAttempts"]
            .as_u64()
            .unwrap()
            > 1,
        "{:#}",
        inv.response
    );
    assert_eq!(inv.response["probes"][0]["successRate"], 1.0);
    // The same kind of service without a warm-up period fails.
    let green = Service::start(Mode::WarmUp(Duration::from_millis(5000)), NEW_VERSION);
    let inv = scenario(&w, &f, "d-WARMUPAB2", "shop", green.port, "cold").await;
    assert_decision(&inv, "Failed", &f);

    // Not listening at all.
    let inv = scenario(&w, &f, "d-NOTLISTEN", "shop", closed_port(), "down").await;
    assert_decision(&inv, "Failed", &f);
    assert!(
        inv.response["probes"][0]["failures"]["connect"]
            .as_u64()
            .unwrap()
            >= 1,
        "{:#}",
        inv.response
    );

    // Body not matching.
    let green = Service::start(Mode::BodyMismatch, NEW_VERSION);
    let inv = scenario(&w, &f, "d-BODYMISM1", "body", green.port, "body").await;
    assert_decision(&inv, "Failed", &f);
    assert_eq!(failed_checks(&inv)[0], "successRate");
    assert!(
        inv.response["probes"][0]["failures"]["body"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert!(
        inv.response["summary"].as_str().unwrap().contains("body"),
        "{:#}",
        inv.response
    );

    // Each failure published its evidence; the success did not.
    let messages = codehooks_tests::drain_queue(&w.sdk, &queue).await;
    let subjects: Vec<&str> = messages
        .iter()
        .filter_map(|m| m["Subject"].as_str())
        .collect();
    for id in [
        "d-ERRORS500",
        "d-SLOWSLOW1",
        "d-FLAPPING1",
        "d-WARMUPAB2",
        "d-NOTLISTEN",
        "d-BODYMISM1",
    ] {
        let n = subjects.iter().filter(|s| s.contains(id)).count();
        assert_eq!(n, 1, "one alert for {id}: {subjects:?}");
    }
    assert!(
        !subjects
            .iter()
            .any(|s| s.contains("d-HEALTHY01") || s.contains("d-WARMUPAB1"))
    );
    let errors = messages
        .iter()
        .find(|m| {
            m["Subject"]
                .as_str()
                .is_some_and(|s| s.contains("d-ERRORS500"))
        })
        .unwrap();
    let evidence = alert_evidence(errors);
    assert_eq!(evidence["failedChecks"][0], "successRate");
    assert!(
        evidence["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert!(
        evidence["probes"][0]["samples"][0]
            .as_str()
            .unwrap()
            .contains("HTTP 500")
    );
    // The attributes build-alerts' alerts carry, so one filter policy serves both, and the hook's own.
    let attrs = &errors["MessageAttributes"];
    for (name, value) in [
        ("source", "deploy-hook"),
        ("name", "shop/shop"),
        ("state", "Failed"),
        ("severity", "error"),
        ("region", REGION),
        ("account", "123456789012"),
        ("decision", "Failed"),
        ("deploymentId", "d-ERRORS500"),
        ("hook", "AfterAllowTestTraffic"),
    ] {
        assert_eq!(attrs[name]["Type"], "String", "{name}: {attrs:#}");
        assert_eq!(attrs[name]["Value"], value, "{name}: {attrs:#}");
    }

    // One structured summary line and one EMF record per decision.
    let logs = f.logs();
    assert!(
        logs.lines()
            .filter(|l| l.contains("\"hook decision\""))
            .count()
            >= 8,
        "{logs}"
    );
    assert!(
        logs.contains("\"CloudWatchMetrics\"") && logs.contains("\"LatencyP95\""),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_deployment_group_name_still_gets_its_rollback_alert() {
    let w = world().await;
    let queue = codehooks_tests::subscribe_queue(&w.sdk, &w.topic, "deploy-alerts-long").await;
    let f = w.function(&[]);
    // The longest name CodeDeploy accepts (100 characters): with the application, the alert's
    // name is 105 characters, and the subject used to be cut to exactly 100, which SNS refuses.
    let group: String = format!("shop-{}", "very-long-group-".repeat(7))
        .chars()
        .take(100)
        .collect();
    assert_eq!(group.len(), 100);
    let green = Service::start(Mode::Status(500), NEW_VERSION);
    let inv = scenario(&w, &f, "d-LONGGRP01", &group, green.port, "longgroup").await;
    assert_decision(&inv, "Failed", &f);
    assert_eq!(
        inv.response["deploymentGroup"],
        group.as_str(),
        "{:#}",
        inv.response
    );

    // SNS accepted the alert: its subject is under 100 characters and still names the deployment.
    let messages = codehooks_tests::drain_queue(&w.sdk, &queue).await;
    assert_eq!(messages.len(), 1, "{messages:?}\nlogs:\n{}", f.logs());
    let subject = messages[0]["Subject"].as_str().unwrap_or_default();
    assert!(subject.chars().count() < 100, "{subject}");
    assert!(subject.contains("d-LONGGRP01"), "{subject}");
    let attrs = &messages[0]["MessageAttributes"];
    assert_eq!(attrs["deploymentId"]["Value"], "d-LONGGRP01", "{attrs:#}");
    assert_eq!(attrs["state"]["Value"], "Failed", "{attrs:#}");
    let evidence = alert_evidence(&messages[0]);
    assert_eq!(evidence["failedChecks"][0], "successRate", "{evidence:#}");
    assert_eq!(evidence["deploymentGroup"], group.as_str());
    assert!(
        evidence["links"]["Deployment"]
            .as_str()
            .is_some_and(|l| l.contains("codedeploy/deployments/d-LONGGRP01")),
        "{evidence:#}"
    );
    assert!(
        !f.logs().contains("cannot publish the alert"),
        "{}",
        f.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_finds_the_hook_the_listener_and_refuses_blue() {
    let w = world().await;
    let f = w.function(&[]);
    let green = Service::start(Mode::Healthy, NEW_VERSION);
    let blue = Service::start(Mode::Healthy, OLD_VERSION);

    // AfterAllowTraffic probes through the production listener, which now serves green.
    let stack = w
        .stack(StackSpec {
            prod_to: Color::Green,
            weighted: true,
            ..spec("shifted", blue.port, green.port)
        })
        .await;
    seed_deployment(
        &w.local,
        &stack,
        DeploymentSpec {
            shifted: true,
            ..deployment("d-SHIFTED01", "shop", "AfterAllowTraffic")
        },
    );
    let inv = f.invoke(&payload("d-SHIFTED01", "hook-exec-1"), 30_000);
    assert_decision(&inv, "Succeeded", &f);
    assert_eq!(inv.response["hook"], "AfterAllowTraffic");
    assert_eq!(inv.response["listener"]["role"], "production");
    assert_eq!(
        inv.response["url"],
        format!("http://127.0.0.1:{}/", green.port)
    );
    assert_eq!(
        inv.response["probes"][0]["attempted"], 5,
        "the policy's per-hook override"
    );
    assert_eq!(blue.hits(), 0);

    // The version assertion: an answer from the old revision cannot pass.
    let hits = green.hits();
    let stack = w.stack(spec("versioned", green.port, blue.port)).await;
    seed_deployment(
        &w.local,
        &stack,
        deployment("d-VERSION01", "versioned", "AfterAllowTestTraffic"),
    );
    let inv = f.invoke(&payload("d-VERSION01", "hook-exec-1"), 30_000);
    assert_decision(&inv, "Succeeded", &f);
    assert!(green.hits() > hits);
    let stack = w.stack(spec("oldrev", blue.port, green.port)).await;
    seed_deployment(
        &w.local,
        &stack,
        deployment("d-VERSION02", "versioned", "AfterAllowTestTraffic"),
    );
    let inv = f.invoke(&payload("d-VERSION02", "hook-exec-1"), 30_000);
    assert_decision(&inv, "Failed", &f);
    assert!(
        inv.response["probes"][0]["failures"]["version"]
            .as_u64()
            .unwrap()
            >= 1,
        "{:#}",
        inv.response
    );

    // A test listener that forwards to blue is refused without a probe.
    let (g0, b0) = (green.hits(), blue.hits());
    let stack = w
        .stack(StackSpec {
            test_to: Color::Blue,
            ..spec("toblue", green.port, blue.port)
        })
        .await;
    seed_deployment(
        &w.local,
        &stack,
        deployment("d-TOBLUE001", "shop", "AfterAllowTestTraffic"),
    );
    let inv = f.invoke(&payload("d-TOBLUE001", "hook-exec-1"), 30_000);
    assert_decision(&inv, "Failed", &f);
    assert_eq!(failed_checks(&inv), ["listener"]);
    assert!(
        inv.response["summary"]
            .as_str()
            .unwrap()
            .contains("refusing to pass a test of blue")
    );
    assert_eq!((green.hits(), blue.hits()), (g0, b0));

    // A CloudFormation blue/green deployment: no task sets, the deployment's own loadBalancerInfo.
    let stack = w.stack(spec("cfn", green.port, blue.port)).await;
    seed_deployment(
        &w.local,
        &stack,
        DeploymentSpec {
            ecs: false,
            group: "cfn-managed",
            ..deployment("d-CFNSTACK1", "shop", "AfterAllowTestTraffic")
        },
    );
    let inv = f.invoke(&payload("d-CFNSTACK1", "hook-exec-1"), 30_000);
    assert_decision(&inv, "Succeeded", &f);
    assert_eq!(inv.response["targetType"], "CloudFormationTarget");
    assert_eq!(inv.response["greenTargetGroup"], "cfn-green");
    assert!(
        inv.response["notes"].to_string().contains("CloudFormation"),
        "{:#}",
        inv.response
    );

    // BeforeInstall: a preflight only, before any green task set exists.
    let g0 = green.hits();
    let stack = w.stack(spec("preflight", green.port, blue.port)).await;
    seed_deployment(
        &w.local,
        &stack,
        DeploymentSpec {
            green_task_set: false,
            ..deployment("d-PREFLIGHT", "shop", "BeforeInstall")
        },
    );
    let inv = f.invoke(&payload("d-PREFLIGHT", "hook-exec-1"), 30_000);
    assert_decision(&inv, "Succeeded", &f);
    assert_eq!(inv.response["hook"], "BeforeInstall");
    assert_eq!(inv.response["checks"][0]["check"], "preflight");

    // AfterInstall: the green target group's health only.
    let stack = w.stack(spec("installed", green.port, blue.port)).await;
    seed_deployment(
        &w.local,
        &stack,
        deployment("d-INSTALLED", "shop", "AfterInstall"),
    );
    let inv = f.invoke(&payload("d-INSTALLED", "hook-exec-1"), 30_000);
    assert_decision(&inv, "Succeeded", &f);
    assert_eq!(inv.response["hook"], "AfterInstall");
    assert_eq!(inv.response["checks"][0]["check"], "targetHealth");
    assert_eq!(green.hits(), g0, "AfterInstall does not probe");

    // Too few healthy targets: Failed after the short target-health budget, without probing.
    let stack = w
        .stack(StackSpec {
            green_targets: 1,
            ..spec("fewtargets", green.port, blue.port)
        })
        .await;
    seed_deployment(
        &w.local,
        &stack,
        DeploymentSpec {
            green_desired: 3,
            ..deployment("d-FEWTARGET", "shop", "AfterAllowTestTraffic")
        },
    );
    let inv = f.invoke(&payload("d-FEWTARGET", "hook-exec-1"), 30_000);
    assert_decision(&inv, "Failed", &f);
    assert_eq!(failed_checks(&inv), ["targetHealth"]);
    assert_eq!(inv.response["targetHealth"]["healthy"], 1);
    assert_eq!(inv.response["targetHealth"]["required"], 3);
    assert!(inv.duration_ms < 5_000.0, "{}", inv.duration_ms);
    assert_eq!(
        green.hits(),
        g0,
        "no probe when the targets are not healthy"
    );

    // Several paths are checked in turn.
    let stack = w.stack(spec("paths", green.port, blue.port)).await;
    seed_deployment(
        &w.local,
        &stack,
        deployment("d-TWOPATHS1", "paths", "AfterAllowTestTraffic"),
    );
    let inv = f.invoke(&payload("d-TWOPATHS1", "hook-exec-1"), 30_000);
    assert_decision(&inv, "Succeeded", &f);
    let urls: Vec<&str> = inv.response["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls,
        [
            format!("http://127.0.0.1:{}/", green.port),
            format!("http://127.0.0.1:{}/ready", green.port)
        ]
    );

    // A deployment group without a test listener cannot be checked through it, and says so.
    let stack = w.stack(spec("notest", green.port, blue.port)).await;
    seed_deployment(
        &w.local,
        &stack,
        deployment("d-NOTESTLS1", "no-test-route", "AfterAllowTestTraffic"),
    );
    let mut info = stack.load_balancer_info();
    info["targetGroupPairInfoList"][0]
        .as_object_mut()
        .unwrap()
        .remove("testTrafficRoute");
    w.local.emulator().seed(&json!({"region": REGION, "codedeploy": {"deploymentGroups": [{
        "applicationName": "shop", "deploymentGroupName": "no-test-route", "computePlatform": "ECS",
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "loadBalancerInfo": info
    }]}}));
    let inv = f.invoke(&payload("d-NOTESTLS1", "hook-exec-1"), 30_000);
    assert_decision(&inv, "Failed", &f);
    assert_eq!(failed_checks(&inv), ["discovery"]);
    assert!(
        inv.response["summary"]
            .as_str()
            .unwrap()
            .contains("no test listener"),
        "{:#}",
        inv.response
    );

    // A Network Load Balancer cannot carry the HTTP checks: the hook says so instead of guessing.
    let stack = nlb_stack(&w, green.port, blue.port).await;
    seed_deployment(
        &w.local,
        &stack,
        deployment("d-NETWORKLB", "shop", "AfterAllowTestTraffic"),
    );
    let inv = f.invoke(&payload("d-NETWORKLB", "hook-exec-1"), 30_000);
    assert_decision(&inv, "Failed", &f);
    assert_eq!(failed_checks(&inv), ["discovery"]);
    assert!(
        inv.response["summary"]
            .as_str()
            .unwrap()
            .contains("network load balancer"),
        "{:#}",
        inv.response
    );

    // Neither a hook in progress: the status is still reported (Failed) and says why.
    let stack = w.stack(spec("noprogress", green.port, blue.port)).await;
    seed_deployment(
        &w.local,
        &stack,
        deployment("d-NOHOOK001", "shop", "Install"),
    );
    let inv = f.invoke(&payload("d-NOHOOK001", "hook-exec-1"), 30_000);
    assert_decision(&inv, "Failed", &f);
    assert_eq!(failed_checks(&inv), ["discovery"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_reports_before_the_deadline_retries_and_ignores_duplicates() {
    let w = world().await;
    let f = w.function(&[]);
    let em = w.local.emulator();
    let green = Service::start(Mode::Healthy, NEW_VERSION);
    let blue = Service::start(Mode::Healthy, OLD_VERSION);

    // Throttling and 5xx from CodeDeploy are retried.
    let stack = w.stack(spec("retry", green.port, blue.port)).await;
    seed_deployment(
        &w.local,
        &stack,
        deployment("d-RETRYING1", "shop", "AfterAllowTestTraffic"),
    );
    em.fault("CodeDeploy_20141006.GetDeployment", "throttle", 2, 0);
    em.fault(
        "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus",
        "error5xx",
        1,
        0,
    );
    let inv = f.invoke(&payload("d-RETRYING1", "hook-exec-1"), 30_000);
    assert_decision(&inv, "Succeeded", &f);
    assert_eq!(
        hook_status(&w.local, "d-RETRYING1", "hook-exec-1"),
        "Succeeded"
    );
    let gets = em
        .requests(Some("GetDeployment"))
        .into_iter()
        .filter(|r| r.to_string().contains("d-RETRYING1"))
        .count();
    assert_eq!(gets, 3, "two throttled attempts, then the answer");

    // A duplicate invocation after the status is set changes nothing and is not an error.
    let puts = em
        .requests(Some("PutLifecycleEventHookExecutionStatus"))
        .len();
    let inv = f.invoke(&payload("d-RETRYING1", "hook-exec-1"), 30_000);
    assert!(inv.is_ok(), "{inv:?}");
    assert_eq!(inv.response["reported"], "alreadyCompleted");
    assert_eq!(
        hook_status(&w.local, "d-RETRYING1", "hook-exec-1"),
        "Succeeded"
    );
    assert_eq!(
        em.requests(Some("PutLifecycleEventHookExecutionStatus"))
            .len(),
        puts + 1
    );

    // CodeDeploy failing beyond the retries: the hook still reports Failed, with the error.
    let stack = w.stack(spec("awsdown", green.port, blue.port)).await;
    seed_deployment(
        &w.local,
        &stack,
        deployment("d-AWSDOWN01", "shop", "AfterAllowTestTraffic"),
    );
    em.fault(
        "CodeDeploy_20141006.BatchGetDeploymentTargets",
        "error5xx",
        10,
        0,
    );
    let inv = f.invoke(&payload("d-AWSDOWN01", "hook-exec-1"), 30_000);
    assert_decision(&inv, "Failed", &f);
    assert!(
        inv.response["error"]
            .as_str()
            .unwrap()
            .contains("BatchGetDeploymentTargets"),
        "{:#}",
        inv.response
    );
    assert_eq!(
        hook_status(&w.local, "d-AWSDOWN01", "hook-exec-1"),
        "Failed"
    );
    clear_faults(&w.local);

    // A short deadline: the probes cannot finish, the status is reported before it anyway.
    let slow = Service::start(Mode::Slow(Duration::from_millis(1500)), NEW_VERSION);
    let stack = w.stack(spec("deadline", slow.port, blue.port)).await;
    seed_deployment(
        &w.local,
        &stack,
        deployment("d-DEADLINE1", "deadline", "AfterAllowTestTraffic"),
    );
    let inv = f.invoke(&payload("d-DEADLINE1", "hook-exec-1"), 3_000);
    assert_decision(&inv, "Failed", &f);
    assert!(
        inv.duration_ms < 3_000.0,
        "answered in {} ms",
        inv.duration_ms
    );
    assert!(
        failed_checks(&inv).contains(&"deadline".to_owned()),
        "{:#}",
        inv.response
    );
    assert_eq!(
        hook_status(&w.local, "d-DEADLINE1", "hook-exec-1"),
        "Failed"
    );

    // Not a hook payload: a clear BadInput and no call at all.
    let before = em.requests(None).len();
    let inv = f.invoke(
        &json!({"detail-type": "CodeDeploy Deployment State-change Notification"}),
        5_000,
    );
    assert_eq!(inv.status, "error");
    assert_eq!(inv.error_type.as_deref(), Some("BadInput"));
    assert!(inv.error_message.unwrap().contains("DeploymentId"));
    assert_eq!(em.requests(None).len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_event_end_to_end_dry_run_and_fail_open() {
    let w = world().await;
    let green = Service::start(Mode::Healthy, NEW_VERSION);
    let blue = Service::start(Mode::Healthy, OLD_VERSION);

    // The sample event from events/, end to end.
    let event = codehooks_tests::event("deploy-hook-after-allow-test-traffic.json");
    let id = event["DeploymentId"].as_str().unwrap().to_owned();
    let exec = event["LifecycleEventHookExecutionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let stack = w.stack(spec("sample", green.port, blue.port)).await;
    seed_deployment(
        &w.local,
        &stack,
        DeploymentSpec {
            hook_execution_id: &exec,
            ..deployment(&id, "shop", "AfterAllowTestTraffic")
        },
    );
    let f = w.function(&[]);
    let inv = f.invoke(&event, 30_000);
    assert_decision(&inv, "Succeeded", &f);
    assert_eq!(hook_status(&w.local, &id, &exec), "Succeeded");
    drop(f);

    // Dry run: a failing service is reported Succeeded, and what would have failed is published.
    let queue = codehooks_tests::subscribe_queue(&w.sdk, &w.topic, "deploy-alerts-q2").await;
    let dry = w.function(&[("CODEHOOKS_HOOK_DRY_RUN", "true")]);
    let broken = Service::start(Mode::Status(503), NEW_VERSION);
    let stack = w.stack(spec("dryrun", broken.port, blue.port)).await;
    seed_deployment(
        &w.local,
        &stack,
        deployment("d-DRYRUN001", "shop", "AfterAllowTestTraffic"),
    );
    let inv = dry.invoke(&payload("d-DRYRUN001", "hook-exec-1"), 30_000);
    assert_decision(&inv, "Succeeded", &dry);
    assert_eq!(inv.response["wouldFail"], true);
    assert_eq!(
        hook_status(&w.local, "d-DRYRUN001", "hook-exec-1"),
        "Succeeded"
    );
    let messages = codehooks_tests::drain_queue(&w.sdk, &queue).await;
    let alert = messages
        .iter()
        .find(|m| {
            m["Subject"]
                .as_str()
                .is_some_and(|s| s.starts_with("[dry run]") && s.contains("d-DRYRUN001"))
        })
        .unwrap_or_else(|| panic!("no dry-run alert: {messages:?}"));
    let attrs = &alert["MessageAttributes"];
    assert_eq!(attrs["source"]["Value"], "deploy-hook", "{attrs:#}");
    assert_eq!(attrs["state"]["Value"], "DryRunFailed", "{attrs:#}");
    assert_eq!(attrs["severity"]["Value"], "warning", "{attrs:#}");
    assert_eq!(attrs["decision"]["Value"], "Succeeded", "{attrs:#}");
    drop(dry);

    // Fail open: an AWS outage passes the hook, but a failing service still fails it.
    let open = w.function(&[("CODEHOOKS_HOOK_FAIL_OPEN", "true")]);
    let stack = w.stack(spec("failopen", green.port, blue.port)).await;
    seed_deployment(
        &w.local,
        &stack,
        deployment("d-FAILOPEN1", "shop", "AfterAllowTestTraffic"),
    );
    w.local
        .emulator()
        .fault("CodeDeploy_20141006.GetDeployment", "error5xx", 10, 0);
    let inv = open.invoke(&payload("d-FAILOPEN1", "hook-exec-1"), 30_000);
    assert_decision(&inv, "Succeeded", &open);
    assert_eq!(inv.response["failOpen"], true);
    clear_faults(&w.local);
    let stack = w.stack(spec("failopen2", broken.port, blue.port)).await;
    seed_deployment(
        &w.local,
        &stack,
        deployment("d-FAILOPEN2", "shop", "AfterAllowTestTraffic"),
    );
    let inv = open.invoke(&payload("d-FAILOPEN2", "hook-exec-1"), 30_000);
    assert_decision(&inv, "Failed", &open);
    drop(open);
}

/// Waits until the function's logs contain `needle`.
fn wait_for_log(f: &Function, needle: &str, timeout: Duration) -> bool {
    let end = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < end {
        if f.logs().contains(needle) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_configuration_keeps_serving_and_reports_failed() {
    let w = world().await;
    let em = w.local.emulator();
    let queue = codehooks_tests::subscribe_queue(&w.sdk, &w.topic, "deploy-alerts-q3").await;
    let green = Service::start(Mode::Healthy, NEW_VERSION);
    let blue = Service::start(Mode::Healthy, OLD_VERSION);
    let stack = w.stack(spec("badconfig", green.port, blue.port)).await;
    for id in ["d-BADPOLICY", "d-BADRETRY1"] {
        seed_deployment(
            &w.local,
            &stack,
            deployment(id, "shop", "AfterAllowTestTraffic"),
        );
    }

    // A wrong policy, with dry run and fail-open asked for: neither is trusted.
    let mut f = w.function(&[
        (
            "CODEHOOKS_HOOK_POLICY",
            r#"{"hooks": {"AfterAllowTestTraffic": {"minSuccessRate": 5}}}"#,
        ),
        ("CODEHOOKS_HOOK_BASE_URL", "ftp://nowhere"),
        ("CODEHOOKS_HOOK_DRY_RUN", "true"),
        ("CODEHOOKS_HOOK_FAIL_OPEN", "true"),
    ]);
    assert!(
        wait_for_log(&f, "CODEHOOKS_HOOK_POLICY", Duration::from_secs(10)),
        "{}",
        f.logs()
    );
    let logs = f.logs();
    assert!(logs.contains("minSuccessRate"), "{logs}");
    assert!(logs.contains("CODEHOOKS_HOOK_BASE_URL"), "{logs}");
    assert!(
        f.wait_exit(Duration::from_millis(500)).is_none(),
        "the function exited: {}",
        f.logs()
    );

    // Not a hook payload: still BadInput, and no call at all.
    let before = em.requests(None).len();
    let inv = f.invoke(&json!({"source": "aws.codedeploy"}), 5_000);
    assert_eq!(inv.status, "error", "{inv:?}");
    assert_eq!(inv.error_type.as_deref(), Some("BadInput"), "{inv:?}");
    assert_eq!(em.requests(None).len(), before);

    // A hook: reported Failed at once, and the invocation fails with the Config error.
    let inv = f.invoke(&payload("d-BADPOLICY", "hook-exec-1"), 10_000);
    assert_eq!(inv.status, "error", "{inv:?}\n{}", f.logs());
    assert_eq!(inv.error_type.as_deref(), Some("Config"), "{inv:?}");
    let message = inv.error_message.clone().unwrap_or_default();
    assert!(
        message.contains("CODEHOOKS_HOOK_POLICY") && message.contains("minSuccessRate"),
        "{message}"
    );
    assert_eq!(
        hook_status(&w.local, "d-BADPOLICY", "hook-exec-1"),
        "Failed"
    );
    assert_eq!(green.hits() + blue.hits(), 0, "nothing was probed");
    assert!(
        em.requests(Some("GetDeployment")).is_empty(),
        "nothing but the report is called"
    );

    // Delivered again: the status stays, the error is the same, and the function keeps running.
    let again = f.invoke(&payload("d-BADPOLICY", "hook-exec-1"), 10_000);
    assert_eq!(again.error_type.as_deref(), Some("Config"), "{again:?}");
    assert_eq!(
        hook_status(&w.local, "d-BADPOLICY", "hook-exec-1"),
        "Failed"
    );
    assert!(f.exited().is_none(), "{}", f.logs());
    let logs = f.logs();
    assert_eq!(
        logs.lines()
            .filter(|l| l.contains("start-up: invalid configuration"))
            .count(),
        1,
        "logged once at start-up: {logs}"
    );

    // Why the deployment rolled back goes to the alert topic, once.
    let messages = codehooks_tests::drain_queue(&w.sdk, &queue).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let evidence = alert_evidence(&messages[0]);
    assert_eq!(evidence["failedChecks"], json!(["configuration"]));
    assert!(
        evidence["summary"]
            .as_str()
            .unwrap()
            .contains("CODEHOOKS_HOOK_POLICY"),
        "{evidence:#}"
    );
    let attrs = &messages[0]["MessageAttributes"];
    for (name, value) in [
        ("source", "deploy-hook"),
        ("state", "Failed"),
        ("severity", "error"),
        ("region", REGION),
        ("account", "123456789012"),
        ("decision", "Failed"),
        ("deploymentId", "d-BADPOLICY"),
    ] {
        assert_eq!(attrs[name]["Value"], value, "{name}: {attrs:#}");
    }
    drop(f);

    // The AWS options themselves are wrong: the shared defaults report.
    let mut f = w.function(&[("AWS_MAX_ATTEMPTS", "zero")]);
    assert!(
        wait_for_log(&f, "AWS_MAX_ATTEMPTS", Duration::from_secs(10)),
        "{}",
        f.logs()
    );
    assert!(f.wait_exit(Duration::from_millis(300)).is_none());
    let inv = f.invoke(&payload("d-BADRETRY1", "hook-exec-1"), 10_000);
    assert_eq!(inv.error_type.as_deref(), Some("Config"), "{inv:?}");
    assert!(
        inv.error_message
            .as_deref()
            .is_some_and(|m| m.contains("AWS_MAX_ATTEMPTS")),
        "{inv:?}"
    );
    assert_eq!(
        hook_status(&w.local, "d-BADRETRY1", "hook-exec-1"),
        "Failed"
    );
}

/// SNS's boundary is at least once: a Publish whose answer is lost (a reset after SNS accepted
/// it) is sent again by the SDK, and a standard topic delivers both. Every copy carries the
/// same alert id (`<deployment>/<hook execution>`, the `alertId` attribute and the chat
/// document's `id`), so a subscriber can drop the repeat; a later delivery of the same hook
/// finds the alert done and adds no copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_alert_carries_the_same_alert_id() {
    use codehooks_tests::faults::{Fault, FaultProxy};
    let w = world().await;
    let queue = codehooks_tests::subscribe_queue(&w.sdk, &w.topic, "deploy-alerts-dup").await;
    let proxy = FaultProxy::start(w.local.moto_url());
    let f = w.function(&[
        ("AWS_ENDPOINT_URL_SNS", proxy.url.as_str()),
        ("AWS_MAX_ATTEMPTS", "2"),
    ]);
    proxy.faults().arm("Publish", Fault::ResetAfter, 1);
    let green = Service::start(Mode::Status(500), NEW_VERSION);
    let inv = scenario(&w, &f, "d-DUPALERT1", "shop", green.port, "dupalert").await;
    assert_decision(&inv, "Failed", &f);
    let again = f.invoke(&payload("d-DUPALERT1", "hook-exec-1"), 30_000);
    assert!(again.is_ok(), "{again:?}");
    assert_eq!(again.response["reported"], "alreadyCompleted");

    let messages = codehooks_tests::drain_queue(&w.sdk, &queue).await;
    assert_eq!(
        messages.len(),
        2,
        "the lost answer's copy and the SDK's: {messages:?}"
    );
    for m in &messages {
        assert_eq!(
            m["MessageAttributes"]["alertId"]["Value"], "d-DUPALERT1/hook-exec-1",
            "{m:#}"
        );
        let doc: Value = serde_json::from_str(m["Message"].as_str().unwrap_or("{}")).unwrap();
        assert_eq!(doc["id"], "d-DUPALERT1/hook-exec-1", "{doc:#}");
        assert_eq!(
            alert_evidence(m)["alertId"],
            "d-DUPALERT1/hook-exec-1",
            "{m:#}"
        );
    }
}
