//! The codehooks demo: local AWS, the real function binaries, and the sample events in
//! `events/`, printing what each function did. Run it with `scripts/demo`.

mod build_alerts;
mod deploy_hook;
mod deploy_hook_pipeline;
mod pr_comments;
mod repo_replicator;

use std::future::Future;
use std::pin::Pin;

type Section = fn() -> Pin<Box<dyn Future<Output = Result<(), String>>>>;

fn heading(title: &str) {
    println!();
    println!(
        "━━ {title} {}",
        "━".repeat(70usize.saturating_sub(title.chars().count()))
    );
}

/// Prints an indented block of text.
pub fn show(label: &str, text: &str) {
    println!("  {label}:");
    for line in text.lines() {
        println!("  │ {line}");
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sections: [(&str, Section); 5] = [
        ("pr-comments", || Box::pin(pr_comments::run())),
        ("build-alerts", || Box::pin(build_alerts::run())),
        ("repo-replicator", || Box::pin(repo_replicator::run())),
        ("deploy-hook", || Box::pin(deploy_hook::run())),
        ("pipeline-verify", || Box::pin(deploy_hook_pipeline::run())),
    ];
    let only: Vec<String> = std::env::args().skip(1).collect();
    let mut failed = Vec::new();
    for (name, run) in sections {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        heading(name);
        if let Err(e) = run().await {
            println!("  ✗ {name}: {e}");
            failed.push(name);
        }
    }
    println!();
    if failed.is_empty() {
        println!("demo finished: every function did what it should.");
    } else {
        println!("demo finished with failures: {}", failed.join(", "));
        std::process::exit(1);
    }
}

/// Starts `name`'s binary under a local Runtime API and shows that it answers (for functions
/// whose own demo is not written yet).
pub async fn scaffold(name: &str) -> Result<(), String> {
    let local = codehooks_tests::LocalAws::builder()
        .runtime_api(name)
        .start();
    let f = local.function(name, "us-east-1", &[]);
    let answer = f.invoke(&serde_json::json!({"demo": true}), 3000);
    println!(
        "  {name} is built and runs under the Lambda Runtime API; it answered: {} {}",
        answer.status,
        answer.error_message.unwrap_or_default()
    );
    Ok(())
}
