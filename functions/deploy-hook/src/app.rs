//! The hook's orchestration, generic over its ports: check what the deployment is, decide,
//! report `Succeeded` or `Failed` before the deadline on every path, and publish the evidence
//! of a failure once ([`crate::notify`]). With an invalid configuration it still serves (the degraded mode): each hook
//! is reported `Failed`.

use std::time::Duration;

use codehooks::alert::SnsPublisher;
use codehooks::config::{ConfigError, Env};
use codehooks::dedup::Store;
use codehooks::harness::{Common, Function};
use codehooks::{Error, Result};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tokio::time::Instant;

use crate::answer::Answer;
use crate::config::Config;
use crate::contract::Contract;
use crate::evidence::Evidence;
use crate::facts::{Decision, Reported};
use crate::payload::{HookPayload, deadline_instant};
use crate::ports::{Deployments, Ports};
use crate::probe::CheckResult;
use crate::sdk::{SdkDeployments, SdkLoadBalancer};
use crate::sdk_cloudwatch::SdkMetrics;
use crate::sdk_ecs::SdkServices;
use crate::sdk_lambda::SdkFunctions;
use crate::sdk_pipeline::SdkJobs;

/// Pause between two attempts to report a status.
const REPORT_RETRY: Duration = Duration::from_millis(250);

/// The production ports: the SDK adapters.
#[derive(Debug)]
pub struct SdkPorts;

impl Ports for SdkPorts {
    type Deployments = SdkDeployments;
    type LoadBalancer = SdkLoadBalancer;
    type Services = SdkServices;
    type Functions = SdkFunctions;
    type Metrics = SdkMetrics;
    type Jobs = SdkJobs;
    type Alerts = SnsPublisher;
    type Once = Store;
}

/// The hook: its settings and its ports, built once per execution environment.
pub struct App<P: Ports = SdkPorts> {
    pub metrics_namespace: String,
    pub settings: Config,
    pub deployments: P::Deployments,
    pub load_balancer: P::LoadBalancer,
    pub services: P::Services,
    pub functions: P::Functions,
    /// CodePipeline's job answers (the pipeline action contract).
    pub jobs: P::Jobs,
    pub metrics: P::Metrics,
    /// Where the evidence of a failure goes (`None`: no alert topic configured).
    pub alerts: Option<P::Alerts>,
    /// The once-only store that makes the alert exactly-once per hook execution (`None`: no
    /// alerts table configured; the alert is then at-least-once).
    pub once: Option<P::Once>,
    /// The region of the deployments (the function's).
    pub region: Option<String>,
    /// What is wrong with the configuration, when something is: the degraded mode.
    pub config_error: Option<ConfigError>,
}

impl App {
    /// The production hook: SDK adapters over `sdk`.
    pub fn with_sdk(
        common: &Common,
        settings: Config,
        sdk: &aws_config::SdkConfig,
        config_error: Option<ConfigError>,
    ) -> App {
        let alerts = settings
            .alert_topic_arn
            .clone()
            .map(|topic| SnsPublisher::new(aws_sdk_sns::Client::new(sdk), topic));
        let once = settings
            .alerts_table
            .clone()
            .map(|table| Store::new(aws_sdk_dynamodb::Client::new(sdk), table));
        App {
            metrics_namespace: common.metrics_namespace.clone(),
            settings,
            deployments: SdkDeployments::new(sdk),
            load_balancer: SdkLoadBalancer::new(sdk),
            services: SdkServices::new(sdk),
            functions: SdkFunctions::new(sdk),
            jobs: SdkJobs::new(sdk),
            metrics: SdkMetrics::new(sdk),
            alerts,
            once,
            region: sdk.region().map(|r| r.as_ref().to_owned()),
            config_error,
        }
    }
}

impl Function for App {
    const NAME: &'static str = crate::NAME;
    type Config = Config;
    type Output = Answer;

    fn read_config(env: &mut Env<'_>) -> Config {
        Config::read(env)
    }

    fn build(common: &Common, config: Config, sdk: &aws_config::SdkConfig) -> App {
        App::with_sdk(common, config, sdk, None)
    }

