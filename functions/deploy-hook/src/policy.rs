//! What each lifecycle hook checks: built-in defaults per hook, overridable per hook and per
//! deployment group with one JSON document (`CODEHOOKS_HOOK_POLICY`).
//!
//! ```json
//! {
//!   "default": {"paths": ["/health"]},
//!   "hooks": {"AfterAllowTestTraffic": {"requests": 50, "maxP95Ms": 800}},
//!   "deploymentGroups": {
//!     "shop-prod": {"default": {"hostName": "shop.example.com"},
//!                   "hooks": {"AfterAllowTraffic": {"requests": 5}}}
//!   }
//! }
//! ```
//!
//! Precedence, lowest first: the built-in defaults of the hook, `default`, `hooks.<hook>`,
//! `deploymentGroups.<group>.default`, `deploymentGroups.<group>.hooks.<hook>`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The lifecycle events of an ECS blue/green deployment that run hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Hook {
    BeforeInstall,
    AfterInstall,
    AfterAllowTestTraffic,
    BeforeAllowTraffic,
    AfterAllowTraffic,
}

impl Hook {
    pub const ALL: [Hook; 5] = [
        Hook::BeforeInstall,
        Hook::AfterInstall,
        Hook::AfterAllowTestTraffic,
        Hook::BeforeAllowTraffic,
        Hook::AfterAllowTraffic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Hook::BeforeInstall => "BeforeInstall",
            Hook::AfterInstall => "AfterInstall",
            Hook::AfterAllowTestTraffic => "AfterAllowTestTraffic",
            Hook::BeforeAllowTraffic => "BeforeAllowTraffic",
            Hook::AfterAllowTraffic => "AfterAllowTraffic",
        }
    }

    pub fn parse(name: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| h.as_str() == name)
    }

    /// Which listener carries the traffic this hook checks (`None`: no HTTP probes possible).
    pub fn listener(self) -> Option<ListenerRole> {
        match self {
            Hook::BeforeInstall | Hook::AfterInstall => None,
            Hook::AfterAllowTestTraffic | Hook::BeforeAllowTraffic => Some(ListenerRole::Test),
            Hook::AfterAllowTraffic => Some(ListenerRole::Production),
        }
    }

    /// Whether the production traffic already moved to green when this hook runs.
    pub fn after_traffic_shift(self) -> bool {
        matches!(self, Hook::AfterAllowTraffic)
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The listener a hook's probes go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ListenerRole {
    Test,
    Production,
}

impl ListenerRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ListenerRole::Test => "test",
            ListenerRole::Production => "production",
        }
    }
}

/// A JSON field a response must have: `pointer` (RFC 6901) equal to `equals`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JsonField {
    pub pointer: String,
    pub equals: Value,
}

/// The version assertion: a response must name the new revision, so an answer from blue fails.
///
/// `expected` may contain `{taskDefinition}` (`family:revision` of the deployment's task
/// definition), `{taskDefinitionRevision}` or `{deploymentId}`. With `header`, the header's
/// value must contain the token; without, the body must.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VersionAssertion {
    #[serde(default)]
    pub header: Option<String>,
    pub expected: String,
}

/// An override document: every field optional, unknown fields refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckOverride {
    pub enabled: Option<bool>,
    pub target_health: Option<bool>,
    pub target_health_wait_ms: Option<u64>,
    pub target_health_poll_ms: Option<u64>,
    pub probes: Option<bool>,
    pub paths: Option<Vec<String>>,
    pub host_name: Option<String>,
    pub requests: Option<u32>,
    pub window_ms: Option<u64>,
    pub interval_ms: Option<u64>,
    pub concurrency: Option<u32>,
    pub timeout_ms: Option<u64>,
    pub accept_status: Option<Vec<String>>,
    pub body_contains: Option<String>,
    pub json_field: Option<JsonField>,
    pub version: Option<VersionAssertion>,
    pub min_success_rate: Option<f64>,
    pub max_p95_ms: Option<u64>,
    pub max_p99_ms: Option<u64>,
    pub max_consecutive_failures: Option<u32>,
    pub warmup_ms: Option<u64>,
}

/// Overrides of one deployment group.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupOverride {
    #[serde(default)]
    pub default: CheckOverride,
    #[serde(default)]
    pub hooks: BTreeMap<Hook, CheckOverride>,
}

/// The whole `CODEHOOKS_HOOK_POLICY` document.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyDocument {
    #[serde(default)]
    pub default: CheckOverride,
    #[serde(default)]
    pub hooks: BTreeMap<Hook, CheckOverride>,
    #[serde(default)]
    pub deployment_groups: BTreeMap<String, GroupOverride>,
}

/// An inclusive range of accepted status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatusRange {
    pub from: u16,
    pub to: u16,
}

