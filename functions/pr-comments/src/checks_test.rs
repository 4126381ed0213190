//! Unit tests of `checks.rs` (and of how `config.rs` reads them).

use super::*;
use crate::config::Config;

fn read(pairs: &[(&str, &str)]) -> Result<Config, String> {
    let mut env = Env::from_pairs(pairs.iter().map(|(k, v)| (*k, *v)));
    let cfg = Config::read(&mut env);
    env.finish().map_err(|e| e.to_string())?;
    Ok(cfg)
}

fn check(project: &str, required: bool) -> Check {
    Check {
        project: project.into(),
        required,
    }
}

#[test]
fn unset_is_the_single_check_mode() {
    let cfg = read(&[("CODEHOOKS_PR_BUILD_PROJECT", "pr-validate")]).unwrap();
    assert!(cfg.checks.is_empty());
    assert_eq!(cfg.checks.for_repository("app"), None);
    assert!(cfg.is_project("pr-validate"));
}

#[test]
fn a_list_is_every_repository_and_makes_the_single_project_optional() {
    let cfg = read(&[
        (VAR, "lint, unit"),
        (OPTIONAL_VAR, "it"),
        ("CODEHOOKS_PR_REPOSITORIES", "app"),
    ])
    .unwrap();
    assert_eq!(
        cfg.checks.for_repository("app").unwrap(),
        [check("lint", true), check("unit", true), check("it", false)]
    );
    assert!(cfg.is_project("it") && !cfg.is_project("other"));
}

#[test]
fn json_maps_repositories_and_falls_back_to_the_star() {
    let cfg = read(&[(
        VAR,
        r#"{"*": ["lint","unit"], "shop-api": [{"project":"unit"},{"project":"it","required":false}]}"#,
    )])
    .unwrap();
    assert_eq!(
        cfg.checks.for_repository("shop-api").unwrap(),
        [check("unit", true), check("it", false)]
    );
    assert_eq!(
        cfg.checks.for_repository("web").unwrap(),
        [check("lint", true), check("unit", true)]
    );
}

#[test]
fn json_without_star_needs_the_single_project_for_the_others() {
    let e = read(&[(VAR, r#"{"shop-api": ["unit"]}"#)]).unwrap_err();
    assert!(e.contains("CODEHOOKS_PR_BUILD_PROJECT"), "{e}");
    let cfg = read(&[
        (VAR, r#"{"shop-api": ["unit"]}"#),
        ("CODEHOOKS_PR_BUILD_PROJECT", "pr-validate"),
    ])
    .unwrap();
    assert_eq!(cfg.checks.for_repository("web"), None);
    assert!(cfg.is_project("unit") && cfg.is_project("pr-validate"));
}

#[test]
fn bad_values_name_the_variable_and_why() {
    for (vars, needle) in [
        (vec![(VAR, "{not json")], "is not valid JSON"),
        (vec![(VAR, "[\"lint\"]")], "not a CodeBuild project name"),
        (vec![(VAR, r#"{"*": []}"#)], "is empty"),
        (vec![(VAR, "{}")], "at least one repository"),
        (vec![(VAR, "lint,bad name")], "not a CodeBuild project name"),
        (vec![(VAR, "-lint")], "not a CodeBuild project name"),
        (vec![(VAR, "lint,unit,lint")], "listed twice"),
        (
            vec![(VAR, r#"{"*": ["a1", {"project": "a1"}]}"#)],
            "listed twice",
        ),
        (
            vec![(VAR, r#"{"bad/repo": ["lint"]}"#)],
            "not a repository name",
        ),
        (
            vec![(VAR, r#"{"*": [{"project": "lint", "required": "no"}]}"#)],
            "true or false",
        ),
        (
            vec![(VAR, r#"{"*": [{"project": "lint", "optional": true}]}"#)],
            "unknown field",
        ),
        (
            vec![(VAR, r#"{"*": [{"project": "lint", "required": false}]}"#)],
            "no required check",
        ),
        (vec![(VAR, r#"{"*": [7]}"#)], "project name or an object"),
        (
            vec![(VAR, r#"{"*": ["lint"]}"#), (OPTIONAL_VAR, "it")],
            OPTIONAL_VAR,
        ),
        (
            vec![(OPTIONAL_VAR, "it"), ("CODEHOOKS_PR_BUILD_PROJECT", "p1")],
            "needs",
        ),
    ] {
        let e = read(&vars).unwrap_err();
        assert!(e.contains(needle), "{vars:?}: {e}");
        assert!(e.contains("CODEHOOKS_PR_"), "{e}");
    }
    let eleven: Vec<String> = (0..11).map(|i| format!("c{i}")).collect();
    let e = read(&[(VAR, &eleven.join(","))]).unwrap_err();
    assert!(e.contains(VAR) && e.contains("at most"), "{e}");
}

#[test]
fn log_lines_and_retry_allowed_are_validated() {
    let base = ("CODEHOOKS_PR_BUILD_PROJECT", "pr-validate");
    let cfg = read(&[base]).unwrap();
    assert_eq!(cfg.log_lines, 20);
    assert!(cfg.retry_allowed.is_empty());
    let e = read(&[base, ("CODEHOOKS_PR_LOG_LINES", "201")]).unwrap_err();
    assert!(e.contains("CODEHOOKS_PR_LOG_LINES"), "{e}");
    let cfg = read(&[base, ("CODEHOOKS_PR_LOG_LINES", "0")]).unwrap();
    assert_eq!(cfg.log_lines, 0);
    let cfg = read(&[
        base,
        (
            "CODEHOOKS_PR_RETRY_ALLOWED",
            "arn:aws:iam::123456789012:user/alice, arn:aws:iam::123456789012:role/release",
        ),
    ])
    .unwrap();
    assert_eq!(cfg.retry_allowed.len(), 2);
    let e = read(&[base, ("CODEHOOKS_PR_RETRY_ALLOWED", "alice")]).unwrap_err();
    assert!(e.contains("CODEHOOKS_PR_RETRY_ALLOWED"), "{e}");
}
