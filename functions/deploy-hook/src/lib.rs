//! `deploy-hook`: the CodeDeploy lifecycle hook of ECS blue/green deployments.
//!
//! CodeDeploy invokes it with `{"DeploymentId": ..., "LifecycleEventHookExecutionId": ...}` from
//! any of the five hooks of an ECS `appspec.yaml`. From the deployment alone it finds which hook is
//! running, the green target group and the listener that serves it ([`discovery`]); then it checks
//! the green target group's health ([`health`]) and probes the service through the listener
//! ([`probe`]), as the hook's policy says ([`policy`]). It always reports `Succeeded` or `Failed`
//! with `PutLifecycleEventHookExecutionStatus` before its deadline; on `Failed` it publishes the
//! evidence to the alert topic.

pub mod discovery;
pub mod health;
pub mod policy;
pub mod probe;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_codedeploy::types::LifecycleEventStatus;
use codehooks::aws::AwsOptions;
use codehooks::config::{Common, ConfigError, Env};
use codehooks::emf::{Metrics, Unit};
use codehooks::{Error, Result};
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use discovery::{Clients, DiscoveryError, Plan};
use health::HealthResult;
use policy::{Checks, Hook, Policy};
use probe::{CheckResult, Criteria, Endpoint, PathReport};

/// The function's name, as the demo and logs show it.
pub const NAME: &str = "deploy-hook";

/// Time kept back at the end of an invocation to report the status (at most a third of it).
const DEFAULT_REPORT_MARGIN_MS: u64 = 3_000;

/// The function's own settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub policy: Policy,
    /// Replaces the probes' scheme, host and port; `{port}` stands for the listener's port.
    pub base_url: Option<String>,
    pub dry_run: bool,
    pub fail_open: bool,
    pub alert_topic_arn: Option<String>,
    pub report_margin: Duration,
}

impl Settings {
    /// Reads and validates the settings; problems are recorded in `env`.
    pub fn read(env: &mut Env<'_>) -> Settings {
        let raw_policy = env.optional("CODEHOOKS_HOOK_POLICY");
        let paths = env.list("CODEHOOKS_HOOK_PATHS");
        let host = env.optional("CODEHOOKS_HOOK_HOST_NAME");
        let policy = match Policy::parse(raw_policy.as_deref(), paths.clone(), host.clone()) {
            Ok(p) => p,
            Err(problems) => {
                let var = if raw_policy.is_some()
                    && Policy::parse(raw_policy.as_deref(), vec![], None).is_err()
                {
                    "CODEHOOKS_HOOK_POLICY"
                } else if !paths.is_empty() && Policy::parse(None, paths.clone(), None).is_err() {
                    "CODEHOOKS_HOOK_PATHS"
                } else {
                    "CODEHOOKS_HOOK_HOST_NAME"
                };
                env.problem(var, problems.join("; "));
                Policy::default()
            }
        };
        let base_url = env.optional("CODEHOOKS_HOOK_BASE_URL");
        if let Some(b) = &base_url
            && let Err(e) = parse_base_url(b, 443)
        {
            env.problem("CODEHOOKS_HOOK_BASE_URL", e);
        }
        Settings {
            policy,
            base_url,
            dry_run: env.bool_or("CODEHOOKS_HOOK_DRY_RUN", false),
            fail_open: env.bool_or("CODEHOOKS_HOOK_FAIL_OPEN", false),
            alert_topic_arn: env.optional_arn("CODEHOOKS_ALERT_TOPIC_ARN", "sns"),
            report_margin: env.millis_in(
                "CODEHOOKS_HOOK_REPORT_MARGIN_MS",
                DEFAULT_REPORT_MARGIN_MS,
                200..=60_000,
            ),
        }
    }
}

/// `(scheme, host, port)` of a base URL with `{port}` replaced by `port`.
pub fn parse_base_url(template: &str, port: u16) -> Result<(String, String, u16), String> {
    let text = template.replace("{port}", &port.to_string());
    let url = reqwest::Url::parse(&text)
        .map_err(|e| format!("must be a URL like http://10.0.0.5:{{port}}: {e}"))?;
    let scheme = url.scheme().to_owned();
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "must be an http or https URL, got scheme {scheme:?}"
        ));
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("must name a host")?
        .to_owned();
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    let port = url.port_or_known_default().ok_or("must have a port")?;
    Ok((scheme, host, port))
}

