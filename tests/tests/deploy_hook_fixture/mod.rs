//! Fixtures of the deploy-hook tests and demo: a real HTTP service on 127.0.0.1 playing the
//! green (or blue) task set, an Application Load Balancer with blue and green target groups and
//! production and test listeners created in moto through the real SDK, and a blue/green ECS
//! deployment seeded into the emulator in the shapes CodeDeploy returns.

#![allow(dead_code)]

pub mod cloudwatch;
pub mod ecs;
pub mod ecs_hook;
pub mod lambda;
pub mod native;
pub mod pipeline;
pub mod routed;
pub mod world;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_elasticloadbalancingv2 as elbv2;
use elbv2::types::{Action, ActionTypeEnum, ProtocolEnum, TargetDescription, TargetTypeEnum};
use serde_json::{Value, json};

pub const REGION: &str = "us-east-1";
pub const NEW_TASK_DEFINITION: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/shop:42";
pub const NEW_VERSION: &str = "shop:42";
pub const OLD_VERSION: &str = "shop:41";

/// How the service behaves.
#[derive(Clone, Debug)]
pub enum Mode {
    /// 200 with `{"status":"ok","version":...}` and an `X-App-Version` header.
    Healthy,
    /// Always this status.
    Status(u16),
    /// Healthy, after this delay.
    Slow(Duration),
    /// Every `n`th request answers 503.
    Flapping(u64),
    /// 503 until this long after start, then healthy.
    WarmUp(Duration),
    /// 200, but `{"status":"degraded"}`.
    BodyMismatch,
}

/// A real HTTP/1.1 service on 127.0.0.1 (keep-alive, one thread per connection).
pub struct Service {
    pub port: u16,
    hits: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Service {
    pub fn start(mode: Mode, version: &str) -> Service {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the service");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let hits = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let version = version.to_owned();
        {
            let (hits, stop) = (Arc::clone(&hits), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let (hits, mode, version) =
                                (Arc::clone(&hits), mode.clone(), version.clone());
                            std::thread::spawn(move || {
                                serve(stream, &mode, &version, &hits, started)
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            });
        }
        Service { port, hits, stop }
    }

    /// Requests answered so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A port on 127.0.0.1 where nothing listens.
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn serve(stream: TcpStream, mode: &Mode, version: &str, hits: &AtomicU64, started: Instant) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        match reader.read_line(&mut request_line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        loop {
            let mut h = String::new();
            match reader.read_line(&mut h) {
                Ok(0) | Err(_) => return,
                Ok(_) if h == "\r\n" || h == "\n" => break,
                Ok(_) => {}
            }
        }
        let n = hits.fetch_add(1, Ordering::Relaxed) + 1;
        let ok = json!({"status": "ok", "version": version}).to_string();
        let (status, body) = match mode {
            Mode::Healthy => (200, ok),
            Mode::Status(s) => (*s, json!({"error": "boom"}).to_string()),
            Mode::Slow(d) => {
                std::thread::sleep(*d);
                (200, ok)
            }
            Mode::Flapping(every) => {
                if n.is_multiple_of(*every) {
                    (503, json!({"error": "flap"}).to_string())
                } else {
                    (200, ok)
                }
            }
            Mode::WarmUp(d) => {
                if started.elapsed() < *d {
                    (503, json!({"error": "warming up"}).to_string())
                } else {
                    (200, ok)
                }
            }
            Mode::BodyMismatch => (
                200,
                json!({"status": "degraded", "version": version}).to_string(),
            ),
        };
        let reason = match status {
            200 => "OK",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Status",
        };
        let answer = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-App-Version: {version}\r\n\r\n{body}",
            body.len()
        );
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// Subnets of moto's default VPC (EC2 Query API; moto does not verify signatures).
pub fn default_subnets(moto_url: &str) -> Vec<String> {
    let host = moto_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).expect("connect moto");
    let body = "Action=DescribeSubnets&Version=2016-11-15";
    let req = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential={}/20260101/{REGION}/ec2/aws4_request, SignedHeaders=host, Signature=00\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        codehooks_tests::ACCESS_KEY,
        body.len()
    );
    stream.write_all(req.as_bytes()).expect("write");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut stream, &mut text).expect("read");
    text.split("<subnetId>")
        .skip(1)
        .filter_map(|s| s.split("</subnetId>").next())
        .map(str::to_owned)
        .take(2)
        .collect()
}

