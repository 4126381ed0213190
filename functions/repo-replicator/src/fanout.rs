//! The answer to an invocation from the work queue, and the queue's lag metric.
//!
//! With `ReportBatchItemFailures` on the event source, Lambda reads the answer
//! `{"batchItemFailures":[{"itemIdentifier":"<messageId>"}]}`: the listed messages are
//! delivered again (after the visibility timeout, up to the queue's `maxReceiveCount`, then
//! dead-lettered); every other message of the batch is deleted. An empty list means the whole
//! batch succeeded.
//!
//! `QueueLagMs` (dimension `Repository`): from the message's `SentTimestamp` to the moment its
//! repository was replicated, the time a repository waited in the fan-out.

use codehooks::emf::Metrics;
use serde::Serialize;

use crate::NAME;
use crate::event::QueueJob;

/// The answer Lambda's SQS event source reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// A message to deliver again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

impl BatchResponse {
    /// Every message succeeded.
    pub fn all_done() -> Self {
        Self::default()
    }

    /// Marks `message_id` for redelivery (once, whatever how often it is named).
    pub fn fail(&mut self, message_id: &str) -> &mut Self {
        if !self
            .batch_item_failures
            .iter()
            .any(|f| f.item_identifier == message_id)
        {
            self.batch_item_failures.push(BatchItemFailure {
                item_identifier: message_id.to_owned(),
            });
        }
        self
    }

    /// The answer for `jobs`, where `done(job)` says whether the job succeeded (a bad record
    /// never did).
    pub fn of<'a>(jobs: &'a [QueueJob], mut done: impl FnMut(&'a QueueJob) -> bool) -> Self {
        let mut r = Self::default();
        for j in jobs {
            if j.job().is_none() || !done(j) {
                r.fail(&j.message_id);
            }
        }
        r
    }

    /// The message ids to deliver again.
    pub fn failed_ids(&self) -> impl Iterator<Item = &str> {
        self.batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
    }

    pub fn is_all_done(&self) -> bool {
        self.batch_item_failures.is_empty()
    }
}

/// The lag of a queued job when it was done at `now_ms`: `None` when the record had no
/// `SentTimestamp` (a clock ahead of `now_ms` gives 0).
pub fn queue_lag_ms(job: &QueueJob, now_ms: u64) -> Option<u64> {
    job.sent_ms.map(|sent| now_ms.saturating_sub(sent))
}

/// The metrics record of a queued repository done at `now_ms` (`None` without a send time).
pub fn queue_lag_metrics(
    namespace: &str,
    repository: &str,
    job: &QueueJob,
    now_ms: u64,
) -> Option<Metrics> {
    let lag = queue_lag_ms(job, now_ms)?;
    let mut m = Metrics::new(namespace, NAME);
    m.dimension("Repository", repository)
        .millis("QueueLagMs", lag as f64)
        .count("ReceiveCount", f64::from(job.receive_count))
        .property("messageId", job.message_id.as_str());
    Some(m)
}

#[cfg(test)]
#[path = "fanout_test.rs"]
mod tests;
