//! The in-memory twin of both ports: CodeCommit as the orchestration sees it (repositories
//! per region with their branches and tags, a cache per source repository), state behind a
//! `Mutex`, every call recorded, and knobs to make the API or a region's git endpoint fail,
//! to script ListRepositories pages, to move or reject a replica's ref during a push, and to
//! run a hook (a source change) right after a replica is listed. The twin keeps a commit graph
//! (parents per commit) for [`crate::ports::Mirror::relation`]; ids it was never told about are `Unknown`.
//! One struct serves both ports because CodeCommit's API and its git endpoint see the same
//! repositories (a replica created through the catalogue can then be pushed to).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use codehooks::names::{Region, RepositoryName};
use codehooks::{Error, Result};

use crate::endpoints::GitTarget;
use crate::plan::{ObjectId, RefChange, Refs};
use crate::ports::{Created, MirrorError, Page, Pushed, RepositoryCatalogue, RepositoryInfo};

type Key = (String, String);

#[derive(Debug, Default, Clone)]
struct Repo {
    description: Option<String>,
    refs: Refs,
    default_branch: Option<String>,
}

#[derive(Debug, Default)]
struct World {
    repositories: BTreeMap<Key, Repo>,
    parents: BTreeMap<ObjectId, Vec<ObjectId>>,
    slice_points: BTreeMap<ObjectId, Vec<ObjectId>>,
    pushed: Vec<(String, Vec<RefChange>)>,
    applied: Vec<(String, RefChange)>,
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

type ListHook = Box<dyn FnMut(&CodeCommitTwin, &GitTarget) + Send>;

/// What runs after a replica is listed (a test's source change).
#[derive(Default)]
struct Hook(Option<ListHook>);

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Hook(set)"
        } else {
            "Hook(none)"
        })
    }
}

