//! The function's configuration, from the environment variables the template sets.

use std::collections::BTreeMap;
use std::path::PathBuf;

use codehooks::config::{Common, Env};

use crate::gitsync::{GitTarget, PushLimits};

/// Which repositories of the source region are replicated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every repository (found with ListRepositories for the reconciliation), minus the exclusions.
    All,
    /// These repositories, minus the exclusions.
    Named(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Config {
    pub common: Common,
    /// Where the source repositories live (`CODEHOOKS_SOURCE_REGION`, default the function's region).
    pub source_region: String,
    /// Where the replicas live (`CODEHOOKS_REPLICA_REGIONS`).
    pub replica_regions: Vec<String>,
    pub repositories: Selection,
    pub exclude: Vec<String>,
    /// Source name → replica name, where they differ (`CODEHOOKS_REPLICA_NAMES`).
    pub replica_names: BTreeMap<String, String>,
    /// Whether a missing replica is created (`CODEHOOKS_CREATE_MISSING_REPLICAS`).
    pub create_missing: bool,
    /// The root of the bare caches (`CODEHOOKS_CACHE_DIR`: `/tmp/...` or an EFS mount).
    pub cache_dir: PathBuf,
    /// The git host the password is signed for, `{region}` filled in (`CODEHOOKS_GIT_HOST`).
    pub git_host: String,
    /// Per-region git hosts that differ from the pattern, e.g. VPC endpoints (`CODEHOOKS_GIT_HOSTS`).
    pub git_hosts: BTreeMap<String, String>,
    /// Where git connections go instead of `https://<host>`, `{region}` filled in
    /// (`CODEHOOKS_GIT_CONNECT_URL`; for tests and proxies; the signed host does not change).
    pub git_connect_url: Option<String>,
    pub limits: PushLimits,
}

/// CodeCommit repository names: letters, digits, `.`, `_`, `-`, at most 100, not ending in `.git`.
pub fn valid_repository_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !name.ends_with(".git")
        && name != "."
        && name != ".."
}

/// `us-east-1`, `eu-west-2`, `us-gov-west-1`, `cn-north-1`, ...
pub fn valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

pub const DEFAULT_GIT_HOST: &str = "git-codecommit.{region}.amazonaws.com";

