//! Unit tests of `mask.rs`.

use super::*;

#[test]
fn masks_secrets_in_lines() {
    let cases: &[(&str, &str)] = &[
        // Nothing to hide.
        ("npm ERR! Test failed.", "npm ERR! Test failed."),
        (
            "[Container] 2026/12/01 10:00:00 Running command npm test",
            "[Container] 2026/12/01 10:00:00 Running command npm test",
        ),
        (
            "PWD=/codebuild/output/src123",
            "PWD=/codebuild/output/src123",
        ),
        // AWS access key ids, wherever they are.
        (
            "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
            "AWS_ACCESS_KEY_ID=****",
        ),
        ("using ASIAY34FZKBOKMUTVV7A for now", "using **** for now"),
        ("xAKIAIOSFODNN7EXAMPLEZZ", "x****"),
        ("AKIA-not-a-key", "AKIA-not-a-key"),
        // Assignments.
        ("password=hunter2", "password=****"),
        ("DB_PASSWORD = 'hunter 2' rest", "DB_PASSWORD = '****' rest"),
        ("passwd: s3cr3t", "passwd: ****"),
        ("token=abc123&page=2", "token=****&page=2"),
        (
            "https://x.test/?secret=abc;next",
            "https://x.test/?secret=****;next",
        ),
        (
            r#"{"api_key": "k-123", "user": "me"}"#,
            r#"{"api_key": "****", "user": "me"}"#,
        ),
        ("GITHUB_TOKEN := ghx", "GITHUB_TOKEN := ****"),
        (
            "$ tool --password hunter2 --verbose",
            "$ tool --password **** --verbose",
        ),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key = ****",
        ),
        ("password=", "password="),
        // Authorization and bearer tokens.
        (
            "Authorization: Bearer eyJhbGciOi.x.y",
            "Authorization: Bearer ****",
        ),
        (
            "authorization: Basic dXNlcjpwYXNz",
            "authorization: Basic ****",
        ),
        (
            "curl -H 'Authorization: Bearer abc.def'",
            "curl -H 'Authorization: Bearer ****'",
        ),
        (
            "sending bearer abcdef123 to api",
            "sending bearer **** to api",
        ),
        // URLs with credentials.
        (
            "git clone https://user:p4ss@git.example.com/repo",
            "git clone https://user:****@git.example.com/repo",
        ),
        (
            "https://ghp0123456789abcdefXYZ@github.com/o/r",
            "https://****@github.com/o/r",
        ),
        ("https://me@example.com/x", "https://me@example.com/x"),
        // Token prefixes.
        ("push with ghp_0123456789abcdefABCDEF0123", "push with ****"),
        ("glpat-abcdefghijklmnop1234 used", "**** used"),
        // Random-looking tokens after a key or token word.
        ("the key is 9f8e7D6c5B4a3F2e1D0cA9b8", "the key is ****"),
        (
            "aws secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY here",
            "aws secret **** here",
        ),
        (
            "key: my-project-name-that-is-long",
            "key: my-project-name-that-is-long",
        ),
        (
            "no trigger 9f8e7D6c5B4a3F2e1D0cA9b8",
            "no trigger 9f8e7D6c5B4a3F2e1D0cA9b8",
        ),
        (
            "cache key for /aws/codebuild/project-name-long",
            "cache key for /aws/codebuild/project-name-long",
        ),
        // Unicode around secrets stays whole.
        (
            "mot de passe ✓ password=héhé ✓",
            "mot de passe ✓ password=**** ✓",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(mask_line(input), *want, "input {input:?}");
    }
}

fn lines(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn masks_private_key_blocks() {
    let mut l = lines(&[
        "before",
        "-----BEGIN RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEA1234",
        "abcdEFGH",
        "-----END RSA PRIVATE KEY-----",
        "after",
    ]);
    mask_lines(&mut l);
    assert_eq!(l, lines(&["before", MASK, MASK, MASK, MASK, "after"]));

    // The block began before the first line read.
    let mut l = lines(&["b64line", "more", "-----END OPENSSH PRIVATE KEY-----", "ok"]);
    mask_lines(&mut l);
    assert_eq!(l, lines(&[MASK, MASK, MASK, "ok"]));

    // The block never ends within the lines read.
    let mut l = lines(&["ok", "-----BEGIN PRIVATE KEY-----", "MIIE"]);
    mask_lines(&mut l);
    assert_eq!(l, lines(&["ok", MASK, MASK]));

    // A whole block on one line (escaped newlines).
    let mut l = lines(&[
        r"key: -----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----",
        "fine",
    ]);
    mask_lines(&mut l);
    assert_eq!(l, lines(&[MASK, "fine"]));

    // Public keys and certificates are not secrets.
    let mut l = lines(&[
        "-----BEGIN CERTIFICATE-----",
        "MIIB",
        "-----END CERTIFICATE-----",
    ]);
    let before = l.clone();
    mask_lines(&mut l);
    assert_eq!(l, before);
}

#[test]
fn random_looking() {
    assert!(looks_random(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
    assert!(!looks_random(b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaa1"));
    assert!(!looks_random(b"short1A"));
    assert!(!looks_random(b"all-lower-case-words-here"));
}

proptest::proptest! {
    #[test]
    fn no_access_key_survives(
        before in "\\PC{0,40}",
        key in "(AKIA|ASIA)[A-Z0-9]{16}",
        after in "\\PC{0,40}",
    ) {
        let line = format!("{before}{key}{after}");
        let out = mask_line(&line);
        proptest::prop_assert!(!out.contains(&key), "{out:?}");
        let mut l = vec![line];
        mask_lines(&mut l);
        proptest::prop_assert!(!l[0].contains(&key));
    }

    #[test]
    fn never_panics(s in "(\\PC|[ =:@/'\"-]|password=|bearer |://|AKIA){0,80}") {
        let out = mask_line(&s);
        // Masking never makes a line longer than the line plus one mask per character.
        proptest::prop_assert!(out.len() <= s.len() * (MASK.len() + 1) + MASK.len());
    }
}
