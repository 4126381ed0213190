//! Unit tests of the orchestration (`app.rs` and `comments.rs`) against the in-memory twins.

use super::*;
use crate::comments::NOT_OURS;
use crate::fixtures::{A, AUTHOR, B, DEST, ME, STRANGER};
use crate::ports::StartBuild;
use crate::twins::{HostTwin, RunnerTwin};
use codehooks::config::Env;
use serde_json::{Value, json};

const MALLORY: &str = STRANGER;

type TestApp = App<HostTwin, RunnerTwin>;

fn app_with(vars: &[(&str, &str)], author: Option<&str>) -> TestApp {
    let mut pairs = vec![("CODEHOOKS_PR_BUILD_PROJECT", "pr-validate")];
    pairs.extend_from_slice(vars);
    let mut env = Env::from_pairs(pairs);
    let mut config = Config::read(&mut env);
    env.finish().unwrap();
    config.author = author.and_then(Author::parse);
    let app = App::new(
        config,
        HostTwin::new(ME),
        RunnerTwin::new("us-east-1", "123456789012"),
        "us-east-1",
    );
    app.host.put_pull_request("7", pr(A, "rev-1", true));
    app
}

fn app() -> TestApp {
    app_with(&[], Some(ME))
}

fn approving() -> TestApp {
    app_with(&[("CODEHOOKS_PR_APPROVAL", "true")], Some(ME))
}

fn pr(source: &str, revision: &str, open: bool) -> PullRequestNow {
    PullRequestNow {
        open,
        repository: "app".into(),
        source_commit: source.into(),
        destination_commit: DEST.into(),
        revision_id: revision.into(),
        source_reference: Some("refs/heads/feature".into()),
        destination_reference: Some("refs/heads/main".into()),
        author_arn: Some(AUTHOR.into()),
    }
}

fn pr_event(id: &str, event: &str, source: &str, status: &str) -> Value {
    json!({
        "id": id, "detail-type": "CodeCommit Pull Request State Change", "source": "aws.codecommit",
        "account": "123456789012", "region": "us-east-1",
        "resources": ["arn:aws:codecommit:us-east-1:123456789012:app"],
        "detail": {"event": event, "pullRequestId": "7", "repositoryNames": ["app"],
            "sourceCommit": source, "destinationCommit": DEST, "revisionId": "rev-x",
            "pullRequestStatus": status, "isMerged": "False"}
    })
}

fn created() -> Value {
    pr_event("e-1", "pullRequestCreated", A, "Open")
}

/// The build event of the runner twin's build number `n` (1-based), now in `status`.
fn build_event(app: &TestApp, n: usize, status: &str) -> Value {
    let b = app.runner.state().builds[n - 1].clone();
    app.runner.set_status(&b.id, status);
    let vars: Vec<Value> = b
        .variables
        .iter()
        .map(|(k, v)| json!({"name": k, "type": "PLAINTEXT", "value": v}))
        .chain([json!({"name": "SECRET", "type": "PLAINTEXT", "value": "hunter2"})])
        .collect();
    json!({
        "id": format!("b-{n}-{status}"), "detail-type": "CodeBuild Build State Change",
        "source": "aws.codebuild", "account": "123456789012", "region": "us-east-1",
        "resources": [b.arn],
        "detail": {"build-status": status, "project-name": b.project, "build-id": b.arn,
            "additional-information": {"build-number": b.number, "environment": {"environment-variables": vars},
                "phases": [
                    {"phase-type": "BUILD", "phase-status": if status == "FAILED" { "FAILED" } else { "SUCCEEDED" },
                     "duration-in-seconds": 42, "phase-context": ["COMMAND_EXECUTION_ERROR: exit status 2"]}
                ]}}
    })
}

async fn run(app: &TestApp, event: Value) -> Outcome {
    app.dispatch(event).await.unwrap()
}

fn answer(o: &Outcome) -> Value {
    serde_json::to_value(o).unwrap()
}

