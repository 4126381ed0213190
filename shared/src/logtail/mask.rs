//! Lines that look like secrets, masked with [`MASK`] before anyone sees them.
//!
//! A build log is not a place for secrets, but build tools print them: an `env` dump, a
//! verbose HTTP client, a failing `curl`. What is masked:
//!
//! - AWS access key ids: `AKIA` or `ASIA` and 16 upper-case letters or digits, wherever they are;
//! - assignments to a name that says secret (`password=`, `passwd:`, `token=`, `secret=`,
//!   `AWS_SECRET_ACCESS_KEY=`, `"api_key": "..."`, `--password x`...): the value;
//! - `Authorization: <scheme> <credentials>` and `bearer <token>`: the credentials;
//! - the password (or a long user name that is a token) in a URL (`https://user:pw@host`);
//! - well-known token prefixes (`ghp_`, `github_pat_`, `glpat-`, `xoxb-`...);
//! - on a line that names a key, token, secret, password or signature, every long,
//!   random-looking token after that word (this catches an AWS secret access key next to its name);
//! - a line that is nothing but a long random-looking base64 run (key material);
//! - private key blocks (`-----BEGIN ... PRIVATE KEY-----` through `-----END ...`): every line,
//!   including a block that began before the first line read or never ends.
//!
//! Masking errs on the side of hiding: a harmless value that looks like a secret is masked too.

use std::ops::Range;

use super::tokens::*;

/// What a masked secret is replaced with.
pub const MASK: &str = "****";

/// Names whose value is a secret (lower case; a name containing one counts).
const SECRET_NAMES: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "access_key",
    "accesskey",
    "private_key",
    "privatekey",
    "credential",
    "authorization",
    "signature",
];

/// Authorization schemes: the credentials follow them.
const SCHEMES: &[&str] = &[
    "bearer",
    "basic",
    "token",
    "digest",
    "negotiate",
    "aws4-hmac-sha256",
];

/// Masks `lines` in place (in order: a private key spans several lines).
pub fn mask_lines(lines: &mut [String]) {
    let flags: Vec<(bool, bool)> = lines.iter().map(|l| (is_begin(l), is_end(l))).collect();
    // An END before any BEGIN: the block began before the first line we have.
    let mut inside = match flags.iter().position(|f| f.1) {
        Some(end) => !flags[..=end].iter().any(|f| f.0),
        None => false,
    };
    for (line, (begin, end)) in lines.iter_mut().zip(flags) {
        inside |= begin;
        if inside {
            *line = MASK.to_owned();
        } else {
            *line = mask_line(line);
        }
        if end {
            inside = false;
        }
    }
}

fn is_begin(line: &str) -> bool {
    line.contains("-----BEGIN ") && line.contains("PRIVATE KEY")
}

fn is_end(line: &str) -> bool {
    line.contains("-----END ") && line.contains("PRIVATE KEY")
}

/// One line with its secrets masked (private key blocks are [`mask_lines`]' job).
pub fn mask_line(line: &str) -> String {
    let b = line.as_bytes();
    let mut ranges = Vec::new();
    access_key_ids(b, &mut ranges);
    prefixed_tokens(b, &mut ranges);
    assignments(b, &mut ranges);
    bearer_tokens(b, &mut ranges);
    url_credentials(b, &mut ranges);
    random_tokens(b, &mut ranges);
    key_material(b, &mut ranges);
    if ranges.is_empty() {
        return line.to_owned();
    }
    ranges.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(line.len());
    let mut at = 0;
    for r in ranges {
        let (start, end) = (floor(line, r.start.max(at)), ceil(line, r.end));
        if end <= at {
            continue;
        }
        if start > at {
            out.push_str(&line[at..start]);
        }
        if !out.ends_with(MASK) || start > at {
            out.push_str(MASK);
        }
        at = end;
    }
    out.push_str(&line[at..]);
    out
}

fn floor(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn assignments(b: &[u8], out: &mut Vec<Range<usize>>) {
    let mut i = 0;
    while i < b.len() {
        if !name_char(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        i = run(b, i, name_char);
        let name = b[start..i].to_ascii_lowercase();
        if !SECRET_NAMES
            .iter()
            .any(|w| find(&name, w.as_bytes(), 0).is_some())
        {
            continue;
        }
        let flag = b[start..].starts_with(b"--");
        let mut p = i;
        if p < b.len() && matches!(b[p], b'"' | b'\'') {
            p += 1;
        }
        let spaces = run(b, p, |c| c == b' ' || c == b'\t');
        let had_space = spaces > p;
        p = spaces;
        if p < b.len() && matches!(b[p], b'=' | b':') {
            p += 1;
            if p < b.len() && matches!(b[p], b'=' | b'>') {
                p += 1;
            }
        } else if !(flag && had_space) {
            continue;
        }
        p = run(b, p, |c| c == b' ' || c == b'\t');
        if let Some(r) = value(b, p) {
            out.push(r);
        }
    }
}

/// The value at `p` (quoted or not); after an authorization scheme, the credentials.
fn value(b: &[u8], p: usize) -> Option<Range<usize>> {
    let quote = b.get(p).copied().filter(|c| matches!(c, b'"' | b'\''));
    let v = p + usize::from(quote.is_some());
    let end = match quote {
        Some(q) => run(b, v, |c| c != q),
        None => run(b, v, |c| !value_end(c)),
    };
    if end == v {
        return None;
    }
    let word = b[v..end].to_ascii_lowercase();
    if SCHEMES.iter().any(|s| s.as_bytes() == word.as_slice()) {
        let from = run(b, end, |c| c == b' ');
        let cred_end = run(b, from, |c| {
            !c.is_ascii_whitespace() && !matches!(c, b'"' | b'\'')
        });
        return (cred_end > from && from > end).then_some(from..cred_end);
    }
    Some(v..end)
}

#[cfg(test)]
#[path = "mask_test.rs"]
mod tests;
