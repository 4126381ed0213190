//! The SDK adapter of [`Metrics`] (CloudWatch): `GetMetricData` page by page (totals and
//! series), `DescribeAlarms` and `ListTagsForResource` (the alarms a selector selects), with
//! their conversions and choices as plain functions.

use std::collections::{BTreeMap, HashSet};

use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types as cw;
use codehooks::{Error, Result};
use tokio::task::JoinSet;

use crate::facts::{AlarmFacts, AlarmSelector, MetricQuery, MetricSeries, MetricSum};
use crate::ports::Metrics;

/// Most `GetMetricData` pages read for one call (each holds up to 100,800 values).
pub const MAX_METRIC_PAGES: usize = 20;
/// Most alarm names in one `DescribeAlarms` call (the API's limit).
pub const MAX_NAMES_PER_CALL: usize = 100;
/// Most `DescribeAlarms` pages read for one filter (each holds up to 100 alarms).
pub const MAX_ALARM_PAGES: usize = 20;
/// Most alarms whose tags are read (one `ListTagsForResource` each).
pub const MAX_TAGGED_CANDIDATES: usize = 100;
/// `ListTagsForResource` calls in flight at once.
const TAG_READS_IN_FLIGHT: usize = 10;

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

/// A result CloudWatch could not compute (`InternalError`, `Forbidden`) is an error;
/// `PartialData` and `Complete` are not (the next page holds the rest).
pub fn check_result(r: &cw::MetricDataResult) -> Result<()> {
    match r.status_code() {
        Some(code @ (cw::StatusCode::InternalError | cw::StatusCode::Forbidden)) => {
            let message: Vec<&str> = r.messages().iter().filter_map(|m| m.value()).collect();
            Err(Error::Aws {
                operation: "GetMetricData",
                code: code.as_str().to_owned(),
                message: format!(
                    "query {}: {}",
                    r.id().unwrap_or_default(),
                    message.join("; ")
                ),
                retryable: *code == cw::StatusCode::InternalError,
            })
        }
        _ => Ok(()),
    }
}

/// The running totals per query id: values and data points.
pub type Totals = BTreeMap<String, (f64, usize)>;

