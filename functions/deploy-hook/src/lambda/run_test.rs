//! Unit tests of the Lambda hook's checks, against the in-memory twins: from the deployment to
//! the evidence and the status reported.

use std::time::Duration;

use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};

use super::*;
use crate::config::config_from_pairs;
use crate::facts::{
    ComputePlatform, Decision, DeploymentFacts, DeploymentTarget, InvokeResult, LambdaFunctionInfo,
    LifecycleEvent,
};
use crate::payload::HookPayload;
use crate::twins::Twins;

const POLICY: &str = r#"{"lambda": {"functions": {"orders": {"default": {"events": [
    {"name": "ping", "payload": {"ping": true}, "expect": [{"pointer": "/ok", "equals": true}]}
]}}}}}"#;
const DIMS: [(&str, &str); 3] = [
    ("FunctionName", "orders"),
    ("Resource", "orders:live"),
    ("ExecutedVersion", "7"),
];

fn app(vars: &[(&str, &str)]) -> App<Twins> {
    App::over_twins(config_from_pairs(vars.iter().copied()).unwrap())
}

fn allowed() -> App<Twins> {
    app(&[
        ("CODEHOOKS_HOOK_POLICY", POLICY),
        ("CODEHOOKS_HOOK_LAMBDA_FUNCTIONS", "billing,orders"),
    ])
}

fn plan(hook: Hook) -> LambdaPlan {
    let now = i64::try_from(codehooks::time::now_millis()).unwrap();
    LambdaPlan {
        deployment_id: "d-L1".into(),
        application: "orders-app".into(),
        deployment_group: "orders-dg".into(),
        hook,
        target_id: "orders".into(),
        function: LambdaFunctionInfo {
            function_name: "orders".into(),
            alias: Some("live".into()),
            current_version: Some("6".into()),
            target_version: Some("7".into()),
            target_version_weight: Some(1.0),
        },
        shifted_at_ms: (hook == Hook::AfterAllowTraffic).then_some(now - 600_000),
        notes: vec!["a note of the plan".into()],
    }
}

fn evidence() -> Evidence {
    Evidence::new(&HookPayload {
        deployment_id: "d-L1".into(),
        hook_execution_id: "exec-1".into(),
    })
}

fn ok(payload: Value) -> InvokeResult {
    InvokeResult {
        status: 200,
        executed_version: Some("7".into()),
        payload: payload.to_string().into_bytes(),
        duration_ms: 5.0,
        ..InvokeResult::default()
    }
}

fn later() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

fn verdicts(ev: &Evidence) -> Vec<(&str, bool)> {
    ev.checks
        .iter()
        .map(|c| (c.check.as_str(), c.passed))
        .collect()
}

#[tokio::test]
async fn before_allow_traffic_invokes_the_target_version_and_fills_the_evidence() {
    let app = allowed();
    app.functions.answer("orders", "7", ok(json!({"ok": true})));
    let mut ev = evidence();
    app.check_lambda(&plan(Hook::BeforeAllowTraffic), &mut ev, 0, later())
        .await;
    assert_eq!(verdicts(&ev), [("invoke", true)]);
    assert_eq!(ev.checks[0].path.as_deref(), Some("ping"));
    assert_eq!(ev.platform, Some(Platform::CodeDeployLambda));
    assert_eq!(ev.hook.as_deref(), Some("BeforeAllowTraffic"));
    assert_eq!(ev.application.as_deref(), Some("orders-app"));
    assert_eq!(ev.deployment_group.as_deref(), Some("orders-dg"));
    assert_eq!(ev.notes, ["a note of the plan"]);
    let l = ev.lambda.as_ref().unwrap();
    assert_eq!(
        (
            l.function.as_str(),
            l.alias.as_deref(),
            l.current_version.as_deref(),
            l.target_version.as_deref()
        ),
        ("orders", Some("live"), Some("6"), Some("7"))
    );
    assert_eq!(l.events.len(), 1);
    assert_eq!(l.events[0].succeeded, 3);
    assert!(l.metrics.is_none());
    let calls = app.functions.invocations();
    assert_eq!(calls.len(), 3);
    assert!(calls.iter().all(|(f, q, _)| f == "orders" && q == "7"));
    assert!(app.metrics.calls().is_empty());
    let json = serde_json::to_value(&ev).unwrap();
    assert_eq!(json["lambda"]["targetVersion"], "7");
    assert_eq!(json["lambda"]["events"][0]["event"], "ping");
}

