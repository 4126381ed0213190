//! The link between a pull request and the CodeBuild build that validates it, and the one
//! model of CodeBuild's `Build State Change` event.
//!
//! pr-comments starts a build per pull request revision and writes the pull request into the
//! build's environment variables ([`vars`]); it and build-alerts read them back from the build
//! event as a [`BuildLink`]. [`BuildDetail`] is the event's detail, read tolerantly with ONE
//! rule for JSON `null`: **`null` equals absent, everywhere** (an optional field is `None`, a
//! list is empty, an object is its default; a required field is missing either way). Numbers
//! may come as integers, floats (`"build-number": 55.0`) or text. Of the build's environment
//! variables only `name`, `type` and `value` are kept, and only the [`vars`] are ever read:
//! the others may hold secrets, so `Debug` prints their values as `<redacted>`.

use std::fmt;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::text::cut;
use crate::{Error, Result, names};

/// `source` of CodeBuild events.
pub const SOURCE: &str = "aws.codebuild";
/// `detail-type` of the build state change event.
pub const DETAIL_TYPE: &str = "CodeBuild Build State Change";

/// Names of the environment variables that tie a build to its pull request.
pub mod vars {
    /// The pull request id (digits).
    pub const PR_ID: &str = "CODEHOOKS_PR_ID";
    /// The pull request's repository.
    pub const REPOSITORY: &str = "CODEHOOKS_PR_REPOSITORY";
    /// The commit built (the pull request's source commit).
    pub const SOURCE_COMMIT: &str = "CODEHOOKS_PR_SOURCE_COMMIT";
    /// The pull request's destination commit when the build started.
    pub const DESTINATION_COMMIT: &str = "CODEHOOKS_PR_DESTINATION_COMMIT";
    /// The pull request's revision id when the build started.
    pub const REVISION_ID: &str = "CODEHOOKS_PR_REVISION_ID";
    /// The source branch (`refs/heads/...`), optional.
    pub const SOURCE_REFERENCE: &str = "CODEHOOKS_PR_SOURCE_REFERENCE";
    /// The destination branch (`refs/heads/...`), optional.
    pub const DESTINATION_REFERENCE: &str = "CODEHOOKS_PR_DESTINATION_REFERENCE";
    /// Every link variable.
    pub const ALL: [&str; 7] = [
        PR_ID,
        REPOSITORY,
        SOURCE_COMMIT,
        DESTINATION_COMMIT,
        REVISION_ID,
        SOURCE_REFERENCE,
        DESTINATION_REFERENCE,
    ];
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
    /// pull request id (a build pr-comments did not start), [`Error::BadInput`] when it
    /// carries some of the required variables but not all, or values that cannot be ours.
    /// A `None` value counts as absent.
    pub fn from_vars<'a>(
        vars: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    ) -> Result<Option<Self>> {
        let vars: Vec<(&str, Option<&str>)> = vars.into_iter().collect();
        let get = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .and_then(|(_, v)| *v)
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
        check_pull_request_id(vars::PR_ID, &link.pull_request_id)?;
        check_repository_name(vars::REPOSITORY, &link.repository)?;
        check_commit(vars::SOURCE_COMMIT, &link.source_commit)?;
        check_commit(vars::DESTINATION_COMMIT, &link.destination_commit)?;
        check_revision_id(vars::REVISION_ID, &link.revision_id)?;
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

    /// The source branch without `refs/heads/`.
    pub fn source_branch(&self) -> Option<&str> {
        self.source_reference.as_deref().map(branch)
    }
}

/// `refs/heads/main` → `main` (other references unchanged).
pub fn branch(reference: &str) -> &str {
    reference.strip_prefix("refs/heads/").unwrap_or(reference)
}

/// How a build stands, as CodeBuild names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuildStatus {
    InProgress,
    Succeeded,
    Failed,
    Fault,
    TimedOut,
    Stopped,
}

