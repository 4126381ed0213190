//! Listener rules, read for the probes (pure functions of [`RuleFacts`]): the requests a rule's
//! conditions let through ([`probe_shape`]), or why no probe can meet them; where the rule
//! forwards ([`forward_weights`], [`serving`]); and the ARNs around it ([`listener_of`],
//! [`target_group_name`]).
//!
//! The conditions, as an Application Load Balancer evaluates them: `host-header`,
//! `http-header` and `query-string` values are case-insensitive patterns with `*` (any run) and
//! `?` (one character), `\` escaping either; `path-pattern` is the same, case-sensitive, over
//! the path without its query string. Values within one condition are alternatives; the
//! conditions all apply. A probe meets a rule by carrying the `Host`, headers and query
//! parameters filled in from the first usable value of each condition, and by asking only for
//! paths a pattern matches; it is a `GET`, and cannot choose its source address.

use crate::facts::{RuleCondition, RuleFacts};
use crate::plan::ProbeShape;
use crate::readings::{NotForwarding, forwarded_target_groups};

/// What a wildcard `*` becomes in a filled-in value.
const FILL_ANY: &str = "codehooks";
/// What a wildcard `?` becomes.
const FILL_ONE: char = 'x';
/// The query parameter that carries a `query-string` value given without a key.
pub const KEYLESS_QUERY_KEY: &str = "codehooks";

/// No probe can meet the rule's conditions; the message says which and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RuleRefused(pub String);

/// Whether `text` matches the ELB pattern (`*`, `?`, `\` escapes).
pub fn pattern_matches(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum T {
        Lit(char),
        Any,
        One,
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '\\' => T::Lit(chars.next().unwrap_or('\\')),
            '*' => T::Any,
            '?' => T::One,
            c => T::Lit(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| {
        if case_insensitive {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    // Classic two-pointer wildcard match with backtracking to the last '*'.
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(T::Lit(c)) if eq(*c, text[t]) => (p, t) = (p + 1, t + 1),
            Some(T::One) => (p, t) = (p + 1, t + 1),
            Some(T::Any) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    star = Some((sp, st + 1));
                    (p, t) = (sp + 1, st + 1);
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|t| *t == T::Any)
}

/// The pattern with its wildcards filled in (escapes resolved).
pub fn fill(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().unwrap_or('\\')),
            '*' => out.push_str(FILL_ANY),
            '?' => out.push(FILL_ONE),
            c => out.push(c),
        }
    }
    out
}

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_header_value(v: &str) -> bool {
    v.len() <= 1024 && v.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
}

