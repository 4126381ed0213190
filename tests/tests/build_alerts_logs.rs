//! build-alerts and the log tail end to end: the real binary under the Lambda Runtime API
//! reads the failed build's stream from moto's CloudWatch Logs (through the fault proxy, which
//! counts the `GetLogEvents` calls) and publishes to moto's SNS, read back through SQS.

use aws_config::SdkConfig;
use codehooks_tests::faults::FaultProxy;
use codehooks_tests::{
    Function, LocalAws, drain_queue, event, idempotency_table, topic_with_queue,
};
use serde_json::{Value, json};

const REGION: &str = "eu-west-1";
const TABLE: &str = "codehooks-alerts";
const GROUP: &str = "/aws/codebuild/shop-api";
/// The stream the sample failed-build event names.
const STREAM: &str = "6a1f0e2d-9c3b-4d7e-8f51-2b4c6d8e0a13";
const FAKE_KEY: &str = "AKIAZZZZ1234567890AB";

struct World {
    local: LocalAws,
    proxy: FaultProxy,
    sdk: SdkConfig,
    topic: String,
    queue: String,
}

/// What the build printed: 40 coloured steps, then a key, a password and the failure.
fn build_output() -> Vec<String> {
    let mut out: Vec<String> = (0..40)
        .map(|i| format!("\u{1b}[36m[Container] step {i:02}\u{1b}[0m\n"))
        .collect();
    out.push(format!(
        "\u{1b}[33mexport AWS_ACCESS_KEY_ID={FAKE_KEY}\u{1b}[0m\n"
    ));
    out.push("mysql -u app password=s3cr3t-Pa55 --host db\n".to_owned());
    out.push("Downloading 10%\r Downloading 100%\n".to_owned());
    out.push("\u{1b}[1;31merror: 2 tests failed\u{1b}[0m\n".to_owned());
    out
}

async fn world() -> World {
    let local = LocalAws::builder()
        .moto()
        .emulator()
        .runtime_api("build-alerts")
        .start();
    local.emulator().seed(
        &serde_json::from_str(include_str!("build_alerts_fixture/seed.json")).expect("seed.json"),
    );
    let proxy = FaultProxy::start(local.moto_url());
    let sdk = local.sdk_config(local.moto_url(), REGION).await;
    let (topic, queue) = topic_with_queue(&sdk, "codehooks-alerts", "alerts-subscriber").await;
    idempotency_table(&sdk, TABLE).await;
    codehooks_tests::logs::write_stream(&sdk, GROUP, STREAM, &build_output()).await;
    World {
        local,
        proxy,
        sdk,
        topic,
        queue,
    }
}

impl World {
    fn function(&self, extra: &[(&str, &str)]) -> Function {
        let mut env = vec![
            ("CODEHOOKS_ALERT_TOPIC_ARN", self.topic.as_str()),
            ("CODEHOOKS_ALERTS_TABLE", TABLE),
            ("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", self.proxy.url.as_str()),
        ];
        env.extend_from_slice(extra);
        self.local.function("build-alerts", REGION, &env)
    }

    /// The one alert published since the last call: its Chatbot document's context.
    async fn context(&self) -> Value {
        let got = drain_queue(&self.sdk, &self.queue).await;
        assert_eq!(got.len(), 1, "{got:?}");
        let message = got[0]["Message"].as_str().expect("Message");
        assert!(!message.contains(FAKE_KEY), "{message}");
        assert!(!message.contains("s3cr3t"), "{message}");
        assert!(!message.contains("\\u001b"), "{message}");
        let doc: Value = serde_json::from_str(message).expect("JSON document");
        doc["metadata"]["additionalContext"].clone()
    }

    fn reads(&self) -> usize {
        self.proxy.requests("GetLogEvents").len()
    }
}

