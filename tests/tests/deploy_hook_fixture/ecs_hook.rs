//! Amazon ECS's side of a lifecycle hook: what an answer may hold (exactly `hookStatus`, and
//! optionally `callBackDelay` and `hookDetails`), and the `IN_PROGRESS` contract ([`run_hook`]:
//! wait `callBackDelay`, merge the returned `hookDetails` into the configured ones, invoke
//! again).

#![allow(dead_code)]

use std::time::Duration;

use codehooks_tests::{Function, Invocation};
use serde_json::{Map, Value};

/// The fields an answer to ECS may have.
pub const ANSWER_FIELDS: [&str; 3] = ["hookStatus", "callBackDelay", "hookDetails"];

/// The `hookStatus` of an answer (`""` when there is none).
pub fn status(inv: &Invocation) -> &str {
    inv.response["hookStatus"].as_str().unwrap_or_default()
}

/// The answer succeeded with `expected` and has only the fields ECS reads.
pub fn assert_answer(inv: &Invocation, expected: &str, f: &Function) {
    assert!(inv.is_ok(), "invocation {inv:?}\nlogs:\n{}", f.logs());
    let Some(answer) = inv.response.as_object() else {
        panic!("the answer is not an object: {:#}", inv.response);
    };
    for key in answer.keys() {
        assert!(
            ANSWER_FIELDS.contains(&key.as_str()),
            "the answer to ECS has {key:?}: {:#}",
            inv.response
        );
    }
    assert_eq!(
        status(inv),
        expected,
        "{:#}\nlogs:\n{}",
        inv.response,
        f.logs()
    );
    if let Some(d) = answer.get("callBackDelay") {
        assert!(d.is_u64(), "callBackDelay is whole seconds: {d}");
    }
    if let Some(d) = answer.get("hookDetails") {
        assert!(d.is_object(), "hookDetails is an object: {d}");
    }
}

/// ECS's side of a hook: invokes with `payload`, and while the answer is `IN_PROGRESS` waits
/// `callBackDelay` seconds (at most `max_delay_s`), merges the returned `hookDetails` into the
/// payload's (top-level keys, over the configured ones) and invokes again, at most `max` times.
pub fn run_hook(
    f: &Function,
    payload: &Value,
    timeout_ms: u64,
    max: usize,
    max_delay_s: u64,
) -> Vec<Invocation> {
    let mut payload = payload.clone();
    let mut out: Vec<Invocation> = Vec::new();
    loop {
        let inv = f.invoke(&payload, timeout_ms);
        let again = inv.is_ok() && status(&inv) == "IN_PROGRESS";
        out.push(inv.clone());
        if !again || out.len() >= max {
            return out;
        }
        let delay = inv.response["callBackDelay"].as_u64().unwrap_or(30);
        assert!(
            delay <= max_delay_s,
            "callBackDelay {delay} s, more than the policy's {max_delay_s}: {:#}",
            inv.response
        );
        std::thread::sleep(Duration::from_secs(delay));
        payload = next_payload(&payload, &inv);
    }
}

/// The payload of the next invocation after an `IN_PROGRESS` answer: ECS merges the returned
/// `hookDetails` (top-level keys) over the configured ones.
pub fn next_payload(payload: &Value, answer: &Invocation) -> Value {
    let mut payload = payload.clone();
    if let Some(returned) = answer.response["hookDetails"].as_object() {
        let mut merged: Map<String, Value> = payload["hookDetails"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for (k, v) in returned {
            merged.insert(k.clone(), v.clone());
        }
        payload["hookDetails"] = Value::Object(merged);
    }
    payload
}
