//! Unit tests of `log_tail.rs`: the collapsed block and reading it back.

use super::*;

fn lines(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_fence_is_longer_than_any_backtick_run() {
    let b = block("unit", &lines(&["a ````` b", "`"]));
    assert!(b.head.ends_with("``````text\n"), "{}", b.head);
    assert!(b.foot.starts_with("``````\n"), "{}", b.foot);
    let b = block("unit", &lines(&["plain"]));
    assert!(b.head.ends_with("\n```text\n"), "{}", b.head);
}

#[test]
fn lines_cannot_close_the_block() {
    let b = block("unit", &lines(&["</details><img src=x>", "tab\there\u{7}"]));
    assert_eq!(b.lines, ["‹/details>‹img src=x>", "tab here "]);
}

#[test]
fn blocks_are_read_back_from_a_comment() {
    let one = block("unit", &lines(&["x ``` y", "second"]));
    let two = block("lint", &lines(&["only"]));
    let render = |b: &Block| {
        let mut s = b.head.replace(LINES, &b.lines.len().to_string());
        for l in &b.lines {
            s.push_str(l);
            s.push('\n');
        }
        s.push_str(&b.foot);
        s
    };
    let text = format!("table\n\n{}\n\n{}\n---\nfooter", render(&one), render(&two));
    let back = blocks_of(&text);
    assert_eq!(back, vec![one, two]);
    assert!(blocks_of("<details><summary>Last 3 broken").is_empty());
}
