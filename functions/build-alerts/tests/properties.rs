//! Property tests of build-alerts: its event parser (CodeBuild, CodePipeline action
//! and pipeline, CodeDeploy events) never panics and hands on only checked envelopes; every
//! alert it writes from any accepted event, whatever the lookups found, has an SNS subject
//! (printable ASCII, under 100 characters) and a message within SNS's 256 KB that keeps every
//! link whole.
//!
//! Each property states its case count; the whole file runs in a few seconds.

use build_alerts::codepipeline::Lookups;
use build_alerts::event::{Parsed, parse};
use build_alerts::history::{ActionRun, DeploymentFacts, ExecutionFacts};
use build_alerts::{Run, codebuild, codedeploy, codepipeline};
use codehooks::alert::{Alert, MESSAGE_LIMIT};
use codehooks::names::{is_account, is_region};
use codehooks::once::State;
use proptest::prelude::*;
use serde_json::Value;

#[path = "../../../shared/tests/support/generators.rs"]
mod generators;
use generators::*;

const SAMPLES: [&str; 13] = [
    include_str!("../../../events/build-alerts-codebuild-failed.json"),
    include_str!("../../../events/build-alerts-codebuild-fault.json"),
    include_str!("../../../events/build-alerts-codebuild-pipeline-failed.json"),
    include_str!("../../../events/build-alerts-codebuild-pull-request-failed.json"),
    include_str!("../../../events/build-alerts-codebuild-stopped.json"),
    include_str!("../../../events/build-alerts-codebuild-succeeded.json"),
    include_str!("../../../events/build-alerts-codebuild-timed-out.json"),
    include_str!("../../../events/build-alerts-codedeploy-failure.json"),
    include_str!("../../../events/build-alerts-codedeploy-success.json"),
    include_str!("../../../events/build-alerts-codepipeline-action-failed-build.json"),
    include_str!("../../../events/build-alerts-codepipeline-action-failed.json"),
    include_str!("../../../events/build-alerts-codepipeline-pipeline-failed.json"),
    include_str!("../../../events/build-alerts-codepipeline-pipeline-succeeded.json"),
];

fn near_valid_event() -> impl Strategy<Value = Value> {
    (0..SAMPLES.len(), edits()).prop_map(|(i, e)| mutate(sample(SAMPLES[i]), &e))
}

/// A near-valid event with up to three fields blown up to hundreds of kilobytes, so that the
/// alert has to be cut to fit.
fn huge_event() -> impl Strategy<Value = Value> {
    (
        near_valid_event(),
        prop::collection::vec((any::<usize>(), "[a-z \n]{1,6}", 10_000usize..60_000), 0..4),
    )
        .prop_map(|(v, huge)| {
            let edits: Vec<Edit> = huge
                .into_iter()
                .map(|(pick, unit, n)| (pick, Some(Value::String(unit.repeat(n)))))
                .collect();
            mutate(v, &edits)
        })
}

fn event() -> impl Strategy<Value = Value> {
    prop_oneof![4 => near_valid_event(), 1 => arb_json()]
}

fn text_opt() -> BoxedStrategy<Option<String>> {
    prop::option::of(prop_oneof![
        4 => awkward_text(),
        2 => ("[a-z \n]{1,6}", 1usize..60_000).prop_map(|(s, n)| s.repeat(n)),
    ])
    .boxed()
}

fn action_run() -> BoxedStrategy<ActionRun> {
    (
        (awkward_text(), awkward_text(), awkward_text()),
        (
            text_opt(),
            text_opt(),
            text_opt(),
            text_opt(),
            text_opt(),
            text_opt(),
        ),
    )
        .prop_map(
            |(
                (stage, action, status),
                (provider, summary, error_code, error_message, external_url, external_id),
            )| {
                ActionRun {
                    stage,
                    action,
                    status,
                    provider,
                    summary,
                    error_code,
                    error_message,
                    external_url,
                    external_id,
                }
            },
        )
        .boxed()
}

fn lookups() -> BoxedStrategy<Lookups> {
    (
        prop::option::of(prop::collection::vec(action_run(), 0..4)),
        prop::option::of(
            (
                text_opt(),
                text_opt(),
                text_opt(),
                text_opt(),
                prop::collection::vec((awkward_text(), awkward_text(), text_opt()), 0..3),
            )
                .prop_map(
                    |(status, status_summary, trigger_type, trigger_detail, revisions)| {
                        ExecutionFacts {
                            status,
                            status_summary,
                            trigger_type,
                            trigger_detail,
                            revisions,
                        }
                    },
                ),
        ),
        prop::collection::vec(awkward_text(), 0..3),
    )
        .prop_map(|(actions, execution, problems)| Lookups {
            actions,
            execution,
            problems,
        })
        .boxed()
}