/// What the Lambda runtime loop serves: the hook itself, or, when the configuration is invalid,
/// a hook that can only report `Failed`.
///
/// A hook whose process exits at start-up never reports, and CodeDeploy then waits an hour for a
/// status. So an invalid configuration is logged once, naming the variable and why, and the
/// function still starts: each invocation with a hook payload reports `Failed` (never
/// `Succeeded`: dry run and fail-open are settings too, and a wrong configuration cannot be
/// trusted to ask for them; rolling back is the safe side) and returns the `Config` error.
#[derive(Debug)]
pub struct Service {
    pub app: App,
    /// What is wrong with the configuration, when something is.
    pub config_error: Option<ConfigError>,
}

impl Service {
    /// Reads the configuration from the process environment and builds the clients.
    pub async fn from_env() -> Service {
        Self::from_lookup(|name| std::env::var(name).ok()).await
    }

    /// Reads the configuration through `lookup` (the process environment, or a fixed set of
    /// variables in tests) and builds the clients.
    pub async fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Service {
        let mut env = Env::from_fn(&lookup);
        let common = Common::read(&mut env);
        let mut settings = Settings::read(&mut env);
        let problem = match env.finish() {
            Ok(()) => {
                let sdk = codehooks::aws::load(&common.aws).await;
                return Service {
                    app: App::with_config(common, settings, &sdk),
                    config_error: None,
                };
            }
            Err(problem) => problem,
        };
        tracing::error!(
            error = %problem,
            "start-up: invalid configuration; every lifecycle hook will be reported Failed until it is corrected"
        );
        // The retry and timeout settings may be what is wrong: then the shared defaults report.
        let mut aws_env = Env::from_fn(&lookup);
        let configured = AwsOptions::read(&mut aws_env);
        let aws = match aws_env.finish() {
            Ok(()) => configured,
            Err(_) => AwsOptions::default(),
        };
        settings.dry_run = false;
        settings.fail_open = false;
        let sdk = codehooks::aws::load(&aws).await;
        Service {
            app: App::with_config(Common { aws, ..common }, settings, &sdk),
            config_error: Some(problem),
        }
    }

    /// Handles one invocation.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value> {
        match &self.config_error {
            None => self.app.handle(event).await,
            Some(problem) => self.app.refuse(event, problem).await,
        }
    }
}

/// The function's configuration and clients, built once per execution environment.
#[derive(Debug)]
pub struct App {
    pub common: Common,
    pub settings: Settings,
    pub clients: Clients,
    pub sns: aws_sdk_sns::Client,
}

impl App {
    /// Reads and validates the configuration and builds the AWS clients.
    pub async fn from_env() -> Result<Self> {
        let mut env = Env::from_process();
        let common = Common::read(&mut env);
        let settings = Settings::read(&mut env);
        env.finish()?;
        let sdk = codehooks::aws::load(&common.aws).await;
        Ok(Self::with_config(common, settings, &sdk))
    }

    pub fn with_config(common: Common, settings: Settings, sdk: &aws_config::SdkConfig) -> Self {
        App {
            common,
            settings,
            clients: Clients {
                codedeploy: aws_sdk_codedeploy::Client::new(sdk),
                elb: aws_sdk_elasticloadbalancingv2::Client::new(sdk),
            },
            sns: aws_sdk_sns::Client::new(sdk),
        }
    }

    /// Handles one invocation: checks, reports, alerts.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value> {
        let started = Instant::now();
        let payload = HookPayload::parse(&event.payload)?;
        let deadline = deadline_instant(event.context.deadline);
        let total = deadline.saturating_duration_since(Instant::now());
        let margin = self.settings.report_margin.min(total / 3);
        let budget_end = deadline.checked_sub(margin).unwrap_or(deadline);
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
        ev.decide(&self.settings);
        ev.duration_ms = started.elapsed().as_millis() as u64;

