//! The [`Mirror`] adapter on libgit2 ([`crate::gitsync`]): signs each connection with the
//! function's role credentials, keeps one bare cache per source repository under the cache
//! root (locked while it is fetched into, since several execution environments may share it
//! on EFS), and runs the blocking git work on tokio's blocking pool.

use std::path::{Path, PathBuf};

use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use codehooks::config::Secret;

use crate::endpoints::GitTarget;
use crate::gitsync;
use crate::plan::{RefChange, Refs};
use crate::ports::{Fetched, Mirror, MirrorError, Opened, Pushed};
use crate::signing::AwsKeys;

/// Where the git passwords' keys come from.
#[derive(Clone)]
enum Keys {
    /// The role's credentials, as the SDK finds them (refreshed by the provider).
    Provider(Option<SharedCredentialsProvider>),
    /// Fixed keys (benchmarks and tools).
    Fixed(AwsKeys),
}

/// The git mirror on libgit2.
#[derive(Clone)]
pub struct GitMirror {
    cache_root: PathBuf,
    keys: Keys,
}

impl std::fmt::Debug for GitMirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitMirror")
            .field("cache_root", &self.cache_root)
            .finish_non_exhaustive()
    }
}

/// Keeps libgit2 away from any user or system git configuration: Lambda has no HOME, and
/// nothing outside the cache directory should change how the function talks git.
pub fn prepare_libgit2() {
    use git2::ConfigLevel;
    for level in [
        ConfigLevel::System,
        ConfigLevel::XDG,
        ConfigLevel::Global,
        ConfigLevel::ProgramData,
    ] {
        // SAFETY: called once at start-up, before any other libgit2 call and before any
        // thread that could use libgit2 exists.
        if let Err(e) = unsafe { git2::opts::set_search_path(level, "") } {
            tracing::warn!(error = %e.message(), "cannot clear a libgit2 configuration search path");
        }
    }
    // SAFETY: as above; these only set process-wide integers inside libgit2.
    unsafe {
        let _ = git2::opts::set_server_connect_timeout_in_milliseconds(10_000);
        let _ = git2::opts::set_server_timeout_in_milliseconds(120_000);
    }
}

impl GitMirror {
    /// Signs with the credentials of `sdk`; caches live under `cache_root`.
    pub fn new(cache_root: &Path, sdk: &SdkConfig) -> Self {
        Self {
            cache_root: cache_root.to_path_buf(),
            keys: Keys::Provider(sdk.credentials_provider()),
        }
    }

    /// Signs with fixed keys.
    pub fn with_keys(cache_root: &Path, keys: AwsKeys) -> Self {
        Self {
            cache_root: cache_root.to_path_buf(),
            keys: Keys::Fixed(keys),
        }
    }

    /// The cache of the source repository `source`.
    pub fn cache_dir(&self, source: &GitTarget) -> PathBuf {
        gitsync::cache_dir(
            &self.cache_root,
            source.region.as_str(),
            source.repository.as_str(),
        )
    }

    async fn keys(&self) -> Result<AwsKeys, MirrorError> {
        let provider = match &self.keys {
            Keys::Fixed(k) => return Ok(k.clone()),
            Keys::Provider(None) => {
                return Err(MirrorError::Failed(
                    "no AWS credentials provider is configured".into(),
                ));
            }
            Keys::Provider(Some(p)) => p,
        };
        let c = provider.provide_credentials().await.map_err(|e| {
            MirrorError::Failed(format!("cannot load the function's AWS credentials: {e}"))
        })?;
        Ok(AwsKeys {
            access_key_id: c.access_key_id().to_owned(),
            secret_access_key: Secret::new(c.secret_access_key().to_owned()),
            session_token: c.session_token().map(|t| Secret::new(t.to_owned())),
        })
    }
}

impl Mirror for GitMirror {
    async fn fetch(&self, source: &GitTarget) -> Result<Fetched, MirrorError> {
        let keys = self.keys().await?;
        let (dir, source) = (self.cache_dir(source), source.clone());
        blocking(move || fetch_into_cache(&dir, &source, &keys)).await
    }

    async fn open(
        &self,
        source: &GitTarget,
        replica: &GitTarget,
        desired: &Refs,
        batch: usize,
    ) -> Result<Opened, MirrorError> {
        let keys = self.keys().await?;
        let (dir, replica, desired) = (self.cache_dir(source), replica.clone(), desired.clone());
        blocking(move || {
            let cache = gitsync::open_cache(&dir)?;
            gitsync::open_and_push(&cache, &replica, &keys, &desired, batch)
        })
        .await
    }

    async fn push(
        &self,
        source: &GitTarget,
        replica: &GitTarget,
        changes: &[RefChange],
    ) -> Result<Pushed, MirrorError> {
        let keys = self.keys().await?;
        let (dir, replica, changes) = (self.cache_dir(source), replica.clone(), changes.to_vec());
        blocking(move || {
            let cache = gitsync::open_cache(&dir)?;
            gitsync::push_changes(&cache, &replica, &keys, &changes)
        })
        .await
    }

    async fn list(&self, source: &GitTarget, replica: &GitTarget) -> Result<Refs, MirrorError> {
        let keys = self.keys().await?;
        let (dir, replica) = (self.cache_dir(source), replica.clone());
        blocking(move || {
            let cache = gitsync::open_cache(&dir)?;
            gitsync::list_refs(&cache, &replica, &keys)
        })
        .await
    }
}

/// Fetches the source into the cache, holding the cache's lock (several execution
/// environments share it when it lives on EFS).
fn fetch_into_cache(
    dir: &Path,
    source: &GitTarget,
    keys: &AwsKeys,
) -> Result<Fetched, MirrorError> {
    let lock_path = PathBuf::from(format!("{}.lock", dir.display()));
    if let Some(parent) = lock_path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| {
            MirrorError::Failed(format!(
                "cannot create the cache directory {}: {e}",
                parent.display()
            ))
        })?;
    }
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| MirrorError::Failed(format!("cannot open {}: {e}", lock_path.display())))?;
    lock.lock()
        .map_err(|e| MirrorError::Failed(format!("cannot lock {}: {e}", lock_path.display())))?;
    let cache = gitsync::open_cache(dir)?;
    let out = gitsync::fetch_source(&cache, source, keys);
    let _ = lock.unlock();
    out
}

/// Runs blocking git work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, MirrorError> + Send + 'static,
) -> Result<T, MirrorError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(MirrorError::Failed(format!("git work stopped: {e}"))))
}
