//! Re-runs asked for on the pull request: a new comment whose whole body is
//! `/codehooks retry` or `/codehooks retry <check>`, by the pull request's author or one of
//! `CODEHOOKS_PR_RETRY_ALLOWED`, starts the check(s) again for the current revision (of a
//! repository with checks, see [`crate::checks`]; of one with a single project, see
//! [`crate::retry_single`]). The
//! event does not carry the comment's text: it is read with `GetComment`, and its author is
//! the comment's, not the event's. A comment acts once: its id is recorded in the living
//! comment (and in the build's start token), so a redelivered event starts nothing twice.

use codehooks::events::EventBridgeEvent;
use codehooks::idempotency;
use codehooks::prbuild::{BuildLink, check_pull_request_id, check_repository_name};
use codehooks::{Error, Result};
use serde::Deserialize;
use tracing::{debug, info};

use crate::app::App;
use crate::build::Ended;
use crate::checks_app::{check_rows, view};
use crate::log_tail::blocks_of;
use crate::outcome::{Ignored, Outcome, Retried};
use crate::ports::{BuildRunner, PullRequestHost};
use crate::rows::{self, RowState};

/// The command word, compared without regard to ASCII case.
pub const COMMAND: &str = "/codehooks retry";

/// What a comment asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Every check that ended without passing (the single check in single-check mode).
    Failed,
    /// The named check (its project name, exactly).
    Check(String),
}

/// The command a comment's whole body is; `None` for any other text. The body is trimmed;
/// `/codehooks retry` is matched without regard to ASCII case and may be followed by one
/// check name (separated by spaces or tabs), nothing else.
pub fn command(body: &str) -> Option<Command> {
    let body = body.trim();
    let head = body.get(..COMMAND.len())?;
    if !head.eq_ignore_ascii_case(COMMAND) {
        return None;
    }
    let rest = &body[COMMAND.len()..];
    if rest.is_empty() {
        return Some(Command::Failed);
    }
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let name = rest.trim_matches([' ', '\t']);
    (crate::build::is_project_name(name)).then(|| Command::Check(name.to_owned()))
}

/// The detail of a `CodeCommit Comment on Pull Request` event (the fields read).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentDetail {
    #[serde(default)]
    pub event: String,
    #[serde(default)]
    pub comment_id: Option<String>,
    #[serde(default, deserialize_with = "codehooks::events::string_like")]
    pub pull_request_id: Option<String>,
    #[serde(default)]
    pub repository_name: Option<String>,
    #[serde(default)]
    pub caller_user_arn: Option<String>,
}

/// A comment id: 1 to 128 letters, digits and dashes.
fn check_comment_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id.len() > 128
        || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(Error::bad_input(format!(
            "detail.commentId {:?} is not a comment id",
            codehooks::text::cut(id, 80)
        )));
    }
    Ok(())
}

pub(crate) fn ignored(reason: &'static str, pr: Option<&str>) -> Outcome {
    Outcome::Ignored(Ignored {
        reason,
        pull_request_id: pr.map(str::to_owned),
        ..Ignored::default()
    })
}

