//! The checks of a Lambda deployment's hook, in order: the function is one this hook may
//! invoke (`CODEHOOKS_HOOK_LAMBDA_FUNCTIONS`), the test events on the target version, then,
//! after the shift, the target version's own errors and throttles. Each adds its results to
//! the evidence; reporting, dry run, fail-open and the alert follow in [`crate::app`].

use tokio::time::Instant;

use crate::analysis::spec::Analysis;
use crate::analysis_run::{Job, Mode, Source, all_passed};
use crate::app::App;
use crate::evidence::Evidence;
use crate::hook::{Hook, Platform};
use crate::lambda::decide::is_published_version;
use crate::lambda::policy::LambdaChecks;
use crate::lambda::{LambdaEvidence, LambdaPlan, invoke, metrics};
use crate::ports::Ports;
use crate::stats::CheckResult;

/// The variable naming the functions this hook may invoke, and its template parameter.
pub const FUNCTIONS_VARIABLE: &str = "CODEHOOKS_HOOK_LAMBDA_FUNCTIONS";
pub const FUNCTIONS_PARAMETER: &str = "DeployHookLambdaFunctions";

/// The refusal of a function this hook is not allowed to verify (`None`: it is allowed).
pub fn not_allowed(allowed: &[String], function: &str) -> Option<String> {
    if allowed.iter().any(|f| f == function) {
        return None;
    }
    let listed = if allowed.is_empty() {
        "none".to_owned()
    } else {
        allowed.join(", ")
    };
    Some(format!(
        "function {function} is not one this hook may invoke ({FUNCTIONS_VARIABLE}, template \
         parameter {FUNCTIONS_PARAMETER}, lists: {listed}); add it there (its IAM policy \
         allows lambda:InvokeFunction only on the functions listed)"
    ))
}

impl<P: Ports> App<P> {
    /// The checks of a Lambda deployment's hook, until `until`.
    pub(crate) async fn check_lambda(
        &self,
        plan: &LambdaPlan,
        ev: &mut Evidence,
        started_ms: i64,
        until: Instant,
    ) {
        ev.platform = Some(Platform::CodeDeployLambda);
        ev.hook = Some(plan.hook.to_string());
        let named = |s: &String| (!s.is_empty()).then(|| s.clone());
        ev.application = named(&plan.application);
        ev.deployment_group = named(&plan.deployment_group);
        ev.notes.extend(plan.notes.iter().cloned());
        ev.lambda = Some(LambdaEvidence::of(plan));
        let function = plan.function_name();
        let checks = self.settings.policy.lambda_checks(plan.hook, function);
        if !checks.enabled {
            ev.notes.push(format!(
                "checks of {} for {function} are disabled by the policy",
                plan.hook
            ));
            return;
        }
        if let Some(refusal) = not_allowed(&self.settings.lambda_functions, function) {
            ev.checks
                .push(CheckResult::new("allowedFunction", false, None, refusal));
            return;
        }
        self.invoke_events(plan, &checks, ev, until).await;
        match (plan.hook, checks.metrics) {
            (Hook::AfterAllowTraffic, true) => self.read_metrics(plan, &checks, ev, until).await,
            (Hook::BeforeAllowTraffic, true) => ev
                .notes
                .push("metrics are read after the traffic shift only (AfterAllowTraffic)".into()),
            _ => {}
        }
        if let Some(a) = &checks.analysis
            && all_passed(ev)
        {
            self.analyse_versions(plan, a, started_ms, ev, until).await;
        }
    }

    /// The analysis of the target version against the current one under the alias, from the
    /// start of the traffic shift (or of this hook run, before the shift).
    async fn analyse_versions(
        &self,
        plan: &LambdaPlan,
        a: &Analysis,
        started_ms: i64,
        ev: &mut Evidence,
        until: Instant,
    ) {
        let source = match (&plan.function.alias, &plan.function.current_version) {
            (Some(alias), Some(old)) => Some(Source::Lambda {
                function: plan.function_name().to_owned(),
                alias: alias.clone(),
                new_version: plan.target_version().to_owned(),
                old_version: old.clone(),
            }),
            _ => None,
        };
        if a.metrics.is_some() && source.is_none() {
            ev.checks.push(CheckResult::new(
                "analysis",
                false,
                None,
                "the deployment names no alias and current version to compare the target \
                 version with",
            ));
            return;
        }
        let from = plan.shifted_at_ms.unwrap_or(started_ms);
        let job = Job {
            analysis: a,
            source: source.as_ref(),
            load: None,
            window_start_ms: from,
            mode: Mode::Wait,
        };
        self.analyse(job, ev, until).await;
    }

    /// The test events on the target version.
    async fn invoke_events(
        &self,
        plan: &LambdaPlan,
        checks: &LambdaChecks,
        ev: &mut Evidence,
        until: Instant,
    ) {
        let function = plan.function_name();
        if checks.events.is_empty() {
            let note = format!(
                "no test events configured for {function}: set lambda.functions.{function}.events"
            );
            ev.checks
                .push(CheckResult::new("invoke", true, None, note.clone()));
            ev.notes.push(note);
            return;
        }
        let version = plan.target_version();
        if !is_published_version(version) {
            ev.checks.push(CheckResult::new(
                "invoke",
                false,
                None,
                format!("{function}:{version:?} is not a published version: nothing invoked"),
            ));
            return;
        }
        let reports =
            invoke::invoke_events(&self.functions, function, version, checks, until).await;
        for r in &reports {
            let mut results = Vec::new();
            invoke::evaluate(checks, function, r, &mut results);
            for c in results {
                if c.check == "invoke" && !c.passed && r.could_not_invoke() {
                    ev.could_not("invoke", c.detail);
                    if let Some(last) = ev.checks.last_mut() {
                        last.path = c.path;
                    }
                } else {
                    ev.checks.push(c);
                }
            }
        }
        if let Some(l) = ev.lambda.as_mut() {
            l.events = reports;
        }
    }

    /// The target version's errors and throttles since the shift.
    async fn read_metrics(
        &self,
        plan: &LambdaPlan,
        checks: &LambdaChecks,
        ev: &mut Evidence,
        until: Instant,
    ) {
        let Some(shifted_at_ms) = plan.shifted_at_ms else {
            ev.could_not(
                "metrics",
                "CodeDeploy gives no start time of AllowTraffic: the errors since the shift \
                 cannot be read",
            );
            return;
        };
        if Instant::now() >= until {
            ev.checks.push(CheckResult::new(
                "deadline",
                false,
                None,
                "no time left to read the metrics",
            ));
            return;
        }
        let now_ms = i64::try_from(codehooks::time::now_millis()).unwrap_or(i64::MAX);
        let read = metrics::read(
            &self.metrics,
            plan.function_name(),
            plan.alias(),
            plan.target_version(),
            shifted_at_ms,
            now_ms,
        );
        match tokio::time::timeout_at(until, read).await {
            Err(_) => ev.could_not("metrics", "GetMetricData did not answer in time"),
            Ok(Err(e)) => ev.could_not("metrics", e.to_string()),
            Ok(Ok(report)) => {
                metrics::evaluate(checks, &report, &mut ev.checks);
                if now_ms - shifted_at_ms < 3 * 60_000 {
                    ev.notes.push(
                        "Lambda's metrics reach CloudWatch about a minute late: invocations of \
                         the last minute may not count yet"
                            .into(),
                    );
                }
                if let Some(l) = ev.lambda.as_mut() {
                    l.metrics = Some(report);
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "run_test.rs"]
mod tests;
