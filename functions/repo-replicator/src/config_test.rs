//! Unit tests of `config.rs`.

use super::*;

fn base() -> Vec<(&'static str, &'static str)> {
    vec![
        ("AWS_REGION", "us-east-1"),
        ("CODEHOOKS_REPLICA_REGIONS", "eu-west-2, ap-southeast-2"),
        ("CODEHOOKS_REPOSITORIES", "app,infra"),
    ]
}

fn read(
    pairs: Vec<(&'static str, &'static str)>,
) -> Result<Config, codehooks::config::ConfigError> {
    let mut env = Env::from_pairs(pairs);
    let c = Config::read(&mut env);
    env.finish().map(|_| c.unwrap())
}

fn r(s: &str) -> Region {
    s.parse().unwrap()
}

fn n(s: &str) -> RepositoryName {
    s.parse().unwrap()
}

#[test]
fn reads_a_valid_configuration() {
    let c = read(base()).unwrap();
    assert_eq!(c.source_region, r("us-east-1"));
    assert_eq!(c.replica_regions, [r("eu-west-2"), r("ap-southeast-2")]);
    assert!(c.selects(&n("app")) && !c.selects(&n("other")));
    assert_eq!(c.limits.max_refs_per_push, 4000);
    let t = c.git.target(&r("eu-west-2"), &n("app"));
    assert_eq!(
        t.url(),
        "https://git-codecommit.eu-west-2.amazonaws.com/v1/repos/app"
    );
    assert_eq!(
        c.git.host(&r("cn-north-1")),
        "git-codecommit.cn-north-1.amazonaws.com.cn"
    );
}

