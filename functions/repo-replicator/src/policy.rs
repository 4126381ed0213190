//! The ref policy of a replica: which refs it mirrors (include/exclude
//! globs on full ref names), how many backups of overwritten or deleted refs it keeps, and what
//! it does with a ref that is not an ancestor of the source's (overwrite it after a backup, or
//! keep it). Plain values, read and validated in [`crate::config`].

use std::collections::BTreeMap;
use std::fmt;

// The function's own refs on a replica: backups and slices. Patterns never select them.
use crate::refs::OWN_PREFIX;
/// `refs/codehooks/backup/<UTC yyyymmddThhmmssZ>/<full ref name>`: an old value kept.
pub const BACKUP_PREFIX: &str = "refs/codehooks/backup/";
/// `refs/codehooks/slice/<full ref name>`: how far a sliced first copy got.
pub const SLICE_PREFIX: &str = "refs/codehooks/slice/";

/// A glob on full ref names: `*` matches within one path segment, `**` across segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefPattern(String);

/// Why a pattern is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error(
        "{0:?} is not a ref pattern: it must start with refs/ (for example refs/heads/release/*)"
    )]
    NotARef(String),
    #[error("{0:?} would select the function's own refs under refs/codehooks/")]
    Own(String),
    #[error("{0:?} has a character a ref name cannot hold (space, ~, ^, :, ?, [, \\)")]
    BadCharacter(String),
}

