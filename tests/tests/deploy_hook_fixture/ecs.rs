//! An Amazon ECS blue/green service deployment seeded into the emulator, exactly in the shapes
//! `DescribeServiceRevisions` and `DescribeServiceDeployments` return, and the lifecycle hook
//! payloads ECS sends at each stage (nested, and the early flat form).

#![allow(dead_code)]

use codehooks_tests::LocalAws;
use serde_json::{Value, json};

use super::REGION;
use super::native::{NativeStack, Tg};

pub const ACCOUNT: &str = "123456789012";
pub const CLUSTER: &str = "shop-cluster";
/// The function ECS invokes (`lifecycleHooks[].hookTargetArn`).
pub const HOOK_FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:deploy-hook";
/// The stages the hook is configured for.
pub const STAGES: [&str; 8] = [
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
];

/// One service deployment: blue (the source revision) to green (the target revision).
#[derive(Clone, Debug)]
pub struct NativeDeployment {
    pub cluster: String,
    pub service: String,
    /// The last part of the service deployment ARN.
    pub id: String,
    pub green_revision: u64,
    pub blue_revision: u64,
    /// The target group `resolvedConfiguration` names for green (blue has the other).
    pub green: Tg,
    /// Green's requested (and running) task count.
    pub requested: i64,
    /// `IN_PROGRESS`, `ROLLBACK_IN_PROGRESS`...
    pub status: String,
    /// The deployment's `lifecycleStage`.
    pub stage: String,
    /// The lifecycle hook's configured `hookDetails`.
    pub hook_details: Option<Value>,
}

impl NativeDeployment {
    /// A deployment of `service` in [`CLUSTER`] (green on the alternate target group, two tasks).
    pub fn new(service: &str, id: &str, green_revision: u64) -> NativeDeployment {
        NativeDeployment {
            cluster: CLUSTER.to_owned(),
            service: service.to_owned(),
            id: id.to_owned(),
            green_revision,
            blue_revision: green_revision - 1,
            green: Tg::Alternate,
            requested: 2,
            status: "IN_PROGRESS".to_owned(),
            stage: "POST_TEST_TRAFFIC_SHIFT".to_owned(),
            hook_details: None,
        }
    }

    fn arn(&self, kind: &str, rest: &str) -> String {
        format!("arn:aws:ecs:{REGION}:{ACCOUNT}:{kind}/{rest}")
    }

    pub fn cluster_arn(&self) -> String {
        self.arn("cluster", &self.cluster)
    }

    pub fn service_arn(&self) -> String {
        self.arn("service", &format!("{}/{}", self.cluster, self.service))
    }

    /// `resourceArn` of the payloads.
    pub fn deployment_arn(&self) -> String {
        self.arn(
            "service-deployment",
            &format!("{}/{}/{}", self.cluster, self.service, self.id),
        )
    }

    fn revision_arn(&self, n: u64) -> String {
        self.arn(
            "service-revision",
            &format!("{}/{}/{n:019}", self.cluster, self.service),
        )
    }

    pub fn green_revision_arn(&self) -> String {
        self.revision_arn(self.green_revision)
    }

    pub fn blue_revision_arn(&self) -> String {
        self.revision_arn(self.blue_revision)
    }

    /// `cluster/service`, as the evidence names it.
    pub fn scope(&self) -> String {
        format!("{}/{}", self.cluster, self.service)
    }

