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
