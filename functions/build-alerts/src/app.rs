//! The orchestration, generic over the ports: for each parsed event, decide (alert, recovered
//! notice, or nothing), claim the alert's key in the once-only store until just after the
//! invocation's deadline, look up the reason, publish, record the last known state, and mark
//! the key done. A publish that fails releases the key and fails the invocation, so Lambda
//! retries it; a claim left by a process that died ends with the invocation, so the first
//! retry takes it over.

use codehooks::alert::{Alert, AlertPublisher, Published, SnsPublisher};
use codehooks::dedup::Store;
use codehooks::idempotency;
use codehooks::logtail::{CloudWatchLogsReader, LogReader};
use codehooks::once::{self, Once, OnceOnlyStore, State};
use codehooks::{Error, Result};
use serde_json::Value;
use std::time::SystemTime;

use crate::Run;
use crate::approval;
use crate::codebuild;
use crate::codedeploy::{self, DeploymentDetail};
use crate::codepipeline::{self, PipelineDetail};
use crate::config::Config;
use crate::event::{Origin, Parsed, parse};
use crate::history::ReleaseHistory;
use crate::history_aws::AwsReleaseHistory;
use crate::log_tail;
use crate::outcome::Outcome;
use crate::threads;

/// The function: its configuration and its ports (by default the AWS adapters).
#[derive(Debug)]
pub struct App<P = SnsPublisher, S = Store, H = AwsReleaseHistory, L = CloudWatchLogsReader> {
    pub config: Config,
    publisher: P,
    /// `None` without `CODEHOOKS_ALERTS_TABLE`: every event publishes, nothing is remembered.
    store: Option<S>,
    history: H,
    /// Where the tails of failed builds' logs are read.
    logs: L,
}

impl<P: AlertPublisher, S: OnceOnlyStore, H: ReleaseHistory, L: LogReader> App<P, S, H, L> {
    pub fn new(config: Config, publisher: P, store: Option<S>, history: H, logs: L) -> Self {
        Self {
            config,
            publisher,
            store,
            history,
            logs,
        }
    }

    pub fn publisher(&self) -> &P {
        &self.publisher
    }

    pub fn store(&self) -> Option<&S> {
        self.store.as_ref()
    }

    pub fn history(&self) -> &H {
        &self.history
    }

    /// One event: parse and check it, then act. A claim this invocation takes ends at
    /// `lease_until` (its deadline plus the margin: [`codehooks::once::lease_until`]).
    pub async fn process(&self, payload: Value, lease_until: SystemTime) -> Result<Outcome> {
        let (origin, parsed) = parse(payload)?;
        let lease = lease_until;
        match parsed {
            Parsed::Build(d) => self.build(&origin, &d, lease).await,
            Parsed::Action(d) => self.action(&origin, &d, lease).await,
            Parsed::Pipeline(d) => self.pipeline(&origin, &d, lease).await,
            Parsed::Deployment(d) => self.deployment(&origin, &d, lease).await,
        }
    }

    async fn build(
        &self,
        run: &Origin,
        d: &codehooks::prbuild::BuildDetail,
        lease: SystemTime,
    ) -> Result<Outcome> {
        // Builds a pipeline started take part in the pipeline's state, not the project's;
        // pull request builds in none.
        let state_key = (codebuild::pipeline(d).is_none() && codebuild::pull_request(d).is_none())
            .then(|| format!("codebuild/{}/{}", run.region, d.project_name));
        match codebuild::plan(d, self.config.stopped, self.config.pull_requests) {
            Run::Ignore(reason) => Ok(Outcome::ignored(reason)),
            Run::Failure => {
                let key = idempotency::key("build-alerts/build", &[&d.build_id, &d.build_status]);
                let alert = codebuild::alert(d, run);
                let state = state_key.as_deref().map(|k| (k, Some(d.build_id.as_str())));
                // The thread (a pipeline's build: its execution's) and the log tail, once the
                // key is claimed.
                let make = || async {
                    let logs = d.additional_information.logs.as_ref();
                    let (mut alert, tail) = tokio::join!(
                        self.build_thread(d, run, alert),
                        log_tail::read(&self.logs, logs, self.config.log_lines),
                    );
                    log_tail::add(&mut alert, tail);
                    alert
                };
                self.alert_once(&key, make, state, run, lease).await
            }
            Run::Success => match state_key {
                Some(k) => {
                    self.success(&k, run, lease, |last| codebuild::recovered(d, run, last))
                        .await
                }
                None => Ok(Outcome::ignored(
                    "a pipeline's build succeeded; the pipeline's state is tracked",
                )),
            },
        }
    }

