//! `build-alerts`: one clear, actionable alert for every failed CodeBuild build, CodePipeline
//! execution and CodeDeploy deployment, published to one SNS topic.
//!
//! - [`event`]: parse and check an EventBridge event (a bad event fails here, before any side
//!   effect);
//! - [`codebuild`], [`codepipeline`], [`codedeploy`]: the decisions (plain functions: what an
//!   event asks for) and the alert about each;
//! - [`app`]: the orchestration, generic over the ports: decide → claim the alert's key
//!   ([`codehooks::once`]) → look up the reason ([`history`]) → publish
//!   ([`codehooks::alert`]) → record the last known state → mark the key done;
//! - [`history`]: the read-only release history port and its twin; [`history_aws`] its SDK
//!   adapter;
//! - [`log_tail`]: the last lines of a failed build's log in its alert
//!   ([`codehooks::logtail`]);
//! - [`config`], [`outcome`], [`function`]: the configuration, the typed answer and the
//!   harness wiring of the production adapters.

pub mod app;
pub mod approval;
pub mod codebuild;
pub mod codedeploy;
pub mod codepipeline;
pub mod config;
pub mod event;
pub mod function;
pub mod history;
pub mod history_aws;
pub mod log_tail;
pub mod outcome;
pub mod threads;

pub use app::App;
pub use config::Config;
pub use event::Origin;
pub use outcome::Outcome;

/// The function's name, as the demo and logs show it.
pub const NAME: &str = "build-alerts";

/// Who the alerts say sent them.
pub const SENDER: &str = "codehooks build-alerts";

/// What an event asks the function to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run {
    /// Publish an alert (once).
    Failure,
    /// A success: a recovered notice if the last known state was a failure.
    Success,
    /// Nothing, for the reason given.
    Ignore(String),
}
