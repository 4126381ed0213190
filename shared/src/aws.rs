//! One way to load the AWS SDK configuration for every function.
//!
//! Region and credentials come from the Lambda environment as usual; retries use the SDK's
//! standard mode; connect, read and whole-operation timeouts are bounded. The standard endpoint
//! overrides (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`) are honoured by `aws-config`
//! itself, which is how the functions run against local endpoints.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};

use crate::config::Env;

/// Retry and timeout settings of the AWS clients.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsOptions {
    /// Attempts per call, the first included (`AWS_MAX_ATTEMPTS`, 1 to 10, default 3).
    pub max_attempts: u32,
    /// First retry back-off (`CODEHOOKS_AWS_RETRY_BACKOFF_MS`, default 1000 ms; the SDK adds jitter).
    pub initial_backoff: Duration,
    /// TCP and TLS connect timeout (`CODEHOOKS_AWS_CONNECT_TIMEOUT_MS`, default 3000 ms).
    pub connect_timeout: Duration,
    /// Time to the first byte of a response (`CODEHOOKS_AWS_READ_TIMEOUT_MS`, default 10000 ms).
    pub read_timeout: Duration,
    /// A whole call, retries included (`CODEHOOKS_AWS_OPERATION_TIMEOUT_MS`, default 30000 ms).
    pub operation_timeout: Duration,
}

impl Default for AwsOptions {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(1000),
            connect_timeout: Duration::from_millis(3000),
            read_timeout: Duration::from_millis(10_000),
            operation_timeout: Duration::from_millis(30_000),
        }
    }
}

impl AwsOptions {
    /// Reads the options from the environment.
    pub fn read(env: &mut Env<'_>) -> Self {
        let d = Self::default();
        Self {
            max_attempts: env.u64_in("AWS_MAX_ATTEMPTS", u64::from(d.max_attempts), 1..=10) as u32,
            initial_backoff: env.millis_in(
                "CODEHOOKS_AWS_RETRY_BACKOFF_MS",
                d.initial_backoff.as_millis() as u64,
                1..=20_000,
            ),
            connect_timeout: env.millis_in(
                "CODEHOOKS_AWS_CONNECT_TIMEOUT_MS",
                d.connect_timeout.as_millis() as u64,
                50..=60_000,
            ),
            read_timeout: env.millis_in(
                "CODEHOOKS_AWS_READ_TIMEOUT_MS",
                d.read_timeout.as_millis() as u64,
                50..=300_000,
            ),
            operation_timeout: env.millis_in(
                "CODEHOOKS_AWS_OPERATION_TIMEOUT_MS",
                d.operation_timeout.as_millis() as u64,
                100..=900_000,
            ),
        }
    }

    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(self.initial_backoff)
    }

    pub fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .operation_timeout(self.operation_timeout)
            .build()
    }
}

/// A loader with the project's retry and timeout settings; add anything else before `load()`.
pub fn loader(options: &AwsOptions) -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(options.retry_config())
        .timeout_config(options.timeout_config())
}

/// Loads the SDK configuration from the environment with the project's settings.
pub async fn load(options: &AwsOptions) -> SdkConfig {
    loader(options).load().await
}

/// The same configuration for another region (cross-region clients).
pub fn in_region(base: &SdkConfig, region: &str) -> SdkConfig {
    base.to_builder()
        .region(Region::new(region.to_owned()))
        .build()
}

#[cfg(test)]
#[path = "aws_test.rs"]
mod tests;
