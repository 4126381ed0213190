//! Unit tests of the alarm gate's verdict.

use super::*;

fn alarm(name: &str, state: &str, reason: &str) -> AlarmFacts {
    AlarmFacts {
        name: name.to_owned(),
        arn: format!("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{name}"),
        state: state.to_owned(),
        reason: reason.to_owned(),
        updated_ms: Some(1_700_000_000_000),
    }
}

fn prefix(p: &str) -> AlarmGate {
    AlarmGate {
        prefix: Some(p.to_owned()),
        ..AlarmGate::default()
    }
}

fn failing(gate: AlarmGate) -> AlarmGate {
    AlarmGate {
        insufficient_data: InsufficientData::Fail,
        ..gate
    }
}

#[test]
fn each_state_passes_or_fails_as_the_policy_says() {
    // (state, passes under ignore, passes under fail)
    let table = [
        ("OK", true, true),
        ("ALARM", false, false),
        ("INSUFFICIENT_DATA", true, false),
        ("SOMETHING_NEW", false, false),
        ("", false, false),
        ("ok", false, false),
    ];
    for (state, ignore, fail) in table {
        let found = [alarm("a", state, "")];
        let (list, check) = judge_alarms(&prefix("a"), &found);
        assert_eq!((list[0].passed, check.passed), (ignore, ignore), "{state}");
        let (list, check) = judge_alarms(&failing(prefix("a")), &found);
        assert_eq!((list[0].passed, check.passed), (fail, fail), "{state}");
    }
}

#[test]
fn all_ok_names_the_alarms() {
    let found = [
        alarm("a", "OK", "fine"),
        alarm("b", "OK", ""),
        alarm("c", "OK", ""),
    ];
    let (list, check) = judge_alarms(&prefix(""), &found);
    assert_eq!(
        (check.check.as_str(), check.passed, check.path),
        ("alarms", true, None)
    );
    assert_eq!(check.detail, "3 alarms OK: a, b, c");
    assert_eq!(list.len(), 3);
    assert_eq!(
        list[0],
        AlarmCheck {
            name: "a".into(),
            state: "OK".into(),
            reason: "fine".into(),
            passed: true,
        }
    );
    let (_, check) = judge_alarms(&prefix(""), &found[..1]);
    assert_eq!(check.detail, "1 alarm OK: a");
}

#[test]
fn ignored_insufficient_data_is_named_apart() {
    let found = [alarm("a", "OK", ""), alarm("db", "INSUFFICIENT_DATA", "")];
    let (_, check) = judge_alarms(&prefix(""), &found);
    assert!(check.passed);
    assert_eq!(
        check.detail,
        "1 alarm OK: a; 1 alarm INSUFFICIENT_DATA, ignored (insufficientData: ignore): db"
    );
}

#[test]
fn many_alarms_are_listed_up_to_ten() {
    let found: Vec<AlarmFacts> = (0..13).map(|i| alarm(&format!("a{i}"), "OK", "")).collect();
    let (list, check) = judge_alarms(&prefix("a"), &found);
    assert_eq!(list.len(), 13);
    assert_eq!(
        check.detail,
        "13 alarms OK: a0, a1, a2, a3, a4, a5, a6, a7, a8, a9 and 3 more"
    );
}

#[test]
fn an_alarm_in_alarm_fails_with_its_reason() {
    let found = [
        alarm("ok", "OK", ""),
        alarm(
            "api-5xx",
            "ALARM",
            "Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0).",
        ),
        alarm("db", "INSUFFICIENT_DATA", "no data"),
    ];
    let (list, check) = judge_alarms(&failing(prefix("")), &found);
    assert!(!check.passed);
    assert_eq!(
        check.detail,
        "api-5xx is ALARM: Threshold Crossed: 1 datapoint [12.0] was greater than the \
         threshold (5.0).; db is INSUFFICIENT_DATA (the policy fails it)"
    );
    let passed: Vec<bool> = list.iter().map(|c| c.passed).collect();
    assert_eq!(passed, [true, false, false]);
    assert_eq!(list[1].reason, found[1].reason);
    // Ignored, the insufficient data does not appear among the failures.
    let (_, check) = judge_alarms(&prefix(""), &found);
    assert!(!check.detail.contains("db"), "{}", check.detail);
}

#[test]
fn an_unknown_state_fails_and_is_named() {
    let (_, check) = judge_alarms(&prefix(""), &[alarm("x", "PENDING", "")]);
    assert!(!check.passed);
    assert_eq!(check.detail, "x is in the unknown state \"PENDING\"");
}

#[test]
fn an_alarm_without_a_reason_is_named_alone() {
    let (_, check) = judge_alarms(&prefix(""), &[alarm("x", "ALARM", "  ")]);
    assert_eq!(check.detail, "x is ALARM");
}

