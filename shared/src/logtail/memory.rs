//! [`MemoryLogs`]: the in-memory twin of the CloudWatch Logs reader, for unit tests.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::LogReader;
use crate::error::is_retryable_code;
use crate::{Error, Result};

/// Streams in memory; a missing stream fails as CloudWatch Logs does
/// (`ResourceNotFoundException`), and [`MemoryLogs::fail_with`] makes every read fail.
#[derive(Debug, Default)]
pub struct MemoryLogs {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    streams: HashMap<(String, String), Vec<String>>,
    failure: Option<(String, String)>,
    reads: usize,
}

impl MemoryLogs {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds events (oldest first) to the end of a stream, creating it.
    pub fn put<I, S>(&self, group: &str, stream: &str, lines: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.lock()
            .streams
            .entry((group.to_owned(), stream.to_owned()))
            .or_default()
            .extend(lines.into_iter().map(Into::into));
    }

    /// Every later read fails with this error code and message (`GetLogEvents`).
    pub fn fail_with(&self, code: &str, message: &str) {
        self.lock().failure = Some((code.to_owned(), message.to_owned()));
    }

    /// How many reads were asked for, including the failed ones.
    pub fn reads(&self) -> usize {
        self.lock().reads
    }
}

impl LogReader for MemoryLogs {
    async fn last_events(&self, group: &str, stream: &str, limit: usize) -> Result<Vec<String>> {
        let mut m = self.lock();
        m.reads += 1;
        let fail = |code: &str, message: &str| Error::Aws {
            operation: "GetLogEvents",
            code: code.to_owned(),
            message: message.to_owned(),
            retryable: is_retryable_code(code),
        };
        if let Some((code, message)) = &m.failure {
            return Err(fail(code, message));
        }
        let Some(events) = m.streams.get(&(group.to_owned(), stream.to_owned())) else {
            return Err(fail(
                "ResourceNotFoundException",
                "The specified log stream does not exist.",
            ));
        };
        Ok(events[events.len().saturating_sub(limit)..].to_vec())
    }
}
