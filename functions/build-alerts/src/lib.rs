//! `build-alerts`: one clear, actionable alert for every failed CodeBuild build, CodePipeline
//! execution and CodeDeploy deployment, published to one SNS topic.
//!
//! - [`codebuild`], [`codepipeline`], [`codedeploy`]: the events and the alert about each;
//! - [`lookups`]: the read-only calls that explain a failure;
//! - [`alert`]: the subject, the plain-text body, the Chatbot document and the size limit;
//! - [`text`]: one-line fields, cuts, identifiers and links.
//!
//! Each event goes: parse and check (a bad event fails here, before any side effect) → decide
//! (alert, recovered notice, or nothing) → claim the alert's key in the DynamoDB table → look
//! up the reason → publish → record the last known state → mark the key done. A publish that
//! fails releases the key and fails the invocation, so EventBridge retries it.

pub mod alert;
pub mod codebuild;
pub mod codedeploy;
pub mod codepipeline;
pub mod lookups;
pub mod text;

use std::time::{Duration, Instant};

use aws_sdk_sns::types::MessageAttributeValue;
use codehooks::config::{Common, Env};
use codehooks::dedup::{Once, State, Store};
use codehooks::emf::Metrics;
use codehooks::events::EventBridgeEvent;
use codehooks::{Error, Result};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};

use crate::alert::{Alert, Rendered};

/// The function's name, as the demo and logs show it.
pub const NAME: &str = "build-alerts";

/// Where and when an event happened (from its envelope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub region: String,
    pub account: String,
    pub event_id: String,
    pub time: String,
}

/// What an event asks the function to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run {
    /// Publish an alert (once).
    Failure,
    /// A success: a recovered notice if the last known state was a failure.
    Success,
    /// Nothing, for the reason given.
    Ignore(String),
}

/// The function's configuration, from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub common: Common,
    /// `CODEHOOKS_ALERT_TOPIC_ARN`: where alerts go.
    pub topic_arn: String,
    /// `CODEHOOKS_ALERTS_TABLE`: the DynamoDB table for de-duplication and last known states.
    pub table: Option<String>,
    /// `CODEHOOKS_ALERTS_STOPPED`: alert on builds someone stopped (default false).
    pub stopped: bool,
    /// `CODEHOOKS_ALERTS_PULL_REQUESTS`: alert on pull request validation builds too (default
    /// false: pr-comments reports them on the pull request).
    pub pull_requests: bool,
    /// `CODEHOOKS_ALERTS_RECOVERED`: send a notice when something that failed works again.
    pub recovered: bool,
    /// `CODEHOOKS_ALERTS_DEDUP_TTL_HOURS`: how long an alert is remembered (default 48).
    pub dedup_ttl: Duration,
    /// `CODEHOOKS_ALERTS_STATE_TTL_DAYS`: how long a last known state is kept (default 90).
    pub state_ttl: Duration,
    /// `CODEHOOKS_ALERTS_LEASE_SECONDS`: how long a claim blocks a concurrent delivery (default
    /// 90; keep it longer than the function's timeout).
    pub lease: Duration,
}

fn is_table_name(s: &str) -> bool {
    text::is_name(s, 3, 255, "_.-")
}

