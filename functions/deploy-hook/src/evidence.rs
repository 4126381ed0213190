//! What was found, checked and decided ([`Evidence`]): the function's typed answer, the
//! source of the summary log line, the per-decision metrics and the rollback alert.

use serde::Serialize;

use crate::config::Config;
use crate::facts::Decision;
use crate::health::HealthResult;
use crate::hook::Platform;
use crate::lambda::LambdaEvidence;
use crate::native::WindowEvidence;
use crate::payload::HookPayload;
use crate::plan::{ListenerInfo, Plan, TargetType};
use crate::probe::{CheckResult, PathReport};

/// What was found, checked and decided.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// Which kind of deployment (`None` until it is known).
    pub platform: Option<Platform>,
    /// The CodeDeploy deployment id, or the ECS service deployment ARN.
    pub deployment_id: String,
    pub lifecycle_event_hook_execution_id: String,
    pub hook: Option<String>,
    pub application: Option<String>,
    pub deployment_group: Option<String>,
    pub decision: Decision,
    /// `reported`, `alreadyCompleted`, or `error: ...`.
    pub reported: String,
    pub summary: String,
    pub failed_checks: Vec<String>,
    pub dry_run: bool,
    pub would_fail: bool,
    pub fail_open: bool,
    pub checks: Vec<CheckResult>,
    pub target_health: Option<HealthResult>,
    pub probes: Vec<PathReport>,
    pub url: Option<String>,
    pub connect_to: Option<String>,
    pub listener: Option<ListenerInfo>,
    pub green_target_group: Option<String>,
    pub blue_target_group: Option<String>,
    pub task_definition: Option<String>,
    pub target_type: Option<TargetType>,
    /// `cluster/service` of an Amazon ECS deployment.
    pub service: Option<String>,
    /// The service revision being deployed (Amazon ECS).
    pub target_revision: Option<String>,
    /// What the checks of a Lambda deployment found.
    pub lambda: Option<LambdaEvidence>,
    /// The probe window of an Amazon ECS hook that spans several invocations.
    pub window: Option<WindowEvidence>,
    /// What the analysis of real traffic read and judged.
    pub analysis: Option<crate::analysis::AnalysisEvidence>,
    /// The CodePipeline job a pipeline action's verification answers.
    pub pipeline: Option<crate::pipeline::JobEvidence>,
    pub notes: Vec<String>,
    pub error: Option<String>,
    /// The region of the deployment (the function's), for the alert.
    #[serde(skip)]
    pub region: Option<String>,
    /// The account of the deployment (the function's), when the invocation names it.
    #[serde(skip)]
    pub account: Option<String>,
    /// The invocation's request id, for the alert.
    #[serde(skip)]
    pub request_id: String,
    /// Failed checks that failed because the hook could not check (not a verdict on green).
    #[serde(skip)]
    pub infrastructure: Vec<String>,
    pub duration_ms: u64,
}

impl Evidence {
    pub fn new(p: &HookPayload) -> Evidence {
        Evidence {
            platform: None,
            deployment_id: p.deployment_id.clone(),
            lifecycle_event_hook_execution_id: p.hook_execution_id.clone(),
            hook: None,
            application: None,
            deployment_group: None,
            decision: Decision::Failed,
            reported: String::new(),
            summary: String::new(),
            failed_checks: Vec::new(),
            dry_run: false,
            would_fail: false,
            fail_open: false,
            checks: Vec::new(),
            target_health: None,
            probes: Vec::new(),
            url: None,
            connect_to: None,
            listener: None,
            green_target_group: None,
            blue_target_group: None,
            task_definition: None,
            target_type: None,
            service: None,
            target_revision: None,
            lambda: None,
            window: None,
            analysis: None,
            pipeline: None,
            notes: Vec::new(),
            error: None,
            region: None,
            account: None,
            request_id: String::new(),
            infrastructure: Vec::new(),
            duration_ms: 0,
        }
    }

    /// A check that failed for want of a check (AWS errors, time running out): `error` is set
    /// and fail-open may pass it.
    pub fn could_not(&mut self, check: &str, detail: impl Into<String>) {
        let detail = detail.into();
        self.checks
            .push(CheckResult::new(check, false, None, detail.clone()));
        self.error = Some(detail);
        self.infrastructure.push(check.to_owned());
    }

