//! The EventBridge envelope, shared by every event the functions receive from EventBridge.
//!
//! Handlers take the payload as a `serde_json::Value`, read the envelope with
//! [`EventBridgeEvent::parse`], dispatch on `source` and `detail-type`, and read the detail
//! into their own types with [`EventBridgeEvent::detail_as`]. Whatever does not fit is a
//! [`crate::Error::BadInput`] that names what is wrong, raised before any side effect.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
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

/// For `deserialize_with` on detail fields AWS writes inconsistently: a string, or a number or
/// bool written as text; `null` and anything else as `None`.
pub fn string_like<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if b { "True" } else { "False" }.to_owned()),
        _ => None,
    })
}

#[cfg(test)]
#[path = "events_test.rs"]
mod tests;
