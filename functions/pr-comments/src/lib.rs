//! `pr-comments`: validates every CodeCommit pull request with CodeBuild and says so on the
//! pull request.
//!
//! - [`config`]: the function's variables;
//! - [`events`]: the pull request event and what it asks (the build event is
//!   [`codehooks::prbuild`]);
//! - [`app`]: the orchestration, generic over the [`ports`];
//! - [`comments`]: its steps (own comments found and edited in place, builds started and
//!   stopped);
//! - [`markdown`]: the comments' text; [`build`]: a build as the comments show it;
//! - [`codecommit`] and [`codebuild`]: the SDK adapters; `twins`: the in-memory twins (unit tests);
//! - [`paging`]: the bounded pagination loop of the adapters;
//! - [`checks`]: several validation projects per repository; [`checks_app`]: their
//!   orchestration; [`board`]: the checks of a revision and their verdict; [`rows`]: their
//!   living comment with a row per check;
//! - [`log_tail`]: the log tail of a failed build in its comment;
//! - [`retry`]: re-runs asked for in comments (`/codehooks retry [check]`);
//! - [`outcome`]: the typed answer.

pub mod app;
pub mod board;
pub mod build;
pub mod checks;
pub mod checks_app;
pub mod codebuild;
pub mod codecommit;
pub mod comments;
pub mod config;
pub mod events;
pub mod log_tail;
pub mod markdown;
pub mod outcome;
pub mod paging;
pub mod ports;
pub mod retry;
pub mod retry_single;
pub mod rows;
pub mod rows_record;
#[cfg(test)]
pub mod twins;

use aws_config::SdkConfig;
use codehooks::config::Env;
use codehooks::harness::{Common, Function};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tracing::info;

pub use config::{Author, Config};
pub use outcome::Outcome;

use codebuild::CodeBuildRunner;
use codecommit::CodeCommitHost;

/// The function in production: CodeCommit hosts the pull requests, CodeBuild runs the builds.
pub type App = app::App<CodeCommitHost, CodeBuildRunner>;

impl Function for App {
    const NAME: &'static str = "pr-comments";
    type Config = Config;
    type Output = Outcome;

    fn read_config(env: &mut Env<'_>) -> Config {
        Config::read(env)
    }

    fn build(_common: &Common, config: Config, sdk: &SdkConfig) -> Self {
        info!(
            project = %config.project,
            repositories = %if config.repositories.is_empty() { "*".to_owned() } else { config.repositories.join(",") },
            approval = config.approval,
            stop_superseded = config.stop_superseded,
            author_configured = config.author.is_some(),
            checks = !config.checks.is_empty(),
            log_lines = config.log_lines,
            retry_allowed = config.retry_allowed.len(),
            "configuration loaded"
        );
        let region = sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".to_owned());
        let logs = (config.log_lines > 0).then(|| {
            std::sync::Arc::new(codehooks::logtail::CloudWatchLogsReader::new(sdk))
                as log_tail::Logs
        });
        let app = app::App::new(
            config,
            CodeCommitHost::new(aws_sdk_codecommit::Client::new(sdk)),
            CodeBuildRunner::new(aws_sdk_codebuild::Client::new(sdk)),
            &region,
        );
        match logs {
            Some(l) => app.with_logs(l),
            None => app,
        }
    }

    async fn handle(&self, event: LambdaEvent<Value>) -> codehooks::Result<Outcome> {
        // Boxed: the orchestration's future is deep, and inlined into the runtime's it
        // overflows the compiler's layout query depth.
        Box::pin(self.dispatch(event.payload)).await
    }
}

#[cfg(test)]
mod fixtures;
