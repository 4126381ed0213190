//! Property tests of pr-comments: its parsers of untrusted input (the pull request
//! event, CodeBuild's build event and the build ARN in it, the comment author ARN, its own
//! comment's footer) never panic and accept only checked values; every comment stays within
//! CodeCommit's 10,240 characters with a footer that reads back to its state; user text never
//! opens a link, an image or an HTML tag.
//!
//! Each property states its case count; the whole file runs in a few seconds.

use codehooks::events::EventBridgeEvent;
use codehooks::names::{is_commit_id, is_region, is_repository_name};
use codehooks::prbuild::BuildDetail;
use pr_comments::build::is_project_name;
use pr_comments::build::{BuildRef, Ended, failing_phase};
use pr_comments::config::Author;
use pr_comments::events::{PullRequestAction, PullRequestDetail};
use pr_comments::markdown::{self, MAX_COMMENT_CHARS, State, Subject};
use proptest::prelude::*;
use serde_json::Value;

#[path = "../../../shared/tests/support/generators.rs"]
mod generators;
use generators::*;

const SAMPLES: [&str; 7] = [
    include_str!("../../../events/pr-comments-pull-request-created.json"),
    include_str!("../../../events/pr-comments-pull-request-closed.json"),
    include_str!("../../../events/pr-comments-pull-request-merged.json"),
    include_str!("../../../events/pr-comments-pull-request-source-branch-updated.json"),
    include_str!("../../../events/pr-comments-build-failed.json"),
    include_str!("../../../events/pr-comments-build-succeeded.json"),
    include_str!("../../../events/pr-comments-comment-on-pull-request.json"),
];

fn near_valid_event() -> impl Strategy<Value = Value> {
    (0..SAMPLES.len(), edits()).prop_map(|(i, e)| mutate(sample(SAMPLES[i]), &e))
}

fn event() -> impl Strategy<Value = Value> {
    prop_oneof![3 => near_valid_event(), 1 => arb_json()]
}

/// A valid build ARN in any partition.
fn build_arn() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            ("aws", "us-east-1"),
            ("aws", "eu-west-1"),
            ("aws-cn", "cn-north-1"),
            ("aws-us-gov", "us-gov-west-1"),
            ("aws-iso-b", "us-isob-east-1"),
        ]),
        "[a-zA-Z0-9][a-zA-Z0-9_-]{1,60}",
        "[0-9]{12}",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    )
        .prop_map(|((p, r), project, account, uuid)| {
            format!("arn:{p}:codebuild:{r}:{account}:build/{project}:{uuid}")
        })
}

fn ended() -> impl Strategy<Value = Ended> {
    prop::sample::select(vec![
        Ended::Succeeded,
        Ended::Failed,
        Ended::Fault,
        Ended::TimedOut,
        Ended::Stopped,
    ])
}

/// Whether `text` has a Markdown special character that no backslash escapes.
fn unescaped(text: &str, specials: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if specials.contains(c) {
            return Some(i);
        }
    }
    None
}

/// `text` without its backslash escapes (`\x` and the escaped character removed).
fn strip_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            chars.next();
        } else {
            out.push(c);
        }
    }
    out
}

/// How many links, images and HTML tags `comment` opens (escaped characters left out).
fn openers(comment: &str) -> (usize, usize, usize) {
    let s = strip_escapes(comment);
    (
        s.matches("](").count(),
        s.matches("![").count(),
        s.matches('<').count(),
    )
}

#[derive(Debug, Clone)]
struct Case {
    arn: String,
    build_number: Option<u64>,
    commit: String,
    src: Option<String>,
    dst: Option<String>,
    ended: Ended,
    duration: Option<u64>,
    phase: Option<(String, Vec<String>)>,
    logs: Option<String>,
    badge: Option<String>,
    moved_on_to: Option<String>,
    closed: bool,
    kind: u8,
}

