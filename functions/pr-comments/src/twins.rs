//! In-memory twins of the two ports, for the orchestration's unit tests: they keep the
//! state CodeCommit and CodeBuild would keep (pull requests, comments with their authors,
//! approvals per revision, builds with their variables), honour idempotency tokens the way
//! the services do, record every call, and can be told to fail an operation.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use codehooks::prbuild::BuildLink;
use codehooks::{Error, Result};

use crate::paging::{self, Page};
use crate::ports::{
    Approval, ApprovalSet, Build, BuildRunner, Comment, Posted, PullRequestHost, PullRequestNow,
    StartBuild, Updated,
};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// An injected failure: an AWS error with `code` for operation `op`.
fn failure(fail: &HashMap<&'static str, String>, op: &'static str) -> Result<()> {
    match fail.get(op) {
        Some(code) => Err(Error::Aws {
            operation: op,
            code: code.clone(),
            message: "injected by the twin".to_owned(),
            retryable: false,
        }),
        None => Ok(()),
    }
}

/// A comment as the host twin keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostComment {
    pub id: String,
    pub pull_request_id: String,
    pub repository: String,
    pub before: String,
    pub after: String,
    pub content: String,
    pub author_arn: String,
    pub deleted: bool,
}

/// The state of [`HostTwin`].
#[derive(Debug, Default)]
pub struct HostState {
    pub pull_requests: HashMap<String, PullRequestNow>,
    pub comments: Vec<HostComment>,
    /// Comment tokens and the content first posted with them.
    pub tokens: HashMap<String, String>,
    /// Approval state per (pull request, revision).
    pub approvals: HashMap<(String, String), Approval>,
    /// Pull requests the function opened (it may not approve them).
    pub authored: Vec<String>,
    /// Every call, as `Operation(argument)`.
    pub calls: Vec<String>,
    /// Operations told to fail, with the error code.
    pub fail: HashMap<&'static str, String>,
    /// Comments a page (`GetCommentsForPullRequest`); 0 means 100.
    pub page_size: usize,
    /// Every page is empty and carries a fresh next token (a misbehaving service).
    pub endless_empty_pages: bool,
}

/// The in-memory twin of [`PullRequestHost`]; the function comments as `me`.
#[derive(Debug)]
pub struct HostTwin {
    pub me: String,
    pub state: Mutex<HostState>,
}

impl HostTwin {
    pub fn new(me: &str) -> Self {
        Self {
            me: me.to_owned(),
            state: Mutex::new(HostState::default()),
        }
    }

    pub fn state(&self) -> MutexGuard<'_, HostState> {
        lock(&self.state)
    }

    /// Adds or replaces pull request `id`.
    pub fn put_pull_request(&self, id: &str, pr: PullRequestNow) {
        self.state().pull_requests.insert(id.to_owned(), pr);
    }

    /// Adds a comment by `author_arn` on the link's commits.
    pub fn put_comment(&self, link: &BuildLink, author_arn: &str, content: &str) -> String {
        let mut s = self.state();
        let id = format!("c-{}", s.comments.len() + 1);
        s.comments.push(HostComment {
            id: id.clone(),
            pull_request_id: link.pull_request_id.clone(),
            repository: link.repository.clone(),
            before: link.destination_commit.clone(),
            after: link.source_commit.clone(),
            content: content.to_owned(),
            author_arn: author_arn.to_owned(),
            deleted: false,
        });
        id
    }

    /// Makes `op` (`PostCommentForPullRequest`, ...) fail with `code`.
    pub fn fail(&self, op: &'static str, code: &str) {
        self.state().fail.insert(op, code.to_owned());
    }

    /// The calls of operation `op`.
    pub fn calls_of(&self, op: &str) -> usize {
        let prefix = format!("{op}(");
        self.state()
            .calls
            .iter()
            .filter(|c| c.starts_with(&prefix))
            .count()
    }

    fn call(&self, op: &'static str, arg: &str) -> Result<MutexGuard<'_, HostState>> {
        let mut s = self.state();
        s.calls.push(format!("{op}({arg})"));
        failure(&s.fail, op)?;
        Ok(s)
    }
}

impl PullRequestHost for HostTwin {
    async fn pull_request(&self, id: &str) -> Result<Option<PullRequestNow>> {
        let s = self.call("GetPullRequest", id)?;
        Ok(s.pull_requests.get(id).cloned())
    }

