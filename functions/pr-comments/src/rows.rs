//! The living comment of a revision validated by several checks: a table with a row per
//! check (name, state, duration, links), the log tails of failed checks, and a footer that
//! records what the rows are made of, so each build result edits its own row and leaves the
//! others as they are. The footer is the comment's whole state: the function keeps nothing
//! elsewhere.

use codehooks::prbuild::branch;
use codehooks::text::{duration, short_commit as short};

use crate::build::{BuildRef, Ended};
use crate::markdown::{MAX_COMMENT_CHARS, escape};
pub use crate::rows_record::board_of;
use crate::rows_record::footer;

/// Comment ids of re-run commands remembered at most (the oldest are forgotten).
pub const MAX_RETRIES_KEPT: usize = 30;

/// How a check's row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowState {
    Started,
    /// Started again on request.
    Retry,
    Finished(Ended),
    /// Stopped because the pull request moved on or closed.
    Superseded,
}

impl RowState {
    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Started => "STARTED",
            RowState::Retry => "RETRY",
            RowState::Finished(e) => e.status(),
            RowState::Superseded => "SUPERSEDED",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "STARTED" => Some(RowState::Started),
            "RETRY" => Some(RowState::Retry),
            "SUPERSEDED" => Some(RowState::Superseded),
            other => Ended::from_status(other).map(RowState::Finished),
        }
    }

    /// Whether the row shows how its build ended.
    pub fn is_final(self) -> bool {
        matches!(self, RowState::Finished(_) | RowState::Superseded)
    }

    fn label(self) -> &'static str {
        match self {
            RowState::Started => "⏳ started",
            RowState::Retry => "🔁 started (retry)",
            RowState::Finished(Ended::Succeeded) => "✅ passed",
            RowState::Finished(Ended::Failed) => "❌ failed",
            RowState::Finished(Ended::Fault) => "💥 fault",
            RowState::Finished(Ended::TimedOut) => "⏱️ timed out",
            RowState::Finished(Ended::Stopped) => "⏹️ stopped",
            RowState::Superseded => "⏹️ superseded",
        }
    }
}

/// One check of the revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The check's CodeBuild project.
    pub check: String,
    pub required: bool,
    /// The ARN of the check's current build.
    pub build_arn: String,
    pub number: Option<u64>,
    pub state: RowState,
    pub duration_seconds: Option<u64>,
}

impl Row {
    pub fn build(&self) -> Option<BuildRef> {
        BuildRef::parse(&self.build_arn)
    }
}

/// The checks of one revision, as its living comment records them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Board {
    pub commit: String,
    pub revision: String,
    pub rows: Vec<Row>,
    /// Ids of the re-run comments acted on (each acts once).
    pub retries: Vec<String>,
}

/// How the required checks stand together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every required check passed.
    Passed,
    /// A required check ended without passing.
    Failed,
    /// Required checks are still running.
    Running,
}

impl Board {
    pub fn verdict(&self) -> Verdict {
        let required = self.rows.iter().filter(|r| r.required);
        let mut running = false;
        for r in required {
            match r.state {
                RowState::Finished(Ended::Succeeded) => {}
                RowState::Finished(_) | RowState::Superseded => return Verdict::Failed,
                RowState::Started | RowState::Retry => running = true,
            }
        }
        if running {
            Verdict::Running
        } else {
            Verdict::Passed
        }
    }

    pub fn row(&self, check: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.check == check)
    }

    pub fn row_mut(&mut self, check: &str) -> Option<&mut Row> {
        self.rows.iter_mut().find(|r| r.check == check)
    }

    /// Remembers that re-run comment `id` was acted on.
    pub fn remember_retry(&mut self, id: &str) {
        if !self.retries.iter().any(|r| r == id) {
            self.retries.push(id.to_owned());
        }
        let extra = self.retries.len().saturating_sub(MAX_RETRIES_KEPT);
        self.retries.drain(..extra);
    }
}