fn list(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The probes that meet `rule`'s conditions for `paths`; `host_name` (the policy's) must be one
/// the rule accepts, and is then the probes' `Host`.
pub fn probe_shape(
    rule: &RuleFacts,
    paths: &[String],
    host_name: Option<&str>,
) -> Result<ProbeShape, RuleRefused> {
    let refuse = |why: String| RuleRefused(format!("listener rule {}: {why}", rule.arn));
    let mut shape = ProbeShape {
        rule_arn: Some(rule.arn.clone()),
        ..ProbeShape::default()
    };
    for condition in &rule.conditions {
        match condition {
            RuleCondition::HostHeader(values) if values.is_empty() => {
                return Err(refuse(
                    "its host-header condition has no values to match (a regex condition is not supported)".into(),
                ));
            }
            RuleCondition::HostHeader(values) => {
                shape.host = Some(match host_name {
                    Some(h) if values.iter().any(|p| pattern_matches(p, h, true)) => h.to_owned(),
                    Some(h) => {
                        return Err(refuse(format!(
                            "the configured hostName {h:?} does not match its host-header condition ({})",
                            list(values)
                        )));
                    }
                    None => values
                        .iter()
                        .map(|p| fill(p))
                        .find(|h| codehooks::names::is_host_name(h) && h.contains('.'))
                        .ok_or_else(|| {
                            refuse(format!(
                                "no host name can be made from its host-header condition ({}); set hostName in the policy",
                                list(values)
                            ))
                        })?,
                });
            }
            RuleCondition::PathPattern(patterns) => {
                let unmatched: Vec<String> = paths
                    .iter()
                    .filter(|path| {
                        let bare = path.split('?').next().unwrap_or(path);
                        !patterns.iter().any(|p| pattern_matches(p, bare, false))
                    })
                    .cloned()
                    .collect();
                if patterns.is_empty() || !unmatched.is_empty() {
                    return Err(refuse(format!(
                        "the probe paths {} do not match its path-pattern condition ({}); set paths in the policy to paths it routes",
                        list(&unmatched),
                        if patterns.is_empty() {
                            "no values: a regex condition is not supported".to_owned()
                        } else {
                            list(patterns)
                        }
                    )));
                }
            }
            RuleCondition::HttpHeader { name, values } => {
                let value = values.iter().map(|p| fill(p)).find(|v| is_header_value(v));
                match value {
                    Some(v) if is_token(name) => shape.headers.push((name.clone(), v)),
                    _ => {
                        return Err(refuse(format!(
                            "its http-header condition {name:?} ({}) cannot be sent as a header",
                            list(values)
                        )));
                    }
                }
            }
            RuleCondition::QueryString(pairs) => {
                let Some((key, value)) = pairs.first() else {
                    return Err(refuse("its query-string condition has no values".into()));
                };
                let key = key.as_deref().map(fill);
                shape.query.push((
                    key.filter(|k| !k.is_empty())
                        .unwrap_or_else(|| KEYLESS_QUERY_KEY.to_owned()),
                    fill(value),
                ));
            }
            RuleCondition::HttpRequestMethod(methods) => {
                if !methods.iter().any(|m| m == "GET") {
                    return Err(refuse(format!(
                        "its http-request-method condition allows {}, and the probes are GET requests",
                        list(methods)
                    )));
                }
            }
            RuleCondition::SourceIp(ranges) => {
                return Err(refuse(format!(
                    "its source-ip condition ({}) cannot be met: the probes cannot choose their source address",
                    list(ranges)
                )));
            }
            RuleCondition::Other(field) => {
                return Err(refuse(format!(
                    "its condition on {field:?} is not one this function can meet"
                )));
            }
        }
    }
    Ok(shape)
}

/// The target groups of the rule's forward actions, with their weights (an omitted weight is
/// ELB's default of 1; a simple forward counts as 1).
pub fn forward_weights(rule: &RuleFacts) -> Vec<(String, i32)> {
    let mut out = Vec::new();
    for a in rule.actions.iter().filter(|a| a.kind == "forward") {
        if a.weighted.is_empty() {
            out.extend(a.target_group_arn.iter().map(|arn| (arn.clone(), 1)));
        }
        for g in &a.weighted {
            if let Some(arn) = &g.arn {
                out.push((arn.clone(), g.weight.unwrap_or(1)));
            }
        }
    }
    out
}

/// The target groups the rule sends traffic to (weight above zero), sorted.
pub fn serving(rule: &RuleFacts) -> Result<Vec<String>, NotForwarding> {
    forwarded_target_groups(&rule.actions)
}

/// Whether the ARN is a listener's (an NLB's "rule" in an ECS service is its listener).
pub fn is_listener_arn(arn: &str) -> bool {
    arn.split(':')
        .nth(5)
        .is_some_and(|r| r.starts_with("listener/"))
}

/// The listener of a rule (`listener-rule/app/lb/1/l/r` → `listener/app/lb/1/l`); a listener
/// ARN is its own.
pub fn listener_of(rule_arn: &str) -> Option<String> {
    if is_listener_arn(rule_arn) {
        return Some(rule_arn.to_owned());
    }
    let (head, resource) = rule_arn.rsplit_once(':')?;
    let rest = resource.strip_prefix("listener-rule/")?;
    let (listener, rule_id) = rest.rsplit_once('/')?;
    (listener.split('/').count() == 4
        && !rule_id.is_empty()
        && head.contains(":elasticloadbalancing:"))
    .then(|| format!("{head}:listener/{listener}"))
}

/// A target group's name from its ARN (`...:targetgroup/<name>/<id>`).
pub fn target_group_name(arn: &str) -> Option<String> {
    let resource = arn.rsplit_once(':')?.1;
    let mut parts = resource.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("targetgroup"), Some(name), Some(_)) if !name.is_empty() => Some(name.to_owned()),
        _ => None,
    }
}

#[cfg(test)]
#[path = "rules_test.rs"]
mod tests;