impl<H: PullRequestHost, B: BuildRunner> App<H, B> {
    /// A comment on a pull request: a re-run when it is one, from someone allowed.
    pub(crate) async fn comment_posted(&self, ev: &EventBridgeEvent) -> Result<Outcome> {
        let d: CommentDetail = ev.detail_as()?;
        let caller = d.caller_user_arn.as_deref().unwrap_or_default();
        if self.is_own(caller) {
            debug!("comment event caused by pr-comments itself");
            return Ok(ignored("comment event caused by pr-comments itself", None));
        }
        if d.event != "commentOnPullRequestCreated" {
            debug!(event = %d.event, "comment event ignored");
            return Ok(ignored("only new comments can ask for a re-run", None));
        }
        let id = d
            .comment_id
            .as_deref()
            .ok_or_else(|| Error::bad_input("detail.commentId is missing"))?;
        check_comment_id(id)?;
        let pr_id = d
            .pull_request_id
            .as_deref()
            .ok_or_else(|| Error::bad_input("detail.pullRequestId is missing"))?;
        check_pull_request_id("detail.pullRequestId", pr_id)?;
        let repository = d
            .repository_name
            .as_deref()
            .ok_or_else(|| Error::bad_input("detail.repositoryName is missing"))?;
        check_repository_name("detail.repositoryName", repository)?;
        if !self.config.watches(repository) {
            return Ok(ignored("repository is not configured", Some(pr_id)));
        }
        let Some(comment) = self.host.comment(id).await? else {
            info!(comment = id, "comment does not exist (deleted?); ignored");
            return Ok(ignored("comment does not exist", Some(pr_id)));
        };
        let author = comment.author_arn.clone().unwrap_or_default();
        if self.is_own(&author) {
            return Ok(ignored("comment by pr-comments itself", Some(pr_id)));
        }
        let Some(cmd) = command(&comment.content) else {
            // The text is not logged: comments are the users'.
            info!(
                comment = id,
                pull_request = pr_id,
                "comment is not a command; ignored"
            );
            return Ok(ignored("comment is not a command", Some(pr_id)));
        };
        let Some(pr) = self.pull_request(pr_id).await? else {
            return Ok(ignored("pull request does not exist", Some(pr_id)));
        };
        if pr.repository != repository {
            return Err(Error::bad_input(format!(
                "pull request {pr_id} belongs to repository {}, not {repository}",
                pr.repository
            )));
        }
        if !pr.open {
            return Ok(ignored("pull request is closed", Some(pr_id)));
        }
        let by_author = !author.is_empty() && pr.author_arn.as_deref() == Some(author.as_str());
        let listed = self.config.retry_allowed.iter().any(|a| a.matches(&author));
        if !(by_author || listed) {
            info!(comment = id, pull_request = pr_id, commenter = %author, "re-run asked for by someone not allowed; ignored");
            return Ok(ignored(
                "only the pull request's author or CODEHOOKS_PR_RETRY_ALLOWED may ask for a re-run",
                Some(pr_id),
            ));
        }
        let link = pr.link(repository, pr_id);
        if self.config.checks.for_repository(repository).is_none() {
            // The single project of the repository (CODEHOOKS_PR_BUILD_PROJECT).
            return self.retry_single(ev, id, &cmd, &author, &link).await;
        }
        let Ok(Some(living)) = self.living(&link).await? else {
            return Ok(ignored(
                "the current revision has no validation of pr-comments to re-run",
                Some(pr_id),
            ));
        };
        let mut board = living.board.clone();
        if board.retries.iter().any(|r| r == id) {
            info!(comment = id, "re-run of this comment was done already");
            return Ok(ignored(
                "this comment's re-run was started already",
                Some(pr_id),
            ));
        }
        let targets: Vec<String> = match &cmd {
            Command::Check(name) => {
                if board.row(name).is_none() {
                    return Ok(ignored("no check of that name", Some(pr_id)));
                }
                vec![name.clone()]
            }
            Command::Failed => board
                .rows
                .iter()
                .filter(|r| {
                    matches!(r.state, RowState::Finished(e) if e != Ended::Succeeded)
                        || r.state == RowState::Superseded
                })
                .map(|r| r.check.clone())
                .collect(),
        };
        if targets.is_empty() {
            return Ok(ignored(
                "no check failed; name one to re-run it",
                Some(pr_id),
            ));
        }
        let mut builds = Vec::new();
        for check in &targets {
            let token = retry_token(&link, check, id);
            let (b, number, arn) = self
                .start_project_build(&ev.region, &ev.account, &link, check, token)
                .await?;
            builds.push(b.id.clone());
            if let Some(r) = board.row_mut(check) {
                r.build_arn = arn;
                r.number = number;
                r.state = RowState::Retry;
                r.duration_seconds = None;
            }
        }
        board.remember_retry(id);
        let approval = self.approval_of(&link, &board).await?;
        let kept = blocks_of(&living.content)
            .into_iter()
            .filter(|b| !targets.contains(&b.check))
            .collect();
        let content = rows::render(&board, &view(&pr, None, kept));
        let comment = self.write_living(&link, Some(&living), &content).await?;
        info!(pull_request = pr_id, comment = id, checks = ?targets, "re-run started");
        Ok(Outcome::Retried(Retried {
            pull_request_id: pr_id.to_owned(),
            comment_id: id.to_owned(),
            source_commit: link.source_commit.clone(),
            builds,
            comment,
            approval,
            checks: check_rows(&board),
        }))
    }
}

/// The start token of a re-run: once per asking comment and check.
pub(crate) fn retry_token(link: &BuildLink, check: &str, comment_id: &str) -> String {
    idempotency::key(
        "pr-comments/retry",
        &[
            &link.repository,
            &link.pull_request_id,
            &link.source_commit,
            &link.revision_id,
            check,
            comment_id,
        ],
    )
}

#[cfg(test)]
#[path = "retry_test.rs"]
mod tests;
