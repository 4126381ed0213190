//! pr-comments with several checks per repository: the real binary under the Lambda Runtime
//! API, CodeCommit and CodeBuild in the local emulator, CloudWatch Logs in moto. Three
//! checks, results shuffled and duplicated, the approval only once every required check
//! passed; a failed check's masked log tail in a collapsed block; re-runs asked for in
//! comments (by the author, by a stranger, with other text, the same event twice).
//!
//! Build first: `cargo build -p pr-comments`, then
//! `cargo test -p codehooks-tests --test pr_comments_checks`.

use codehooks_tests::{Function, LocalAws, event, fill_build_event, sdk_config_as};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";
const REPO: &str = "codehooks-demo";
const MAIN: &str = "1f2e3d4c5b6a79880716253443526170f8e9dacb";
const COMMIT_A: &str = "4c3a9e0f1b2d5c6e7f8091a2b3c4d5e6f7a8b9c0";
const FUNCTION_ROLE: &str = "arn:aws:iam::123456789012:role/AKIDCODEHOOKSTEST";
const FUNCTION_CALLER: &str = "arn:aws:sts::123456789012:assumed-role/AKIDCODEHOOKSTEST/session";
const DEVELOPER_KEY: &str = "AKIDDEVELOPER";
const STRANGER_KEY: &str = "AKIDSTRANGER";
const CHECKS: [&str; 3] = ["pr-lint", "pr-unit", "pr-it"];

struct Rig {
    local: LocalAws,
    f: Function,
    dev: aws_sdk_codecommit::Client,
    stranger: aws_sdk_codecommit::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    pr_id: String,
}

