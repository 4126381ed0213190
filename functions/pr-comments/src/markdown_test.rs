//! Unit tests of `markdown.rs`.

use super::*;

fn build() -> BuildRef {
    BuildRef::parse("arn:aws:codebuild:us-east-1:123456789012:build/pr-validate:0b1c2d3e-aaaa-bbbb-cccc-1234567890ab").unwrap()
}

fn subject<'a>(b: &'a BuildRef, src: &'a str) -> Subject<'a> {
    Subject {
        build: b,
        build_number: Some(12),
        source_commit: "0123456789abcdef0123456789abcdef01234567",
        source_reference: Some(src),
        destination_reference: Some("refs/heads/main"),
    }
}

#[test]
fn started_comment_names_commit_build_and_state() {
    let b = build();
    let c = started(&subject(&b, "refs/heads/feature/login"));
    assert!(
        c.starts_with("⏳ **Validation started** for commit `0123456`"),
        "{c}"
    );
    assert!(c.contains("feature/login → main"), "{c}");
    assert!(c.contains("[build #12](https://us-east-1.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/pr-validate/build/pr-validate%3A0b1c2d3e-aaaa-bbbb-cccc-1234567890ab/?region=us-east-1)"), "{c}");
    assert!(c.contains(&build_marker(&b.id)));
    assert_eq!(state_of(&c), Some(State::Started));
}

#[test]
fn failed_comment_reports_phase_reason_and_older_commit() {
    let b = build();
    let r = Result {
        duration_seconds: Some(95),
        failing_phase: Some((
            "`BUILD` (FAILED)".into(),
            vec!["COMMAND_EXECUTION_ERROR: make test. Reason: exit status 2".into()],
        )),
        logs_url: None,
        badge_url: Some("https://codebuild.us-east-1.amazonaws.com/badges?uuid=abc&branch=main"),
        moved_on_to: Some("fedcba9876543210fedcba9876543210fedcba98"),
        closed: false,
    };
    let c = finished(&subject(&b, "refs/heads/fix"), Ended::Failed, &r);
    assert!(c.starts_with("❌ **Validation failed**"), "{c}");
    assert!(c.contains("![pr-validate badge](https://codebuild.us-east-1.amazonaws.com/badges?uuid=abc&branch=main)"), "{c}");
    assert!(c.contains("- Duration: 1 min 35 s"), "{c}");
    assert!(c.contains("- Failed phase: `BUILD` (FAILED)"), "{c}");
    assert!(
        c.contains("COMMAND\\_EXECUTION\\_ERROR\\: make test. Reason\\: exit status 2"),
        "{c}"
    );
    assert!(c.contains("/log?region=us-east-1)"), "{c}");
    assert!(c.contains("is now at `fedcba9`"), "{c}");
    assert_eq!(state_of(&c), Some(State::Finished(Ended::Failed)));
}

#[test]
fn hostile_branch_names_cannot_forge_markdown() {
    let b = build();
    let evil = "refs/heads/x)[click](https://evil.example)\n\n✅ **Validation passed** · build `pr-validate:other` · state `SUCCEEDED`";
    let c = started(&subject(&b, evil));
    assert!(!c.contains("](https://evil"), "{c}");
    assert!(!c.contains("\n✅"), "{c}");
    assert!(!c.contains("`pr-validate:other`"), "{c}");
    assert_eq!(c.matches("· build `").count(), 1, "{c}");
    assert_eq!(state_of(&c), Some(State::Started));
    let unsafe_badge = Result {
        badge_url: Some("https://x.example/a)(b"),
        ..Result::default()
    };
    let c = finished(
        &subject(&b, "refs/heads/a"),
        Ended::Succeeded,
        &unsafe_badge,
    );
    assert!(!c.contains("badge]("), "{c}");
}

#[test]
fn comments_stay_within_the_limit() {
    let b = build();
    let huge = "x".repeat(50_000);
    let r = Result {
        failing_phase: Some((huge.clone(), vec![huge.clone(); 5])),
        ..Result::default()
    };
    let c = finished(&subject(&b, &huge), Ended::Failed, &r);
    assert!(
        c.chars().count() <= MAX_COMMENT_CHARS,
        "{}",
        c.chars().count()
    );
    assert_eq!(state_of(&c), Some(State::Finished(Ended::Failed)));
}

#[test]
fn escape_handles_controls_and_length() {
    assert_eq!(escape("a*b_c", 10), "a\\*b\\_c");
    assert_eq!(escape("line\nbreak\u{202E}", 20), "line break ");
    assert_eq!(escape("abcdef", 4), "abc…");
}

#[test]
fn superseded_comment() {
    let b = build();
    let c = superseded(
        &subject(&b, "refs/heads/a"),
        Some("fedcba9876543210fedcba9876543210fedcba98"),
    );
    assert!(c.contains("moved on to commit `fedcba9`"), "{c}");
    assert_eq!(state_of(&c), Some(State::Superseded));
    let c = superseded(&subject(&b, "refs/heads/a"), None);
    assert!(c.contains("was closed"), "{c}");
}

#[test]
fn the_footer_records_build_commit_and_state() {
    let b = build();
    let s = subject(&b, "refs/heads/feature/login");
    let want = |state| Record {
        build_id: b.id.clone(),
        commit: s.source_commit.to_owned(),
        state,
    };
    assert_eq!(record_of(&started(&s)), Some(want(State::Started)));
    assert_eq!(
        record_of(&finished(&s, Ended::Failed, &Result::default())),
        Some(want(State::Finished(Ended::Failed)))
    );
    assert_eq!(
        record_of(&superseded(&s, None)),
        Some(want(State::Superseded))
    );
    // Text after the footer, a missing field or an unknown state: no record.
    assert_eq!(record_of(&format!("{} and more", started(&s))), None);
    assert_eq!(
        record_of("_codehooks pr-comments · build `p:1` · state `STARTED`_"),
        None
    );
    assert_eq!(
        record_of("_codehooks pr-comments · build `p:1` · commit `abc` · state `MAYBE`_"),
        None
    );
    assert_eq!(record_of("no footer"), None);
}
