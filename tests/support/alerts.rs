//! The world build-alerts tests run in: local AWS (moto's SNS, SQS and DynamoDB, the emulator's
//! CodePipeline and CodeDeploy), the alert topic with an SQS subscriber that receives exactly
//! what a JSON subscriber would, and the alerts table.

use aws_config::SdkConfig;
use serde_json::Value;

use crate::{Function, LocalAws, drain_queue, idempotency_table, topic_with_queue};

/// The alerts table's name in these tests.
pub const TABLE: &str = "codehooks-alerts";

pub struct AlertsWorld {
    pub local: LocalAws,
    pub sdk: SdkConfig,
    pub topic: String,
    pub queue: String,
    region: String,
    env: Vec<(String, String)>,
}

impl AlertsWorld {
    /// Starts local AWS for build-alerts in `region`, with the topic, its subscriber queue
    /// and the alerts table.
    pub async fn start(region: &str) -> Self {
        let local = LocalAws::builder()
            .moto()
            .emulator()
            .runtime_api("build-alerts")
            .start();
        let sdk = local.sdk_config(local.moto_url(), region).await;
        let (topic, queue) = topic_with_queue(&sdk, "codehooks-alerts", "alerts-subscriber").await;
        idempotency_table(&sdk, TABLE).await;
        AlertsWorld {
            local,
            sdk,
            topic,
            queue,
            region: region.to_owned(),
            env: Vec::new(),
        }
    }

    /// Configuration every function of this world gets (before the call's own).
    pub fn with_env(mut self, env: &[(&str, &str)]) -> Self {
        self.env
            .extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        self
    }

    /// The real build-alerts binary publishing to the topic and claiming in the table, with
    /// the world's configuration and then `extra`.
    pub fn function(&self, extra: &[(&str, &str)]) -> Function {
        let mut env: Vec<(&str, &str)> = vec![
            ("CODEHOOKS_ALERT_TOPIC_ARN", self.topic.as_str()),
            ("CODEHOOKS_ALERTS_TABLE", TABLE),
        ];
        env.extend(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        env.extend_from_slice(extra);
        self.local.function("build-alerts", &self.region, &env)
    }

    /// What the subscriber received since the last call (SQS envelopes of SNS messages).
    pub async fn received(&self) -> Vec<Value> {
        drain_queue(&self.sdk, &self.queue).await
    }
}

/// The Chatbot document inside a subscriber's envelope.
pub fn doc(envelope: &Value) -> Value {
    serde_json::from_str(envelope["Message"].as_str().expect("Message"))
        .expect("the sqs body is JSON")
}

/// A message attribute of a subscriber's envelope (empty when absent).
pub fn attr<'a>(envelope: &'a Value, name: &str) -> &'a str {
    envelope["MessageAttributes"][name]["Value"]
        .as_str()
        .unwrap_or("")
}
