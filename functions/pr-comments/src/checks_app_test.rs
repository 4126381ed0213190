//! Unit tests of several checks per repository (`checks_app.rs`, `retry.rs`, `log_tail.rs`)
//! against the in-memory twins.

use std::sync::Arc;

use codehooks::config::Env;
use codehooks::logtail::MemoryLogs;
use serde_json::{Value, json};

use crate::app::App;
use crate::config::{Author, Config};
use crate::fixtures::{A, AUTHOR, B, DEST, ME, RELEASE, STRANGER};
use crate::outcome::Outcome;
use crate::ports::{Approval, PullRequestNow};
use crate::rows::board_of;
use crate::twins::{HostTwin, RunnerTwin};

const GROUP: &str = "/aws/codebuild/unit";

type TestApp = App<HostTwin, RunnerTwin>;

fn app_with(extra: &[(&str, &str)]) -> (TestApp, Arc<MemoryLogs>) {
    let mut pairs = vec![
        (
            "CODEHOOKS_PR_CHECKS",
            r#"{"*": ["lint", "unit", {"project": "it", "required": false}]}"#,
        ),
        ("CODEHOOKS_PR_APPROVAL", "on"),
        (
            "CODEHOOKS_PR_RETRY_ALLOWED",
            "arn:aws:iam::123456789012:role/release",
        ),
    ];
    pairs.extend_from_slice(extra);
    let mut env = Env::from_pairs(pairs);
    let mut config = Config::read(&mut env);
    env.finish().unwrap();
    config.author = Author::parse(ME);
    let logs = Arc::new(MemoryLogs::new());
    let app = App::new(
        config,
        HostTwin::new(ME),
        RunnerTwin::new("us-east-1", "123456789012"),
        "us-east-1",
    )
    .with_logs(logs.clone());
    app.host.put_pull_request("7", pr(A, "rev-1"));
    (app, logs)
}

fn pr(source: &str, revision: &str) -> PullRequestNow {
    PullRequestNow {
        open: true,
        repository: "app".into(),
        source_commit: source.into(),
        destination_commit: DEST.into(),
        revision_id: revision.into(),
        source_reference: Some("refs/heads/feature".into()),
        destination_reference: Some("refs/heads/main".into()),
        author_arn: Some(AUTHOR.into()),
    }
}

fn pr_event(event: &str, source: &str) -> Value {
    json!({
        "id": "e-1", "detail-type": "CodeCommit Pull Request State Change", "source": "aws.codecommit",
        "account": "123456789012", "region": "us-east-1",
        "resources": ["arn:aws:codecommit:us-east-1:123456789012:app"],
        "detail": {"event": event, "pullRequestId": "7", "repositoryNames": ["app"],
            "sourceCommit": source, "destinationCommit": DEST, "revisionId": "rev-x",
            "pullRequestStatus": "Open", "isMerged": "False"}
    })
}

/// The event of the runner's build of `project` number `nth` (1-based among that project's).
fn build_event(app: &TestApp, project: &str, nth: usize, status: &str) -> Value {
    let b = app
        .runner
        .state()
        .builds
        .iter()
        .filter(|b| b.project == project)
        .nth(nth - 1)
        .cloned()
        .unwrap();
    app.runner.set_status(&b.id, status);
    let vars: Vec<Value> = b
        .variables
        .iter()
        .map(|(k, v)| json!({"name": k, "type": "PLAINTEXT", "value": v}))
        .collect();
    json!({
        "id": format!("{}-{status}", b.id), "detail-type": "CodeBuild Build State Change",
        "source": "aws.codebuild", "account": "123456789012", "region": "us-east-1",
        "resources": [b.arn],
        "detail": {"build-status": status, "project-name": b.project, "build-id": b.arn,
            "additional-information": {"build-number": b.number,
                "environment": {"environment-variables": vars},
                "logs": {"group-name": format!("/aws/codebuild/{}", b.project), "stream-name": b.id.split(':').nth(1).unwrap()},
                "phases": [{"phase-type": "BUILD", "phase-status": if status == "SUCCEEDED" { "SUCCEEDED" } else { "FAILED" },
                    "duration-in-seconds": 61}]}}
    })
}

