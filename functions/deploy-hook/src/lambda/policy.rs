//! The policy's `lambda` section: the test events and limits of Lambda deployments, and the
//! effective [`LambdaChecks`] of one hook run.
//!
//! ```json
//! {"lambda": {
//!   "default": {"invocations": 5},
//!   "hooks": {"AfterAllowTraffic": {"maxErrors": 2}},
//!   "functions": {"orders": {
//!     "default": {"events": [{"name": "ping", "payload": {"ping": true},
//!                             "expect": [{"pointer": "/ok", "equals": true}]}]},
//!     "hooks": {"BeforeAllowTraffic": {"maxP95Ms": 800}}}}}}
//! ```
//!
//! Precedence, lowest first: the built-in defaults of the hook, `default`, `hooks.<hook>`,
//! `functions.<fn>.default`, `functions.<fn>.hooks.<hook>`. A list (`events`) replaces the
//! one below it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hook::Hook;
use crate::lambda::decide::LAMBDA_HOOKS;

/// Most test events one layer may list.
pub const MAX_EVENTS: usize = 20;
/// Longest serialised test payload, in bytes (Lambda's synchronous request limit is 6 MB).
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// One value a JSON pointer of the response must equal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expectation {
    /// A JSON pointer (`/status`, `/items/0/id`; empty: the whole response).
    pub pointer: String,
    pub equals: Value,
}

/// One test event: the payload the target version is invoked with, and what its answer must
/// hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestEvent {
    pub name: String,
    #[serde(default = "empty_object")]
    pub payload: Value,
    #[serde(default)]
    pub expect: Vec<Expectation>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// One override document (`L`) of the `lambda` section: every field optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LambdaOverride {
    pub enabled: Option<bool>,
    pub events: Option<Vec<TestEvent>>,
    pub invocations: Option<u32>,
    pub concurrency: Option<u32>,
    pub timeout_ms: Option<u64>,
    pub max_p95_ms: Option<u64>,
    pub max_p99_ms: Option<u64>,
    pub metrics: Option<bool>,
    pub max_errors: Option<u64>,
    pub max_throttles: Option<u64>,
    /// The analysis of the new version against the old (replaces the layer below's whole).
    pub analysis: Option<crate::analysis::Analysis>,
}

/// The overrides of one function.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FunctionOverride {
    #[serde(default)]
    pub default: LambdaOverride,
    #[serde(default)]
    pub hooks: BTreeMap<Hook, LambdaOverride>,
}

/// The `lambda` section of the policy document.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LambdaDocument {
    #[serde(default)]
    pub default: LambdaOverride,
    #[serde(default)]
    pub hooks: BTreeMap<Hook, LambdaOverride>,
    #[serde(default)]
    pub functions: BTreeMap<String, FunctionOverride>,
}

/// The effective checks of one Lambda hook run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaChecks {
    /// `false`: the hook passes at once.
    pub enabled: bool,
    pub events: Vec<TestEvent>,
    /// Invocations of each event.
    pub invocations: u32,
    /// Invocations at once, at most.
    pub concurrency: u32,
    /// Longest wait for one invocation's answer.
    pub timeout_ms: u64,
    pub max_p95_ms: Option<u64>,
    pub max_p99_ms: Option<u64>,
    /// Whether the target version's `Errors` and `Throttles` since the shift count
    /// (`AfterAllowTraffic` only).
    pub metrics: bool,
    pub max_errors: u64,
    pub max_throttles: u64,
    /// The analysis of the new version against the old (`None`: none).
    pub analysis: Option<crate::analysis::Analysis>,
}

impl LambdaChecks {
    /// The built-in checks of `hook`: three invocations of each configured event, two at a
    /// time; after the shift, no error and no throttle of the target version.
    pub fn defaults(hook: Hook) -> LambdaChecks {
        LambdaChecks {
            enabled: true,
            events: Vec::new(),
            invocations: 3,
            concurrency: 2,
            timeout_ms: 10_000,
            max_p95_ms: None,
            max_p99_ms: None,
            metrics: hook == Hook::AfterAllowTraffic,
            max_errors: 0,
            max_throttles: 0,
            analysis: None,
        }
    }

    fn apply(&mut self, o: &LambdaOverride) {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = &o.$f { self.$f = v.clone(); } )* };
        }
        macro_rules! set_opt {
            ($($f:ident),*) => { $( if let Some(v) = &o.$f { self.$f = Some(v.clone()); } )* };
        }
        set!(
            enabled,
            events,
            invocations,
            concurrency,
            timeout_ms,
            metrics,
            max_errors,
            max_throttles
        );
        set_opt!(max_p95_ms, max_p99_ms, analysis);
    }
}