fn deployment_facts() -> BoxedStrategy<DeploymentFacts> {
    (
        (
            text_opt(),
            text_opt(),
            text_opt(),
            text_opt(),
            text_opt(),
            text_opt(),
        ),
        (
            text_opt(),
            text_opt(),
            text_opt(),
            text_opt(),
            text_opt(),
            text_opt(),
        ),
        prop::option::of(any::<u64>()),
    )
        .prop_map(
            |(
                (status, error_code, error_message, creator, description, compute_platform),
                (
                    deployment_config,
                    revision,
                    rollback_deployment_id,
                    rollback_triggering_deployment_id,
                    rollback_message,
                    created,
                ),
                duration_secs,
            )| DeploymentFacts {
                status,
                error_code,
                error_message,
                creator,
                description,
                compute_platform,
                deployment_config,
                revision,
                rollback_deployment_id,
                rollback_triggering_deployment_id,
                rollback_message,
                created,
                duration_secs,
            },
        )
        .boxed()
}

fn last_state() -> impl Strategy<Value = State> {
    (awkward_text(), awkward_text(), text_opt()).prop_map(|(state, at, detail)| State {
        state,
        at,
        detail,
        ..State::default()
    })
}

/// The limits every alert keeps.
fn check_alert(alert: &Alert) -> Result<(), TestCaseError> {
    let subject = alert.subject();
    prop_assert!(
        !subject.is_empty()
            && subject.chars().count() < 100
            && subject.chars().all(|c| c.is_ascii_graphic() || c == ' '),
        "subject {:?}",
        subject
    );
    let r = alert.render();
    prop_assert_eq!(&r.subject, &subject);
    prop_assert!(
        r.message.len() <= MESSAGE_LIMIT,
        "message of {} bytes",
        r.message.len()
    );
    let description = r
        .chatbot
        .pointer("/content/description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    for (name, url) in &alert.links {
        prop_assert!(
            r.text.contains(url.as_str()),
            "text lost the {} link {:?}",
            name,
            url
        );
        prop_assert!(
            description.contains(url.as_str()),
            "chat lost the {} link {:?}",
            name,
            url
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(cases(256))]

    /// The event parser never panics, and what it accepts has a valid region, account, id and
    /// time; each kind's plan never panics.
    #[test]
    fn events_never_panic_and_envelopes_are_checked(v in event(), stopped in any::<bool>(), prs in any::<bool>()) {
        let Ok((origin, parsed)) = parse(v) else { return Ok(()) };
        prop_assert!(is_region(&origin.region) && is_account(&origin.account));
        prop_assert!(!origin.event_id.is_empty() && origin.event_id.len() <= 128);
        prop_assert!((10..=40).contains(&origin.time.len()));
        let run = match &parsed {
            Parsed::Build(d) => {
                let _ = (codebuild::pipeline(d), codebuild::version(d), codebuild::reasons(d));
                codebuild::plan(d, stopped, prs)
            }
            Parsed::Action(d) => codepipeline::plan_action(d),
            Parsed::Pipeline(d) => codepipeline::plan_pipeline(d),
            Parsed::Deployment(d) => codedeploy::plan(d),
        };
        if let Run::Ignore(why) = run {
            prop_assert!(!why.is_empty());
        }
    }
}

proptest! {
    // Each case renders up to four alerts, each trying several budgets: fewer cases.
    #![proptest_config(cases(96))]

    /// Every alert and recovered notice built from an accepted event, with any lookup result,
    /// keeps the subject and message limits and every link.
    #[test]
    fn alerts_from_any_event_keep_their_limits(
        v in prop_oneof![near_valid_event(), huge_event()], l in lookups(), facts in prop::option::of(deployment_facts()),
        problem in prop::option::of(awkward_text()), last in last_state(),
    ) {
        let Ok((origin, parsed)) = parse(v) else { return Ok(()) };
        // What the app does: an alert on `Failure`, a recovered notice on `Success`.
        let (run, alert, recovered) = match &parsed {
            Parsed::Build(d) => (
                codebuild::plan(d, true, true),
                codebuild::alert(d, &origin),
                codebuild::recovered(d, &origin, &last),
            ),
            Parsed::Action(d) => (
                codepipeline::plan_action(d),
                codepipeline::action_alert(d, &origin, &l),
                Alert::default(),
            ),
            Parsed::Pipeline(d) => (
                codepipeline::plan_pipeline(d),
                codepipeline::pipeline_alert(d, &origin, &l),
                codepipeline::recovered(d, &origin, &last),
            ),
            Parsed::Deployment(d) => (
                codedeploy::plan(d),
                codedeploy::alert(d, &origin, facts.as_ref(), problem.as_deref()),
                codedeploy::recovered(d, &origin, &last),
            ),
        };
        let alerts = match run {
            Run::Failure => vec![alert],
            Run::Success => vec![recovered],
            Run::Ignore(_) => vec![],
        };
        for a in &alerts {
            check_alert(a)?;
        }
    }
}
