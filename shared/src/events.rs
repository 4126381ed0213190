//! The EventBridge envelope, shared by every event the functions receive from EventBridge.
//!
//! Handlers take the payload as a `serde_json::Value`, read the envelope with
//! [`EventBridgeEvent::parse`], dispatch on `source` and `detail-type`, and read the detail
//! into their own types with [`EventBridgeEvent::detail_as`]. Whatever does not fit is a
//! [`crate::Error::BadInput`] that names what is wrong, raised before any side effect.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;

/// An event as EventBridge delivers it to a Lambda target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventBridgeEvent<D = Value> {
    #[serde(default)]
    pub version: String,
    /// The same on every delivery of one event: the key for deduplication.
    pub id: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    #[serde(default)]
    pub account: String,
    /// When the event happened (RFC 3339).
    #[serde(default)]
    pub time: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub resources: Vec<String>,
    pub detail: D,
}

impl EventBridgeEvent<Value> {
    /// Reads the envelope of an EventBridge event.
    pub fn parse(payload: Value) -> Result<Self, Error> {
        serde_json::from_value(payload).map_err(|e| {
            Error::bad_input(format!(
                "not an EventBridge event (id, detail-type, source and detail are required): {e}"
            ))
        })
    }

    /// The detail as `T`; the error names the event type and what did not fit.
    pub fn detail_as<T: DeserializeOwned>(&self) -> Result<T, Error> {
        T::deserialize(&self.detail).map_err(|e| {
            Error::bad_input(format!(
                "{} event {} from {} has an unexpected detail: {e}",
                self.detail_type, self.id, self.source
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    struct BuildDetail {
        build_status: String,
        project_name: String,
    }

    fn event() -> Value {
        json!({
            "version": "0",
            "id": "c030038d-8c4d-6141-9545-00ff7b7153EX",
            "detail-type": "CodeBuild Build State Change",
            "source": "aws.codebuild",
            "account": "123456789012",
            "time": "2017-09-01T16:14:28Z",
            "region": "us-west-2",
            "resources": ["arn:aws:codebuild:us-west-2:123456789012:build/my-sample-project:8745a7a9"],
            "detail": {"build-status": "FAILED", "project-name": "my-sample-project"}
        })
    }

    #[test]
    fn parses_envelope_and_detail() {
        let ev = EventBridgeEvent::parse(event()).unwrap();
        assert_eq!(ev.detail_type, "CodeBuild Build State Change");
        assert_eq!(ev.region, "us-west-2");
        let d: BuildDetail = ev.detail_as().unwrap();
        assert_eq!(d.build_status, "FAILED");
        assert_eq!(d.project_name, "my-sample-project");
    }

    #[test]
    fn rejects_what_does_not_fit_with_a_clear_error() {
        let err = EventBridgeEvent::parse(json!({"hello": "world"})).unwrap_err();
        assert_eq!(err.kind(), "BadInput");
        assert!(
            err.to_string().contains("not an EventBridge event"),
            "{err}"
        );

        let mut bad = event();
        bad["detail"] = json!({"build-status": 3});
        let err = EventBridgeEvent::parse(bad)
            .unwrap()
            .detail_as::<BuildDetail>()
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("CodeBuild Build State Change"), "{text}");
        assert!(
            text.contains("build-status") || text.contains("invalid type"),
            "{text}"
        );
    }
}
