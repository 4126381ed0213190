//! The payload Amazon ECS sends to a lifecycle hook ([`NativeEvent`]), read strictly.
//!
//! The wire form is nested: `executionId`, `lifecycleStage`, `resourceArn` (the service
//! deployment), `executionDetails` {`serviceArn`, `targetServiceRevisionArn`,
//! `testTrafficWeights`, `productionTrafficWeights`} and, only when set, `hookDetails`. An early
//! page of the guide shows the four `executionDetails` fields at the top level (the flat form):
//! accepted too, with the same three top-level fields required. A payload with both forms'
//! detail fields is refused, and so is any field of the wrong shape. The weight maps may be
//! absent or empty (ECS sends `{}` at several stages). Fields this version does not know are
//! ignored, so a field ECS adds later does not roll deployments back.

use std::collections::BTreeMap;

use codehooks::arn::Arn;
use codehooks::{Error, Result};
use serde_json::{Map, Value};

use crate::hook::Hook;

/// The four fields of `executionDetails` (also the flat form's top-level fields).
pub const DETAIL_FIELDS: [&str; 4] = [
    "serviceArn",
    "targetServiceRevisionArn",
    "testTrafficWeights",
    "productionTrafficWeights",
];
/// Longest `executionId` accepted (ECS sends a UUID).
const EXECUTION_ID_MAX: usize = 128;

/// Traffic weights: service revision ARN → percent.
pub type Weights = BTreeMap<String, u8>;

/// One Amazon ECS lifecycle hook invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeEvent {
    pub execution_id: String,
    pub stage: Hook,
    /// The service deployment ARN.
    pub resource_arn: String,
    pub service_arn: String,
    pub target_revision_arn: String,
    pub test_weights: Weights,
    pub production_weights: Weights,
    pub hook_details: Option<Map<String, Value>>,
    /// The cluster and service names (the same in every ARN of the payload).
    pub cluster: String,
    pub service: String,
    /// Whether the payload had the flat (early guide) form.
    pub flat: bool,
}

fn bad(what: impl std::fmt::Display) -> Error {
    Error::bad_input(format!("Amazon ECS lifecycle hook payload: {what}"))
}

/// The parts of an ECS ARN this payload names: `(resource type, cluster, service, id)`.
struct EcsArn {
    arn: Arn,
    cluster: String,
    service: String,
}

fn is_ecs_name(s: &str) -> bool {
    codehooks::names::is_name(s, 1, 255, "-_")
}

/// Reads `value` (named `field`) as an ECS ARN of `kind` (`service`, `service-revision`,
/// `service-deployment`) in the new format `kind/cluster/service[/id]`.
fn ecs_arn(field: &str, value: &str, kind: &str) -> Result<EcsArn> {
    let shape = match kind {
        "service" => "service/<cluster>/<service>",
        "service-revision" => "service-revision/<cluster>/<service>/<id>",
        _ => "service-deployment/<cluster>/<service>/<id>",
    };
    let want = || {
        bad(format!(
            "{field} {:?} is not an Amazon ECS ARN of the form arn:<partition>:ecs:<region>:<account>:{shape}",
            codehooks::text::cut(value, 300)
        ))
    };
    let arn = Arn::parse_of(value, "ecs").map_err(|e| {
        bad(format!(
            "{field} {:?} is not an Amazon ECS ARN: {e}",
            codehooks::text::cut(value, 300)
        ))
    })?;
    if !codehooks::names::is_region(&arn.region) || !codehooks::names::is_account(&arn.account) {
        return Err(want());
    }
    let parts: Vec<&str> = arn.resource.split('/').collect();
    let ok = match (kind, parts.as_slice()) {
        ("service", [k, c, s]) => *k == kind && is_ecs_name(c) && is_ecs_name(s),
        (_, [k, c, s, id]) => {
            *k == kind
                && is_ecs_name(c)
                && is_ecs_name(s)
                && codehooks::names::is_name(id, 1, 64, "-_")
        }
        _ => false,
    };
    if !ok {
        return Err(want());
    }
    Ok(EcsArn {
        cluster: parts[1].to_owned(),
        service: parts[2].to_owned(),
        arn,
    })
}

/// Checks that `other` is of the same service (partition, region, account, cluster, service).
fn same_service(field: &str, base: &EcsArn, other: &EcsArn) -> Result<()> {
    let same = base.arn.partition == other.arn.partition
        && base.arn.region == other.arn.region
        && base.arn.account == other.arn.account
        && base.cluster == other.cluster
        && base.service == other.service;
    if same {
        Ok(())
    } else {
        Err(bad(format!(
            "{field} names service {}/{} ({} {}), not the deployment's {}/{} ({} {})",
            other.cluster,
            other.service,
            other.arn.partition.id(),
            other.arn.region,
            base.cluster,
            base.service,
            base.arn.partition.id(),
            base.arn.region
        )))
    }
}