    /// A hook whose process exits at start-up never reports, and CodeDeploy then waits an hour
    /// for a status. So an invalid configuration is logged once, naming the variable and why,
    /// and the function still starts: each invocation with a hook payload reports `Failed`
    /// (never `Succeeded`: dry run and fail-open are settings too, and a wrong configuration
    /// cannot be trusted to ask for them; rolling back is the safe side) and returns the
    /// `Config` error.
    fn degraded(
        common: &Common,
        settings: Config,
        error: ConfigError,
        sdk: &aws_config::SdkConfig,
    ) -> std::result::Result<App, ConfigError> {
        tracing::error!(
            error = %error,
            "start-up: invalid configuration; every lifecycle hook will be reported Failed until it is corrected"
        );
        // What can be read still serves: the alert topic, when it is valid.
        let settings = settings.degraded();
        Ok(App::with_sdk(common, settings, sdk, Some(error)))
    }

    fn handle(
        &self,
        event: LambdaEvent<Value>,
    ) -> impl std::future::Future<Output = Result<Answer>> {
        // Boxed: the whole check is a deep future, and the runtime nests it further.
        Box::pin(self.respond(event))
    }
}

impl<P: Ports> std::fmt::Debug for App<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("settings", &self.settings)
            .field("region", &self.region)
            .field("config_error", &self.config_error)
            .finish_non_exhaustive()
    }
}

impl<P: Ports> App<P> {
    /// Handles one invocation in the contract its payload speaks ([`Contract`]).
    pub async fn respond(&self, event: LambdaEvent<Value>) -> Result<Answer> {
        match Contract::served(&event.payload, &self.settings.contracts)? {
            Contract::CodeDeploy(_) => self
                .answer(event)
                .await
                .map(|ev| Answer::Reported(Box::new(ev))),
            Contract::EcsNative(payload) => self.answer_native(&payload, &event.context).await,
            Contract::PipelineJob(payload) => self.answer_job(&payload, &event.context).await,
        }
    }

    /// Handles one CodeDeploy invocation: the checks, or the degraded mode's refusal.
    pub async fn answer(&self, event: LambdaEvent<Value>) -> Result<Evidence> {
        match &self.config_error {
            None => self.check(event).await,
            Some(problem) => self.refuse(event, problem).await,
        }
    }

    /// Checks, reports, alerts.
    async fn check(&self, event: LambdaEvent<Value>) -> Result<Evidence> {
        let started = Instant::now();
        let payload = HookPayload::parse(&event.payload)?;
        let deadline = deadline_instant(event.context.deadline);
        let (budget_end, margin) = self.budget(deadline);
        tracing::info!(
            deployment_id = %payload.deployment_id,
            budget_ms = budget_end.saturating_duration_since(Instant::now()).as_millis() as u64,
            "checking the green task set"
        );

        let mut ev = Evidence::new(&payload);
        self.locate(&mut ev, &event.context);
        let finished =
            tokio::time::timeout_at(budget_end, self.evaluate(&payload, &mut ev, budget_end)).await;
        if finished.is_err() {
            out_of_time(&mut ev, margin);
        }
        ev.conclude(&self.settings);
        ev.duration_ms = started.elapsed().as_millis() as u64;
        let reported = self.report_and_alert(&payload, &mut ev, deadline).await;
        reported.map(|_| ev)
    }

    /// The degraded mode: reports `Failed` for a hook payload (without checking anything,
    /// whatever dry run or fail-open say), publishes why, and returns the `Config` error that
    /// names the variable. Anything else is `BadInput`, with no call.
    async fn refuse(&self, event: LambdaEvent<Value>, problem: &ConfigError) -> Result<Evidence> {
        let started = Instant::now();
        let payload = HookPayload::parse(&event.payload)?;
        let deadline = deadline_instant(event.context.deadline);
        let mut ev = Evidence::new(&payload);
        self.locate(&mut ev, &event.context);
        ev.checks.push(CheckResult::new(
            "configuration",
            false,
            None,
            format!("nothing was checked: the function's {problem}"),
        ));
        ev.error = Some(problem.to_string());
        ev.conclude(&self.settings.clone().degraded());
        ev.duration_ms = started.elapsed().as_millis() as u64;
        // Reported or not, the answer is the configuration error (the status error is logged).
        let _reported = self.report_and_alert(&payload, &mut ev, deadline).await;
        Err(Error::Config(problem.clone()))
    }