impl StatusRange {
    pub fn parse(text: &str) -> Option<StatusRange> {
        let text = text.trim();
        let (a, b) = match text.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None if text.len() == 3 && text.ends_with("xx") => {
                let d: u16 = text[..1].parse().ok()?;
                return Some(StatusRange {
                    from: d * 100,
                    to: d * 100 + 99,
                });
            }
            None => (text, text),
        };
        let from: u16 = a.parse().ok()?;
        let to: u16 = b.parse().ok()?;
        ((100..=599).contains(&from) && (100..=599).contains(&to) && from <= to)
            .then_some(StatusRange { from, to })
    }

    pub fn contains(&self, status: u16) -> bool {
        (self.from..=self.to).contains(&status)
    }
}

/// The effective checks of one hook run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Checks {
    /// `false`: report `Succeeded` at once (discovery still has to work for other hooks).
    pub enabled: bool,
    pub target_health: bool,
    pub target_health_wait_ms: u64,
    pub target_health_poll_ms: u64,
    pub probes: bool,
    pub paths: Vec<String>,
    pub host_name: Option<String>,
    pub requests: u32,
    pub window_ms: Option<u64>,
    pub interval_ms: u64,
    pub concurrency: u32,
    pub timeout_ms: u64,
    pub accept_status: Vec<StatusRange>,
    pub body_contains: Option<String>,
    pub json_field: Option<JsonField>,
    pub version: Option<VersionAssertion>,
    pub min_success_rate: f64,
    pub max_p95_ms: Option<u64>,
    pub max_p99_ms: Option<u64>,
    pub max_consecutive_failures: u32,
    pub warmup_ms: u64,
}

impl Checks {
    /// The built-in checks of `hook`: they work for a typical web service answering 2xx on `/`.
    pub fn defaults(hook: Hook) -> Checks {
        let base = Checks {
            enabled: true,
            target_health: true,
            target_health_wait_ms: 60_000,
            target_health_poll_ms: 2_000,
            probes: true,
            paths: vec!["/".to_owned()],
            host_name: None,
            requests: 30,
            window_ms: None,
            interval_ms: 0,
            concurrency: 4,
            timeout_ms: 3_000,
            accept_status: vec![StatusRange { from: 200, to: 299 }],
            body_contains: None,
            json_field: None,
            version: None,
            min_success_rate: 0.95,
            max_p95_ms: Some(2_000),
            max_p99_ms: None,
            max_consecutive_failures: 5,
            warmup_ms: 10_000,
        };
        match hook {
            Hook::BeforeInstall => Checks {
                target_health: false,
                probes: false,
                ..base
            },
            Hook::AfterInstall => Checks {
                probes: false,
                ..base
            },
            Hook::AfterAllowTestTraffic => base,
            Hook::BeforeAllowTraffic => Checks {
                requests: 10,
                warmup_ms: 2_000,
                target_health_wait_ms: 20_000,
                ..base
            },
            Hook::AfterAllowTraffic => Checks {
                requests: 10,
                warmup_ms: 2_000,
                target_health_wait_ms: 20_000,
                ..base
            },
        }
    }

    fn apply(&mut self, o: &CheckOverride) {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = &o.$f { self.$f = v.clone(); } )* };
        }
        macro_rules! set_opt {
            ($($f:ident),*) => { $( if let Some(v) = &o.$f { self.$f = Some(v.clone()); } )* };
        }
        set!(
            enabled,
            target_health,
            target_health_wait_ms,
            target_health_poll_ms,
            probes,
            paths,
            requests,
            interval_ms,
            concurrency,
            timeout_ms,
            min_success_rate,
            max_consecutive_failures,
            warmup_ms
        );
        set_opt!(
            host_name,
            window_ms,
            body_contains,
            json_field,
            version,
            max_p95_ms,
            max_p99_ms
        );
        if let Some(list) = &o.accept_status {
            self.accept_status = list.iter().filter_map(|s| StatusRange::parse(s)).collect();
        }
    }

    /// Whether a status code is accepted.
    pub fn accepts(&self, status: u16) -> bool {
        self.accept_status.iter().any(|r| r.contains(status))
    }
}

