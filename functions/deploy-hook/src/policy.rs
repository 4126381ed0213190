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
//! `deploymentGroups.<group>.default`, `deploymentGroups.<group>.hooks.<hook>`. Amazon ECS's
//! own deployments have no deployment group: `services.<cluster>/<service>` (or
//! `services.<service>`) plays its part, and `hooks` takes the stage names
//! (`POST_TEST_TRAFFIC_SHIFT`...). The checks of Lambda deployments are in `lambda`
//! ([`crate::lambda::policy`]).
//!
//! An ECS service may carry a document of the same shape in its lifecycle hook's `hookDetails`
//! (`codehooksPolicy`): validated the same way, it is layered over this one for that hook
//! ([`Policy::overlaid`]).

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
    #[serde(default)]
    pub services: BTreeMap<String, GroupOverride>,
    #[serde(default)]
    pub lambda: crate::lambda::policy::LambdaDocument,
}

/// Where a hook runs: the scope of the policy's per-group (per-service) overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// A CodeDeploy deployment group.
    Group(&'a str),
    /// An Amazon ECS service: `cluster` and `service` names.
    Service { cluster: &'a str, service: &'a str },
}

/// Problems of one override document (`where_` names its place in the policy).
pub(crate) fn validate_override(
    where_: &str,
    o: &CheckOverride,
    ceiling: u32,
    problems: &mut Vec<String>,
) {
    if let Some(a) = &o.analysis {
        crate::analysis::spec::validate(&format!("{where_}.analysis"), a, ceiling, problems);
    }
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
    if let Some(v) = o.call_back_delay_seconds
        && !(1..=900).contains(&v)
    {
        bad(format!(
            "callBackDelaySeconds must be from 1 to 900, got {v}"
        ));
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

/// Every problem of a policy document; `prefix` names where the document sits.
fn validate_document(doc: &PolicyDocument, prefix: &str, ceiling: u32, problems: &mut Vec<String>) {
    validate_override(&format!("{prefix}default"), &doc.default, ceiling, problems);
    for (hook, o) in &doc.hooks {
        validate_override(&format!("{prefix}hooks.{hook}"), o, ceiling, problems);
    }
    for (kind, map) in [
        ("deploymentGroups", &doc.deployment_groups),
        ("services", &doc.services),
    ] {
        for (name, g) in map {
            validate_override(
                &format!("{prefix}{kind}.{name}.default"),
                &g.default,
                ceiling,
                problems,
            );
            for (hook, o) in &g.hooks {
                validate_override(
                    &format!("{prefix}{kind}.{name}.hooks.{hook}"),
                    o,
                    ceiling,
                    problems,
                );
            }
        }
    }
    crate::lambda::policy::validate(&doc.lambda, &format!("{prefix}lambda"), problems);
}

/// Every problem of a policy, each naming its place in the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", problems.join("; "))]
pub struct PolicyError {
    pub problems: Vec<String>,
}

/// The validated policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    doc: PolicyDocument,
    /// Paths set by the simple `CODEHOOKS_HOOK_PATHS` variable (below the document's).
    base_paths: Option<Vec<String>>,
    /// Host name set by `CODEHOOKS_HOOK_HOST_NAME` (below the document's).
    base_host: Option<String>,
    /// A service's own document (`hookDetails.codehooksPolicy`), above all the rest.
    overlay: Option<Box<PolicyDocument>>,
    /// The most `analysis.load.rps` may ask for (`CODEHOOKS_HOOK_MAX_LOAD_RPS`).
    load_ceiling: u32,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            doc: PolicyDocument::default(),
            base_paths: None,
            base_host: None,
            overlay: None,
            load_ceiling: crate::analysis::spec::DEFAULT_LOAD_CEILING,
        }
    }
}

impl Policy {
    /// Parses and validates the policy; the error lists every problem.
    pub fn parse(
        json: Option<&str>,
        paths: Vec<String>,
        host_name: Option<String>,
    ) -> Result<Policy, PolicyError> {
        Policy::parse_with_ceiling(
            json,
            paths,
            host_name,
            crate::analysis::spec::DEFAULT_LOAD_CEILING,
        )
    }

