//! Small pure readings of the facts that discovery's decision is made of: the running hook, the
//! green task set, where a listener forwards, the task definition an AppSpec names.

use crate::facts::{LifecycleEvent, ListenerAction, TaskSet};
use crate::policy::Hook;

/// The hook now running: the hook lifecycle event that is `InProgress` (the latest if several).
pub fn running_hook(events: &[LifecycleEvent]) -> Option<Hook> {
    events
        .iter()
        .filter(|e| e.status == "InProgress")
        .filter_map(|e| Hook::parse(&e.name))
        .max()
}

/// The green task set: labelled `Green`, or else the one that is not PRIMARY and takes no traffic.
pub fn green_task_set(sets: &[TaskSet]) -> Option<&TaskSet> {
    sets.iter()
        .find(|t| t.label.as_deref() == Some("Green"))
        .or_else(|| {
            sets.iter()
                .find(|t| !t.status.eq_ignore_ascii_case("PRIMARY") && t.traffic_weight == 0.0)
        })
}

/// `family:revision` and the ARN of the task definition named in an AppSpec document (in any
/// partition).
pub fn task_definition_in(appspec: &str) -> Option<(String, String)> {
    let marker = appspec.find(":task-definition/")?;
    let start = appspec[..marker].rfind("arn:")?;
    let rest = &appspec[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '}' | ']'))
        .unwrap_or(rest.len());
    let arn = &rest[..end];
    let (_, tail) = arn.split_once(":task-definition/")?;
    (!tail.is_empty() && tail.contains(':')).then(|| (tail.to_owned(), arn.to_owned()))
}

/// A listener whose default action does not forward.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("its default action is not a forward action (found: {found})")]
pub struct NotForwarding {
    pub found: String,
}

/// Target group ARNs a listener's default actions forward to with a weight above zero.
pub fn forwarded_target_groups(actions: &[ListenerAction]) -> Result<Vec<String>, NotForwarding> {
    let forward: Vec<&ListenerAction> = actions.iter().filter(|a| a.kind == "forward").collect();
    if forward.is_empty() {
        let kinds: Vec<&str> = actions
            .iter()
            .map(|a| a.kind.as_str())
            .filter(|k| !k.is_empty())
            .collect();
        return Err(NotForwarding {
            found: if kinds.is_empty() {
                "none".to_owned()
            } else {
                kinds.join(", ")
            },
        });
    }
    let mut out = Vec::new();
    for a in forward {
        if a.weighted.is_empty() {
            out.extend(a.target_group_arn.iter().cloned());
            continue;
        }
        for g in &a.weighted {
            // An omitted weight counts as 1 (ELB's documented default for a lone group).
            if g.weight.unwrap_or(1) > 0
                && let Some(arn) = &g.arn
            {
                out.push(arn.clone());
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}
