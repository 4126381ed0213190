//! The function's configuration, read once from environment variables at start-up.

use codehooks::arn::Arn;
use codehooks::config::Env;
use codehooks::names::{is_account, is_repository_name};

use crate::build::is_project_name;
use crate::checks::Checks;

/// What `pr-comments` is configured to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Repositories whose pull requests are validated; empty means every repository.
    pub repositories: Vec<String>,
    /// The CodeBuild project that validates pull requests; a [`REPOSITORY`] placeholder
    /// stands for the pull request's repository (see [`Config::project_for`]).
    pub project: String,
    /// Whether the function approves (on success) and revokes (on start and failure) pull requests.
    pub approval: bool,
    /// Whether a newer push stops the builds still running for older commits of the same pull request.
    pub stop_superseded: bool,
    /// Whose comments are the function's own (its role); `None` learns it from its own posts.
    pub author: Option<Author>,
    /// How many of the project's most recent builds are looked at to find a pull request's builds.
    pub recent_builds: usize,
    /// The validation checks per repository; empty: the single project above.
    pub checks: Checks,
    /// How many log lines of a failed check the result shows (0: none).
    pub log_lines: usize,
    /// Who may ask for a re-run besides the pull request's author.
    pub retry_allowed: Vec<Author>,
}

impl Config {
    /// Reads the configuration; problems are recorded in `env` (see [`Env::finish`]).
    pub fn read(env: &mut Env<'_>) -> Self {
        let repositories = env.list("CODEHOOKS_PR_REPOSITORIES");
        let repositories = if repositories.iter().any(|r| r == "*") {
            Vec::new()
        } else {
            repositories
        };
        for r in &repositories {
            if !is_repository_name(r) {
                env.problem(
                    "CODEHOOKS_PR_REPOSITORIES",
                    format!("must list CodeCommit repository names (letters, digits, '.', '_', '-', at most 100 characters) or *, got {r:?}"),
                );
                break;
            }
        }
        let checks = Checks::read(env);
        let project = if checks.covers_all() {
            env.optional("CODEHOOKS_PR_BUILD_PROJECT")
                .unwrap_or_default()
        } else {
            env.required("CODEHOOKS_PR_BUILD_PROJECT")
        };
        if !project.is_empty()
            && let Some(why) = project_problem(&project, &repositories)
        {
            env.problem("CODEHOOKS_PR_BUILD_PROJECT", why);
        }
        let approval = env.bool_or("CODEHOOKS_PR_APPROVAL", false);
        let stop_superseded = env.bool_or("CODEHOOKS_PR_STOP_SUPERSEDED", true);
        let author = match env.optional("CODEHOOKS_PR_AUTHOR_ARN") {
            None => None,
            Some(raw) => match Author::parse(&raw) {
                Some(a) => Some(a),
                None => {
                    env.problem(
                        "CODEHOOKS_PR_AUTHOR_ARN",
                        "must be the function's role ARN (arn:<partition>:iam::<account>:role/<name>) or its assumed-role ARN (arn:<partition>:sts::<account>:assumed-role/<name>/<session>)",
                    );
                    None
                }
            },
        };
        let recent_builds = env.u64_in("CODEHOOKS_PR_RECENT_BUILDS", 100, 1..=1000) as usize;
        Self {
            repositories,
            project,
            approval,
            stop_superseded,
            author,
            recent_builds,
            checks,
            log_lines: env.u64_in("CODEHOOKS_PR_LOG_LINES", 20, 0..=200) as usize,
            retry_allowed: retry_allowed(env),
        }
    }

    /// The project that validates pull requests of `repository`: the configured name, its
    /// [`REPOSITORY`] placeholder replaced by the repository name with dots as dashes.
    pub fn project_for(&self, repository: &str) -> String {
        self.project
            .replace(REPOSITORY, &repository.replace('.', "-"))
    }

    /// Whether `name` can be a validation project: the configured name, or, with the
    /// placeholder, a name with its prefix and suffix around a non-empty repository part.
    pub fn is_project(&self, name: &str) -> bool {
        if self.checks.is_project(name) {
            return true;
        }
        if self.project.is_empty() {
            return false;
        }
        match self.project.split_once(REPOSITORY) {
            None => name == self.project,
            Some((prefix, suffix)) => {
                name.len() > prefix.len() + suffix.len()
                    && name.starts_with(prefix)
                    && name.ends_with(suffix)
            }
        }
    }

