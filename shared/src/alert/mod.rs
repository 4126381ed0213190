//! One alert model for every function that tells people something went wrong: a failed build,
//! pipeline or deployment (build-alerts), or a deployment the deploy hook rolled back.
//!
//! - [`Alert`] and [`Severity`]: what an alert says (this module);
//! - [`render`]: how it is written: the SNS subject (printable ASCII, fewer than 100
//!   characters), the plain-text body for e-mail, the AWS Chatbot custom notification with its
//!   thread id, the message attributes (one rule: an empty value is written `-`), and the
//!   256 KB budget (free text is cut with a marker; the links are never cut);
//! - [`publish`]: the [`AlertPublisher`] port, its SNS adapter [`SnsPublisher`] (feature `sns`)
//!   and its in-memory twin [`MemoryPublisher`].

pub mod publish;
pub mod render;

use serde_json::{Map, Value};

#[cfg(feature = "sns")]
pub use publish::SnsPublisher;
pub use publish::{AlertPublisher, MemoryPublisher, Published};
pub use render::{
    DESCRIPTION_MAX, FACT_MAX, JSON_PROTOCOLS, MAX_ATTRIBUTES, MESSAGE_LIMIT, Rendered,
};

/// How bad it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Severity {
    /// Something is broken: FAILED, FAULT, TIMED_OUT, FAILURE, a rollback.
    #[default]
    Error,
    /// Somebody stopped it, or it would have failed (a dry run).
    Warning,
    /// It works again.
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One alert, ready to be rendered. Build it with struct-update syntax from
/// `Alert::default()`; only the fields you know need values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Alert {
    /// Who reports: `codebuild`, `codepipeline`, `codedeploy`, `deploy-hook`... (the `source`
    /// attribute and the Chatbot context).
    pub source: String,
    /// What kind of thing, as the subject names it: `build`, `pipeline`, `deployment`,
    /// `lifecycle hook`...
    pub what: String,
    /// The project, pipeline or `application/deployment group`.
    pub name: String,
    /// The state as the service names it (`FAILED`, `TIMED_OUT`, `FAILURE`), `RECOVERED`, or
    /// the reporter's own (`Failed`, `DryRunFailed`).
    pub state: String,
    pub severity: Severity,
    /// The region (left out of the subject when empty).
    pub region: String,
    pub account: String,
    /// What identifies this run in the subject, e.g. `#142 (main@abc1234)` or `d-ABC123`.
    pub reference: String,
    /// Words before the subject, e.g. `[dry run]` (empty: none).
    pub subject_prefix: String,
    /// The first line of the body: one sentence that says what happened.
    pub headline: String,
    /// Why it failed, most telling first (free text: cut to fit).
    pub reasons: Vec<String>,
    /// Short labelled facts (each cut to [`FACT_MAX`]; empty values are left out).
    pub facts: Vec<(String, String)>,
    /// Longer labelled text blocks, such as a phase table or probe samples (free text: cut to fit).
    pub sections: Vec<(String, String)>,
    /// Console and log links (never cut).
    pub links: Vec<(String, String)>,
    /// What to do next.
    pub next_steps: Vec<String>,
    /// Chat thread: alerts about one pipeline, project or deployment group share it.
    pub thread_id: String,
    /// The ARNs the alert is about.
    pub resources: Vec<String>,
    /// The Chatbot `eventType`, e.g. `CodeBuildBuildFailed`.
    pub event_type: String,
    /// The event (or invocation) the alert comes from.
    pub event_id: String,
    /// When it happened.
    pub time: String,
    /// Who sends it, for the footer: `codehooks build-alerts`, `codehooks deploy-hook`.
    pub sender: String,
    /// Message attributes after the six every alert has (`source`, `name`, `state`,
    /// `severity`, `region`, `account`), e.g. `deploymentId`. At most [`MAX_ATTRIBUTES`] are sent.
    pub extra_attributes: Vec<(String, String)>,
    /// Machine-readable evidence added to the Chatbot document's `additionalContext`. It is
    /// kept whole when it fits the message budget, and replaced by a `dataOmitted` note when not.
    pub data: Map<String, Value>,
}