/// Pushes commit `B` (revision `rev-2`) to pull request 7 and runs its event: the answer.
async fn push_b(app: &TestApp) -> Value {
    app.host.put_pull_request("7", pr(B, "rev-2", true));
    answer(
        &run(
            app,
            pr_event("e-2", "pullRequestSourceBranchUpdated", B, "Open"),
        )
        .await,
    )
}

fn comments(app: &TestApp) -> Vec<crate::twins::HostComment> {
    app.host.state().comments.clone()
}

fn approval(app: &TestApp, revision: &str) -> Option<Approval> {
    app.host
        .state()
        .approvals
        .get(&("7".to_owned(), revision.to_owned()))
        .copied()
}

#[tokio::test]
async fn a_new_pull_request_starts_a_build_and_says_so() {
    let app = app();
    let out = answer(&run(&app, created()).await);
    assert_eq!(out["action"], "started", "{out}");
    assert_eq!(out["comment"], "posted", "{out}");
    assert_eq!(out["approval"], Value::Null, "{out}");
    let builds = app.runner.state().builds.clone();
    assert_eq!(builds.len(), 1);
    assert_eq!(out["buildId"], builds[0].id.as_str());
    assert_eq!(builds[0].source_version, A);
    assert_eq!(
        builds[0].source_location,
        "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/app"
    );
    assert!(
        builds[0]
            .variables
            .contains(&("CODEHOOKS_PR_REVISION_ID".to_owned(), "rev-1".to_owned()))
    );
    let c = comments(&app);
    assert_eq!(c.len(), 1);
    assert!(
        c[0].content.contains("Validation started"),
        "{}",
        c[0].content
    );
    assert_eq!((c[0].before.as_str(), c[0].after.as_str()), (DEST, A));
}

#[tokio::test]
async fn a_redelivered_event_changes_nothing_twice() {
    let app = app();
    let first = answer(&run(&app, created()).await);
    let again = answer(&run(&app, created()).await);
    assert_eq!(again["action"], "already-started", "{again}");
    assert_eq!(again["buildId"], first["buildId"]);
    assert_eq!(again["comment"], "unchanged", "{again}");
    assert_eq!(app.runner.state().builds.len(), 1);
    assert_eq!(comments(&app).len(), 1);

    let done = build_event(&app, 1, "SUCCEEDED");
    assert_eq!(answer(&run(&app, done.clone()).await)["comment"], "updated");
    assert_eq!(answer(&run(&app, done).await)["comment"], "unchanged");
    assert_eq!(app.host.calls_of("UpdateComment"), 1);
    // A start event delivered after the result never turns it back to "started".
    let late = answer(&run(&app, created()).await);
    assert_eq!(late["comment"], "build already ended", "{late}");
    assert_eq!(comments(&app).len(), 1);
    assert!(comments(&app)[0].content.contains("Validation passed"));
}

#[tokio::test]
async fn the_result_edits_the_start_comment_instead_of_adding_one() {
    let app = app();
    run(&app, created()).await;
    let out = answer(&run(&app, build_event(&app, 1, "FAILED")).await);
    assert_eq!(out["action"], "reported", "{out}");
    assert_eq!(out["buildStatus"], "FAILED");
    assert_eq!(out["outdated"], false);
    assert_eq!(out["comment"], "updated");
    let c = comments(&app);
    assert_eq!(c.len(), 1);
    assert!(
        c[0].content.contains("Validation failed"),
        "{}",
        c[0].content
    );
    assert!(
        c[0].content.contains("`BUILD` (FAILED)"),
        "{}",
        c[0].content
    );
    assert!(!c[0].content.contains("hunter2"));
}

