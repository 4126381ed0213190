//! `pr-comments`: validates every CodeCommit pull request with CodeBuild and says so on the
//! pull request.
//!
//! - `CodeCommit Pull Request State Change` (`pullRequestCreated`,
//!   `pullRequestSourceBranchUpdated`, reopened): starts a build of the source commit with the
//!   pull request in its environment variables, stops the builds still running for older
//!   commits, optionally revokes the function's approval, and posts a "validation started"
//!   comment linking to the build.
//! - The same event when the pull request is closed or merged: stops its running builds.
//! - `CodeBuild Build State Change` for a build it started: edits that comment in place to
//!   show the result (or posts one when none is found), and optionally approves or revokes.
//!
//! Every call that changes something carries a token derived from what it is about, so a
//! redelivered event changes nothing twice.

pub mod config;
pub mod detail;
pub mod markdown;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_codebuild::types::{
    EnvironmentVariable, EnvironmentVariableType, SortOrderType, SourceType, StatusType,
};
use aws_sdk_codecommit::types::{ApprovalState, PullRequestStatusEnum};
use codehooks::config::{Common, Env};
use codehooks::emf::Metrics;
use codehooks::events::EventBridgeEvent;
use codehooks::{Error, Result, idempotency};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use tracing::{debug, info, warn};

pub use config::{Author, Config};
use detail::{BuildDetail, BuildLink, BuildRef, Outcome, PullRequestAction, PullRequestDetail};
use markdown::{State, Subject};

/// The function's name, as the demo and logs show it.
pub const NAME: &str = "pr-comments";

/// How long the project's badge setting is remembered.
const BADGE_TTL: Duration = Duration::from_secs(600);
/// Pages of comments read to find the function's own comment.
const MAX_COMMENT_PAGES: usize = 20;

/// The function's configuration and clients, built once per execution environment.
pub struct App {
    pub common: Common,
    pub config: Config,
    codecommit: aws_sdk_codecommit::Client,
    codebuild: aws_sdk_codebuild::Client,
    /// The function's own principal: configured, or learned from its first comment.
    author: Mutex<Option<Author>>,
    badge: Mutex<Option<(Instant, Option<String>)>>,
    /// The region of the clients (for clone URLs when an event names none).
    region: String,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A pull request as `GetPullRequest` shows it now.
#[derive(Debug, Clone)]
struct PullRequestNow {
    open: bool,
    repository: String,
    source_commit: String,
    destination_commit: String,
    revision_id: String,
    source_reference: Option<String>,
    destination_reference: Option<String>,
}

/// One of the project's builds that belongs to a pull request.
#[derive(Debug, Clone)]
struct PrBuild {
    build: BuildRef,
    number: Option<u64>,
    status: String,
    link: BuildLink,
}

/// What happened to the comment about a build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CommentResult {
    Posted,
    Updated,
    Unchanged,
    /// A comment with the same token but other content exists already.
    AlreadyPosted,
    NotFound,
    Skipped(&'static str),
}

impl CommentResult {
    fn as_str(self) -> &'static str {
        match self {
            Self::Posted => "posted",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::AlreadyPosted => "already-posted",
            Self::NotFound => "not-found",
            Self::Skipped(why) => why,
        }
    }
}

fn ignored(reason: &str) -> Value {
    json!({"action": "ignored", "reason": reason})
}

impl App {
    /// Reads and validates the configuration and builds the AWS clients.
    pub async fn from_env() -> Result<Self> {
        let mut env = Env::from_process();
        let common = Common::read(&mut env);
        let config = Config::read(&mut env);
        env.finish()?;
        let sdk = codehooks::aws::load(&common.aws).await;
        let app = Self::new(common, config, &sdk);
        info!(
            project = %app.config.project,
            repositories = %if app.config.repositories.is_empty() { "*".to_owned() } else { app.config.repositories.join(",") },
            approval = app.config.approval,
            stop_superseded = app.config.stop_superseded,
            author_configured = app.config.author.is_some(),
            "configuration loaded"
        );
        Ok(app)
    }

    /// An app with clients from `sdk`.
    pub fn new(common: Common, config: Config, sdk: &SdkConfig) -> Self {
        Self::with_clients(
            common,
            config,
            aws_sdk_codecommit::Client::new(sdk),
            aws_sdk_codebuild::Client::new(sdk),
        )
    }

