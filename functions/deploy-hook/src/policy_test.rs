//! Unit tests of `policy.rs`.

use super::*;

#[test]
fn defaults_need_no_configuration() {
    let p = Policy::parse(None, vec![], None).unwrap();
    let c = p.checks(Hook::AfterAllowTestTraffic, "any");
    assert_eq!(c.paths, ["/"]);
    assert!(c.accepts(204) && !c.accepts(301) && !c.accepts(500));
    assert!(c.target_health && c.probes);
    let b = p.checks(Hook::BeforeInstall, "any");
    assert!(!b.target_health && !b.probes);
    assert!(!p.checks(Hook::AfterInstall, "any").probes);
}

#[test]
fn overrides_apply_in_order() {
    let doc = r#"{
            "default": {"paths": ["/health"], "requests": 5},
            "hooks": {"AfterAllowTestTraffic": {"requests": 7, "acceptStatus": ["200", "3xx"]}},
            "deploymentGroups": {"shop": {
                "default": {"maxP95Ms": 100},
                "hooks": {"AfterAllowTestTraffic": {"requests": 9}}}}
        }"#;
    let p = Policy::parse(
        Some(doc),
        vec!["/simple".into()],
        Some("shop.example.com".into()),
    )
    .unwrap();
    let c = p.checks(Hook::AfterAllowTestTraffic, "shop");
    assert_eq!(c.requests, 9);
    assert_eq!(c.paths, ["/health"]);
    assert_eq!(c.max_p95_ms, Some(100));
    assert_eq!(c.host_name.as_deref(), Some("shop.example.com"));
    assert!(c.accepts(200) && c.accepts(302) && !c.accepts(201));
    let other = p.checks(Hook::AfterAllowTestTraffic, "other");
    assert_eq!(other.requests, 7);
    assert_eq!(other.max_p95_ms, Some(2000));
    assert_eq!(p.checks(Hook::AfterAllowTraffic, "other").requests, 5);
    let simple = Policy::parse(None, vec!["/simple".into()], None).unwrap();
    assert_eq!(
        simple.checks(Hook::AfterAllowTraffic, "x").paths,
        ["/simple"]
    );
}

#[test]
fn rejects_bad_documents_naming_the_place() {
    let err = Policy::parse(Some(r#"{"hooks": {"AfterAllowTestTraffic": {"requests": 0, "paths": ["health"]}},
            "deploymentGroups": {"g": {"default": {"minSuccessRate": 2, "acceptStatus": ["abc"]}}}}"#), vec![], None)
            .unwrap_err();
    let text = err.problems.join("\n");
    assert!(
        text.contains("hooks.AfterAllowTestTraffic: requests must be from 1 to 1000"),
        "{text}"
    );
    assert!(text.contains("path \"health\""), "{text}");
    assert!(
        text.contains("deploymentGroups.g.default: minSuccessRate"),
        "{text}"
    );
    assert!(text.contains("acceptStatus entry \"abc\""), "{text}");
    assert!(Policy::parse(Some(r#"{"hooks": {"Install": {}}}"#), vec![], None).is_err());
    assert!(Policy::parse(Some(r#"{"default": {"request": 3}}"#), vec![], None).is_err());
    assert!(Policy::parse(Some("{"), vec![], None).is_err());
    assert!(Policy::parse(None, vec![], Some("bad host!".into())).is_err());
}

#[test]
fn status_ranges() {
    assert_eq!(
        StatusRange::parse("2xx"),
        Some(StatusRange { from: 200, to: 299 })
    );
    assert_eq!(
        StatusRange::parse("200-204"),
        Some(StatusRange { from: 200, to: 204 })
    );
    assert_eq!(
        StatusRange::parse("418"),
        Some(StatusRange { from: 418, to: 418 })
    );
    assert_eq!(StatusRange::parse("300-200"), None);
    assert_eq!(StatusRange::parse("99"), None);
}
