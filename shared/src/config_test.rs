//! Unit tests of `config.rs`.

use super::*;

#[test]
fn reads_valid_values() {
    let mut env = Env::from_pairs([
        ("N", " 42 "),
        ("B", "Yes"),
        ("L", "a, b,,c "),
        ("ARN", "arn:aws:sns:eu-west-1:123456789012:t"),
        ("W", "json"),
    ]);
    assert_eq!(env.u64_in("N", 1, 1..=100), 42);
    assert!(env.bool_or("B", false));
    assert_eq!(env.list("L"), ["a", "b", "c"]);
    assert_eq!(
        env.arn("ARN", "sns"),
        "arn:aws:sns:eu-west-1:123456789012:t"
    );
    assert_eq!(env.one_of("W", "Text", &["Text", "JSON"]), "JSON");
    assert_eq!(env.string_or("MISSING", "dflt"), "dflt");
    assert!(env.finish().is_ok());
}

#[test]
fn names_every_wrong_variable_and_why() {
    let mut env = Env::from_pairs([
        ("N", "twelve"),
        ("R", "500"),
        ("B", "maybe"),
        ("ARN", "arn:aws:sqs:eu-west-1:123456789012:q"),
    ]);
    env.u64_in("N", 1, 1..=100);
    env.u64_in("R", 1, 1..=100);
    env.bool_or("B", false);
    env.arn("ARN", "sns");
    env.required("MUST");
    let err = env.finish().unwrap_err();
    let names: Vec<_> = err.problems.iter().map(|p| p.variable.as_str()).collect();
    assert_eq!(names, ["N", "R", "B", "ARN", "MUST"]);
    let text = err.to_string();
    assert!(
        text.contains("N must be a whole number from 1 to 100, got \"twelve\""),
        "{text}"
    );
    assert!(
        text.contains("R must be a whole number from 1 to 100, got 500"),
        "{text}"
    );
    assert!(text.contains("B must be true or false"), "{text}");
    assert!(text.contains("ARN must be an ARN of sns"), "{text}");
    assert!(text.contains("MUST is required but is not set"), "{text}");
}

#[test]
fn blank_counts_as_unset() {
    let mut env = Env::from_pairs([("X", "   ")]);
    assert_eq!(env.optional("X"), None);
    env.required("X");
    assert!(env.finish().is_err());
}

#[test]
fn long_values_are_cut_in_messages() {
    let long = "x".repeat(500);
    let mut env = Env::from_pairs([("N", long.as_str())]);
    env.u64_in("N", 1, 1..=2);
    let text = env.finish().unwrap_err().to_string();
    assert!(text.len() < 200, "{text}");
}

#[test]
fn json_documents_are_checked() {
    #[derive(serde::Deserialize, Default, Debug, PartialEq)]
    struct Doc {
        path: String,
    }
    let mut env = Env::from_pairs([("GOOD", r#"{"path":"/health"}"#), ("BAD", "{path:")]);
    let good: Doc = env.json_or_default("GOOD");
    assert_eq!(good.path, "/health");
    let _bad: Doc = env.json_or_default("BAD");
    let err = env.finish().unwrap_err();
    assert_eq!(err.problems[0].variable, "BAD");
}

#[test]
fn secrets_print_as_redacted() {
    let mut env = Env::from_pairs([("TOKEN", "hunter2-very-secret")]);
    let s = env.secret("TOKEN").unwrap();
    assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
    assert_eq!(s.expose(), "hunter2-very-secret");
}
