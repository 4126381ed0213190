//! The [`Mirror`] adapter: the cache on libgit2 ([`crate::gitsync`]: fetch, history
//! questions), listings and pushes over git's smart HTTP ([`crate::smart`]), packs built once
//! and shared by the replicas that need them ([`crate::packs`]). Signs each request with the
//! function's role credentials, keeps one bare cache per source repository under the cache
//! root (locked while it is fetched into, since several execution environments may share it
//! on EFS; read outside that lock only under a [`cache::Reading`] guard, so that no compaction
//! or eviction removes its files under a plan or a push), and runs the blocking git work on
//! tokio's blocking pool.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use codehooks::config::Secret;

use crate::cache::{self, CacheBounds};
use crate::endpoints::GitTarget;
use crate::gitsync;
use crate::packs::{PackContent, PackKey, PackMemo};
use crate::plan::{ObjectId, RefChange, Refs, is_mirrored};
use crate::ports::{Fetched, Mirror, MirrorError, Pushed, Relation};
use crate::signing::AwsKeys;
use crate::smart::{Advertisement, PackData, Service, SmartClient};

/// Where the git passwords' keys come from.
#[derive(Clone)]
enum Keys {
    /// The role's credentials, as the SDK finds them (refreshed by the provider).
    Provider(Option<SharedCredentialsProvider>),
    /// Fixed keys (benchmarks and tools).
    Fixed(AwsKeys),
}

/// The git mirror: libgit2 for the cache, smart HTTP for the replicas.
#[derive(Clone)]
pub struct GitMirror {
    cache_root: PathBuf,
    keys: Keys,
    /// `None` only when the HTTP client could not be set up (every git call then fails).
    smart: Option<SmartClient>,
    /// Disk and lock bounds of the caches ([`crate::cache`]).
    bounds: CacheBounds,
    /// Packs being built or sent, shared between concurrent pushes.
    packs: Arc<PackMemo>,
    /// What each replica (by URL) was last seen to hold: the push reads the capabilities
    /// and the objects not to send again from it.
    seen: Arc<Mutex<HashMap<String, ReplicaView>>>,
}

