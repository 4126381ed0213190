//! A CodeDeploy Lambda deployment seeded into the emulator: the deployment (`computePlatform`
//! `Lambda`, an AppSpec naming the function, alias and versions), its `lambdaTarget` with the
//! lifecycle events and `lambdaFunctionInfo`, the pending hook; the function's versions in the
//! emulator's Lambda (answering as configured); and the function's CloudWatch metrics, in the
//! series AWS Lambda publishes for invocations through an alias.

#![allow(dead_code)]

use std::collections::BTreeMap;

use codehooks_tests::LocalAws;
use serde_json::{Value, json};

use super::REGION;

pub const ACCOUNT: &str = "123456789012";
pub const APPLICATION: &str = "orders-app";
/// The variable listing the functions a Lambda deployment may be verified for.
pub const FUNCTIONS_VAR: &str = "CODEHOOKS_HOOK_LAMBDA_FUNCTIONS";

/// The lifecycle events of a Lambda deployment.
pub const EVENTS: [&str; 3] = ["BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"];

/// One Lambda deployment of an alias from `current` to `target`.
#[derive(Clone, Debug)]
pub struct LambdaDeploymentSpec<'a> {
    pub id: &'a str,
    pub hook_execution_id: &'a str,
    pub group: &'a str,
    pub function: &'a str,
    pub alias: &'a str,
    pub current: &'a str,
    pub target: &'a str,
    /// `BeforeAllowTraffic` or `AfterAllowTraffic`.
    pub running: &'a str,
    /// When `AllowTraffic` started (epoch seconds).
    pub shifted_at: f64,
}

/// Now, in epoch seconds.
pub fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// The lifecycle events with `running` in progress, `AllowTraffic` starting at `shifted_at`.
pub fn lambda_lifecycle(running: &str, shifted_at: f64) -> Value {
    let pos = EVENTS
        .iter()
        .position(|e| *e == running)
        .expect("a Lambda lifecycle event");
    let starts = [shifted_at - 30.0, shifted_at, shifted_at + 5.0];
    Value::Array(
        EVENTS
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let status = match i.cmp(&pos) {
                    std::cmp::Ordering::Less => "Succeeded",
                    std::cmp::Ordering::Equal => "InProgress",
                    std::cmp::Ordering::Greater => "Pending",
                };
                let mut e = json!({"lifecycleEventName": name, "status": status});
                if i <= pos {
                    e["startTime"] = json!(starts[i]);
                }
                if i < pos {
                    e["endTime"] = json!(starts[i] + 4.0);
                }
                e
            })
            .collect(),
    )
}

/// The AppSpec CodeDeploy keeps for a Lambda deployment.
pub fn appspec(d: &LambdaDeploymentSpec<'_>) -> String {
    format!(
        "version: 0.0\nResources:\n  - {f}:\n      Type: AWS::Lambda::Function\n      Properties:\n        Name: \"{f}\"\n        Alias: \"{a}\"\n        CurrentVersion: \"{c}\"\n        TargetVersion: \"{t}\"\nHooks:\n  - BeforeAllowTraffic: \"deploy-hook\"\n  - AfterAllowTraffic: \"deploy-hook\"\n",
        f = d.function,
        a = d.alias,
        c = d.current,
        t = d.target
    )
}