impl RefPattern {
    /// The pattern `raw`, checked.
    pub fn new(raw: &str) -> Result<Self, PatternError> {
        if !raw.starts_with("refs/") {
            return Err(PatternError::NotARef(raw.to_owned()));
        }
        if raw.starts_with(OWN_PREFIX) {
            return Err(PatternError::Own(raw.to_owned()));
        }
        if raw
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "~^:?[\\".contains(c))
        {
            return Err(PatternError::BadCharacter(raw.to_owned()));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the full ref name `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        glob(self.0.as_bytes(), name.as_bytes())
    }
}

impl fmt::Display for RefPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One piece of a pattern.
#[derive(Clone, Copy)]
enum Piece {
    Byte(u8),
    /// `*`: any run without `/`.
    Star,
    /// `**` (not followed by `/`): any run.
    Any,
    /// `**/`: nothing, or any run ending with `/`.
    Dirs,
}

/// `*` matches any run of bytes without `/`, `**` any run at all (`**/` also none); a
/// dynamic programme over (piece, position): time and memory linear in both lengths' product.
fn glob(p: &[u8], s: &[u8]) -> bool {
    let mut pieces = Vec::with_capacity(p.len());
    let mut i = 0;
    while i < p.len() {
        let piece = match (p[i], p.get(i + 1), p.get(i + 2)) {
            (b'*', Some(b'*'), Some(b'/')) => {
                i += 3;
                Piece::Dirs
            }
            (b'*', Some(b'*'), _) => {
                i += 2;
                Piece::Any
            }
            (b'*', _, _) => {
                i += 1;
                Piece::Star
            }
            (c, _, _) => {
                i += 1;
                Piece::Byte(c)
            }
        };
        pieces.push(piece);
    }
    let n = s.len();
    // `next[j]`: the pieces after this one match `s[j..]`.
    let mut next = vec![false; n + 1];
    next[n] = true;
    for piece in pieces.iter().rev() {
        let mut here = vec![false; n + 1];
        let mut dirs = false; // some `/` at or after j is followed by a match
        for j in (0..=n).rev() {
            here[j] = match *piece {
                Piece::Byte(c) => j < n && s[j] == c && next[j + 1],
                Piece::Star => next[j] || (j < n && s[j] != b'/' && here[j + 1]),
                Piece::Any => next[j] || (j < n && here[j + 1]),
                Piece::Dirs => {
                    dirs = dirs || (j < n && s[j] == b'/' && next[j + 1]);
                    next[j] || dirs
                }
            };
        }
        next = here;
    }
    next[0]
}

/// What a replica does with a ref whose value is not an ancestor of the source's (a rewind or
/// a divergence, which the source confirmed: a force push there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Divergence {
    /// Move it to the source's value, after a backup of the old one (when backups are on).
    #[default]
    Overwrite,
    /// Leave it as it is, and report it.
    Keep,
}

/// The ref policy of one replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Refs mirrored: empty means every branch and tag.
    pub include: Vec<RefPattern>,
    /// Refs never touched, even when included.
    pub exclude: Vec<RefPattern>,
    /// Backups kept per ref (`0`: no backups are made; existing ones are left alone).
    pub backup_retention: usize,
    pub divergence: Divergence,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            include: Vec::new(),
            exclude: Vec::new(),
            backup_retention: 5,
            divergence: Divergence::Overwrite,
        }
    }
}

impl Policy {
    /// Whether the policy lets the function manage the branch or tag `name` (never an own ref:
    /// only branches and tags are mirrored).
    pub fn selects(&self, name: &str) -> bool {
        crate::refs::is_mirrored(name)
            && (self.include.is_empty() || self.include.iter().any(|p| p.matches(name)))
            && !self.exclude.iter().any(|p| p.matches(name))
    }
}

/// The backup ref of `name` made at `stamp` (`yyyymmddThhmmssZ`).
pub fn backup_ref(stamp: &str, name: &str) -> String {
    format!("{BACKUP_PREFIX}{stamp}/{name}")
}

/// A backup ref read back: (stamp, ref name), or `None` when `name` is not one.
pub fn parse_backup(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix(BACKUP_PREFIX)?;
    let (stamp, git_ref) = rest.split_once('/')?;
    git_ref.starts_with("refs/").then_some((stamp, git_ref))
}

/// The slice ref of `name`.
pub fn slice_ref(name: &str) -> String {
    format!("{SLICE_PREFIX}{name}")
}

/// The ref a slice ref stands for, or `None` when `name` is not one.
pub fn parse_slice(name: &str) -> Option<&str> {
    name.strip_prefix(SLICE_PREFIX)
        .filter(|r| r.starts_with("refs/"))
}

/// `secs` since the epoch as `yyyymmddThhmmssZ` (UTC).
pub fn stamp(secs: u64) -> String {
    codehooks::time::basic(secs)
}

/// One replica region's overrides in `CODEHOOKS_REPLICA_POLICIES` (missing fields: the
/// global values).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyOverride {
    pub include: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
    pub backup_retention: Option<u64>,
    pub divergence: Option<String>,
}

/// The most backups kept per ref.
pub const MAX_RETENTION: u64 = 1000;

/// Reads the policy variables: the global policy (`CODEHOOKS_REF_INCLUDE`,
/// `CODEHOOKS_REF_EXCLUDE`, `CODEHOOKS_BACKUP_RETENTION`, `CODEHOOKS_DIVERGENCE`) and the
/// per-region overrides (`CODEHOOKS_REPLICA_POLICIES`). Problems are recorded in `env`.
pub fn read(env: &mut codehooks::config::Env<'_>) -> (Policy, BTreeMap<String, Policy>) {
    let raw = env.list("CODEHOOKS_REF_INCLUDE");
    let include = patterns(env, "CODEHOOKS_REF_INCLUDE", raw);
    let raw = env.list("CODEHOOKS_REF_EXCLUDE");
    let exclude = patterns(env, "CODEHOOKS_REF_EXCLUDE", raw);
    let retention = env.u64_in("CODEHOOKS_BACKUP_RETENTION", 5, 0..=MAX_RETENTION);
    let divergence = match env.one_of("CODEHOOKS_DIVERGENCE", "overwrite", &["overwrite", "keep"]) {
        "keep" => Divergence::Keep,
        _ => Divergence::Overwrite,
    };
    let global = Policy {
        include,
        exclude,
        backup_retention: retention as usize,
        divergence,
    };
    const VAR: &str = "CODEHOOKS_REPLICA_POLICIES";
    let raw: BTreeMap<String, PolicyOverride> = env.json_or_default(VAR);
    let mut per_region = BTreeMap::new();
    for (region, o) in raw {
        let mut p = global.clone();
        if let Some(list) = o.include {
            p.include = patterns(env, VAR, list);
        }
        if let Some(list) = o.exclude {
            p.exclude = patterns(env, VAR, list);
        }
        if let Some(n) = o.backup_retention {
            if n > MAX_RETENTION {
                env.problem(
                    VAR,
                    format!("{region}: backupRetention must be from 0 to {MAX_RETENTION}, got {n}"),
                );
            } else {
                p.backup_retention = n as usize;
            }
        }
        match o.divergence.as_deref() {
            None => {}
            Some("overwrite") => p.divergence = Divergence::Overwrite,
            Some("keep") => p.divergence = Divergence::Keep,
            Some(other) => env.problem(
                VAR,
                format!("{region}: divergence must be overwrite or keep, got {other:?}"),
            ),
        }
        per_region.insert(region, p);
    }
    (global, per_region)
}

/// The valid patterns of `raw`; each invalid one is a problem of `variable`.
fn patterns(
    env: &mut codehooks::config::Env<'_>,
    variable: &str,
    raw: Vec<String>,
) -> Vec<RefPattern> {
    let mut out = Vec::new();
    for r in raw {
        match RefPattern::new(r.trim()) {
            Ok(p) => out.push(p),
            Err(e) => env.problem(variable, e.to_string()),
        }
    }
    out
}