#[tokio::test]
async fn a_newer_push_stops_the_superseded_build() {
    let app = app();
    run(&app, created()).await;
    let out = push_b(&app).await;
    assert_eq!(out["action"], "started", "{out}");
    let builds = app.runner.state().builds.clone();
    assert_eq!(out["stoppedBuilds"], json!([builds[0].id]), "{out}");
    assert_eq!(builds[0].status, "STOPPED");
    assert_eq!(builds[1].source_version, B);

    // The stopped build's event edits its start comment; no new comment.
    let out = answer(&run(&app, build_event(&app, 1, "STOPPED")).await);
    assert_eq!(out["action"], "superseded", "{out}");
    assert_eq!(out["comment"], "updated", "{out}");
    let c = comments(&app);
    assert_eq!(c.len(), 2);
    assert!(
        c[0].content.contains("moved on to commit `9d8c7b6`"),
        "{}",
        c[0].content
    );
    // The old commit's event, delivered late, is left to the newer one.
    let stale = answer(&run(&app, created()).await);
    assert_eq!(
        stale["reason"],
        "pull request has moved on to a newer commit"
    );
    assert_eq!(app.runner.state().builds.len(), 2);
}

#[tokio::test]
async fn stop_superseded_off_leaves_older_builds_running() {
    let app = app_with(&[("CODEHOOKS_PR_STOP_SUPERSEDED", "false")], Some(ME));
    run(&app, created()).await;
    let out = push_b(&app).await;
    assert_eq!(out["stoppedBuilds"], json!([]));
    assert_eq!(app.runner.calls_of("StopBuild"), 0);
}

#[tokio::test]
async fn closing_stops_the_builds_and_the_comment_says_why() {
    let app = app();
    run(&app, created()).await;
    app.host.put_pull_request("7", pr(A, "rev-1", false));
    let out = answer(
        &run(
            &app,
            pr_event("e-3", "pullRequestStatusChanged", A, "Closed"),
        )
        .await,
    );
    assert_eq!(out["action"], "closed", "{out}");
    let id = app.runner.state().builds[0].id.clone();
    assert_eq!(out["stoppedBuilds"], json!([id]));
    let out = answer(&run(&app, build_event(&app, 1, "STOPPED")).await);
    assert_eq!(out["action"], "superseded", "{out}");
    assert!(
        comments(&app)[0]
            .content
            .contains("the pull request was closed")
    );
    assert_eq!(comments(&app).len(), 1);
}

#[tokio::test]
async fn success_approves_the_built_revision_only_while_current_and_open() {
    let app = approving();
    let out = answer(&run(&app, created()).await);
    assert_eq!(out["approval"], "REVOKE", "{out}");
    assert_eq!(approval(&app, "rev-1"), Some(Approval::Revoke));
    let done = build_event(&app, 1, "SUCCEEDED");
    let out = answer(&run(&app, done.clone()).await);
    assert_eq!(out["approval"], "APPROVE", "{out}");
    assert_eq!(approval(&app, "rev-1"), Some(Approval::Approve));

    // The pull request moved on: a replayed success of the old commit approves nothing.
    app.host.put_pull_request("7", pr(B, "rev-2", true));
    let calls = app.host.calls_of("UpdatePullRequestApprovalState");
    let out = answer(&run(&app, done.clone()).await);
    assert_eq!(out["approval"], Value::Null, "{out}");
    assert_eq!(out["outdated"], true, "{out}");
    assert_eq!(approval(&app, "rev-2"), None);
    assert_eq!(app.host.calls_of("UpdatePullRequestApprovalState"), calls);

    // Closed: nothing either.
    app.host.put_pull_request("7", pr(A, "rev-1", false));
    let out = answer(&run(&app, done).await);
    assert_eq!(out["approval"], Value::Null, "{out}");
    assert_eq!(app.host.calls_of("UpdatePullRequestApprovalState"), calls);
}

#[tokio::test]
async fn failure_revokes() {
    let app = approving();
    run(&app, created()).await;
    app.host.state().approvals.clear();
    let out = answer(&run(&app, build_event(&app, 1, "FAILED")).await);
    assert_eq!(out["approval"], "REVOKE", "{out}");
    assert_eq!(approval(&app, "rev-1"), Some(Approval::Revoke));
}

