//! The dashboard never shows an empty graph: every metric it draws is one the functions write.
//!
//! The dashboard body is rendered from template.yaml (`tests/localaws/dashboard_body.py`: its
//! Fn::Sub resolved for test values). Each metric of each widget (a metric array or a SEARCH
//! expression) gives a namespace, a metric name, and its dimensions: names with values for a
//! metric array, the names of the search's schema (exactly those, as CloudWatch matches a
//! schema) and the values its terms require. The four real binaries then run under the local
//! Runtime API for events that produce every one of those metrics, and the EMF records they
//! print are read back from their output: each metric in the functions' namespace must be in a
//! record with that namespace and exactly those dimension names and values. Metrics in `AWS/`
//! namespaces must name the template's own queues and functions, and cover all of them.
//!
//! Build first: `cargo build -p deploy-hook -p build-alerts -p pr-comments -p repo-replicator`.

mod deploy_hook_fixture;
mod repo_replicator_support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use codehooks_tests::{Function, LocalAws, event, fill_build_event, sdk_config_as};
use serde_json::{Value, json};

/// One metric the dashboard draws.
#[derive(Debug, Clone)]
struct Shown {
    widget: String,
    namespace: String,
    metric: String,
    /// Every dimension name of the metric, with the value it must have when one is given.
    dimensions: BTreeMap<String, Option<String>>,
}

/// One EMF record a function printed.
#[derive(Debug, Clone)]
struct Written {
    namespace: String,
    dimensions: BTreeMap<String, String>,
    metrics: BTreeSet<String>,
}

fn rendered() -> Value {
    let out = Command::new(codehooks_tests::python())
        .arg(codehooks_tests::repo_root().join("tests/localaws/dashboard_body.py"))
        .output()
        .expect("run dashboard_body.py");
    assert!(
        out.status.success(),
        "dashboard_body.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("dashboard_body.py prints JSON")
}

/// `"a"` or `a` without its quotes.
fn unquote(s: &str) -> String {
    s.trim().trim_matches('"').to_owned()
}

/// The metric a SEARCH expression finds: `SEARCH('{ns,Dim,..} Key="v" ..', 'Stat', period)`.
fn parse_search(widget: &str, expression: &str) -> Shown {
    let inner = expression
        .strip_prefix("SEARCH('")
        .and_then(|s| s.split_once("',").map(|(q, _)| q))
        .unwrap_or_else(|| panic!("{widget}: not a SEARCH expression: {expression}"));
    let (schema, terms) = inner
        .trim()
        .strip_prefix('{')
        .and_then(|s| s.split_once('}'))
        .unwrap_or_else(|| panic!("{widget}: the SEARCH has no schema: {expression}"));
    let mut names = schema.split(',').map(unquote);
    let namespace = names.next().unwrap_or_default();
    let mut dimensions: BTreeMap<String, Option<String>> = names.map(|n| (n, None)).collect();
    let mut metric = None;
    for term in terms.split_whitespace() {
        let (key, value) = term
            .split_once('=')
            .unwrap_or_else(|| panic!("{widget}: search term {term:?} is not Key=\"value\""));
        let value = unquote(value);
        if key == "MetricName" {
            metric = Some(value);
        } else {
            let slot = dimensions.get_mut(key).unwrap_or_else(|| {
                panic!("{widget}: the term {key} is not a dimension of the schema")
            });
            *slot = Some(value);
        }
    }
    Shown {
        widget: widget.to_owned(),
        namespace,
        metric: metric.unwrap_or_else(|| panic!("{widget}: the SEARCH names no MetricName")),
        dimensions,
    }
}

/// Every metric the dashboard draws.
fn shown(body: &Value) -> Vec<Shown> {
    let mut out = Vec::new();
    for w in body["widgets"].as_array().expect("widgets") {
        let title = w["properties"]["title"].as_str().unwrap_or("?").to_owned();
        for m in w["properties"]["metrics"].as_array().into_iter().flatten() {
            let parts = m.as_array().expect("a metric is an array");
            if let Some(expression) = parts[0].get("expression").and_then(Value::as_str) {
                out.push(parse_search(&title, expression));
                continue;
            }
            let strings: Vec<String> = parts
                .iter()
                .take_while(|p| p.is_string())
                .map(|p| p.as_str().unwrap_or_default().to_owned())
                .collect();
            assert!(
                strings.len() >= 2 && strings.len().is_multiple_of(2),
                "{title}: {m}"
            );
            out.push(Shown {
                widget: title.clone(),
                namespace: strings[0].clone(),
                metric: strings[1].clone(),
                dimensions: strings[2..]
                    .chunks(2)
                    .map(|kv| (kv[0].clone(), Some(kv[1].clone())))
                    .collect(),
            });
        }
    }
    out
}

/// The EMF records in a function's output.
fn written(logs: &str) -> Vec<Written> {
    let mut out = Vec::new();
    for line in logs.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(declared) = v["_aws"]["CloudWatchMetrics"].as_array() else {
            continue;
        };
        for d in declared {
            let metrics = d["Metrics"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["Name"].as_str().map(str::to_owned))
                .collect();
            for set in d["Dimensions"].as_array().into_iter().flatten() {
                let dimensions = set
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(|n| (n.to_owned(), v[n].as_str().unwrap_or_default().to_owned()))
                    .collect();
                out.push(Written {
                    namespace: d["Namespace"].as_str().unwrap_or_default().to_owned(),
                    dimensions,
                    metrics: BTreeSet::clone(&metrics),
                });
            }
        }
    }
    out
}

