//! The analysis in a hook run ([`App::analyse`]): read the gating alarms and the metrics of
//! green and blue over the window, judge, and when the traffic was too thin to say, wait:
//!
//! - [`Mode::Wait`] (CodeDeploy): read again every `pollMs` (running the load meanwhile, when
//!   the policy asks for it) within the invocation's budget and `maxWaitMs`; still
//!   inconclusive at the end → `onInconclusive`.
//! - [`Mode::Once`] (Amazon ECS): one read per invocation (after `pollMs` of load, when asked);
//!   inconclusive while `maxWaitMs` has not passed → [`Analysed::Pending`]: the caller answers
//!   `IN_PROGRESS` and Amazon ECS invokes the hook again.
//!
//! Every check of the analysis lands in the evidence twice: with its numbers in
//! `evidence.analysis`, and as a [`CheckResult`] the verdict, the log line and the alert read.

use std::time::Duration;

use tokio::time::Instant;

use crate::analysis::AnalysisEvidence;
use crate::analysis::alarms::{self, AlarmCheck};
use crate::analysis::elb::{self, ElbTargets};
use crate::analysis::judge::{self, MetricCheck, Outcome};
use crate::analysis::load::{self, LoadReport};
use crate::analysis::spec::{Analysis, OnInconclusive};
use crate::app::App;
use crate::evidence::Evidence;
use crate::ports::{Metrics, Ports};
use crate::stats::CheckResult;

/// Whose metrics the analysis reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// An ECS service behind a load balancer: green's and blue's target groups.
    Elb(ElbTargets),
    /// A Lambda alias shifting between two versions.
    Lambda {
        function: String,
        alias: String,
        new_version: String,
        old_version: String,
    },
}

/// Where the optional load goes: a client shaped like the probes, the URL and its query.
#[derive(Debug, Clone)]
pub struct LoadTarget {
    pub client: reqwest::Client,
    pub url: String,
    pub query: Vec<(String, String)>,
    pub rps: u32,
}

/// How long the analysis may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Wait within this invocation (CodeDeploy).
    Wait,
    /// One read; `waited_ms` of the wait already spent in earlier invocations (Amazon ECS).
    Once { waited_ms: u64 },
}

/// How the analysis ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Analysed {
    /// The checks are in the evidence.
    Done,
    /// Too little traffic so far, and the wait may go on in another invocation.
    Pending,
}

/// One analysis to run: the policy's `analysis`, whose metrics (`None`: alarms only), the
/// optional load, where the window starts (epoch milliseconds; `lookbackMs` moves it earlier)
/// and how long it may take.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    pub analysis: &'a Analysis,
    pub source: Option<&'a Source>,
    pub load: Option<&'a LoadTarget>,
    pub window_start_ms: i64,
    pub mode: Mode,
}

/// One read: the alarms' verdict and the metrics' checks.
struct Reading {
    alarms: Option<(Vec<AlarmCheck>, CheckResult)>,
    metrics: Vec<MetricCheck>,
}

impl Reading {
    fn outcome(&self) -> Outcome {
        if self.alarms.as_ref().is_some_and(|(_, c)| !c.passed) {
            return Outcome::Fail;
        }
        judge::overall(&self.metrics)
    }
}

impl<P: Ports> App<P> {
    /// Runs `job` until a verdict, `until`, or the end of its wait.
    pub(crate) async fn analyse(
        &self,
        job: Job<'_>,
        ev: &mut Evidence,
        until: Instant,
    ) -> Analysed {
        let Job {
            analysis: a,
            source,
            load,
            window_start_ms,
            mode,
        } = job;
        let started = Instant::now();
        let from = window_start_ms - i64::try_from(a.lookback_ms()).unwrap_or(0);
        let poll = Duration::from_millis(a.poll_ms());
        let waited = match mode {
            Mode::Wait => 0,
            Mode::Once { waited_ms } => waited_ms,
        };
        let wait_left = Duration::from_millis(a.max_wait_ms().saturating_sub(waited));
        let wait_until = (started + wait_left).min(until);
        let mut record = ev.analysis.take().unwrap_or_default();
        // The load runs for one slice before the first read, so that read already sees it.
        if let Some(target) = load {
            let slice_until = (Instant::now() + poll).min(until);
            add_load(&mut record, self.load_slice(target, slice_until).await);
        }
        loop {
            let reading = match self.read(a, source, from, &mut record).await {
                Ok(r) => r,
                Err(e) => {
                    ev.analysis = Some(record);
                    ev.could_not("analysis", e.to_string());
                    return Analysed::Done;
                }
            };
            let outcome = reading.outcome();
            record.outcome = Some(outcome);
            if outcome != Outcome::Inconclusive {
                conclude(a, reading, &mut record, ev, None);
                return Analysed::Done;
            }
            let now = Instant::now();
            let more = now + poll < wait_until;
            match mode {
                Mode::Once { .. } if now < started + wait_left => {
                    record.metrics = reading.metrics;
                    record.alarms = reading.alarms.map(|(a, _)| a).unwrap_or_default();
                    ev.analysis = Some(record);
                    return Analysed::Pending;
                }
                Mode::Wait if more => {
                    record.metrics = reading.metrics;
                    let slice_until = (now + poll).min(wait_until);
                    match load {
                        Some(target) => {
                            add_load(&mut record, self.load_slice(target, slice_until).await);
                        }
                        None => tokio::time::sleep_until(slice_until).await,
                    }
                }
                _ => {
                    let waited_s = (waited + started.elapsed().as_millis() as u64) / 1_000;
                    conclude(a, reading, &mut record, ev, Some(waited_s));
                    return Analysed::Done;
                }
            }
        }
    }

