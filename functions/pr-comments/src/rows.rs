//! The living comment of a revision validated by several checks: a table with a row per
//! check (name, state, duration, links), the log tails of failed checks, and a footer that
//! records what the rows are made of, so each build result edits its own row and leaves the
//! others as they are. The footer is the comment's whole state: the function keeps nothing
//! elsewhere.

use codehooks::text::{duration, short_commit as short};

use crate::markdown::MAX_COMMENT_CHARS;
pub use crate::rows_record::board_of;
use crate::rows_record::footer;

pub use crate::board::{Board, MAX_RETRIES_KEPT, Row, RowState, Verdict};

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
    crate::markdown::branch_pair(v.source_reference, v.destination_reference)
}

#[cfg(test)]
#[path = "rows_test.rs"]
mod tests;
