//! Unit tests of `lib.rs`.

use super::*;

#[test]
fn parses_the_hook_payload_and_refuses_anything_else() {
    let ok = HookPayload::parse(&json!({"DeploymentId": "d-ABCDEF123", "LifecycleEventHookExecutionId": "eyJlbmNyeXB0ZWREYXRhIjoi"})).unwrap();
    assert_eq!(ok.deployment_id, "d-ABCDEF123");
    for bad in [
        json!({}),
        json!({"DeploymentId": "d-ABCDEF123"}),
        json!({"DeploymentId": "", "LifecycleEventHookExecutionId": "x"}),
        json!({"DeploymentId": 5, "LifecycleEventHookExecutionId": "x"}),
        json!({"DeploymentId": "arn:nope", "LifecycleEventHookExecutionId": "x"}),
        json!({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "a b"}),
        json!("just a string"),
    ] {
        let e = HookPayload::parse(&bad).unwrap_err();
        assert_eq!(e.kind(), "BadInput", "{bad}");
    }
}

#[test]
fn settings_validate_every_variable() {
    let s = settings_from_pairs([
        ("CODEHOOKS_HOOK_BASE_URL", "http://127.0.0.1:{port}"),
        ("CODEHOOKS_HOOK_PATHS", "/health, /ready"),
        ("CODEHOOKS_HOOK_DRY_RUN", "true"),
    ])
    .unwrap();
    assert!(s.dry_run && !s.fail_open);
    assert_eq!(
        s.policy.checks(Hook::AfterAllowTraffic, "g").paths,
        ["/health", "/ready"]
    );
    assert_eq!(
        parse_base_url("http://127.0.0.1:{port}", 8443).unwrap(),
        ("http".into(), "127.0.0.1".into(), 8443)
    );

    let err = settings_from_pairs([
        (
            "CODEHOOKS_HOOK_POLICY",
            r#"{"hooks": {"AfterAllowTestTraffic": {"requests": 0}}}"#,
        ),
        ("CODEHOOKS_HOOK_BASE_URL", "ftp://x"),
        ("CODEHOOKS_HOOK_FAIL_OPEN", "perhaps"),
        (
            "CODEHOOKS_ALERT_TOPIC_ARN",
            "arn:aws:sqs:us-east-1:123456789012:q",
        ),
    ])
    .unwrap_err();
    let names: Vec<&str> = err.problems.iter().map(|p| p.variable.as_str()).collect();
    assert_eq!(
        names,
        [
            "CODEHOOKS_HOOK_POLICY",
            "CODEHOOKS_HOOK_BASE_URL",
            "CODEHOOKS_HOOK_FAIL_OPEN",
            "CODEHOOKS_ALERT_TOPIC_ARN"
        ]
    );
    let err = settings_from_pairs([("CODEHOOKS_HOOK_PATHS", "health")]).unwrap_err();
    assert_eq!(err.problems[0].variable, "CODEHOOKS_HOOK_PATHS");
    let err = settings_from_pairs([("CODEHOOKS_HOOK_BASE_URL", "http://user:pw@h:1")]).unwrap_err();
    assert!(err.to_string().contains("credentials"));
}

fn plan_with(td: Option<&str>) -> Plan {
    Plan {
        deployment_id: "d-ABC".into(),
        application: "a".into(),
        deployment_group: "g".into(),
        hook: Hook::AfterAllowTestTraffic,
        target_type: "ECSTarget".into(),
        target_id: "c:s".into(),
        task_sets: vec![],
        green: None,
        blue: None,
        desired_count: None,
        listener: None,
        task_definition: td.map(str::to_owned),
        notes: vec![],
    }
}

#[test]
fn expands_the_version_token() {
    let p = plan_with(Some("shop:42"));
    assert_eq!(
        expand_version("rev-{taskDefinitionRevision}", &p).unwrap(),
        "rev-42"
    );
    assert_eq!(expand_version("{taskDefinition}", &p).unwrap(), "shop:42");
    assert_eq!(expand_version("{deploymentId}", &p).unwrap(), "d-ABC");
    assert!(expand_version("{taskDefinition}", &plan_with(None)).is_err());
}