        let report_by = deadline
            .checked_sub(Duration::from_millis(100))
            .unwrap_or(deadline);
        let reported = self.report(&payload, ev.decision, report_by).await;
        ev.reported = match &reported {
            Ok(r) => (*r).to_owned(),
            Err(e) => format!("error: {e}"),
        };
        self.log_and_measure(&ev);
        // Only the invocation that set the status alerts: a repeated one changes nothing.
        if ev.alert_worthy() && matches!(reported, Ok("reported")) {
            self.publish(&ev, deadline).await;
        }
        match reported {
            Ok(_) => {
                serde_json::to_value(&ev).map_err(|e| Error::internal(format!("evidence: {e}")))
            }
            Err(e) => Err(e),
        }
    }

    /// The degraded handler of an invalid configuration: reports `Failed` for a hook payload
    /// (without checking anything, whatever dry run or fail-open say), publishes why, and returns
    /// the `Config` error that names the variable. Anything else is `BadInput`, with no call.
    pub async fn refuse(&self, event: LambdaEvent<Value>, problem: &ConfigError) -> Result<Value> {
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
        ev.decide(&Settings {
            dry_run: false,
            fail_open: false,
            ..self.settings.clone()
        });
        ev.duration_ms = started.elapsed().as_millis() as u64;
        let report_by = deadline
            .checked_sub(Duration::from_millis(100))
            .unwrap_or(deadline);
        let reported = self.report(&payload, Decision::Failed, report_by).await;
        ev.reported = match &reported {
            Ok(r) => (*r).to_owned(),
            Err(e) => format!("error: {e}"),
        };
        self.log_and_measure(&ev);
        if matches!(reported, Ok("reported")) {
            self.publish(&ev, deadline).await;
        }
        Err(Error::Config(problem.clone()))
    }

    /// The region and account the alert names: the clients' region, the function's account.
    fn locate(&self, ev: &mut Evidence, context: &lambda_runtime::Context) {
        let arn: Vec<&str> = context.invoked_function_arn.split(':').collect();
        let part = |i: usize| {
            arn.get(i)
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        ev.region = self
            .clients
            .codedeploy
            .config()
            .region()
            .map(|r| r.as_ref().to_owned())
            .or_else(|| part(3));
        ev.account = part(4).filter(|a| a.bytes().all(|b| b.is_ascii_digit()));
    }

    async fn evaluate(&self, payload: &HookPayload, ev: &mut Evidence, until: Instant) {
        let policy = &self.settings.policy;
        let needs_test = |group: &str| policy.checks(Hook::AfterAllowTestTraffic, group).probes;
        let plan =
            match discovery::discover(&self.clients, &payload.deployment_id, needs_test).await {
                Ok(p) => p,
                Err(DiscoveryError::Unsupported(msg)) => {
                    ev.checks
                        .push(CheckResult::new("discovery", false, None, msg));
                    return;
                }
                Err(DiscoveryError::Aws(e)) => {
                    ev.checks
                        .push(CheckResult::new("discovery", false, None, e.to_string()));
                    ev.error = Some(e.to_string());
                    ev.infrastructure.push("discovery".into());
                    return;
                }
            };
        let checks = policy.checks(plan.hook, &plan.deployment_group);
        ev.absorb_plan(&plan);
        if !checks.enabled {
            ev.notes.push(format!(
                "checks of {} are disabled by the policy",
                plan.hook
            ));
            return;
        }
        if plan.hook == Hook::BeforeInstall {
            let l = plan.listener.as_ref();
            ev.checks.push(CheckResult::new(
                "preflight",
                true,
                None,
                format!(
                    "deployment group {} is supported: target groups {}, {} listener on port {} of {}",
                    plan.deployment_group,
                    plan.green
                        .iter()
                        .chain(plan.blue.iter())
                        .map(|g| g.name.as_str())
                        .collect::<Vec<_>>()
                        .join(" and "),
                    l.map(|l| l.role.as_str()).unwrap_or("no"),
                    l.map(|l| l.port).unwrap_or_default(),
                    l.map(|l| l.load_balancer_dns.as_str()).unwrap_or("no load balancer"),
                ),
            ));
        }
        let probing = checks.probes && plan.hook.listener().is_some() && plan.listener.is_some();
        if probing {
            match discovery::verify_listener(&plan) {
                Ok(()) => ev.checks.push(CheckResult::new(
                    "listener",
                    true,
                    None,
                    "the listener forwards to the green target group only",
                )),
                Err(msg) => {
                    ev.checks
                        .push(CheckResult::new("listener", false, None, msg));
                    return;
                }
            }
        }
        if checks.target_health
            && let Some(green) = &plan.green
        {
            let wait_until =
                (Instant::now() + Duration::from_millis(checks.target_health_wait_ms)).min(until);
            match health::wait_healthy(
                &self.clients.elb,
                &green.name,
                &green.arn,
                plan.desired_count.unwrap_or(1),
                Duration::from_millis(checks.target_health_poll_ms),
                wait_until,
            )
            .await
            {
                Ok(h) => {
                    let passed = h.passed;
                    ev.checks.push(CheckResult::new(
                        "targetHealth",
                        passed,
                        None,
                        h.detail.clone(),
                    ));
                    ev.target_health = Some(h);
                    if !passed {
                        return;
                    }
                }
                Err(e) => {
                    ev.checks
                        .push(CheckResult::new("targetHealth", false, None, e.to_string()));
                    ev.error = Some(e.to_string());
                    ev.infrastructure.push("targetHealth".into());
                    return;
                }
            }
        }
        if probing && let Some(listener) = &plan.listener {
            self.probe(&plan, &checks, listener, ev, until).await;
        }
    }

    async fn probe(
        &self,
        plan: &Plan,
        checks: &Checks,
        listener: &discovery::ListenerInfo,
        ev: &mut Evidence,
        until: Instant,
    ) {
        let version_token = match &checks.version {
            None => None,
            Some(v) => match expand_version(&v.expected, plan) {
                Ok(t) => Some(t),
                Err(msg) => {
                    ev.checks
                        .push(CheckResult::new("version", false, None, msg));
                    return;
                }
            },
        };
        let endpoint = match endpoint(
            self.settings.base_url.as_deref(),
            listener,
            checks.host_name.as_deref(),
        )
        .await
        {
            Ok(e) => e,
            Err(msg) => {
                ev.checks
                    .push(CheckResult::new("endpoint", false, None, msg));
                return;
            }
        };
        ev.url = Some(format!(
            "{}{}",
            endpoint.origin,
            checks.paths.first().map(String::as_str).unwrap_or("/")
        ));
        ev.connect_to = Some(endpoint.connect_to.clone());
        let client = match probe::client(checks, &endpoint) {
            Ok(c) => c,
            Err(msg) => {
                ev.checks
                    .push(CheckResult::new("endpoint", false, None, msg.clone()));
                ev.error = Some(msg);
                ev.infrastructure.push("endpoint".into());
                return;
            }
        };
        let criteria = Arc::new(Criteria {
            checks: checks.clone(),
            version_token,
        });
        for (i, path) in checks.paths.iter().enumerate() {
            let report = probe::probe_path(
                &client,
                &endpoint,
                path,
                Arc::clone(&criteria),
                i == 0,
                until,
            )
            .await;
            let before = ev.checks.len();
            probe::evaluate(checks, &report, &mut ev.checks);
            let failed = ev.checks[before..].iter().any(|c| !c.passed);
            ev.probes.push(report);
            if failed {
                break;
            }
        }
    }

    /// Reports the decision; retries what may pass later until `by`. A status CodeDeploy
    /// already has is not an error.
    async fn report(
        &self,
        payload: &HookPayload,
        decision: Decision,
        by: Instant,
    ) -> Result<&'static str> {
        let status = match decision {
            Decision::Succeeded => LifecycleEventStatus::Succeeded,
            Decision::Failed => LifecycleEventStatus::Failed,
        };
        loop {
            let call = self
                .clients
                .codedeploy
                .put_lifecycle_event_hook_execution_status()
                .deployment_id(&payload.deployment_id)
                .lifecycle_event_hook_execution_id(&payload.hook_execution_id)
                .status(status.clone())
                .send();
            let err = match tokio::time::timeout_at(by, call).await {
                Ok(Ok(_)) => return Ok("reported"),
                Ok(Err(e)) => Error::aws("PutLifecycleEventHookExecutionStatus", e),
                Err(_) => {
                    return Err(Error::transient(
                        "PutLifecycleEventHookExecutionStatus did not answer before the invocation's deadline",
                    ));
                }
            };
            if err.aws_code() == Some("LifecycleEventAlreadyCompletedException") {
                tracing::info!(
                    deployment_id = %payload.deployment_id,
                    "the lifecycle event already has its status (a repeated invocation): nothing to change"
                );
                return Ok("alreadyCompleted");
            }
            if !err.is_retryable() || Instant::now() + Duration::from_millis(250) >= by {
                tracing::error!(deployment_id = %payload.deployment_id, error = %err, "cannot report the hook status");
                return Err(err);
            }
            tracing::warn!(error = %err, "reporting the hook status failed; retrying");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn publish(&self, ev: &Evidence, deadline: Instant) {
        let Some(topic) = &self.settings.alert_topic_arn else {
            return;
        };
        let subject = ev.subject();
        let message = match serde_json::to_string_pretty(&ev.alert_body()) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "cannot render the alert");
                return;
            }
        };
        let mut req = self
            .sns
            .publish()
            .topic_arn(topic)
            .subject(subject)
            .message(message);
        for (k, v) in ev.attributes() {
            if let Ok(a) = aws_sdk_sns::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
            {
                req = req.message_attributes(k, a);
            }
        }
        let by = deadline
            .checked_sub(Duration::from_millis(50))
            .unwrap_or(deadline);
        match tokio::time::timeout_at(by, req.send()).await {
            Ok(Ok(_)) => {
                tracing::info!(topic = %topic, "published the evidence to the alert topic")
            }
            Ok(Err(e)) => {
                tracing::error!(error = %Error::aws("Publish", e), "cannot publish the alert")
            }
            Err(_) => tracing::error!("the alert was not published before the deadline"),
        }
    }

    fn log_and_measure(&self, ev: &Evidence) {
        let failed = ev.failed_checks();
        let first = ev.probes.first();
        tracing::info!(
            deployment_id = %ev.deployment_id,
            hook = ev.hook.as_deref().unwrap_or("unknown"),
            deployment_group = ev.deployment_group.as_deref().unwrap_or(""),
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
        let mut m = Metrics::new(&self.common.metrics_namespace, NAME);
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
            .property("failedChecks", failed.join(","));
        if let Some(g) = &ev.deployment_group {
            m.property("deploymentGroup", g.as_str());
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
}

/// The invocation payload CodeDeploy sends to a lifecycle hook.
#[derive(Debug, Clone, PartialEq)]
pub struct HookPayload {
    pub deployment_id: String,
    pub hook_execution_id: String,
}

impl HookPayload {
    pub fn parse(v: &Value) -> Result<HookPayload> {
        let field = |name: &str, max: usize| -> Result<String> {
            let s = v
                .get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    Error::bad_input(format!(
                        "{name} is missing: this function is a CodeDeploy lifecycle hook and expects \
                         {{\"DeploymentId\": ..., \"LifecycleEventHookExecutionId\": ...}}"
                    ))
                })?;
            if s.len() > max || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(Error::bad_input(format!(
                    "{name} is not a valid identifier"
                )));
            }
            Ok(s.to_owned())
        };
        let deployment_id = field("DeploymentId", 64)?;
        if !deployment_id.starts_with("d-")
            || !deployment_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(Error::bad_input(format!(
                "DeploymentId {deployment_id:?} is not a CodeDeploy deployment id (d-XXXXXXXXX)"
            )));
        }
        Ok(HookPayload {
            deployment_id,
            hook_execution_id: field("LifecycleEventHookExecutionId", 2048)?,
        })
    }
}

