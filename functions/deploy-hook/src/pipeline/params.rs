//! The action's `UserParameters`: what one verification checks, as a JSON document.
//!
//! ```json
//! {"service": {"cluster": "shop", "name": "web", "taskDefinition": "web:42"},
//!  "url": "https://shop.example.com/health",
//!  "checks": {"requests": 20, "version": {"header": "x-version", "expected": "{taskDefinitionRevision}"}},
//!  "alarms": {"prefix": "shop-web-"}, "watchSeconds": 300,
//!  "pipeline": {"name": "shop", "executionId": "#{codepipeline.PipelineExecutionId}"}}
//! ```
//!
//! At least one of `service`, `url` and `alarms`; unknown fields are refused; every problem is
//! named by its field (`checks.requests: ...`), and a document with any problem fails the job as
//! a `ConfigurationError`.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::analysis::spec::AlarmGate;
use crate::checks::Checks;
use crate::hook::Hook;
use crate::overrides::CheckOverride;

/// The document's fields.
const FIELDS: [&str; 8] = [
    "service",
    "url",
    "checks",
    "alarms",
    "watchSeconds",
    "timeoutSeconds",
    "pollSeconds",
    "pipeline",
];

/// Check options that have no meaning for a pipeline action, and why.
const REFUSED_CHECKS: [(&str, &str); 8] = [
    (
        "enabled",
        "remove the action (or its stage) to stop verifying",
    ),
    (
        "probes",
        "the probes run when url is set, and not otherwise",
    ),
    (
        "targetHealth",
        "target health is a lifecycle hook's check; wait for the service instead",
    ),
    (
        "targetHealthWaitMs",
        "target health is a lifecycle hook's check",
    ),
    (
        "targetHealthPollMs",
        "target health is a lifecycle hook's check",
    ),
    (
        "callBackDelaySeconds",
        "use pollSeconds: CodePipeline invokes again at once with the continuation token",
    ),
    (
        "analysis",
        "use alarms and watchSeconds: there is no blue to compare green with",
    ),
    ("hostName", "put the host name in url"),
];

/// `watchSeconds`, `timeoutSeconds` and `pollSeconds`: (name, default, lowest, highest).
const DURATIONS: [(&str, u64, u64, u64); 3] = [
    ("watchSeconds", 0, 0, 3_600),
    ("timeoutSeconds", 1_800, 60, 3_600),
    ("pollSeconds", 15, 1, 300),
];

/// The ECS service whose rolling deployment must complete.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceTarget {
    /// Name or ARN (ECS's `default` when absent).
    #[serde(default = "default_cluster")]
    pub cluster: String,
    /// Name or ARN.
    pub name: String,
    /// The task definition the deployment must run (`family:revision` or its ARN); without
    /// it, whatever the newest deployment runs.
    #[serde(default)]
    pub task_definition: Option<String>,
    /// The least running tasks (the deployment's desired count when absent).
    #[serde(default)]
    pub running_count: Option<i64>,
}

fn default_cluster() -> String {
    "default".to_owned()
}

/// The pipeline execution, for the alert's link.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PipelineRef {
    pub name: String,
    pub execution_id: String,
}

/// Where the probes go: `scheme://host:port` and the URL's path (with its query).
#[derive(Debug, Clone, PartialEq)]
pub struct UrlTarget {
    pub origin: String,
    pub path: String,
}

/// A validated document.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub service: Option<ServiceTarget>,
    pub url: Option<UrlTarget>,
    /// The probes' options (the hook's `AfterAllowTestTraffic` defaults, without target
    /// health, with `checks` over them).
    pub checks: Checks,
    pub alarms: Option<AlarmGate>,
    pub watch_seconds: u64,
    pub timeout_seconds: u64,
    pub poll_seconds: u64,
    pub pipeline: Option<PipelineRef>,
}

/// Every problem of a document, each naming its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("UserParameters: {}", problems.join("; "))]
pub struct ParamsError {
    pub problems: Vec<String>,
}

fn refuse(problem: impl Into<String>) -> ParamsError {
    ParamsError {
        problems: vec![problem.into()],
    }
}

