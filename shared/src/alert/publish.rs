//! The alert publisher port: where a rendered [`Alert`] goes. [`SnsPublisher`] (feature `sns`)
//! is the only code that touches the SNS client; [`MemoryPublisher`] is its in-memory twin for
//! unit tests (it renders exactly like the adapter, records what it would send, and can be told
//! to fail).

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::Serialize;

use super::{Alert, Rendered};
use crate::{Error, Result};

/// What a publish sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Published {
    /// The subject as sent.
    pub subject: String,
    /// The id SNS gave the message (`None` when it gave none).
    pub message_id: Option<String>,
    /// The size of the `Message` in bytes.
    pub bytes: usize,
}

/// Sends alerts to the people and systems that subscribe to them.
pub trait AlertPublisher: Send + Sync {
    /// Renders `alert` ([`Alert::render`]) and publishes it once.
    fn publish(&self, alert: &Alert) -> impl Future<Output = Result<Published>> + Send;
}

impl<P: AlertPublisher> AlertPublisher for Arc<P> {
    fn publish(&self, alert: &Alert) -> impl Future<Output = Result<Published>> + Send {
        (**self).publish(alert)
    }
}

impl<P: AlertPublisher> AlertPublisher for &P {
    fn publish(&self, alert: &Alert) -> impl Future<Output = Result<Published>> + Send {
        (**self).publish(alert)
    }
}

/// Publishes to one SNS topic: `MessageStructure=json`, the subject and the attributes.
#[cfg(feature = "sns")]
#[derive(Debug, Clone)]
pub struct SnsPublisher {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

#[cfg(feature = "sns")]
impl SnsPublisher {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }
}

#[cfg(feature = "sns")]
impl AlertPublisher for SnsPublisher {
    async fn publish(&self, alert: &Alert) -> Result<Published> {
        use aws_sdk_sns::types::MessageAttributeValue;
        let Rendered {
            subject,
            message,
            attributes,
            ..
        } = alert.render();
        let mut req = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&subject)
            .message(&message)
            .message_structure("json");
        for (name, value) in attributes {
            let v = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| Error::internal(format!("message attribute {name}: {e}")))?;
            req = req.message_attributes(name, v);
        }
        let out = req.send().await.map_err(|e| Error::aws("Publish", e))?;
        let message_id = out.message_id().map(str::to_owned);
        tracing::info!(
            subject,
            bytes = message.len(),
            message_id = message_id.as_deref().unwrap_or(""),
            "published"
        );
        Ok(Published {
            subject,
            message_id,
            bytes: message.len(),
        })
    }
}

/// The in-memory twin of [`SnsPublisher`].
#[derive(Debug, Default)]
pub struct MemoryPublisher {
    inner: Mutex<Memory>,
}

#[derive(Debug, Default)]
struct Memory {
    published: Vec<Rendered>,
    attempts: usize,
    fail_next: usize,
}

impl MemoryPublisher {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Memory> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next `n` publishes fail with a retryable `Publish` error.
    pub fn fail_next(&self, n: usize) {
        self.lock().fail_next = n;
    }

    /// What was published, in order.
    pub fn published(&self) -> Vec<Rendered> {
        self.lock().published.clone()
    }

    /// The subjects published, in order.
    pub fn subjects(&self) -> Vec<String> {
        self.lock()
            .published
            .iter()
            .map(|r| r.subject.clone())
            .collect()
    }

    /// How many publishes were asked for, including the failed ones.
    pub fn attempts(&self) -> usize {
        self.lock().attempts
    }
}

impl AlertPublisher for MemoryPublisher {
    async fn publish(&self, alert: &Alert) -> Result<Published> {
        let rendered = alert.render();
        let mut m = self.lock();
        m.attempts += 1;
        if m.fail_next > 0 {
            m.fail_next -= 1;
            return Err(Error::Aws {
                operation: "Publish",
                code: "InternalError".to_owned(),
                message: "injected by MemoryPublisher".to_owned(),
                retryable: true,
            });
        }
        let published = Published {
            subject: rendered.subject.clone(),
            message_id: Some(format!("memory-{}", m.published.len() + 1)),
            bytes: rendered.message.len(),
        };
        m.published.push(rendered);
        Ok(published)
    }
}

#[cfg(test)]
#[path = "publish_test.rs"]
mod tests;