#[tokio::test]
async fn a_revision_that_is_no_longer_current_is_answered_not_failed() {
    let app = approving();
    run(&app, created()).await;
    // The destination moved: same source commit, new revision.
    app.host.put_pull_request("7", pr(A, "rev-2", true));
    let out = answer(&run(&app, build_event(&app, 1, "SUCCEEDED")).await);
    assert_eq!(out["approval"], "APPROVE: revision-not-current", "{out}");
    assert_eq!(approval(&app, "rev-2"), None);
    assert_eq!(approval(&app, "rev-1"), Some(Approval::Revoke));
}

#[tokio::test]
async fn unexpected_host_errors_fail_the_invocation() {
    let app = approving();
    run(&app, created()).await;
    app.host
        .fail("UpdatePullRequestApprovalState", "AccessDeniedException");
    let e = app
        .dispatch(build_event(&app, 1, "SUCCEEDED"))
        .await
        .unwrap_err();
    assert_eq!(e.aws_code(), Some("AccessDeniedException"));
}

#[tokio::test]
async fn a_failed_start_posts_nothing() {
    let app = app();
    app.runner.fail("StartBuild", "ThrottlingException");
    let e = app.dispatch(created()).await.unwrap_err();
    assert_eq!(e.aws_code(), Some("ThrottlingException"));
    assert!(comments(&app).is_empty());
}

#[tokio::test]
async fn own_comment_events_and_foreign_builds_are_ignored() {
    let app = app();
    let own = json!({"id": "c", "detail-type": "CodeCommit Comment on Pull Request",
        "source": "aws.codecommit", "detail": {"callerUserArn": "arn:aws:sts::123456789012:assumed-role/pr-role/other"}});
    assert_eq!(
        answer(&run(&app, own).await)["reason"],
        "comment event caused by pr-comments itself"
    );
    let theirs = json!({"id": "c", "detail-type": "CodeCommit Comment on Pull Request",
        "source": "aws.codecommit", "detail": {"callerUserArn": MALLORY}});
    assert_eq!(
        answer(&run(&app, theirs).await)["reason"],
        "only new comments can ask for a re-run"
    );

    run(&app, created()).await;
    let mut other_project = build_event(&app, 1, "SUCCEEDED");
    other_project["detail"]["project-name"] = json!("other");
    assert_eq!(
        answer(&run(&app, other_project).await)["reason"],
        "build of another project"
    );
    let mut foreign = build_event(&app, 1, "SUCCEEDED");
    foreign["detail"]["additional-information"]["environment"] = Value::Null;
    assert_eq!(
        answer(&run(&app, foreign).await)["reason"],
        "build was not started by pr-comments"
    );
    let running = answer(&run(&app, build_event(&app, 1, "IN_PROGRESS")).await);
    assert_eq!(running["reason"], "build has not ended", "{running}");
    assert_eq!(running["buildStatus"], "IN_PROGRESS");
    assert_eq!(app.host.calls_of("UpdateComment"), 0);
}

#[tokio::test]
async fn other_repositories_are_ignored() {
    let app = app_with(&[("CODEHOOKS_PR_REPOSITORIES", "infra")], Some(ME));
    let out = answer(&run(&app, created()).await);
    assert_eq!(out["reason"], "repository is not configured");
    assert_eq!(app.host.state().calls.len(), 0);
}

#[tokio::test]
async fn with_a_known_author_a_forged_comment_is_never_touched() {
    let app = app();
    run(&app, created()).await;
    let link = app.runner.state().builds[0].clone();
    let marker = markdown::build_marker(&link.id);
    let forged = format!("fake {marker} state `STARTED`");
    let l = BuildLink {
        pull_request_id: "7".into(),
        repository: "app".into(),
        source_commit: A.into(),
        destination_commit: DEST.into(),
        revision_id: "rev-1".into(),
        source_reference: None,
        destination_reference: None,
    };
    // Mallory's comment comes after ours, so it would be edited first if it were trusted.
    app.host.put_comment(&l, MALLORY, &forged);
    run(&app, build_event(&app, 1, "FAILED")).await;
    let c = comments(&app);
    assert_eq!(c[1].content, forged);
    assert!(c[0].content.contains("Validation failed"));
    assert_eq!(app.host.calls_of("UpdateComment"), 1);
}

