//! The common start-up and invocation loop of every function.
//!
//! A function is its domain module plus an implementation of [`Function`]; its `main.rs` is
//!
//! ```ignore
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), lambda_runtime::Error> {
//!     codehooks::harness::run::<my_function::App>().await
//! }
//! ```
//!
//! [`run`] installs logging, reads and validates the whole configuration once ([`Common`]
//! and the function's own variables, every problem reported together), loads the AWS SDK
//! configuration, builds the function and serves invocations. After each invocation it writes
//! one summary log line and one EMF record (dimension `Outcome`: the outcome's
//! [`Outcome::label`], or the error's kind), so every function is observed the same way.

use std::future::Future;
use std::time::Instant;

use aws_config::SdkConfig;
use lambda_runtime::{LambdaEvent, service_fn};
use serde::Serialize;
use serde_json::Value;

use crate::aws::AwsOptions;
use crate::config::{ConfigError, Env};
use crate::emf::Metrics;
use crate::{Error, Result};

/// Settings every function shares.
#[derive(Debug, Clone)]
pub struct Common {
    /// Namespace of the CloudWatch metrics the function emits (`CODEHOOKS_METRICS_NAMESPACE`).
    pub metrics_namespace: String,
    /// How the AWS clients retry and time out.
    pub aws: AwsOptions,
}

impl Common {
    pub fn read(env: &mut Env<'_>) -> Self {
        Self {
            metrics_namespace: env.string_or("CODEHOOKS_METRICS_NAMESPACE", "codehooks"),
            aws: AwsOptions::read(env),
        }
    }
}

impl Default for Common {
    fn default() -> Self {
        Self {
            metrics_namespace: "codehooks".to_owned(),
            aws: AwsOptions::default(),
        }
    }
}

/// What one invocation did, as the function answers it.
pub trait Outcome: Serialize {
    /// A short label: the `Outcome` metric dimension and the summary line's `outcome`.
    fn label(&self) -> &str;
    /// Adds the function's own values to the invocation's EMF record.
    fn record(&self, _metrics: &mut Metrics) {}
}

/// A Lambda function served by [`run`].
pub trait Function: Sized + Send + Sync + 'static {
    /// The function's name in logs and metrics (`pr-comments`, ...).
    const NAME: &'static str;
    /// The function's own configuration.
    type Config: Send;
    /// What an invocation answers.
    type Output: Outcome;

    /// Reads the function's own variables; problems are recorded in `env`.
    fn read_config(env: &mut Env<'_>) -> Self::Config;

    /// Builds the function (clients, adapters) from a valid configuration.
    fn build(common: &Common, config: Self::Config, sdk: &SdkConfig) -> Self;

    /// Called instead of [`Function::build`] when the configuration is invalid, with what
    /// could be read (wrong values replaced by their defaults). The default refuses to start,
    /// so the error shows as a failed initialisation.
    fn degraded(
        _common: &Common,
        _config: Self::Config,
        error: ConfigError,
        _sdk: &SdkConfig,
    ) -> std::result::Result<Self, ConfigError> {
        Err(error)
    }

    /// Handles one invocation.
    fn handle(&self, event: LambdaEvent<Value>) -> impl Future<Output = Result<Self::Output>>;
}

/// Reads the configuration of `F` from `lookup`: the common settings, the function's own, and
/// every problem found in either.
pub fn read_config<F: Function>(
    lookup: impl Fn(&str) -> Option<String>,
) -> (Common, F::Config, std::result::Result<(), ConfigError>) {
    let mut env = Env::from_fn(lookup);
    let common = Common::read(&mut env);
    let config = F::read_config(&mut env);
    (common, config, env.finish())
}

/// Builds `F` from variables given by `lookup` and an SDK configuration (tests and tools use
/// this with local endpoints; [`run`] with the process environment).
pub fn build<F: Function>(
    lookup: impl Fn(&str) -> Option<String>,
    sdk: &SdkConfig,
) -> std::result::Result<(Common, F), ConfigError> {
    let (common, config, checked) = read_config::<F>(lookup);
    let function = match checked {
        Ok(()) => F::build(&common, config, sdk),
        Err(error) => F::degraded(&common, config, error, sdk)?,
    };
    Ok((common, function))
}

/// Serves `F` in the Lambda runtime: the whole `main` of a function.
pub async fn run<F: Function>() -> std::result::Result<(), lambda_runtime::Error> {
    crate::logging::init();
    let (common, config, checked) = read_config::<F>(|name| std::env::var(name).ok());
    let sdk = crate::aws::load(&common.aws).await;
    let function = match checked {
        Ok(()) => F::build(&common, config, &sdk),
        Err(error) => F::degraded(&common, config, error, &sdk).inspect_err(|error| {
            tracing::error!(function = F::NAME, error = %error, "start-up failed");
        })?,
    };
    let (function, common) = (&function, &common);
    lambda_runtime::run(service_fn(move |event| invoke(function, common, event))).await
}

/// One invocation: the function's answer, the summary line and the EMF record.
pub async fn invoke<F: Function>(
    function: &F,
    common: &Common,
    event: LambdaEvent<Value>,
) -> Result<Value> {
    let started = Instant::now();
    let result = function.handle(event).await;
    let mut metrics = Metrics::new(&common.metrics_namespace, F::NAME);
    let answer = match result {
        Ok(output) => {
            metrics.dimension("Outcome", output.label());
            output.record(&mut metrics);
            let value = serde_json::to_value(&output)
                .map_err(|e| Error::internal(format!("the answer does not serialize: {e}")));
            match &value {
                Ok(v) => tracing::info!(
                    function = F::NAME,
                    outcome = output.label(),
                    answer = %summary(v),
                    "done"
                ),
                Err(e) => tracing::error!(function = F::NAME, error = %e, "failed"),
            }
            value
        }
        Err(e) => {
            metrics.dimension("Outcome", e.kind());
            tracing::error!(function = F::NAME, error = %e, kind = e.kind(), "failed");
            Err(e)
        }
    };
    metrics
        .millis("DurationMs", started.elapsed().as_secs_f64() * 1000.0)
        .count("Invocations", 1.0)
        .emit();
    answer
}

/// The answer as one line for the summary log line, cut to a readable length.
fn summary(value: &Value) -> String {
    const MAX: usize = 2000;
    let text = value.to_string();
    if text.len() <= MAX {
        return text;
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

#[cfg(test)]
#[path = "harness_test.rs"]
mod tests;
