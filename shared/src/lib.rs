//! `codehooks`: what the four codehooks Lambda functions share.
//!
//! - [`config`]: environment variables read and validated once at start-up;
//! - [`aws`]: the AWS SDK configuration (retries, timeouts, endpoint overrides);
//! - [`logging`]: structured logs with the request id on every line;
//! - [`error`]: bad input versus transient faults;
//! - [`idempotency`]: deterministic client tokens;
//! - [`emf`]: CloudWatch Embedded Metric Format records;
//! - [`events`]: the EventBridge envelope.

pub mod aws;
pub mod config;
#[cfg(feature = "dynamodb")]
pub mod dedup;
pub mod emf;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod logging;

pub use error::{Error, Result};