#[tokio::test]
async fn without_a_known_author_the_host_decides_and_the_author_is_learned() {
    let app = app_with(&[], None);
    let link = BuildLink {
        pull_request_id: "7".into(),
        repository: "app".into(),
        source_commit: A.into(),
        destination_commit: DEST.into(),
        revision_id: "rev-1".into(),
        source_reference: None,
        destination_reference: None,
    };
    let forged = format!("fake {} state `STARTED`", markdown::build_marker("p:1"));
    app.host.put_comment(&link, MALLORY, &forged);
    let r = app
        .upsert_comment(&link, "p:1", State::Finished(Ended::Failed), "result", true)
        .await
        .unwrap();
    assert_eq!(r, CommentResult::Posted);
    assert_eq!(app.host.calls_of("UpdateComment"), 1);
    assert_eq!(comments(&app)[0].content, forged);
    assert!(app.is_own("arn:aws:sts::123456789012:assumed-role/pr-role/another-session"));
    assert!(!app.is_own(MALLORY));
}

#[tokio::test]
async fn a_reused_comment_token_is_answered_not_retried() {
    let app = app();
    let link = BuildLink {
        pull_request_id: "7".into(),
        repository: "app".into(),
        source_commit: A.into(),
        destination_commit: DEST.into(),
        revision_id: "rev-1".into(),
        source_reference: None,
        destination_reference: None,
    };
    let first = app
        .post_comment(&link, "p:1", State::Started, "hello")
        .await;
    assert_eq!(first.unwrap(), CommentResult::Posted);
    let again = app
        .post_comment(&link, "p:1", State::Started, "other")
        .await;
    assert_eq!(again.unwrap(), CommentResult::AlreadyPosted);
    assert_eq!(comments(&app).len(), 1);
}

#[tokio::test]
async fn stopping_an_ended_build_is_fine() {
    let app = app();
    run(&app, created()).await;
    let id = app.runner.state().builds[0].id.clone();
    app.runner.set_status(&id, "SUCCEEDED");
    assert!(!app.stop_build(&id).await.unwrap());
    assert!(!app.stop_build("pr-validate:unknown").await.unwrap());
}

