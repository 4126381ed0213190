//! The rollback alert: the evidence of a failed (or would-have-failed) hook as a
//! [`codehooks::alert::Alert`], so a failed deployment reads like a failed build: the failed
//! checks as reasons, the deployment's facts, the probe samples (bounded), and a console link.

use codehooks::alert::{Alert, Severity};
use codehooks::text::cut;
use serde_json::{Map, Value, json};

use crate::NAME;
use crate::evidence::Evidence;
use crate::facts::Decision;

/// Longest probe failure sample quoted in the alert's text.
const SAMPLE_MAX: usize = 300;

/// The alert of `ev`.
pub fn alert(ev: &Evidence) -> Alert {
    let name = match (&ev.application, &ev.deployment_group) {
        (Some(a), Some(g)) => format!("{a}/{g}"),
        _ => String::new(),
    };
    let hook = ev.hook.as_deref().unwrap_or("lifecycle");
    let id = &ev.deployment_id;
    let group = if name.is_empty() {
        String::new()
    } else {
        format!(" of {name}")
    };
    let (severity, prefix, headline) = match (ev.decision, ev.dry_run) {
        (Decision::Failed, _) => (
            Severity::Error,
            "",
            format!(
                "The {hook} hook of deployment {id}{group} failed: CodeDeploy stops the deployment and rolls back to blue."
            ),
        ),
        (Decision::Succeeded, true) => (
            Severity::Warning,
            "[dry run]",
            format!(
                "DRY RUN: the {hook} hook of deployment {id}{group} would have failed; it was reported Succeeded."
            ),
        ),
        (Decision::Succeeded, false) => (
            Severity::Warning,
            "",
            format!(
                "FAIL OPEN: the {hook} hook of deployment {id}{group} could not be checked and was reported Succeeded."
            ),
        ),
    };
    let mut reasons = ev.reasons();
    if reasons.is_empty()
        && let Some(e) = &ev.error
    {
        reasons.push(e.clone());
    }
    let region = ev.region.clone().unwrap_or_default();
    let account = ev.account.clone().unwrap_or_default();
    let listener = ev.listener.as_ref().map(|l| {
        format!(
            "{} {} port {} ({})",
            l.role.as_str(),
            l.protocol,
            l.port,
            l.arn
        )
    });
    let facts: Vec<(String, String)> = [
        ("Application", ev.application.clone()),
        ("Deployment group", ev.deployment_group.clone()),
        ("Deployment", Some(id.clone())),
        ("Hook", ev.hook.clone()),
        ("Status reported", Some(ev.decision.as_str().to_owned())),
        ("Target group", ev.green_target_group.clone()),
        ("Listener", listener),
        ("Task definition", ev.task_definition.clone()),
        ("URL", ev.url.clone()),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k.to_owned(), v?)))
    .collect();
    let mut links = Vec::new();
    if !region.is_empty() {
        links.push((
            "Deployment".to_owned(),
            codehooks::arn::console_url(
                &region,
                &format!("codesuite/codedeploy/deployments/{id}?region={region}"),
            ),
        ));
    }
    let mut resources = Vec::new();
    if let (Some(app), Some(g)) = (&ev.application, &ev.deployment_group)
        && !region.is_empty()
        && !account.is_empty()
    {
        resources.push(
            codehooks::arn::Arn::new(
                &region,
                "codedeploy",
                &account,
                &format!("deploymentgroup:{app}/{g}"),
            )
            .to_string(),
        );
    }
    let next_steps = match ev.decision {
        Decision::Failed => vec![
            "Fix what the failed checks show in the new revision, then deploy again.".to_owned(),
        ],
        Decision::Succeeded => {
            vec!["The deployment goes on: check the service before relying on it.".to_owned()]
        }
    };
    Alert {
        source: NAME.to_owned(),
        what: "deployment".to_owned(),
        name: name.clone(),
        state: ev.state().to_owned(),
        severity,
        region,
        account,
        reference: id.clone(),
        subject_prefix: prefix.to_owned(),
        headline,
        reasons,
        facts,
        sections: sections(ev),
        links,
        next_steps,
        thread_id: if name.is_empty() { id.clone() } else { name },
        resources,
        event_type: "CodeDeployLifecycleHookFailed".to_owned(),
        // The alert's id: every copy of one hook execution's alert carries it.
        event_id: alert_id(ev),
        time: utc_now(),
        sender: format!("codehooks {NAME}"),
        extra_attributes: vec![
            ("alertId".to_owned(), alert_id(ev)),
            ("decision".to_owned(), ev.decision.as_str().to_owned()),
            ("deploymentId".to_owned(), id.clone()),
            (
                "hook".to_owned(),
                ev.hook.clone().unwrap_or_else(|| "unknown".into()),
            ),
        ],
        data: data(ev),
    }
}

