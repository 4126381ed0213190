//! Test support: local AWS endpoints, the project's emulator, and the real function binaries
//! under a local Lambda Runtime API.
//!
//! [`LocalAws`] starts `tests/localaws/serve.py` (moto server, the emulator and one Runtime API
//! per function, as asked) on free 127.0.0.1 ports. The Python process exits when its stdin
//! closes, so it never outlives the test process. [`Function`] runs a function's real binary
//! against those endpoints and invokes it through the Runtime API.

#![allow(clippy::missing_panics_doc)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::{Region, SdkConfig};
use aws_credential_types::Credentials;
use codehooks::aws::AwsOptions;
use serde_json::{Value, json};

pub mod alerts;
pub mod bench;
pub mod comments;
pub mod faults;
pub mod http;
pub mod logs;

/// The account id moto and the emulator use.
pub const ACCOUNT: &str = "123456789012";
/// The test credentials; the emulator derives the caller's ARN from the access key id.
pub const ACCESS_KEY: &str = "AKIDCODEHOOKSTEST";
pub const SECRET_KEY: &str = "codehooks-test-secret-key";

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The Python interpreter with moto: `CODEHOOKS_PYTHON`, else the repository's `.venv`.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("CODEHOOKS_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = repo_root().join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// Where cargo put the function binaries (built by the test command before the tests run).
pub fn binary(name: &str) -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target"));
    let path = target.join("debug").join(name);
    assert!(
        path.exists(),
        "{} is missing: build the functions first (cargo build --workspace --bins)",
        path.display()
    );
    path
}

/// What to start.
#[derive(Default, Clone)]
pub struct LocalAwsBuilder {
    moto: bool,
    emulator: bool,
    runtime_apis: Vec<String>,
}

impl LocalAwsBuilder {
    pub fn moto(mut self) -> Self {
        self.moto = true;
        self
    }
    pub fn emulator(mut self) -> Self {
        self.emulator = true;
        self
    }
    /// A Lambda Runtime API for the function `name` (start it later with [`LocalAws::function`]).
    pub fn runtime_api(mut self, name: &str) -> Self {
        self.runtime_apis.push(name.to_owned());
        self
    }

    pub fn start(self) -> LocalAws {
        let mut cmd = Command::new(python());
        cmd.arg(repo_root().join("tests/localaws/serve.py"));
        if self.moto {
            cmd.arg("--moto");
        }
        if self.emulator {
            cmd.arg("--emulator");
        }
        for name in &self.runtime_apis {
            cmd.arg("--runtime-api").arg(name);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python().display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read serve.py's endpoints");
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!(
                "serve.py did not start (is moto installed in {}?): {e}: {line:?}",
                python().display()
            )
        });
        let runtime_apis = v["runtime_apis"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let stdin = child.stdin.take();
        LocalAws {
            moto: v["moto"].as_str().map(str::to_owned),
            emulator: v["emulator"].as_str().map(str::to_owned),
            runtime_apis,
            _stdin: stdin,
            child,
        }
    }
}

/// Running local endpoints.
pub struct LocalAws {
    pub moto: Option<String>,
    pub emulator: Option<String>,
    pub runtime_apis: BTreeMap<String, String>,
    // Closing it ends the servers.
    _stdin: Option<ChildStdin>,
    child: Child,
}