impl Config {
    pub fn read(env: &mut Env<'_>) -> Self {
        let common = Common::read(env);
        let topic_arn = env.arn("CODEHOOKS_ALERT_TOPIC_ARN", "sns");
        let table = env.optional("CODEHOOKS_ALERTS_TABLE");
        if let Some(t) = &table
            && !is_table_name(t)
        {
            env.problem(
                "CODEHOOKS_ALERTS_TABLE",
                "must be a DynamoDB table name (3 to 255 letters, digits, '_', '-' or '.')",
            );
        }
        let stopped = env.bool_or("CODEHOOKS_ALERTS_STOPPED", false);
        let pull_requests = env.bool_or("CODEHOOKS_ALERTS_PULL_REQUESTS", false);
        let recovered = env.bool_or("CODEHOOKS_ALERTS_RECOVERED", false);
        if recovered && table.is_none() {
            env.problem(
                "CODEHOOKS_ALERTS_TABLE",
                "is required when CODEHOOKS_ALERTS_RECOVERED is true (it keeps the last known states)",
            );
        }
        let dedup_ttl = Duration::from_secs(
            3600 * env.u64_in("CODEHOOKS_ALERTS_DEDUP_TTL_HOURS", 48, 25..=720),
        );
        let state_ttl = Duration::from_secs(
            86_400 * env.u64_in("CODEHOOKS_ALERTS_STATE_TTL_DAYS", 90, 1..=3650),
        );
        let lease =
            Duration::from_secs(env.u64_in("CODEHOOKS_ALERTS_LEASE_SECONDS", 90, 30..=3600));
        Self {
            common,
            topic_arn,
            table,
            stopped,
            pull_requests,
            recovered,
            dedup_ttl,
            state_ttl,
            lease,
        }
    }
}

/// The function's configuration and clients, built once per execution environment.
#[derive(Debug)]
pub struct App {
    pub config: Config,
    sns: aws_sdk_sns::Client,
    codepipeline: aws_sdk_codepipeline::Client,
    codedeploy: aws_sdk_codedeploy::Client,
    store: Option<Store>,
}

/// One parsed event, ready to act on.
enum Parsed {
    Build(codebuild::BuildDetail),
    Action(codepipeline::PipelineDetail),
    Pipeline(codepipeline::PipelineDetail),
    Deployment(codedeploy::DeploymentDetail),
}

impl App {
    /// Reads and validates the configuration, then builds the clients.
    pub async fn from_env() -> Result<Self> {
        let mut env = Env::from_process();
        let config = Config::read(&mut env);
        env.finish()?;
        let sdk = codehooks::aws::load(&config.common.aws).await;
        Ok(Self::with_sdk(config, &sdk))
    }

    /// The app with clients from `sdk` (tests and tools).
    pub fn with_sdk(config: Config, sdk: &aws_config::SdkConfig) -> Self {
        let store = config.table.as_ref().map(|t| {
            Store::new(aws_sdk_dynamodb::Client::new(sdk), t.clone())
                .with_ttl(config.dedup_ttl)
                .with_lease(config.lease)
        });
        Self {
            sns: aws_sdk_sns::Client::new(sdk),
            codepipeline: aws_sdk_codepipeline::Client::new(sdk),
            codedeploy: aws_sdk_codedeploy::Client::new(sdk),
            store,
            config,
        }
    }

