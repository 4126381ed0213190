//! The in-memory twins of [`Functions`] (AWS Lambda) and [`Metrics`] (CloudWatch): configured
//! answers per function version, metric totals and series per metric and dimensions, alarms
//! with their tags (selected as the SDK adapter selects them), every call recorded, and
//! failures on demand.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use codehooks::Result;
use serde_json::Value;

use crate::facts::{AlarmFacts, AlarmSelector, InvokeResult, MetricQuery, MetricSeries, MetricSum};
use crate::ports::{Functions, Metrics};
use crate::sdk_cloudwatch::{MAX_TAGGED_CANDIDATES, too_many_alarms};
use crate::twin_faults::{Faults, lock, twin_error};

#[derive(Debug, Default)]
struct FunctionsState {
    /// `function:qualifier` → the answer every invocation gets.
    answers: HashMap<String, InvokeResult>,
    /// (`function:qualifier`, the payload as compact JSON) → the answer to that payload.
    by_payload: HashMap<(String, String), InvokeResult>,
    /// `function:qualifier` → how long each invocation takes.
    delays: HashMap<String, Duration>,
    in_flight: u32,
    max_in_flight: u32,
    /// `(function, qualifier, payload)` of every invocation.
    invocations: Vec<(String, String, Vec<u8>)>,
    faults: Faults,
}

/// AWS Lambda in memory.
#[derive(Debug, Default)]
pub struct MemoryFunctions {
    state: Mutex<FunctionsState>,
}

/// Counts an invocation in flight until it ends (or is dropped by a timeout).
struct InFlight<'a>(&'a Mutex<FunctionsState>);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut s = lock(self.0);
        s.in_flight = s.in_flight.saturating_sub(1);
    }
}

impl MemoryFunctions {
    pub fn new() -> MemoryFunctions {
        MemoryFunctions::default()
    }

    /// What invoking `function` at `qualifier` answers.
    pub fn answer(&self, function: &str, qualifier: &str, result: InvokeResult) {
        lock(&self.state)
            .answers
            .insert(format!("{function}:{qualifier}"), result);
    }

    /// What invoking `function` at `qualifier` with exactly `payload` answers (before
    /// [`MemoryFunctions::answer`]).
    pub fn answer_to(
        &self,
        function: &str,
        qualifier: &str,
        payload: &Value,
        result: InvokeResult,
    ) {
        lock(&self.state).by_payload.insert(
            (format!("{function}:{qualifier}"), payload.to_string()),
            result,
        );
    }

    /// How long each invocation of `function` at `qualifier` takes.
    pub fn delay(&self, function: &str, qualifier: &str, delay: Duration) {
        lock(&self.state)
            .delays
            .insert(format!("{function}:{qualifier}"), delay);
    }

    /// Makes the next `times` invocations fail.
    pub fn fail(&self, times: u32, retryable: bool) {
        lock(&self.state)
            .faults
            .0
            .insert("Invoke", (times, retryable));
    }

    /// Every invocation: function, qualifier, payload.
    pub fn invocations(&self) -> Vec<(String, String, Vec<u8>)> {
        lock(&self.state).invocations.clone()
    }

    /// The most invocations that were in flight at once.
    pub fn max_in_flight(&self) -> u32 {
        lock(&self.state).max_in_flight
    }
}

impl Functions for MemoryFunctions {
    async fn invoke(
        &self,
        function: &str,
        qualifier: &str,
        payload: &[u8],
    ) -> Result<InvokeResult> {
        let key = format!("{function}:{qualifier}");
        let (answer, delay) = {
            let mut s = lock(&self.state);
            s.invocations
                .push((function.to_owned(), qualifier.to_owned(), payload.to_vec()));
            s.faults.take("Invoke")?;
            let json = serde_json::from_slice::<Value>(payload)
                .map(|v| v.to_string())
                .unwrap_or_default();
            let answer = s
                .by_payload
                .get(&(key.clone(), json))
                .or_else(|| s.answers.get(&key))
                .cloned()
                .ok_or_else(|| twin_error("Invoke", "ResourceNotFoundException", false))?;
            s.in_flight += 1;
            s.max_in_flight = s.max_in_flight.max(s.in_flight);
            (answer, s.delays.get(&key).copied())
        };
        let _flight = InFlight(&self.state);
        match delay {
            Some(d) => tokio::time::sleep(d).await,
            None => tokio::task::yield_now().await,
        }
        Ok(answer)
    }
}