fn listener(protocol: &str) -> discovery::ListenerInfo {
    discovery::ListenerInfo {
        role: policy::ListenerRole::Test,
        arn: "arn:l".into(),
        protocol: protocol.into(),
        port: 8443,
        load_balancer_dns: "127.0.0.1".into(),
        forwards_to: vec![],
    }
}

#[tokio::test]
async fn endpoints_keep_tls_names_verified() {
    let e = endpoint(None, &listener("HTTP"), None).await.unwrap();
    assert_eq!(e.origin, "http://127.0.0.1:8443");
    let err = endpoint(None, &listener("HTTPS"), None).await.unwrap_err();
    assert!(err.contains("CODEHOOKS_HOOK_HOST_NAME"), "{err}");
    let e = endpoint(None, &listener("HTTPS"), Some("shop.example.com"))
        .await
        .unwrap();
    assert_eq!(e.origin, "https://shop.example.com:8443");
    let (host, addrs) = e.resolve.unwrap();
    assert_eq!(host, "shop.example.com");
    assert_eq!(addrs, [SocketAddr::from(([127, 0, 0, 1], 8443))]);
    let e = endpoint(Some("http://127.0.0.1:{port}"), &listener("HTTPS"), None)
        .await
        .unwrap();
    assert_eq!(e.origin, "http://127.0.0.1:8443");
}

#[test]
fn decisions_follow_dry_run_and_fail_open() {
    let p = HookPayload {
        deployment_id: "d-1".into(),
        hook_execution_id: "x".into(),
    };
    let base = settings_from_pairs([]).unwrap();
    let mut ev = Evidence::new(&p);
    ev.checks
        .push(CheckResult::new("successRate", false, Some("/"), "1 of 10"));
    ev.decide(&base);
    assert_eq!(ev.decision, Decision::Failed);
    assert_eq!(ev.failed_checks, ["successRate"]);

    let dry = Settings {
        dry_run: true,
        ..base.clone()
    };
    let mut ev2 = ev.clone();
    ev2.decide(&dry);
    assert_eq!(ev2.decision, Decision::Succeeded);
    assert!(ev2.would_fail && ev2.summary.starts_with("DRY RUN"));

    // Fail-open passes errors, never failed checks.
    let open = Settings {
        fail_open: true,
        ..base.clone()
    };
    let mut ev3 = ev.clone();
    ev3.decide(&open);
    assert_eq!(ev3.decision, Decision::Failed);
    let mut ev4 = Evidence::new(&p);
    ev4.error = Some("GetDeployment failed".into());
    ev4.checks.push(CheckResult::new(
        "discovery",
        false,
        None,
        "GetDeployment failed",
    ));
    ev4.infrastructure.push("discovery".into());
    ev4.decide(&open);
    assert_eq!(ev4.decision, Decision::Succeeded);
    assert!(ev4.fail_open);
    assert!(ev4.subject().len() <= 100);
    // Out of time, but green had already failed a check: still Failed.
    let mut ev5 = ev.clone();
    ev5.checks
        .push(CheckResult::new("deadline", false, None, "out of time"));
    ev5.decide(&open);
    assert_eq!(ev5.decision, Decision::Failed);
    // Only out of time: fail-open passes it.
    let mut ev6 = Evidence::new(&p);
    ev6.checks.push(CheckResult::new(
        "deadline",
        false,
        Some("/"),
        "out of time",
    ));
    ev6.decide(&open);
    assert_eq!(ev6.decision, Decision::Succeeded);
}

fn attrs(ev: &Evidence) -> Vec<(&'static str, String)> {
    ev.attributes()
}

