//! What invoked the function, read from the EventBridge envelope: a CodeCommit
//! `CodeCommit Repository State Change` (a branch or tag created, updated or deleted) or the
//! `Scheduled Event` of the reconciliation; or, from the work queue, an SQS event whose
//! records each name a repository (`{"repository": "<name>"}`). Anything else is bad input,
//! refused before any side effect; every value that may later reach a URL or a path is
//! validated here. A queue record whose body is not a job is not an error of the invocation:
//! it is kept as a bad [`QueueJob`], answered as a batch item failure.

use codehooks::events::EventBridgeEvent;
use codehooks::names::{Region, RepositoryName};
use codehooks::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

use crate::queue::Job;

pub const STATE_CHANGE: &str = "CodeCommit Repository State Change";
pub const SCHEDULED: &str = "Scheduled Event";
/// The `eventSource` of an SQS record.
pub const SQS_SOURCE: &str = "aws:sqs";
/// Longest message id accepted (SQS's are 36-character UUIDs).
const MAX_MESSAGE_ID: usize = 128;
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
    /// Jobs from the work queue, one per record (the event source sends batches of one).
    Queue(Vec<QueueJob>),
}

/// One record of an SQS event from the work queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueJob {
    /// The SQS message id: what a batch item failure names.
    pub message_id: String,
    pub work: Work,
    /// When the message was sent, milliseconds since the epoch (for the queue lag).
    pub sent_ms: Option<u64>,
    /// How many times SQS has delivered it (1 the first time).
    pub receive_count: u32,
}

/// What a queue record asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    Job(Job),
    /// The body is not a job: why (reported as a batch item failure, then dead-lettered).
    Bad(String),
}

impl QueueJob {
    /// The job, unless the record is bad.
    pub fn job(&self) -> Option<&Job> {
        match &self.work {
            Work::Job(j) => Some(j),
            Work::Bad(_) => None,
        }
    }
}

impl Trigger {
    /// The `trigger` of the answer: `event` or `schedule`.
    pub fn label(&self) -> &'static str {
        match self {
            Trigger::Change(_) => "event",
            Trigger::Reconcile => "schedule",
            Trigger::Queue(_) => "queue",
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
    if payload.get("Records").is_some() {
        return queue(&payload);
    }
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

/// The fields of an SQS record the function reads (the rest of the documented shape,
/// `receiptHandle`, `md5OfBody`, `eventSourceARN`, `awsRegion`..., is not needed).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    attributes: Attributes,
    #[serde(default)]
    event_source: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attributes {
    #[serde(default)]
    approximate_receive_count: Option<String>,
    #[serde(default)]
    sent_timestamp: Option<String>,
}

/// An SQS event: the envelope must be SQS's (else bad input, the invocation fails), each
/// record's body is checked on its own.
fn queue(payload: &Value) -> Result<Invocation> {
    let Some(records) = payload.get("Records").and_then(Value::as_array) else {
        return Err(Error::bad_input("Records is not a list"));
    };
    if records.is_empty() {
        return Err(Error::bad_input("the SQS event has no records"));
    }
    let mut jobs = Vec::with_capacity(records.len());
    for (i, raw) in records.iter().enumerate() {
        let r = Record::deserialize(raw)
            .map_err(|e| Error::bad_input(format!("Records[{i}] is not an SQS record: {e}")))?;
        if r.event_source.as_deref() != Some(SQS_SOURCE) {
            return Err(Error::bad_input(format!(
                "Records[{i}] has eventSource {:?}; only {SQS_SOURCE} records are handled",
                r.event_source.unwrap_or_default()
            )));
        }
        let message_id = r
            .message_id
            .filter(|m| {
                !m.is_empty() && m.len() <= MAX_MESSAGE_ID && !m.chars().any(char::is_control)
            })
            .ok_or_else(|| Error::bad_input(format!("Records[{i}] has no valid messageId")))?;
        let work = match r.body {
            Some(Value::String(body)) => match Job::from_body(&body) {
                Ok(job) => Work::Job(job),
                Err(e) => Work::Bad(format!("message {message_id}: {e}")),
            },
            _ => Work::Bad(format!("message {message_id} has no body text")),
        };
        jobs.push(QueueJob {
            message_id,
            work,
            sent_ms: r.attributes.sent_timestamp.and_then(|t| t.parse().ok()),
            receive_count: r
                .attributes
                .approximate_receive_count
                .and_then(|c| c.parse().ok())
                .unwrap_or(1),
        });
    }
    Ok(Invocation {
        event_id: jobs
            .first()
            .map(|j| j.message_id.clone())
            .unwrap_or_default(),
        trigger: Trigger::Queue(jobs),
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