    pub fn absorb_plan(&mut self, plan: &Plan) {
        self.platform = Some(plan.platform);
        self.service = plan.service.clone();
        self.target_revision = plan.target_revision.clone();
        self.hook = Some(plan.hook.to_string());
        let named = |s: &String| (!s.is_empty()).then(|| s.clone());
        self.application = named(&plan.application);
        self.deployment_group = named(&plan.deployment_group);
        self.listener = plan.listener.clone();
        self.green_target_group = plan.green.as_ref().map(|g| g.name.clone());
        self.blue_target_group = plan.blue.as_ref().map(|g| g.name.clone());
        self.task_definition = plan.task_definition.clone();
        self.target_type = Some(plan.target_type);
        self.notes.extend(plan.notes.iter().cloned());
    }

    /// The names of the failed checks, each once, in order.
    pub fn failed_check_names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in self.checks.iter().filter(|c| !c.passed) {
            if !out.contains(&c.check) {
                out.push(c.check.clone());
            }
        }
        out
    }

    /// Whether every failed check failed for want of a check (AWS errors, time running out)
    /// rather than because green failed it: only then does fail-open pass the hook.
    fn could_not_check(&self) -> bool {
        !self.failed_checks.is_empty()
            && self
                .failed_checks
                .iter()
                .all(|c| c == "deadline" || self.infrastructure.contains(c))
    }

    /// The failed checks, one line each: `check path: detail`.
    pub fn reasons(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| match &c.path {
                Some(p) => format!("{} {p}: {}", c.check, c.detail),
                None => format!("{}: {}", c.check, c.detail),
            })
            .collect()
    }

    /// Sets the decision and the summary from the checks and the settings.
    pub fn conclude(&mut self, s: &Config) {
        self.failed_checks = self.failed_check_names();
        let failing = !self.failed_checks.is_empty() || self.error.is_some();
        self.decision = if !failing {
            Decision::Succeeded
        } else if s.dry_run {
            self.would_fail = true;
            Decision::Succeeded
        } else if s.fail_open && self.could_not_check() {
            self.fail_open = true;
            self.would_fail = true;
            Decision::Succeeded
        } else {
            Decision::Failed
        };
        self.dry_run = s.dry_run;
        let hook = self.hook.as_deref().unwrap_or("lifecycle hook");
        let why = self.reasons();
        self.summary = match (self.decision, self.would_fail) {
            (Decision::Succeeded, false) => {
                let passed: Vec<&str> = self.checks.iter().map(|c| c.check.as_str()).collect();
                format!(
                    "{hook} passed ({})",
                    if passed.is_empty() {
                        "no checks configured".into()
                    } else {
                        passed.join(", ")
                    }
                )
            }
            (Decision::Succeeded, true) if self.dry_run => {
                format!("DRY RUN: {hook} would have failed: {}", why.join("; "))
            }
            (Decision::Succeeded, true) => format!(
                "FAIL OPEN: {hook} could not be checked and was passed: {}",
                self.error.as_deref().unwrap_or("error")
            ),
            (Decision::Failed, _) => format!("{hook} failed: {}", why.join("; ")),
        };
    }

    /// Whether the evidence goes to the alert topic: the hook failed, or would have.
    pub fn alert_worthy(&self) -> bool {
        self.decision == Decision::Failed || self.would_fail
    }

    /// What was reported, and in which mode: the alert's `state` and the outcome's label.
    pub fn state(&self) -> &'static str {
        match (self.decision, self.would_fail) {
            (Decision::Failed, _) => "Failed",
            (Decision::Succeeded, true) if self.dry_run => "DryRunFailed",
            (Decision::Succeeded, true) => "FailOpenSucceeded",
            (Decision::Succeeded, false) => "Succeeded",
        }
    }
}

impl codehooks::harness::Outcome for Evidence {
    fn label(&self) -> &str {
        self.state()
    }
}

#[cfg(test)]
#[path = "evidence_test.rs"]
mod tests;
