//! The in-memory twins of [`Functions`] (AWS Lambda) and [`Metrics`] (CloudWatch): configured
//! answers per function version, metric totals per query id, every call recorded, and
//! failures on demand.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use codehooks::Result;
use serde_json::Value;

use crate::facts::{InvokeResult, MetricQuery, MetricSum};
use crate::ports::{Functions, Metrics};
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

#[derive(Debug, Default)]
struct MetricsState {
    /// `metric name` + dimensions → total.
    totals: Vec<(String, Dimensions, f64)>,
    calls: Vec<(Vec<MetricQuery>, i64, i64)>,
    faults: Faults,
}

/// CloudWatch in memory.
#[derive(Debug, Default)]
pub struct MemoryMetrics {
    state: Mutex<MetricsState>,
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

    /// Makes the next `times` calls fail.
    pub fn fail(&self, times: u32, retryable: bool) {
        lock(&self.state)
            .faults
            .0
            .insert("GetMetricData", (times, retryable));
    }

    /// Every call: the queries and the time range.
    pub fn calls(&self) -> Vec<(Vec<MetricQuery>, i64, i64)> {
        lock(&self.state).calls.clone()
    }
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
}