/// Which target group a listener forwards to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Color {
    Blue,
    Green,
}

/// A load balancer with blue and green target groups and two listeners, in moto.
#[derive(Clone, Debug)]
pub struct Stack {
    pub name: String,
    pub lb_arn: String,
    pub blue_tg: String,
    pub green_tg: String,
    pub blue_tg_arn: String,
    pub green_tg_arn: String,
    pub prod_listener: String,
    pub test_listener: String,
    pub dns_name: String,
    pub prod_port: u16,
    pub test_port: u16,
}

/// What a stack looks like.
pub struct StackSpec<'a> {
    pub name: &'a str,
    pub prod_port: u16,
    pub test_port: u16,
    pub prod_to: Color,
    pub test_to: Color,
    pub green_targets: usize,
    pub weighted: bool,
    /// Both listeners HTTPS (with an IAM server certificate ARN, which moto does not check).
    pub https: bool,
}

impl<'a> StackSpec<'a> {
    /// The usual shape: production listener to blue, test listener to green, two green
    /// targets, plain forwards over HTTP.
    pub fn new(name: &'a str, prod_port: u16, test_port: u16) -> Self {
        StackSpec {
            name,
            prod_port,
            test_port,
            prod_to: Color::Blue,
            test_to: Color::Green,
            green_targets: 2,
            weighted: false,
            https: false,
        }
    }
}

