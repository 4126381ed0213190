//! CodeBuild `Build State Change` events (the one model, [`codehooks::prbuild::BuildDetail`]):
//! what a build event asks for, and the alert about a failed build.

use codehooks::alert::{Alert, Severity};
use codehooks::arn::{Arn, console_host};
use codehooks::names::is_name;
use codehooks::prbuild::{BuildDetail, BuildLink, BuildPhase};
use codehooks::text::{cut, duration, one_line, pct, short_commit};
use codehooks::{Error, Result};

use crate::{Origin, Run, SENDER};

pub use codehooks::prbuild::{DETAIL_TYPE, SOURCE};

/// Build states this function alerts on (STOPPED only when asked).
pub const FAILED_STATES: &[&str] = &["FAILED", "FAULT", "TIMED_OUT", "STOPPED"];

/// Checks what goes into links and keys: names as CodeBuild allows them.
pub fn validate(d: &BuildDetail) -> Result<()> {
    if !is_name(&d.project_name, 2, 255, "-_") {
        return Err(Error::bad_input(format!(
            "detail.project-name is not a CodeBuild project name: {:?}",
            cut(&d.project_name, 80)
        )));
    }
    let uuid = d.build_uuid();
    if uuid.is_empty() || !is_name(uuid, 1, 100, "-") {
        return Err(Error::bad_input(format!(
            "detail.build-id is not a build of project {}: {:?}",
            d.project_name,
            cut(&d.build_id, 120)
        )));
    }
    Ok(())
}

/// The pipeline that started the build (`initiator` `codepipeline/<name>`).
pub fn pipeline(d: &BuildDetail) -> Option<&str> {
    d.additional_information
        .initiator
        .as_deref()
        .and_then(|i| i.strip_prefix("codepipeline/"))
        .filter(|p| !p.is_empty())
}

/// The pull request of a validation build started by pr-comments (the `CODEHOOKS_PR_*`
/// variables). A link that is incomplete or not ours is logged and the build is treated as
/// any other build: its failure still deserves an alert.
pub fn pull_request(d: &BuildDetail) -> Option<BuildLink> {
    match d.link() {
        Ok(link) => link,
        Err(e) => {
            tracing::warn!(error = %e, "the build's pull request variables are not usable; alerting as for any build");
            None
        }
    }
}

/// The source branch of a pull request, for people: without `refs/heads/`, on one line.
fn pr_branch(pr: &BuildLink) -> Option<String> {
    pr.source_branch()
        .map(|r| cut(&one_line(r), 200))
        .filter(|r| !r.is_empty())
}

