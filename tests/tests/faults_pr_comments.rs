//! pr-comments' fault matrix: the real binary against the emulator, each CodeCommit and
//! CodeBuild call it makes failing in each way (throttling, 5xx, a timeout, a connection reset
//! before and after the call took effect) and the process killed while a call is held. The
//! event is delivered again as Lambda's asynchronous retries would (twice at most); the outcome
//! must be one build and one comment per build, an approval state set once and rightly, or a
//! dead letter (the last attempt's error) with no effect doubled.
//!
//! Build first: `cargo build -p pr-comments`, then
//! `cargo test -p codehooks-tests --test faults_pr_comments`.

use std::time::Duration;

use codehooks_tests::faults::{self, ALL, ATTEMPTS, Fault, Faults};
use codehooks_tests::{Function, Invocation, LocalAws, event, fill_build_event, sdk_config_as};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";
const REPO: &str = "codehooks-demo";
const PROJECT: &str = "codehooks-pr-validation";
const MAIN: &str = "1f2e3d4c5b6a79880716253443526170f8e9dacb";
const FUNCTION_ROLE: &str = "arn:aws:iam::123456789012:role/AKIDCODEHOOKSTEST";
const FUNCTION_CALLER: &str = "arn:aws:sts::123456789012:assumed-role/AKIDCODEHOOKSTEST/session";
const TIMEOUT_MS: u64 = 20_000;

const CC: &str = "CodeCommit_20150413";
const CB: &str = "CodeBuild_20161006";

struct Rig {
    local: LocalAws,
    f: Option<Function>,
    dev: aws_sdk_codecommit::Client,
    next: u32,
}

impl Rig {
    async fn start() -> Rig {
        let local = LocalAws::builder()
            .emulator()
            .runtime_api("pr-comments")
            .start();
        local.emulator().seed(&json!({
            "region": REGION,
            "codecommit": {"repositories": [{"repositoryName": REPO, "branches": {"main": MAIN}}]},
            "codebuild": {"projects": [{"name": PROJECT, "badgeEnabled": true,
                "source": {"type": "CODECOMMIT",
                           "location": format!("https://git-codecommit.{REGION}.amazonaws.com/v1/repos/{REPO}")}}]}
        }));
        let sdk = sdk_config_as(local.emulator_url(), REGION, "AKIDDEVELOPER").await;
        let mut rig = Rig {
            dev: aws_sdk_codecommit::Client::new(&sdk),
            local,
            f: None,
            next: 0,
        };
        rig.f = Some(rig.spawn());
        rig
    }

    fn spawn(&self) -> Function {
        let mut env: Vec<(&str, String)> = faults::fast_env();
        env.extend([
            ("CODEHOOKS_PR_REPOSITORIES", REPO.to_owned()),
            ("CODEHOOKS_PR_BUILD_PROJECT", PROJECT.to_owned()),
            ("CODEHOOKS_PR_AUTHOR_ARN", FUNCTION_ROLE.to_owned()),
            ("CODEHOOKS_PR_APPROVAL", "on".to_owned()),
            // No CloudWatch Logs here: the faults are CodeCommit's and CodeBuild's.
            ("CODEHOOKS_PR_LOG_LINES", "0".to_owned()),
        ]);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.local.function("pr-comments", REGION, &env)
    }

    fn api(&self) -> String {
        self.local.runtime_apis["pr-comments"].clone()
    }

    fn faults(&self) -> Faults {
        Faults::emulator(self.local.emulator_url())
    }

    /// A fresh process (nothing cached, e.g. the project's badge).
    fn restart(&mut self) {
        drop(self.f.take());
        self.f = Some(self.spawn());
    }

    /// How many calls of `op` the emulator received.
    fn calls(&self, op: &str) -> usize {
        self.local.emulator().requests(Some(op)).len()
    }