    /// An app with the given clients (tests give mocked ones).
    pub fn with_clients(
        common: Common,
        config: Config,
        codecommit: aws_sdk_codecommit::Client,
        codebuild: aws_sdk_codebuild::Client,
    ) -> Self {
        let author = Mutex::new(config.author.clone());
        let region = codecommit
            .config()
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".to_owned());
        Self {
            region,
            common,
            config,
            codecommit,
            codebuild,
            author,
            badge: Mutex::new(None),
        }
    }

    /// Handles one invocation.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value> {
        let started = Instant::now();
        let result = self.dispatch(event.payload).await;
        let action = match &result {
            Ok(v) => v["action"].as_str().unwrap_or("done").to_owned(),
            Err(e) => e.kind().to_owned(),
        };
        match &result {
            Ok(v) => info!(outcome = %v, "handled"),
            Err(e) => warn!(error = %e, kind = e.kind(), retryable = e.is_retryable(), "failed"),
        }
        Metrics::new(&self.common.metrics_namespace, NAME)
            .dimension("Action", &action)
            .count("Invocations", 1.0)
            .millis("DurationMs", started.elapsed().as_secs_f64() * 1000.0)
            .emit();
        result
    }

    /// Reads the event and does what it asks.
    pub async fn dispatch(&self, payload: Value) -> Result<Value> {
        let ev = EventBridgeEvent::parse(payload)?;
        match (ev.source.as_str(), ev.detail_type.as_str()) {
            // The merge event is documented with the spelling "PullRequest".
            (
                "aws.codecommit",
                "CodeCommit Pull Request State Change" | "CodeCommit PullRequest State Change",
            ) => self.pull_request_changed(&ev).await,
            ("aws.codecommit", "CodeCommit Comment on Pull Request") => {
                let caller = ev.detail["callerUserArn"].as_str().unwrap_or_default();
                let own = self.is_own(caller);
                debug!(caller, own, "comment event ignored");
                Ok(ignored(if own {
                    "comment event caused by pr-comments itself"
                } else {
                    "comment events need no action"
                }))
            }
            ("aws.codebuild", "CodeBuild Build State Change") => self.build_changed(&ev).await,
            ("aws.codebuild", "CodeBuild Build Phase Change") => {
                Ok(ignored("build phase changes need no action"))
            }
            (source, detail_type) => Err(Error::bad_input(format!(
                "pr-comments does not handle {detail_type:?} events from {source:?}"
            ))),
        }
    }

    // ----- pull request events -------------------------------------------------------------

    async fn pull_request_changed(&self, ev: &EventBridgeEvent) -> Result<Value> {
        let d: PullRequestDetail = ev.detail_as()?;
        let action = d.action();
        if action == PullRequestAction::Ignore {
            debug!(event = %d.event, "pull request event ignored");
            return Ok(ignored("pull request event needs no action"));
        }
        let repository = d.repository(&ev.resources)?;
        let pr_id = d.pull_request_id()?.to_owned();
        let source = if action == PullRequestAction::Validate {
            Some(d.source_commit()?.to_owned())
        } else {
            None
        };
        if let Some(r) = &d.revision_id {
            detail::check_token("detail.revisionId", r)?;
        }
        if !self.config.watches(&repository) {
            debug!(repository = %repository, "repository not configured; ignored");
            return Ok(ignored("repository is not configured"));
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
    ) -> Result<Value> {
        let Some(pr) = self.pull_request(pr_id).await? else {
            warn!(pull_request = pr_id, "pull request does not exist; ignored");
            return Ok(ignored("pull request does not exist"));
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
            return Ok(ignored("pull request is closed"));
        }
        if pr.source_commit != source {
            info!(pull_request = pr_id, event_commit = source, now = %pr.source_commit, "pull request has moved on; the newer event validates it");
            return Ok(json!({
                "action": "ignored",
                "reason": "pull request has moved on to a newer commit",
                "pullRequestId": pr_id,
                "sourceCommit": pr.source_commit,
            }));
        }
        let link = BuildLink {
            pull_request_id: pr_id.to_owned(),
            repository: repository.to_owned(),
            source_commit: pr.source_commit.clone(),
            destination_commit: pr.destination_commit.clone(),
            revision_id: pr.revision_id.clone(),
            source_reference: pr.source_reference.clone(),
            destination_reference: pr.destination_reference.clone(),
        };
        let builds = self.pull_request_builds(repository, pr_id).await?;
        let existing = builds.iter().find(|b| {
            b.link.source_commit == link.source_commit
                && b.link.revision_id == link.revision_id
                && b.status != "STOPPED"
        });
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
            Some(self.set_approval(&link, ApprovalState::Revoke).await?)
        } else {
            None
        };

        let subject = Subject {
            build: &build,
            build_number: number,
            source_commit: &link.source_commit,
            source_reference: link.source_reference.as_deref(),
            destination_reference: link.destination_reference.as_deref(),
        };
        let content = markdown::started(&subject);
        let comment = if fresh {
            self.post_comment(&link, &build.id, State::Started, &content)
                .await?
        } else if existing.is_some_and(|b| b.status == "IN_PROGRESS") {
            self.upsert_comment(&link, &build.id, State::Started, &content, true)
                .await?
        } else {
            CommentResult::Skipped("build already ended")
        };
        info!(pull_request = pr_id, build = %build.id, fresh, comment = comment.as_str(), stopped = stopped.len(), "validation started");
        Ok(json!({
            "action": if fresh { "started" } else { "already-started" },
            "pullRequestId": pr_id,
            "repository": repository,
            "sourceCommit": link.source_commit,
            "buildId": build.id,
            "stoppedBuilds": stopped,
            "comment": comment.as_str(),
            "approval": approval,
        }))
    }

    async fn closed(&self, repository: &str, pr_id: &str) -> Result<Value> {
        let builds = self.pull_request_builds(repository, pr_id).await?;
        let mut stopped = Vec::new();
        for b in builds.iter().filter(|b| b.status == "IN_PROGRESS") {
            if self.stop_build(&b.build.id).await? {
                stopped.push(b.build.id.clone());
            }
        }
        info!(
            pull_request = pr_id,
            stopped = stopped.len(),
            "pull request closed"
        );
        Ok(json!({
            "action": "closed",
            "pullRequestId": pr_id,
            "repository": repository,
            "stoppedBuilds": stopped,
        }))
    }

    // ----- build events ----------------------------------------------------------------------

    async fn build_changed(&self, ev: &EventBridgeEvent) -> Result<Value> {
        let d: BuildDetail = ev.detail_as()?;
        if d.project_name != self.config.project {
            debug!(project = %d.project_name, "build of another project; ignored");
            return Ok(ignored("build of another project"));
        }
        let Some(link) = d.link()? else {
            debug!(build = %d.build_id, "build without pull request variables; ignored");
            return Ok(ignored("build was not started by pr-comments"));
        };
        let build = d.build_ref()?;
        if build.project != d.project_name {
            return Err(Error::bad_input(
                "detail.build-id names another project than detail.project-name",
            ));
        }
        if !self.config.watches(&link.repository) {
            debug!(repository = %link.repository, "repository not configured; ignored");
            return Ok(ignored("repository is not configured"));
        }
        let Some(outcome) = Outcome::from_status(&d.build_status) else {
            // IN_PROGRESS: the start comment says so already.
            debug!(build = %build.id, status = %d.build_status, "build state needs no comment");
            return Ok(json!({
                "action": "ignored",
                "reason": "build has not ended",
                "buildId": build.id,
                "buildStatus": d.build_status,
            }));
        };

        let Some(pr) = self.pull_request(&link.pull_request_id).await? else {
            warn!(pull_request = %link.pull_request_id, "pull request does not exist; ignored");
            return Ok(ignored("pull request does not exist"));
        };
        let moved_on = pr.source_commit != link.source_commit;
        let stale = !pr.open || moved_on;
        let number = d.build_number();
        let subject = Subject {
            build: &build,
            build_number: number,
            source_commit: &link.source_commit,
            source_reference: link.source_reference.as_deref(),
            destination_reference: link.destination_reference.as_deref(),
        };

        if outcome == Outcome::Stopped && stale {
            // Stopped because a newer commit or closing the pull request superseded it:
            // no new comment, only the start comment is brought up to date.
            let content = markdown::superseded(
                &subject,
                (pr.open && moved_on).then_some(pr.source_commit.as_str()),
            );
            let comment = self
                .upsert_comment(&link, &build.id, State::Superseded, &content, false)
                .await?;
            return Ok(json!({
                "action": "superseded",
                "pullRequestId": link.pull_request_id,
                "buildId": build.id,
                "comment": comment.as_str(),
            }));
        }

        let badge = self.badge_url().await;
        let result = markdown::Result {
            duration_seconds: d.duration_seconds(),
            failing_phase: if outcome == Outcome::Succeeded {
                None
            } else {
                d.failing_phase()
            },
            logs_url: d.logs_link(),
            badge_url: badge.as_deref(),
            moved_on_to: (pr.open && moved_on).then_some(pr.source_commit.as_str()),
            closed: !pr.open,
        };
        let content = markdown::finished(&subject, outcome, &result);
        let comment = self
            .upsert_comment(&link, &build.id, State::Finished(outcome), &content, true)
            .await?;

        let approval = if self.config.approval && !stale {
            let state = if outcome == Outcome::Succeeded {
                ApprovalState::Approve
            } else {
                ApprovalState::Revoke
            };
            Some(self.set_approval(&link, state).await?)
        } else {
            None
        };
        info!(pull_request = %link.pull_request_id, build = %build.id, status = outcome.status(), comment = comment.as_str(), stale, "result reported");
        Ok(json!({
            "action": "reported",
            "pullRequestId": link.pull_request_id,
            "repository": link.repository,
            "buildId": build.id,
            "buildStatus": outcome.status(),
            "sourceCommit": link.source_commit,
            "outdated": moved_on,
            "comment": comment.as_str(),
            "approval": approval,
        }))
    }

    // ----- CodeCommit ------------------------------------------------------------------------

    async fn pull_request(&self, pr_id: &str) -> Result<Option<PullRequestNow>> {
        let out = match self
            .codecommit
            .get_pull_request()
            .pull_request_id(pr_id)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                let err = Error::aws("GetPullRequest", e);
                if err.aws_code() == Some("PullRequestDoesNotExistException") {
                    return Ok(None);
                }
                return Err(err);
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
        let repository = target.repository_name.unwrap_or_default();
        let source_commit = target.source_commit.unwrap_or_default();
        let destination_commit = target.destination_commit.unwrap_or_default();
        let revision_id = pr.revision_id.unwrap_or_default();
        detail::check_commit("the pull request's source commit", &source_commit)?;
        detail::check_commit("the pull request's destination commit", &destination_commit)?;
        detail::check_token("the pull request's revision id", &revision_id)?;
        Ok(Some(PullRequestNow {
            open: pr.pull_request_status == Some(PullRequestStatusEnum::Open),
            repository,
            source_commit,
            destination_commit,
            revision_id,
            source_reference: target.source_reference,
            destination_reference: target.destination_reference,
        }))
    }

    fn is_own(&self, author_arn: &str) -> bool {
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

    /// The function's comments about `build_id` on the link's commits, newest last.
    /// With `exact`, only the comments on the link's destination and source commits are read;
    /// without, every comment of the pull request.
    async fn own_comments(
        &self,
        link: &BuildLink,
        build_id: &str,
        exact: bool,
    ) -> Result<Vec<(String, String)>> {
        let marker = markdown::build_marker(build_id);
        let author = self.author.lock().ok().and_then(|a| a.clone());
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_COMMENT_PAGES {
            let mut req = self
                .codecommit
                .get_comments_for_pull_request()
                .pull_request_id(&link.pull_request_id)
                .max_results(100)
                .set_next_token(token.take());
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
            for data in out.comments_for_pull_request_data.unwrap_or_default() {
                for c in data.comments.unwrap_or_default() {
                    let (Some(id), Some(content)) = (c.comment_id, c.content) else {
                        continue;
                    };
                    if c.deleted || !content.contains(&marker) {
                        continue;
                    }
                    let by_us = match (&author, c.author_arn.as_deref()) {
                        (Some(a), Some(arn)) => a.matches(arn),
                        (Some(_), None) => false,
                        // Unknown yet: UpdateComment itself refuses comments of others.
                        (None, _) => true,
                    };
                    if by_us {
                        found.push((id, content));
                    }
                }
            }
            match out.next_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => break,
            }
        }
        Ok(found)
    }

    /// Brings the function's comment about the build to `content`: edits it in place, or
    /// posts it when there is none (unless `post_if_missing` is false).
    async fn upsert_comment(
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
            if existing == content {
                return Ok(CommentResult::Unchanged);
            }
            let existing_state = markdown::state_of(existing);
            if existing_state.is_some_and(State::is_final) && !state.is_final() {
                // A late start event never turns a result back to "started".
                return Ok(CommentResult::Unchanged);
            }
            if existing_state == Some(State::Superseded)
                && state == State::Finished(Outcome::Stopped)
            {
                return Ok(CommentResult::Unchanged);
            }
            match self
                .codecommit
                .update_comment()
                .comment_id(id)
                .content(content)
                .send()
                .await
            {
                Ok(out) => {
                    self.learn_author(out.comment.as_ref().and_then(|c| c.author_arn.as_deref()));
                    debug!(comment = %id, "comment updated");
                    return Ok(CommentResult::Updated);
                }
                Err(e) => {
                    let err = Error::aws("UpdateComment", e);
                    match err.aws_code() {
                        Some(
                            "CommentNotCreatedByCallerException"
                            | "CommentDeletedException"
                            | "CommentDoesNotExistException",
                        ) => {
                            debug!(comment = %id, code = ?err.aws_code(), "comment cannot be edited; trying the next");
                            continue;
                        }
                        _ => return Err(err),
                    }
                }
            }
        }
        if post_if_missing {
            self.post_comment(link, build_id, state, content).await
        } else {
            Ok(CommentResult::NotFound)
        }
    }

    async fn post_comment(
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
        let sent = self
            .codecommit
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
            Ok(out) => {
                self.learn_author(out.comment.as_ref().and_then(|c| c.author_arn.as_deref()));
                Ok(CommentResult::Posted)
            }
            Err(e) => {
                let err = Error::aws("PostCommentForPullRequest", e);
                match err.aws_code() {
                    Some("IdempotencyParameterMismatchException") => {
                        warn!(pull_request = %link.pull_request_id, build = build_id, "a comment with this token but other content was posted before; not posting again");
                        Ok(CommentResult::AlreadyPosted)
                    }
                    Some("PullRequestAlreadyClosedException") => {
                        warn!(pull_request = %link.pull_request_id, "pull request is closed; comment not posted");
                        Ok(CommentResult::Skipped("pull-request-closed"))
                    }
                    Some("PullRequestDoesNotExistException") => {
                        warn!(pull_request = %link.pull_request_id, "pull request does not exist; comment not posted");
                        Ok(CommentResult::Skipped("pull-request-missing"))
                    }
                    _ => Err(err),
                }
            }
        }
    }

    async fn set_approval(&self, link: &BuildLink, state: ApprovalState) -> Result<String> {
        let word = state.as_str().to_owned();
        match self
            .codecommit
            .update_pull_request_approval_state()
            .pull_request_id(&link.pull_request_id)
            .revision_id(&link.revision_id)
            .approval_state(state)
            .send()
            .await
        {
            Ok(_) => {
                info!(pull_request = %link.pull_request_id, revision = %link.revision_id, state = %word, "approval state set");
                Ok(word)
            }
            Err(e) => {
                let err = Error::aws("UpdatePullRequestApprovalState", e);
                let outcome = match err.aws_code() {
                    Some("RevisionNotCurrentException" | "InvalidRevisionIdException") => {
                        "revision-not-current"
                    }
                    Some("PullRequestAlreadyClosedException") => "pull-request-closed",
                    Some("PullRequestCannotBeApprovedByAuthorException") => "function-is-author",
                    Some("PullRequestDoesNotExistException") => "pull-request-missing",
                    _ => return Err(err),
                };
                warn!(pull_request = %link.pull_request_id, state = %word, reason = outcome, "approval state not set");
                Ok(format!("{word}: {outcome}"))
            }
        }
    }

    // ----- CodeBuild -------------------------------------------------------------------------

    async fn start_build(
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
        // One project validates every configured repository: the build's source is the
        // pull request's repository, at its source commit.
        let region = if ev.region.is_empty() {
            self.region.clone()
        } else {
            ev.region.clone()
        };
        let mut req = self
            .codebuild
            .start_build()
            .project_name(&self.config.project)
            .source_type_override(SourceType::Codecommit)
            .source_location_override(clone_url(&region, &link.repository))
            .source_version(&link.source_commit)
            .idempotency_token(token);
        for (name, value) in link.to_vars() {
            let var = EnvironmentVariable::builder()
                .name(name)
                .value(value)
                .r#type(EnvironmentVariableType::Plaintext)
                .build()
                .map_err(|e| Error::internal(format!("environment variable {name}: {e}")))?;
            req = req.environment_variables_override(var);
        }
        let out = req.send().await.map_err(|e| Error::aws("StartBuild", e))?;
        let build = out
            .build_value
            .ok_or_else(|| Error::internal("StartBuild returned no build"))?;
        let arn = match (build.arn.as_deref(), build.id.as_deref()) {
            (Some(arn), _) => arn.to_owned(),
            (None, Some(id)) => {
                format!("arn:aws:codebuild:{}:{}:build/{id}", ev.region, ev.account)
            }
            (None, None) => return Err(Error::internal("StartBuild returned a build without id")),
        };
        let r = BuildRef::parse(&arn).ok_or_else(|| {
            Error::internal(format!("StartBuild returned an unexpected build ARN {arn}"))
        })?;
        info!(build = %r.id, commit = %link.source_commit, "build started");
        Ok((r, build.build_number.and_then(|n| u64::try_from(n).ok())))
    }

    /// Stops a build; `false` when it had ended already.
    async fn stop_build(&self, id: &str) -> Result<bool> {
        match self.codebuild.stop_build().id(id).send().await {
            Ok(_) => {
                info!(build = id, "superseded build stopped");
                Ok(true)
            }
            Err(e) => {
                let err = Error::aws("StopBuild", e);
                match err.aws_code() {
                    Some("InvalidInputException" | "ResourceNotFoundException") => {
                        debug!(build = id, error = %err, "build could not be stopped; it has ended");
                        Ok(false)
                    }
                    _ => Err(err),
                }
            }
        }
    }

    /// The project's recent builds that belong to the pull request.
    async fn pull_request_builds(&self, repository: &str, pr_id: &str) -> Result<Vec<PrBuild>> {
        let mut ids: Vec<String> = Vec::new();
        let mut token: Option<String> = None;
        while ids.len() < self.config.recent_builds {
            let out = self
                .codebuild
                .list_builds_for_project()
                .project_name(&self.config.project)
                .sort_order(SortOrderType::Descending)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| Error::aws("ListBuildsForProject", e))?;
            ids.extend(out.ids.unwrap_or_default());
            match out.next_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => break,
            }
        }
        ids.truncate(self.config.recent_builds);
        let mut found = Vec::new();
        for chunk in ids.chunks(100) {
            let out = self
                .codebuild
                .batch_get_builds()
                .set_ids(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| Error::aws("BatchGetBuilds", e))?;
            for b in out.builds.unwrap_or_default() {
                let vars: Vec<(&str, Option<&str>)> = b
                    .environment
                    .as_ref()
                    .and_then(|e| e.environment_variables.as_deref())
                    .unwrap_or_default()
                    .iter()
                    .map(|v| (v.name(), Some(v.value())))
                    .collect();
                let Ok(Some(link)) = BuildLink::from_vars(vars) else {
                    continue;
                };
                if link.repository != repository || link.pull_request_id != pr_id {
                    continue;
                }
                let Some(build) = b.arn.as_deref().and_then(BuildRef::parse) else {
                    continue;
                };
                let status = b
                    .build_status
                    .as_ref()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_else(|| StatusType::InProgress.as_str().to_owned());
                found.push(PrBuild {
                    build,
                    number: b.build_number.and_then(|n| u64::try_from(n).ok()),
                    status,
                    link,
                });
            }
        }
        Ok(found)
    }

    /// The project's badge image, when badges are enabled (remembered for a while).
    async fn badge_url(&self) -> Option<String> {
        if let Ok(b) = self.badge.lock()
            && let Some((at, url)) = b.as_ref()
            && at.elapsed() < BADGE_TTL
        {
            return url.clone();
        }
        let url = match self
            .codebuild
            .batch_get_projects()
            .names(&self.config.project)
            .send()
            .await
        {
            Ok(out) => out
                .projects
                .unwrap_or_default()
                .into_iter()
                .find_map(|p| p.badge)
                .filter(|b| b.badge_enabled)
                .and_then(|b| b.badge_request_url)
                .filter(|u| markdown::safe_url(u)),
            Err(e) => {
                warn!(error = %Error::aws("BatchGetProjects", e), "badge setting unknown; comment without badge");
                return None;
            }
        };
        if let Ok(mut b) = self.badge.lock() {
            *b = Some((Instant::now(), url.clone()));
        }
        url
    }
}

/// The HTTPS clone URL of a CodeCommit repository, as a CodeBuild source location.
pub fn clone_url(region: &str, repository: &str) -> String {
    let host = if region.starts_with("cn-") {
        format!("git-codecommit.{region}.amazonaws.com.cn")
    } else {
        format!("git-codecommit.{region}.amazonaws.com")
    };
    format!("https://{host}/v1/repos/{repository}")
}

/// A one-line description of what the function does.
pub fn describe() -> Value {
    json!({"function": NAME, "handles": [
        "CodeCommit Pull Request State Change",
        "CodeBuild Build State Change"
    ]})
}

#[cfg(test)]
#[path = "lib_test.rs"]
mod tests;
