//! The pr-comments part of the demo: a developer opens a pull request, pushes twice, and the
//! pull request collects the comments pr-comments writes, as CodeCommit would show them.

use codehooks_tests::{Emulator, Function, LocalAws, event, fill_build_event, sdk_config_as};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";
const REPO: &str = "codehooks-demo";
const PROJECT: &str = "codehooks-pr-validation";
const BRANCH: &str = "feature/login";
const MAIN: &str = "1f2e3d4c5b6a79880716253443526170f8e9dacb";
const PUSHES: [&str; 3] = [
    "4c3a9e0f1b2d5c6e7f8091a2b3c4d5e6f7a8b9c0",
    "9d8c7b6a5f4e3d2c1b0a99887766554433221100",
    "77aa66bb55cc44dd33ee22ff1100998877665544",
];

struct Demo {
    emu: Emulator,
    f: Function,
    pr_id: String,
}

impl Demo {
    fn state(&self) -> Value {
        self.emu.state(REGION)
    }

    fn pr(&self) -> Value {
        self.state()["pullRequests"][&self.pr_id]["pullRequest"].clone()
    }

    fn builds(&self) -> Vec<Value> {
        let mut b: Vec<Value> = self.state()["builds"]
            .as_object()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        b.sort_by_key(|b| b["buildNumber"].as_u64());
        b
    }

    /// The comments pr-comments wrote (its footer names it), not the developers'.
    fn comments(&self) -> Vec<Value> {
        self.state()["pullRequests"][&self.pr_id]["comments"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| {
                c["comment"]["content"]
                    .as_str()
                    .is_some_and(|t| t.contains("_codehooks pr-comments"))
            })
            .collect()
    }

    fn pr_event(&self, file: &str) -> Value {
        let pr = self.pr();
        let t = &pr["pullRequestTargets"][0];
        let mut e = event(file);
        let d = &mut e["detail"];
        d["pullRequestId"] = json!(self.pr_id);
        d["sourceCommit"] = t["sourceCommit"].clone();
        d["destinationCommit"] = t["destinationCommit"].clone();
        d["revisionId"] = pr["revisionId"].clone();
        e
    }

    fn build_event(&self, file: &str, build: &Value) -> Value {
        let mut e = event(file);
        e["id"] = json!(format!(
            "{}-{}",
            build["id"].as_str().unwrap_or(""),
            build["buildStatus"].as_str().unwrap_or("")
        ));
        fill_build_event(&mut e, build);
        e
    }

    /// Plays one event through the real binary and prints what it answered.
    fn play(&self, what: &str, ev: &Value) -> Result<Value, String> {
        let out = self.f.invoke(ev, 20_000);
        if !out.is_ok() {
            return Err(format!(
                "{what}: {} {}\n{}",
                out.error_type.unwrap_or_default(),
                out.error_message.unwrap_or_default(),
                self.f.logs()
            ));
        }
        let r = &out.response;
        let mut summary = format!(
            "{} ({:.0} ms)",
            r["action"].as_str().unwrap_or("?"),
            out.duration_ms
        );
        for key in ["buildId", "buildStatus", "comment", "approval", "reason"] {
            if let Some(v) = r.get(key).and_then(Value::as_str) {
                summary.push_str(&format!(", {key}: {v}"));
            }
        }
        if let Some(s) = r["stoppedBuilds"].as_array().filter(|s| !s.is_empty()) {
            summary.push_str(&format!(", stopped: {}", s.len()));
        }
        println!("  ▶ {what}\n    → {summary}");
        Ok(out.response)
    }

    fn end_build(&self, n: usize, status: &str, phases: Value) -> Result<Value, String> {
        let b = self.builds().get(n).cloned().ok_or("build missing")?;
        self.emu
            .set_build(REGION, b["id"].as_str().unwrap_or(""), status, &phases);
        self.builds()
            .get(n)
            .cloned()
            .ok_or_else(|| "build missing".to_owned())
    }

    fn show_comment(&self, label: &str, after: &str) {
        if let Some(c) = self
            .comments()
            .into_iter()
            .rev()
            .find(|c| c["afterCommitId"] == after)
        {
            crate::show(label, c["comment"]["content"].as_str().unwrap_or(""));
        }
    }
}

