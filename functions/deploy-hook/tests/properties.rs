//! Property tests of deploy-hook: the lifecycle hook payloads (CodeDeploy's and Amazon ECS's,
//! and telling them apart), CodePipeline's jobs and their `UserParameters`, the hook policy
//! document (`CODEHOOKS_HOOK_POLICY`), its status ranges and the probe's response judge never
//! panic on any input; a policy that is accepted only yields checks within the documented
//! ranges; the judge passes a response only when it meets every criterion.
//!
//! Each property states its case count; the whole file runs in a few seconds.

use deploy_hook::HookPayload;
use deploy_hook::config::parse_base_url;
use deploy_hook::contract::Contract;
use deploy_hook::criteria::{Criteria, Verdict};
use deploy_hook::native::event::NativeEvent;
use deploy_hook::pipeline::event::JobEvent;
use deploy_hook::pipeline::params;
use deploy_hook::policy::{Checks, Hook, JsonField, Policy, StatusRange, VersionAssertion};
use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value, json};

#[path = "../../../shared/tests/support/generators.rs"]
mod generators;
use generators::*;

const NATIVE_SAMPLES: [&str; 4] = [
    include_str!("../../../events/deploy-hook-ecs-post-test-traffic-shift.json"),
    include_str!("../../../events/deploy-hook-ecs-production-traffic-shift.json"),
    include_str!("../../../events/deploy-hook-ecs-production-traffic-shift-rollback.json"),
    include_str!("../../../events/deploy-hook-ecs-post-scale-up-flat.json"),
];

fn near_valid_native_payload() -> impl Strategy<Value = Value> {
    (0..NATIVE_SAMPLES.len(), edits()).prop_map(|(i, e)| mutate(sample(NATIVE_SAMPLES[i]), &e))
}

const SAMPLES: [&str; 5] = [
    include_str!("../../../events/deploy-hook-after-allow-test-traffic.json"),
    include_str!("../../../events/deploy-hook-after-allow-traffic.json"),
    include_str!("../../../events/deploy-hook-after-install.json"),
    include_str!("../../../events/deploy-hook-before-allow-traffic.json"),
    include_str!("../../../events/deploy-hook-before-install.json"),
];

fn near_valid_payload() -> impl Strategy<Value = Value> {
    (0..SAMPLES.len(), edits()).prop_map(|(i, e)| mutate(sample(SAMPLES[i]), &e))
}

const PIPELINE_SAMPLES: [&str; 2] = [
    include_str!("../../../events/deploy-hook-codepipeline-job.json"),
    include_str!("../../../events/deploy-hook-codepipeline-job-continued.json"),
];

fn near_valid_job() -> impl Strategy<Value = Value> {
    (0..PIPELINE_SAMPLES.len(), edits()).prop_map(|(i, e)| mutate(sample(PIPELINE_SAMPLES[i]), &e))
}

/// A `UserParameters` document: the sample's, edited, as CodePipeline passes it (text).
fn near_valid_user_parameters() -> impl Strategy<Value = Value> {
    let doc = sample(PIPELINE_SAMPLES[0])["CodePipeline.job"]["data"]["actionConfiguration"]
        ["configuration"]["UserParameters"]
        .as_str()
        .map(sample)
        .unwrap_or_default();
    edits().prop_map(move |e| Value::String(mutate(doc.clone(), &e).to_string()))
}

const HOOK_NAMES: [&str; 6] = [
    "BeforeInstall",
    "AfterInstall",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AfterAllowTraffic",
    "AfterSomething",
];

/// Status texts: the documented forms, their edges, and junk.
fn status_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,4}",
        "[0-9]{1,4} ?- ?[0-9]{1,4}",
        "[0-9x]xx",
        "[0-9+ -]{0,8}",
        awkward_text(),
    ]
}

/// A number near the edges of the documented ranges, or any.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![
            0u64, 1, 31, 32, 33, 49, 50, 99, 100, 999, 1_000, 1_001, 60_000, 60_001, 600_000,
            600_001, 900_000, 900_001
        ])
        .prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-2.0f64..2.0).prop_map(|f| json!(f)),
        json_leaf(),
    ]
}

