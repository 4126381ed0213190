//! Unit tests of `approval.rs`.

use std::collections::HashMap;

use super::*;
use crate::event::{Parsed, parse};

fn approval_event() -> (Origin, PipelineDetail) {
    let v: serde_json::Value = serde_json::from_str(include_str!(
        "../../../events/build-alerts-codepipeline-approval-started.json"
    ))
    .unwrap();
    match parse(v).unwrap() {
        (o, Parsed::Action(d)) => (o, d),
        other => panic!("{other:?}"),
    }
}

#[test]
fn only_approvals_that_start_wait() {
    let (_, mut d) = approval_event();
    assert!(is_waiting(&d));
    d.state = "SUCCEEDED".into();
    assert!(!is_waiting(&d));
    d.state = "STARTED".into();
    d.action_type.as_mut().unwrap().category = Some("Build".into());
    assert!(!is_waiting(&d));
}

#[test]
fn the_notice_says_what_where_and_who() {
    let (run, d) = approval_event();
    let c: HashMap<String, String> = [
        ("CustomData", "Check the canary dashboard before approving."),
        (
            "ExternalEntityLink",
            "https://wiki.example.com/releases/2026-11-23",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let approvers = vec!["arn:aws:iam::123456789012:role/release-managers".to_owned()];
    let a = notice(&d, &run, Some(&c), None, &approvers);
    assert_eq!(
        a.subject(),
        "WAITING approval shop-release Production/ApproveRelease in eu-west-1"
    );
    assert_eq!(a.severity.as_str(), "info");
    assert_eq!(
        a.reasons,
        vec!["Check the canary dashboard before approving."]
    );
    assert!(a.facts.contains(&(
        "Who may approve".into(),
        "arn:aws:iam::123456789012:role/release-managers".into()
    )));
    assert_eq!(
        a.links[0],
        (
            "Approve or reject".into(),
            "https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/shop-release/view?region=eu-west-1".into()
        )
    );
    assert_eq!(
        a.links[1],
        (
            "Review".into(),
            "https://wiki.example.com/releases/2026-11-23".into()
        )
    );
    assert_eq!(
        a.thread_id,
        "codepipeline/shop-release/7b2e4c6a-1d3f-4a5b-9c8d-0e1f2a3b4c5d"
    );
}

#[test]
fn without_approvers_or_configuration_the_notice_still_helps() {
    let (run, d) = approval_event();
    let a = notice(&d, &run, None, Some("AccessDeniedException: no"), &[]);
    assert!(a.facts.contains(&(
        "Who may approve".into(),
        "anyone allowed codepipeline:PutApprovalResult on this pipeline".into()
    )));
    assert!(a.reasons[0].contains("could not be read: AccessDeniedException"));
    // A review link that is not https is shown as text, never as a link.
    let c: HashMap<String, String> = [(
        "ExternalEntityLink".to_owned(),
        "javascript:alert(1)".to_owned(),
    )]
    .into();
    let a = notice(&d, &run, Some(&c), None, &[]);
    assert!(!a.links.iter().any(|(k, _)| k == "Review"));
    assert!(a.facts.iter().any(|(k, _)| k == "Review"));
}
