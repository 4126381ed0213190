//! `repo-replicator`: mirrors the branches and tags of CodeCommit repositories to replicas in
//! other regions, incrementally, from inside the Lambda, without ever rewinding a replica.
//!
//! A `CodeCommit Repository State Change` event (`referenceCreated`, `referenceUpdated`,
//! `referenceDeleted`) is read as "repository X changed": the function fetches what its bare
//! cache of X lacks from the source, then makes every replica's selected refs equal to the
//! source's, pushing only the objects each replica lacks. Each replica is listed first, the
//! source's refs are confirmed after that (the cache fetched again when it lags), and each ref
//! update names the value the listing saw, so a replica only moves to a state the source had
//! after the one it holds; a forced update or a delete keeps the old value under a backup ref
//! first. The scheduled reconciliation (`Scheduled Event`) puts one job per repository on an
//! SQS FIFO work queue, which the function consumes (`Records` from `aws:sqs`), so a lost
//! event heals itself and every repository gets a whole invocation; a long first copy goes in
//! slices and carries on in a `continue` job when time runs out (`partial`).
//!
//! Layers: [`event`] (what invoked it: an EventBridge event, the schedule, or jobs from the
//! work queue) → [`replicate`] (the orchestration, generic over the ports; [`repository`] for
//! one repository, [`jobs`] for the work queue, [`default_branch`]) with [`plan`] and
//! [`policy`] (the pure safe plan: confirmed source values only, backups, include/exclude,
//! keep mode) and [`sync`] (list, confirm the source, plan, slices, the compare-and-swap loop)
//! → [`ports`] ([`ports::RepositoryCatalogue`], [`ports::Mirror`]) and [`queue::WorkQueue`] →
//! [`sdk`] (CodeCommit's API), [`mirror`] (the cache on libgit2 in [`gitsync`], kept within
//! its disk and lock bounds by [`cache`]; listings and pushes on the signed smart HTTP client
//! [`smart`], with [`signing`] and [`endpoints`]; packs built once and shared by the replicas,
//! or the cache's own pack sent as is, in [`packs`]) and [`queue::SqsQueue`], or `twins` (in
//! memory, unit tests). [`config`] holds the configuration; [`outcome`], [`fanout`] and
//! [`measure`] the answer and the metrics.

pub mod cache;
pub mod config;
pub mod default_branch;
pub mod endpoints;
pub mod event;
pub mod fanout;
pub mod gitsync;
pub mod jobs;
pub mod measure;
pub mod mirror;
pub mod outcome;
pub mod packs;
pub mod plan;
pub mod policy;
pub mod ports;
pub mod queue;
pub mod refs;
pub mod replicate;
pub mod repository;
pub mod sdk;
pub mod signing;
pub mod smart;
pub mod store;
pub mod sync;
#[cfg(test)]
pub mod twins;

use aws_config::SdkConfig;
use codehooks::config::Env;
use codehooks::harness::{Common, Function};
use codehooks::{Error, Result};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use crate::config::Config;
use crate::mirror::GitMirror;
use crate::outcome::Outcome;
use crate::queue::SqsQueue;
use crate::replicate::Replicator;
use crate::sdk::CodeCommitCatalogue;

/// The function's name, as the demo and logs show it.
pub const NAME: &str = "repo-replicator";

/// The replicator on CodeCommit, libgit2 (and the smart HTTP client) and SQS.
pub type Production = Replicator<CodeCommitCatalogue, GitMirror, SqsQueue>;

/// The function as the harness serves it.
#[derive(Debug)]
pub struct App {
    /// `None` only if the harness built the function from a configuration it found invalid.
    replicator: Option<Production>,
}

impl App {
    /// The replicator on the SDK configuration `sdk`.
    pub fn new(config: Config, metrics_namespace: &str, sdk: &SdkConfig) -> Self {
        let regions = std::iter::once(&config.source_region).chain(&config.replica_regions);
        let catalogue = CodeCommitCatalogue::new(sdk, regions);
        let mirror = GitMirror::new(&config.cache_dir, sdk).with_bounds(config.cache_bounds);
        let queue = config.work_queue.as_ref().map(|q| SqsQueue::new(sdk, q));
        Self {
            replicator: Some(Replicator::new(
                config,
                metrics_namespace,
                catalogue,
                mirror,
                queue,
            )),
        }
    }
}

impl Function for App {
    const NAME: &'static str = NAME;
    type Config = Option<Config>;
    type Output = Outcome;

    fn read_config(env: &mut Env<'_>) -> Option<Config> {
        Config::read(env)
    }

    fn build(common: &Common, config: Option<Config>, sdk: &SdkConfig) -> Self {
        mirror::prepare_libgit2();
        match config {
            Some(config) => App::new(config, &common.metrics_namespace, sdk),
            None => App { replicator: None },
        }
    }

    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Outcome> {
        match &self.replicator {
            // Boxed: the replication future is deep, and the harness nests it further.
            Some(r) => {
                let deadline = deadline_of(event.context.deadline);
                Box::pin(r.handle_until(event.payload, deadline)).await
            }
            None => Err(Error::internal("the function has no valid configuration")),
        }
    }
}

/// The invocation's deadline (`deadline_ms`: milliseconds since the epoch, as the Lambda
/// runtime API gives it) as an instant; `None` when the runtime gave none.
pub fn deadline_of(deadline_ms: u64) -> Option<std::time::Instant> {
    if deadline_ms == 0 {
        return None;
    }
    let now_ms = codehooks::time::now_millis();
    let left = std::time::Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    Some(std::time::Instant::now() + left)
}
