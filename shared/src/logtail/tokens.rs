//! The token-shaped secrets [`super::mask`] looks for, and the byte helpers it shares: AWS
//! access key ids, tokens with a known prefix, bearer tokens, credentials in URLs, key
//! material alone on a line, and random-looking tokens after a word that names a secret.
//! Each rule adds the byte ranges to mask to `out`.

use std::ops::Range;

/// Words after which a long random-looking token is taken for a secret (lower case).
pub(super) const ENTROPY_TRIGGERS: &[&str] = &[
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "credential",
    "signature",
    "auth",
];

/// Prefixes of tokens that are secrets by their shape.
pub(super) const TOKEN_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "npm_",
];

/// A random-looking token is at least this long.
pub(super) const ENTROPY_MIN_LEN: usize = 20;

pub(super) fn upper_alnum(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit()
}

/// Characters of names (`DB_PASSWORD`, `x-api-key`, `config.secret`).
pub(super) fn name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

/// Characters of tokens (base64, base64url, JWT); `=` only as padding at the end.
pub(super) fn token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'_' | b'-' | b'.')
}

/// Where an unquoted value ends.
pub(super) fn value_end(c: u8) -> bool {
    c.is_ascii_whitespace() || matches!(c, b',' | b';' | b'&' | b')' | b'}' | b']' | b'"' | b'\'')
}

pub(super) fn run(b: &[u8], from: usize, ok: impl Fn(u8) -> bool) -> usize {
    let mut i = from;
    while i < b.len() && ok(b[i]) {
        i += 1;
    }
    i
}

pub(super) fn access_key_ids(b: &[u8], out: &mut Vec<Range<usize>>) {
    let mut i = 0;
    while i + 20 <= b.len() {
        let head = &b[i..i + 4];
        if (head == b"AKIA" || head == b"ASIA") && b[i + 4..i + 20].iter().all(|c| upper_alnum(*c))
        {
            let end = run(b, i + 20, upper_alnum);
            out.push(i..end);
            i = end;
        } else {
            i += 1;
        }
    }
}

pub(super) fn prefixed_tokens(b: &[u8], out: &mut Vec<Range<usize>>) {
    for p in TOKEN_PREFIXES {
        let p = p.as_bytes();
        let mut i = 0;
        while let Some(at) = find(b, p, i) {
            let end = run(b, at + p.len(), |c| c.is_ascii_alphanumeric() || c == b'_');
            if end - (at + p.len()) >= 16 && (at == 0 || !b[at - 1].is_ascii_alphanumeric()) {
                out.push(at..end);
            }
            i = at + 1;
        }
    }
}

pub(super) fn find(b: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

pub(super) fn find_ci(b: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| p + from)
}

pub(super) fn bearer_tokens(b: &[u8], out: &mut Vec<Range<usize>>) {
    let mut i = 0;
    while let Some(at) = find_ci(b, b"bearer", i) {
        i = at + 6;
        if at > 0 && b[at - 1].is_ascii_alphanumeric() {
            continue;
        }
        let from = run(b, i, |c| c == b' ' || c == b'\t' || c == b'=' || c == b':');
        let end = run(b, from, |c| !value_end(c));
        if from > i && end > from {
            out.push(from..end);
        }
    }
}

pub(super) fn url_credentials(b: &[u8], out: &mut Vec<Range<usize>>) {
    let mut i = 0;
    while let Some(at) = find(b, b"://", i) {
        let start = at + 3;
        let end = run(b, start, |c| {
            !c.is_ascii_whitespace() && !matches!(c, b'/' | b'?' | b'#' | b'"' | b'\'')
        });
        i = start;
        let Some(user_end) = b[start..end]
            .iter()
            .rposition(|c| *c == b'@')
            .map(|p| p + start)
        else {
            continue;
        };
        match b[start..user_end].iter().position(|c| *c == b':') {
            Some(colon) if start + colon + 1 < user_end => out.push(start + colon + 1..user_end),
            None if user_end - start >= 16 => out.push(start..user_end),
            _ => {}
        }
    }
}

/// A line that is one long base64 run, like the body of a PEM block whose header is out of sight.
pub(super) fn key_material(b: &[u8], out: &mut Vec<Range<usize>>) {
    let start = run(b, 0, |c| c.is_ascii_whitespace());
    let end = run(
        b,
        run(b, start, |c| {
            c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
        }),
        |c| c == b'=',
    );
    let t = &b[start..end];
    // Upper and lower case: a commit id or a digest alone on a line stays readable.
    let cases = t.iter().any(u8::is_ascii_uppercase) && t.iter().any(u8::is_ascii_lowercase);
    if t.len() >= 40
        && cases
        && run(b, end, |c| c.is_ascii_whitespace()) == b.len()
        && looks_random(t)
    {
        out.push(start..end);
    }
}

pub(super) fn random_tokens(b: &[u8], out: &mut Vec<Range<usize>>) {
    let Some(after) = ENTROPY_TRIGGERS
        .iter()
        .filter_map(|w| find_ci(b, w.as_bytes(), 0).map(|p| p + w.len()))
        .min()
    else {
        return;
    };
    // Tokens after the name that holds the word (`AWS_SECRET_KEY=...`: after `_KEY`).
    let mut i = run(b, after, name_char);
    while i < b.len() {
        if !token_char(b[i]) {
            i += 1;
            continue;
        }
        let end = run(b, run(b, i, token_char), |c| c == b'=');
        if looks_random(&b[i..end]) {
            out.push(i..end);
        }
        i = end;
    }
}

/// At least [`ENTROPY_MIN_LEN`] characters, two kinds of letters or digits, and at least
/// three bits of Shannon entropy per character.
pub fn looks_random(t: &[u8]) -> bool {
    if t.len() < ENTROPY_MIN_LEN {
        return false;
    }
    let kinds = [
        t.iter().any(u8::is_ascii_uppercase),
        t.iter().any(u8::is_ascii_lowercase),
        t.iter().any(u8::is_ascii_digit),
    ];
    if kinds.iter().filter(|k| **k).count() < 2 {
        return false;
    }
    let mut counts = [0usize; 256];
    for c in t {
        counts[usize::from(*c)] += 1;
    }
    let n = t.len() as f64;
    let bits: f64 = counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = *c as f64 / n;
            -p * p.log2()
        })
        .sum();
    bits >= 3.0
}
