//! The orchestration of a repository validated by several checks ([`crate::checks`]): a
//! build per check for each revision, one living comment per revision with a row per check
//! ([`crate::rows`]), and the approval once every required check passed for that revision.
//! Results arrive per build, in any order and more than once: each edits only its own row
//! of its own revision's comment, and a row that shows a result never goes back.

use codehooks::Result;
use codehooks::events::EventBridgeEvent;
use codehooks::idempotency;
use codehooks::prbuild::{BuildDetail, BuildLink};
use tracing::{info, warn};

use crate::app::App;
use crate::build::{BuildRef, Ended};
use crate::checks::Check;
use crate::comments::NOT_OURS;
use crate::outcome::{
    ApprovalResult, CheckRow, CommentResult, Ignored, Outcome, Reported, Validation,
};
use crate::ports::{Approval, BuildRunner, PullRequestHost, PullRequestNow, Updated};
use crate::rows::{self, Board, Row, RowState, Verdict, View};

/// The living comment of a revision as found on the pull request.
#[derive(Debug, Clone)]
pub(crate) struct Living {
    pub id: String,
    pub content: String,
    pub board: Board,
}

impl<H: PullRequestHost, B: BuildRunner> App<H, B> {
    /// The function's living comment of the link's revision (commit and revision id): on the
    /// link's commit pair first, then anywhere on the pull request. `Err(())` when the
    /// function's own principal is unknown (its comments cannot be told from others').
    pub(crate) async fn living(
        &self,
        link: &BuildLink,
    ) -> Result<std::result::Result<Option<Living>, ()>> {
        let Some(author) = self.author.lock().ok().and_then(|a| a.clone()) else {
            return Ok(Err(()));
        };
        for exact in [true, false] {
            let found = self
                .host
                .comments(link, exact)
                .await?
                .into_iter()
                .rev()
                .filter(|c| c.author_arn.as_deref().is_some_and(|a| author.matches(a)))
                .find_map(|c| {
                    let board = rows::board_of(&c.content)?;
                    (board.commit == link.source_commit && board.revision == link.revision_id)
                        .then_some(Living {
                            id: c.id,
                            content: c.content,
                            board,
                        })
                });
            if found.is_some() {
                return Ok(Ok(found));
            }
        }
        Ok(Ok(None))
    }