fn comment_event(id: &str, event: &str) -> Value {
    let mut e = crate::fixtures::comment_event(id);
    e["detail"]["event"] = json!(event);
    e
}

fn say(app: &TestApp, author: &str, text: &str) -> String {
    crate::fixtures::say(&app.host, author, text)
}

async fn run(app: &TestApp, e: Value) -> Value {
    let o: Outcome = app.dispatch(e).await.unwrap();
    serde_json::to_value(&o).unwrap()
}

fn living(app: &TestApp) -> Vec<String> {
    app.host
        .state()
        .comments
        .iter()
        .filter(|c| c.author_arn == ME)
        .map(|c| c.content.clone())
        .collect()
}

fn approval(app: &TestApp, rev: &str) -> Option<Approval> {
    app.host
        .state()
        .approvals
        .get(&("7".to_owned(), rev.to_owned()))
        .copied()
}

#[tokio::test]
async fn a_new_pull_request_starts_one_build_per_check_and_one_comment() {
    let (app, _) = app_with(&[]);
    let out = run(&app, pr_event("pullRequestCreated", A)).await;
    assert_eq!(out["action"], "started", "{out}");
    assert_eq!(out["checks"].as_array().unwrap().len(), 3, "{out}");
    assert_eq!(out["approval"], "REVOKE", "{out}");
    let builds = app.runner.state().builds.clone();
    let projects: Vec<&str> = builds.iter().map(|b| b.project.as_str()).collect();
    assert_eq!(projects, ["lint", "unit", "it"]);
    let c = living(&app);
    assert_eq!(c.len(), 1);
    assert!(c[0].contains("| `lint` | ⏳ started"), "{}", c[0]);
    assert!(c[0].contains("`it` (optional)"), "{}", c[0]);
    let board = board_of(&c[0]).unwrap();
    assert_eq!(
        (board.commit.as_str(), board.revision.as_str()),
        (A, "rev-1")
    );

    // Redelivered: nothing new.
    let again = run(&app, pr_event("pullRequestCreated", A)).await;
    assert_eq!(again["action"], "already-started", "{again}");
    assert_eq!(again["comment"], "unchanged", "{again}");
    assert_eq!(app.runner.state().builds.len(), 3);
    assert_eq!(living(&app).len(), 1);
}

#[tokio::test]
async fn results_in_any_order_and_twice_approve_only_when_every_required_check_passed() {
    let (app, _) = app_with(&[]);
    run(&app, pr_event("pullRequestCreated", A)).await;
    let unit = build_event(&app, "unit", 1, "SUCCEEDED");
    let it = build_event(&app, "it", 1, "FAILED");
    let lint = build_event(&app, "lint", 1, "SUCCEEDED");

    let out = run(&app, unit.clone()).await;
    assert_eq!(out["action"], "reported", "{out}");
    assert_eq!(out["check"], "unit");
    assert_eq!(out["durationSeconds"], 61);
    assert_eq!(out["approval"], Value::Null, "lint still runs: {out}");
    let out = run(&app, it.clone()).await;
    assert_eq!(out["approval"], Value::Null, "it is optional: {out}");
    assert_eq!(run(&app, unit.clone()).await["comment"], "unchanged");
    assert_eq!(approval(&app, "rev-1"), Some(Approval::Revoke));
    let out = run(&app, lint.clone()).await;
    assert_eq!(out["approval"], "APPROVE", "{out}");
    assert_eq!(approval(&app, "rev-1"), Some(Approval::Approve));
    for e in [lint, it, unit] {
        assert_eq!(run(&app, e).await["comment"], "unchanged");
    }
    let c = living(&app);
    assert_eq!(c.len(), 1);
    assert!(c[0].starts_with("✅ **Validation passed**"), "{}", c[0]);
    assert!(
        c[0].contains("| `it` (optional) | ❌ failed | 1 min 01 s |"),
        "{}",
        c[0]
    );
    // A late start event never turns a row back to "started".
    let late = run(&app, pr_event("pullRequestSourceBranchUpdated", A)).await;
    assert_eq!(late["comment"], "unchanged", "{late}");
}