impl Drop for LocalAws {
    fn drop(&mut self) {
        self._stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Retry settings for tests: quick back-off, short timeouts.
pub fn test_aws_options() -> AwsOptions {
    AwsOptions {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(20),
        connect_timeout: Duration::from_millis(1000),
        read_timeout: Duration::from_millis(5000),
        operation_timeout: Duration::from_millis(20_000),
    }
}

impl LocalAws {
    pub fn builder() -> LocalAwsBuilder {
        LocalAwsBuilder::default()
    }

    pub fn moto_url(&self) -> &str {
        self.moto.as_deref().expect("moto was not started")
    }

    pub fn emulator_url(&self) -> &str {
        self.emulator
            .as_deref()
            .expect("the emulator was not started")
    }

    /// The emulator's control API.
    pub fn emulator(&self) -> Emulator {
        Emulator {
            base: self.emulator_url().to_owned(),
        }
    }

    /// An SDK configuration from the shared loader, for `endpoint` in `region`, with test credentials.
    pub async fn sdk_config(&self, endpoint: &str, region: &str) -> SdkConfig {
        sdk_config_as(endpoint, region, ACCESS_KEY).await
    }

    /// The environment a function binary needs to reach these endpoints: every service the
    /// functions call is routed with `AWS_ENDPOINT_URL_<SERVICE>`.
    pub fn function_env(&self, region: &str) -> Vec<(String, String)> {
        let mut env = vec![
            ("AWS_REGION".to_owned(), region.to_owned()),
            ("AWS_DEFAULT_REGION".to_owned(), region.to_owned()),
            ("AWS_ACCESS_KEY_ID".to_owned(), ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), SECRET_KEY.to_owned()),
            (
                "AWS_SESSION_TOKEN".to_owned(),
                "codehooks-test-session".to_owned(),
            ),
            ("AWS_MAX_ATTEMPTS".to_owned(), "3".to_owned()),
            ("CODEHOOKS_AWS_RETRY_BACKOFF_MS".to_owned(), "20".to_owned()),
            (
                "CODEHOOKS_AWS_CONNECT_TIMEOUT_MS".to_owned(),
                "1000".to_owned(),
            ),
            (
                "CODEHOOKS_AWS_READ_TIMEOUT_MS".to_owned(),
                "5000".to_owned(),
            ),
        ];
        if let Some(m) = &self.moto {
            for svc in [
                "SNS",
                "SQS",
                "ELASTIC_LOAD_BALANCING_V2",
                "EC2",
                "DYNAMODB",
                "STS",
                "CLOUDWATCH_LOGS",
            ] {
                env.push((format!("AWS_ENDPOINT_URL_{svc}"), m.clone()));
            }
        }
        if let Some(e) = &self.emulator {
            for svc in [
                "CODECOMMIT",
                "CODEBUILD",
                "CODEDEPLOY",
                "CODEPIPELINE",
                "ECS",
                "LAMBDA",
                "CLOUDWATCH",
            ] {
                env.push((format!("AWS_ENDPOINT_URL_{svc}"), e.clone()));
            }
        }
        env
    }

    /// Starts the real binary of function `name` polling its Runtime API; `extra` adds or
    /// replaces environment variables (the function's own configuration).
    pub fn function(&self, name: &str, region: &str, extra: &[(&str, &str)]) -> Function {
        let api = self
            .runtime_apis
            .get(name)
            .unwrap_or_else(|| panic!("no Runtime API was started for {name}"))
            .clone();
        let mut env: BTreeMap<String, String> = self.function_env(region).into_iter().collect();
        env.insert("AWS_LAMBDA_RUNTIME_API".into(), api.clone());
        env.insert("AWS_LAMBDA_FUNCTION_NAME".into(), name.into());
        env.insert("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into());
        env.insert("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), "256".into());
        env.insert("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into());
        env.insert("AWS_LAMBDA_LOG_LEVEL".into(), "DEBUG".into());
        for (k, v) in extra {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        Function::spawn(name, &api, env)
    }
}

/// An SDK configuration acting as the principal `access_key` (the emulator names callers by it).
pub async fn sdk_config_as(endpoint: &str, region: &str, access_key: &str) -> SdkConfig {
    codehooks::aws::loader(&test_aws_options())
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            access_key,
            SECRET_KEY,
            None,
            None,
            "codehooks-tests",
        ))
        .load()
        .await
}

/// The emulator's control API (`/_emulator/...`).
#[derive(Clone)]
pub struct Emulator {
    pub base: String,
}

impl Emulator {
    pub fn reset(&self) {
        http::post_json(&format!("{}/_emulator/reset", self.base), &json!({}));
    }
    /// Merges AWS-shaped objects into the emulator's state (see `tests/localaws/emulator.py`).
    pub fn seed(&self, state: &Value) {
        http::post_json(&format!("{}/_emulator/seed", self.base), state);
    }
    /// Moves a branch (and the source commit of open pull requests from it).
    pub fn move_branch(&self, region: &str, repository: &str, branch: &str, commit: &str) {
        http::post_json(
            &format!("{}/_emulator/branch", self.base),
            &json!({"region": region, "repositoryName": repository, "branch": branch, "commitId": commit}),
        );
    }
    /// Completes or alters a build.
    pub fn set_build(&self, region: &str, id: &str, status: &str, phases: &Value) {
        http::post_json(
            &format!("{}/_emulator/build", self.base),
            &json!({"region": region, "id": id, "buildStatus": status, "phases": phases}),
        );
    }
    /// The next `count` calls of `operation` (e.g. `CodeDeploy_20141006.GetDeployment`) fail
    /// (`throttle`, `error5xx`) or are delayed (`latency`).
    pub fn fault(&self, operation: &str, kind: &str, count: u32, latency_ms: u64) {
        http::post_json(
            &format!("{}/_emulator/faults", self.base),
            &json!({"operation": operation, "kind": kind, "count": count, "latency_ms": latency_ms}),
        );
    }
    /// Every AWS request received, optionally only those of `operation` (e.g. `StartBuild`).
    pub fn requests(&self, operation: Option<&str>) -> Vec<Value> {
        let url = match operation {
            Some(op) => format!("{}/_emulator/requests?operation={op}", self.base),
            None => format!("{}/_emulator/requests", self.base),
        };
        match http::get_json(&url) {
            Value::Array(a) => a,
            other => panic!("unexpected requests answer: {other}"),
        }
    }
    pub fn state(&self, region: &str) -> Value {
        http::get_json(&format!("{}/_emulator/state?region={region}", self.base))
    }
    /// Every Lambda invocation the emulator answered for `function` (a function name), oldest
    /// first: `{functionName, qualifier, executedVersion, invocationType, payload, region, time}`.
    pub fn invocations(&self, function: &str) -> Vec<Value> {
        match http::get_json(&format!(
            "{}/_emulator/invocations?function={function}",
            self.base
        )) {
            Value::Array(a) => a,
            other => panic!("unexpected invocations answer: {other}"),
        }
    }
    /// The status of each lifecycle hook execution of a deployment.
    pub fn hooks(&self, region: &str, deployment_id: &str) -> Value {
        http::get_json(&format!(
            "{}/_emulator/hooks?region={region}&deploymentId={deployment_id}",
            self.base
        ))
    }
}

/// What one invocation through the Runtime API gave.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// `ok`, `error` or `timeout`.
    pub status: String,
    pub response: Value,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    pub duration_ms: f64,
}

impl Invocation {
    pub fn is_ok(&self) -> bool {
        self.status == "ok"
    }
}

/// A function's real binary, running under a local Lambda Runtime API.
pub struct Function {
    pub name: String,
    api: String,
    child: Child,
    logs: Arc<Mutex<String>>,
}

impl Function {
    fn spawn(name: &str, api: &str, env: BTreeMap<String, String>) -> Self {
        let mut child = Command::new(binary(name))
            .env_clear()
            .envs(env)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let logs = Arc::new(Mutex::new(String::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let logs = Arc::clone(&logs);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if std::env::var_os("CODEHOOKS_TEST_ECHO").is_some() {
                        eprintln!("{line}");
                    }
                    let mut l = logs.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        Function {
            name: name.to_owned(),
            api: api.to_owned(),
            child,
            logs,
        }
    }

    /// Invokes the function with `event`, giving it `timeout_ms` before its deadline.
    ///
    /// The answer reaches the Runtime API before the pipe has delivered every line the
    /// invocation printed, so an invocation that answered also waits (up to two seconds) for
    /// its summary record (the EMF line with `Invocations`, the last thing it prints) to be
    /// read: `logs()` then holds everything that invocation logged.
    pub fn invoke(&self, event: &Value, timeout_ms: u64) -> Invocation {
        let before = self.summaries();
        let answer = invoke_at(&self.api, event, timeout_ms);
        if answer.status == "ok" || answer.status == "error" {
            let end = std::time::Instant::now() + Duration::from_secs(2);
            while self.summaries() <= before && std::time::Instant::now() < end {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        answer
    }

    /// How many invocation summary records the function has printed so far.
    fn summaries(&self) -> usize {
        self.logs
            .lock()
            .unwrap()
            .matches("\"Invocations\":")
            .count()
    }

    /// Everything the function wrote to stdout and stderr so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// Whether the process is still running (a start-up failure ends it).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits up to `timeout` for the process to end (for start-up failures).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let end = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < end {
            if let Some(s) = self.exited() {
                // Let the log threads drain.
                std::thread::sleep(Duration::from_millis(50));
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a sample event from `events/`.
pub fn event(file: &str) -> Value {
    let path = repo_root().join("events").join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Fills a CodeBuild build state sample event `e` with what the emulator holds of `build`: its
/// ARN, status, environment variables, logs, and its number where the sample has one.
pub fn fill_build_event(e: &mut Value, build: &Value) {
    let arn = build["arn"].clone();
    e["resources"] = json!([arn]);
    let d = &mut e["detail"];
    d["build-id"] = arn;
    d["build-status"] = build["buildStatus"].clone();
    let info = &mut d["additional-information"];
    let vars: Vec<Value> = build["environment"]["environmentVariables"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|v| json!({"name": v["name"], "type": v["type"], "value": v["value"]}))
        .collect();
    info["environment"]["environment-variables"] = json!(vars);
    let logs = &build["logs"];
    info["logs"] = json!({
        "group-name": logs["groupName"], "stream-name": logs["streamName"], "deep-link": logs["deepLink"]
    });
    if info.get("build-number").is_some() {
        info["build-number"] = build["buildNumber"].clone();
    }
}

/// Whether a TCP port on 127.0.0.1 answers (for servers the tests start).
pub fn port_open(addr: &str) -> bool {
    TcpStream::connect(addr).is_ok()
}

/// Creates an SQS queue subscribed to `topic_arn` (raw delivery off, so the SNS envelope with
/// Subject, Message and MessageAttributes is what the queue receives) and returns its URL.
pub async fn subscribe_queue(config: &SdkConfig, topic_arn: &str, queue_name: &str) -> String {
    let sqs = aws_sdk_sqs::Client::new(config);
    let sns = aws_sdk_sns::Client::new(config);
    let url = sqs
        .create_queue()
        .queue_name(queue_name)
        .send()
        .await
        .expect("CreateQueue")
        .queue_url
        .expect("queue url");
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes");
    let arn = attrs
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("queue arn");
    sns.subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(arn)
        .send()
        .await
        .expect("Subscribe");
    url
}

/// Creates the SNS topic `topic_name` with a new SQS queue `queue_name` subscribed to it, and
/// returns (topic ARN, queue URL): what a subscriber receives is then read with [`drain_queue`].
pub async fn topic_with_queue(
    config: &SdkConfig,
    topic_name: &str,
    queue_name: &str,
) -> (String, String) {
    let topic = aws_sdk_sns::Client::new(config)
        .create_topic()
        .name(topic_name)
        .send()
        .await
        .expect("CreateTopic")
        .topic_arn
        .expect("topic arn");
    let queue = subscribe_queue(config, &topic, queue_name).await;
    (topic, queue)
}

/// Creates a DynamoDB table shaped as the template's idempotency table (on-demand, string hash
/// key `pk`), and returns a client for it.
pub async fn idempotency_table(config: &SdkConfig, name: &str) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let key = codehooks::dedup::KEY_ATTRIBUTE;
    let ddb = aws_sdk_dynamodb::Client::new(config);
    ddb.create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(KeyType::Hash)
                .build()
                .expect("key schema"),
        )
        .send()
        .await
        .expect("CreateTable");
    ddb
}

/// Every SNS envelope waiting in the queue (parsed), removing them.
pub async fn drain_queue(config: &SdkConfig, queue_url: &str) -> Vec<Value> {
    let sqs = aws_sdk_sqs::Client::new(config);
    let mut out = Vec::new();
    loop {
        let r = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .expect("ReceiveMessage");
        let msgs = r.messages.unwrap_or_default();
        if msgs.is_empty() {
            break;
        }
        for m in msgs {
            if let Some(body) = m.body() {
                out.push(serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())));
            }
            if let Some(h) = m.receipt_handle() {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(h)
                    .send()
                    .await
                    .expect("DeleteMessage");
            }
        }
    }
    out
}

/// Writes `body` to the stream (used by the tiny HTTP client).
pub(crate) fn write_all(stream: &mut TcpStream, body: &[u8]) {
    stream.write_all(body).expect("write to local server");
}

/// Invokes the function behind the Runtime API at `api` with `event`, giving it `timeout_ms`
/// before its deadline, and waits for its answer.
pub(crate) fn invoke_at(api: &str, event: &Value, timeout_ms: u64) -> Invocation {
    let answer = http::post_json(
        &format!("http://{api}/_invoke"),
        &json!({"event": event, "timeout_ms": timeout_ms}),
    );
    Invocation {
        status: answer["status"].as_str().unwrap_or("missing").to_owned(),
        response: answer["response"].clone(),
        error_type: answer["error"]["errorType"].as_str().map(str::to_owned),
        error_message: answer["error"]["errorMessage"].as_str().map(str::to_owned),
        duration_ms: answer["duration_ms"].as_f64().unwrap_or(0.0),
    }
}