/// The instant of the invocation deadline (epoch milliseconds); without one, 15 minutes.
fn deadline_instant(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let left = if deadline_ms == 0 {
        900_000
    } else {
        deadline_ms.saturating_sub(now_ms)
    };
    Instant::now() + Duration::from_millis(left)
}

/// The version token with `{taskDefinition}`, `{taskDefinitionRevision}` and `{deploymentId}` filled in.
pub fn expand_version(expected: &str, plan: &Plan) -> Result<String, String> {
    let mut out = expected.replace("{deploymentId}", &plan.deployment_id);
    if out.contains("{taskDefinition") {
        let td = plan.task_definition.as_deref().ok_or_else(|| {
            format!(
                "the version assertion {expected:?} needs the task definition, but deployment {} has no \
                 AppSpec content naming one",
                plan.deployment_id
            )
        })?;
        let revision = td.rsplit_once(':').map(|(_, r)| r).unwrap_or(td);
        out = out
            .replace("{taskDefinitionRevision}", revision)
            .replace("{taskDefinition}", td);
    }
    Ok(out)
}

/// Where probes go for `listener`, with the base URL override and host name applied.
pub async fn endpoint(
    base_url: Option<&str>,
    listener: &discovery::ListenerInfo,
    host_name: Option<&str>,
) -> Result<Endpoint, String> {
    let (scheme, connect_host, port) = match base_url {
        Some(b) => {
            parse_base_url(b, listener.port).map_err(|e| format!("CODEHOOKS_HOOK_BASE_URL {e}"))?
        }
        None => {
            if listener.load_balancer_dns.is_empty() {
                return Err(format!(
                    "the load balancer of listener {} has no DNS name",
                    listener.arn
                ));
            }
            (
                listener.scheme().to_owned(),
                listener.load_balancer_dns.clone(),
                listener.port,
            )
        }
    };
    let connect_to = format!("{connect_host}:{port}");
    let Some(name) = host_name else {
        if scheme == "https" && base_url.is_none() {
            return Err(format!(
                "the {} listener is HTTPS and its certificate does not name the load balancer {}: set the \
                 service's host name (CODEHOOKS_HOOK_HOST_NAME or hostName in the policy) so TLS can be verified",
                listener.role.as_str(),
                listener.load_balancer_dns
            ));
        }
        return Ok(Endpoint {
            origin: format!("{scheme}://{connect_host}:{port}"),
            resolve: None,
            connect_to,
        });
    };
    let bare = connect_host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|e| format!("cannot resolve {bare}: {e}"))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(format!("{bare} resolves to no address"));
    }
    Ok(Endpoint {
        origin: format!("{scheme}://{name}:{port}"),
        resolve: Some((name.to_owned(), addrs)),
        connect_to,
    })
}

