//! What the unit tests of pr-comments share: the people and commits of their pull request
//! (number 7 of repository `app`), and comments on it.

use codehooks::prbuild::BuildLink;
use serde_json::{Value, json};

use crate::twins::HostTwin;

/// The function's own identity (its role session).
pub const ME: &str = "arn:aws:sts::123456789012:assumed-role/pr-role/pr-comments";
/// Who opened the pull request.
pub const AUTHOR: &str = "arn:aws:sts::123456789012:assumed-role/Developer/alice";
/// Somebody with no say over the pull request.
pub const STRANGER: &str = "arn:aws:iam::123456789012:user/mallory";
/// A role allowed to ask for re-runs when the test lists it.
pub const RELEASE: &str = "arn:aws:sts::123456789012:assumed-role/release/ci";
/// The pull request's first source commit.
pub const A: &str = "4c3a9e0f1b2d5c6e7f8091a2b3c4d5e6f7a8b9c0";
/// A later source commit.
pub const B: &str = "9d8c7b6a5f4e3d2c1b0a99887766554433221100";
/// The destination branch's commit.
pub const DEST: &str = "1f2e3d4c5b6a79880716253443526170f8e9dacb";

/// The comment event CodeCommit sends for comment `id` on pull request 7 (the sample event).
pub fn comment_event(id: &str) -> Value {
    let mut e: Value = serde_json::from_str(include_str!(
        "../../../events/pr-comments-comment-on-pull-request.json"
    ))
    .expect("the sample comment event");
    e["detail"]["commentId"] = json!(id);
    e["detail"]["pullRequestId"] = json!("7");
    e["detail"]["repositoryName"] = json!("app");
    e
}

/// A comment by `author` on pull request 7 at its first revision; its id.
pub fn say(host: &HostTwin, author: &str, text: &str) -> String {
    let link = BuildLink {
        pull_request_id: "7".into(),
        repository: "app".into(),
        source_commit: A.into(),
        destination_commit: DEST.into(),
        revision_id: "rev-1".into(),
        source_reference: None,
        destination_reference: None,
    };
    host.put_comment(&link, author, text)
}