    async fn action(&self, run: &Origin, d: &PipelineDetail, lease: SystemTime) -> Result<Outcome> {
        if approval::is_waiting(d) {
            return self.approval(run, d, lease).await;
        }
        match codepipeline::plan_action(d) {
            Run::Ignore(reason) => {
                // A build or deployment reports its own failure: leave it the way back to
                // this execution.
                if d.state == "FAILED" {
                    self.leave_link(run, d).await;
                }
                Ok(Outcome::suppressed(reason))
            }
            Run::Success => Ok(Outcome::ignored("action successes are not tracked")),
            Run::Failure => {
                let attempt = d.attempt().to_string();
                let key = idempotency::key(
                    "build-alerts/action",
                    &[
                        &d.pipeline,
                        &d.execution_id,
                        d.stage.as_deref().unwrap_or(""),
                        d.action.as_deref().unwrap_or(""),
                        &attempt,
                        &d.state,
                    ],
                );
                let make = || async {
                    let lookups = self.pipeline_lookups(d).await;
                    threads::with_thread_attribute(codepipeline::action_alert(d, run, &lookups))
                };
                self.alert_once(&key, make, None, run, lease).await
            }
        }
    }

    async fn pipeline(
        &self,
        run: &Origin,
        d: &PipelineDetail,
        lease: SystemTime,
    ) -> Result<Outcome> {
        let state_key = format!("codepipeline/{}/{}", run.region, d.pipeline);
        match codepipeline::plan_pipeline(d) {
            Run::Ignore(reason) => Ok(Outcome::ignored(reason)),
            Run::Success => {
                self.success(&state_key, run, lease, |last| {
                    codepipeline::recovered(d, run, last)
                })
                .await
            }
            Run::Failure => {
                let lookups = self.pipeline_lookups(d).await;
                if let Some(first) = codepipeline::failed_actions(&lookups).first() {
                    let reason = format!(
                        "the failed action {}/{} has its own alert",
                        first.stage, first.action
                    );
                    self.record(&state_key, "FAILED", run, Some(&d.execution_id))
                        .await;
                    return Ok(Outcome::suppressed(reason));
                }
                let key = idempotency::key(
                    "build-alerts/pipeline",
                    &[
                        &d.pipeline,
                        &d.execution_id,
                        &d.attempt().to_string(),
                        &d.state,
                    ],
                );
                let alert =
                    threads::with_thread_attribute(codepipeline::pipeline_alert(d, run, &lookups));
                // The execution id: a new failed run counts once in the streak.
                let state = Some((state_key.as_str(), Some(d.execution_id.as_str())));
                self.alert_once(&key, || async { alert }, state, run, lease)
                    .await
            }
        }
    }

    async fn deployment(
        &self,
        run: &Origin,
        d: &DeploymentDetail,
        lease: SystemTime,
    ) -> Result<Outcome> {
        let state_key = format!(
            "codedeploy/{}/{}/{}",
            run.region, d.application, d.deployment_group
        );
        match codedeploy::plan(d) {
            Run::Ignore(reason) => Ok(Outcome::ignored(reason)),
            Run::Success => {
                self.success(&state_key, run, lease, |last| {
                    codedeploy::recovered(d, run, last)
                })
                .await
            }
            Run::Failure => {
                let key =
                    idempotency::key("build-alerts/deployment", &[&d.deployment_id, &d.state]);
                let make = || async {
                    let (facts, place) = tokio::join!(
                        self.history.deployment(&d.deployment_id),
                        self.linked(&d.deployment_id)
                    );
                    let mut alert = match facts {
                        Ok(f) => codedeploy::alert(d, run, Some(&f), None),
                        Err(e) => {
                            tracing::warn!(error = %e, "GetDeployment failed; alerting without its details");
                            let problem =
                                format!("(The deployment's details could not be read: {e})");
                            codedeploy::alert(d, run, None, Some(&problem))
                        }
                    };
                    // Started by a pipeline whose action event came first: the run's thread.
                    if let Some(place) = place {
                        threads::join(&mut alert, &place, &run.region);
                    }
                    threads::with_thread_attribute(alert)
                };
                let state = Some((state_key.as_str(), Some(d.deployment_id.as_str())));
                self.alert_once(&key, make, state, run, lease).await
            }
        }
    }