/// Reads and validates the action's `UserParameters` (a JSON string, as CodePipeline passes it;
/// an object is taken as is).
pub fn parse(raw: Option<&Value>, load_ceiling: u32) -> Result<Params, ParamsError> {
    const SHAPE: &str = "a JSON object such as {\"service\": {\"cluster\": \"...\", \"name\": \"...\"}, \"url\": \"https://...\"}";
    let doc: Map<String, Value> = match raw {
        None => {
            return Err(refuse(format!(
                "the action has no UserParameters; set it to {SHAPE}"
            )));
        }
        Some(Value::String(text)) if text.trim().is_empty() => {
            return Err(refuse(format!(
                "UserParameters is empty; set it to {SHAPE}"
            )));
        }
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(refuse(format!("is not {SHAPE}"))),
            Err(e) => return Err(refuse(format!("is not valid JSON ({e})"))),
        },
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(refuse(format!("must be {SHAPE}"))),
    };
    let mut problems = Vec::new();
    for key in doc.keys() {
        if !FIELDS.contains(&key.as_str()) {
            problems.push(format!(
                "unknown field {key:?}; the fields are {}",
                FIELDS.join(", ")
            ));
        }
    }
    let service = field::<ServiceTarget>(&doc, "service", &mut problems);
    if let Some(s) = &service {
        service_problems(s, &mut problems);
    }
    let url = match doc.get("url") {
        None => None,
        Some(Value::String(u)) if u.contains("#{") => {
            unresolved("url", u, &mut problems);
            None
        }
        Some(Value::String(u)) => match url_target(u) {
            Ok(t) => Some(t),
            Err(why) => {
                problems.push(format!("url: {why}"));
                None
            }
        },
        Some(_) => {
            problems.push("url must be a string (an http or https URL)".into());
            None
        }
    };
    let alarms = field::<AlarmGate>(&doc, "alarms", &mut problems);
    if let Some(g) = &alarms {
        crate::analysis::spec::alarm_problems(g, &mut |p| problems.push(p));
    }
    let pipeline = field::<PipelineRef>(&doc, "pipeline", &mut problems);
    if let Some(p) = &pipeline {
        pipeline_problems(p, &mut problems);
    }
    let mut numbers = [0u64; 3];
    for (slot, (name, default, lo, hi)) in numbers.iter_mut().zip(DURATIONS) {
        *slot = match doc.get(name) {
            None => default,
            Some(v) => match v.as_u64().filter(|n| (lo..=hi).contains(n)) {
                Some(n) => n,
                None => {
                    problems.push(format!(
                        "{name} must be a whole number of seconds from {lo} to {hi}, got {v}"
                    ));
                    default
                }
            },
        };
    }
    let [watch_seconds, timeout_seconds, poll_seconds] = numbers;
    let over = checks_override(doc.get("checks"), load_ceiling, &mut problems);
    if service.is_none()
        && url.is_none()
        && alarms.is_none()
        && doc.keys().all(|k| FIELDS.contains(&k.as_str()))
    {
        problems.push("nothing to verify: set service, url or alarms (or several)".into());
    }
    if alarms.is_none() && watch_seconds > 0 {
        problems.push("watchSeconds watches alarms: set alarms too".into());
    }
    if let Some(o) = &over {
        if url.is_none() {
            problems.push("checks configures the probes: set url too".into());
        }
        if let Some(v) = &o.version
            && v.expected.contains("{taskDefinition")
            && service.is_none()
        {
            problems.push(
                "checks.version.expected names the task definition: set service too (its deployment's task definition fills it in)".into(),
            );
        }
    }
    if !problems.is_empty() {
        return Err(ParamsError { problems });
    }
    let mut checks = Checks::defaults(Hook::AfterAllowTestTraffic);
    checks.target_health = false;
    checks.probes = url.is_some();
    if let Some(u) = &url {
        checks.paths = vec![u.path.clone()];
    }
    if let Some(o) = &over {
        checks.apply(o);
    }
    Ok(Params {
        service,
        url,
        checks,
        alarms,
        watch_seconds,
        timeout_seconds,
        poll_seconds,
        pipeline,
    })
}

/// One object field, deserialized strictly; its problem is named after it.
fn field<T: serde::de::DeserializeOwned>(
    doc: &Map<String, Value>,
    name: &str,
    problems: &mut Vec<String>,
) -> Option<T> {
    let v = doc.get(name)?;
    match T::deserialize(v) {
        Ok(t) => Some(t),
        Err(e) => {
            problems.push(format!("{name}: {e}"));
            None
        }
    }
}

