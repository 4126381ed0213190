//! What one invocation did, as the function answers it: a typed [`Outcome`] whose JSON
//! (`action` plus the facts of that action, camelCase) is what the integration tests, the
//! demo and the logs read.

use serde::{Serialize, Serializer};

use crate::ports::{Approval, ApprovalSet};

/// The answer of one invocation; `action` is the [`codehooks::harness::Outcome::label`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Outcome {
    /// Nothing to do, and why.
    Ignored(Ignored),
    /// A build of the pull request's revision was started and the start comment posted.
    Started(Validation),
    /// A build of the revision exists already (a redelivered event).
    AlreadyStarted(Validation),
    /// The pull request was closed or merged: its builds were stopped.
    Closed(Closed),
    /// A build stopped because its pull request moved on or closed: the comment says so.
    Superseded(Superseded),
    /// A build ended: its comment shows the result.
    Reported(Reported),
    /// A comment asked for a re-run: the check(s) started again.
    Retried(Retried),
}

impl Outcome {
    /// An `ignored` answer with only a reason.
    pub fn ignored(reason: &'static str) -> Self {
        Outcome::Ignored(Ignored {
            reason,
            ..Ignored::default()
        })
    }
}

impl codehooks::harness::Outcome for Outcome {
    fn label(&self) -> &str {
        match self {
            Outcome::Ignored(_) => "ignored",
            Outcome::Started(_) => "started",
            Outcome::AlreadyStarted(_) => "already-started",
            Outcome::Closed(_) => "closed",
            Outcome::Superseded(_) => "superseded",
            Outcome::Reported(_) => "reported",
            Outcome::Retried(_) => "retried",
        }
    }

    fn record(&self, metrics: &mut codehooks::emf::Metrics) {
        if let Outcome::Reported(r) = self
            && let Some(d) = r.duration_seconds
        {
            metrics.metric("ValidationSeconds", codehooks::emf::Unit::Seconds, d as f64);
            metrics.property("BuildStatus", r.build_status);
            if let Some(c) = &r.check {
                metrics.property("Check", c.as_str());
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ignored {
    pub reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Validation {
    pub pull_request_id: String,
    pub repository: String,
    pub source_commit: String,
    pub build_id: String,
    pub stopped_builds: Vec<String>,
    pub comment: CommentResult,
    pub approval: Option<ApprovalResult>,
    /// The rows of the living comment (several checks only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Retried {
    pub pull_request_id: String,
    /// The comment that asked for it.
    pub comment_id: String,
    pub source_commit: String,
    /// The builds started.
    pub builds: Vec<String>,
    pub comment: CommentResult,
    pub approval: Option<ApprovalResult>,
    pub checks: Vec<CheckRow>,
}

/// A check's row as the answer shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckRow {
    pub check: String,
    pub required: bool,
    pub build_id: String,
    pub state: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Closed {
    pub pull_request_id: String,
    pub repository: String,
    pub stopped_builds: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Superseded {
    pub pull_request_id: String,
    pub build_id: String,
    pub comment: CommentResult,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reported {
    pub pull_request_id: String,
    pub repository: String,
    pub build_id: String,
    pub build_status: &'static str,
    pub source_commit: String,
    /// Whether the pull request had moved on to another commit when the build ended.
    pub outdated: bool,
    pub comment: CommentResult,
    pub approval: Option<ApprovalResult>,
    /// The check (its project) the build ran, when the repository has several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// How long the build ran (the sum of its phases).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u64>,
    /// The log tail of a failed build: its lines, or why there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_tail: Option<LogTailAnswer>,
}

/// What the answer says about a failed build's log tail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum LogTailAnswer {
    /// `lines` lines read (the comment shows as many as fit).
    Lines { lines: usize },
    /// Not shown, and why.
    Unavailable { reason: String },
}

/// What happened to the comment about a build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentResult {
    Posted,
    Updated,
    Unchanged,
    /// A comment with the same token but other content exists already.
    AlreadyPosted,
    NotFound,
    /// Not posted: the build had ended already.
    BuildEnded,
    PullRequestClosed,
    PullRequestMissing,
}

impl CommentResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Posted => "posted",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::AlreadyPosted => "already-posted",
            Self::NotFound => "not-found",
            Self::BuildEnded => "build already ended",
            Self::PullRequestClosed => "pull-request-closed",
            Self::PullRequestMissing => "pull-request-missing",
        }
    }
}

impl Serialize for CommentResult {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The approval state asked for and what the host answered: `APPROVE`, or
/// `APPROVE: revision-not-current` when it refused in a way the function expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovalResult {
    pub asked: Approval,
    pub answer: ApprovalSet,
}

impl std::fmt::Display for ApprovalResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.answer.refusal() {
            None => f.write_str(self.asked.as_str()),
            Some(why) => write!(f, "{}: {why}", self.asked.as_str()),
        }
    }
}

impl Serialize for ApprovalResult {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
