//! The rollback alert: the evidence of a failed (or would-have-failed) hook as a
//! [`codehooks::alert::Alert`], so a failed deployment reads like a failed build: the failed
//! checks as reasons, the deployment's facts, the probe samples (bounded), and a console link.

use codehooks::alert::{Alert, Severity};
use codehooks::text::cut;
use serde_json::{Map, Value, json};

use crate::NAME;
use crate::evidence::Evidence;
use crate::facts::Decision;
use crate::hook::Platform;

/// Longest probe failure sample quoted in the alert's text.
const SAMPLE_MAX: usize = 300;

/// The alert of `ev`.
pub fn alert(ev: &Evidence) -> Alert {
    let platform = ev.platform.unwrap_or(Platform::CodeDeployEcs);
    let name = scope_name(ev);
    let id = &ev.deployment_id;
    let region = ev.region.clone().unwrap_or_default();
    let account = ev.account.clone().unwrap_or_default();
    let (severity, prefix, headline) = headline(ev, platform, &name);
    let mut reasons = ev.reasons();
    if reasons.is_empty()
        && let Some(e) = &ev.error
    {
        reasons.push(e.clone());
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
        region: region.clone(),
        account: account.clone(),
        // An ECS service deployment ARN is long: its last part names it in the subject.
        reference: match platform {
            Platform::EcsNative => id.rsplit('/').next().unwrap_or(id).to_owned(),
            _ => id.clone(),
        },
        subject_prefix: prefix.to_owned(),
        headline,
        reasons,
        facts: facts(ev, platform),
        sections: sections(ev),
        links: links(ev, platform, &region),
        next_steps,
        thread_id: match (platform, pipeline_of(ev)) {
            (Platform::Pipeline, Some((p, exec))) => format!("codepipeline/{p}/{exec}"),
            _ if name.is_empty() => id.clone(),
            _ => name,
        },
        resources: resources(ev, platform, &region, &account),
        event_type: match platform {
            Platform::CodeDeployEcs => "CodeDeployLifecycleHookFailed",
            Platform::CodeDeployLambda => "CodeDeployLambdaHookFailed",
            Platform::EcsNative => "EcsLifecycleHookFailed",
            Platform::Pipeline => "CodePipelineVerifyFailed",
        }
        .to_owned(),
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

/// The pipeline and execution a pipeline action's verification belongs to, when it names them.
fn pipeline_of(ev: &Evidence) -> Option<(&str, &str)> {
    let j = ev.pipeline.as_ref()?;
    Some((j.pipeline.as_deref()?, j.execution_id.as_deref()?))
}

/// What was deployed: `application/group` (CodeDeploy) or `cluster/service` (Amazon ECS).
fn scope_name(ev: &Evidence) -> String {
    match (&ev.service, &ev.application, &ev.deployment_group) {
        (Some(s), _, _) => s.clone(),
        (None, Some(a), Some(g)) => format!("{a}/{g}"),
        _ => String::new(),
    }
}

/// The severity, subject prefix and first sentence: what happened and what the platform does.
fn headline(ev: &Evidence, platform: Platform, name: &str) -> (Severity, &'static str, String) {
    let hook = ev.hook.as_deref().unwrap_or("lifecycle");
    let id = &ev.deployment_id;
    let of = match platform {
        Platform::Pipeline => {
            let what = if name.is_empty() {
                ev.url.clone().unwrap_or_else(|| "the deployment".into())
            } else {
                format!("service {name}")
            };
            match pipeline_of(ev) {
                Some((p, exec)) => {
                    format!("the verification of {what} in pipeline {p} (execution {exec})")
                }
                None => format!("the pipeline verification of {what} (job {id})"),
            }
        }
        Platform::EcsNative if !name.is_empty() => {
            format!("the {hook} hook of service {name} (deployment {id})")
        }
        _ if !name.is_empty() => format!("the {hook} hook of deployment {id} of {name}"),
        _ => format!("the {hook} hook of deployment {id}"),
    };
    let back = match (platform, &ev.lambda) {
        (Platform::EcsNative, _) => {
            "Amazon ECS rolls the service back to its previous revision.".to_owned()
        }
        (Platform::CodeDeployLambda, Some(l)) => format!(
            "CodeDeploy stops the deployment and keeps the alias on version {}.",
            l.current_version
                .as_deref()
                .unwrap_or("the current version")
        ),
        (Platform::CodeDeployLambda, None) => {
            "CodeDeploy stops the deployment and keeps the alias on the current version.".to_owned()
        }
        (Platform::CodeDeployEcs, _) => {
            "CodeDeploy stops the deployment and rolls back to blue.".to_owned()
        }
        (Platform::Pipeline, _) => "CodePipeline fails the action and the pipeline execution stops: roll the service back (or deploy a fix) yourself.".to_owned(),
    };
    let status = match platform {
        Platform::EcsNative => "answered SUCCEEDED",
        Platform::Pipeline => "answered as a success",
        _ => "reported Succeeded",
    };
    let mut of_upper = of.clone();
    if let Some(first) = of_upper.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    match (ev.decision, ev.dry_run) {
        (Decision::Failed, _) => (Severity::Error, "", format!("{of_upper} failed: {back}")),
        (Decision::Succeeded, true) => (
            Severity::Warning,
            "[dry run]",
            format!("DRY RUN: {of} would have failed; it was {status}."),
        ),
        (Decision::Succeeded, false) => (
            Severity::Warning,
            "",
            format!("FAIL OPEN: {of} could not be checked and was {status}."),
        ),
    }
}

/// The facts of the deployment, the platform's own first.
fn facts(ev: &Evidence, platform: Platform) -> Vec<(String, String)> {
    let listener = ev.listener.as_ref().map(|l| {
        format!(
            "{} {} port {} ({})",
            l.role.as_str(),
            l.protocol,
            l.port,
            l.arn
        )
    });
    let lambda = ev.lambda.as_ref();
    let stage = match platform {
        Platform::EcsNative => "Stage",
        Platform::Pipeline => "Check",
        _ => "Hook",
    };
    let job = ev.pipeline.as_ref();
    [
        ("Platform", Some(platform.as_str().to_owned())),
        ("Pipeline", job.and_then(|j| j.pipeline.clone())),
        (
            "Pipeline execution",
            job.and_then(|j| j.execution_id.clone()),
        ),
        ("Job", job.map(|j| j.job_id.clone())),
        ("Application", ev.application.clone()),
        ("Deployment group", ev.deployment_group.clone()),
        ("Service", ev.service.clone()),
        (
            "Deployment",
            (platform != Platform::Pipeline).then(|| ev.deployment_id.clone()),
        ),
        (stage, ev.hook.clone()),
        ("Status reported", Some(ev.decision.as_str().to_owned())),
        ("Service revision", ev.target_revision.clone()),
        ("Target group", ev.green_target_group.clone()),
        ("Listener", listener),
        ("Task definition", ev.task_definition.clone()),
        ("Function", lambda.map(|l| l.function.clone())),
        ("Alias", lambda.and_then(|l| l.alias.clone())),
        (
            "Target version",
            lambda.and_then(|l| l.target_version.clone()),
        ),
        ("URL", ev.url.clone()),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k.to_owned(), v?)))
    .collect()
}