/// The status reported to CodeDeploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Decision {
    Succeeded,
    Failed,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Succeeded => "Succeeded",
            Decision::Failed => "Failed",
        }
    }
}

/// What was found, checked and decided: the response, the log summary and the alert.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    pub deployment_id: String,
    pub lifecycle_event_hook_execution_id: String,
    pub hook: Option<String>,
    pub application: Option<String>,
    pub deployment_group: Option<String>,
    pub decision: Decision,
    pub reported: String,
    pub summary: String,
    pub failed_checks: Vec<String>,
    pub dry_run: bool,
    pub would_fail: bool,
    pub fail_open: bool,
    pub checks: Vec<CheckResult>,
    pub target_health: Option<HealthResult>,
    pub probes: Vec<PathReport>,
    pub url: Option<String>,
    pub connect_to: Option<String>,
    pub listener: Option<discovery::ListenerInfo>,
    pub green_target_group: Option<String>,
    pub blue_target_group: Option<String>,
    pub task_definition: Option<String>,
    pub target_type: Option<String>,
    pub notes: Vec<String>,
    pub error: Option<String>,
    /// The region of the deployment (the function's), for the alert's attributes.
    #[serde(skip)]
    pub region: Option<String>,
    /// The account of the deployment (the function's), when the invocation names it.
    #[serde(skip)]
    pub account: Option<String>,
    /// Failed checks that failed because the hook could not check (not a verdict on green).
    #[serde(skip)]
    pub infrastructure: Vec<String>,
    pub duration_ms: u64,
}