/// Seeds the deployment, its group, its `lambdaTarget` and its pending hook.
pub fn seed_lambda_deployment(local: &LocalAws, d: &LambdaDeploymentSpec<'_>) {
    let shifted = d.running == "AfterAllowTraffic";
    let info = json!({
        "applicationName": APPLICATION,
        "deploymentGroupName": d.group,
        "deploymentId": d.id,
        "deploymentConfigName": "CodeDeployDefault.LambdaAllAtOnce",
        "status": "InProgress",
        "computePlatform": "Lambda",
        "createTime": d.shifted_at - 60.0,
        "creator": "user",
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "revision": {"revisionType": "AppSpecContent", "appSpecContent": {
            "content": appspec(d), "sha256": "1f".repeat(32)
        }}
    });
    let target = json!({
        "deploymentTargetType": "LambdaTarget",
        "lambdaTarget": {
            "deploymentId": d.id,
            "targetId": d.function,
            "targetArn": format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}:{}", d.function, d.alias),
            "status": "InProgress",
            "lastUpdatedAt": d.shifted_at + 6.0,
            "lifecycleEvents": lambda_lifecycle(d.running, d.shifted_at),
            "lambdaFunctionInfo": {
                "functionName": d.function,
                "functionAlias": d.alias,
                "currentVersion": d.current,
                "targetVersion": d.target,
                "targetVersionWeight": if shifted { 1.0 } else { 0.0 }
            }
        }
    });
    let group = json!({
        "applicationName": APPLICATION,
        "deploymentGroupId": format!("00000000-0000-0000-0001-{:0>12}", d.group.len()),
        "deploymentGroupName": d.group,
        "computePlatform": "Lambda",
        "serviceRoleArn": format!("arn:aws:iam::{ACCOUNT}:role/CodeDeployServiceRoleForLambda"),
        "deploymentConfigName": "CodeDeployDefault.LambdaAllAtOnce",
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
    });
    local.emulator().seed(&json!({
        "region": REGION,
        "codedeploy": {
            "deployments": [info],
            "deploymentGroups": [group],
            "targets": {d.id: [target]},
            "hooks": {d.id: [d.hook_execution_id]}
        }
    }));
}

/// Seeds a function: its alias pointing at `alias.1`, and its versions, each
/// `{"payload": .., "functionError"?: .., "delayMs"?: .., "responses"?: [..]}`.
pub fn seed_function(local: &LocalAws, name: &str, alias: (&str, &str), versions: Value) {
    local.emulator().seed(&json!({
        "region": REGION,
        "lambda": {"functions": [{
            "functionName": name,
            "aliases": {alias.0: alias.1},
            "versions": versions
        }]}
    }));
}

/// A metric's dimensions, as name and value pairs.
type Dimensions = Vec<(String, String)>;

/// One data point of an invocation metric of `version` (through the alias).
#[derive(Clone, Debug)]
pub struct Point<'a> {
    pub version: &'a str,
    /// `Errors`, `Throttles`, `Invocations`...
    pub metric: &'a str,
    pub timestamp: f64,
    pub value: f64,
}

/// Seeds the series AWS Lambda publishes for invocations of `function` through `alias`:
/// per executed version (`FunctionName`, `Resource`, `ExecutedVersion`), per alias
/// (`FunctionName`, `Resource`) and per function (`FunctionName`), the last two summing the
/// versions.
pub fn seed_lambda_metrics(local: &LocalAws, function: &str, alias: &str, points: &[Point<'_>]) {
    let resource = format!("{function}:{alias}");
    let mut series: BTreeMap<(String, Dimensions), Vec<(i64, f64)>> = BTreeMap::new();
    for p in points {
        let dims = [
            vec![
                ("FunctionName", function),
                ("Resource", resource.as_str()),
                ("ExecutedVersion", p.version),
            ],
            vec![("FunctionName", function), ("Resource", resource.as_str())],
            vec![("FunctionName", function)],
        ];
        for d in dims {
            let key = (
                p.metric.to_owned(),
                d.iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            );
            let at = p.timestamp as i64;
            let list = series.entry(key).or_default();
            match list.iter_mut().find(|(t, _)| *t == at) {
                Some((_, v)) => *v += p.value,
                None => list.push((at, p.value)),
            }
        }
    }
    let metrics: Vec<Value> = series
        .into_iter()
        .map(|((metric, dims), pts)| {
            json!({
                "namespace": "AWS/Lambda",
                "metricName": metric,
                "dimensions": dims.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
                "points": pts.iter().map(|(t, v)| json!({"timestamp": t, "value": v})).collect::<Vec<_>>()
            })
        })
        .collect();
    local.emulator().seed(&json!({
        "region": REGION,
        "cloudwatch": {"metrics": metrics}
    }));
}

/// Every invocation the emulator's Lambda received for `function`:
/// `[{functionName, qualifier, invocationType, payload}]`.
pub fn invocations(local: &LocalAws, function: &str) -> Vec<Value> {
    match codehooks_tests::http::get_json(&format!(
        "{}/_emulator/invocations?function={function}",
        local.emulator_url()
    )) {
        Value::Array(a) => a,
        other => panic!("unexpected invocations answer: {other}"),
    }
}