impl Stack {
    pub async fn create(elb: &elbv2::Client, subnets: &[String], spec: StackSpec<'_>) -> Stack {
        let lb = elb
            .create_load_balancer()
            .name(format!("{}-alb", spec.name))
            .set_subnets(Some(subnets.to_vec()))
            .r#type(elbv2::types::LoadBalancerTypeEnum::Application)
            .send()
            .await
            .expect("CreateLoadBalancer");
        let lb = &lb.load_balancers()[0];
        let lb_arn = lb.load_balancer_arn().expect("lb arn").to_owned();
        let dns_name = lb.dns_name().unwrap_or_default().to_owned();
        let mut arns = Vec::new();
        for color in ["blue", "green"] {
            let tg = elb
                .create_target_group()
                .name(format!("{}-{color}", spec.name))
                .protocol(ProtocolEnum::Http)
                .port(8080)
                .vpc_id(lb.vpc_id().unwrap_or_default())
                .target_type(TargetTypeEnum::Ip)
                .health_check_path("/health")
                .send()
                .await
                .expect("CreateTargetGroup");
            arns.push(
                tg.target_groups()[0]
                    .target_group_arn()
                    .expect("tg arn")
                    .to_owned(),
            );
        }
        let (blue_tg_arn, green_tg_arn) = (arns[0].clone(), arns[1].clone());
        let register = |arn: String, count: usize, base: u8| async move {
            if count == 0 {
                return;
            }
            let mut req = elb.register_targets().target_group_arn(arn);
            for i in 0..count {
                req = req.targets(
                    TargetDescription::builder()
                        .id(format!("10.0.{base}.{}", 10 + i))
                        .port(8080)
                        .build(),
                );
            }
            req.send().await.expect("RegisterTargets");
        };
        register(blue_tg_arn.clone(), 2, 1).await;
        register(green_tg_arn.clone(), spec.green_targets, 2).await;
        let forward = |to: Color| {
            let (target, other) = match to {
                Color::Blue => (&blue_tg_arn, &green_tg_arn),
                Color::Green => (&green_tg_arn, &blue_tg_arn),
            };
            if spec.weighted {
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .forward_config(
                        elbv2::types::ForwardActionConfig::builder()
                            .target_groups(
                                elbv2::types::TargetGroupTuple::builder()
                                    .target_group_arn(target)
                                    .weight(100)
                                    .build(),
                            )
                            .target_groups(
                                elbv2::types::TargetGroupTuple::builder()
                                    .target_group_arn(other)
                                    .weight(0)
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            } else {
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn(target)
                    .build()
            }
        };
        let mut listeners = Vec::new();
        for (port, to) in [
            (spec.prod_port, spec.prod_to),
            (spec.test_port, spec.test_to),
        ] {
            let mut req = elb
                .create_listener()
                .load_balancer_arn(&lb_arn)
                .protocol(if spec.https {
                    ProtocolEnum::Https
                } else {
                    ProtocolEnum::Http
                })
                .port(i32::from(port))
                .default_actions(forward(to));
            if spec.https {
                req = req.certificates(
                    elbv2::types::Certificate::builder()
                        .certificate_arn(
                            "arn:aws:iam::123456789012:server-certificate/shop-example-com",
                        )
                        .build(),
                );
            }
            let l = req.send().await.expect("CreateListener");
            listeners.push(
                l.listeners()[0]
                    .listener_arn()
                    .expect("listener arn")
                    .to_owned(),
            );
        }
        Stack {
            lb_arn: lb_arn.clone(),
            name: spec.name.to_owned(),
            blue_tg: format!("{}-blue", spec.name),
            green_tg: format!("{}-green", spec.name),
            blue_tg_arn,
            green_tg_arn,
            prod_listener: listeners[0].clone(),
            test_listener: listeners[1].clone(),
            dns_name,
            prod_port: spec.prod_port,
            test_port: spec.test_port,
        }
    }

    /// `loadBalancerInfo` as CodeDeploy returns it for this stack.
    pub fn load_balancer_info(&self) -> Value {
        json!({"targetGroupPairInfoList": [{
            "targetGroups": [{"name": self.blue_tg}, {"name": self.green_tg}],
            "prodTrafficRoute": {"listenerArns": [self.prod_listener]},
            "testTrafficRoute": {"listenerArns": [self.test_listener]}
        }]})
    }
}

/// The ECS lifecycle events with `running` in progress (earlier ones done, later ones pending).
pub fn lifecycle_events(running: &str) -> Value {
    let names = [
        "BeforeInstall",
        "Install",
        "AfterInstall",
        "AllowTestTraffic",
        "AfterAllowTestTraffic",
        "BeforeAllowTraffic",
        "AllowTraffic",
        "AfterAllowTraffic",
    ];
    let pos = names
        .iter()
        .position(|n| *n == running)
        .expect("known lifecycle event");
    Value::Array(
        names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let status = match i.cmp(&pos) {
                    std::cmp::Ordering::Less => "Succeeded",
                    std::cmp::Ordering::Equal => "InProgress",
                    std::cmp::Ordering::Greater => "Pending",
                };
                let mut e = json!({"lifecycleEventName": n, "status": status});
                if i <= pos {
                    e["startTime"] = json!(1_767_225_600.0 + i as f64 * 30.0);
                }
                if i < pos {
                    e["endTime"] = json!(1_767_225_620.0 + i as f64 * 30.0);
                }
                e
            })
            .collect(),
    )
}

/// A blue/green ECS deployment of `stack`, seeded into the emulator.
pub struct DeploymentSpec<'a> {
    pub id: &'a str,
    pub hook_execution_id: &'a str,
    pub group: &'a str,
    pub running: &'a str,
    pub green_desired: i64,
    /// `false`: a CloudFormation blue/green deployment (no task sets, no deployment group).
    pub ecs: bool,
    /// Whether the green task set exists yet (not before Install).
    pub green_task_set: bool,
    /// After the traffic shift green is PRIMARY with all the traffic.
    pub shifted: bool,
}

