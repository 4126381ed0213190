//! Unit tests of `logging.rs`.

use super::*;
use crate::config::{Env, Secret};
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);
impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}
impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[derive(Debug)]
#[allow(dead_code)]
struct SomeConfig {
    repository: String,
    token: Secret<String>,
}

fn log_everything(secret: &str) {
    let mut env = Env::from_pairs([("GIT_TOKEN", secret)]);
    let token = env.secret("GIT_TOKEN").unwrap();
    let cfg = SomeConfig {
        repository: "app".into(),
        token,
    };
    let span = tracing::info_span!("Lambda runtime invoke", requestId = "req-1234");
    let _g = span.enter();
    tracing::info!(config = ?cfg, "configuration loaded");
    tracing::debug!(token = %cfg.token, "using token");
    tracing::error!(error = %format!("{cfg:?}"), "failed");
}

#[test]
fn json_lines_carry_request_id_and_never_the_secret() {
    let out = Captured::default();
    let sub = subscriber(LogFormat::Json, LevelFilter::TRACE, out.clone());
    let secret = "AKIA-super-secret-value-42";
    tracing::subscriber::with_default(sub, || log_everything(secret));
    let text = out.text();
    assert!(!text.contains(secret), "secret leaked: {text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        assert!(v["level"].is_string(), "{line}");
        assert!(line.contains("req-1234"), "no request id: {line}");
        assert!(line.contains("[redacted]"), "{line}");
    }
}

#[test]
fn text_lines_carry_request_id_and_respect_level() {
    let out = Captured::default();
    let sub = subscriber(LogFormat::Text, LevelFilter::INFO, out.clone());
    let secret = "ghp_abcdefghijklmnop";
    tracing::subscriber::with_default(sub, || log_everything(secret));
    let text = out.text();
    assert!(!text.contains(secret), "secret leaked: {text}");
    assert_eq!(text.lines().count(), 2, "debug line filtered out: {text}");
    assert!(
        text.lines().all(|l| l.contains("requestId=\"req-1234\"")),
        "{text}"
    );
}

#[test]
fn sdk_logs_stay_quiet_even_at_trace() {
    let out = Captured::default();
    let sub = subscriber(LogFormat::Json, LevelFilter::TRACE, out.clone());
    tracing::subscriber::with_default(sub, || {
        tracing::debug!(target: "aws_smithy_runtime::client", authorization = "AWS4-HMAC-SHA256 sig", "request");
        tracing::warn!(target: "aws_smithy_runtime::client", "retrying");
    });
    let text = out.text();
    assert!(!text.contains("AWS4-HMAC-SHA256"), "{text}");
    assert!(text.contains("retrying"));
}
