//! Configuration from environment variables, read and validated once at start-up.
//!
//! A function builds its typed configuration through an [`Env`] reader: every accessor
//! returns a usable value at once (a default where the variable is wrong) and records each
//! problem, and [`Env::finish`] turns the recorded problems into one [`ConfigError`] that names
//! every wrong variable and says why. Values read with [`Env::secret`] are never echoed.
//!
//! ```
//! use codehooks::config::Env;
//! let mut env = Env::from_pairs([("TIMEOUT_MS", "250"), ("TOPIC", "arn:aws:sns:us-east-1:123456789012:alerts")]);
//! let timeout = env.u64_in("TIMEOUT_MS", 1000, 1..=60_000);
//! let topic = env.arn("TOPIC", "sns");
//! env.finish()?;
//! assert_eq!(timeout, 250);
//! assert_eq!(topic, "arn:aws:sns:us-east-1:123456789012:alerts");
//! # Ok::<(), codehooks::config::ConfigError>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use serde::de::DeserializeOwned;

/// One wrong variable and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub variable: String,
    pub problem: String,
}

/// Every problem found in the configuration, in the order the variables were read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// A configuration error about a single variable.
    pub fn single(variable: &str, problem: impl Into<String>) -> Self {
        Self {
            problems: vec![Problem {
                variable: variable.to_owned(),
                problem: problem.into(),
            }],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid configuration: ")?;
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} {}", p.variable, p.problem)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// A value that must never reach a log line: `Debug` and `Display` print a placeholder.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }
    /// The value itself, for the one place that needs it (a signature, a request header).
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Reads variables and collects what is wrong with them.
pub struct Env<'a> {
    lookup: Lookup<'a>,
    problems: Vec<Problem>,
}

/// Longest part of a wrong value quoted back in an error message.
const QUOTE_LIMIT: usize = 80;

fn quote(value: &str) -> String {
    let mut q: String = value.chars().take(QUOTE_LIMIT).collect();
    if q.len() < value.len() {
        q.push('…');
    }
    format!("{q:?}")
}

impl<'a> Env<'a> {
    /// The process environment.
    pub fn from_process() -> Env<'static> {
        Env {
            lookup: Box::new(|name| std::env::var(name).ok()),
            problems: Vec::new(),
        }
    }

    /// A fixed set of variables, for tests and tools.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Env<'static>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let map: HashMap<String, String> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Env {
            lookup: Box::new(move |name| map.get(name).cloned()),
            problems: Vec::new(),
        }
    }

    /// Any lookup function.
    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Env {
            lookup: Box::new(lookup),
            problems: Vec::new(),
        }
    }

    /// Records a problem with a variable (for checks that involve several variables).
    pub fn problem(&mut self, variable: &str, problem: impl Into<String>) {
        self.problems.push(Problem {
            variable: variable.to_owned(),
            problem: problem.into(),
        });
    }

    /// The trimmed value, or `None` when unset or blank.
    pub fn optional(&mut self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A variable that must be set and not blank.
    pub fn required(&mut self, name: &str) -> String {
        match self.optional(name) {
            Some(v) => v,
            None => {
                self.problem(name, "is required but is not set");
                String::new()
            }
        }
    }

    /// A value to keep out of logs; its content is never quoted in an error.
    pub fn secret(&mut self, name: &str) -> Option<Secret<String>> {
        (self.lookup)(name).filter(|v| !v.is_empty()).map(Secret)
    }

    /// The value, or `default` when unset.
    pub fn string_or(&mut self, name: &str, default: &str) -> String {
        self.optional(name).unwrap_or_else(|| default.to_owned())
    }

    /// Any `FromStr` value; `what` describes the expected form in the error.
    pub fn parse_or<T: FromStr>(&mut self, name: &str, default: T, what: &str) -> T {
        match self.optional(name) {
            None => default,
            Some(raw) => match raw.parse() {
                Ok(v) => v,
                Err(_) => {
                    self.problem(name, format!("must be {what}, got {}", quote(&raw)));
                    default
                }
            },
        }
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`, any case).
    pub fn bool_or(&mut self, name: &str, default: bool) -> bool {
        match self.optional(name) {
            None => default,
            Some(raw) => match raw.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => {
                    self.problem(name, format!("must be true or false, got {}", quote(&raw)));
                    default
                }
            },
        }
    }

    /// A whole number within `range`.
    pub fn u64_in(&mut self, name: &str, default: u64, range: RangeInclusive<u64>) -> u64 {
        let what = format!("a whole number from {} to {}", range.start(), range.end());
        let value = self.parse_or(name, default, &what);
        if range.contains(&value) {
            value
        } else {
            self.problem(name, format!("must be {what}, got {value}"));
            default
        }
    }

    /// A duration given in milliseconds, within `range` (milliseconds).
    pub fn millis_in(
        &mut self,
        name: &str,
        default_ms: u64,
        range: RangeInclusive<u64>,
    ) -> Duration {
        Duration::from_millis(self.u64_in(name, default_ms, range))
    }

    /// A comma-separated list; blank items are dropped.
    pub fn list(&mut self, name: &str) -> Vec<String> {
        self.optional(name)
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// One of a fixed set of words (compared case-insensitively; returned as listed).
    pub fn one_of(
        &mut self,
        name: &str,
        default: &'static str,
        allowed: &[&'static str],
    ) -> &'static str {
        match self.optional(name) {
            None => default,
            Some(raw) => match allowed.iter().find(|a| a.eq_ignore_ascii_case(&raw)) {
                Some(a) => a,
                None => {
                    self.problem(
                        name,
                        format!("must be one of {}, got {}", allowed.join(", "), quote(&raw)),
                    );
                    default
                }
            },
        }
    }

    /// A required ARN of the given service (`arn:<partition>:<service>:...`).
    pub fn arn(&mut self, name: &str, service: &str) -> String {
        let value = self.required(name);
        if !value.is_empty() && !is_arn_of(&value, service) {
            self.problem(
                name,
                format!(
                    "must be an ARN of {service} (arn:<partition>:{service}:<region>:<account>:...), got {}",
                    quote(&value)
                ),
            );
        }
        value
    }

    /// An optional ARN of the given service.
    pub fn optional_arn(&mut self, name: &str, service: &str) -> Option<String> {
        let value = self.optional(name)?;
        if is_arn_of(&value, service) {
            Some(value)
        } else {
            self.problem(
                name,
                format!("must be an ARN of {service}, got {}", quote(&value)),
            );
            None
        }
    }

    /// A JSON document, deserialized into `T`; unset gives `T::default()`.
    pub fn json_or_default<T: DeserializeOwned + Default>(&mut self, name: &str) -> T {
        match self.optional(name) {
            None => T::default(),
            Some(raw) => match serde_json::from_str(&raw) {
                Ok(v) => v,
                Err(e) => {
                    self.problem(name, format!("is not valid: {e}"));
                    T::default()
                }
            },
        }
    }

    /// Ends reading: `Ok` when every variable was fine.
    pub fn finish(self) -> Result<(), ConfigError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }
}

pub use crate::arn::is_arn_of;

#[cfg(test)]
#[path = "config_test.rs"]
mod tests;