fn string<'a>(object: &'a Map<String, Value>, field: &str) -> Result<&'a str> {
    match object.get(field) {
        None | Some(Value::Null) => Err(bad(format!("{field} is missing"))),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim()),
        Some(Value::String(_)) => Err(bad(format!("{field} is empty"))),
        Some(other) => Err(bad(format!(
            "{field} must be a string, got {}",
            kind(other)
        ))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A weight map: revision ARNs of the deployment's service → integers 0..=100.
fn weights(object: &Map<String, Value>, field: &str, base: &EcsArn) -> Result<Weights> {
    let map = match object.get(field) {
        None | Some(Value::Null) => return Ok(Weights::new()),
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(bad(format!(
                "{field} must be an object of service revision ARN to percent, got {}",
                kind(other)
            )));
        }
    };
    let mut out = Weights::new();
    for (arn, w) in map {
        let revision = ecs_arn(&format!("{field} key"), arn, "service-revision")?;
        same_service(&format!("{field} key {arn}"), base, &revision)?;
        let pct = w
            .as_u64()
            .filter(|p| *p <= 100)
            .and_then(|p| u8::try_from(p).ok())
            .ok_or_else(|| {
                bad(format!(
                    "{field}[{arn}] must be an integer from 0 to 100, got {w}"
                ))
            })?;
        out.insert(arn.clone(), pct);
    }
    Ok(out)
}

impl NativeEvent {
    /// Reads the payload (nested or flat form); anything else is `BadInput`, which, returned
    /// to Amazon ECS, rolls the deployment back.
    pub fn parse(payload: &Value) -> Result<NativeEvent> {
        let Some(top) = payload.as_object() else {
            return Err(bad(format!("must be a JSON object, got {}", kind(payload))));
        };
        let flat_fields: Vec<&str> = DETAIL_FIELDS
            .iter()
            .copied()
            .filter(|f| top.contains_key(*f))
            .collect();
        let (details, flat) = match (top.get("executionDetails"), flat_fields.is_empty()) {
            (Some(_), false) => {
                return Err(bad(format!(
                    "it has both executionDetails and the same fields at the top level ({}); \
                     send one form: the fields inside executionDetails",
                    flat_fields.join(", ")
                )));
            }
            (Some(Value::Object(d)), true) => (d, false),
            (Some(other), true) => {
                return Err(bad(format!(
                    "executionDetails must be an object, got {}",
                    kind(other)
                )));
            }
            (None, false) => (top, true),
            (None, true) => {
                return Err(bad(
                    "executionDetails is missing (expected {\"executionId\", \"lifecycleStage\", \
                     \"resourceArn\", \"executionDetails\": {\"serviceArn\", \
                     \"targetServiceRevisionArn\", ...}})",
                ));
            }
        };
        let execution_id = string(top, "executionId")?;
        if execution_id.len() > EXECUTION_ID_MAX
            || !execution_id.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(bad(format!(
                "executionId must be 1 to {EXECUTION_ID_MAX} visible ASCII characters"
            )));
        }
        let stage_name = string(top, "lifecycleStage")?;
        let stage = Hook::parse_stage(stage_name).ok_or_else(|| {
            bad(format!(
                "lifecycleStage {:?} is not an Amazon ECS lifecycle stage ({})",
                codehooks::text::cut(stage_name, 60),
                Hook::ECS_STAGES.map(Hook::as_str).join(", ")
            ))
        })?;
        let resource_arn = string(top, "resourceArn")?;
        let deployment = ecs_arn("resourceArn", resource_arn, "service-deployment")?;
        let service_arn = string(details, "serviceArn")?;
        let service = ecs_arn("serviceArn", service_arn, "service")?;
        same_service("serviceArn", &deployment, &service)?;
        let target = string(details, "targetServiceRevisionArn")?;
        let revision = ecs_arn("targetServiceRevisionArn", target, "service-revision")?;
        same_service("targetServiceRevisionArn", &deployment, &revision)?;
        let test_weights = weights(details, "testTrafficWeights", &deployment)?;
        let production_weights = weights(details, "productionTrafficWeights", &deployment)?;
        let hook_details = match top.get("hookDetails") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m.clone()),
            Some(other) => {
                return Err(bad(format!(
                    "hookDetails must be an object, got {}",
                    kind(other)
                )));
            }
        };
        Ok(NativeEvent {
            execution_id: execution_id.to_owned(),
            stage,
            resource_arn: resource_arn.to_owned(),
            service_arn: service_arn.to_owned(),
            target_revision_arn: target.to_owned(),
            test_weights,
            production_weights,
            hook_details,
            cluster: deployment.cluster,
            service: deployment.service,
            flat,
        })
    }

    /// `cluster/service`.
    pub fn service_name(&self) -> String {
        format!("{}/{}", self.cluster, self.service)
    }
}

#[cfg(test)]
#[path = "event_test.rs"]
mod tests;