    async fn comments(&self, link: &BuildLink, exact: bool) -> Result<Vec<Comment>> {
        let matching: Vec<Comment> = self
            .state()
            .comments
            .iter()
            .filter(|c| !c.deleted && c.pull_request_id == link.pull_request_id)
            .filter(|c| {
                !exact
                    || (c.repository == link.repository
                        && c.before == link.destination_commit
                        && c.after == link.source_commit)
            })
            .map(|c| Comment {
                id: c.id.clone(),
                content: c.content.clone(),
                author_arn: Some(c.author_arn.clone()),
            })
            .collect();
        paging::collect(
            "GetCommentsForPullRequest",
            paging::MAX_COMMENT_PAGES,
            usize::MAX,
            |token| {
                let page = self
                    .call("GetCommentsForPullRequest", &link.pull_request_id)
                    .map(|s| page_of(&matching, token, s.page_size, s.endless_empty_pages));
                async move { page }
            },
        )
        .await
    }

    async fn post_comment(&self, link: &BuildLink, content: &str, token: &str) -> Result<Posted> {
        let mut s = self.call("PostCommentForPullRequest", &link.pull_request_id)?;
        match s.tokens.get(token) {
            Some(first) if first == content => {
                return Ok(Posted::Posted {
                    author_arn: Some(self.me.clone()),
                });
            }
            Some(_) => return Ok(Posted::TokenReused),
            None => {}
        }
        match s.pull_requests.get(&link.pull_request_id) {
            None => return Ok(Posted::PullRequestMissing),
            Some(pr) if !pr.open => return Ok(Posted::PullRequestClosed),
            Some(_) => {}
        }
        s.tokens.insert(token.to_owned(), content.to_owned());
        let id = format!("c-{}", s.comments.len() + 1);
        s.comments.push(HostComment {
            id,
            pull_request_id: link.pull_request_id.clone(),
            repository: link.repository.clone(),
            before: link.destination_commit.clone(),
            after: link.source_commit.clone(),
            content: content.to_owned(),
            author_arn: self.me.clone(),
            deleted: false,
        });
        Ok(Posted::Posted {
            author_arn: Some(self.me.clone()),
        })
    }

    async fn comment(&self, id: &str) -> Result<Option<Comment>> {
        let s = self.call("GetComment", id)?;
        Ok(s.comments
            .iter()
            .find(|c| c.id == id && !c.deleted)
            .map(|c| Comment {
                id: c.id.clone(),
                content: c.content.clone(),
                author_arn: Some(c.author_arn.clone()),
            }))
    }

    async fn update_comment(&self, id: &str, content: &str) -> Result<Updated> {
        let mut s = self.call("UpdateComment", id)?;
        match s.comments.iter_mut().find(|c| c.id == id) {
            Some(c) if !c.deleted && c.author_arn == self.me => {
                c.content = content.to_owned();
                Ok(Updated::Updated {
                    author_arn: Some(self.me.clone()),
                })
            }
            _ => Ok(Updated::NotEditable),
        }
    }

    async fn set_approval(
        &self,
        pull_request_id: &str,
        revision_id: &str,
        approval: Approval,
    ) -> Result<ApprovalSet> {
        let arg = format!("{pull_request_id},{revision_id},{}", approval.as_str());
        let mut s = self.call("UpdatePullRequestApprovalState", &arg)?;
        let Some(pr) = s.pull_requests.get(pull_request_id) else {
            return Ok(ApprovalSet::PullRequestMissing);
        };
        if !pr.open {
            return Ok(ApprovalSet::PullRequestClosed);
        }
        if pr.revision_id != revision_id {
            return Ok(ApprovalSet::RevisionNotCurrent);
        }
        if s.authored.iter().any(|a| a == pull_request_id) {
            return Ok(ApprovalSet::FunctionIsAuthor);
        }
        s.approvals.insert(
            (pull_request_id.to_owned(), revision_id.to_owned()),
            approval,
        );
        Ok(ApprovalSet::Set)
    }
}

/// A build as the runner twin keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerBuild {
    pub arn: String,
    pub id: String,
    pub project: String,
    pub number: u64,
    pub status: String,
    pub source_location: String,
    pub source_version: String,
    pub variables: Vec<(String, String)>,
}

/// The state of [`RunnerTwin`].
#[derive(Debug, Default)]
pub struct RunnerState {
    /// Oldest first.
    pub builds: Vec<RunnerBuild>,
    /// Start tokens and the build they started.
    pub tokens: HashMap<String, String>,
    pub badge: Option<String>,
    pub calls: Vec<String>,
    pub fail: HashMap<&'static str, String>,
    /// Build ids a page (`ListBuildsForProject`); 0 means 100.
    pub page_size: usize,
    /// Every page is empty and carries a fresh next token (a misbehaving service).
    pub endless_empty_pages: bool,
}

/// The in-memory twin of [`BuildRunner`]; builds get ARNs in `region` and `account`.
#[derive(Debug)]
pub struct RunnerTwin {
    pub region: String,
    pub account: String,
    pub state: Mutex<RunnerState>,
}

impl RunnerTwin {
    pub fn new(region: &str, account: &str) -> Self {
        Self {
            region: region.to_owned(),
            account: account.to_owned(),
            state: Mutex::new(RunnerState::default()),
        }
    }

