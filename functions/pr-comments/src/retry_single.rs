//! Re-runs in a repository validated by a single project (`CODEHOOKS_PR_BUILD_PROJECT`, one
//! comment per build): `/codehooks retry` (or `/codehooks retry <project>`) starts a new build
//! of the project for the pull request's current revision, even when one ran for it already.
//! The function's comment of that revision is pointed at the new build (so the earlier
//! build's late result is no longer the function's, see [`App::provenance`]), shows
//! "validation started" again with who asked, and records the asking comment's id, which is
//! also in the build's start token: a redelivered comment event starts nothing.

use codehooks::events::EventBridgeEvent;
use codehooks::prbuild::BuildLink;
use codehooks::{Result, idempotency};
use tracing::info;

use crate::app::{App, subject};
use crate::markdown::{FOOTER, RETRIES, RETRIES_ROOM, Record, Subject, escape};
use crate::outcome::{CommentResult, Outcome, Retried};
use crate::ports::{Approval, BuildRunner, PullRequestHost, Updated};
use crate::retry::{Command, ignored, retry_token};

/// The function's comment about a build of the current revision.
#[derive(Debug, Clone)]
pub(crate) struct SingleLiving {
    pub id: String,
    pub content: String,
    pub record: Record,
}

impl<H: PullRequestHost, B: BuildRunner> App<H, B> {
    /// The function's newest comment recording a build of the link's source commit (on the
    /// link's commit pair first, then anywhere on the pull request); `None` when there is
    /// none or the function's principal is not known.
    pub(crate) async fn single_living(&self, link: &BuildLink) -> Result<Option<SingleLiving>> {
        let Some(author) = self.author.lock().ok().and_then(|a| a.clone()) else {
            return Ok(None);
        };
        for exact in [true, false] {
            let newest = self
                .host
                .comments(link, exact)
                .await?
                .into_iter()
                .filter(|c| c.author_arn.as_deref().is_some_and(|a| author.matches(a)))
                .filter_map(|c| {
                    let record = crate::markdown::record_of(&c.content)?;
                    (record.commit == link.source_commit).then_some(SingleLiving {
                        id: c.id,
                        content: c.content,
                        record,
                    })
                })
                .next_back();
            if newest.is_some() {
                return Ok(newest);
            }
        }
        Ok(None)
    }

    /// A re-run asked for by `asker` in comment `comment_id`, already found to be a command
    /// from someone allowed on the open pull request of `link` (its current revision).
    pub(crate) async fn retry_single(
        &self,
        ev: &EventBridgeEvent,
        comment_id: &str,
        cmd: &Command,
        asker: &str,
        link: &BuildLink,
    ) -> Result<Outcome> {
        let pr_id = link.pull_request_id.as_str();
        let project = self.config.project_for(&link.repository);
        if let Command::Check(name) = cmd
            && *name != project
        {
            return Ok(ignored(
                "no check of that name (the repository's build project has another)",
                Some(pr_id),
            ));
        }
        let Some(living) = self.single_living(link).await? else {
            return Ok(ignored(
                "the current revision has no validation of pr-comments to re-run",
                Some(pr_id),
            ));
        };
        let mut retries = retries_of(&living.content);
        if retries.iter().any(|r| r == comment_id) {
            info!(
                comment = comment_id,
                "re-run of this comment was done already"
            );
            return Ok(ignored(
                "this comment's re-run was started already",
                Some(pr_id),
            ));
        }
        let token = retry_token(link, &project, comment_id);
        let (build, number, _) = self
            .start_project_build(&ev.region, &ev.account, link, &project, token)
            .await?;
        let approval = if self.config.approval {
            Some(self.set_approval(link, Approval::Revoke).await?)
        } else {
            None
        };
        retries.push(comment_id.to_owned());
        let content = with_retries(&restarted(&subject(&build, number, link), asker), &retries);
        let comment = match self.host.update_comment(&living.id, &content).await? {
            Updated::Updated { .. } => CommentResult::Updated,
            Updated::NotEditable => {
                // Deleted meanwhile: the re-run gets a comment of its own.
                let token = idempotency::key(
                    "pr-comments/retry-comment",
                    &[&link.repository, pr_id, &link.source_commit, comment_id],
                );
                self.post_comment_with(link, &content, &token).await?
            }
        };
        info!(pull_request = pr_id, comment = comment_id, build = %build.id, replaced = %living.record.build_id,
            "re-run started");
        Ok(Outcome::Retried(Retried {
            pull_request_id: pr_id.to_owned(),
            comment_id: comment_id.to_owned(),
            source_commit: link.source_commit.clone(),
            builds: vec![build.id.clone()],
            comment,
            approval,
            checks: Vec::new(),
        }))
    }
}

/// The comment posted again when a re-run of the revision starts, asked for by `who` (a
/// principal ARN; its name is shown).
pub fn restarted(s: &Subject<'_>, who: &str) -> String {
    let started = crate::markdown::started(s);
    started.replacen(
        "**Validation started**",
        &format!(
            "**Validation started** (re-run requested by {})",
            escape(&principal_name(who), 100)
        ),
        1,
    )
}

/// The name part of a principal ARN (`Developer/alice` of an assumed role, `bob` of a user).
fn principal_name(arn: &str) -> String {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or(arn);
    ["assumed-role/", "user/", "role/"]
        .iter()
        .find_map(|p| resource.strip_prefix(p))
        .unwrap_or(resource)
        .to_owned()
}

/// The re-run comments acted on that a comment's footer records.
pub fn retries_of(content: &str) -> Vec<String> {
    let Some(at) = content.rfind(FOOTER) else {
        return Vec::new();
    };
    let footer = &content[at..];
    let Some(start) = footer.rfind(RETRIES) else {
        return Vec::new();
    };
    let rest = &footer[start + RETRIES.len()..];
    match rest.split_once('`') {
        Some((ids, "_")) => ids
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// `content` with its footer recording the re-run comments `retries` (the newest that fit in
/// [`RETRIES_ROOM`]) instead of the ones it records; unchanged when it has no footer.
pub fn with_retries(content: &str, retries: &[String]) -> String {
    let Some(at) = content.rfind(FOOTER) else {
        return content.to_owned();
    };
    let footer = &content[at..];
    let Some(core_end) = footer
        .rfind(RETRIES)
        .or_else(|| footer.strip_suffix('_').map(str::len))
    else {
        return content.to_owned();
    };
    let mut kept: Vec<&str> = Vec::new();
    let mut used = RETRIES.len() + 2;
    for id in retries.iter().rev() {
        if kept.contains(&id.as_str()) {
            continue;
        }
        used += id.len() + 1;
        if used > RETRIES_ROOM {
            break;
        }
        kept.insert(0, id);
    }
    let mut out = content[..at + core_end].to_owned();
    if !kept.is_empty() {
        out.push_str(&format!("{RETRIES}{}`", kept.join(",")));
    }
    out.push('_');
    out
}

#[cfg(test)]
#[path = "retry_single_test.rs"]
mod tests;
