//! The error type every handler returns.
//!
//! Two families matter to an event-driven function:
//! - [`Error::BadInput`]: the event is not one the function can act on. It is logged and
//!   returned before any side effect, so a redelivery (EventBridge retries, then the
//!   dead-letter queue keeps it) cannot do anything either.
//! - [`Error::Aws`] and [`Error::Transient`]: a dependency failed after the SDK's own retries.
//!   The invocation fails so that the event source tries again later.
//!
//! The Lambda error type reported to the runtime is the variant's name (`BadInput`,
//! `AwsError`, `Transient`, `Config`, `Internal`), so failures can be told apart in the
//! dead-letter queue and in metrics without reading the message.

use std::fmt;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The event does not have the shape or content the function accepts.
    #[error("bad input: {0}")]
    BadInput(String),
    /// An AWS call failed after retries.
    #[error("{operation} failed: {code}: {message}")]
    Aws {
        operation: &'static str,
        code: String,
        message: String,
        /// Whether trying the same call later may succeed (throttling, 5xx, timeouts).
        retryable: bool,
    },
    /// A dependency other than an AWS API (a git server, a probe target) failed for now.
    #[error("transient failure: {0}")]
    Transient(String),
    /// The function's configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A state the code does not expect; a defect to report.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn bad_input(message: impl fmt::Display) -> Self {
        Self::BadInput(message.to_string())
    }

    pub fn transient(message: impl fmt::Display) -> Self {
        Self::Transient(message.to_string())
    }

    pub fn internal(message: impl fmt::Display) -> Self {
        Self::Internal(message.to_string())
    }

    /// An SDK error of `operation`, with its service error code when there is one.
    ///
    /// Use as `client.op().send().await.map_err(|e| Error::aws("GetDeployment", e))`.
    pub fn aws<E>(operation: &'static str, err: E) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error,
    {
        let code = err.code().map(str::to_owned);
        let retryable = match code.as_deref() {
            // No code: the request never got a service answer (timeout, connection, DNS).
            None => true,
            Some(c) => is_retryable_code(c),
        };
        let message = match err.message() {
            Some(m) => m.to_owned(),
            None => error_chain(&err),
        };
        Self::Aws {
            operation,
            code: code.unwrap_or_else(|| "NoServiceResponse".to_owned()),
            message,
            retryable,
        }
    }

    /// The error code of an AWS error (`None` for other variants).
    pub fn aws_code(&self) -> Option<&str> {
        match self {
            Self::Aws { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The name reported as the Lambda error type.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::BadInput(_) => "BadInput",
            Self::Aws { .. } => "AwsError",
            Self::Transient(_) => "Transient",
            Self::Config(_) => "Config",
            Self::Internal(_) => "Internal",
        }
    }

    /// Whether a later retry of the whole invocation may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::BadInput(_) | Self::Config(_) => false,
            Self::Aws { retryable, .. } => *retryable,
            Self::Transient(_) | Self::Internal(_) => true,
        }
    }
}

/// Error codes that AWS documents as throttling or server-side faults.
pub fn is_retryable_code(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestThrottledException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "ProvisionedThroughputExceededException"
            | "RequestTimeout"
            | "RequestTimeoutException"
            | "InternalFailure"
            | "InternalError"
            | "InternalServerError"
            | "InternalServiceError"
            | "InternalServiceException"
            | "ServiceUnavailable"
            | "ServiceUnavailableException"
    )
}

/// `err` and its sources, joined with ": ".
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(err: Error) -> Self {
        lambda_runtime::Diagnostic {
            error_type: err.kind().to_owned(),
            error_message: err.to_string(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::error::ErrorMetadata;

    #[derive(Debug)]
    struct FakeServiceError(ErrorMetadata);
    impl fmt::Display for FakeServiceError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "service error")
        }
    }
    impl std::error::Error for FakeServiceError {}
    impl ProvideErrorMetadata for FakeServiceError {
        fn meta(&self) -> &ErrorMetadata {
            &self.0
        }
    }

    fn service_error(code: &str, message: &str) -> FakeServiceError {
        FakeServiceError(ErrorMetadata::builder().code(code).message(message).build())
    }

    #[test]
    fn classifies_aws_errors() {
        let throttled = Error::aws(
            "GetDeployment",
            service_error("ThrottlingException", "slow down"),
        );
        assert!(throttled.is_retryable());
        assert_eq!(throttled.kind(), "AwsError");
        assert_eq!(throttled.aws_code(), Some("ThrottlingException"));
        assert_eq!(
            throttled.to_string(),
            "GetDeployment failed: ThrottlingException: slow down"
        );

        let denied = Error::aws(
            "Publish",
            service_error("AuthorizationError", "not allowed"),
        );
        assert!(!denied.is_retryable());

        let no_answer = Error::aws(
            "Publish",
            FakeServiceError(ErrorMetadata::builder().build()),
        );
        assert!(no_answer.is_retryable());
        assert_eq!(no_answer.aws_code(), Some("NoServiceResponse"));
    }

    #[test]
    fn bad_input_is_final_and_named() {
        let e = Error::bad_input("detail.pullRequestId is missing");
        assert!(!e.is_retryable());
        let d: lambda_runtime::Diagnostic = e.into();
        assert_eq!(d.error_type, "BadInput");
        assert_eq!(
            d.error_message,
            "bad input: detail.pullRequestId is missing"
        );
    }

    #[test]
    fn config_errors_convert() {
        let e: Error = ConfigError::single("X", "is required but is not set").into();
        assert_eq!(e.kind(), "Config");
        assert!(e.to_string().contains("X is required"));
    }
}
