//! Unit tests of `config.rs`.

use super::*;
use codehooks::config::ConfigError;

fn read(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut env = Env::from_pairs(pairs.iter().map(|(k, v)| (*k, *v)));
    let cfg = Config::read(&mut env);
    env.finish()?;
    Ok(cfg)
}

#[test]
fn reads_a_full_configuration() {
    let cfg = read(&[
        ("CODEHOOKS_PR_REPOSITORIES", "app, infra"),
        ("CODEHOOKS_PR_BUILD_PROJECT", "pr-validate"),
        ("CODEHOOKS_PR_APPROVAL", "on"),
        ("CODEHOOKS_PR_STOP_SUPERSEDED", "false"),
        (
            "CODEHOOKS_PR_AUTHOR_ARN",
            "arn:aws:iam::123456789012:role/service/codehooks-pr",
        ),
    ])
    .unwrap();
    assert_eq!(cfg.repositories, ["app", "infra"]);
    assert!(cfg.watches("app") && !cfg.watches("other"));
    assert_eq!(cfg.project, "pr-validate");
    assert!(cfg.approval);
    assert!(!cfg.stop_superseded);
    assert_eq!(
        cfg.author,
        Some(Author::Role {
            account: "123456789012".into(),
            name: "codehooks-pr".into()
        })
    );
}

#[test]
fn defaults_and_wildcard() {
    let cfg = read(&[
        ("CODEHOOKS_PR_BUILD_PROJECT", "pr-validate"),
        ("CODEHOOKS_PR_REPOSITORIES", "*"),
    ])
    .unwrap();
    assert!(cfg.repositories.is_empty());
    assert!(cfg.watches("anything"));
    assert!(!cfg.approval);
    assert!(cfg.stop_superseded);
    assert_eq!(cfg.author, None);
    assert_eq!(cfg.recent_builds, 100);
}

#[test]
fn names_each_wrong_variable() {
    let err = read(&[
        ("CODEHOOKS_PR_REPOSITORIES", "ok,bad name"),
        ("CODEHOOKS_PR_APPROVAL", "perhaps"),
        ("CODEHOOKS_PR_AUTHOR_ARN", "someone"),
    ])
    .unwrap_err();
    let names: Vec<&str> = err.problems.iter().map(|p| p.variable.as_str()).collect();
    assert_eq!(
        names,
        [
            "CODEHOOKS_PR_REPOSITORIES",
            "CODEHOOKS_PR_BUILD_PROJECT",
            "CODEHOOKS_PR_APPROVAL",
            "CODEHOOKS_PR_AUTHOR_ARN"
        ]
    );
    let err = read(&[("CODEHOOKS_PR_BUILD_PROJECT", "-x y")]).unwrap_err();
    assert!(
        err.to_string()
            .contains("CODEHOOKS_PR_BUILD_PROJECT must be a CodeBuild project name")
    );
}

#[test]
fn authors_match_any_session_of_their_role() {
    let role = Author::parse("arn:aws:iam::123456789012:role/path/to/pr-role").unwrap();
    assert!(role.matches("arn:aws:sts::123456789012:assumed-role/pr-role/pr-comments"));
    assert!(role.matches("arn:aws:sts::123456789012:assumed-role/pr-role/other-session"));
    assert!(!role.matches("arn:aws:sts::210987654321:assumed-role/pr-role/pr-comments"));
    assert!(!role.matches("arn:aws:sts::123456789012:assumed-role/pr-role-2/x"));
    assert!(!role.matches("arn:aws:iam::123456789012:user/pr-role"));
    let session = Author::parse("arn:aws:sts::123456789012:assumed-role/pr-role/abc").unwrap();
    assert_eq!(session, role);
    let user = Author::parse("arn:aws:iam::123456789012:user/bot").unwrap();
    assert!(user.matches("arn:aws:iam::123456789012:user/bot"));
    assert!(!user.matches("arn:aws:iam::123456789012:user/bot2"));
    assert_eq!(Author::parse("arn:aws:s3:::bucket"), None);
    assert_eq!(Author::parse("arn:aws:iam::123456789012:role/"), None);
}

#[test]
fn authors_of_other_partitions_are_read() {
    let cn = Author::parse("arn:aws-cn:iam::123456789012:role/pr-role").unwrap();
    assert!(cn.matches("arn:aws-cn:sts::123456789012:assumed-role/pr-role/s"));
    assert_eq!(
        Author::parse("arn:awz:iam::123456789012:role/pr-role"),
        None
    );
}

#[test]
fn a_repository_placeholder_names_one_project_per_repository() {
    let cfg = read(&[
        ("CODEHOOKS_PR_BUILD_PROJECT", "stack-pr-{repository}"),
        ("CODEHOOKS_PR_REPOSITORIES", "app,web.site"),
    ])
    .unwrap();
    assert_eq!(cfg.project_for("app"), "stack-pr-app");
    assert_eq!(cfg.project_for("web.site"), "stack-pr-web-site");
    assert!(cfg.is_project("stack-pr-app") && cfg.is_project("stack-pr-web-site"));
    assert!(!cfg.is_project("stack-pr-") && !cfg.is_project("other-pr-app"));
    let plain = read(&[("CODEHOOKS_PR_BUILD_PROJECT", "pr-validate")]).unwrap();
    assert_eq!(plain.project_for("app"), "pr-validate");
    assert!(plain.is_project("pr-validate") && !plain.is_project("pr-validate-app"));
}

#[test]
fn a_wrong_placeholder_is_refused_at_start_up() {
    for bad in [
        "pr-{repository}-{repository}",
        "{repository}",
        "pr-{repo}",
        "-pr-{repository}",
        &format!("{}-{{repository}}", "x".repeat(200)),
    ] {
        let err = read(&[("CODEHOOKS_PR_BUILD_PROJECT", bad)]).unwrap_err();
        assert!(
            err.to_string().contains("CODEHOOKS_PR_BUILD_PROJECT"),
            "{bad}: {err}"
        );
    }
    assert!(read(&[("CODEHOOKS_PR_BUILD_PROJECT", "{repository}-pr")]).is_ok());
}