impl Rig {
    async fn start() -> Rig {
        let local = LocalAws::builder()
            .emulator()
            .moto()
            .runtime_api("pr-comments")
            .start();
        let projects: Vec<Value> = CHECKS.iter().map(|p| json!({"name": p})).collect();
        local.emulator().seed(&json!({
            "region": REGION,
            "codecommit": {"repositories": [
                {"repositoryName": REPO, "branches": {"main": MAIN, "feature/checks": COMMIT_A}}
            ]},
            "codebuild": {"projects": projects}
        }));
        let sdk = sdk_config_as(local.emulator_url(), REGION, DEVELOPER_KEY).await;
        let dev = aws_sdk_codecommit::Client::new(&sdk);
        let stranger = aws_sdk_codecommit::Client::new(
            &sdk_config_as(local.emulator_url(), REGION, STRANGER_KEY).await,
        );
        let logs =
            aws_sdk_cloudwatchlogs::Client::new(&local.sdk_config(local.moto_url(), REGION).await);
        let pr = dev
            .create_pull_request()
            .title("Checks")
            .targets(
                aws_sdk_codecommit::types::Target::builder()
                    .repository_name(REPO)
                    .source_reference("feature/checks")
                    .destination_reference("main")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("CreatePullRequest")
            .pull_request
            .unwrap();
        let f = local.function(
            "pr-comments",
            REGION,
            &[
                ("CODEHOOKS_PR_REPOSITORIES", REPO),
                (
                    "CODEHOOKS_PR_CHECKS",
                    r#"{"*": ["pr-lint", "pr-unit", {"project": "pr-it", "required": false}]}"#,
                ),
                ("CODEHOOKS_PR_APPROVAL", "on"),
                ("CODEHOOKS_PR_AUTHOR_ARN", FUNCTION_ROLE),
                ("CODEHOOKS_PR_LOG_LINES", "5"),
            ],
        );
        Rig {
            local,
            f,
            dev,
            stranger,
            logs,
            pr_id: pr.pull_request_id.unwrap(),
        }
    }

    fn state(&self) -> Value {
        self.local.emulator().state(REGION)
    }

    fn invoke(&self, e: &Value) -> Value {
        let out = self.f.invoke(e, 20_000);
        assert!(out.is_ok(), "invocation failed: {out:?}\n{}", self.f.logs());
        out.response
    }

    fn created(&self) -> Value {
        let pr = self.state()["pullRequests"][&self.pr_id]["pullRequest"].clone();
        let t = &pr["pullRequestTargets"][0];
        let mut e = event("pr-comments-pull-request-created.json");
        let d = &mut e["detail"];
        d["pullRequestId"] = json!(self.pr_id);
        d["sourceCommit"] = t["sourceCommit"].clone();
        d["destinationCommit"] = t["destinationCommit"].clone();
        d["sourceReference"] = t["sourceReference"].clone();
        d["revisionId"] = pr["revisionId"].clone();
        e
    }

    /// The builds of `project`, oldest first.
    fn builds(&self, project: &str) -> Vec<Value> {
        let mut b: Vec<Value> = self.state()["builds"]
            .as_object()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        b.retain(|b| b["projectName"] == project);
        b.sort_by_key(|b| b["buildNumber"].as_u64());
        b
    }

    /// Ends `build` with `status` in the emulator; the event that says so.
    fn end(&self, build: &Value, status: &str) -> Value {
        let phases = json!([
            {"phaseType": "BUILD", "phaseStatus": if status == "SUCCEEDED" { "SUCCEEDED" } else { "FAILED" }, "durationInSeconds": 42}
        ]);
        self.local
            .emulator()
            .set_build(REGION, build["id"].as_str().unwrap(), status, &phases);
        let b = self
            .builds(build["projectName"].as_str().unwrap())
            .into_iter()
            .find(|b| b["id"] == build["id"])
            .unwrap();
        let file = if status == "SUCCEEDED" {
            "pr-comments-build-succeeded.json"
        } else {
            "pr-comments-build-failed.json"
        };
        let mut e = event(file);
        fill_build_event(&mut e, &b);
        e["detail"]["project-name"] = b["projectName"].clone();
        e["detail"]["additional-information"]["phases"] = json!([
            {"phase-type": "BUILD", "phase-status": if status == "SUCCEEDED" { "SUCCEEDED" } else { "FAILED" }, "duration-in-seconds": 42}
        ]);
        e
    }

    /// The function's comments on the pull request.
    fn own_comments(&self) -> Vec<String> {
        self.state()["pullRequests"][&self.pr_id]["comments"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c["comment"]["authorArn"] == FUNCTION_CALLER)
            .map(|c| c["comment"]["content"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Posts `text` on the pull request as `client`; the comment event CodeCommit would send.
    async fn say(&self, client: &aws_sdk_codecommit::Client, text: &str) -> Value {
        let on = codehooks_tests::comments::On {
            pull_request_id: &self.pr_id,
            repository: REPO,
            before_commit: MAIN,
            after_commit: COMMIT_A,
        };
        codehooks_tests::comments::say(client, &on, text).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_checks_shuffled_and_duplicated_results_approve_once_all_required_passed() {
    let rig = Rig::start().await;
    let out = rig.invoke(&rig.created());
    assert_eq!(out["action"], "started", "{out}");
    assert_eq!(out["checks"].as_array().unwrap().len(), 3, "{out}");
    for p in CHECKS {
        assert_eq!(rig.builds(p).len(), 1, "{p}");
    }
    assert_eq!(rig.own_comments().len(), 1);
    assert_eq!(rig.invoke(&rig.created())["action"], "already-started");

    let lint = rig.end(&rig.builds("pr-lint")[0], "SUCCEEDED");
    let unit = rig.end(&rig.builds("pr-unit")[0], "SUCCEEDED");
    let it = rig.end(&rig.builds("pr-it")[0], "FAILED");
    let mut approvals = Vec::new();
    for e in [&it, &unit, &it, &unit, &lint, &lint, &it] {
        let out = rig.invoke(e);
        assert_eq!(out["action"], "reported", "{out}");
        assert_eq!(out["durationSeconds"], 42, "{out}");
        approvals.push(out["approval"].clone());
    }
    assert_eq!(
        approvals[..4],
        [Value::Null, Value::Null, Value::Null, Value::Null]
    );
    assert_eq!(approvals[4], "APPROVE");
    let c = rig.own_comments();
    assert_eq!(c.len(), 1, "one living comment: {c:?}");
    assert!(c[0].starts_with("✅ **Validation passed**"), "{}", c[0]);
    assert!(
        c[0].contains("| `pr-it` (optional) | ❌ failed"),
        "{}",
        c[0]
    );
    assert!(c[0].contains("| `pr-lint` | ✅ passed"), "{}", c[0]);
    let logs = rig.f.logs();
    assert!(logs.contains("ValidationSeconds"), "EMF record: {logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_check_shows_its_masked_tail_and_the_author_can_retry_it_once() {
    let rig = Rig::start().await;
    rig.invoke(&rig.created());
    let unit = rig.builds("pr-unit")[0].clone();
    let group = unit["logs"]["groupName"].as_str().unwrap().to_owned();
    let stream = unit["logs"]["streamName"].as_str().unwrap().to_owned();
    let lines = [
        "old line that is cut",
        "npm test",
        "\u{1b}[31mFAIL\u{1b}[0m src/login.test.ts",
        "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "``` </details> <b>",
        "exit status 1",
    ];
    codehooks_tests::logs::write_stream_with(&rig.logs, &group, &stream, &lines).await;

    let failed = rig.end(&unit, "FAILED");
    let out = rig.invoke(&failed);
    assert_eq!(out["approval"], "REVOKE", "{out}");
    assert_eq!(
        out["logTail"],
        json!({"kind": "lines", "lines": 5}),
        "{out}"
    );
    let c = &rig.own_comments()[0];
    assert!(
        c.contains("<details><summary>Last 5 log lines of `pr-unit`</summary>"),
        "{c}"
    );
    assert!(c.contains("````text\n"), "{c}");
    assert!(
        c.contains("exit status 1") && !c.contains("old line"),
        "{c}"
    );
    assert!(!c.contains("wJalrXUtnFEMI") && !c.contains('\u{1b}'), "{c}");
    assert_eq!(c.matches("</details>").count(), 1, "{c}");

    // A stranger and other text do nothing.
    for (client, text) in [
        (&rig.stranger, "/codehooks retry"),
        (&rig.dev, "please retry"),
    ] {
        let e = rig.say(client, text).await;
        let out = rig.invoke(&e);
        assert_eq!(out["action"], "ignored", "{text}: {out}");
    }
    assert_eq!(rig.builds("pr-unit").len(), 1);
    // The author's command starts the failed check again, once per comment.
    let e = rig.say(&rig.dev, "/codehooks retry").await;
    let out = rig.invoke(&e);
    assert_eq!(out["action"], "retried", "{out}");
    assert_eq!(rig.builds("pr-unit").len(), 2);
    assert_eq!(rig.builds("pr-lint").len(), 1);
    let again = rig.invoke(&e);
    assert_eq!(again["action"], "ignored", "{again}");
    assert_eq!(rig.builds("pr-unit").len(), 2);
    let c = &rig.own_comments()[0];
    assert!(c.contains("| `pr-unit` | 🔁 started (retry)"), "{c}");
    // The function's own comment events are ignored.
    let mut own = event("pr-comments-comment-on-pull-request.json");
    own["detail"]["callerUserArn"] = json!(FUNCTION_CALLER);
    assert_eq!(rig.invoke(&own)["action"], "ignored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_single_project_shows_the_tail_of_its_failed_build_too() {
    let local = LocalAws::builder()
        .emulator()
        .moto()
        .runtime_api("pr-comments")
        .start();
    local.emulator().seed(&json!({
        "region": REGION,
        "codecommit": {"repositories": [
            {"repositoryName": REPO, "branches": {"main": MAIN, "feature/one": COMMIT_A}}
        ]},
        "codebuild": {"projects": [{"name": "pr-single"}]}
    }));
    let dev = aws_sdk_codecommit::Client::new(
        &sdk_config_as(local.emulator_url(), REGION, DEVELOPER_KEY).await,
    );
    let pr = dev
        .create_pull_request()
        .title("One")
        .targets(
            aws_sdk_codecommit::types::Target::builder()
                .repository_name(REPO)
                .source_reference("feature/one")
                .destination_reference("main")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .pull_request
        .unwrap();
    let f = local.function(
        "pr-comments",
        REGION,
        &[
            ("CODEHOOKS_PR_REPOSITORIES", REPO),
            ("CODEHOOKS_PR_BUILD_PROJECT", "pr-single"),
            ("CODEHOOKS_PR_AUTHOR_ARN", FUNCTION_ROLE),
        ],
    );
    let rig = Rig {
        dev: dev.clone(),
        stranger: dev,
        logs: aws_sdk_cloudwatchlogs::Client::new(
            &local.sdk_config(local.moto_url(), REGION).await,
        ),
        local,
        f,
        pr_id: pr.pull_request_id.unwrap(),
    };
    assert_eq!(rig.invoke(&rig.created())["action"], "started");
    let b = rig.builds("pr-single")[0].clone();
    let group = b["logs"]["groupName"].as_str().unwrap().to_owned();
    let stream = b["logs"]["streamName"].as_str().unwrap().to_owned();
    codehooks_tests::logs::write_stream_with(
        &rig.logs,
        &group,
        &stream,
        &["make: *** [test] Error 2"],
    )
    .await;
    let out = rig.invoke(&rig.end(&b, "FAILED"));
    assert_eq!(out["action"], "reported", "{out}");
    assert_eq!(
        out["logTail"],
        json!({"kind": "lines", "lines": 1}),
        "{out}"
    );
    let c = &rig.own_comments()[0];
    assert!(c.starts_with("❌ **Validation failed**"), "{c}");
    assert!(
        c.contains("<details><summary>Last 1 log lines of `pr-single`</summary>"),
        "{c}"
    );
    assert!(
        c.contains("make: \\*\\*\\*") || c.contains("make: *** [test] Error 2"),
        "{c}"
    );
    assert!(c.contains("state `FAILED`_"), "the footer stays last: {c}");
}
