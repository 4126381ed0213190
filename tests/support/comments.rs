//! Pull request comments as developers write them: posted through the real CodeCommit API,
//! and the `CodeCommit Comment on Pull Request` event EventBridge would deliver for them.

use serde_json::{Value, json};

use crate::event;

/// Where a comment goes: the pull request, its repository and the compared commits.
pub struct On<'a> {
    pub pull_request_id: &'a str,
    pub repository: &'a str,
    pub before_commit: &'a str,
    pub after_commit: &'a str,
}

/// Posts `text` on the pull request as `client`, and returns the comment event CodeCommit
/// sends for it (the sample event with this comment's id, pull request, commit and author).
pub async fn say(client: &aws_sdk_codecommit::Client, on: &On<'_>, text: &str) -> Value {
    let c = client
        .post_comment_for_pull_request()
        .pull_request_id(on.pull_request_id)
        .repository_name(on.repository)
        .before_commit_id(on.before_commit)
        .after_commit_id(on.after_commit)
        .content(text)
        .send()
        .await
        .expect("PostCommentForPullRequest")
        .comment
        .expect("the posted comment");
    let mut e = event("pr-comments-comment-on-pull-request.json");
    e["detail"]["commentId"] = json!(c.comment_id.unwrap_or_default());
    e["detail"]["pullRequestId"] = json!(on.pull_request_id);
    e["detail"]["repositoryName"] = json!(on.repository);
    e["detail"]["beforeCommitId"] = json!(on.before_commit);
    e["detail"]["afterCommitId"] = json!(on.after_commit);
    e["detail"]["callerUserArn"] = json!(c.author_arn.unwrap_or_default());
    e
}
