//! CloudWatch Embedded Metric Format (EMF).
//!
//! A metrics record is one JSON line on stdout; Lambda's log pipeline turns it into CloudWatch
//! metrics without any API call. The record holds the dimension values, the metric values and
//! any extra properties at its root, and a `_aws` block that declares which root keys are
//! metrics and dimensions:
//!
//! ```json
//! {"_aws":{"CloudWatchMetrics":[{"Namespace":"codehooks","Dimensions":[["Function","Decision"]],
//!   "Metrics":[{"Name":"DurationMs","Unit":"Milliseconds"}]}],"Timestamp":1700000000000},
//!  "DurationMs":812,"Function":"deploy-hook","Decision":"Succeeded"}
//! ```
//!
//! [`Metrics`] only collects the record (and enforces EMF's limits); the line itself is written
//! by the EMF formatter of awslabs' maintained `metrique` crates (`metrique-writer-format-emf`,
//! fed through `metrique-writer-core`'s `Entry` trait), not by JSON building of our own. The
//! project prefers a maintained crate over a home-made writer unless it costs real cold-start
//! time or binary size; measured, the formatter cost no measurable cold-start time and about
//! 137 KiB of binary size, so it writes the format.
//!
//! What the formatter does differently from a naive serializer, all allowed by the EMF
//! specification: `_aws` comes first and `Timestamp` after `CloudWatchMetrics`; whole-number
//! values are written without a fraction (`812`, not `812.0`); a metric with [`Unit::None`]
//! is declared without a `Unit` key (CloudWatch's default unit is `None`).
//!
//! Every root key is written once. A name used by a dimension is not also written as a metric
//! or property, a name used by a metric is not also written as a property, and the empty name
//! and `_aws` are never written.

use metrique_writer_core::format::Format;
use metrique_writer_core::unit::{NegativeScale, PositiveScale};
use metrique_writer_core::{Entry, EntryWriter, MetricFlags, Observation, ValueWriter};
use metrique_writer_format_emf::{Emf, NoMetric};
use serde_json::{Map, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The units CloudWatch accepts that the functions use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    Seconds,
    Bytes,
    Percent,
    None,
}

impl Unit {
    /// The same unit in metrique's terms (its EMF formatter writes CloudWatch's unit names).
    fn to_metrique(self) -> metrique_writer_core::Unit {
        use metrique_writer_core::Unit as M;
        match self {
            Unit::Count => M::Count,
            Unit::Milliseconds => M::Second(NegativeScale::Milli),
            Unit::Seconds => M::Second(NegativeScale::One),
            Unit::Bytes => M::Byte(PositiveScale::One),
            Unit::Percent => M::Percent,
            Unit::None => M::None,
        }
    }
}

/// EMF allows at most 100 metrics in one record and 30 dimensions in one set.
const MAX_METRICS: usize = 100;
const MAX_DIMENSIONS: usize = 30;

/// One metrics record: a namespace, one dimension set, metric values and properties.
#[derive(Debug, Clone)]
pub struct Metrics {
    namespace: String,
    dimensions: Vec<(String, String)>,
    metrics: Vec<(String, Unit, f64)>,
    properties: Map<String, Value>,
}