/// One override document: a random subset of its fields, each with a value of about the
/// right type.
fn check_override() -> BoxedStrategy<Value> {
    let field = |name: &'static str, v: BoxedStrategy<Value>| {
        prop::option::weighted(0.3, v).prop_map(move |v| v.map(|v| (name.to_owned(), v)))
    };
    let boolean = || any::<bool>().prop_map(Value::from).boxed();
    let num = || number().boxed();
    let path = prop_oneof!["/[a-z/]{0,12}", "[a-z/ ]{0,6}", awkward_text()];
    (
        (
            field("enabled", boolean()),
            field("targetHealth", boolean()),
            field("probes", boolean()),
            field(
                "paths",
                prop::collection::vec(path, 0..3)
                    .prop_map(|p| json!(p))
                    .boxed(),
            ),
            field(
                "hostName",
                prop_oneof!["[a-z0-9-]{1,10}(\\.[a-z0-9-]{1,10}){0,3}", awkward_text()]
                    .prop_map(Value::from)
                    .boxed(),
            ),
            field("requests", num()),
            field("windowMs", num()),
            field("intervalMs", num()),
        ),
        (
            field("concurrency", num()),
            field("timeoutMs", num()),
            field(
                "acceptStatus",
                prop::collection::vec(status_text(), 0..3)
                    .prop_map(|s| json!(s))
                    .boxed(),
            ),
            field("bodyContains", awkward_text().prop_map(Value::from).boxed()),
            field(
                "jsonField",
                (
                    prop_oneof!["(/[a-z]{1,4}){0,2}", awkward_text()],
                    json_leaf(),
                )
                    .prop_map(|(p, e)| json!({"pointer": p, "equals": e}))
                    .boxed(),
            ),
            field(
                "version",
                (
                    prop::option::of(prop_oneof!["[A-Za-z0-9_-]{0,12}", awkward_text()]),
                    awkward_text(),
                )
                    .prop_map(|(h, e)| json!({"header": h, "expected": e}))
                    .boxed(),
            ),
            field("minSuccessRate", num()),
            field("maxP95Ms", num()),
        ),
        (
            field("maxP99Ms", num()),
            field("maxConsecutiveFailures", num()),
            field("warmupMs", num()),
            field("targetHealthWaitMs", num()),
            field("targetHealthPollMs", num()),
            field("unknownField", boolean()),
        ),
    )
        .prop_map(|(a, b, c)| {
            let fields = [
                a.0, a.1, a.2, a.3, a.4, a.5, a.6, a.7, b.0, b.1, b.2, b.3, b.4, b.5, b.6, b.7,
                c.0, c.1, c.2, c.3, c.4, c.5,
            ];
            Value::Object(fields.into_iter().flatten().collect::<Map<String, Value>>())
        })
        .boxed()
}

fn policy_document() -> BoxedStrategy<Value> {
    let hooks = || {
        prop::collection::btree_map(
            prop::sample::select(HOOK_NAMES.to_vec()),
            check_override(),
            0..3,
        )
        .prop_map(|m| json!(m))
    };
    (
        prop::option::of(check_override()),
        prop::option::of(hooks()),
        prop::option::of(prop::collection::btree_map(
            prop_oneof![Just("shop-prod".to_owned()), awkward_text()],
            (check_override(), hooks()).prop_map(|(d, h)| json!({"default": d, "hooks": h})),
            0..2,
        )),
    )
        .prop_map(|(default, hooks, groups)| {
            let mut doc = Map::new();
            if let Some(d) = default {
                doc.insert("default".into(), d);
            }
            if let Some(h) = hooks {
                doc.insert("hooks".into(), h);
            }
            if let Some(g) = groups {
                doc.insert("deploymentGroups".into(), json!(g));
            }
            Value::Object(doc)
        })
        .boxed()
}