impl BuildStatus {
    /// Reads CodeBuild's word (`TIMED_OUT`...); `None` for anything else.
    pub fn parse(status: &str) -> Option<Self> {
        Some(match status {
            "IN_PROGRESS" => Self::InProgress,
            "SUCCEEDED" => Self::Succeeded,
            "FAILED" => Self::Failed,
            "FAULT" => Self::Fault,
            "TIMED_OUT" => Self::TimedOut,
            "STOPPED" => Self::Stopped,
            _ => return None,
        })
    }

    /// CodeBuild's word for the status.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "IN_PROGRESS",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Fault => "FAULT",
            Self::TimedOut => "TIMED_OUT",
            Self::Stopped => "STOPPED",
        }
    }

    /// Whether the build has ended.
    pub fn is_final(self) -> bool {
        self != Self::InProgress
    }
}

impl fmt::Display for BuildStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The detail of a `CodeBuild Build State Change` event.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BuildDetail {
    pub build_status: String,
    pub project_name: String,
    /// The build's ARN (`arn:<partition>:codebuild:<region>:<account>:build/<project>:<uuid>`).
    pub build_id: String,
    #[serde(default)]
    pub current_phase: Option<String>,
    #[serde(default)]
    pub current_phase_context: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub additional_information: AdditionalInformation,
}

/// `additional-information` of a build event.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct AdditionalInformation {
    #[serde(default)]
    pub initiator: Option<String>,
    /// Absent on `IN_PROGRESS`.
    #[serde(default, deserialize_with = "number_like")]
    pub build_number: Option<f64>,
    #[serde(default)]
    pub source_version: Option<String>,
    #[serde(default)]
    pub resolved_source_version: Option<String>,
    #[serde(default)]
    pub build_start_time: Option<String>,
    #[serde(default, deserialize_with = "number_like")]
    pub timeout_in_minutes: Option<f64>,
    #[serde(default)]
    pub source: Option<BuildSource>,
    #[serde(default)]
    pub logs: Option<BuildLogs>,
    /// Absent on `IN_PROGRESS`.
    #[serde(default, deserialize_with = "null_default")]
    pub phases: Vec<BuildPhase>,
    #[serde(default)]
    pub environment: Option<BuildEnvironment>,
}

/// Where the build's source came from.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BuildSource {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
}

/// Where the build's logs are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BuildLogs {
    #[serde(default)]
    pub deep_link: Option<String>,
    #[serde(default)]
    pub group_name: Option<String>,
    #[serde(default)]
    pub stream_name: Option<String>,
}

/// One phase of the build.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BuildPhase {
    #[serde(default)]
    pub phase_type: Option<String>,
    #[serde(default)]
    pub phase_status: Option<String>,
    #[serde(default, deserialize_with = "number_like")]
    pub duration_in_seconds: Option<f64>,
    /// Strings, or objects with `statusCode`/`status-code` and `message`; see
    /// [`BuildPhase::context_messages`].
    #[serde(default, deserialize_with = "null_default")]
    pub phase_context: Vec<Value>,
}

impl BuildPhase {
    /// The phase's context as text: strings as they are, objects as `<code>: <message>`,
    /// trimmed; empty entries (CodeBuild writes `": "`) left out.
    pub fn context_messages(&self) -> Vec<String> {
        self.phase_context
            .iter()
            .filter_map(|c| match c {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => {
                    let code = o
                        .get("statusCode")
                        .or_else(|| o.get("status-code"))
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let msg = o.get("message").and_then(Value::as_str).unwrap_or_default();
                    Some(format!("{code}: {msg}"))
                }
                _ => None,
            })
            .map(|s| s.trim().to_owned())
            .filter(|s| {
                !s.trim_matches(|c: char| c == ':' || c.is_whitespace())
                    .is_empty()
            })
            .collect()
    }

    /// The duration when it is a sensible number of seconds.
    pub fn duration_seconds(&self) -> Option<u64> {
        self.duration_in_seconds
            .filter(|d| d.is_finite() && *d >= 0.0)
            .map(|d| d as u64)
    }
}

