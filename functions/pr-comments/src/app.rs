//! The orchestration: what the function does for each event, generic over the
//! [`PullRequestHost`] and the [`BuildRunner`].
//!
//! - A pull request created, updated or reopened: start a build of its source commit (once
//!   per revision), stop the builds still running for older commits, optionally revoke the
//!   function's approval, and post a "validation started" comment.
//! - A pull request closed or merged: stop its running builds.
//! - A build of ours ended: edit its comment to show the result (never a second comment),
//!   and optionally approve the built revision (while it is current and open) or revoke.
//!
//! - A comment on a pull request: a re-run when it asks for one ([`crate::retry`]).
//!
//! A repository with several checks is validated by [`crate::checks_app`] instead. The comment
//! and build helpers are in [`crate::comments`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use codehooks::events::EventBridgeEvent;
use codehooks::prbuild::{self, BuildDetail, BuildLink, check_commit, check_revision_id};
use codehooks::{Error, Result};
use tracing::{debug, info, warn};

use crate::build::{BuildRef, Ended, failing_phase};
use crate::comments::PrBuild;
use crate::config::{Author, Config};
use crate::events::{self, PullRequestAction, PullRequestDetail};
use crate::log_tail::Logs;
use crate::markdown::{self, State, Subject};
use crate::outcome::{
    ApprovalResult, Closed, CommentResult, Ignored, Outcome, Reported, Superseded, Validation,
};
use crate::ports::{Approval, BuildRunner, PullRequestHost, PullRequestNow};

/// The function: its configuration and its two ports.
pub struct App<H, B> {
    pub config: Config,
    pub(crate) host: H,
    pub(crate) runner: B,
    /// The function's own principal: configured, or learned from its first comment.
    pub(crate) author: Mutex<Option<Author>>,
    /// The badge image URL per project, and when it was learned.
    pub(crate) badge: Mutex<HashMap<String, (Instant, Option<String>)>>,
    /// The region of the clients (for clone URLs when an event names none).
    pub(crate) region: String,
    /// Where the log tails of failed checks are read (none: no tails).
    pub(crate) logs: Option<Logs>,
}

impl<H, B> std::fmt::Debug for App<H, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<H: PullRequestHost, B: BuildRunner> App<H, B> {
    /// The function over `host` and `runner`, in `region`.
    pub fn new(config: Config, host: H, runner: B, region: &str) -> Self {
        Self {
            author: Mutex::new(config.author.clone()),
            badge: Mutex::new(HashMap::new()),
            region: region.to_owned(),
            config,
            host,
            runner,
            logs: None,
        }
    }

    /// The function reading the log tails of failed checks from `logs`.
    pub fn with_logs(mut self, logs: Logs) -> Self {
        self.logs = Some(logs);
        self
    }

    /// Reads the event and does what it asks.
    pub async fn dispatch(&self, payload: serde_json::Value) -> Result<Outcome> {
        let ev = EventBridgeEvent::parse(payload)?;
        match (ev.source.as_str(), ev.detail_type.as_str()) {
            (events::CODECOMMIT, t) if events::PULL_REQUEST_CHANGED.contains(&t) => {
                self.pull_request_changed(&ev).await
            }
            (events::CODECOMMIT, events::COMMENT) => self.comment_posted(&ev).await,
            (prbuild::SOURCE, prbuild::DETAIL_TYPE) => self.build_changed(&ev).await,
            (prbuild::SOURCE, events::BUILD_PHASE_CHANGED) => {
                Ok(Outcome::ignored("build phase changes need no action"))
            }
            (source, detail_type) => Err(Error::bad_input(format!(
                "pr-comments does not handle {detail_type:?} events from {source:?}"
            ))),
        }
    }

    /// The pull request now, its values checked; `None` when it does not exist.
    pub(crate) async fn pull_request(&self, id: &str) -> Result<Option<PullRequestNow>> {
        let Some(pr) = self.host.pull_request(id).await? else {
            return Ok(None);
        };
        check_commit("the pull request's source commit", &pr.source_commit)?;
        check_commit(
            "the pull request's destination commit",
            &pr.destination_commit,
        )?;
        check_revision_id("the pull request's revision id", &pr.revision_id)?;
        Ok(Some(pr))
    }

    async fn pull_request_changed(&self, ev: &EventBridgeEvent) -> Result<Outcome> {
        let d: PullRequestDetail = ev.detail_as()?;
        let action = d.action();
        if action == PullRequestAction::Ignore {
            debug!(event = %d.event, "pull request event ignored");
            return Ok(Outcome::ignored("pull request event needs no action"));
        }
        let repository = d.repository(&ev.resources)?;
        let pr_id = d.pull_request_id()?.to_owned();
        let source = if action == PullRequestAction::Validate {
            Some(d.source_commit()?.to_owned())
        } else {
            None
        };
        d.revision_id()?;
        if !self.config.watches(&repository) {
            debug!(repository = %repository, "repository not configured; ignored");
            return Ok(Outcome::ignored("repository is not configured"));
        }
        match source {
            Some(source) => self.validate(ev, &d, &repository, &pr_id, &source).await,
            None => self.closed(&repository, &pr_id).await,
        }
    }

