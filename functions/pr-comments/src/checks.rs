//! The validation checks: which CodeBuild projects validate the pull requests of which
//! repository, read from `CODEHOOKS_PR_CHECKS` (and `CODEHOOKS_PR_OPTIONAL_CHECKS`).
//!
//! Two spellings:
//! - a comma-separated list of project names, every one a required check of every
//!   repository (`lint,unit`); `CODEHOOKS_PR_OPTIONAL_CHECKS` adds checks that are run and
//!   shown but do not hold back the approval;
//! - a JSON object from repository name (or `*`, every other repository) to its checks, each
//!   a project name or `{"project": "...", "required": false}`:
//!   `{"*": ["lint", "unit"], "shop-api": [{"project": "unit"}, {"project": "it", "required": false}]}`.
//!
//! Unset: one check, the project of `CODEHOOKS_PR_BUILD_PROJECT` (the single-check mode).

use std::collections::BTreeMap;

use codehooks::config::Env;
use codehooks::names::is_repository_name;
use serde_json::Value;

use crate::build::is_project_name;

/// The variable that lists the checks.
pub const VAR: &str = "CODEHOOKS_PR_CHECKS";
/// The variable that lists optional checks (list spelling only).
pub const OPTIONAL_VAR: &str = "CODEHOOKS_PR_OPTIONAL_CHECKS";

/// One validation check: a CodeBuild project, and whether the approval waits for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub project: String,
    pub required: bool,
}

/// The checks of every repository; empty when the single-check mode is used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checks {
    /// Per repository name; `*` for every other repository.
    pub by_repository: BTreeMap<String, Vec<Check>>,
}

impl Checks {
    /// Reads the checks; problems are recorded in `env`.
    pub fn read(env: &mut Env<'_>) -> Self {
        let raw = env.optional(VAR);
        let optional = env.list(OPTIONAL_VAR);
        let Some(raw) = raw else {
            if !optional.is_empty() {
                env.problem(OPTIONAL_VAR, format!("needs {VAR} (the required checks)"));
            }
            return Self::default();
        };
        match parse(&raw, &optional) {
            Ok(c) => c,
            Err((var, why)) => {
                env.problem(var, why);
                Self::default()
            }
        }
    }

    /// Whether any checks are configured (otherwise the single-check mode).
    pub fn is_empty(&self) -> bool {
        self.by_repository.is_empty()
    }

    /// The checks of `repository`; `None` when it has none (the single-check mode).
    pub fn for_repository(&self, repository: &str) -> Option<&[Check]> {
        self.by_repository
            .get(repository)
            .or_else(|| self.by_repository.get("*"))
            .map(Vec::as_slice)
    }

    /// Whether every repository has checks (then no single project is needed).
    pub fn covers_all(&self) -> bool {
        self.by_repository.contains_key("*")
    }

    /// Whether `project` is one of the checks of any repository.
    pub fn is_project(&self, project: &str) -> bool {
        self.by_repository
            .values()
            .flatten()
            .any(|c| c.project == project)
    }
}

type Problem = (&'static str, String);

fn parse(raw: &str, optional: &[String]) -> Result<Checks, Problem> {
    let mut by_repository = BTreeMap::new();
    if raw.starts_with('{') {
        if !optional.is_empty() {
            return Err((
                OPTIONAL_VAR,
                format!(
                    r#"must be empty when {VAR} is JSON (write {{"project": ..., "required": false}} there)"#
                ),
            ));
        }
        let v: Value =
            serde_json::from_str(raw).map_err(|e| (VAR, format!("is not valid JSON: {e}")))?;
        let Value::Object(map) = v else {
            return Err((VAR, "must be a JSON object".to_owned()));
        };
        if map.is_empty() {
            return Err((
                VAR,
                "must map at least one repository (or *) to its checks".to_owned(),
            ));
        }
        for (repo, list) in map {
            if repo != "*" && !is_repository_name(&repo) {
                return Err((VAR, format!("key {repo:?} is not a repository name or *")));
            }
            let checks = json_checks(&repo, &list)?;
            by_repository.insert(repo, checks);
        }
    } else {
        let mut checks = Vec::new();
        for (names, required) in [(list(raw), true), (optional.to_vec(), false)] {
            for project in names {
                checks.push(Check { project, required });
            }
        }
        validate(VAR, "*", &checks)?;
        by_repository.insert("*".to_owned(), checks);
    }
    Ok(Checks { by_repository })
}

fn list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn json_checks(repo: &str, list: &Value) -> Result<Vec<Check>, Problem> {
    let Value::Array(items) = list else {
        return Err((VAR, format!("the checks of {repo:?} must be a JSON list")));
    };
    let mut checks = Vec::new();
    for item in items {
        let check = match item {
            Value::String(p) => Check {
                project: p.clone(),
                required: true,
            },
            Value::Object(o) => {
                if let Some(k) = o
                    .keys()
                    .find(|k| !matches!(k.as_str(), "project" | "required"))
                {
                    return Err((
                        VAR,
                        format!(
                            "a check of {repo:?} has an unknown field {k:?} (project, required)"
                        ),
                    ));
                }
                let Some(Value::String(p)) = o.get("project") else {
                    return Err((VAR, format!("a check of {repo:?} has no \"project\" name")));
                };
                let required = match o.get("required") {
                    None => true,
                    Some(Value::Bool(b)) => *b,
                    Some(_) => {
                        return Err((
                            VAR,
                            format!(
                                "\"required\" of check {p:?} of {repo:?} must be true or false"
                            ),
                        ));
                    }
                };
                Check {
                    project: p.clone(),
                    required,
                }
            }
            _ => {
                return Err((
                    VAR,
                    format!("a check of {repo:?} must be a project name or an object"),
                ));
            }
        };
        checks.push(check);
    }
    validate(VAR, repo, &checks)?;
    Ok(checks)
}

fn validate(var: &'static str, repo: &str, checks: &[Check]) -> Result<(), Problem> {
    if checks.is_empty() {
        return Err((var, format!("the list of checks of {repo:?} is empty")));
    }
    if checks.len() > MAX_CHECKS {
        return Err((
            var,
            format!("{repo:?} has {} checks; at most {MAX_CHECKS}", checks.len()),
        ));
    }
    for (i, c) in checks.iter().enumerate() {
        if !is_project_name(&c.project) {
            return Err((
                var,
                format!(
                    "check {:?} of {repo:?} is not a CodeBuild project name (2 to 255 letters, digits, '-' or '_', starting with a letter or digit)",
                    codehooks::text::cut(&c.project, 80)
                ),
            ));
        }
        if checks[..i].iter().any(|o| o.project == c.project) {
            return Err((
                var,
                format!("check {:?} is listed twice for {repo:?}", c.project),
            ));
        }
    }
    if !checks.iter().any(|c| c.required) {
        return Err((var, format!("{repo:?} has no required check")));
    }
    Ok(())
}

/// The most checks a repository may have (a row each in one comment).
pub const MAX_CHECKS: usize = 10;

#[cfg(test)]
#[path = "checks_test.rs"]
mod tests;
