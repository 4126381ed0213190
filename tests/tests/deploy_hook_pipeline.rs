//! deploy-hook as the job worker of a CodePipeline Lambda invoke action (a "Verify" stage after
//! an ECS rolling deploy): the real binary under the Lambda Runtime API, invoked with the job
//! events the emulator's CodePipeline produces, answering each job with `PutJobSuccessResult`
//! (with a continuation token while the verification goes on) or `PutJobFailureResult`. The
//! service's rolling deployment comes from the emulator (ECS `DescribeServices`), the alarms
//! from CloudWatch (through the emulator, kept in moto), SNS/SQS/DynamoDB from moto, and real
//! HTTP services on 127.0.0.1 play the deployed service the probes reach through `url`.

mod deploy_hook_fixture;

use std::time::Instant;

use aws_sdk_cloudwatch::types::StateValue;
use codehooks_tests::Function;
use deploy_hook_fixture::cloudwatch;
use deploy_hook_fixture::pipeline::{
    RollingService, Step, alert_doc, execution_id, job, job_id, jobs, leaked_secret, params,
    run_job, seed_job,
};
use deploy_hook_fixture::world::World;
use deploy_hook_fixture::{Mode, NEW_VERSION, Service};
use serde_json::{Value, json};

/// The invocation timeout of the tests that finish in one invocation.
const TIMEOUT_MS: u64 = 20_000;

/// The world of these tests: the function serves CodePipeline jobs only, as the template's
/// pipeline-verify function does.
async fn world() -> World {
    World::start()
        .await
        .with(&[("CODEHOOKS_HOOK_CONTRACTS", "pipeline")])
}

fn url(service: &Service) -> String {
    format!("http://127.0.0.1:{}/health", service.port)
}

/// The function's logs hold neither artifact credential of the jobs' events.
fn assert_no_secret(f: &Function) {
    let logs = f.logs();
    if let Some(s) = leaked_secret(&logs) {
        panic!("the function logged the artifact credential {s:?}:\n{logs}");
    }
}

/// The one step succeeded for good: the job is `Succeeded` without a continuation token.
fn assert_succeeded(step: &Step, f: &Function) {
    assert!(
        step.invocation.is_ok(),
        "{:?}\nlogs:\n{}",
        step.invocation,
        f.logs()
    );
    assert_eq!(
        step.answer(),
        "succeeded",
        "{:#}\njob: {:#}\nlogs:\n{}",
        step.invocation.response,
        step.job,
        f.logs()
    );
    assert_eq!(step.job["status"], "Succeeded", "{:#}", step.job);
    assert!(step.token().is_none(), "{:#}", step.job);
    assert!(step.job["next"].is_null(), "{:#}", step.job);
}

/// The one step failed the job with a `kind` failure; answers its message.
fn assert_failed(step: &Step, kind: &str, f: &Function) -> String {
    assert!(
        step.invocation.is_ok(),
        "{:?}\nlogs:\n{}",
        step.invocation,
        f.logs()
    );
    assert_eq!(
        step.answer(),
        "failed",
        "{:#}\njob: {:#}\nlogs:\n{}",
        step.invocation.response,
        step.job,
        f.logs()
    );
    assert_eq!(step.job["status"], "Failed", "{:#}", step.job);
    let details = &step.result()["failureDetails"];
    assert_eq!(details["type"], kind, "{:#}", step.job);
    let message = details["message"].as_str().unwrap_or_default().to_owned();
    assert!(!message.is_empty(), "{:#}", step.job);
    assert_eq!(
        step.invocation.response["summary"], message,
        "the function answers what it told CodePipeline"
    );
    message
}

/// The alerts about pipeline `pipeline`'s execution `execution` among `alerts`.
fn alerts_of<'a>(alerts: &'a [Value], pipeline: &str, execution: &str) -> Vec<&'a Value> {
    let thread = format!("codepipeline/{pipeline}/{execution}");
    alerts
        .iter()
        .filter(|a| alert_doc(a)["metadata"]["threadId"] == thread.as_str())
        .collect()
}

