//! The comments the function writes on pull requests.
//!
//! Every comment ends with a footer that names the build it is about and its state, so the
//! function finds its own comment again (together with its author ARN) and edits it in place.
//! Text that comes from users or from the build (branch names, phase messages) is escaped so it
//! cannot break or forge the comment's Markdown, and each comment stays within CodeCommit's
//! limit of 10,240 characters.

use codehooks::prbuild::branch;
use codehooks::text::{duration, short_commit as short};

use crate::build::{BuildRef, Ended};

/// CodeCommit's limit on a comment's length.
pub const MAX_COMMENT_CHARS: usize = 10_240;

/// The state a comment reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Started,
    Finished(Ended),
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
            other => Ended::from_status(other).map(State::Finished),
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
pub fn finished(s: &Subject<'_>, ended: Ended, r: &Result<'_>) -> String {
    let (emoji, headline) = match ended {
        Ended::Succeeded => ("✅", "Validation passed"),
        Ended::Failed => ("❌", "Validation failed"),
        Ended::Fault => ("💥", "Validation could not run (build fault)"),
        Ended::TimedOut => ("⏱️", "Validation timed out"),
        Ended::Stopped => ("⏹️", "Validation stopped"),
    };
    let mut out = format!(
        "{emoji} **{headline}** for commit `{}`{}\n\n",
        short(s.source_commit),
        branches(s)
    );
    if let Some(badge) = r.badge_url.filter(|u| safe_url(u)) {
        out.push_str(&format!("![{} badge]({badge})\n\n", s.build.project));
    }
    out.push_str(&format!("- Status: **{}** {emoji}\n", ended.status()));
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
        // The phase is made of AWS enum words only (see `build::failing_phase`).
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
    finish(out, s, State::Finished(ended))
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

/// How many characters the footer's record of re-run comments may take at most; the body is
/// cut to leave that room, so adding the record never makes a comment too long.
pub const RETRIES_ROOM: usize = 600;

/// Where the footer's record of re-run comments starts (see [`crate::retry_single`]).
pub(crate) const RETRIES: &str = " · retries `";

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

/// What the footer of one of the function's comments records: the build the function
/// started and the commit it asked that build for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub build_id: String,
    pub commit: String,
    pub state: State,
}

/// Where the footer starts.
pub(crate) const FOOTER: &str = "_codehooks pr-comments · build `";

/// The record in a comment's footer (the last one, where [`finish`] writes it); `None` when
/// the comment has no well-formed footer.
pub fn record_of(content: &str) -> Option<Record> {
    let rest = &content[content.rfind(FOOTER)? + FOOTER.len()..];
    let (build_id, rest) = rest.split_once('`')?;
    let rest = rest.strip_prefix(" · commit `")?;
    let (commit, rest) = rest.split_once('`')?;
    let rest = rest.strip_prefix(" · state `")?;
    let (state, rest) = rest.split_once('`')?;
    let rest = match rest.strip_prefix(RETRIES) {
        Some(r) => r.split_once('`')?.1,
        None => rest,
    };
    if rest != "_" || build_id.is_empty() || commit.is_empty() {
        return None;
    }
    Some(Record {
        build_id: build_id.to_owned(),
        commit: commit.to_owned(),
        state: State::parse(state)?,
    })
}

fn finish(mut body: String, s: &Subject<'_>, state: State) -> String {
    let footer = format!(
        "\n---\n_codehooks pr-comments {} commit `{}` · state `{}`_",
        build_marker(&s.build.id),
        s.source_commit,
        state.as_str()
    );
    let room = MAX_COMMENT_CHARS.saturating_sub(footer.chars().count() + 2 + RETRIES_ROOM);
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
    branch_pair(s.source_reference, s.destination_reference)
}

/// ` (source → destination)`, ` (source)`, or nothing, the branch names escaped.
pub(crate) fn branch_pair(source: Option<&str>, destination: Option<&str>) -> String {
    match (source, destination) {
        (Some(src), Some(dst)) => format!(
            " ({} → {})",
            escape(branch(src), 100),
            escape(branch(dst), 100)
        ),
        (Some(src), None) => format!(" ({})", escape(branch(src), 100)),
        _ => String::new(),
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
fn shorten(text: &str, max_chars: usize) -> String {
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
#[path = "markdown_test.rs"]
mod tests;
