//! The lifecycle hooks of an ECS blue/green deployment and the listener each one's probes go
//! through.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The lifecycle events of an ECS blue/green deployment that run hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Hook {
    BeforeInstall,
    AfterInstall,
    AfterAllowTestTraffic,
    BeforeAllowTraffic,
    AfterAllowTraffic,
}

impl Hook {
    pub const ALL: [Hook; 5] = [
        Hook::BeforeInstall,
        Hook::AfterInstall,
        Hook::AfterAllowTestTraffic,
        Hook::BeforeAllowTraffic,
        Hook::AfterAllowTraffic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Hook::BeforeInstall => "BeforeInstall",
            Hook::AfterInstall => "AfterInstall",
            Hook::AfterAllowTestTraffic => "AfterAllowTestTraffic",
            Hook::BeforeAllowTraffic => "BeforeAllowTraffic",
            Hook::AfterAllowTraffic => "AfterAllowTraffic",
        }
    }

    pub fn parse(name: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| h.as_str() == name)
    }

    /// Which listener carries the traffic this hook checks (`None`: no HTTP probes possible).
    pub fn listener(self) -> Option<ListenerRole> {
        match self {
            Hook::BeforeInstall | Hook::AfterInstall => None,
            Hook::AfterAllowTestTraffic | Hook::BeforeAllowTraffic => Some(ListenerRole::Test),
            Hook::AfterAllowTraffic => Some(ListenerRole::Production),
        }
    }

    /// Whether the production traffic already moved to green when this hook runs.
    pub fn after_traffic_shift(self) -> bool {
        matches!(self, Hook::AfterAllowTraffic)
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The listener a hook's probes go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ListenerRole {
    Test,
    Production,
}

impl ListenerRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ListenerRole::Test => "test",
            ListenerRole::Production => "production",
        }
    }
}
