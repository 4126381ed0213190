//! A validation build as the comments show it: its ARN read into a [`BuildRef`] (with the
//! console links of its partition), how it ended ([`Ended`]), and its failing phase.

use codehooks::arn::{Arn, Partition};
use codehooks::names;
use codehooks::prbuild::{BuildDetail, BuildStatus};

/// A CodeBuild project name: 2 to 255 of letters, digits, `-` and `_`, starting with a letter or digit.
pub fn is_project_name(s: &str) -> bool {
    (2..=255).contains(&s.len())
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// How a build ended, as the comment reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Succeeded,
    Failed,
    Fault,
    TimedOut,
    Stopped,
}

impl Ended {
    /// The end a final status stands for; `None` for `IN_PROGRESS` and unknown words.
    pub fn from_status(status: &str) -> Option<Self> {
        Some(match BuildStatus::parse(status)? {
            BuildStatus::InProgress => return None,
            BuildStatus::Succeeded => Self::Succeeded,
            BuildStatus::Failed => Self::Failed,
            BuildStatus::Fault => Self::Fault,
            BuildStatus::TimedOut => Self::TimedOut,
            BuildStatus::Stopped => Self::Stopped,
        })
    }

    /// CodeBuild's word for it.
    pub fn status(self) -> &'static str {
        match self {
            Self::Succeeded => BuildStatus::Succeeded,
            Self::Failed => BuildStatus::Failed,
            Self::Fault => BuildStatus::Fault,
            Self::TimedOut => BuildStatus::TimedOut,
            Self::Stopped => BuildStatus::Stopped,
        }
        .as_str()
    }
}

/// A build: its id (`<project>:<uuid>`), region, account and partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRef {
    pub id: String,
    pub project: String,
    pub region: String,
    pub account: String,
    pub partition: Partition,
}

impl BuildRef {
    /// Reads a build ARN (`arn:<partition>:codebuild:<region>:<account>:build/<project>:<uuid>`).
    pub fn parse(arn: &str) -> Option<Self> {
        let arn = Arn::parse_of(arn, "codebuild").ok()?;
        let id = arn.resource.strip_prefix("build/")?;
        let (project, uuid) = id.split_once(':')?;
        let uuid_ok = names::is_name(uuid, 1, 64, "-");
        if !(names::is_region(&arn.region)
            && names::is_account(&arn.account)
            && uuid_ok
            && is_project_name(project))
        {
            return None;
        }
        Some(Self {
            id: id.to_owned(),
            project: project.to_owned(),
            region: arn.region.clone(),
            account: arn.account.clone(),
            partition: arn.partition,
        })
    }

    fn page(&self, tail: &str) -> String {
        format!(
            "https://{}/codesuite/codebuild/{}/projects/{}/build/{}/{tail}?region={}",
            self.partition.console_host(&self.region),
            self.account,
            self.project,
            self.id.replace(':', "%3A"),
            self.region
        )
    }

    /// The build's page in the CodeBuild console.
    pub fn console_url(&self) -> String {
        self.page("")
    }

    /// The build's logs in the CodeBuild console.
    pub fn logs_url(&self) -> String {
        self.page("log")
    }
}

/// The first phase that did not succeed, as `` `BUILD` (FAILED) `` (AWS enum words only),
/// with up to 5 of its context messages.
pub fn failing_phase(d: &BuildDetail) -> Option<(String, Vec<String>)> {
    let phase = d.additional_information.phases.iter().find(|p| {
        p.phase_status
            .as_deref()
            .is_some_and(|s| !s.eq_ignore_ascii_case("SUCCEEDED"))
    })?;
    let name = phase.phase_type.as_deref().unwrap_or("unknown");
    let status = phase.phase_status.as_deref().unwrap_or_default();
    let mut context: Vec<String> = phase
        .context_messages()
        .into_iter()
        .map(|s| s.trim_matches(':').trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    context.truncate(5);
    let word = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(40)
            .collect()
    };
    Some((format!("`{}` ({})", word(name), word(status)), context))
}

#[cfg(test)]
#[path = "build_test.rs"]
mod tests;
