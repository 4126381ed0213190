//! CodePipeline `Action Execution State Change` and `Pipeline Execution State Change` events.
//!
//! The failure events say which action failed but little about why, so the alert asks
//! `ListActionExecutions` (the action's summary and error) and `GetPipelineExecution` (the
//! trigger and the source revisions).
//!
//! One failure, one alert: an action run by CodeBuild or CodeDeploy is reported by the build's
//! or the deployment's own event, which carries more (phases and logs, the deployment's error
//! and rollback), so its pipeline action event publishes nothing. A failed pipeline execution
//! publishes only when none of its actions failed (for example a stage condition failed it):
//! otherwise the failed action already has its alert.

use serde::Deserialize;
use serde_json::Value;

use codehooks::alert::{Alert, Severity};
use codehooks::arn::{Arn, console_host};
use codehooks::names::is_name;
use codehooks::text::{cut, one_line, pct, short_commit};
use codehooks::{Error, Result};

use crate::history::{ActionRun, ExecutionFacts};
use crate::{Origin, Run, SENDER};

pub const SOURCE: &str = "aws.codepipeline";
pub const ACTION_DETAIL_TYPE: &str = "CodePipeline Action Execution State Change";
pub const PIPELINE_DETAIL_TYPE: &str = "CodePipeline Pipeline Execution State Change";

pub use crate::threads::COVERED_PROVIDERS;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ActionType {
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ExecutionResult {
    #[serde(default)]
    pub external_execution_url: Option<String>,
    #[serde(default)]
    pub external_execution_summary: Option<String>,
    #[serde(default)]
    pub external_execution_id: Option<String>,
    #[serde(default)]
    pub error_code: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Trigger {
    #[serde(default)]
    pub trigger_type: Option<String>,
    #[serde(default)]
    pub trigger_detail: Option<String>,
}

/// The detail of both CodePipeline execution events (stage, action and type only on actions).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PipelineDetail {
    pub pipeline: String,
    pub execution_id: String,
    pub state: String,
    #[serde(default)]
    pub stage: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default, rename = "type")]
    pub action_type: Option<ActionType>,
    #[serde(default)]
    pub execution_result: Option<ExecutionResult>,
    #[serde(default)]
    pub execution_trigger: Option<Trigger>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub pipeline_execution_attempt: Option<Value>,
}

/// Everything the lookups found (each may be missing when a lookup failed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lookups {
    pub actions: Option<Vec<ActionRun>>,
    pub execution: Option<ExecutionFacts>,
    /// Why a lookup failed, said in the alert.
    pub problems: Vec<String>,
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

