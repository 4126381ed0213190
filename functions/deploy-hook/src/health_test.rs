//! Unit tests of `health.rs`.

use super::*;
use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::operation::describe_target_health::DescribeTargetHealthOutput;
use aws_sdk_elasticloadbalancingv2::types::{TargetDescription, TargetHealth};
use aws_smithy_mocks::{RuleMode, mock, mock_client};

fn desc(
    id: &str,
    state: TargetHealthStateEnum,
    reason: Option<TargetHealthReasonEnum>,
) -> TargetHealthDescription {
    let mut th = TargetHealth::builder().state(state);
    if let Some(r) = reason {
        th = th
            .reason(r)
            .description("Health checks failed with these codes: [500]");
    }
    TargetHealthDescription::builder()
        .target(TargetDescription::builder().id(id).port(8080).build())
        .target_health(th.build())
        .build()
}

fn output(d: Vec<TargetHealthDescription>) -> DescribeTargetHealthOutput {
    DescribeTargetHealthOutput::builder()
        .set_target_health_descriptions(Some(d))
        .build()
}

#[tokio::test]
async fn fails_fast_on_response_code_mismatch_with_the_reason() {
    let rule = mock!(Client::describe_target_health).then_output(|| {
        output(vec![
            desc("10.0.1.5", TargetHealthStateEnum::Healthy, None),
            desc(
                "10.0.1.6",
                TargetHealthStateEnum::Unhealthy,
                Some(TargetHealthReasonEnum::ResponseCodeMismatch),
            ),
        ])
    });
    let client = mock_client!(aws_sdk_elasticloadbalancingv2, [&rule]);
    let until = Instant::now() + Duration::from_secs(60);
    let r = wait_healthy(
        &client,
        "green",
        "arn:tg",
        2,
        Duration::from_millis(10),
        until,
    )
    .await
    .unwrap();
    assert!(!r.passed);
    assert_eq!(r.polls, 1, "no waiting on a reason that will not clear");
    assert_eq!(
        r.unhealthy[0].reason.as_deref(),
        Some("Target.ResponseCodeMismatch")
    );
    assert!(
        r.detail.contains("10.0.1.6") && r.detail.contains("[500]"),
        "{}",
        r.detail
    );
}

#[tokio::test]
async fn waits_for_initial_targets_to_become_healthy() {
    let rule = mock!(Client::describe_target_health)
        .sequence()
        .output(|| {
            output(vec![
                desc(
                    "a",
                    TargetHealthStateEnum::Initial,
                    Some(TargetHealthReasonEnum::InitialHealthChecking),
                ),
                desc(
                    "b",
                    TargetHealthStateEnum::Initial,
                    Some(TargetHealthReasonEnum::InitialHealthChecking),
                ),
            ])
        })
        .times(2)
        .output(|| {
            output(vec![
                desc("a", TargetHealthStateEnum::Healthy, None),
                desc("b", TargetHealthStateEnum::Healthy, None),
            ])
        })
        .build();
    let client = mock_client!(aws_sdk_elasticloadbalancingv2, RuleMode::MatchAny, [&rule]);
    let until = Instant::now() + Duration::from_secs(60);
    let r = wait_healthy(
        &client,
        "green",
        "arn:tg",
        2,
        Duration::from_millis(10),
        until,
    )
    .await
    .unwrap();
    assert!(r.passed, "{r:?}");
    assert_eq!(r.polls, 3);
}

#[tokio::test]
async fn gives_up_at_the_budget_when_too_few_targets_are_healthy() {
    let rule = mock!(Client::describe_target_health)
        .then_output(|| output(vec![desc("a", TargetHealthStateEnum::Healthy, None)]));
    let client = mock_client!(aws_sdk_elasticloadbalancingv2, RuleMode::MatchAny, [&rule]);
    let until = Instant::now() + Duration::from_millis(100);
    let r = wait_healthy(
        &client,
        "green",
        "arn:tg",
        3,
        Duration::from_millis(30),
        until,
    )
    .await
    .unwrap();
    assert!(!r.passed);
    assert!(r.detail.contains("only 1 of 3"), "{}", r.detail);
    assert!(r.waited_ms < 1000);
}

#[tokio::test]
async fn elbv2_throttling_and_5xx_are_retried_by_the_client() {
    let throttled = r#"<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>"#;
    let rule = mock!(Client::describe_target_health)
        .sequence()
        .http_status(400, Some(throttled.to_owned()))
        .http_status(503, None)
        .output(|| output(vec![desc("a", TargetHealthStateEnum::Healthy, None)]))
        .build();
    let client = mock_client!(
        aws_sdk_elasticloadbalancingv2,
        RuleMode::MatchAny,
        [&rule],
        |b| {
            b.retry_config(
                aws_smithy_types::retry::RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(Duration::from_millis(1)),
            )
        }
    );
    let until = Instant::now() + Duration::from_secs(10);
    let r = wait_healthy(
        &client,
        "green",
        "arn:tg",
        1,
        Duration::from_millis(10),
        until,
    )
    .await
    .unwrap();
    assert!(r.passed);
    assert_eq!(rule.num_calls(), 3, "two failed attempts, then the answer");

    // Past the attempts, the error names the operation and is retryable.
    let always = mock!(Client::describe_target_health)
        .sequence()
        .http_status(503, None)
        .repeatedly()
        .build();
    let client = mock_client!(
        aws_sdk_elasticloadbalancingv2,
        RuleMode::MatchAny,
        [&always],
        |b| {
            b.retry_config(
                aws_smithy_types::retry::RetryConfig::standard()
                    .with_max_attempts(2)
                    .with_initial_backoff(Duration::from_millis(1)),
            )
        }
    );
    let until = Instant::now() + Duration::from_millis(100);
    let e = wait_healthy(
        &client,
        "green",
        "arn:tg",
        1,
        Duration::from_millis(30),
        until,
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string().starts_with("DescribeTargetHealth failed"),
        "{e}"
    );
    assert!(e.is_retryable());
    assert!(
        always.num_calls() >= 4,
        "polled again within the wait: {}",
        always.num_calls()
    );
}

#[tokio::test]
async fn draining_or_timeout_reasons() {
    let snap = Snapshot::of(&[
        desc(
            "a",
            TargetHealthStateEnum::Draining,
            Some(TargetHealthReasonEnum::DeregistrationInProgress),
        ),
        desc(
            "b",
            TargetHealthStateEnum::Unhealthy,
            Some(TargetHealthReasonEnum::Timeout),
        ),
    ]);
    assert_eq!(snap.healthy, 0);
    assert_eq!(snap.fail_fast_reason().unwrap().id, "b");
}
