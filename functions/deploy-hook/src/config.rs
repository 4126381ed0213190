//! The function's own settings (`CODEHOOKS_HOOK_*`, among them `CODEHOOKS_HOOK_CONTRACTS`, `CODEHOOKS_ALERT_TOPIC_ARN`,
//! `CODEHOOKS_ALERTS_TABLE`), read and
//! validated once at start-up.

use std::time::Duration;

use codehooks::config::{ConfigError, Env};

use crate::policy::Policy;

/// Time kept back at the end of an invocation to report the status (at most a third of it).
const DEFAULT_REPORT_MARGIN_MS: u64 = 3_000;

/// The function's own settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub policy: Policy,
    /// Replaces the probes' scheme, host and port; `{port}` stands for the listener's port.
    pub base_url: Option<String>,
    pub dry_run: bool,
    pub fail_open: bool,
    pub alert_topic_arn: Option<String>,
    /// The once-only table (the stack's alerts table) that makes the rollback alert
    /// exactly-once per hook execution; without it the alert is at-least-once.
    pub alerts_table: Option<String>,
    pub report_margin: Duration,
    /// The Lambda functions a Lambda deployment may be verified for
    /// (`CODEHOOKS_HOOK_LAMBDA_FUNCTIONS`, from the template parameter
    /// `DeployHookLambdaFunctions`): the hook's IAM policy lets it invoke only these.
    pub lambda_functions: Vec<String>,
    /// The payload contracts this function serves (`CODEHOOKS_HOOK_CONTRACTS`; all by
    /// default): the template gives the hook `codedeploy,ecs` and the pipeline action's
    /// function `pipeline`, each role holding only its contracts' permissions.
    pub contracts: Vec<crate::contract::Kind>,
}

impl Config {
    /// Reads and validates the settings; problems are recorded in `env`.
    pub fn read(env: &mut Env<'_>) -> Config {
        let raw_policy = env.optional("CODEHOOKS_HOOK_POLICY");
        let paths = env.list("CODEHOOKS_HOOK_PATHS");
        let host = env.optional("CODEHOOKS_HOOK_HOST_NAME");
        let ceiling = env.u64_in(
            "CODEHOOKS_HOOK_MAX_LOAD_RPS",
            u64::from(crate::analysis::spec::DEFAULT_LOAD_CEILING),
            1..=1_000,
        );
        let load_ceiling =
            u32::try_from(ceiling).unwrap_or(crate::analysis::spec::DEFAULT_LOAD_CEILING);
        let policy = match Policy::parse_with_ceiling(
            raw_policy.as_deref(),
            paths.clone(),
            host.clone(),
            load_ceiling,
        ) {
            Ok(p) => p,
            Err(problems) => {
                let var = if raw_policy.is_some()
                    && Policy::parse_with_ceiling(raw_policy.as_deref(), vec![], None, load_ceiling)
                        .is_err()
                {
                    "CODEHOOKS_HOOK_POLICY"
                } else if !paths.is_empty() && Policy::parse(None, paths.clone(), None).is_err() {
                    "CODEHOOKS_HOOK_PATHS"
                } else {
                    "CODEHOOKS_HOOK_HOST_NAME"
                };
                env.problem(var, problems.to_string());
                Policy::default()
            }
        };
        let base_url = env.optional("CODEHOOKS_HOOK_BASE_URL");
        if let Some(b) = &base_url
            && let Err(e) = parse_base_url(b, 443)
        {
            env.problem("CODEHOOKS_HOOK_BASE_URL", e.to_string());
        }
        let alerts_table = env.optional("CODEHOOKS_ALERTS_TABLE");
        if alerts_table
            .as_deref()
            .is_some_and(|t| !codehooks::names::is_table_name(t))
        {
            env.problem(
                "CODEHOOKS_ALERTS_TABLE",
                "must be a DynamoDB table name (3 to 255 letters, digits, '_', '-' or '.')",
            );
        }
        let lambda_functions = env.list("CODEHOOKS_HOOK_LAMBDA_FUNCTIONS");
        let bad: Vec<&str> = lambda_functions
            .iter()
            .map(String::as_str)
            .filter(|f| !crate::lambda::is_function_name(f))
            .collect();
        if !bad.is_empty() {
            env.problem(
                "CODEHOOKS_HOOK_LAMBDA_FUNCTIONS",
                format!(
                    "must list Lambda function names (1 to 64 letters, digits, '-' or '_'; no \
                     ARNs, no versions or aliases), separated by commas; not: {}",
                    bad.join(", ")
                ),
            );
        }
        let contracts = read_contracts(env);
        Config {
            policy,
            base_url,
            dry_run: env.bool_or("CODEHOOKS_HOOK_DRY_RUN", false),
            fail_open: env.bool_or("CODEHOOKS_HOOK_FAIL_OPEN", false),
            alert_topic_arn: env.optional_arn("CODEHOOKS_ALERT_TOPIC_ARN", "sns"),
            alerts_table,
            report_margin: env.millis_in(
                "CODEHOOKS_HOOK_REPORT_MARGIN_MS",
                DEFAULT_REPORT_MARGIN_MS,
                200..=60_000,
            ),
            lambda_functions,
            contracts,
        }
    }

