//! Text helpers: one-line fields, cuts with a marker, the SNS subject, identifiers and URLs.

/// SNS subjects must be shorter than 100 characters.
pub const SUBJECT_MAX: usize = 99;

/// `s` on one line: control characters and line breaks become spaces, runs of spaces shrink
/// to one, and the ends are trimmed.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(4096));
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

/// `s` with control characters other than line breaks and tabs removed (for multi-line text).
pub fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

/// `s` cut to at most `max` characters; a cut ends with a marker that says how much was cut.
pub fn cut(s: &str, max: usize) -> String {
    let total = s.chars().count();
    if total <= max {
        return s.to_owned();
    }
    let marker = |n: usize| format!(" [... {n} more characters cut]");
    // The marker's length depends on the number it shows; reserve for the longest.
    let reserve = marker(total).chars().count();
    if max <= reserve {
        return s.chars().take(max).collect();
    }
    let keep = max - reserve;
    let mut out: String = s.chars().take(keep).collect();
    out.push_str(&marker(total - keep));
    out
}

/// `s` as an SNS subject: printable ASCII only (other characters become `?`, line breaks and
/// control characters spaces), starting with a letter, digit or punctuation mark, and at most
/// [`SUBJECT_MAX`] characters.
pub fn ascii_subject(s: &str) -> String {
    let ascii: String = one_line(s)
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    let mut out: String = ascii.trim().chars().take(SUBJECT_MAX).collect();
    if out.is_empty() {
        out.push_str("codehooks alert");
    }
    out
}

/// `s` shortened in the middle to `max` characters (`abc...xyz`), keeping both ends readable.
pub fn middle_cut(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_owned();
    }
    if max <= 3 {
        return s.chars().take(max).collect();
    }
    let keep = max - 3;
    let head = keep.div_ceil(2);
    let tail = keep - head;
    let mut out: String = s.chars().take(head).collect();
    out.push_str("...");
    out.extend(s.chars().skip(n - tail));
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether `s` has `min..=max` characters, all ASCII letters, digits or one of `extra`.
pub fn is_name(s: &str, min: usize, max: usize, extra: &str) -> bool {
    (min..=max).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

/// A region name such as `eu-west-1` or `us-gov-west-1`.
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && s.len() <= 25
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
}

/// A 12-digit account id.
pub fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The console host of `region`'s partition.
pub fn console_host(region: &str) -> String {
    if region.starts_with("cn-") {
        "console.amazonaws.cn".to_owned()
    } else if region.starts_with("us-gov-") {
        "console.amazonaws-us-gov.com".to_owned()
    } else {
        format!("{region}.console.aws.amazon.com")
    }
}

/// A human duration: `45 s`, `3 min 12 s`, `1 h 02 min`.
pub fn duration(secs: u64) -> String {
    if secs < 60 {
        format!("{secs} s")
    } else if secs < 3600 {
        format!("{} min {:02} s", secs / 60, secs % 60)
    } else {
        format!("{} h {:02} min", secs / 3600, (secs % 3600) / 60)
    }
}

/// A 40-hex commit shortened to 7 characters; anything else unchanged.
pub fn short_commit(s: &str) -> &str {
    if s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        &s[..7]
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
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
    fn identifiers() {
        assert!(is_region("eu-west-1"));
        assert!(is_region("us-gov-west-1"));
        assert!(is_region("ap-southeast-12"));
        assert!(!is_region("eu-west"));
        assert!(!is_region("EU-west-1"));
        assert!(!is_region("eu-west-1/../x"));
        assert!(is_account("123456789012"));
        assert!(!is_account("12345678901x"));
        assert!(is_name("my-app_1", 1, 255, "-_"));
        assert!(!is_name("my app", 1, 255, "-_"));
    }

    #[test]
    fn urls_and_hosts() {
        assert_eq!(pct("a b/c:d"), "a%20b%2Fc%3Ad");
        assert_eq!(
            console_host("eu-west-1"),
            "eu-west-1.console.aws.amazon.com"
        );
        assert_eq!(console_host("cn-north-1"), "console.amazonaws.cn");
        assert_eq!(
            console_host("us-gov-west-1"),
            "console.amazonaws-us-gov.com"
        );
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
}
