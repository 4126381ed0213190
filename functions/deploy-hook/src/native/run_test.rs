//! Unit tests of the Amazon ECS contract against the twins (and, for the probes, a local HTTP
//! server standing for the load balancer): each stage's answer, the payload forms, rollbacks,
//! the window across invocations, the service's own policy and the degraded mode.

use std::io::{BufRead, BufReader, Write};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use codehooks::config::ConfigError;
use serde_json::json;

use super::*;
use crate::config::config_from_pairs;
use crate::facts::RuleCondition;
use crate::fixtures::targets;
use crate::native::fixtures::*;
use crate::twins::Twins;

type TestApp = App<Twins>;

const POLICY: &str = r#"{"default": {"targetHealthWaitMs": 300, "targetHealthPollMs": 100,
    "warmupMs": 0, "requests": 6, "concurrency": 2}}"#;

/// The app over a seeded service whose green answers `healthy` to the load balancer.
fn app(vars: &[(&str, &str)]) -> TestApp {
    let app = bare(vars);
    app.load_balancer
        .push_health(TG_B, targets(3, "healthy", None));
    app
}

/// The app over a seeded service, green's health not set.
fn bare(vars: &[(&str, &str)]) -> TestApp {
    let mut all = vec![("CODEHOOKS_HOOK_POLICY", POLICY)];
    all.extend_from_slice(vars);
    let app: TestApp = App::over_twins(config_from_pairs(all).unwrap());
    seed(&app.services, &app.load_balancer, TG_B, vec![]);
    app
}

/// A local server answering `status`; it records each request's head.
fn server(status: u16) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let record = Arc::clone(&record);
            std::thread::spawn(move || {
                let mut w = stream.try_clone().unwrap();
                let mut r = BufReader::new(stream);
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    head.push_str(&line);
                    if line == "\r\n" {
                        record.lock().unwrap().push(std::mem::take(&mut head));
                        let answer = format!("HTTP/1.1 {status} X\r\nContent-Length: 2\r\n\r\nok");
                        if w.write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (origin, seen)
}

fn context(deadline_in_ms: Option<u64>) -> lambda_runtime::Context {
    let mut c = lambda_runtime::Context::default();
    c.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:codehooks".into();
    c.request_id = "req-1".into();
    if let Some(ms) = deadline_in_ms {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        c.deadline = now + ms;
    }
    c
}

async fn answer(app: &TestApp, payload: &Value) -> NativeAnswer {
    match app.answer_native(payload, &context(None)).await.unwrap() {
        Answer::Native(n) => n,
        other => panic!("not a native answer: {other:?}"),
    }
}

fn calls(app: &TestApp) -> usize {
    app.services.calls().len() + app.load_balancer.calls().len()
}

fn alerts(app: &TestApp) -> Vec<codehooks::alert::Rendered> {
    app.alerts.as_ref().unwrap().published()
}

#[tokio::test]
async fn stages_with_nothing_to_check_answer_at_once_without_a_call() {
    let app = app(&[]);
    for stage in [
        "RECONCILE_SERVICE",
        "TEST_TRAFFIC_SHIFT",
        "PRE_PRODUCTION_TRAFFIC_SHIFT",
        "PRODUCTION_TRAFFIC_SHIFT",
    ] {
        let n = answer(&app, &quiet(stage)).await;
        assert_eq!(
            n.hook_status,
            HookStatus::Succeeded,
            "{stage}: {}",
            n.evidence.summary
        );
        let out = serde_json::to_value(Answer::Native(n)).unwrap();
        assert_eq!(out, json!({"hookStatus": "SUCCEEDED"}));
    }
    assert_eq!(calls(&app), 0);
    assert!(alerts(&app).is_empty());
}

#[tokio::test]
async fn pre_scale_up_is_a_preflight_and_post_scale_up_checks_green_health() {
    let app = app(&[]);
    let n = answer(&app, &quiet("PRE_SCALE_UP")).await;
    assert_eq!(n.hook_status, HookStatus::Succeeded);
    assert_eq!(n.evidence.checks[0].check, "preflight");
    assert!(n.evidence.checks[0].detail.contains("service shop/web"));

    let n = answer(&app, &quiet("POST_SCALE_UP")).await;
    assert_eq!(
        n.hook_status,
        HookStatus::Succeeded,
        "{}",
        n.evidence.summary
    );
    assert_eq!(n.evidence.checks[0].check, "targetHealth");
    assert_eq!(n.evidence.green_target_group.as_deref(), Some("web-b"));
    assert_eq!(n.evidence.platform, Some(Platform::EcsNative));
    assert_eq!(n.evidence.reported, "returned");

    let app = bare(&[]);
    app.load_balancer.push_health(
        TG_B,
        targets(3, "unhealthy", Some("Target.ResponseCodeMismatch")),
    );
    let n = answer(&app, &quiet("POST_SCALE_UP")).await;
    assert_eq!(n.hook_status, HookStatus::Failed);
    assert_eq!(n.evidence.failed_checks, ["targetHealth"]);
    let sent = alerts(&app);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].text.contains("POST_SCALE_UP"), "{}", sent[0].text);
}

