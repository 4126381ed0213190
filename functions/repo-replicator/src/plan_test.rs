//! Unit tests of `plan.rs`.

use super::*;
use crate::endpoints::GitEndpoints;

fn oid(n: u8) -> ObjectId {
    ObjectId::new(format!("{n:02x}").repeat(20))
}

fn target() -> GitTarget {
    GitEndpoints::default().target(&"eu-west-2".parse().unwrap(), &"app".parse().unwrap())
}

#[test]
fn plan_updates_differences_and_deletes_extras_last() {
    let source: Refs = [
        ("refs/heads/main".to_owned(), oid(1)),
        ("refs/heads/new".to_owned(), oid(2)),
        ("refs/tags/v1".to_owned(), oid(3)),
    ]
    .into();
    let replica: Refs = [
        ("refs/heads/main".to_owned(), oid(9)),
        ("refs/heads/gone".to_owned(), oid(4)),
        ("refs/tags/v1".to_owned(), oid(3)),
    ]
    .into();
    let p = ref_changes(&source, &replica, &target()).unwrap();
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
    assert!(ref_changes(&source, &source, &target()).unwrap().is_empty());
}

#[test]
fn an_empty_source_never_empties_a_replica() {
    let replica: Refs = [("refs/heads/main".to_owned(), oid(1))].into();
    assert_eq!(
        ref_changes(&Refs::new(), &replica, &target()),
        Err(PlanError::EmptySource("app in eu-west-2".into()))
    );
    assert_eq!(
        ref_changes(&Refs::new(), &Refs::new(), &target()),
        Ok(vec![])
    );
}

#[test]
fn only_branches_and_tags_are_mirrored() {
    assert!(is_mirrored("refs/heads/feature/x"));
    assert!(is_mirrored("refs/tags/v1"));
    assert!(!is_mirrored("refs/tags/v1^{}"));
    assert!(!is_mirrored("refs/pull/1/head"));
    assert!(!is_mirrored("HEAD"));
}

#[test]
fn replicas_take_their_mapped_names_in_every_region() {
    let mut env = codehooks::config::Env::from_pairs([
        ("AWS_REGION", "us-east-1"),
        ("CODEHOOKS_REPLICA_REGIONS", "eu-west-2,cn-north-1"),
        ("CODEHOOKS_REPOSITORIES", "app,infra"),
        ("CODEHOOKS_REPLICA_NAMES", r#"{"app":"app-dr"}"#),
    ]);
    let config = Config::read(&mut env).unwrap();
    env.finish().unwrap();
    let p = repository_plan(&config, &"app".parse().unwrap());
    assert_eq!(p.source.describe(), "app in us-east-1");
    let replicas: Vec<String> = p.replicas.iter().map(GitTarget::url).collect();
    assert_eq!(
        replicas,
        [
            "https://git-codecommit.eu-west-2.amazonaws.com/v1/repos/app-dr",
            "https://git-codecommit.cn-north-1.amazonaws.com.cn/v1/repos/app-dr"
        ]
    );
    let p = repository_plan(&config, &"infra".parse().unwrap());
    assert_eq!(p.replicas[0].repository.as_str(), "infra");
}