#[test]
fn alert_attributes_match_build_alerts_and_keep_the_hooks_own() {
    let p = HookPayload {
        deployment_id: "d-ATTRS0001".into(),
        hook_execution_id: "x".into(),
    };
    let base = settings_from_pairs([]).unwrap();
    let mut ev = Evidence::new(&p);
    ev.application = Some("shop".into());
    ev.deployment_group = Some("shop-prod".into());
    ev.hook = Some("AfterAllowTestTraffic".into());
    ev.region = Some("eu-west-1".into());
    ev.account = Some("123456789012".into());
    ev.checks
        .push(CheckResult::new("successRate", false, Some("/"), "1 of 10"));
    ev.decide(&base);
    let to = |v: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        v.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    };
    assert_eq!(
        attrs(&ev),
        to(&[
            ("source", "deploy-hook"),
            ("name", "shop/shop-prod"),
            ("state", "Failed"),
            ("severity", "error"),
            ("region", "eu-west-1"),
            ("account", "123456789012"),
            ("decision", "Failed"),
            ("deploymentId", "d-ATTRS0001"),
            ("hook", "AfterAllowTestTraffic"),
        ])
    );
    // SNS takes at most 10 attributes per message.
    assert!(attrs(&ev).len() <= 10);

    let mut dry = ev.clone();
    dry.decide(&Settings {
        dry_run: true,
        ..base.clone()
    });
    let a = attrs(&dry);
    assert!(a.contains(&("state", "DryRunFailed".into())), "{a:?}");
    assert!(a.contains(&("severity", "warning".into())), "{a:?}");
    assert!(a.contains(&("decision", "Succeeded".into())), "{a:?}");

    let mut open = Evidence::new(&p);
    open.error = Some("GetDeployment failed".into());
    open.checks.push(CheckResult::new(
        "discovery",
        false,
        None,
        "GetDeployment failed",
    ));
    open.infrastructure.push("discovery".into());
    open.decide(&Settings {
        fail_open: true,
        ..base.clone()
    });
    let a = attrs(&open);
    assert!(a.contains(&("state", "FailOpenSucceeded".into())), "{a:?}");
    assert!(a.contains(&("severity", "warning".into())), "{a:?}");
    // Unknown application, group and account: no `name`, no `account`, nothing empty.
    let keys: Vec<&str> = a.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        keys,
        [
            "source",
            "state",
            "severity",
            "decision",
            "deploymentId",
            "hook"
        ]
    );
    assert!(a.iter().all(|(_, v)| !v.is_empty()));
    assert_eq!(open.subject(), "codehooks: d-ATTRS0001 would have failed");
}

#[tokio::test]
async fn an_invalid_configuration_still_serves_and_reports_failed() {
    use aws_sdk_codedeploy::operation::put_lifecycle_event_hook_execution_status::PutLifecycleEventHookExecutionStatusOutput;
    use aws_smithy_mocks::{mock, mock_client};

    let Service { app, config_error } = Service::from_lookup(|name| match name {
        "AWS_MAX_ATTEMPTS" => Some("zero".into()),
        "CODEHOOKS_HOOK_DRY_RUN" => Some("true".into()),
        "CODEHOOKS_HOOK_FAIL_OPEN" => Some("true".into()),
        _ => None,
    })
    .await;
    let problem = config_error.expect("a configuration error");
    assert_eq!(problem.problems[0].variable, "AWS_MAX_ATTEMPTS");
    // The wrong AWS options give way to the defaults; dry run and fail-open are not trusted.
    assert_eq!(app.common.aws, AwsOptions::default());
    assert!(!app.settings.dry_run && !app.settings.fail_open);

    let put = mock!(aws_sdk_codedeploy::Client::put_lifecycle_event_hook_execution_status)
        .match_requests(|r| {
            r.deployment_id() == Some("d-CONFIG001")
                && r.lifecycle_event_hook_execution_id() == Some("exec-1")
                && r.status() == Some(&LifecycleEventStatus::Failed)
        })
        .then_output(|| PutLifecycleEventHookExecutionStatusOutput::builder().build());
    let service = Service {
        app: App {
            clients: Clients {
                codedeploy: mock_client!(aws_sdk_codedeploy, [&put]),
                elb: app.clients.elb.clone(),
            },
            ..app
        },
        config_error: Some(problem),
    };
    let mut context = lambda_runtime::Context::default();
    context.invoked_function_arn =
        "arn:aws:lambda:us-east-1:123456789012:function:CodeDeployHook_x".into();

    let bad = service
        .handle(LambdaEvent::new(json!({"hello": 1}), context.clone()))
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), "BadInput");
    assert_eq!(put.num_calls(), 0);

    let err = service
        .handle(LambdaEvent::new(
            json!({"DeploymentId": "d-CONFIG001", "LifecycleEventHookExecutionId": "exec-1"}),
            context,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "Config");
    assert!(err.to_string().contains("AWS_MAX_ATTEMPTS"), "{err}");
    assert_eq!(put.num_calls(), 1);
}