#[test]
fn all_with_exclusions_mappings_and_endpoints() {
    let mut p = base();
    p.retain(|(k, _)| *k != "CODEHOOKS_REPOSITORIES");
    p.extend([
        ("CODEHOOKS_REPOSITORIES", "*"),
        ("CODEHOOKS_EXCLUDE_REPOSITORIES", "scratch"),
        ("CODEHOOKS_REPLICA_NAMES", r#"{"app":"app-dr"}"#),
        (
            "CODEHOOKS_GIT_HOST",
            "git-codecommit-fips.{region}.amazonaws.com",
        ),
        (
            "CODEHOOKS_GIT_HOSTS",
            r#"{"eu-west-2":"vpce-1-a.git-codecommit.eu-west-2.vpce.amazonaws.com"}"#,
        ),
        (
            "CODEHOOKS_GIT_CONNECT_URL",
            "http://127.0.0.1:8080/{region}",
        ),
        ("CODEHOOKS_ALLOW_INSECURE_GIT", "true"),
    ]);
    let c = read(p).unwrap();
    assert!(c.selects(&n("anything")) && !c.selects(&n("scratch")));
    assert_eq!(c.replica_name(&n("app")), &n("app-dr"));
    assert_eq!(c.replica_name(&n("infra")), &n("infra"));
    let t = c.git.target(&r("eu-west-2"), &n("app-dr"));
    assert_eq!(
        t.signed_host,
        "vpce-1-a.git-codecommit.eu-west-2.vpce.amazonaws.com"
    );
    assert_eq!(t.url(), "http://127.0.0.1:8080/eu-west-2/v1/repos/app-dr");
    assert_eq!(
        c.git.host(&r("us-west-2")),
        "git-codecommit-fips.us-west-2.amazonaws.com"
    );
}

#[test]
fn plain_http_needs_the_explicit_test_flag() {
    let with = |extra: Vec<(&'static str, &'static str)>| {
        let mut p = base();
        p.extend(extra);
        read(p)
    };
    for refused in [
        vec![("CODEHOOKS_GIT_CONNECT_URL", "http://127.0.0.1:8080")],
        vec![
            ("CODEHOOKS_GIT_CONNECT_URL", "http://127.0.0.1:8080"),
            ("CODEHOOKS_ALLOW_INSECURE_GIT", "false"),
        ],
    ] {
        let text = with(refused).unwrap_err().to_string();
        assert!(
            text.contains("CODEHOOKS_GIT_CONNECT_URL must start with https://")
                && text.contains("CODEHOOKS_ALLOW_INSECURE_GIT=true"),
            "{text}"
        );
    }
    let err = with(vec![
        ("CODEHOOKS_GIT_CONNECT_URL", "http://127.0.0.1:8080"),
        ("CODEHOOKS_ALLOW_INSECURE_GIT", "yes please"),
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("CODEHOOKS_ALLOW_INSECURE_GIT"), "{err}");
    let c = with(vec![
        ("CODEHOOKS_GIT_CONNECT_URL", "http://127.0.0.1:8080"),
        ("CODEHOOKS_ALLOW_INSECURE_GIT", "true"),
    ])
    .unwrap();
    assert_eq!(
        c.git.target(&r("eu-west-2"), &n("app")).url(),
        "http://127.0.0.1:8080/v1/repos/app"
    );
    // TLS needs no flag, and the flag alone changes nothing.
    assert!(
        with(vec![(
            "CODEHOOKS_GIT_CONNECT_URL",
            "https://proxy.example.com"
        )])
        .is_ok()
    );
    let c = with(vec![("CODEHOOKS_ALLOW_INSECURE_GIT", "true")]).unwrap();
    assert!(
        c.git
            .target(&r("eu-west-2"), &n("app"))
            .url()
            .starts_with("https://")
    );
}

#[test]
fn names_every_wrong_variable() {
    let err = read(vec![
        ("AWS_REGION", "us-east-1"),
        ("CODEHOOKS_REPLICA_REGIONS", "us-east-1,mars"),
        ("CODEHOOKS_REPOSITORIES", "ok,bad/name"),
        ("CODEHOOKS_CACHE_DIR", "relative"),
        ("CODEHOOKS_MAX_REFS_PER_PUSH", "5000"),
        ("CODEHOOKS_GIT_CONNECT_URL", "ftp://x"),
    ])
    .unwrap_err();
    let text = err.to_string();
    for needle in [
        "CODEHOOKS_REPLICA_REGIONS must not include the source region us-east-1",
        "CODEHOOKS_REPLICA_REGIONS must list region names",
        "CODEHOOKS_REPOSITORIES \"bad/name\" is not a CodeCommit repository name",
        "CODEHOOKS_CACHE_DIR must be an absolute path",
        "CODEHOOKS_MAX_REFS_PER_PUSH must be a whole number from 1 to 4000",
        "CODEHOOKS_GIT_CONNECT_URL must start with",
    ] {
        assert!(text.contains(needle), "{needle} not in {text}");
    }
    let err = read(vec![("AWS_REGION", "us-east-1")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("CODEHOOKS_REPLICA_REGIONS") && err.contains("CODEHOOKS_REPOSITORIES"),
        "{err}"
    );
}

#[test]
fn map_variables_name_each_bad_entry() {
    let mut p = base();
    p.extend([
        ("CODEHOOKS_REPLICA_NAMES", r#"{"app":"../x","ok":"fine"}"#),
        (
            "CODEHOOKS_GIT_HOSTS",
            r#"{"mars":"h.example.com","eu-west-2":"https://h.example.com"}"#,
        ),
        ("CODEHOOKS_GIT_HOST", "https://git.example.com"),
    ]);
    let text = read(p).unwrap_err().to_string();
    for needle in [
        r#"CODEHOOKS_REPLICA_NAMES maps "app" to "../x""#,
        r#"CODEHOOKS_GIT_HOSTS maps "mars" to "h.example.com""#,
        r#"CODEHOOKS_GIT_HOSTS maps "eu-west-2" to "https://h.example.com""#,
        "CODEHOOKS_GIT_HOST must be a host name only",
    ] {
        assert!(text.contains(needle), "{needle} not in {text}");
    }
    let good: BTreeMap<String, String> = [("app".to_owned(), "app-dr".to_owned())].into();
    assert_eq!(replica_names(good).unwrap()[&n("app")], n("app-dr"));
    let bad: BTreeMap<String, String> = [("x".to_owned(), "a.git".to_owned())].into();
    assert_eq!(
        replica_names(bad).unwrap_err(),
        [MapError::ReplicaName {
            from: "x".into(),
            to: "a.git".into()
        }]
    );
}

#[test]
fn a_missing_source_region_is_a_problem_not_a_panic() {
    let mut env = Env::from_pairs([
        ("CODEHOOKS_REPLICA_REGIONS", "eu-west-2"),
        ("CODEHOOKS_REPOSITORIES", "app"),
    ]);
    assert!(Config::read(&mut env).is_none());
    let text = env.finish().unwrap_err().to_string();
    assert!(
        text.contains("CODEHOOKS_SOURCE_REGION is required"),
        "{text}"
    );
}

#[test]
fn repository_names_follow_codecommit_rules() {
    let ok = |s: &str| s.parse::<RepositoryName>().is_ok();
    assert!(ok("my-repo_1.x"));
    assert!(!ok("a.git"));
    assert!(!ok("a/b"));
    assert!(!ok(&"x".repeat(101)));
}

#[test]
fn the_ref_policy_defaults_to_every_branch_and_tag_with_five_backups() {
    let c = read(base()).unwrap();
    assert_eq!(c.policy, Policy::default());
    assert_eq!(c.policy.backup_retention, 5);
    assert_eq!(c.policy.divergence, crate::policy::Divergence::Overwrite);
    assert!(c.follow_default_branch);
    assert_eq!(c.slice_commits, 5000);
    assert_eq!(c.deadline_margin, std::time::Duration::from_secs(30));
    assert!(c.replica_policies.is_empty());
    assert_eq!(c.policy_for(&r("eu-west-2")), &c.policy);
}

#[test]
fn reads_the_ref_policy_and_the_per_region_overrides() {
    let mut pairs = base();
    pairs.extend([
        ("CODEHOOKS_REF_INCLUDE", "refs/heads/release/*, refs/tags/**"),
        ("CODEHOOKS_REF_EXCLUDE", "refs/tags/tmp/**"),
        ("CODEHOOKS_BACKUP_RETENTION", "0"),
        ("CODEHOOKS_DIVERGENCE", "keep"),
        ("CODEHOOKS_FOLLOW_DEFAULT_BRANCH", "false"),
        ("CODEHOOKS_SLICE_COMMITS", "1000"),
        ("CODEHOOKS_DEADLINE_MARGIN_SECONDS", "45"),
        (
            "CODEHOOKS_REPLICA_POLICIES",
            r#"{"eu-west-2": {"include": ["refs/heads/main"], "backupRetention": 3, "divergence": "overwrite"}}"#,
        ),
    ]);
    let c = read(pairs).unwrap();
    let names: Vec<&str> = c.policy.include.iter().map(|p| p.as_str()).collect();
    assert_eq!(names, ["refs/heads/release/*", "refs/tags/**"]);
    assert_eq!(c.policy.exclude[0].as_str(), "refs/tags/tmp/**");
    assert_eq!(c.policy.backup_retention, 0);
    assert_eq!(c.policy.divergence, crate::policy::Divergence::Keep);
    assert!(!c.follow_default_branch);
    assert_eq!(c.slice_commits, 1000);
    assert_eq!(c.deadline_margin, std::time::Duration::from_secs(45));
    let eu = c.policy_for(&r("eu-west-2"));
    assert_eq!(eu.include.len(), 1);
    assert!(eu.selects("refs/heads/main") && !eu.selects("refs/heads/release/1"));
    // Not overridden: the global exclusion stays.
    assert_eq!(eu.exclude, c.policy.exclude);
    assert_eq!(eu.backup_retention, 3);
    assert_eq!(eu.divergence, crate::policy::Divergence::Overwrite);
    assert_eq!(c.policy_for(&r("ap-southeast-2")), &c.policy);
}

#[test]
fn names_every_wrong_policy_variable() {
    let mut pairs = base();
    pairs.extend([
        ("CODEHOOKS_REF_INCLUDE", "heads/main,refs/codehooks/**"),
        ("CODEHOOKS_REF_EXCLUDE", "refs/heads/a b"),
        ("CODEHOOKS_BACKUP_RETENTION", "-1"),
        ("CODEHOOKS_DIVERGENCE", "merge"),
        ("CODEHOOKS_FOLLOW_DEFAULT_BRANCH", "maybe"),
        ("CODEHOOKS_SLICE_COMMITS", "5"),
        ("CODEHOOKS_DEADLINE_MARGIN_SECONDS", "9999"),
        (
            "CODEHOOKS_REPLICA_POLICIES",
            r#"{"us-west-1": {}, "eu-west-2": {"divergence": "merge", "backupRetention": 5000, "include": ["x"]}}"#,
        ),
    ]);
    let text = read(pairs).unwrap_err().to_string();
    for v in [
        "CODEHOOKS_REF_INCLUDE",
        "CODEHOOKS_REF_EXCLUDE",
        "CODEHOOKS_BACKUP_RETENTION",
        "CODEHOOKS_DIVERGENCE",
        "CODEHOOKS_FOLLOW_DEFAULT_BRANCH",
        "CODEHOOKS_SLICE_COMMITS",
        "CODEHOOKS_DEADLINE_MARGIN_SECONDS",
    ] {
        assert!(text.contains(v), "{v} missing in {text}");
    }
    for piece in [
        "must start with refs/",
        "own refs under refs/codehooks/",
        "us-west-1",
        "divergence must be overwrite or keep",
        "backupRetention must be from 0 to 1000",
    ] {
        assert!(text.contains(piece), "{piece:?} missing in {text}");
    }
    // An unknown field is refused too.
    let mut pairs = base();
    pairs.push((
        "CODEHOOKS_REPLICA_POLICIES",
        r#"{"eu-west-2": {"retention": 3}}"#,
    ));
    let text = read(pairs).unwrap_err().to_string();
    assert!(text.contains("CODEHOOKS_REPLICA_POLICIES"), "{text}");
}
