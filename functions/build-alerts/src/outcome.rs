//! What one invocation did: the function's typed answer (the harness serializes it, logs it
//! and uses its label as the `Outcome` metric dimension).

use codehooks::alert::Published;
use codehooks::harness;
use serde::Serialize;

/// The answer: `{"outcome": "published", "subject": .., "messageId": .., "bytes": ..}` or
/// `{"outcome": "duplicate" | "ignored" | "suppressed", "reason": ..}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Outcome {
    /// An alert (or a recovered notice) went out.
    Published(Published),
    /// This alert was published before (a redelivery, or the same failure seen twice).
    Duplicate { reason: String },
    /// Nothing to alert about.
    Ignored { reason: String },
    /// A failure whose alert comes from another event (the build's, the deployment's or the
    /// failed action's).
    Suppressed { reason: String },
}

impl Outcome {
    pub fn ignored(reason: impl Into<String>) -> Self {
        Self::Ignored {
            reason: reason.into(),
        }
    }

    pub fn suppressed(reason: impl Into<String>) -> Self {
        Self::Suppressed {
            reason: reason.into(),
        }
    }

    pub fn duplicate() -> Self {
        Self::Duplicate {
            reason: "this alert was published before".to_owned(),
        }
    }
}

impl harness::Outcome for Outcome {
    fn label(&self) -> &str {
        match self {
            Outcome::Published(_) => "published",
            Outcome::Duplicate { .. } => "duplicate",
            Outcome::Ignored { .. } => "ignored",
            Outcome::Suppressed { .. } => "suppressed",
        }
    }
}
