//! The tail of a build's CloudWatch Logs stream, cleaned and masked, for alerts and pull
//! request comments.
//!
//! - [`LogReader`]: the port that reads the last events of a stream; `CloudWatchLogsReader`
//!   (module `cloudwatch`, feature `logs`) is its adapter (`GetLogEvents` backwards from the
//!   end) and [`MemoryLogs`] its in-memory twin;
//! - [`tail`]: reads the tail a CodeBuild event's `logs` block names and returns it as
//!   [`Tail::Lines`], or says in one sentence why there is none ([`Tail::Unavailable`]);
//! - [`clean`]: terminal output made plain (colours, cursor moves, carriage returns);
//! - [`mask`]: lines that look like secrets, masked with [`MASK`].
//!
//! Every line is cleaned, then masked, then cut to [`LINE_MAX`] characters, in that order: a
//! colour code cannot hide a secret from the masks, and a cut cannot leave half a secret.

pub mod clean;
#[cfg(feature = "logs")]
pub mod cloudwatch;
pub mod mask;
pub mod memory;
mod tokens;

use std::future::Future;
use std::sync::Arc;

#[cfg(feature = "logs")]
pub use cloudwatch::CloudWatchLogsReader;
pub use mask::MASK;
pub use memory::MemoryLogs;

use crate::prbuild::BuildLogs;
use crate::text::cut;

/// Lines of tail when nothing else is configured.
pub const DEFAULT_LINES: usize = 20;
/// The most lines of tail ever read.
pub const MAX_LINES: usize = 200;
/// The longest line kept; a longer one is cut with a marker.
pub const LINE_MAX: usize = 500;

/// Reads log events.
pub trait LogReader: Send + Sync {
    /// The last `limit` events of the stream, oldest first, as raw messages.
    fn last_events(
        &self,
        group: &str,
        stream: &str,
        limit: usize,
    ) -> impl Future<Output = crate::Result<Vec<String>>> + Send;
}

impl<R: LogReader> LogReader for Arc<R> {
    fn last_events(
        &self,
        group: &str,
        stream: &str,
        limit: usize,
    ) -> impl Future<Output = crate::Result<Vec<String>>> + Send {
        (**self).last_events(group, stream, limit)
    }
}

impl<R: LogReader> LogReader for &R {
    fn last_events(
        &self,
        group: &str,
        stream: &str,
        limit: usize,
    ) -> impl Future<Output = crate::Result<Vec<String>>> + Send {
        (**self).last_events(group, stream, limit)
    }
}

/// The tail of a build's logs, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tail {
    /// Cleaned, masked lines, oldest first; `older_left_out` when the stream had more.
    Lines {
        lines: Vec<String>,
        group: String,
        stream: String,
        older_left_out: bool,
    },
    /// One sentence saying why there is no tail (S3-only logs, logs off, not readable + the error code).
    Unavailable(String),
}

/// Why there is no tail when tails are turned off.
pub const OFF: &str = "log tails are off";

/// Reads, cleans and masks the tail of a build's logs (the `logs` block of a CodeBuild event:
/// [`crate::prbuild::BuildLogs`]). `lines == 0` gives `Unavailable("log tails are off")`;
/// more than [`MAX_LINES`] reads [`MAX_LINES`].
///
/// It asks the reader for one event more than it shows, to know whether older lines were
/// left out. An event of several lines gives several lines. A read that fails names the
/// error code only: an error message may quote what it was given.
pub async fn tail<R: LogReader>(reader: &R, logs: Option<&BuildLogs>, lines: usize) -> Tail {
    let lines = lines.min(MAX_LINES);
    if lines == 0 {
        return Tail::Unavailable(OFF.to_owned());
    }
    let Some(logs) = logs else {
        return Tail::Unavailable(
            "the build event does not say where its logs are; see the build's page".to_owned(),
        );
    };
    let Some(group) = logs.group_name.as_deref().filter(|g| !g.trim().is_empty()) else {
        return Tail::Unavailable(
            "the build logs to S3 only or has CloudWatch Logs turned off; see the build's page"
                .to_owned(),
        );
    };
    let Some(stream) = logs.stream_name.as_deref().filter(|s| !s.trim().is_empty()) else {
        return Tail::Unavailable(
            "the build never started logging (it has no log stream)".to_owned(),
        );
    };
    if !is_group_name(group) || !is_stream_name(stream) {
        return Tail::Unavailable(
            "the build event names a log group or stream that cannot exist".to_owned(),
        );
    }
    let events = match reader.last_events(group, stream, lines + 1).await {
        Ok(e) => e,
        Err(e) => {
            let code = e.aws_code().unwrap_or(e.kind());
            tracing::warn!(group, stream, code, "the log tail could not be read");
            return Tail::Unavailable(format!("the log could not be read ({code})"));
        }
    };
    let (lines, older_left_out) = clean_tail(&events, lines);
    Tail::Lines {
        lines,
        group: group.to_owned(),
        stream: stream.to_owned(),
        older_left_out,
    }
}

/// The last `max` lines of `events` (oldest first), cleaned, masked and cut, and whether
/// anything older was left out (including the events beyond `max`).
pub fn clean_tail(events: &[String], max: usize) -> (Vec<String>, bool) {
    let mut raw: Vec<&str> = Vec::new();
    for e in events {
        let e = e.strip_suffix('\n').unwrap_or(e);
        raw.extend(e.split('\n'));
    }
    // Enough lines that a private key block ending in the tail is seen whole.
    let keep = raw.len().min(max + 64);
    let mut lines: Vec<String> = raw[raw.len() - keep..]
        .iter()
        .map(|l| clean::clean_line(l))
        .collect();
    mask::mask_lines(&mut lines);
    let older_left_out = raw.len() > max;
    let start = lines.len().saturating_sub(max);
    let lines = lines[start..].iter().map(|l| cut(l, LINE_MAX)).collect();
    (lines, older_left_out)
}

/// A CloudWatch Logs group name: 1 to 512 of `A-Za-z0-9_-./#`.
pub fn is_group_name(s: &str) -> bool {
    (1..=512).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/' | b'#'))
}

/// A CloudWatch Logs stream name: 1 to 512 characters, no `:` or `*`, no control characters.
pub fn is_stream_name(s: &str) -> bool {
    (1..=512).contains(&s.len()) && !s.chars().any(|c| c == ':' || c == '*' || c.is_control())
}

#[cfg(test)]
#[path = "mod_test.rs"]
mod tests;
