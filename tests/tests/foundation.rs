//! The foundation: SDK clients from the shared loader reach moto and the emulator over HTTP,
//! the SDK's standard retries ride out injected faults, and every function binary names the wrong
//! variable at start-up on invalid configuration (and exits, but for the deploy hook, which keeps
//! serving so that it can still report `Failed`).

use std::time::Duration;

use codehooks::Error;
use codehooks_tests::{LocalAws, drain_queue, topic_with_queue};

const REGION: &str = "us-east-1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_loader_reaches_moto_sns_and_reads_back_through_sqs() {
    let local = LocalAws::builder().moto().start();
    let sdk = local.sdk_config(local.moto_url(), REGION).await;
    let (topic, queue) = topic_with_queue(&sdk, "codehooks-alerts", "alerts-readback").await;
    let sns = aws_sdk_sns::Client::new(&sdk);
    sns.publish()
        .topic_arn(&topic)
        .subject("FAILED build app #1")
        .message("the build failed")
        .send()
        .await
        .expect("Publish");
    let got = drain_queue(&sdk, &queue).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["Subject"], "FAILED build app #1");
    assert_eq!(got[0]["Message"], "the build failed");
    assert_eq!(got[0]["TopicArn"], topic.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_loader_reaches_the_emulator_and_maps_service_errors() {
    let local = LocalAws::builder().emulator().start();
    let sdk = local.sdk_config(local.emulator_url(), REGION).await;

    let codecommit = aws_sdk_codecommit::Client::new(&sdk);
    codecommit
        .create_repository()
        .repository_name("app")
        .repository_description("the app")
        .send()
        .await
        .expect("CreateRepository");
    let repo = codecommit
        .get_repository()
        .repository_name("app")
        .send()
        .await
        .expect("GetRepository")
        .repository_metadata
        .expect("metadata");
    assert_eq!(repo.repository_name(), Some("app"));
    assert_eq!(repo.repository_description(), Some("the app"));

    let codedeploy = aws_sdk_codedeploy::Client::new(&sdk);
    let err = codedeploy
        .get_deployment()
        .deployment_id("d-ABCDEFGH1")
        .send()
        .await
        .expect_err("unknown deployment");
    let err = Error::aws("GetDeployment", err);
    assert_eq!(err.aws_code(), Some("DeploymentDoesNotExistException"));
    assert!(!err.is_retryable());

    let err = codedeploy
        .get_deployment()
        .deployment_id("not-an-id")
        .send()
        .await
        .expect_err("malformed id");
    assert_eq!(
        Error::aws("GetDeployment", err).aws_code(),
        Some("InvalidDeploymentIdException")
    );

    // Every call arrived signed for the right service and region.
    let seen = local.emulator().requests(None);
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(seen[0]["service"], "codecommit");
    assert_eq!(seen[2]["service"], "codedeploy");
    assert!(seen.iter().all(|r| r["region"] == REGION));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_retries_ride_out_throttling_and_5xx() {
    let local = LocalAws::builder().emulator().start();
    let sdk = local.sdk_config(local.emulator_url(), REGION).await;
    let emulator = local.emulator();
    emulator.fault("CodeCommit_20150413.CreateRepository", "throttle", 1, 0);
    emulator.fault("CodeCommit_20150413.GetRepository", "error5xx", 2, 0);

    let codecommit = aws_sdk_codecommit::Client::new(&sdk);
    codecommit
        .create_repository()
        .repository_name("retry-me")
        .send()
        .await
        .expect("CreateRepository succeeds after one throttle");
    codecommit
        .get_repository()
        .repository_name("retry-me")
        .send()
        .await
        .expect("GetRepository succeeds after two 5xx");
    assert_eq!(emulator.requests(Some("CreateRepository")).len(), 2);
    assert_eq!(emulator.requests(Some("GetRepository")).len(), 3);

    // Past the attempt budget (3), the error surfaces as retryable.
    emulator.fault("CodeCommit_20150413.GetRepository", "throttle", 5, 0);
    let err = codecommit
        .get_repository()
        .repository_name("retry-me")
        .send()
        .await
        .expect_err("throttled past the budget");
    let err = Error::aws("GetRepository", err);
    assert_eq!(err.aws_code(), Some("ThrottlingException"));
    assert!(err.is_retryable());
}

#[test]
fn every_function_refuses_to_start_on_invalid_configuration() {
    let names = [
        "pr-comments",
        "build-alerts",
        "repo-replicator",
        "deploy-hook",
    ];
    let mut builder = LocalAws::builder();
    for n in names {
        builder = builder.runtime_api(n);
    }
    let local = builder.start();
    let names_the_variable = |logs: &str| {
        logs.contains("AWS_MAX_ATTEMPTS must be a whole number from 1 to 10, got \\\"zero\\\"")
            || logs.contains("AWS_MAX_ATTEMPTS must be a whole number from 1 to 10, got \"zero\"")
    };
    for name in names {
        let mut f = local.function(name, REGION, &[("AWS_MAX_ATTEMPTS", "zero")]);
        if name == "deploy-hook" {
            // A lifecycle hook that never reports stalls the deployment for an hour: the deploy
            // hook logs the problem and keeps serving, reporting Failed (tests/tests/deploy_hook.rs).
            let end = std::time::Instant::now() + Duration::from_secs(10);
            while !names_the_variable(&f.logs()) && std::time::Instant::now() < end {
                std::thread::sleep(Duration::from_millis(20));
            }
            assert!(
                f.wait_exit(Duration::from_millis(500)).is_none(),
                "{name} exited: {}",
                f.logs()
            );
        } else {
            let status = f
                .wait_exit(Duration::from_secs(10))
                .unwrap_or_else(|| panic!("{name} started despite an invalid AWS_MAX_ATTEMPTS"));
            assert!(!status.success(), "{name} exited successfully");
        }
        let logs = f.logs();
        assert!(
            names_the_variable(&logs),
            "{name} did not name the variable: {logs}"
        );
        // The failure is also reported as structured JSON.
        assert!(
            logs.lines()
                .any(|l| serde_json::from_str::<serde_json::Value>(l)
                    .map(|v| v["level"] == "ERROR")
                    .unwrap_or(false)),
            "{name}: no JSON error line: {logs}"
        );
    }
}