    /// One read of the alarms and the metrics, recorded.
    async fn read(
        &self,
        a: &Analysis,
        source: Option<&Source>,
        from_ms: i64,
        record: &mut AnalysisEvidence,
    ) -> codehooks::Result<Reading> {
        let now_ms = i64::try_from(codehooks::time::now_millis()).unwrap_or(i64::MAX);
        record.polls += 1;
        let alarms = match &a.alarms {
            None => None,
            Some(gate) => {
                let found = self.metrics.alarms(&alarms::selector(gate)).await?;
                Some(alarms::judge_alarms(gate, &found))
            }
        };
        let mut metrics = Vec::new();
        if let (Some(limits), Some(source)) = (&a.metrics, source) {
            let (from, to, _) = elb::window(from_ms, now_ms);
            record.from_ms = from;
            record.to_ms = to;
            match source {
                Source::Elb(targets) => {
                    let r = elb::read(&self.metrics, targets, from, to).await?;
                    metrics = judge::judge(limits, &r.green, &r.blue);
                    metrics.extend(judge::elb_error_rate(
                        limits.max_error_rate,
                        r.lb_requests,
                        r.elb_5xx,
                        limits.min_requests(),
                    ));
                }
                Source::Lambda {
                    function,
                    alias,
                    new_version,
                    old_version,
                } => {
                    let (new, old) = crate::lambda::compare::read(
                        &self.metrics,
                        function,
                        alias,
                        new_version,
                        old_version,
                        from,
                        to,
                    )
                    .await?;
                    metrics = judge::judge(limits, &new, &old);
                }
            }
        }
        Ok(Reading { alarms, metrics })
    }

    /// The load for one slice of the wait.
    async fn load_slice(&self, target: &LoadTarget, until: Instant) -> LoadReport {
        load::run(
            &target.client,
            &target.url,
            &target.query,
            target.rps,
            until,
        )
        .await
    }
}

/// Adds one slice's load to the record.
fn add_load(record: &mut AnalysisEvidence, slice: LoadReport) {
    let total = record.load.get_or_insert_with(|| LoadReport {
        rps: slice.rps,
        ..LoadReport::default()
    });
    total.sent += slice.sent;
    total.answered += slice.answered;
    total.errors += slice.errors;
    total.ms += slice.ms;
}

/// Puts the final reading in the evidence: its numbers, and one check per alarm gate and
/// metric. `waited_s` is set when the wait ended still inconclusive: `onInconclusive` decides.
fn conclude(
    a: &Analysis,
    reading: Reading,
    record: &mut AnalysisEvidence,
    ev: &mut Evidence,
    waited_s: Option<u64>,
) {
    if let Some((list, check)) = reading.alarms {
        record.alarms = list;
        ev.checks.push(check);
    }
    let pass_thin = a.on_inconclusive() == OnInconclusive::Pass;
    for m in &reading.metrics {
        let (passed, detail) = match m.outcome {
            Outcome::Pass => (true, m.detail.clone()),
            Outcome::Fail => (false, m.detail.clone()),
            Outcome::Inconclusive => {
                let after = waited_s.map_or_else(String::new, |s| format!(" after {s} s"));
                let verdict = if pass_thin { "passes" } else { "fails" };
                (
                    pass_thin,
                    format!(
                        "inconclusive{after}: {}; the policy {verdict} an inconclusive analysis \
                         (onInconclusive)",
                        m.detail
                    ),
                )
            }
        };
        ev.checks.push(CheckResult::new(
            &check_name(&m.check),
            passed,
            None,
            detail,
        ));
    }
    record.metrics = reading.metrics;
    ev.analysis = Some(record.clone());
}

/// The name of a metric's check among the hook's checks: `errorRate` → `analysisErrorRate`
/// (the probes have their own `p95Latency`).
pub fn check_name(metric: &str) -> String {
    let mut chars = metric.chars();
    match chars.next() {
        Some(first) => format!("analysis{}{}", first.to_ascii_uppercase(), chars.as_str()),
        None => "analysis".to_owned(),
    }
}

/// Whether anything failed so far (the analysis runs only after the other checks pass).
pub fn all_passed(ev: &Evidence) -> bool {
    ev.checks.iter().all(|c| c.passed) && ev.error.is_none()
}

#[cfg(test)]
#[path = "analysis_run_test.rs"]
mod tests;