    pub fn state(&self) -> MutexGuard<'_, RunnerState> {
        lock(&self.state)
    }

    /// Makes `op` (`StartBuild`, `StopBuild`, ...) fail with `code`.
    pub fn fail(&self, op: &'static str, code: &str) {
        self.state().fail.insert(op, code.to_owned());
    }

    /// Sets the status of build `id` (`<project>:<uuid>`), as CodeBuild would when it ends.
    pub fn set_status(&self, id: &str, status: &str) {
        if let Some(b) = self.state().builds.iter_mut().find(|b| b.id == id) {
            b.status = status.to_owned();
        }
    }

    /// The calls of operation `op`.
    pub fn calls_of(&self, op: &str) -> usize {
        let prefix = format!("{op}(");
        self.state()
            .calls
            .iter()
            .filter(|c| c.starts_with(&prefix))
            .count()
    }

    fn call(&self, op: &'static str, arg: &str) -> Result<MutexGuard<'_, RunnerState>> {
        let mut s = self.state();
        s.calls.push(format!("{op}({arg})"));
        failure(&s.fail, op)?;
        Ok(s)
    }
}

/// The page of `all` that `token` (an offset, `o-<n>`) points at, as a service would hand it
/// out: `size` items (0 means 100), or, when `endless_empty`, no item and a fresh token.
fn page_of<T: Clone>(
    all: &[T],
    token: Option<String>,
    size: usize,
    endless_empty: bool,
) -> Page<T> {
    let start: usize = token
        .as_deref()
        .and_then(|t| t.strip_prefix("o-"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if endless_empty {
        return Page {
            items: Vec::new(),
            next: Some(format!("o-{}", start + 1)),
        };
    }
    let size = if size == 0 { 100 } else { size };
    let end = (start + size).min(all.len());
    Page {
        items: all.get(start..end).map(<[T]>::to_vec).unwrap_or_default(),
        next: (end < all.len()).then(|| format!("o-{end}")),
    }
}

fn view(b: &RunnerBuild) -> Build {
    Build {
        arn: Some(b.arn.clone()),
        id: Some(b.id.clone()),
        number: Some(b.number),
        status: Some(b.status.clone()),
        variables: b.variables.clone(),
    }
}

impl BuildRunner for RunnerTwin {
    async fn start(&self, build: &StartBuild) -> Result<Build> {
        let mut s = self.call("StartBuild", &build.source_version)?;
        if let Some(id) = s.tokens.get(&build.token)
            && let Some(b) = s.builds.iter().find(|b| &b.id == id)
        {
            return Ok(view(b));
        }
        let number = s.builds.len() as u64 + 1;
        let id = format!("{}:00000000-0000-0000-0000-{number:012}", build.project);
        let arn = codehooks::arn::Arn::new(
            &self.region,
            "codebuild",
            &self.account,
            &format!("build/{id}"),
        )
        .to_string();
        let b = RunnerBuild {
            arn,
            id: id.clone(),
            project: build.project.clone(),
            number,
            status: "IN_PROGRESS".to_owned(),
            source_location: build.source_location.clone(),
            source_version: build.source_version.clone(),
            variables: build
                .variables
                .iter()
                .map(|(n, v)| ((*n).to_owned(), v.clone()))
                .collect(),
        };
        s.tokens.insert(build.token.clone(), id);
        let out = view(&b);
        s.builds.push(b);
        Ok(out)
    }

    async fn stop(&self, id: &str) -> Result<bool> {
        let mut s = self.call("StopBuild", id)?;
        match s.builds.iter_mut().find(|b| b.id == id) {
            Some(b) if b.status == "IN_PROGRESS" => {
                b.status = "STOPPED".to_owned();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn recent(&self, project: &str, max: usize) -> Result<Vec<String>> {
        let ids: Vec<String> = self
            .state()
            .builds
            .iter()
            .rev()
            .filter(|b| b.project == project)
            .map(|b| b.id.clone())
            .collect();
        let pages = paging::pages_for(max, paging::BUILDS_PER_PAGE);
        paging::collect("ListBuildsForProject", pages, max, |token| {
            let page = self
                .call("ListBuildsForProject", project)
                .map(|s| page_of(&ids, token, s.page_size, s.endless_empty_pages));
            async move { page }
        })
        .await
    }

    async fn batch_get(&self, ids: &[String]) -> Result<Vec<Build>> {
        let s = self.call("BatchGetBuilds", &ids.join(","))?;
        Ok(ids
            .iter()
            .filter_map(|id| s.builds.iter().find(|b| &b.id == id))
            .map(view)
            .collect())
    }

    async fn badge_url(&self, project: &str) -> Result<Option<String>> {
        let s = self.call("BatchGetProjects", project)?;
        Ok(s.badge.clone())
    }
}