/// Metric dimensions: `(name, value)` pairs.
type Dimensions = Vec<(String, String)>;

/// The values one query answers: namespace (`None`: any), metric, dimensions (sorted), stat.
#[derive(Debug)]
struct Series {
    namespace: Option<String>,
    metric: String,
    dimensions: Dimensions,
    stat: String,
    values: Vec<f64>,
}

#[derive(Debug, Default)]
struct MetricsState {
    /// `metric name` + dimensions → total.
    totals: Vec<(String, Dimensions, f64)>,
    series: Vec<Series>,
    /// Alarms and their tags, in the order set.
    alarms: Vec<(AlarmFacts, BTreeMap<String, String>)>,
    calls: Vec<(Vec<MetricQuery>, i64, i64)>,
    series_calls: Vec<(Vec<MetricQuery>, i64, i64)>,
    alarm_calls: Vec<AlarmSelector>,
    faults: Faults,
}

/// CloudWatch in memory.
#[derive(Debug, Default)]
pub struct MemoryMetrics {
    state: Mutex<MetricsState>,
}

fn sorted(dimensions: &[(&str, &str)]) -> Dimensions {
    let mut dims: Dimensions = dimensions
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    dims.sort();
    dims
}

impl MemoryMetrics {
    pub fn new() -> MemoryMetrics {
        MemoryMetrics::default()
    }

    /// The total a query of `metric` with exactly these dimensions answers.
    pub fn set(&self, metric: &str, dimensions: &[(&str, &str)], total: f64) {
        let dims = dimensions
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        lock(&self.state)
            .totals
            .push((metric.to_owned(), dims, total));
    }

    /// The values a `series` query of `metric` and `stat` with exactly these dimensions (in any
    /// order) answers, in any namespace; replaces what was set for the same key.
    pub fn set_series(
        &self,
        metric: &str,
        dimensions: &[(&str, &str)],
        stat: &str,
        values: &[f64],
    ) {
        self.put_series(None, metric, dimensions, stat, values);
    }

    /// As [`MemoryMetrics::set_series`], for queries of `namespace` only.
    pub fn set_series_in(
        &self,
        namespace: &str,
        metric: &str,
        dimensions: &[(&str, &str)],
        stat: &str,
        values: &[f64],
    ) {
        self.put_series(Some(namespace), metric, dimensions, stat, values);
    }

    fn put_series(
        &self,
        namespace: Option<&str>,
        metric: &str,
        dimensions: &[(&str, &str)],
        stat: &str,
        values: &[f64],
    ) {
        let new = Series {
            namespace: namespace.map(str::to_owned),
            metric: metric.to_owned(),
            dimensions: sorted(dimensions),
            stat: stat.to_owned(),
            values: values.to_vec(),
        };
        let mut s = lock(&self.state);
        s.series.retain(|o| {
            (&o.namespace, &o.metric, &o.dimensions, &o.stat)
                != (&new.namespace, &new.metric, &new.dimensions, &new.stat)
        });
        s.series.push(new);
    }

    /// An alarm and its tags; replaces an alarm of the same name.
    pub fn set_alarm(&self, facts: AlarmFacts, tags: &[(&str, &str)]) {
        let tags = tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut s = lock(&self.state);
        match s.alarms.iter_mut().find(|(a, _)| a.name == facts.name) {
            Some(slot) => *slot = (facts, tags),
            None => s.alarms.push((facts, tags)),
        }
    }

    /// Makes the next `times` metric reads (`sums` and `series`) fail.
    pub fn fail(&self, times: u32, retryable: bool) {
        lock(&self.state)
            .faults
            .0
            .insert("GetMetricData", (times, retryable));
    }

