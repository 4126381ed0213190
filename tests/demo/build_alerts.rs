//! The build-alerts part of the demo: a bad night for the `shop` team. A build fails, the same
//! event arrives twice, a pipeline fails in its build stage (three events, one alert), a
//! CloudFormation stage fails, a blue/green deployment fails and rolls back, and finally the
//! build works again. Each alert is printed as its subscribers read it: the e-mail (subject and
//! plain-text body) and the chat notification AWS Chatbot shows.

use codehooks_tests::{
    Function, LocalAws, drain_queue, event, idempotency_table, topic_with_queue,
};
use serde_json::{Value, json};

const REGION: &str = "eu-west-1";
const TABLE: &str = "codehooks-alerts";

fn seed() -> Value {
    serde_json::from_str(include_str!("../tests/build_alerts_fixture/seed.json"))
        .unwrap_or(Value::Null)
}

struct Demo {
    local: LocalAws,
    sdk: aws_config::SdkConfig,
    queue: String,
    f: Function,
    seen: usize,
}

impl Demo {
    /// Everything published to the topic so far, as SNS holds it: (subject, message).
    fn published(&self) -> Vec<(String, Value)> {
        let data = codehooks_tests::http::get_json(&format!(
            "{}/moto-api/data.json",
            self.local.moto_url()
        ));
        let mut out = Vec::new();
        for topic in data["sns"]["Topic"].as_array().into_iter().flatten() {
            for n in topic["sent_notifications"].as_array().into_iter().flatten() {
                let message =
                    serde_json::from_str(n[1].as_str().unwrap_or("")).unwrap_or(Value::Null);
                out.push((n[2].as_str().unwrap_or("").to_owned(), message));
            }
        }
        out
    }

    /// Plays `file` (with `change` applied) and prints what subscribers received.
    async fn play(
        &mut self,
        title: &str,
        file: &str,
        change: impl FnOnce(&mut Value),
    ) -> Result<Value, String> {
        let mut ev = event(file);
        change(&mut ev);
        println!();
        println!("  ▶ {title}");
        println!(
            "    event: {} / {}",
            ev["source"].as_str().unwrap_or(""),
            ev["detail-type"].as_str().unwrap_or("")
        );
        let r = self.f.invoke(&ev, 15_000);
        if r.is_ok() {
            println!(
                "    build-alerts: {}{} ({:.0} ms)",
                r.response["outcome"].as_str().unwrap_or("?"),
                r.response["reason"]
                    .as_str()
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default(),
                r.duration_ms
            );
        } else {
            println!(
                "    build-alerts: {} {}: {}",
                r.status,
                r.error_type.clone().unwrap_or_default(),
                r.error_message.clone().unwrap_or_default()
            );
        }
        let sent = self.published();
        let received = drain_queue(&self.sdk, &self.queue).await;
        for (subject, message) in sent.iter().skip(self.seen) {
            println!("    ✉ e-mail  Subject: {subject}");
            crate::show("e-mail body", message["default"].as_str().unwrap_or(""));
        }
        for m in &received {
            let doc: Value =
                serde_json::from_str(m["Message"].as_str().unwrap_or("")).unwrap_or(Value::Null);
            let attrs: Vec<String> = ["source", "name", "state", "severity", "threadId"]
                .iter()
                .map(|a| {
                    format!(
                        "{a}={}",
                        m["MessageAttributes"][*a]["Value"].as_str().unwrap_or("")
                    )
                })
                .collect();
            println!(
                "    💬 chat    {}  [thread {}]",
                doc["content"]["title"].as_str().unwrap_or(""),
                doc["metadata"]["threadId"].as_str().unwrap_or("")
            );
            println!("       attributes: {}", attrs.join(" "));
        }
        if sent.len() == self.seen {
            println!("    (nothing was published)");
        }
        self.seen = sent.len();
        Ok(r.response)
    }
}

