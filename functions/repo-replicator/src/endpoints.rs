//! Where git connections go: the host a git password is signed for (the region's
//! `git-codecommit` host in its partition's DNS domain, or a FIPS or VPC endpoint host) and
//! the URL the connection really opens (the same host, unless a proxy or test server stands in).

use std::collections::BTreeMap;

use codehooks::names::{Region, RepositoryName};

/// The default `CODEHOOKS_GIT_HOST`: the standard endpoint, in the region's partition
/// (`git-codecommit.cn-north-1.amazonaws.com.cn` in China).
pub const DEFAULT_GIT_HOST: &str = "git-codecommit.{region}.amazonaws.com";

/// Where one repository is reached over git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitTarget {
    /// The region the repository lives in (part of the signature).
    pub region: Region,
    /// The repository name.
    pub repository: RepositoryName,
    /// The host the password is signed for (`git-codecommit.<region>.amazonaws.com`, a FIPS or VPC endpoint host).
    pub signed_host: String,
    /// Scheme, host and optional path prefix the connection goes to (`https://<signed_host>` unless overridden).
    pub connect_base: String,
}

impl GitTarget {
    /// `/v1/repos/<name>`: the signed path.
    pub fn path(&self) -> String {
        format!("/v1/repos/{}", self.repository)
    }
    pub fn url(&self) -> String {
        format!("{}{}", self.connect_base.trim_end_matches('/'), self.path())
    }
    /// Where the repository is, for messages (never with credentials).
    pub fn describe(&self) -> String {
        format!("{} in {}", self.repository, self.region)
    }
}

/// The git endpoints of every region (`CODEHOOKS_GIT_HOST`, `CODEHOOKS_GIT_HOSTS`,
/// `CODEHOOKS_GIT_CONNECT_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitEndpoints {
    /// The signed host, `{region}` filled in.
    pub host_template: String,
    /// Per-region hosts that differ from the template, e.g. VPC endpoints.
    pub hosts: BTreeMap<Region, String>,
    /// Where connections go instead of `https://<host>`, `{region}` filled in.
    pub connect_url: Option<String>,
}

impl Default for GitEndpoints {
    fn default() -> Self {
        Self {
            host_template: DEFAULT_GIT_HOST.to_owned(),
            hosts: BTreeMap::new(),
            connect_url: None,
        }
    }
}

impl GitEndpoints {
    /// The git host of `region`.
    pub fn host(&self, region: &Region) -> String {
        if let Some(h) = self.hosts.get(region) {
            return h.clone();
        }
        if self.host_template == DEFAULT_GIT_HOST {
            return codehooks::arn::service_host("git-codecommit", region.as_str());
        }
        self.host_template.replace("{region}", region.as_str())
    }

    /// How `repository` of `region` is reached over git.
    pub fn target(&self, region: &Region, repository: &RepositoryName) -> GitTarget {
        let signed_host = self.host(region);
        let connect_base = match &self.connect_url {
            Some(u) => u.replace("{region}", region.as_str()),
            None => format!("https://{signed_host}"),
        };
        GitTarget {
            region: region.clone(),
            repository: repository.clone(),
            signed_host,
            connect_base,
        }
    }
}

#[cfg(test)]
#[path = "endpoints_test.rs"]
mod tests;
