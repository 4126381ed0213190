//! The rollback alert, once per hook execution: which invocation owes it ([`owed`], a plain
//! decision) and publishing it through the once-only store (claim, publish, complete; a
//! refused publish releases the claim and fails the invocation, so Lambda's retry publishes
//! it, or the dead-letter queue keeps it).
//!
//! The rule (docs/deploy-hook.md, "The rollback alert"):
//! - The status could not be reported: no alert; the invocation fails and its retry reports.
//! - This invocation set the status: it alerts when its evidence is alert-worthy.
//! - The status was already set (`AlreadyCompleted`: an earlier attempt's answer was lost, or a
//!   repeated invocation): the same checks ran again. When they fail (or would fail), the
//!   alert is owed. When they now pass, what was set cannot be known from CodeDeploy: the
//!   alert is owed only when the table records that a `Failed` status was being set for this
//!   hook execution (written before the status is reported, overwritten after a `Succeeded`
//!   this function set).
//! - With the table (`CODEHOOKS_ALERTS_TABLE`), the alert of a hook execution is claimed, so
//!   however many invocations owe it, one publishes it (exactly once but for SNS's own
//!   boundary, see [`crate::alert`]'s `alertId`). Without it, each invocation that owes it
//!   publishes it (at least once).

use std::time::{Duration, SystemTime};

use codehooks::alert::{Alert, AlertPublisher};
use codehooks::once::{Claim, OnceOnlyStore, State};
use codehooks::text::cut;
use codehooks::{Error, Result};
use tokio::time::Instant;

use crate::app::App;
use crate::evidence::Evidence;
use crate::facts::{Decision, Reported};
use crate::payload::HookPayload;
use crate::ports::Ports;

/// The recorded state of a hook execution whose `Failed` status is being set: its alert is
/// owed (the once-only record of the alert says whether it was published).
pub const FAILED_PENDING: &str = "FAILED";
/// The recorded state after this function set `Succeeded`.
pub const SUCCEEDED: &str = "SUCCEEDED";

/// The longest a claimed publish may take; the claim's lease ends [`LEASE_MARGIN`] after it,
/// so an invocation that died while publishing leaves a claim the retry can take.
pub const PUBLISH_BUDGET: Duration = Duration::from_secs(4);
/// Added to the claim's lease (the store counts whole seconds).
pub const LEASE_MARGIN: Duration = Duration::from_secs(1);
/// How long the records of a hook execution are kept: longer than CodeDeploy waits for a
/// status (one hour) and than Lambda retries an asynchronous invocation (six hours).
pub const KEEP: Duration = Duration::from_secs(48 * 3600);
/// The longest a state record may delay the status report.
const RECORD_BUDGET: Duration = Duration::from_secs(1);
/// Pause between two claims of an alert another invocation holds.
const BUSY_RETRY: Duration = Duration::from_millis(250);
/// The least time left worth a claim: less, and the invocation fails for a later retry.
const MIN_PUBLISH: Duration = Duration::from_millis(750);
/// Longest reason kept in a state record.
const DETAIL_MAX: usize = 1_000;

/// The once-only key of a hook execution's alert (and of its recorded state).
pub fn key(payload: &HookPayload) -> String {
    format!(
        "deploy-hook/{}/{}",
        payload.deployment_id, payload.hook_execution_id
    )
}

/// Why an invocation owes the rollback alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owed {
    /// Its own evidence is the alert.
    Own,
    /// An earlier invocation was setting `Failed` (the recorded reason); this one's checks pass.
    Recorded(String),
}

/// Whether this invocation owes the alert (the rule of the module's documentation).
/// `recorded` is the hook execution's recorded state, read only when it matters.
pub fn owed(ev: &Evidence, reported: &Result<Reported>, recorded: Option<&State>) -> Option<Owed> {
    match reported {
        Err(_) => None,
        Ok(_) if ev.alert_worthy() => Some(Owed::Own),
        Ok(Reported::Reported) => None,
        Ok(Reported::AlreadyCompleted) => recorded
            .filter(|s| s.state == FAILED_PENDING)
            .map(|s| Owed::Recorded(s.detail.clone().unwrap_or_default())),
    }
}

/// The evidence an alert owed by [`Owed::Recorded`] shows: this run's facts, the earlier
/// decision and its reason.
pub fn failed_earlier(ev: &Evidence, reason: &str) -> Evidence {
    let mut failed = ev.clone();
    failed.decision = Decision::Failed;
    let reason = if reason.is_empty() {
        "no reason was recorded"
    } else {
        reason
    };
    failed.error = Some(format!(
        "an earlier invocation of this hook execution reported Failed ({reason}); this invocation's checks passed, but the status cannot change"
    ));
    failed.notes.push(
        "the status was set by an earlier invocation whose answer was lost; this alert is its rollback alert".to_owned(),
    );
    failed
}