    /// The settings of the degraded mode: a wrong configuration cannot be trusted to ask for
    /// dry run or fail-open.
    pub fn degraded(self) -> Config {
        Config {
            dry_run: false,
            fail_open: false,
            alerts_table: self
                .alerts_table
                .filter(|t| codehooks::names::is_table_name(t)),
            ..self
        }
    }
}

/// `CODEHOOKS_HOOK_CONTRACTS`: a comma-separated subset of `codedeploy`, `ecs`, `pipeline`
/// (absent or empty: all three).
fn read_contracts(env: &mut Env<'_>) -> Vec<crate::contract::Kind> {
    use crate::contract::Kind;
    let listed = env.list("CODEHOOKS_HOOK_CONTRACTS");
    if listed.is_empty() {
        return Kind::ALL.to_vec();
    }
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for name in &listed {
        match Kind::ALL.iter().find(|k| k.as_str() == name.as_str()) {
            Some(k) if !out.contains(k) => out.push(*k),
            Some(_) => {}
            None => bad.push(name.as_str()),
        }
    }
    if !bad.is_empty() {
        env.problem(
            "CODEHOOKS_HOOK_CONTRACTS",
            format!(
                "must list codedeploy, ecs and/or pipeline, separated by commas; not: {}",
                bad.join(", ")
            ),
        );
        return Kind::ALL.to_vec();
    }
    out
}

/// Reads the settings from a fixed environment (for tools and tests).
pub fn config_from_pairs<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Config, ConfigError> {
    let mut env = Env::from_pairs(pairs);
    let s = Config::read(&mut env);
    env.finish()?;
    Ok(s)
}

/// What is wrong with a base URL.
#[derive(Debug, thiserror::Error)]
pub enum BaseUrlError {
    #[error("must be a URL like http://10.0.0.5:{{port}}: {0}")]
    NotAUrl(String),
    #[error("must be an http or https URL, got scheme {0:?}")]
    Scheme(String),
    #[error("must name a host")]
    NoHost,
    #[error("must not carry credentials")]
    Credentials,
    #[error("must have a port")]
    NoPort,
}

/// `(scheme, host, port)` of a base URL with `{port}` replaced by `port`.
pub fn parse_base_url(template: &str, port: u16) -> Result<(String, String, u16), BaseUrlError> {
    let text = template.replace("{port}", &port.to_string());
    let url = reqwest::Url::parse(&text).map_err(|e| BaseUrlError::NotAUrl(e.to_string()))?;
    let scheme = url.scheme().to_owned();
    if scheme != "http" && scheme != "https" {
        return Err(BaseUrlError::Scheme(scheme));
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or(BaseUrlError::NoHost)?
        .to_owned();
    if !url.username().is_empty() || url.password().is_some() {
        return Err(BaseUrlError::Credentials);
    }
    let port = url.port_or_known_default().ok_or(BaseUrlError::NoPort)?;
    Ok((scheme, host, port))
}

#[cfg(test)]
#[path = "config_test.rs"]
mod tests;
