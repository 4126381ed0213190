//! Fault injection for the fault-matrix tests: the fault kinds, the fault proxy in front of
//! moto (`tests/localaws/faultproxy.py`), holds that stop a call until released, a crash of
//! the function's process, and Lambda's asynchronous retries.
//!
//! The emulator (`/_emulator/faults`), the proxy (the same control paths) and the git server
//! (`/_git/faults`) share one fault plan, so one [`Faults`] value drives each of them:
//!
//! ```no_run
//! # use codehooks_tests::{LocalAws, faults::{Fault, FaultProxy}};
//! let local = LocalAws::builder().moto().start();
//! let proxy = FaultProxy::start(local.moto_url());
//! proxy.faults().arm("Publish", Fault::Throttle, 2);
//! // run the function with AWS_ENDPOINT_URL_SNS = proxy.url ...
//! ```

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{Invocation, http, python, repo_root};

/// A fault of one AWS (or git) call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A throttling error (HTTP 400 `ThrottlingException`/`Throttling`; git: 429).
    Throttle,
    /// HTTP 500 `InternalFailure`.
    Error5xx,
    /// The answer comes [`SLOW_MS`] late: past the read timeout of [`fast_env`].
    Timeout,
    /// The connection is reset without an answer and the call does not take effect.
    Reset,
    /// The call takes effect, then the connection is reset: the caller never learns it.
    ResetAfter,
}

/// Every fault kind, for the matrix.
pub const ALL: [Fault; 5] = [
    Fault::Throttle,
    Fault::Error5xx,
    Fault::Timeout,
    Fault::Reset,
    Fault::ResetAfter,
];

/// Attempts per AWS call in [`fast_env`].
pub const ATTEMPTS: u32 = 2;
/// The read timeout of [`fast_env`].
pub const READ_TIMEOUT_MS: u64 = 400;
/// The latency of [`Fault::Timeout`].
pub const SLOW_MS: u64 = 900;

impl Fault {
    pub fn kind(self) -> &'static str {
        match self {
            Fault::Throttle => "throttle",
            Fault::Error5xx => "error5xx",
            Fault::Timeout => "latency",
            Fault::Reset => "reset",
            Fault::ResetAfter => "reset_after",
        }
    }
}

/// SDK settings for fault tests: two attempts per call, a quick back-off and short timeouts.
pub fn fast_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_MAX_ATTEMPTS", ATTEMPTS.to_string()),
        ("CODEHOOKS_AWS_RETRY_BACKOFF_MS", "10".to_owned()),
        ("CODEHOOKS_AWS_CONNECT_TIMEOUT_MS", "500".to_owned()),
        ("CODEHOOKS_AWS_READ_TIMEOUT_MS", READ_TIMEOUT_MS.to_string()),
        ("CODEHOOKS_AWS_OPERATION_TIMEOUT_MS", "8000".to_owned()),
    ]
}

/// The fault control API of one server (`<base>/_emulator` or `<base>/_git`).
#[derive(Clone, Debug)]
pub struct Faults {
    pub control: String,
    /// Only requests whose User-Agent contains this are faulted (the function's SDK, not a
    /// local server asking the emulator the same operation, as the git server does).
    pub user_agent: Option<String>,
}

/// What the AWS SDK for Rust puts in its User-Agent.
pub const SDK_USER_AGENT: &str = "aws-sdk-rust";

impl Faults {
    /// The emulator's or the fault proxy's controls.
    pub fn emulator(base: &str) -> Faults {
        Faults {
            control: format!("{base}/_emulator"),
            user_agent: Some(SDK_USER_AGENT.to_owned()),
        }
    }
    /// The git server's controls.
    pub fn git(base: &str) -> Faults {
        Faults {
            control: format!("{base}/_git"),
            user_agent: None,
        }
    }

    /// The next `count` calls of `operation` suffer `fault`.
    pub fn arm(&self, operation: &str, fault: Fault, count: u32) {
        http::post_json(
            &format!("{}/faults", self.control),
            &json!({"operation": operation, "kind": fault.kind(), "count": count,
                    "latency_ms": SLOW_MS, "userAgent": self.user_agent}),
        );
    }

    /// The next call of `operation` waits until [`Faults::release`]; then it takes effect
    /// (`apply`) or its connection is reset without effect.
    pub fn hold(&self, operation: &str, apply: bool) {
        http::post_json(
            &format!("{}/faults", self.control),
            &json!({"operation": operation, "kind": "hold", "count": 1,
                    "then": if apply { "apply" } else { "reset" }, "userAgent": self.user_agent}),
        );
    }

    /// Waits until a call is held; false if none came within `timeout`.
    pub fn wait_held(&self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if http::get_json(&format!("{}/faults", self.control))["held"].as_u64() > Some(0) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    pub fn release(&self) {
        http::post_json(&format!("{}/release", self.control), &json!({}));
    }

    /// Disarms every fault (and releases held calls).
    pub fn clear(&self) {
        http::request("DELETE", &format!("{}/faults", self.control), None);
    }
}

/// `tests/localaws/faultproxy.py` in front of `upstream` (moto): point a service's
/// `AWS_ENDPOINT_URL_<SERVICE>` at [`FaultProxy::url`] and arm faults with [`FaultProxy::faults`].
pub struct FaultProxy {
    pub url: String,
    _stdin: Option<ChildStdin>,
    child: Child,
}

impl FaultProxy {
    pub fn start(upstream: &str) -> FaultProxy {
        let mut child = Command::new(python())
            .arg(repo_root().join("tests/localaws/faultproxy.py"))
            .arg("--upstream")
            .arg(upstream)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start faultproxy.py: {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("read faultproxy.py's endpoint");
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("faultproxy.py did not start: {e}: {line:?}"));
        FaultProxy {
            url: v["endpoint"].as_str().expect("endpoint").to_owned(),
            _stdin: child.stdin.take(),
            child,
        }
    }

    pub fn faults(&self) -> Faults {
        Faults::emulator(&self.url)
    }

    /// The operations forwarded or faulted so far, with their status (a number, `reset` or
    /// `reset_after`).
    pub fn requests(&self, operation: &str) -> Vec<Value> {
        match http::get_json(&format!(
            "{}/_emulator/requests?operation={operation}",
            self.url
        )) {
            Value::Array(a) => a,
            other => panic!("unexpected requests answer: {other}"),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self._stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Invokes through the Runtime API at `api` (host:port) on a thread, so that the test can
/// crash the function meanwhile.
pub fn invoke_in_background(
    api: &str,
    event: &Value,
    timeout_ms: u64,
) -> std::thread::JoinHandle<Invocation> {
    let (api, event) = (api.to_owned(), event.clone());
    std::thread::spawn(move || crate::invoke_at(&api, &event, timeout_ms))
}

/// Tells the Runtime API at `api` that the function's process died (after the test dropped
/// its `Function`, which kills it): the running invocation ends with `Runtime.ExitError`.
pub fn crashed(api: &str) {
    http::post_json(&format!("http://{api}/_crash"), &json!({}));
}

/// Lambda's asynchronous invocation: the event, then at most two retries while it fails.
/// Returns every attempt's result (the last one is the outcome; an error there is what goes
/// to the dead-letter queue).
pub fn with_retries(mut invoke: impl FnMut() -> Invocation) -> Vec<Invocation> {
    let mut out = Vec::new();
    for _ in 0..3 {
        let r = invoke();
        let ok = r.is_ok();
        out.push(r);
        if ok {
            break;
        }
    }
    out
}