    /// A created, updated or reopened pull request whose repository has `checks`.
    pub(crate) async fn validate_checks(
        &self,
        ev: &EventBridgeEvent,
        trigger: &str,
        pr: &PullRequestNow,
        link: &BuildLink,
        checks: &[Check],
    ) -> Result<Outcome> {
        // Unknown author: nothing is found, the builds start once per token, and the post's
        // token keeps the comment single.
        let living = self.living(link).await?.unwrap_or(None);
        let mut board = living.as_ref().map(|l| l.board.clone()).unwrap_or(Board {
            commit: link.source_commit.clone(),
            revision: link.revision_id.clone(),
            rows: Vec::new(),
            retries: Vec::new(),
        });
        let mut fresh = Vec::new();
        for c in checks {
            if board.row(&c.project).is_some() {
                continue;
            }
            let token = idempotency::key(
                "pr-comments/start-check",
                &[
                    &link.repository,
                    &link.pull_request_id,
                    &link.source_commit,
                    &link.revision_id,
                    trigger,
                    &c.project,
                ],
            );
            let (b, number, arn) = self
                .start_project_build(&ev.region, &ev.account, link, &c.project, token)
                .await?;
            fresh.push(b.id.clone());
            board.rows.push(Row {
                check: c.project.clone(),
                required: c.required,
                build_arn: arn,
                number,
                state: RowState::Started,
                duration_seconds: None,
            });
        }
        // The configured order, whatever order the rows were added in.
        board.rows.sort_by_key(|r| {
            checks
                .iter()
                .position(|c| c.project == r.check)
                .unwrap_or(usize::MAX)
        });

        let mut stopped = Vec::new();
        if self.config.stop_superseded {
            for c in checks {
                let builds = self
                    .project_pull_request_builds(
                        &c.project,
                        &link.repository,
                        &link.pull_request_id,
                    )
                    .await?;
                for b in builds.iter().filter(|b| {
                    b.status == "IN_PROGRESS" && b.link.source_commit != link.source_commit
                }) {
                    if self.stop_build(&b.build.id).await? {
                        stopped.push(b.build.id.clone());
                    }
                }
            }
        }

        let approval = if self.config.approval && !fresh.is_empty() {
            Some(self.set_approval(link, Approval::Revoke).await?)
        } else {
            None
        };
        let content = rows::render(&board, &view(pr, None, Vec::new()));
        let comment = self.write_living(link, living.as_ref(), &content).await?;
        info!(pull_request = %link.pull_request_id, started = fresh.len(), checks = board.rows.len(), comment = comment.as_str(), "checks started");
        let v = Validation {
            pull_request_id: link.pull_request_id.clone(),
            repository: link.repository.clone(),
            source_commit: link.source_commit.clone(),
            build_id: fresh
                .first()
                .cloned()
                .or_else(|| board.rows.first().and_then(Row::build).map(|b| b.id))
                .unwrap_or_default(),
            stopped_builds: stopped,
            comment,
            approval,
            checks: check_rows(&board),
        };
        Ok(if fresh.is_empty() {
            Outcome::AlreadyStarted(v)
        } else {
            Outcome::Started(v)
        })
    }

    /// Edits the living comment to `content` (posts it when there is none).
    pub(crate) async fn write_living(
        &self,
        link: &BuildLink,
        living: Option<&Living>,
        content: &str,
    ) -> Result<CommentResult> {
        if let Some(l) = living {
            if l.content == content {
                return Ok(CommentResult::Unchanged);
            }
            return Ok(match self.host.update_comment(&l.id, content).await? {
                Updated::Updated { .. } => CommentResult::Updated,
                Updated::NotEditable => {
                    warn!(comment = %l.id, "the checks comment cannot be edited");
                    CommentResult::NotFound
                }
            });
        }
        let token = idempotency::key(
            "pr-comments/checks-comment",
            &[
                &link.repository,
                &link.pull_request_id,
                &link.source_commit,
                &link.revision_id,
            ],
        );
        self.post_comment_with(link, content, &token).await
    }