    /// Kills the function while its invocation runs, and starts a fresh process.
    fn crash_and_restart(&mut self) {
        drop(self.f.take());
        faults::crashed(&self.api());
        self.f = Some(self.spawn());
    }

    fn invoke(&self, event: &Value) -> Invocation {
        self.f
            .as_ref()
            .expect("function running")
            .invoke(event, TIMEOUT_MS)
    }

    /// Lambda's async delivery: the event and up to two retries.
    fn deliver(&self, event: &Value) -> Vec<Invocation> {
        faults::with_retries(|| self.invoke(event))
    }

    /// A new pull request from a new branch, opened by a developer.
    async fn open_pr(&mut self) -> String {
        self.next += 1;
        let branch = format!("fault/{}", self.next);
        let commit = format!("{:040x}", 0xfa17_0000_u64 + u64::from(self.next));
        self.local
            .emulator()
            .move_branch(REGION, REPO, &branch, &commit);
        let pr = self
            .dev
            .create_pull_request()
            .title(format!("Change {}", self.next))
            .targets(
                aws_sdk_codecommit::types::Target::builder()
                    .repository_name(REPO)
                    .source_reference(&branch)
                    .destination_reference("main")
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("CreatePullRequest");
        pr.pull_request
            .and_then(|p| p.pull_request_id)
            .expect("pull request id")
    }

    fn state(&self) -> Value {
        self.local.emulator().state(REGION)
    }

    fn pr(&self, id: &str) -> Value {
        self.state()["pullRequests"][id]["pullRequest"].clone()
    }

    fn created_event(&self, id: &str) -> Value {
        self.pr_event(id, "pr-comments-pull-request-created.json")
    }

    /// A push to the pull request's branch (a new commit) and its event.
    fn push(&mut self, id: &str) -> Value {
        self.next += 1;
        let commit = format!("{:040x}", 0xfa17_0000_u64 + u64::from(self.next));
        let pr = self.pr(id);
        let branch = pr["pullRequestTargets"][0]["sourceReference"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("refs/heads/")
            .to_owned();
        self.local
            .emulator()
            .move_branch(REGION, REPO, &branch, &commit);
        self.pr_event(id, "pr-comments-pull-request-source-branch-updated.json")
    }

    fn pr_event(&self, id: &str, file: &str) -> Value {
        let pr = self.pr(id);
        let t = &pr["pullRequestTargets"][0];
        let mut e = event(file);
        let d = &mut e["detail"];
        d["pullRequestId"] = json!(id);
        d["sourceCommit"] = t["sourceCommit"].clone();
        d["destinationCommit"] = t["destinationCommit"].clone();
        d["sourceReference"] = t["sourceReference"].clone();
        d["revisionId"] = pr["revisionId"].clone();
        d["title"] = pr["title"].clone();
        e
    }

    /// The function's comments on the pull request (contents).
    fn comments(&self, id: &str) -> Vec<String> {
        self.state()["pullRequests"][id]["comments"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c["comment"]["authorArn"] == FUNCTION_CALLER)
            .filter_map(|c| c["comment"]["content"].as_str().map(str::to_owned))
            .collect()
    }

    /// The builds started for the pull request.
    fn builds(&self, id: &str) -> Vec<Value> {
        let mut b: Vec<Value> = self.state()["builds"]
            .as_object()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        b.retain(|b| {
            b["environment"]["environmentVariables"]
                .as_array()
                .is_some_and(|v| {
                    v.iter()
                        .any(|v| v["name"] == "CODEHOOKS_PR_ID" && v["value"] == id)
                })
        });
        b.sort_by_key(|b| b["buildNumber"].as_u64());
        b
    }

    /// The function's approval state of the pull request's current revision.
    fn approval(&self, id: &str) -> Value {
        let rev = self.pr(id)["revisionId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.state()["pullRequests"][id]["approvals"][&rev][FUNCTION_CALLER].clone()
    }

    fn build_event(&self, build: &Value) -> Value {
        let mut e = event("pr-comments-build-succeeded.json");
        fill_build_event(&mut e, build);
        e["id"] = json!(format!("{}-{}", build["id"], build["buildStatus"]));
        e["detail"]["additional-information"]["source-version"] = build["sourceVersion"].clone();
        e
    }

    /// A pull request with its validation started (no fault) and its build succeeded: the
    /// build's event, ready to deliver.
    async fn succeeded_build(&mut self) -> (String, Value) {
        let id = self.open_pr().await;
        let started = self.invoke(&self.created_event(&id));
        assert!(started.is_ok(), "{started:?}");
        let build = self.builds(&id).remove(0);
        let bid = build["id"].as_str().unwrap_or_default().to_owned();
        self.local
            .emulator()
            .set_build(REGION, &bid, "SUCCEEDED", &json!(null));
        let build = self
            .builds(&id)
            .into_iter()
            .find(|b| b["id"] == bid.as_str())
            .expect("the build");
        (id, self.build_event(&build))
    }
}

/// How a delivery ended.
fn verdict(attempts: &[Invocation]) -> (bool, String) {
    let last = attempts.last().expect("one attempt at least");
    let ok = last.is_ok();
    let how = if ok {
        format!("ok after {} attempt(s)", attempts.len())
    } else {
        format!(
            "dead letter: {} ({})",
            last.error_type.as_deref().unwrap_or("?"),
            last.error_message.as_deref().unwrap_or("")
        )
    };
    (ok, how)
}

/// Checks the effects of a validation: one build, one "started" comment, the approval revoked
/// (never approved); on a dead letter, at most that.
fn check_started(rig: &Rig, id: &str, ok: bool) -> Vec<String> {
    let mut bad = Vec::new();
    let builds = rig.builds(id).len();
    let comments = rig.comments(id);
    if builds > 1 || (ok && builds != 1) {
        bad.push(format!("{builds} builds"));
    }
    if comments.len() > 1 || (ok && comments.len() != 1) {
        bad.push(format!("{} comments", comments.len()));
    }
    if rig.approval(id) == "APPROVE" {
        bad.push("approved before any build passed".to_owned());
    }
    bad
}

/// Checks the effects of a succeeded build's report: still one comment, now "passed", and the
/// revision approved; on a dead letter, nothing doubled and never approved without the comment.
fn check_reported(rig: &Rig, id: &str, ok: bool) -> Vec<String> {
    let mut bad = Vec::new();
    let comments = rig.comments(id);
    if comments.len() != 1 {
        bad.push(format!("{} comments", comments.len()));
    }
    let passed = comments.iter().any(|c| c.contains("Validation passed"));
    if ok && !passed {
        bad.push("the comment does not say passed".to_owned());
    }
    let approval = rig.approval(id);
    if ok && approval != "APPROVE" {
        bad.push(format!("approval {approval} after a passed build"));
    }
    if approval == "APPROVE" && !passed {
        bad.push("approved but the comment does not say passed".to_owned());
    }
    bad
}

fn report(table: &[(String, String, Vec<String>)]) {
    eprintln!("| call | fault | outcome |");
    eprintln!("|---|---|---|");
    for (call, fault, bad) in table {
        eprintln!(
            "| {call} | {fault} | {} |",
            if bad.len() > 1 {
                bad.join("; ")
            } else {
                bad[0].clone()
            }
        );
    }
    let broken: Vec<_> = table.iter().filter(|(_, _, b)| b.len() > 1).collect();
    assert!(broken.is_empty(), "lost or doubled effects: {broken:#?}");
}

/// The calls of a "pull request created" event, in order.
const STARTED_CALLS: [&str; 5] = [
    "GetPullRequest",
    "ListBuildsForProject",
    "StartBuild",
    "UpdatePullRequestApprovalState",
    "PostCommentForPullRequest",
];

fn target(op: &str) -> String {
    let codebuild = [
        "ListBuildsForProject",
        "StartBuild",
        "StopBuild",
        "BatchGetBuilds",
        "BatchGetProjects",
    ];
    let prefix = if codebuild.contains(&op) { CB } else { CC };
    format!("{prefix}.{op}")
}

/// Delivers `event` with `fault` armed on all the SDK's attempts of `op`: whether the delivery
/// succeeded, and the report's row so far (how it went, against the `expected` effects, and
/// whether `op` was called at all).
fn deliver_faulted(
    rig: &Rig,
    op: &str,
    fault: Fault,
    event: &Value,
    expected: &str,
) -> (bool, Vec<String>) {
    let before = rig.calls(op);
    rig.faults().arm(&target(op), fault, ATTEMPTS);
    let attempts = rig.deliver(event);
    rig.faults().clear();
    let (ok, how) = verdict(&attempts);
    let mut row = vec![format!("{how}: {expected}")];
    if rig.calls(op) == before {
        row.push(format!("{op} was not called"));
    }
    (ok, row)
}

/// Every call of a validation × every fault, each failing all the SDK's attempts of the first
/// delivery: the retried delivery starts one build and posts one comment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_survives_every_fault_of_every_call() {
    let mut rig = Rig::start().await;
    let mut table = Vec::new();
    for op in STARTED_CALLS {
        for fault in ALL {
            let id = rig.open_pr().await;
            let (ok, mut row) = deliver_faulted(
                &rig,
                op,
                fault,
                &rig.created_event(&id),
                "one build, one comment, not approved",
            );
            row.extend(check_started(&rig, &id, ok));
            table.push((op.to_owned(), fault.kind().to_owned(), row));
        }
    }
    report(&table);
}

/// A call that never succeeds: every delivery fails, the last error is the dead letter, and
/// nothing is doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_faults_end_in_a_dead_letter_without_doubled_effects() {
    let mut rig = Rig::start().await;
    let mut table = Vec::new();
    for op in STARTED_CALLS {
        for fault in [Fault::Throttle, Fault::Error5xx, Fault::ResetAfter] {
            let id = rig.open_pr().await;
            rig.faults().arm(&target(op), fault, 3 * ATTEMPTS);
            let attempts = rig.deliver(&rig.created_event(&id));
            rig.faults().clear();
            let (ok, how) = verdict(&attempts);
            let mut row = vec![if ok {
                format!("{how} (the effect had landed): one build, one comment")
            } else {
                format!("{how}; nothing doubled")
            }];
            row.extend(check_started(&rig, &id, ok));
            table.push((op.to_owned(), format!("{} ×∞", fault.kind()), row));
        }
    }
    report(&table);
}

/// The calls of a succeeded build's event.
const REPORTED_CALLS: [&str; 5] = [
    "GetPullRequest",
    "GetCommentsForPullRequest",
    "BatchGetProjects",
    "UpdateComment",
    "UpdatePullRequestApprovalState",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_result_survives_every_fault_of_every_call() {
    let mut rig = Rig::start().await;
    let mut table = Vec::new();
    for op in REPORTED_CALLS {
        for fault in ALL {
            let (id, done) = rig.succeeded_build().await;
            if op == "BatchGetProjects" {
                // The badge is looked up once per process.
                rig.restart();
            }
            let (ok, mut row) =
                deliver_faulted(&rig, op, fault, &done, "comment edited once, approved once");
            row.extend(check_reported(&rig, &id, ok));
            table.push((op.to_owned(), fault.kind().to_owned(), row));
        }
    }
    report(&table);
}

/// Holds `op` (before or after it takes effect, as `apply` says) while `event` is invoked, kills
/// the process meanwhile, and lets Lambda retry on a fresh one: the crashed attempt, then at
/// most two retries.
fn crash_during(rig: &mut Rig, op: &str, apply: bool, event: &Value) -> Vec<Invocation> {
    rig.faults().hold(&target(op), apply);
    let running = faults::invoke_in_background(&rig.api(), event, TIMEOUT_MS);
    assert!(
        rig.faults().wait_held(Duration::from_secs(10)),
        "{op} was never called"
    );
    rig.crash_and_restart();
    rig.faults().release();
    let first = running.join().expect("invocation thread");
    assert_eq!(first.error_type.as_deref(), Some("Runtime.ExitError"));
    let mut attempts = vec![first];
    attempts.extend(
        faults::with_retries(|| rig.invoke(event))
            .into_iter()
            .take(2),
    );
    attempts
}

/// The name of a crash's row in the report.
fn crash_when(apply: bool) -> &'static str {
    if apply {
        "crash after it took effect"
    } else {
        "crash before it took effect"
    }
}

/// The process is killed while each call of a validation is held (before the call took effect,
/// and after), then Lambda retries on a fresh process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_each_step_of_a_validation_is_repaired_by_the_retry() {
    let mut rig = Rig::start().await;
    let mut table = Vec::new();
    for op in STARTED_CALLS {
        for apply in [false, true] {
            let id = rig.open_pr().await;
            let created = rig.created_event(&id);
            let attempts = crash_during(&mut rig, op, apply, &created);
            let (ok, how) = verdict(&attempts);
            let mut row = vec![format!("{how}: one build, one comment")];
            row.extend(check_started(&rig, &id, ok));
            table.push((op.to_owned(), crash_when(apply).to_owned(), row));
        }
    }
    report(&table);
}