#[tokio::test]
async fn a_required_failure_revokes_and_shows_the_masked_tail() {
    let (app, logs) = app_with(&[]);
    run(&app, pr_event("pullRequestCreated", A)).await;
    run(&app, build_event(&app, "lint", 1, "SUCCEEDED")).await;
    let e = build_event(&app, "unit", 1, "FAILED");
    let stream = e["detail"]["additional-information"]["logs"]["stream-name"]
        .as_str()
        .unwrap()
        .to_owned();
    logs.put(
        GROUP,
        &stream,
        [
            "running tests",
            "\u{1b}[31merror\u{1b}[0m: assertion failed ```x```",
            "password=hunter2",
            "</details> <script>",
        ],
    );
    let out = run(&app, e).await;
    assert_eq!(out["approval"], "REVOKE", "{out}");
    assert_eq!(
        out["logTail"],
        json!({"kind": "lines", "lines": 4}),
        "{out}"
    );
    let c = &living(&app)[0];
    assert!(c.starts_with("❌ **Validation failed**"), "{c}");
    assert!(
        c.contains("<details><summary>Last 4 log lines of `unit`</summary>"),
        "{c}"
    );
    assert!(c.contains("````text\n"), "fence longer than ```: {c}");
    assert!(!c.contains("hunter2") && !c.contains("\u{1b}"), "{c}");
    assert!(c.contains("‹/details>"), "{c}");
    assert_eq!(c.matches("</details>").count(), 1, "{c}");
    // Another row's result keeps the block.
    let out = run(&app, build_event(&app, "it", 1, "SUCCEEDED")).await;
    assert_eq!(out["logTail"], Value::Null);
    assert!(living(&app)[0].contains("Last 4 log lines of `unit`"));
}

#[tokio::test]
async fn an_unreadable_log_says_so_and_the_comment_stays_within_the_limit() {
    let (app, logs) = app_with(&[]);
    run(&app, pr_event("pullRequestCreated", A)).await;
    let out = run(&app, build_event(&app, "unit", 1, "FAILED")).await;
    assert_eq!(out["logTail"]["kind"], "unavailable", "{out}");
    assert!(
        out["logTail"]["reason"]
            .as_str()
            .unwrap()
            .contains("ResourceNotFoundException")
    );

    let e = build_event(&app, "lint", 1, "FAILED");
    let stream = e["detail"]["additional-information"]["logs"]["stream-name"]
        .as_str()
        .unwrap()
        .to_owned();
    let long: Vec<String> = (0..200)
        .map(|i| format!("line {i} {}", "x".repeat(400)))
        .collect();
    logs.put("/aws/codebuild/lint", &stream, long);
    let (app2, _) = (app, ());
    let cfg_lines = app2.config.log_lines;
    assert_eq!(cfg_lines, 20);
    run(&app2, e).await;
    let c = &living(&app2)[0];
    assert!(
        c.chars().count() <= crate::markdown::MAX_COMMENT_CHARS,
        "{}",
        c.chars().count()
    );
    assert!(c.contains("line 199"), "the newest lines stay");
    assert!(board_of(c).is_some(), "the footer is never cut");
    assert!(c.contains("[logs](https://"), "links are never cut");
}

