//! Unit tests of the analysis' orchestration over the in-memory twins: a conclusive read, thin
//! traffic waited for (within the invocation, or across invocations with `Pending`), the
//! alarms gate, `onInconclusive`, and a read that fails.

use super::*;
use crate::config::config_from_pairs;
use crate::facts::AlarmFacts;
use crate::payload::HookPayload;
use crate::twins::Twins;
use crate::twins_lambda::MemoryMetrics;

const LB: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188";
const GREEN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-green/73e2d6bc24d8a067";
const BLUE: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-blue/943f017f100becff";
const LB_DIM: &str = "app/shop/50dc6c495c0c9188";
const GREEN_DIM: &str = "targetgroup/shop-green/73e2d6bc24d8a067";
const BLUE_DIM: &str = "targetgroup/shop-blue/943f017f100becff";

fn app() -> App<Twins> {
    App {
        region: Some("eu-west-1".into()),
        ..App::over_twins(config_from_pairs(std::iter::empty()).unwrap())
    }
}

fn source() -> Source {
    Source::Elb(ElbTargets {
        load_balancer_arn: LB.into(),
        green_arn: GREEN.into(),
        blue_arn: Some(BLUE.into()),
    })
}

fn evidence() -> Evidence {
    Evidence::new(&HookPayload {
        deployment_id: "d-A1".into(),
        hook_execution_id: "exec-1".into(),
    })
}

fn policy(json: &str) -> Analysis {
    serde_json::from_str(json).unwrap()
}

/// One target group's traffic: requests, target 5XX, p95 seconds.
fn traffic(m: &MemoryMetrics, tg: &str, requests: f64, errors: f64, p95_s: f64) {
    let dims = [("TargetGroup", tg), ("LoadBalancer", LB_DIM)];
    m.set_series("RequestCount", &dims, "Sum", &[requests]);
    m.set_series("HTTPCode_Target_5XX_Count", &dims, "Sum", &[errors]);
    m.set_series("TargetResponseTime", &dims, "p95", &[p95_s]);
}

fn alarm(name: &str, state: &str, reason: &str) -> AlarmFacts {
    AlarmFacts {
        name: name.into(),
        arn: format!("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{name}"),
        state: state.into(),
        reason: reason.into(),
        updated_ms: None,
    }
}

fn now_ms() -> i64 {
    i64::try_from(codehooks::time::now_millis()).unwrap()
}

fn later(s: u64) -> Instant {
    Instant::now() + Duration::from_secs(s)
}

async fn run(app: &App<Twins>, a: &Analysis, mode: Mode, ev: &mut Evidence) -> Analysed {
    let source = source();
    let job = Job {
        analysis: a,
        source: Some(&source),
        load: None,
        window_start_ms: now_ms(),
        mode,
    };
    app.analyse(job, ev, later(30)).await
}

fn check<'a>(ev: &'a Evidence, name: &str) -> &'a CheckResult {
    ev.checks
        .iter()
        .find(|c| c.check == name)
        .unwrap_or_else(|| panic!("no check {name} in {:?}", ev.checks))
}

