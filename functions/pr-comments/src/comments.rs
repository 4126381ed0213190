//! The steps the orchestration is made of: finding, posting and editing the function's own
//! comment about a build (edited in place, never duplicated, never someone else's), and
//! starting, finding and stopping the pull request's builds. Every call that changes
//! something carries a token derived from what it is about, so a redelivered event changes
//! nothing twice.

use std::time::{Duration, Instant};

use codehooks::arn::{Arn, service_host};
use codehooks::events::EventBridgeEvent;
use codehooks::prbuild::{BuildDetail, BuildLink};
use codehooks::{Error, Result, idempotency};
use tracing::{debug, info, warn};

use crate::app::App;
use crate::build::{BuildRef, Ended};
use crate::config::Author;
use crate::markdown::{self, Record, State};
use crate::outcome::{CommentResult, Ignored, Outcome};
use crate::ports::{BuildRunner, Posted, PullRequestHost, StartBuild, Updated};

/// How long the project's badge setting is remembered.
const BADGE_TTL: Duration = Duration::from_secs(600);

/// Why a build-end event is ignored when the function did not start that build for the
/// commit its variables name.
pub const NOT_OURS: &str = "build was not started by pr-comments for this pull request";

/// Whether a build is one the function started for a pull request's commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provenance {
    /// The function's own comment records the build for the commit.
    Recorded,
    /// No comment of the function records it: someone else started it, or for another commit.
    NotRecorded,
    /// The function's principal is not known (no `CODEHOOKS_PR_AUTHOR_ARN`, nothing learned).
    AuthorUnknown,
}

/// One of the project's builds that belongs to a pull request.
#[derive(Debug, Clone)]
pub(crate) struct PrBuild {
    pub build: BuildRef,
    pub number: Option<u64>,
    pub status: String,
    pub link: BuildLink,
}

impl<H: PullRequestHost, B: BuildRunner> App<H, B> {
    /// Whether a comment by `author_arn` is the function's own.
    pub(crate) fn is_own(&self, author_arn: &str) -> bool {
        self.author
            .lock()
            .ok()
            .and_then(|a| a.as_ref().map(|a| a.matches(author_arn)))
            .unwrap_or(false)
    }

    fn learn_author(&self, author_arn: Option<&str>) {
        let Some(arn) = author_arn else { return };
        if let Ok(mut a) = self.author.lock()
            && a.is_none()
            && let Some(parsed) = Author::parse(arn)
        {
            info!(author = arn, "learned the function's own comment author");
            *a = Some(parsed);
        }
    }

    /// The function's comments about `build_id` (id, content), newest last. With `exact`,
    /// only the comments on the link's commit pair; without, every comment of the pull request.
    async fn own_comments(
        &self,
        link: &BuildLink,
        build_id: &str,
        exact: bool,
    ) -> Result<Vec<(String, String)>> {
        let marker = markdown::build_marker(build_id);
        let author = self.author.lock().ok().and_then(|a| a.clone());
        let comments = self.host.comments(link, exact).await?;
        Ok(comments
            .into_iter()
            .filter(|c| c.content.contains(&marker))
            .filter(|c| match (&author, c.author_arn.as_deref()) {
                (Some(a), Some(arn)) => a.matches(arn),
                (Some(_), None) => false,
                // Unknown yet: UpdateComment itself refuses comments of others.
                (None, _) => true,
            })
            .map(|c| (c.id, c.content))
            .collect())
    }

    /// What the function's own comments on the link's pull request record about the builds
    /// it started: exactly the link's destination/source commit pair first, then (should
    /// CodeCommit have filed them under other commits) every comment of the pull request.
    /// `None` when the function's principal is not known yet, so its comments cannot be told
    /// from anyone else's. Only reads.
    pub(crate) async fn own_records(&self, link: &BuildLink) -> Result<Option<Vec<Record>>> {
        let Some(author) = self.author.lock().ok().and_then(|a| a.clone()) else {
            return Ok(None);
        };
        for exact in [true, false] {
            let records: Vec<Record> = self
                .host
                .comments(link, exact)
                .await?
                .into_iter()
                .filter(|c| c.author_arn.as_deref().is_some_and(|a| author.matches(a)))
                .filter_map(|c| markdown::record_of(&c.content))
                .filter(|r| r.commit == link.source_commit)
                .collect();
            if !records.is_empty() {
                return Ok(Some(records));
            }
        }
        Ok(Some(Vec::new()))
    }

    /// Whether the function started build `build_id` for the link: its own comment on the
    /// pull request names that build and the link's source commit. The build's
    /// `CODEHOOKS_PR_*` variables alone prove nothing: whoever may start a build of the
    /// project (or write the pull request's buildspec) can set them.
    pub(crate) async fn provenance(&self, link: &BuildLink, build_id: &str) -> Result<Provenance> {
        Ok(match self.own_records(link).await? {
            None => Provenance::AuthorUnknown,
            Some(records) if records.iter().any(|r| r.build_id == build_id) => Provenance::Recorded,
            Some(_) => Provenance::NotRecorded,
        })
    }

