//! Unit tests of `render.rs`.

use super::*;
use crate::alert::{Alert, Severity};

pub fn sample() -> Alert {
    Alert {
            source: "codebuild".into(),
            what: "build".into(),
            name: "my-app".into(),
            state: "FAILED".into(),
            severity: Severity::Error,
            region: "eu-west-1".into(),
            account: "123456789012".into(),
            reference: "#142 (main@abc1234)".into(),
            headline: "Build my-app #142 FAILED in phase BUILD after 3 min 12 s.".into(),
            reasons: vec!["COMMAND_EXECUTION_ERROR: Error while executing command: npm test. Reason: exit status 1".into()],
            facts: vec![("Project".into(), "my-app".into()), ("Started by".into(), "codepipeline/web".into())],
            sections: vec![("Phases".into(), "BUILD FAILED 95 s".into())],
            links: vec![("Build".into(), "https://eu-west-1.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/my-app/build/my-app%3Ax/?region=eu-west-1".into())],
            next_steps: vec!["Read the build log.".into()],
            thread_id: "codepipeline/web/exec-1".into(),
            resources: vec!["arn:aws:codebuild:eu-west-1:123456789012:build/my-app:x".into()],
            event_type: "CodeBuildBuildFailed".into(),
            event_id: "evt-1".into(),
            time: "2026-11-23T01:00:00Z".into(),
            sender: "codehooks build-alerts".into(),
            ..Alert::default()
        }
}

#[test]
fn subject_says_what_failed_where() {
    assert_eq!(
        sample().subject(),
        "FAILED build my-app #142 (main@abc1234) in eu-west-1"
    );
}

#[test]
fn subject_keeps_state_and_region_for_huge_names() {
    let mut a = sample();
    a.name = "n".repeat(5000);
    a.reference = "#1 (".to_owned() + &"r".repeat(5000) + ")";
    let s = a.subject();
    assert!(s.len() <= 99, "{}", s.len());
    assert!(s.starts_with("FAILED build nn"), "{s}");
    assert!(s.ends_with(" in eu-west-1"), "{s}");
    a.reference.clear();
    let s = a.subject();
    assert!(s.len() <= 99 && s.ends_with(" in eu-west-1"), "{s}");
}

#[test]
fn hostile_text_cannot_break_the_subject() {
    let mut a = sample();
    a.name = "evil\r\nBcc: x@example.com\u{0}\u{1b}[31m é 🚀".into();
    let s = a.subject();
    assert!(s.bytes().all(|b| (0x20..0x7f).contains(&b)), "{s:?}");
    assert!(!s.contains('\n'));
}

#[test]
fn text_reads_well() {
    let t = sample().text(16_000);
    assert!(
        t.starts_with("Build my-app #142 FAILED in phase BUILD"),
        "{t}"
    );
    assert!(t.contains("Why\n  - COMMAND_EXECUTION_ERROR"), "{t}");
    assert!(t.contains("  Started by:  codepipeline/web\n"), "{t}");
    assert!(t.contains("Links\n  Build: https://"), "{t}");
}

#[test]
fn chatbot_document_follows_the_custom_schema() {
    let c = sample().chatbot(16_000);
    assert_eq!(c["version"], "1.0");
    assert_eq!(c["source"], "custom");
    assert_eq!(c["content"]["textType"], "client-markdown");
    assert!(
        c["content"]["title"]
            .as_str()
            .unwrap()
            .contains("FAILED build my-app")
    );
    assert!(
        c["content"]["description"]
            .as_str()
            .unwrap()
            .contains("https://")
    );
    assert_eq!(c["metadata"]["threadId"], "codepipeline/web/exec-1");
    assert_eq!(c["metadata"]["additionalContext"]["severity"], "error");
}

