//! The per-decision log line (`hook decision`) and EMF record (dimensions `Hook` and
//! `Decision`, probe latencies, healthy targets): what is specific to the hook, beside the
//! harness's per-invocation summary.

use codehooks::emf::{Metrics, Unit};

use crate::NAME;
use crate::evidence::Evidence;
use crate::facts::Decision;

/// Logs and measures one decision.
pub fn log_and_measure(namespace: &str, ev: &Evidence) {
    let failed = ev.failed_check_names();
    let first = ev.probes.first();
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
    m.emit();
}