/// The sample failed build as build `n` (a new alert key), with `logs` as its logs block.
fn failed_build(n: u32, logs: Value) -> Value {
    let mut e = event("build-alerts-codebuild-failed.json");
    let id = format!(
        "arn:aws:codebuild:{REGION}:123456789012:build/shop-api:0000{n:04}-9c3b-4d7e-8f51-2b4c6d8e0a13"
    );
    e["id"] = json!(format!("5c3e0d61-0000-4000-8000-{n:012}"));
    e["detail"]["build-id"] = json!(id);
    e["resources"] = json!([id]);
    e["detail"]["additional-information"]["logs"] = logs;
    e
}

fn published(f: &Function, e: &Value) {
    let r = f.invoke(e, 15_000);
    assert!(r.is_ok(), "{r:?}\n{}", f.logs());
    assert_eq!(r.response["outcome"], "published", "{}", f.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_build_alert_carries_its_log_tail() {
    let w = world().await;
    let f = w.function(&[]);

    // The sample event names the seeded stream: its last 20 lines, cleaned and masked.
    published(&f, &event("build-alerts-codebuild-failed.json"));
    let c = w.context().await;
    let mut want: Vec<String> = (24..40)
        .map(|i| format!("[Container] step {i:02}"))
        .collect();
    want.extend(
        [
            "export AWS_ACCESS_KEY_ID=****",
            "mysql -u app password=**** --host db",
            " Downloading 100%",
            "error: 2 tests failed",
        ]
        .map(str::to_owned),
    );
    assert_eq!(
        c["logTail"],
        json!({"lines": want, "olderLinesLeftOut": true, "group": GROUP, "stream": STREAM}),
    );
    assert!(c["facts"].get("Log tail").is_none(), "{}", c["facts"]);
    // The links are all there.
    assert!(c["links"]["Build"].is_string() && c["links"]["Logs"].is_string());
    assert_eq!(w.reads(), 1);

    // A stream that does not exist: one line, with the service's error code.
    published(
        &f,
        &failed_build(
            1,
            json!({"group-name": GROUP, "stream-name": "no-such-stream"}),
        ),
    );
    let c = w.context().await;
    let why = "the log could not be read (ResourceNotFoundException)";
    assert_eq!(c["facts"]["Log tail"], why);
    assert_eq!(c["logTail"], json!({"unavailable": why}));
    assert_eq!(w.reads(), 2);

    // A build that logs to S3 only: one line, and nothing is read.
    published(
        &f,
        &failed_build(
            2,
            json!({"deep-link": "https://s3.console.aws.amazon.com/s3/object/build-logs/shop-api.gz"}),
        ),
    );
    let c = w.context().await;
    let why = "the build logs to S3 only or has CloudWatch Logs turned off; see the build's page";
    assert_eq!(c["facts"]["Log tail"], why);
    assert_eq!(w.reads(), 2);

    // A redelivery of the first alert: a duplicate, and the log is not read again.
    let r = f.invoke(&event("build-alerts-codebuild-failed.json"), 15_000);
    assert_eq!(r.response["outcome"], "duplicate", "{r:?}");
    assert_eq!(w.reads(), 2);
    drop(f);

    // Tails off: the alert goes out, and the logs are never read.
    let f = w.function(&[("CODEHOOKS_ALERTS_LOG_LINES", "0")]);
    published(
        &f,
        &failed_build(3, json!({"group-name": GROUP, "stream-name": STREAM})),
    );
    let c = w.context().await;
    assert!(c["facts"].get("Log tail").is_none(), "{}", c["facts"]);
    assert_eq!(c["logTail"], json!({"unavailable": "log tails are off"}));
    assert_eq!(w.reads(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_log_lines_value_stops_the_start() {
    let w = world().await;
    let mut f = w.function(&[("CODEHOOKS_ALERTS_LOG_LINES", "500")]);
    assert!(f.wait_exit(std::time::Duration::from_secs(10)).is_some());
    assert!(
        f.logs()
            .contains("CODEHOOKS_ALERTS_LOG_LINES must be a whole number from 0 to 200"),
        "{}",
        f.logs()
    );
}