/// Checks with random criteria, for the judge.
fn checks() -> BoxedStrategy<Checks> {
    (
        prop::sample::select(Hook::CODEDEPLOY.to_vec()),
        prop::collection::vec((100u16..=599, 0u16..100), 1..3),
        prop::option::of(prop_oneof!["[a-z]{1,4}", awkward_text()]),
        prop::option::of((
            prop_oneof![Just(String::new()), "(/[a-z]{1,3}){1,2}"],
            json_leaf(),
        )),
        prop::option::of(prop::option::of(prop_oneof![
            "[a-z-]{1,8}",
            "[A-Za-z_]{1,8}"
        ])),
    )
        .prop_map(|(hook, ranges, body, json_field, version)| {
            let mut c = Checks::defaults(hook);
            c.accept_status = ranges
                .into_iter()
                .map(|(from, width)| StatusRange {
                    from,
                    to: from.saturating_add(width),
                })
                .collect();
            c.body_contains = body.filter(|b| !b.is_empty());
            c.json_field = json_field.map(|(pointer, equals)| JsonField { pointer, equals });
            c.version = version.map(|header| VersionAssertion {
                header,
                expected: "{deploymentId}".into(),
            });
            c
        })
        .boxed()
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        arb_json().prop_map(|v| v.to_string().into_bytes()),
        (awkward_text(), "[a-z]{1,4}").prop_map(|(a, b)| format!("{a}{b}").into_bytes()),
    ]
}

fn headers() -> impl Strategy<Value = HeaderMap> {
    prop::collection::vec(
        (
            "[a-z-]{1,8}|[A-Za-z_]{1,8}",
            prop::collection::vec(any::<u8>(), 0..20),
        ),
        0..4,
    )
    .prop_map(|pairs| {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(&value),
            ) {
                map.append(n, v);
            }
        }
        map
    })
}

