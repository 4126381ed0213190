//! The CodeCommit adapter of [`PullRequestHost`]: the only code that calls CodeCommit. The
//! refusals the function expects (a closed pull request, a reused token, a comment of
//! someone else, a revision that is no longer current) are read with the SDK's typed checks
//! and answered as domain values; every other error is an [`Error::Aws`](codehooks::Error).

use aws_sdk_codecommit::Client;
use aws_sdk_codecommit::error::ProvideErrorMetadata;
use aws_sdk_codecommit::types::{ApprovalState, PullRequestStatusEnum};
use codehooks::prbuild::BuildLink;
use codehooks::{Error, Result};

use crate::paging::{self, Page};
use crate::ports::{
    Approval, ApprovalSet, Comment, Posted, PullRequestHost, PullRequestNow, Updated,
};

/// CodeCommit as the [`PullRequestHost`].
#[derive(Debug, Clone)]
pub struct CodeCommitHost {
    client: Client,
}

impl CodeCommitHost {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

impl PullRequestHost for CodeCommitHost {
    async fn pull_request(&self, id: &str) -> Result<Option<PullRequestNow>> {
        let out = match self
            .client
            .get_pull_request()
            .pull_request_id(id)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                if e.as_service_error()
                    .is_some_and(|s| s.is_pull_request_does_not_exist_exception())
                {
                    return Ok(None);
                }
                return Err(Error::aws("GetPullRequest", e));
            }
        };
        let pr = out
            .pull_request
            .ok_or_else(|| Error::internal("GetPullRequest returned no pull request"))?;
        let target = pr
            .pull_request_targets
            .unwrap_or_default()
            .into_iter()
            .next()
            .ok_or_else(|| Error::internal("GetPullRequest returned no pull request target"))?;
        Ok(Some(PullRequestNow {
            open: pr.pull_request_status == Some(PullRequestStatusEnum::Open),
            repository: target.repository_name.unwrap_or_default(),
            source_commit: target.source_commit.unwrap_or_default(),
            destination_commit: target.destination_commit.unwrap_or_default(),
            revision_id: pr.revision_id.unwrap_or_default(),
            source_reference: target.source_reference,
            destination_reference: target.destination_reference,
            author_arn: pr.author_arn,
        }))
    }

    async fn comment(&self, id: &str) -> Result<Option<Comment>> {
        match self.client.get_comment().comment_id(id).send().await {
            Ok(out) => Ok(out.comment.and_then(|c| {
                if c.deleted {
                    return None;
                }
                Some(Comment {
                    id: c.comment_id?,
                    content: c.content?,
                    author_arn: c.author_arn,
                })
            })),
            Err(e) => match e.as_service_error() {
                Some(s)
                    if s.is_comment_does_not_exist_exception()
                        || s.is_comment_deleted_exception()
                        || s.is_invalid_comment_id_exception() =>
                {
                    Ok(None)
                }
                _ => Err(Error::aws("GetComment", e)),
            },
        }
    }

    async fn comments(&self, link: &BuildLink, exact: bool) -> Result<Vec<Comment>> {
        paging::collect(
            "GetCommentsForPullRequest",
            paging::MAX_COMMENT_PAGES,
            usize::MAX,
            |token| async move {
                let mut req = self
                    .client
                    .get_comments_for_pull_request()
                    .pull_request_id(&link.pull_request_id)
                    .max_results(100)
                    .set_next_token(token);
                if exact {
                    req = req
                        .repository_name(&link.repository)
                        .before_commit_id(&link.destination_commit)
                        .after_commit_id(&link.source_commit);
                }
                let out = req
                    .send()
                    .await
                    .map_err(|e| Error::aws("GetCommentsForPullRequest", e))?;
                let mut items = Vec::new();
                for data in out.comments_for_pull_request_data.unwrap_or_default() {
                    for c in data.comments.unwrap_or_default() {
                        if c.deleted {
                            continue;
                        }
                        if let (Some(id), Some(content)) = (c.comment_id, c.content) {
                            items.push(Comment {
                                id,
                                content,
                                author_arn: c.author_arn,
                            });
                        }
                    }
                }
                Ok(Page {
                    items,
                    next: out.next_token,
                })
            },
        )
        .await
    }

    async fn post_comment(&self, link: &BuildLink, content: &str, token: &str) -> Result<Posted> {
        let sent = self
            .client
            .post_comment_for_pull_request()
            .pull_request_id(&link.pull_request_id)
            .repository_name(&link.repository)
            // The destination commit is "before" and the source commit "after".
            .before_commit_id(&link.destination_commit)
            .after_commit_id(&link.source_commit)
            .content(content)
            .client_request_token(token)
            .send()
            .await;
        match sent {
            Ok(out) => Ok(Posted::Posted {
                author_arn: out.comment.and_then(|c| c.author_arn),
            }),
            Err(e) => match e.as_service_error() {
                Some(s) if s.is_idempotency_parameter_mismatch_exception() => {
                    Ok(Posted::TokenReused)
                }
                Some(s) if s.is_pull_request_does_not_exist_exception() => {
                    Ok(Posted::PullRequestMissing)
                }
                // CodeCommit answers this one, but the SDK's model of the operation lacks
                // it: the error code is the only way to tell.
                Some(s) if s.code() == Some("PullRequestAlreadyClosedException") => {
                    Ok(Posted::PullRequestClosed)
                }
                _ => Err(Error::aws("PostCommentForPullRequest", e)),
            },
        }
    }

    async fn update_comment(&self, id: &str, content: &str) -> Result<Updated> {
        match self
            .client
            .update_comment()
            .comment_id(id)
            .content(content)
            .send()
            .await
        {
            Ok(out) => Ok(Updated::Updated {
                author_arn: out.comment.and_then(|c| c.author_arn),
            }),
            Err(e) => match e.as_service_error() {
                Some(s)
                    if s.is_comment_not_created_by_caller_exception()
                        || s.is_comment_deleted_exception()
                        || s.is_comment_does_not_exist_exception() =>
                {
                    Ok(Updated::NotEditable)
                }
                _ => Err(Error::aws("UpdateComment", e)),
            },
        }
    }

    async fn set_approval(
        &self,
        pull_request_id: &str,
        revision_id: &str,
        approval: Approval,
    ) -> Result<ApprovalSet> {
        let state = match approval {
            Approval::Approve => ApprovalState::Approve,
            Approval::Revoke => ApprovalState::Revoke,
        };
        match self
            .client
            .update_pull_request_approval_state()
            .pull_request_id(pull_request_id)
            .revision_id(revision_id)
            .approval_state(state)
            .send()
            .await
        {
            Ok(_) => Ok(ApprovalSet::Set),
            Err(e) => match e.as_service_error() {
                Some(s)
                    if s.is_revision_not_current_exception()
                        || s.is_invalid_revision_id_exception() =>
                {
                    Ok(ApprovalSet::RevisionNotCurrent)
                }
                Some(s) if s.is_pull_request_already_closed_exception() => {
                    Ok(ApprovalSet::PullRequestClosed)
                }
                Some(s) if s.is_pull_request_cannot_be_approved_by_author_exception() => {
                    Ok(ApprovalSet::FunctionIsAuthor)
                }
                Some(s) if s.is_pull_request_does_not_exist_exception() => {
                    Ok(ApprovalSet::PullRequestMissing)
                }
                _ => Err(Error::aws("UpdatePullRequestApprovalState", e)),
            },
        }
    }
}