    /// `Some(ignored)` when the ended build is not one the function started for the commit
    /// its variables name (see [`App::provenance`]): nothing is edited or approved for it.
    pub(crate) async fn not_ours(
        &self,
        d: &BuildDetail,
        link: &BuildLink,
        build: &BuildRef,
    ) -> Result<Option<Outcome>> {
        let ignored = |reason: &'static str| {
            Some(Outcome::Ignored(Ignored {
                reason,
                pull_request_id: Some(link.pull_request_id.clone()),
                build_id: Some(build.id.clone()),
                ..Ignored::default()
            }))
        };
        let project = self.config.project_for(&link.repository);
        if d.project_name != project {
            info!(build = %build.id, pull_request = %link.pull_request_id, project = %d.project_name, expected = %project,
                "build {} ran in another project than the one of its repository; ignored", build.id);
            return Ok(ignored(NOT_OURS));
        }
        let resolved = d.additional_information.resolved_source_version.as_deref();
        if let Some(resolved) = resolved.filter(|r| *r != link.source_commit) {
            info!(build = %build.id, pull_request = %link.pull_request_id, asked = %link.source_commit, built = resolved,
                "build {} built another commit than pr-comments asked for; ignored", build.id);
            return Ok(ignored(NOT_OURS));
        }
        Ok(match self.provenance(link, &build.id).await? {
            Provenance::Recorded => None,
            Provenance::NotRecorded => {
                info!(build = %build.id, pull_request = %link.pull_request_id, commit = %link.source_commit,
                    "build {} was not started by pr-comments for this pull request; ignored", build.id);
                ignored(NOT_OURS)
            }
            Provenance::AuthorUnknown => {
                warn!(build = %build.id, pull_request = %link.pull_request_id,
                    "the function's own comments cannot be told apart (set CODEHOOKS_PR_AUTHOR_ARN); build {} ignored", build.id);
                ignored("the function's comment author is unknown")
            }
        })
    }

    /// Brings the function's comment about the build to `content`: edits it in place, or
    /// posts it when there is none (unless `post_if_missing` is false).
    pub(crate) async fn upsert_comment(
        &self,
        link: &BuildLink,
        build_id: &str,
        state: State,
        content: &str,
        post_if_missing: bool,
    ) -> Result<CommentResult> {
        let mut comments = self.own_comments(link, build_id, true).await?;
        if comments.is_empty() {
            // Should CodeCommit file the comment under other commits (a moved destination,
            // the merge base), look through all of the pull request's comments before posting.
            comments = self.own_comments(link, build_id, false).await?;
        }
        for (id, existing) in comments.iter().rev() {
            // The re-run comments acted on stay recorded, so a redelivered one acts once.
            let content = &crate::retry_single::with_retries(
                content,
                &crate::retry_single::retries_of(existing),
            );
            if existing == content {
                return Ok(CommentResult::Unchanged);
            }
            let existing_state = markdown::state_of(existing);
            if existing_state.is_some_and(State::is_final) && !state.is_final() {
                // A late start event never turns a result back to "started".
                return Ok(CommentResult::Unchanged);
            }
            if existing_state == Some(State::Superseded) && state == State::Finished(Ended::Stopped)
            {
                return Ok(CommentResult::Unchanged);
            }
            match self.host.update_comment(id, content).await? {
                Updated::Updated { author_arn } => {
                    self.learn_author(author_arn.as_deref());
                    debug!(comment = %id, "comment updated");
                    return Ok(CommentResult::Updated);
                }
                Updated::NotEditable => {
                    debug!(comment = %id, "comment cannot be edited; trying the next");
                }
            }
        }
        if post_if_missing {
            self.post_comment(link, build_id, state, content).await
        } else {
            Ok(CommentResult::NotFound)
        }
    }

    /// Posts the comment about the build in `state` (once per state: the token says so).
    pub(crate) async fn post_comment(
        &self,
        link: &BuildLink,
        build_id: &str,
        state: State,
        content: &str,
    ) -> Result<CommentResult> {
        let token = idempotency::key(
            "pr-comments/comment",
            &[
                &link.repository,
                &link.pull_request_id,
                &link.source_commit,
                build_id,
                state.as_str(),
            ],
        );
        self.post_comment_with(link, content, &token).await
    }

    /// Posts `content` on the link's pull request, once per `token`.
    pub(crate) async fn post_comment_with(
        &self,
        link: &BuildLink,
        content: &str,
        token: &str,
    ) -> Result<CommentResult> {
        Ok(match self.host.post_comment(link, content, token).await? {
            Posted::Posted { author_arn } => {
                self.learn_author(author_arn.as_deref());
                CommentResult::Posted
            }
            Posted::TokenReused => {
                warn!(pull_request = %link.pull_request_id, "a comment with this token but other content was posted before; not posting again");
                CommentResult::AlreadyPosted
            }
            Posted::PullRequestClosed => {
                warn!(pull_request = %link.pull_request_id, "pull request is closed; comment not posted");
                CommentResult::PullRequestClosed
            }
            Posted::PullRequestMissing => {
                warn!(pull_request = %link.pull_request_id, "pull request does not exist; comment not posted");
                CommentResult::PullRequestMissing
            }
        })
    }

    /// Starts the validation build of the link (once per revision and trigger).
    pub(crate) async fn start_build(
        &self,
        ev: &EventBridgeEvent,
        trigger: &str,
        link: &BuildLink,
    ) -> Result<(BuildRef, Option<u64>)> {
        let token = idempotency::key(
            "pr-comments/start-build",
            &[
                &link.repository,
                &link.pull_request_id,
                &link.source_commit,
                &link.revision_id,
                trigger,
            ],
        );
        let project = self.config.project_for(&link.repository);
        let (r, n, _) = self
            .start_project_build(&ev.region, &ev.account, link, &project, token)
            .await?;
        Ok((r, n))
    }

    /// Starts a build of `project` for the link's source commit, once per `token`; the
    /// build, its number and its ARN. One project may validate several repositories: the
    /// build's source is the pull request's repository, at its source commit.
    pub(crate) async fn start_project_build(
        &self,
        region: &str,
        account: &str,
        link: &BuildLink,
        project: &str,
        token: String,
    ) -> Result<(BuildRef, Option<u64>, String)> {
        let region = if region.is_empty() {
            self.region.as_str()
        } else {
            region
        };
        let started = self
            .runner
            .start(&StartBuild {
                project: project.to_owned(),
                source_location: clone_url(region, &link.repository),
                source_version: link.source_commit.clone(),
                token,
                variables: link.to_vars(),
            })
            .await?;
        let arn = match (started.arn, started.id) {
            (Some(arn), _) => arn,
            (None, Some(id)) => {
                Arn::new(region, "codebuild", account, &format!("build/{id}")).to_string()
            }
            (None, None) => return Err(Error::internal("StartBuild returned a build without id")),
        };
        let r = BuildRef::parse(&arn).ok_or_else(|| {
            Error::internal(format!("StartBuild returned an unexpected build ARN {arn}"))
        })?;
        info!(build = %r.id, commit = %link.source_commit, "build started");
        Ok((r, started.number, arn))
    }

    /// Stops a build; `false` when it had ended already.
    pub(crate) async fn stop_build(&self, id: &str) -> Result<bool> {
        let stopped = self.runner.stop(id).await?;
        if stopped {
            info!(build = id, "superseded build stopped");
        } else {
            debug!(build = id, "build could not be stopped; it has ended");
        }
        Ok(stopped)
    }

    /// The project's recent builds that belong to the pull request.
    pub(crate) async fn pull_request_builds(
        &self,
        repository: &str,
        pr_id: &str,
    ) -> Result<Vec<PrBuild>> {
        self.project_pull_request_builds(&self.config.project_for(repository), repository, pr_id)
            .await
    }

    /// The recent builds of `project` that belong to the pull request.
    pub(crate) async fn project_pull_request_builds(
        &self,
        project: &str,
        repository: &str,
        pr_id: &str,
    ) -> Result<Vec<PrBuild>> {
        let ids = self
            .runner
            .recent(project, self.config.recent_builds)
            .await?;
        let builds = self.runner.batch_get(&ids).await?;
        Ok(builds
            .into_iter()
            .filter_map(|b| {
                let link = b.link()?;
                if link.repository != repository || link.pull_request_id != pr_id {
                    return None;
                }
                let build = b.arn.as_deref().and_then(BuildRef::parse)?;
                Some(PrBuild {
                    build,
                    number: b.number,
                    status: b.status.unwrap_or_else(|| "IN_PROGRESS".to_owned()),
                    link,
                })
            })
            .collect())
    }

    /// The project's badge image, when badges are enabled (remembered for a while).
    pub(crate) async fn badge_url(&self, project: &str) -> Option<String> {
        if let Ok(b) = self.badge.lock()
            && let Some((at, url)) = b.get(project)
            && at.elapsed() < BADGE_TTL
        {
            return url.clone();
        }
        let url = match self.runner.badge_url(project).await {
            Ok(url) => url.filter(|u| markdown::safe_url(u)),
            Err(e) => {
                warn!(error = %e, "badge setting unknown; comment without badge");
                return None;
            }
        };
        if let Ok(mut b) = self.badge.lock() {
            b.insert(project.to_owned(), (Instant::now(), url.clone()));
        }
        url
    }
}

/// The HTTPS clone URL of a CodeCommit repository (the partition's domain), as a CodeBuild
/// source location.
pub fn clone_url(region: &str, repository: &str) -> String {
    format!(
        "https://{}/v1/repos/{repository}",
        service_host("git-codecommit", region)
    )
}
