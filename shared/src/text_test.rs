//! Unit tests of `text.rs`.

use super::*;

#[test]
fn one_line_collapses_breaks_and_controls() {
    assert_eq!(one_line("  a\r\nb\t\u{7}c  "), "a b c");
    assert_eq!(one_line(""), "");
}

#[test]
fn cut_marks_and_respects_the_limit() {
    assert_eq!(cut("short", 10), "short");
    let long = "x".repeat(10_000);
    let c = cut(&long, 500);
    assert!(
        (490..=500).contains(&c.chars().count()),
        "{}",
        c.chars().count()
    );
    assert!(c.ends_with("more characters cut]"), "{c}");
    // Multi-byte characters are never split.
    let emoji = "🚀".repeat(1000);
    let c = cut(&emoji, 100);
    assert!(c.chars().count() <= 100 && c.starts_with('🚀'));
}

#[test]
fn subject_is_ascii_one_line_and_short() {
    let s = ascii_subject("FAILED build é\n\u{0}x y");
    assert_eq!(s, "FAILED build ? x y");
    let long = ascii_subject(&"a".repeat(500));
    assert_eq!(long.len(), SUBJECT_MAX);
    assert_eq!(ascii_subject("\n\n"), "codehooks alert");
}

#[test]
fn middle_cut_keeps_both_ends() {
    assert_eq!(middle_cut("abcdefghij", 7), "ab...ij");
    assert_eq!(middle_cut("abc", 7), "abc");
}

#[test]
fn urls() {
    assert_eq!(pct("a b/c:d"), "a%20b%2Fc%3Ad");
    assert_eq!(pct("AZaz09-_.~"), "AZaz09-_.~");
    assert_eq!(pct("é"), "%C3%A9");
}

#[test]
fn durations_and_commits() {
    assert_eq!(duration(45), "45 s");
    assert_eq!(duration(192), "3 min 12 s");
    assert_eq!(duration(3720), "1 h 02 min");
    assert_eq!(
        short_commit("abc1234def5678abc1234def5678abc1234def56"),
        "abc1234"
    );
    assert_eq!(short_commit("main"), "main");
}
