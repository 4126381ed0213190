//! Manual approvals: a CodePipeline `Approval` action entering `STARTED` waits for someone.
//! The notice (optional: `CODEHOOKS_ALERTS_APPROVALS`) says what to review (the action's
//! `CustomData` and `ExternalEntityLink`, read with `GetPipeline`), where to approve, and who
//! may; it goes to the execution's thread.

use std::collections::HashMap;

use codehooks::alert::{Alert, Severity};
use codehooks::arn::{Arn, console_host};
use codehooks::text::{cut, one_line, pct};

use crate::codepipeline::PipelineDetail;
use crate::threads::{execution_link, execution_thread};
use crate::{Origin, SENDER};

/// Whether an action event is an approval that starts waiting.
pub fn is_waiting(d: &PipelineDetail) -> bool {
    d.state == "STARTED"
        && d.action_type
            .as_ref()
            .and_then(|t| t.category.as_deref())
            .is_some_and(|c| c == "Approval")
}

/// Who may approve, as the notice says it.
pub fn approvers_text(approvers: &[String]) -> String {
    if approvers.is_empty() {
        "anyone allowed codepipeline:PutApprovalResult on this pipeline".to_owned()
    } else {
        approvers.join(", ")
    }
}

/// A review link worth showing: https, one line, not too long.
fn usable_link(u: &str) -> bool {
    u.starts_with("https://") && u.len() <= 2048 && !u.contains(char::is_whitespace)
}

/// The notice. `configuration` is the action's configuration from `GetPipeline` (`None` when
/// the action was not found), `problem` why it could not be read.
pub fn notice(
    d: &PipelineDetail,
    run: &Origin,
    configuration: Option<&HashMap<String, String>>,
    problem: Option<&str>,
    approvers: &[String],
) -> Alert {
    let stage = d.stage.clone().unwrap_or_default();
    let action = d.action.clone().unwrap_or_default();
    let custom = configuration
        .and_then(|c| c.get("CustomData"))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let review = configuration
        .and_then(|c| c.get("ExternalEntityLink"))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let mut reasons = Vec::new();
    if let Some(c) = &custom {
        reasons.push(c.clone());
    }
    if let Some(p) = problem {
        reasons.push(format!(
            "(The approval's text and review link could not be read: {p})"
        ));
    } else if configuration.is_none() {
        reasons.push(
            "(The pipeline's current declaration has no such action; it changed since the execution started.)"
                .to_owned(),
        );
    }
    let mut facts = vec![
        ("Pipeline".to_owned(), d.pipeline.clone()),
        ("Execution".to_owned(), d.execution_id.clone()),
        ("Stage".to_owned(), stage.clone()),
        ("Action".to_owned(), action.clone()),
        ("Who may approve".to_owned(), approvers_text(approvers)),
    ];
    if d.attempt() > 1 {
        facts.push(("Attempt".to_owned(), d.attempt().to_string()));
    }
    if let Some(s) = &d.start_time {
        facts.push(("Execution started at".to_owned(), s.clone()));
    }
    facts.push(("Waiting since".to_owned(), run.time.clone()));
    facts.push(("Region".to_owned(), run.region.clone()));
    facts.push(("Account".to_owned(), run.account.clone()));
    let mut links = vec![(
        "Approve or reject".to_owned(),
        format!(
            "https://{}/codesuite/codepipeline/pipelines/{}/view?region={}",
            console_host(&run.region),
            pct(&d.pipeline),
            run.region
        ),
    )];
    if let Some(r) = review.as_deref().filter(|r| usable_link(r)) {
        links.push(("Review".to_owned(), r.to_owned()));
    } else if let Some(r) = &review {
        facts.push(("Review".to_owned(), cut(&one_line(r), 300)));
    }
    links.push((
        "Execution".to_owned(),
        execution_link(&run.region, &d.pipeline, &d.execution_id),
    ));
    Alert {
        source: "codepipeline".to_owned(),
        what: "approval".to_owned(),
        name: d.pipeline.clone(),
        state: "WAITING".to_owned(),
        severity: Severity::Info,
        region: run.region.clone(),
        account: run.account.clone(),
        reference: format!("{stage}/{action}"),
        headline: format!(
            "Pipeline {} waits for a manual approval at stage {stage}, action {action}.",
            d.pipeline
        ),
        reasons,
        facts,
        sections: Vec::new(),
        links,
        next_steps: vec![format!(
            "Review the change, then approve or reject {stage}/{action} in the console (or with `aws codepipeline put-approval-result`)."
        )],
        thread_id: execution_thread(&d.pipeline, &d.execution_id),
        resources: vec![
            Arn::new(&run.region, "codepipeline", &run.account, &d.pipeline).to_string(),
        ],
        event_type: "CodePipelineApprovalWaiting".to_owned(),
        event_id: run.event_id.clone(),
        time: run.time.clone(),
        sender: SENDER.to_owned(),
        ..Alert::default()
    }
}

#[cfg(test)]
#[path = "approval_test.rs"]
mod tests;
