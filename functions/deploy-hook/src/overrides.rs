//! The shape of one override document of the hook policy ([`CheckOverride`]): every field
//! optional, unknown fields refused. [`crate::checks`] applies it; [`crate::policy`] reads and
//! validates the whole document.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    pub call_back_delay_seconds: Option<u32>,
    /// The analysis of real traffic (replaces the layer below's whole).
    pub analysis: Option<crate::analysis::Analysis>,
}
