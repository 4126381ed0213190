//! The per-decision log line (`hook decision`) and EMF records: one with dimensions `Hook` and
//! `Decision` (probe latencies, healthy targets), and one counting `Decisions` by `Platform`,
//! `Stage` (the lifecycle event) and `Outcome` (the answer's label) for the dashboard; what is
//! specific to the hook, beside the harness's per-invocation summary.

use codehooks::emf::{Metrics, Unit};

use crate::NAME;
use crate::analysis::Outcome;
use crate::evidence::Evidence;
use crate::facts::Decision;

/// Logs and measures one decision; `outcome` is the answer's label (`InProgress` for an
/// Amazon ECS hook that is invoked again, else [`Evidence::state`]).
pub fn log_and_measure(namespace: &str, ev: &Evidence, outcome: &str) {
    let failed = ev.failed_check_names();
    let first = ev.probes.first();
    let analysis = AnalysisNumbers::of(ev);
    let platform = ev.platform.map(|p| p.as_str()).unwrap_or("unknown");
    tracing::info!(
        platform,
        deployment_id = %ev.deployment_id,
        hook = ev.hook.as_deref().unwrap_or("unknown"),
        deployment_group = ev.deployment_group.as_deref().unwrap_or(""),
        service = ev.service.as_deref().unwrap_or(""),
        decision = ev.decision.as_str(),
        reported = %ev.reported,
        dry_run = ev.dry_run,
        would_fail = ev.would_fail,
        failed_checks = %failed.join(","),
        success_rate = first.map(|p| p.success_rate),
        p95_ms = first.and_then(|p| p.p95_ms),
        analysis = analysis.outcome,
        green_error_rate = analysis.green_error_rate,
        blue_error_rate = analysis.blue_error_rate,
        green_p95_ms = analysis.green_p95_ms,
        blue_p95_ms = analysis.blue_p95_ms,
        green_requests = analysis.green_requests,
        blue_requests = analysis.blue_requests,
        alarms_in_alarm = analysis.alarms_in_alarm,
        url = ev.url.as_deref().unwrap_or(""),
        duration_ms = ev.duration_ms,
        summary = %ev.summary,
        "hook decision"
    );
    let mut m = Metrics::new(namespace, NAME);
    m.dimension("Hook", ev.hook.as_deref().unwrap_or("unknown"))
        .dimension("Decision", ev.decision.as_str())
        .millis("DurationMs", ev.duration_ms as f64)
        .count(
            "Failed",
            if ev.decision == Decision::Failed {
                1.0
            } else {
                0.0
            },
        )
        .count("WouldFail", if ev.would_fail { 1.0 } else { 0.0 })
        .property("deploymentId", ev.deployment_id.as_str())
        .property("platform", platform)
        .property("failedChecks", failed.join(","));
    if let Some(g) = &ev.deployment_group {
        m.property("deploymentGroup", g.as_str());
    }
    if let Some(s) = &ev.service {
        m.property("service", s.as_str());
    }
    if let Some(p) = first {
        m.metric("SuccessRate", Unit::Percent, p.success_rate * 100.0)
            .count(
                "Probes",
                f64::from(ev.probes.iter().map(|p| p.attempted).sum::<u32>()),
            );
        for (name, v) in [
            ("LatencyP50", p.p50_ms),
            ("LatencyP95", p.p95_ms),
            ("LatencyP99", p.p99_ms),
        ] {
            if let Some(v) = v {
                m.millis(name, v);
            }
        }
    }
    if let Some(h) = &ev.target_health {
        m.count("HealthyTargets", h.healthy as f64);
    }
    analysis.measure(&mut m);
    m.emit();
    decision_metrics(namespace, ev, outcome).emit();
}

/// The record that counts one decision by platform, stage and outcome.
pub(crate) fn decision_metrics(namespace: &str, ev: &Evidence, outcome: &str) -> Metrics {
    let platform = ev.platform.map(|p| p.as_str()).unwrap_or("unknown");
    let mut m = Metrics::new(namespace, NAME);
    m.dimension("Platform", platform)
        .dimension("Stage", ev.hook.as_deref().unwrap_or("unknown"))
        .dimension("Outcome", outcome)
        .count("Decisions", 1.0)
        .property("deploymentId", ev.deployment_id.as_str());
    m
}

/// The analysis' headline numbers, for the log line and the EMF record.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct AnalysisNumbers {
    pub outcome: Option<&'static str>,
    pub green_error_rate: Option<f64>,
    pub blue_error_rate: Option<f64>,
    pub green_p95_ms: Option<f64>,
    pub blue_p95_ms: Option<f64>,
    pub green_requests: Option<u64>,
    pub blue_requests: Option<u64>,
    pub alarms_in_alarm: Option<u64>,
    pub load_sent: Option<u64>,
}

impl AnalysisNumbers {
    pub(crate) fn of(ev: &Evidence) -> AnalysisNumbers {
        let Some(a) = &ev.analysis else {
            return AnalysisNumbers::default();
        };
        let mut n = AnalysisNumbers {
            outcome: a.outcome.map(|o| match o {
                Outcome::Pass => "pass",
                Outcome::Fail => "fail",
                Outcome::Inconclusive => "inconclusive",
            }),
            load_sent: a.load.as_ref().map(|l| l.sent),
            ..AnalysisNumbers::default()
        };
        if !a.alarms.is_empty() {
            n.alarms_in_alarm = Some(a.alarms.iter().filter(|c| c.state == "ALARM").count() as u64);
        }
        for c in &a.metrics {
            match c.check.as_str() {
                "errorRate" => {
                    n.green_error_rate = c.green;
                    n.blue_error_rate = c.blue;
                    n.green_requests = Some(c.green_samples);
                    n.blue_requests = Some(c.blue_samples);
                }
                "p95Latency" => {
                    n.green_p95_ms = c.green;
                    n.blue_p95_ms = c.blue;
                }
                _ => {}
            }
        }
        n
    }

    /// Adds the numbers present to `m` (rates in percent).
    fn measure(&self, m: &mut Metrics) {
        let Some(outcome) = self.outcome else {
            return;
        };
        m.count(
            "AnalysisInconclusive",
            if outcome == "inconclusive" { 1.0 } else { 0.0 },
        )
        .property("analysis", outcome);
        for (name, v) in [
            ("GreenErrorRate", self.green_error_rate),
            ("BlueErrorRate", self.blue_error_rate),
        ] {
            if let Some(v) = v {
                m.metric(name, Unit::Percent, v * 100.0);
            }
        }
        for (name, v) in [
            ("GreenP95Ms", self.green_p95_ms),
            ("BlueP95Ms", self.blue_p95_ms),
        ] {
            if let Some(v) = v {
                m.millis(name, v);
            }
        }
        for (name, v) in [
            ("GreenRequests", self.green_requests),
            ("BlueRequests", self.blue_requests),
            ("AlarmsInAlarm", self.alarms_in_alarm),
            ("LoadRequests", self.load_sent),
        ] {
            if let Some(v) = v {
                m.count(name, v as f64);
            }
        }
    }
}

#[cfg(test)]
#[path = "measure_test.rs"]
mod tests;
