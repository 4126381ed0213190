//! Unit tests of `threads.rs`: places, links and streaks.

use super::*;

const EXEC: &str = "f1e2d3c4-b5a6-4789-8abc-def012345678";

fn place() -> Place {
    Place::new("shop-release", EXEC, "Build", "BuildImage").unwrap()
}

#[test]
fn a_place_round_trips_and_bad_ones_are_refused() {
    let p = place();
    assert_eq!(p.thread(), format!("codepipeline/shop-release/{EXEC}"));
    assert_eq!(Place::from_detail(&p.to_detail()), Some(p));
    assert!(Place::new("shop release", EXEC, "Build", "A").is_none());
    assert!(Place::new("shop", "not-an-execution", "Build", "A").is_none());
    assert!(Place::from_detail("{\"pipeline\":1}").is_none());
    assert!(
        Place::from_detail(&format!(
            "{{\"pipeline\":\"p\",\"execution_id\":\"{EXEC}\",\"stage\":\"a b\",\"action\":\"x\"}}"
        ))
        .is_none()
    );
}

#[test]
fn a_build_is_found_in_the_pipeline_state() {
    let states = vec![
        ActionState {
            stage: "Source".into(),
            action: "Source".into(),
            execution_id: Some(EXEC.into()),
            ..ActionState::default()
        },
        ActionState {
            stage: "Build".into(),
            action: "BuildImage".into(),
            execution_id: Some(EXEC.into()),
            external_id: Some("shop-release-build:1f6e".into()),
            ..ActionState::default()
        },
    ];
    assert_eq!(
        find(&states, "shop-release", "shop-release-build:1f6e"),
        Some(place())
    );
    assert_eq!(
        find(&states, "shop-release", "shop-release-build:other"),
        None
    );
}

#[test]
fn joining_sets_the_thread_facts_and_link() {
    let mut a = Alert {
        thread_id: "codepipeline/shop-release".into(),
        facts: vec![
            ("Project".into(), "x".into()),
            ("Region".into(), "cn-north-1".into()),
        ],
        ..Alert::default()
    };
    join(&mut a, &place(), "cn-north-1");
    assert_eq!(a.thread_id, format!("codepipeline/shop-release/{EXEC}"));
    assert_eq!(a.facts[1], ("Pipeline".into(), "shop-release".into()));
    assert_eq!(a.facts[4].0, "Region");
    let (k, u) = a.links.last().unwrap();
    assert_eq!(k, "Pipeline execution");
    assert!(
        u.starts_with(
            "https://console.amazonaws.cn/codesuite/codepipeline/pipelines/shop-release/executions/"
        ),
        "{u}"
    );
    let a = with_thread_attribute(a);
    assert_eq!(
        a.extra_attributes[0],
        (
            "threadId".into(),
            format!("codepipeline/shop-release/{EXEC}")
        )
    );
    assert_eq!(with_thread_attribute(a.clone()).extra_attributes.len(), 1);
    assert!(a.attributes().iter().any(|(k, _)| k == "threadId"));
}

#[test]
fn an_unmatched_build_says_so() {
    let mut a = Alert::default();
    unmatched(&mut a, "shop-release", "GetPipelineState failed");
    assert_eq!(a.thread_id, "codepipeline/shop-release");
    assert_eq!(
        a.facts[0],
        (
            "Pipeline execution".into(),
            "could not be matched (GetPipelineState failed)".into()
        )
    );
}

