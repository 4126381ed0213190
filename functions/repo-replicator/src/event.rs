//! What invoked the function, read from the EventBridge envelope: a CodeCommit
//! `CodeCommit Repository State Change` (a branch or tag created, updated or deleted) or the
//! `Scheduled Event` of the reconciliation. Anything else is bad input, refused before any
//! side effect; every value that may later reach a URL or a path is validated here.

use codehooks::events::EventBridgeEvent;
use codehooks::names::{Region, RepositoryName};
use codehooks::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

pub const STATE_CHANGE: &str = "CodeCommit Repository State Change";
pub const SCHEDULED: &str = "Scheduled Event";
const REFERENCE_EVENTS: [&str; 3] = ["referenceCreated", "referenceUpdated", "referenceDeleted"];

/// The detail of a CodeCommit reference event (only what the function reads).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReferenceDetail {
    event: String,
    repository_name: String,
    #[serde(default)]
    reference_full_name: Option<String>,
    #[serde(default)]
    commit_id: Option<String>,
    #[serde(default)]
    old_commit_id: Option<String>,
}

/// A reference change in one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The region the event comes from (`None` when the envelope has none).
    pub region: Option<Region>,
    pub repository: RepositoryName,
    /// `referenceCreated`, `referenceUpdated` or `referenceDeleted`.
    pub kind: String,
    /// For the logs only: the function mirrors the repository's whole current state.
    pub reference: Option<String>,
    pub commit: Option<String>,
    pub old_commit: Option<String>,
    /// When the change happened, milliseconds since the epoch (for the replication lag).
    pub time_ms: Option<u64>,
}

/// Why the function runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// "Repository X changed."
    Change(Change),
    /// The scheduled reconciliation of every configured repository.
    Reconcile,
}

impl Trigger {
    /// The `trigger` of the answer: `event` or `schedule`.
    pub fn label(&self) -> &'static str {
        match self {
            Trigger::Change(_) => "event",
            Trigger::Reconcile => "schedule",
        }
    }
}

/// One invocation's event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub event_id: String,
    pub trigger: Trigger,
}

/// Reads an invocation's payload.
pub fn parse(payload: Value) -> Result<Invocation> {
    let ev = EventBridgeEvent::parse(payload)?;
    let trigger = match (ev.source.as_str(), ev.detail_type.as_str()) {
        ("aws.codecommit", STATE_CHANGE) => Trigger::Change(change(&ev)?),
        ("aws.events", SCHEDULED) => Trigger::Reconcile,
        (source, detail_type) => {
            return Err(Error::bad_input(format!(
                "event {} ({source}, {detail_type:?}) is neither a {STATE_CHANGE} nor a {SCHEDULED}",
                ev.id
            )));
        }
    };
    Ok(Invocation {
        event_id: ev.id,
        trigger,
    })
}

fn change(ev: &EventBridgeEvent) -> Result<Change> {
    let d: ReferenceDetail = ev.detail_as()?;
    if !REFERENCE_EVENTS.contains(&d.event.as_str()) {
        return Err(Error::bad_input(format!(
            "{STATE_CHANGE} event {} is a {:?} event; only referenceCreated, referenceUpdated and referenceDeleted are replicated",
            ev.id, d.event
        )));
    }
    let repository: RepositoryName = d.repository_name.parse().map_err(|_| {
        Error::bad_input(format!(
            "event {}: detail.repositoryName {:?} is not a CodeCommit repository name",
            ev.id, d.repository_name
        ))
    })?;
    let region = if ev.region.is_empty() {
        None
    } else {
        Some(
            ev.region
                .parse::<Region>()
                .map_err(|e| Error::bad_input(format!("event {}: region: {e}", ev.id)))?,
        )
    };
    Ok(Change {
        region,
        repository,
        kind: d.event,
        reference: d.reference_full_name,
        commit: d.commit_id,
        old_commit: d.old_commit_id,
        time_ms: parse_time_ms(&ev.time),
    })
}

/// Milliseconds since the epoch of an RFC 3339 time (`2026-11-23T01:02:03Z`).
pub fn parse_time_ms(time: &str) -> Option<u64> {
    let t =
        aws_smithy_types::DateTime::from_str(time, aws_smithy_types::date_time::Format::DateTime)
            .ok()?;
    u64::try_from(t.to_millis().ok()?).ok()
}

#[cfg(test)]
#[path = "event_test.rs"]
mod tests;