impl PipelineDetail {
    pub fn validate(&self, is_action: bool) -> Result<()> {
        if !is_name(&self.pipeline, 1, 100, ".@-_") {
            return Err(Error::bad_input(format!(
                "detail.pipeline is not a pipeline name: {:?}",
                cut(&self.pipeline, 80)
            )));
        }
        if !is_uuid(&self.execution_id) {
            return Err(Error::bad_input(format!(
                "detail.execution-id is not a pipeline execution id: {:?}",
                cut(&self.execution_id, 80)
            )));
        }
        if is_action {
            for (field, v) in [("stage", &self.stage), ("action", &self.action)] {
                match v {
                    Some(v) if is_name(v, 1, 100, ".@-_") => {}
                    _ => {
                        return Err(Error::bad_input(format!(
                            "detail.{field} is missing or not a {field} name"
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    pub fn attempt(&self) -> u64 {
        match &self.pipeline_execution_attempt {
            Some(Value::Number(n)) => n.as_f64().map(|f| f.max(0.0) as u64).unwrap_or(1),
            Some(Value::String(s)) => s.parse().unwrap_or(1),
            _ => 1,
        }
    }

    pub fn provider(&self) -> Option<&str> {
        self.action_type
            .as_ref()
            .and_then(|t| t.provider.as_deref())
    }

    pub fn execution_link(&self, run: &Origin) -> String {
        format!(
            "https://{}/codesuite/codepipeline/pipelines/{}/executions/{}/timeline?region={}",
            console_host(&run.region),
            pct(&self.pipeline),
            pct(&self.execution_id),
            run.region
        )
    }

    fn pipeline_link(&self, run: &Origin) -> String {
        format!(
            "https://{}/codesuite/codepipeline/pipelines/{}/view?region={}",
            console_host(&run.region),
            pct(&self.pipeline),
            run.region
        )
    }
}

/// What an action event asks for.
pub fn plan_action(d: &PipelineDetail) -> Run {
    match d.state.as_str() {
        "FAILED" => match d.provider() {
            Some(p) if COVERED_PROVIDERS.contains(&p) => Run::Ignore(format!(
                "the {p} action's failure is reported by the {} event",
                if p == "CodeBuild" {
                    "build"
                } else {
                    "deployment"
                }
            )),
            _ => Run::Failure,
        },
        other => Run::Ignore(format!(
            "action state {} is not a failure",
            cut(&one_line(other), 40)
        )),
    }
}

/// What a pipeline execution event asks for (before looking at its actions).
pub fn plan_pipeline(d: &PipelineDetail) -> Run {
    match d.state.as_str() {
        "FAILED" => Run::Failure,
        "SUCCEEDED" => Run::Success,
        other => Run::Ignore(format!(
            "pipeline state {} is not a failure",
            cut(&one_line(other), 40)
        )),
    }
}

fn trigger_text(t: Option<&str>, detail: Option<&str>) -> Option<String> {
    match (t, detail) {
        (Some(t), Some(d)) if !d.is_empty() => Some(format!("{t} ({d})")),
        (Some(t), _) => Some(t.to_owned()),
        (None, Some(d)) => Some(d.to_owned()),
        (None, None) => None,
    }
}

fn common_facts(d: &PipelineDetail, run: &Origin, l: &Lookups) -> Vec<(String, String)> {
    let mut facts = vec![
        ("Pipeline".to_owned(), d.pipeline.clone()),
        ("Execution".to_owned(), d.execution_id.clone()),
    ];
    if d.attempt() > 1 {
        facts.push(("Attempt".to_owned(), d.attempt().to_string()));
    }
    let trigger = d.execution_trigger.as_ref();
    let exec = l.execution.as_ref();
    if let Some(t) = trigger_text(
        trigger
            .and_then(|t| t.trigger_type.as_deref())
            .or(exec.and_then(|e| e.trigger_type.as_deref())),
        trigger
            .and_then(|t| t.trigger_detail.as_deref())
            .or(exec.and_then(|e| e.trigger_detail.as_deref())),
    ) {
        facts.push(("Started by".to_owned(), t));
    }
    if let Some(e) = exec {
        for (action, id, summary) in &e.revisions {
            let mut v = short_commit(id).to_owned();
            if let Some(s) = summary.as_deref().map(one_line).filter(|s| !s.is_empty()) {
                v.push_str(&format!(" {}", cut(&s, 120)));
            }
            facts.push((format!("Source ({action})"), v));
        }
    }
    if let Some(s) = &d.start_time {
        facts.push(("Started at".to_owned(), s.clone()));
    }
    facts.push(("Region".to_owned(), run.region.clone()));
    facts.push(("Account".to_owned(), run.account.clone()));
    facts
}

fn first_revision(l: &Lookups) -> Option<String> {
    l.execution
        .as_ref()
        .and_then(|e| e.revisions.first())
        .map(|(_, id, _)| short_commit(id).to_owned())
}

/// The alert about a failed action (not run by CodeBuild or CodeDeploy).
pub fn action_alert(d: &PipelineDetail, run: &Origin, l: &Lookups) -> Alert {
    let stage = d.stage.clone().unwrap_or_default();
    let action = d.action.clone().unwrap_or_default();
    let found = l
        .actions
        .as_ref()
        .and_then(|list| list.iter().find(|a| a.stage == stage && a.action == action));
    let result = d.execution_result.clone().unwrap_or_default();
    let provider = d.provider().map(one_line);
    let mut reasons = Vec::new();
    if let Some(f) = found {
        if let Some(m) = &f.error_message {
            reasons.push(match &f.error_code {
                Some(c) => format!("{c}: {m}"),
                None => m.clone(),
            });
        }
        if let Some(s) = &f.summary {
            reasons.push(s.clone());
        }
    }
    if reasons.is_empty()
        && let Some(s) = &result.external_execution_summary
    {
        reasons.push(match &result.error_code {
            Some(c) => format!("{c}: {s}"),
            None => s.clone(),
        });
    }
    reasons.extend(l.problems.iter().cloned());
    let mut headline = format!(
        "Pipeline {} failed at stage {stage}, action {action}",
        d.pipeline
    );
    if let Some(p) = &provider {
        headline.push_str(&format!(" ({p})"));
    }
    headline.push('.');
    let mut facts = vec![
        ("Stage".to_owned(), stage.clone()),
        ("Action".to_owned(), action.clone()),
    ];
    if let Some(t) = &d.action_type {
        let ty = [
            t.category.as_deref(),
            t.owner.as_deref(),
            t.provider.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" / ");
        facts.push(("Action type".to_owned(), ty));
    }
    if let Some(id) = found
        .and_then(|f| f.external_id.clone())
        .or(result.external_execution_id.clone())
    {
        facts.push(("External id".to_owned(), id));
    }
    facts.extend(common_facts(d, run, l));
    let mut links = vec![("Execution".to_owned(), d.execution_link(run))];
    if let Some(u) = found
        .and_then(|f| f.external_url.clone())
        .or(result.external_execution_url.clone())
        .filter(|u| {
            u.starts_with("https://") && u.len() <= 2048 && !u.contains(char::is_whitespace)
        })
    {
        links.push(("Action details".to_owned(), u));
    }
    // The builds and deployments other failed actions of the execution started.
    if let Some(runs) = &l.actions {
        links.extend(crate::threads::layer_links(runs, &run.region, &run.account));
    }
    links.push(("Pipeline".to_owned(), d.pipeline_link(run)));
    let reference = match first_revision(l) {
        Some(r) => format!("{stage}/{action} ({r})"),
        None => format!("{stage}/{action}"),
    };
    Alert {
        source: "codepipeline".to_owned(),
        what: "pipeline".to_owned(),
        name: d.pipeline.clone(),
        state: one_line(&d.state),
        severity: Severity::Error,
        region: run.region.clone(),
        account: run.account.clone(),
        reference,
        headline,
        reasons,
        facts,
        sections: Vec::new(),
        links,
        next_steps: vec![format!(
            "Open the execution, fix the cause, then retry stage {stage}."
        )],
        thread_id: crate::threads::execution_thread(&d.pipeline, &d.execution_id),
        resources: vec![
            Arn::new(&run.region, "codepipeline", &run.account, &d.pipeline).to_string(),
        ],
        event_type: "CodePipelineActionFailed".to_owned(),
        event_id: run.event_id.clone(),
        time: run.time.clone(),
        sender: SENDER.to_owned(),
        ..Alert::default()
    }
}

/// Whether a failed pipeline execution has a failed action (which has its own alert).
pub fn failed_actions(l: &Lookups) -> Vec<&ActionRun> {
    l.actions
        .iter()
        .flatten()
        .filter(|a| a.status.eq_ignore_ascii_case("Failed"))
        .collect()
}

/// The alert about a failed pipeline execution without a failed action.
pub fn pipeline_alert(d: &PipelineDetail, run: &Origin, l: &Lookups) -> Alert {
    let mut reasons = Vec::new();
    if let Some(s) = l.execution.as_ref().and_then(|e| e.status_summary.clone()) {
        reasons.push(s);
    }
    reasons.extend(l.problems.iter().cloned());
    if reasons.is_empty() {
        reasons.push(
            "CodePipeline gives no reason; open the execution for its stage and condition results."
                .to_owned(),
        );
    }
    Alert {
        source: "codepipeline".to_owned(),
        what: "pipeline".to_owned(),
        name: d.pipeline.clone(),
        state: one_line(&d.state),
        severity: Severity::Error,
        region: run.region.clone(),
        account: run.account.clone(),
        reference: first_revision(l)
            .map(|r| format!("({r})"))
            .unwrap_or_default(),
        headline: format!(
            "Pipeline {} execution {} failed.",
            d.pipeline, d.execution_id
        ),
        reasons,
        facts: common_facts(d, run, l),
        sections: Vec::new(),
        links: {
            let mut links = vec![("Execution".to_owned(), d.execution_link(run))];
            if let Some(runs) = &l.actions {
                links.extend(crate::threads::layer_links(runs, &run.region, &run.account));
            }
            links.push(("Pipeline".to_owned(), d.pipeline_link(run)));
            links
        },
        next_steps: vec!["Open the execution to see which stage stopped it.".to_owned()],
        thread_id: crate::threads::execution_thread(&d.pipeline, &d.execution_id),
        resources: vec![
            Arn::new(&run.region, "codepipeline", &run.account, &d.pipeline).to_string(),
        ],
        event_type: "CodePipelineExecutionFailed".to_owned(),
        event_id: run.event_id.clone(),
        time: run.time.clone(),
        sender: SENDER.to_owned(),
        ..Alert::default()
    }
}

/// The notice that a pipeline runs through again after a failure.
pub fn recovered(d: &PipelineDetail, run: &Origin, last: &codehooks::once::State) -> Alert {
    let l = Lookups::default();
    let mut a = pipeline_alert(d, run, &l);
    a.state = "RECOVERED".to_owned();
    a.severity = Severity::Info;
    a.headline = format!(
        "Pipeline {} succeeded again (execution {}), after the {} execution at {}.",
        d.pipeline,
        d.execution_id,
        one_line(&last.state),
        one_line(&last.at)
    );
    a.reasons.clear();
    a.next_steps.clear();
    a.event_type = "CodePipelineExecutionRecovered".to_owned();
    a
}

#[cfg(test)]
#[path = "codepipeline_test.rs"]
mod tests;