    /// A `ServiceRevision` as `DescribeServiceRevisions` returns it.
    pub fn revision(&self, stack: &NativeStack, green: bool) -> Value {
        let (arn, tg, task) = if green {
            (self.green_revision_arn(), self.green, 42)
        } else {
            (self.blue_revision_arn(), self.green.other(), 41)
        };
        json!({
            "serviceRevisionArn": arn,
            "serviceArn": self.service_arn(),
            "clusterArn": self.cluster_arn(),
            "taskDefinition": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop:{task}"),
            "capacityProviderStrategy": [],
            "launchType": "FARGATE",
            "platformVersion": "1.4.0",
            "platformFamily": "Linux",
            "loadBalancers": [{
                "targetGroupArn": stack.primary_tg_arn,
                "containerName": "web",
                "containerPort": 8080,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": stack.alternate_tg_arn,
                    "productionListenerRule": stack.prod_rule,
                    "testListenerRule": stack.test_rule,
                    "roleArn": format!("arn:aws:iam::{ACCOUNT}:role/ecsInfrastructureRoleForLoadBalancers")
                }
            }],
            "serviceRegistries": [],
            "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
                "securityGroups": ["sg-0a1b2c3d4e5f60003"],
                "assignPublicIp": "DISABLED"
            }},
            "containerImages": [{
                "containerName": "web",
                "imageDigest": format!("sha256:{}", format!("{task:02}").repeat(32)),
                "image": format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/shop:{task}")
            }],
            "guardDutyEnabled": false,
            "volumeConfigurations": [],
            "createdAt": 1_767_225_600.0 + f64::from(task),
            "resolvedConfiguration": {"loadBalancers": [{
                "targetGroupArn": stack.tg_arn(tg),
                "productionListenerRule": stack.prod_rule
            }]}
        })
    }

    /// A `ServiceDeployment` as `DescribeServiceDeployments` returns it.
    pub fn service_deployment(&self) -> Value {
        let rollback = self.status.starts_with("ROLLBACK");
        let mut hook = json!({
            "targetType": "AWS_LAMBDA",
            "hookTargetArn": HOOK_FUNCTION_ARN,
            "roleArn": format!("arn:aws:iam::{ACCOUNT}:role/codehooks-ecs-hook-invoke"),
            "lifecycleStages": STAGES,
            "timeoutConfiguration": {"timeoutInMinutes": 60, "action": "ROLLBACK"}
        });
        if let Some(d) = &self.hook_details {
            hook["hookDetails"] = d.clone();
        }
        let mut d = json!({
            "serviceDeploymentArn": self.deployment_arn(),
            "serviceArn": self.service_arn(),
            "clusterArn": self.cluster_arn(),
            "createdAt": 1_767_225_650.0,
            "startedAt": 1_767_225_651.0,
            "updatedAt": 1_767_225_700.0,
            "sourceServiceRevisions": [{
                "arn": self.blue_revision_arn(),
                "requestedTaskCount": 2, "runningTaskCount": 2, "pendingTaskCount": 0,
                "requestedTestTrafficWeight": if rollback { 100.0 } else { 0.0 },
                "requestedProductionTrafficWeight": 100.0
            }],
            "targetServiceRevision": {
                "arn": self.green_revision_arn(),
                "requestedTaskCount": self.requested,
                "runningTaskCount": self.requested,
                "pendingTaskCount": 0,
                "requestedTestTrafficWeight": if rollback { 0.0 } else { 100.0 },
                "requestedProductionTrafficWeight": 0.0
            },
            "status": self.status,
            "statusReason": if rollback { "Lifecycle hook failed; rolling back." } else { "ECS deployment in progress." },
            "lifecycleStage": self.stage,
            "lifecycleHookDetails": [{
                "hookId": format!("{}-hook", self.id),
                "targetType": "AWS_LAMBDA",
                "targetArn": HOOK_FUNCTION_ARN,
                "status": "IN_PROGRESS",
                "expiresAt": 1_767_229_300.0,
                "timeoutAction": "ROLLBACK"
            }],
            "deploymentConfiguration": {
                "deploymentCircuitBreaker": {"enable": true, "rollback": true},
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
                "strategy": "BLUE_GREEN",
                "bakeTimeInMinutes": 5,
                "lifecycleHooks": [hook]
            },
            "deploymentCircuitBreaker": {"status": "MONITORING", "failureCount": 0, "threshold": 3},
            "alarms": {"status": "DISABLED"}
        });
        if rollback {
            d["rollback"] = json!({
                "reason": "Lifecycle hook POST_PRODUCTION_TRAFFIC_SHIFT failed",
                "startedAt": 1_767_225_800.0,
                "serviceRevisionArn": self.blue_revision_arn()
            });
        }
        d
    }

    /// Seeds both revisions and the service deployment.
    pub fn seed(&self, local: &LocalAws, stack: &NativeStack) {
        local.emulator().seed(&json!({
            "region": REGION,
            "ecs": {
                "serviceRevisions": [self.revision(stack, true), self.revision(stack, false)],
                "serviceDeployments": [self.service_deployment()]
            }
        }));
    }

    /// `{green: 100, blue: 0}` (or the reverse).
    pub fn weights(&self, to_green: bool) -> Value {
        let (g, b) = if to_green { (100, 0) } else { (0, 100) };
        json!({self.green_revision_arn(): g, self.blue_revision_arn(): b})
    }

    /// The `executionDetails` of `stage` as ECS documents them for a deployment going forward
    /// (`rollback`: the traffic-shift stages re-run with the weights back on blue).
    pub fn details(&self, stage: &str, rollback: bool) -> Value {
        let (test, prod) = match (stage, rollback) {
            ("TEST_TRAFFIC_SHIFT", r) => (self.weights(!r), json!({})),
            ("PRE_PRODUCTION_TRAFFIC_SHIFT", _) => (json!({}), self.weights(false)),
            ("PRODUCTION_TRAFFIC_SHIFT", r) => (json!({}), self.weights(!r)),
            _ => (json!({}), json!({})),
        };
        json!({
            "serviceArn": self.service_arn(),
            "targetServiceRevisionArn": self.green_revision_arn(),
            "testTrafficWeights": test,
            "productionTrafficWeights": prod
        })
    }

    /// The payload ECS sends at `stage` (nested form), with the configured `hookDetails`.
    pub fn payload(&self, execution_id: &str, stage: &str) -> Value {
        let mut p = json!({
            "executionId": execution_id,
            "lifecycleStage": stage,
            "resourceArn": self.deployment_arn(),
            "executionDetails": self.details(stage, false)
        });
        if let Some(d) = &self.hook_details {
            p["hookDetails"] = d.clone();
        }
        p
    }

    /// The payload of a rollback re-running `stage` (a traffic-shift stage).
    pub fn rollback_payload(&self, execution_id: &str, stage: &str) -> Value {
        let mut p = self.payload(execution_id, stage);
        p["executionDetails"] = self.details(stage, true);
        p
    }

    /// The early flat form: the `executionDetails` fields at the top level.
    pub fn flat_payload(&self, execution_id: &str, stage: &str) -> Value {
        let mut p = json!({
            "executionId": execution_id,
            "lifecycleStage": stage,
            "resourceArn": self.deployment_arn()
        });
        if let Value::Object(d) = self.details(stage, false) {
            for (k, v) in d {
                p[k] = v;
            }
        }
        if let Some(d) = &self.hook_details {
            p["hookDetails"] = d.clone();
        }
        p
    }
}
