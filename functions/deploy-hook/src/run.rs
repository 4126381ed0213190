//! The checks of one hook run, in order: discovery, the preflight, the listener, the green
//! target group's health, then the probes of each path; each adds its results to the evidence
//! and a failure ends the run.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::analysis::elb::ElbTargets;
use crate::analysis::spec::{Analysis, LoadSpec};
use crate::analysis_run::{Analysed, Job, LoadTarget, Mode, Source, all_passed};
use crate::app::App;
use crate::checks::Checks;
use crate::discovery;
use crate::discovery::Discovered;
use crate::endpoint::{endpoint, expand_version};
use crate::evidence::Evidence;
use crate::health;
use crate::payload::HookPayload;
use crate::plan::{DiscoveryError, ListenerInfo, Plan, verify_listener};
use crate::policy::{Hook, ListenerRole};
use crate::ports::Ports;
use crate::probe::{self, CheckResult, Criteria};

impl<P: Ports> App<P> {
    /// Finds what the CodeDeploy deployment is and runs the checks the policy asks for, until
    /// `until`.
    pub(crate) async fn evaluate(&self, payload: &HookPayload, ev: &mut Evidence, until: Instant) {
        let started_ms = now_ms();
        let policy = &self.settings.policy;
        let needs_test = |group: &str| policy.checks(Hook::AfterAllowTestTraffic, group).probes;
        let plan = match discovery::discover(
            &self.deployments,
            &self.load_balancer,
            &payload.deployment_id,
            needs_test,
        )
        .await
        {
            Ok(Discovered::Ecs(p)) => *p,
            Ok(Discovered::Lambda(p)) => {
                self.check_lambda(&p, ev, started_ms, until).await;
                return;
            }
            Err(DiscoveryError::Unsupported(msg)) => {
                ev.checks
                    .push(CheckResult::new("discovery", false, None, msg));
                return;
            }
            Err(DiscoveryError::Aws(e)) => {
                ev.could_not("discovery", e.to_string());
                return;
            }
        };
        let checks = policy.checks(plan.hook, &plan.deployment_group);
        self.check_ecs(&plan, &checks, ev, until).await;
        if let Some(a) = &checks.analysis
            && checks.enabled
            && all_passed(ev)
        {
            self.analyse_ecs(&plan, &checks, a, started_ms, Mode::Wait, ev, until)
                .await;
        }
    }

    /// The analysis of an ECS plan: the load balancer's metrics of green and blue (through
    /// the hook's listener), the gating alarms, and the load through the test listener.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn analyse_ecs(
        &self,
        plan: &Plan,
        checks: &Checks,
        a: &Analysis,
        window_start_ms: i64,
        mode: Mode,
        ev: &mut Evidence,
        until: Instant,
    ) -> Analysed {
        let source = match (&plan.listener, &plan.green) {
            (Some(l), Some(green)) => Some(Source::Elb(ElbTargets {
                load_balancer_arn: l.load_balancer_arn.clone(),
                green_arn: green.arn.clone(),
                blue_arn: plan.blue.as_ref().map(|b| b.arn.clone()),
            })),
            _ => None,
        };
        if a.metrics.is_some() && source.is_none() {
            ev.checks.push(CheckResult::new(
                "analysis",
                false,
                None,
                format!(
                    "{} has no listener and green target group to read the load balancer's \
                     metrics from: set analysis.metrics on hooks with traffic \
                     (AfterAllowTestTraffic, AfterAllowTraffic, POST_TEST_TRAFFIC_SHIFT...)",
                    plan.hook
                ),
            ));
            return Analysed::Done;
        }
        let load = match &a.load {
            None => None,
            Some(spec) => self.load_target(plan, checks, spec, ev).await,
        };
        let job = Job {
            analysis: a,
            source: source.as_ref(),
            load: load.as_ref(),
            window_start_ms,
            mode,
        };
        self.analyse(job, ev, until).await
    }

    /// Where the load goes: the test listener, shaped like the probes (`None`, with a note,
    /// when the hook has no test listener).
    async fn load_target(
        &self,
        plan: &Plan,
        checks: &Checks,
        spec: &LoadSpec,
        ev: &mut Evidence,
    ) -> Option<LoadTarget> {
        let listener = plan
            .listener
            .as_ref()
            .filter(|l| l.role == ListenerRole::Test);
        let Some(listener) = listener else {
            ev.notes.push(format!(
                "analysis.load goes through the test listener only; {} has none: no load sent",
                plan.hook
            ));
            return None;
        };
        let host_name = checks.host_name.as_deref().or(plan.shape.host.as_deref());
        let made = match endpoint(self.settings.base_url.as_deref(), listener, host_name).await {
            Ok(e) => probe::shaped_client(checks, &e, &plan.shape.headers)
                .map(|c| (c, e))
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match made {
            Ok((client, e)) => {
                let path = spec
                    .path
                    .clone()
                    .or_else(|| checks.paths.first().cloned())
                    .unwrap_or_else(|| "/".to_owned());
                Some(LoadTarget {
                    client,
                    url: format!("{}{path}", e.origin),
                    query: plan.shape.query.clone(),
                    rps: spec.rps,
                })
            }
            Err(e) => {
                ev.notes.push(format!("analysis.load: no load sent: {e}"));
                None
            }
        }
    }

    /// The checks of an ECS plan (either contract): the preflight, the listener, the green
    /// target group's health, then the probes of each path.
    pub(crate) async fn check_ecs(
        &self,
        plan: &Plan,
        checks: &Checks,
        ev: &mut Evidence,
        until: Instant,
    ) {
        ev.absorb_plan(plan);
        if !checks.enabled {
            ev.notes.push(format!(
                "checks of {} are disabled by the policy",
                plan.hook
            ));
            return;
        }
        if matches!(plan.hook, Hook::BeforeInstall | Hook::PreScaleUp) {
            ev.checks.push(preflight(plan));
        }
        let probing = checks.probes && plan.hook.listener().is_some() && plan.listener.is_some();
        if probing {
            match verify_listener(plan) {
                Ok(()) => ev.checks.push(CheckResult::new(
                    "listener",
                    true,
                    None,
                    "the listener forwards to the green target group only",
                )),
                Err(refused) => {
                    ev.checks.push(CheckResult::new(
                        "listener",
                        false,
                        None,
                        refused.to_string(),
                    ));
                    return;
                }
            }
        }
        if checks.target_health
            && let Some(green) = &plan.green
        {
            let wait_until =
                (Instant::now() + Duration::from_millis(checks.target_health_wait_ms)).min(until);
            match health::wait_healthy(
                &self.load_balancer,
                &green.name,
                &green.arn,
                plan.desired_count.unwrap_or(1),
                Duration::from_millis(checks.target_health_poll_ms),
                wait_until,
            )
            .await
            {
                Ok(h) => {
                    let passed = h.passed;
                    ev.checks.push(CheckResult::new(
                        "targetHealth",
                        passed,
                        None,
                        h.detail.clone(),
                    ));
                    ev.target_health = Some(h);
                    if !passed {
                        return;
                    }
                }
                Err(e) => {
                    ev.could_not("targetHealth", e.to_string());
                    return;
                }
            }
        }
        if probing && let Some(listener) = &plan.listener {
            self.probe(plan, checks, listener, ev, until).await;
        }
    }

    /// Probes each path in turn; a path that fails ends the probes.
    async fn probe(
        &self,
        plan: &Plan,
        checks: &Checks,
        listener: &ListenerInfo,
        ev: &mut Evidence,
        until: Instant,
    ) {
        let version_token = match &checks.version {
            None => None,
            Some(v) => match expand_version(&v.expected, plan) {
                Ok(t) => Some(t),
                Err(e) => {
                    ev.checks
                        .push(CheckResult::new("version", false, None, e.to_string()));
                    return;
                }
            },
        };
        // The policy's host name, else the one the probed listener rule wants.
        let host_name = checks.host_name.as_deref().or(plan.shape.host.as_deref());
        let endpoint = match endpoint(self.settings.base_url.as_deref(), listener, host_name).await
        {
            Ok(e) => e,
            Err(e) => {
                ev.checks
                    .push(CheckResult::new("endpoint", false, None, e.to_string()));
                return;
            }
        };
        let target = ProbeTarget {
            endpoint: &endpoint,
            headers: &plan.shape.headers,
            query: &plan.shape.query,
        };
        probe_paths(&target, checks, version_token, ev, until).await;
    }
}