    /// A build of check `d.project_name` ended.
    pub(crate) async fn check_result(
        &self,
        d: &BuildDetail,
        link: &BuildLink,
        build: &BuildRef,
        ended: Ended,
        checks: &[Check],
    ) -> Result<Outcome> {
        let ignored = |reason: &'static str| {
            Outcome::Ignored(Ignored {
                reason,
                pull_request_id: Some(link.pull_request_id.clone()),
                build_id: Some(build.id.clone()),
                ..Ignored::default()
            })
        };
        if !checks.iter().any(|c| c.project == d.project_name) {
            info!(build = %build.id, project = %d.project_name, "build of a project that is not a check of its repository; ignored");
            return Ok(ignored(NOT_OURS));
        }
        if let Some(resolved) = d
            .additional_information
            .resolved_source_version
            .as_deref()
            .filter(|r| *r != link.source_commit)
        {
            info!(build = %build.id, asked = %link.source_commit, built = resolved, "build built another commit than asked for; ignored");
            return Ok(ignored(NOT_OURS));
        }
        let Ok(living) = self.living(link).await? else {
            warn!(build = %build.id, "the function's own comments cannot be told apart (set CODEHOOKS_PR_AUTHOR_ARN); ignored");
            return Ok(ignored("the function's comment author is unknown"));
        };
        let Some(living) = living else {
            info!(build = %build.id, "no checks comment of the function records this build; ignored");
            return Ok(ignored(NOT_OURS));
        };
        let mut board = living.board.clone();
        let Some(row) = board.row(&d.project_name).cloned() else {
            return Ok(ignored(NOT_OURS));
        };
        if row.build().map(|b| b.id) != Some(build.id.clone()) {
            info!(build = %build.id, current = %row.build_arn, "result of a build that a re-run replaced; ignored");
            return Ok(ignored("build was replaced by a re-run"));
        }
        let Some(pr) = self.pull_request(&link.pull_request_id).await? else {
            warn!(pull_request = %link.pull_request_id, "pull request does not exist; ignored");
            return Ok(ignored("pull request does not exist"));
        };
        let moved_on = pr.source_commit != link.source_commit;
        let stale = !pr.open || moved_on || pr.revision_id != link.revision_id;
        let state = if ended == Ended::Stopped && stale {
            RowState::Superseded
        } else {
            RowState::Finished(ended)
        };
        let duration = d.duration_seconds();
        if let Some(r) = board.row_mut(&d.project_name) {
            if !(r.state == RowState::Superseded && ended == Ended::Stopped) {
                r.state = state;
            }
            r.duration_seconds = duration.or(r.duration_seconds);
            r.number = d.build_number().or(r.number);
        }
        let moved_on_to = (pr.open && moved_on).then_some(pr.source_commit.as_str());
        let blocks = self
            .tail_blocks(d, &board, &row, ended, &living.content)
            .await;
        let content = rows::render(&board, &view(&pr, moved_on_to, blocks.blocks));
        let comment = self.write_living(link, Some(&living), &content).await?;

        let approval = match (self.config.approval && !stale, board.verdict()) {
            (true, Verdict::Passed) => Some(self.set_approval(link, Approval::Approve).await?),
            (true, Verdict::Failed) => Some(self.set_approval(link, Approval::Revoke).await?),
            _ => None,
        };
        info!(pull_request = %link.pull_request_id, build = %build.id, check = %d.project_name, status = ended.status(), comment = comment.as_str(), stale, "check result reported");
        Ok(Outcome::Reported(Reported {
            build_id: build.id.clone(),
            build_status: ended.status(),
            outdated: moved_on,
            comment,
            approval,
            pull_request_id: link.pull_request_id.clone(),
            repository: link.repository.clone(),
            source_commit: link.source_commit.clone(),
            check: Some(d.project_name.clone()),
            duration_seconds: duration,
            log_tail: blocks.answer,
        }))
    }

    /// Sets the approval of the board's revision from its verdict (after a re-run).
    pub(crate) async fn approval_of(
        &self,
        link: &BuildLink,
        board: &Board,
    ) -> Result<Option<ApprovalResult>> {
        Ok(match (self.config.approval, board.verdict()) {
            (true, Verdict::Passed) => Some(self.set_approval(link, Approval::Approve).await?),
            (true, _) => Some(self.set_approval(link, Approval::Revoke).await?),
            _ => None,
        })
    }
}

/// The view of a pull request's living comment.
pub(crate) fn view<'a>(
    pr: &'a PullRequestNow,
    moved_on_to: Option<&'a str>,
    blocks: Vec<rows::Block>,
) -> View<'a> {
    View {
        source_reference: pr.source_reference.as_deref(),
        destination_reference: pr.destination_reference.as_deref(),
        moved_on_to,
        closed: !pr.open,
        blocks,
    }
}

/// The rows as the answer shows them.
pub(crate) fn check_rows(board: &Board) -> Vec<CheckRow> {
    board
        .rows
        .iter()
        .map(|r| CheckRow {
            check: r.check.clone(),
            required: r.required,
            build_id: r.build().map(|b| b.id).unwrap_or_default(),
            state: r.state.as_str(),
        })
        .collect()
}

#[cfg(test)]
#[path = "checks_app_test.rs"]
mod tests;
