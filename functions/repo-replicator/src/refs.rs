//! Refs and object ids as plain values: the names a mirror carries (branches and tags), the
//! function's own refs on a replica (`refs/codehooks/`: backups and slices), and one ref
//! change. Every other module speaks of refs in these terms; this one depends on nothing.

use std::collections::BTreeMap;
use std::fmt;

/// A git object id (a commit or an annotated tag object), as hexadecimal text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId(String);

impl ObjectId {
    /// The id written as `hex` (lowercased).
    pub fn new(hex: impl Into<String>) -> Self {
        Self(hex.into().to_ascii_lowercase())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The mirrored refs (branches and tags) of a repository: full ref name → object id.
pub type Refs = BTreeMap<String, ObjectId>;

/// The refs a mirror carries: branches and tags (CodeCommit has no others).
const MIRRORED: [&str; 2] = ["refs/heads/", "refs/tags/"];

/// Whether `name` is a ref the mirror carries (peeled `^{}` entries are not).
pub fn is_mirrored(name: &str) -> bool {
    MIRRORED.iter().any(|p| name.starts_with(p)) && !name.ends_with("^{}")
}

/// One ref to change on a replica: from `old` (what the replica had when listed) to `new`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefChange {
    pub name: String,
    pub old: Option<ObjectId>,
    pub new: Option<ObjectId>,
}

/// The prefix of the function's own refs on a replica (backups, slices).
pub const OWN_PREFIX: &str = "refs/codehooks/";

/// Whether `name` is one of the function's own refs.
pub fn is_own(name: &str) -> bool {
    name.starts_with(OWN_PREFIX) && !name.ends_with("^{}")
}