#[tokio::test]
async fn a_healthy_green_passes_the_test_traffic_probes_shaped_by_the_rule() {
    let (origin, seen) = server(200);
    let app = app(&[("CODEHOOKS_HOOK_BASE_URL", origin.as_str())]);
    app.load_balancer.set_rule(rule(
        TEST_RULE,
        TG_B,
        TG_A,
        vec![
            RuleCondition::HostHeader(vec!["canary.example.com".into()]),
            RuleCondition::HttpHeader {
                name: "X-Stage".into(),
                values: vec!["green".into()],
            },
            RuleCondition::QueryString(vec![(Some("stage".into()), "green".into())]),
        ],
    ));
    let n = answer(&app, &quiet("POST_TEST_TRAFFIC_SHIFT")).await;
    assert_eq!(
        n.hook_status,
        HookStatus::Succeeded,
        "{}",
        n.evidence.summary
    );
    assert_eq!(n.evidence.probes[0].attempted, 6);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 6);
    for head in &seen {
        let lower = head.to_ascii_lowercase();
        assert!(head.starts_with("GET /?stage=green "), "{head}");
        assert!(lower.contains("host: canary.example.com"), "{head}");
        assert!(lower.contains("x-stage: green"), "{head}");
    }
    assert!(alerts(&app).is_empty());
}

#[tokio::test]
async fn a_failing_green_is_answered_failed_and_alerted() {
    let (origin, _) = server(500);
    let app = app(&[("CODEHOOKS_HOOK_BASE_URL", origin.as_str())]);
    let n = answer(&app, &quiet("POST_TEST_TRAFFIC_SHIFT")).await;
    assert_eq!(n.hook_status, HookStatus::Failed);
    assert!(n.evidence.failed_checks.contains(&"successRate".to_owned()));
    let sent = alerts(&app);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].text.contains("Amazon ECS"), "{}", sent[0].text);

    // Production still on blue: the probes would test blue, so it is refused.
    let n = answer(&app, &quiet("POST_PRODUCTION_TRAFFIC_SHIFT")).await;
    assert_eq!(n.hook_status, HookStatus::Failed);
    assert_eq!(n.evidence.failed_checks, ["listener"]);
}

#[tokio::test]
async fn a_dry_run_answers_succeeded_and_still_alerts() {
    let (origin, _) = server(503);
    let app = app(&[
        ("CODEHOOKS_HOOK_BASE_URL", origin.as_str()),
        ("CODEHOOKS_HOOK_DRY_RUN", "true"),
    ]);
    let n = answer(&app, &quiet("POST_TEST_TRAFFIC_SHIFT")).await;
    assert_eq!(n.hook_status, HookStatus::Succeeded);
    assert!(n.evidence.would_fail);
    assert!(alerts(&app)[0].subject.starts_with("[dry run]"));
}

#[tokio::test]
async fn the_flat_form_gets_the_same_answer_and_a_malformed_payload_is_an_error() {
    let app = app(&[]);
    let mut flat = quiet("POST_SCALE_UP");
    let details = flat["executionDetails"].take();
    flat.as_object_mut().unwrap().remove("executionDetails");
    for (k, v) in details.as_object().unwrap() {
        flat[k] = v.clone();
    }
    let n = answer(&app, &flat).await;
    assert_eq!(
        n.hook_status,
        HookStatus::Succeeded,
        "{}",
        n.evidence.summary
    );
    assert!(n.evidence.notes.iter().any(|x| x.contains("flat form")));

    let before = calls(&app);
    let mut bad = quiet("POST_SCALE_UP");
    bad["lifecycleStage"] = json!("ROLLBACK");
    let e = app.answer_native(&bad, &context(None)).await.unwrap_err();
    assert_eq!(e.kind(), "BadInput");
    assert_eq!(calls(&app), before);
}