/// Adds one page of results to the totals.
pub fn add_page(totals: &mut Totals, results: &[cw::MetricDataResult]) -> Result<()> {
    for r in results {
        check_result(r)?;
        let t = totals
            .entry(r.id().unwrap_or_default().to_owned())
            .or_default();
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

/// The values read so far per query id.
pub type Values = BTreeMap<String, Vec<f64>>;

/// Adds one page of results to the values.
pub fn add_series_page(values: &mut Values, results: &[cw::MetricDataResult]) -> Result<()> {
    for r in results {
        check_result(r)?;
        values
            .entry(r.id().unwrap_or_default().to_owned())
            .or_default()
            .extend_from_slice(r.values());
    }
    Ok(())
}

/// The series of the queries, in their order (a query without results has no values).
pub fn series(queries: &[MetricQuery], values: &Values) -> Vec<MetricSeries> {
    queries
        .iter()
        .map(|q| MetricSeries {
            id: q.id.clone(),
            values: values.get(&q.id).cloned().unwrap_or_default(),
        })
        .collect()
}

/// One `DescribeAlarms` filter (the API takes names or a prefix, not both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlarmFilter {
    Names(Vec<String>),
    Prefix(String),
    /// Every alarm (only tags select).
    All,
}

/// The `DescribeAlarms` filters of a selector: names in chunks of 100, the prefix, or every
/// alarm when only tags select; none for an empty selector.
pub fn alarm_filters(s: &AlarmSelector) -> Vec<AlarmFilter> {
    let mut seen = HashSet::new();
    let names: Vec<String> = s
        .names
        .iter()
        .filter(|n| seen.insert(n.as_str()))
        .cloned()
        .collect();
    let mut out: Vec<AlarmFilter> = names
        .chunks(MAX_NAMES_PER_CALL)
        .map(|c| AlarmFilter::Names(c.to_vec()))
        .collect();
    if let Some(p) = s.prefix.as_ref().filter(|p| !p.is_empty()) {
        out.push(AlarmFilter::Prefix(p.clone()));
    }
    if out.is_empty() && !s.tags.is_empty() {
        out.push(AlarmFilter::All);
    }
    out
}

fn facts(
    name: Option<&str>,
    arn: Option<&str>,
    state: Option<&cw::StateValue>,
    reason: Option<&str>,
    updated: Option<&DateTime>,
) -> AlarmFacts {
    AlarmFacts {
        name: name.unwrap_or_default().to_owned(),
        arn: arn.unwrap_or_default().to_owned(),
        state: state.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        reason: reason.unwrap_or_default().to_owned(),
        updated_ms: updated.and_then(|t| t.to_millis().ok()),
    }
}

/// The metric and composite alarms of one `DescribeAlarms` page.
pub fn alarm_facts(out: &DescribeAlarmsOutput) -> Vec<AlarmFacts> {
    let metric = out.metric_alarms().iter().map(|a| {
        facts(
            a.alarm_name(),
            a.alarm_arn(),
            a.state_value(),
            a.state_reason(),
            a.state_updated_timestamp(),
        )
    });
    let composite = out.composite_alarms().iter().map(|a| {
        facts(
            a.alarm_name(),
            a.alarm_arn(),
            a.state_value(),
            a.state_reason(),
            a.state_updated_timestamp(),
        )
    });
    metric.chain(composite).collect()
}

/// Whether `tags` carry every wanted key with its value.
pub fn carries_all(wanted: &BTreeMap<String, String>, tags: &[cw::Tag]) -> bool {
    wanted.iter().all(|(k, v)| {
        tags.iter()
            .any(|t| t.key() == Some(k.as_str()) && t.value() == Some(v.as_str()))
    })
}

/// The error when tags would have to be read for more than [`MAX_TAGGED_CANDIDATES`] alarms.
pub fn too_many_alarms() -> Error {
    Error::Aws {
        operation: "DescribeAlarms",
        code: "TooManyAlarms".to_owned(),
        message: format!(
            "more than {MAX_TAGGED_CANDIDATES} alarms match before the tags are checked (one \
             ListTagsForResource each); narrow the selection with a prefix or names"
        ),
        retryable: false,
    }
}

/// Alarms found so far, once each (by ARN, else by name).
#[derive(Debug, Default)]
struct Found {
    alarms: Vec<AlarmFacts>,
    keys: HashSet<String>,
}

impl Found {
    fn add(&mut self, a: AlarmFacts) {
        let key = if a.arn.is_empty() { &a.name } else { &a.arn };
        if self.keys.insert(key.clone()) {
            self.alarms.push(a);
        }
    }
}

/// The tags of one alarm; `None` when the alarm is gone since it was described.
async fn tags_of(client: aws_sdk_cloudwatch::Client, arn: String) -> Result<Option<Vec<cw::Tag>>> {
    match client
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
    {
        Ok(out) => Ok(Some(out.tags().to_vec())),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(Error::aws("ListTagsForResource", e)),
    }
}

impl SdkMetrics {
    /// Every page of `GetMetricData` for the queries, each handed to `page`.
    async fn metric_pages(
        &self,
        queries: &[MetricQuery],
        start_ms: i64,
        end_ms: i64,
        mut page: impl FnMut(&[cw::MetricDataResult]) -> Result<()> + Send,
    ) -> Result<()> {
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
            page(out.metric_data_results())?;
            match out.next_token().filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t.to_owned()),
                None => return Ok(()),
            }
        }
        Err(Error::Aws {
            operation: "GetMetricData",
            code: "TooManyPages".to_owned(),
            message: format!(
                "more than {MAX_METRIC_PAGES} pages of results; the values would be incomplete"
            ),
            retryable: false,
        })
    }

    /// Every alarm of one filter, all pages, into `found`; more than `limit` alarms found is
    /// [`too_many_alarms`].
    async fn describe(&self, filter: &AlarmFilter, found: &mut Found, limit: usize) -> Result<()> {
        let mut token: Option<String> = None;
        for _ in 0..MAX_ALARM_PAGES {
            let mut call = self
                .client
                .describe_alarms()
                .alarm_types(cw::AlarmType::MetricAlarm)
                .alarm_types(cw::AlarmType::CompositeAlarm)
                .max_records(100)
                .set_next_token(token.take());
            call = match filter {
                AlarmFilter::Names(names) => call.set_alarm_names(Some(names.clone())),
                AlarmFilter::Prefix(p) => call.alarm_name_prefix(p),
                AlarmFilter::All => call,
            };
            let out = call
                .send()
                .await
                .map_err(|e| Error::aws("DescribeAlarms", e))?;
            for a in alarm_facts(&out) {
                found.add(a);
            }
            if found.alarms.len() > limit {
                return Err(too_many_alarms());
            }
            match out.next_token().filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t.to_owned()),
                None => return Ok(()),
            }
        }
        Err(Error::Aws {
            operation: "DescribeAlarms",
            code: "TooManyPages".to_owned(),
            message: format!("more than {MAX_ALARM_PAGES} pages of alarms; narrow the prefix"),
            retryable: false,
        })
    }

    /// The candidates that carry every wanted tag, in their order.
    async fn with_tags(
        &self,
        candidates: Vec<AlarmFacts>,
        wanted: &BTreeMap<String, String>,
    ) -> Result<Vec<AlarmFacts>> {
        let mut keep = Vec::new();
        for chunk in candidates.chunks(TAG_READS_IN_FLIGHT) {
            let mut reads = JoinSet::new();
            for (i, a) in chunk.iter().enumerate() {
                let (client, arn) = (self.client.clone(), a.arn.clone());
                reads.spawn(async move { (i, tags_of(client, arn).await) });
            }
            let mut tags = vec![None; chunk.len()];
            while let Some(done) = reads.join_next().await {
                let (i, got) = done.map_err(|e| Error::internal(format!("tag read: {e}")))?;
                tags[i] = got?;
            }
            keep.extend(
                chunk
                    .iter()
                    .zip(tags)
                    .filter(|(_, t)| t.as_deref().is_some_and(|t| carries_all(wanted, t)))
                    .map(|(a, _)| a.clone()),
            );
        }
        Ok(keep)
    }
}

