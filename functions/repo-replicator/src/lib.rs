//! `repo-replicator`: mirrors every branch and tag change of CodeCommit repositories to
//! replicas in other regions, incrementally, from inside the Lambda.
//!
//! A `CodeCommit Repository State Change` event (`referenceCreated`, `referenceUpdated`,
//! `referenceDeleted`) is read as "repository X changed": the function fetches what its bare
//! cache of X lacks from the source, then makes every replica's branches and tags equal to the
//! source's, pushing only the objects each replica lacks and guarding each ref update with the
//! value it saw on the replica. The scheduled reconciliation (`Scheduled Event`) does the same
//! for every configured repository, so a lost event heals itself.
//!
//! Layers: [`event`] (what invoked it) → [`replicate`] (the orchestration, generic over the
//! ports) with [`plan`] and [`sync`] (pure planning, the compare-and-swap loop) → [`ports`]
//! ([`ports::RepositoryCatalogue`], [`ports::Mirror`]) → [`sdk`] (CodeCommit) and [`mirror`]
//! (libgit2, [`gitsync`], [`signing`]), or `twins` (in memory, unit tests). [`config`] and
//! [`endpoints`] hold the configuration; [`outcome`] the answer and the replication metrics.

pub mod config;
pub mod endpoints;
pub mod event;
pub mod gitsync;
pub mod mirror;
pub mod outcome;
pub mod plan;
pub mod ports;
pub mod replicate;
pub mod sdk;
pub mod signing;
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
use crate::replicate::Replicator;
use crate::sdk::CodeCommitCatalogue;

/// The function's name, as the demo and logs show it.
pub const NAME: &str = "repo-replicator";

/// The replicator on CodeCommit and libgit2.
pub type Production = Replicator<CodeCommitCatalogue, GitMirror>;

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
        let mirror = GitMirror::new(&config.cache_dir, sdk);
        Self {
            replicator: Some(Replicator::new(
                config,
                metrics_namespace,
                catalogue,
                mirror,
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
            Some(r) => Box::pin(r.handle(event.payload)).await,
            None => Err(Error::internal("the function has no valid configuration")),
        }
    }
}
