//! The checks of one hook run, in order: discovery, the preflight, the listener, the green
//! target group's health, then the probes of each path; each adds its results to the evidence
//! and a failure ends the run.

use std::sync::Arc;
use std::time::Duration;

use codehooks::alert::AlertPublisher;
use codehooks::once::OnceOnlyStore;
use tokio::time::Instant;

use crate::app::App;
use crate::checks::Checks;
use crate::discovery;
use crate::endpoint::{endpoint, expand_version};
use crate::evidence::Evidence;
use crate::health;
use crate::payload::HookPayload;
use crate::plan::{DiscoveryError, ListenerInfo, Plan, verify_listener};
use crate::policy::Hook;
use crate::ports::{Deployments, LoadBalancer};
use crate::probe::{self, CheckResult, Criteria};

impl<D: Deployments, L: LoadBalancer, A: AlertPublisher, S: OnceOnlyStore> App<D, L, A, S> {
    /// Runs the checks the policy asks for, until `until`.
    pub(crate) async fn evaluate(&self, payload: &HookPayload, ev: &mut Evidence, until: Instant) {
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
            Ok(p) => p,
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
        ev.absorb_plan(&plan);
        if !checks.enabled {
            ev.notes.push(format!(
                "checks of {} are disabled by the policy",
                plan.hook
            ));
            return;
        }
        if plan.hook == Hook::BeforeInstall {
            ev.checks.push(preflight(&plan));
        }
        let probing = checks.probes && plan.hook.listener().is_some() && plan.listener.is_some();
        if probing {
            match verify_listener(&plan) {
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
            self.probe(&plan, &checks, listener, ev, until).await;
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
        let endpoint = match endpoint(
            self.settings.base_url.as_deref(),
            listener,
            checks.host_name.as_deref(),
        )
        .await
        {
            Ok(e) => e,
            Err(e) => {
                ev.checks
                    .push(CheckResult::new("endpoint", false, None, e.to_string()));
                return;
            }
        };
        ev.url = Some(format!(
            "{}{}",
            endpoint.origin,
            checks.paths.first().map(String::as_str).unwrap_or("/")
        ));
        ev.connect_to = Some(endpoint.connect_to.clone());
        let client = match probe::client(checks, &endpoint) {
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
            let report = probe::probe_path(
                &client,
                &endpoint,
                path,
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
}

/// The BeforeInstall preflight: what discovery found is enough to check this deployment group.
fn preflight(plan: &Plan) -> CheckResult {
    let l = plan.listener.as_ref();
    CheckResult::new(
        "preflight",
        true,
        None,
        format!(
            "deployment group {} is supported: target groups {}, {} listener on port {} of {}",
            plan.deployment_group,
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