impl Evidence {
    fn new(p: &HookPayload) -> Evidence {
        Evidence {
            deployment_id: p.deployment_id.clone(),
            lifecycle_event_hook_execution_id: p.hook_execution_id.clone(),
            hook: None,
            application: None,
            deployment_group: None,
            decision: Decision::Failed,
            reported: String::new(),
            summary: String::new(),
            failed_checks: Vec::new(),
            dry_run: false,
            would_fail: false,
            fail_open: false,
            checks: Vec::new(),
            target_health: None,
            probes: Vec::new(),
            url: None,
            connect_to: None,
            listener: None,
            green_target_group: None,
            blue_target_group: None,
            task_definition: None,
            target_type: None,
            notes: Vec::new(),
            error: None,
            region: None,
            account: None,
            infrastructure: Vec::new(),
            duration_ms: 0,
        }
    }

    fn absorb_plan(&mut self, plan: &Plan) {
        self.hook = Some(plan.hook.to_string());
        self.application = Some(plan.application.clone());
        self.deployment_group = Some(plan.deployment_group.clone());
        self.listener = plan.listener.clone();
        self.green_target_group = plan.green.as_ref().map(|g| g.name.clone());
        self.blue_target_group = plan.blue.as_ref().map(|g| g.name.clone());
        self.task_definition = plan.task_definition.clone();
        self.target_type = Some(plan.target_type.clone());
        self.notes.extend(plan.notes.iter().cloned());
    }

