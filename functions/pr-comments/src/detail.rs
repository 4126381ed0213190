//! The details of the events the function handles, read tolerantly and checked strictly.
//!
//! CodeCommit's `CodeCommit Pull Request State Change` and CodeBuild's `CodeBuild Build State
//! Change` details are read into the project's own types: fields the function does not use are
//! ignored, numbers may come as integers or floats (`"build-number": 55.0`), and the fields an
//! `IN_PROGRESS` build event lacks (`phases`, `build-number`) are optional. Every value that
//! later reaches an API call or a comment is checked here, so a bad event is rejected before
//! any side effect.

use codehooks::{Error, Result};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Names of the environment variables that tie a build to its pull request.
pub mod vars {
    pub const PR_ID: &str = "CODEHOOKS_PR_ID";
    pub const REPOSITORY: &str = "CODEHOOKS_PR_REPOSITORY";
    pub const SOURCE_COMMIT: &str = "CODEHOOKS_PR_SOURCE_COMMIT";
    pub const DESTINATION_COMMIT: &str = "CODEHOOKS_PR_DESTINATION_COMMIT";
    pub const REVISION_ID: &str = "CODEHOOKS_PR_REVISION_ID";
    pub const SOURCE_REFERENCE: &str = "CODEHOOKS_PR_SOURCE_REFERENCE";
    pub const DESTINATION_REFERENCE: &str = "CODEHOOKS_PR_DESTINATION_REFERENCE";
}

/// The detail of a `CodeCommit Pull Request State Change` event.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestDetail {
    pub event: String,
    #[serde(default, deserialize_with = "string_like")]
    pub pull_request_id: Option<String>,
    #[serde(default)]
    pub repository_names: Vec<String>,
    #[serde(default)]
    pub source_commit: Option<String>,
    #[serde(default)]
    pub destination_commit: Option<String>,
    #[serde(default)]
    pub source_reference: Option<String>,
    #[serde(default)]
    pub destination_reference: Option<String>,
    #[serde(default)]
    pub revision_id: Option<String>,
    #[serde(default)]
    pub pull_request_status: Option<String>,
    #[serde(default, deserialize_with = "string_like")]
    pub is_merged: Option<String>,
    #[serde(default)]
    pub caller_user_arn: Option<String>,
}

/// What a pull request event asks the function to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullRequestAction {
    /// Created, source branch updated, or reopened: validate the source commit.
    Validate,
    /// Closed or merged: stop the pull request's builds.
    Closed,
    /// Anything else (approval, merge-state and rule changes...): nothing to do.
    Ignore,
}

impl PullRequestDetail {
    pub fn action(&self) -> PullRequestAction {
        let closed = self
            .pull_request_status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("closed"));
        let merged = self
            .is_merged
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("true"));
        match self.event.as_str() {
            "pullRequestCreated" | "pullRequestSourceBranchUpdated" if !closed => {
                PullRequestAction::Validate
            }
            "pullRequestStatusChanged" if closed => PullRequestAction::Closed,
            "pullRequestStatusChanged" => PullRequestAction::Validate,
            "pullRequestMergeStatusUpdated" if merged || closed => PullRequestAction::Closed,
            _ => PullRequestAction::Ignore,
        }
    }

    /// The pull request id, checked.
    pub fn pull_request_id(&self) -> Result<&str> {
        let id = self
            .pull_request_id
            .as_deref()
            .ok_or_else(|| Error::bad_input("detail.pullRequestId is missing"))?;
        check_pull_request_id(id)?;
        Ok(id)
    }

    /// The repository (the first of `repositoryNames`, else the event's resource ARN).
    pub fn repository(&self, resources: &[String]) -> Result<String> {
        let name = match self.repository_names.first() {
            Some(n) => n.clone(),
            None => resources
                .iter()
                .find_map(|arn| arn.strip_prefix("arn:").and_then(|a| a.rsplit(':').next()))
                .map(str::to_owned)
                .ok_or_else(|| Error::bad_input("detail.repositoryNames is missing"))?,
        };
        if !crate::config::is_repository_name(&name) {
            return Err(Error::bad_input(format!(
                "detail.repositoryNames holds an invalid repository name {:?}",
                crate::markdown::shorten(&name, 120)
            )));
        }
        Ok(name)
    }

    /// The source commit, checked.
    pub fn source_commit(&self) -> Result<&str> {
        let c = self
            .source_commit
            .as_deref()
            .ok_or_else(|| Error::bad_input("detail.sourceCommit is missing"))?;
        check_commit("detail.sourceCommit", c)?;
        Ok(c)
    }
}

