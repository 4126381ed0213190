//! Unit tests of `gitsync.rs`.

use super::*;

fn oid(n: u8) -> Oid {
    Oid::from_bytes(&[n; 20]).unwrap()
}

#[test]
fn plan_updates_differences_and_deletes_extras_last() {
    let source: BTreeMap<String, Oid> = [
        ("refs/heads/main".to_owned(), oid(1)),
        ("refs/heads/new".to_owned(), oid(2)),
        ("refs/tags/v1".to_owned(), oid(3)),
    ]
    .into();
    let replica: BTreeMap<String, Oid> = [
        ("refs/heads/main".to_owned(), oid(9)),
        ("refs/heads/gone".to_owned(), oid(4)),
        ("refs/tags/v1".to_owned(), oid(3)),
    ]
    .into();
    let p = plan(&source, &replica);
    assert_eq!(
        p,
        vec![
            RefChange {
                name: "refs/heads/main".into(),
                old: Some(oid(9)),
                new: Some(oid(1))
            },
            RefChange {
                name: "refs/heads/new".into(),
                old: None,
                new: Some(oid(2))
            },
            RefChange {
                name: "refs/heads/gone".into(),
                old: Some(oid(4)),
                new: None
            },
        ]
    );
    assert!(plan(&source, &source).is_empty());
}

#[test]
fn urls_keep_the_signed_path() {
    let t = GitTarget {
        region: "eu-west-2".into(),
        repository: "app".into(),
        signed_host: "git-codecommit.eu-west-2.amazonaws.com".into(),
        connect_base: "http://127.0.0.1:9/eu-west-2/".into(),
    };
    assert_eq!(t.url(), "http://127.0.0.1:9/eu-west-2/v1/repos/app");
    assert_eq!(t.path(), "/v1/repos/app");
}
