//! The log tail of a failed check in its living comment: read with the shared reader
//! ([`codehooks::logtail`], cleaned and masked there) only when a failed result is
//! reported, within a time limit, and shown in a collapsed block whose code fence is longer
//! than any backtick run of its lines. The blocks of the other failed rows are kept from the
//! comment as it was, so one result never drops another check's tail.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use codehooks::logtail::{LogReader, Tail, tail};
use codehooks::prbuild::{BuildDetail, BuildLogs};
use tracing::warn;

use crate::app::App;
use crate::build::Ended;
use crate::outcome::LogTailAnswer;
use crate::ports::{BuildRunner, PullRequestHost};
use crate::rows::{Block, Board, LINES, Row, RowState};

/// The longest a tail is waited for.
pub const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// Where tails come from: any [`LogReader`], behind a pointer.
pub trait TailSource: Send + Sync {
    fn read<'a>(
        &'a self,
        logs: Option<&'a BuildLogs>,
        lines: usize,
    ) -> Pin<Box<dyn Future<Output = Tail> + Send + 'a>>;
}

impl<R: LogReader> TailSource for R {
    fn read<'a>(
        &'a self,
        logs: Option<&'a BuildLogs>,
        lines: usize,
    ) -> Pin<Box<dyn Future<Output = Tail> + Send + 'a>> {
        Box::pin(tail(self, logs, lines))
    }
}

/// The shared tail source of an [`App`].
pub type Logs = Arc<dyn TailSource>;

/// The blocks of a living comment after a result, and what the answer says of the tail.
#[derive(Debug, Default)]
pub(crate) struct TailBlocks {
    pub blocks: Vec<Block>,
    pub answer: Option<LogTailAnswer>,
}

impl<H: PullRequestHost, B: BuildRunner> App<H, B> {
    /// The blocks of `board` after `row`'s build ended with `ended`: its new tail when it
    /// failed, and the other failed rows' blocks as `old` (the comment before) had them.
    pub(crate) async fn tail_blocks(
        &self,
        d: &BuildDetail,
        board: &Board,
        row: &Row,
        ended: Ended,
        old: &str,
    ) -> TailBlocks {
        let kept = blocks_of(old);
        let mut out = TailBlocks::default();
        let failed = matches!(ended, Ended::Failed | Ended::Fault | Ended::TimedOut);
        let mine = if failed {
            let t = self.read_tail(d.additional_information.logs.as_ref()).await;
            out.answer = Some(answer(&t));
            match t {
                Tail::Lines { lines, .. } if !lines.is_empty() => Some(block(&row.check, &lines)),
                _ => None,
            }
        } else {
            None
        };
        for r in &board.rows {
            let shows_failure = matches!(
                r.state,
                RowState::Finished(Ended::Failed | Ended::Fault | Ended::TimedOut)
            );
            if r.check == row.check {
                out.blocks.extend(mine.clone());
            } else if shows_failure && let Some(b) = kept.iter().find(|b| b.check == r.check) {
                out.blocks.push(b.clone());
            }
        }
        out
    }

    /// The tail of a failed build in single-check mode, put into `content` (its result
    /// comment) before the footer, as many of its newest lines as fit; the answer's `logTail`.
    pub(crate) async fn single_tail(
        &self,
        d: &BuildDetail,
        project: &str,
        ended: Ended,
        content: &mut String,
    ) -> Option<LogTailAnswer> {
        if !matches!(ended, Ended::Failed | Ended::Fault | Ended::TimedOut) {
            return None;
        }
        let t = self.read_tail(d.additional_information.logs.as_ref()).await;
        let out = answer(&t);
        if let Tail::Lines { lines, .. } = t
            && !lines.is_empty()
            && let Some(at) = content.rfind("\n---\n")
        {
            let used = content.chars().count();
            let room = crate::markdown::MAX_COMMENT_CHARS
                .saturating_sub(used + 2 + crate::markdown::RETRIES_ROOM);
            if let Some(text) = crate::rows::fit(&block(project, &lines), room) {
                content.insert_str(at, &format!("\n{}", text.trim_end_matches('\n')));
            }
        }
        Some(out)
    }

