//! The in-memory twin of both ports: CodeCommit as the orchestration sees it (repositories
//! per region with their branches and tags, a cache per source repository), state behind a
//! `Mutex`, every call recorded, and knobs to make the API or a region's git endpoint fail,
//! to script ListRepositories pages, and to move or reject a replica's ref during a push.
//! One struct serves both ports because CodeCommit's API and its git endpoint see the same
//! repositories (a replica created through the catalogue can then be pushed to).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use codehooks::names::{Region, RepositoryName};
use codehooks::{Error, Result};

use crate::endpoints::GitTarget;
use crate::plan::{ObjectId, RefChange, Refs, ref_changes};
use crate::ports::{
    Created, Fetched, Mirror, MirrorError, Opened, Page, Pushed, RepositoryCatalogue,
    RepositoryInfo,
};

type Key = (String, String);

#[derive(Debug, Default)]
struct World {
    repositories: BTreeMap<Key, (Option<String>, Refs)>,
    caches: BTreeMap<Key, Refs>,
    calls: Vec<String>,
    pages: Option<Vec<Page>>,
    page_size: usize,
    api_faults: BTreeMap<&'static str, u32>,
    git_failing: BTreeSet<String>,
    git_refusing: BTreeSet<String>,
    moves: Vec<(String, String, ObjectId)>,
    rejected_refs: BTreeSet<(String, String)>,
}

/// CodeCommit in memory (cheap to clone: clones share the state).
#[derive(Debug, Clone, Default)]
pub struct CodeCommitTwin {
    world: Arc<Mutex<World>>,
}

fn key(region: &Region, name: &RepositoryName) -> Key {
    (region.to_string(), name.to_string())
}

impl CodeCommitTwin {
    pub fn new() -> Self {
        Self::default()
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds (or replaces) a repository with these refs.
    pub fn put(&self, region: &str, name: &str, description: Option<&str>, refs: Refs) {
        self.world().repositories.insert(
            (region.to_owned(), name.to_owned()),
            (description.map(str::to_owned), refs),
        );
    }

    /// A repository's refs (`None` when it does not exist).
    pub fn refs(&self, region: &str, name: &str) -> Option<Refs> {
        self.world()
            .repositories
            .get(&(region.to_owned(), name.to_owned()))
            .map(|(_, r)| r.clone())
    }

    /// A repository's description (`None` when it does not exist).
    pub fn description(&self, region: &str, name: &str) -> Option<Option<String>> {
        self.world()
            .repositories
            .get(&(region.to_owned(), name.to_owned()))
            .map(|(d, _)| d.clone())
    }

    /// Every call so far, as `Operation region/name`.
    pub fn calls(&self) -> Vec<String> {
        self.world().calls.clone()
    }

    /// The next `times` calls of `operation` (`ListRepositories`, `GetRepository`,
    /// `CreateRepository`) fail with a retryable error.
    pub fn fail_api(&self, operation: &'static str, times: u32) {
        self.world().api_faults.insert(operation, times);
    }

    /// The git endpoint of `region` fails (network-like).
    pub fn fail_git(&self, region: &str) {
        self.world().git_failing.insert(region.to_owned());
    }

    /// The git endpoint of `region` refuses the function.
    pub fn refuse_git(&self, region: &str) {
        self.world().git_refusing.insert(region.to_owned());
    }

    /// ListRepositories answers these pages (the token is the next page's index).
    pub fn script_pages(&self, pages: Vec<Page>) {
        self.world().pages = Some(pages);
    }

    /// ListRepositories pages hold at most `n` names.
    pub fn page_size(&self, n: usize) {
        self.world().page_size = n;
    }

    /// Someone moves `git_ref` of the replicas in `region` to `to` just before a push there
    /// reaches the server (after the function listed the replica); one move per push, in the
    /// order they were asked for.
    pub fn move_before_push(&self, region: &str, git_ref: &str, to: ObjectId) {
        self.world()
            .moves
            .push((region.to_owned(), git_ref.to_owned(), to));
    }

    /// The server of `region` rejects every update of `git_ref` (a hook, a permission).
    pub fn reject(&self, region: &str, git_ref: &str) {
        self.world()
            .rejected_refs
            .insert((region.to_owned(), git_ref.to_owned()));
    }

    fn api(&self, operation: &'static str, what: String) -> Result<MutexGuard<'_, World>> {
        let mut w = self.world();
        w.calls.push(format!("{operation} {what}"));
        if let Some(n) = w.api_faults.get_mut(operation)
            && *n > 0
        {
            *n -= 1;
            return Err(Error::Aws {
                operation,
                code: "ServiceUnavailableException".into(),
                message: "injected by the twin".into(),
                retryable: true,
            });
        }
        Ok(w)
    }

    fn git(
        &self,
        operation: &str,
        target: &GitTarget,
    ) -> std::result::Result<MutexGuard<'_, World>, MirrorError> {
        let mut w = self.world();
        w.calls.push(format!(
            "{operation} {}/{}",
            target.region, target.repository
        ));
        let region = target.region.to_string();
        if w.git_failing.contains(&region) {
            return Err(MirrorError::Failed(format!(
                "cannot reach {}: connection refused",
                target.describe()
            )));
        }
        if w.git_refusing.contains(&region)
            || !w
                .repositories
                .contains_key(&key(&target.region, &target.repository))
        {
            return Err(MirrorError::Refused(format!(
                "{}: 403 Forbidden",
                target.describe()
            )));
        }
        Ok(w)
    }
}

/// Applies `batch` to the replica: the server compares each ref with the old value the push names.
fn push_locked(w: &mut World, replica: &GitTarget, batch: &[RefChange]) -> Pushed {
    let region = replica.region.to_string();
    let k = key(&replica.region, &replica.repository);
    let moved = w
        .moves
        .iter()
        .position(|m| m.0 == region)
        .map(|i| w.moves.remove(i));
    let rejected = w.rejected_refs.clone();
    let Some((_, refs)) = w.repositories.get_mut(&k) else {
        return Pushed::Moved(format!("{} is gone", replica.describe()));
    };
    if let Some((_, name, to)) = moved {
        refs.insert(name, to);
    }
    let mut statuses = Vec::new();
    for c in batch {
        if rejected.contains(&(region.clone(), c.name.clone())) {
            statuses.push((c.name.clone(), Some("pre-receive hook declined".to_owned())));
        } else if refs.get(&c.name) != c.old.as_ref() {
            statuses.push((c.name.clone(), Some("failed to lock".to_owned())));
        } else {
            match &c.new {
                Some(n) => refs.insert(c.name.clone(), n.clone()),
                None => refs.remove(&c.name),
            };
            statuses.push((c.name.clone(), None));
        }
    }
    let objects = batch.iter().filter(|c| c.new.is_some()).count() as u64;
    Pushed::Sent {
        statuses,
        bytes: objects * 100,
        objects,
    }
}

impl RepositoryCatalogue for CodeCommitTwin {
    async fn list_page(&self, region: &Region, next_token: Option<String>) -> Result<Page> {
        let w = self.api("ListRepositories", format!("{region} {next_token:?}"))?;
        let index: usize = next_token
            .as_deref()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        if let Some(pages) = &w.pages {
            return Ok(pages.get(index).cloned().unwrap_or_default());
        }
        let size = if w.page_size == 0 { 1000 } else { w.page_size };
        let names: Vec<String> = w
            .repositories
            .keys()
            .filter(|(r, _)| r == region.as_str())
            .map(|(_, n)| n.clone())
            .collect();
        let start = index * size;
        let page: Vec<String> = names.iter().skip(start).take(size).cloned().collect();
        Ok(Page {
            next_token: (start + size < names.len()).then(|| (index + 1).to_string()),
            names: page,
        })
    }

