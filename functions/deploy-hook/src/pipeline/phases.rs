//! The phases of a verification, each within this invocation's time: the service's rolling
//! deployment ([`App::wait_service`]), the probes of the URL, the alarm watch. Each adds its
//! checks to the evidence and says whether it is done, failed, or goes on in the next invocation.

use std::time::Duration;

use tokio::time::Instant;

use crate::analysis::AnalysisEvidence;
use crate::analysis::alarms::{judge_alarms, selector};
use crate::analysis::spec::AlarmGate;
use crate::app::App;
use crate::endpoint::fill_version;
use crate::evidence::Evidence;
use crate::pipeline::params::{Params, ServiceTarget, UrlTarget};
use crate::pipeline::rollout::{self, Rollout};
use crate::ports::{Metrics, Ports, Services};
use crate::probe::{CheckResult, Endpoint};
use crate::run::{ProbeTarget, probe_paths};

/// How a phase ends.
pub(crate) enum Phase<T> {
    Done(T),
    /// A check failed (it is in the evidence).
    Failed,
    /// Not yet, at the end of this invocation's time: what it waits for.
    Pending(String),
}

impl<P: Ports> App<P> {
    /// Polls the service every `poll_s` seconds until its deployment is done, fails, or `bound`.
    pub(crate) async fn wait_service(
        &self,
        s: &ServiceTarget,
        poll_s: u64,
        ev: &mut Evidence,
        bound: Instant,
    ) -> Phase<String> {
        let poll = Duration::from_secs(poll_s);
        let mut polls = 0u32;
        loop {
            polls += 1;
            let waiting = match self.services.service(&s.cluster, &s.name).await {
                Ok(None) => {
                    ev.checks.push(CheckResult::new(
                        "service",
                        false,
                        None,
                        format!(
                            "Amazon ECS has no service {} in cluster {} (check service.name and service.cluster)",
                            s.name, s.cluster
                        ),
                    ));
                    return Phase::Failed;
                }
                Ok(Some(facts)) => {
                    match rollout::judge(&facts, s.task_definition.as_deref(), s.running_count) {
                        Rollout::Ready {
                            task_definition,
                            detail,
                        } => {
                            set_rollout(ev, &detail);
                            ev.checks
                                .push(CheckResult::new("service", true, None, detail));
                            ev.task_definition = Some(task_definition.clone());
                            return Phase::Done(task_definition);
                        }
                        Rollout::Failed(why) => {
                            set_rollout(ev, &why);
                            ev.checks
                                .push(CheckResult::new("service", false, None, why));
                            return Phase::Failed;
                        }
                        Rollout::Waiting(what) => {
                            set_rollout(ev, &what);
                            what
                        }
                    }
                }
                Err(e) if e.is_retryable() => {
                    tracing::warn!(error = %e, "reading the service failed; polling again");
                    format!("the service could not be read: {e}")
                }
                Err(e) => {
                    ev.could_not("service", e.to_string());
                    return Phase::Failed;
                }
            };
            if Instant::now() + poll >= bound {
                tracing::info!(polls, waiting = %waiting, "the service's deployment is not done in this invocation");
                return Phase::Pending(waiting);
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// The probes of `url` (with the checks' version token filled in).
    pub(crate) async fn probe_url(
        &self,
        u: &UrlTarget,
        p: &Params,
        execution_id: &str,
        task_definition: Option<&str>,
        ev: &mut Evidence,
        until: Instant,
    ) {
        let checks = &p.checks;
        let version_token = match &checks.version {
            None => None,
            Some(v) => match fill_version(&v.expected, execution_id, task_definition) {
                Some(t) => Some(t),
                None => {
                    ev.checks.push(CheckResult::new(
                        "version",
                        false,
                        None,
                        format!(
                            "the version assertion {:?} names the task definition, and no service deployment gave one",
                            v.expected
                        ),
                    ));
                    return;
                }
            },
        };
        let connect_to = u
            .origin
            .split_once("://")
            .map_or(u.origin.as_str(), |(_, rest)| rest)
            .to_owned();
        let endpoint = Endpoint {
            origin: u.origin.clone(),
            resolve: None,
            connect_to,
        };
        let target = ProbeTarget {
            endpoint: &endpoint,
            headers: &[],
            query: &[],
        };
        probe_paths(&target, checks, version_token, ev, until).await;
    }

    /// Reads the gate's alarms every `poll_s` seconds until `watch_end_ms` (epoch ms), an alarm
    /// fails the gate, or `bound`.
    pub(crate) async fn watch_alarms(
        &self,
        gate: &AlarmGate,
        watch_end_ms: u64,
        poll_s: u64,
        ev: &mut Evidence,
        bound: Instant,
    ) -> Phase<()> {
        let poll = Duration::from_secs(poll_s);
        loop {
            match self.metrics.alarms(&selector(gate)).await {
                Ok(found) => {
                    let (alarms, check) = judge_alarms(gate, &found);
                    let record = ev.analysis.get_or_insert_with(AnalysisEvidence::default);
                    record.polls += 1;
                    record.alarms = alarms;
                    let now = codehooks::time::now_millis();
                    if !check.passed || now >= watch_end_ms {
                        let failed = !check.passed;
                        ev.checks.push(check);
                        return if failed {
                            Phase::Failed
                        } else {
                            Phase::Done(())
                        };
                    }
                }
                Err(e) if e.is_retryable() => {
                    tracing::warn!(error = %e, "reading the alarms failed; reading again");
                }
                Err(e) => {
                    ev.could_not("alarms", e.to_string());
                    return Phase::Failed;
                }
            }
            let now = codehooks::time::now_millis();
            let left = Duration::from_millis(watch_end_ms.saturating_sub(now));
            let pause = poll.min(left);
            if Instant::now() + pause >= bound {
                return Phase::Pending(format!(
                    "watching the alarms: {} s of the watch left",
                    left.as_secs()
                ));
            }
            tokio::time::sleep(pause).await;
        }
    }
}

fn set_rollout(ev: &mut Evidence, what: &str) {
    if let Some(j) = ev.pipeline.as_mut() {
        j.rollout = Some(what.to_owned());
    }
}
