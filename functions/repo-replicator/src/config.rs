//! The function's own configuration, from the environment variables the template sets.
//! (The settings every function shares, `codehooks::harness::Common`, are read by the harness.)
//!
//! Every value that later becomes part of a URL or a path is a validated type here
//! (`Region`, `RepositoryName`, a host name), so nothing downstream checks it again.

use std::collections::BTreeMap;
use std::path::PathBuf;

use codehooks::config::Env;
use codehooks::names::{Region, RepositoryName};

use crate::cache::CacheBounds;
use crate::endpoints::{DEFAULT_GIT_HOST, GitEndpoints};
use crate::policy::{self, Policy};
use crate::queue::QueueConfig;

/// Which repositories of the source region are replicated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every repository (found with ListRepositories for the reconciliation), minus the exclusions.
    All,
    /// These repositories, minus the exclusions.
    Named(Vec<RepositoryName>),
}

/// How pushes to a replica are done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushLimits {
    /// Ref changes per push (CodeCommit accepts at most 4,000).
    pub max_refs_per_push: usize,
    /// How often to list again and retry when the replica moved between listing and pushing.
    pub cas_retries: u32,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Where the source repositories live (`CODEHOOKS_SOURCE_REGION`, default the function's region).
    pub source_region: Region,
    /// Where the replicas live (`CODEHOOKS_REPLICA_REGIONS`).
    pub replica_regions: Vec<Region>,
    pub repositories: Selection,
    pub exclude: Vec<String>,
    /// Source name → replica name, where they differ (`CODEHOOKS_REPLICA_NAMES`).
    pub replica_names: BTreeMap<RepositoryName, RepositoryName>,
    /// Whether a missing replica is created (`CODEHOOKS_CREATE_MISSING_REPLICAS`).
    pub create_missing: bool,
    /// The root of the bare caches (`CODEHOOKS_CACHE_DIR`: `/tmp/...` or an EFS mount).
    pub cache_dir: PathBuf,
    /// The git hosts and connection URLs of the regions.
    pub git: GitEndpoints,
    pub limits: PushLimits,
    /// The ref policy of every replica (`CODEHOOKS_REF_INCLUDE`, `CODEHOOKS_REF_EXCLUDE`,
    /// `CODEHOOKS_BACKUP_RETENTION`, `CODEHOOKS_DIVERGENCE`)...
    pub policy: Policy,
    /// ...and per replica region where it differs (`CODEHOOKS_REPLICA_POLICIES`).
    pub replica_policies: BTreeMap<Region, Policy>,
    /// Whether a replica's default branch follows the source's
    /// (`CODEHOOKS_FOLLOW_DEFAULT_BRANCH`, default true).
    pub follow_default_branch: bool,
    /// A ref whose history needs more commits than this is pushed in slices
    /// (`CODEHOOKS_SLICE_COMMITS`, default 5,000).
    pub slice_commits: usize,
    /// Slices stop this long before the invocation's deadline
    /// (`CODEHOOKS_DEADLINE_MARGIN_SECONDS`, default 30).
    pub deadline_margin: std::time::Duration,
    /// The work queue the reconciliation fans out on (`CODEHOOKS_WORK_QUEUE_URL`; `None`:
    /// the reconciliation replicates every repository itself).
    pub work_queue: Option<QueueConfig>,
    /// The disk and lock bounds of the caches (`CODEHOOKS_CACHE_BUDGET_MB`...).
    pub cache_bounds: CacheBounds,
}

/// Why an entry of a JSON map variable is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("maps {from:?} to {to:?}; both must be CodeCommit repository names")]
    ReplicaName { from: String, to: String },
    #[error("maps {region:?} to {host:?}; expected region names to host names")]
    GitHost { region: String, host: String },
    #[error(
        "maps both {first:?} and {second:?} to {replica:?}; each replica mirrors one repository"
    )]
    SharedReplica {
        first: String,
        second: String,
        replica: String,
    },
}

/// Whether `host` is a DNS host name only (no scheme, port, path, user or other character);
/// a `{region}` placeholder stands for a region name.
pub fn is_host_name(host: &str) -> bool {
    codehooks::names::is_host_name(&host.replace("{region}", "us-east-1"))
}