fn ok(f: &Function, e: &Value) -> Value {
    let r = f.invoke(e, 30_000);
    assert!(r.is_ok(), "{} failed: {r:?}\n{}", f.name, f.logs());
    r.response
}

/// deploy-hook answering an Amazon ECS rollback (a decision with no check to run).
async fn deploy_hook() -> String {
    use deploy_hook_fixture::ecs::NativeDeployment;
    let w = deploy_hook_fixture::world::World::start().await;
    let f = w.function(&[("CODEHOOKS_HOOK_BASE_URL", "http://127.0.0.1:{port}")]);
    let d = NativeDeployment::new("dash", "DashboardDeployment01", 9_000_000_000_000_000_002);
    let answer = ok(
        &f,
        &d.rollback_payload("9a1b-dashboard", "TEST_TRAFFIC_SHIFT"),
    );
    assert_eq!(answer["hookStatus"], "SUCCEEDED", "{answer}\n{}", f.logs());
    f.logs()
}

/// build-alerts: a failed build in a pipeline (published), its pipeline action (suppressed)
/// and the build's event again (duplicate).
async fn build_alerts() -> String {
    const REGION: &str = "eu-west-1";
    const TABLE: &str = "codehooks-alerts";
    let local = LocalAws::builder()
        .moto()
        .emulator()
        .runtime_api("build-alerts")
        .start();
    let seed: Value =
        serde_json::from_str(include_str!("build_alerts_fixture/seed.json")).expect("seed.json");
    local.emulator().seed(&seed);
    let sdk = local.sdk_config(local.moto_url(), REGION).await;
    let (topic, _queue) =
        codehooks_tests::topic_with_queue(&sdk, "codehooks-alerts", "alerts-subscriber").await;
    codehooks_tests::idempotency_table(&sdk, TABLE).await;
    let f = local.function(
        "build-alerts",
        REGION,
        &[
            ("CODEHOOKS_ALERT_TOPIC_ARN", topic.as_str()),
            ("CODEHOOKS_ALERTS_TABLE", TABLE),
        ],
    );
    let build = event("build-alerts-codebuild-pipeline-failed.json");
    let action = event("build-alerts-codepipeline-action-failed-build.json");
    for (e, expected) in [
        (&build, "published"),
        (&action, "suppressed"),
        (&build, "duplicate"),
    ] {
        let answer = ok(&f, e);
        assert_eq!(answer["outcome"], expected, "{answer}\n{}", f.logs());
    }
    f.logs()
}

