//! CodePipeline's side of the verify action: an ECS service with a rolling deployment seeded
//! into the emulator (what `DescribeServices` returns), the jobs of a Lambda invoke action
//! seeded into the emulator, and CodePipeline's loop ([`run_job`]): invoke the function with
//! the job's event, read how the job was answered, and invoke again with the next job while
//! the answer carries a continuation token.

#![allow(dead_code)]

use codehooks_tests::{Function, Invocation, LocalAws, http};
use serde_json::{Value, json};

use super::REGION;

/// The fake artifact credentials of every job's event (`tests/localaws/pipeline_jobs.py`): the
/// function must never log them.
pub const ARTIFACT_SECRET: &str = "codehooks/FAKE/artifact+secret/0000000000";
pub const ARTIFACT_SESSION_TOKEN: &str =
    "codehooks-FAKE-artifact-session-token/do-not-log/0000000000";
/// The cluster of the services here.
pub const CLUSTER: &str = "shop";
/// The stage and action the verify jobs belong to.
pub const STAGE: &str = "Verify";
pub const ACTION: &str = "VerifyService";
/// The function the action invokes (`actionConfiguration.configuration.FunctionName`).
pub const FUNCTION_NAME: &str = "codehooks-pipeline-verify";

/// An ECS service whose newest (`PRIMARY`) deployment is a rolling update.
#[derive(Clone, Debug)]
pub struct RollingService {
    pub cluster: String,
    pub name: String,
    /// What the `PRIMARY` deployment runs (`family:revision`).
    pub task_definition: String,
    /// What ran before (an `ACTIVE` deployment while the rollout is in progress).
    pub previous: Option<String>,
    pub desired: i64,
    pub running: i64,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED`.
    pub rollout_state: String,
    pub reason: String,
    pub failed_tasks: i64,
}

impl RollingService {
    /// A rollout of `task_definition` to two tasks that completed.
    pub fn completed(name: &str, task_definition: &str) -> RollingService {
        RollingService {
            cluster: CLUSTER.to_owned(),
            name: name.to_owned(),
            task_definition: task_definition.to_owned(),
            previous: None,
            desired: 2,
            running: 2,
            rollout_state: "COMPLETED".to_owned(),
            reason: format!("ECS deployment {} completed.", deployment_id(name)),
            failed_tasks: 0,
        }
    }

    /// A rollout of `task_definition` from `previous` that is half way: one new task of two.
    pub fn in_progress(name: &str, task_definition: &str, previous: &str) -> RollingService {
        RollingService {
            previous: Some(previous.to_owned()),
            running: 1,
            rollout_state: "IN_PROGRESS".to_owned(),
            reason: format!("ECS deployment {} in progress.", deployment_id(name)),
            ..RollingService::completed(name, task_definition)
        }
    }

    /// A rollout ECS's circuit breaker stopped: the new tasks keep failing to start.
    pub fn failed(name: &str, task_definition: &str, previous: &str) -> RollingService {
        RollingService {
            previous: Some(previous.to_owned()),
            running: 0,
            failed_tasks: 3,
            rollout_state: "FAILED".to_owned(),
            reason: "ECS deployment circuit breaker: tasks failed to start.".to_owned(),
            ..RollingService::completed(name, task_definition)
        }
    }

    /// The same service with its rollout completed.
    pub fn finished(&self) -> RollingService {
        RollingService {
            previous: None,
            running: self.desired,
            rollout_state: "COMPLETED".to_owned(),
            reason: format!("ECS deployment {} completed.", deployment_id(&self.name)),
            ..self.clone()
        }
    }

    /// `Service` as the emulator seeds it (see `tests/localaws/ecs.py`).
    pub fn service(&self) -> Value {
        let mut deployments = vec![json!({
            "id": deployment_id(&self.name),
            "status": "PRIMARY",
            "taskDefinition": self.task_arn(&self.task_definition),
            "desiredCount": self.desired,
            "runningCount": self.running,
            "pendingCount": (self.desired - self.running).max(0),
            "failedTasks": self.failed_tasks,
            "rolloutState": self.rollout_state,
            "rolloutStateReason": self.reason,
        })];
        if let Some(previous) = &self.previous {
            deployments.push(json!({
                "id": deployment_id(&format!("{}-previous", self.name)),
                "status": "ACTIVE",
                "taskDefinition": self.task_arn(previous),
                "desiredCount": self.desired,
                "runningCount": self.desired - self.running.min(self.desired),
                "pendingCount": 0,
                "failedTasks": 0,
                "rolloutState": "COMPLETED",
                "rolloutStateReason": "ECS deployment completed."
            }));
        }
        json!({
            "serviceName": self.name,
            "cluster": self.cluster,
            "desiredCount": self.desired,
            "runningCount": self.running,
            "pendingCount": (self.desired - self.running).max(0),
            "taskDefinition": self.task_arn(&self.task_definition),
            "deployments": deployments
        })
    }

    fn task_arn(&self, family_revision: &str) -> String {
        format!(
            "arn:aws:ecs:{REGION}:{}:task-definition/{family_revision}",
            codehooks_tests::ACCOUNT
        )
    }

    /// Seeds (or replaces) the service in the emulator.
    pub fn seed(&self, local: &LocalAws) {
        local
            .emulator()
            .seed(&json!({"region": REGION, "ecs": {"services": [self.service()]}}));
    }
}

/// The id of a service's newest deployment (ECS's `ecs-svc/` and 19 digits).
fn deployment_id(service: &str) -> String {
    let n = service
        .bytes()
        .fold(7_u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    format!("ecs-svc/{:019}", n % 10_u64.pow(18))
}

/// A pipeline execution id (a lowercase UUID) numbered `n`.
pub fn execution_id(n: u32) -> String {
    format!("{n:08x}-7c1e-4f0a-9b2d-5e6f7a8b9c0d")
}

/// A job id (a lowercase UUID) numbered `n`.
pub fn job_id(n: u32) -> String {
    format!("{n:08x}-3d4c-4b5a-8f9e-0a1b2c3d4e5f")
}

/// Creates a job of the verify action of `pipeline` (execution `execution`) whose
/// `UserParameters` are `params` (a JSON document, passed as CodePipeline does: a string);
/// answers its view.
pub fn seed_job(
    local: &LocalAws,
    id: Option<&str>,
    pipeline: &str,
    execution: &str,
    params: &Value,
) -> Value {
    let mut job = json!({
        "region": REGION,
        "pipelineName": pipeline,
        "stage": STAGE,
        "action": ACTION,
        "pipelineExecutionId": execution,
        "functionName": FUNCTION_NAME,
        "userParameters": match params {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    });
    if let Some(id) = id {
        job["id"] = json!(id);
    }
    http::post_json(&format!("{}/_emulator/jobs", local.emulator_url()), &job)
}

/// The emulator's view of job `id` (`status`, `result`, `refused`, `next`, `event`...).
pub fn job(local: &LocalAws, id: &str) -> Value {
    match http::get_json(&format!(
        "{}/_emulator/jobs?region={REGION}&id={id}",
        local.emulator_url()
    )) {
        Value::Array(mut a) if a.len() == 1 => a.remove(0),
        other => panic!("no job {id} in the emulator: {other}"),
    }
}

/// Every job of the region, oldest first.
pub fn jobs(local: &LocalAws) -> Vec<Value> {
    match http::get_json(&format!(
        "{}/_emulator/jobs?region={REGION}",
        local.emulator_url()
    )) {
        Value::Array(a) => a,
        other => panic!("unexpected jobs answer: {other}"),
    }
}

/// The `UserParameters` of the usual verification of `service` (its task definition) behind
/// `url`: a few quick probes, the version header naming the task definition's revision.
pub fn params(service: &RollingService, url: &str, pipeline: &str, execution: &str) -> Value {
    json!({
        "service": {
            "cluster": service.cluster,
            "name": service.name,
            "taskDefinition": service.task_definition
        },
        "url": url,
        "checks": {
            "requests": 4, "concurrency": 2, "warmupMs": 0, "timeoutMs": 2000, "maxP95Ms": 1500,
            "version": {"header": "X-App-Version", "expected": "{taskDefinitionRevision}"}
        },
        "timeoutSeconds": 120,
        "pollSeconds": 1,
        "pipeline": {"name": pipeline, "executionId": execution}
    })
}

/// One invocation for one job, and how the emulator holds that job afterwards.
#[derive(Clone, Debug)]
pub struct Step {
    pub invocation: Invocation,
    pub job: Value,
}

impl Step {
    /// The answer the function returned (`succeeded`, `failed`, `continued`...).
    pub fn answer(&self) -> &str {
        self.invocation.response["answer"]
            .as_str()
            .unwrap_or_default()
    }

    /// The accepted `PutJob*Result` request body.
    pub fn result(&self) -> &Value {
        &self.job["result"]
    }

    pub fn token(&self) -> Option<&str> {
        self.job["result"]["continuationToken"].as_str()
    }
}

/// CodePipeline's loop: invokes `f` with the job `id`'s event (`timeout_ms` each), and while
/// the job is answered with a continuation token calls `between` with the number of jobs so far
/// and the last one (the world moves on) and invokes again with the next job's event, at most
/// `max` times.
pub fn run_job(
    f: &Function,
    local: &LocalAws,
    id: &str,
    timeout_ms: u64,
    max: usize,
    mut between: impl FnMut(usize, &Step),
) -> Vec<Step> {
    let mut id = id.to_owned();
    let mut steps: Vec<Step> = Vec::new();
    loop {
        let event = job(local, &id)["event"].clone();
        let invocation = f.invoke(&event, timeout_ms);
        let view = job(local, &id);
        let next = view["next"].as_str().map(str::to_owned);
        steps.push(Step {
            invocation,
            job: view,
        });
        match next {
            Some(n) if steps.len() < max => {
                between(steps.len(), &steps[steps.len() - 1]);
                id = n;
            }
            _ => return steps,
        }
    }
}

/// The chat document an alert carries (the `Message` of the SNS envelope SQS received).
pub fn alert_doc(envelope: &Value) -> Value {
    serde_json::from_str(envelope["Message"].as_str().unwrap_or("{}"))
        .unwrap_or_else(|e| panic!("the alert is not JSON ({e}): {envelope:#}"))
}

/// Whether the function's logs hold either artifact credential.
pub fn leaked_secret(logs: &str) -> Option<&'static str> {
    [ARTIFACT_SECRET, ARTIFACT_SESSION_TOKEN]
        .into_iter()
        .find(|s| logs.contains(s))
}
