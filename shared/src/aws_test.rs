//! Unit tests of `aws.rs`.

use super::*;

#[test]
fn options_have_sane_defaults_and_read_overrides() {
    let mut env = Env::from_pairs([
        ("AWS_MAX_ATTEMPTS", "5"),
        ("CODEHOOKS_AWS_CONNECT_TIMEOUT_MS", "250"),
    ]);
    let o = AwsOptions::read(&mut env);
    env.finish().unwrap();
    assert_eq!(o.max_attempts, 5);
    assert_eq!(o.connect_timeout, Duration::from_millis(250));
    assert_eq!(o.read_timeout, AwsOptions::default().read_timeout);
    let retry = o.retry_config();
    assert_eq!(retry.max_attempts(), 5);
    assert_eq!(retry.mode(), aws_config::retry::RetryMode::Standard);
    let t = o.timeout_config();
    assert_eq!(t.connect_timeout(), Some(Duration::from_millis(250)));
}

#[test]
fn rejects_out_of_range_attempts() {
    let mut env = Env::from_pairs([("AWS_MAX_ATTEMPTS", "0")]);
    AwsOptions::read(&mut env);
    let err = env.finish().unwrap_err();
    assert_eq!(err.problems[0].variable, "AWS_MAX_ATTEMPTS");
}

#[tokio::test]
async fn loader_honours_region_and_endpoint_override() {
    let cfg = loader(&AwsOptions::default())
        .region(Region::new("eu-west-2"))
        .endpoint_url("http://127.0.0.1:9")
        .load()
        .await;
    assert_eq!(cfg.region().map(|r| r.as_ref()), Some("eu-west-2"));
    assert_eq!(cfg.endpoint_url(), Some("http://127.0.0.1:9"));
    let other = in_region(&cfg, "us-east-1");
    assert_eq!(other.region().map(|r| r.as_ref()), Some("us-east-1"));
    assert_eq!(other.endpoint_url(), Some("http://127.0.0.1:9"));
}
