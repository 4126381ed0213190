use super::*;

#[test]
fn regions() {
    for ok in [
        "eu-west-1",
        "us-gov-west-1",
        "cn-north-1",
        "ap-southeast-10",
        "us-isob-east-1",
    ] {
        assert!(ok.parse::<Region>().is_ok(), "{ok}");
    }
    for bad in [
        "",
        "eu",
        "eu-west",
        "EU-west-1",
        "eu-west-123",
        "eu-west-1.evil.com",
        "eu--1",
    ] {
        let e = bad.parse::<Region>().unwrap_err();
        assert_eq!(e.kind, "region", "{bad}");
    }
    let r: Region = "cn-north-1".parse().unwrap();
    assert_eq!(r.partition(), Partition::AwsCn);
}

#[test]
fn accounts() {
    assert!("123456789012".parse::<AccountId>().is_ok());
    assert!("12345678901".parse::<AccountId>().is_err());
    assert!("12345678901a".parse::<AccountId>().is_err());
}

#[test]
fn repository_names_are_safe_path_segments() {
    for ok in ["app", "my.repo_1-x", &"a".repeat(100)] {
        assert!(ok.parse::<RepositoryName>().is_ok(), "{ok}");
    }
    for bad in [
        "",
        ".",
        "..",
        "../x",
        "a/b",
        "app.git",
        "a b",
        &"a".repeat(101),
        "ä",
    ] {
        assert!(bad.parse::<RepositoryName>().is_err(), "{bad}");
    }
}

#[test]
fn commit_ids_are_lowercase_and_shorten() {
    let c: CommitId = "ABCDEF0123456789abcdef0123456789abcdef01".parse().unwrap();
    assert_eq!(c.as_str(), "abcdef0123456789abcdef0123456789abcdef01");
    assert_eq!(c.short(), "abcdef0");
    assert!("abc".parse::<CommitId>().is_err());
    assert!("g".repeat(40).parse::<CommitId>().is_err());
}

#[test]
fn serde_checks_on_the_way_in_and_prints_plain() {
    let r: RepositoryName = serde_json::from_str("\"app\"").unwrap();
    assert_eq!(serde_json::to_string(&r).unwrap(), "\"app\"");
    let e = serde_json::from_str::<RepositoryName>("\"a/b\"").unwrap_err();
    assert!(
        e.to_string()
            .contains("repository name \"a/b\" is not valid"),
        "{e}"
    );
}

#[test]
fn errors_cut_long_values() {
    let e = "x".repeat(500).parse::<Region>().unwrap_err();
    assert!(e.value.chars().count() <= 81);
}

#[test]
fn host_names_are_dns_names() {
    for ok in [
        "git-codecommit.eu-west-1.amazonaws.com",
        "localhost",
        "a-b.c1",
    ] {
        assert!(is_host_name(ok), "{ok}");
    }
    for bad in [
        "", " ", "~", "_", "a?b", "a#b", "a\n", "a:443", "a/b", "u@h", "-a.b", "a-.b", "a..b",
    ] {
        assert!(!is_host_name(bad), "{bad:?}");
    }
    assert!(!is_host_name(&"a".repeat(64)));
}
