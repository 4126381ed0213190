//! `codehooks`: what the four codehooks Lambda functions share (docs/architecture.md).
//!
//! - [`harness`]: the start-up and invocation loop every `main.rs` hands its function to;
//! - [`config`]: environment variables read and validated once at start-up;
//! - [`aws`]: the AWS SDK configuration (retries, timeouts, endpoint overrides);
//! - [`logging`]: structured logs with the request id on every line;
//! - [`error`]: bad input versus transient faults;
//! - [`arn`]: partitions, ARNs, service hosts and console links;
//! - [`names`]: validated regions, accounts, repository names and commit ids;
//! - [`text`]: one-line fields, cuts with markers, SNS-safe subjects;
//! - [`time`]: UTC times in RFC 3339 and ISO 8601 basic format;
//! - [`alert`]: the alert model, its renderer and the alert publisher port;
//! - [`once`]: the once-only store port (its DynamoDB adapter is `dedup`, feature `dynamodb`);
//! - [`prbuild`]: the pull-request build link and the CodeBuild build event;
//! - [`logtail`]: the cleaned, masked tail of a build's CloudWatch Logs stream (its reader
//!   adapter is feature `logs`);
//! - [`idempotency`]: deterministic client tokens;
//! - [`emf`]: CloudWatch Embedded Metric Format records;
//! - [`events`]: the EventBridge envelope.

pub mod alert;
pub mod arn;
pub mod aws;
pub mod config;
#[cfg(feature = "dynamodb")]
pub mod dedup;
pub mod emf;
pub mod error;
pub mod events;
pub mod harness;
pub mod idempotency;
pub mod join;
pub mod logging;
pub mod logtail;
pub mod names;
pub mod once;
pub mod prbuild;
pub mod text;
pub mod time;

pub use error::{Error, Result};
