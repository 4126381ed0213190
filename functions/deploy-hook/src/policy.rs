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

use serde::Deserialize;

pub use crate::checks::{Checks, StatusRange};
pub use crate::hook::{Hook, ListenerRole};
pub use crate::overrides::{CheckOverride, JsonField, VersionAssertion};

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
        && !codehooks::names::is_host_name(h)
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

/// Every problem of a policy, each naming its place in the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", problems.join("; "))]
pub struct PolicyError {
    pub problems: Vec<String>,
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
    ) -> Result<Policy, PolicyError> {
        let mut problems = Vec::new();
        let doc: PolicyDocument = match json {
            None => PolicyDocument::default(),
            Some(text) => match serde_json::from_str(text) {
                Ok(d) => d,
                Err(e) => {
                    return Err(PolicyError {
                        problems: vec![format!("is not a valid policy document: {e}")],
                    });
                }
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
            Err(PolicyError { problems })
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