fn case() -> impl Strategy<Value = Case> {
    let user = || prop::option::of(awkward_text());
    let url = prop_oneof![
        awkward_text(),
        "https://[a-z.]{1,20}/[a-zA-Z0-9/?=&%._()\\[\\]<>\"' -]{0,100}"
    ];
    (
        (
            build_arn(),
            prop::option::of(any::<u64>()),
            "[0-9a-f]{40}",
            user(),
            user(),
            ended(),
        ),
        (
            prop::option::of(any::<u64>()),
            prop::option::of((
                awkward_text(),
                prop::collection::vec(
                    prop_oneof![awkward_text(), ".{1,40}".prop_map(|s| s.repeat(200))],
                    // More than `failing_phase` keeps, so that the 10,240 cut is reached.
                    0..24,
                ),
            )),
            prop::option::of(url.clone()),
            prop::option::of(url),
            prop::option::of("[0-9a-f]{40}"),
            any::<bool>(),
            0u8..3,
        ),
    )
        .prop_map(
            |(
                (arn, build_number, commit, src, dst, ended),
                (duration, phase, logs, badge, moved_on_to, closed, kind),
            )| Case {
                arn,
                build_number,
                commit,
                src,
                dst,
                ended,
                duration,
                phase,
                logs,
                badge,
                moved_on_to,
                closed,
                kind,
            },
        )
}