#[tokio::test]
async fn a_function_not_listed_is_refused_naming_the_variable_and_parameter() {
    let app = app(&[
        ("CODEHOOKS_HOOK_POLICY", POLICY),
        ("CODEHOOKS_HOOK_LAMBDA_FUNCTIONS", "billing"),
    ]);
    app.functions.answer("orders", "7", ok(json!({"ok": true})));
    let mut ev = evidence();
    app.check_lambda(&plan(Hook::AfterAllowTraffic), &mut ev, 0, later())
        .await;
    assert_eq!(verdicts(&ev), [("allowedFunction", false)]);
    let detail = &ev.checks[0].detail;
    assert!(
        detail.contains("CODEHOOKS_HOOK_LAMBDA_FUNCTIONS")
            && detail.contains("DeployHookLambdaFunctions")
            && detail.contains("lists: billing"),
        "{detail}"
    );
    assert!(app.functions.invocations().is_empty());
    assert!(app.metrics.calls().is_empty());
    assert!(not_allowed(&[], "orders").unwrap().contains("lists: none"));
}

#[tokio::test]
async fn after_allow_traffic_without_events_still_reads_the_metrics() {
    let app = app(&[("CODEHOOKS_HOOK_LAMBDA_FUNCTIONS", "orders")]);
    app.metrics.set("Errors", &DIMS, 4.0);
    let mut ev = evidence();
    let p = plan(Hook::AfterAllowTraffic);
    app.check_lambda(&p, &mut ev, 0, later()).await;
    assert_eq!(
        verdicts(&ev),
        [("invoke", true), ("errors", false), ("throttles", true)]
    );
    assert_eq!(
        ev.checks[0].detail,
        "no test events configured for orders: set lambda.functions.orders.events"
    );
    assert!(ev.notes.iter().any(|n| n.starts_with("no test events")));
    assert!(ev.checks[1].detail.starts_with("4 errors of version 7"));
    let m = ev.lambda.as_ref().unwrap().metrics.as_ref().unwrap();
    assert_eq!(m.errors, 4.0);
    let calls = app.metrics.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].1, (p.shifted_at_ms.unwrap() / 60_000) * 60_000);
    assert!(app.functions.invocations().is_empty());
}

#[tokio::test]
async fn a_metrics_read_failure_is_a_could_not_check() {
    let app = allowed();
    app.functions.answer("orders", "7", ok(json!({"ok": true})));
    app.metrics.fail(1, true);
    let mut ev = evidence();
    app.check_lambda(&plan(Hook::AfterAllowTraffic), &mut ev, 0, later())
        .await;
    assert_eq!(verdicts(&ev), [("invoke", true), ("metrics", false)]);
    assert_eq!(ev.infrastructure, ["metrics"]);
    assert!(ev.error.as_deref().unwrap().contains("GetMetricData"));

    // No shift time: the metrics cannot be read either.
    let mut p = plan(Hook::AfterAllowTraffic);
    p.shifted_at_ms = None;
    let mut ev = evidence();
    app.check_lambda(&p, &mut ev, 0, later()).await;
    assert_eq!(verdicts(&ev), [("invoke", true), ("metrics", false)]);
    assert!(
        ev.checks[1]
            .detail
            .contains("no start time of AllowTraffic")
    );
}

#[tokio::test]
async fn invoke_errors_of_aws_are_could_not_checks_and_function_errors_are_not() {
    let app = allowed();
    app.functions.fail(3, false);
    let mut ev = evidence();
    app.check_lambda(&plan(Hook::BeforeAllowTraffic), &mut ev, 0, later())
        .await;
    assert_eq!(verdicts(&ev), [("invoke", false)]);
    assert_eq!(ev.checks[0].path.as_deref(), Some("ping"));
    assert_eq!(ev.infrastructure, ["invoke"]);

    let app = allowed();
    app.functions
        .answer("orders", "7", ok(json!({"ok": false})));
    let mut ev = evidence();
    app.check_lambda(&plan(Hook::BeforeAllowTraffic), &mut ev, 0, later())
        .await;
    assert_eq!(verdicts(&ev), [("invoke", false)]);
    assert!(ev.infrastructure.is_empty());
    assert!(ev.checks[0].detail.contains("/ok is false, expected true"));

    // A plan made some other way never invokes anything but a published version.
    let app = allowed();
    let mut p = plan(Hook::BeforeAllowTraffic);
    p.function.target_version = Some("$LATEST".into());
    let mut ev = evidence();
    app.check_lambda(&p, &mut ev, 0, later()).await;
    assert_eq!(verdicts(&ev), [("invoke", false)]);
    assert!(app.functions.invocations().is_empty());
}

