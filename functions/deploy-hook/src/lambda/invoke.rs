//! The smoke test of a Lambda deployment: each test event is sent to the target version
//! (qualifier = the published version, never `$LATEST`, never the alias) `invocations` times,
//! at most `concurrency` at once, each bounded by `timeoutMs` and by the time left; then the
//! pass criteria per event ([`evaluate`]): no `FunctionError`, status 200, the executed version
//! is the target, every expected JSON field equals, p95/p99 within their limits.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::facts::InvokeResult;
use crate::lambda::policy::{LambdaChecks, TestEvent};
use crate::ports::Functions;
use crate::stats::{CheckResult, percentile, round1};

/// Failure samples kept per event.
const MAX_SAMPLES: usize = 3;
/// Longest failure sample, in characters.
const SAMPLE_CHARS: usize = 300;

/// What the invocations of one test event found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventReport {
    pub event: String,
    /// The version invoked.
    pub qualifier: String,
    pub planned: u32,
    /// Invocations that ended (answered, failed or timed out).
    pub attempted: u32,
    pub succeeded: u32,
    pub failed: u32,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// Failure kind (`FunctionError Unhandled`, `expect /ok`, `timeout`, `AWS <code>`...) →
    /// count.
    pub failures: BTreeMap<String, u32>,
    /// A few failures with what came back, cut short.
    pub samples: Vec<String>,
    pub stopped_early: Option<String>,
    /// Failures that were AWS errors of `Invoke` itself (the hook could not invoke).
    #[serde(skip)]
    pub aws_errors: u32,
}

impl EventReport {
    /// Whether every failure was an AWS error of the call (not a verdict on the function).
    pub fn could_not_invoke(&self) -> bool {
        self.failed > 0 && self.failed == self.aws_errors
    }
}

/// The outcome of one invocation.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Passed(f64),
    /// The function answered, wrongly: kind, sample, round trip.
    Failed(String, String, f64),
    /// No answer: kind, sample; `aws`: an AWS error of the call.
    NoAnswer {
        kind: String,
        sample: String,
        aws: bool,
    },
    /// Not sent: the time ran out.
    Stopped,
}

/// Why an answer fails the event's criteria (`kind`, `sample`), or `None` when it passes.
pub fn judge(r: &InvokeResult, version: &str, event: &TestEvent) -> Option<(String, String)> {
    let body = || {
        codehooks::text::cut(
            &codehooks::text::one_line(&String::from_utf8_lossy(&r.payload)),
            SAMPLE_CHARS,
        )
    };
    if let Some(kind) = &r.function_error {
        // Lambda's error answer: {"errorType", "errorMessage", "trace"...}; the first two say it.
        let error = serde_json::from_slice::<Value>(&r.payload)
            .ok()
            .and_then(|v| {
                let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
                match (field("errorType"), field("errorMessage")) {
                    (None, None) => None,
                    (t, m) => Some(codehooks::text::cut(
                        &codehooks::text::one_line(&format!(
                            "{}: {}",
                            t.as_deref().unwrap_or("Error"),
                            m.as_deref().unwrap_or_default()
                        )),
                        SAMPLE_CHARS,
                    )),
                }
            });
        return Some((format!("FunctionError {kind}"), error.unwrap_or_else(body)));
    }
    if r.status != 200 {
        return Some((format!("status {}", r.status), body()));
    }
    if let Some(v) = r.executed_version.as_deref().filter(|v| *v != version) {
        return Some((
            format!("executed version {v}"),
            format!("version {v} answered, not {version}"),
        ));
    }
    if event.expect.is_empty() {
        return None;
    }
    let Ok(answer) = serde_json::from_slice::<Value>(&r.payload) else {
        return Some(("payload is not JSON".to_owned(), body()));
    };
    event.expect.iter().find_map(|x| {
        let got = answer.pointer(&x.pointer);
        (got != Some(&x.equals)).then(|| {
            let got = got.map_or_else(|| "nothing".to_owned(), Value::to_string);
            (
                format!("expect {}", x.pointer),
                codehooks::text::cut(
                    &format!("{} is {got}, expected {}", x.pointer, x.equals),
                    SAMPLE_CHARS,
                ),
            )
        })
    })
}

/// Invokes the target version with each event in turn, until `until`.
pub async fn invoke_events<F: Functions>(
    functions: &F,
    function: &str,
    version: &str,
    checks: &LambdaChecks,
    until: Instant,
) -> Vec<EventReport> {
    let mut out = Vec::with_capacity(checks.events.len());
    for event in &checks.events {
        out.push(invoke_event(functions, function, version, event, checks, until).await);
    }
    out
}

