//! The SDK adapter of [`Functions`] (AWS Lambda `Invoke`), with its conversion as a plain
//! function. CloudWatch's is in [`crate::sdk_cloudwatch`].

use aws_sdk_lambda::operation::invoke::InvokeOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use codehooks::{Error, Result};
use tokio::time::Instant;

use crate::facts::InvokeResult;
use crate::ports::Functions;

/// [`Functions`] over the Lambda client.
#[derive(Debug, Clone)]
pub struct SdkFunctions {
    pub client: aws_sdk_lambda::Client,
}

impl SdkFunctions {
    pub fn new(sdk: &aws_config::SdkConfig) -> SdkFunctions {
        SdkFunctions {
            client: aws_sdk_lambda::Client::new(sdk),
        }
    }
}

/// The plain answer of a synchronous invocation that took `duration_ms`.
pub fn invoke_result(out: &InvokeOutput, duration_ms: f64) -> InvokeResult {
    InvokeResult {
        status: u16::try_from(out.status_code()).unwrap_or(0),
        function_error: out.function_error().map(str::to_owned),
        executed_version: out.executed_version().map(str::to_owned),
        payload: out
            .payload()
            .map(|b| b.as_ref().to_vec())
            .unwrap_or_default(),
        duration_ms,
    }
}

impl Functions for SdkFunctions {
    async fn invoke(
        &self,
        function: &str,
        qualifier: &str,
        payload: &[u8],
    ) -> Result<InvokeResult> {
        let start = Instant::now();
        let out = self
            .client
            .invoke()
            .function_name(function)
            .qualifier(qualifier)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| Error::aws("Invoke", e))?;
        Ok(invoke_result(&out, start.elapsed().as_secs_f64() * 1_000.0))
    }
}

#[cfg(test)]
#[path = "sdk_lambda_test.rs"]
mod tests;
