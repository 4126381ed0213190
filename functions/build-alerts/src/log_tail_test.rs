//! Unit tests of `log_tail.rs`, against the in-memory log reader.

use codehooks::alert::Alert;
use codehooks::logtail::{MASK, MemoryLogs};

use super::*;

const GROUP: &str = "/aws/codebuild/shop-api";
const STREAM: &str = "6a1f0e2d-9c3b-4d7e-8f51-2b4c6d8e0a13";

fn block(group: Option<&str>, stream: Option<&str>) -> BuildLogs {
    BuildLogs {
        deep_link: None,
        group_name: group.map(str::to_owned),
        stream_name: stream.map(str::to_owned),
    }
}

fn alert() -> Alert {
    Alert {
        headline: "Build shop-api #142 failed.".into(),
        sections: vec![("Phases".into(), "BUILD FAILED".into())],
        links: vec![("Build".into(), "https://console.example/build".into())],
        ..Alert::default()
    }
}

#[tokio::test]
async fn the_tail_is_a_section_and_data() {
    let logs = MemoryLogs::new();
    logs.put(
        GROUP,
        STREAM,
        (1..=30).map(|i| format!("\u{1b}[1;31mstep {i}\u{1b}[0m")),
    );
    logs.put(GROUP, STREAM, ["DB_PASSWORD=hunter2 npm test"]);
    let tail = read(&logs, Some(&block(Some(GROUP), Some(STREAM))), 3).await;
    let mut a = alert();
    add(&mut a, tail);
    assert_eq!(a.sections.len(), 2);
    let (title, body) = &a.sections[1];
    assert_eq!(title, "Last 3 log lines");
    assert_eq!(
        body,
        "[... older lines left out]\nstep 29\nstep 30\nDB_PASSWORD=**** npm test"
    );
    assert_eq!(
        a.data["logTail"],
        json!({
            "lines": ["step 29", "step 30", format!("DB_PASSWORD={MASK} npm test")],
            "olderLinesLeftOut": true,
            "group": GROUP,
            "stream": STREAM,
        })
    );
    // In the e-mail text the tail comes after the phases and before the links.
    let text = a.render().text;
    let (phases, tail, links) = (
        text.find("Phases").unwrap(),
        text.find("Last 3 log lines").unwrap(),
        text.find("Links").unwrap(),
    );
    assert!(phases < tail && tail < links, "{text}");
    assert!(text.contains("  step 30\n"), "{text}");
    assert!(!text.contains("hunter2"));
}

#[tokio::test]
async fn no_tail_is_one_fact() {
    let logs = MemoryLogs::new();
    for (b, want) in [
        (
            block(Some(GROUP), Some("gone")),
            "the log could not be read (ResourceNotFoundException)",
        ),
        (
            block(None, None),
            "the build logs to S3 only or has CloudWatch Logs turned off; see the build's page",
        ),
    ] {
        let mut a = alert();
        add(&mut a, read(&logs, Some(&b), 20).await);
        assert_eq!(a.facts, [(FACT.to_owned(), want.to_owned())]);
        assert_eq!(a.sections.len(), 1);
        assert_eq!(a.data["logTail"], json!({ "unavailable": want }));
    }
    // Off: nothing is read and nothing is said but the data.
    let mut a = alert();
    add(
        &mut a,
        read(&logs, Some(&block(Some(GROUP), Some(STREAM))), 0).await,
    );
    assert!(a.facts.is_empty() && a.sections.len() == 1);
    assert_eq!(
        a.data["logTail"],
        json!({ "unavailable": "log tails are off" })
    );
    assert_eq!(logs.reads(), 1);
}

#[tokio::test]
async fn an_empty_stream_says_so() {
    let logs = MemoryLogs::new();
    logs.put(GROUP, STREAM, Vec::<String>::new());
    let mut a = alert();
    add(
        &mut a,
        read(&logs, Some(&block(Some(GROUP), Some(STREAM))), 20).await,
    );
    assert_eq!(
        a.facts,
        [(FACT.to_owned(), "the log stream has no events".to_owned())]
    );
}

/// A reader that never answers.
struct Silent;

impl LogReader for Silent {
    async fn last_events(&self, _: &str, _: &str, _: usize) -> codehooks::Result<Vec<String>> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_slow_read_gives_up() {
    let t = read_within(
        &Silent,
        Some(&block(Some(GROUP), Some(STREAM))),
        20,
        Duration::from_millis(50),
    )
    .await;
    assert_eq!(
        t,
        Tail::Unavailable("the log could not be read (no answer within 50 ms)".into())
    );
}

#[test]
fn the_newest_lines_within_the_budget() {
    let lines: Vec<String> = (0..200)
        .map(|i| format!("{i:03} {}", "x".repeat(496)))
        .collect();
    let (kept, cut) = newest_within(lines, MAX_CHARS);
    assert!(cut);
    assert_eq!(kept.len(), MAX_CHARS / 501);
    assert!(kept.last().unwrap().starts_with("199 "));
    assert!(kept.iter().map(|l| l.chars().count() + 1).sum::<usize>() <= MAX_CHARS);

    let (kept, cut) = newest_within(vec!["a".into(), "b".into()], MAX_CHARS);
    assert_eq!((kept, cut), (vec!["a".to_owned(), "b".to_owned()], false));
}

#[tokio::test]
async fn a_long_tail_is_cut_to_the_budget() {
    let logs = MemoryLogs::new();
    logs.put(
        GROUP,
        STREAM,
        (0..300).map(|i| format!("{i:03} {}", "y".repeat(700))),
    );
    let mut a = alert();
    add(
        &mut a,
        read(&logs, Some(&block(Some(GROUP), Some(STREAM))), 200).await,
    );
    let (title, body) = &a.sections[1];
    assert!(body.chars().count() <= MAX_CHARS + 40, "{}", body.len());
    assert!(body.lines().last().unwrap().starts_with("299 "));
    assert_eq!(
        title,
        &format!("Last {} log lines", body.lines().count() - 1)
    );
    assert_eq!(a.data["logTail"]["olderLinesLeftOut"], true);
    // The rendered message keeps every link whole.
    let r = a.render();
    assert!(r.text.contains("Build: https://console.example/build"));
}