/// The `CODEHOOKS_REPLICA_NAMES` entries, each a pair of repository names.
pub fn replica_names(
    raw: BTreeMap<String, String>,
) -> Result<BTreeMap<RepositoryName, RepositoryName>, Vec<MapError>> {
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    for (from, to) in raw {
        match (from.parse::<RepositoryName>(), to.parse::<RepositoryName>()) {
            (Ok(f), Ok(t)) => {
                if let Some(first) = sources.insert(to.clone(), from.clone()) {
                    errors.push(MapError::SharedReplica {
                        first,
                        second: from,
                        replica: to,
                    });
                    continue;
                }
                out.insert(f, t);
            }
            _ => errors.push(MapError::ReplicaName { from, to }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The `CODEHOOKS_GIT_HOSTS` entries: region → host name.
pub fn git_hosts(raw: BTreeMap<String, String>) -> Result<BTreeMap<Region, String>, Vec<MapError>> {
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    for (region, host) in raw {
        match region.parse::<Region>() {
            Ok(r) if is_host_name(&host) => {
                out.insert(r, host);
            }
            _ => errors.push(MapError::GitHost { region, host }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Records each error of a map variable as a problem of `variable`; keeps the valid part.
fn checked<K: Ord, V>(
    env: &mut Env<'_>,
    variable: &str,
    result: Result<BTreeMap<K, V>, Vec<MapError>>,
) -> BTreeMap<K, V> {
    match result {
        Ok(map) => map,
        Err(errors) => {
            for e in errors {
                env.problem(variable, e.to_string());
            }
            BTreeMap::new()
        }
    }
}

impl Config {
    /// Reads the variables; `None` when a value that has no sensible stand-in (the source
    /// region) is wrong. Every problem is recorded in `env`.
    pub fn read(env: &mut Env<'_>) -> Option<Self> {
        let function_region = env.optional("AWS_REGION").unwrap_or_default();
        let raw_source = env.string_or("CODEHOOKS_SOURCE_REGION", &function_region);
        let source_region = if raw_source.is_empty() {
            env.problem(
                "CODEHOOKS_SOURCE_REGION",
                "is required when AWS_REGION is not set",
            );
            None
        } else {
            match raw_source.parse::<Region>() {
                Ok(r) => Some(r),
                Err(_) => {
                    env.problem(
                        "CODEHOOKS_SOURCE_REGION",
                        format!("must be a region name such as us-east-1, got {raw_source:?}"),
                    );
                    None
                }
            }
        };

        let raw_replicas = env.list("CODEHOOKS_REPLICA_REGIONS");
        if raw_replicas.is_empty() {
            env.problem(
                "CODEHOOKS_REPLICA_REGIONS",
                "must name at least one region (comma-separated)",
            );
        }
        let mut replica_regions: Vec<Region> = Vec::new();
        for r in &raw_replicas {
            match r.parse::<Region>() {
                Err(_) => env.problem(
                    "CODEHOOKS_REPLICA_REGIONS",
                    format!("must list region names such as eu-west-2, got {r:?}"),
                ),
                Ok(region) if *r == raw_source => env.problem(
                    "CODEHOOKS_REPLICA_REGIONS",
                    format!("must not include the source region {region}"),
                ),
                Ok(region) if replica_regions.contains(&region) => {
                    env.problem("CODEHOOKS_REPLICA_REGIONS", format!("lists {region} twice"));
                }
                Ok(region) => replica_regions.push(region),
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
            let mut names = Vec::new();
            for name in &raw {
                match name.parse::<RepositoryName>() {
                    Ok(n) => names.push(n),
                    Err(_) => env.problem(
                        "CODEHOOKS_REPOSITORIES",
                        format!("{name:?} is not a CodeCommit repository name"),
                    ),
                }
            }
            Selection::Named(names)
        };
        let exclude = env.list("CODEHOOKS_EXCLUDE_REPOSITORIES");
        let raw_names: BTreeMap<String, String> = env.json_or_default("CODEHOOKS_REPLICA_NAMES");
        let replica_names = checked(env, "CODEHOOKS_REPLICA_NAMES", replica_names(raw_names));
        let create_missing = env.bool_or("CODEHOOKS_CREATE_MISSING_REPLICAS", false);
        let cache_dir = PathBuf::from(env.string_or("CODEHOOKS_CACHE_DIR", "/tmp/codehooks-git"));
        if !cache_dir.is_absolute() {
            env.problem(
                "CODEHOOKS_CACHE_DIR",
                "must be an absolute path (/tmp/... or an EFS mount such as /mnt/git)",
            );
        }
        let host_template = env.string_or("CODEHOOKS_GIT_HOST", DEFAULT_GIT_HOST);
        if !is_host_name(&host_template) {
            env.problem(
                "CODEHOOKS_GIT_HOST",
                "must be a host name only, such as git-codecommit-fips.{region}.amazonaws.com",
            );
        }
        let raw_hosts: BTreeMap<String, String> = env.json_or_default("CODEHOOKS_GIT_HOSTS");
        let hosts = checked(env, "CODEHOOKS_GIT_HOSTS", git_hosts(raw_hosts));
        let connect_url = env.optional("CODEHOOKS_GIT_CONNECT_URL");
        // Plain http:// would send the signed git requests and the repositories' contents in
        // clear: only a test's local git server may ask for it, and only with this flag (the
        // template never sets it).
        let allow_insecure = env.bool_or("CODEHOOKS_ALLOW_INSECURE_GIT", false);
        if let Some(u) = &connect_url {
            if u.starts_with("http://") {
                if !allow_insecure {
                    env.problem(
                        "CODEHOOKS_GIT_CONNECT_URL",
                        "must start with https://; http:// (no TLS) is for a local test server \
                         only and needs CODEHOOKS_ALLOW_INSECURE_GIT=true as well",
                    );
                }
            } else if !u.starts_with("https://") {
                env.problem("CODEHOOKS_GIT_CONNECT_URL", "must start with https://");
            }
        }
        let max_refs = env.u64_in("CODEHOOKS_MAX_REFS_PER_PUSH", 4000, 1..=4000);
        let cas_retries = env.u64_in("CODEHOOKS_CAS_RETRIES", 3, 0..=10);
        let (policy, raw_policies) = policy::read(env);
        let mut replica_policies = BTreeMap::new();
        for (region, p) in raw_policies {
            match region.parse::<Region>() {
                Ok(r) if replica_regions.contains(&r) => {
                    replica_policies.insert(r, p);
                }
                _ => env.problem(
                    "CODEHOOKS_REPLICA_POLICIES",
                    format!(
                        "{region:?} is not one of the replica regions (CODEHOOKS_REPLICA_REGIONS)"
                    ),
                ),
            }
        }
        let follow_default_branch = env.bool_or("CODEHOOKS_FOLLOW_DEFAULT_BRANCH", true);
        let slice_commits = env.u64_in("CODEHOOKS_SLICE_COMMITS", 5000, 100..=10_000_000);
        let margin = env.u64_in("CODEHOOKS_DEADLINE_MARGIN_SECONDS", 30, 0..=600);
        let work_queue = QueueConfig::read(env, allow_insecure);
        let cache_bounds = CacheBounds::read(env);
        Some(Self {
            source_region: source_region?,
            replica_regions,
            repositories,
            exclude,
            replica_names,
            create_missing,
            cache_dir,
            git: GitEndpoints {
                host_template,
                hosts,
                connect_url,
            },
            limits: PushLimits {
                max_refs_per_push: max_refs as usize,
                cas_retries: cas_retries as u32,
            },
            policy,
            replica_policies,
            follow_default_branch,
            slice_commits: slice_commits as usize,
            deadline_margin: std::time::Duration::from_secs(margin),
            work_queue,
            cache_bounds,
        })
    }

    /// The ref policy of the replica in `region`.
    pub fn policy_for(&self, region: &Region) -> &Policy {
        self.replica_policies.get(region).unwrap_or(&self.policy)
    }

    /// Whether events about `repository` are replicated.
    pub fn selects(&self, repository: &RepositoryName) -> bool {
        if self.exclude.iter().any(|e| e == repository.as_str()) {
            return false;
        }
        match &self.repositories {
            Selection::All => true,
            Selection::Named(names) => names.contains(repository),
        }
    }

    /// The replica's name for the source repository `repository`.
    pub fn replica_name<'a>(&'a self, repository: &'a RepositoryName) -> &'a RepositoryName {
        self.replica_names.get(repository).unwrap_or(repository)
    }
}

#[cfg(test)]
#[path = "config_test.rs"]
mod tests;
