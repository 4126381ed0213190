//! The repo-replicator part of the demo: a developer pushes to `payments-api` in us-east-1,
//! the real binary receives the CodeCommit events from `events/` and the replicas in
//! eu-west-2 and ap-southeast-2 catch up over a local git endpoint that checks SigV4 git
//! passwords like CodeCommit.

#[path = "../tests/repo_replicator_support/mod.rs"]
mod support;

use serde_json::{Value, json};
use support::*;

const REPO: &str = "payments-api";

fn refs_text(server: &GitServer, region: &str) -> String {
    let dir = server.repo(region, REPO);
    if !dir.exists() {
        return "(no repository)".into();
    }
    let r = refs(&dir);
    if r.is_empty() {
        return "(empty)".into();
    }
    r.iter()
        .map(|(n, o)| format!("{} {n}", &o[..12]))
        .collect::<Vec<_>>()
        .join("\n")
}

fn summary(response: &Value) -> String {
    let mut lines = Vec::new();
    for repo in response["repositories"].as_array().into_iter().flatten() {
        lines.push(format!(
            "{}: fetched {} bytes ({} objects) from us-east-1",
            repo["repository"].as_str().unwrap_or("?"),
            repo["fetch"]["bytes"],
            repo["fetch"]["objects"]
        ));
        for r in repo["replicas"].as_array().into_iter().flatten() {
            if let Some(e) = r["error"].as_str() {
                lines.push(format!("  {} ✗ {e}", r["region"].as_str().unwrap_or("?")));
                continue;
            }
            let list = |k: &str| {
                r[k].as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default()
            };
            lines.push(format!(
                "  {}{}: updated [{}] deleted [{}], pushed {} bytes / {} objects in {} ms",
                r["region"].as_str().unwrap_or("?"),
                if r["created"] == true {
                    " (created)"
                } else {
                    ""
                },
                list("updated"),
                list("deleted"),
                r["bytes"],
                r["objects"],
                r["ms"]
            ));
        }
    }
    lines.join("\n")
}

pub async fn run() -> Result<(), String> {
    let scratch = Scratch::new("demo");
    let local = codehooks_tests::LocalAws::builder()
        .emulator()
        .runtime_api("repo-replicator")
        .start();
    let server = GitServer::start(&scratch.path().join("git"), Some(local.emulator_url()));
    local.emulator().seed(&json!({
        "region": SOURCE,
        "codecommit": {"repositories": [{"repositoryName": REPO, "repositoryDescription": "Payments API"}]}
    }));
    let source = server.create(SOURCE, REPO);
    server.create("eu-west-2", REPO);
    let cache = scratch.path().join("cache").to_string_lossy().into_owned();
    let connect = server.connect_url();
    let f = local.function(
        "repo-replicator",
        SOURCE,
        &[
            ("CODEHOOKS_REPLICA_REGIONS", "eu-west-2,ap-southeast-2"),
            ("CODEHOOKS_REPOSITORIES", REPO),
            ("CODEHOOKS_CREATE_MISSING_REPLICAS", "true"),
            ("CODEHOOKS_GIT_CONNECT_URL", &connect),
            // The demo's local git server is plain http://: a test-only setting.
            ("CODEHOOKS_ALLOW_INSECURE_GIT", "true"),
            ("CODEHOOKS_CACHE_DIR", &cache),
        ],
    );
    println!(
        "  Source: {REPO} in us-east-1. Replicas: eu-west-2 (exists, empty), ap-southeast-2 (missing)."
    );

    let work = Work::new(scratch.path(), &source);
    work.commit("README.md", "# payments-api\n");
    work.commit("src.rs", "fn main() {}\n");
    work.git(&["tag", "-a", "v1.0.0", "-m", "first release"]);
    work.git(&["checkout", "--quiet", "-b", "feature/retry-budget"]);
    work.commit("retry.rs", "// retry budget\n");
    work.git(&["checkout", "--quiet", "main"]);
    work.push("refs/heads/*:refs/heads/*");
    work.push("refs/tags/*:refs/tags/*");
    println!("  A developer pushes main, feature/retry-budget and the annotated tag v1.0.0.");

    let play = |file: &str, id: &str| -> Result<Value, String> {
        let event = reference_event(file, REPO, id);
        let r = f.invoke(&event, 60_000);
        if !r.is_ok() {
            return Err(format!(
                "{file}: {:?} {:?}\n{}",
                r.error_type,
                r.error_message,
                f.logs()
            ));
        }
        Ok(r.response)
    };

    let r = play("repo-replicator-reference-created.json", "demo-1")?;
    crate::show("referenceCreated → repo-replicator", &summary(&r));
    crate::show(
        "ap-southeast-2 replica now",
        &refs_text(&server, "ap-southeast-2"),
    );

    work.commit("src.rs", "fn main() { println!(\"v2\"); }\n");
    work.push("main:main");
    let r = play("repo-replicator-reference-updated.json", "demo-2")?;
    crate::show(
        "one more commit on main, referenceUpdated → only that commit travels",
        &summary(&r),
    );

    work.push(":refs/heads/feature/retry-budget");
    let r = play("repo-replicator-reference-deleted.json", "demo-3")?;
    crate::show(
        "feature/retry-budget deleted, referenceDeleted",
        &summary(&r),
    );

    let r = play("repo-replicator-reference-created.json", "demo-1")?;
    crate::show(
        "the first event delivered again, late: nothing moves",
        &summary(&r),
    );

    work.commit("lost.rs", "// this push's event was lost\n");
    work.push("main:main");
    let r = f.invoke(
        &codehooks_tests::event("repo-replicator-scheduled-reconcile.json"),
        60_000,
    );
    if !r.is_ok() {
        return Err(format!("reconciliation failed: {:?}", r.error_message));
    }
    crate::show(
        "a push whose event was lost; the hourly reconciliation repairs it",
        &summary(&r.response),
    );

    for region in REPLICAS {
        let same = refs(&server.repo(region, REPO)) == refs(&source);
        if !same {
            return Err(format!("{region} differs from the source"));
        }
        fsck(&server.repo(region, REPO));
    }
    crate::show("us-east-1 (source)", &refs_text(&server, SOURCE));
    println!("  ✓ both replicas equal the source, ref for ref, and pass git fsck.");
    let created = local.emulator().requests(Some("CreateRepository")).len();
    println!(
        "  ✓ CreateRepository calls: {created} (ap-southeast-2, with the source's description)."
    );
    Ok(())
}
