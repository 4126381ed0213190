//! [`CloudWatchLogsReader`]: the [`LogReader`] adapter on CloudWatch Logs (feature `logs`).
//!
//! `GetLogEvents` with `startFromHead=false` answers the newest events of the stream, oldest
//! first within the page, and a `nextBackwardToken` that reads the page before it. The reader
//! follows that token for at most [`MAX_PAGES`] pages until it has `limit` events, and stops
//! early when the token comes back unchanged (the start of the stream). An empty page goes on:
//! the API may answer one while older events remain.

use aws_config::SdkConfig;
use aws_sdk_cloudwatchlogs::Client;

use super::LogReader;
use crate::{Error, Result};

/// The most pages one read asks for.
pub const MAX_PAGES: usize = 3;

/// The most events `GetLogEvents` returns in one page.
const PAGE_MAX: usize = 10_000;

/// Reads the end of log streams with `GetLogEvents` (IAM: `logs:GetLogEvents` on the streams).
#[derive(Debug, Clone)]
pub struct CloudWatchLogsReader {
    client: Client,
}

impl CloudWatchLogsReader {
    pub fn new(sdk: &SdkConfig) -> Self {
        Self {
            client: Client::new(sdk),
        }
    }

    pub fn from_client(client: Client) -> Self {
        Self { client }
    }
}

impl LogReader for CloudWatchLogsReader {
    async fn last_events(&self, group: &str, stream: &str, limit: usize) -> Result<Vec<String>> {
        // Pages come newest first; each page is oldest first.
        let mut pages: Vec<Vec<String>> = Vec::new();
        let mut have = 0;
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            if have >= limit {
                break;
            }
            let want = (limit - have).min(PAGE_MAX);
            let out = self
                .client
                .get_log_events()
                .log_group_name(group)
                .log_stream_name(stream)
                .start_from_head(false)
                .limit(i32::try_from(want).unwrap_or(i32::MAX))
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| Error::aws("GetLogEvents", e))?;
            let page: Vec<String> = out
                .events()
                .iter()
                .map(|e| e.message().unwrap_or_default().to_owned())
                .collect();
            // An empty page does not end the stream: GetLogEvents may answer one while older
            // events remain behind the token, so only an unchanged token ends the read.
            have += page.len();
            pages.push(page);
            let next = out.next_backward_token().map(str::to_owned);
            if next.is_none() || next == token {
                break;
            }
            token = next;
        }
        let mut events: Vec<String> = pages.into_iter().rev().flatten().collect();
        let extra = events.len().saturating_sub(limit);
        events.drain(..extra);
        Ok(events)
    }
}
