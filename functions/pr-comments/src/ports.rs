//! The two roles pr-comments talks to, as traits with plain domain types: the host of the
//! pull requests ([`PullRequestHost`], CodeCommit in production) and the runner of the
//! validation builds ([`BuildRunner`], CodeBuild). The orchestration in [`crate::app`] is
//! generic over both; [`crate::codecommit`] and [`crate::codebuild`] are the SDK adapters,
//! `twins` the in-memory twins the unit tests use.

use std::future::Future;

use codehooks::Result;
use codehooks::prbuild::BuildLink;

/// A pull request as the host shows it now (values not yet checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestNow {
    pub open: bool,
    pub repository: String,
    pub source_commit: String,
    pub destination_commit: String,
    pub revision_id: String,
    pub source_reference: Option<String>,
    pub destination_reference: Option<String>,
    /// Who opened the pull request.
    pub author_arn: Option<String>,
}

impl PullRequestNow {
    /// The link a validation build of pull request `pull_request_id` in `repository` carries
    /// for the revision the host shows now.
    pub fn link(&self, repository: &str, pull_request_id: &str) -> BuildLink {
        BuildLink {
            pull_request_id: pull_request_id.to_owned(),
            repository: repository.to_owned(),
            source_commit: self.source_commit.clone(),
            destination_commit: self.destination_commit.clone(),
            revision_id: self.revision_id.clone(),
            source_reference: self.source_reference.clone(),
            destination_reference: self.destination_reference.clone(),
        }
    }
}

/// A comment on a pull request (deleted comments are never returned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: String,
    pub content: String,
    pub author_arn: Option<String>,
}

/// What posting a comment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// Posted (or posted before with the same token and content); by `author_arn`.
    Posted {
        author_arn: Option<String>,
    },
    /// A comment with the same token but other content was posted before.
    TokenReused,
    PullRequestClosed,
    PullRequestMissing,
}

/// What editing a comment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Updated {
    /// Edited; by `author_arn`.
    Updated { author_arn: Option<String> },
    /// Not the caller's, deleted, or gone: the comment cannot be edited.
    NotEditable,
}

/// The approval state the function gives a pull request revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Approval {
    Approve,
    Revoke,
}

impl Approval {
    pub fn as_str(self) -> &'static str {
        match self {
            Approval::Approve => "APPROVE",
            Approval::Revoke => "REVOKE",
        }
    }
}

/// What setting the approval state did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalSet {
    Set,
    /// The revision is not the pull request's current one (or not one of its revisions).
    RevisionNotCurrent,
    PullRequestClosed,
    /// The function opened the pull request and may not approve it.
    FunctionIsAuthor,
    PullRequestMissing,
}

impl ApprovalSet {
    /// Why the state was not set (`None` when it was).
    pub fn refusal(self) -> Option<&'static str> {
        match self {
            ApprovalSet::Set => None,
            ApprovalSet::RevisionNotCurrent => Some("revision-not-current"),
            ApprovalSet::PullRequestClosed => Some("pull-request-closed"),
            ApprovalSet::FunctionIsAuthor => Some("function-is-author"),
            ApprovalSet::PullRequestMissing => Some("pull-request-missing"),
        }
    }
}

/// A build to start: the project, its CodeCommit source at a commit, and the link variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartBuild {
    pub project: String,
    /// The HTTPS clone URL of the repository.
    pub source_location: String,
    pub source_version: String,
    /// The idempotency token: the same token starts the build once.
    pub token: String,
    pub variables: Vec<(&'static str, String)>,
}

/// A build as the runner shows it (values not yet checked).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Build {
    pub arn: Option<String>,
    /// `<project>:<uuid>`.
    pub id: Option<String>,
    pub number: Option<u64>,
    /// CodeBuild's status word; `None` when the runner did not say.
    pub status: Option<String>,
    /// Only the `CODEHOOKS_PR_*` variables (others may be secrets).
    pub variables: Vec<(String, String)>,
}

impl Build {
    /// The pull request link of the build, `None` when it has none or a broken one.
    pub fn link(&self) -> Option<BuildLink> {
        BuildLink::from_vars(
            self.variables
                .iter()
                .map(|(n, v)| (n.as_str(), Some(v.as_str()))),
        )
        .ok()
        .flatten()
    }
}

/// Where pull requests live and are commented on (CodeCommit).
pub trait PullRequestHost: Send + Sync {
    /// The pull request now; `None` when it does not exist.
    fn pull_request(&self, id: &str)
    -> impl Future<Output = Result<Option<PullRequestNow>>> + Send;

    /// The comments of the link's pull request, oldest first: with `exact`, only those on the
    /// link's destination/source commit pair; without, all of them.
    fn comments(
        &self,
        link: &BuildLink,
        exact: bool,
    ) -> impl Future<Output = Result<Vec<Comment>>> + Send;

    /// Posts `content` on the link's commit pair (destination "before", source "after").
    fn post_comment(
        &self,
        link: &BuildLink,
        content: &str,
        token: &str,
    ) -> impl Future<Output = Result<Posted>> + Send;

    /// Comment `id` (`None` when it does not exist or was deleted).
    fn comment(&self, id: &str) -> impl Future<Output = Result<Option<Comment>>> + Send;

    /// Replaces the content of comment `id`.
    fn update_comment(
        &self,
        id: &str,
        content: &str,
    ) -> impl Future<Output = Result<Updated>> + Send;

    /// Approves or revokes revision `revision_id` of pull request `pull_request_id`.
    fn set_approval(
        &self,
        pull_request_id: &str,
        revision_id: &str,
        approval: Approval,
    ) -> impl Future<Output = Result<ApprovalSet>> + Send;
}

/// What runs the validation builds (CodeBuild).
pub trait BuildRunner: Send + Sync {
    /// Starts a build (once per token).
    fn start(&self, build: &StartBuild) -> impl Future<Output = Result<Build>> + Send;

    /// Stops build `id`; `false` when it had ended (or is unknown).
    fn stop(&self, id: &str) -> impl Future<Output = Result<bool>> + Send;

    /// The ids of the project's `max` most recent builds, newest first.
    fn recent(&self, project: &str, max: usize)
    -> impl Future<Output = Result<Vec<String>>> + Send;

    /// The builds with these ids (unknown ids are left out).
    fn batch_get(&self, ids: &[String]) -> impl Future<Output = Result<Vec<Build>>> + Send;

    /// The project's build badge image URL, when badges are enabled.
    fn badge_url(&self, project: &str) -> impl Future<Output = Result<Option<String>>> + Send;
}