    /// Makes the next `times` alarm reads fail.
    pub fn fail_alarms(&self, times: u32, retryable: bool) {
        lock(&self.state)
            .faults
            .0
            .insert("DescribeAlarms", (times, retryable));
    }

    /// Every `sums` call: the queries and the time range.
    pub fn calls(&self) -> Vec<(Vec<MetricQuery>, i64, i64)> {
        lock(&self.state).calls.clone()
    }

    /// Every `series` call: the queries and the time range.
    pub fn series_calls(&self) -> Vec<(Vec<MetricQuery>, i64, i64)> {
        lock(&self.state).series_calls.clone()
    }

    /// Every `alarms` call: the selector.
    pub fn alarm_calls(&self) -> Vec<AlarmSelector> {
        lock(&self.state).alarm_calls.clone()
    }
}

/// The alarms a selector selects, as the SDK adapter selects them: names ∪ prefix (every
/// alarm when only tags select, none for an empty selector), once each, then those carrying
/// every wanted tag; more than [`MAX_TAGGED_CANDIDATES`] candidates to tag-check is an error.
fn select(
    alarms: &[(AlarmFacts, BTreeMap<String, String>)],
    sel: &AlarmSelector,
) -> Result<Vec<AlarmFacts>> {
    let prefix = sel.prefix.as_deref().filter(|p| !p.is_empty());
    let all = sel.names.is_empty() && prefix.is_none() && !sel.tags.is_empty();
    let candidates: Vec<&(AlarmFacts, BTreeMap<String, String>)> = alarms
        .iter()
        .filter(|(a, _)| {
            all || sel.names.contains(&a.name) || prefix.is_some_and(|p| a.name.starts_with(p))
        })
        .collect();
    if sel.tags.is_empty() {
        return Ok(candidates.into_iter().map(|(a, _)| a.clone()).collect());
    }
    if candidates.len() > MAX_TAGGED_CANDIDATES {
        return Err(too_many_alarms());
    }
    Ok(candidates
        .into_iter()
        .filter(|(_, tags)| sel.tags.iter().all(|(k, v)| tags.get(k) == Some(v)))
        .map(|(a, _)| a.clone())
        .collect())
}

impl Metrics for MemoryMetrics {
    async fn sums(
        &self,
        queries: &[MetricQuery],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<MetricSum>> {
        let mut s = lock(&self.state);
        s.calls.push((queries.to_vec(), start_ms, end_ms));
        s.faults.take("GetMetricData")?;
        Ok(queries
            .iter()
            .map(|q| {
                let mut dims = q.dimensions.clone();
                dims.sort();
                let found = s.totals.iter().find(|(m, d, _)| {
                    let mut d = d.clone();
                    d.sort();
                    *m == q.metric_name && d == dims
                });
                MetricSum {
                    id: q.id.clone(),
                    sum: found.map(|(_, _, t)| *t).unwrap_or(0.0),
                    datapoints: usize::from(found.is_some()),
                }
            })
            .collect())
    }

    async fn series(
        &self,
        queries: &[MetricQuery],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<MetricSeries>> {
        let mut s = lock(&self.state);
        s.series_calls.push((queries.to_vec(), start_ms, end_ms));
        s.faults.take("GetMetricData")?;
        Ok(queries
            .iter()
            .map(|q| {
                let mut dims = q.dimensions.clone();
                dims.sort();
                let values = s
                    .series
                    .iter()
                    .filter(|o| {
                        o.namespace.as_ref().is_none_or(|n| *n == q.namespace)
                            && o.metric == q.metric_name
                            && o.stat == q.stat
                            && o.dimensions == dims
                    })
                    .flat_map(|o| o.values.iter().copied())
                    .collect();
                MetricSeries {
                    id: q.id.clone(),
                    values,
                }
            })
            .collect())
    }

    async fn alarms(&self, selector: &AlarmSelector) -> Result<Vec<AlarmFacts>> {
        let mut s = lock(&self.state);
        s.alarm_calls.push(selector.clone());
        s.faults.take("DescribeAlarms")?;
        select(&s.alarms, selector)
    }
}

#[cfg(test)]
#[path = "twins_lambda_test.rs"]
mod tests;