impl Metrics {
    /// A record in `namespace` with the dimension `Function` set to `function`.
    pub fn new(namespace: &str, function: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            dimensions: vec![("Function".to_owned(), function.to_owned())],
            metrics: Vec::new(),
            properties: Map::new(),
        }
    }

    /// Adds a dimension (ignored past EMF's 30 per set; a repeated name replaces its value).
    pub fn dimension(&mut self, name: &str, value: &str) -> &mut Self {
        if let Some(d) = self.dimensions.iter_mut().find(|(n, _)| n == name) {
            d.1 = value.to_owned();
        } else if self.dimensions.len() < MAX_DIMENSIONS {
            self.dimensions.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    /// Records a metric value (non-finite values are dropped: CloudWatch rejects them).
    pub fn metric(&mut self, name: &str, unit: Unit, value: f64) -> &mut Self {
        if value.is_finite() && self.metrics.len() < MAX_METRICS {
            self.metrics.retain(|(n, _, _)| n != name);
            self.metrics.push((name.to_owned(), unit, value));
        }
        self
    }

    pub fn count(&mut self, name: &str, value: f64) -> &mut Self {
        self.metric(name, Unit::Count, value)
    }

    pub fn millis(&mut self, name: &str, value: f64) -> &mut Self {
        self.metric(name, Unit::Milliseconds, value)
    }

    pub fn bytes(&mut self, name: &str, value: f64) -> &mut Self {
        self.metric(name, Unit::Bytes, value)
    }

    /// A property: searchable in Logs Insights, not a metric.
    ///
    /// Strings and numbers are written as they are. Other values (booleans, `null`, arrays and
    /// objects), which the EMF formatter cannot carry, are written as their JSON text in a
    /// string: `true` becomes `"true"`, `[1,2]` becomes `"[1,2]"`.
    pub fn property(&mut self, name: &str, value: impl Into<Value>) -> &mut Self {
        self.properties.insert(name.to_owned(), value.into());
        self
    }

    /// The record as one JSON line, stamped `timestamp_ms` (milliseconds since the epoch).
    pub fn to_line(&self, timestamp_ms: u64) -> String {
        let dimensions: Vec<String> = self
            .dimensions
            .iter()
            .map(|(n, _)| n)
            .filter(|n| writable(n))
            .cloned()
            .collect();
        // Validates the record in debug builds only, as metrique recommends; `Record` writes
        // each name once, so a valid record is all it can produce.
        let mut emf = Emf::builder(self.namespace.clone(), vec![dimensions]).build();
        let mut out = Vec::with_capacity(512);
        let record = Record {
            metrics: self,
            timestamp_ms,
        };
        let result = emf.format(&record, &mut out);
        debug_assert!(
            result.is_ok(),
            "metrique rejected the EMF record: {result:?}"
        );
        if result.is_err() {
            return String::new();
        }
        let mut line = String::from_utf8(out).unwrap_or_default();
        let trimmed = line.trim_end_matches('\n').len();
        line.truncate(trimmed);
        line
    }

    /// Writes the record to stdout, where Lambda's log pipeline picks it up.
    pub fn emit(&self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let line = self.to_line(now);
        if !line.is_empty() {
            println!("{line}");
        }
    }
}

/// A name that may be a root key of the record.
fn writable(name: &str) -> bool {
    !name.is_empty() && name != "_aws"
}

/// A [`Metrics`] stamped with its timestamp: the `Entry` that metrique's formatter writes.
struct Record<'m> {
    metrics: &'m Metrics,
    timestamp_ms: u64,
}

impl Entry for Record<'_> {
    fn write<'a>(&'a self, writer: &mut impl EntryWriter<'a>) {
        let m = self.metrics;
        writer.timestamp(UNIX_EPOCH + Duration::from_millis(self.timestamp_ms));
        let is_dimension = |name: &str| m.dimensions.iter().any(|(n, _)| n == name);
        let is_metric = |name: &str| m.metrics.iter().any(|(n, _, _)| n == name);
        for (name, unit, value) in &m.metrics {
            if writable(name) && !is_dimension(name) {
                writer.value(name.as_str(), &Measured(*value, *unit));
            }
        }
        for (name, value) in &m.dimensions {
            if writable(name) {
                writer.value(name.as_str(), value.as_str());
            }
        }
        for (name, value) in &m.properties {
            if writable(name) && !is_dimension(name) && !is_metric(name) {
                writer.value(name.as_str(), &Property(value));
            }
        }
    }
}

/// A metric value with its unit.
struct Measured(f64, Unit);

impl metrique_writer_core::Value for Measured {
    fn write(&self, writer: impl ValueWriter) {
        writer.metric(
            [Observation::Floating(self.0)],
            self.1.to_metrique(),
            [],
            MetricFlags::empty(),
        );
    }
}

/// A property: a string, a number that is not declared as a metric, or JSON text.
struct Property<'v>(&'v Value);

impl metrique_writer_core::Value for Property<'_> {
    fn write(&self, writer: impl ValueWriter) {
        match self.0 {
            Value::String(s) => writer.string(s),
            Value::Number(n) => match n.as_u64() {
                Some(u) => NoMetric::from(u).write(writer),
                None => NoMetric::from(n.as_f64().unwrap_or(0.0)).write(writer),
            },
            other => writer.string(&other.to_string()),
        }
    }
}

#[cfg(test)]
#[path = "emf_test.rs"]
mod tests;
