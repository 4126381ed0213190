//! What one probe's answer must be to pass ([`Criteria::judge`]): status, body, JSON field and
//! the version assertion.

use serde_json::Value;

use crate::checks::Checks;

/// One probe's outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Pass,
    /// Failure category (`status`, `timeout`, `connect`, `body`, `json`, `version`, `error`) and detail.
    Fail(&'static str, String),
}

/// What the per-request criteria compare against.
#[derive(Debug, Clone)]
pub struct Criteria {
    pub checks: Checks,
    /// The resolved version token, if a version assertion is configured.
    pub version_token: Option<String>,
}

impl Criteria {
    pub(crate) fn needs_body(&self) -> bool {
        self.checks.body_contains.is_some()
            || self.checks.json_field.is_some()
            || self
                .checks
                .version
                .as_ref()
                .is_some_and(|v| v.header.is_none())
    }

    /// Judges a response.
    pub fn judge(&self, status: u16, headers: &reqwest::header::HeaderMap, body: &[u8]) -> Verdict {
        if !self.checks.accepts(status) {
            return Verdict::Fail("status", format!("HTTP {status}"));
        }
        let text = String::from_utf8_lossy(body);
        if let Some(want) = &self.checks.body_contains
            && !text.contains(want.as_str())
        {
            return Verdict::Fail("body", format!("body does not contain {want:?}"));
        }
        if let Some(j) = &self.checks.json_field {
            match serde_json::from_slice::<Value>(body) {
                Err(_) => return Verdict::Fail("json", "body is not JSON".into()),
                Ok(v) => match v.pointer(&j.pointer) {
                    Some(got) if *got == j.equals => {}
                    Some(got) => {
                        return Verdict::Fail(
                            "json",
                            format!("{} is {got}, want {}", j.pointer, j.equals),
                        );
                    }
                    None => return Verdict::Fail("json", format!("{} is missing", j.pointer)),
                },
            }
        }
        if let (Some(v), Some(token)) = (&self.checks.version, &self.version_token) {
            match &v.header {
                Some(h) => {
                    let got = headers
                        .get(h.as_str())
                        .and_then(|x| x.to_str().ok())
                        .unwrap_or("");
                    if !got.contains(token.as_str()) {
                        return Verdict::Fail(
                            "version",
                            format!("header {h} is {got:?}, not the new revision {token:?}"),
                        );
                    }
                }
                None => {
                    if !text.contains(token.as_str()) {
                        return Verdict::Fail(
                            "version",
                            format!("body does not name the new revision {token:?}"),
                        );
                    }
                }
            }
        }
        Verdict::Pass
    }
}
