//! The work queue the scheduled reconciliation fans out on: one job per repository on an SQS
//! FIFO queue whose message group is the repository (so one repository is replicated by one
//! execution environment at a time), consumed by the replicator itself with bounded
//! concurrency, retried and then dead-lettered by SQS.
//!
//! [`WorkQueue`] is the port; [`SqsQueue`] its adapter (SendMessageBatch in tens, each
//! message deduplicated by repository, reason and time bucket); `MemoryQueue` its twin (unit
//! tests). [`QueueConfig`] reads `CODEHOOKS_WORK_QUEUE_URL`.

use std::future::Future;

use aws_config::SdkConfig;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use codehooks::config::Env;
use codehooks::names::RepositoryName;
use codehooks::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Why a repository is queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobReason {
    /// The scheduled reconciliation.
    Reconcile,
    /// A replica was left partial by its time budget: carry on.
    Continue,
}

impl JobReason {
    pub fn as_str(self) -> &'static str {
        match self {
            JobReason::Reconcile => "reconcile",
            JobReason::Continue => "continue",
        }
    }

    /// How long equal jobs count as one (SQS keeps deduplication ids for five minutes). A
    /// `Continue` is sent after each slice of progress, so two of them are never the same job:
    /// its bucket is the millisecond.
    fn bucket_ms(self) -> u64 {
        match self {
            JobReason::Reconcile => 300_000,
            JobReason::Continue => 1,
        }
    }
}

/// One repository to replicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub repository: RepositoryName,
    pub reason: JobReason,
}

/// The JSON of a message: `{"repository": "<name>", "reason": "reconcile"}` (`reason` is
/// optional when read).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    repository: String,
    #[serde(default)]
    reason: Option<JobReason>,
}

/// Why a message body is not a job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error(
        "the body is not {{\"repository\": \"<name>\"}} (optionally with \"reason\": \"reconcile\" or \"continue\"): {0}"
    )]
    Shape(String),
    #[error("{0:?} is not a CodeCommit repository name")]
    Repository(String),
}

impl Job {
    pub fn new(repository: RepositoryName, reason: JobReason) -> Self {
        Self { repository, reason }
    }

    /// The message body.
    pub fn body(&self) -> String {
        json!({"repository": self.repository.as_str(), "reason": self.reason.as_str()}).to_string()
    }

    /// Reads a message body.
    pub fn from_body(body: &str) -> std::result::Result<Self, BodyError> {
        let b: Body = serde_json::from_str(body).map_err(|e| BodyError::Shape(e.to_string()))?;
        let repository = b
            .repository
            .parse()
            .map_err(|_| BodyError::Repository(b.repository.chars().take(120).collect()))?;
        Ok(Self {
            repository,
            reason: b.reason.unwrap_or(JobReason::Reconcile),
        })
    }

    /// The FIFO deduplication id at `now_ms`: repository, reason and time bucket in hexadecimal
    /// (at most 126 characters of the 128 SQS allows, all of them allowed).
    pub fn deduplication_id(&self, now_ms: u64) -> String {
        let bucket = now_ms / self.reason.bucket_ms();
        format!(
            "{}:{}:{bucket:x}",
            self.repository.as_str(),
            self.reason.as_str()
        )
    }
}

/// What a send did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    /// Messages the queue accepted (a duplicate within the deduplication window counts).
    pub messages: usize,
}

/// Where jobs go.
pub trait WorkQueue: Send + Sync {
    /// Queues `jobs`; fails when any of them could not be queued (those before it may be).
    fn send(&self, jobs: &[Job]) -> impl Future<Output = Result<Sent>> + Send;
}

/// The work queue's URL (`CODEHOOKS_WORK_QUEUE_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    pub url: String,
}

