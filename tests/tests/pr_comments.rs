//! pr-comments: the real binary under the Lambda Runtime API, the sample events from `events/`,
//! and the real CodeCommit and CodeBuild SDK clients against the local emulator.
//!
//! Build first: `cargo build -p pr-comments`, then `cargo test -p codehooks-tests --test pr_comments`.

use std::time::Duration;

use codehooks_tests::{Function, LocalAws, event, fill_build_event, sdk_config_as};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";
const REPO: &str = "codehooks-demo";
const PROJECT: &str = "codehooks-pr-validation";
const MAIN: &str = "1f2e3d4c5b6a79880716253443526170f8e9dacb";
const COMMIT_A: &str = "4c3a9e0f1b2d5c6e7f8091a2b3c4d5e6f7a8b9c0";
const COMMIT_B: &str = "9d8c7b6a5f4e3d2c1b0a99887766554433221100";
const COMMIT_C: &str = "77aa66bb55cc44dd33ee22ff1100998877665544";
/// The function acts as the test access key; developers as another.
const FUNCTION_ROLE: &str = "arn:aws:iam::123456789012:role/AKIDCODEHOOKSTEST";
const FUNCTION_CALLER: &str = "arn:aws:sts::123456789012:assumed-role/AKIDCODEHOOKSTEST/session";
const DEVELOPER_KEY: &str = "AKIDDEVELOPER";

pub struct Rig {
    pub local: LocalAws,
    pub f: Function,
    pub dev: aws_sdk_codecommit::Client,
    pub pr_id: String,
    pub branch: String,
}