// ---------------------------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(cases(256))]

    /// The hook payload: never panics; what it accepts is a deployment id and an execution id
    /// CodeDeploy could have sent.
    #[test]
    fn hook_payload_never_panics_and_checks_ids(v in prop_oneof![3 => near_valid_payload(), 1 => arb_json()]) {
        if let Ok(p) = HookPayload::parse(&v) {
            let id = &p.deployment_id;
            prop_assert!(id.starts_with("d-") && id.len() <= 64);
            prop_assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
            let x = &p.hook_execution_id;
            prop_assert!(!x.is_empty() && x.len() <= 2048);
            prop_assert!(!x.chars().any(|c| c.is_control() || c.is_whitespace()));
        }
    }

    /// Amazon ECS's payload: never panics; what it accepts names a stage of ECS and ARNs of
    /// one cluster and service, with weights that are percentages.
    #[test]
    fn native_payload_never_panics_and_keeps_to_one_service(
        v in prop_oneof![3 => near_valid_native_payload(), 1 => arb_json()]
    ) {
        if let Ok(e) = NativeEvent::parse(&v) {
            prop_assert!(e.stage.is_ecs_stage());
            for arn in [&e.resource_arn, &e.service_arn, &e.target_revision_arn] {
                prop_assert!(arn.contains(&format!("/{}/{}", e.cluster, e.service)), "{}", arn);
            }
            prop_assert!(e.test_weights.values().chain(e.production_weights.values()).all(|w| *w <= 100));
            // Recognising a rollback never panics either.
            let _ = deploy_hook::native::rollback::rollback(&e);
        }
    }

    /// A CodePipeline job: never panics; what it accepts names a job id CodePipeline could
    /// have sent, and its `UserParameters` either validate within the documented ranges or are
    /// refused naming a field.
    #[test]
    fn pipeline_jobs_never_panic_and_keep_to_the_ranges(
        v in prop_oneof![3 => near_valid_job(), 1 => arb_json()],
        doc in near_valid_user_parameters(),
    ) {
        if let Ok(job) = JobEvent::parse(&v) {
            prop_assert!(deploy_hook::pipeline::event::is_uuid(&job.id));
            let _ = params::parse(job.user_parameters.as_ref(), 20);
        }
        match params::parse(Some(&doc), 20) {
            Ok(p) => {
                prop_assert!(p.service.is_some() || p.url.is_some() || p.alarms.is_some());
                prop_assert!(p.watch_seconds <= 3_600);
                prop_assert!((60..=3_600).contains(&p.timeout_seconds));
                prop_assert!((1..=300).contains(&p.poll_seconds));
                prop_assert!(!p.checks.target_health);
            }
            Err(e) => prop_assert!(e.to_string().starts_with("UserParameters: ")),
        }
    }

    /// The contract of any payload: never panics; a payload it calls CodeDeploy's parses as
    /// CodeDeploy's.
    #[test]
    fn contracts_are_told_apart_without_panics(
        v in prop_oneof![2 => near_valid_native_payload(), 2 => near_valid_payload(), 1 => arb_json()]
    ) {
        if let Ok(Contract::CodeDeploy(p)) = Contract::of(&v) {
            prop_assert_eq!(Some(p), HookPayload::parse(&v).ok());
        }
    }

    /// The policy: any text, any JSON and near-valid documents never panic; a policy that is
    /// accepted gives every hook and group checks within the documented ranges.
    #[test]
    fn accepted_policies_give_checks_within_their_ranges(
        doc in prop_oneof![
            4 => policy_document().prop_map(|d| d.to_string()),
            1 => arb_json().prop_map(|d| d.to_string()),
            1 => awkward_text(),
        ],
        paths in prop::collection::vec(prop_oneof!["/[a-z]{0,6}", awkward_text()], 0..2),
        host in prop::option::of(prop_oneof!["[a-z]{1,8}\\.example\\.com", awkward_text()]),
        group in prop_oneof![Just("shop-prod".to_owned()), awkward_text()],
    ) {
        let Ok(policy) = Policy::parse(Some(&doc), paths, host) else { return Ok(()) };
        for hook in Hook::CODEDEPLOY {
            let c = policy.checks(hook, &group);
            prop_assert!((1..=1_000).contains(&c.requests), "requests {}", c.requests);
            prop_assert!(c.window_ms.is_none_or(|w| (1_000..=600_000).contains(&w)));
            prop_assert!(c.interval_ms <= 60_000 && (1..=32).contains(&c.concurrency));
            prop_assert!((50..=60_000).contains(&c.timeout_ms));
            prop_assert!((1..=1_000).contains(&c.max_consecutive_failures));
            prop_assert!(c.warmup_ms <= 600_000 && c.target_health_wait_ms <= 900_000);
            prop_assert!((100..=60_000).contains(&c.target_health_poll_ms));
            prop_assert!((0.0..=1.0).contains(&c.min_success_rate));
            prop_assert!(c.max_p95_ms.is_none_or(|v| (1..=600_000).contains(&v)));
            prop_assert!(c.max_p99_ms.is_none_or(|v| (1..=600_000).contains(&v)));
            prop_assert!(!c.paths.is_empty());
            for p in &c.paths {
                prop_assert!(p.starts_with('/') && !p.chars().any(|c| c.is_whitespace() || c.is_control()), "path {:?}", p);
            }
            if let Some(h) = &c.host_name {
                prop_assert!(codehooks::names::is_host_name(h), "host {:?}", h);
            }
            prop_assert!(!c.accept_status.is_empty());
            prop_assert!(c.body_contains.as_ref().is_none_or(|b| !b.is_empty()));
            if let Some(j) = &c.json_field {
                prop_assert!(j.pointer.is_empty() || j.pointer.starts_with('/'));
            }
            if let Some(v) = &c.version {
                prop_assert!(!v.expected.trim().is_empty());
                prop_assert!(v.header.as_ref().is_none_or(|h| HeaderName::from_bytes(h.as_bytes()).is_ok()), "header {:?}", v.header);
            }
        }
    }

    /// Status ranges: never panic, and the documented forms read as documented.
    #[test]
    fn status_ranges_read_the_documented_forms(s in status_text(), a in 100u16..=599, b in 100u16..=599, d in 1u16..=5) {
        let _ = StatusRange::parse(&s);
        let one = StatusRange::parse(&a.to_string());
        prop_assert_eq!(one.map(|r| (r.from, r.to)), Some((a, a)));
        let range = StatusRange::parse(&format!("{a}-{b}")).map(|r| (r.from, r.to));
        prop_assert_eq!(range, (a <= b).then_some((a, b)));
        let class = StatusRange::parse(&format!("{d}xx")).map(|r| (r.from, r.to));
        prop_assert_eq!(class, Some((d * 100, d * 100 + 99)));
    }

    /// The judge: never panics; passes only a response that meets every criterion, and fails
    /// on status exactly when the status is not accepted.
    #[test]
    fn judge_passes_only_what_meets_every_criterion(
        checks in checks(), status in any::<u16>(), headers in headers(), body in body(),
        token in prop::option::of("[a-z]{1,3}"),
    ) {
        let criteria = Criteria { checks: checks.clone(), version_token: token.clone() };
        let verdict = criteria.judge(status, &headers, &body);
        let accepted = checks.accepts(status);
        prop_assert_eq!(matches!(verdict, Verdict::Fail("status", _)), !accepted);
        if verdict == Verdict::Pass {
            let text = String::from_utf8_lossy(&body);
            if let Some(b) = &checks.body_contains {
                prop_assert!(text.contains(b.as_str()));
            }
            if let Some(j) = &checks.json_field {
                let v: Result<Value, _> = serde_json::from_slice(&body);
                prop_assert!(matches!(v, Ok(ref v) if v.pointer(&j.pointer) == Some(&j.equals)));
            }
            if let (Some(v), Some(t)) = (&checks.version, &token) {
                let seen = match &v.header {
                    Some(h) => headers.get(h.as_str()).and_then(|x| x.to_str().ok()).unwrap_or("").to_owned(),
                    None => text.into_owned(),
                };
                prop_assert!(seen.contains(t.as_str()));
            }
        }
    }

    /// A response that meets every criterion passes.
    #[test]
    fn judge_passes_a_response_that_meets_every_criterion(
        hook in prop::sample::select(Hook::CODEDEPLOY.to_vec()), status in 200u16..=299,
        word in "[a-z]{1,6}", token in "[a-z0-9]{1,8}",
        // Values a health answer carries. (Long or extreme floats are left out: serde_json
        // without `float_roundtrip` may read two spellings of one double differently.)
        value in prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1_000_000i64..1_000_000, 1u32..4).prop_map(|(m, e)| json!(m as f64 / 10f64.powi(e as i32))),
            awkward_text().prop_map(Value::from),
        ],
    ) {
        let mut checks = Checks::defaults(hook);
        checks.body_contains = Some(word.clone());
        checks.json_field = Some(JsonField { pointer: "/status".into(), equals: value.clone() });
        checks.version = Some(VersionAssertion { header: Some("x-version".into()), expected: "{deploymentId}".into() });
        let body = json!({"status": value, "note": word}).to_string();
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&format!("v-{token}")) {
            headers.insert("x-version", v);
        }
        let criteria = Criteria { checks, version_token: Some(token) };
        prop_assert_eq!(criteria.judge(status, &headers, body.as_bytes()), Verdict::Pass);
    }

    /// The probe base URL template never panics; what it accepts is http(s) without
    /// credentials.
    #[test]
    fn base_url_never_panics(t in prop_oneof![
        awkward_text(),
        "(https?|ftp)://([a-z]{1,4}(:[a-z]{0,3})?@)?[a-z0-9.\\[\\]:]{0,20}(:\\{port\\}|:[0-9]{1,6})?(/[a-z]{0,4})?",
    ], port in any::<u16>()) {
        if let Ok((scheme, host, _)) = parse_base_url(&t, port) {
            prop_assert!(scheme == "http" || scheme == "https");
            prop_assert!(!host.is_empty() && !host.contains('@'));
        }
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// Every range `acceptStatus` accepts is within the HTTP status codes 100 to 599, as
    /// the ranges `a-b` already are.
    #[test]
    fn status_ranges_stay_within_http_statuses(s in status_text()) {
        if let Some(r) = StatusRange::parse(&s) {
            prop_assert!(100 <= r.from && r.from <= r.to && r.to <= 599, "{:?} reads as {}-{}", s, r.from, r.to);
        }
    }
}
