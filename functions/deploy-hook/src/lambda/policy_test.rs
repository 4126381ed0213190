//! Unit tests of the policy's `lambda` section.

use serde_json::json;

use super::*;
use crate::policy::Policy;

fn policy(doc: Value) -> Policy {
    Policy::parse(Some(&doc.to_string()), vec![], None).unwrap()
}

fn problems(doc: Value) -> Vec<String> {
    Policy::parse(Some(&doc.to_string()), vec![], None)
        .unwrap_err()
        .problems
}

#[test]
fn defaults_depend_on_the_hook() {
    let p = Policy::default();
    let before = p.lambda_checks(Hook::BeforeAllowTraffic, "orders");
    assert!(before.enabled && before.events.is_empty());
    assert_eq!(
        (before.invocations, before.concurrency, before.timeout_ms),
        (3, 2, 10_000)
    );
    assert_eq!((before.max_errors, before.max_throttles), (0, 0));
    assert_eq!((before.max_p95_ms, before.max_p99_ms), (None, None));
    assert!(!before.metrics);
    assert!(p.lambda_checks(Hook::AfterAllowTraffic, "orders").metrics);
}

#[test]
fn layers_apply_from_default_to_the_function_hook() {
    let p = policy(json!({"lambda": {
        "default": {"invocations": 5, "concurrency": 4, "maxP95Ms": 900},
        "hooks": {"AfterAllowTraffic": {"invocations": 6, "maxErrors": 1}},
        "functions": {
            "orders": {
                "default": {"invocations": 7, "events": [{"name": "ping", "payload": {"a": 1}}]},
                "hooks": {"AfterAllowTraffic": {"invocations": 8, "metrics": false}}
            },
            "billing": {"default": {"enabled": false}}
        }
    }}));
    let c = p.lambda_checks(Hook::AfterAllowTraffic, "orders");
    assert_eq!(c.invocations, 8);
    assert_eq!(c.concurrency, 4);
    assert_eq!(c.max_p95_ms, Some(900));
    assert_eq!(c.max_errors, 1);
    assert!(!c.metrics);
    assert_eq!(c.events.len(), 1);
    assert_eq!(c.events[0].payload, json!({"a": 1}));

    let c = p.lambda_checks(Hook::BeforeAllowTraffic, "orders");
    assert_eq!((c.invocations, c.max_errors), (7, 0));
    let c = p.lambda_checks(Hook::AfterAllowTraffic, "other");
    assert_eq!((c.invocations, c.max_errors), (6, 1));
    assert!(c.events.is_empty() && c.metrics);
    assert!(!p.lambda_checks(Hook::AfterAllowTraffic, "billing").enabled);
}

#[test]
fn a_higher_events_list_replaces_the_lower_one() {
    let p = policy(json!({"lambda": {
        "default": {"events": [{"name": "a"}, {"name": "b"}]},
        "functions": {"orders": {"hooks": {"BeforeAllowTraffic": {"events": [{"name": "c"}]}}}}
    }}));
    let names = |hook| -> Vec<String> {
        p.lambda_checks(hook, "orders")
            .events
            .into_iter()
            .map(|e| e.name)
            .collect()
    };
    assert_eq!(names(Hook::BeforeAllowTraffic), ["c"]);
    assert_eq!(names(Hook::AfterAllowTraffic), ["a", "b"]);
    // A payload left out is an empty object; expectations default to none.
    let e = &p.lambda_checks(Hook::AfterAllowTraffic, "orders").events[0];
    assert_eq!(e.payload, json!({}));
    assert!(e.expect.is_empty());
}

#[test]
fn events_carry_any_json_payload_and_expectations() {
    let p = policy(json!({"lambda": {"default": {"events": [
        {"name": "list", "payload": [1, "two", null], "expect": [
            {"pointer": "/statusCode", "equals": 200},
            {"pointer": "", "equals": {"statusCode": 200}}
        ]},
        {"name": "text", "payload": "hello"}
    ]}}}));
    let c = p.lambda_checks(Hook::BeforeAllowTraffic, "x");
    assert_eq!(c.events[0].payload, json!([1, "two", null]));
    assert_eq!(c.events[0].expect[0].equals, json!(200));
    assert_eq!(c.events[1].payload, json!("hello"));
}

#[test]
fn problems_name_their_place() {
    let got = problems(json!({"lambda": {
        "default": {"concurrency": 17},
        "hooks": {"AfterInstall": {}, "BeforeAllowTraffic": {"timeoutMs": 5}},
        "functions": {
            "orders": {"hooks": {"AfterAllowTraffic": {"invocations": 0}}},
            "bad name": {"default": {"maxP99Ms": 0}},
            "shop": {"default": {"events": [
                {"name": ""}, {"name": "a"}, {"name": "a"},
                {"name": "b", "expect": [{"pointer": "status", "equals": 1}]}
            ]}}
        }
    }}));
    let expected = [
        "lambda.default: concurrency must be from 1 to 16, got 17",
        "lambda.hooks: AfterInstall is not a hook of Lambda deployments",
        "lambda.hooks.BeforeAllowTraffic: timeoutMs must be from 100 to 900000, got 5",
        "lambda.functions: \"bad name\" is not a function name",
        "lambda.functions.bad name.default: maxP99Ms must be from 1 to 900000, got 0",
        "lambda.functions.orders.hooks.AfterAllowTraffic: invocations must be from 1 to 100, got 0",
        "lambda.functions.shop.default: events[0].name must be 1 to 64 printable characters",
        "lambda.functions.shop.default: events[2].name \"a\" is used twice",
        "lambda.functions.shop.default: events[3].expect[0].pointer \"status\" must be a JSON pointer",
    ];
    for e in expected {
        assert!(got.iter().any(|p| p.starts_with(e)), "{e}\nnot in {got:#?}");
    }
    assert_eq!(got.len(), expected.len(), "{got:#?}");
}

#[test]
fn too_many_events_and_unknown_fields_are_refused() {
    let events: Vec<Value> = (0..21).map(|i| json!({"name": format!("e{i}")})).collect();
    let got = problems(json!({"lambda": {"default": {"events": events}}}));
    assert!(got[0].contains("at most 20 events"), "{got:?}");
    let got = problems(json!({"lambda": {"default": {"invocation": 3}}}));
    assert!(got[0].contains("invocation"), "{got:?}");
    let got = problems(
        json!({"lambda": {"default": {"events": [{"name": "a", "expect": [{"pointer": "/a"}]}]}}}),
    );
    assert!(got[0].contains("equals"), "{got:?}");
}

#[test]
fn a_service_overlay_is_validated_and_applied_last() {
    let base =
        policy(json!({"lambda": {"functions": {"orders": {"default": {"invocations": 4}}}}}));
    let over = base
        .overlaid(&json!({"lambda": {"default": {"invocations": 9}}}))
        .unwrap();
    assert_eq!(
        over.lambda_checks(Hook::BeforeAllowTraffic, "orders")
            .invocations,
        9
    );
    let err = base
        .overlaid(&json!({"lambda": {"default": {"invocations": 101}}}))
        .unwrap_err();
    assert!(
        err.problems[0]
            .starts_with("hookDetails.codehooksPolicy.lambda.default: invocations must be"),
        "{err}"
    );
}
