//! The harness wiring: build-alerts as a [`codehooks::harness::Function`] with the production
//! adapters (SNS, the DynamoDB once-only store, CodePipeline and CodeDeploy lookups, the
//! CloudWatch Logs reader of build log tails).

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use codehooks::Result;
use codehooks::alert::SnsPublisher;
use codehooks::config::Env;
use codehooks::dedup::Store;
use codehooks::harness::{Common, Function};
use codehooks::logtail::CloudWatchLogsReader;
use codehooks::once::lease_until;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use crate::history_aws::AwsReleaseHistory;
use crate::{App, Config, NAME, Outcome};

impl Function for App {
    const NAME: &'static str = NAME;
    type Config = Config;
    type Output = Outcome;

    fn read_config(env: &mut Env<'_>) -> Config {
        Config::read(env)
    }

    fn build(_common: &Common, config: Config, sdk: &aws_config::SdkConfig) -> Self {
        let store = config.table.as_ref().map(|t| {
            Store::new(aws_sdk_dynamodb::Client::new(sdk), t.clone()).with_ttl(config.dedup_ttl)
        });
        let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(sdk), config.topic_arn.clone());
        let logs = CloudWatchLogsReader::new(sdk);
        App::new(config, publisher, store, AwsReleaseHistory::new(sdk), logs)
    }

    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Outcome> {
        // A claim ends just after this invocation's deadline: a retry after a crash takes it.
        let lease = lease_until(
            event.context.deadline,
            SystemTime::now(),
            self.config.lease_margin,
        );
        // Boxed: the orchestration's future is deep, and the runtime nests it further.
        let work: Pin<Box<dyn Future<Output = Result<Outcome>> + '_>> =
            Box::pin(self.process(event.payload, lease));
        work.await
    }
}
