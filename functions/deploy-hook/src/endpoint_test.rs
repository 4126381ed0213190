//! Unit tests of `endpoint.rs`.

use super::*;
use crate::plan::TargetType;
use crate::policy::{Hook, ListenerRole};

fn plan_with(td: Option<&str>) -> Plan {
    Plan {
        platform: crate::hook::Platform::CodeDeployEcs,
        deployment_id: "d-ABC".into(),
        application: "a".into(),
        deployment_group: "g".into(),
        hook: Hook::AfterAllowTestTraffic,
        target_type: TargetType::Ecs,
        target_id: "c:s".into(),
        task_sets: vec![],
        green: None,
        blue: None,
        desired_count: None,
        listener: None,
        task_definition: td.map(str::to_owned),
        service: None,
        target_revision: None,
        shape: Default::default(),
        notes: vec![],
    }
}

#[test]
fn expands_the_version_token() {
    let p = plan_with(Some("shop:42"));
    assert_eq!(
        expand_version("rev-{taskDefinitionRevision}", &p).unwrap(),
        "rev-42"
    );
    assert_eq!(expand_version("{taskDefinition}", &p).unwrap(), "shop:42");
    assert_eq!(expand_version("{deploymentId}", &p).unwrap(), "d-ABC");
    let e = expand_version("{taskDefinition}", &plan_with(None)).unwrap_err();
    assert!(e.to_string().contains("needs the task definition"), "{e}");
}

fn listener(protocol: &str) -> ListenerInfo {
    ListenerInfo {
        role: ListenerRole::Test,
        arn: "arn:l".into(),
        protocol: protocol.into(),
        port: 8443,
        load_balancer_dns: "127.0.0.1".into(),
        load_balancer_arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188".into(),
        forwards_to: vec![],
    }
}

#[tokio::test]
async fn endpoints_keep_tls_names_verified() {
    let e = endpoint(None, &listener("HTTP"), None).await.unwrap();
    assert_eq!(e.origin, "http://127.0.0.1:8443");
    let err = endpoint(None, &listener("HTTPS"), None).await.unwrap_err();
    assert!(
        err.to_string().contains("CODEHOOKS_HOOK_HOST_NAME"),
        "{err}"
    );
    let e = endpoint(None, &listener("HTTPS"), Some("shop.example.com"))
        .await
        .unwrap();
    assert_eq!(e.origin, "https://shop.example.com:8443");
    let (host, addrs) = e.resolve.unwrap();
    assert_eq!(host, "shop.example.com");
    assert_eq!(addrs, [SocketAddr::from(([127, 0, 0, 1], 8443))]);
    let e = endpoint(Some("http://127.0.0.1:{port}"), &listener("HTTPS"), None)
        .await
        .unwrap();
    assert_eq!(e.origin, "http://127.0.0.1:8443");
    let err = endpoint(Some("ftp://x"), &listener("HTTP"), None)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("CODEHOOKS_HOOK_BASE_URL must be"),
        "{err}"
    );
}