    fn failed_checks(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in self.checks.iter().filter(|c| !c.passed) {
            if !out.contains(&c.check) {
                out.push(c.check.clone());
            }
        }
        out
    }

    /// Whether every failed check failed for want of a check (AWS errors, time running out)
    /// rather than because green failed it: only then does fail-open pass the hook.
    fn could_not_check(&self) -> bool {
        !self.failed_checks.is_empty()
            && self
                .failed_checks
                .iter()
                .all(|c| c == "deadline" || self.infrastructure.contains(c))
    }

    /// Sets the decision from the checks and the settings.
    fn decide(&mut self, s: &Settings) {
        self.failed_checks = self.failed_checks();
        let failing = !self.failed_checks.is_empty() || self.error.is_some();
        self.decision = if !failing {
            Decision::Succeeded
        } else if s.dry_run {
            self.dry_run = true;
            self.would_fail = true;
            Decision::Succeeded
        } else if s.fail_open && self.could_not_check() {
            self.fail_open = true;
            self.would_fail = true;
            Decision::Succeeded
        } else {
            Decision::Failed
        };
        self.dry_run = s.dry_run;
        let hook = self.hook.as_deref().unwrap_or("lifecycle hook");
        let why: Vec<String> = self
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| match &c.path {
                Some(p) => format!("{} {p}: {}", c.check, c.detail),
                None => format!("{}: {}", c.check, c.detail),
            })
            .collect();
        self.summary = match (self.decision, self.would_fail) {
            (Decision::Succeeded, false) => {
                let passed: Vec<&str> = self.checks.iter().map(|c| c.check.as_str()).collect();
                format!(
                    "{hook} passed ({})",
                    if passed.is_empty() {
                        "no checks configured".into()
                    } else {
                        passed.join(", ")
                    }
                )
            }
            (Decision::Succeeded, true) if self.dry_run => {
                format!("DRY RUN: {hook} would have failed: {}", why.join("; "))
            }
            (Decision::Succeeded, true) => format!(
                "FAIL OPEN: {hook} could not be checked and was passed: {}",
                self.error.as_deref().unwrap_or("error")
            ),
            (Decision::Failed, _) => format!("{hook} failed: {}", why.join("; ")),
        };
    }

    fn alert_worthy(&self) -> bool {
        self.decision == Decision::Failed || self.would_fail
    }

    /// The alert's `state` attribute: what was reported, and in which mode.
    fn state(&self) -> &'static str {
        match (self.decision, self.would_fail) {
            (Decision::Failed, _) => "Failed",
            (Decision::Succeeded, true) if self.dry_run => "DryRunFailed",
            (Decision::Succeeded, true) => "FailOpenSucceeded",
            (Decision::Succeeded, false) => "Succeeded",
        }
    }

    /// The alert's `severity` attribute: `error` when the deployment rolls back, `warning` when a
    /// failure was let through (dry run, fail-open).
    fn severity(&self) -> &'static str {
        if self.decision == Decision::Failed {
            "error"
        } else if self.would_fail {
            "warning"
        } else {
            "info"
        }
    }

    /// The alert's SNS message attributes. The first six carry the names and meanings of
    /// build-alerts' attributes (`source`, `name`, `state`, `severity`, `region`, `account`) so
    /// one subscription filter policy serves both; `decision`, `deploymentId` and `hook` are the
    /// hook's own. `name` and `account` are left out when unknown; no value is empty.
    fn attributes(&self) -> Vec<(&'static str, String)> {
        let name = match (&self.application, &self.deployment_group) {
            (Some(a), Some(g)) => Some(format!("{a}/{g}")),
            _ => None,
        };
        let attrs = [
            ("source", Some(NAME.to_owned())),
            ("name", name),
            ("state", Some(self.state().to_owned())),
            ("severity", Some(self.severity().to_owned())),
            ("region", self.region.clone()),
            ("account", self.account.clone()),
            ("decision", Some(self.decision.as_str().to_owned())),
            ("deploymentId", Some(self.deployment_id.clone())),
            (
                "hook",
                Some(self.hook.clone().unwrap_or_else(|| "unknown".into())),
            ),
        ];
        attrs
            .into_iter()
            .filter_map(|(k, v)| {
                let v: String = v?
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .take(256)
                    .collect();
                let v = v.trim();
                (!v.is_empty()).then(|| (k, v.to_owned()))
            })
            .collect()
    }

    fn subject(&self) -> String {
        let prefix = if self.dry_run && self.would_fail {
            "[dry run] "
        } else {
            ""
        };
        let what = if self.decision == Decision::Failed {
            "rolled back"
        } else {
            "would have failed"
        };
        let about: Vec<&str> = [self.deployment_group.as_deref(), self.hook.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect();
        let s = if about.is_empty() {
            format!("{prefix}codehooks: {} {what}", self.deployment_id)
        } else {
            format!(
                "{prefix}codehooks: {} {what}: {}",
                self.deployment_id,
                about.join(" ")
            )
        };
        // SNS subjects: ASCII, no line breaks, at most 100 characters.
        s.chars()
            .map(|c| {
                if c.is_ascii() && !c.is_ascii_control() {
                    c
                } else {
                    '?'
                }
            })
            .take(100)
            .collect()
    }

    fn alert_body(&self) -> Value {
        json!({
            "summary": self.summary,
            "deploymentId": self.deployment_id,
            "application": self.application,
            "deploymentGroup": self.deployment_group,
            "hook": self.hook,
            "decision": self.decision,
            "dryRun": self.dry_run,
            "failOpen": self.fail_open,
            "failedChecks": self.failed_checks,
            "checks": self.checks,
            "url": self.url,
            "connectTo": self.connect_to,
            "probes": self.probes,
            "targetHealth": self.target_health,
            "greenTargetGroup": self.green_target_group,
            "blueTargetGroup": self.blue_target_group,
            "taskDefinition": self.task_definition,
            "error": self.error,
            "notes": self.notes,
        })
    }
}

/// Reads the settings from a fixed environment (for tools and tests).
pub fn settings_from_pairs<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> std::result::Result<Settings, ConfigError> {
    let mut env = Env::from_pairs(pairs);
    let s = Settings::read(&mut env);
    env.finish()?;
    Ok(s)
}

/// A one-line description of what the function does.
pub fn describe() -> Value {
    json!({
        "function": NAME,
        "does": "verifies the green task set of an ECS blue/green deployment and reports the lifecycle hook status",
    })
}

#[cfg(test)]
#[path = "lib_test.rs"]
mod tests;
