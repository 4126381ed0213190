//! Unit tests of `sdk.rs`: the SDK's shapes become facts (no client, no network).

use super::*;

#[test]
fn reads_the_task_set_id_from_the_apis_identifer_spelling() {
    let t = cd::EcsTaskSet::builder()
        .identifer("ecs-svc/123")
        .desired_count(3)
        .running_count(2)
        .status("ACTIVE")
        .traffic_weight(0.0)
        .target_group(cd::TargetGroupInfo::builder().name("green").build())
        .task_set_label(cd::TargetLabel::Green)
        .build();
    let s = task_set(&t);
    assert_eq!(s.id, "ecs-svc/123");
    assert_eq!((s.desired_count, s.running_count), (3, 2));
    assert_eq!(s.target_group.as_deref(), Some("green"));
    assert_eq!(s.label.as_deref(), Some("Green"));
}

#[test]
fn reads_targets_by_shape() {
    let ecs = cd::DeploymentTarget::builder()
        .deployment_target_type(cd::DeploymentTargetType::EcsTarget)
        .ecs_target(
            cd::EcsTarget::builder()
                .target_id("c:s")
                .lifecycle_events(
                    cd::LifecycleEvent::builder()
                        .lifecycle_event_name("AfterAllowTestTraffic")
                        .status(cd::LifecycleEventStatus::InProgress)
                        .build(),
                )
                .build(),
        )
        .build();
    match deployment_target(&ecs) {
        DeploymentTarget::Ecs {
            target_id,
            lifecycle,
            ..
        } => {
            assert_eq!(target_id, "c:s");
            assert_eq!(
                lifecycle,
                [LifecycleEvent::new("AfterAllowTestTraffic", "InProgress")]
            );
        }
        other => panic!("{other:?}"),
    }
    let instance = cd::DeploymentTarget::builder()
        .deployment_target_type(cd::DeploymentTargetType::InstanceTarget)
        .build();
    assert_eq!(
        deployment_target(&instance),
        DeploymentTarget::Other("InstanceTarget".into())
    );
}

#[test]
fn reads_the_platform_and_the_pair() {
    let info = cd::DeploymentInfo::builder()
        .compute_platform(cd::ComputePlatform::Lambda)
        .application_name("a")
        .deployment_group_name("g")
        .load_balancer_info(
            cd::LoadBalancerInfo::builder()
                .target_group_pair_info_list(
                    cd::TargetGroupPairInfo::builder()
                        .target_groups(cd::TargetGroupInfo::builder().name("blue").build())
                        .target_groups(cd::TargetGroupInfo::builder().name("green").build())
                        .prod_traffic_route(
                            cd::TrafficRoute::builder()
                                .listener_arns("arn:prod")
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .build();
    let f = deployment_facts(&info);
    assert_eq!(f.platform, Some(ComputePlatform::Lambda));
    let pair = f.traffic_pair.unwrap();
    assert_eq!(pair.target_groups, ["blue", "green"]);
    assert_eq!(pair.production_listeners, ["arn:prod"]);
    assert!(pair.test_listeners.is_empty());
}

#[test]
fn reads_forward_actions_and_target_health() {
    let weighted = elb::Action::builder()
        .r#type(elb::ActionTypeEnum::Forward)
        .forward_config(
            elb::ForwardActionConfig::builder()
                .target_groups(
                    elb::TargetGroupTuple::builder()
                        .target_group_arn("arn:tg/blue")
                        .weight(0)
                        .build(),
                )
                .build(),
        )
        .build();
    let a = listener_action(&weighted);
    assert_eq!(a.kind, "forward");
    assert_eq!(
        a.weighted,
        [WeightedTargetGroup {
            arn: Some("arn:tg/blue".into()),
            weight: Some(0)
        }]
    );
    let d = elb::TargetHealthDescription::builder()
        .target(
            elb::TargetDescription::builder()
                .id("10.0.1.6")
                .port(8080)
                .build(),
        )
        .target_health(
            elb::TargetHealth::builder()
                .state(elb::TargetHealthStateEnum::Unhealthy)
                .reason(elb::TargetHealthReasonEnum::ResponseCodeMismatch)
                .build(),
        )
        .build();
    let t = target_health_fact(&d);
    assert_eq!(t.state.as_deref(), Some("unhealthy"));
    assert_eq!(t.reason.as_deref(), Some("Target.ResponseCodeMismatch"));
}