#[tokio::test]
async fn disabled_checks_invoke_nothing() {
    let app = app(&[(
        "CODEHOOKS_HOOK_POLICY",
        r#"{"lambda": {"hooks": {"AfterAllowTraffic": {"enabled": false}}}}"#,
    )]);
    let mut ev = evidence();
    app.check_lambda(&plan(Hook::AfterAllowTraffic), &mut ev, 0, later())
        .await;
    assert!(ev.checks.is_empty());
    assert!(
        ev.notes
            .iter()
            .any(|n| n == "checks of AfterAllowTraffic for orders are disabled by the policy")
    );
}

fn seed(app: &App<Twins>, running: &str, target: &str) {
    let lifecycle = [
        "Start",
        "BeforeAllowTraffic",
        "AllowTraffic",
        "AfterAllowTraffic",
        "End",
    ]
    .iter()
    .map(|n| {
        let mut e = LifecycleEvent::new(
            n,
            if *n == running {
                "InProgress"
            } else {
                "Pending"
            },
        );
        if *n == "AllowTraffic" {
            e.started_ms = Some(i64::try_from(codehooks::time::now_millis()).unwrap() - 120_000);
        }
        e
    })
    .collect();
    app.deployments.add(
        "d-L1",
        DeploymentFacts {
            platform: Some(ComputePlatform::Lambda),
            application: "orders-app".into(),
            deployment_group: "orders-dg".into(),
            ..DeploymentFacts::default()
        },
        vec![DeploymentTarget::Lambda {
            target_id: "orders".into(),
            lifecycle,
            function: LambdaFunctionInfo {
                target_version: Some(target.into()),
                ..plan(Hook::AfterAllowTraffic).function
            },
        }],
    );
}

fn hook_event() -> LambdaEvent<Value> {
    let mut context = lambda_runtime::Context::default();
    context.invoked_function_arn =
        "arn:aws:lambda:us-east-1:123456789012:function:CodeDeployHook_x".into();
    context.deadline = codehooks::time::now_millis() + 20_000;
    LambdaEvent::new(
        json!({"DeploymentId": "d-L1", "LifecycleEventHookExecutionId": "exec-1"}),
        context,
    )
}

#[tokio::test]
async fn a_lambda_deployment_is_checked_and_reported_end_to_end() {
    let app = allowed();
    seed(&app, "AfterAllowTraffic", "7");
    app.functions.answer("orders", "7", ok(json!({"ok": true})));
    let ev = app.answer(hook_event()).await.unwrap();
    assert_eq!(ev.decision, Decision::Succeeded, "{}", ev.summary);
    assert_eq!(
        app.deployments.status("d-L1", "exec-1"),
        Some(Decision::Succeeded)
    );
    assert!(
        ev.summary.contains("invoke, errors, throttles"),
        "{}",
        ev.summary
    );

    let app = allowed();
    seed(&app, "AfterAllowTraffic", "7");
    app.functions.answer("orders", "7", ok(json!({"ok": true})));
    app.metrics.set("Throttles", &DIMS, 1.0);
    let ev = app.answer(hook_event()).await.unwrap();
    assert_eq!(ev.decision, Decision::Failed);
    assert_eq!(ev.failed_checks, ["throttles"]);
    assert_eq!(app.alerts.as_ref().unwrap().published().len(), 1);

    // A target version that is not published never reaches Lambda.
    let app = allowed();
    seed(&app, "BeforeAllowTraffic", "$LATEST");
    let ev = app.answer(hook_event()).await.unwrap();
    assert_eq!(ev.decision, Decision::Failed);
    assert_eq!(ev.failed_checks, ["discovery"]);
    assert!(app.functions.invocations().is_empty());
}
