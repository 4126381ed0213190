//! The last lines of a failed build's log in its alert ([`codehooks::logtail`]): read once the
//! alert's key is claimed, within [`READ_TIMEOUT`], and written as the section
//! `Last N log lines` (free text: the renderer cuts it before it touches a link) and as
//! `logTail` in the alert's machine data. When there is no tail, one fact says why.

use std::time::Duration;

use codehooks::alert::Alert;
use codehooks::logtail::{self, LogReader, Tail};
use codehooks::prbuild::BuildLogs;
use serde_json::json;

/// How long an alert waits for its log tail.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The most characters of tail an alert carries; the newest lines are kept.
pub const MAX_CHARS: usize = 12_000;

/// The fact that says why an alert has no tail.
pub const FACT: &str = "Log tail";

/// Reads the tail of `logs` (at most `lines` lines, 0 = off), giving up after [`READ_TIMEOUT`].
pub async fn read<L: LogReader>(reader: &L, logs: Option<&BuildLogs>, lines: usize) -> Tail {
    read_within(reader, logs, lines, READ_TIMEOUT).await
}

/// [`read`] with another time limit.
pub async fn read_within<L: LogReader>(
    reader: &L,
    logs: Option<&BuildLogs>,
    lines: usize,
    limit: Duration,
) -> Tail {
    match tokio::time::timeout(limit, logtail::tail(reader, logs, lines)).await {
        Ok(tail) => tail,
        Err(_) => {
            tracing::warn!("the log tail was not read in time; alerting without it");
            Tail::Unavailable(format!(
                "the log could not be read (no answer within {} ms)",
                limit.as_millis()
            ))
        }
    }
}

/// Writes `tail` into `alert`: the lines as a section and `logTail` in its data, or one fact
/// saying why there are none (nothing but the data when tails are off).
pub fn add(alert: &mut Alert, tail: Tail) {
    match tail {
        Tail::Lines {
            lines,
            group,
            stream,
            older_left_out,
        } => {
            let (lines, cut) = newest_within(lines, MAX_CHARS);
            let older = older_left_out || cut;
            if lines.is_empty() {
                alert
                    .facts
                    .push((FACT.to_owned(), "the log stream has no events".to_owned()));
            } else {
                let title = match lines.len() {
                    1 => "Last log line".to_owned(),
                    n => format!("Last {n} log lines"),
                };
                let mut body = String::new();
                if older {
                    body.push_str("[... older lines left out]\n");
                }
                body.push_str(&lines.join("\n"));
                alert.sections.push((title, body));
            }
            alert.data.insert(
                "logTail".to_owned(),
                json!({
                    "lines": lines,
                    "olderLinesLeftOut": older,
                    "group": group,
                    "stream": stream,
                }),
            );
        }
        Tail::Unavailable(why) => {
            if why != logtail::OFF {
                alert.facts.push((FACT.to_owned(), why.clone()));
            }
            alert
                .data
                .insert("logTail".to_owned(), json!({ "unavailable": why }));
        }
    }
}

/// The newest of `lines` whose characters (with a line break each) fit `max`, and whether any
/// were left out.
pub fn newest_within(lines: Vec<String>, max: usize) -> (Vec<String>, bool) {
    let mut total = 0;
    let mut keep = 0;
    for l in lines.iter().rev() {
        let n = l.chars().count() + 1;
        if total + n > max {
            break;
        }
        total += n;
        keep += 1;
    }
    let cut = keep < lines.len();
    let start = lines.len() - keep;
    (lines.into_iter().skip(start).collect(), cut)
}

#[cfg(test)]
#[path = "log_tail_test.rs"]
mod tests;
