//! Text helpers every function uses when it writes for people or for AWS limits: one-line
//! fields, cuts with a marker that says how much was cut, middle cuts, the SNS subject
//! (printable ASCII, fewer than 100 characters), URL percent-encoding, durations and short commits.

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
#[path = "text_test.rs"]
mod tests;
