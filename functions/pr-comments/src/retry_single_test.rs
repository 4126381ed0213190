//! Unit tests of re-runs with a single project (`retry_single.rs`) against the twins, and of
//! the footer's record of the re-run comments (`markdown.rs`).

use codehooks::config::Env;
use serde_json::{Value, json};

use crate::app::App;
use crate::comments::NOT_OURS;
use crate::config::{Author, Config};
use crate::fixtures::{A, AUTHOR, DEST, ME, RELEASE, STRANGER};
use crate::markdown::{self, State};
use crate::ports::{Approval, PullRequestNow};
use crate::retry_single::{retries_of, with_retries};
use crate::twins::{HostTwin, RunnerTwin};

type TestApp = App<HostTwin, RunnerTwin>;

fn app() -> TestApp {
    let mut env = Env::from_pairs([
        ("CODEHOOKS_PR_BUILD_PROJECT", "pr-validate"),
        ("CODEHOOKS_PR_APPROVAL", "on"),
        (
            "CODEHOOKS_PR_RETRY_ALLOWED",
            "arn:aws:iam::123456789012:role/release",
        ),
    ]);
    let mut config = Config::read(&mut env);
    env.finish().unwrap();
    config.author = Author::parse(ME);
    let app = App::new(
        config,
        HostTwin::new(ME),
        RunnerTwin::new("us-east-1", "123456789012"),
        "us-east-1",
    );
    app.host.put_pull_request(
        "7",
        PullRequestNow {
            open: true,
            repository: "app".into(),
            source_commit: A.into(),
            destination_commit: DEST.into(),
            revision_id: "rev-1".into(),
            source_reference: Some("refs/heads/feature".into()),
            destination_reference: Some("refs/heads/main".into()),
            author_arn: Some(AUTHOR.into()),
        },
    );
    app
}

fn created() -> Value {
    json!({
        "id": "e-1", "detail-type": "CodeCommit Pull Request State Change", "source": "aws.codecommit",
        "account": "123456789012", "region": "us-east-1",
        "resources": ["arn:aws:codecommit:us-east-1:123456789012:app"],
        "detail": {"event": "pullRequestCreated", "pullRequestId": "7", "repositoryNames": ["app"],
            "sourceCommit": A, "destinationCommit": DEST, "revisionId": "rev-x",
            "pullRequestStatus": "Open", "isMerged": "False"}
    })
}

/// The event of build `n` (1-based), now in `status`.
fn build_event(app: &TestApp, n: usize, status: &str) -> Value {
    let b = app.runner.state().builds[n - 1].clone();
    app.runner.set_status(&b.id, status);
    let vars: Vec<Value> = b
        .variables
        .iter()
        .map(|(k, v)| json!({"name": k, "type": "PLAINTEXT", "value": v}))
        .collect();
    json!({
        "id": format!("b-{n}-{status}"), "detail-type": "CodeBuild Build State Change",
        "source": "aws.codebuild", "account": "123456789012", "region": "us-east-1",
        "resources": [b.arn],
        "detail": {"build-status": status, "project-name": b.project, "build-id": b.arn,
            "additional-information": {"build-number": b.number, "environment": {"environment-variables": vars},
                "phases": [{"phase-type": "BUILD", "phase-status": if status == "SUCCEEDED" { "SUCCEEDED" } else { "FAILED" },
                    "duration-in-seconds": 42}]}}
    })
}

fn comment_event(id: &str) -> Value {
    crate::fixtures::comment_event(id)
}

fn say(app: &TestApp, author: &str, text: &str) -> String {
    crate::fixtures::say(&app.host, author, text)
}

async fn run(app: &TestApp, e: Value) -> Value {
    serde_json::to_value(app.dispatch(e).await.unwrap()).unwrap()
}

/// The function's comments.
fn own(app: &TestApp) -> Vec<String> {
    app.host
        .state()
        .comments
        .iter()
        .filter(|c| c.author_arn == ME)
        .map(|c| c.content.clone())
        .collect()
}

fn approval(app: &TestApp) -> Option<Approval> {
    app.host
        .state()
        .approvals
        .get(&("7".to_owned(), "rev-1".to_owned()))
        .copied()
}

