//! Threads and layer links. Everything about one pipeline execution (the failed action, the
//! build and the deployment it started, the recovery) shares the thread
//! `codepipeline/<pipeline>/<execution-id>`: the Chatbot thread id and the `threadId` message
//! attribute. A layer finds its execution through a [`Place`]: a build by `GetPipelineState`,
//! a deployment by the link its pipeline action event left in the once-only store.

use serde::{Deserialize, Serialize};

use codehooks::alert::Alert;
use codehooks::arn::console_host;
use codehooks::names::is_name;
use codehooks::once::State;
use codehooks::prbuild::BuildDetail;
use codehooks::text::{cut, duration, pct};

use crate::history::{ActionRun, ActionState};

/// Action providers whose own events carry the richer alert (the build or the deployment
/// the action started): their action events only leave a link.
pub const COVERED_PROVIDERS: &[&str] = &["CodeBuild", "CodeDeploy", "CodeDeployToECS"];

/// The state a link record carries (its `detail` is the [`Place`] as JSON).
pub const LINK_STATE: &str = "LINK";

/// Where a build or deployment ran inside a pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub pipeline: String,
    pub execution_id: String,
    pub stage: String,
    pub action: String,
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

impl Place {
    /// A place whose names are what CodePipeline allows (else `None`).
    pub fn new(pipeline: &str, execution_id: &str, stage: &str, action: &str) -> Option<Place> {
        let ok = |s: &str| is_name(s, 1, 100, ".@-_");
        (ok(pipeline) && is_uuid(execution_id) && ok(stage) && ok(action)).then(|| Place {
            pipeline: pipeline.to_owned(),
            execution_id: execution_id.to_owned(),
            stage: stage.to_owned(),
            action: action.to_owned(),
        })
    }

    pub fn thread(&self) -> String {
        execution_thread(&self.pipeline, &self.execution_id)
    }