#[tokio::test]
async fn a_result_of_an_older_revision_never_changes_the_current_rows() {
    let (app, _) = app_with(&[]);
    run(&app, pr_event("pullRequestCreated", A)).await;
    app.host.put_pull_request("7", pr(B, "rev-2"));
    let out = run(&app, pr_event("pullRequestSourceBranchUpdated", B)).await;
    assert_eq!(out["action"], "started", "{out}");
    assert_eq!(out["stoppedBuilds"].as_array().unwrap().len(), 3, "{out}");
    let before: Vec<String> = living(&app);
    let out = run(&app, build_event(&app, "unit", 1, "STOPPED")).await;
    assert_eq!(out["outdated"], true, "{out}");
    let after = living(&app);
    assert_eq!(
        before[1], after[1],
        "the current revision's comment is untouched"
    );
    assert!(after[0].contains("⏹️ superseded"), "{}", after[0]);
    assert!(
        after[0].contains("replaced by commit `9d8c7b6`"),
        "{}",
        after[0]
    );
    assert_eq!(approval(&app, "rev-2"), Some(Approval::Revoke));
}

#[tokio::test]
async fn a_retry_by_the_author_starts_the_failed_check_again_once() {
    let (app, _) = app_with(&[]);
    run(&app, pr_event("pullRequestCreated", A)).await;
    let failed = build_event(&app, "unit", 1, "FAILED");
    run(&app, failed.clone()).await;
    let id = say(&app, AUTHOR, "  /CodeHooks retry \n");
    let out = run(&app, comment_event(&id, "commentOnPullRequestCreated")).await;
    assert_eq!(out["action"], "retried", "{out}");
    assert_eq!(out["builds"].as_array().unwrap().len(), 1, "{out}");
    assert_eq!(app.runner.state().builds.len(), 4);
    let c = &living(&app)[0];
    assert!(c.contains("| `unit` | 🔁 started (retry)"), "{c}");
    // The same comment event again: nothing starts.
    let again = run(&app, comment_event(&id, "commentOnPullRequestCreated")).await;
    assert_eq!(again["action"], "ignored", "{again}");
    assert_eq!(app.runner.state().builds.len(), 4);
    // The replaced build's late result changes nothing.
    let late = run(&app, failed).await;
    assert_eq!(late["reason"], "build was replaced by a re-run", "{late}");
    // The new build's result fills the row.
    let out = run(&app, build_event(&app, "unit", 2, "SUCCEEDED")).await;
    assert_eq!(out["action"], "reported", "{out}");
    assert!(living(&app)[0].contains("| `unit` | ✅ passed"));
}

#[tokio::test]
async fn retries_by_others_or_with_other_text_do_nothing() {
    let (app, _) = app_with(&[]);
    run(&app, pr_event("pullRequestCreated", A)).await;
    run(&app, build_event(&app, "unit", 1, "FAILED")).await;
    for (who, text, reason) in [
        (STRANGER, "/codehooks retry", "may ask for a re-run"),
        (AUTHOR, "/codehooks retry please", "no check of that name"),
        (AUTHOR, "please /codehooks retry", "not a command"),
        (AUTHOR, "/codehooks retry nope", "no check of that name"),
        (ME, "/codehooks retry", "pr-comments itself"),
    ] {
        let id = say(&app, who, text);
        let out = run(&app, comment_event(&id, "commentOnPullRequestCreated")).await;
        assert_eq!(out["action"], "ignored", "{text}: {out}");
        assert!(
            out["reason"].as_str().unwrap().contains(reason),
            "{text}: {out}"
        );
    }
    assert_eq!(app.runner.state().builds.len(), 3);
    // An edited comment never acts; a listed role's session may ask, for a named check.
    let id = say(&app, AUTHOR, "/codehooks retry");
    let out = run(&app, comment_event(&id, "commentOnPullRequestUpdated")).await;
    assert_eq!(out["action"], "ignored", "{out}");
    let id = say(&app, RELEASE, "/codehooks retry lint");
    let out = run(&app, comment_event(&id, "commentOnPullRequestCreated")).await;
    assert_eq!(out["action"], "retried", "{out}");
    assert_eq!(app.runner.state().builds.len(), 4);
    // A comment that does not exist.
    let out = run(&app, comment_event("c-404", "commentOnPullRequestCreated")).await;
    assert_eq!(out["reason"], "comment does not exist", "{out}");
    // A bad comment id is bad input, without any call.
    let calls = app.host.calls_of("GetComment");
    assert!(
        app.dispatch(comment_event("../x", "commentOnPullRequestCreated"))
            .await
            .is_err()
    );
    assert_eq!(app.host.calls_of("GetComment"), calls);
}

