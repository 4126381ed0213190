//! Unit tests of `settings.rs`.

use super::*;
use crate::policy::Hook;

#[test]
fn settings_validate_every_variable() {
    let s = config_from_pairs([
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

    let err = config_from_pairs([
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
    let err = config_from_pairs([("CODEHOOKS_HOOK_PATHS", "health")]).unwrap_err();
    assert_eq!(err.problems[0].variable, "CODEHOOKS_HOOK_PATHS");
    let err = config_from_pairs([("CODEHOOKS_HOOK_BASE_URL", "http://user:pw@h:1")]).unwrap_err();
    assert!(err.to_string().contains("credentials"));
    // A topic in another partition is an SNS topic too.
    let s = config_from_pairs([(
        "CODEHOOKS_ALERT_TOPIC_ARN",
        "arn:aws-cn:sns:cn-north-1:123456789012:alerts",
    )])
    .unwrap();
    assert!(s.alert_topic_arn.is_some());
}

#[test]
fn base_url_errors_say_what_is_wrong() {
    for (url, want) in [
        ("not a url", "must be a URL"),
        ("ftp://h:{port}", "\"ftp\""),
        ("http://u:p@h:{port}", "credentials"),
    ] {
        let e = parse_base_url(url, 80).unwrap_err();
        assert!(e.to_string().contains(want), "{url}: {e}");
    }
    assert!(matches!(
        parse_base_url("ftp://h", 80),
        Err(BaseUrlError::Scheme(_))
    ));
}

#[test]
fn the_degraded_settings_trust_neither_dry_run_nor_fail_open() {
    let s = config_from_pairs([
        ("CODEHOOKS_HOOK_DRY_RUN", "true"),
        ("CODEHOOKS_HOOK_FAIL_OPEN", "true"),
    ])
    .unwrap()
    .degraded();
    assert!(!s.dry_run && !s.fail_open);
}

#[test]
fn the_alerts_table_is_optional_and_checked() {
    let none = config_from_pairs([]).unwrap();
    assert_eq!(none.alerts_table, None);
    let table =
        config_from_pairs([("CODEHOOKS_ALERTS_TABLE", "stack-BuildAlertsTable-1X2")]).unwrap();
    assert_eq!(
        table.alerts_table.as_deref(),
        Some("stack-BuildAlertsTable-1X2")
    );
    let err = config_from_pairs([("CODEHOOKS_ALERTS_TABLE", "no spaces")]).unwrap_err();
    assert!(err.to_string().contains("CODEHOOKS_ALERTS_TABLE"), "{err}");
    // The degraded mode drops a table it could not use.
    let mut env = codehooks::config::Env::from_pairs([("CODEHOOKS_ALERTS_TABLE", "x")]);
    assert_eq!(Config::read(&mut env).degraded().alerts_table, None);
}

#[test]
fn the_lambda_functions_are_a_checked_list_of_names() {
    assert!(config_from_pairs([]).unwrap().lambda_functions.is_empty());
    let s = config_from_pairs([(
        "CODEHOOKS_HOOK_LAMBDA_FUNCTIONS",
        " orders, billing-api ,,CodeDeployHook_x",
    )])
    .unwrap();
    assert_eq!(
        s.lambda_functions,
        ["orders", "billing-api", "CodeDeployHook_x"]
    );
    let err = config_from_pairs([(
        "CODEHOOKS_HOOK_LAMBDA_FUNCTIONS",
        "orders,orders:live,arn:aws:lambda:us-east-1:123456789012:function:x",
    )])
    .unwrap_err();
    assert_eq!(err.problems.len(), 1);
    assert_eq!(err.problems[0].variable, "CODEHOOKS_HOOK_LAMBDA_FUNCTIONS");
    let text = err.to_string();
    assert!(text.contains("not: orders:live, arn:aws:lambda"), "{text}");
}

#[test]
fn the_contracts_are_a_checked_list_defaulting_to_all() {
    use crate::contract::Kind;
    assert_eq!(config_from_pairs([]).unwrap().contracts, Kind::ALL.to_vec());
    let s = config_from_pairs([("CODEHOOKS_HOOK_CONTRACTS", "pipeline, pipeline")]).unwrap();
    assert_eq!(s.contracts, vec![Kind::Pipeline]);
    let s = config_from_pairs([("CODEHOOKS_HOOK_CONTRACTS", "codedeploy,ecs")]).unwrap();
    assert_eq!(s.contracts, vec![Kind::CodeDeploy, Kind::Ecs]);
    let e = config_from_pairs([("CODEHOOKS_HOOK_CONTRACTS", "codedeploy,pipelines")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("CODEHOOKS_HOOK_CONTRACTS") && e.contains("pipelines"),
        "{e}"
    );
}
