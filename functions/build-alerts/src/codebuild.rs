//! CodeBuild `Build State Change` events and the alert about a failed build.

use serde::Deserialize;
use serde_json::Value;

use crate::alert::{Alert, Severity};
use crate::text::{self, cut, duration, is_name, one_line, pct, short_commit};
use crate::{Origin, Run};
use codehooks::{Error, Result};

pub const SOURCE: &str = "aws.codebuild";
pub const DETAIL_TYPE: &str = "CodeBuild Build State Change";

/// The detail of a `CodeBuild Build State Change` event (only what the alert uses).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BuildDetail {
    pub build_status: String,
    pub project_name: String,
    pub build_id: String,
    #[serde(default)]
    pub current_phase: Option<String>,
    #[serde(default)]
    pub current_phase_context: Option<String>,
    #[serde(default)]
    pub additional_information: Info,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Info {
    #[serde(default)]
    pub initiator: Option<String>,
    #[serde(default)]
    pub build_number: Option<Value>,
    #[serde(default)]
    pub source_version: Option<String>,
    #[serde(default)]
    pub resolved_source_version: Option<String>,
    #[serde(default)]
    pub build_start_time: Option<String>,
    #[serde(default)]
    pub timeout_in_minutes: Option<Value>,
    #[serde(default)]
    pub source: Option<SourceInfo>,
    #[serde(default)]
    pub logs: Option<Logs>,
    #[serde(default)]
    pub phases: Vec<Phase>,
    #[serde(default)]
    pub environment: Option<Environment>,
}

/// The build environment: only the variables that tie a build to a pull request are read
/// (other values may be secrets and never reach an alert).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Environment {
    #[serde(default)]
    pub environment_variables: Vec<EnvironmentVariable>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct EnvironmentVariable {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: Option<Value>,
}