/// Every `DescribeServices` call the emulator received.
fn describe_services(w: &World) -> usize {
    w.local.emulator().requests(Some("DescribeServices")).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_rollout_of_a_healthy_service_with_quiet_alarms_succeeds() {
    let w = world().await;
    let queue = w.queue("pipeline-healthy").await;
    let f = w.function(&[]);
    let web = Service::start(Mode::Healthy, NEW_VERSION);
    let rolling = RollingService::completed("web", NEW_VERSION);
    rolling.seed(&w.local);
    let cw = cloudwatch::client(&w.local).await;
    cloudwatch::alarm(&cw, "web-5xx", StateValue::Ok, "no errors", &[]).await;
    cloudwatch::alarm(&cw, "web-latency", StateValue::Ok, "fast", &[]).await;
    // Another service's alarm: outside the prefix, never read.
    cloudwatch::alarm(&cw, "cart-5xx", StateValue::Alarm, "cart is down", &[]).await;

    let exec = execution_id(1);
    let mut p = params(&rolling, &url(&web), "shop-release", &exec);
    p["alarms"] = json!({"prefix": "web-"});
    p["watchSeconds"] = json!(1);
    let view = seed_job(&w.local, Some(&job_id(1)), "shop-release", &exec, &p);
    assert_eq!(view["status"], "InProgress");

    let steps = run_job(&f, &w.local, &job_id(1), TIMEOUT_MS, 3, |_, _| {
        panic!("a completed rollout needs no continuation")
    });
    assert_eq!(steps.len(), 1, "{steps:#?}");
    let step = &steps[0];
    assert_succeeded(step, &f);
    let r = &step.invocation.response;
    assert_eq!(r["jobId"], job_id(1), "{r:#}");

    let details = &step.result()["executionDetails"];
    let summary = details["summary"].as_str().unwrap_or_default();
    assert_eq!(
        r["summary"], summary,
        "the answer is what CodePipeline was told"
    );
    // The version assertion is part of every probe (a wrong version fails successRate).
    for check in ["service", "successRate", "p95Latency", "alarms"] {
        assert!(
            summary.contains(check),
            "the summary names the {check} check: {summary}"
        );
    }
    let external = details["externalExecutionId"].as_str().unwrap_or_default();
    assert!(
        !external.is_empty() && external != job_id(1),
        "the external execution id is the invocation's request id: {details:#}"
    );
    assert!(
        f.logs().contains(external),
        "the request id names the invocation's log entries: {external}"
    );
    assert!(web.hits() >= 4, "the service was probed: {}", web.hits());
    assert!(describe_services(&w) >= 1);

    assert!(
        w.alerts(&queue).await.is_empty(),
        "no alert for a healthy service"
    );
    assert_no_secret(&f);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_answering_errors_fails_the_job_with_one_alert() {
    let w = world().await;
    let queue = w.queue("pipeline-broken").await;
    let f = w.function(&[]);
    let cart = Service::start(Mode::Status(500), NEW_VERSION);
    let rolling = RollingService::completed("cart", NEW_VERSION);
    rolling.seed(&w.local);

    let exec = execution_id(2);
    let p = params(&rolling, &url(&cart), "shop-release", &exec);
    seed_job(&w.local, Some(&job_id(2)), "shop-release", &exec, &p);
    let steps = run_job(&f, &w.local, &job_id(2), TIMEOUT_MS, 3, |_, _| {
        panic!("a failure is final")
    });
    assert_eq!(steps.len(), 1, "{steps:#?}");
    let message = assert_failed(&steps[0], "JobFailed", &f);
    assert!(
        message.contains("successRate") || message.contains("500"),
        "the message names the failed check: {message}"
    );
    assert!(cart.hits() >= 1, "the service was probed");
    assert!(
        steps[0].job["refused"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );

    let alerts = w.alerts(&queue).await;
    assert_eq!(alerts.len(), 1, "one alert: {alerts:#?}");
    let alert = &alerts[0];
    let doc = alert_doc(alert);
    assert_eq!(
        doc["metadata"]["eventType"], "CodePipelineVerifyFailed",
        "{doc:#}"
    );
    assert_eq!(
        doc["metadata"]["threadId"],
        format!("codepipeline/shop-release/{exec}"),
        "{doc:#}"
    );
    let link = format!("codesuite/codepipeline/pipelines/shop-release/executions/{exec}/timeline");
    let text = alert["Message"].as_str().unwrap_or_default();
    assert!(
        text.contains(&link),
        "the alert links the pipeline execution ({link}): {doc:#}"
    );
    let attrs = &alert["MessageAttributes"];
    for (name, value) in [
        ("source", "deploy-hook"),
        ("state", "Failed"),
        ("severity", "error"),
        ("decision", "Failed"),
    ] {
        assert_eq!(attrs[name]["Value"], value, "{name}: {attrs:#}");
    }
    assert!(
        alert["Subject"]
            .as_str()
            .is_some_and(|s| s.contains("cart")),
        "the subject names the service: {alert:#}"
    );
    assert_no_secret(&f);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_rollout_a_replaced_deployment_a_wrong_version_and_an_alarm_fail_the_job() {
    let w = world().await;
    let queue = w.queue("pipeline-failures").await;
    let f = w.function(&[]);
    let up = Service::start(Mode::Healthy, NEW_VERSION);
    let cw = cloudwatch::client(&w.local).await;
    cloudwatch::alarm(
        &cw,
        "orders-5xx",
        StateValue::Alarm,
        "Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0).",
        &[],
    )
    .await;

    // (service, params changes, what the message must name, whether it fails at once)
    let failed = RollingService::failed("billing", "shop:42", "shop:41");
    let replaced = RollingService::completed("search", "shop:44");
    let wrong = RollingService::completed("catalog", "shop:43");
    let alarmed = RollingService::completed("orders", NEW_VERSION);
    let cases: [(&RollingService, Value, &str, bool); 4] = [
        (&failed, json!({}), "circuit breaker", true),
        (
            &replaced,
            json!({"service": {"cluster": "shop", "name": "search", "taskDefinition": "shop:42"}}),
            "shop:44",
            true,
        ),
        (&wrong, json!({}), "version", false),
        (
            &alarmed,
            json!({"alarms": {"names": ["orders-5xx"]}, "watchSeconds": 5}),
            "orders-5xx",
            false,
        ),
    ];
    for (n, (svc, changes, named, at_once)) in cases.into_iter().enumerate() {
        let n = 10 + n as u32;
        svc.seed(&w.local);
        let exec = execution_id(n);
        let mut p = params(svc, &url(&up), "shop-release", &exec);
        for (k, v) in changes.as_object().into_iter().flatten() {
            p[k] = v.clone();
        }
        seed_job(&w.local, Some(&job_id(n)), "shop-release", &exec, &p);
        let hits = up.hits();
        let started = Instant::now();
        let steps = run_job(&f, &w.local, &job_id(n), TIMEOUT_MS, 3, |_, _| {
            panic!("{}: a failure is final", svc.name)
        });
        let took = started.elapsed();
        assert_eq!(steps.len(), 1, "{}: {steps:#?}", svc.name);
        let message = assert_failed(&steps[0], "JobFailed", &f);
        assert!(
            message.contains(named),
            "{}: the message names {named:?}: {message}",
            svc.name
        );
        if at_once {
            assert_eq!(up.hits(), hits, "{}: nothing is probed", svc.name);
            assert!(
                took.as_millis() < 3_000,
                "{}: waiting would not change it, yet it took {took:?}",
                svc.name
            );
        }
        let alerts = w.alerts(&queue).await;
        assert_eq!(alerts.len(), 1, "{}: {alerts:#?}", svc.name);
        assert_eq!(
            alerts_of(&alerts, "shop-release", &exec).len(),
            1,
            "{}: {alerts:#?}",
            svc.name
        );
    }
    assert_no_secret(&f);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_rollout_goes_on_in_the_next_jobs_with_continuation_tokens() {
    let w = world().await;
    let queue = w.queue("pipeline-long").await;
    let f = w.function(&[]);
    let api = Service::start(Mode::Healthy, "api:7");
    let rolling = RollingService::in_progress("api", "api:7", "api:6");
    rolling.seed(&w.local);

    let exec = execution_id(3);
    let p = params(&rolling, &url(&api), "api-release", &exec);
    seed_job(&w.local, Some(&job_id(3)), "api-release", &exec, &p);
    // Short invocations: the rollout does not finish in the first one; ECS completes it
    // before the second.
    let steps = run_job(&f, &w.local, &job_id(3), 2_500, 6, |n, _| {
        if n == 1 {
            rolling.finished().seed(&w.local);
        }
    });

    assert!(steps.len() >= 2, "{steps:#?}");
    let (last, continued) = steps.split_last().expect("steps");
    for (i, step) in continued.iter().enumerate() {
        assert!(
            step.invocation.is_ok(),
            "job {i}: {:?}\n{}",
            step.invocation,
            f.logs()
        );
        assert_eq!(
            step.answer(),
            "continued",
            "job {i}: {:#}",
            step.invocation.response
        );
        assert_eq!(step.job["status"], "Succeeded", "job {i}: {:#}", step.job);
        let token = step
            .token()
            .unwrap_or_else(|| panic!("job {i} has no continuation token: {:#}", step.job));
        assert!(token.len() <= 2_048, "{token}");
        let parsed: Value = serde_json::from_str(token)
            .unwrap_or_else(|e| panic!("the token is JSON ({e}): {token}"));
        assert!(parsed.is_object(), "{token}");
        assert!(leaked_secret(token).is_none(), "{token}");
        assert!(step.job["next"].is_string(), "job {i}: {:#}", step.job);
        assert!(
            step.invocation.duration_ms < 2_500.0,
            "job {i} was answered before its deadline: {:?}",
            step.invocation
        );
    }
    let first = steps[0].result()["executionDetails"]["summary"]
        .as_str()
        .unwrap_or_default();
    assert!(
        first.contains("IN_PROGRESS"),
        "the first job says what it waits for: {first}"
    );
    assert_succeeded(last, &f);
    let summary = last.result()["executionDetails"]["summary"]
        .as_str()
        .unwrap_or_default();
    assert!(
        summary.contains("service") && summary.contains("successRate"),
        "{summary}"
    );
    assert!(api.hits() >= 4, "the service was probed once it was ready");

    // The chain CodePipeline holds: one job per invocation, each continuing the one before.
    let chain: Vec<Value> = jobs(&w.local)
        .into_iter()
        .filter(|j| j["pipelineExecutionId"] == exec.as_str())
        .collect();
    assert_eq!(chain.len(), steps.len(), "{chain:#?}");
    for pair in chain.windows(2) {
        assert_eq!(pair[0]["next"], pair[1]["id"], "{chain:#?}");
        assert_eq!(
            pair[1]["event"]["CodePipeline.job"]["data"]["continuationToken"],
            pair[0]["result"]["continuationToken"],
            "{chain:#?}"
        );
    }
    assert!(
        describe_services(&w) >= 2,
        "the service was polled every pollSeconds"
    );
    assert!(w.alerts(&queue).await.is_empty());
    assert_no_secret(&f);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_delivered_twice_is_answered_once() {
    let w = world().await;
    let queue = w.queue("pipeline-twice").await;
    let f = w.function(&[]);
    let web = Service::start(Mode::Healthy, NEW_VERSION);
    let broken = Service::start(Mode::Status(500), NEW_VERSION);
    let good = RollingService::completed("web", NEW_VERSION);
    let bad = RollingService::completed("cart", NEW_VERSION);
    good.seed(&w.local);
    bad.seed(&w.local);
    let mut refused = Vec::new();

    for (n, svc, service, first) in [
        (20, &good, &web, "succeeded"),
        (21, &bad, &broken, "failed"),
    ] {
        let exec = execution_id(n);
        let p = params(svc, &url(service), "shop-release", &exec);
        let view = seed_job(&w.local, Some(&job_id(n)), "shop-release", &exec, &p);
        let event = view["event"].clone();
        let once = f.invoke(&event, TIMEOUT_MS);
        assert!(once.is_ok(), "{once:?}\n{}", f.logs());
        assert_eq!(once.response["answer"], first, "{:#}", once.response);
        let answered = job(&w.local, &job_id(n));
        let (hits, polls) = (service.hits(), describe_services(&w));

        // CodePipeline (or Lambda's retry) delivers the same job again.
        let again = f.invoke(&event, TIMEOUT_MS);
        assert!(again.is_ok(), "{again:?}\n{}", f.logs());
        assert_eq!(
            again.response["answer"], "alreadyAnswered",
            "{}: {:#}",
            svc.name, again.response
        );
        let view = job(&w.local, &job_id(n));
        assert_eq!(view["result"], answered["result"], "{}", svc.name);
        assert_eq!(view["status"], answered["status"], "{}", svc.name);
        assert_eq!(
            service.hits(),
            hits,
            "{}: nothing is checked again",
            svc.name
        );
        assert_eq!(
            describe_services(&w),
            polls,
            "{}: nothing is checked again",
            svc.name
        );
        refused.push((svc.name.clone(), view["refused"].clone()));
    }
    let alerts = w.alerts(&queue).await;
    assert_eq!(alerts.len(), 1, "one alert, of the failure: {alerts:#?}");
    assert_eq!(
        alerts_of(&alerts, "shop-release", &execution_id(21)).len(),
        1,
        "{alerts:#?}"
    );
    assert_no_secret(&f);
    // No second PutJob*Result call: CodePipeline refused none.
    for (name, r) in refused {
        assert_eq!(r, json!([]), "{name}: the job was answered again: {r:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_user_parameters_fail_the_job_as_a_configuration_error_without_checking() {
    let w = world().await;
    let queue = w.queue("pipeline-config").await;
    let f = w.function(&[]);
    RollingService::completed("web", NEW_VERSION).seed(&w.local);

    let exec = execution_id(4);
    let cases: [(Value, &[&str]); 3] = [
        (
            json!({"service": {"name": "web"}, "pollSeconds": 0, "colour": 1}),
            &["UserParameters", "pollSeconds", "colour"],
        ),
        (
            json!("{\"service\": {\"name\": \"web\""),
            &["not valid JSON"],
        ),
        (
            json!({"service": {"cluster": "shop", "name": "web"},
                   "pipeline": {"name": "shop-release", "executionId": "#{codepipeline.PipelineExecutionId}"}}),
            &["pipeline.executionId"],
        ),
    ];
    for (n, (p, named)) in cases.into_iter().enumerate() {
        let id = job_id(30 + n as u32);
        seed_job(&w.local, Some(&id), "shop-release", &exec, &p);
        let steps = run_job(&f, &w.local, &id, TIMEOUT_MS, 2, |_, _| {
            panic!("a configuration error is final")
        });
        assert_eq!(steps.len(), 1, "{steps:#?}");
        let message = assert_failed(&steps[0], "ConfigurationError", &f);
        for name in named {
            assert!(
                message.contains(name),
                "the message names {name:?}: {message}"
            );
        }
    }
    assert_eq!(
        describe_services(&w),
        0,
        "nothing is checked with bad UserParameters"
    );
    let alerts = w.alerts(&queue).await;
    assert_eq!(alerts.len(), 3, "one alert per failed job: {alerts:#?}");
    for a in &alerts {
        assert_eq!(
            alert_doc(a)["metadata"]["eventType"],
            "CodePipelineVerifyFailed",
            "{a:#}"
        );
    }
    assert_no_secret(&f);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_without_a_usable_id_calls_nothing_and_no_artifact_credential_is_logged() {
    let w = world().await;
    let queue = w.queue("pipeline-badinput").await;
    let f = w.function(&[]);
    let web = Service::start(Mode::Healthy, NEW_VERSION);
    let rolling = RollingService::completed("web", NEW_VERSION);
    rolling.seed(&w.local);
    let exec = execution_id(5);
    let view = seed_job(
        &w.local,
        Some(&job_id(5)),
        "shop-release",
        &exec,
        &params(&rolling, &url(&web), "shop-release", &exec),
    );
    let event = view["event"].clone();
    let creds = &event["CodePipeline.job"]["data"]["artifactCredentials"];
    assert_eq!(
        creds["secretAccessKey"],
        deploy_hook_fixture::pipeline::ARTIFACT_SECRET
    );
    assert_eq!(
        creds["sessionToken"],
        deploy_hook_fixture::pipeline::ARTIFACT_SESSION_TOKEN
    );

    let mut not_an_id = event.clone();
    not_an_id["CodePipeline.job"]["id"] = json!("not-a-job-id");
    let mut no_id = event.clone();
    if let Some(j) = no_id["CodePipeline.job"].as_object_mut() {
        j.remove("id");
    }
    let mut numeric = event.clone();
    numeric["CodePipeline.job"]["id"] = json!(42);
    for bad in [&not_an_id, &no_id, &numeric] {
        let inv = f.invoke(bad, TIMEOUT_MS);
        assert_eq!(inv.error_type.as_deref(), Some("BadInput"), "{inv:?}");
        let message = inv.error_message.clone().unwrap_or_default();
        assert!(leaked_secret(&message).is_none(), "{message}");
    }
    // A CodeDeploy payload to the pipeline-only function is refused too.
    let inv = f.invoke(
        &json!({"DeploymentId": "d-ABCDEF123", "LifecycleEventHookExecutionId": "abc"}),
        TIMEOUT_MS,
    );
    assert!(!inv.is_ok(), "{inv:?}");
    assert!(
        w.local.emulator().requests(None).is_empty(),
        "nothing is called: {:#?}",
        w.local.emulator().requests(None)
    );
    assert_eq!(web.hits(), 0);
    assert_eq!(job(&w.local, &job_id(5))["status"], "InProgress");

    // The job itself, answered: the credentials it carries are not logged either.
    let steps = run_job(&f, &w.local, &job_id(5), TIMEOUT_MS, 2, |_, _| {
        panic!("a completed rollout needs no continuation")
    });
    assert_succeeded(&steps[0], &f);
    assert!(w.alerts(&queue).await.is_empty());
    assert_no_secret(&f);
}