/// pr-comments: a pull request opened (started), a push (started, the old build stopped), the
/// old build's end (superseded) and the new build's (reported).
async fn pr_comments() -> String {
    const REGION: &str = "us-east-1";
    const REPO: &str = "codehooks-demo";
    const PROJECT: &str = "codehooks-pr-validation";
    const MAIN: &str = "1f2e3d4c5b6a79880716253443526170f8e9dacb";
    const COMMIT_A: &str = "4c3a9e0f1b2d5c6e7f8091a2b3c4d5e6f7a8b9c0";
    const COMMIT_B: &str = "9d8c7b6a5f4e3d2c1b0a99887766554433221100";
    let local = LocalAws::builder()
        .emulator()
        .runtime_api("pr-comments")
        .start();
    local.emulator().seed(&json!({
        "region": REGION,
        "codecommit": {"repositories": [
            {"repositoryName": REPO, "branches": {"main": MAIN, "feature": COMMIT_A}}
        ]},
        "codebuild": {"projects": [
            {"name": PROJECT,
             "source": {"type": "CODECOMMIT", "location": format!("https://git-codecommit.{REGION}.amazonaws.com/v1/repos/{REPO}")}}
        ]}
    }));
    let sdk = sdk_config_as(local.emulator_url(), REGION, "AKIDDEVELOPER").await;
    let pr = aws_sdk_codecommit::Client::new(&sdk)
        .create_pull_request()
        .title("Dashboard")
        .targets(
            aws_sdk_codecommit::types::Target::builder()
                .repository_name(REPO)
                .source_reference("feature")
                .destination_reference("main")
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("CreatePullRequest")
        .pull_request
        .expect("pull request");
    let pr_id = pr.pull_request_id.expect("id");
    let f = local.function(
        "pr-comments",
        REGION,
        &[
            ("CODEHOOKS_PR_REPOSITORIES", REPO),
            ("CODEHOOKS_PR_BUILD_PROJECT", PROJECT),
            (
                "CODEHOOKS_PR_AUTHOR_ARN",
                "arn:aws:iam::123456789012:role/AKIDCODEHOOKSTEST",
            ),
        ],
    );
    let state = || local.emulator().state(REGION);
    let pr_event = |file: &str| {
        let s = state();
        let p = &s["pullRequests"][&pr_id]["pullRequest"];
        let t = &p["pullRequestTargets"][0];
        let mut e = event(file);
        let d = &mut e["detail"];
        d["pullRequestId"] = json!(pr_id);
        d["sourceCommit"] = t["sourceCommit"].clone();
        d["destinationCommit"] = t["destinationCommit"].clone();
        d["sourceReference"] = t["sourceReference"].clone();
        d["revisionId"] = p["revisionId"].clone();
        d["title"] = p["title"].clone();
        e
    };
    let builds = || {
        let mut b: Vec<Value> = state()["builds"]
            .as_object()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        b.sort_by_key(|b| b["buildNumber"].as_u64());
        b
    };
    let build_event = |file: &str, build: &Value| {
        let mut e = event(file);
        fill_build_event(&mut e, build);
        e["id"] = json!(format!(
            "{}-{}",
            build["id"].as_str().unwrap_or_default(),
            build["buildStatus"].as_str().unwrap_or_default()
        ));
        let info = &mut e["detail"]["additional-information"];
        info["source-version"] = build["sourceVersion"].clone();
        if let Some(resolved) = build.get("resolvedSourceVersion") {
            info["resolved-source-version"] = resolved.clone();
        }
        e
    };
    let action = |e: &Value, expected: &str| {
        let answer = ok(&f, e);
        assert_eq!(answer["action"], expected, "{answer}\n{}", f.logs());
    };
    action(
        &pr_event("pr-comments-pull-request-created.json"),
        "started",
    );
    local
        .emulator()
        .move_branch(REGION, REPO, "feature", COMMIT_B);
    action(
        &pr_event("pr-comments-pull-request-source-branch-updated.json"),
        "started",
    );
    let b = builds();
    assert_eq!(b.len(), 2, "{b:#?}");
    action(
        &build_event("pr-comments-build-failed.json", &b[0]),
        "superseded",
    );
    let phases = json!([
        {"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED", "durationInSeconds": 0},
        {"phaseType": "BUILD", "phaseStatus": "SUCCEEDED", "durationInSeconds": 41},
        {"phaseType": "COMPLETED"}
    ]);
    let id = b[1]["id"].as_str().unwrap_or_default().to_owned();
    local
        .emulator()
        .set_build(REGION, &id, "SUCCEEDED", &phases);
    let ended = builds()
        .into_iter()
        .find(|x| x["id"] == b[1]["id"])
        .expect("the second build");
    action(
        &build_event("pr-comments-build-succeeded.json", &ended),
        "reported",
    );
    f.logs()
}

/// repo-replicator: a branch created at the source, replicated to both replicas.
fn repo_replicator() -> String {
    use repo_replicator_support::*;
    let s = Setup::builder("dash")
        .repositories_env("payments-api")
        .start();
    let f = s.start(&[]);
    s.work.commit("README.md", "payments\n");
    s.work.push("refs/heads/*:refs/heads/*");
    let e = reference_event(
        "repo-replicator-reference-created.json",
        "payments-api",
        "ev-dash",
    );
    let r = invoke_ok(&f, &e);
    assert_eq!(r["status"], "replicated", "{r}");
    f.logs()
}

/// Whether `w` is the record `s` draws.
fn draws(s: &Shown, w: &Written) -> bool {
    w.namespace == s.namespace
        && w.metrics.contains(&s.metric)
        && w.dimensions.keys().eq(s.dimensions.keys())
        && s.dimensions
            .iter()
            .all(|(k, v)| v.as_ref().is_none_or(|v| w.dimensions.get(k) == Some(v)))
}

#[test]
fn the_search_parser_reads_schema_and_terms() {
    let s = parse_search(
        "t",
        "SEARCH('{\"a/ns\",Function,Repository} Function=\"repo-replicator\" MetricName=\"BytesPushed\"', 'Sum', 300)",
    );
    assert_eq!(s.namespace, "a/ns");
    assert_eq!(s.metric, "BytesPushed");
    assert_eq!(
        s.dimensions,
        BTreeMap::from([
            ("Function".to_owned(), Some("repo-replicator".to_owned())),
            ("Repository".to_owned(), None),
        ])
    );
}

#[test]
fn a_record_is_drawn_only_with_exactly_the_dimensions_and_values() {
    let s = parse_search(
        "t",
        "SEARCH('{ns,Function,Outcome} Function=\"pr-comments\" Outcome=\"reported\" MetricName=\"ValidationSeconds\"', 'p90', 300)",
    );
    let record = |dims: &[(&str, &str)], metric: &str| Written {
        namespace: "ns".into(),
        dimensions: dims
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        metrics: BTreeSet::from([metric.to_owned()]),
    };
    let exact = [("Function", "pr-comments"), ("Outcome", "reported")];
    assert!(draws(&s, &record(&exact, "ValidationSeconds")));
    assert!(!draws(&s, &record(&exact, "DurationMs")));
    assert!(!draws(
        &s,
        &record(
            &[("Function", "pr-comments"), ("Outcome", "started")],
            "ValidationSeconds"
        )
    ));
    assert!(!draws(
        &s,
        &record(&[("Function", "pr-comments")], "ValidationSeconds")
    ));
    let more = [
        ("Function", "pr-comments"),
        ("Outcome", "reported"),
        ("Check", "lint"),
    ];
    assert!(!draws(&s, &record(&more, "ValidationSeconds")));
}

#[test]
fn aws_metrics_name_every_queue_and_function_of_the_template() {
    let doc = rendered();
    let resources = doc["resources"].as_object().expect("resources");
    let values = doc["values"].as_object().expect("values");
    let of_type = |t: &str| -> BTreeSet<String> {
        resources
            .iter()
            .filter(|(k, v)| *v == t && (t != "AWS::SQS::Queue" || k.ends_with("DeadLetterQueue")))
            .map(|(k, _)| k.clone())
            .collect()
    };
    let (mut queues, mut functions) = (BTreeSet::new(), BTreeSet::new());
    for s in shown(&doc["body"]) {
        if !s.namespace.starts_with("AWS/") {
            continue;
        }
        let (dimension, kind, seen) = match (s.namespace.as_str(), s.metric.as_str()) {
            ("AWS/SQS", "ApproximateNumberOfMessagesVisible") => {
                ("QueueName", "AWS::SQS::Queue", &mut queues)
            }
            ("AWS/Lambda", "Errors" | "Throttles") => {
                ("FunctionName", "AWS::Serverless::Function", &mut functions)
            }
            other => panic!("{}: unexpected AWS metric {other:?}", s.widget),
        };
        let value = s.dimensions[dimension].clone().unwrap_or_default();
        let logical = values[&value].as_str().expect("a template resource");
        assert_eq!(resources[logical], kind, "{}: {logical}", s.widget);
        seen.insert(logical.to_owned());
    }
    assert_eq!(
        queues,
        of_type("AWS::SQS::Queue"),
        "every dead-letter queue"
    );
    assert_eq!(
        functions,
        of_type("AWS::Serverless::Function"),
        "every function"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codehooks_metric_on_the_dashboard_is_one_a_function_writes() {
    let doc = rendered();
    let namespace = doc["parameters"]["MetricsNamespace"]
        .as_str()
        .expect("MetricsNamespace")
        .to_owned();
    let ours: Vec<Shown> = shown(&doc["body"])
        .into_iter()
        .filter(|s| !s.namespace.starts_with("AWS/"))
        .collect();
    assert!(ours.len() >= 10, "{ours:#?}");
    for s in &ours {
        assert_eq!(s.namespace, namespace, "{}: namespace", s.widget);
    }

    let mut records = Vec::new();
    for logs in [
        deploy_hook().await,
        build_alerts().await,
        pr_comments().await,
        repo_replicator(),
    ] {
        records.extend(written(&logs));
    }
    assert!(!records.is_empty());

    let missing: Vec<String> = ours
        .iter()
        .filter(|s| !records.iter().any(|w| draws(s, w)))
        .map(|s| format!("{}: {} {:?}", s.widget, s.metric, s.dimensions))
        .collect();
    assert!(
        missing.is_empty(),
        "the dashboard draws metrics no function wrote:\n{}\nwritten: {:#?}",
        missing.join("\n"),
        records
            .iter()
            .map(|w| (&w.dimensions, &w.metrics))
            .collect::<Vec<_>>()
    );
}