pub async fn run() -> Result<(), String> {
    // moto serves CloudWatch Logs (the log tail of a failed build).
    let local = LocalAws::builder()
        .emulator()
        .moto()
        .runtime_api("pr-comments")
        .start();
    let emu = local.emulator();
    let local_sdk = local.sdk_config(local.moto_url(), REGION).await;
    emu.seed(&json!({
        "region": REGION,
        "codecommit": {"repositories": [{"repositoryName": REPO, "branches": {"main": MAIN, BRANCH: PUSHES[0]}}]},
        "codebuild": {"projects": [{"name": PROJECT, "badgeEnabled": true}]}
    }));
    let dev = aws_sdk_codecommit::Client::new(
        &sdk_config_as(local.emulator_url(), REGION, "AKIDDEVELOPER").await,
    );
    let target = aws_sdk_codecommit::types::Target::builder()
        .repository_name(REPO)
        .source_reference(BRANCH)
        .destination_reference("main")
        .build()
        .map_err(|e| e.to_string())?;
    let pr = dev
        .create_pull_request()
        .title("Add the login form")
        .targets(target)
        .send()
        .await
        .map_err(|e| format!("CreatePullRequest: {e}"))?
        .pull_request
        .ok_or("no pull request")?;
    let f = local.function(
        "pr-comments",
        REGION,
        &[
            ("CODEHOOKS_PR_REPOSITORIES", REPO),
            ("CODEHOOKS_PR_BUILD_PROJECT", PROJECT),
            ("CODEHOOKS_PR_APPROVAL", "on"),
            (
                "CODEHOOKS_PR_AUTHOR_ARN",
                "arn:aws:iam::123456789012:role/AKIDCODEHOOKSTEST",
            ),
        ],
    );
    let d = Demo {
        emu: emu.clone(),
        f,
        pr_id: pr.pull_request_id.unwrap_or_default(),
    };
    println!(
        "  A developer opens pull request {} ({BRANCH} → main) in {REPO}; validation project {PROJECT}, approval on.",
        d.pr_id
    );

    d.play(
        "pullRequestCreated",
        &d.pr_event("pr-comments-pull-request-created.json"),
    )?;
    d.show_comment("the pull request now shows", PUSHES[0]);

    println!("  The developer pushes a second commit while the first build still runs.");
    emu.move_branch(REGION, REPO, BRANCH, PUSHES[1]);
    d.play(
        "pullRequestSourceBranchUpdated",
        &d.pr_event("pr-comments-pull-request-source-branch-updated.json"),
    )?;
    let first = d.builds().first().cloned().ok_or("no first build")?;
    d.play(
        "CodeBuild STOPPED (build #1, superseded)",
        &d.build_event("pr-comments-build-failed.json", &first),
    )?;
    d.show_comment("the first comment, edited in place", PUSHES[0]);

    let second = d.end_build(1, "FAILED", failed_phases())?;
    // What the build wrote to CloudWatch Logs; the comment shows its end, cleaned and masked.
    codehooks_tests::logs::write_stream(
        &local_sdk,
        second["logs"]["groupName"].as_str().unwrap_or_default(),
        second["logs"]["streamName"].as_str().unwrap_or_default(),
        &[
            "[Container] Running command npm test",
            "\u{1b}[32m PASS \u{1b}[0m src/cart.test.ts",
            "\u{1b}[31m FAIL \u{1b}[0m src/login.test.ts",
            "  ● login › rejects a wrong password",
            "    Using password=hunter2-from-ci for the fixture user",
            "    expect(received).toBe(expected)",
            "    Expected: 401",
            "    Received: 500",
            "Tests: 1 failed, 14 passed, 15 total",
            "[Container] Command did not exit successfully npm test exit status 1",
            "[Container] Phase complete: BUILD State: FAILED",
        ],
    )
    .await;
    d.play(
        "CodeBuild FAILED (build #2)",
        &d.build_event("pr-comments-build-failed.json", &second),
    )?;
    d.show_comment("the second commit's comment", PUSHES[1]);

    println!("  The developer suspects a flaky test and asks for a re-run in a comment.");
    let on = codehooks_tests::comments::On {
        pull_request_id: &d.pr_id,
        repository: REPO,
        before_commit: MAIN,
        after_commit: PUSHES[1],
    };
    let asked = codehooks_tests::comments::say(&dev, &on, "/codehooks retry").await;
    d.play("commentOnPullRequestCreated: /codehooks retry", &asked)?;
    d.play("the same comment event delivered again", &asked)?;
    let retried = d.end_build(2, "FAILED", failed_phases())?;
    d.play(
        "CodeBuild FAILED again (the re-run)",
        &d.build_event("pr-comments-build-failed.json", &retried),
    )?;

    println!("  The developer pushes a fix.");
    emu.move_branch(REGION, REPO, BRANCH, PUSHES[2]);
    d.play(
        "pullRequestSourceBranchUpdated",
        &d.pr_event("pr-comments-pull-request-source-branch-updated.json"),
    )?;
    let third = d.end_build(3, "SUCCEEDED", json!(null))?;
    let done = d.build_event("pr-comments-build-succeeded.json", &third);
    d.play("CodeBuild SUCCEEDED (build #4)", &done)?;
    d.play("the same event delivered again", &done)?;
    d.show_comment("the fix's comment", PUSHES[2]);

    let pr = d.pr();
    let rev = pr["revisionId"].as_str().unwrap_or("");
    let approvals = &d.state()["pullRequests"][&d.pr_id]["approvals"][rev];
    println!("  Approval state of the current revision: {approvals}");
    println!(
        "  The pull request has {} comments from pr-comments for {} builds: one living comment per revision, edited in place (the re-run included).",
        d.comments().len(),
        d.builds().len()
    );
    if d.comments().len() != 3 || d.builds().len() != 4 {
        return Err("expected three comments and four builds".into());
    }
    Ok(())
}

/// The phases of a build that failed its tests.
fn failed_phases() -> Value {
    json!([
        {"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED", "durationInSeconds": 0},
        {"phaseType": "BUILD", "phaseStatus": "FAILED", "durationInSeconds": 52},
        {"phaseType": "COMPLETED"}
    ])
}