fn service_problems(s: &ServiceTarget, problems: &mut Vec<String>) {
    for (name, value) in [("service.cluster", &s.cluster), ("service.name", &s.name)] {
        if value.trim().is_empty() || value.chars().count() > 1_600 {
            problems.push(format!(
                "{name} must be a name or ARN (1 to 1,600 characters)"
            ));
        }
    }
    if let Some(td) = &s.task_definition
        && (td.trim().is_empty() || td.contains(char::is_whitespace))
    {
        problems.push(format!(
            "service.taskDefinition {td:?} must be family:revision or a task definition ARN"
        ));
    }
    if let Some(n) = s.running_count
        && !(0..=5_000).contains(&n)
    {
        problems.push(format!(
            "service.runningCount must be from 0 to 5000, got {n}"
        ));
    }
    unresolved("service.cluster", &s.cluster, problems);
    unresolved("service.name", &s.name, problems);
    if let Some(td) = &s.task_definition {
        unresolved("service.taskDefinition", td, problems);
    }
}

fn pipeline_problems(p: &PipelineRef, problems: &mut Vec<String>) {
    if p.name.trim().is_empty() || p.name.chars().count() > 100 {
        problems.push("pipeline.name must be the pipeline's name (1 to 100 characters)".into());
    }
    unresolved("pipeline.name", &p.name, problems);
    if p.execution_id.contains("#{") {
        unresolved("pipeline.executionId", &p.execution_id, problems);
    } else if !crate::pipeline::event::is_uuid(&p.execution_id) {
        problems.push(format!(
            "pipeline.executionId {:?} is not a pipeline execution id (a UUID); use #{{codepipeline.PipelineExecutionId}}",
            codehooks::text::cut(&p.execution_id, 80)
        ));
    }
}

/// A CodePipeline variable that was not resolved (`#{...}` left in the value).
fn unresolved(name: &str, value: &str, problems: &mut Vec<String>) {
    if value.contains("#{") {
        problems.push(format!(
            "{name} {:?} holds a variable CodePipeline did not resolve: check its namespace and spelling",
            codehooks::text::cut(value, 120)
        ));
    }
}

/// An http or https URL with a host, no credentials and no fragment.
fn url_target(text: &str) -> Result<UrlTarget, String> {
    let u = reqwest::Url::parse(text).map_err(|e| format!("{text:?} is not a URL ({e})"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!("{text:?} must be an http or https URL"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("must not carry credentials (user:password@)".into());
    }
    if u.fragment().is_some() {
        return Err(format!("{text:?} must not have a #fragment"));
    }
    let Some(host) = u.host_str() else {
        return Err(format!("{text:?} has no host"));
    };
    let port = u
        .port_or_known_default()
        .ok_or_else(|| format!("{text:?} has no port"))?;
    let path = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_owned(),
    };
    Ok(UrlTarget {
        origin: format!("{}://{host}:{port}", u.scheme()),
        path,
    })
}

/// `checks`, read field by field (so a problem names `checks.<field>`), then validated as the
/// hook's policy validates an override.
fn checks_override(
    raw: Option<&Value>,
    load_ceiling: u32,
    problems: &mut Vec<String>,
) -> Option<CheckOverride> {
    let raw = raw?;
    let Some(object) = raw.as_object() else {
        problems.push("checks must be an object of probe options".into());
        return None;
    };
    let mut accepted = Map::new();
    for (key, value) in object {
        if let Some((_, why)) = REFUSED_CHECKS.iter().find(|(k, _)| k == key) {
            problems.push(format!(
                "checks.{key} is not an option of this action: {why}"
            ));
            continue;
        }
        let one: Map<String, Value> = [(key.clone(), value.clone())].into_iter().collect();
        match CheckOverride::deserialize(Value::Object(one)) {
            Ok(_) => {
                accepted.insert(key.clone(), value.clone());
            }
            Err(e) => problems.push(format!("checks.{key}: {e}")),
        }
    }
    let over = CheckOverride::deserialize(Value::Object(accepted)).ok()?;
    crate::policy::validate_override("checks", &over, load_ceiling, problems);
    Some(over)
}

#[cfg(test)]
#[path = "params_test.rs"]
mod tests;
