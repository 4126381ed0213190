//! The SDK adapter of [`Jobs`] (CodePipeline's job worker calls): `PutJobSuccessResult` and
//! `PutJobFailureResult`. A job that already has its answer (`InvalidJobStateException`: a
//! duplicate invocation, or a retry after a lost answer) is [`Reported::AlreadyCompleted`].

use aws_sdk_codepipeline::types as cp;
use codehooks::{Error, Result};

use crate::facts::{JobFailure, JobResult, Reported};
use crate::ports::Jobs;

/// [`Jobs`] over the CodePipeline client.
#[derive(Debug, Clone)]
pub struct SdkJobs {
    pub client: aws_sdk_codepipeline::Client,
}

impl SdkJobs {
    pub fn new(sdk: &aws_config::SdkConfig) -> SdkJobs {
        SdkJobs {
            client: aws_sdk_codepipeline::Client::new(sdk),
        }
    }
}

/// The SDK's failure type.
pub fn failure_type(kind: JobFailure) -> cp::FailureType {
    match kind {
        JobFailure::JobFailed => cp::FailureType::JobFailed,
        JobFailure::ConfigurationError => cp::FailureType::ConfigurationError,
    }
}

/// Whether an error says the job is no longer waiting for an answer.
fn already_answered(code: Option<&str>) -> bool {
    code == Some("InvalidJobStateException")
}

impl Jobs for SdkJobs {
    async fn answer(&self, job_id: &str, result: &JobResult) -> Result<Reported> {
        let (operation, sent) = match result {
            JobResult::Success {
                summary,
                external_id,
                continuation_token,
                percent_complete,
            } => {
                let details = cp::ExecutionDetails::builder()
                    .summary(summary)
                    .external_execution_id(external_id)
                    .set_percent_complete(*percent_complete)
                    .build();
                let operation = "PutJobSuccessResult";
                let call = self
                    .client
                    .put_job_success_result()
                    .job_id(job_id)
                    .execution_details(details)
                    .set_continuation_token(continuation_token.clone())
                    .send()
                    .await;
                (
                    operation,
                    call.map(|_| ()).map_err(|e| Error::aws(operation, e)),
                )
            }
            JobResult::Failure {
                kind,
                message,
                external_id,
            } => {
                let details = cp::FailureDetails::builder()
                    .r#type(failure_type(*kind))
                    .message(message)
                    .external_execution_id(external_id)
                    .build()
                    .map_err(|e| {
                        Error::internal(format!("the failure details are incomplete: {e}"))
                    })?;
                let operation = "PutJobFailureResult";
                let call = self
                    .client
                    .put_job_failure_result()
                    .job_id(job_id)
                    .failure_details(details)
                    .send()
                    .await;
                (
                    operation,
                    call.map(|_| ()).map_err(|e| Error::aws(operation, e)),
                )
            }
        };
        match sent {
            Ok(()) => Ok(Reported::Reported),
            Err(e) if already_answered(e.aws_code()) => {
                tracing::info!(operation, job_id, "the job already has its answer");
                Ok(Reported::AlreadyCompleted)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
#[path = "sdk_pipeline_test.rs"]
mod tests;