/// The effective checks of `hook` for `function` from the `lambda` sections of the policy's
/// documents, lowest first ([`crate::policy::Policy::lambda_checks`]).
pub fn layered<'a>(
    sections: impl IntoIterator<Item = &'a LambdaDocument>,
    hook: Hook,
    function: &str,
) -> LambdaChecks {
    let mut c = LambdaChecks::defaults(hook);
    for l in sections {
        c.apply(&l.default);
        if let Some(o) = l.hooks.get(&hook) {
            c.apply(o);
        }
        if let Some(f) = l.functions.get(function) {
            c.apply(&f.default);
            if let Some(o) = f.hooks.get(&hook) {
                c.apply(o);
            }
        }
    }
    c
}

/// Problems of the `lambda` section; `where_` names its place in the document.
pub fn validate(doc: &LambdaDocument, where_: &str, problems: &mut Vec<String>) {
    validate_override(&doc.default, &format!("{where_}.default"), problems);
    validate_hooks(&doc.hooks, &format!("{where_}.hooks"), problems);
    for (name, f) in &doc.functions {
        let at = format!("{where_}.functions.{name}");
        if !crate::lambda::is_function_name(name) {
            problems.push(format!(
                "{where_}.functions: {name:?} is not a function name (1 to 64 letters, digits, \
                 '-' or '_')"
            ));
        }
        validate_override(&f.default, &format!("{at}.default"), problems);
        validate_hooks(&f.hooks, &format!("{at}.hooks"), problems);
    }
}

fn validate_hooks(hooks: &BTreeMap<Hook, LambdaOverride>, at: &str, problems: &mut Vec<String>) {
    for (hook, o) in hooks {
        if !LAMBDA_HOOKS.contains(hook) {
            problems.push(format!(
                "{at}: {hook} is not a hook of Lambda deployments (BeforeAllowTraffic, \
                 AfterAllowTraffic)"
            ));
        }
        validate_override(o, &format!("{at}.{hook}"), problems);
    }
}

/// Problems of one override document.
fn validate_override(o: &LambdaOverride, at: &str, problems: &mut Vec<String>) {
    if let Some(a) = &o.analysis {
        if a.load.is_some() {
            problems.push(format!(
                "{at}.analysis: load applies to ECS deployments only (a Lambda version is not \
                 behind a listener)"
            ));
        }
        crate::analysis::spec::validate(&format!("{at}.analysis"), a, u32::MAX, problems);
    }
    let mut bad = |what: String| problems.push(format!("{at}: {what}"));
    let ranges: [(&str, Option<u64>, u64, u64); 5] = [
        ("invocations", o.invocations.map(u64::from), 1, 100),
        ("concurrency", o.concurrency.map(u64::from), 1, 16),
        ("timeoutMs", o.timeout_ms, 100, 900_000),
        ("maxP95Ms", o.max_p95_ms, 1, 900_000),
        ("maxP99Ms", o.max_p99_ms, 1, 900_000),
    ];
    for (name, value, lo, hi) in ranges {
        if let Some(v) = value
            && !(lo..=hi).contains(&v)
        {
            bad(format!("{name} must be from {lo} to {hi}, got {v}"));
        }
    }
    let Some(events) = &o.events else {
        return;
    };
    if events.len() > MAX_EVENTS {
        bad(format!(
            "events must list at most {MAX_EVENTS} events, got {}",
            events.len()
        ));
    }
    for (i, e) in events.iter().enumerate() {
        let name = e.name.trim();
        if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
            bad(format!(
                "events[{i}].name must be 1 to 64 printable characters, got {:?}",
                e.name
            ));
        } else if events[..i].iter().any(|o| o.name.trim() == name) {
            bad(format!("events[{i}].name {name:?} is used twice"));
        }
        let size = serde_json::to_vec(&e.payload).map_or(0, |v| v.len());
        if size > MAX_PAYLOAD_BYTES {
            bad(format!(
                "events[{i}].payload is {size} bytes; at most {MAX_PAYLOAD_BYTES}"
            ));
        }
        for (j, x) in e.expect.iter().enumerate() {
            if !(x.pointer.is_empty() || x.pointer.starts_with('/')) {
                bad(format!(
                    "events[{i}].expect[{j}].pointer {:?} must be a JSON pointer starting with /",
                    x.pointer
                ));
            }
        }
    }
}

#[cfg(test)]
#[path = "policy_test.rs"]
mod tests;