impl<P: Ports> App<P> {
    /// Records the decision of the hook execution: `Failed` before it is reported (its alert
    /// is owed, so a retry whose checks pass still alerts), `Succeeded` after this invocation
    /// set it. Bounded, and a failure is only logged (the status comes first).
    pub(crate) async fn record_decision(&self, payload: &HookPayload, ev: &Evidence, by: Instant) {
        let state = match ev.decision {
            Decision::Failed => FAILED_PENDING,
            Decision::Succeeded => SUCCEEDED,
        };
        let Some(store) = &self.once else {
            return;
        };
        let record = State {
            state: state.to_owned(),
            at: crate::alert::utc_now(),
            detail: Some(cut(&ev.summary, DETAIL_MAX)),
            ..State::default()
        };
        let until = (Instant::now() + RECORD_BUDGET).min(by);
        let key = key(payload);
        match tokio::time::timeout_at(until, store.record_state(&key, &record, KEEP)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(key, state, error = %e, "cannot record the decision"),
            Err(_) => tracing::warn!(key, state, "recording the decision timed out"),
        }
    }

    /// Publishes the alert this invocation owes, once per hook execution with the table. A
    /// publish that fails is this invocation's error (after the claim is released).
    pub(crate) async fn alert_owed(
        &self,
        payload: &HookPayload,
        ev: &Evidence,
        reported: &Result<Reported>,
        deadline: Instant,
    ) -> Result<()> {
        if self.alerts.is_none() {
            return Ok(());
        }
        let by = deadline
            .checked_sub(Duration::from_millis(50))
            .unwrap_or(deadline);
        let key = key(payload);
        let recorded = match (&self.once, reported) {
            (Some(store), Ok(Reported::AlreadyCompleted)) if !ev.alert_worthy() => {
                match tokio::time::timeout_at(by, store.state(&key)).await {
                    Ok(r) => r?,
                    Err(_) => return Err(Error::transient("reading the alert's record timed out")),
                }
            }
            _ => None,
        };
        let alert = match owed(ev, reported, recorded.as_ref()) {
            None => return Ok(()),
            Some(Owed::Own) => crate::alert::alert(ev),
            Some(Owed::Recorded(reason)) => crate::alert::alert(&failed_earlier(ev, &reason)),
        };
        self.publish_alert(&key, &alert, deadline).await
    }

    /// Publishes `alert` before the deadline: once for `key` with the table (claim, publish,
    /// complete), else once per call. A publish that fails is the error.
    pub(crate) async fn publish_alert(
        &self,
        key: &str,
        alert: &Alert,
        deadline: Instant,
    ) -> Result<()> {
        let Some(publisher) = &self.alerts else {
            return Ok(());
        };
        let by = deadline
            .checked_sub(Duration::from_millis(50))
            .unwrap_or(deadline);
        match &self.once {
            None => publish(publisher, alert, by).await,
            Some(store) => publish_once(store, publisher, key, alert, by).await,
        }
    }
}

/// Claim, publish, complete; a failed publish releases the claim and is returned. A claim
/// another invocation holds is waited for while time is left, then is a transient error.
async fn publish_once<S: OnceOnlyStore, A: AlertPublisher>(
    store: &S,
    publisher: &A,
    key: &str,
    alert: &Alert,
    by: Instant,
) -> Result<()> {
    loop {
        let now = Instant::now();
        let publish_by = (now + PUBLISH_BUDGET).min(by);
        let lease = SystemTime::now() + publish_by.saturating_duration_since(now) + LEASE_MARGIN;
        let claim = match tokio::time::timeout_at(by, store.claim(key, lease)).await {
            Ok(c) => c?,
            Err(_) => return Err(Error::transient("claiming the alert timed out")),
        };
        match claim {
            Claim::Done => {
                tracing::info!(
                    key,
                    "the alert of this hook execution was published already"
                );
                return Ok(());
            }
            Claim::Busy => {
                if Instant::now() + BUSY_RETRY + MIN_PUBLISH >= by {
                    return Err(Error::transient(
                        "another invocation holds the claim of this hook execution's alert; a retry publishes it if that one did not",
                    ));
                }
                tokio::time::sleep(BUSY_RETRY).await;
            }
            Claim::Claimed(lease) => {
                return match publish(publisher, alert, publish_by).await {
                    Ok(()) => {
                        match store.complete(&lease).await {
                            Ok(true) => {}
                            Ok(false) => tracing::warn!(
                                key,
                                "the alert's claim was lost before it was completed"
                            ),
                            Err(e) => {
                                tracing::warn!(key, error = %e, "the alert is published but could not be recorded as done")
                            }
                        }
                        Ok(())
                    }
                    Err(e) => {
                        if let Err(r) = store.release(&lease).await {
                            tracing::warn!(key, error = %r, "cannot release the alert's claim; it ends with its lease");
                        }
                        Err(e)
                    }
                };
            }
        }
    }
}

/// Publishes `alert` before `by`; a failure is the error (logged).
async fn publish<A: AlertPublisher>(publisher: &A, alert: &Alert, by: Instant) -> Result<()> {
    match tokio::time::timeout_at(by, publisher.publish(alert)).await {
        Ok(Ok(p)) => {
            tracing::info!(subject = %p.subject, bytes = p.bytes, "published the evidence to the alert topic");
            Ok(())
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot publish the alert; the invocation fails so that a retry publishes it");
            Err(e)
        }
        Err(_) => {
            tracing::error!("the alert was not published before the deadline");
            Err(Error::transient(
                "the alert was not published before the invocation's deadline",
            ))
        }
    }
}

#[cfg(test)]
#[path = "notify_test.rs"]
mod tests;