#[tokio::test]
async fn a_rollback_is_answered_at_once_at_both_stages_without_a_call_or_an_alert() {
    let mut app = app(&[]);
    app.config_error = Some(ConfigError::single("CODEHOOKS_HOOK_POLICY", "broken"));
    for p in [
        payload(
            "TEST_TRAFFIC_SHIFT",
            json!({GREEN_REV: 0, BLUE_REV: 100}),
            json!({}),
        ),
        payload(
            "PRODUCTION_TRAFFIC_SHIFT",
            json!({}),
            json!({GREEN_REV: 0, BLUE_REV: 100}),
        ),
    ] {
        for _ in 0..2 {
            let n = answer(&app, &p).await;
            assert_eq!(n.hook_status, HookStatus::Succeeded);
            assert_eq!(n.evidence.checks[0].check, "rollback");
        }
    }
    assert_eq!(calls(&app), 0);
    assert!(alerts(&app).is_empty());
}

#[tokio::test]
async fn the_degraded_mode_answers_failed_whatever_dry_run_says() {
    let mut app = app(&[("CODEHOOKS_HOOK_DRY_RUN", "true")]);
    app.config_error = Some(ConfigError::single(
        "CODEHOOKS_HOOK_POLICY",
        "minSuccessRate must be from 0 to 1",
    ));
    let n = answer(&app, &quiet("POST_SCALE_UP")).await;
    assert_eq!(n.hook_status, HookStatus::Failed);
    assert_eq!(n.evidence.failed_checks, ["configuration"]);
    assert_eq!(calls(&app), 0);
    assert_eq!(alerts(&app).len(), 1);
}

#[tokio::test]
async fn the_services_own_policy_applies_and_an_invalid_one_fails() {
    let app = app(&[("CODEHOOKS_HOOK_DRY_RUN", "true")]);
    let mut p = quiet("POST_SCALE_UP");
    p["hookDetails"] = json!({"codehooksPolicy": {"services": {"shop/web": {"hooks": {"POST_SCALE_UP": {"targetHealth": false}}}}}});
    let n = answer(&app, &p).await;
    assert_eq!(n.hook_status, HookStatus::Succeeded);
    assert_eq!(calls(&app), 0, "nothing left to check");

    p["hookDetails"] = json!({"codehooksPolicy": "{\"default\": {\"requests\": 0}}"});
    let n = answer(&app, &p).await;
    assert_eq!(
        n.hook_status,
        HookStatus::Failed,
        "not even a dry run passes it"
    );
    assert_eq!(n.evidence.failed_checks, ["policy"]);
    assert!(
        n.evidence.summary.contains("hookDetails.codehooksPolicy"),
        "{}",
        n.evidence.summary
    );
}

#[tokio::test]
async fn a_long_window_spans_invocations_through_hook_details() {
    let (origin, seen) = server(200);
    let policy = r#"{"default": {"targetHealth": false, "warmupMs": 0, "windowMs": 2500,
        "intervalMs": 100, "concurrency": 1, "callBackDelaySeconds": 7}}"#;
    let app = app(&[
        ("CODEHOOKS_HOOK_BASE_URL", origin.as_str()),
        ("CODEHOOKS_HOOK_POLICY", policy),
        ("CODEHOOKS_HOOK_REPORT_MARGIN_MS", "200"),
    ]);
    let mut p = quiet("POST_TEST_TRAFFIC_SHIFT");
    p["hookDetails"] = json!({"configured": "kept by ECS"});
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let started = std::time::Instant::now();
        let n = match app.answer_native(&p, &context(Some(1_200))).await.unwrap() {
            Answer::Native(n) => n,
            other => panic!("{other:?}"),
        };
        assert!(started.elapsed() < std::time::Duration::from_millis(1_200));
        statuses.push(n.hook_status);
        if n.hook_status != HookStatus::InProgress {
            let w = n.evidence.window.clone().expect(&n.evidence.summary);
            assert!(w.complete && w.invocations == 3, "{w:?}");
            assert!(n.evidence.probes[0].attempted as usize >= seen.lock().unwrap().len() - 1);
            break;
        }
        assert_eq!(n.call_back_delay, Some(7));
        let details = n.hook_details.unwrap();
        assert!(serde_json::to_string(&details).unwrap().len() < window::STATE_LIMIT);
        // ECS merges the returned details into the configured ones.
        for (k, v) in details {
            p["hookDetails"][k] = v;
        }
    }
    assert_eq!(
        statuses,
        [
            HookStatus::InProgress,
            HookStatus::InProgress,
            HookStatus::Succeeded
        ]
    );
}