#[tokio::test]
async fn the_author_re_runs_the_project_once_and_the_old_result_no_longer_counts() {
    let app = app();
    run(&app, created()).await;
    let first = build_event(&app, 1, "FAILED");
    run(&app, first.clone()).await;
    assert!(own(&app)[0].starts_with("❌"), "{:?}", own(&app));
    let id = say(&app, AUTHOR, "/codehooks retry");
    let out = run(&app, comment_event(&id)).await;
    assert_eq!(out["action"], "retried", "{out}");
    assert_eq!(out["approval"], "REVOKE", "{out}");
    assert_eq!(out["comment"], "updated", "{out}");
    let builds = app.runner.state().builds.clone();
    assert_eq!(builds.len(), 2);
    assert_eq!(builds[1].source_version, A);
    assert_eq!(out["builds"], json!([builds[1].id]), "{out}");
    let c = own(&app);
    assert_eq!(c.len(), 1, "the same comment, edited: {c:?}");
    assert!(
        c[0].starts_with("⏳ **Validation started** (re-run requested by Developer/alice)"),
        "{}",
        c[0]
    );
    let record = markdown::record_of(&c[0]).unwrap();
    assert_eq!(record.build_id, builds[1].id);
    assert_eq!(record.state, State::Started);
    assert_eq!(retries_of(&c[0]), vec![id.clone()]);
    assert_eq!(approval(&app), Some(Approval::Revoke));

    // The same comment event again: nothing starts.
    let again = run(&app, comment_event(&id)).await;
    assert_eq!(again["reason"], "this comment's re-run was started already");
    assert_eq!(app.runner.state().builds.len(), 2);
    // The earlier build's result, late or redelivered, changes nothing.
    let late = run(&app, first).await;
    assert_eq!(late["reason"], NOT_OURS, "{late}");
    assert_eq!(own(&app), c);
    // The re-run's result does, and keeps the record of the re-run comment.
    let out = run(&app, build_event(&app, 2, "SUCCEEDED")).await;
    assert_eq!(out["action"], "reported", "{out}");
    assert_eq!(out["approval"], "APPROVE", "{out}");
    let c = own(&app);
    assert!(c[0].starts_with("✅ **Validation passed**"), "{}", c[0]);
    assert_eq!(retries_of(&c[0]), vec![id.clone()]);
    let again = run(&app, comment_event(&id)).await;
    assert_eq!(again["action"], "ignored", "{again}");
    assert_eq!(app.runner.state().builds.len(), 2);
    // A second command re-runs a passed build too, naming the project.
    let id2 = say(&app, RELEASE, "/codehooks retry pr-validate");
    let out = run(&app, comment_event(&id2)).await;
    assert_eq!(out["action"], "retried", "{out}");
    assert_eq!(app.runner.state().builds.len(), 3);
    assert_eq!(retries_of(&own(&app)[0]), vec![id, id2]);
}

#[tokio::test]
async fn strangers_other_text_and_other_names_start_nothing() {
    let app = app();
    let id = say(&app, AUTHOR, "/codehooks retry");
    let out = run(&app, comment_event(&id)).await;
    assert_eq!(
        out["reason"], "the current revision has no validation of pr-comments to re-run",
        "{out}"
    );
    run(&app, created()).await;
    for (who, text, reason) in [
        (STRANGER, "/codehooks retry", "may ask for a re-run"),
        (AUTHOR, "please /codehooks retry", "not a command"),
        (AUTHOR, "/codehooks retry unit", "no check of that name"),
        (ME, "/codehooks retry", "pr-comments itself"),
    ] {
        let id = say(&app, who, text);
        let out = run(&app, comment_event(&id)).await;
        assert_eq!(out["action"], "ignored", "{text}: {out}");
        assert!(
            out["reason"].as_str().unwrap().contains(reason),
            "{text}: {out}"
        );
    }
    assert_eq!(app.runner.state().builds.len(), 1);
    assert!(own(&app)[0].starts_with("⏳ **Validation started** for"));
}

#[test]
fn the_footer_keeps_the_newest_re_run_comments_that_fit() {
    let c = "body\n---\n_codehooks pr-comments · build `p:1` · commit `abc` · state `STARTED`_";
    assert!(retries_of(c).is_empty());
    assert_eq!(with_retries(c, &[]), c);
    let ids: Vec<String> = (0..40).map(|i| format!("{i:036}")).collect();
    let with = with_retries(c, &ids);
    let kept = retries_of(&with);
    assert!(kept.len() > 10 && kept.len() < 40, "{}", kept.len());
    assert_eq!(kept.last(), ids.last());
    assert!(with.len() - c.len() <= markdown::RETRIES_ROOM);
    let record = markdown::record_of(&with).unwrap();
    assert_eq!(
        (record.build_id.as_str(), record.commit.as_str()),
        ("p:1", "abc")
    );
    assert_eq!(markdown::state_of(&with), Some(State::Started));
    // Replaced, not added to; text after the footer is no footer.
    let again = with_retries(&with, &ids[..1]);
    assert_eq!(retries_of(&again), ids[..1].to_vec());
    assert!(retries_of(&format!("{with} more")).is_empty());
}
