//! The effective checks of one hook run ([`Checks`]): the built-in defaults per hook, and how an
//! override document of the policy changes them.

use serde::Serialize;

use crate::hook::Hook;
use crate::overrides::{CheckOverride, JsonField, VersionAssertion};

/// An inclusive range of accepted status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatusRange {
    pub from: u16,
    pub to: u16,
}

impl StatusRange {
    pub fn parse(text: &str) -> Option<StatusRange> {
        let text = text.trim();
        let (a, b) = match text.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None if text.len() == 3 && text.ends_with("xx") => {
                // Only the classes HTTP defines: 1xx to 5xx.
                let d: u16 = text[..1].parse().ok().filter(|d| (1..=5).contains(d))?;
                return Some(StatusRange {
                    from: d * 100,
                    to: d * 100 + 99,
                });
            }
            None => (text, text),
        };
        let from: u16 = a.parse().ok()?;
        let to: u16 = b.parse().ok()?;
        ((100..=599).contains(&from) && (100..=599).contains(&to) && from <= to)
            .then_some(StatusRange { from, to })
    }

    pub fn contains(&self, status: u16) -> bool {
        (self.from..=self.to).contains(&status)
    }
}

/// The effective checks of one hook run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Checks {
    /// `false`: report `Succeeded` at once (discovery still has to work for other hooks).
    pub enabled: bool,
    pub target_health: bool,
    pub target_health_wait_ms: u64,
    pub target_health_poll_ms: u64,
    pub probes: bool,
    pub paths: Vec<String>,
    pub host_name: Option<String>,
    pub requests: u32,
    pub window_ms: Option<u64>,
    pub interval_ms: u64,
    pub concurrency: u32,
    pub timeout_ms: u64,
    pub accept_status: Vec<StatusRange>,
    pub body_contains: Option<String>,
    pub json_field: Option<JsonField>,
    pub version: Option<VersionAssertion>,
    pub min_success_rate: f64,
    pub max_p95_ms: Option<u64>,
    pub max_p99_ms: Option<u64>,
    pub max_consecutive_failures: u32,
    pub warmup_ms: u64,
    /// The pause Amazon ECS makes before invoking again after `IN_PROGRESS` (a window longer
    /// than one invocation).
    pub call_back_delay_seconds: u32,
    /// The analysis of real traffic (`None`: none).
    pub analysis: Option<crate::analysis::Analysis>,
}

impl Checks {
    /// The built-in checks of `hook`: they work for a typical web service answering 2xx on `/`.
    pub fn defaults(hook: Hook) -> Checks {
        let base = Checks {
            enabled: true,
            target_health: true,
            target_health_wait_ms: 60_000,
            target_health_poll_ms: 2_000,
            probes: true,
            paths: vec!["/".to_owned()],
            host_name: None,
            requests: 30,
            window_ms: None,
            interval_ms: 0,
            concurrency: 4,
            timeout_ms: 3_000,
            accept_status: vec![StatusRange { from: 200, to: 299 }],
            body_contains: None,
            json_field: None,
            version: None,
            min_success_rate: 0.95,
            max_p95_ms: Some(2_000),
            max_p99_ms: None,
            max_consecutive_failures: 5,
            warmup_ms: 10_000,
            call_back_delay_seconds: 15,
            analysis: None,
        };
        let pass_through = Checks {
            target_health: false,
            probes: false,
            ..base.clone()
        };
        let smoke = Checks {
            requests: 10,
            warmup_ms: 2_000,
            target_health_wait_ms: 20_000,
            ..base.clone()
        };
        match hook {
            // Preflight: discovery only.
            Hook::BeforeInstall | Hook::PreScaleUp => pass_through,
            // Green's targets are registered and healthy.
            Hook::AfterInstall | Hook::PostScaleUp => Checks {
                probes: false,
                ..base
            },
            // The full check through the test listener.
            Hook::AfterAllowTestTraffic | Hook::PostTestTrafficShift => base,
            Hook::BeforeAllowTraffic
            | Hook::AfterAllowTraffic
            | Hook::PostProductionTrafficShift => smoke,
            // Traffic is moving (or moving back, in a rollback): answer at once.
            Hook::ReconcileService
            | Hook::TestTrafficShift
            | Hook::PreProductionTrafficShift
            | Hook::ProductionTrafficShift => pass_through,
        }
    }

    pub(crate) fn apply(&mut self, o: &CheckOverride) {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = &o.$f { self.$f = v.clone(); } )* };
        }
        macro_rules! set_opt {
            ($($f:ident),*) => { $( if let Some(v) = &o.$f { self.$f = Some(v.clone()); } )* };
        }
        set!(
            enabled,
            target_health,
            target_health_wait_ms,
            target_health_poll_ms,
            probes,
            paths,
            requests,
            interval_ms,
            concurrency,
            timeout_ms,
            min_success_rate,
            max_consecutive_failures,
            warmup_ms,
            call_back_delay_seconds
        );
        set_opt!(
            host_name,
            window_ms,
            body_contains,
            json_field,
            version,
            max_p95_ms,
            max_p99_ms,
            analysis
        );
        if let Some(list) = &o.accept_status {
            self.accept_status = list.iter().filter_map(|s| StatusRange::parse(s)).collect();
        }
    }

    /// Whether a status code is accepted.
    pub fn accepts(&self, status: u16) -> bool {
        self.accept_status.iter().any(|r| r.contains(status))
    }
}
