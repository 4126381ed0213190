use serde_json::json;

use super::*;

fn ok(doc: Value) -> Params {
    parse(Some(&Value::String(doc.to_string())), 20).unwrap()
}

fn problems(doc: Value) -> String {
    parse(Some(&Value::String(doc.to_string())), 20)
        .unwrap_err()
        .to_string()
}

#[test]
fn a_service_and_a_url_with_the_defaults() {
    let p = ok(
        json!({"service": {"cluster": "shop", "name": "web", "taskDefinition": "web:42"},
                      "url": "https://shop.example.com/health?deep=1"}),
    );
    let s = p.service.unwrap();
    assert_eq!(
        (
            s.cluster.as_str(),
            s.name.as_str(),
            s.task_definition.as_deref()
        ),
        ("shop", "web", Some("web:42"))
    );
    let u = p.url.unwrap();
    assert_eq!(u.origin, "https://shop.example.com:443");
    assert_eq!(p.checks.paths, vec!["/health?deep=1".to_owned()]);
    assert!(p.checks.probes);
    assert!(!p.checks.target_health);
    assert_eq!(
        (p.watch_seconds, p.timeout_seconds, p.poll_seconds),
        (0, 1_800, 15)
    );
}

#[test]
fn the_cluster_defaults_to_ecs_default_and_checks_apply_over_the_url() {
    let p = ok(
        json!({"service": {"name": "web"}, "url": "http://10.0.0.1:8080/",
                      "checks": {"paths": ["/a", "/b"], "requests": 5, "acceptStatus": ["2xx"]}}),
    );
    assert_eq!(p.service.unwrap().cluster, "default");
    assert_eq!(p.checks.paths, vec!["/a".to_owned(), "/b".to_owned()]);
    assert_eq!(p.checks.requests, 5);
}

#[test]
fn alarms_alone_with_a_watch() {
    let p = ok(json!({"alarms": {"prefix": "shop-"}, "watchSeconds": 120, "pollSeconds": 5}));
    assert!(p.url.is_none() && p.service.is_none());
    assert!(!p.checks.probes);
    assert_eq!((p.watch_seconds, p.poll_seconds), (120, 5));
}

#[test]
fn the_problems_name_their_fields() {
    let cases = [
        (json!({}), "nothing to verify"),
        (json!({"servise": {}}), "unknown field \"servise\""),
        (
            json!({"service": {"name": "web", "tasks": 1}}),
            "service: unknown field `tasks`",
        ),
        (
            json!({"service": {"cluster": "x"}}),
            "service: missing field `name`",
        ),
        (json!({"service": {"name": " "}}), "service.name must be"),
        (
            json!({"service": {"name": "w", "runningCount": -1}}),
            "service.runningCount",
        ),
        (
            json!({"url": "ftp://x/"}),
            "url: \"ftp://x/\" must be an http or https URL",
        ),
        (
            json!({"url": "http://u:p@x/"}),
            "url: must not carry credentials",
        ),
        (
            json!({"url": "http://x/#top"}),
            "url: \"http://x/#top\" must not have a #fragment",
        ),
        (json!({"url": 7}), "url must be a string"),
        (
            json!({"url": "http://x/", "checks": {"requests": "many"}}),
            "checks.requests: invalid type",
        ),
        (
            json!({"url": "http://x/", "checks": {"request": 3}}),
            "checks.request: unknown field `request`",
        ),
        (
            json!({"url": "http://x/", "checks": {"requests": 0}}),
            "checks: requests must be from 1 to 1000",
        ),
        (
            json!({"url": "http://x/", "checks": {"analysis": {}}}),
            "checks.analysis is not an option",
        ),
        (
            json!({"url": "http://x/", "checks": {"targetHealth": true}}),
            "checks.targetHealth is not an option",
        ),
        (
            json!({"url": "http://x/", "checks": {"callBackDelaySeconds": 5}}),
            "checks.callBackDelaySeconds is not an option",
        ),
        (
            json!({"service": {"name": "w"}, "checks": {"requests": 3}}),
            "checks configures the probes: set url too",
        ),
        (
            json!({"url": "http://x/", "checks": {"version": {"expected": "{taskDefinition}"}}}),
            "set service too",
        ),
        (json!({"alarms": {}}), "alarms needs names, prefix or tags"),
        (
            json!({"alarms": {"prefix": "a"}, "watchSeconds": 4000}),
            "watchSeconds must be a whole number of seconds from 0 to 3600",
        ),
        (
            json!({"alarms": {"prefix": "a"}, "timeoutSeconds": 10}),
            "timeoutSeconds must be",
        ),
        (
            json!({"alarms": {"prefix": "a"}, "pollSeconds": 1.5}),
            "pollSeconds must be",
        ),
        (
            json!({"url": "http://x/", "watchSeconds": 60}),
            "watchSeconds watches alarms",
        ),
        (
            json!({"url": "http://x/", "pipeline": {"name": "p", "executionId": "#{codepipeline.PipelineExecutionId}"}}),
            "pipeline.executionId",
        ),
        (
            json!({"url": "http://x/", "pipeline": {"name": "p", "executionId": "abc"}}),
            "is not a pipeline execution id",
        ),
        (
            json!({"service": {"name": "#{Deploy.Service}"}}),
            "did not resolve",
        ),
    ];
    for (doc, expected) in cases {
        let got = problems(doc.clone());
        assert!(got.starts_with("UserParameters: "), "{got}");
        assert!(got.contains(expected), "{doc}: {got}");
    }
}

#[test]
fn every_problem_is_listed_at_once() {
    let got = problems(json!({"url": "ftp://x/", "pollSeconds": 0, "extra": 1}));
    assert!(
        got.contains("url:") && got.contains("pollSeconds") && got.contains("\"extra\""),
        "{got}"
    );
}

#[test]
fn the_document_must_be_json_text_or_an_object() {
    assert!(
        parse(None, 20)
            .unwrap_err()
            .to_string()
            .contains("no UserParameters")
    );
    assert!(
        parse(Some(&json!("")), 20)
            .unwrap_err()
            .to_string()
            .contains("empty")
    );
    assert!(
        parse(Some(&json!("{nope")), 20)
            .unwrap_err()
            .to_string()
            .contains("not valid JSON")
    );
    assert!(
        parse(Some(&json!("[1]")), 20)
            .unwrap_err()
            .to_string()
            .contains("is not a JSON object")
    );
    assert!(
        parse(Some(&json!(3)), 20)
            .unwrap_err()
            .to_string()
            .contains("must be a JSON object")
    );
    let p = parse(Some(&json!({"url": "http://x/"})), 20).unwrap();
    assert_eq!(p.url.unwrap().origin, "http://x:80");
}
