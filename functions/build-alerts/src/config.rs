//! The function's own configuration, read once at start-up from its environment (the
//! settings every function shares are [`codehooks::harness::Common`]).

use std::time::Duration;

use codehooks::config::Env;

/// What build-alerts reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
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
    /// `CODEHOOKS_ALERTS_LEASE_MARGIN_SECONDS`: how long after the invocation's deadline its
    /// claim still blocks another delivery (default 5). The lease itself comes from the
    /// invocation ([`codehooks::once::lease_until`]): no second timeout to keep in sync.
    pub lease_margin: Duration,
    /// `CODEHOOKS_ALERTS_LOG_LINES`: how many of the last lines of a failed build's log stream
    /// the alert shows (default 20, at most 200; 0 turns the reading off).
    pub log_lines: usize,
    /// `CODEHOOKS_ALERTS_APPROVALS`: a notice when a manual approval waits (default false).
    pub approvals: bool,
    /// `CODEHOOKS_ALERTS_APPROVERS`: who may approve, as the notice says (IAM ARNs or names,
    /// comma-separated; empty: whoever IAM allows `codepipeline:PutApprovalResult`).
    pub approvers: Vec<String>,
}

/// An IAM user, role or group ARN, or an IAM user or role name.
pub fn is_approver(s: &str) -> bool {
    match codehooks::arn::Arn::parse_of(s, "iam") {
        Ok(arn) => {
            arn.region.is_empty()
                && codehooks::names::is_account(&arn.account)
                && arn.resource.len() <= 512
                && ["user/", "role/", "group/"]
                    .iter()
                    .any(|p| arn.resource.starts_with(p) && arn.resource.len() > p.len())
                && arn
                    .resource
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_/".contains(c))
        }
        Err(_) => !s.starts_with("arn:") && codehooks::names::is_name(s, 1, 64, "+=,.@-_"),
    }
}

impl Config {
    pub fn read(env: &mut Env<'_>) -> Self {
        let topic_arn = env.arn("CODEHOOKS_ALERT_TOPIC_ARN", "sns");
        let table = env.optional("CODEHOOKS_ALERTS_TABLE");
        if let Some(t) = &table
            && !codehooks::names::is_table_name(t)
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
        let lease_margin =
            Duration::from_secs(env.u64_in("CODEHOOKS_ALERTS_LEASE_MARGIN_SECONDS", 5, 0..=300));
        let log_lines = env.u64_in(
            "CODEHOOKS_ALERTS_LOG_LINES",
            codehooks::logtail::DEFAULT_LINES as u64,
            0..=codehooks::logtail::MAX_LINES as u64,
        ) as usize;
        if env.optional("CODEHOOKS_ALERTS_LEASE_SECONDS").is_some() {
            env.problem(
                "CODEHOOKS_ALERTS_LEASE_SECONDS",
                "is no longer read: a claim ends at the invocation's deadline plus \
                 CODEHOOKS_ALERTS_LEASE_MARGIN_SECONDS; remove it",
            );
        }
        let approvals = env.bool_or("CODEHOOKS_ALERTS_APPROVALS", false);
        let approvers = env.list("CODEHOOKS_ALERTS_APPROVERS");
        if let Some(bad) = approvers.iter().find(|a| !is_approver(a)) {
            env.problem(
                "CODEHOOKS_ALERTS_APPROVERS",
                format!(
                    "must list IAM user, role or group ARNs or IAM names (1 to 64 letters, digits \
                     or +=,.@-_), separated by commas; {:?} is neither",
                    codehooks::text::cut(bad, 80)
                ),
            );
        }
        if approvers.len() > 20 {
            env.problem("CODEHOOKS_ALERTS_APPROVERS", "lists at most 20 approvers");
        }
        Self {
            topic_arn,
            table,
            stopped,
            pull_requests,
            recovered,
            dedup_ttl,
            state_ttl,
            lease_margin,
            log_lines,
            approvals,
            approvers,
        }
    }
}

#[cfg(test)]
#[path = "config_test.rs"]
mod tests;
