//! Unit tests of `rows.rs`: the living comment and its footer record.

use super::*;
use crate::build::Ended;

const ARN: &str =
    "arn:aws:codebuild:us-east-1:123456789012:build/unit:0b1c2d3e-0000-4000-8000-000000000001";
const C: &str = "4c3a9e0f1b2d5c6e7f8091a2b3c4d5e6f7a8b9c0";

fn board() -> Board {
    Board {
        commit: C.into(),
        revision: "rev-1".into(),
        rows: vec![
            Row {
                check: "unit".into(),
                required: true,
                build_arn: ARN.into(),
                number: Some(4),
                state: RowState::Finished(Ended::Failed),
                duration_seconds: Some(61),
            },
            Row {
                check: "it_e2e".into(),
                required: false,
                build_arn: ARN.replace("unit", "it_e2e"),
                number: None,
                state: RowState::Retry,
                duration_seconds: None,
            },
        ],
        retries: vec!["c-1".into()],
    }
}

#[test]
fn the_footer_records_the_whole_board() {
    let b = board();
    let text = render(&b, &View::default());
    assert_eq!(board_of(&text), Some(b));
    assert!(
        text.contains("| `unit` | ❌ failed | 1 min 01 s | [build #4](https://"),
        "{text}"
    );
    assert!(
        text.contains("| `it_e2e` (optional) | 🔁 started (retry) |  | [build]("),
        "{text}"
    );
    assert!(text.starts_with("❌ **Validation failed**"), "{text}");
}

#[test]
fn foreign_or_broken_footers_are_not_boards() {
    let text = render(&board(), &View::default());
    assert_eq!(board_of(&text.replace("|1|", "|x|")), None);
    assert_eq!(board_of(&text.replace("` · retries `", "` · nope `")), None);
    assert_eq!(
        board_of("_codehooks pr-comments · build `a:b` · commit `c` · state `STARTED`_"),
        None
    );
}

#[test]
fn the_verdict_waits_for_required_checks_only() {
    let mut b = board();
    assert_eq!(b.verdict(), Verdict::Failed);
    b.rows[0].state = RowState::Finished(Ended::Succeeded);
    assert_eq!(
        b.verdict(),
        Verdict::Passed,
        "the optional row does not count"
    );
    b.rows[0].state = RowState::Retry;
    assert_eq!(b.verdict(), Verdict::Running);
}

#[test]
fn retries_are_remembered_once_and_bounded() {
    let mut b = board();
    b.remember_retry("c-1");
    assert_eq!(b.retries, ["c-1"]);
    for i in 0..40 {
        b.remember_retry(&format!("c-{}", i + 2));
    }
    assert_eq!(b.retries.len(), MAX_RETRIES_KEPT);
    assert_eq!(b.retries.last().unwrap(), "c-41");
}

#[test]
fn blocks_are_cut_oldest_lines_first_to_fit() {
    let lines: Vec<String> = (0..300)
        .map(|i| format!("{i:04} {}", "y".repeat(95)))
        .collect();
    let block = Block {
        check: "unit".into(),
        head: format!("<details><summary>Last {LINES} log lines</summary>\n\n```text\n"),
        lines,
        foot: "```\n</details>".into(),
    };
    let v = View {
        moved_on_to: Some("9d8c7b6a5f4e3d2c1b0a99887766554433221100"),
        blocks: vec![block],
        ..View::default()
    };
    let text = render(&board(), &v);
    assert!(text.chars().count() <= MAX_COMMENT_CHARS);
    assert!(text.contains("0299 "), "newest kept");
    assert!(!text.contains("0000 "), "oldest cut");
    let shown = text.matches("yyyy\n").count();
    assert!(text.contains(&format!("Last {shown} log lines")), "{shown}");
    assert!(text.contains("replaced by commit `9d8c7b6`"));
    assert!(board_of(&text).is_some());
}
