//! The function's two ports, named by role:
//! - [`RepositoryCatalogue`]: which repositories a region has, and creating one (CodeCommit's
//!   ListRepositories, GetRepository, CreateRepository; adapter in [`crate::sdk`]);
//! - [`Mirror`]: the git side (fetch the source into the cache, list a remote's refs, push a
//!   set of ref updates guarded by a compare-and-swap; adapter in [`crate::mirror`], on libgit2).
//!
//! Both return plain values; the in-memory twins are in `twins` (unit tests).

use std::future::Future;

use codehooks::Result;
use codehooks::names::{Region, RepositoryName};

use crate::endpoints::GitTarget;
use crate::plan::{RefChange, Refs};

/// One page of a repository listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The names as the service wrote them: checked by the caller before any use.
    pub names: Vec<String>,
    pub next_token: Option<String>,
}

/// What the catalogue knows about an existing repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepositoryInfo {
    pub description: Option<String>,
}

/// The answer to a creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    Created,
    /// Someone (another execution environment) created it first.
    AlreadyExists,
}

/// The repositories of every region the function works in.
pub trait RepositoryCatalogue: Send + Sync {
    /// One page of the repositories of `region`.
    fn list_page(
        &self,
        region: &Region,
        next_token: Option<String>,
    ) -> impl Future<Output = Result<Page>> + Send;

    /// The repository, or `None` when it does not exist.
    fn repository(
        &self,
        region: &Region,
        name: &RepositoryName,
    ) -> impl Future<Output = Result<Option<RepositoryInfo>>> + Send;

    /// Creates an empty repository.
    fn create(
        &self,
        region: &Region,
        name: &RepositoryName,
        description: Option<String>,
    ) -> impl Future<Output = Result<Created>> + Send;
}

/// Why a git step failed. The mirror keeps the distinction the orchestration acts on: a
/// refusal may mean a missing repository (then the catalogue is asked), anything else is a
/// failure for now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MirrorError {
    /// The server refused the signed credentials or the repository is not there (401, 403, 404).
    #[error("{0}")]
    Refused(String),
    /// Anything else: network, protocol, rejected refs, local cache problems.
    #[error("{0}")]
    Failed(String),
}

/// What a fetch into the cache brought, and the cache's refs after it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    pub refs: Refs,
    pub bytes: u64,
    pub objects: u64,
    pub millis: u64,
}

/// The answer to a push of a batch of ref changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    /// The replica's refs were not at the old values the batch names: nothing was pushed.
    Moved(String),
    /// The push went through; the server's word on each ref (`None`: done, `Some`: rejected why).
    Sent {
        statuses: Vec<(String, Option<String>)>,
        bytes: u64,
        objects: u64,
    },
}

/// A replica as first seen: its refs, the plan made from them, and the first batch of that
/// plan already pushed on the same connection (one round trip fewer per replica).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub replica: Refs,
    pub changes: Vec<RefChange>,
    /// `None` when there is nothing to change.
    pub first: Option<Pushed>,
}

/// The git side: a cache of each source repository, and the replicas.
///
/// `source` names the cache (one per source repository); every method on a replica reads
/// objects from that cache.
pub trait Mirror: Send + Sync {
    /// Brings the cache of `source` up to date (branches and tags, pruned).
    fn fetch(
        &self,
        source: &GitTarget,
    ) -> impl Future<Output = std::result::Result<Fetched, MirrorError>> + Send;

    /// Lists `replica`, plans with [`crate::plan::ref_changes`] towards `desired`, and pushes
    /// the plan's first `batch` changes on the same connection.
    fn open(
        &self,
        source: &GitTarget,
        replica: &GitTarget,
        desired: &Refs,
        batch: usize,
    ) -> impl Future<Output = std::result::Result<Opened, MirrorError>> + Send;

    /// Pushes `changes`, each only if the replica's ref is still at its `old` value.
    fn push(
        &self,
        source: &GitTarget,
        replica: &GitTarget,
        changes: &[RefChange],
    ) -> impl Future<Output = std::result::Result<Pushed, MirrorError>> + Send;

    /// The replica's refs now.
    fn list(
        &self,
        source: &GitTarget,
        replica: &GitTarget,
    ) -> impl Future<Output = std::result::Result<Refs, MirrorError>> + Send;
}