#[test]
fn message_has_a_default_and_per_protocol_bodies() {
    let r = sample().render();
    let m: Value = serde_json::from_str(&r.message).unwrap();
    assert!(m["default"].as_str().unwrap().starts_with("Build my-app"));
    for p in JSON_PROTOCOLS {
        let doc: Value = serde_json::from_str(m[*p].as_str().unwrap()).unwrap();
        assert_eq!(doc["source"], "custom");
    }
    assert!(
        m.get("email").is_none(),
        "e-mail falls back to the plain-text default"
    );
}

#[test]
fn huge_and_hostile_fields_fit_and_links_survive() {
    let mut a = sample();
    let nasty = "\"\\\u{1}<>&".repeat(200_000);
    a.reasons = vec![nasty.clone(), nasty.clone()];
    a.sections = vec![("Phases".into(), nasty.clone())];
    a.facts.push(("Initiator".into(), nasty));
    let r = a.render();
    assert!(r.message.len() <= MESSAGE_LIMIT, "{}", r.message.len());
    assert!(r.text.contains(&a.links[0].1), "the link is whole");
    assert!(r.text.contains("more characters cut]"));
    let m: Value = serde_json::from_str(&r.message).unwrap();
    let doc: Value = serde_json::from_str(m["sqs"].as_str().unwrap()).unwrap();
    assert_eq!(
        doc["metadata"]["additionalContext"]["links"]["Build"],
        a.links[0].1
    );
}

#[test]
fn chat_descriptions_stay_short_and_keep_their_links() {
    let mut a = sample();
    a.reasons = (0..50)
        .map(|i| format!("reason {i} {}", "z".repeat(1400)))
        .collect();
    let c = a.chatbot(16_000);
    let d = c["content"]["description"].as_str().unwrap();
    assert!(d.chars().count() <= DESCRIPTION_MAX + 1, "{}", d.len());
    assert!(d.ends_with(&format!("*Build:* {}\n", a.links[0].1)), "{d}");
}

#[test]
fn attributes_are_never_empty() {
    let mut a = sample();
    a.name = "\n".into();
    let attrs = a.attributes();
    assert_eq!(attrs.len(), 6);
    assert!(attrs.iter().all(|(_, v)| !v.is_empty()));
    assert_eq!(attrs[1], ("name".to_owned(), "-".to_owned()));
}

#[test]
fn the_footer_names_the_sender() {
    let t = sample().text(16_000);
    assert!(
        t.ends_with("in account 123456789012 (eu-west-1). Sent by codehooks build-alerts.\n"),
        "{t}"
    );
    let mut a = sample();
    a.sender = "codehooks deploy-hook".into();
    assert!(a.text(100).contains("Sent by codehooks deploy-hook."));
}

/// A failed deployment's rollback evidence, as the deploy hook writes it.
fn rollback() -> Alert {
    Alert {
        source: "deploy-hook".into(),
        what: "lifecycle hook".into(),
        name: format!("shop/{}", "g".repeat(200)),
        state: "Failed".into(),
        severity: Severity::Error,
        region: "eu-west-1".into(),
        account: "123456789012".into(),
        reference: "d-ABCDEF123".into(),
        headline: "Deployment d-ABCDEF123 was rolled back: the health check failed.".into(),
        sections: (0..5)
            .map(|i| (format!("Sample {i}"), "x".repeat(64 * 1024)))
            .collect(),
        links: vec![(
            "Deployment".into(),
            "https://eu-west-1.console.aws.amazon.com/codesuite/codedeploy/deployments/d-ABCDEF123?region=eu-west-1".into(),
        )],
        sender: "codehooks deploy-hook".into(),
        extra_attributes: vec![
            ("decision".into(), "Failed".into()),
            ("deploymentId".into(), "d-ABCDEF123".into()),
            ("hook".into(), "".into()),
        ],
        ..Alert::default()
    }
}