/// Console links: the deployment, and the function version of a Lambda deployment.
fn links(ev: &Evidence, platform: Platform, region: &str) -> Vec<(String, String)> {
    if region.is_empty() {
        return Vec::new();
    }
    let id = &ev.deployment_id;
    let mut links = Vec::new();
    match (
        platform,
        ev.service.as_deref().and_then(|s| s.split_once('/')),
    ) {
        (Platform::EcsNative, Some((cluster, service))) => links.push((
            "Service deployments".to_owned(),
            codehooks::arn::console_url(
                region,
                &format!(
                    "ecs/v2/clusters/{cluster}/services/{service}/deployments?region={region}"
                ),
            ),
        )),
        (Platform::EcsNative, None) => {}
        (Platform::Pipeline, service) => {
            if let Some((p, exec)) = pipeline_of(ev) {
                links.push((
                    "Pipeline execution".to_owned(),
                    codehooks::arn::console_url(
                        region,
                        &format!(
                            "codesuite/codepipeline/pipelines/{p}/executions/{exec}/timeline?region={region}"
                        ),
                    ),
                ));
            }
            if let Some((cluster, service)) = service {
                links.push((
                    "Service deployments".to_owned(),
                    codehooks::arn::console_url(
                        region,
                        &format!(
                            "ecs/v2/clusters/{cluster}/services/{service}/deployments?region={region}"
                        ),
                    ),
                ));
            }
        }
        _ => links.push((
            "Deployment".to_owned(),
            codehooks::arn::console_url(
                region,
                &format!("codesuite/codedeploy/deployments/{id}?region={region}"),
            ),
        )),
    }
    if let Some(l) = &ev.lambda
        && let Some(v) = &l.target_version
    {
        links.push((
            "Function version".to_owned(),
            codehooks::arn::console_url(
                region,
                &format!(
                    "lambda/home?region={region}#/functions/{}/versions/{v}",
                    l.function
                ),
            ),
        ));
    }
    links
}

