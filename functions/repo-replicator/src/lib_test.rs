//! Unit tests of `lib.rs`.

use super::*;

fn app() -> App {
    let mut env = Env::from_pairs([
        ("AWS_REGION", "us-east-1"),
        ("CODEHOOKS_REPLICA_REGIONS", "eu-west-2"),
        ("CODEHOOKS_REPOSITORIES", "payments-api"),
        // Nothing listens here: any git or AWS call would fail the test.
        ("CODEHOOKS_GIT_CONNECT_URL", "http://127.0.0.1:9/{region}"),
    ]);
    let config = Config::read(&mut env);
    env.finish().unwrap();
    let sdk = SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .build();
    App::with_sdk(config, sdk)
}

fn event(file: &str) -> Value {
    let path = format!("{}/../../events/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn run(app: &App, payload: Value) -> Result<Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(app.handle(LambdaEvent::new(
        payload,
        lambda_runtime::Context::default(),
    )))
}

#[test]
fn bad_input_is_refused_before_any_call() {
    let app = app();
    let mut other = event("repo-replicator-reference-created.json");
    other["detail"]["event"] = json!("pullRequestCreated");
    let e = run(&app, other).unwrap_err();
    assert_eq!(e.kind(), "BadInput");
    assert!(e.to_string().contains("pullRequestCreated"), "{e}");

    let mut bad_name = event("repo-replicator-reference-updated.json");
    bad_name["detail"]["repositoryName"] = json!("a/../b");
    assert_eq!(run(&app, bad_name).unwrap_err().kind(), "BadInput");

    let mut no_detail = event("repo-replicator-reference-deleted.json");
    no_detail["detail"] = json!({"event": "referenceDeleted"});
    assert_eq!(run(&app, no_detail).unwrap_err().kind(), "BadInput");

    let mut wrong_type = event("repo-replicator-scheduled-reconcile.json");
    wrong_type["source"] = json!("aws.codebuild");
    assert_eq!(run(&app, wrong_type).unwrap_err().kind(), "BadInput");
    assert_eq!(run(&app, json!([1, 2])).unwrap_err().kind(), "BadInput");
}

#[test]
fn events_outside_the_configuration_are_ignored() {
    let app = app();
    let mut other_repo = event("repo-replicator-reference-created.json");
    other_repo["detail"]["repositoryName"] = json!("not-replicated");
    assert_eq!(run(&app, other_repo).unwrap()["status"], "ignored");
    let mut other_region = event("repo-replicator-reference-created.json");
    other_region["region"] = json!("eu-west-2");
    assert_eq!(run(&app, other_region).unwrap()["status"], "ignored");
}

#[test]
fn event_times_parse() {
    assert_eq!(
        parse_time_ms("2026-11-23T00:48:00Z"),
        Some(1_795_394_880_000)
    );
    assert_eq!(parse_time_ms("yesterday"), None);
}