#[tokio::test]
async fn a_repository_without_checks_keeps_the_single_project() {
    let (app, _) = app_with(&[
        ("CODEHOOKS_PR_CHECKS", r#"{"shop-api": ["unit"]}"#),
        ("CODEHOOKS_PR_BUILD_PROJECT", "pr-validate"),
    ]);
    let out = run(&app, pr_event("pullRequestCreated", A)).await;
    assert_eq!(out["action"], "started", "{out}");
    assert!(out.get("checks").is_none(), "{out}");
    assert_eq!(app.runner.state().builds[0].project, "pr-validate");
    // A re-run there starts the single project again.
    let id = say(&app, AUTHOR, "/codehooks retry");
    let out = run(&app, comment_event(&id, "commentOnPullRequestCreated")).await;
    assert_eq!(out["action"], "retried", "{out}");
    assert_eq!(out["checks"], json!([]), "{out}");
    let builds = app.runner.state().builds.clone();
    assert_eq!(builds.len(), 2);
    assert!(builds.iter().all(|b| b.project == "pr-validate"));
}

#[test]
fn the_emf_record_has_the_validation_duration() {
    use codehooks::harness::Outcome as _;
    let o = Outcome::Reported(crate::outcome::Reported {
        pull_request_id: "7".into(),
        repository: "app".into(),
        build_id: "unit:1".into(),
        build_status: "FAILED",
        source_commit: A.into(),
        outdated: false,
        comment: crate::outcome::CommentResult::Updated,
        approval: None,
        check: Some("unit".into()),
        duration_seconds: Some(61),
        log_tail: None,
    });
    let mut m = codehooks::emf::Metrics::new("codehooks", "pr-comments");
    o.record(&mut m);
    let line = m.to_line(0);
    assert!(line.contains("\"ValidationSeconds\":61"), "{line}");
}

#[tokio::test]
async fn the_single_project_shows_the_tail_of_its_failed_build_too() {
    let (app, logs) = app_with(&[
        ("CODEHOOKS_PR_CHECKS", r#"{"shop-api": ["unit"]}"#),
        ("CODEHOOKS_PR_BUILD_PROJECT", "pr-validate"),
    ]);
    run(&app, pr_event("pullRequestCreated", A)).await;
    let e = build_event(&app, "pr-validate", 1, "FAILED");
    let stream = e["detail"]["additional-information"]["logs"]["stream-name"]
        .as_str()
        .unwrap()
        .to_owned();
    logs.put(
        "/aws/codebuild/pr-validate",
        &stream,
        ["boom ```", "token=abc"],
    );
    let out = run(&app, e).await;
    assert_eq!(
        out["logTail"],
        json!({"kind": "lines", "lines": 2}),
        "{out}"
    );
    let c = &living(&app)[0];
    assert!(c.contains("Last 2 log lines of `pr-validate`"), "{c}");
    assert!(c.contains("````text\nboom ```\n"), "{c}");
    assert!(
        crate::markdown::record_of(c).is_some(),
        "the footer stays last: {c}"
    );
    // A passed build reads no log.
    let reads = logs.reads();
    run(&app, build_event(&app, "pr-validate", 1, "SUCCEEDED")).await;
    assert_eq!(logs.reads(), reads);
}