pub fn seed_deployment(local: &codehooks_tests::LocalAws, stack: &Stack, d: DeploymentSpec<'_>) {
    let app = "shop";
    let appspec = format!(
        "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: \"{NEW_TASK_DEFINITION}\"\n        LoadBalancerInfo:\n          ContainerName: \"web\"\n          ContainerPort: 8080\nHooks:\n  - AfterAllowTestTraffic: \"CodeDeployHook_codehooks-deploy-hook\"\n"
    );
    let mut info = json!({
        "applicationName": app,
        "deploymentGroupName": d.group,
        "deploymentId": d.id,
        "status": "InProgress",
        "computePlatform": "ECS",
        "createTime": 1_767_225_590.0,
        "creator": "user",
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": appspec, "sha256": "0f".repeat(32)}},
    });
    let (blue_weight, green_weight) = if d.shifted {
        (0.0, 100.0)
    } else {
        (100.0, 0.0)
    };
    let mut task_sets = vec![json!({
        "identifer": format!("ecs-svc/{}1", d.id),
        "desiredCount": 2, "pendingCount": 0, "runningCount": 2,
        "status": if d.shifted { "ACTIVE" } else { "PRIMARY" },
        "trafficWeight": blue_weight,
        "targetGroup": {"name": stack.blue_tg},
        "taskSetLabel": "Blue"
    })];
    if d.green_task_set {
        task_sets.push(json!({
            "identifer": format!("ecs-svc/{}2", d.id),
            "desiredCount": d.green_desired, "pendingCount": 0, "runningCount": d.green_desired,
            "status": if d.shifted { "PRIMARY" } else { "ACTIVE" },
            "trafficWeight": green_weight,
            "targetGroup": {"name": stack.green_tg},
            "taskSetLabel": "Green"
        }));
    }
    let target = if d.ecs {
        json!({
            "deploymentTargetType": "ECSTarget",
            "ecsTarget": {
                "deploymentId": d.id,
                "targetId": "shop-cluster:shop-service",
                "targetArn": "arn:aws:ecs:us-east-1:123456789012:service/shop-cluster/shop-service",
                "lastUpdatedAt": 1_767_225_700.0,
                "lifecycleEvents": lifecycle_events(d.running),
                "status": "InProgress",
                "taskSetsInfo": task_sets
            }
        })
    } else {
        info["loadBalancerInfo"] = stack.load_balancer_info();
        json!({
            "deploymentTargetType": "CloudFormationTarget",
            "cloudFormationTarget": {
                "deploymentId": d.id,
                "targetId": "ShopTaskSet",
                "lastUpdatedAt": 1_767_225_700.0,
                "lifecycleEvents": lifecycle_events(d.running),
                "status": "InProgress",
                "resourceType": "AWS::ECS::TaskSet",
                "targetVersionWeight": 0.0
            }
        })
    };
    let mut codedeploy = json!({
        "deployments": [info],
        "targets": {d.id: [target]},
        "hooks": {d.id: [d.hook_execution_id]},
    });
    if d.ecs {
        codedeploy["deploymentGroups"] = json!([{
            "applicationName": app,
            "deploymentGroupId": format!("00000000-0000-0000-0000-{:0>12}", d.group.len()),
            "deploymentGroupName": d.group,
            "computePlatform": "ECS",
            "serviceRoleArn": "arn:aws:iam::123456789012:role/ecsCodeDeployRole",
            "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
            "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            "blueGreenDeploymentConfiguration": {
                "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 5},
                "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0}
            },
            "loadBalancerInfo": stack.load_balancer_info(),
            "ecsServices": [{"serviceName": "shop-service", "clusterName": "shop-cluster"}]
        }]);
    }
    local
        .emulator()
        .seed(&json!({"region": REGION, "codedeploy": codedeploy}));
}

/// The hook invocation payload CodeDeploy sends.
pub fn payload(deployment_id: &str, hook_execution_id: &str) -> Value {
    json!({"DeploymentId": deployment_id, "LifecycleEventHookExecutionId": hook_execution_id})
}

/// The status the emulator holds for a hook execution.
pub fn hook_status(
    local: &codehooks_tests::LocalAws,
    deployment_id: &str,
    hook_execution_id: &str,
) -> String {
    local.emulator().hooks(REGION, deployment_id)[hook_execution_id]
        .as_str()
        .unwrap_or("missing")
        .to_owned()
}