/// CodeCommit in memory (cheap to clone: clones share the state).
#[derive(Debug, Clone, Default)]
pub struct CodeCommitTwin {
    world: Arc<Mutex<World>>,
    on_list: Arc<Mutex<Hook>>,
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
        let default_branch = first_branch(&refs);
        self.world().repositories.insert(
            (region.to_owned(), name.to_owned()),
            Repo {
                description: description.map(str::to_owned),
                refs,
                default_branch,
            },
        );
    }

    /// Sets (or deletes, `None`) one ref of an existing repository (a push by someone else).
    pub fn set_ref(&self, region: &str, name: &str, git_ref: &str, to: Option<ObjectId>) {
        if let Some(r) = self
            .world()
            .repositories
            .get_mut(&(region.to_owned(), name.to_owned()))
        {
            match to {
                Some(o) => r.refs.insert(git_ref.to_owned(), o),
                None => r.refs.remove(git_ref),
            };
        }
    }

    /// A repository's refs (`None` when it does not exist).
    pub fn refs(&self, region: &str, name: &str) -> Option<Refs> {
        self.world()
            .repositories
            .get(&(region.to_owned(), name.to_owned()))
            .map(|r| r.refs.clone())
    }

    /// A repository's branches and tags only (without the function's own refs).
    pub fn mirrored(&self, region: &str, name: &str) -> Option<Refs> {
        self.refs(region, name).map(|r| {
            r.into_iter()
                .filter(|(n, _)| crate::plan::is_mirrored(n))
                .collect()
        })
    }

    /// A repository's description (`None` when it does not exist).
    pub fn description(&self, region: &str, name: &str) -> Option<Option<String>> {
        self.world()
            .repositories
            .get(&(region.to_owned(), name.to_owned()))
            .map(|r| r.description.clone())
    }

    /// A repository's default branch (`None` when it does not exist).
    pub fn default_branch(&self, region: &str, name: &str) -> Option<Option<String>> {
        self.world()
            .repositories
            .get(&(region.to_owned(), name.to_owned()))
            .map(|r| r.default_branch.clone())
    }

    /// Sets a repository's default branch directly (not a recorded call).
    pub fn put_default_branch(&self, region: &str, name: &str, branch: Option<&str>) {
        if let Some(r) = self
            .world()
            .repositories
            .get_mut(&(region.to_owned(), name.to_owned()))
        {
            r.default_branch = branch.map(str::to_owned);
        }
    }

    /// Adds `commit` to the commit graph with these parents.
    pub fn commit(&self, commit: ObjectId, parents: &[ObjectId]) {
        self.world().parents.insert(commit, parents.to_vec());
    }

    /// The first parent of `commit` in the graph.
    pub fn parent(&self, commit: &ObjectId) -> Option<ObjectId> {
        self.world()
            .parents
            .get(commit)
            .and_then(|p| p.first().cloned())
    }

    /// Adds a line of history: each commit's parent is the one before it.
    pub fn chain(&self, commits: &[ObjectId]) {
        let mut w = self.world();
        for (i, c) in commits.iter().enumerate() {
            let parents = if i == 0 {
                vec![]
            } else {
                vec![commits[i - 1].clone()]
            };
            w.parents.entry(c.clone()).or_insert(parents);
        }
    }

    /// [`crate::ports::Mirror::slices`] of `tip` answers these points (oldest first, ending with `tip`),
    /// minus those up to the last one the replica has; unset: `[tip]`.
    pub fn script_slices(&self, tip: ObjectId, points: Vec<ObjectId>) {
        self.world().slice_points.insert(tip, points);
    }

    /// Runs `hook` right after every listing of a replica (between the function's T1 listing
    /// and its source advertisement): a source change a test interleaves.
    pub fn on_list(&self, hook: impl FnMut(&CodeCommitTwin, &GitTarget) + Send + 'static) {
        self.on_list.lock().unwrap_or_else(|e| e.into_inner()).0 = Some(Box::new(hook));
    }

    /// Every push that reached a server: the region and its ref changes, in order.
    pub fn pushes(&self) -> Vec<(String, Vec<RefChange>)> {
        self.world().pushed.clone()
    }

    /// Every ref change a server applied: the region and the change, in order.
    pub fn applied(&self) -> Vec<(String, RefChange)> {
        self.world().applied.clone()
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

/// `main` when there is one, else the first branch.
fn first_branch(refs: &Refs) -> Option<String> {
    if refs.contains_key("refs/heads/main") {
        return Some("main".to_owned());
    }
    refs.keys()
        .find_map(|r| r.strip_prefix("refs/heads/"))
        .map(str::to_owned)
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
    w.pushed.push((region.clone(), batch.to_vec()));
    let mut applied = Vec::new();
    let Some(Repo {
        refs,
        default_branch,
        ..
    }) = w.repositories.get_mut(&k)
    else {
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
            applied.push((region.clone(), c.clone()));
            statuses.push((c.name.clone(), None));
        }
    }
    // CodeCommit: the first branch a repository gets becomes its default branch.
    if default_branch.is_none() {
        *default_branch = first_branch(refs);
    }
    w.applied.append(&mut applied);
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
            .map(|r| RepositoryInfo {
                description: r.description.clone(),
                default_branch: r.default_branch.clone(),
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
        w.repositories.insert(
            k,
            Repo {
                description,
                ..Repo::default()
            },
        );
        Ok(Created::Created)
    }

    async fn set_default_branch(
        &self,
        region: &Region,
        name: &RepositoryName,
        branch: &str,
    ) -> Result<()> {
        let mut w = self.api("UpdateDefaultBranch", format!("{region}/{name}"))?;
        let refused = |code: &str, message: String| Error::Aws {
            operation: "UpdateDefaultBranch",
            code: code.into(),
            message,
            retryable: false,
        };
        let Some(repo) = w.repositories.get_mut(&key(region, name)) else {
            return Err(refused(
                "RepositoryDoesNotExistException",
                format!("{name} does not exist in {region}"),
            ));
        };
        if !repo.refs.contains_key(&format!("refs/heads/{branch}")) {
            return Err(refused(
                "BranchDoesNotExistException",
                format!("{name} has no branch {branch}"),
            ));
        }
        repo.default_branch = Some(branch.to_owned());
        Ok(())
    }
}

#[path = "twins_git.rs"]
mod git;