/// What the comment shows besides the rows.
#[derive(Debug, Clone, Default)]
pub struct View<'a> {
    pub source_reference: Option<&'a str>,
    pub destination_reference: Option<&'a str>,
    /// The pull request's newer commit that replaced this revision.
    pub moved_on_to: Option<&'a str>,
    pub closed: bool,
    /// Collapsed blocks (log tails) already made inert, in row order; cut to fit.
    pub blocks: Vec<Block>,
}

/// Stands for the number of lines shown in a [`Block`]'s head.
pub const LINES: &str = "{lines}";

/// A collapsed block of a check: a head (with [`LINES`]), lines, and a foot, so lines can
/// be cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub check: String,
    pub head: String,
    /// Oldest first; the oldest are left out first when the comment is too long.
    pub lines: Vec<String>,
    pub foot: String,
}

/// The living comment of `board`.
pub fn render(board: &Board, v: &View<'_>) -> String {
    let (emoji, headline) = match (v.moved_on_to.is_some() || v.closed, board.verdict()) {
        (true, _) => ("⏹️", "Validation superseded"),
        (false, Verdict::Passed) => ("✅", "Validation passed"),
        (false, Verdict::Failed) => ("❌", "Validation failed"),
        (false, Verdict::Running) => ("⏳", "Validation running"),
    };
    let mut out = format!(
        "{emoji} **{headline}** for commit `{}`{}\n\n| Check | State | Duration | Build |\n|---|---|---|---|\n",
        short(&board.commit),
        branches(v)
    );
    for r in &board.rows {
        let name = if r.required {
            format!("`{}`", r.check)
        } else {
            format!("`{}` (optional)", r.check)
        };
        let took = r.duration_seconds.map(duration).unwrap_or_default();
        let links = match r.build() {
            Some(b) => {
                let label = r
                    .number
                    .map(|n| format!("build #{n}"))
                    .unwrap_or_else(|| "build".to_owned());
                format!("[{label}]({}) · [logs]({})", b.console_url(), b.logs_url())
            }
            None => String::new(),
        };
        out.push_str(&format!(
            "| {name} | {} | {took} | {links} |\n",
            r.state.label()
        ));
    }
    let mut notes = String::new();
    if let Some(now) = v.moved_on_to {
        notes.push_str(&format!(
            "\n> ⚠️ This validation is for an older commit, `{}`; it was replaced by commit `{}`, which the pull request is at now.\n",
            short(&board.commit),
            short(now)
        ));
    }
    if v.closed {
        notes.push_str("\n> ℹ️ The pull request is closed.\n");
    }
    let footer = footer(board);
    // Everything but the blocks always fits (at most 10 rows); the blocks get the rest.
    let fixed = out.chars().count() + notes.chars().count() + footer.chars().count();
    let mut room = MAX_COMMENT_CHARS.saturating_sub(fixed + 16);
    for b in &v.blocks {
        if let Some(text) = fit(b, room) {
            room -= text.chars().count();
            out.push('\n');
            out.push_str(&text);
        }
    }
    out.push_str(&notes);
    out.push_str(&footer);
    out
}

/// The block with as many of its newest lines as fit in `room` characters (at least one);
/// `None` when not even one does.
pub(crate) fn fit(b: &Block, room: usize) -> Option<String> {
    let fixed = b.head.chars().count() + b.foot.chars().count() + 1;
    let mut used = fixed;
    let mut keep = 0;
    for l in b.lines.iter().rev() {
        let n = l.chars().count() + 1;
        if used + n > room {
            break;
        }
        used += n;
        keep += 1;
    }
    if keep == 0 && !b.lines.is_empty() || fixed > room {
        return None;
    }
    let mut s = b.head.replace(LINES, &keep.to_string());
    for l in &b.lines[b.lines.len() - keep..] {
        s.push_str(l);
        s.push('\n');
    }
    s.push_str(&b.foot);
    s.push('\n');
    Some(s)
}

fn branches(v: &View<'_>) -> String {
    match (v.source_reference, v.destination_reference) {
        (Some(src), Some(dst)) => format!(
            " ({} → {})",
            escape(branch(src), 100),
            escape(branch(dst), 100)
        ),
        (Some(src), None) => format!(" ({})", escape(branch(src), 100)),
        _ => String::new(),
    }
}

#[cfg(test)]
#[path = "rows_test.rs"]
mod tests;
