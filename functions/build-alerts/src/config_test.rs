//! Unit tests of `config.rs`.

use super::*;

#[test]
fn config_reads_and_checks() {
    let mut env = Env::from_pairs([
        (
            "CODEHOOKS_ALERT_TOPIC_ARN",
            "arn:aws:sns:eu-west-1:123456789012:alerts",
        ),
        ("CODEHOOKS_ALERTS_TABLE", "codehooks-alerts"),
        ("CODEHOOKS_ALERTS_RECOVERED", "true"),
    ]);
    let c = Config::read(&mut env);
    env.finish().unwrap();
    assert!(c.recovered && !c.stopped);
    assert_eq!(c.dedup_ttl, Duration::from_secs(48 * 3600));
    assert_eq!(c.lease_margin, Duration::from_secs(5));

    let mut env = Env::from_pairs([
        (
            "CODEHOOKS_ALERT_TOPIC_ARN",
            "arn:aws:sqs:eu-west-1:123456789012:q",
        ),
        ("CODEHOOKS_ALERTS_RECOVERED", "yes"),
        ("CODEHOOKS_ALERTS_DEDUP_TTL_HOURS", "1"),
    ]);
    Config::read(&mut env);
    let err = env.finish().unwrap_err().to_string();
    assert!(
        err.contains("CODEHOOKS_ALERT_TOPIC_ARN must be an ARN of sns"),
        "{err}"
    );
    assert!(
        err.contains("CODEHOOKS_ALERTS_TABLE is required when CODEHOOKS_ALERTS_RECOVERED"),
        "{err}"
    );
    assert!(err.contains("CODEHOOKS_ALERTS_DEDUP_TTL_HOURS"), "{err}");
}

#[test]
fn the_lease_is_a_margin_after_the_deadline_and_the_old_variable_is_refused() {
    let topic = (
        "CODEHOOKS_ALERT_TOPIC_ARN",
        "arn:aws:sns:eu-west-1:123456789012:alerts",
    );
    let mut env = Env::from_pairs([topic, ("CODEHOOKS_ALERTS_LEASE_MARGIN_SECONDS", "0")]);
    let c = Config::read(&mut env);
    env.finish().unwrap();
    assert_eq!(c.lease_margin, Duration::ZERO);

    let mut env = Env::from_pairs([
        topic,
        ("CODEHOOKS_ALERTS_LEASE_SECONDS", "90"),
        ("CODEHOOKS_ALERTS_LEASE_MARGIN_SECONDS", "301"),
    ]);
    Config::read(&mut env);
    let err = env.finish().unwrap_err().to_string();
    assert!(
        err.contains("CODEHOOKS_ALERTS_LEASE_SECONDS is no longer read"),
        "{err}"
    );
    assert!(
        err.contains("CODEHOOKS_ALERTS_LEASE_MARGIN_SECONDS"),
        "{err}"
    );
}

#[test]
fn log_lines_default_bounds_and_off() {
    let topic = (
        "CODEHOOKS_ALERT_TOPIC_ARN",
        "arn:aws:sns:eu-west-1:123456789012:alerts",
    );
    let mut env = Env::from_pairs([topic]);
    let c = Config::read(&mut env);
    env.finish().unwrap();
    assert_eq!(c.log_lines, 20);

    for (value, want) in [("0", 0), ("1", 1), ("200", 200)] {
        let mut env = Env::from_pairs([topic, ("CODEHOOKS_ALERTS_LOG_LINES", value)]);
        let c = Config::read(&mut env);
        env.finish().unwrap();
        assert_eq!(c.log_lines, want);
    }

    for bad in ["201", "-1", "twenty", "1.5"] {
        let mut env = Env::from_pairs([topic, ("CODEHOOKS_ALERTS_LOG_LINES", bad)]);
        Config::read(&mut env);
        let err = env.finish().unwrap_err().to_string();
        assert!(
            err.contains("CODEHOOKS_ALERTS_LOG_LINES must be a whole number from 0 to 200"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn approval_settings_are_checked() {
    let topic = (
        "CODEHOOKS_ALERT_TOPIC_ARN",
        "arn:aws:sns:eu-west-1:123456789012:alerts",
    );
    let mut env = Env::from_pairs([
        topic,
        ("CODEHOOKS_ALERTS_APPROVALS", "true"),
        (
            "CODEHOOKS_ALERTS_APPROVERS",
            "arn:aws:iam::123456789012:role/release-managers, alice, arn:aws-cn:iam::123456789012:user/ops/bob",
        ),
    ]);
    let c = Config::read(&mut env);
    env.finish().unwrap();
    assert!(c.approvals);
    assert_eq!(c.approvers.len(), 3);
    assert_eq!(c.approvers[1], "alice");

    let mut env = Env::from_pairs([topic]);
    let c = Config::read(&mut env);
    env.finish().unwrap();
    assert!(!c.approvals && c.approvers.is_empty());

    for bad in [
        "arn:aws:sns:eu-west-1:123456789012:t",
        "arn:aws:iam::123456789012:policy/p",
        "arn:aws:iam::12:role/r",
        "two words",
        "arn:aws:iam::123456789012:role/",
    ] {
        let mut env = Env::from_pairs([topic, ("CODEHOOKS_ALERTS_APPROVERS", bad)]);
        Config::read(&mut env);
        let err = env.finish().unwrap_err().to_string();
        assert!(err.contains("CODEHOOKS_ALERTS_APPROVERS"), "{bad}: {err}");
    }
    let mut env = Env::from_pairs([topic, ("CODEHOOKS_ALERTS_APPROVALS", "maybe")]);
    Config::read(&mut env);
    assert!(
        env.finish()
            .unwrap_err()
            .to_string()
            .contains("CODEHOOKS_ALERTS_APPROVALS")
    );
}