/// The comment `c` asks for, and the state it must report; with `plain`, every piece of user
/// text is replaced by a plain word (the comment's own structure only).
fn comment(c: &Case, build: &BuildRef, plain: bool) -> (String, State) {
    let text = |s: &Option<String>| {
        s.as_ref()
            .map(|s| if plain { "x".to_owned() } else { s.clone() })
    };
    let (src, dst) = (text(&c.src), text(&c.dst));
    let subject = Subject {
        build,
        build_number: c.build_number,
        source_commit: &c.commit,
        source_reference: src.as_deref(),
        destination_reference: dst.as_deref(),
    };
    match c.kind {
        0 => (markdown::started(&subject), State::Started),
        1 => (
            markdown::superseded(&subject, c.moved_on_to.as_deref()),
            State::Superseded,
        ),
        _ => {
            let phase = c.phase.as_ref().map(|(name, context)| {
                let context = if plain {
                    vec!["x".to_owned(); context.len()]
                } else {
                    context.clone()
                };
                // The phase name is built from AWS enum words (`build::failing_phase`).
                let word: String = name
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .take(40)
                    .collect();
                (format!("`{word}` (FAILED)"), context)
            });
            let r = markdown::Result {
                duration_seconds: c.duration,
                failing_phase: phase,
                // The app only passes a deep link that `safe_url` accepts.
                logs_url: c.logs.clone().filter(|u| markdown::safe_url(u)),
                badge_url: c.badge.as_deref(),
                moved_on_to: c.moved_on_to.as_deref(),
                closed: c.closed,
            };
            (
                markdown::finished(&subject, c.ended, &r),
                State::Finished(c.ended),
            )
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(cases(256))]

    /// The pull request event: reading it never panics, and every value it hands on is checked.
    #[test]
    fn pull_request_event_never_panics_and_checks_what_it_returns(v in event()) {
        let Ok(ev) = EventBridgeEvent::parse(v) else { return Ok(()) };
        let Ok(d) = ev.detail_as::<PullRequestDetail>() else { return Ok(()) };
        let action = d.action();
        if action == PullRequestAction::Validate {
            prop_assert!(matches!(d.event.as_str(),
                "pullRequestCreated" | "pullRequestSourceBranchUpdated" | "pullRequestStatusChanged"));
        }
        if let Ok(id) = d.pull_request_id() {
            prop_assert!(!id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()));
        }
        if let Ok(repo) = d.repository(&ev.resources) {
            prop_assert!(is_repository_name(&repo));
        }
        if let Ok(Some(rev)) = d.revision_id() {
            prop_assert!(!rev.is_empty() && rev.len() <= 128
                && rev.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        }
        if let Ok(c) = d.source_commit() {
            prop_assert!(is_commit_id(c));
        }
    }

    /// The build event: the build ARN, the failing phase and the links never panic; a build
    /// it accepts has a valid project, region and account, and links a comment can hold.
    #[test]
    fn build_event_never_panics_and_links_are_safe(v in event(), arn in prop_oneof![build_arn(), awkward_text()]) {
        let Ok(ev) = EventBridgeEvent::parse(v) else { return Ok(()) };
        let Ok(d) = ev.detail_as::<BuildDetail>() else { return Ok(()) };
        for id in [d.build_id.as_str(), arn.as_str()] {
            if let Some(b) = BuildRef::parse(id) {
                prop_assert!(is_project_name(&b.project) && is_region(&b.region));
                prop_assert!(b.account.len() == 12 && b.account.bytes().all(|c| c.is_ascii_digit()));
                let prefix = format!("{}:", b.project);
                prop_assert!(id.ends_with(&b.id) && b.id.starts_with(&prefix));
                prop_assert!(markdown::safe_url(&b.console_url()), "{}", b.console_url());
                prop_assert!(markdown::safe_url(&b.logs_url()), "{}", b.logs_url());
            }
        }
        if let Some((phase, context)) = failing_phase(&d) {
            prop_assert!(phase.chars().all(|c| c.is_ascii_alphanumeric() || "_`() ".contains(c)), "{}", phase);
            prop_assert!(context.len() <= 5);
        }
        let _ = Ended::from_status(&d.build_status);
    }

    /// Every valid build ARN reads into a build whose id round-trips.
    #[test]
    fn valid_build_arns_are_accepted(arn in build_arn()) {
        let b = BuildRef::parse(&arn);
        prop_assert!(b.is_some(), "{}", arn);
    }

    /// The comment author ARN and `Author::matches` never panic; an author matches itself.
    #[test]
    fn author_arns_never_panic(arn in prop_oneof![
        awkward_text(),
        "arn:aws:(iam|sts)::[0-9]{12}:(role|assumed-role|user)/[a-zA-Z0-9/_.@-]{0,30}",
    ], other in awkward_text()) {
        if let Some(a) = Author::parse(&arn) {
            prop_assert!(a.matches(&arn), "{:?} does not match {}", a, arn);
            let _ = a.matches(&other);
        }
    }

    /// Reading the state back from any text never panics.
    #[test]
    fn state_of_never_panics(text in prop_oneof![
        awkward_text(),
        "[a-z ]{0,10}· state `[A-Z_]{0,12}`?[a-z`·]{0,5}",
    ]) {
        if let Some(s) = markdown::state_of(&text) {
            let footer = format!("· state `{}`", s.as_str());
            prop_assert!(text.contains(&footer));
        }
    }

    /// Escaping: no Markdown special character survives unescaped, nothing starts a line,
    /// and the text is cut to its limit before escaping.
    #[test]
    fn escape_makes_user_text_inert(text in awkward_text(), max in 0usize..500) {
        let out = markdown::escape(&text, max);
        prop_assert_eq!(unescaped(&out, "[]()!<>`*_#|~&:{}+"), None, "{:?}", out);
        prop_assert!(!out.chars().any(|c| c.is_control()), "{:?}", out);
        prop_assert!(strip_escapes(&out).chars().count() <= max.max(1));
        let (links, images, tags) = openers(&out);
        prop_assert_eq!((links, images, tags), (0, 0, 0));
    }

    /// `safe_url` only accepts what cannot leave a Markdown link.
    #[test]
    fn safe_url_accepts_only_inert_urls(url in prop_oneof![
        awkward_text(),
        "https://[a-z.]{1,20}/[a-zA-Z0-9/?=&%._()\\[\\]<> -]{0,60}",
    ]) {
        if markdown::safe_url(&url) {
            prop_assert!(url.starts_with("https://"));
            prop_assert!(!url.contains([' ', '(', ')', '[', ']', '<', '>', '\n', '`', '"']));
        }
    }
}

proptest! {
    #![proptest_config(cases(128))]

    /// Every comment: within 10,240 characters, with the build marker, and a footer that
    /// reads back to the state it reports; user text opens no link, image or HTML tag.
    #[test]
    fn comments_fit_and_their_footer_reads_back(c in case()) {
        let build = BuildRef::parse(&c.arn);
        prop_assert!(build.is_some(), "{}", c.arn);
        let Some(build) = build else { return Ok(()) };
        let (text, state) = comment(&c, &build, false);
        prop_assert!(text.chars().count() <= MAX_COMMENT_CHARS, "{} characters", text.chars().count());
        prop_assert_eq!(markdown::state_of(&text), Some(state));
        prop_assert!(text.contains(&markdown::build_marker(&build.id)));
        let commit = format!("commit `{}`", c.commit);
        prop_assert!(text.contains(&commit));
        let (plain, _) = comment(&c, &build, true);
        let (links, images, tags) = openers(&text);
        let (plain_links, plain_images, _) = openers(&plain);
        prop_assert!(links <= plain_links, "{} links, {} without user text:\n{}", links, plain_links, text);
        prop_assert!(images <= plain_images, "{} images, {} without user text:\n{}", images, plain_images, text);
        prop_assert_eq!(tags, 0, "{}", text);
    }
}
