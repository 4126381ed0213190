//! The [`RepositoryCatalogue`] adapter on the CodeCommit SDK: one client per region the
//! function works in (the source and every replica). The only code that touches the SDK.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_codecommit::Client;
use codehooks::names::{Region, RepositoryName};
use codehooks::{Error, Result};

use crate::ports::{Created, Page, RepositoryCatalogue, RepositoryInfo};

/// CodeCommit in each region.
#[derive(Debug, Clone)]
pub struct CodeCommitCatalogue {
    clients: BTreeMap<Region, Client>,
}

impl CodeCommitCatalogue {
    /// A client per region of `regions`, from the same SDK configuration.
    pub fn new<'a>(sdk: &SdkConfig, regions: impl IntoIterator<Item = &'a Region>) -> Self {
        let clients = regions
            .into_iter()
            .map(|r| {
                (
                    r.clone(),
                    Client::new(&codehooks::aws::in_region(sdk, r.as_str())),
                )
            })
            .collect();
        Self { clients }
    }

    fn client(&self, region: &Region) -> Result<&Client> {
        self.clients
            .get(region)
            .ok_or_else(|| Error::internal(format!("no CodeCommit client for {region}")))
    }
}

impl RepositoryCatalogue for CodeCommitCatalogue {
    async fn list_page(&self, region: &Region, next_token: Option<String>) -> Result<Page> {
        let page = self
            .client(region)?
            .list_repositories()
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| Error::aws("ListRepositories", e))?;
        Ok(Page {
            names: page
                .repositories()
                .iter()
                .filter_map(|r| r.repository_name().map(str::to_owned))
                .collect(),
            next_token: page.next_token().map(str::to_owned),
        })
    }

    async fn repository(
        &self,
        region: &Region,
        name: &RepositoryName,
    ) -> Result<Option<RepositoryInfo>> {
        match self
            .client(region)?
            .get_repository()
            .repository_name(name.as_str())
            .send()
            .await
        {
            Ok(out) => {
                let meta = out.repository_metadata;
                Ok(Some(RepositoryInfo {
                    description: meta.as_ref().and_then(|m| m.repository_description.clone()),
                    default_branch: meta.and_then(|m| m.default_branch),
                }))
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_repository_does_not_exist_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(Error::aws("GetRepository", e)),
        }
    }

    async fn create(
        &self,
        region: &Region,
        name: &RepositoryName,
        description: Option<String>,
    ) -> Result<Created> {
        match self
            .client(region)?
            .create_repository()
            .repository_name(name.as_str())
            .set_repository_description(description)
            .send()
            .await
        {
            Ok(_) => Ok(Created::Created),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_repository_name_exists_exception()) =>
            {
                Ok(Created::AlreadyExists)
            }
            Err(e) => Err(Error::aws("CreateRepository", e)),
        }
    }

    async fn set_default_branch(
        &self,
        region: &Region,
        name: &RepositoryName,
        branch: &str,
    ) -> Result<()> {
        self.client(region)?
            .update_default_branch()
            .repository_name(name.as_str())
            .default_branch_name(branch)
            .send()
            .await
            .map_err(|e| Error::aws("UpdateDefaultBranch", e))?;
        Ok(())
    }
}