/// The process is killed while each call of a build's report is held; the retry reports once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_each_step_of_a_report_is_repaired_by_the_retry() {
    let mut rig = Rig::start().await;
    let mut table = Vec::new();
    for op in REPORTED_CALLS {
        for apply in [false, true] {
            let (id, done) = rig.succeeded_build().await;
            if op == "BatchGetProjects" {
                rig.restart();
            }
            let attempts = crash_during(&mut rig, op, apply, &done);
            let (ok, how) = verdict(&attempts);
            let mut row = vec![format!("{how}: comment edited once, approved once")];
            row.extend(check_reported(&rig, &id, ok));
            table.push((op.to_owned(), crash_when(apply).to_owned(), row));
        }
    }
    report(&table);
}

/// The calls of a push to a pull request whose build still runs, in order (the others are
/// those of a validation).
const SUPERSEDING_CALLS: [&str; 5] = [
    "ListBuildsForProject",
    "BatchGetBuilds",
    "StopBuild",
    "StartBuild",
    "PostCommentForPullRequest",
];

/// A push while the previous commit's build runs: the old build is stopped once, one new
/// build starts, one new comment is posted, whatever fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_superseding_push_survives_every_fault_of_every_call() {
    let mut rig = Rig::start().await;
    let mut table = Vec::new();
    for op in SUPERSEDING_CALLS {
        for fault in ALL {
            let id = rig.open_pr().await;
            let started = rig.invoke(&rig.created_event(&id));
            assert!(started.is_ok(), "{started:?}");
            let pushed = rig.push(&id);
            let (ok, mut row) = deliver_faulted(
                &rig,
                op,
                fault,
                &pushed,
                "old build stopped, one new build, one new comment",
            );
            let builds = rig.builds(&id);
            let stopped = builds
                .iter()
                .filter(|b| b["buildStatus"] == "STOPPED")
                .count();
            let comments = rig.comments(&id).len();
            if builds.len() > 2 || (ok && builds.len() != 2) {
                row.push(format!("{} builds", builds.len()));
            }
            if ok && (stopped != 1 || builds[0]["buildStatus"] != "STOPPED") {
                row.push(format!("{stopped} builds stopped"));
            }
            if comments > 2 || (ok && comments != 2) {
                row.push(format!("{comments} comments"));
            }
            if rig.approval(&id) == "APPROVE" {
                row.push("approved".to_owned());
            }
            table.push((op.to_owned(), fault.kind().to_owned(), row));
        }
    }
    report(&table);
}
