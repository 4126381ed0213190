//! Unit tests of `probe.rs`.

use super::*;
use std::collections::BTreeMap;

use crate::policy::{Checks, Hook, JsonField, VersionAssertion};
use reqwest::header::{HeaderMap, HeaderValue};

fn criteria(f: impl FnOnce(&mut Checks)) -> Criteria {
    let mut checks = Checks::defaults(Hook::AfterAllowTestTraffic);
    f(&mut checks);
    Criteria {
        checks,
        version_token: Some("shop:42".into()),
    }
}

#[test]
fn judges_status_body_json_and_version() {
    let h = HeaderMap::new();
    let c = criteria(|_| {});
    assert_eq!(c.judge(200, &h, b""), Verdict::Pass);
    assert!(matches!(c.judge(503, &h, b""), Verdict::Fail("status", _)));
    let c = criteria(|c| c.body_contains = Some("ok".into()));
    assert!(matches!(
        c.judge(200, &h, b"nope"),
        Verdict::Fail("body", _)
    ));
    let c = criteria(|c| {
        c.json_field = Some(JsonField {
            pointer: "/status".into(),
            equals: serde_json::json!("UP"),
        })
    });
    assert_eq!(c.judge(200, &h, br#"{"status":"UP"}"#), Verdict::Pass);
    assert!(matches!(
        c.judge(200, &h, br#"{"status":"DOWN"}"#),
        Verdict::Fail("json", _)
    ));
    assert!(matches!(
        c.judge(200, &h, b"<html>"),
        Verdict::Fail("json", _)
    ));
    let c = criteria(|c| {
        c.version = Some(VersionAssertion {
            header: Some("x-app-version".into()),
            expected: "{taskDefinition}".into(),
        })
    });
    let mut h2 = HeaderMap::new();
    h2.insert("x-app-version", HeaderValue::from_static("shop:41"));
    assert!(matches!(
        c.judge(200, &h2, b""),
        Verdict::Fail("version", _)
    ));
    h2.insert("x-app-version", HeaderValue::from_static("shop:42"));
    assert_eq!(c.judge(200, &h2, b""), Verdict::Pass);
}

/// A local HTTP server answering 200 after `delay`; returns its origin.
fn server(delay: Duration) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut w = stream.try_clone().unwrap();
                let mut r = BufReader::new(stream);
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if line == "\r\n" {
                        std::thread::sleep(delay);
                        let _ = w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                    }
                }
            });
        }
    });
    origin
}

fn endpoint(origin: String) -> Endpoint {
    Endpoint {
        connect_to: origin.clone(),
        origin,
        resolve: None,
    }
}

#[tokio::test]
async fn a_time_window_paces_the_probes() {
    let e = endpoint(server(Duration::ZERO));
    let mut checks = Checks::defaults(Hook::AfterAllowTestTraffic);
    checks.window_ms = Some(1_000);
    checks.interval_ms = 200;
    checks.concurrency = 1;
    let client = client(&checks, &e).unwrap();
    let criteria = Arc::new(Criteria {
        checks,
        version_token: None,
    });
    let until = Instant::now() + Duration::from_secs(10);
    let r = probe_path(&client, &e, "/", criteria, false, until).await;
    assert!((4..=6).contains(&r.attempted), "{r:?}");
    assert_eq!(r.success_rate, 1.0);
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout_and_the_budget_is_kept() {
    let e = endpoint(server(Duration::from_millis(400)));
    let mut checks = Checks::defaults(Hook::AfterAllowTestTraffic);
    checks.timeout_ms = 100;
    checks.requests = 50;
    checks.concurrency = 2;
    checks.max_consecutive_failures = 1000;
    checks.min_success_rate = 0.0;
    let client = client(&checks, &e).unwrap();
    let criteria = Arc::new(Criteria {
        checks: checks.clone(),
        version_token: None,
    });
    let start = Instant::now();
    let until = start + Duration::from_millis(700);
    let r = probe_path(&client, &e, "/", criteria, false, until).await;
    assert!(
        start.elapsed() < Duration::from_millis(1_000),
        "kept the budget"
    );
    assert!(
        r.failures.get("timeout").copied().unwrap_or(0) >= 2,
        "{r:?}"
    );
    assert!(r.attempted < 50);
    let mut out = Vec::new();
    evaluate(&checks, &r, &mut out);
    assert!(
        out.iter().any(|c| c.check == "deadline" && !c.passed),
        "{out:?}"
    );
}

#[test]
fn percentiles_use_nearest_rank() {
    let v: Vec<f64> = (1..=100).map(f64::from).collect();
    assert_eq!(percentile(&v, 0.95), Some(95.0));
    assert_eq!(percentile(&v, 0.99), Some(99.0));
    assert_eq!(percentile(&[5.0], 0.95), Some(5.0));
    assert_eq!(percentile(&[], 0.5), None);
}

#[test]
fn stops_early_when_the_result_can_no_longer_pass() {
    assert_eq!(allowance(20, 0.95), 1);
    assert_eq!(allowance(30, 0.95), 1);
    assert_eq!(allowance(10, 1.0), 0);
    let mut c = Checks::defaults(Hook::AfterAllowTestTraffic);
    c.requests = 20;
    c.max_consecutive_failures = 100;
    let mut a = Acc::default();
    a.record(
        &c,
        Some(20),
        Verdict::Fail("status", "HTTP 500".into()),
        Some(1.0),
    );
    assert!(a.stop.is_none());
    a.record(&c, Some(20), Verdict::Pass, Some(1.0));
    a.record(
        &c,
        Some(20),
        Verdict::Fail("status", "HTTP 500".into()),
        Some(1.0),
    );
    assert!(a.stop.as_deref().unwrap().contains("success rate"));
    let mut a = Acc::default();
    c.max_consecutive_failures = 2;
    c.min_success_rate = 0.0;
    a.record(&c, Some(20), Verdict::Fail("timeout", String::new()), None);
    a.record(&c, Some(20), Verdict::Fail("timeout", String::new()), None);
    assert!(a.stop.as_deref().unwrap().contains("consecutive"));
}

#[test]
fn evaluation_names_the_failed_checks() {
    let c = Checks::defaults(Hook::AfterAllowTestTraffic);
    let r = PathReport {
        path: "/".into(),
        url: "http://x/".into(),
        planned: 30,
        attempted: 30,
        succeeded: 20,
        failed: 10,
        success_rate: 20.0 / 30.0,
        p95_ms: Some(2500.0),
        max_consecutive_failures: 2,
        failures: BTreeMap::from([("status".to_owned(), 10)]),
        ..PathReport::default()
    };
    let mut out = Vec::new();
    evaluate(&c, &r, &mut out);
    let failed: Vec<&str> = out
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.check.as_str())
        .collect();
    assert_eq!(failed, ["successRate", "p95Latency"]);
    assert!(out[0].detail.contains("status: 10"));
}
