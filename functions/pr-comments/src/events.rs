//! CodeCommit's `Pull Request State Change` event, read tolerantly and checked strictly,
//! and what it asks the function to do. (The CodeBuild event is
//! [`codehooks::prbuild::BuildDetail`].) Every value that later reaches an API call or a
//! comment is checked here, so a bad event is rejected before any side effect.

use codehooks::arn::Arn;
use codehooks::prbuild::{
    check_commit, check_pull_request_id, check_repository_name, check_revision_id,
};
use codehooks::{Error, Result};
use serde::Deserialize;

/// `source` of CodeCommit events.
pub const CODECOMMIT: &str = "aws.codecommit";
/// The pull request event; the merge event is documented with the spelling "PullRequest".
pub const PULL_REQUEST_CHANGED: [&str; 2] = [
    "CodeCommit Pull Request State Change",
    "CodeCommit PullRequest State Change",
];
/// Comments on pull requests (the function's own among them): nothing to do.
pub const COMMENT: &str = "CodeCommit Comment on Pull Request";
/// Build phase changes: nothing to do.
pub const BUILD_PHASE_CHANGED: &str = "CodeBuild Build Phase Change";

/// The detail of a `CodeCommit Pull Request State Change` event.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestDetail {
    pub event: String,
    #[serde(default, deserialize_with = "codehooks::events::string_like")]
    pub pull_request_id: Option<String>,
    #[serde(default)]
    pub repository_names: Vec<String>,
    #[serde(default)]
    pub source_commit: Option<String>,
    #[serde(default)]
    pub destination_commit: Option<String>,
    #[serde(default)]
    pub source_reference: Option<String>,
    #[serde(default)]
    pub destination_reference: Option<String>,
    #[serde(default)]
    pub revision_id: Option<String>,
    #[serde(default)]
    pub pull_request_status: Option<String>,
    #[serde(default, deserialize_with = "codehooks::events::string_like")]
    pub is_merged: Option<String>,
    #[serde(default)]
    pub caller_user_arn: Option<String>,
}

/// What a pull request event asks the function to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullRequestAction {
    /// Created, source branch updated, or reopened: validate the source commit.
    Validate,
    /// Closed or merged: stop the pull request's builds.
    Closed,
    /// Anything else (approval, merge-state and rule changes...): nothing to do.
    Ignore,
}

impl PullRequestDetail {
    pub fn action(&self) -> PullRequestAction {
        let closed = self
            .pull_request_status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("closed"));
        let merged = self
            .is_merged
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("true"));
        match self.event.as_str() {
            "pullRequestCreated" | "pullRequestSourceBranchUpdated" if !closed => {
                PullRequestAction::Validate
            }
            "pullRequestStatusChanged" if closed => PullRequestAction::Closed,
            "pullRequestStatusChanged" => PullRequestAction::Validate,
            "pullRequestMergeStatusUpdated" if merged || closed => PullRequestAction::Closed,
            _ => PullRequestAction::Ignore,
        }
    }

    /// The pull request id, checked.
    pub fn pull_request_id(&self) -> Result<&str> {
        let id = self
            .pull_request_id
            .as_deref()
            .ok_or_else(|| Error::bad_input("detail.pullRequestId is missing"))?;
        check_pull_request_id("detail.pullRequestId", id)?;
        Ok(id)
    }

    /// The repository (the first of `repositoryNames`, else the event's resource ARN).
    pub fn repository(&self, resources: &[String]) -> Result<String> {
        let name = match self.repository_names.first() {
            Some(n) => n.clone(),
            None => resources
                .iter()
                .find_map(|arn| Arn::parse_of(arn, "codecommit").ok())
                .map(|arn| arn.resource)
                .ok_or_else(|| Error::bad_input("detail.repositoryNames is missing"))?,
        };
        check_repository_name("detail.repositoryNames", &name)?;
        Ok(name)
    }

    /// The revision id, checked, when the event carries one.
    pub fn revision_id(&self) -> Result<Option<&str>> {
        if let Some(r) = &self.revision_id {
            check_revision_id("detail.revisionId", r)?;
        }
        Ok(self.revision_id.as_deref())
    }

    /// The source commit, checked.
    pub fn source_commit(&self) -> Result<&str> {
        let c = self
            .source_commit
            .as_deref()
            .ok_or_else(|| Error::bad_input("detail.sourceCommit is missing"))?;
        check_commit("detail.sourceCommit", c)?;
        Ok(c)
    }
}

#[cfg(test)]
#[path = "events_test.rs"]
mod tests;
