//! Generators shared by the property tests of every crate (each crate's `tests/properties.rs`
//! includes this file): arbitrary JSON, awkward text, near-valid events (a sample with random
//! edits), and the per-property case count.
#![allow(dead_code)]

use proptest::prelude::*;
use serde_json::Value;

/// Text that reaches the interesting branches: any Unicode, Markdown and URL punctuation,
/// control characters, values of the right shape, and long runs.
pub fn awkward_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[a-zA-Z0-9._:/@ -]{0,40}",
        "[0-9a-fA-F]{40}",
        "[0-9]{1,22}",
        "[a-z]{2,6}(-[a-z]{2,6}){1,2}-[0-9]{1,2}",
        "[\\[\\]()!<>`*_#|~&:\\\\\n\r\t\u{0}\u{7f}\u{202e} a-z]{0,40}",
        Just(String::new()),
        ("[a-zA-Z\u{e9}\u{1f600}]{1,3}", 100usize..2000).prop_map(|(s, n)| s.repeat(n)),
    ]
}

pub fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        awkward_text().prop_map(Value::from),
    ]
}

pub fn arb_json() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(awkward_text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One edit of a sample event: the node it picks (an index into all nodes), and its new
/// value (`None` removes it).
pub type Edit = (usize, Option<Value>);

pub fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(
        (any::<usize>(), prop::option::weighted(0.85, arb_json())),
        0..5,
    )
}

pub fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                pointers(
                    child,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// `sample` with the `edits` applied: a value of the right shape with random fields.
pub fn mutate(mut v: Value, edits: &[Edit]) -> Value {
    for (pick, edit) in edits {
        let mut all = Vec::new();
        pointers(&v, String::new(), &mut all);
        let at = &all[pick % all.len()];
        match edit {
            Some(new) => {
                if let Some(node) = v.pointer_mut(at) {
                    *node = new.clone();
                }
            }
            None => {
                let Some((parent, last)) = at.rsplit_once('/') else {
                    continue;
                };
                let key = last.replace("~1", "/").replace("~0", "~");
                match v.pointer_mut(parent) {
                    Some(Value::Object(m)) => {
                        m.remove(&key);
                    }
                    Some(Value::Array(a)) => {
                        if let Ok(i) = key.parse::<usize>()
                            && i < a.len()
                        {
                            a.remove(i);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    v
}

pub fn sample(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// `n` cases per property; a failure is reported with its shrunk input, not written to a
/// regressions file in the work tree (a bug it finds becomes a named test).
pub fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