#[test]
fn long_reasons_are_cut_on_a_character_boundary() {
    let reason = "é".repeat(1_000);
    let (list, check) = judge_alarms(&prefix(""), &[alarm("x", "ALARM", &reason)]);
    assert_eq!(check.detail, format!("x is ALARM: {}...", "é".repeat(300)));
    assert_eq!(
        list[0].reason, reason,
        "the evidence keeps the whole reason"
    );
}

#[test]
fn many_failures_are_listed_up_to_ten() {
    let found: Vec<AlarmFacts> = (0..12)
        .map(|i| alarm(&format!("a{i}"), "ALARM", "r"))
        .collect();
    let (_, check) = judge_alarms(&prefix("a"), &found);
    assert!(check.detail.starts_with("a0 is ALARM: r; a1 is ALARM: r;"));
    assert!(
        check.detail.ends_with("a9 is ALARM: r; and 2 more failed"),
        "{}",
        check.detail
    );
}

#[test]
fn a_gate_that_selects_nothing_fails() {
    let gate = AlarmGate {
        names: vec!["api-5xx".into(), "db".into()],
        prefix: Some("shop-".into()),
        tags: [("codehooks".to_owned(), "gate".to_owned())].into(),
        insufficient_data: InsufficientData::Ignore,
    };
    let (list, check) = judge_alarms(&gate, &[]);
    assert!(!check.passed);
    assert_eq!(
        check.detail,
        "no alarm matches names [\"api-5xx\", \"db\"], prefix \"shop-\", tags {\"codehooks\": \
         \"gate\"}: the gate selects nothing"
    );
    let states: Vec<&str> = list.iter().map(|c| c.state.as_str()).collect();
    assert_eq!(states, [MISSING, MISSING]);
    let (list, check) = judge_alarms(&prefix("shop-"), &[]);
    assert!(list.is_empty());
    assert_eq!(
        check.detail,
        "no alarm matches prefix \"shop-\": the gate selects nothing"
    );
}

#[test]
fn a_listed_name_no_alarm_has_fails() {
    let gate = AlarmGate {
        names: vec!["api-5xx".into(), "gone".into(), "gone".into()],
        ..AlarmGate::default()
    };
    let (list, check) = judge_alarms(&gate, &[alarm("api-5xx", "OK", "")]);
    assert!(!check.passed);
    assert_eq!(check.detail, "alarm gone does not exist");
    assert_eq!(
        list[1],
        AlarmCheck {
            name: "gone".into(),
            state: MISSING.into(),
            reason: "alarm gone does not exist".into(),
            passed: false,
        }
    );
    assert_eq!(list.len(), 2, "a name listed twice is judged once");
    // With tags, a named alarm may exist without them.
    let tagged = AlarmGate {
        tags: [("team".to_owned(), "shop".to_owned())].into(),
        ..gate
    };
    let (_, check) = judge_alarms(&tagged, &[alarm("api-5xx", "OK", "")]);
    assert_eq!(
        check.detail,
        "alarm gone does not exist or does not carry the gate's tags"
    );
}

#[test]
fn listed_names_found_by_the_prefix_too_are_not_missing() {
    let gate = AlarmGate {
        names: vec!["shop-db".into()],
        prefix: Some("shop-".into()),
        ..AlarmGate::default()
    };
    let found = [alarm("shop-api", "OK", ""), alarm("shop-db", "OK", "")];
    let (list, check) = judge_alarms(&gate, &found);
    assert!(check.passed, "{}", check.detail);
    assert_eq!(list.len(), 2);
}

#[test]
fn an_alarm_read_twice_is_judged_once() {
    let found = [alarm("a", "OK", ""), alarm("a", "OK", "")];
    let (list, check) = judge_alarms(&prefix("a"), &found);
    assert_eq!(list.len(), 1);
    assert_eq!(check.detail, "1 alarm OK: a");
}

#[test]
fn the_selector_carries_the_gate() {
    let gate = AlarmGate {
        names: vec!["a".into()],
        prefix: Some("p".into()),
        tags: [("k".to_owned(), "v".to_owned())].into(),
        insufficient_data: InsufficientData::Fail,
    };
    let s = selector(&gate);
    assert_eq!(
        (s.names, s.prefix, s.tags),
        (gate.names.clone(), gate.prefix.clone(), gate.tags.clone())
    );
}

#[test]
fn alarm_checks_serialise_in_camel_case() {
    let (list, _) = judge_alarms(&prefix(""), &[alarm("a", "ALARM", "r")]);
    let v = serde_json::to_value(&list[0]).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"name": "a", "state": "ALARM", "reason": "r", "passed": false})
    );
}