#[test]
fn layer_links_name_failed_builds_and_deployments() {
    let runs = vec![
        ActionRun {
            stage: "Build".into(),
            action: "BuildImage".into(),
            status: "Failed".into(),
            provider: Some("CodeBuild".into()),
            external_id: Some("shop-release-build:1f6e".into()),
            ..ActionRun::default()
        },
        ActionRun {
            stage: "Deploy".into(),
            action: "Prod".into(),
            status: "Failed".into(),
            provider: Some("CodeDeployToECS".into()),
            external_id: Some("d-7K2P9QX4B".into()),
            ..ActionRun::default()
        },
        ActionRun {
            stage: "Test".into(),
            action: "Ok".into(),
            status: "Succeeded".into(),
            provider: Some("CodeBuild".into()),
            external_id: Some("t:1".into()),
            ..ActionRun::default()
        },
        ActionRun {
            stage: "Infra".into(),
            action: "Stack".into(),
            status: "Failed".into(),
            provider: Some("CloudFormation".into()),
            external_id: Some("arn:aws:cloudformation:x".into()),
            ..ActionRun::default()
        },
    ];
    let links = layer_links(&runs, "eu-west-1", "123456789012");
    assert_eq!(links.len(), 2, "{links:?}");
    assert_eq!(links[0].0, "Build Build/BuildImage");
    assert_eq!(
        links[0].1,
        "https://eu-west-1.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/shop-release-build/build/shop-release-build%3A1f6e/?region=eu-west-1"
    );
    assert_eq!(links[1].0, "Deployment Deploy/Prod");
    assert!(
        links[1]
            .1
            .ends_with("/deployments/d-7K2P9QX4B?region=eu-west-1")
    );
    assert_eq!(
        run_ref("arn:aws:codebuild:eu-west-1:1:build/shop-api:abc"),
        "shop-api:abc"
    );
}

#[test]
fn a_streak_counts_new_runs_once() {
    let first = failed_state(None, "2026-11-23T08:00:00Z", Some("e1"));
    assert_eq!(
        (first.failed_runs, first.since.as_deref()),
        (1, Some("2026-11-23T08:00:00Z"))
    );
    // The same run again (a pipeline event delivered twice) does not count.
    let same = failed_state(Some(&first), "2026-11-23T08:00:00Z", Some("e1"));
    assert_eq!(same.failed_runs, 1);
    let second = failed_state(Some(&same), "2026-11-23T09:00:00Z", Some("e2"));
    let third = failed_state(Some(&second), "2026-11-23T10:14:00Z", Some("e3"));
    assert_eq!(third.failed_runs, 3);
    assert_eq!(third.since.as_deref(), Some("2026-11-23T08:00:00Z"));
    assert_eq!(third.first.as_deref(), Some("e1"));
    assert_eq!(third.detail.as_deref(), Some("e3"));
    assert_eq!(
        streak(&third, "2026-11-23T10:14:30Z"),
        "broken for 2 h 14 min, 3 failed runs"
    );
    // After a success a new streak starts.
    let ok = State {
        state: "SUCCEEDED".into(),
        at: "2026-11-23T11:00:00Z".into(),
        ..State::default()
    };
    assert_eq!(
        failed_state(Some(&ok), "2026-11-23T12:00:00Z", None).failed_runs,
        1
    );
}

#[test]
fn an_older_record_without_a_streak_still_reads() {
    let old = State {
        state: "FAILED".into(),
        at: "2026-11-23T08:00:00Z".into(),
        detail: Some("e0".into()),
        ..State::default()
    };
    assert_eq!(
        streak(&old, "2026-11-23T08:30:00Z"),
        "broken for 30 min 00 s, 1 failed run"
    );
    let next = failed_state(Some(&old), "2026-11-23T09:00:00Z", Some("e1"));
    assert_eq!(next.failed_runs, 2);
    assert_eq!(next.since.as_deref(), Some("2026-11-23T08:00:00Z"));
    assert_eq!(next.first.as_deref(), Some("e0"));
    // A time that does not read: the count alone.
    assert_eq!(streak(&old, "yesterday"), "1 failed run");
    let mut a = Alert {
        headline: "Pipeline p succeeded again.".into(),
        ..Alert::default()
    };
    recovered(
        &mut a,
        &next,
        "2026-11-23T10:00:00Z",
        Some("https://x".into()),
    );
    assert_eq!(
        a.headline,
        "Pipeline p succeeded again; it was broken for 2 h 00 min, 2 failed runs."
    );
    assert!(a.facts.contains(&("Failed runs".into(), "2".into())));
    assert_eq!(
        a.links,
        vec![("First failed run".into(), "https://x".into())]
    );
}
