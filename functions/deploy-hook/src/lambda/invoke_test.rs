//! Unit tests of the test-event invocations, over the Lambda twin.

use serde_json::json;

use super::*;
use crate::hook::Hook;
use crate::lambda::policy::Expectation;
use crate::twins_lambda::MemoryFunctions;

fn ok(payload: Value) -> InvokeResult {
    InvokeResult {
        status: 200,
        function_error: None,
        executed_version: Some("7".into()),
        payload: payload.to_string().into_bytes(),
        duration_ms: 12.0,
    }
}

fn event(name: &str, payload: Value, expect: &[(&str, Value)]) -> TestEvent {
    TestEvent {
        name: name.into(),
        payload,
        expect: expect
            .iter()
            .map(|(p, v)| Expectation {
                pointer: (*p).into(),
                equals: v.clone(),
            })
            .collect(),
    }
}

fn checks(events: Vec<TestEvent>) -> LambdaChecks {
    LambdaChecks {
        events,
        ..LambdaChecks::defaults(Hook::BeforeAllowTraffic)
    }
}

fn later(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms)
}

#[tokio::test]
async fn each_event_goes_to_the_target_version_the_configured_number_of_times() {
    let f = MemoryFunctions::new();
    f.answer("orders", "7", ok(json!({"ok": true})));
    let c = LambdaChecks {
        invocations: 4,
        ..checks(vec![
            event("ping", json!({"ping": 1}), &[("/ok", json!(true))]),
            event("list", json!([1, 2]), &[]),
        ])
    };
    let reports = invoke_events(&f, "orders", "7", &c, later(5_000)).await;
    assert_eq!(reports.len(), 2);
    for r in &reports {
        assert_eq!(
            (r.planned, r.attempted, r.succeeded, r.failed),
            (4, 4, 4, 0)
        );
        assert_eq!(r.qualifier, "7");
        assert_eq!(r.p95_ms, Some(12.0));
        assert!(r.stopped_early.is_none());
    }
    let calls = f.invocations();
    assert_eq!(calls.len(), 8);
    assert!(calls.iter().all(|(f, q, _)| f == "orders" && q == "7"));
    assert_eq!(calls[0].2, br#"{"ping":1}"#);
    assert_eq!(calls[7].2, b"[1,2]");

    let mut out = Vec::new();
    evaluate(&c, "orders", &reports[0], &mut out);
    assert_eq!(out.len(), 1);
    assert!(out[0].passed);
    assert_eq!(out[0].check, "invoke");
    assert_eq!(out[0].path.as_deref(), Some("ping"));
    assert_eq!(out[0].detail, "4 of 4 invocations of orders:7 passed");
}

#[tokio::test]
async fn at_most_concurrency_invocations_run_at_once() {
    let f = MemoryFunctions::new();
    f.answer("orders", "7", ok(json!({})));
    f.delay("orders", "7", Duration::from_millis(30));
    let c = LambdaChecks {
        invocations: 9,
        concurrency: 3,
        ..checks(vec![event("e", json!({}), &[])])
    };
    let r = invoke_event(&f, "orders", "7", &c.events[0], &c, later(5_000)).await;
    assert_eq!(r.succeeded, 9);
    assert_eq!(f.max_in_flight(), 3);

    let f = MemoryFunctions::new();
    f.answer("orders", "7", ok(json!({})));
    f.delay("orders", "7", Duration::from_millis(10));
    let c = LambdaChecks {
        invocations: 3,
        concurrency: 1,
        ..c
    };
    invoke_event(&f, "orders", "7", &c.events[0], &c, later(5_000)).await;
    assert_eq!(f.max_in_flight(), 1);
}

#[tokio::test]
async fn a_function_error_fails_the_event_with_a_bounded_sample() {
    let f = MemoryFunctions::new();
    let long = "x".repeat(2_000);
    f.answer(
        "orders",
        "7",
        InvokeResult {
            function_error: Some("Unhandled".into()),
            ..ok(json!({"errorType": "TypeError", "errorMessage": long}))
        },
    );
    let c = checks(vec![event("ping", json!({}), &[])]);
    let r = invoke_event(&f, "orders", "7", &c.events[0], &c, later(5_000)).await;
    assert_eq!((r.attempted, r.failed), (3, 3));
    assert_eq!(r.failures["FunctionError Unhandled"], 3);
    assert_eq!(r.samples.len(), 3);
    assert!(r.samples[0].contains("TypeError"));
    assert!(r.samples[0].chars().count() < 400, "{}", r.samples[0]);
    assert!(!r.could_not_invoke());
    // An answer that is not Lambda's error shape is shown as it came.
    let plain = InvokeResult {
        function_error: Some("Handled".into()),
        ..ok(json!(["odd"]))
    };
    assert_eq!(
        judge(&plain, "7", &c.events[0]),
        Some(("FunctionError Handled".into(), r#"["odd"]"#.into()))
    );
    let mut out = Vec::new();
    evaluate(&c, "orders", &r, &mut out);
    assert!(!out[0].passed);
    assert!(
        out[0]
            .detail
            .starts_with("3 of 3 invocations of orders:7 failed (FunctionError Unhandled: 3); FunctionError Unhandled: TypeError: xxx"),
        "{}",
        out[0].detail
    );
}

#[test]
fn answers_are_judged_on_status_version_and_expectations() {
    let e = event(
        "e",
        json!({}),
        &[("/status", json!("ok")), ("/n", json!(2))],
    );
    assert_eq!(judge(&ok(json!({"status": "ok", "n": 2})), "7", &e), None);
    let (kind, sample) = judge(&ok(json!({"status": "ok", "n": 3})), "7", &e).unwrap();
    assert_eq!(kind, "expect /n");
    assert_eq!(sample, "/n is 3, expected 2");
    let (kind, sample) = judge(&ok(json!({"n": 2})), "7", &e).unwrap();
    assert_eq!(
        (kind.as_str(), sample.as_str()),
        ("expect /status", "/status is nothing, expected \"ok\"")
    );
    let not_json = InvokeResult {
        payload: b"plain".to_vec(),
        ..ok(json!(null))
    };
    assert_eq!(judge(&not_json, "7", &e).unwrap().0, "payload is not JSON");
    let status = InvokeResult {
        status: 202,
        ..ok(json!({}))
    };
    assert_eq!(judge(&status, "7", &e).unwrap().0, "status 202");
    let other = InvokeResult {
        executed_version: Some("6".into()),
        ..ok(json!({"status": "ok", "n": 2}))
    };
    assert_eq!(judge(&other, "7", &e).unwrap().0, "executed version 6");
    // Without expectations any payload passes, JSON or not.
    let bare = event("e", json!({}), &[]);
    assert_eq!(judge(&not_json, "7", &bare), None);
    // The whole answer, with the empty pointer.
    let whole = event("e", json!({}), &[("", json!({"a": 1}))]);
    assert_eq!(judge(&ok(json!({"a": 1})), "7", &whole), None);
}

#[tokio::test]
async fn expectations_are_checked_per_event() {
    let f = MemoryFunctions::new();
    f.answer_to(
        "orders",
        "7",
        &json!({"q": "good"}),
        ok(json!({"ok": true})),
    );
    f.answer_to(
        "orders",
        "7",
        &json!({"q": "bad"}),
        ok(json!({"ok": false})),
    );
    let c = checks(vec![
        event("good", json!({"q": "good"}), &[("/ok", json!(true))]),
        event("bad", json!({"q": "bad"}), &[("/ok", json!(true))]),
    ]);
    let reports = invoke_events(&f, "orders", "7", &c, later(5_000)).await;
    let mut out = Vec::new();
    for r in &reports {
        evaluate(&c, "orders", r, &mut out);
    }
    let verdicts: Vec<(Option<&str>, bool)> =
        out.iter().map(|c| (c.path.as_deref(), c.passed)).collect();
    assert_eq!(verdicts, [(Some("good"), true), (Some("bad"), false)]);
    assert!(out[1].detail.contains("expect /ok: 3"), "{}", out[1].detail);
}

#[tokio::test]
async fn slow_invocations_time_out_and_latency_limits_apply() {
    let f = MemoryFunctions::new();
    f.answer("orders", "7", ok(json!({})));
    f.delay("orders", "7", Duration::from_millis(400));
    let c = LambdaChecks {
        timeout_ms: 100,
        invocations: 2,
        ..checks(vec![event("slow", json!({}), &[])])
    };
    let r = invoke_event(&f, "orders", "7", &c.events[0], &c, later(5_000)).await;
    assert_eq!((r.attempted, r.failed), (2, 2));
    assert_eq!(r.failures["timeout"], 2);
    assert_eq!(r.p95_ms, None);

    let f = MemoryFunctions::new();
    f.answer(
        "orders",
        "7",
        InvokeResult {
            duration_ms: 250.0,
            ..ok(json!({}))
        },
    );
    let c = LambdaChecks {
        max_p95_ms: Some(200),
        max_p99_ms: Some(300),
        ..checks(vec![event("e", json!({}), &[])])
    };
    let r = invoke_event(&f, "orders", "7", &c.events[0], &c, later(5_000)).await;
    let mut out = Vec::new();
    evaluate(&c, "orders", &r, &mut out);
    let got: Vec<(&str, bool)> = out.iter().map(|c| (c.check.as_str(), c.passed)).collect();
    assert_eq!(
        got,
        [
            ("invoke", true),
            ("p95Latency", false),
            ("p99Latency", true)
        ]
    );
    assert_eq!(out[1].detail, "250.0 ms (limit 200 ms)");
}

#[tokio::test]
async fn the_time_budget_stops_invocations() {
    let f = MemoryFunctions::new();
    f.answer("orders", "7", ok(json!({})));
    f.delay("orders", "7", Duration::from_millis(80));
    let c = LambdaChecks {
        invocations: 10,
        concurrency: 1,
        ..checks(vec![event("e", json!({}), &[])])
    };
    let r = invoke_event(&f, "orders", "7", &c.events[0], &c, later(200)).await;
    assert!(r.attempted < 10 && r.attempted >= 1, "{r:?}");
    assert_eq!(r.failed, 0);
    let mut out = Vec::new();
    evaluate(&c, "orders", &r, &mut out);
    let deadline = out.iter().find(|c| c.check == "deadline").unwrap();
    assert!(!deadline.passed);
    assert!(
        deadline.detail.contains("time budget ran out"),
        "{}",
        deadline.detail
    );

    // Nothing left at all: nothing is invoked.
    let f = MemoryFunctions::new();
    let r = invoke_event(&f, "orders", "7", &c.events[0], &c, Instant::now()).await;
    assert_eq!(r.attempted, 0);
    assert!(f.invocations().is_empty());
    let mut out = Vec::new();
    evaluate(&c, "orders", &r, &mut out);
    assert!(!out[0].passed);
    assert_eq!(out[0].detail, "no invocation of orders:7 ended");
}

#[tokio::test]
async fn aws_errors_are_told_apart_from_failures_of_the_function() {
    let f = MemoryFunctions::new();
    let c = checks(vec![event("e", json!({}), &[])]);
    // No answer configured: every call is a ResourceNotFoundException.
    let r = invoke_event(&f, "orders", "7", &c.events[0], &c, later(5_000)).await;
    assert_eq!(r.failures["AWS ResourceNotFoundException"], 3);
    assert!(r.could_not_invoke());

    f.answer("orders", "7", ok(json!({})));
    f.fail(1, true);
    let r = invoke_event(&f, "orders", "7", &c.events[0], &c, later(5_000)).await;
    assert_eq!((r.succeeded, r.failed, r.aws_errors), (2, 1, 1));
    assert!(r.could_not_invoke());
}