/// The pull request a validation build (started by pr-comments) checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub id: String,
    pub repository: String,
    pub source_reference: Option<String>,
    pub source_commit: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SourceInfo {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Logs {
    #[serde(default)]
    pub group_name: Option<String>,
    #[serde(default)]
    pub stream_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Phase {
    #[serde(default)]
    pub phase_type: Option<String>,
    #[serde(default)]
    pub phase_status: Option<String>,
    #[serde(default)]
    pub duration_in_seconds: Option<Value>,
    #[serde(default)]
    pub phase_context: Option<Vec<Value>>,
}

/// Build states this function alerts on (STOPPED only when asked).
pub const FAILED_STATES: &[&str] = &["FAILED", "FAULT", "TIMED_OUT", "STOPPED"];

impl BuildDetail {
    /// Checks what goes into links and keys: names as CodeBuild allows them.
    pub fn validate(&self) -> Result<()> {
        if !is_name(&self.project_name, 2, 255, "-_") {
            return Err(Error::bad_input(format!(
                "detail.project-name is not a CodeBuild project name: {:?}",
                cut(&self.project_name, 80)
            )));
        }
        let uuid = self.build_uuid();
        if uuid.is_empty() || !is_name(uuid, 1, 100, "-") {
            return Err(Error::bad_input(format!(
                "detail.build-id is not a build of project {}: {:?}",
                self.project_name,
                cut(&self.build_id, 120)
            )));
        }
        Ok(())
    }

    /// The part after `<project>:` of the build id (an ARN or `project:uuid`).
    pub fn build_uuid(&self) -> &str {
        let id = self.build_id.rsplit('/').next().unwrap_or_default();
        match id.split_once(':') {
            Some((project, uuid)) if project == self.project_name => uuid,
            _ => "",
        }
    }

    /// The pipeline that started the build (`initiator` `codepipeline/<name>`).
    pub fn pipeline(&self) -> Option<&str> {
        self.additional_information
            .initiator
            .as_deref()
            .and_then(|i| i.strip_prefix("codepipeline/"))
            .filter(|p| !p.is_empty())
    }

    /// The pull request of a validation build: the build carries `CODEHOOKS_PR_ID` and
    /// `CODEHOOKS_PR_REPOSITORY` (set by pr-comments when it starts the build).
    pub fn pull_request(&self) -> Option<PullRequest> {
        let vars = &self
            .additional_information
            .environment
            .as_ref()?
            .environment_variables;
        let get = |name: &str| {
            vars.iter()
                .find(|v| v.name == name)
                .and_then(|v| v.value.as_ref())
                .and_then(|v| match v {
                    Value::String(s) => Some(s.trim().to_owned()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
        };
        let id = get("CODEHOOKS_PR_ID").filter(|i| is_name(i, 1, 20, ""))?;
        let repository = get("CODEHOOKS_PR_REPOSITORY").filter(|r| is_name(r, 1, 100, "-_."))?;
        Some(PullRequest {
            id,
            repository,
            source_reference: get("CODEHOOKS_PR_SOURCE_REFERENCE")
                .map(|r| cut(&one_line(r.strip_prefix("refs/heads/").unwrap_or(&r)), 200)),
            source_commit: get("CODEHOOKS_PR_SOURCE_COMMIT").map(|c| cut(&one_line(&c), 64)),
        })
    }

    pub fn build_number(&self) -> Option<u64> {
        match &self.additional_information.build_number {
            Some(Value::Number(n)) => n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        }
    }

    /// `main@abc1234`, `abc1234`, `pr/12`: what was built, as short as possible.
    pub fn version(&self) -> Option<String> {
        let info = &self.additional_information;
        let requested = info
            .source_version
            .as_deref()
            .map(one_line)
            .filter(|s| !s.is_empty());
        let resolved = info
            .resolved_source_version
            .as_deref()
            .map(one_line)
            .filter(|s| !s.is_empty());
        let branch = |v: &str| {
            v.strip_prefix("refs/heads/")
                .or_else(|| v.strip_prefix("refs/tags/"))
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_owned())
        };
        match (requested, resolved) {
            (Some(r), Some(c)) if r != c && !r.starts_with("arn:") => {
                Some(format!("{}@{}", branch(&r), short_commit(&c)))
            }
            (_, Some(c)) => Some(short_commit(&c).to_owned()),
            (Some(r), None) if r.starts_with("arn:") => None,
            (Some(r), None) => Some(short_commit(&branch(&r)).to_owned()),
            (None, None) => None,
        }
    }

    /// The first phase that did not succeed.
    pub fn failed_phase(&self) -> Option<&Phase> {
        self.additional_information.phases.iter().find(|p| {
            p.phase_status
                .as_deref()
                .is_some_and(|s| s != "SUCCEEDED" && s != "IN_PROGRESS")
        })
    }

    /// The reasons from the failing phase's context, else from `current-phase-context`.
    pub fn reasons(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(p) = self.failed_phase() {
            for c in p.phase_context.iter().flatten() {
                let s = match c {
                    Value::String(s) => s.clone(),
                    Value::Object(o) => {
                        let code = o.get("statusCode").and_then(Value::as_str).unwrap_or("");
                        let msg = o.get("message").and_then(Value::as_str).unwrap_or("");
                        format!("{code}: {msg}")
                    }
                    other => other.to_string(),
                };
                if let Some(s) = meaningful(&s) {
                    out.push(s);
                }
            }
        }
        if out.is_empty()
            && let Some(ctx) = self.current_phase_context.as_deref()
        {
            let inner = ctx.trim().trim_start_matches('[').trim_end_matches(']');
            if let Some(s) = meaningful(inner) {
                out.push(s);
            }
        }
        out
    }

    /// The build's duration: the sum of its phases.
    pub fn duration_secs(&self) -> Option<u64> {
        let mut total = 0u64;
        let mut any = false;
        for p in &self.additional_information.phases {
            if let Some(d) = p.duration_in_seconds.as_ref().and_then(Value::as_f64)
                && d.is_finite()
                && d >= 0.0
            {
                total = total.saturating_add(d as u64);
                any = true;
            }
        }
        any.then_some(total)
    }
}

/// A phase context worth showing: not blank and not the empty `": "` CodeBuild writes.
fn meaningful(s: &str) -> Option<String> {
    let t = s.trim();
    let bare = t.trim_matches(|c: char| c == ':' || c.is_whitespace());
    (!bare.is_empty()).then(|| t.to_owned())
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.fract() == 0.0)
            .map(|f| format!("{}", f as i64))
            .unwrap_or_else(|| n.to_string()),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The phase table: type, status, duration and the first context line.
fn phase_table(d: &BuildDetail) -> String {
    let mut out = String::new();
    for p in &d.additional_information.phases {
        let ty = one_line(p.phase_type.as_deref().unwrap_or("?"));
        let st = one_line(p.phase_status.as_deref().unwrap_or("-"));
        let dur = p
            .duration_in_seconds
            .as_ref()
            .and_then(Value::as_f64)
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| duration(f as u64))
            .unwrap_or_default();
        out.push_str(&format!(
            "{:<17} {:<10} {dur}\n",
            cut(&ty, 40),
            cut(&st, 20)
        ));
    }
    out
}

/// The console links of a build, for the right region.
pub fn links(d: &BuildDetail, run: &Origin) -> Vec<(String, String)> {
    let host = text::console_host(&run.region);
    let mut links = vec![(
        "Build".to_owned(),
        format!(
            "https://{host}/codesuite/codebuild/{}/projects/{}/build/{}%3A{}/?region={}",
            run.account,
            pct(&d.project_name),
            pct(&d.project_name),
            pct(d.build_uuid()),
            run.region
        ),
    )];
    if let Some(logs) = &d.additional_information.logs
        && let (Some(group), Some(stream)) = (&logs.group_name, &logs.stream_name)
        && (1..=512).contains(&group.len())
        && (1..=512).contains(&stream.len())
    {
        // The CloudWatch console's fragment encodes twice and writes '%' as '$'.
        let enc = |s: &str| pct(&pct(s)).replace('%', "$");
        links.push((
            "Logs".to_owned(),
            format!(
                "https://{host}/cloudwatch/home?region={r}#logsV2:log-groups/log-group/{}/log-events/{}",
                enc(group),
                enc(stream),
                r = run.region
            ),
        ));
    }
    if let Some(p) = d.pipeline().filter(|p| is_name(p, 1, 100, ".@-_")) {
        links.push((
            "Pipeline".to_owned(),
            format!(
                "https://{host}/codesuite/codepipeline/pipelines/{}/view?region={}",
                pct(p),
                run.region
            ),
        ));
    }
    links
}

/// The alert about a build that ended in `FAILED`, `FAULT`, `TIMED_OUT` or `STOPPED`.
pub fn alert(d: &BuildDetail, run: &Origin) -> Alert {
    let status = one_line(&d.build_status);
    let number = d.build_number();
    let version = match d.pull_request() {
        Some(pr) => Some(match (&pr.source_reference, pr.source_commit.as_deref()) {
            (Some(r), Some(c)) => format!("PR #{} {r}@{}", pr.id, short_commit(c)),
            (Some(r), None) => format!("PR #{} {r}", pr.id),
            (None, _) => format!("PR #{}", pr.id),
        }),
        None => d.version(),
    };
    let mut reference = number.map(|n| format!("#{n}")).unwrap_or_default();
    if let Some(v) = &version {
        if !reference.is_empty() {
            reference.push(' ');
        }
        reference.push_str(&format!("({v})"));
    }
    let failed = d.failed_phase();
    let phase_name = failed
        .and_then(|p| p.phase_type.as_deref())
        .or(d.current_phase.as_deref())
        .map(one_line);
    let took = d.duration_secs().map(duration);
    let what = match number {
        Some(n) => format!("Build {} #{n}", d.project_name),
        None => format!("Build {}", d.project_name),
    };
    let verb = match status.as_str() {
        "FAILED" => "failed",
        "FAULT" => "failed with a CodeBuild fault",
        "TIMED_OUT" => "timed out",
        "STOPPED" => "was stopped",
        _ => "ended",
    };
    let mut headline = format!("{what} {verb}");
    if let Some(p) = &phase_name {
        headline.push_str(&format!(" in phase {p}"));
    }
    if let Some(t) = &took {
        headline.push_str(&format!(" after {t}"));
    }
    headline.push('.');
    let info = &d.additional_information;
    let mut facts = vec![
        ("Project".to_owned(), d.project_name.clone()),
        ("Build".to_owned(), d.build_id.clone()),
        ("Status".to_owned(), status.clone()),
    ];
    if let Some(p) = &phase_name {
        facts.push(("Failed phase".to_owned(), p.clone()));
    }
    if let Some(v) = &info.source_version {
        facts.push(("Source version".to_owned(), v.clone()));
    }
    if let Some(v) = &info.resolved_source_version {
        facts.push(("Commit".to_owned(), v.clone()));
    }
    if let Some(src) = &info.source {
        let loc = [src.kind.as_deref(), src.location.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        facts.push(("Source".to_owned(), loc));
    }
    if let Some(i) = &info.initiator {
        facts.push(("Started by".to_owned(), i.clone()));
    }
    if let Some(s) = &info.build_start_time {
        facts.push(("Started at".to_owned(), s.clone()));
    }
    if let Some(t) = &took {
        facts.push(("Duration".to_owned(), t.clone()));
    }
    if status == "TIMED_OUT"
        && let Some(t) = &info.timeout_in_minutes
    {
        facts.push(("Timeout".to_owned(), format!("{} min", value_text(t))));
    }
    facts.push(("Region".to_owned(), run.region.clone()));
    facts.push(("Account".to_owned(), run.account.clone()));

    let mut next_steps = Vec::new();
    match status.as_str() {
        "TIMED_OUT" => next_steps.push(
            "Look for a step that hangs in the log, or raise the project's timeout.".to_owned(),
        ),
        "FAULT" => next_steps.push(
            "A fault is usually on the CodeBuild side (provisioning, source download): retry the build.".to_owned(),
        ),
        "STOPPED" => next_steps.push("Check who stopped the build and why.".to_owned()),
        _ => next_steps.push("Open the build log at the failing command.".to_owned()),
    }
    if let Some(p) = d.pipeline() {
        next_steps.push(format!(
            "After a fix, retry the failed stage of pipeline {} or push a new commit.",
            one_line(p)
        ));
    }
    let pr = d.pull_request();
    let mut links = links(d, run);
    if let Some(pr) = &pr {
        facts.insert(
            1,
            (
                "Pull request".to_owned(),
                format!("#{} in {}", pr.id, pr.repository),
            ),
        );
        if let Some(r) = &pr.source_reference {
            facts.insert(2, ("Pull request branch".to_owned(), r.clone()));
        }
        links.push((
            "Pull request".to_owned(),
            format!(
                "https://{}/codesuite/codecommit/repositories/{}/pull-requests/{}/details?region={}",
                text::console_host(&run.region),
                pct(&pr.repository),
                pct(&pr.id),
                run.region
            ),
        ));
        next_steps.push(format!(
            "The pull request's author sees this build on pull request #{}.",
            pr.id
        ));
    }
    let thread_id = match (d.pipeline(), &pr) {
        (Some(p), _) => format!("codepipeline/{p}"),
        (None, Some(pr)) => format!("codecommit/{}/pull-requests/{}", pr.repository, pr.id),
        (None, None) => format!("codebuild/{}", d.project_name),
    };
    Alert {
        source: "codebuild",
        what: "build",
        name: d.project_name.clone(),
        state: status.clone(),
        severity: if status == "STOPPED" {
            Severity::Warning
        } else {
            Severity::Error
        },
        region: run.region.clone(),
        account: run.account.clone(),
        reference,
        headline,
        reasons: d.reasons(),
        facts,
        sections: vec![("Phases".to_owned(), phase_table(d))],
        links,
        next_steps,
        thread_id,
        resources: vec![format!(
            "arn:aws:codebuild:{}:{}:build/{}:{}",
            run.region,
            run.account,
            d.project_name,
            d.build_uuid()
        )],
        event_type: format!("CodeBuildBuild{}", camel(&status)),
        event_id: run.event_id.clone(),
        time: run.time.clone(),
    }
}

/// The notice that a project builds again after a failure.
pub fn recovered(d: &BuildDetail, run: &Origin, last: &codehooks::dedup::State) -> Alert {
    let mut a = alert(d, run);
    a.state = "RECOVERED".to_owned();
    a.severity = Severity::Info;
    a.headline = format!(
        "Project {} builds again: build{} succeeded after the {} build at {}.",
        d.project_name,
        d.build_number()
            .map(|n| format!(" #{n}"))
            .unwrap_or_default(),
        one_line(&last.state),
        one_line(&last.at)
    );
    a.reasons.clear();
    a.sections.clear();
    a.facts
        .retain(|(k, _)| k != "Failed phase" && k != "Status");
    a.next_steps.clear();
    a.event_type = "CodeBuildBuildRecovered".to_owned();
    a
}

/// `TIMED_OUT` → `TimedOut`.
pub fn camel(s: &str) -> String {
    s.split(['_', '-', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut c = lower.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// What this event asks for.
pub fn plan(detail: &BuildDetail, stopped: bool, pull_requests: bool) -> Run {
    if !pull_requests && let Some(pr) = detail.pull_request() {
        return Run::Ignore(format!(
            "a validation build of pull request #{} in {}: pr-comments reports it on the pull request (CODEHOOKS_ALERTS_PULL_REQUESTS)",
            pr.id, pr.repository
        ));
    }
    match detail.build_status.as_str() {
        "STOPPED" if !stopped => {
            Run::Ignore("alerts on stopped builds are off (CODEHOOKS_ALERTS_STOPPED)".into())
        }
        s if FAILED_STATES.contains(&s) => Run::Failure,
        "SUCCEEDED" => Run::Success,
        other => Run::Ignore(format!(
            "build status {} is not a final failure",
            cut(&one_line(other), 40)
        )),
    }
}

#[cfg(test)]
#[path = "codebuild_test.rs"]
mod tests;