/// The ARNs the alert is about.
fn resources(ev: &Evidence, platform: Platform, region: &str, account: &str) -> Vec<String> {
    if region.is_empty() || account.is_empty() {
        return Vec::new();
    }
    let arn = |service: &str, resource: String| {
        codehooks::arn::Arn::new(region, service, account, &resource).to_string()
    };
    match platform {
        Platform::EcsNative => ev
            .deployment_id
            .starts_with("arn:")
            .then(|| ev.deployment_id.clone())
            .into_iter()
            .collect(),
        Platform::CodeDeployLambda => {
            let mut out: Vec<String> = ev
                .lambda
                .iter()
                .map(|l| match &l.target_version {
                    Some(v) => arn("lambda", format!("function:{}:{v}", l.function)),
                    None => arn("lambda", format!("function:{}", l.function)),
                })
                .collect();
            if let (Some(app), Some(g)) = (&ev.application, &ev.deployment_group) {
                out.push(arn("codedeploy", format!("deploymentgroup:{app}/{g}")));
            }
            out
        }
        Platform::Pipeline => pipeline_of(ev)
            .map(|(p, _)| arn("codepipeline", p.to_owned()))
            .into_iter()
            .collect(),
        Platform::CodeDeployEcs => match (&ev.application, &ev.deployment_group) {
            (Some(app), Some(g)) => vec![arn("codedeploy", format!("deploymentgroup:{app}/{g}"))],
            _ => Vec::new(),
        },
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
        probes.push_str(&p.line());
        probes.push('\n');
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
    if let Some(a) = &ev.analysis {
        out.push(("Analysis".to_owned(), analysis_text(a)));
    }
    if !ev.notes.is_empty() {
        out.push(("Notes".to_owned(), ev.notes.join("\n")));
    }
    out
}

/// The analysis as text: each alarm and metric check with its numbers, and the load sent.
fn analysis_text(a: &crate::analysis::AnalysisEvidence) -> String {
    let mut text = format!(
        "window {} to {} ({} reads)\n",
        codehooks::time::rfc3339(u64::try_from(a.from_ms / 1000).unwrap_or(0)),
        codehooks::time::rfc3339(u64::try_from(a.to_ms / 1000).unwrap_or(0)),
        a.polls
    );
    for c in a.alarms.iter().take(20) {
        let mark = if c.passed { "ok" } else { "FAILED" };
        text.push_str(&format!("  alarm {} {}: {mark}", c.name, c.state));
        if !c.passed && !c.reason.is_empty() {
            text.push_str(&format!(" ({})", cut(&c.reason, SAMPLE_MAX)));
        }
        text.push('\n');
    }
    if a.alarms.len() > 20 {
        text.push_str(&format!("  and {} more alarms\n", a.alarms.len() - 20));
    }
    for m in &a.metrics {
        let outcome = match m.outcome {
            crate::analysis::Outcome::Pass => "pass",
            crate::analysis::Outcome::Fail => "FAIL",
            crate::analysis::Outcome::Inconclusive => "inconclusive",
        };
        text.push_str(&format!(
            "  {} {outcome}: {}\n",
            m.check,
            cut(&m.detail, SAMPLE_MAX)
        ));
    }
    if let Some(l) = &a.load {
        text.push_str(&format!(
            "  load {} rps: {} sent, {} answered, {} errors over {} ms\n",
            l.rps, l.sent, l.answered, l.errors, l.ms
        ));
    }
    text
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
        "platform": ev.platform,
        "service": ev.service,
        "targetRevision": ev.target_revision,
        "lambda": ev.lambda,
        "window": ev.window,
        "analysis": ev.analysis,
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
