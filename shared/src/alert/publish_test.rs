//! Unit tests of `publish.rs`: the in-memory twin behaves like the adapter.

use super::*;

fn alert() -> Alert {
    Alert {
        source: "codebuild".into(),
        what: "build".into(),
        name: "my-app".into(),
        state: "FAILED".into(),
        region: "eu-west-1".into(),
        account: "123456789012".into(),
        headline: "Build my-app failed.".into(),
        sender: "codehooks build-alerts".into(),
        ..Alert::default()
    }
}

#[tokio::test]
async fn records_what_it_renders() {
    let p = MemoryPublisher::new();
    let out = p.publish(&alert()).await.unwrap();
    assert_eq!(out.subject, "FAILED build my-app in eu-west-1");
    assert_eq!(out.message_id.as_deref(), Some("memory-1"));
    assert_eq!(p.published()[0], alert().render());
    assert_eq!(out.bytes, p.published()[0].message.len());
    let json = serde_json::to_value(&out).unwrap();
    assert_eq!(json["messageId"], "memory-1");
}

#[tokio::test]
async fn can_be_told_to_fail() {
    let p = Arc::new(MemoryPublisher::new());
    p.fail_next(1);
    let err = p.publish(&alert()).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(p.published().is_empty());
    p.publish(&alert()).await.unwrap();
    assert_eq!(p.attempts(), 2);
    assert_eq!(
        p.subjects(),
        vec!["FAILED build my-app in eu-west-1".to_owned()]
    );
}