    /// The place as a link record keeps it.
    pub fn to_detail(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The place a link record kept (checked again: the store is data, not trusted code).
    pub fn from_detail(s: &str) -> Option<Place> {
        let p: Place = serde_json::from_str(s).ok()?;
        Place::new(&p.pipeline, &p.execution_id, &p.stage, &p.action)
    }
}

/// The thread of one pipeline execution.
pub fn execution_thread(pipeline: &str, execution_id: &str) -> String {
    format!("codepipeline/{pipeline}/{execution_id}")
}

/// The console page of one pipeline execution, for the region's partition.
pub fn execution_link(region: &str, pipeline: &str, execution_id: &str) -> String {
    format!(
        "https://{}/codesuite/codepipeline/pipelines/{}/executions/{}/timeline?region={region}",
        console_host(region),
        pct(pipeline),
        pct(execution_id),
    )
}

/// The once-only store key of the link an action event leaves for its build or deployment.
pub fn link_key(external_id: &str) -> String {
    format!("link/{}", cut(external_id, 900))
}

/// What CodePipeline calls a build: `project:uuid`.
pub fn build_external_id(d: &BuildDetail) -> String {
    format!("{}:{}", d.project_name, d.build_uuid())
}

/// The action of `pipeline` whose latest run is the build or deployment `external_id`, and
/// the execution its stage ran last.
pub fn find(states: &[ActionState], pipeline: &str, external_id: &str) -> Option<Place> {
    let a = states
        .iter()
        .find(|a| a.external_id.as_deref() == Some(external_id))?;
    Place::new(pipeline, a.execution_id.as_deref()?, &a.stage, &a.action)
}

/// Puts an alert about a build or deployment into its execution's thread, with the execution's
/// link and where in the pipeline it ran.
pub fn join(alert: &mut Alert, place: &Place, region: &str) {
    alert.thread_id = place.thread();
    let at = alert
        .facts
        .iter()
        .position(|(k, _)| k == "Region")
        .unwrap_or(alert.facts.len());
    let facts = [
        ("Pipeline", place.pipeline.clone()),
        ("Pipeline execution", place.execution_id.clone()),
        (
            "Stage / action",
            format!("{} / {}", place.stage, place.action),
        ),
    ];
    for (i, (k, v)) in facts.into_iter().enumerate() {
        alert.facts.insert(at + i, (k.to_owned(), v));
    }
    alert.links.push((
        "Pipeline execution".to_owned(),
        execution_link(region, &place.pipeline, &place.execution_id),
    ));
}

/// A build a pipeline started whose execution could not be found: the pipeline's thread, and
/// the alert says so.
pub fn unmatched(alert: &mut Alert, pipeline: &str, why: &str) {
    alert.thread_id = format!("codepipeline/{pipeline}");
    let at = alert
        .facts
        .iter()
        .position(|(k, _)| k == "Region")
        .unwrap_or(alert.facts.len());
    alert.facts.insert(
        at,
        (
            "Pipeline execution".to_owned(),
            format!("could not be matched ({why})"),
        ),
    );
}

/// Every alert carries its thread as the `threadId` message attribute (for e-mail filters and
/// subscription filter policies).
pub fn with_thread_attribute(mut alert: Alert) -> Alert {
    if !alert.thread_id.is_empty() && !alert.extra_attributes.iter().any(|(k, _)| k == "threadId") {
        alert
            .extra_attributes
            .insert(0, ("threadId".to_owned(), alert.thread_id.clone()));
    }
    alert
}

/// The console link of a build (`project:uuid`) or deployment (`d-...`) a pipeline started.
pub fn layer_url(region: &str, account: &str, external_id: &str) -> Option<String> {
    let host = console_host(region);
    if let Some(d) = external_id.strip_prefix("d-") {
        return is_name(d, 1, 20, "").then(|| {
            format!("https://{host}/codesuite/codedeploy/deployments/{external_id}?region={region}")
        });
    }
    let (project, uuid) = external_id.split_once(':')?;
    (is_name(project, 2, 255, "-_") && is_name(uuid, 1, 100, "-")).then(|| {
        format!(
            "https://{host}/codesuite/codebuild/{account}/projects/{}/build/{}%3A{}/?region={region}",
            pct(project),
            pct(project),
            pct(uuid)
        )
    })
}

/// A build or deployment as [`layer_url`] reads it: a build ARN becomes `project:uuid`.
pub fn run_ref(id: &str) -> &str {
    id.split_once(":build/").map_or(id, |(_, r)| r)
}

/// Links to the builds and deployments the execution's failed actions started.
pub fn layer_links(runs: &[ActionRun], region: &str, account: &str) -> Vec<(String, String)> {
    runs.iter()
        .filter(|a| a.status.eq_ignore_ascii_case("Failed"))
        .filter_map(|a| {
            let provider = a.provider.as_deref()?;
            if !COVERED_PROVIDERS.contains(&provider) {
                return None;
            }
            let url = a
                .external_id
                .as_deref()
                .and_then(|id| layer_url(region, account, id))
                .or_else(|| {
                    a.external_url.clone().filter(|u| {
                        u.starts_with("https://")
                            && u.len() <= 2048
                            && !u.contains(char::is_whitespace)
                    })
                })?;
            let kind = if provider == "CodeBuild" {
                "Build"
            } else {
                "Deployment"
            };
            Some((format!("{kind} {}/{}", a.stage, a.action), url))
        })
        .collect()
}

/// The failure state to record: a new failed run continues the streak (or starts one); the
/// same run seen again (same `detail`) counts once.
pub fn failed_state(prev: Option<&State>, at: &str, detail: Option<&str>) -> State {
    let mut s = State {
        state: "FAILED".to_owned(),
        at: at.to_owned(),
        detail: detail.map(str::to_owned),
        since: Some(at.to_owned()),
        failed_runs: 1,
        first: detail.map(str::to_owned),
    };
    if let Some(p) = prev.filter(|p| p.state == "FAILED") {
        let same_run = detail.is_some() && p.detail.as_deref() == detail;
        let counted = p.failed_runs.max(1);
        s.failed_runs = if same_run { counted } else { counted + 1 };
        // An older record has no `since`: the streak is known from its last failure on.
        s.since = Some(p.since.clone().unwrap_or_else(|| p.at.clone()));
        s.first = p.first.clone().or_else(|| p.detail.clone());
    }
    s
}

fn epoch(t: &str) -> Option<i64> {
    use aws_sdk_codedeploy::primitives::{DateTime, DateTimeFormat};
    DateTime::from_str(t, DateTimeFormat::DateTime)
        .ok()
        .map(|d| d.secs())
}

/// `broken for 2 h 14 min, 3 failed runs` (the duration only when both times read).
pub fn streak(last: &State, now: &str) -> String {
    let runs = last.failed_runs.max(1);
    let runs = if runs == 1 {
        "1 failed run".to_owned()
    } else {
        format!("{runs} failed runs")
    };
    let since = last.since.as_deref().unwrap_or(&last.at);
    match (epoch(since), epoch(now)) {
        (Some(a), Some(b)) if b >= a => {
            format!("broken for {}, {runs}", duration((b - a) as u64))
        }
        _ => runs,
    }
}

/// What a recovered notice adds: the streak in its headline and facts, and the first failed
/// run's link.
pub fn recovered(alert: &mut Alert, last: &State, now: &str, first_link: Option<String>) {
    let s = streak(last, now);
    let headline = alert.headline.trim_end_matches('.').to_owned();
    alert.headline = format!("{headline}; it was {s}.");
    let at = alert
        .facts
        .iter()
        .position(|(k, _)| k == "Region")
        .unwrap_or(alert.facts.len());
    let mut facts = vec![(
        "Failed runs".to_owned(),
        last.failed_runs.max(1).to_string(),
    )];
    if let Some(since) = &last.since {
        facts.insert(0, ("Broken since".to_owned(), since.clone()));
    }
    for (i, f) in facts.into_iter().enumerate() {
        alert.facts.insert(at + i, f);
    }
    if let Some(u) = first_link {
        alert.links.push(("First failed run".to_owned(), u));
    }
}

#[cfg(test)]
#[path = "threads_test.rs"]
mod tests;