#[tokio::test]
async fn enough_traffic_gives_a_verdict_in_one_read() {
    let app = app();
    traffic(&app.metrics, GREEN_DIM, 400.0, 10.0, 0.050);
    traffic(&app.metrics, BLUE_DIM, 5200.0, 13.0, 0.048);
    let a = policy(r#"{"metrics": {}}"#);
    let mut ev = evidence();
    assert_eq!(run(&app, &a, Mode::Wait, &mut ev).await, Analysed::Done);
    let rate = check(&ev, "analysisErrorRate");
    assert!(!rate.passed, "2.5% against 0.25% + 1 pp fails: {rate:?}");
    assert!(check(&ev, "analysisP95Latency").passed);
    let record = ev.analysis.as_ref().unwrap();
    assert_eq!(record.polls, 1);
    assert_eq!(record.outcome, Some(Outcome::Fail));
    assert_eq!(record.metrics.len(), 2);
    assert!(record.to_ms > record.from_ms);
    assert_eq!(app.metrics.series_calls().len(), 1);
}

#[tokio::test]
async fn an_absolute_error_rate_also_judges_the_load_balancers_own_5xx() {
    let app = app();
    traffic(&app.metrics, GREEN_DIM, 400.0, 0.0, 0.050);
    traffic(&app.metrics, BLUE_DIM, 400.0, 0.0, 0.050);
    let lb = [("LoadBalancer", LB_DIM)];
    app.metrics.set_series("RequestCount", &lb, "Sum", &[800.0]);
    app.metrics
        .set_series("HTTPCode_ELB_5XX_Count", &lb, "Sum", &[80.0]);
    let a = policy(r#"{"metrics": {"maxErrorRate": 0.05}}"#);
    let mut ev = evidence();
    run(&app, &a, Mode::Wait, &mut ev).await;
    assert!(check(&ev, "analysisErrorRate").passed);
    let elb = check(&ev, "analysisElbErrorRate");
    assert!(!elb.passed, "{elb:?}");
    assert!(elb.detail.contains("800"), "{}", elb.detail);
}

#[tokio::test]
async fn thin_traffic_on_amazon_ecs_is_pending_until_the_wait_is_spent() {
    let app = app();
    traffic(&app.metrics, GREEN_DIM, 3.0, 0.0, 0.050);
    traffic(&app.metrics, BLUE_DIM, 900.0, 0.0, 0.050);
    let a = policy(r#"{"metrics": {"minRequests": 20}, "maxWaitMs": 60000}"#);
    let mut ev = evidence();
    let first = run(&app, &a, Mode::Once { waited_ms: 0 }, &mut ev).await;
    assert_eq!(first, Analysed::Pending);
    assert!(ev.checks.is_empty(), "nothing judged yet: {:?}", ev.checks);
    let record = ev.analysis.as_ref().unwrap();
    assert_eq!(record.outcome, Some(Outcome::Inconclusive));
    assert!(record.metrics[0].detail.contains("3 of the 20"));

    // The wait is spent: the policy's default fails an inconclusive analysis.
    let mut ev = evidence();
    let last = run(&app, &a, Mode::Once { waited_ms: 60_000 }, &mut ev).await;
    assert_eq!(last, Analysed::Done);
    let rate = check(&ev, "analysisErrorRate");
    assert!(!rate.passed);
    assert!(
        rate.detail.starts_with("inconclusive after 60 s"),
        "{}",
        rate.detail
    );
    assert!(rate.detail.contains("onInconclusive"), "{}", rate.detail);
}

#[tokio::test]
async fn on_inconclusive_pass_lets_thin_traffic_through() {
    let app = app();
    traffic(&app.metrics, GREEN_DIM, 3.0, 0.0, 0.050);
    traffic(&app.metrics, BLUE_DIM, 900.0, 0.0, 0.050);
    let a = policy(r#"{"metrics": {}, "maxWaitMs": 0, "onInconclusive": "pass"}"#);
    let mut ev = evidence();
    assert_eq!(run(&app, &a, Mode::Wait, &mut ev).await, Analysed::Done);
    assert!(all_passed(&ev), "{:?}", ev.checks);
    assert!(check(&ev, "analysisP95Latency").detail.contains("passes"));
    assert_eq!(
        ev.analysis.as_ref().unwrap().outcome,
        Some(Outcome::Inconclusive)
    );
}

#[tokio::test]
async fn codedeploy_reads_again_every_poll_until_the_wait_ends() {
    let app = app();
    traffic(&app.metrics, GREEN_DIM, 3.0, 0.0, 0.050);
    let a = policy(r#"{"metrics": {}, "pollMs": 1000, "maxWaitMs": 2500}"#);
    let mut ev = evidence();
    assert_eq!(run(&app, &a, Mode::Wait, &mut ev).await, Analysed::Done);
    let polls = ev.analysis.as_ref().unwrap().polls;
    assert!((2..=3).contains(&polls), "{polls} reads");
    assert_eq!(app.metrics.series_calls().len(), polls as usize);
    assert!(!all_passed(&ev));
}

#[tokio::test]
async fn the_wait_never_outlasts_the_invocations_budget() {
    let app = app();
    traffic(&app.metrics, GREEN_DIM, 3.0, 0.0, 0.050);
    let a = policy(r#"{"metrics": {}, "pollMs": 1000, "maxWaitMs": 3600000}"#);
    let source = source();
    let job = Job {
        analysis: &a,
        source: Some(&source),
        load: None,
        window_start_ms: now_ms(),
        mode: Mode::Wait,
    };
    let mut ev = evidence();
    let started = Instant::now();
    let until = started + Duration::from_millis(1_500);
    assert_eq!(app.analyse(job, &mut ev, until).await, Analysed::Done);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(!check(&ev, "analysisErrorRate").passed);
}

#[tokio::test]
async fn an_alarm_in_alarm_fails_with_its_reason_without_waiting_for_traffic() {
    let app = app();
    app.metrics.set_alarm(alarm("shop-5xx", "OK", ""), &[]);
    app.metrics.set_alarm(
        alarm("shop-latency", "ALARM", "Threshold Crossed: 3 datapoints"),
        &[],
    );
    traffic(&app.metrics, GREEN_DIM, 3.0, 0.0, 0.050);
    let a = policy(r#"{"alarms": {"prefix": "shop-"}, "metrics": {}, "maxWaitMs": 60000}"#);
    let mut ev = evidence();
    let done = run(&app, &a, Mode::Once { waited_ms: 0 }, &mut ev).await;
    assert_eq!(done, Analysed::Done, "a failed gate does not wait");
    let alarms = check(&ev, "alarms");
    assert!(!alarms.passed);
    assert!(
        alarms
            .detail
            .contains("shop-latency is ALARM: Threshold Crossed"),
        "{}",
        alarms.detail
    );
    assert_eq!(ev.analysis.as_ref().unwrap().alarms.len(), 2);
}

#[tokio::test]
async fn alarms_alone_need_no_metric_source() {
    let app = app();
    app.metrics.set_alarm(alarm("api-5xx", "OK", ""), &[]);
    let a = policy(r#"{"alarms": {"names": ["api-5xx"]}}"#);
    let job = Job {
        analysis: &a,
        source: None,
        load: None,
        window_start_ms: now_ms(),
        mode: Mode::Wait,
    };
    let mut ev = evidence();
    app.analyse(job, &mut ev, later(5)).await;
    assert!(all_passed(&ev), "{:?}", ev.checks);
    assert_eq!(check(&ev, "alarms").detail, "1 alarm OK: api-5xx");
    assert!(app.metrics.series_calls().is_empty());
}

#[tokio::test]
async fn a_read_that_fails_is_a_check_the_hook_could_not_make() {
    let app = app();
    app.metrics.fail(1, false);
    let a = policy(r#"{"metrics": {}}"#);
    let mut ev = evidence();
    assert_eq!(run(&app, &a, Mode::Wait, &mut ev).await, Analysed::Done);
    let c = check(&ev, "analysis");
    assert!(!c.passed);
    assert!(ev.error.is_some());
    assert_eq!(ev.infrastructure, vec!["analysis".to_owned()]);
    assert_eq!(ev.analysis.as_ref().unwrap().polls, 1);
}

#[test]
fn metric_checks_are_named_apart_from_the_probes() {
    assert_eq!(check_name("errorRate"), "analysisErrorRate");
    assert_eq!(check_name("p95Latency"), "analysisP95Latency");
    assert_eq!(check_name("elbErrorRate"), "analysisElbErrorRate");
    assert_eq!(check_name(""), "analysis");
}