#[tokio::test]
async fn unknown_and_bad_events_are_bad_input_before_any_call() {
    let app = app();
    let e = app
        .dispatch(
            json!({"id": "1", "detail-type": "Object Created", "source": "aws.s3", "detail": {}}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "BadInput");
    let mut bad = created();
    bad["detail"]["sourceCommit"] = json!("abc def");
    assert_eq!(app.dispatch(bad).await.unwrap_err().kind(), "BadInput");
    run(&app, created()).await;
    let calls = app.host.state().calls.len();
    let mut forged = build_event(&app, 1, "SUCCEEDED");
    forged["detail"]["build-id"] = json!("arn:aws:codebuild:us-east-1:123456789012:build/other:1");
    assert_eq!(app.dispatch(forged).await.unwrap_err().kind(), "BadInput");
    assert_eq!(app.host.state().calls.len(), calls);
}

#[tokio::test]
async fn builds_in_china_use_the_china_partition() {
    let app = app();
    let mut ev = created();
    ev["region"] = json!("cn-north-1");
    run(&app, ev).await;
    assert_eq!(
        app.runner.state().builds[0].source_location,
        "https://git-codecommit.cn-north-1.amazonaws.com.cn/v1/repos/app"
    );
    assert_eq!(
        crate::comments::clone_url("us-gov-west-1", "r"),
        "https://git-codecommit.us-gov-west-1.amazonaws.com/v1/repos/r"
    );
}

/// The link of pull request 7 at commit `source`, revision `revision` (what a forger writes
/// into a build's `CODEHOOKS_PR_*` variables).
fn link_of(source: &str, revision: &str) -> BuildLink {
    BuildLink {
        pull_request_id: "7".into(),
        repository: "app".into(),
        source_commit: source.into(),
        destination_commit: DEST.into(),
        revision_id: revision.into(),
        source_reference: Some("refs/heads/feature".into()),
        destination_reference: Some("refs/heads/main".into()),
    }
}

/// A build of the validation project started by someone else (a developer with
/// `codebuild:StartBuild`, or a buildspec) with variables naming `link`; its 1-based number.
async fn forge_build(app: &TestApp, link: &BuildLink, token: &str) -> usize {
    app.runner
        .start(&StartBuild {
            project: "pr-validate".into(),
            source_location: "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/evil".into(),
            source_version: "refs/heads/evil".into(),
            token: token.into(),
            variables: link.to_vars(),
        })
        .await
        .unwrap();
    app.runner.state().builds.len()
}

/// Every side effect the function can have on the pull request: comments, comment writes,
/// approval writes and approvals.
type Effects = (Vec<crate::twins::HostComment>, usize, usize, Vec<String>);

/// Every side effect the function can have on the pull request, as a snapshot.
fn effects(app: &TestApp) -> Effects {
    let s = app.host.state();
    let mut approvals: Vec<String> = s
        .approvals
        .iter()
        .map(|((p, r), a)| format!("{p}/{r}={}", a.as_str()))
        .collect();
    approvals.sort();
    drop(s);
    (
        comments(app),
        app.host.calls_of("UpdateComment") + app.host.calls_of("PostCommentForPullRequest"),
        app.host.calls_of("UpdatePullRequestApprovalState"),
        approvals,
    )
}

/// Runs `event`, which must be ignored as not ours, with no side effect since `before`.
async fn ignored_as_not_ours(app: &TestApp, event: Value, before: &Effects) {
    let out = answer(&run(app, event).await);
    assert_eq!(out["reason"], NOT_OURS, "{out}");
    assert_eq!(effects(app), *before);
}

#[tokio::test]
async fn a_forged_build_naming_the_pull_requests_head_is_not_approved_nor_commented() {
    let app = approving();
    run(&app, created()).await;
    let before = effects(&app);
    // Someone else's build whose variables name pull request 7's current head and revision.
    let n = forge_build(&app, &link_of(A, "rev-1"), "forged").await;
    let out = answer(&run(&app, build_event(&app, n, "SUCCEEDED")).await);
    assert_eq!(out["action"], "ignored", "{out}");
    assert_eq!(out["reason"], NOT_OURS, "{out}");
    assert_eq!(out["buildId"], app.runner.state().builds[n - 1].id.as_str());
    assert_eq!(effects(&app), before, "no approval, no comment edit");
    assert_eq!(approval(&app, "rev-1"), Some(Approval::Revoke));
    // Its failure changes nothing either (no revoke, no comment).
    ignored_as_not_ours(&app, build_event(&app, n, "FAILED"), &before).await;
}

#[tokio::test]
async fn a_forged_build_naming_another_pull_request_is_ignored_without_any_build_of_ours() {
    let app = approving();
    app.host.put_pull_request("8", pr(B, "rev-8", true));
    let mut other = link_of(B, "rev-8");
    other.pull_request_id = "8".into();
    let n = forge_build(&app, &other, "forged").await;
    let out = answer(&run(&app, build_event(&app, n, "SUCCEEDED")).await);
    assert_eq!(out["reason"], NOT_OURS, "{out}");
    assert!(app.host.state().approvals.is_empty());
    assert!(comments(&app).is_empty());
    assert_eq!(app.host.calls_of("GetPullRequest"), 0);
}

#[tokio::test]
async fn a_record_forged_by_someone_else_proves_nothing() {
    let app = approving();
    run(&app, created()).await;
    let n = forge_build(&app, &link_of(A, "rev-1"), "forged").await;
    let forged_id = app.runner.state().builds[n - 1].id.clone();
    // Mallory writes a comment whose footer names her build, on the right commit pair.
    let footer =
        format!("_codehooks pr-comments · build `{forged_id}` · commit `{A}` · state `STARTED`_");
    assert!(markdown::record_of(&footer).is_some());
    app.host.put_comment(&link_of(A, "rev-1"), MALLORY, &footer);
    let before = effects(&app);
    ignored_as_not_ours(&app, build_event(&app, n, "SUCCEEDED"), &before).await;
}

#[tokio::test]
async fn our_build_that_built_another_commit_is_ignored() {
    let app = approving();
    run(&app, created()).await;
    let before = effects(&app);
    let mut ev = build_event(&app, 1, "SUCCEEDED");
    ev["detail"]["additional-information"]["resolved-source-version"] = json!(B);
    ignored_as_not_ours(&app, ev, &before).await;
    // With the commit asked for, the same build is reported and approved.
    let mut ev = build_event(&app, 1, "SUCCEEDED");
    ev["detail"]["additional-information"]["resolved-source-version"] = json!(A);
    let out = answer(&run(&app, ev).await);
    assert_eq!(out["approval"], "APPROVE", "{out}");
}

#[tokio::test]
async fn a_forged_build_of_the_revision_is_never_adopted_as_ours() {
    let app = approving();
    // The forged build exists before the pull request event is handled.
    let n = forge_build(&app, &link_of(A, "rev-1"), "forged").await;
    let forged_id = app.runner.state().builds[n - 1].id.clone();
    let out = answer(&run(&app, created()).await);
    assert_eq!(out["action"], "started", "{out}");
    assert_ne!(out["buildId"], forged_id.as_str(), "{out}");
    assert!(
        comments(&app)
            .iter()
            .all(|c| !c.content.contains(&forged_id))
    );
    let out = answer(&run(&app, build_event(&app, n, "SUCCEEDED")).await);
    assert_eq!(out["reason"], NOT_OURS, "{out}");
    assert_eq!(approval(&app, "rev-1"), Some(Approval::Revoke));
    // Our own build still reports and approves.
    let out = answer(&run(&app, build_event(&app, n + 1, "SUCCEEDED")).await);
    assert_eq!(out["approval"], "APPROVE", "{out}");
}

#[tokio::test]
async fn our_build_for_an_older_commit_is_still_handled_as_superseded() {
    let app = approving();
    run(&app, created()).await;
    push_b(&app).await;
    let out = answer(&run(&app, build_event(&app, 1, "STOPPED")).await);
    assert_eq!(out["action"], "superseded", "{out}");
    assert_eq!(out["comment"], "updated", "{out}");
    // A success of the older build is reported as outdated and approves nothing.
    let out = answer(&run(&app, build_event(&app, 1, "SUCCEEDED")).await);
    assert_eq!(out["action"], "reported", "{out}");
    assert_eq!(out["outdated"], true, "{out}");
    assert_eq!(out["approval"], Value::Null, "{out}");
    assert_eq!(approval(&app, "rev-2"), Some(Approval::Revoke));
}

#[tokio::test]
async fn without_a_known_author_no_build_result_is_acted_on() {
    let app = app_with(&[("CODEHOOKS_PR_APPROVAL", "true")], None);
    let n = forge_build(&app, &link_of(A, "rev-1"), "forged").await;
    let forged_id = app.runner.state().builds[n - 1].id.clone();
    let footer =
        format!("_codehooks pr-comments · build `{forged_id}` · commit `{A}` · state `STARTED`_");
    app.host.put_comment(&link_of(A, "rev-1"), MALLORY, &footer);
    let before = effects(&app);
    let out = answer(&run(&app, build_event(&app, n, "SUCCEEDED")).await);
    assert_eq!(
        out["reason"], "the function's comment author is unknown",
        "{out}"
    );
    assert_eq!(effects(&app), before);
}

#[tokio::test]
async fn endless_empty_pages_end_after_a_bounded_number_of_calls() {
    let app = app();
    run(&app, created()).await;
    app.runner.state().endless_empty_pages = true;
    app.host.state().endless_empty_pages = true;
    let ids = app.runner.recent("pr-validate", 100).await.unwrap();
    assert!(ids.is_empty());
    assert_eq!(
        app.runner.calls_of("ListBuildsForProject"),
        1 + crate::paging::pages_for(100, crate::paging::BUILDS_PER_PAGE)
    );
    let calls = app.host.calls_of("GetCommentsForPullRequest");
    let found = app
        .host
        .comments(&link_of(A, "rev-1"), false)
        .await
        .unwrap();
    assert!(found.is_empty());
    assert_eq!(
        app.host.calls_of("GetCommentsForPullRequest") - calls,
        crate::paging::MAX_COMMENT_PAGES
    );
}

#[tokio::test]
async fn short_pages_are_followed_to_the_end() {
    let app = app();
    run(&app, created()).await;
    app.runner.state().page_size = 1;
    app.host.state().page_size = 1;
    for i in 0..3 {
        app.host
            .put_comment(&link_of(A, "rev-1"), MALLORY, &format!("note {i}"));
    }
    let all = app.host.comments(&link_of(A, "rev-1"), true).await.unwrap();
    assert_eq!(all.len(), 4);
    // A second build of the pull request is found across pages.
    let out = push_b(&app).await;
    assert_eq!(
        out["stoppedBuilds"].as_array().map(Vec::len),
        Some(1),
        "{out}"
    );
}

#[tokio::test]
async fn each_repository_is_validated_by_its_own_project() {
    let app = app_with(
        &[
            ("CODEHOOKS_PR_BUILD_PROJECT", "stack-pr-{repository}"),
            ("CODEHOOKS_PR_APPROVAL", "true"),
        ],
        Some(ME),
    );
    run(&app, created()).await;
    let ours = app.runner.state().builds[0].clone();
    assert_eq!(ours.project, "stack-pr-app");
    assert!(ours.id.starts_with("stack-pr-app:"), "{}", ours.id);
    let out = answer(&run(&app, build_event(&app, 1, "SUCCEEDED")).await);
    assert_eq!(out["approval"], "APPROVE", "{out}");

    // A build of another repository's project whose variables name this pull request.
    app.host.state().approvals.clear();
    let n = {
        app.runner
            .start(&StartBuild {
                project: "stack-pr-infra".into(),
                source_location: "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/infra"
                    .into(),
                source_version: A.into(),
                token: "other".into(),
                variables: link_of(A, "rev-1").to_vars(),
            })
            .await
            .unwrap();
        app.runner.state().builds.len()
    };
    let before = effects(&app);
    ignored_as_not_ours(&app, build_event(&app, n, "SUCCEEDED"), &before).await;
    // A project that is no validation project at all.
    let mut other = build_event(&app, 1, "SUCCEEDED");
    other["detail"]["project-name"] = json!("unrelated");
    assert_eq!(
        answer(&run(&app, other).await)["reason"],
        "build of another project"
    );
}

#[tokio::test]
async fn the_badge_shows_only_when_the_project_has_it_on() {
    let app = app();
    run(&app, created()).await;
    run(&app, build_event(&app, 1, "SUCCEEDED")).await;
    assert!(!comments(&app)[0].content.contains("badge]("));
    let app = self::app();
    app.runner.state().badge =
        Some("https://codebuild.us-east-1.amazonaws.com/badges?uuid=x".into());
    run(&app, created()).await;
    run(&app, build_event(&app, 1, "SUCCEEDED")).await;
    assert!(
        comments(&app)[0]
            .content
            .contains("![pr-validate badge](https://codebuild")
    );
}
