//! The function's configuration, read once from environment variables at start-up.

use codehooks::config::{ConfigError, Env};

/// What `pr-comments` is configured to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Repositories whose pull requests are validated; empty means every repository.
    pub repositories: Vec<String>,
    /// The CodeBuild project that validates pull requests.
    pub project: String,
    /// Whether the function approves (on success) and revokes (on start and failure) pull requests.
    pub approval: bool,
    /// Whether a newer push stops the builds still running for older commits of the same pull request.
    pub stop_superseded: bool,
    /// Whose comments are the function's own (its role); `None` learns it from its own posts.
    pub author: Option<Author>,
    /// How many of the project's most recent builds are looked at to find a pull request's builds.
    pub recent_builds: usize,
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
        let project = env.required("CODEHOOKS_PR_BUILD_PROJECT");
        if !project.is_empty() && !is_project_name(&project) {
            env.problem(
                "CODEHOOKS_PR_BUILD_PROJECT",
                "must be a CodeBuild project name (2 to 255 letters, digits, '-' or '_', starting with a letter or digit)",
            );
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
                        "must be the function's role ARN (arn:aws:iam::<account>:role/<name>) or its assumed-role ARN (arn:aws:sts::<account>:assumed-role/<name>/<session>)",
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
        }
    }

    /// Reads the configuration and fails on any problem.
    pub fn from_env(env: Env<'_>) -> Result<Self, ConfigError> {
        let mut env = env;
        let cfg = Self::read(&mut env);
        env.finish()?;
        Ok(cfg)
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
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || !parts[1].starts_with("aws") {
            return None;
        }
        let (service, account, resource) = (parts[2], parts[4], parts[5]);
        if account.is_empty() || !account.bytes().all(|b| b.is_ascii_digit()) || resource.is_empty()
        {
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

/// A CodeCommit repository name: 1 to 100 of letters, digits, `.`, `_` and `-`.
pub fn is_repository_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A CodeBuild project name: 2 to 255 of letters, digits, `-` and `_`, starting with a letter or digit.
pub fn is_project_name(s: &str) -> bool {
    (2..=255).contains(&s.len())
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_env(Env::from_pairs(pairs.iter().map(|(k, v)| (*k, *v))))
    }

    #[test]
    fn reads_a_full_configuration() {
        let cfg = read(&[
            ("CODEHOOKS_PR_REPOSITORIES", "app, infra"),
            ("CODEHOOKS_PR_BUILD_PROJECT", "pr-validate"),
            ("CODEHOOKS_PR_APPROVAL", "on"),
            ("CODEHOOKS_PR_STOP_SUPERSEDED", "false"),
            (
                "CODEHOOKS_PR_AUTHOR_ARN",
                "arn:aws:iam::123456789012:role/service/codehooks-pr",
            ),
        ])
        .unwrap();
        assert_eq!(cfg.repositories, ["app", "infra"]);
        assert!(cfg.watches("app") && !cfg.watches("other"));
        assert_eq!(cfg.project, "pr-validate");
        assert!(cfg.approval);
        assert!(!cfg.stop_superseded);
        assert_eq!(
            cfg.author,
            Some(Author::Role {
                account: "123456789012".into(),
                name: "codehooks-pr".into()
            })
        );
    }

    #[test]
    fn defaults_and_wildcard() {
        let cfg = read(&[
            ("CODEHOOKS_PR_BUILD_PROJECT", "pr-validate"),
            ("CODEHOOKS_PR_REPOSITORIES", "*"),
        ])
        .unwrap();
        assert!(cfg.repositories.is_empty());
        assert!(cfg.watches("anything"));
        assert!(!cfg.approval);
        assert!(cfg.stop_superseded);
        assert_eq!(cfg.author, None);
        assert_eq!(cfg.recent_builds, 100);
    }

    #[test]
    fn names_each_wrong_variable() {
        let err = read(&[
            ("CODEHOOKS_PR_REPOSITORIES", "ok,bad name"),
            ("CODEHOOKS_PR_APPROVAL", "perhaps"),
            ("CODEHOOKS_PR_AUTHOR_ARN", "someone"),
        ])
        .unwrap_err();
        let names: Vec<&str> = err.problems.iter().map(|p| p.variable.as_str()).collect();
        assert_eq!(
            names,
            [
                "CODEHOOKS_PR_REPOSITORIES",
                "CODEHOOKS_PR_BUILD_PROJECT",
                "CODEHOOKS_PR_APPROVAL",
                "CODEHOOKS_PR_AUTHOR_ARN"
            ]
        );
        let err = read(&[("CODEHOOKS_PR_BUILD_PROJECT", "-x y")]).unwrap_err();
        assert!(
            err.to_string()
                .contains("CODEHOOKS_PR_BUILD_PROJECT must be a CodeBuild project name")
        );
    }

    #[test]
    fn authors_match_any_session_of_their_role() {
        let role = Author::parse("arn:aws:iam::123456789012:role/path/to/pr-role").unwrap();
        assert!(role.matches("arn:aws:sts::123456789012:assumed-role/pr-role/pr-comments"));
        assert!(role.matches("arn:aws:sts::123456789012:assumed-role/pr-role/other-session"));
        assert!(!role.matches("arn:aws:sts::210987654321:assumed-role/pr-role/pr-comments"));
        assert!(!role.matches("arn:aws:sts::123456789012:assumed-role/pr-role-2/x"));
        assert!(!role.matches("arn:aws:iam::123456789012:user/pr-role"));
        let session = Author::parse("arn:aws:sts::123456789012:assumed-role/pr-role/abc").unwrap();
        assert_eq!(session, role);
        let user = Author::parse("arn:aws:iam::123456789012:user/bot").unwrap();
        assert!(user.matches("arn:aws:iam::123456789012:user/bot"));
        assert!(!user.matches("arn:aws:iam::123456789012:user/bot2"));
        assert_eq!(Author::parse("arn:aws:s3:::bucket"), None);
        assert_eq!(Author::parse("arn:aws:iam::123456789012:role/"), None);
    }
}