/// Invokes the target version with one event `invocations` times, `concurrency` at once.
pub async fn invoke_event<F: Functions>(
    functions: &F,
    function: &str,
    version: &str,
    event: &TestEvent,
    checks: &LambdaChecks,
    until: Instant,
) -> EventReport {
    let payload = serde_json::to_vec(&event.payload).unwrap_or_else(|_| b"{}".to_vec());
    let planned = checks.invocations;
    let next = AtomicU32::new(0);
    let outcomes = Mutex::new(Vec::with_capacity(planned as usize));
    let timeout = Duration::from_millis(checks.timeout_ms);
    let worker = || async {
        while next.fetch_add(1, Ordering::Relaxed) < planned {
            let left = until.saturating_duration_since(Instant::now());
            let outcome = if left.is_zero() {
                Outcome::Stopped
            } else {
                let limit = timeout.min(left);
                let start = Instant::now();
                match tokio::time::timeout(limit, functions.invoke(function, version, &payload))
                    .await
                {
                    Err(_) if limit < timeout => Outcome::Stopped,
                    Err(_) => Outcome::NoAnswer {
                        kind: "timeout".to_owned(),
                        sample: format!("no answer within {} ms", checks.timeout_ms),
                        aws: false,
                    },
                    Ok(Err(e)) => Outcome::NoAnswer {
                        kind: format!("AWS {}", e.aws_code().unwrap_or("error")),
                        sample: codehooks::text::cut(&e.to_string(), SAMPLE_CHARS),
                        aws: true,
                    },
                    Ok(Ok(r)) => {
                        let ms = if r.duration_ms > 0.0 {
                            r.duration_ms
                        } else {
                            start.elapsed().as_secs_f64() * 1_000.0
                        };
                        match judge(&r, version, event) {
                            None => Outcome::Passed(ms),
                            Some((kind, sample)) => Outcome::Failed(kind, sample, ms),
                        }
                    }
                }
            };
            let stop = outcome == Outcome::Stopped;
            outcomes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(outcome);
            if stop {
                break;
            }
        }
    };
    let workers = checks.concurrency.clamp(1, planned.max(1));
    codehooks::join::join_all((0..workers).map(|_| worker())).await;
    let outcomes = outcomes.into_inner().unwrap_or_else(|p| p.into_inner());
    tally(&event.name, version, planned, outcomes)
}

/// The report of one event from its invocations' outcomes.
fn tally(event: &str, version: &str, planned: u32, outcomes: Vec<Outcome>) -> EventReport {
    let mut r = EventReport {
        event: event.to_owned(),
        qualifier: version.to_owned(),
        planned,
        ..EventReport::default()
    };
    let mut latencies = Vec::new();
    let fail = |r: &mut EventReport, kind: String, sample: String| {
        r.failed += 1;
        *r.failures.entry(kind.clone()).or_default() += 1;
        if r.samples.len() < MAX_SAMPLES {
            r.samples.push(format!("{kind}: {sample}"));
        }
    };
    for o in outcomes {
        match o {
            Outcome::Passed(ms) => {
                r.attempted += 1;
                r.succeeded += 1;
                latencies.push(ms);
            }
            Outcome::Failed(kind, sample, ms) => {
                r.attempted += 1;
                latencies.push(ms);
                fail(&mut r, kind, sample);
            }
            Outcome::NoAnswer { kind, sample, aws } => {
                r.attempted += 1;
                r.aws_errors += u32::from(aws);
                fail(&mut r, kind, sample);
            }
            Outcome::Stopped => {}
        }
    }
    if r.attempted < planned {
        r.stopped_early = Some(format!(
            "the time budget ran out after {} of {planned} invocations",
            r.attempted
        ));
    }
    latencies.sort_by(f64::total_cmp);
    let at = |p| percentile(&latencies, p).map(round1);
    r.p50_ms = at(0.5);
    r.p95_ms = at(0.95);
    r.p99_ms = at(0.99);
    r.max_ms = latencies.last().copied().map(round1);
    r
}

/// The pass criteria applied to one event's report (`invoke`, `p95Latency`, `p99Latency`,
/// `deadline`; path = the event's name).
pub fn evaluate(c: &LambdaChecks, function: &str, r: &EventReport, out: &mut Vec<CheckResult>) {
    let p = Some(r.event.as_str());
    let target = format!("{function}:{}", r.qualifier);
    let detail = if r.attempted == 0 {
        format!("no invocation of {target} ended")
    } else if r.failed == 0 {
        format!(
            "{} of {} invocations of {target} passed",
            r.succeeded, r.attempted
        )
    } else {
        let kinds: Vec<String> = r
            .failures
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        format!(
            "{} of {} invocations of {target} failed ({}); {}",
            r.failed,
            r.attempted,
            kinds.join(", "),
            r.samples.first().map(String::as_str).unwrap_or_default()
        )
    };
    out.push(CheckResult::new(
        "invoke",
        r.attempted > 0 && r.failed == 0,
        p,
        detail,
    ));
    for (name, limit, got) in [
        ("p95Latency", c.max_p95_ms, r.p95_ms),
        ("p99Latency", c.max_p99_ms, r.p99_ms),
    ] {
        if let (Some(limit), Some(got)) = (limit, got) {
            out.push(CheckResult::new(
                name,
                got <= limit as f64,
                p,
                format!("{got:.1} ms (limit {limit} ms)"),
            ));
        }
    }
    if let Some(reason) = &r.stopped_early {
        out.push(CheckResult::new("deadline", false, p, reason.clone()));
    }
}

#[cfg(test)]
#[path = "invoke_test.rs"]
mod tests;
