//! The plan: where a repository goes (its replica regions and, through
//! `CODEHOOKS_REPLICA_NAMES`, its name there) and which ref changes make a replica equal to
//! the source. Pure functions over plain values; the git adapter and the in-memory twin both
//! plan with [`ref_changes`].

use std::collections::BTreeMap;
use std::fmt;

use codehooks::names::RepositoryName;

use crate::config::Config;
use crate::endpoints::GitTarget;

/// A git object id (a commit or an annotated tag object), as hexadecimal text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId(String);

impl ObjectId {
    /// The id written as `hex` (lowercased).
    pub fn new(hex: impl Into<String>) -> Self {
        Self(hex.into().to_ascii_lowercase())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The mirrored refs (branches and tags) of a repository: full ref name → object id.
pub type Refs = BTreeMap<String, ObjectId>;

/// The refs a mirror carries: branches and tags (CodeCommit has no others).
pub const MIRRORED: [&str; 2] = ["refs/heads/", "refs/tags/"];

/// Whether `name` is a ref the mirror carries (peeled `^{}` entries are not).
pub fn is_mirrored(name: &str) -> bool {
    MIRRORED.iter().any(|p| name.starts_with(p)) && !name.ends_with("^{}")
}

/// One ref to change on a replica: from `old` (what the replica had when listed) to `new`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefChange {
    pub name: String,
    pub old: Option<ObjectId>,
    pub new: Option<ObjectId>,
}

/// Why no plan is made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// An empty source would delete every ref of the replica: more likely a broken cache or
    /// listing than a real state, so the function refuses.
    #[error("the source has no branches or tags; refusing to delete every ref of {0}")]
    EmptySource(String),
}

/// The changes that make `replica` equal to `source`, deletions last.
pub fn ref_changes(
    source: &Refs,
    replica: &Refs,
    target: &GitTarget,
) -> Result<Vec<RefChange>, PlanError> {
    if source.is_empty() && !replica.is_empty() {
        return Err(PlanError::EmptySource(target.describe()));
    }
    let mut changes: Vec<RefChange> = source
        .iter()
        .filter(|(name, oid)| replica.get(*name) != Some(oid))
        .map(|(name, oid)| RefChange {
            name: name.clone(),
            old: replica.get(name).cloned(),
            new: Some(oid.clone()),
        })
        .collect();
    changes.extend(
        replica
            .iter()
            .filter(|(name, _)| !source.contains_key(*name))
            .map(|(name, oid)| RefChange {
                name: name.clone(),
                old: Some(oid.clone()),
                new: None,
            }),
    );
    Ok(changes)
}

/// One repository's replication: where it is read and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryPlan {
    pub repository: RepositoryName,
    pub source: GitTarget,
    /// One per replica region, in the configured order, under the replica's name.
    pub replicas: Vec<GitTarget>,
}

/// Where `repository` is read from and written to.
pub fn repository_plan(config: &Config, repository: &RepositoryName) -> RepositoryPlan {
    let replica_name = config.replica_name(repository);
    RepositoryPlan {
        repository: repository.clone(),
        source: config.git.target(&config.source_region, repository),
        replicas: config
            .replica_regions
            .iter()
            .map(|region| config.git.target(region, replica_name))
            .collect(),
    }
}

#[cfg(test)]
#[path = "plan_test.rs"]
mod tests;
