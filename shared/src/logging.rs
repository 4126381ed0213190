//! Structured logging through `lambda_runtime`'s tracing support.
//!
//! Lambda sets `AWS_LAMBDA_LOG_FORMAT=JSON` and `AWS_LAMBDA_LOG_LEVEL` when the function's
//! `LoggingConfig` asks for JSON (the template does). The runtime opens a span carrying the
//! invocation's `requestId` around every invocation, and both formats print the span with every
//! line, so each log line names its request. The AWS SDK's and HTTP stack's own logs stay at
//! WARN whatever the level, which keeps request details out of the logs; secrets are carried
//! in [`crate::config::Secret`], which never prints its content.

use lambda_runtime::tracing::subscriber::filter::{EnvFilter, LevelFilter};
use lambda_runtime::tracing::subscriber::fmt::MakeWriter;
use std::str::FromStr;
use tracing::Subscriber;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Crates whose logs stay at WARN: they could otherwise print request details.
const QUIET: &[&str] = &[
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_sigv4",
    "aws_config",
    "aws_runtime",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "tower",
    "reqwest",
    "lambda_runtime_api_client",
];

/// Format and level as Lambda's advanced logging controls set them.
pub fn settings_from_env() -> (LogFormat, LevelFilter) {
    let format = match std::env::var("AWS_LAMBDA_LOG_FORMAT") {
        Ok(f) if f.eq_ignore_ascii_case("json") => LogFormat::Json,
        _ => LogFormat::Text,
    };
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|l| LevelFilter::from_str(l.trim()).ok())
        .unwrap_or(LevelFilter::INFO);
    (format, level)
}

/// A subscriber writing to `writer`; `init` installs one writing to stdout.
pub fn subscriber<W>(
    format: LogFormat,
    level: LevelFilter,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let mut filter = EnvFilter::default().add_directive(level.into());
    for krate in QUIET {
        if let Ok(d) = format!("{krate}=warn").parse() {
            filter = filter.add_directive(d);
        }
    }
    let builder = lambda_runtime::tracing::subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false)
        .with_writer(writer);
    match format {
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(true)
                .finish(),
        ),
        // CloudWatch stamps each line with its time already.
        LogFormat::Text => Box::new(builder.without_time().finish()),
    }
}

/// Installs the process-wide subscriber (once; later calls do nothing).
pub fn init() {
    let (format, level) = settings_from_env();
    let _ = tracing::subscriber::set_global_default(subscriber(format, level, std::io::stdout));
}

#[cfg(test)]
#[path = "logging_test.rs"]
mod tests;
