//! CodeDeploy `Deployment State-change Notification` events. The event names the deployment
//! but carries no error, so the alert asks `GetDeployment` for the error code and message,
//! the rollback, the revision and who created it.

use serde::Deserialize;

use codehooks::alert::{Alert, Severity};
use codehooks::arn::{Arn, console_host};
use codehooks::names::is_name;
use codehooks::text::{self, cut, one_line, pct};
use codehooks::{Error, Result};

use crate::history::DeploymentFacts;
use crate::{Origin, Run, SENDER};

pub const SOURCE: &str = "aws.codedeploy";
pub const DETAIL_TYPE: &str = "CodeDeploy Deployment State-change Notification";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentDetail {
    pub deployment_id: String,
    pub state: String,
    #[serde(default)]
    pub application: String,
    #[serde(default)]
    pub deployment_group: String,
    #[serde(default)]
    pub instance_group_id: Option<String>,
}

impl DeploymentDetail {
    pub fn validate(&self) -> Result<()> {
        let id = &self.deployment_id;
        if !(id.starts_with("d-") && is_name(&id[2..], 1, 20, "")) {
            return Err(Error::bad_input(format!(
                "detail.deploymentId is not a CodeDeploy deployment id: {:?}",
                cut(id, 40)
            )));
        }
        for (field, v) in [
            ("application", &self.application),
            ("deploymentGroup", &self.deployment_group),
        ] {
            if v.chars().count() > 100 {
                return Err(Error::bad_input(format!(
                    "detail.{field} is longer than 100 characters"
                )));
            }
        }
        Ok(())
    }

    /// `application/deployment group`, or the deployment id when both are missing.
    pub fn name(&self) -> String {
        match (
            self.application.is_empty(),
            self.deployment_group.is_empty(),
        ) {
            (false, false) => format!(
                "{}/{}",
                one_line(&self.application),
                one_line(&self.deployment_group)
            ),
            (false, true) => one_line(&self.application),
            _ => self.deployment_id.clone(),
        }
    }

    fn link(&self, run: &Origin, id: &str) -> String {
        format!(
            "https://{}/codesuite/codedeploy/deployments/{}?region={}",
            console_host(&run.region),
            pct(id),
            run.region
        )
    }
}

pub fn plan(d: &DeploymentDetail) -> Run {
    match d.state.as_str() {
        "FAILURE" => Run::Failure,
        "SUCCESS" => Run::Success,
        other => Run::Ignore(format!(
            "deployment state {} is not a failure",
            cut(&one_line(other), 40)
        )),
    }
}

/// The alert about a failed deployment.
pub fn alert(
    d: &DeploymentDetail,
    run: &Origin,
    f: Option<&DeploymentFacts>,
    problem: Option<&str>,
) -> Alert {
    let f = f.cloned().unwrap_or_default();
    let mut reasons = Vec::new();
    match (&f.error_code, &f.error_message) {
        (Some(c), Some(m)) => reasons.push(format!("{c}: {m}")),
        (None, Some(m)) => reasons.push(m.clone()),
        (Some(c), None) => reasons.push(c.clone()),
        (None, None) => {}
    }
    if let Some(m) = &f.rollback_message {
        reasons.push(format!("Rollback: {m}"));
    }
    if let Some(p) = problem {
        reasons.push(p.to_owned());
    }
    let rolled_back = f.rollback_deployment_id.is_some();
    let mut headline = format!("Deployment {} to {} failed", d.deployment_id, d.name());
    if let Some(code) = &f.error_code {
        headline.push_str(&format!(" ({})", one_line(code)));
    }
    if rolled_back {
        headline.push_str("; CodeDeploy rolled back to the previous revision");
    }
    headline.push('.');
    let mut facts = vec![
        ("Deployment".to_owned(), d.deployment_id.clone()),
        ("Application".to_owned(), d.application.clone()),
        ("Deployment group".to_owned(), d.deployment_group.clone()),
    ];
    let mut push = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            facts.push((k.to_owned(), v.clone()));
        }
    };
    push("Platform", &f.compute_platform);
    push("Configuration", &f.deployment_config);
    push("Revision", &f.revision);
    push("Created by", &f.creator);
    push("Description", &f.description);
    push("Created at", &f.created);
    push("Rollback deployment", &f.rollback_deployment_id);
    push("Rollback of", &f.rollback_triggering_deployment_id);
    if let Some(s) = f.duration_secs {
        facts.push(("Duration".to_owned(), text::duration(s)));
    }
    facts.push(("Region".to_owned(), run.region.clone()));
    facts.push(("Account".to_owned(), run.account.clone()));
    let mut links = vec![("Deployment".to_owned(), d.link(run, &d.deployment_id))];
    if let Some(r) = f
        .rollback_deployment_id
        .as_deref()
        .filter(|r| r.starts_with("d-") && is_name(&r[2..], 1, 20, ""))
    {
        links.push(("Rollback".to_owned(), d.link(run, r)));
    }
    Alert {
        source: "codedeploy".to_owned(),
        what: "deployment".to_owned(),
        name: d.name(),
        state: one_line(&d.state),
        severity: Severity::Error,
        region: run.region.clone(),
        account: run.account.clone(),
        reference: d.deployment_id.clone(),
        headline,
        reasons,
        facts,
        sections: Vec::new(),
        links,
        next_steps: vec![if rolled_back {
            "Production runs the previous revision; find the cause in the deployment's lifecycle events before deploying again.".to_owned()
        } else {
            "Open the deployment's lifecycle events to find the failing hook or task set."
                .to_owned()
        }],
        thread_id: format!("codedeploy/{}", d.name()),
        resources: vec![
            Arn::new(
                &run.region,
                "codedeploy",
                &run.account,
                &format!("deploymentgroup:{}/{}", d.application, d.deployment_group),
            )
            .to_string(),
        ],
        event_type: "CodeDeployDeploymentFailed".to_owned(),
        event_id: run.event_id.clone(),
        time: run.time.clone(),
        sender: SENDER.to_owned(),
        // The deploy hook's own evidence about a deployment carries the same attribute.
        extra_attributes: vec![("deploymentId".to_owned(), d.deployment_id.clone())],
        ..Alert::default()
    }
}

/// The notice that a deployment group deploys again after a failure.
pub fn recovered(d: &DeploymentDetail, run: &Origin, last: &codehooks::once::State) -> Alert {
    let mut a = alert(d, run, None, None);
    a.state = "RECOVERED".to_owned();
    a.severity = Severity::Info;
    a.headline = format!(
        "Deployment {} to {} succeeded, after the {} deployment at {}.",
        d.deployment_id,
        d.name(),
        one_line(&last.state),
        one_line(&last.at)
    );
    a.reasons.clear();
    a.next_steps.clear();
    a.event_type = "CodeDeployDeploymentRecovered".to_owned();
    a
}

#[cfg(test)]
#[path = "codedeploy_test.rs"]
mod tests;