    /// Both pipeline lookups; a failed lookup leaves its part empty and says so in the alert.
    async fn pipeline_lookups(&self, d: &PipelineDetail) -> codepipeline::Lookups {
        let (actions, execution) = tokio::join!(
            self.history.action_runs(&d.pipeline, &d.execution_id),
            self.history.execution(&d.pipeline, &d.execution_id),
        );
        let mut l = codepipeline::Lookups::default();
        match actions {
            Ok(a) => l.actions = Some(a),
            Err(e) => {
                tracing::warn!(error = %e, "ListActionExecutions failed; alerting without it");
                l.problems
                    .push(format!("(The action details could not be read: {e})"));
            }
        }
        match execution {
            Ok(x) => l.execution = Some(x),
            Err(e) => {
                tracing::warn!(error = %e, "GetPipelineExecution failed; alerting without it");
                l.problems
                    .push(format!("(The execution details could not be read: {e})"));
            }
        }
        l
    }

    /// Publishes the alert `make` writes, once for `key` (`make` runs only when the key is
    /// claimed, until `lease`), then records the failure as the last known state
    /// `(state key, detail)`.
    async fn alert_once<F, Fut>(
        &self,
        key: &str,
        make: F,
        state: Option<(&str, Option<&str>)>,
        run: &Origin,
        lease: SystemTime,
    ) -> Result<Outcome>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Alert>,
    {
        let Some(store) = &self.store else {
            let alert = make().await;
            return Ok(Outcome::Published(self.publisher.publish(&alert).await?));
        };
        let out = once::once(store, key, lease, || async {
            let alert = make().await;
            self.publisher.publish(&alert).await
        })
        .await?;
        if matches!(out, Once::Ran(_))
            && let Some((k, detail)) = state
        {
            self.record(k, "FAILED", run, detail).await;
        }
        once_outcome(out)
    }

    /// A success: a recovered notice when enabled and the last known state is a failure.
    async fn success(
        &self,
        state_key: &str,
        run: &Origin,
        lease: SystemTime,
        notice: impl FnOnce(&State) -> Alert,
    ) -> Result<Outcome> {
        let Some(store) = self.store.as_ref().filter(|_| self.config.recovered) else {
            return Ok(Outcome::ignored(
                "recovered notices are off (CODEHOOKS_ALERTS_RECOVERED)",
            ));
        };
        let outcome = match store.state(state_key).await? {
            Some(last) if last.state == "FAILED" && last.at.as_str() <= run.time.as_str() => {
                let key = idempotency::key("build-alerts/recovered", &[state_key, &run.event_id]);
                let mut alert = notice(&last);
                self.close(&mut alert, &last, run).await;
                let alert = threads::with_thread_attribute(alert);
                let publish = || self.publisher.publish(&alert);
                let out = once::once(store, &key, lease, publish).await?;
                once_outcome(out)?
            }
            Some(last) if last.at.as_str() > run.time.as_str() => {
                return Ok(Outcome::ignored("a later event set the state already"));
            }
            _ => Outcome::ignored("it did not fail last time"),
        };
        self.record(state_key, "SUCCEEDED", run, None).await;
        Ok(outcome)
    }

    /// Records a last known state (when recovered notices are on); a failure only logs: the
    /// alert itself went out.
    async fn record(&self, key: &str, state: &str, run: &Origin, detail: Option<&str>) {
        let Some(store) = self.store.as_ref().filter(|_| self.config.recovered) else {
            return;
        };
        let s = if state == "FAILED" {
            // A new failed run continues the streak; the same run seen again counts once.
            let prev = match store.state(key).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(key, error = %e, "could not read the last known state; a new streak starts");
                    None
                }
            };
            threads::failed_state(prev.as_ref(), &run.time, detail)
        } else {
            State {
                state: state.to_owned(),
                at: run.time.clone(),
                detail: detail.map(str::to_owned),
                ..State::default()
            }
        };
        match store.record_state(key, &s, self.config.state_ttl).await {
            Ok(true) => {}
            Ok(false) => tracing::info!(key, "a later event's state is kept"),
            Err(e) => tracing::warn!(key, error = %e, "could not record the last known state"),
        }
    }
}

/// The answer for a do-once run. `Busy` (another invocation holds the claim, or one died
/// holding it) fails the invocation so that Lambda retries it: a claim ends just after its
/// invocation's deadline, so by the retry the alert is either done (a duplicate) or
/// claimable again.
fn once_outcome(out: Once<Published>) -> Result<Outcome> {
    match out {
        Once::Ran(p) => Ok(Outcome::Published(p)),
        Once::AlreadyDone => Ok(Outcome::duplicate()),
        Once::Busy => Err(Error::transient(
            "another invocation is publishing this alert; retry after its lease",
        )),
    }
}

#[path = "app_links.rs"]
mod links;

#[cfg(test)]
#[path = "app_test.rs"]
mod tests;
