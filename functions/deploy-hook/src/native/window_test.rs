//! Unit tests of the probe window's state.

use serde_json::json;

use super::*;
use crate::hook::Hook;
use crate::native::fixtures::*;

fn checks(window_ms: u64, paths: &[&str]) -> Checks {
    let mut c = Checks::defaults(Hook::PostTestTrafficShift);
    c.window_ms = Some(window_ms);
    c.paths = paths.iter().map(|p| (*p).to_owned()).collect();
    c
}

fn event_with(details: Option<serde_json::Value>) -> NativeEvent {
    let mut v = quiet("POST_TEST_TRAFFIC_SHIFT");
    if let Some(d) = details {
        v["hookDetails"] = d;
    }
    NativeEvent::parse(&v).unwrap()
}

fn report(passes: &[bool], latency: f64, probed_ms: u64) -> PathReport {
    let failed = passes.iter().filter(|p| !**p).count() as u32;
    let leading = passes.iter().take_while(|p| !**p).count() as u32;
    let trailing = passes.iter().rev().take_while(|p| !**p).count() as u32;
    let mut max = 0;
    let mut run = 0;
    for p in passes {
        run = if *p { 0 } else { run + 1 };
        max = max.max(run);
    }
    PathReport {
        path: "/".into(),
        url: "http://lb/".into(),
        attempted: passes.len() as u32,
        succeeded: passes.len() as u32 - failed,
        failed,
        max_consecutive_failures: max,
        failures: if failed > 0 {
            [("status".to_owned(), failed)].into()
        } else {
            BTreeMap::new()
        },
        samples: if failed > 0 {
            vec!["HTTP 500".into()]
        } else {
            vec![]
        },
        latencies: vec![latency; passes.len()],
        probed_ms,
        leading_failures: leading,
        trailing_failures: trailing,
        ..PathReport::default()
    }
}

#[test]
fn a_window_is_needed_only_when_it_does_not_fit() {
    let c = checks(60_000, &["/", "/health"]);
    assert!(needs_window(&c, Duration::from_secs(100)));
    assert!(!needs_window(&c, Duration::from_secs(200)));
    let mut none = c.clone();
    none.window_ms = None;
    assert!(!needs_window(&none, Duration::from_millis(10)));
}

#[test]
fn parts_add_up_to_the_whole_window() {
    let c = checks(3_000, &["/"]);
    let e = event_with(None);
    let mut s = WindowState::new(&e, &c, 1);
    assert_eq!(s.current(), Some(0));
    s.merge(0, &report(&[true, true, false, false], 10.0, 1_000));
    assert_eq!(s.left_ms(0), 2_000);
    s.merge(0, &report(&[false, true], 30.0, 1_000));
    let p = &s.paths[0];
    assert_eq!((p.attempted, p.succeeded, p.failed), (6, 3, 3));
    assert_eq!(p.failures["status"], 3);
    assert_eq!(
        p.max_consecutive, 3,
        "two at the end of one part, one at the start of the next"
    );
    assert_eq!(p.consecutive, 0);
    assert_eq!(p.answered, 6);
    s.merge(0, &report(&[false, false], 5.0, 900));
    assert_eq!(s.paths[0].consecutive, 2);
    assert_eq!(
        s.current(),
        None,
        "2 900 of 3 000 ms is complete within the tolerance"
    );
    let r = &s.reports()[0];
    assert_eq!(r.attempted, 8);
    assert!((r.success_rate - 3.0 / 8.0).abs() < 1e-9);
    assert_eq!(r.p50_ms, Some(10.0));
    assert_eq!(r.p99_ms, Some(30.0));
    assert!(s.evidence().complete);
    assert!(s.failed_early(&Checks {
        max_consecutive_failures: 3,
        ..c.clone()
    }));
    assert!(!s.failed_early(&c));
}

#[test]
fn the_state_stays_small_and_round_trips() {
    let c = checks(600_000, &["/", "/a", "/b"]);
    let e = event_with(None);
    let mut s = WindowState::new(&e, &c, 1);
    for i in 0..3 {
        for part in 0..20 {
            let lat: Vec<f64> = (0..5_000)
                .map(|n| f64::from(n % 997) + 0.123_456 * f64::from(part))
                .collect();
            let mut r = report(&[true; 5_000], 1.0, 30_000);
            r.latencies = lat;
            r.samples = vec!["x".repeat(500)];
            s.merge(i, &r);
        }
    }
    let details = s.details();
    let text = serde_json::Value::Object(details.clone()).to_string();
    assert!(text.len() < STATE_LIMIT, "{} bytes", text.len());
    assert!(s.paths[0].latencies.len() >= 10);
    let again = event_with(Some(serde_json::Value::Object(details)));
    let (loaded, note) = WindowState::load(&again, &c);
    assert_eq!(loaded.unwrap(), s);
    assert_eq!(note, None);
}

#[test]
fn a_garbled_or_foreign_state_starts_a_new_window() {
    let c = checks(3_000, &["/"]);
    let (none, note) = WindowState::load(&event_with(Some(json!({"other": 1}))), &c);
    assert!(none.is_none() && note.is_none());

    let (s, note) = WindowState::load(&event_with(Some(json!({KEY: "garbage"}))), &c);
    assert!(s.is_none());
    assert!(note.unwrap().contains("not this function's window state"));

    let mut other = WindowState::new(&event_with(None), &c, 1);
    other.revision = BLUE_REV.into();
    other.stage = "POST_PRODUCTION_TRAFFIC_SHIFT".into();
    let d = json!({KEY: serde_json::to_value(&other).unwrap()});
    let (s, note) = WindowState::load(&event_with(Some(d)), &c);
    assert!(s.is_none());
    let note = note.unwrap();
    assert!(
        note.contains("stage") && note.contains("revision"),
        "{note}"
    );

    let d = json!({KEY: serde_json::to_value(WindowState::new(&event_with(None), &c, 1)).unwrap()});
    let (s, _) = WindowState::load(&event_with(Some(d.clone())), &checks(5_000, &["/"]));
    assert!(s.is_none(), "another windowMs is another window");

    // Another executionId alone continues the window, with a note.
    let mut v = quiet("POST_TEST_TRAFFIC_SHIFT");
    v["executionId"] = json!("another-execution");
    v["hookDetails"] = d;
    let (s, note) = WindowState::load(&NativeEvent::parse(&v).unwrap(), &c);
    assert!(s.is_some());
    assert!(note.unwrap().contains("another-execution"));
}