    async fn validate(
        &self,
        ev: &EventBridgeEvent,
        d: &PullRequestDetail,
        repository: &str,
        pr_id: &str,
        source: &str,
    ) -> Result<Outcome> {
        let Some(pr) = self.pull_request(pr_id).await? else {
            warn!(pull_request = pr_id, "pull request does not exist; ignored");
            return Ok(Outcome::ignored("pull request does not exist"));
        };
        if pr.repository != repository {
            return Err(Error::bad_input(format!(
                "pull request {pr_id} belongs to repository {}, not {repository}",
                pr.repository
            )));
        }
        if !pr.open {
            info!(
                pull_request = pr_id,
                "pull request is closed; not validated"
            );
            return Ok(Outcome::ignored("pull request is closed"));
        }
        if pr.source_commit != source {
            info!(pull_request = pr_id, event_commit = source, now = %pr.source_commit, "pull request has moved on; the newer event validates it");
            return Ok(Outcome::Ignored(Ignored {
                reason: "pull request has moved on to a newer commit",
                pull_request_id: Some(pr_id.to_owned()),
                source_commit: Some(pr.source_commit),
                ..Ignored::default()
            }));
        }
        let link = pr.link(repository, pr_id);
        if let Some(checks) = self.config.checks.for_repository(repository) {
            return self.validate_checks(ev, &d.event, &pr, &link, checks).await;
        }
        let builds = self.pull_request_builds(repository, pr_id).await?;
        // A build whose variables name this revision is the function's own only when its
        // comment records it; anyone may start a build with such variables.
        let candidates: Vec<&PrBuild> = builds
            .iter()
            .filter(|b| {
                b.link.source_commit == link.source_commit
                    && b.link.revision_id == link.revision_id
                    && b.status != "STOPPED"
            })
            .collect();
        let records = if candidates.is_empty() {
            Vec::new()
        } else {
            self.own_records(&link).await?.unwrap_or_default()
        };
        let existing = candidates
            .into_iter()
            .find(|b| records.iter().any(|r| r.build_id == b.build.id));
        let (build, number, fresh) = match existing {
            Some(b) => {
                info!(build = %b.build.id, status = %b.status, "a build of this revision exists already");
                (b.build.clone(), b.number, false)
            }
            None => {
                let (b, n) = self.start_build(ev, &d.event, &link).await?;
                (b, n, true)
            }
        };

        let mut stopped = Vec::new();
        if self.config.stop_superseded {
            for b in builds
                .iter()
                .filter(|b| b.status == "IN_PROGRESS" && b.link.source_commit != link.source_commit)
            {
                if self.stop_build(&b.build.id).await? {
                    stopped.push(b.build.id.clone());
                }
            }
        }

        let approval = if self.config.approval && fresh {
            Some(self.set_approval(&link, Approval::Revoke).await?)
        } else {
            None
        };

        let subject = subject(&build, number, &link);
        let content = markdown::started(&subject);
        let comment = if fresh {
            self.post_comment(&link, &build.id, State::Started, &content)
                .await?
        } else if existing.is_some_and(|b| b.status == "IN_PROGRESS") {
            self.upsert_comment(&link, &build.id, State::Started, &content, true)
                .await?
        } else {
            CommentResult::BuildEnded
        };
        info!(pull_request = pr_id, build = %build.id, fresh, comment = comment.as_str(), stopped = stopped.len(), "validation started");
        let v = Validation {
            pull_request_id: pr_id.to_owned(),
            repository: repository.to_owned(),
            source_commit: link.source_commit,
            build_id: build.id,
            stopped_builds: stopped,
            comment,
            approval,
            checks: Vec::new(),
        };
        Ok(if fresh {
            Outcome::Started(v)
        } else {
            Outcome::AlreadyStarted(v)
        })
    }

    async fn closed(&self, repository: &str, pr_id: &str) -> Result<Outcome> {
        let projects: Vec<String> = match self.config.checks.for_repository(repository) {
            Some(checks) => checks.iter().map(|c| c.project.clone()).collect(),
            None => vec![self.config.project_for(repository)],
        };
        let mut stopped = Vec::new();
        for project in &projects {
            let builds = self
                .project_pull_request_builds(project, repository, pr_id)
                .await?;
            for b in builds.iter().filter(|b| b.status == "IN_PROGRESS") {
                if self.stop_build(&b.build.id).await? {
                    stopped.push(b.build.id.clone());
                }
            }
        }
        info!(
            pull_request = pr_id,
            stopped = stopped.len(),
            "pull request closed"
        );
        Ok(Outcome::Closed(Closed {
            pull_request_id: pr_id.to_owned(),
            repository: repository.to_owned(),
            stopped_builds: stopped,
        }))
    }