impl Config {
    pub fn read(env: &mut Env<'_>) -> Self {
        let common = Common::read(env);
        let function_region = env.optional("AWS_REGION").unwrap_or_default();
        let source_region = env.string_or("CODEHOOKS_SOURCE_REGION", &function_region);
        if source_region.is_empty() {
            env.problem(
                "CODEHOOKS_SOURCE_REGION",
                "is required when AWS_REGION is not set",
            );
        } else if !valid_region(&source_region) {
            env.problem(
                "CODEHOOKS_SOURCE_REGION",
                format!("must be a region name such as us-east-1, got {source_region:?}"),
            );
        }

        let replica_regions = env.list("CODEHOOKS_REPLICA_REGIONS");
        if replica_regions.is_empty() {
            env.problem(
                "CODEHOOKS_REPLICA_REGIONS",
                "must name at least one region (comma-separated)",
            );
        }
        for (i, r) in replica_regions.iter().enumerate() {
            if !valid_region(r) {
                env.problem(
                    "CODEHOOKS_REPLICA_REGIONS",
                    format!("must list region names such as eu-west-2, got {r:?}"),
                );
            } else if *r == source_region {
                env.problem(
                    "CODEHOOKS_REPLICA_REGIONS",
                    format!("must not include the source region {r}"),
                );
            } else if replica_regions[..i].contains(r) {
                env.problem("CODEHOOKS_REPLICA_REGIONS", format!("lists {r} twice"));
            }
        }

        let raw = env.list("CODEHOOKS_REPOSITORIES");
        let repositories = if raw.len() == 1 && raw[0] == "*" {
            Selection::All
        } else {
            if raw.is_empty() {
                env.problem(
                    "CODEHOOKS_REPOSITORIES",
                    "must list repository names (comma-separated) or be * for all",
                );
            }
            for name in &raw {
                if !valid_repository_name(name) {
                    env.problem(
                        "CODEHOOKS_REPOSITORIES",
                        format!("{name:?} is not a CodeCommit repository name"),
                    );
                }
            }
            Selection::Named(raw)
        };
        let exclude = env.list("CODEHOOKS_EXCLUDE_REPOSITORIES");
        let replica_names: BTreeMap<String, String> =
            env.json_or_default("CODEHOOKS_REPLICA_NAMES");
        for (from, to) in &replica_names {
            if !valid_repository_name(from) || !valid_repository_name(to) {
                env.problem(
                    "CODEHOOKS_REPLICA_NAMES",
                    format!("maps {from:?} to {to:?}; both must be CodeCommit repository names"),
                );
            }
        }
        let create_missing = env.bool_or("CODEHOOKS_CREATE_MISSING_REPLICAS", false);
        let cache_dir = PathBuf::from(env.string_or("CODEHOOKS_CACHE_DIR", "/tmp/codehooks-git"));
        if !cache_dir.is_absolute() {
            env.problem(
                "CODEHOOKS_CACHE_DIR",
                "must be an absolute path (/tmp/... or an EFS mount such as /mnt/git)",
            );
        }
        let git_host = env.string_or("CODEHOOKS_GIT_HOST", DEFAULT_GIT_HOST);
        if git_host.contains('/') || git_host.contains(':') || git_host.contains('@') {
            env.problem(
                "CODEHOOKS_GIT_HOST",
                "must be a host name only, such as git-codecommit-fips.{region}.amazonaws.com",
            );
        }
        let git_hosts: BTreeMap<String, String> = env.json_or_default("CODEHOOKS_GIT_HOSTS");
        for (region, host) in &git_hosts {
            if !valid_region(region) || host.is_empty() || host.contains('/') || host.contains(':')
            {
                env.problem(
                    "CODEHOOKS_GIT_HOSTS",
                    format!("maps {region:?} to {host:?}; expected region names to host names"),
                );
            }
        }
        let git_connect_url = env.optional("CODEHOOKS_GIT_CONNECT_URL");
        if let Some(u) = &git_connect_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            env.problem(
                "CODEHOOKS_GIT_CONNECT_URL",
                "must start with https:// or http://",
            );
        }
        let max_refs = env.u64_in("CODEHOOKS_MAX_REFS_PER_PUSH", 4000, 1..=4000);
        let cas_retries = env.u64_in("CODEHOOKS_CAS_RETRIES", 3, 0..=10);
        Self {
            common,
            source_region,
            replica_regions,
            repositories,
            exclude,
            replica_names,
            create_missing,
            cache_dir,
            git_host,
            git_hosts,
            git_connect_url,
            limits: PushLimits {
                max_refs_per_push: max_refs as usize,
                cas_retries: cas_retries as u32,
            },
        }
    }

    /// Whether events about `repository` are replicated.
    pub fn selects(&self, repository: &str) -> bool {
        if self.exclude.iter().any(|e| e == repository) {
            return false;
        }
        match &self.repositories {
            Selection::All => true,
            Selection::Named(names) => names.iter().any(|n| n == repository),
        }
    }

    /// The replica's name for the source repository `repository`.
    pub fn replica_name<'a>(&'a self, repository: &'a str) -> &'a str {
        self.replica_names
            .get(repository)
            .map_or(repository, String::as_str)
    }

    /// The git host of `region`.
    pub fn host(&self, region: &str) -> String {
        if let Some(h) = self.git_hosts.get(region) {
            return h.clone();
        }
        let host = self.git_host.replace("{region}", region);
        // China regions use the amazonaws.com.cn domain.
        if self.git_host == DEFAULT_GIT_HOST && region.starts_with("cn-") {
            format!("{host}.cn")
        } else {
            host
        }
    }

    /// How repository `repository` of `region` is reached over git.
    pub fn target(&self, region: &str, repository: &str) -> GitTarget {
        let signed_host = self.host(region);
        let connect_base = match &self.git_connect_url {
            Some(u) => u.replace("{region}", region),
            None => format!("https://{signed_host}"),
        };
        GitTarget {
            region: region.to_owned(),
            repository: repository.to_owned(),
            signed_host,
            connect_base,
        }
    }
}

#[cfg(test)]
#[path = "config_test.rs"]
mod tests;