/// The stable id of a hook execution's alert: `<deployment id>/<hook execution id>`. SNS
/// standard topics
/// deliver at least once (and a publish whose answer is lost is sent again), so every copy
/// carries it, as the `alertId` message attribute and the chat document's `id`, for
/// subscribers to drop a repeat.
pub fn alert_id(ev: &Evidence) -> String {
    format!(
        "{}/{}",
        ev.deployment_id, ev.lifecycle_event_hook_execution_id
    )
}

/// The probe samples and the unhealthy targets, bounded.
fn sections(ev: &Evidence) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut probes = String::new();
    for p in &ev.probes {
        probes.push_str(&format!(
            "{}: {} of {} passed, p95 {}\n",
            p.url,
            p.succeeded,
            p.attempted,
            p.p95_ms
                .map(|v| format!("{v:.1} ms"))
                .unwrap_or_else(|| "-".into())
        ));
        for s in &p.samples {
            probes.push_str(&format!("  {}\n", cut(s, SAMPLE_MAX)));
        }
    }
    if !probes.is_empty() {
        out.push(("Probe samples".to_owned(), probes));
    }
    if let Some(h) = &ev.target_health {
        let mut text = format!(
            "{} of {} required targets healthy in {} ({} registered)\n",
            h.healthy, h.required, h.target_group, h.registered
        );
        for t in h.unhealthy.iter().take(10) {
            text.push_str(&format!(
                "  {} {}: {} {}\n",
                t.id,
                t.state,
                t.reason.as_deref().unwrap_or(""),
                cut(t.description.as_deref().unwrap_or(""), SAMPLE_MAX)
            ));
        }
        out.push(("Target health".to_owned(), text));
    }
    if !ev.notes.is_empty() {
        out.push(("Notes".to_owned(), ev.notes.join("\n")));
    }
    out
}

/// The machine-readable evidence (the keys the alert body always had).
fn data(ev: &Evidence) -> Map<String, Value> {
    let v = json!({
        "alertId": alert_id(ev),
        "requestId": ev.request_id,
        "summary": ev.summary,
        "deploymentId": ev.deployment_id,
        "application": ev.application,
        "deploymentGroup": ev.deployment_group,
        "hook": ev.hook,
        "decision": ev.decision,
        "dryRun": ev.dry_run,
        "failOpen": ev.fail_open,
        "failedChecks": ev.failed_checks,
        "checks": ev.checks,
        "url": ev.url,
        "connectTo": ev.connect_to,
        "probes": ev.probes,
        "targetHealth": ev.target_health,
        "greenTargetGroup": ev.green_target_group,
        "blueTargetGroup": ev.blue_target_group,
        "taskDefinition": ev.task_definition,
        "error": ev.error,
        "notes": ev.notes,
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Now as `2026-12-01T02:30:00Z`.
pub(crate) fn utc_now() -> String {
    codehooks::time::now_rfc3339()
}

#[cfg(test)]
#[path = "alert_test.rs"]
mod tests;