impl Rig {
    /// A repository with `main` and `branch`, the validation project, a pull request from
    /// `branch` into `main` opened by a developer, and the function running.
    pub async fn start(branch: &str, extra: &[(&str, &str)]) -> Rig {
        let local = LocalAws::builder()
            .emulator()
            .runtime_api("pr-comments")
            .start();
        local.emulator().seed(&json!({
            "region": REGION,
            "codecommit": {"repositories": [
                {"repositoryName": REPO, "branches": {"main": MAIN, branch: COMMIT_A}},
                {"repositoryName": "other-repo", "branches": {"main": MAIN, branch: COMMIT_A}}
            ]},
            "codebuild": {"projects": [
                {"name": PROJECT, "badgeEnabled": true,
                 "source": {"type": "CODECOMMIT", "location": format!("https://git-codecommit.{REGION}.amazonaws.com/v1/repos/{REPO}")}},
                {"name": "unrelated-project"}
            ]}
        }));
        let sdk = sdk_config_as(local.emulator_url(), REGION, DEVELOPER_KEY).await;
        let dev = aws_sdk_codecommit::Client::new(&sdk);
        let pr = dev
            .create_pull_request()
            .title("Add the login form **now** [click](https://evil.example) <img src=x>")
            .targets(
                aws_sdk_codecommit::types::Target::builder()
                    .repository_name(REPO)
                    .source_reference(branch)
                    .destination_reference("main")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("CreatePullRequest")
            .pull_request
            .unwrap();
        let mut env = vec![
            ("CODEHOOKS_PR_REPOSITORIES", REPO),
            ("CODEHOOKS_PR_BUILD_PROJECT", PROJECT),
            ("CODEHOOKS_PR_AUTHOR_ARN", FUNCTION_ROLE),
            // No CloudWatch Logs here (see pr_comments_checks.rs for the log tails).
            ("CODEHOOKS_PR_LOG_LINES", "0"),
        ];
        env.extend_from_slice(extra);
        let f = local.function("pr-comments", REGION, &env);
        Rig {
            local,
            f,
            dev,
            pr_id: pr.pull_request_id.unwrap(),
            branch: branch.to_owned(),
        }
    }

    pub fn state(&self) -> Value {
        self.local.emulator().state(REGION)
    }

    /// The pull request as the emulator holds it now.
    pub fn pr(&self) -> Value {
        self.state()["pullRequests"][&self.pr_id]["pullRequest"].clone()
    }

    /// Every comment on the pull request: `(commentId, content, beforeCommitId, afterCommitId, authorArn)`.
    pub fn comments(&self) -> Vec<Comment> {
        self.state()["pullRequests"][&self.pr_id]["comments"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|c| Comment {
                id: c["comment"]["commentId"].as_str().unwrap().to_owned(),
                content: c["comment"]["content"].as_str().unwrap().to_owned(),
                before: c["beforeCommitId"].as_str().unwrap().to_owned(),
                after: c["afterCommitId"].as_str().unwrap().to_owned(),
                author: c["comment"]["authorArn"].as_str().unwrap().to_owned(),
            })
            .collect()
    }

    /// The project's builds, oldest first.
    pub fn builds(&self) -> Vec<Value> {
        let mut b: Vec<Value> = self.state()["builds"]
            .as_object()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        b.retain(|b| b["projectName"] == PROJECT);
        b.sort_by_key(|b| b["buildNumber"].as_u64());
        b
    }

    /// A pull request event from `events/`, for this pull request as it is now.
    pub fn pr_event(&self, file: &str) -> Value {
        let pr = self.pr();
        let t = &pr["pullRequestTargets"][0];
        let mut e = event(file);
        let d = &mut e["detail"];
        d["pullRequestId"] = json!(self.pr_id);
        d["sourceCommit"] = t["sourceCommit"].clone();
        d["destinationCommit"] = t["destinationCommit"].clone();
        d["sourceReference"] = t["sourceReference"].clone();
        d["revisionId"] = pr["revisionId"].clone();
        d["title"] = pr["title"].clone();
        d["pullRequestStatus"] = json!(if pr["pullRequestStatus"] == "OPEN" {
            "Open"
        } else {
            "Closed"
        });
        e
    }

    /// A build state event from `events/` for `build` (as the emulator holds it).
    pub fn build_event(&self, file: &str, build: &Value) -> Value {
        let mut e = event(file);
        assert!(build["environment"]["environmentVariables"].is_array());
        fill_build_event(&mut e, build);
        e["id"] = json!(format!(
            "{}-{}",
            build["id"].as_str().unwrap(),
            build["buildStatus"].as_str().unwrap()
        ));
        let info = &mut e["detail"]["additional-information"];
        info["source-version"] = build["sourceVersion"].clone();
        // The commit CodeBuild resolved, as AWS reports it (pr-comments checks it is the
        // commit it asked for).
        if let Some(resolved) = build.get("resolvedSourceVersion") {
            info["resolved-source-version"] = resolved.clone();
        }
        e
    }

    /// Ends `build` in the emulator with `status` and returns it.
    pub fn end_build(&self, build: &Value, status: &str, phases: Value) -> Value {
        self.local
            .emulator()
            .set_build(REGION, build["id"].as_str().unwrap(), status, &phases);
        self.builds()
            .into_iter()
            .find(|b| b["id"] == build["id"])
            .unwrap()
    }

    pub fn invoke(&self, event: &Value) -> Value {
        let out = self.f.invoke(event, 20_000);
        assert!(out.is_ok(), "invocation failed: {out:?}\n{}", self.f.logs());
        out.response
    }

    pub fn requests(&self, op: &str) -> Vec<Value> {
        self.local.emulator().requests(Some(op))
    }
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: String,
    pub content: String,
    pub before: String,
    pub after: String,
    pub author: String,
}

fn failed_phases() -> Value {
    json!([
        {"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED", "durationInSeconds": 0},
        {"phaseType": "BUILD", "phaseStatus": "FAILED", "durationInSeconds": 52,
         "contexts": [{"statusCode": "COMMAND_EXECUTION_ERROR", "message": "Error while executing command: make test. Reason: exit status 2"}]},
        {"phaseType": "COMPLETED"}
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sequence_created_update_results_and_close() {
    let rig = Rig::start("feature/login", &[]).await;

    // 1. The pull request is created: one build of its source commit, one "started" comment.
    let created = rig.pr_event("pr-comments-pull-request-created.json");
    let out = rig.invoke(&created);
    assert_eq!(out["action"], "started", "{out}");
    let builds = rig.builds();
    assert_eq!(builds.len(), 1);
    let b1 = builds[0].clone();
    assert_eq!(b1["sourceVersion"], COMMIT_A);
    let vars: Vec<(String, String)> = b1["environment"]["environmentVariables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_owned(),
                v["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (name, value) in [
        ("CODEHOOKS_PR_ID", rig.pr_id.as_str()),
        ("CODEHOOKS_PR_REPOSITORY", REPO),
        ("CODEHOOKS_PR_SOURCE_COMMIT", COMMIT_A),
        ("CODEHOOKS_PR_DESTINATION_COMMIT", MAIN),
        (
            "CODEHOOKS_PR_REVISION_ID",
            rig.pr()["revisionId"].as_str().unwrap(),
        ),
    ] {
        assert!(
            vars.contains(&(name.to_owned(), value.to_owned())),
            "{name} missing in {vars:?}"
        );
    }
    let start = rig.requests("StartBuild");
    assert_eq!(start.len(), 1);
    assert_eq!(
        start[0]["body"]["sourceLocationOverride"],
        format!("https://git-codecommit.{REGION}.amazonaws.com/v1/repos/{REPO}")
    );
    assert_eq!(start[0]["body"]["sourceVersion"], COMMIT_A);
    let token = start[0]["body"]["idempotencyToken"].as_str().unwrap();
    assert_eq!(token.len(), 64);

    let comments = rig.comments();
    assert_eq!(comments.len(), 1, "{comments:?}");
    let c = &comments[0];
    assert_eq!(c.before, MAIN, "beforeCommitId is the destination commit");
    assert_eq!(c.after, COMMIT_A, "afterCommitId is the source commit");
    assert_eq!(c.author, FUNCTION_CALLER);
    assert!(c.content.contains("Validation started"), "{}", c.content);
    assert!(c.content.contains("`4c3a9e0`"), "{}", c.content);
    let build_id = b1["id"].as_str().unwrap();
    assert!(
        c.content.contains(&build_id.replace(':', "%3A")),
        "links to the build: {}",
        c.content
    );
    assert!(c.content.contains("[build #1]"), "{}", c.content);
    let first_comment = c.id.clone();

    // 2. The IN_PROGRESS event needs nothing.
    let before = rig.local.emulator().requests(None).len();
    let out = rig.invoke(&rig.build_event("pr-comments-build-in-progress.json", &b1));
    assert_eq!(out["action"], "ignored", "{out}");
    assert_eq!(
        rig.local.emulator().requests(None).len(),
        before,
        "no AWS call for IN_PROGRESS"
    );

    // 3. A push: the old build is stopped, a new one starts, a second comment for the new commit.
    rig.local
        .emulator()
        .move_branch(REGION, REPO, &rig.branch, COMMIT_B);
    let out = rig.invoke(&rig.pr_event("pr-comments-pull-request-source-branch-updated.json"));
    assert_eq!(out["action"], "started", "{out}");
    assert_eq!(out["stoppedBuilds"], json!([build_id]), "{out}");
    let builds = rig.builds();
    assert_eq!(builds.len(), 2);
    assert_eq!(builds[0]["buildStatus"], "STOPPED");
    let b2 = builds[1].clone();
    assert_eq!(b2["sourceVersion"], COMMIT_B);
    assert_eq!(rig.comments().len(), 2);

    // 4. The old build's STOPPED event edits its comment; nothing new is posted.
    let out = rig.invoke(&rig.build_event("pr-comments-build-failed.json", &builds[0]));
    assert_eq!(out["action"], "superseded", "{out}");
    let comments = rig.comments();
    assert_eq!(comments.len(), 2);
    let old = comments.iter().find(|c| c.id == first_comment).unwrap();
    assert!(
        old.content.contains("Validation stopped"),
        "{}",
        old.content
    );
    assert!(
        old.content.contains("moved on to commit `9d8c7b6`"),
        "{}",
        old.content
    );

    // 5. The new build fails: its comment is edited in place with the failing phase and reason.
    let b2 = rig.end_build(&b2, "FAILED", failed_phases());
    let out = rig.invoke(&rig.build_event("pr-comments-build-failed.json", &b2));
    assert_eq!(out["action"], "reported", "{out}");
    assert_eq!(out["comment"], "updated", "{out}");
    let comments = rig.comments();
    assert_eq!(
        comments.len(),
        2,
        "edited in place, not posted: {comments:?}"
    );
    let c2 = comments.iter().find(|c| c.after == COMMIT_B).unwrap();
    assert!(
        c2.content.starts_with("❌ **Validation failed**"),
        "{}",
        c2.content
    );
    assert!(c2.content.contains("**FAILED**"), "{}", c2.content);
    assert!(c2.content.contains("[build #2]"), "{}", c2.content);
    assert!(
        c2.content.contains("Failed phase: `BUILD` (FAILED)"),
        "{}",
        c2.content
    );
    assert!(
        c2.content.contains("make test. Reason\\: exit status 2"),
        "{}",
        c2.content
    );
    assert!(c2.content.contains("Duration:"), "{}", c2.content);
    assert!(
        c2.content
            .contains("https://codebuild.us-east-1.amazonaws.com/badges?uuid="),
        "badge: {}",
        c2.content
    );
    assert!(c2.content.contains("[build logs](https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEvent:group=/aws/codebuild/codehooks-pr-validation;stream="), "{}", c2.content);

    // 6. Another push and a pass: the success comment is for the newest commit.
    rig.local
        .emulator()
        .move_branch(REGION, REPO, &rig.branch, COMMIT_C);
    let out = rig.invoke(&rig.pr_event("pr-comments-pull-request-source-branch-updated.json"));
    assert_eq!(out["action"], "started", "{out}");
    let b3 = rig.builds()[2].clone();
    let b3 = rig.end_build(&b3, "SUCCEEDED", json!(null));
    let out = rig.invoke(&rig.build_event("pr-comments-build-succeeded.json", &b3));
    assert_eq!(out["buildStatus"], "SUCCEEDED", "{out}");
    let c3 = rig
        .comments()
        .into_iter()
        .find(|c| c.after == COMMIT_C)
        .unwrap();
    assert!(
        c3.content.starts_with("✅ **Validation passed**"),
        "{}",
        c3.content
    );
    assert!(!c3.content.contains("older commit"), "{}", c3.content);

    // 7. A fourth push, then the pull request is closed: its running build is stopped.
    rig.local.emulator().move_branch(
        REGION,
        REPO,
        &rig.branch,
        "0000111122223333444455556666777788889999",
    );
    rig.invoke(&rig.pr_event("pr-comments-pull-request-source-branch-updated.json"));
    rig.dev
        .update_pull_request_status()
        .pull_request_id(&rig.pr_id)
        .pull_request_status(aws_sdk_codecommit::types::PullRequestStatusEnum::Closed)
        .send()
        .await
        .expect("close");
    let out = rig.invoke(&rig.pr_event("pr-comments-pull-request-closed.json"));
    assert_eq!(out["action"], "closed", "{out}");
    let builds = rig.builds();
    assert_eq!(builds.len(), 4);
    assert_eq!(builds[3]["buildStatus"], "STOPPED");
    assert_eq!(out["stoppedBuilds"], json!([builds[3]["id"]]));
    // Its STOPPED event says so in the comment and posts nothing new.
    let n = rig.comments().len();
    let out = rig.invoke(&rig.build_event("pr-comments-build-failed.json", &builds[3]));
    assert_eq!(out["action"], "superseded", "{out}");
    assert_eq!(rig.comments().len(), n);
    let last = rig.comments().into_iter().last().unwrap();
    assert!(
        last.content.contains("pull request was closed"),
        "{}",
        last.content
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_and_reordered_deliveries_change_nothing_twice() {
    let rig = Rig::start("feature/login", &[]).await;
    let created = rig.pr_event("pr-comments-pull-request-created.json");
    let first = rig.invoke(&created);
    assert_eq!(first["action"], "started");
    // The same event again: no second build, no second comment.
    let again = rig.invoke(&created);
    assert_eq!(again["buildId"], first["buildId"], "{again}");
    assert_eq!(rig.builds().len(), 1);
    assert_eq!(rig.comments().len(), 1);

    // The result twice, and the late IN_PROGRESS after it: one comment, showing the result.
    let b = rig.end_build(&rig.builds()[0], "SUCCEEDED", json!(null));
    let done = rig.build_event("pr-comments-build-succeeded.json", &b);
    assert_eq!(rig.invoke(&done)["comment"], "updated");
    assert_eq!(rig.invoke(&done)["comment"], "unchanged");
    let mut late = rig.build_event("pr-comments-build-in-progress.json", &b);
    late["detail"]["build-status"] = json!("IN_PROGRESS");
    rig.invoke(&late);
    let comments = rig.comments();
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0].content.contains("Validation passed"),
        "{}",
        comments[0].content
    );
    assert_eq!(rig.requests("PostCommentForPullRequest").len(), 1);

    // Two pushes, their events delivered newest first: only the newest commit is built.
    let emu = rig.local.emulator();
    emu.move_branch(REGION, REPO, &rig.branch, COMMIT_B);
    let older = rig.pr_event("pr-comments-pull-request-source-branch-updated.json");
    emu.move_branch(REGION, REPO, &rig.branch, COMMIT_C);
    let mut newer = rig.pr_event("pr-comments-pull-request-source-branch-updated.json");
    newer["id"] = json!("second-push");
    assert_eq!(rig.invoke(&newer)["action"], "started");
    let out = rig.invoke(&older);
    assert_eq!(out["action"], "ignored", "{out}");
    assert_eq!(out["reason"], "pull request has moved on to a newer commit");
    let builds = rig.builds();
    assert_eq!(builds.len(), 2);
    assert_eq!(builds[1]["sourceVersion"], COMMIT_C);

    // A result for an older commit arriving after the pull request moved on says so.
    let mut old_result = rig.build_event("pr-comments-build-failed.json", &b);
    old_result["detail"]["build-status"] = json!("FAILED");
    old_result["id"] = json!("late-failure-report");
    let out = rig.invoke(&old_result);
    assert_eq!(out["outdated"], true, "{out}");
    let c = rig
        .comments()
        .into_iter()
        .find(|c| c.after == COMMIT_A)
        .unwrap();
    assert!(
        c.content.contains(
            "result is for an older commit, `4c3a9e0`; the pull request is now at `77aa66b`"
        ),
        "{}",
        c.content
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_follows_the_build_of_the_current_revision() {
    let rig = Rig::start("feature/login", &[("CODEHOOKS_PR_APPROVAL", "on")]).await;
    let rev1 = rig.pr()["revisionId"].as_str().unwrap().to_owned();
    rig.invoke(&rig.pr_event("pr-comments-pull-request-created.json"));
    let approvals = rig.requests("UpdatePullRequestApprovalState");
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0]["body"]["approvalState"], "REVOKE");
    assert_eq!(approvals[0]["body"]["revisionId"], rev1.as_str());

    // Success of the current revision: approved for exactly that revision.
    let b1 = rig.end_build(&rig.builds()[0], "SUCCEEDED", json!(null));
    let out = rig.invoke(&rig.build_event("pr-comments-build-succeeded.json", &b1));
    assert_eq!(out["approval"], "APPROVE", "{out}");
    assert_eq!(
        rig.state()["pullRequests"][&rig.pr_id]["approvals"][&rev1][FUNCTION_CALLER],
        "APPROVE"
    );

    // A push: the new revision is revoked; the old build's success never approves it.
    rig.local
        .emulator()
        .move_branch(REGION, REPO, &rig.branch, COMMIT_B);
    rig.invoke(&rig.pr_event("pr-comments-pull-request-source-branch-updated.json"));
    let rev2 = rig.pr()["revisionId"].as_str().unwrap().to_owned();
    assert_ne!(rev1, rev2);
    let n = rig.requests("UpdatePullRequestApprovalState").len();
    let mut replay = rig.build_event("pr-comments-build-succeeded.json", &b1);
    replay["id"] = json!("replayed-old-success");
    let out = rig.invoke(&replay);
    assert_eq!(out["approval"], Value::Null, "{out}");
    assert_eq!(
        rig.requests("UpdatePullRequestApprovalState").len(),
        n,
        "no approval call for an old build"
    );
    assert!(
        rig.state()["pullRequests"][&rig.pr_id]["approvals"][&rev2][FUNCTION_CALLER] != "APPROVE"
    );

    // The new build fails: revoked.
    let b2 = rig.end_build(&rig.builds()[1], "FAILED", failed_phases());
    let out = rig.invoke(&rig.build_event("pr-comments-build-failed.json", &b2));
    assert_eq!(out["approval"], "REVOKE", "{out}");
    assert_eq!(
        rig.state()["pullRequests"][&rig.pr_id]["approvals"][&rev2][FUNCTION_CALLER],
        "REVOKE"
    );

    // The pull request changes (the revision moves on) while a build runs: the stale
    // revision is refused by CodeCommit and handled.
    rig.local
        .emulator()
        .move_branch(REGION, REPO, &rig.branch, COMMIT_C);
    rig.invoke(&rig.pr_event("pr-comments-pull-request-source-branch-updated.json"));
    let b3 = rig.builds()[2].clone();
    // Simulate a revision change that keeps the source commit (as a title edit may).
    let mut event3 = rig.build_event(
        "pr-comments-build-succeeded.json",
        &rig.end_build(&b3, "SUCCEEDED", json!(null)),
    );
    for v in event3["detail"]["additional-information"]["environment"]["environment-variables"]
        .as_array_mut()
        .unwrap()
    {
        if v["name"] == "CODEHOOKS_PR_REVISION_ID" {
            v["value"] = json!("ab".repeat(32));
        }
    }
    let out = rig.invoke(&event3);
    assert_eq!(out["approval"], "APPROVE: revision-not-current", "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_off_never_touches_approval_state() {
    let rig = Rig::start("feature/login", &[("CODEHOOKS_PR_APPROVAL", "off")]).await;
    rig.invoke(&rig.pr_event("pr-comments-pull-request-created.json"));
    let b = rig.end_build(&rig.builds()[0], "SUCCEEDED", json!(null));
    rig.invoke(&rig.build_event("pr-comments-build-succeeded.json", &b));
    assert!(rig.requests("UpdatePullRequestApprovalState").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_branch_names_cannot_break_the_comment() {
    let branch = "fix/<b>bold</b>_`tick`_(paren)!#|&{x}";
    let rig = Rig::start(branch, &[]).await;
    rig.invoke(&rig.pr_event("pr-comments-pull-request-created.json"));
    let b = rig.end_build(&rig.builds()[0], "FAILED", failed_phases());
    rig.invoke(&rig.build_event("pr-comments-build-failed.json", &b));
    let c = &rig.comments()[0];
    assert!(!c.content.contains("<b>"), "{}", c.content);
    assert!(!c.content.contains("`tick`"), "{}", c.content);
    assert!(
        c.content
            .contains("fix/\\<b\\>bold\\</b\\>\\_\\`tick\\`\\_\\(paren\\)\\!\\#\\|\\&\\{x\\}"),
        "{}",
        c.content
    );
    assert!(
        !c.content.contains("evil.example"),
        "the title never reaches the comment: {}",
        c.content
    );
    assert!(c.content.chars().count() <= 10_240);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_builds_repositories_and_projects_are_ignored() {
    let rig = Rig::start("feature/login", &[]).await;
    // A build of the validation project that the function did not start.
    let sdk = rig.local.sdk_config(rig.local.emulator_url(), REGION).await;
    let cb = aws_sdk_codebuild::Client::new(&sdk);
    cb.start_build()
        .project_name(PROJECT)
        .source_version("main")
        .send()
        .await
        .expect("StartBuild");
    let foreign = rig.builds()[0].clone();
    let foreign = rig.end_build(&foreign, "SUCCEEDED", json!(null));
    let before = rig.local.emulator().requests(None).len();
    let out = rig.invoke(&rig.build_event("pr-comments-build-succeeded.json", &foreign));
    assert_eq!(out["action"], "ignored", "{out}");
    assert_eq!(out["reason"], "build was not started by pr-comments");

    // Another project's build, another repository's pull request, a comment event.
    let mut other_project = rig.build_event("pr-comments-build-succeeded.json", &foreign);
    other_project["detail"]["project-name"] = json!("unrelated-project");
    assert_eq!(
        rig.invoke(&other_project)["reason"],
        "build of another project"
    );
    let mut other_repo = rig.pr_event("pr-comments-pull-request-created.json");
    other_repo["detail"]["repositoryNames"] = json!(["other-repo"]);
    assert_eq!(
        rig.invoke(&other_repo)["reason"],
        "repository is not configured"
    );
    // Comment events (the sample from events/): a person's comment is read (it may ask for a
    // re-run; this one does not exist), and the function's own comments never feed back
    // into it.
    let mut comment_event = event("pr-comments-comment-on-pull-request.json");
    comment_event["detail"]["pullRequestId"] = json!(rig.pr_id);
    assert_eq!(
        rig.invoke(&comment_event)["reason"],
        "comment does not exist"
    );
    assert_eq!(rig.requests("GetComment").len(), 1);
    let before = before + 1;
    comment_event["detail"]["callerUserArn"] = json!(FUNCTION_CALLER);
    assert_eq!(
        rig.invoke(&comment_event)["reason"],
        "comment event caused by pr-comments itself"
    );
    assert_eq!(
        rig.local.emulator().requests(None).len(),
        before,
        "no AWS call for ignored events"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_events_are_rejected_without_any_call() {
    let rig = Rig::start("feature/login", &[]).await;
    let calls_before = rig.local.emulator().requests(None).len();
    let mut bad = Vec::new();
    bad.push(json!({"hello": "world"}));
    let mut e = rig.pr_event("pr-comments-pull-request-created.json");
    e["detail"]["pullRequestId"] = json!("1 OR 1=1");
    bad.push(e);
    let mut e = rig.pr_event("pr-comments-pull-request-created.json");
    e["detail"]["sourceCommit"] = json!("abc)[x](https://evil)");
    bad.push(e);
    let mut e = rig.pr_event("pr-comments-pull-request-created.json");
    e["source"] = json!("aws.s3");
    bad.push(e);
    let mut e = event("pr-comments-build-succeeded.json");
    e["detail"]["additional-information"]["environment"]["environment-variables"] =
        json!([{"name": "CODEHOOKS_PR_ID", "type": "PLAINTEXT", "value": "1"}]);
    bad.push(e);
    for e in bad {
        let out = rig.f.invoke(&e, 10_000);
        assert_eq!(out.status, "error", "{out:?}");
        assert_eq!(out.error_type.as_deref(), Some("BadInput"), "{out:?}");
    }
    assert_eq!(
        rig.local.emulator().requests(None).len(),
        calls_before,
        "no AWS call for bad input"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_after_retries_fail_the_invocation_and_a_retry_completes_it() {
    let rig = Rig::start("feature/login", &[]).await;
    let created = rig.pr_event("pr-comments-pull-request-created.json");
    // One throttle is ridden out by the SDK's retries.
    rig.local
        .emulator()
        .fault("CodeBuild_20161006.StartBuild", "throttle", 1, 0);
    assert_eq!(rig.invoke(&created)["action"], "started");
    // Persistent failures of CodeCommit fail the invocation (EventBridge retries it)...
    let b = rig.end_build(&rig.builds()[0], "SUCCEEDED", json!(null));
    let done = rig.build_event("pr-comments-build-succeeded.json", &b);
    rig.local.emulator().fault(
        "CodeCommit_20150413.GetCommentsForPullRequest",
        "error5xx",
        3,
        0,
    );
    let out = rig.f.invoke(&done, 20_000);
    assert_eq!(out.status, "error", "{out:?}");
    assert_eq!(out.error_type.as_deref(), Some("AwsError"), "{out:?}");
    // ...and the retry finishes the work once, in place.
    assert_eq!(rig.invoke(&done)["comment"], "updated");
    assert_eq!(rig.comments().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_configuration_stops_start_up_naming_the_variable() {
    let local = LocalAws::builder().runtime_api("pr-comments").start();
    let mut f = local.function(
        "pr-comments",
        REGION,
        &[
            ("CODEHOOKS_PR_APPROVAL", "sometimes"),
            ("CODEHOOKS_PR_AUTHOR_ARN", "nobody"),
        ],
    );
    let status = f.wait_exit(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| !s.success()),
        "the function must not start"
    );
    let logs = f.logs();
    for var in [
        "CODEHOOKS_PR_BUILD_PROJECT",
        "CODEHOOKS_PR_APPROVAL",
        "CODEHOOKS_PR_AUTHOR_ARN",
    ] {
        assert!(logs.contains(var), "{var} not named: {logs}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_pull_request_stops_its_running_build_and_a_late_created_event_starts_nothing() {
    let rig = Rig::start("feature/login", &[("CODEHOOKS_PR_APPROVAL", "on")]).await;
    let created = rig.pr_event("pr-comments-pull-request-created.json");
    rig.invoke(&created);
    // Merged: the documented merge event (also seen spelled "CodeCommit PullRequest State Change").
    let mut merged = rig.pr_event("pr-comments-pull-request-merged.json");
    merged["detail-type"] = json!("CodeCommit PullRequest State Change");
    merged["detail"]["pullRequestStatus"] = json!("Closed");
    let out = rig.invoke(&merged);
    assert_eq!(out["action"], "closed", "{out}");
    assert_eq!(rig.builds()[0]["buildStatus"], "STOPPED");
    // The pull request is closed now; a redelivered "created" event starts nothing.
    rig.dev
        .update_pull_request_status()
        .pull_request_id(&rig.pr_id)
        .pull_request_status(aws_sdk_codecommit::types::PullRequestStatusEnum::Closed)
        .send()
        .await
        .expect("close");
    let mut late = created.clone();
    late["id"] = json!("late-created");
    let out = rig.invoke(&late);
    assert_eq!(out["reason"], "pull request is closed", "{out}");
    assert_eq!(rig.builds().len(), 1);
    // The stopped build's event edits the comment and never touches approval.
    let n = rig.requests("UpdatePullRequestApprovalState").len();
    let out = rig.invoke(&rig.build_event("pr-comments-build-failed.json", &rig.builds()[0]));
    assert_eq!(out["action"], "superseded", "{out}");
    assert_eq!(rig.requests("UpdatePullRequestApprovalState").len(), n);
    assert!(
        rig.comments()[0]
            .content
            .contains("pull request was closed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_with_forged_pull_request_variables_is_neither_approved_nor_commented() {
    let rig = Rig::start("feature/login", &[("CODEHOOKS_PR_APPROVAL", "on")]).await;
    rig.invoke(&rig.pr_event("pr-comments-pull-request-created.json"));
    let ours = rig.builds()[0].clone();
    // A developer allowed codebuild:StartBuild starts a build of the validation project
    // whose CODEHOOKS_PR_* variables copy those of the function's build: the pull
    // request's head, its destination and its current revision.
    let sdk = sdk_config_as(rig.local.emulator_url(), REGION, DEVELOPER_KEY).await;
    let cb = aws_sdk_codebuild::Client::new(&sdk);
    let mut start = cb
        .start_build()
        .project_name(PROJECT)
        .source_version(COMMIT_A);
    for v in ours["environment"]["environmentVariables"]
        .as_array()
        .unwrap()
    {
        start = start.environment_variables_override(
            aws_sdk_codebuild::types::EnvironmentVariable::builder()
                .name(v["name"].as_str().unwrap())
                .value(v["value"].as_str().unwrap())
                .r#type(aws_sdk_codebuild::types::EnvironmentVariableType::Plaintext)
                .build()
                .unwrap(),
        );
    }
    let forged_id = start
        .send()
        .await
        .expect("StartBuild")
        .build_value
        .unwrap()
        .id
        .unwrap();
    let forged = rig
        .builds()
        .into_iter()
        .find(|b| b["id"] == forged_id.as_str())
        .unwrap();
    let forged = rig.end_build(&forged, "SUCCEEDED", json!(null));
    let comments_before: Vec<(String, String)> = rig
        .comments()
        .into_iter()
        .map(|c| (c.id, c.content))
        .collect();
    let approvals_before = rig.state()["pullRequests"][&rig.pr_id]["approvals"].clone();
    let approval_calls = rig.requests("UpdatePullRequestApprovalState").len();

    let out = rig.invoke(&rig.build_event("pr-comments-build-succeeded.json", &forged));
    assert_eq!(out["action"], "ignored", "{out}");
    assert_eq!(
        out["reason"], "build was not started by pr-comments for this pull request",
        "{out}"
    );
    assert_eq!(out["buildId"], forged_id.as_str(), "{out}");
    assert!(
        rig.f.logs().contains(&format!(
            "build {forged_id} was not started by pr-comments for this pull request"
        )),
        "{}",
        rig.f.logs()
    );
    let comments_after: Vec<(String, String)> = rig
        .comments()
        .into_iter()
        .map(|c| (c.id, c.content))
        .collect();
    assert_eq!(
        comments_after, comments_before,
        "no comment posted or edited"
    );
    assert_eq!(
        rig.state()["pullRequests"][&rig.pr_id]["approvals"],
        approvals_before,
        "approval state unchanged"
    );
    assert_eq!(
        rig.requests("UpdatePullRequestApprovalState").len(),
        approval_calls
    );
    assert!(rig.requests("UpdateComment").is_empty());

    // The function's own build of the same commit is still reported and approved.
    let ours = rig.end_build(&ours, "SUCCEEDED", json!(null));
    let out = rig.invoke(&rig.build_event("pr-comments-build-succeeded.json", &ours));
    assert_eq!(out["approval"], "APPROVE", "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_repository_builds_in_its_own_project() {
    // The template's shape: one project per repository, named through the placeholder.
    let per_repo = "codehooks-pr-codehooks-demo";
    let rig = Rig::start(
        "feature/login",
        &[
            ("CODEHOOKS_PR_BUILD_PROJECT", "codehooks-pr-{repository}"),
            ("CODEHOOKS_PR_APPROVAL", "on"),
        ],
    )
    .await;
    rig.local.emulator().seed(&json!({
        "region": REGION,
        "codebuild": {"projects": [{"name": per_repo}]}
    }));
    let out = rig.invoke(&rig.pr_event("pr-comments-pull-request-created.json"));
    assert_eq!(out["action"], "started", "{out}");
    let builds_of = |project: &str| -> Vec<Value> {
        let mut b: Vec<Value> = rig.state()["builds"]
            .as_object()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        b.retain(|b| b["projectName"] == project);
        b
    };
    let ours = builds_of(per_repo);
    assert_eq!(ours.len(), 1, "{:?}", rig.state()["builds"]);
    assert!(builds_of(PROJECT).is_empty());
    let id = ours[0]["id"].as_str().unwrap().to_owned();
    rig.local
        .emulator()
        .set_build(REGION, &id, "SUCCEEDED", &json!(null));
    let ours = builds_of(per_repo).remove(0);
    let mut done = rig.build_event("pr-comments-build-succeeded.json", &ours);
    done["detail"]["project-name"] = json!(per_repo);
    let out = rig.invoke(&done);
    assert_eq!(out["approval"], "APPROVE", "{out}");

    // The same variables on a build of another project of the prefix: not ours.
    let mut other = done.clone();
    other["detail"]["project-name"] = json!(PROJECT);
    other["detail"]["build-id"] = json!(
        done["detail"]["build-id"]
            .as_str()
            .unwrap()
            .replace(per_repo, PROJECT)
    );
    other["id"] = json!("other-project");
    let n = rig.requests("UpdatePullRequestApprovalState").len();
    let out = rig.invoke(&other);
    assert_eq!(
        out["reason"], "build was not started by pr-comments for this pull request",
        "{out}"
    );
    assert_eq!(rig.requests("UpdatePullRequestApprovalState").len(), n);
}

/// Posts `text` on the pull request as `client`; the comment event CodeCommit would send.
async fn say(rig: &Rig, client: &aws_sdk_codecommit::Client, text: &str) -> Value {
    let on = codehooks_tests::comments::On {
        pull_request_id: &rig.pr_id,
        repository: REPO,
        before_commit: MAIN,
        after_commit: COMMIT_A,
    };
    codehooks_tests::comments::say(client, &on, text).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_author_re_runs_the_single_project_once_and_only_its_result_counts() {
    let rig = Rig::start("feature/login", &[("CODEHOOKS_PR_APPROVAL", "on")]).await;
    let rev = rig.pr()["revisionId"].as_str().unwrap().to_owned();
    let approval_now =
        || rig.state()["pullRequests"][&rig.pr_id]["approvals"][&rev][FUNCTION_CALLER].clone();
    let own = || -> Vec<String> {
        rig.comments()
            .into_iter()
            .filter(|c| c.author == FUNCTION_CALLER)
            .map(|c| c.content)
            .collect()
    };
    rig.invoke(&rig.pr_event("pr-comments-pull-request-created.json"));
    let b1 = rig.end_build(&rig.builds()[0], "FAILED", failed_phases());
    let first_result = rig.build_event("pr-comments-build-failed.json", &b1);
    assert_eq!(rig.invoke(&first_result)["approval"], "REVOKE");

    // A stranger and other text start nothing.
    let stranger = aws_sdk_codecommit::Client::new(
        &sdk_config_as(rig.local.emulator_url(), REGION, "AKIDSTRANGER").await,
    );
    for (client, text) in [(&stranger, "/codehooks retry"), (&rig.dev, "retry please")] {
        let e = say(&rig, client, text).await;
        let out = rig.invoke(&e);
        assert_eq!(out["action"], "ignored", "{text}: {out}");
    }
    assert_eq!(rig.builds().len(), 1);

    // The author's command: a second build of the same commit, the comment back to started.
    let e = say(&rig, &rig.dev, "/codehooks retry").await;
    let out = rig.invoke(&e);
    assert_eq!(out["action"], "retried", "{out}");
    assert_eq!(out["approval"], "REVOKE", "{out}");
    let builds = rig.builds();
    assert_eq!(builds.len(), 2);
    assert_eq!(builds[1]["sourceVersion"], COMMIT_A);
    assert_eq!(out["builds"], json!([builds[1]["id"]]), "{out}");
    let c = own();
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(
        c[0].starts_with("⏳ **Validation started** (re-run requested by"),
        "{}",
        c[0]
    );
    assert!(c[0].contains(builds[1]["id"].as_str().unwrap()), "{}", c[0]);
    // The same comment event again: no third build.
    let again = rig.invoke(&e);
    assert_eq!(again["action"], "ignored", "{again}");
    assert_eq!(rig.builds().len(), 2);

    // The earlier build's result, delivered again now, changes neither comment nor approval.
    let n = rig.requests("UpdatePullRequestApprovalState").len();
    let mut late = first_result.clone();
    late["id"] = json!("late-first-result");
    let out = rig.invoke(&late);
    assert_eq!(out["action"], "ignored", "{out}");
    assert_eq!(own(), c);
    assert_eq!(rig.requests("UpdatePullRequestApprovalState").len(), n);

    // The re-run's result does.
    let b2 = rig.end_build(&builds[1], "SUCCEEDED", json!(null));
    let out = rig.invoke(&rig.build_event("pr-comments-build-succeeded.json", &b2));
    assert_eq!(out["action"], "reported", "{out}");
    assert_eq!(out["approval"], "APPROVE", "{out}");
    assert_eq!(approval_now(), "APPROVE");
    let c = own();
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(c[0].starts_with("✅ **Validation passed**"), "{}", c[0]);
    // Even after the result, the comment event again starts nothing.
    assert_eq!(rig.invoke(&e)["action"], "ignored");
    assert_eq!(rig.builds().len(), 2);
}