/// Problems of one override document (`where_` names its place in the policy).
fn validate_override(where_: &str, o: &CheckOverride, problems: &mut Vec<String>) {
    let mut bad = |what: String| problems.push(format!("{where_}: {what}"));
    if let Some(paths) = &o.paths {
        if paths.is_empty() {
            bad("paths must list at least one path".into());
        }
        for p in paths {
            if !p.starts_with('/') || p.chars().any(|c| c.is_whitespace() || c.is_control()) {
                bad(format!(
                    "path {p:?} must start with / and contain no spaces"
                ));
            }
        }
    }
    if let Some(h) = &o.host_name
        && !valid_host_name(h)
    {
        bad(format!("hostName {h:?} is not a DNS name"));
    }
    let ranges: [(&str, Option<u64>, u64, u64); 9] = [
        ("requests", o.requests.map(u64::from), 1, 1_000),
        ("windowMs", o.window_ms, 1_000, 600_000),
        ("intervalMs", o.interval_ms, 0, 60_000),
        ("concurrency", o.concurrency.map(u64::from), 1, 32),
        ("timeoutMs", o.timeout_ms, 50, 60_000),
        (
            "maxConsecutiveFailures",
            o.max_consecutive_failures.map(u64::from),
            1,
            1_000,
        ),
        ("warmupMs", o.warmup_ms, 0, 600_000),
        ("targetHealthWaitMs", o.target_health_wait_ms, 0, 900_000),
        ("targetHealthPollMs", o.target_health_poll_ms, 100, 60_000),
    ];
    for (name, value, lo, hi) in ranges {
        if let Some(v) = value
            && !(lo..=hi).contains(&v)
        {
            bad(format!("{name} must be from {lo} to {hi}, got {v}"));
        }
    }
    for (name, v) in [("maxP95Ms", o.max_p95_ms), ("maxP99Ms", o.max_p99_ms)] {
        if let Some(v) = v
            && !(1..=600_000).contains(&v)
        {
            bad(format!("{name} must be from 1 to 600000, got {v}"));
        }
    }
    if let Some(r) = o.min_success_rate
        && !(0.0..=1.0).contains(&r)
    {
        bad(format!("minSuccessRate must be from 0 to 1, got {r}"));
    }
    if let Some(list) = &o.accept_status {
        if list.is_empty() {
            bad("acceptStatus must list at least one status".into());
        }
        for s in list {
            if StatusRange::parse(s).is_none() {
                bad(format!(
                    "acceptStatus entry {s:?} is not a status code, a range like 200-299, or 2xx"
                ));
            }
        }
    }
    if let Some(j) = &o.json_field
        && !(j.pointer.is_empty() || j.pointer.starts_with('/'))
    {
        bad(format!(
            "jsonField.pointer {:?} must be a JSON pointer starting with /",
            j.pointer
        ));
    }
    if let Some(b) = &o.body_contains
        && b.is_empty()
    {
        bad("bodyContains must not be empty".into());
    }
    if let Some(v) = &o.version {
        if v.expected.trim().is_empty() {
            bad("version.expected must not be empty".into());
        }
        if let Some(h) = &v.header
            && (h.is_empty()
                || !h
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        {
            bad(format!("version.header {h:?} is not a header name"));
        }
    }
}

/// Whether `h` looks like a DNS host name.
pub fn valid_host_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// The validated policy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    doc: PolicyDocument,
    /// Paths set by the simple `CODEHOOKS_HOOK_PATHS` variable (below the document's).
    base_paths: Option<Vec<String>>,
    /// Host name set by `CODEHOOKS_HOOK_HOST_NAME` (below the document's).
    base_host: Option<String>,
}

impl Policy {
    /// Parses and validates the policy; the error lists every problem.
    pub fn parse(
        json: Option<&str>,
        paths: Vec<String>,
        host_name: Option<String>,
    ) -> Result<Policy, Vec<String>> {
        let mut problems = Vec::new();
        let doc: PolicyDocument = match json {
            None => PolicyDocument::default(),
            Some(text) => match serde_json::from_str(text) {
                Ok(d) => d,
                Err(e) => return Err(vec![format!("is not a valid policy document: {e}")]),
            },
        };
        validate_override("default", &doc.default, &mut problems);
        for (hook, o) in &doc.hooks {
            validate_override(&format!("hooks.{hook}"), o, &mut problems);
        }
        for (group, g) in &doc.deployment_groups {
            validate_override(
                &format!("deploymentGroups.{group}.default"),
                &g.default,
                &mut problems,
            );
            for (hook, o) in &g.hooks {
                validate_override(
                    &format!("deploymentGroups.{group}.hooks.{hook}"),
                    o,
                    &mut problems,
                );
            }
        }
        let base = CheckOverride {
            paths: (!paths.is_empty()).then(|| paths.clone()),
            host_name: host_name.clone(),
            ..CheckOverride::default()
        };
        validate_override(
            "CODEHOOKS_HOOK_PATHS/CODEHOOKS_HOOK_HOST_NAME",
            &base,
            &mut problems,
        );
        if problems.is_empty() {
            Ok(Policy {
                doc,
                base_paths: base.paths,
                base_host: host_name,
            })
        } else {
            Err(problems)
        }
    }

    /// The effective checks for `hook` in `deployment_group`.
    pub fn checks(&self, hook: Hook, deployment_group: &str) -> Checks {
        let mut c = Checks::defaults(hook);
        c.apply(&CheckOverride {
            paths: self.base_paths.clone(),
            host_name: self.base_host.clone(),
            ..CheckOverride::default()
        });
        c.apply(&self.doc.default);
        if let Some(o) = self.doc.hooks.get(&hook) {
            c.apply(o);
        }
        if let Some(g) = self.doc.deployment_groups.get(deployment_group) {
            c.apply(&g.default);
            if let Some(o) = g.hooks.get(&hook) {
                c.apply(o);
            }
        }
        c
    }
}

#[cfg(test)]
#[path = "policy_test.rs"]
mod tests;