    /// [`Policy::parse`] with the most `analysis.load.rps` may ask for.
    pub fn parse_with_ceiling(
        json: Option<&str>,
        paths: Vec<String>,
        host_name: Option<String>,
        load_ceiling: u32,
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
        validate_document(&doc, "", load_ceiling, &mut problems);
        let base = CheckOverride {
            paths: (!paths.is_empty()).then(|| paths.clone()),
            host_name: host_name.clone(),
            ..CheckOverride::default()
        };
        validate_override(
            "CODEHOOKS_HOOK_PATHS/CODEHOOKS_HOOK_HOST_NAME",
            &base,
            load_ceiling,
            &mut problems,
        );
        if problems.is_empty() {
            Ok(Policy {
                doc,
                base_paths: base.paths,
                base_host: host_name,
                overlay: None,
                load_ceiling,
            })
        } else {
            Err(PolicyError { problems })
        }
    }

    /// The effective checks for `hook` in `deployment_group`.
    pub fn checks(&self, hook: Hook, deployment_group: &str) -> Checks {
        self.checks_in(hook, Scope::Group(deployment_group))
    }

    /// The effective checks for `hook` where it runs.
    pub fn checks_in(&self, hook: Hook, scope: Scope<'_>) -> Checks {
        let mut c = Checks::defaults(hook);
        c.apply(&CheckOverride {
            paths: self.base_paths.clone(),
            host_name: self.base_host.clone(),
            ..CheckOverride::default()
        });
        apply_document(&mut c, &self.doc, hook, scope);
        if let Some(overlay) = &self.overlay {
            apply_document(&mut c, overlay, hook, scope);
        }
        c
    }

    /// The effective checks of a Lambda deployment's `hook` for `function`.
    pub fn lambda_checks(&self, hook: Hook, function: &str) -> crate::lambda::policy::LambdaChecks {
        let sections =
            std::iter::once(&self.doc.lambda).chain(self.overlay.as_ref().map(|o| &o.lambda));
        crate::lambda::policy::layered(sections, hook, function)
    }

    /// This policy with a service's own document (`hookDetails.codehooksPolicy`: an object or
    /// a JSON string holding one) layered over it; the error lists every problem, each named
    /// under `hookDetails.codehooksPolicy`.
    pub fn overlaid(&self, document: &serde_json::Value) -> Result<Policy, PolicyError> {
        const WHERE: &str = "hookDetails.codehooksPolicy";
        let parsed = match document {
            serde_json::Value::String(text) => serde_json::from_str::<PolicyDocument>(text),
            other => PolicyDocument::deserialize(other),
        };
        let doc = parsed.map_err(|e| PolicyError {
            problems: vec![format!("{WHERE} is not a valid policy document: {e}")],
        })?;
        let mut problems = Vec::new();
        validate_document(&doc, &format!("{WHERE}."), self.load_ceiling, &mut problems);
        if !problems.is_empty() {
            return Err(PolicyError { problems });
        }
        Ok(Policy {
            overlay: Some(Box::new(doc)),
            ..self.clone()
        })
    }
}

/// Applies one document's layers for `hook` in `scope`, lowest first.
fn apply_document(c: &mut Checks, doc: &PolicyDocument, hook: Hook, scope: Scope<'_>) {
    c.apply(&doc.default);
    if let Some(o) = doc.hooks.get(&hook) {
        c.apply(o);
    }
    let group = match scope {
        Scope::Group(g) => doc.deployment_groups.get(g),
        Scope::Service { cluster, service } => doc
            .services
            .get(&format!("{cluster}/{service}"))
            .or_else(|| doc.services.get(service)),
    };
    if let Some(g) = group {
        c.apply(&g.default);
        if let Some(o) = g.hooks.get(&hook) {
            c.apply(o);
        }
    }
}

#[cfg(test)]
#[path = "policy_test.rs"]
mod tests;