/// Whether `url` is an SQS FIFO queue URL: `https://<host>/<12-digit account>/<name>.fifo`,
/// or, when `insecure_local` (tests only), `http://localhost` or `http://127.0.0.1` with a port.
pub fn is_fifo_queue_url(url: &str, insecure_local: bool) -> bool {
    let rest = if let Some(r) = url.strip_prefix("https://") {
        Some((r, false))
    } else {
        url.strip_prefix("http://")
            .filter(|_| insecure_local)
            .map(|r| (r, true))
    };
    let Some((rest, local)) = rest else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let [host, account, name] = parts.as_slice() else {
        return false;
    };
    let host_ok = if local {
        let (h, port) = host.split_once(':').unwrap_or((host, ""));
        matches!(h, "localhost" | "127.0.0.1") && port.chars().all(|c| c.is_ascii_digit())
    } else {
        codehooks::names::is_host_name(host)
    };
    let stem = name.strip_suffix(".fifo").unwrap_or_default();
    host_ok
        && codehooks::names::is_account(account)
        && !stem.is_empty()
        && name.len() <= 80
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl QueueConfig {
    /// `None` when no queue is configured (the reconciliation then replicates in the loop) or
    /// when the URL is wrong (recorded in `env`). `allow_insecure`: the test-only switch of the
    /// git connection (`CODEHOOKS_ALLOW_INSECURE_GIT`, read by `Config`) also admits a local
    /// `http://` queue.
    pub fn read(env: &mut Env<'_>, allow_insecure: bool) -> Option<Self> {
        let url = env.optional("CODEHOOKS_WORK_QUEUE_URL")?;
        if is_fifo_queue_url(&url, allow_insecure) {
            Some(Self { url })
        } else {
            env.problem(
                "CODEHOOKS_WORK_QUEUE_URL",
                "must be the URL of an SQS FIFO queue, \
                 https://sqs.<region>.amazonaws.com/<account>/<name>.fifo",
            );
            None
        }
    }
}

/// The work queue on SQS.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    pub fn new(sdk: &SdkConfig, config: &QueueConfig) -> Self {
        Self {
            client: aws_sdk_sqs::Client::new(sdk),
            url: config.url.clone(),
        }
    }

    /// Sends one batch (at most ten); the entries SQS refused, with why.
    async fn send_batch(&self, jobs: &[&Job], now_ms: u64) -> Result<Vec<(usize, Failure)>> {
        let mut entries = Vec::with_capacity(jobs.len());
        for (i, job) in jobs.iter().enumerate() {
            let entry = SendMessageBatchRequestEntry::builder()
                .id(format!("m{i}"))
                .message_body(job.body())
                .message_group_id(job.repository.as_str())
                .message_deduplication_id(job.deduplication_id(now_ms))
                .build()
                .map_err(|e| Error::internal(format!("a queue message cannot be built: {e}")))?;
            entries.push(entry);
        }
        let out = self
            .client
            .send_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| Error::aws("SendMessageBatch", e))?;
        Ok(out
            .failed()
            .iter()
            .map(|f| {
                let index = f
                    .id()
                    .strip_prefix('m')
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|i| *i < jobs.len())
                    .unwrap_or(0);
                let failure = Failure {
                    code: f.code().to_owned(),
                    message: f.message().unwrap_or_default().to_owned(),
                    sender_fault: f.sender_fault(),
                };
                (index, failure)
            })
            .collect())
    }
}

/// One entry SQS refused.
#[derive(Debug, Clone)]
struct Failure {
    code: String,
    message: String,
    sender_fault: bool,
}

impl WorkQueue for SqsQueue {
    async fn send(&self, jobs: &[Job]) -> Result<Sent> {
        let now_ms = codehooks::time::now_millis();
        let mut messages = 0;
        for chunk in jobs.chunks(10) {
            let mut pending: Vec<&Job> = chunk.iter().collect();
            // Entries refused for a reason of SQS's own are sent once more.
            for attempt in 0..2 {
                let failed = self.send_batch(&pending, now_ms).await?;
                messages += pending.len().saturating_sub(failed.len());
                let Some((_, first)) = failed.first() else {
                    break;
                };
                let retry = attempt == 0 && failed.iter().all(|(_, f)| !f.sender_fault);
                if !retry {
                    let names: Vec<&str> = failed
                        .iter()
                        .filter_map(|(i, _)| pending.get(*i))
                        .map(|j| j.repository.as_str())
                        .collect();
                    return Err(Error::Aws {
                        operation: "SendMessageBatch",
                        code: first.code.clone(),
                        message: format!(
                            "{} job(s) not queued ({}): {}",
                            failed.len(),
                            names.join(", "),
                            first.message
                        ),
                        retryable: !first.sender_fault,
                    });
                }
                pending = failed
                    .iter()
                    .filter_map(|(i, _)| pending.get(*i).copied())
                    .collect();
            }
        }
        Ok(Sent { messages })
    }
}

#[cfg(test)]
pub use twin::MemoryQueue;

#[cfg(test)]
mod twin {
    use std::sync::{Mutex, PoisonError};

    use super::{Job, Sent, WorkQueue};
    use codehooks::{Error, Result};

    /// The work queue in memory: records every job, and fails on demand.
    #[derive(Debug, Default)]
    pub struct MemoryQueue {
        state: Mutex<State>,
    }

    #[derive(Debug, Default)]
    struct State {
        jobs: Vec<Job>,
        calls: usize,
        failures: u32,
    }

    impl MemoryQueue {
        pub fn new() -> Self {
            Self::default()
        }

        /// Every job queued so far, in order.
        pub fn jobs(&self) -> Vec<Job> {
            self.state().jobs.clone()
        }

        /// How many sends were asked for (failed ones included).
        pub fn calls(&self) -> usize {
            self.state().calls
        }

        /// The next `n` sends fail (retryably), queueing nothing.
        pub fn fail_next(&self, n: u32) {
            self.state().failures = n;
        }

        fn state(&self) -> std::sync::MutexGuard<'_, State> {
            self.state.lock().unwrap_or_else(PoisonError::into_inner)
        }
    }

    impl WorkQueue for MemoryQueue {
        async fn send(&self, jobs: &[Job]) -> Result<Sent> {
            let mut s = self.state();
            s.calls += 1;
            if s.failures > 0 {
                s.failures -= 1;
                return Err(Error::Aws {
                    operation: "SendMessageBatch",
                    code: "ServiceUnavailable".into(),
                    message: "injected by the twin".into(),
                    retryable: true,
                });
            }
            s.jobs.extend_from_slice(jobs);
            Ok(Sent {
                messages: jobs.len(),
            })
        }
    }
}

#[cfg(test)]
#[path = "queue_test.rs"]
mod tests;