/// The build's environment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BuildEnvironment {
    #[serde(default, deserialize_with = "null_default")]
    pub environment_variables: Vec<EnvironmentVariable>,
}

/// One environment variable of the build. Only the link [`vars`] are read; `Debug` redacts
/// the value of every other variable.
#[derive(Clone, Default, Deserialize)]
pub struct EnvironmentVariable {
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// `PLAINTEXT`, `PARAMETER_STORE` or `SECRETS_MANAGER`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "crate::events::string_like")]
    pub value: Option<String>,
}

impl fmt::Debug for EnvironmentVariable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value: &dyn fmt::Debug = if vars::ALL.contains(&self.name.as_str()) {
            &self.value
        } else {
            &"<redacted>"
        };
        f.debug_struct("EnvironmentVariable")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("value", value)
            .finish()
    }
}

impl BuildDetail {
    /// The status, when it is one CodeBuild documents.
    pub fn status(&self) -> Option<BuildStatus> {
        BuildStatus::parse(&self.build_status)
    }

    /// The pull request link carried by the build's environment variables (see
    /// [`BuildLink::from_vars`]).
    pub fn link(&self) -> Result<Option<BuildLink>> {
        BuildLink::from_vars(
            self.additional_information
                .environment
                .iter()
                .flat_map(|e| e.environment_variables.iter())
                .filter(|v| vars::ALL.contains(&v.name.as_str()))
                .map(|v| (v.name.as_str(), v.value.as_deref())),
        )
    }

    /// The build number, when the event carries a sensible one (not on `IN_PROGRESS`).
    pub fn build_number(&self) -> Option<u64> {
        self.additional_information
            .build_number
            .filter(|n| n.is_finite() && *n >= 0.0 && *n < 1e15)
            .map(|n| n as u64)
    }

    /// The build's duration: the sum of its phases' durations; `None` when no phase has one.
    pub fn duration_seconds(&self) -> Option<u64> {
        self.additional_information
            .phases
            .iter()
            .filter_map(BuildPhase::duration_seconds)
            .fold(None, |total: Option<u64>, d| {
                Some(total.unwrap_or(0).saturating_add(d))
            })
    }

    /// The part of the build id after `<project>:` (the id may be an ARN or `project:uuid`);
    /// empty when the id names another project.
    pub fn build_uuid(&self) -> &str {
        let id = self.build_id.rsplit('/').next().unwrap_or_default();
        match id.split_once(':') {
            Some((project, uuid)) if project == self.project_name => uuid,
            _ => "",
        }
    }
}

/// A pull request id: 1 to 20 digits.
pub fn check_pull_request_id(what: &str, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::bad_input(format!(
            "{what} {:?} is not a pull request id",
            cut(id, 40)
        )));
    }
    Ok(())
}

/// A CodeCommit repository name ([`names::is_repository_name`]).
pub fn check_repository_name(what: &str, name: &str) -> Result<()> {
    if !names::is_repository_name(name) {
        return Err(Error::bad_input(format!(
            "{what} {:?} is not a repository name",
            cut(name, 120)
        )));
    }
    Ok(())
}

/// A full commit id: 40 hexadecimal digits ([`names::is_commit_id`]).
pub fn check_commit(what: &str, c: &str) -> Result<()> {
    if !names::is_commit_id(c) {
        return Err(Error::bad_input(format!(
            "{what} {:?} is not a commit id",
            cut(c, 80)
        )));
    }
    Ok(())
}

/// A pull request revision id: 1 to 128 letters, digits and dashes.
pub fn check_revision_id(what: &str, t: &str) -> Result<()> {
    if t.is_empty() || t.len() > 128 || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(Error::bad_input(format!(
            "{what} {:?} is not a revision id",
            cut(t, 80)
        )));
    }
    Ok(())
}

/// The value, or its default when it is `null` (absent is `#[serde(default)]`'s job).
fn null_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A number, or a number written as text; `null` and anything else as `None`.
fn number_like<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
#[path = "prbuild_test.rs"]
mod tests;
