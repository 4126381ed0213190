//! The comments the function writes on pull requests.
//!
//! Every comment ends with a footer that names the build it is about and its state, so the
//! function finds its own comment again (together with its author ARN) and edits it in place.
//! Text that comes from users or from the build (branch names, phase messages) is escaped so it
//! cannot break or forge the comment's Markdown, and each comment stays within CodeCommit's
//! limit of 10,240 characters.

use crate::detail::{BuildRef, Outcome};

/// CodeCommit's limit on a comment's length.
pub const MAX_COMMENT_CHARS: usize = 10_240;

/// The state a comment reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Started,
    Finished(Outcome),
    Superseded,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Started => "STARTED",
            State::Finished(o) => o.status(),
            State::Superseded => "SUPERSEDED",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "STARTED" => Some(State::Started),
            "SUPERSEDED" => Some(State::Superseded),
            other => Outcome::from_status(other).map(State::Finished),
        }
    }

    /// Whether the comment shows how the build ended (it is never turned back to "started").
    pub fn is_final(self) -> bool {
        !matches!(self, State::Started)
    }
}

/// What every comment about a build shows.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub build: &'a BuildRef,
    pub build_number: Option<u64>,
    pub source_commit: &'a str,
    pub source_reference: Option<&'a str>,
    pub destination_reference: Option<&'a str>,
}

/// How a finished build is reported.
#[derive(Debug, Clone, Default)]
pub struct Result<'a> {
    pub duration_seconds: Option<u64>,
    pub failing_phase: Option<(String, Vec<String>)>,
    pub logs_url: Option<String>,
    pub badge_url: Option<&'a str>,
    /// The pull request's current source commit, when it has moved on from the one built.
    pub moved_on_to: Option<&'a str>,
    /// Whether the pull request was closed when the build ended.
    pub closed: bool,
}

/// The comment posted when validation starts.
pub fn started(s: &Subject<'_>) -> String {
    let mut out = format!(
        "⏳ **Validation started** for commit `{}`{}\n\n",
        short(s.source_commit),
        branches(s)
    );
    out.push_str(&format!(
        "CodeBuild project `{}` is building it: [{}]({}). This comment will show the result when the build ends.\n",
        s.build.project,
        build_label(s),
        s.build.console_url()
    ));
    finish(out, s, State::Started)
}

/// The comment that reports how the build ended.
pub fn finished(s: &Subject<'_>, outcome: Outcome, r: &Result<'_>) -> String {
    let (emoji, headline) = match outcome {
        Outcome::Succeeded => ("✅", "Validation passed"),
        Outcome::Failed => ("❌", "Validation failed"),
        Outcome::Fault => ("💥", "Validation could not run (build fault)"),
        Outcome::TimedOut => ("⏱️", "Validation timed out"),
        Outcome::Stopped => ("⏹️", "Validation stopped"),
    };
    let mut out = format!(
        "{emoji} **{headline}** for commit `{}`{}\n\n",
        short(s.source_commit),
        branches(s)
    );
    if let Some(badge) = r.badge_url.filter(|u| safe_url(u)) {
        out.push_str(&format!("![{} badge]({badge})\n\n", s.build.project));
    }
    out.push_str(&format!("- Status: **{}** {emoji}\n", outcome.status()));
    out.push_str(&format!(
        "- Build: [{}]({}) of project `{}`\n",
        build_label(s),
        s.build.console_url(),
        s.build.project
    ));
    if let Some(d) = r.duration_seconds {
        out.push_str(&format!("- Duration: {}\n", duration(d)));
    }
    if let Some((phase, context)) = &r.failing_phase {
        // The phase is made of AWS enum words only (see `BuildDetail::failing_phase`).
        out.push_str(&format!("- Failed phase: {phase}\n"));
        for c in context {
            out.push_str(&format!("  - {}\n", escape(c, 400)));
        }
    }
    let logs = r.logs_url.clone().unwrap_or_else(|| s.build.logs_url());
    out.push_str(&format!("- Logs: [build logs]({logs})\n"));
    if let Some(now) = r.moved_on_to {
        out.push_str(&format!(
            "\n> ⚠️ This result is for an older commit, `{}`; the pull request is now at `{}`.\n",
            short(s.source_commit),
            short(now)
        ));
    }
    if r.closed {
        out.push_str("\n> ℹ️ The pull request was closed when this build ended.\n");
    }
    finish(out, s, State::Finished(outcome))
}

/// The comment of a build stopped because the pull request moved on or was closed.
pub fn superseded(s: &Subject<'_>, now: Option<&str>) -> String {
    let why = match now {
        Some(c) => format!("the pull request moved on to commit `{}`", short(c)),
        None => "the pull request was closed".to_owned(),
    };
    let out = format!(
        "⏹️ **Validation stopped** for commit `{}`{}\n\n[{}]({}) was stopped because {why}.\n",
        short(s.source_commit),
        branches(s),
        build_label(s),
        s.build.console_url()
    );
    finish(out, s, State::Superseded)
}