    /// Whether pull requests of `repository` are validated.
    pub fn watches(&self, repository: &str) -> bool {
        self.repositories.is_empty() || self.repositories.iter().any(|r| r == repository)
    }
}

/// A principal that comments: a role (any of its sessions) or another IAM principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Author {
    /// An IAM role, known by account and role name; its sessions are `assumed-role/<name>/...`.
    Role { account: String, name: String },
    /// Any other principal, compared by its full ARN.
    Exact(String),
}

impl Author {
    /// Reads an IAM role ARN, an STS assumed-role ARN, or another IAM/STS principal ARN.
    pub fn parse(arn: &str) -> Option<Self> {
        let parsed = Arn::parse(arn).ok()?;
        let (service, account, resource) = (
            parsed.service.as_str(),
            parsed.account.as_str(),
            parsed.resource.as_str(),
        );
        if !is_account(account) {
            return None;
        }
        match service {
            "iam" => {
                if let Some(path_and_name) = resource.strip_prefix("role/") {
                    let name = path_and_name.rsplit('/').next().unwrap_or_default();
                    if name.is_empty() {
                        return None;
                    }
                    Some(Author::Role {
                        account: account.to_owned(),
                        name: name.to_owned(),
                    })
                } else {
                    Some(Author::Exact(arn.to_owned()))
                }
            }
            "sts" => {
                if let Some(rest) = resource.strip_prefix("assumed-role/") {
                    let name = rest.split('/').next().unwrap_or_default();
                    if name.is_empty() {
                        return None;
                    }
                    Some(Author::Role {
                        account: account.to_owned(),
                        name: name.to_owned(),
                    })
                } else {
                    Some(Author::Exact(arn.to_owned()))
                }
            }
            _ => None,
        }
    }

    /// Whether a comment by `author_arn` is by this principal.
    pub fn matches(&self, author_arn: &str) -> bool {
        match (self, Author::parse(author_arn)) {
            (
                Author::Role { account, name },
                Some(Author::Role {
                    account: a,
                    name: n,
                }),
            ) => *account == a && *name == n,
            (Author::Exact(arn), _) => arn == author_arn,
            _ => false,
        }
    }
}

/// `CODEHOOKS_PR_RETRY_ALLOWED`: IAM or STS principal ARNs (a role stands for its sessions).
fn retry_allowed(env: &mut Env<'_>) -> Vec<Author> {
    let mut out = Vec::new();
    for raw in env.list("CODEHOOKS_PR_RETRY_ALLOWED") {
        match Author::parse(&raw) {
            Some(a) => out.push(a),
            None => {
                env.problem(
                    "CODEHOOKS_PR_RETRY_ALLOWED",
                    format!(
                        "must list IAM or STS principal ARNs (arn:<partition>:iam::<account>:user/<name>, role/<name>, arn:<partition>:sts::<account>:assumed-role/<name>/<session>), got {:?}",
                        codehooks::text::cut(&raw, 80)
                    ),
                );
                break;
            }
        }
    }
    out
}

/// The placeholder of `CODEHOOKS_PR_BUILD_PROJECT` for the pull request's repository.
pub const REPOSITORY: &str = "{repository}";

/// What is wrong with a configured project name (with at most one [`REPOSITORY`]
/// placeholder), checked with the longest repository name and with each listed one.
fn project_problem(project: &str, repositories: &[String]) -> Option<String> {
    const RULE: &str = "must be a CodeBuild project name (2 to 255 letters, digits, '-' or '_', starting with a letter or digit), optionally with one {repository} placeholder";
    let placeholders = project.matches(REPOSITORY).count();
    if placeholders == 0 {
        return (!is_project_name(project)).then(|| RULE.to_owned());
    }
    if placeholders > 1 {
        return Some(format!("{RULE}; got {placeholders} placeholders"));
    }
    // The shortest and the longest repository names must both give a project name.
    for sample in ["a", &"a".repeat(100)] {
        if !is_project_name(&project.replace(REPOSITORY, sample)) {
            return Some(format!(
                "{RULE}; with a repository name of {} characters it is not",
                sample.len()
            ));
        }
    }
    repositories
        .iter()
        .map(|r| project.replace(REPOSITORY, &r.replace('.', "-")))
        .find(|p| !is_project_name(p))
        .map(|p| format!("{RULE}; gives {p:?}"))
}

#[cfg(test)]
#[path = "config_test.rs"]
mod tests;
