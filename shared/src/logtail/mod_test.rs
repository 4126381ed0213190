//! Unit tests of `logtail/mod.rs`, against the in-memory reader.

use super::*;

fn logs(group: Option<&str>, stream: Option<&str>) -> BuildLogs {
    BuildLogs {
        deep_link: None,
        group_name: group.map(str::to_owned),
        stream_name: stream.map(str::to_owned),
    }
}

const GROUP: &str = "/aws/codebuild/app";
const STREAM: &str = "1b2c3d4e-0000-1111-2222-333344445555";

fn run<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn reads_cleans_and_masks_the_last_lines() {
    let reader = MemoryLogs::new();
    reader.put(
        GROUP,
        STREAM,
        (1..=50).map(|i| format!("\u{1b}[32mline {i}\u{1b}[0m\n")),
    );
    reader.put(
        GROUP,
        STREAM,
        [
            "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n",
            "password=hunter2",
        ],
    );
    let t = run(tail(&reader, Some(&logs(Some(GROUP), Some(STREAM))), 5));
    let Tail::Lines {
        lines,
        group,
        stream,
        older_left_out,
    } = t
    else {
        panic!("no lines: {t:?}");
    };
    assert_eq!(
        lines,
        [
            "line 48",
            "line 49",
            "line 50",
            "export AWS_ACCESS_KEY_ID=****",
            "password=****"
        ]
    );
    assert_eq!((group.as_str(), stream.as_str()), (GROUP, STREAM));
    assert!(older_left_out);
    assert_eq!(reader.reads(), 1);
}

#[test]
fn a_short_stream_is_whole() {
    let reader = MemoryLogs::new();
    reader.put(GROUP, STREAM, ["a", "b\nc\n"]);
    let t = run(tail(&reader, Some(&logs(Some(GROUP), Some(STREAM))), 20));
    assert_eq!(
        t,
        Tail::Lines {
            lines: vec!["a".into(), "b".into(), "c".into()],
            group: GROUP.into(),
            stream: STREAM.into(),
            older_left_out: false,
        }
    );
    // Multi-line events can make more lines than asked: the newest are kept.
    let t = run(tail(&reader, Some(&logs(Some(GROUP), Some(STREAM))), 2));
    assert!(
        matches!(t, Tail::Lines { ref lines, older_left_out: true, .. } if lines == &["b", "c"]),
        "{t:?}"
    );
}

#[test]
fn says_why_there_is_no_tail() {
    let reader = MemoryLogs::new();
    reader.put(GROUP, STREAM, ["x"]);
    let cases: Vec<(Option<BuildLogs>, usize, &str)> = vec![
        (
            Some(logs(Some(GROUP), Some(STREAM))),
            0,
            "log tails are off",
        ),
        (None, 20, "does not say where its logs are"),
        (
            Some(logs(None, None)),
            20,
            "S3 only or has CloudWatch Logs turned off",
        ),
        (Some(logs(Some(" "), Some(STREAM))), 20, "S3 only"),
        (Some(logs(Some(GROUP), None)), 20, "never started logging"),
        (
            Some(logs(Some("bad group name!"), Some(STREAM))),
            20,
            "cannot exist",
        ),
        (Some(logs(Some(GROUP), Some("a:b"))), 20, "cannot exist"),
        (
            Some(logs(Some(GROUP), Some("other"))),
            20,
            "could not be read (ResourceNotFoundException)",
        ),
    ];
    for (l, n, want) in cases {
        let t = run(tail(&reader, l.as_ref(), n));
        match &t {
            Tail::Unavailable(s) => assert!(s.contains(want), "{s:?} should say {want:?}"),
            other => panic!("{other:?} should say {want:?}"),
        }
    }
    // Only the unknown stream was read.
    assert_eq!(reader.reads(), 1);
}

#[test]
fn a_failed_read_names_the_code_only() {
    let reader = MemoryLogs::new();
    reader.put(GROUP, STREAM, ["x"]);
    reader.fail_with(
        "AccessDeniedException",
        "user AKIAIOSFODNN7EXAMPLE may not read",
    );
    let t = run(tail(&reader, Some(&logs(Some(GROUP), Some(STREAM))), 20));
    assert_eq!(
        t,
        Tail::Unavailable("the log could not be read (AccessDeniedException)".into())
    );
}

#[test]
fn lines_are_bounded() {
    let reader = MemoryLogs::new();
    reader.put(
        GROUP,
        STREAM,
        (0..500).map(|i| format!("{i} {}", "x".repeat(2000))),
    );
    let t = run(tail(
        &reader,
        Some(&logs(Some(GROUP), Some(STREAM))),
        10_000,
    ));
    let Tail::Lines {
        lines,
        older_left_out,
        ..
    } = t
    else {
        panic!("no lines");
    };
    assert_eq!(lines.len(), MAX_LINES);
    assert!(older_left_out);
    assert!(lines[0].starts_with("300 "));
    assert!(
        lines
            .iter()
            .all(|l| l.chars().count() <= LINE_MAX && l.ends_with("characters cut]"))
    );
}

#[test]
fn a_private_key_that_began_before_the_tail_is_masked() {
    let reader = MemoryLogs::new();
    reader.put(GROUP, STREAM, ["-----BEGIN RSA PRIVATE KEY-----"]);
    reader.put(
        GROUP,
        STREAM,
        (0..30).map(|i| format!("MIIEowIBAAKCAQEA{i}")),
    );
    reader.put(GROUP, STREAM, ["-----END RSA PRIVATE KEY-----", "done"]);
    let t = run(tail(&reader, Some(&logs(Some(GROUP), Some(STREAM))), 5));
    let Tail::Lines { lines, .. } = t else {
        panic!("no lines")
    };
    assert_eq!(lines, [MASK, MASK, MASK, MASK, "done"]);
}

#[test]
fn names_are_checked() {
    assert!(is_group_name("/aws/codebuild/my-project_1.x#y"));
    assert!(!is_group_name(""));
    assert!(!is_group_name("a b"));
    assert!(!is_group_name(&"a".repeat(513)));
    assert!(is_stream_name("abc/def-123"));
    assert!(!is_stream_name("a*b"));
    assert!(!is_stream_name("a\nb"));
}

proptest::proptest! {
    #[test]
    fn no_input_panics_and_no_key_survives(
        events in proptest::collection::vec("(\\PC|[\u{0}-\u{1f}]|\u{1b}\\[[0-9;]{0,4}m|AKIA){0,30}", 0..30),
        key in "AKIA[A-Z0-9]{16}",
        at in 0usize..30,
        n in 0usize..40,
    ) {
        let reader = MemoryLogs::new();
        let mut events = events;
        let at = at.min(events.len());
        events.insert(at, format!("x\u{1b}[31m{key}\u{1b}[0m y"));
        reader.put(GROUP, STREAM, events);
        let t = run(tail(&reader, Some(&logs(Some(GROUP), Some(STREAM))), n));
        if let Tail::Lines { lines, .. } = t {
            proptest::prop_assert!(lines.len() <= n);
            for l in &lines {
                proptest::prop_assert!(!l.contains(&key), "{l:?}");
                proptest::prop_assert!(!l.contains('\u{1b}'), "{l:?}");
            }
        }
    }
}
