//! The replica's default branch follows the source's: after a replica is in
//! sync, when the source has a default branch that the replica now has too (the policy mirrors
//! it) and the replica's differs, the catalogue is asked to change it (UpdateDefaultBranch).

use codehooks::Result;
use codehooks::names::{Region, RepositoryName};

use crate::endpoints::GitTarget;
use crate::plan::Refs;
use crate::policy::Policy;
use crate::ports::RepositoryCatalogue;

/// The source's default branch, when it has one.
pub async fn source_default<C: RepositoryCatalogue>(
    catalogue: &C,
    region: &Region,
    repository: &RepositoryName,
) -> Result<Option<String>> {
    Ok(catalogue
        .repository(region, repository)
        .await?
        .and_then(|info| info.default_branch))
}

/// Makes `branch` the default branch of `replica` when it is not and the replica mirrors it
/// (`source` holds the source's refs the replica was made equal to). `Some(branch)` when it
/// was changed.
pub async fn follow<C: RepositoryCatalogue>(
    catalogue: &C,
    replica: &GitTarget,
    branch: &str,
    source: &Refs,
    policy: &Policy,
) -> Result<Option<String>> {
    let full = format!("refs/heads/{branch}");
    if !source.contains_key(&full) || !policy.selects(&full) {
        return Ok(None);
    }
    let current = catalogue
        .repository(&replica.region, &replica.repository)
        .await?
        .and_then(|info| info.default_branch);
    if current.as_deref() == Some(branch) {
        return Ok(None);
    }
    catalogue
        .set_default_branch(&replica.region, &replica.repository, branch)
        .await?;
    tracing::info!(replica = %replica.describe(), from = ?current, to = %branch, "default branch now follows the source's");
    Ok(Some(branch.to_owned()))
}