pub async fn run() -> Result<(), String> {
    let local = LocalAws::builder()
        .moto()
        .emulator()
        .runtime_api("build-alerts")
        .start();
    local.emulator().seed(&seed());
    let sdk = local.sdk_config(local.moto_url(), REGION).await;
    let (topic, queue) = topic_with_queue(&sdk, "codehooks-alerts", "chat-subscriber").await;
    idempotency_table(&sdk, TABLE).await;
    // What CodeBuild wrote to CloudWatch Logs for the two failing builds: colours, a leaked
    // key and a password among them (the alerts show the tail cleaned and masked).
    codehooks_tests::logs::write_stream(
        &sdk,
        "/aws/codebuild/shop-api",
        "6a1f0e2d-9c3b-4d7e-8f51-2b4c6d8e0a13",
        &shop_api_output(),
    )
    .await;
    codehooks_tests::logs::write_stream(
        &sdk,
        "/aws/codebuild/shop-release-build",
        "1f6e5d7c-4b8a-4c23-9ea6-7a9b1c3d5f68",
        &[
            "[Container] 2026/11/22 23:57:40 Running command docker build -t shop:9f86d08 .",
            "Step 7/12 : RUN npm ci --omit=dev",
            "\u{1b}[31mnpm ERR!\u{1b}[0m code E401",
            "npm ERR! Unable to authenticate, need: Basic realm=\"registry\" (token=npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8)",
            "The command '/bin/sh -c npm ci --omit=dev' returned a non-zero code: 1",
            "[Container] 2026/11/22 23:58:30 Command did not exit successfully docker build -t shop:9f86d08 . exit status 1",
            "[Container] 2026/11/22 23:58:30 Phase complete: BUILD State: FAILED",
        ],
    )
    .await;
    local.emulator().seed(&json!({
        "region": REGION,
        "codepipeline": {"pipelineDeclarations": [{
            "name": "shop-release",
            "roleArn": "arn:aws:iam::123456789012:role/shop-release-pipeline",
            "stages": [
                {"name": "Build", "actions": [{"name": "BuildImage", "actionTypeId":
                    {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                    "configuration": {"ProjectName": "shop-release-build"}}]},
                {"name": "Production", "actions": [{"name": "ApproveRelease", "actionTypeId":
                    {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
                    "configuration": {
                        "CustomData": "Check the canary dashboard, then approve the release to production.",
                        "ExternalEntityLink": "https://wiki.example.com/releases/shop"}}]}
            ]
        }]}
    }));
    let f = local.function(
        "build-alerts",
        REGION,
        &[
            ("CODEHOOKS_ALERT_TOPIC_ARN", topic.as_str()),
            ("CODEHOOKS_ALERTS_TABLE", TABLE),
            ("CODEHOOKS_ALERTS_RECOVERED", "true"),
            ("CODEHOOKS_ALERTS_APPROVALS", "true"),
            (
                "CODEHOOKS_ALERTS_APPROVERS",
                "arn:aws:iam::123456789012:role/release-managers",
            ),
        ],
    );
    println!(
        "  topic {topic}, e-mail and chat (SQS) subscribers, DynamoDB table {TABLE}; recovered and approval notices on; build logs in CloudWatch Logs"
    );
    let mut d = Demo {
        local,
        sdk,
        queue,
        f,
        seen: 0,
    };

    let first = d
        .play(
            "shop-api #142 fails its tests",
            "build-alerts-codebuild-failed.json",
            |_| {},
        )
        .await?;
    let again = d
        .play(
            "EventBridge delivers the same event again",
            "build-alerts-codebuild-failed.json",
            |_| {},
        )
        .await?;
    let pr = d
        .play(
            "a pull request's validation build fails (pr-comments reports it on the pull request)",
            "build-alerts-codebuild-pull-request-failed.json",
            |_| {},
        )
        .await?;
    d.play(
        "the release pipeline's image build fails",
        "build-alerts-codebuild-pipeline-failed.json",
        |_| {},
    )
    .await?;
    let action = d
        .play(
            "... its Build action reports FAILED",
            "build-alerts-codepipeline-action-failed-build.json",
            |_| {},
        )
        .await?;
    let pipeline = d
        .play(
            "... and the pipeline execution reports FAILED",
            "build-alerts-codepipeline-pipeline-failed.json",
            |_| {},
        )
        .await?;
    d.play(
        "the next execution fails in its CloudFormation stage",
        "build-alerts-codepipeline-action-failed.json",
        |_| {},
    )
    .await?;
    d.play(
        "the blue/green deployment fails and rolls back",
        "build-alerts-codedeploy-failure.json",
        |_| {},
    )
    .await?;
    let recovered = d
        .play(
            "a fix lands: shop-api #145 succeeds",
            "build-alerts-codebuild-succeeded.json",
            |_| {},
        )
        .await?;
    let approval = d
        .play(
            "a later release waits for approval before production",
            "build-alerts-codepipeline-approval-started.json",
            |_| {},
        )
        .await?;
    let rejected = d
        .play(
            "an event build-alerts does not know",
            "build-alerts-codebuild-failed.json",
            |e| {
                e["detail-type"] = json!("CodeBuild Build Phase Change");
            },
        )
        .await?;

    let expect = [
        (
            first["outcome"] == "published",
            "the failed build was published",
        ),
        (
            again["outcome"] == "duplicate",
            "the redelivery was recognised",
        ),
        (
            pr["outcome"] == "ignored",
            "the pull request build was left to pr-comments",
        ),
        (
            action["outcome"] == "suppressed" && pipeline["outcome"] == "suppressed",
            "one alert for the pipeline's failure",
        ),
        (
            recovered["outcome"] == "published",
            "the recovered notice was published",
        ),
        (
            approval["outcome"] == "published",
            "the approval notice was published",
        ),
        (rejected.is_null(), "the unknown event was rejected"),
        (d.seen == 6, "six messages in all"),
    ];
    for (ok, what) in expect {
        if !ok {
            return Err(format!("expected: {what}"));
        }
    }
    println!();
    println!(
        "  ✓ 11 events, 6 messages: 4 alerts, 1 recovered notice and 1 approval notice; the redelivery, the pull request build and the pipeline's own failure events added none."
    );
    Ok(())
}

/// The end of shop-api #142's log, as CodeBuild wrote it.
fn shop_api_output() -> Vec<String> {
    let mut lines: Vec<String> = (1..=30)
        .map(|i| format!("\u{1b}[32m  ✓\u{1b}[0m cart test {i} passes"))
        .collect();
    lines.extend(
        [
            "export DATABASE_URL=postgres://shop:s3cr3t-pass@db.internal:5432/shop",
            "\u{1b}[31m  ✗\u{1b}[0m checkout applies the discount once",
            "    expected 90.00, got 81.00",
            "    at tests/checkout.test.ts:42:17",
            "\u{1b}[1mTests:\u{1b}[0m 1 failed, 30 passed, 31 total",
            "[Container] 2026/11/22 23:41:10 Command did not exit successfully npm test exit status 1",
            "[Container] 2026/11/22 23:41:10 Phase complete: BUILD State: FAILED",
        ]
        .map(str::to_owned),
    );
    lines
}