/// `main@abc1234`, `abc1234`, `pr/12`: what was built, as short as possible.
pub fn version(d: &BuildDetail) -> Option<String> {
    let info = &d.additional_information;
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
pub fn failed_phase(d: &BuildDetail) -> Option<&BuildPhase> {
    d.additional_information.phases.iter().find(|p| {
        p.phase_status
            .as_deref()
            .is_some_and(|s| s != "SUCCEEDED" && s != "IN_PROGRESS")
    })
}

/// The reasons from the failing phase's context, else from `current-phase-context`.
pub fn reasons(d: &BuildDetail) -> Vec<String> {
    let mut out = failed_phase(d)
        .map(BuildPhase::context_messages)
        .unwrap_or_default();
    if out.is_empty()
        && let Some(ctx) = d.current_phase_context.as_deref()
    {
        let inner = ctx.trim().trim_start_matches('[').trim_end_matches(']');
        if let Some(s) = meaningful(inner) {
            out.push(s);
        }
    }
    out
}

/// A phase context worth showing: not blank and not the empty `": "` CodeBuild writes.
fn meaningful(s: &str) -> Option<String> {
    let t = s.trim();
    let bare = t.trim_matches(|c: char| c == ':' || c.is_whitespace());
    (!bare.is_empty()).then(|| t.to_owned())
}

/// A whole number without its `.0`.
fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

/// The phase table: type, status, duration and the first context line.
fn phase_table(d: &BuildDetail) -> String {
    let mut out = String::new();
    for p in &d.additional_information.phases {
        let ty = one_line(p.phase_type.as_deref().unwrap_or("?"));
        let st = one_line(p.phase_status.as_deref().unwrap_or("-"));
        let dur = p.duration_seconds().map(duration).unwrap_or_default();
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
    let host = console_host(&run.region);
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
    if let Some(p) = pipeline(d).filter(|p| is_name(p, 1, 100, ".@-_")) {
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
    let pr = pull_request(d);
    let version = match &pr {
        Some(pr) => Some(match pr_branch(pr) {
            Some(r) => format!(
                "PR #{} {r}@{}",
                pr.pull_request_id,
                short_commit(&pr.source_commit)
            ),
            None => format!("PR #{}", pr.pull_request_id),
        }),
        None => version(d),
    };
    let mut reference = number.map(|n| format!("#{n}")).unwrap_or_default();
    if let Some(v) = &version {
        if !reference.is_empty() {
            reference.push(' ');
        }
        reference.push_str(&format!("({v})"));
    }
    let failed = failed_phase(d);
    let phase_name = failed
        .and_then(|p| p.phase_type.as_deref())
        .or(d.current_phase.as_deref())
        .map(one_line);
    let took = d.duration_seconds().map(duration);
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
        facts.push(("Timeout".to_owned(), format!("{} min", number_text(*t))));
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
    if let Some(p) = pipeline(d) {
        next_steps.push(format!(
            "After a fix, retry the failed stage of pipeline {} or push a new commit.",
            one_line(p)
        ));
    }
    let mut links = links(d, run);
    if let Some(pr) = &pr {
        facts.insert(
            1,
            (
                "Pull request".to_owned(),
                format!("#{} in {}", pr.pull_request_id, pr.repository),
            ),
        );
        if let Some(r) = pr_branch(pr) {
            facts.insert(2, ("Pull request branch".to_owned(), r));
        }
        links.push((
            "Pull request".to_owned(),
            format!(
                "https://{}/codesuite/codecommit/repositories/{}/pull-requests/{}/details?region={}",
                console_host(&run.region),
                pct(&pr.repository),
                pct(&pr.pull_request_id),
                run.region
            ),
        ));
        next_steps.push(format!(
            "The pull request's author sees this build on pull request #{}.",
            pr.pull_request_id
        ));
    }
    let thread_id = match (pipeline(d), &pr) {
        (Some(p), _) => format!("codepipeline/{p}"),
        (None, Some(pr)) => format!(
            "codecommit/{}/pull-requests/{}",
            pr.repository, pr.pull_request_id
        ),
        (None, None) => format!("codebuild/{}", d.project_name),
    };
    Alert {
        source: "codebuild".to_owned(),
        what: "build".to_owned(),
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
        reasons: reasons(d),
        facts,
        sections: vec![("Phases".to_owned(), phase_table(d))],
        links,
        next_steps,
        thread_id,
        resources: vec![
            Arn::new(
                &run.region,
                "codebuild",
                &run.account,
                &format!("build/{}:{}", d.project_name, d.build_uuid()),
            )
            .to_string(),
        ],
        event_type: format!("CodeBuildBuild{}", camel(&status)),
        event_id: run.event_id.clone(),
        time: run.time.clone(),
        sender: SENDER.to_owned(),
        ..Alert::default()
    }
}

/// The notice that a project builds again after a failure.
pub fn recovered(d: &BuildDetail, run: &Origin, last: &codehooks::once::State) -> Alert {
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
    if !pull_requests && let Some(pr) = pull_request(detail) {
        return Run::Ignore(format!(
            "a validation build of pull request #{} in {}: pr-comments reports it on the pull request (CODEHOOKS_ALERTS_PULL_REQUESTS)",
            pr.pull_request_id, pr.repository
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