/// `CodeBuild Build State Change` detail.
#[derive(Debug, Clone, Deserialize)]
pub struct BuildDetail {
    #[serde(rename = "build-status")]
    pub build_status: String,
    #[serde(rename = "project-name")]
    pub project_name: String,
    #[serde(rename = "build-id")]
    pub build_id: String,
    #[serde(rename = "additional-information", default)]
    pub info: AdditionalInformation,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AdditionalInformation {
    #[serde(rename = "build-number", default, deserialize_with = "number_like")]
    pub build_number: Option<f64>,
    #[serde(default)]
    pub environment: Option<BuildEnvironment>,
    #[serde(default)]
    pub logs: Option<BuildLogs>,
    #[serde(default, deserialize_with = "list_or_null")]
    pub phases: Vec<BuildPhase>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct BuildEnvironment {
    #[serde(
        rename = "environment-variables",
        default,
        deserialize_with = "list_or_null"
    )]
    pub variables: Vec<EnvironmentVariable>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EnvironmentVariable {
    pub name: String,
    #[serde(default, deserialize_with = "string_like")]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct BuildLogs {
    #[serde(rename = "deep-link", default)]
    pub deep_link: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct BuildPhase {
    #[serde(rename = "phase-type", default)]
    pub phase_type: Option<String>,
    #[serde(rename = "phase-status", default)]
    pub phase_status: Option<String>,
    #[serde(
        rename = "duration-in-seconds",
        default,
        deserialize_with = "number_like"
    )]
    pub duration_seconds: Option<f64>,
    #[serde(rename = "phase-context", default, deserialize_with = "list_or_null")]
    pub context: Vec<Value>,
}

/// How a build ended, as the comment reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
    Fault,
    TimedOut,
    Stopped,
}

impl Outcome {
    pub fn from_status(status: &str) -> Option<Self> {
        match status {
            "SUCCEEDED" => Some(Self::Succeeded),
            "FAILED" => Some(Self::Failed),
            "FAULT" => Some(Self::Fault),
            "TIMED_OUT" => Some(Self::TimedOut),
            "STOPPED" => Some(Self::Stopped),
            _ => None,
        }
    }

    pub fn status(self) -> &'static str {
        match self {
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Fault => "FAULT",
            Self::TimedOut => "TIMED_OUT",
            Self::Stopped => "STOPPED",
        }
    }
}

/// The pull request a build was started for, from the build's environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildLink {
    pub pull_request_id: String,
    pub repository: String,
    pub source_commit: String,
    pub destination_commit: String,
    pub revision_id: String,
    pub source_reference: Option<String>,
    pub destination_reference: Option<String>,
}

