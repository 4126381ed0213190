//! The SDK adapters of [`Functions`] (AWS Lambda `Invoke`) and [`Metrics`] (CloudWatch
//! `GetMetricData`), with their conversions as plain functions.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types as cw;
use aws_sdk_lambda::operation::invoke::InvokeOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use codehooks::{Error, Result};
use tokio::time::Instant;

use crate::facts::{InvokeResult, MetricQuery, MetricSum};
use crate::ports::{Functions, Metrics};

/// Most `GetMetricData` pages read for one call (each holds up to 100,800 values).
pub const MAX_METRIC_PAGES: usize = 20;

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

/// [`Metrics`] over the CloudWatch client.
#[derive(Debug, Clone)]
pub struct SdkMetrics {
    pub client: aws_sdk_cloudwatch::Client,
}

impl SdkMetrics {
    pub fn new(sdk: &aws_config::SdkConfig) -> SdkMetrics {
        SdkMetrics {
            client: aws_sdk_cloudwatch::Client::new(sdk),
        }
    }
}

/// The `MetricStat` query of a [`MetricQuery`].
pub fn metric_data_query(q: &MetricQuery) -> cw::MetricDataQuery {
    let metric = cw::Metric::builder()
        .namespace(&q.namespace)
        .metric_name(&q.metric_name)
        .set_dimensions(Some(
            q.dimensions
                .iter()
                .map(|(name, value)| cw::Dimension::builder().name(name).value(value).build())
                .collect(),
        ))
        .build();
    cw::MetricDataQuery::builder()
        .id(&q.id)
        .metric_stat(
            cw::MetricStat::builder()
                .metric(metric)
                .period(q.period_s)
                .stat(&q.stat)
                .build(),
        )
        .return_data(true)
        .build()
}

/// The running totals per query id: values and data points.
pub type Totals = BTreeMap<String, (f64, usize)>;

/// Adds one page of results to the totals; a result CloudWatch could not compute
/// (`InternalError`, `Forbidden`) is an error.
pub fn add_page(totals: &mut Totals, results: &[cw::MetricDataResult]) -> Result<()> {
    for r in results {
        let id = r.id().unwrap_or_default();
        if let Some(code @ (cw::StatusCode::InternalError | cw::StatusCode::Forbidden)) =
            r.status_code()
        {
            let message: Vec<&str> = r.messages().iter().filter_map(|m| m.value()).collect();
            return Err(Error::Aws {
                operation: "GetMetricData",
                code: code.as_str().to_owned(),
                message: format!("query {id}: {}", message.join("; ")),
                retryable: *code == cw::StatusCode::InternalError,
            });
        }
        let t = totals.entry(id.to_owned()).or_default();
        t.0 += r.values().iter().sum::<f64>();
        t.1 += r.values().len();
    }
    Ok(())
}

/// The sums of the queries, in their order (a query without results adds up to 0).
pub fn sums(queries: &[MetricQuery], totals: &Totals) -> Vec<MetricSum> {
    queries
        .iter()
        .map(|q| {
            let (sum, datapoints) = totals.get(&q.id).copied().unwrap_or_default();
            MetricSum {
                id: q.id.clone(),
                sum,
                datapoints,
            }
        })
        .collect()
}

impl Metrics for SdkMetrics {
    async fn sums(
        &self,
        queries: &[MetricQuery],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<MetricSum>> {
        use aws_sdk_cloudwatch::primitives::DateTime;
        let mut totals = Totals::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_METRIC_PAGES {
            let out = self
                .client
                .get_metric_data()
                .set_metric_data_queries(Some(queries.iter().map(metric_data_query).collect()))
                .start_time(DateTime::from_millis(start_ms))
                .end_time(DateTime::from_millis(end_ms))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| Error::aws("GetMetricData", e))?;
            add_page(&mut totals, out.metric_data_results())?;
            match out.next_token().filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t.to_owned()),
                None => return Ok(sums(queries, &totals)),
            }
        }
        Err(Error::Aws {
            operation: "GetMetricData",
            code: "TooManyPages".to_owned(),
            message: format!(
                "more than {MAX_METRIC_PAGES} pages of results; the totals would be incomplete"
            ),
            retryable: false,
        })
    }
}

#[cfg(test)]
#[path = "sdk_lambda_test.rs"]
mod tests;