    /// Records a `Failed` decision, reports it, logs and measures it, and publishes the
    /// rollback alert when this invocation owes it ([`crate::notify`]): a publish that fails is
    /// the invocation's error, so Lambda retries it (or the dead-letter queue keeps it).
    async fn report_and_alert(
        &self,
        payload: &HookPayload,
        ev: &mut Evidence,
        deadline: Instant,
    ) -> Result<Reported> {
        let report_by = deadline
            .checked_sub(Duration::from_millis(100))
            .unwrap_or(deadline);
        if ev.decision == Decision::Failed {
            self.record_decision(payload, ev, report_by).await;
        }
        let reported = self.report(payload, ev.decision, report_by).await;
        ev.reported = match &reported {
            Ok(r) => r.as_str().to_owned(),
            Err(e) => format!("error: {e}"),
        };
        crate::measure::log_and_measure(&self.metrics_namespace, ev, ev.state());
        if ev.decision == Decision::Succeeded && matches!(reported, Ok(Reported::Reported)) {
            // A `Failed` recorded by an attempt that died before its status landed is void.
            self.record_decision(payload, ev, report_by).await;
        }
        self.alert_owed(payload, ev, &reported, deadline).await?;
        reported
    }

    /// When the checks must end (`deadline` less the margin kept to answer), and that margin:
    /// the report margin, at most a third of the time left.
    pub(crate) fn budget(&self, deadline: Instant) -> (Instant, Duration) {
        let total = deadline.saturating_duration_since(Instant::now());
        let margin = self.settings.report_margin.min(total / 3);
        (deadline.checked_sub(margin).unwrap_or(deadline), margin)
    }

    /// The region and account the alert names: the clients' region, the function's account.
    pub(crate) fn locate(&self, ev: &mut Evidence, context: &lambda_runtime::Context) {
        let arn: Vec<&str> = context.invoked_function_arn.split(':').collect();
        let part = |i: usize| {
            arn.get(i)
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        ev.region = self.region.clone().or_else(|| part(3));
        ev.account = part(4).filter(|a| a.bytes().all(|b| b.is_ascii_digit()));
        ev.request_id = context.request_id.clone();
    }

    /// Reports the decision; retries what may pass later until `by`. A status CodeDeploy
    /// already has is not an error.
    async fn report(
        &self,
        payload: &HookPayload,
        decision: Decision,
        by: Instant,
    ) -> Result<Reported> {
        loop {
            let call = self.deployments.report(
                &payload.deployment_id,
                &payload.hook_execution_id,
                decision,
            );
            let err = match tokio::time::timeout_at(by, call).await {
                Ok(Ok(Reported::AlreadyCompleted)) => {
                    tracing::info!(
                        deployment_id = %payload.deployment_id,
                        "the lifecycle event already has its status (a repeated invocation): nothing to change"
                    );
                    return Ok(Reported::AlreadyCompleted);
                }
                Ok(Ok(r)) => return Ok(r),
                Ok(Err(e)) => e,
                Err(_) => {
                    return Err(Error::transient(
                        "PutLifecycleEventHookExecutionStatus did not answer before the invocation's deadline",
                    ));
                }
            };
            if !err.is_retryable() || Instant::now() + REPORT_RETRY >= by {
                tracing::error!(deployment_id = %payload.deployment_id, error = %err, "cannot report the hook status");
                return Err(err);
            }
            tracing::warn!(error = %err, "reporting the hook status failed; retrying");
            tokio::time::sleep(REPORT_RETRY).await;
        }
    }
}

/// Records that the checks did not finish within the invocation's time budget (`margin` is
/// the time kept before the deadline to answer).
pub(crate) fn out_of_time(ev: &mut Evidence, margin: Duration) {
    ev.checks.push(CheckResult::new(
        "deadline",
        false,
        None,
        format!(
            "the checks did not finish within the invocation's time budget ({} ms before the deadline kept to report)",
            margin.as_millis()
        ),
    ));
    ev.error
        .get_or_insert_with(|| "ran out of time before the checks finished".into());
    ev.infrastructure.push("deadline".into());
}

#[cfg(test)]
#[path = "app_test.rs"]
mod tests;