/// The part of the footer that names the build; comments are found again by it.
pub fn build_marker(build_id: &str) -> String {
    format!("· build `{build_id}` ·")
}

/// The state a comment of the function reports, read from its footer.
pub fn state_of(content: &str) -> Option<State> {
    let start = content.rfind("· state `")? + "· state `".len();
    let end = content[start..].find('`')? + start;
    State::parse(&content[start..end])
}

fn finish(mut body: String, s: &Subject<'_>, state: State) -> String {
    let footer = format!(
        "\n---\n_codehooks pr-comments {} commit `{}` · state `{}`_",
        build_marker(&s.build.id),
        s.source_commit,
        state.as_str()
    );
    let room = MAX_COMMENT_CHARS.saturating_sub(footer.chars().count() + 2);
    if body.chars().count() > room {
        body = body.chars().take(room).collect();
        body.push_str("…\n");
    }
    body.push_str(&footer);
    body
}

fn build_label(s: &Subject<'_>) -> String {
    match s.build_number {
        Some(n) => format!("build #{n}"),
        None => "the build".to_owned(),
    }
}

fn branches(s: &Subject<'_>) -> String {
    match (s.source_reference, s.destination_reference) {
        (Some(src), Some(dst)) => format!(
            " ({} → {})",
            escape(branch(src), 100),
            escape(branch(dst), 100)
        ),
        (Some(src), None) => format!(" ({})", escape(branch(src), 100)),
        _ => String::new(),
    }
}

fn branch(reference: &str) -> &str {
    reference.strip_prefix("refs/heads/").unwrap_or(reference)
}

/// The first 7 characters of a commit id.
pub fn short(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
}

/// `95` → `1 min 35 s`.
pub fn duration(seconds: u64) -> String {
    match seconds {
        0..=59 => format!("{seconds} s"),
        60..=3599 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {} min", seconds / 3600, (seconds % 3600) / 60),
    }
}

/// User text made inert in Markdown: the characters that start emphasis, code, links, images,
/// HTML, tables or autolinks are backslash-escaped, line breaks and control or
/// direction-override characters become spaces (so nothing can start a line of its own), and
/// the text is cut to `max_chars` characters (before escaping).
pub fn escape(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in shorten(text, max_chars).chars() {
        if MARKDOWN_SPECIAL.contains(c) {
            out.push('\\');
            out.push(c);
        } else if c.is_control() || is_bidi_control(c) {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// Characters with a meaning in Markdown wherever they stand in a line.
const MARKDOWN_SPECIAL: &str = "\\`*_{}[]()<>#+!|~&:";

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` cut to `max_chars` characters, with `…` when cut.
pub fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max_chars.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// Whether `url` can go into a Markdown link as it is: `https://`, printable ASCII, and none
/// of the characters that end or break a link.
pub fn safe_url(url: &str) -> bool {
    url.starts_with("https://")
        && url.len() <= 2048
        && url.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(
                    b,
                    b'(' | b')'
                        | b'<'
                        | b'>'
                        | b'['
                        | b']'
                        | b'"'
                        | b'\''
                        | b'`'
                        | b'\\'
                        | b'|'
                        | b'{'
                        | b'}'
                )
        })
}

#[cfg(test)]
mod tests {
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
            badge_url: Some(
                "https://codebuild.us-east-1.amazonaws.com/badges?uuid=abc&branch=main",
            ),
            moved_on_to: Some("fedcba9876543210fedcba9876543210fedcba98"),
            closed: false,
        };
        let c = finished(&subject(&b, "refs/heads/fix"), Outcome::Failed, &r);
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
        assert_eq!(state_of(&c), Some(State::Finished(Outcome::Failed)));
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
            Outcome::Succeeded,
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
        let c = finished(&subject(&b, &huge), Outcome::Failed, &r);
        assert!(
            c.chars().count() <= MAX_COMMENT_CHARS,
            "{}",
            c.chars().count()
        );
        assert_eq!(state_of(&c), Some(State::Finished(Outcome::Failed)));
    }

    #[test]
    fn escape_handles_controls_and_length() {
        assert_eq!(escape("a*b_c", 10), "a\\*b\\_c");
        assert_eq!(escape("line\nbreak\u{202E}", 20), "line break ");
        assert_eq!(escape("abcdef", 4), "abc…");
        assert_eq!(duration(5), "5 s");
        assert_eq!(duration(3700), "1 h 1 min");
        assert_eq!(short("abc"), "abc");
    }

    #[test]
    fn superseded_comment() {
        let b = build();
        let c = superseded(&subject(&b, "refs/heads/a"), Some("fedcba9876543210"));
        assert!(c.contains("moved on to commit `fedcba9`"), "{c}");
        assert_eq!(state_of(&c), Some(State::Superseded));
        let c = superseded(&subject(&b, "refs/heads/a"), None);
        assert!(c.contains("was closed"), "{c}");
    }
}
