//! The world every deploy-hook test starts: local AWS (moto, the emulator, a Runtime API for
//! the function), the alert topic, the stack's alerts table, and the function's environment.

#![allow(dead_code)]

use aws_sdk_elasticloadbalancingv2 as elbv2;
use codehooks_tests::{Function, LocalAws};
use serde_json::Value;

use super::native::{NativeStack, NativeStackSpec};
use super::{REGION, Stack, StackSpec, default_subnets};

/// The function's name (and its Runtime API's).
pub const NAME: &str = "deploy-hook";
/// The once-only table of the rollback alerts (the stack's alerts table).
pub const TABLE: &str = "deploy-hook-alerts";

pub struct World {
    pub local: LocalAws,
    pub elb: elbv2::Client,
    pub sdk: aws_config::SdkConfig,
    pub subnets: Vec<String>,
    pub topic: String,
    /// The test file's own variables, under each test's.
    env: Vec<(String, String)>,
}

impl World {
    pub async fn start() -> World {
        let local = LocalAws::builder()
            .moto()
            .emulator()
            .runtime_api(NAME)
            .start();
        let sdk = local.sdk_config(local.moto_url(), REGION).await;
        let elb = elbv2::Client::new(&sdk);
        let subnets = default_subnets(local.moto_url());
        assert_eq!(subnets.len(), 2, "moto's default VPC has subnets");
        let topic = aws_sdk_sns::Client::new(&sdk)
            .create_topic()
            .name("deploy-alerts")
            .send()
            .await
            .expect("CreateTopic")
            .topic_arn
            .expect("topic arn");
        // The stack's alerts table: the rollback alert is once per hook execution.
        codehooks_tests::idempotency_table(&sdk, TABLE).await;
        World {
            local,
            elb,
            sdk,
            subnets,
            topic,
            env: Vec::new(),
        }
    }

    /// The same world with these variables for every function it starts.
    pub fn with(mut self, env: &[(&str, &str)]) -> World {
        self.env
            .extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        self
    }

    /// The real binary with the alert topic, the alerts table, a short report margin, the
    /// world's variables, then `extra`.
    pub fn function(&self, extra: &[(&str, &str)]) -> Function {
        let mut env: Vec<(&str, &str)> = vec![
            ("CODEHOOKS_ALERT_TOPIC_ARN", &self.topic),
            ("CODEHOOKS_HOOK_REPORT_MARGIN_MS", "500"),
            ("CODEHOOKS_ALERTS_TABLE", TABLE),
        ];
        env.extend(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        env.extend_from_slice(extra);
        self.local.function(NAME, REGION, &env)
    }

    pub async fn stack(&self, spec: StackSpec<'_>) -> Stack {
        Stack::create(&self.elb, &self.subnets, spec).await
    }

    pub async fn native_stack(&self, spec: NativeStackSpec<'_>) -> NativeStack {
        NativeStack::create(&self.elb, &self.subnets, spec).await
    }

    pub async fn queue(&self, name: &str) -> String {
        codehooks_tests::subscribe_queue(&self.sdk, &self.topic, name).await
    }

    pub async fn alerts(&self, queue: &str) -> Vec<Value> {
        codehooks_tests::drain_queue(&self.sdk, queue).await
    }
}
