//! The repo-replicator part of the demo: a developer pushes to `payments-api` in us-east-1,
//! the real binary receives the CodeCommit events from `events/` and the replicas in
//! eu-west-2 and ap-southeast-2 catch up over a local git endpoint that checks SigV4 git
//! passwords like CodeCommit.

#[path = "../tests/repo_replicator_support/mod.rs"]
mod support;

use serde_json::{Value, json};
use support::*;

const REPO: &str = "payments-api";

/// The branches and tags a replica must share with the source.
const BRANCHES_AND_TAGS: &[&str] = &["refs/heads", "refs/tags"];
/// Where the function keeps old values before a forced update or delete (replicas only).
const BACKUPS: &str = "refs/codehooks/backup";

/// A repository's refs under `prefixes` (`git for-each-ref`), as `<short id> <ref>` lines.
fn refs_text(server: &GitServer, region: &str, prefixes: &[&str]) -> String {
    let dir = server.repo(region, REPO);
    if !dir.exists() {
        return "(no repository)".into();
    }
    let mut args = vec!["for-each-ref", "--format=%(objectname) %(refname)"];
    args.extend_from_slice(prefixes);
    let lines: Vec<String> = git(&dir, &args)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(o, n)| format!("{} {n}", &o[..o.len().min(12)]))
        .collect();
    if lines.is_empty() {
        return "(empty)".into();
    }
    lines.join("\n")
}

/// The backup refs the report says `region` got.
fn backups_made(response: &Value, region: &str) -> Vec<String> {
    response["repositories"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|repo| repo["replicas"].as_array().into_iter().flatten())
        .filter(|r| r["region"] == region)
        .flat_map(|r| r["backups"].as_array().into_iter().flatten())
        .filter_map(|b| b.as_str().map(str::to_owned))
        .collect()
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
            for backup in r["backups"].as_array().into_iter().flatten() {
                lines.push(format!(
                    "    kept a backup: {}",
                    backup.as_str().unwrap_or("?")
                ));
            }
            if let Some(branch) = r["defaultBranch"].as_str() {
                lines.push(format!("    default branch set to {branch}"));
            }
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
        &refs_text(&server, "ap-southeast-2", BRANCHES_AND_TAGS),
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

    // A bad force push at the source: the replicas follow it, but keep the old main first.
    let good = work.head();
    work.git(&["reset", "--quiet", "--hard", "HEAD~1"]);
    work.push("main:main");
    let r = play("repo-replicator-reference-updated.json", "demo-4")?;
    crate::show(
        "a bad force push moves main back one commit, referenceUpdated → a backup first",
        &summary(&r),
    );
    let region = "eu-west-2";
    crate::show(
        &format!("{region} replica now, with its backup refs"),
        &refs_text(&server, region, &["refs/heads", "refs/tags", BACKUPS]),
    );
    let backup = backups_made(&r, region)
        .into_iter()
        .find(|b| b.ends_with("/refs/heads/main"))
        .ok_or_else(|| format!("{region}: no backup of main in the report: {r}"))?;
    let replica = server.repo(region, REPO);
    let kept = git(&replica, &["rev-parse", &backup]);
    if kept.trim() != good {
        return Err(format!("{backup} holds {kept}, not the old main {good}"));
    }
    println!(
        "  To restore it: git fetch <{region} replica> {backup}, then git push --force <source> FETCH_HEAD:refs/heads/main."
    );

    // The developer does just that; the replicas follow the restored main.
    work.git(&["fetch", "--quiet", &replica.to_string_lossy(), &backup]);
    work.push("FETCH_HEAD:refs/heads/main");
    work.git(&["reset", "--quiet", "--hard", "FETCH_HEAD"]);
    if refs(&source).get("refs/heads/main") != Some(&good) {
        return Err("the source's main was not restored".into());
    }
    let r = play("repo-replicator-reference-updated.json", "demo-5")?;
    crate::show(
        "main restored at the source from that backup, referenceUpdated → the replicas follow",
        &summary(&r),
    );

    // Branches and tags only (`refs`): the backup refs live on the replicas, not the source.
    for region in REPLICAS {
        let same = refs(&server.repo(region, REPO)) == refs(&source);
        if !same {
            return Err(format!("{region} differs from the source"));
        }
        fsck(&server.repo(region, REPO));
    }
    crate::show(
        "us-east-1 (source)",
        &refs_text(&server, SOURCE, BRANCHES_AND_TAGS),
    );
    println!(
        "  ✓ both replicas equal the source, branch for branch and tag for tag (the backups stay on the replicas), and pass git fsck."
    );
    let created = local.emulator().requests(Some("CreateRepository")).len();
    println!(
        "  ✓ CreateRepository calls: {created} (ap-southeast-2, with the source's description)."
    );
    Ok(())
}
