//! Unit tests of `events.rs`.

use super::*;
use serde_json::json;

fn pr(event: &str, status: &str, merged: &str) -> PullRequestDetail {
    serde_json::from_value(json!({
        "event": event, "pullRequestId": "1", "pullRequestStatus": status, "isMerged": merged,
        "repositoryNames": ["MyDemoRepo"], "sourceCommit": "2774290e0fbdf5f2b4a2ce52ff6ea8b2f0b0e8f1"
    }))
    .unwrap()
}

#[test]
fn pull_request_events_map_to_actions() {
    assert_eq!(
        pr("pullRequestCreated", "Open", "False").action(),
        PullRequestAction::Validate
    );
    assert_eq!(
        pr("pullRequestSourceBranchUpdated", "Open", "False").action(),
        PullRequestAction::Validate
    );
    assert_eq!(
        pr("pullRequestStatusChanged", "Closed", "False").action(),
        PullRequestAction::Closed
    );
    assert_eq!(
        pr("pullRequestStatusChanged", "Open", "False").action(),
        PullRequestAction::Validate
    );
    assert_eq!(
        pr("pullRequestMergeStatusUpdated", "Closed", "True").action(),
        PullRequestAction::Closed
    );
    assert_eq!(
        pr("pullRequestApprovalStateChanged", "Open", "False").action(),
        PullRequestAction::Ignore
    );
    assert_eq!(
        pr("pullRequestCreated", "Closed", "False").action(),
        PullRequestAction::Ignore
    );
}

#[test]
fn checks_pull_request_fields() {
    let d = pr("pullRequestCreated", "Open", "False");
    assert_eq!(d.pull_request_id().unwrap(), "1");
    assert_eq!(d.repository(&[]).unwrap(), "MyDemoRepo");
    assert_eq!(
        d.source_commit().unwrap(),
        "2774290e0fbdf5f2b4a2ce52ff6ea8b2f0b0e8f1"
    );
    let mut bad = d.clone();
    bad.pull_request_id = Some("1; drop".into());
    assert_eq!(bad.pull_request_id().unwrap_err().kind(), "BadInput");
    bad.repository_names = vec!["bad name`".into()];
    assert_eq!(bad.repository(&[]).unwrap_err().kind(), "BadInput");
    bad.repository_names = vec![];
    assert_eq!(
        bad.repository(&["arn:aws:codecommit:us-east-2:123456789012:FromArn".into()])
            .unwrap(),
        "FromArn"
    );
    bad.source_commit = Some("abc def".into());
    assert_eq!(bad.source_commit().unwrap_err().kind(), "BadInput");
}