    async fn build_changed(&self, ev: &EventBridgeEvent) -> Result<Outcome> {
        let d: BuildDetail = ev.detail_as()?;
        if !self.config.is_project(&d.project_name) {
            debug!(project = %d.project_name, "build of another project; ignored");
            return Ok(Outcome::ignored("build of another project"));
        }
        let Some(link) = d.link()? else {
            debug!(build = %d.build_id, "build without pull request variables; ignored");
            return Ok(Outcome::ignored("build was not started by pr-comments"));
        };
        let build = BuildRef::parse(&d.build_id)
            .ok_or_else(|| Error::bad_input("detail.build-id is not a CodeBuild build ARN"))?;
        if build.project != d.project_name {
            return Err(Error::bad_input(
                "detail.build-id names another project than detail.project-name",
            ));
        }
        if !self.config.watches(&link.repository) {
            debug!(repository = %link.repository, "repository not configured; ignored");
            return Ok(Outcome::ignored("repository is not configured"));
        }
        let Some(ended) = Ended::from_status(&d.build_status) else {
            // IN_PROGRESS: the start comment says so already.
            debug!(build = %build.id, status = %d.build_status, "build state needs no comment");
            return Ok(Outcome::Ignored(Ignored {
                reason: "build has not ended",
                build_id: Some(build.id),
                build_status: Some(d.build_status),
                ..Ignored::default()
            }));
        };

        if let Some(checks) = self.config.checks.for_repository(&link.repository) {
            return self.check_result(&d, &link, &build, ended, checks).await;
        }
        if let Some(outcome) = self.not_ours(&d, &link, &build).await? {
            return Ok(outcome);
        }

        let Some(pr) = self.pull_request(&link.pull_request_id).await? else {
            warn!(pull_request = %link.pull_request_id, "pull request does not exist; ignored");
            return Ok(Outcome::ignored("pull request does not exist"));
        };
        let moved_on = pr.source_commit != link.source_commit;
        let stale = !pr.open || moved_on;
        let moved_on_to = (pr.open && moved_on).then_some(pr.source_commit.as_str());
        let subject = subject(&build, d.build_number(), &link);

        if ended == Ended::Stopped && stale {
            // Stopped because a newer commit or closing the pull request superseded it:
            // no new comment, only the start comment is brought up to date.
            let content = markdown::superseded(&subject, moved_on_to);
            let comment = self
                .upsert_comment(&link, &build.id, State::Superseded, &content, false)
                .await?;
            return Ok(Outcome::Superseded(Superseded {
                pull_request_id: link.pull_request_id.clone(),
                build_id: build.id.clone(),
                comment,
            }));
        }

        let badge = self.badge_url(&d.project_name).await;
        let logs_url = d
            .additional_information
            .logs
            .as_ref()
            .and_then(|l| l.deep_link.clone())
            .filter(|u| markdown::safe_url(u));
        let result = markdown::Result {
            duration_seconds: d.duration_seconds(),
            failing_phase: if ended == Ended::Succeeded {
                None
            } else {
                failing_phase(&d)
            },
            logs_url,
            badge_url: badge.as_deref(),
            moved_on_to,
            closed: !pr.open,
        };
        let mut content = markdown::finished(&subject, ended, &result);
        let log_tail = self
            .single_tail(&d, &build.project, ended, &mut content)
            .await;
        let comment = self
            .upsert_comment(&link, &build.id, State::Finished(ended), &content, true)
            .await?;

        let approval = if self.config.approval && !stale {
            let state = if ended == Ended::Succeeded {
                Approval::Approve
            } else {
                Approval::Revoke
            };
            Some(self.set_approval(&link, state).await?)
        } else {
            None
        };
        info!(pull_request = %link.pull_request_id, build = %build.id, status = ended.status(), comment = comment.as_str(), stale, "result reported");
        Ok(Outcome::Reported(Reported {
            build_id: build.id.clone(),
            build_status: ended.status(),
            outdated: moved_on,
            comment,
            approval,
            pull_request_id: link.pull_request_id,
            repository: link.repository,
            source_commit: link.source_commit,
            check: None,
            duration_seconds: d.duration_seconds(),
            log_tail,
        }))
    }

    /// Sets the approval state of the link's revision; the refusals the function expects are
    /// answered, not failed.
    pub(crate) async fn set_approval(
        &self,
        link: &BuildLink,
        asked: Approval,
    ) -> Result<ApprovalResult> {
        let answer = self
            .host
            .set_approval(&link.pull_request_id, &link.revision_id, asked)
            .await?;
        match answer.refusal() {
            None => {
                info!(pull_request = %link.pull_request_id, revision = %link.revision_id, state = asked.as_str(), "approval state set")
            }
            Some(why) => {
                warn!(pull_request = %link.pull_request_id, state = asked.as_str(), reason = why, "approval state not set")
            }
        }
        Ok(ApprovalResult { asked, answer })
    }
}

pub(crate) fn subject<'a>(
    build: &'a BuildRef,
    number: Option<u64>,
    link: &'a BuildLink,
) -> Subject<'a> {
    Subject {
        build,
        build_number: number,
        source_commit: &link.source_commit,
        source_reference: link.source_reference.as_deref(),
        destination_reference: link.destination_reference.as_deref(),
    }
}

#[cfg(test)]
#[path = "app_test.rs"]
mod tests;