impl BuildLink {
    /// Reads the link from `(name, value)` pairs: `Ok(None)` when the build carries no
    /// pull request id (a build the function did not start), an error when it carries some
    /// of the variables but not all, or values that cannot be ours.
    pub fn from_vars<'a>(
        vars: impl IntoIterator<Item = (&'a str, Option<&'a str>)> + Clone,
    ) -> Result<Option<Self>> {
        let get = |name: &str| {
            vars.clone()
                .into_iter()
                .find(|(n, _)| *n == name)
                .and_then(|(_, v)| v)
                .map(str::to_owned)
        };
        let Some(pull_request_id) = get(vars::PR_ID) else {
            return Ok(None);
        };
        let need = |name: &str| {
            get(name).ok_or_else(|| {
                Error::bad_input(format!("the build carries {} but not {name}", vars::PR_ID))
            })
        };
        let link = BuildLink {
            repository: need(vars::REPOSITORY)?,
            source_commit: need(vars::SOURCE_COMMIT)?,
            destination_commit: need(vars::DESTINATION_COMMIT)?,
            revision_id: need(vars::REVISION_ID)?,
            source_reference: get(vars::SOURCE_REFERENCE),
            destination_reference: get(vars::DESTINATION_REFERENCE),
            pull_request_id,
        };
        check_pull_request_id(&link.pull_request_id)?;
        if !crate::config::is_repository_name(&link.repository) {
            return Err(Error::bad_input(format!(
                "{} is not a repository name",
                vars::REPOSITORY
            )));
        }
        check_commit(vars::SOURCE_COMMIT, &link.source_commit)?;
        check_commit(vars::DESTINATION_COMMIT, &link.destination_commit)?;
        check_token(vars::REVISION_ID, &link.revision_id)?;
        Ok(Some(link))
    }

    /// The environment variables that carry this link into a build.
    pub fn to_vars(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            (vars::PR_ID, self.pull_request_id.clone()),
            (vars::REPOSITORY, self.repository.clone()),
            (vars::SOURCE_COMMIT, self.source_commit.clone()),
            (vars::DESTINATION_COMMIT, self.destination_commit.clone()),
            (vars::REVISION_ID, self.revision_id.clone()),
        ];
        if let Some(r) = &self.source_reference {
            v.push((vars::SOURCE_REFERENCE, r.clone()));
        }
        if let Some(r) = &self.destination_reference {
            v.push((vars::DESTINATION_REFERENCE, r.clone()));
        }
        v
    }
}

impl BuildDetail {
    /// The pull request link carried by the build's environment variables.
    pub fn link(&self) -> Result<Option<BuildLink>> {
        let vars: Vec<(&str, Option<&str>)> = self
            .info
            .environment
            .iter()
            .flat_map(|e| e.variables.iter())
            .map(|v| (v.name.as_str(), v.value.as_deref()))
            .collect();
        BuildLink::from_vars(vars)
    }

    /// The build id (`<project>:<uuid>`) and its ARN's region and account.
    pub fn build_ref(&self) -> Result<BuildRef> {
        BuildRef::parse(&self.build_id)
            .ok_or_else(|| Error::bad_input("detail.build-id is not a CodeBuild build ARN"))
    }

    /// The build number, when the event carries it (not on `IN_PROGRESS`).
    pub fn build_number(&self) -> Option<u64> {
        self.info
            .build_number
            .filter(|n| n.is_finite() && *n >= 0.0 && *n < 1e15)
            .map(|n| n as u64)
    }

    /// The build's duration: the sum of its phases' durations.
    pub fn duration_seconds(&self) -> Option<u64> {
        let total: f64 = self
            .info
            .phases
            .iter()
            .filter_map(|p| p.duration_seconds)
            .filter(|d| d.is_finite() && *d >= 0.0)
            .sum();
        (!self.info.phases.is_empty()).then_some(total as u64)
    }

    /// The first phase that did not succeed, with its context messages.
    pub fn failing_phase(&self) -> Option<(String, Vec<String>)> {
        let phase = self.info.phases.iter().find(|p| {
            p.phase_status
                .as_deref()
                .is_some_and(|s| !s.eq_ignore_ascii_case("SUCCEEDED"))
        })?;
        let name = phase
            .phase_type
            .clone()
            .unwrap_or_else(|| "unknown".to_owned());
        let status = phase.phase_status.clone().unwrap_or_default();
        let mut context: Vec<String> = phase
            .context
            .iter()
            .filter_map(|c| match c {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => {
                    let code = o
                        .get("status-code")
                        .or_else(|| o.get("statusCode"))
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let msg = o.get("message").and_then(Value::as_str).unwrap_or_default();
                    Some(format!("{code}: {msg}"))
                }
                _ => None,
            })
            .map(|s| s.trim().trim_matches(':').trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        context.truncate(5);
        let word = |s: &str| -> String {
            s.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(40)
                .collect()
        };
        Some((format!("`{}` ({})", word(&name), word(&status)), context))
    }

    /// The CloudWatch Logs link of the event, when it is a plain console URL.
    pub fn logs_link(&self) -> Option<String> {
        let link = self.info.logs.as_ref()?.deep_link.as_deref()?;
        crate::markdown::safe_url(link).then(|| link.to_owned())
    }
}

/// A build: its id (`<project>:<uuid>`), region and account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRef {
    pub id: String,
    pub project: String,
    pub region: String,
    pub account: String,
    pub partition: String,
}