/// A replica's last advertisement, and the objects pushed to it since.
#[derive(Debug, Clone)]
struct ReplicaView {
    ad: Advertisement,
    held: Vec<ObjectId>,
    /// No push used the advertisement yet: the first push after a listing goes on it (one
    /// round trip fewer); later pushes advertise again.
    fresh: bool,
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
        Self::with(cache_root, Keys::Provider(sdk.credentials_provider()))
    }

    /// Signs with fixed keys.
    pub fn with_keys(cache_root: &Path, keys: AwsKeys) -> Self {
        Self::with(cache_root, Keys::Fixed(keys))
    }

    fn with(cache_root: &Path, keys: Keys) -> Self {
        let smart = SmartClient::new()
            .inspect_err(|e| tracing::error!(error = %e, "cannot set up the HTTP client"))
            .ok();
        Self {
            cache_root: cache_root.to_path_buf(),
            keys,
            bounds: CacheBounds::DEFAULT,
            smart,
            packs: Arc::new(PackMemo::default()),
            seen: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The caches kept within `bounds` (default: [`CacheBounds::DEFAULT`]).
    pub fn with_bounds(mut self, bounds: CacheBounds) -> Self {
        self.bounds = bounds;
        self
    }

    /// Where temporary packs are written.
    fn temp_packs(&self) -> PathBuf {
        self.cache_root.join(".packs")
    }

    fn smart(&self) -> Result<&SmartClient, MirrorError> {
        self.smart
            .as_ref()
            .ok_or_else(|| MirrorError::Failed("the HTTP client could not be set up".into()))
    }

    /// The receive-pack advertisement of `replica` (remembered for its next push); `keep_held`:
    /// the objects pushed since the last listing are still counted as the replica's.
    async fn advertise_replica(
        &self,
        replica: &GitTarget,
        keys: &AwsKeys,
        keep_held: bool,
    ) -> Result<Advertisement, MirrorError> {
        let ad = self
            .smart()?
            .advertise(replica, keys, Service::ReceivePack)
            .await?;
        let mut views = self.views();
        let held = views
            .remove(&replica.url())
            .filter(|_| keep_held)
            .map(|v| v.held)
            .unwrap_or_default();
        views.insert(
            replica.url(),
            ReplicaView {
                ad: ad.clone(),
                held,
                fresh: true,
            },
        );
        Ok(ad)
    }

    fn views(&self) -> std::sync::MutexGuard<'_, HashMap<String, ReplicaView>> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
        let (root, dir, source) = (
            self.cache_root.clone(),
            self.cache_dir(source),
            source.clone(),
        );
        let bounds = self.bounds;
        blocking(move || {
            cache::with_cache(&root, &dir, &bounds, |repo| {
                gitsync::fetch_source(repo, &source, &keys)
            })
        })
        .await
    }

    async fn source_refs(&self, source: &GitTarget) -> Result<Refs, MirrorError> {
        let keys = self.keys().await?;
        let ad = self
            .smart()?
            .advertise(source, &keys, Service::UploadPack)
            .await?;
        Ok(ad
            .refs
            .into_iter()
            .filter(|(name, _)| is_mirrored(name))
            .collect())
    }

    async fn relation(
        &self,
        source: &GitTarget,
        old: &ObjectId,
        new: &ObjectId,
    ) -> Result<Relation, MirrorError> {
        let (dir, old, new) = (self.cache_dir(source), old.clone(), new.clone());
        let wait = self.bounds.lock_wait;
        blocking(move || gitsync::reading(&dir, wait, |c| gitsync::relation(c, &old, &new))).await
    }

    async fn slices(
        &self,
        source: &GitTarget,
        tip: &ObjectId,
        have: &[ObjectId],
        max_commits: usize,
    ) -> Result<Vec<ObjectId>, MirrorError> {
        let (dir, tip, have) = (self.cache_dir(source), tip.clone(), have.to_vec());
        let wait = self.bounds.lock_wait;
        blocking(move || {
            gitsync::reading(&dir, wait, |c| gitsync::slices(c, &tip, &have, max_commits))
        })
        .await
    }

    async fn push(
        &self,
        source: &GitTarget,
        replica: &GitTarget,
        changes: &[RefChange],
    ) -> Result<Pushed, MirrorError> {
        if changes.is_empty() {
            return Ok(Pushed::Sent {
                statuses: Vec::new(),
                bytes: 0,
                objects: 0,
            });
        }
        let keys = self.keys().await?;
        // The first push after a listing goes on the listing's advertisement; a later one
        // advertises again, and a ref no longer at the value the change names is a
        // compare-and-swap miss found before any pack is built (the server checks it again).
        let fresh = self
            .views()
            .get_mut(&replica.url())
            .filter(|v| v.fresh)
            .map(|v| {
                v.fresh = false;
                v.clone()
            });
        let view = match fresh {
            Some(v) => v,
            None => {
                self.advertise_replica(replica, &keys, true).await?;
                let mut views = self.views();
                let Some(v) = views.get_mut(&replica.url()) else {
                    return Err(MirrorError::Failed(format!(
                        "the listing of {} was lost",
                        replica.describe()
                    )));
                };
                v.fresh = false;
                let v = v.clone();
                drop(views);
                if let Some(why) = moved(&v.ad, changes) {
                    return Ok(Pushed::Moved(why));
                }
                v
            }
        };
        let offered = view.ad;
        let shared = if changes.iter().all(|c| c.new.is_none()) {
            None
        } else {
            let dir = self.cache_dir(source);
            let key = PackKey::new(
                &dir,
                changes.iter().filter_map(|c| c.new.clone()),
                offered
                    .refs
                    .values()
                    .cloned()
                    .chain(view.held)
                    .chain(changes.iter().filter_map(|c| c.old.clone())),
            );
            let key = key.with_ofs_delta(offered.offers("ofs-delta"));
            let temp = self.temp_packs();
            let build_key = key.clone();
            let wait = self.bounds.lock_wait;
            // Built as a reader of the cache; the cache's own pack keeps its reader guard
            // (no compaction or eviction removes it) until the last push sending it is done.
            Some(
                self.packs
                    .get(key, || {
                        blocking(move || crate::packs::build_reading(&build_key, &temp, wait))
                    })
                    .await?,
            )
        };
        let (data, bytes, objects) = match shared.as_ref().map(|s| &*s.pack) {
            None => (PackData::None, 0, 0),
            Some(p) => {
                let data = match &p.content {
                    PackContent::Empty => {
                        PackData::Bytes(bytes::Bytes::from_static(&crate::packs::EMPTY_PACK))
                    }
                    PackContent::CachePack(path) | PackContent::Temporary(path) => {
                        PackData::File(path.clone())
                    }
                };
                tracing::info!(replica = %replica.describe(), objects = p.objects, bytes = p.bytes, how = p.how, "pushing");
                (data, p.bytes, p.objects)
            }
        };
        let report = self
            .smart()?
            .receive_pack(replica, &keys, &offered, changes, data)
            .await?;
        if let Err(why) = report.unpack {
            return Err(MirrorError::Failed(format!(
                "push to {} failed: the replica could not unpack the pack: {why}",
                replica.describe()
            )));
        }
        if let Some(s) = &shared
            && let Some(v) = self.views().get_mut(&replica.url())
        {
            v.held.extend(s.pack.covers.iter().cloned());
        }
        // The pack (and with it the cache's reader guard) is let go only now, the push done.
        drop(shared);
        Ok(Pushed::Sent {
            statuses: report.statuses,
            bytes,
            objects,
        })
    }

    async fn list(&self, _source: &GitTarget, replica: &GitTarget) -> Result<Refs, MirrorError> {
        let keys = self.keys().await?;
        let ad = self.advertise_replica(replica, &keys, false).await?;
        Ok(ad
            .refs
            .into_iter()
            .filter(|(name, _)| is_mirrored(name) || crate::refs::is_own(name))
            .collect())
    }
}

/// Why `changes` cannot apply to a replica advertising `ad`: the first ref not at the old
/// value its change names.
fn moved(ad: &Advertisement, changes: &[RefChange]) -> Option<String> {
    let show = |id: Option<&ObjectId>| id.map_or("nothing".to_owned(), ToString::to_string);
    changes
        .iter()
        .find(|c| ad.refs.get(&c.name) != c.old.as_ref())
        .map(|c| {
            format!(
                "{} was expected at {} but is at {}",
                c.name,
                show(c.old.as_ref()),
                show(ad.refs.get(&c.name))
            )
        })
}

/// Runs blocking git work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, MirrorError> + Send + 'static,
) -> Result<T, MirrorError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(MirrorError::Failed(format!("git work stopped: {e}"))))
}
