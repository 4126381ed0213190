//! The function's two ports, named by role:
//! - [`RepositoryCatalogue`]: which repositories a region has, creating one, its default
//!   branch (CodeCommit's ListRepositories, GetRepository, CreateRepository,
//!   UpdateDefaultBranch; adapter in [`crate::sdk`]);
//! - [`Mirror`]: the git side (fetch the source into the cache, list a remote's refs, push a
//!   set of ref updates guarded by a compare-and-swap; adapter in [`crate::mirror`], on libgit2).
//!
//! Both return plain values; the in-memory twins are in `twins` (unit tests).

use std::future::Future;

use codehooks::Result;
use codehooks::names::{Region, RepositoryName};

use crate::endpoints::GitTarget;
use crate::refs::{ObjectId, RefChange, Refs};

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
    /// The default branch's short name (`main`), when the repository has one.
    pub default_branch: Option<String>,
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

    /// Makes `branch` (a short name such as `main`) the repository's default branch
    /// (UpdateDefaultBranch).
    fn set_default_branch(
        &self,
        region: &Region,
        name: &RepositoryName,
        branch: &str,
    ) -> impl Future<Output = Result<()>> + Send;
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

/// How a replica ref's new value relates to its old one in the cache's history (annotated tags
/// peeled to their commits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Same,
    /// The old value is an ancestor of the new one.
    FastForward,
    /// The new value is an ancestor of the old one: the move goes back in history.
    Rewind,
    /// Neither is an ancestor of the other.
    Diverged,
    /// One of them is not in the cache.
    Unknown,
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

    /// The source's branches and tags now: one ref advertisement, no objects.
    fn source_refs(
        &self,
        source: &GitTarget,
    ) -> impl Future<Output = std::result::Result<Refs, MirrorError>> + Send;

    /// How `new` relates to `old` in the cache of `source`.
    fn relation(
        &self,
        source: &GitTarget,
        old: &ObjectId,
        new: &ObjectId,
    ) -> impl Future<Output = std::result::Result<Relation, MirrorError>> + Send;

    /// Slice points for sending the history of `tip` to a replica holding `have`: commits on
    /// tip's first-parent line, oldest first, each adding at most `max_commits` commits the
    /// replica lacks beyond the previous one; the last is `tip` (a small history: `[tip]`).
    fn slices(
        &self,
        source: &GitTarget,
        tip: &ObjectId,
        have: &[ObjectId],
        max_commits: usize,
    ) -> impl Future<Output = std::result::Result<Vec<ObjectId>, MirrorError>> + Send;

    /// Pushes `changes`, each only if the replica's ref is still at its `old` value. Objects
    /// come from the cache; a change may also name an object only the replica holds (a
    /// backup of the replica's old value).
    fn push(
        &self,
        source: &GitTarget,
        replica: &GitTarget,
        changes: &[RefChange],
    ) -> impl Future<Output = std::result::Result<Pushed, MirrorError>> + Send;

    /// The replica's refs now: branches, tags and the function's own refs (`refs/codehooks/`).
    fn list(
        &self,
        source: &GitTarget,
        replica: &GitTarget,
    ) -> impl Future<Output = std::result::Result<Refs, MirrorError>> + Send;
}