    async fn repository(
        &self,
        region: &Region,
        name: &RepositoryName,
    ) -> Result<Option<RepositoryInfo>> {
        let w = self.api("GetRepository", format!("{region}/{name}"))?;
        Ok(w.repositories
            .get(&key(region, name))
            .map(|(description, _)| RepositoryInfo {
                description: description.clone(),
            }))
    }

    async fn create(
        &self,
        region: &Region,
        name: &RepositoryName,
        description: Option<String>,
    ) -> Result<Created> {
        let mut w = self.api("CreateRepository", format!("{region}/{name}"))?;
        let k = key(region, name);
        if w.repositories.contains_key(&k) {
            return Ok(Created::AlreadyExists);
        }
        w.repositories.insert(k, (description, Refs::new()));
        Ok(Created::Created)
    }
}

impl Mirror for CodeCommitTwin {
    async fn fetch(&self, source: &GitTarget) -> std::result::Result<Fetched, MirrorError> {
        let mut w = self.git("fetch", source)?;
        let k = key(&source.region, &source.repository);
        let refs = w
            .repositories
            .get(&k)
            .map(|(_, r)| r.clone())
            .unwrap_or_default();
        let before = w.caches.insert(k, refs.clone()).unwrap_or_default();
        let objects = refs
            .values()
            .filter(|o| !before.values().any(|b| b == *o))
            .count() as u64;
        Ok(Fetched {
            refs,
            bytes: objects * 100,
            objects,
            millis: 0,
        })
    }

    async fn open(
        &self,
        _source: &GitTarget,
        replica: &GitTarget,
        desired: &Refs,
        batch: usize,
    ) -> std::result::Result<Opened, MirrorError> {
        let mut w = self.git("open", replica)?;
        let listed = w
            .repositories
            .get(&key(&replica.region, &replica.repository))
            .map(|(_, r)| r.clone())
            .unwrap_or_default();
        let changes = ref_changes(desired, &listed, replica)
            .map_err(|e| MirrorError::Failed(e.to_string()))?;
        let first = changes
            .chunks(batch.max(1))
            .next()
            .map(|b| push_locked(&mut w, replica, b));
        Ok(Opened {
            replica: listed,
            changes,
            first,
        })
    }

    async fn push(
        &self,
        _source: &GitTarget,
        replica: &GitTarget,
        changes: &[RefChange],
    ) -> std::result::Result<Pushed, MirrorError> {
        let mut w = self.git("push", replica)?;
        Ok(push_locked(&mut w, replica, changes))
    }

    async fn list(
        &self,
        _source: &GitTarget,
        replica: &GitTarget,
    ) -> std::result::Result<Refs, MirrorError> {
        let w = self.git("list", replica)?;
        Ok(w.repositories
            .get(&key(&replica.region, &replica.repository))
            .map(|(_, r)| r.clone())
            .unwrap_or_default())
    }
}
