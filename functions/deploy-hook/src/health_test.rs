//! Unit tests of `health.rs`, against the load balancer twin.

use super::*;
use crate::fixtures::targets;
use crate::twins::MemoryLoadBalancer;

const TG: &str = "arn:tg/green";

fn twin(answers: Vec<Vec<TargetHealthFact>>) -> MemoryLoadBalancer {
    let lb = MemoryLoadBalancer::new();
    for a in answers {
        lb.push_health(TG, a);
    }
    lb
}

fn polls(lb: &MemoryLoadBalancer) -> usize {
    lb.calls()
        .iter()
        .filter(|c| c.starts_with("DescribeTargetHealth"))
        .count()
}

async fn wait(
    lb: &MemoryLoadBalancer,
    required: i64,
    poll_ms: u64,
    budget_ms: u64,
) -> Result<HealthResult> {
    let until = Instant::now() + Duration::from_millis(budget_ms);
    wait_healthy(
        lb,
        "green",
        TG,
        required,
        Duration::from_millis(poll_ms),
        until,
    )
    .await
}

#[tokio::test]
async fn fails_fast_on_response_code_mismatch_with_the_reason() {
    let mut answer = targets(1, "healthy", None);
    answer.extend(
        targets(2, "unhealthy", Some("Target.ResponseCodeMismatch"))
            .into_iter()
            .skip(1),
    );
    let lb = twin(vec![answer]);
    let r = wait(&lb, 2, 10, 60_000).await.unwrap();
    assert!(!r.passed);
    assert_eq!(r.polls, 1, "no waiting on a reason that will not clear");
    assert_eq!(polls(&lb), 1);
    assert_eq!(
        r.unhealthy[0].reason.as_deref(),
        Some("Target.ResponseCodeMismatch")
    );
    assert!(
        r.detail.contains("10.0.1.1") && r.detail.contains("[500]"),
        "{}",
        r.detail
    );
}

#[tokio::test]
async fn fails_fast_on_a_health_check_timeout() {
    let lb = twin(vec![targets(2, "unhealthy", Some("Target.Timeout"))]);
    let r = wait(&lb, 2, 10, 60_000).await.unwrap();
    assert!(!r.passed);
    assert_eq!(r.polls, 1);
    assert!(r.detail.contains("Target.Timeout"), "{}", r.detail);
}

#[tokio::test]
async fn waits_for_initial_targets_to_become_healthy() {
    let initial = targets(2, "initial", Some("Elb.InitialHealthChecking"));
    let lb = twin(vec![initial.clone(), initial, targets(2, "healthy", None)]);
    let r = wait(&lb, 2, 10, 60_000).await.unwrap();
    assert!(r.passed, "{r:?}");
    assert_eq!(r.polls, 3);
}

#[tokio::test]
async fn gives_up_at_the_budget_when_too_few_targets_are_healthy() {
    let lb = twin(vec![targets(1, "healthy", None)]);
    let r = wait(&lb, 3, 30, 100).await.unwrap();
    assert!(!r.passed);
    assert!(r.detail.contains("only 1 of 3"), "{}", r.detail);
    assert!(r.waited_ms < 1000);
}

#[tokio::test]
async fn a_retryable_error_is_polled_again_within_the_wait() {
    let lb = twin(vec![targets(1, "healthy", None)]);
    lb.fail("DescribeTargetHealth", 2, true);
    let r = wait(&lb, 1, 10, 10_000).await.unwrap();
    assert!(r.passed);
    assert_eq!(polls(&lb), 3, "two failed polls, then the answer");

    // Past the wait, the error names the operation and stays retryable.
    let lb = twin(vec![targets(1, "healthy", None)]);
    lb.fail("DescribeTargetHealth", 1_000, true);
    let e = wait(&lb, 1, 30, 100).await.unwrap_err();
    assert!(
        e.to_string().starts_with("DescribeTargetHealth failed"),
        "{e}"
    );
    assert!(e.is_retryable());
    assert!(
        polls(&lb) >= 2,
        "polled again within the wait: {}",
        polls(&lb)
    );

    // One that cannot pass later ends the wait at once.
    let lb = twin(vec![targets(1, "healthy", None)]);
    lb.fail("DescribeTargetHealth", 1_000, false);
    assert!(wait(&lb, 1, 10, 10_000).await.is_err());
    assert_eq!(polls(&lb), 1);
}

#[test]
fn draining_or_timeout_reasons() {
    let mut all = targets(1, "draining", Some("Target.DeregistrationInProgress"));
    all.extend(
        targets(1, "unhealthy", Some("Target.Timeout"))
            .into_iter()
            .map(|mut t| {
                t.id = "b".into();
                t
            }),
    );
    let snap = Snapshot::of(&all);
    assert_eq!(snap.healthy, 0);
    assert_eq!(snap.fail_fast_reason().unwrap().id, "b");
}