/// Where the probes of [`probe_paths`] go.
pub(crate) struct ProbeTarget<'a> {
    pub endpoint: &'a crate::probe::Endpoint,
    /// Headers every request carries.
    pub headers: &'a [(String, String)],
    /// Query parameters every request carries.
    pub query: &'a [(String, String)],
}

/// Probes each of the checks' paths in turn, adding where they went, the reports and the checks
/// to the evidence; a path that fails ends the probes.
pub(crate) async fn probe_paths(
    target: &ProbeTarget<'_>,
    checks: &Checks,
    version_token: Option<String>,
    ev: &mut Evidence,
    until: Instant,
) {
    let endpoint = target.endpoint;
    ev.url = Some(format!(
        "{}{}",
        endpoint.origin,
        checks.paths.first().map(String::as_str).unwrap_or("/")
    ));
    ev.connect_to = Some(endpoint.connect_to.clone());
    let client = match probe::shaped_client(checks, endpoint, target.headers) {
        Ok(c) => c,
        Err(e) => {
            ev.could_not("endpoint", e.to_string());
            return;
        }
    };
    let criteria = Arc::new(Criteria {
        checks: checks.clone(),
        version_token,
    });
    for (i, path) in checks.paths.iter().enumerate() {
        let report = probe::probe_path_with(
            &client,
            endpoint,
            path,
            target.query,
            Arc::clone(&criteria),
            i == 0,
            until,
        )
        .await;
        let before = ev.checks.len();
        probe::evaluate(checks, &report, &mut ev.checks);
        let failed = ev.checks[before..].iter().any(|c| !c.passed);
        ev.probes.push(report);
        if failed {
            break;
        }
    }
}

/// The preflight (BeforeInstall, PRE_SCALE_UP): what discovery found is enough to check this
/// deployment group or service.
fn preflight(plan: &Plan) -> CheckResult {
    let l = plan.listener.as_ref();
    let scope = match &plan.service {
        Some(s) => format!("service {s}"),
        None => format!("deployment group {}", plan.deployment_group),
    };
    CheckResult::new(
        "preflight",
        true,
        None,
        format!(
            "{scope} is supported: target groups {}, {} listener on port {} of {}",
            plan.green
                .iter()
                .chain(plan.blue.iter())
                .map(|g| g.name.as_str())
                .collect::<Vec<_>>()
                .join(" and "),
            l.map(|l| l.role.as_str()).unwrap_or("no"),
            l.map(|l| l.port).unwrap_or_default(),
            l.map(|l| l.load_balancer_dns.as_str())
                .unwrap_or("no load balancer"),
        ),
    )
}

/// Now, in epoch milliseconds.
pub(crate) fn now_ms() -> i64 {
    i64::try_from(codehooks::time::now_millis()).unwrap_or(i64::MAX)
}
