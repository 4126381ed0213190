//! Unit tests of the analysis state carried across invocations.

use serde_json::json;

use super::*;
use crate::native::fixtures::*;

fn event_with(details: Option<serde_json::Value>) -> NativeEvent {
    let mut v = quiet("POST_TEST_TRAFFIC_SHIFT");
    if let Some(d) = details {
        v["hookDetails"] = d;
    }
    NativeEvent::parse(&v).unwrap()
}

#[test]
fn the_state_round_trips_through_hook_details() {
    let e = event_with(None);
    let mut s = AnalysisState::new(&e, 1_000, 61_000);
    s.invocations = 2;
    let back = event_with(Some(Value::Object(s.details())));
    let (loaded, note) = AnalysisState::load(&back);
    assert_eq!(loaded, Some(s.clone()));
    assert_eq!(note, None);
    assert_eq!(s.waited_ms(91_000), 30_000);
    assert_eq!(s.waited_ms(0), 0);
}

#[test]
fn no_state_garbled_state_and_foreign_state() {
    assert_eq!(AnalysisState::load(&event_with(None)), (None, None));
    let (s, note) = AnalysisState::load(&event_with(Some(json!({KEY: {"started": "x"}}))));
    assert_eq!(s, None);
    assert!(note.unwrap().contains("not this function's analysis state"));
    let e = event_with(None);
    let mut other = AnalysisState::new(&e, 0, 0);
    other.revision = "arn:aws:ecs:us-east-1:123456789012:service-revision/shop/web/1".into();
    let (s, note) = AnalysisState::load(&event_with(Some(json!({KEY: other}))));
    assert_eq!(s, None);
    assert!(
        note.unwrap()
            .contains("another deployment, stage or revision")
    );
}