    /// Handles one invocation.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value> {
        let started = Instant::now();
        let result = self.process(event.payload).await;
        let mut m = Metrics::new(&self.config.common.metrics_namespace, NAME);
        match &result {
            Ok(v) => {
                let outcome = v["outcome"].as_str().unwrap_or("unknown");
                m.dimension("Outcome", outcome);
                tracing::info!(
                    outcome,
                    subject = v["subject"].as_str().unwrap_or(""),
                    reason = v["reason"].as_str().unwrap_or(""),
                    "done"
                );
            }
            Err(e) => {
                m.dimension("Outcome", e.kind());
                tracing::error!(error = %e, kind = e.kind(), "failed");
            }
        }
        m.millis("DurationMs", started.elapsed().as_secs_f64() * 1000.0)
            .count("Invocations", 1.0)
            .emit();
        result
    }

    fn parse(&self, payload: Value) -> Result<(Origin, Parsed)> {
        let ev = EventBridgeEvent::parse(payload)?;
        if !text::is_region(&ev.region) {
            return Err(Error::bad_input(format!(
                "event {} has no valid region: {:?}",
                text::cut(&ev.id, 80),
                text::cut(&ev.region, 40)
            )));
        }
        if !text::is_account(&ev.account) {
            return Err(Error::bad_input(format!(
                "event {} has no valid account: {:?}",
                text::cut(&ev.id, 80),
                text::cut(&ev.account, 40)
            )));
        }
        if ev.id.is_empty() || ev.id.len() > 128 {
            return Err(Error::bad_input(
                "the event id must have 1 to 128 characters",
            ));
        }
        if !(10..=40).contains(&ev.time.len())
            || !ev
                .time
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-:.+".contains(&b))
        {
            return Err(Error::bad_input(format!(
                "event {} has no valid time (RFC 3339): {:?}",
                text::cut(&ev.id, 80),
                text::cut(&ev.time, 40)
            )));
        }
        let parsed = match (ev.source.as_str(), ev.detail_type.as_str()) {
            (codebuild::SOURCE, codebuild::DETAIL_TYPE) => {
                let d: codebuild::BuildDetail = ev.detail_as()?;
                d.validate()?;
                Parsed::Build(d)
            }
            (codepipeline::SOURCE, codepipeline::ACTION_DETAIL_TYPE) => {
                let d: codepipeline::PipelineDetail = ev.detail_as()?;
                d.validate(true)?;
                Parsed::Action(d)
            }
            (codepipeline::SOURCE, codepipeline::PIPELINE_DETAIL_TYPE) => {
                let d: codepipeline::PipelineDetail = ev.detail_as()?;
                d.validate(false)?;
                Parsed::Pipeline(d)
            }
            (codedeploy::SOURCE, codedeploy::DETAIL_TYPE) => {
                let d: codedeploy::DeploymentDetail = ev.detail_as()?;
                d.validate()?;
                Parsed::Deployment(d)
            }
            (source, detail_type) => {
                return Err(Error::bad_input(format!(
                    "build-alerts does not handle {:?} events from {:?}; it handles {:?}, {:?}, {:?} and {:?}",
                    text::cut(detail_type, 80),
                    text::cut(source, 80),
                    codebuild::DETAIL_TYPE,
                    codepipeline::ACTION_DETAIL_TYPE,
                    codepipeline::PIPELINE_DETAIL_TYPE,
                    codedeploy::DETAIL_TYPE
                )));
            }
        };
        let origin = Origin {
            region: ev.region,
            account: ev.account,
            event_id: ev.id,
            time: ev.time,
        };
        Ok((origin, parsed))
    }

    async fn process(&self, payload: Value) -> Result<Value> {
        let (origin, parsed) = self.parse(payload)?;
        match parsed {
            Parsed::Build(d) => self.build(&origin, d).await,
            Parsed::Action(d) => self.action(&origin, d).await,
            Parsed::Pipeline(d) => self.pipeline(&origin, d).await,
            Parsed::Deployment(d) => self.deployment(&origin, d).await,
        }
    }

    async fn build(&self, run: &Origin, d: codebuild::BuildDetail) -> Result<Value> {
        // Builds a pipeline started take part in the pipeline's state, not the project's;
        // pull request builds in none.
        let state_key = (d.pipeline().is_none() && d.pull_request().is_none())
            .then(|| format!("codebuild/{}/{}", run.region, d.project_name));
        match codebuild::plan(&d, self.config.stopped, self.config.pull_requests) {
            Run::Ignore(reason) => Ok(ignored(&reason)),
            Run::Failure => {
                let key = codehooks::idempotency::key(
                    "build-alerts/build",
                    &[&d.build_id, &d.build_status],
                );
                let alert = codebuild::alert(&d, run);
                self.alert_once(&key, alert, state_key.as_deref(), run)
                    .await
            }
            Run::Success => match state_key {
                Some(k) => {
                    self.success(&k, run, |last| codebuild::recovered(&d, run, last))
                        .await
                }
                None => Ok(ignored(
                    "a pipeline's build succeeded; the pipeline's state is tracked",
                )),
            },
        }
    }

    async fn action(&self, run: &Origin, d: codepipeline::PipelineDetail) -> Result<Value> {
        match codepipeline::plan_action(&d) {
            Run::Ignore(reason) => Ok(json!({"outcome": "suppressed", "reason": reason})),
            Run::Success => Ok(ignored("action successes are not tracked")),
            Run::Failure => {
                let attempt = d.attempt().to_string();
                let key = codehooks::idempotency::key(
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
                let Some(store) = &self.store else {
                    let lookups = self.pipeline_lookups(&d).await;
                    let alert = codepipeline::action_alert(&d, run, &lookups);
                    return self.publish_now(alert).await;
                };
                let out = store
                    .once(&key, || async {
                        let lookups = self.pipeline_lookups(&d).await;
                        let alert = codepipeline::action_alert(&d, run, &lookups);
                        self.publish(&alert).await
                    })
                    .await?;
                once_outcome(out)
            }
        }
    }

    async fn pipeline(&self, run: &Origin, d: codepipeline::PipelineDetail) -> Result<Value> {
        let state_key = format!("codepipeline/{}/{}", run.region, d.pipeline);
        match codepipeline::plan_pipeline(&d) {
            Run::Ignore(reason) => Ok(ignored(&reason)),
            Run::Success => {
                self.success(&state_key, run, |last| {
                    codepipeline::recovered(&d, run, last)
                })
                .await
            }
            Run::Failure => {
                let lookups = self.pipeline_lookups(&d).await;
                let failed = codepipeline::failed_actions(&lookups);
                if let Some(first) = failed.first() {
                    let reason = format!(
                        "the failed action {}/{} has its own alert",
                        first.stage, first.action
                    );
                    self.record(&state_key, "FAILED", run, Some(&d.execution_id))
                        .await;
                    return Ok(json!({"outcome": "suppressed", "reason": reason}));
                }
                let key = codehooks::idempotency::key(
                    "build-alerts/pipeline",
                    &[
                        &d.pipeline,
                        &d.execution_id,
                        &d.attempt().to_string(),
                        &d.state,
                    ],
                );
                let alert = codepipeline::pipeline_alert(&d, run, &lookups);
                self.alert_once(&key, alert, Some(&state_key), run).await
            }
        }
    }

    async fn deployment(&self, run: &Origin, d: codedeploy::DeploymentDetail) -> Result<Value> {
        let state_key = format!(
            "codedeploy/{}/{}/{}",
            run.region, d.application, d.deployment_group
        );
        match codedeploy::plan(&d) {
            Run::Ignore(reason) => Ok(ignored(&reason)),
            Run::Success => {
                self.success(&state_key, run, |last| codedeploy::recovered(&d, run, last))
                    .await
            }
            Run::Failure => {
                let key = codehooks::idempotency::key(
                    "build-alerts/deployment",
                    &[&d.deployment_id, &d.state],
                );
                let build = || async {
                    match lookups::deployment(&self.codedeploy, &d.deployment_id).await {
                        Ok(f) => codedeploy::alert(&d, run, Some(&f), None),
                        Err(e) => {
                            tracing::warn!(error = %e, "GetDeployment failed; alerting without its details");
                            let problem =
                                format!("(The deployment's details could not be read: {e})");
                            codedeploy::alert(&d, run, None, Some(&problem))
                        }
                    }
                };
                let Some(store) = &self.store else {
                    let alert = build().await;
                    return self.publish_now(alert).await;
                };
                let out = store
                    .once(&key, || async {
                        let alert = build().await;
                        let r = self.publish(&alert).await?;
                        Ok(r)
                    })
                    .await?;
                if matches!(out, Once::Ran(_)) {
                    self.record(&state_key, "FAILED", run, Some(&d.deployment_id))
                        .await;
                }
                once_outcome(out)
            }
        }
    }

    /// Both pipeline lookups; a failed lookup leaves its part empty and says so in the alert.
    async fn pipeline_lookups(&self, d: &codepipeline::PipelineDetail) -> codepipeline::Lookups {
        let (actions, execution) = tokio::join!(
            lookups::action_runs(&self.codepipeline, &d.pipeline, &d.execution_id),
            lookups::execution(&self.codepipeline, &d.pipeline, &d.execution_id),
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

    /// Publishes `alert` once for `key`, then records the failure as the last known state.
    async fn alert_once(
        &self,
        key: &str,
        alert: Alert,
        state_key: Option<&str>,
        run: &Origin,
    ) -> Result<Value> {
        let Some(store) = &self.store else {
            return self.publish_now(alert).await;
        };
        let out = store.once(key, || self.publish(&alert)).await?;
        if matches!(out, Once::Ran(_))
            && let Some(k) = state_key
        {
            self.record(k, "FAILED", run, None).await;
        }
        once_outcome(out)
    }

    /// A success: a recovered notice when enabled and the last known state is a failure.
    async fn success(
        &self,
        state_key: &str,
        run: &Origin,
        notice: impl FnOnce(&State) -> Alert,
    ) -> Result<Value> {
        let Some(store) = self.store.as_ref().filter(|_| self.config.recovered) else {
            return Ok(ignored(
                "recovered notices are off (CODEHOOKS_ALERTS_RECOVERED)",
            ));
        };
        let last = store.state(state_key).await?;
        let outcome = match last {
            Some(last) if last.state == "FAILED" && last.at.as_str() <= run.time.as_str() => {
                let key = codehooks::idempotency::key(
                    "build-alerts/recovered",
                    &[state_key, &run.event_id],
                );
                let alert = notice(&last);
                let out = store.once(&key, || self.publish(&alert)).await?;
                once_outcome(out)?
            }
            Some(last) if last.at.as_str() > run.time.as_str() => {
                return Ok(ignored("a later event set the state already"));
            }
            _ => ignored("it did not fail last time"),
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
        let s = State {
            state: state.to_owned(),
            at: run.time.clone(),
            detail: detail.map(str::to_owned),
        };
        match store.record_state(key, &s, self.config.state_ttl).await {
            Ok(true) => {}
            Ok(false) => tracing::info!(key, "a later event's state is kept"),
            Err(e) => tracing::warn!(key, error = %e, "could not record the last known state"),
        }
    }

    async fn publish_now(&self, alert: Alert) -> Result<Value> {
        let r = self.publish(&alert).await?;
        Ok(r)
    }

    /// One `Publish` with the per-protocol bodies and the message attributes.
    async fn publish(&self, alert: &Alert) -> Result<Value> {
        let Rendered {
            subject,
            message,
            attributes,
            ..
        } = alert.render();
        let mut req = self
            .sns
            .publish()
            .topic_arn(&self.config.topic_arn)
            .subject(&subject)
            .message(&message)
            .message_structure("json");
        for (name, value) in attributes {
            let v = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| Error::internal(format!("message attribute {name}: {e}")))?;
            req = req.message_attributes(name, v);
        }
        let out = req.send().await.map_err(|e| Error::aws("Publish", e))?;
        tracing::info!(
            subject,
            bytes = message.len(),
            message_id = out.message_id().unwrap_or(""),
            "published"
        );
        Ok(json!({
            "outcome": "published",
            "subject": subject,
            "messageId": out.message_id(),
            "bytes": message.len(),
        }))
    }
}

fn ignored(reason: &str) -> Value {
    json!({"outcome": "ignored", "reason": reason})
}

/// The answer for a do-once run. `Busy` (another invocation holds the claim, or one died
/// holding it) fails the invocation so that Lambda retries it after the lease: by then the
/// alert is either done (a duplicate) or claimable again.
fn once_outcome(out: Once<Value>) -> Result<Value> {
    match out {
        Once::Ran(v) => Ok(v),
        Once::AlreadyDone => {
            Ok(json!({"outcome": "duplicate", "reason": "this alert was published before"}))
        }
        Once::Busy => Err(Error::transient(
            "another invocation is publishing this alert; retry after its lease",
        )),
    }
}

/// A one-line description of what the function does.
pub fn describe() -> Value {
    json!({"function": NAME, "handles": [
        codebuild::DETAIL_TYPE, codepipeline::ACTION_DETAIL_TYPE,
        codepipeline::PIPELINE_DETAIL_TYPE, codedeploy::DETAIL_TYPE
    ]})
}

#[cfg(test)]
#[path = "lib_test.rs"]
mod tests;
