//! CloudWatch Embedded Metric Format (EMF).
//!
//! A metrics record is one JSON line on stdout; Lambda's log pipeline turns it into CloudWatch
//! metrics without any API call. The record holds the dimension values, the metric values and
//! any extra properties at its root, and a `_aws` block that declares which root keys are
//! metrics and dimensions:
//!
//! ```json
//! {"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"codehooks",
//!   "Dimensions":[["Function","Decision"]],"Metrics":[{"Name":"DurationMs","Unit":"Milliseconds"}]}]},
//!  "Function":"deploy-hook","Decision":"Succeeded","DurationMs":812}
//! ```

use serde_json::{Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

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
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Seconds => "Seconds",
            Unit::Bytes => "Bytes",
            Unit::Percent => "Percent",
            Unit::None => "None",
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
    pub fn property(&mut self, name: &str, value: impl Into<Value>) -> &mut Self {
        self.properties.insert(name.to_owned(), value.into());
        self
    }

    /// The record as one JSON line, stamped `timestamp_ms` (milliseconds since the epoch).
    pub fn to_line(&self, timestamp_ms: u64) -> String {
        let mut root = self.properties.clone();
        for (name, value) in &self.dimensions {
            root.insert(name.clone(), Value::from(value.as_str()));
        }
        let mut declared = Vec::with_capacity(self.metrics.len());
        for (name, unit, value) in &self.metrics {
            root.insert(name.clone(), Value::from(*value));
            declared.push(serde_json::json!({ "Name": name, "Unit": unit.as_str() }));
        }
        let dims: Vec<&str> = self.dimensions.iter().map(|(n, _)| n.as_str()).collect();
        root.insert(
            "_aws".to_owned(),
            serde_json::json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [dims],
                    "Metrics": declared,
                }],
            }),
        );
        Value::Object(root).to_string()
    }

    /// Writes the record to stdout, where Lambda's log pipeline picks it up.
    pub fn emit(&self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        println!("{}", self.to_line(now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_follows_the_emf_specification() {
        let mut m = Metrics::new("codehooks", "deploy-hook");
        m.dimension("Decision", "Failed")
            .millis("DurationMs", 812.0)
            .count("Probes", 40.0)
            .metric("SuccessRate", Unit::Percent, 97.5)
            .property("deploymentId", "d-ABCDEFGHI");
        let v: Value = serde_json::from_str(&m.to_line(1_700_000_000_000)).unwrap();
        assert_eq!(v["Function"], "deploy-hook");
        assert_eq!(v["Decision"], "Failed");
        assert_eq!(v["DurationMs"], 812.0);
        assert_eq!(v["deploymentId"], "d-ABCDEFGHI");
        let aws = &v["_aws"];
        assert_eq!(aws["Timestamp"], 1_700_000_000_000u64);
        let cwm = &aws["CloudWatchMetrics"][0];
        assert_eq!(cwm["Namespace"], "codehooks");
        assert_eq!(
            cwm["Dimensions"],
            serde_json::json!([["Function", "Decision"]])
        );
        assert_eq!(
            cwm["Metrics"][0],
            serde_json::json!({"Name": "DurationMs", "Unit": "Milliseconds"})
        );
        assert_eq!(cwm["Metrics"][2]["Unit"], "Percent");
        // Every declared metric and dimension has its value at the root.
        for d in cwm["Metrics"].as_array().unwrap() {
            assert!(v[d["Name"].as_str().unwrap()].is_number());
        }
    }

    #[test]
    fn drops_non_finite_values_and_replaces_repeats() {
        let mut m = Metrics::new("ns", "f");
        m.count("A", f64::NAN).count("B", 1.0).count("B", 2.0);
        m.dimension("Function", "g");
        let v: Value = serde_json::from_str(&m.to_line(0)).unwrap();
        assert!(v.get("A").is_none());
        assert_eq!(v["B"], 2.0);
        assert_eq!(v["Function"], "g");
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn respects_emf_limits() {
        let mut m = Metrics::new("ns", "f");
        for i in 0..150 {
            m.count(&format!("M{i}"), 1.0);
            m.dimension(&format!("D{i}"), "x");
        }
        let v: Value = serde_json::from_str(&m.to_line(0)).unwrap();
        let cwm = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cwm["Metrics"].as_array().unwrap().len(), 100);
        assert_eq!(cwm["Dimensions"][0].as_array().unwrap().len(), 30);
    }
}
