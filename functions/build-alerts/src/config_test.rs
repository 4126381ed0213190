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
