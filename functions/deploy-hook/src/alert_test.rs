//! Unit tests of `alert.rs`: the rollback alert as the shared model renders it.

use super::*;
use crate::config::{Config, config_from_pairs};
use crate::payload::HookPayload;
use crate::probe::{CheckResult, PathReport};

fn failed(group: &str) -> Evidence {
    let mut ev = Evidence::new(&HookPayload {
        deployment_id: "d-ATTRS0001".into(),
        hook_execution_id: "x".into(),
    });
    ev.application = Some("shop".into());
    ev.deployment_group = Some(group.into());
    ev.hook = Some("AfterAllowTestTraffic".into());
    ev.region = Some("eu-west-1".into());
    ev.account = Some("123456789012".into());
    ev.checks
        .push(CheckResult::new("successRate", false, Some("/"), "1 of 10"));
    ev.probes.push(PathReport {
        url: "http://lb/".into(),
        samples: vec!["HTTP 500".into(), "x".repeat(70_000)],
        ..PathReport::default()
    });
    ev.conclude(&config_from_pairs([]).unwrap());
    ev.reported = "reported".into();
    ev
}

fn attrs(ev: &Evidence) -> Vec<(String, String)> {
    alert(ev).attributes()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn a_200_character_deployment_group_yields_a_subject_under_100_characters() {
    let group = "g".repeat(200);
    let a = alert(&failed(&group));
    let subject = a.subject();
    assert!(subject.chars().count() < 100, "{subject}");
    assert!(subject.is_ascii(), "{subject}");
    assert!(subject.contains("d-ATTRS0001"), "{subject}");
    let rendered = a.render();
    assert_eq!(rendered.subject, subject);
    assert!(rendered.message.len() <= codehooks::alert::MESSAGE_LIMIT);
}

#[test]
fn attributes_match_build_alerts_and_keep_the_hooks_own() {
    let ev = failed("shop-prod");
    assert_eq!(
        attrs(&ev),
        pairs(&[
            ("source", "deploy-hook"),
            ("name", "shop/shop-prod"),
            ("state", "Failed"),
            ("severity", "error"),
            ("region", "eu-west-1"),
            ("account", "123456789012"),
            ("alertId", "d-ATTRS0001/x"),
            ("decision", "Failed"),
            ("deploymentId", "d-ATTRS0001"),
            ("hook", "AfterAllowTestTraffic"),
        ])
    );
    // SNS takes at most 10 attributes per message.
    assert!(attrs(&ev).len() <= 10);

    let mut dry = ev.clone();
    dry.conclude(&Config {
        dry_run: true,
        ..config_from_pairs([]).unwrap()
    });
    let a = attrs(&dry);
    assert!(
        a.contains(&("state".into(), "DryRunFailed".into())),
        "{a:?}"
    );
    assert!(a.contains(&("severity".into(), "warning".into())), "{a:?}");
    assert!(
        a.contains(&("decision".into(), "Succeeded".into())),
        "{a:?}"
    );
    assert!(alert(&dry).subject().starts_with("[dry run]"));

    // Unknown application, group and account: `-`, as build-alerts writes them; nothing empty.
    let mut open = Evidence::new(&HookPayload {
        deployment_id: "d-ATTRS0002".into(),
        hook_execution_id: "x".into(),
    });
    open.could_not("discovery", "GetDeployment failed");
    open.conclude(&Config {
        fail_open: true,
        ..config_from_pairs([]).unwrap()
    });
    let a = attrs(&open);
    assert!(
        a.contains(&("state".into(), "FailOpenSucceeded".into())),
        "{a:?}"
    );
    assert!(a.contains(&("name".into(), "-".into())), "{a:?}");
    assert!(a.contains(&("account".into(), "-".into())), "{a:?}");
    assert!(a.iter().all(|(_, v)| !v.is_empty()));
}

#[test]
fn the_alert_reads_like_a_failed_builds() {
    let a = alert(&failed("shop-prod"));
    assert_eq!(a.severity, Severity::Error);
    assert_eq!(a.reasons, ["successRate /: 1 of 10"]);
    let facts: Vec<&str> = a.facts.iter().map(|(k, _)| k.as_str()).collect();
    for k in ["Application", "Deployment group", "Deployment", "Hook"] {
        assert!(facts.contains(&k), "{facts:?}");
    }
    assert_eq!(
        a.links,
        [(
            "Deployment".to_owned(),
            "https://eu-west-1.console.aws.amazon.com/codesuite/codedeploy/deployments/d-ATTRS0001?region=eu-west-1"
                .to_owned()
        )]
    );
    assert_eq!(
        a.resources,
        ["arn:aws:codedeploy:eu-west-1:123456789012:deploymentgroup:shop/shop-prod"]
    );
    // The probe samples are bounded.
    let samples = &a.sections[0].1;
    assert!(samples.contains("HTTP 500"));
    assert!(samples.len() < 1_000, "{}", samples.len());
    let text = a.render().text;
    assert!(text.contains("Why\n  - successRate /: 1 of 10"), "{text}");
    assert!(
        text.contains("codedeploy/deployments/d-ATTRS0001"),
        "{text}"
    );
}

#[test]
fn links_follow_the_partition() {
    let mut ev = failed("g");
    ev.region = Some("cn-north-1".into());
    let a = alert(&ev);
    assert!(
        a.links[0].1.starts_with("https://console.amazonaws.cn/"),
        "{:?}",
        a.links
    );
    assert!(
        a.resources[0].starts_with("arn:aws-cn:codedeploy:cn-north-1:"),
        "{:?}",
        a.resources
    );
}

#[test]
fn timestamps_are_utc() {
    let t = utc_now();
    assert_eq!(t.len(), 20, "{t}");
    assert!(t.starts_with("20") && t.ends_with('Z'), "{t}");
}
