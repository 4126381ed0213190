//! Unit tests of `endpoints.rs`.

use super::*;

fn r(s: &str) -> Region {
    s.parse().unwrap()
}

#[test]
fn urls_keep_the_signed_path() {
    let t = GitTarget {
        region: r("eu-west-2"),
        repository: "app".parse().unwrap(),
        signed_host: "git-codecommit.eu-west-2.amazonaws.com".into(),
        connect_base: "http://127.0.0.1:9/eu-west-2/".into(),
    };
    assert_eq!(t.url(), "http://127.0.0.1:9/eu-west-2/v1/repos/app");
    assert_eq!(t.path(), "/v1/repos/app");
    assert_eq!(t.describe(), "app in eu-west-2");
}

#[test]
fn the_default_host_follows_the_partition() {
    let e = GitEndpoints::default();
    assert_eq!(
        e.host(&r("eu-west-2")),
        "git-codecommit.eu-west-2.amazonaws.com"
    );
    assert_eq!(
        e.host(&r("cn-northwest-1")),
        "git-codecommit.cn-northwest-1.amazonaws.com.cn"
    );
    assert_eq!(
        e.host(&r("us-gov-west-1")),
        "git-codecommit.us-gov-west-1.amazonaws.com"
    );
    let t = e.target(&r("cn-north-1"), &"app".parse().unwrap());
    assert_eq!(
        t.url(),
        "https://git-codecommit.cn-north-1.amazonaws.com.cn/v1/repos/app"
    );
}

#[test]
fn templates_and_per_region_hosts_win() {
    let e = GitEndpoints {
        host_template: "git-codecommit-fips.{region}.amazonaws.com".into(),
        hosts: [(r("us-east-2"), "vpce-1.example".to_owned())].into(),
        connect_url: Some("http://127.0.0.1:8080/{region}".into()),
    };
    assert_eq!(
        e.host(&r("us-west-2")),
        "git-codecommit-fips.us-west-2.amazonaws.com"
    );
    let t = e.target(&r("us-east-2"), &"app".parse().unwrap());
    assert_eq!(t.signed_host, "vpce-1.example");
    assert_eq!(t.url(), "http://127.0.0.1:8080/us-east-2/v1/repos/app");
}
