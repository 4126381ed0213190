//! CloudWatch alarms as a gate ([`judge_alarms`]): every selected alarm is read; one in `ALARM`
//! fails the hook with its reason, `INSUFFICIENT_DATA` counts as the policy says, and a gate
//! that selects no alarm fails (it is misconfigured).

use serde::Serialize;

use crate::analysis::spec::{AlarmGate, InsufficientData};
use crate::facts::{AlarmFacts, AlarmSelector};
use crate::stats::CheckResult;

/// One alarm as the gate saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmCheck {
    pub name: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA` (CloudWatch's states), or [`MISSING`] for a name
    /// the gate lists that no alarm has.
    pub state: String,
    pub reason: String,
    pub passed: bool,
}

/// The selector of the port for a gate.
pub fn selector(gate: &AlarmGate) -> AlarmSelector {
    AlarmSelector {
        names: gate.names.clone(),
        prefix: gate.prefix.clone(),
        tags: gate.tags.clone(),
    }
}

/// The state of a name the gate lists that no alarm has.
pub const MISSING: &str = "MISSING";

/// Names listed in a detail before "and N more".
const LISTED: usize = 10;
/// The most characters of an alarm's reason in a detail.
const REASON_MAX: usize = 300;

/// The gate's verdict on the alarms read: each alarm (once, in the order read; then each listed
/// name no alarm has), and one `alarms` check that passes when every alarm passed and there is
/// at least one.
pub fn judge_alarms(gate: &AlarmGate, alarms: &[AlarmFacts]) -> (Vec<AlarmCheck>, CheckResult) {
    let mut checks: Vec<AlarmCheck> = Vec::new();
    for a in alarms {
        if checks.iter().any(|c| c.name == a.name) {
            continue;
        }
        checks.push(AlarmCheck {
            name: a.name.clone(),
            state: a.state.clone(),
            reason: a.reason.clone(),
            passed: passes(&a.state, gate.insufficient_data),
        });
    }
    if checks.is_empty() {
        let detail = format!(
            "no alarm matches {}: the gate selects nothing",
            selection(gate)
        );
        return (
            missing(gate, &checks),
            CheckResult::new("alarms", false, None, detail),
        );
    }
    checks.extend(missing(gate, &checks));
    let failed: Vec<&AlarmCheck> = checks.iter().filter(|c| !c.passed).collect();
    let detail = if failed.is_empty() {
        passed_detail(&checks)
    } else {
        let mut parts: Vec<String> = failed.iter().take(LISTED).map(|c| failure(c)).collect();
        if failed.len() > LISTED {
            parts.push(format!("and {} more failed", failed.len() - LISTED));
        }
        parts.join("; ")
    };
    let passed = failed.is_empty();
    (checks, CheckResult::new("alarms", passed, None, detail))
}

/// Whether an alarm in `state` passes the gate.
fn passes(state: &str, insufficient: InsufficientData) -> bool {
    match state {
        "OK" => true,
        "INSUFFICIENT_DATA" => insufficient == InsufficientData::Ignore,
        _ => false,
    }
}

/// The names the gate lists that no alarm in `found` has.
fn missing(gate: &AlarmGate, found: &[AlarmCheck]) -> Vec<AlarmCheck> {
    let mut out: Vec<AlarmCheck> = Vec::new();
    for n in &gate.names {
        if found.iter().chain(&out).any(|c| &c.name == n) {
            continue;
        }
        out.push(AlarmCheck {
            name: n.clone(),
            state: MISSING.to_owned(),
            reason: if gate.tags.is_empty() {
                format!("alarm {n} does not exist")
            } else {
                format!("alarm {n} does not exist or does not carry the gate's tags")
            },
            passed: false,
        });
    }
    out
}

/// One failed alarm in a detail.
fn failure(c: &AlarmCheck) -> String {
    match c.state.as_str() {
        MISSING => c.reason.clone(),
        "INSUFFICIENT_DATA" => format!("{} is INSUFFICIENT_DATA (the policy fails it)", c.name),
        "ALARM" => {
            let reason = clip(c.reason.trim(), REASON_MAX);
            if reason.is_empty() {
                format!("{} is ALARM", c.name)
            } else {
                format!("{} is ALARM: {reason}", c.name)
            }
        }
        other => format!("{} is in the unknown state {other:?}", c.name),
    }
}

/// The detail when every alarm passed: the alarms OK, and those ignored for want of data.
fn passed_detail(checks: &[AlarmCheck]) -> String {
    let (ok, ignored): (Vec<&AlarmCheck>, Vec<&AlarmCheck>) =
        checks.iter().partition(|c| c.state == "OK");
    let count = |n: usize| {
        if n == 1 {
            "1 alarm".to_owned()
        } else {
            format!("{n} alarms")
        }
    };
    let mut parts = Vec::new();
    if !ok.is_empty() {
        parts.push(format!("{} OK: {}", count(ok.len()), names(&ok)));
    }
    if !ignored.is_empty() {
        parts.push(format!(
            "{} INSUFFICIENT_DATA, ignored (insufficientData: ignore): {}",
            count(ignored.len()),
            names(&ignored)
        ));
    }
    parts.join("; ")
}

/// At most [`LISTED`] names, then how many more.
fn names(checks: &[&AlarmCheck]) -> String {
    let shown: Vec<&str> = checks
        .iter()
        .take(LISTED)
        .map(|c| c.name.as_str())
        .collect();
    let mut text = shown.join(", ");
    if checks.len() > LISTED {
        text.push_str(&format!(" and {} more", checks.len() - LISTED));
    }
    text
}

/// The gate's selectors in words.
fn selection(gate: &AlarmGate) -> String {
    let mut parts = Vec::new();
    if !gate.names.is_empty() {
        let shown: Vec<String> = gate
            .names
            .iter()
            .take(LISTED)
            .map(|n| format!("{n:?}"))
            .collect();
        let more = gate.names.len().saturating_sub(LISTED);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        parts.push(format!("names [{}{more}]", shown.join(", ")));
    }
    if let Some(p) = &gate.prefix {
        parts.push(format!("prefix {p:?}"));
    }
    if !gate.tags.is_empty() {
        let tags: Vec<String> = gate
            .tags
            .iter()
            .map(|(k, v)| format!("{k:?}: {v:?}"))
            .collect();
        parts.push(format!("tags {{{}}}", tags.join(", ")));
    }
    if parts.is_empty() {
        "an empty selection".to_owned()
    } else {
        parts.join(", ")
    }
}

/// At most `max` characters of `s`, cut on a character boundary, marked when cut.
fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((at, _)) => format!("{}...", &s[..at]),
    }
}

#[cfg(test)]
#[path = "alarms_test.rs"]
mod tests;