impl BuildRef {
    /// Reads a build ARN (`arn:aws:codebuild:<region>:<account>:build/<project>:<uuid>`).
    pub fn parse(arn: &str) -> Option<Self> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[2] != "codebuild" {
            return None;
        }
        let id = parts[5].strip_prefix("build/")?;
        let (project, uuid) = id.split_once(':')?;
        let region_ok = !parts[3].is_empty()
            && parts[3]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let account_ok = parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit());
        let uuid_ok = !uuid.is_empty()
            && uuid.len() <= 64
            && uuid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let partition_ok = parts[1].starts_with("aws")
            && parts[1]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-');
        if !(region_ok
            && account_ok
            && uuid_ok
            && partition_ok
            && crate::config::is_project_name(project))
        {
            return None;
        }
        Some(Self {
            id: id.to_owned(),
            project: project.to_owned(),
            region: parts[3].to_owned(),
            account: parts[4].to_owned(),
            partition: parts[1].to_owned(),
        })
    }

    /// The build's page in the CodeBuild console.
    pub fn console_url(&self) -> String {
        format!(
            "https://{}/codesuite/codebuild/{}/projects/{}/build/{}/?region={}",
            console_host(&self.partition, &self.region),
            self.account,
            self.project,
            self.id.replace(':', "%3A"),
            self.region
        )
    }

    /// The build's logs in the CodeBuild console.
    pub fn logs_url(&self) -> String {
        format!(
            "https://{}/codesuite/codebuild/{}/projects/{}/build/{}/log?region={}",
            console_host(&self.partition, &self.region),
            self.account,
            self.project,
            self.id.replace(':', "%3A"),
            self.region
        )
    }
}

fn console_host(partition: &str, region: &str) -> String {
    match partition {
        "aws-cn" => "console.amazonaws.cn".to_owned(),
        "aws-us-gov" => "console.amazonaws-us-gov.com".to_owned(),
        _ => format!("{region}.console.aws.amazon.com"),
    }
}

/// A pull request id: digits.
pub fn check_pull_request_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::bad_input(format!(
            "pull request id {:?} is not a number",
            crate::markdown::shorten(id, 40)
        )));
    }
    Ok(())
}

/// A commit id: letters and digits (a full SHA-1 in practice).
pub fn check_commit(what: &str, c: &str) -> Result<()> {
    if c.is_empty() || c.len() > 64 || !c.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::bad_input(format!(
            "{what} {:?} is not a commit id",
            crate::markdown::shorten(c, 80)
        )));
    }
    Ok(())
}

/// An opaque id (revision ids): letters, digits and dashes.
pub fn check_token(what: &str, t: &str) -> Result<()> {
    if t.is_empty() || t.len() > 128 || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(Error::bad_input(format!(
            "{what} {:?} is not a valid id",
            crate::markdown::shorten(t, 80)
        )));
    }
    Ok(())
}

/// A string, or a number or bool written as text; `null` and anything else as `None`.
fn string_like<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if b { "True" } else { "False" }.to_owned()),
        _ => None,
    })
}

/// A number, or a number written as text; anything else as `None`.
fn number_like<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A list; `null` as empty.
fn list_or_null<'de, D, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
#[path = "detail_test.rs"]
mod tests;
