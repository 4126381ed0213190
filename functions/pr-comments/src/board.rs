//! The checks of one revision as a model: each check's row (its build, state and duration),
//! the verdict of the required ones, and the re-run comments acted on. [`crate::rows`] writes
//! it as the living comment; [`crate::rows_record`] keeps it in the comment's footer.

use crate::build::{BuildRef, Ended};

/// Comment ids of re-run commands remembered at most (the oldest are forgotten).
pub const MAX_RETRIES_KEPT: usize = 30;

/// How a check's row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowState {
    Started,
    /// Started again on request.
    Retry,
    Finished(Ended),
    /// Stopped because the pull request moved on or closed.
    Superseded,
}

impl RowState {
    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Started => "STARTED",
            RowState::Retry => "RETRY",
            RowState::Finished(e) => e.status(),
            RowState::Superseded => "SUPERSEDED",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "STARTED" => Some(RowState::Started),
            "RETRY" => Some(RowState::Retry),
            "SUPERSEDED" => Some(RowState::Superseded),
            other => Ended::from_status(other).map(RowState::Finished),
        }
    }

    /// Whether the row shows how its build ended.
    pub fn is_final(self) -> bool {
        matches!(self, RowState::Finished(_) | RowState::Superseded)
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            RowState::Started => "⏳ started",
            RowState::Retry => "🔁 started (retry)",
            RowState::Finished(Ended::Succeeded) => "✅ passed",
            RowState::Finished(Ended::Failed) => "❌ failed",
            RowState::Finished(Ended::Fault) => "💥 fault",
            RowState::Finished(Ended::TimedOut) => "⏱️ timed out",
            RowState::Finished(Ended::Stopped) => "⏹️ stopped",
            RowState::Superseded => "⏹️ superseded",
        }
    }
}

/// One check of the revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The check's CodeBuild project.
    pub check: String,
    pub required: bool,
    /// The ARN of the check's current build.
    pub build_arn: String,
    pub number: Option<u64>,
    pub state: RowState,
    pub duration_seconds: Option<u64>,
}

impl Row {
    pub fn build(&self) -> Option<BuildRef> {
        BuildRef::parse(&self.build_arn)
    }
}

/// The checks of one revision, as its living comment records them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Board {
    pub commit: String,
    pub revision: String,
    pub rows: Vec<Row>,
    /// Ids of the re-run comments acted on (each acts once).
    pub retries: Vec<String>,
}

/// How the required checks stand together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every required check passed.
    Passed,
    /// A required check ended without passing.
    Failed,
    /// Required checks are still running.
    Running,
}

impl Board {
    pub fn verdict(&self) -> Verdict {
        let required = self.rows.iter().filter(|r| r.required);
        let mut running = false;
        for r in required {
            match r.state {
                RowState::Finished(Ended::Succeeded) => {}
                RowState::Finished(_) | RowState::Superseded => return Verdict::Failed,
                RowState::Started | RowState::Retry => running = true,
            }
        }
        if running {
            Verdict::Running
        } else {
            Verdict::Passed
        }
    }

    pub fn row(&self, check: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.check == check)
    }

    pub fn row_mut(&mut self, check: &str) -> Option<&mut Row> {
        self.rows.iter_mut().find(|r| r.check == check)
    }

    /// Remembers that re-run comment `id` was acted on.
    pub fn remember_retry(&mut self, id: &str) {
        if !self.retries.iter().any(|r| r == id) {
            self.retries.push(id.to_owned());
        }
        let extra = self.retries.len().saturating_sub(MAX_RETRIES_KEPT);
        self.retries.drain(..extra);
    }
}