impl Metrics for SdkMetrics {
    async fn sums(
        &self,
        queries: &[MetricQuery],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<MetricSum>> {
        let mut totals = Totals::new();
        self.metric_pages(queries, start_ms, end_ms, |page| {
            add_page(&mut totals, page)
        })
        .await?;
        Ok(sums(queries, &totals))
    }

    async fn series(
        &self,
        queries: &[MetricQuery],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<MetricSeries>> {
        if queries.is_empty() {
            return Ok(Vec::new());
        }
        let mut values = Values::new();
        self.metric_pages(queries, start_ms, end_ms, |page| {
            add_series_page(&mut values, page)
        })
        .await?;
        Ok(series(queries, &values))
    }

    async fn alarms(&self, selector: &AlarmSelector) -> Result<Vec<AlarmFacts>> {
        let limit = if selector.tags.is_empty() {
            usize::MAX
        } else {
            MAX_TAGGED_CANDIDATES
        };
        let mut found = Found::default();
        for filter in alarm_filters(selector) {
            self.describe(&filter, &mut found, limit).await?;
        }
        if selector.tags.is_empty() {
            return Ok(found.alarms);
        }
        self.with_tags(found.alarms, &selector.tags).await
    }
}

#[cfg(test)]
#[path = "sdk_cloudwatch_test.rs"]
mod tests;