#[test]
fn a_200_character_deployment_group_still_gives_an_sns_subject() {
    let r = rollback().render();
    assert!(r.subject.len() < 100, "{} {}", r.subject.len(), r.subject);
    assert!(
        r.subject.starts_with("Failed lifecycle hook shop/gg"),
        "{}",
        r.subject
    );
    assert!(r.subject.ends_with(" in eu-west-1"), "{}", r.subject);
    assert!(r.subject.bytes().all(|b| (0x20..0x7f).contains(&b)));
}

#[test]
fn five_64_kib_samples_fit_the_message_limit() {
    let r = rollback().render();
    assert!(r.message.len() <= MESSAGE_LIMIT, "{}", r.message.len());
    assert!(r.text.contains("more characters cut]"));
    assert!(r.text.contains("/deployments/d-ABCDEF123?region=eu-west-1"));
}

#[test]
fn one_rule_for_attributes_standard_and_extra() {
    let mut a = rollback();
    a.account.clear();
    let attrs = a.attributes();
    let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("source"), Some("deploy-hook"));
    assert_eq!(get("account"), Some("-"));
    assert_eq!(get("hook"), Some("-"));
    assert_eq!(get("deploymentId"), Some("d-ABCDEF123"));
    assert_eq!(attrs.len(), 9);
    // Never more than SNS accepts, never a name twice.
    a.extra_attributes = (0..20).map(|i| (format!("k{i}"), "v".into())).collect();
    a.extra_attributes
        .insert(0, ("source".into(), "other".into()));
    let attrs = a.attributes();
    assert_eq!(attrs.len(), MAX_ATTRIBUTES);
    assert_eq!(attrs[0], ("source".to_owned(), "deploy-hook".to_owned()));
    assert!(
        attrs
            .iter()
            .all(|(_, v)| !v.is_empty() && v.chars().count() <= 256)
    );
}

#[test]
fn prefix_and_missing_region_in_the_subject() {
    let mut a = rollback();
    a.subject_prefix = "[dry run]".into();
    a.state = "DryRunFailed".into();
    a.name = "shop/shop".into();
    a.region.clear();
    assert_eq!(
        a.subject(),
        "[dry run] DryRunFailed lifecycle hook shop/shop d-ABCDEF123"
    );
}

#[test]
fn machine_data_travels_in_the_context_or_is_noted() {
    let mut a = rollback();
    a.sections.clear();
    a.data
        .insert("failedChecks".into(), serde_json::json!(["health"]));
    let r = a.render();
    let m: Value = serde_json::from_str(&r.message).unwrap();
    let doc: Value = serde_json::from_str(m["sqs"].as_str().unwrap()).unwrap();
    assert_eq!(
        doc["metadata"]["additionalContext"]["failedChecks"][0],
        "health"
    );
    // Data that cannot fit is left out with a note; the rest still goes.
    a.data
        .insert("samples".into(), Value::String("s".repeat(300_000)));
    let r = a.render();
    assert!(r.message.len() <= MESSAGE_LIMIT, "{}", r.message.len());
    let m: Value = serde_json::from_str(&r.message).unwrap();
    let doc: Value = serde_json::from_str(m["sqs"].as_str().unwrap()).unwrap();
    assert!(doc["metadata"]["additionalContext"]["dataOmitted"].is_string());
    assert!(
        doc["metadata"]["additionalContext"]
            .get("samples")
            .is_none()
    );
}

#[test]
fn chat_icons_follow_severity_and_a_wait_is_not_a_success() {
    let icon = |severity, state: &str| {
        let a = Alert {
            severity,
            state: state.into(),
            ..sample()
        };
        a.chatbot(16_000)["content"]["title"]
            .as_str()
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(icon(Severity::Error, "FAILED"), ":x:");
    assert_eq!(icon(Severity::Warning, "STOPPED"), ":warning:");
    assert_eq!(icon(Severity::Info, "RECOVERED"), ":white_check_mark:");
    assert_eq!(icon(Severity::Info, "WAITING"), ":hourglass_flowing_sand:");
}