    async fn read_tail(&self, logs: Option<&BuildLogs>) -> Tail {
        if self.config.log_lines == 0 {
            return Tail::Unavailable(codehooks::logtail::OFF.to_owned());
        }
        let Some(source) = &self.logs else {
            return Tail::Unavailable("no log reader is configured".to_owned());
        };
        match tokio::time::timeout(READ_TIMEOUT, source.read(logs, self.config.log_lines)).await {
            Ok(t) => t,
            Err(_) => {
                warn!(
                    timeout_ms = READ_TIMEOUT.as_millis() as u64,
                    "the log tail took too long; left out"
                );
                Tail::Unavailable("the log took too long to read".to_owned())
            }
        }
    }
}

fn answer(t: &Tail) -> LogTailAnswer {
    match t {
        Tail::Lines { lines, .. } => LogTailAnswer::Lines { lines: lines.len() },
        Tail::Unavailable(why) => LogTailAnswer::Unavailable {
            reason: why.clone(),
        },
    }
}

const SUMMARY: &str = "<details><summary>Last ";

/// The collapsed block of `check`'s tail: lines already cleaned and masked by the reader,
/// made inert here (no HTML tag can close the block), inside a fence longer than any
/// backtick run of theirs.
pub fn block(check: &str, lines: &[String]) -> Block {
    let lines: Vec<String> = lines.iter().map(|l| inert(l)).collect();
    let longest = lines.iter().map(|l| longest_run(l, '`')).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    Block {
        check: check.to_owned(),
        head: format!("{SUMMARY}{LINES} log lines of `{check}`</summary>\n\n{fence}text\n"),
        lines,
        foot: format!("{fence}\n</details>"),
    }
}

/// A log line that cannot leave its code block: control characters as spaces, and `<` as
/// `‹`, so no tag (`</details>`) is ever read inside it.
fn inert(line: &str) -> String {
    line.chars()
        .map(|c| match c {
            '<' => '‹',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for x in s.chars() {
        run = if x == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// The blocks of a living comment, as [`block`] wrote them (their line count may have been
/// cut since).
pub fn blocks_of(content: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut rest = content;
    while let Some(at) = rest.find(SUMMARY) {
        rest = &rest[at..];
        let Some(parsed) = parse_block(rest) else {
            rest = &rest[SUMMARY.len()..];
            continue;
        };
        let (b, used) = parsed;
        out.push(b);
        rest = &rest[used..];
    }
    out
}

fn parse_block(s: &str) -> Option<(Block, usize)> {
    let (summary, after) = s.split_once("</summary>\n\n")?;
    let check = summary.split_once(" log lines of `")?.1.strip_suffix('`')?;
    let (fence_line, body) = after.split_once('\n')?;
    let fence = fence_line.strip_suffix("text")?;
    if fence.len() < 3 || !fence.chars().all(|c| c == '`') {
        return None;
    }
    let end = format!("\n{fence}\n</details>");
    let close = body.find(&end).map(|i| (i, i + end.len())).or_else(|| {
        // A block without lines: the fence follows the opening fence directly.
        body.strip_prefix(&end[1..]).map(|_| (0, end.len() - 1))
    })?;
    let lines: Vec<String> = if close.0 == 0 && !body.starts_with('\n') && body.starts_with(fence) {
        Vec::new()
    } else {
        body[..close.0].split('\n').map(str::to_owned).collect()
    };
    let used = summary.len() + "</summary>\n\n".len() + fence_line.len() + 1 + close.1;
    Some((block(check, &lines), used))
}

#[cfg(test)]
#[path = "log_tail_test.rs"]
mod tests;
