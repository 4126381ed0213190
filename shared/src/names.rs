//! Validated names where two functions meet: a region, an account, a CodeCommit repository
//! and a commit.
//!
//! Each type can only hold a value AWS would accept, so a value read from an event is checked
//! once, where it enters, and can then go into a URL, a path or an ARN without another look.
//! They read from JSON with serde (a bad value is a deserialization error that says why) and
//! print as the plain string.
//!
//! ```
//! use codehooks::names::{CommitId, Region, RepositoryName};
//! let region: Region = "eu-west-1".parse()?;
//! assert_eq!(region.as_str(), "eu-west-1");
//! assert!("../etc".parse::<RepositoryName>().is_err());
//! assert!("ABCDEF0123456789abcdef0123456789abcdef01".parse::<CommitId>().is_ok());
//! # Ok::<(), codehooks::names::NameError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::arn::Partition;

/// Why a value is not a valid name of its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {value:?} is not valid: {rule}")]
pub struct NameError {
    /// What was expected: `region`, `account id`, `repository name`, `commit id`.
    pub kind: &'static str,
    /// The value, cut to 80 characters.
    pub value: String,
    /// The rule it breaks.
    pub rule: &'static str,
}

impl NameError {
    fn new(kind: &'static str, value: &str, rule: &'static str) -> Self {
        let mut v: String = value.chars().take(80).collect();
        if v.len() < value.len() {
            v.push('…');
        }
        Self {
            kind,
            value: v,
            rule,
        }
    }
}

/// Whether `s` has `min..=max` bytes, all ASCII letters, digits or one of `extra`.
pub fn is_name(s: &str, min: usize, max: usize, extra: &str) -> bool {
    (min..=max).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

/// A region name such as `eu-west-1`, `us-gov-west-1` or `cn-north-1`.
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && s.len() <= 25
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
}

/// A 12-digit account id.
pub fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A CodeCommit repository name: 1 to 100 letters, digits, `.`, `_` or `-`, not ending in
/// `.git`, and not `.` or `..` (so it is safe as a path segment).
pub fn is_repository_name(s: &str) -> bool {
    is_name(s, 1, 100, "._-") && !s.ends_with(".git") && s != "." && s != ".."
}

/// A DynamoDB table name: 3 to 255 letters, digits, `_`, `-` or `.`.
pub fn is_table_name(s: &str) -> bool {
    is_name(s, 3, 255, "_.-")
}

/// A DNS host name: dot-separated labels of 1 to 63 letters, digits or `-` (not at either end
/// of a label), 253 characters at most. No scheme, port, path, user, space or other character.
pub fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// A full git commit id: 40 hexadecimal digits.
pub fn is_commit_id(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $check:expr, $rule:literal, $normalise:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The name as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                let check: fn(&str) -> bool = $check;
                if check(s) {
                    let normalise: fn(&str) -> String = $normalise;
                    Ok(Self(normalise(s)))
                } else {
                    Err(NameError::new($kind, s, $rule))
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, NameError> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(n: $name) -> String {
                n.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

name_type!(
    /// An AWS region name.
    Region,
    "region",
    is_region,
    "a region is lowercase words and a number joined by '-', such as eu-west-1",
    str::to_owned
);

name_type!(
    /// A 12-digit AWS account id.
    AccountId,
    "account id",
    is_account,
    "an account id is 12 digits",
    str::to_owned
);

name_type!(
    /// A CodeCommit repository name.
    RepositoryName,
    "repository name",
    is_repository_name,
    "a repository name is 1 to 100 letters, digits, '.', '_' or '-', not ending in .git",
    str::to_owned
);

name_type!(
    /// A full git commit id, kept in lowercase.
    CommitId,
    "commit id",
    is_commit_id,
    "a commit id is 40 hexadecimal digits",
    str::to_ascii_lowercase
);

impl Region {
    /// The partition the region belongs to.
    pub fn partition(&self) -> Partition {
        Partition::of_region(&self.0)
    }
}

impl CommitId {
    /// The first 7 digits, as git shows a commit.
    pub fn short(&self) -> &str {
        &self.0[..7]
    }
}

#[cfg(test)]
#[path = "names_test.rs"]
mod tests;
