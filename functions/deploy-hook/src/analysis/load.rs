//! An optional steady load through the test listener during the analysis ([`run`]), so a quiet
//! service still gets enough samples for a verdict: paced at `rps`, bounded in flight, stopped
//! at its deadline. Its answers are counted for the evidence only; the verdict comes from the
//! metrics.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::{JoinError, JoinSet};
use tokio::time::{Instant, MissedTickBehavior};

/// Longest wait for one answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Most of an answer's body read (and dropped).
const BODY_LIMIT: usize = 64 * 1024;

/// What the load sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadReport {
    pub rps: u32,
    pub sent: u64,
    pub answered: u64,
    /// Answers with a 5XX status, and requests without an answer.
    pub errors: u64,
    pub ms: u64,
    /// Ticks with no request sent because `rps` requests were still in flight.
    pub skipped: u64,
}

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// An answer with this status.
    Answered(u16),
    /// No answer: refused, reset, timed out.
    NoAnswer,
}

impl LoadReport {
    fn record(&mut self, done: Result<Outcome, JoinError>) {
        match done {
            Ok(Outcome::Answered(status)) => {
                self.answered += 1;
                if status >= 500 {
                    self.errors += 1;
                }
            }
            Ok(Outcome::NoAnswer) | Err(_) => self.errors += 1,
        }
    }
}

/// The pause between two requests at `rps` per second (`rps` > 0).
fn period(rps: u32) -> Duration {
    (Duration::from_secs(1) / rps.max(1)).max(Duration::from_micros(1))
}

/// Sends `rps` requests per second to `url` (with `query`) until `until`.
///
/// Paced by a tick of `1/rps` that never bursts to catch up; at most `rps` requests in flight
/// (a tick with none free is `skipped`); each request waits at most 2 s and never past `until`.
/// At `until` the requests still in flight are abandoned and counted as errors.
pub async fn run(
    client: &reqwest::Client,
    url: &str,
    query: &[(String, String)],
    rps: u32,
    until: Instant,
) -> LoadReport {
    let start = Instant::now();
    let mut report = LoadReport {
        rps,
        ..LoadReport::default()
    };
    if rps == 0 || start >= until {
        return report;
    }
    let url: Arc<str> = Arc::from(crate::probe::url_of("", url, query));
    let slots = Arc::new(Semaphore::new(
        usize::try_from(rps).map_or(Semaphore::MAX_PERMITS, |n| n.min(Semaphore::MAX_PERMITS)),
    ));
    let mut ticker = tokio::time::interval(period(rps));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut flying: JoinSet<Outcome> = JoinSet::new();

    loop {
        tokio::select! {
            biased;
            _ = tokio::time::sleep_until(until) => break,
            Some(done) = flying.join_next(), if !flying.is_empty() => {
                report.record(done);
                continue;
            }
            _ = ticker.tick() => {}
        }
        let now = Instant::now();
        let left = until.saturating_duration_since(now);
        if left.is_zero() {
            break;
        }
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            report.skipped += 1;
            continue;
        };
        report.sent += 1;
        let (client, url) = (client.clone(), Arc::clone(&url));
        let timeout = REQUEST_TIMEOUT.min(left);
        flying.spawn(async move {
            let outcome = tokio::time::timeout(timeout, once(&client, &url, timeout)).await;
            drop(slot);
            outcome.unwrap_or(Outcome::NoAnswer)
        });
    }

    // The deadline has come: what finished counts, the rest is abandoned.
    while let Some(done) = flying.try_join_next() {
        report.record(done);
    }
    flying.abort_all();
    while let Some(done) = flying.join_next().await {
        report.record(done);
    }
    report.ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    report
}

/// One GET: its status, the body read (at most [`BODY_LIMIT`]) and dropped.
async fn once(client: &reqwest::Client, url: &str, timeout: Duration) -> Outcome {
    let mut resp = match client.get(url).timeout(timeout).send().await {
        Ok(r) => r,
        Err(_) => return Outcome::NoAnswer,
    };
    let status = resp.status().as_u16();
    let mut read = 0usize;
    while read < BODY_LIMIT {
        match resp.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            Ok(None) | Err(_) => break,
        }
    }
    Outcome::Answered(status)
}

#[cfg(test)]
#[path = "load_test.rs"]
mod tests;
