//! Do-once records and last known states in a DynamoDB table (feature `dynamodb`).
//!
//! EventBridge delivers at least once and retries a failed invocation for up to 24 hours, so a
//! function that publishes or writes something must remember what it has already done. A
//! [`Store`] keeps two kinds of items in one table whose partition key is the string attribute
//! [`KEY_ATTRIBUTE`] (`pk`), each with an epoch-seconds expiry in [`TTL_ATTRIBUTE`]
//! (`expiresAt`, to enable as the table's time-to-live attribute):
//!
//! - **do-once records** (`once#<key>`): [`Store::claim`] writes a *pending* record with a
//!   conditional put (`attribute_not_exists(pk)`, or an abandoned claim whose lease ran out).
//!   The caller says when its lease ends (`leaseUntil`): a function gives its invocation's
//!   deadline plus a small margin ([`crate::once::lease_until`]).
//!   The caller then does its work once and calls [`Store::complete`] after it succeeded, or
//!   [`Store::release`] when it failed, so that the retry of the event can claim again.
//!   [`Store::once`] wraps the three steps.
//! - **last known states** (`state#<key>`): [`Store::state`] and [`Store::record_state`], for
//!   "it failed last time, now it works again" notices. A state carries the time of the event
//!   that set it, and an older event never overwrites a newer state, so out-of-order deliveries
//!   change nothing.
//!
//! # Ordering: claim, act, then complete or release
//!
//! A claim is taken *before* the side effect and made final only *after* it succeeded:
//!
//! | what happens                               | the record            | a redelivery of the event |
//! |--------------------------------------------|-----------------------|---------------------------|
//! | the work succeeded, `complete` succeeded    | done                  | does nothing ([`Claim::Done`]) |
//! | the work failed, `release` succeeded        | deleted               | claims again and retries  |
//! | the process died between claim and the end | pending, lease running | [`Claim::Busy`] until the lease ends, then claims again |
//! | another invocation holds the claim now     | pending               | [`Claim::Busy`]           |
//!
//! So a failed side effect is retried, and one that succeeded is never repeated, except in a
//! single case: the work succeeded but neither `complete` could record it nor did the function
//! live to do so, and the same event arrives again after the lease ended. The lease ends just
//! after the invocation's deadline: later, nothing of that invocation runs any more, and
//! Lambda's first retry after a crash finds the claim free. The pending state also stops two
//! concurrent deliveries of one event from both acting.
//!
//! ```no_run
//! # async fn demo(client: aws_sdk_dynamodb::Client) -> codehooks::Result<()> {
//! use codehooks::dedup::{Once, Store};
//! use std::time::Duration;
//! let store = Store::new(client, "codehooks-alerts").with_ttl(Duration::from_secs(48 * 3600));
//! let lease_until = std::time::SystemTime::now() + Duration::from_secs(65);
//! match store.once("event-id-123", lease_until, || async { /* publish */ Ok(()) }).await? {
//!     Once::Ran(()) => println!("published"),
//!     Once::AlreadyDone => println!("a redelivery: nothing to do"),
//!     Once::Busy => println!("another invocation is on it"),
//! }
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::{Error, Result};

/// The table's partition key: a string attribute.
pub const KEY_ATTRIBUTE: &str = "pk";
/// The expiry in seconds since the epoch: the table's time-to-live attribute.
pub const TTL_ATTRIBUTE: &str = "expiresAt";

const STATUS: &str = "status";
const TOKEN: &str = "token";
const LEASE_UNTIL: &str = "leaseUntil";
const STATE: &str = "state";
const AT: &str = "at";
const DETAIL: &str = "detail";
const SINCE: &str = "since";
const FAILED_RUNS: &str = "failedRuns";
const FIRST: &str = "first";
const PENDING: &str = "pending";
const DONE: &str = "done";

/// Longest key accepted (DynamoDB allows 2048 bytes for a partition key).
pub const MAX_KEY_BYTES: usize = 1024;

type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Do-once records and last known states in one DynamoDB table.
#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
    ttl: Duration,
    clock: Clock,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("table", &self.table)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

pub use crate::once::{Claim as ClaimOf, Once, State};

/// The answer of [`Store::claim`].
pub type Claim = ClaimOf<Lease>;

/// A held claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    key: String,
    token: String,
}

impl Lease {
    /// The claimed key (as given to [`Store::claim`]).
    pub fn key(&self) -> &str {
        self.key.strip_prefix("once#").unwrap_or(&self.key)
    }
}

fn system_clock() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn get_s<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn get_n(item: &HashMap<String, AttributeValue>, name: &str) -> Option<u64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(Error::internal(format!(
            "a de-duplication key must have 1 to {MAX_KEY_BYTES} bytes, got {}",
            key.len()
        )));
    }
    Ok(())
}

/// A random-enough token that names one claim (time, process and a counter).
fn new_token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    crate::idempotency::key(
        "dedup/token",
        &[
            &nanos.to_string(),
            &std::process::id().to_string(),
            &count.to_string(),
        ],
    )[..32]
        .to_owned()
}

impl Store {
    /// A store on `table` with a 48-hour expiry of do-once records.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            ttl: Duration::from_secs(48 * 3600),
            clock: Arc::new(system_clock),
        }
    }

    /// How long a done record is kept (longer than the event source retries: EventBridge
    /// retries for up to 24 hours).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The clock, in seconds since the epoch (for tests).
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn now(&self) -> u64 {
        (self.clock)()
    }

    /// Claims `key` until `lease_until`: [`Claim::Claimed`] when nobody did the work yet (or a
    /// former claim was abandoned: its lease ended), else [`Claim::Done`] or [`Claim::Busy`].
    pub async fn claim(&self, key: &str, lease_until: SystemTime) -> Result<Claim> {
        check_key(key)?;
        let pk = format!("once#{key}");
        let now = self.now();
        let token = new_token();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY_ATTRIBUTE, s(&pk))
            .item(STATUS, s(PENDING))
            .item(TOKEN, s(&token))
            .item(LEASE_UNTIL, n(crate::once::epoch_secs_ceil(lease_until)))
            .item(TTL_ATTRIBUTE, n(now + self.ttl.as_secs()))
            .condition_expression(
                "attribute_not_exists(#pk) OR #exp < :now OR (#status = :pending AND #lease < :now)",
            )
            .expression_attribute_names("#pk", KEY_ATTRIBUTE)
            .expression_attribute_names("#exp", TTL_ATTRIBUTE)
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_names("#lease", LEASE_UNTIL)
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":pending", s(PENDING))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Claim::Claimed(Lease { key: pk, token })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                // Someone holds or finished it; read which (a consistent read sees the put).
                let got = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .key(KEY_ATTRIBUTE, s(&pk))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| Error::aws("GetItem", e))?;
                match got.item.as_ref().and_then(|i| get_s(i, STATUS)) {
                    Some(DONE) => Ok(Claim::Done),
                    // Pending, or gone in between (released by its holder): busy for now;
                    // the caller's retry will find it free.
                    _ => Ok(Claim::Busy),
                }
            }
            Err(e) => Err(Error::aws("PutItem", e)),
        }
    }

    /// Records the claimed work as done (kept until the expiry). Returns `false` when the
    /// claim had been lost (its lease ended and another caller took it over).
    pub async fn complete(&self, lease: &Lease) -> Result<bool> {
        let exp = self.now() + self.ttl.as_secs();
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, s(&lease.key))
            .update_expression("SET #status = :done, #exp = :exp REMOVE #lease")
            .condition_expression("#token = :token")
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_names("#exp", TTL_ATTRIBUTE)
            .expression_attribute_names("#lease", LEASE_UNTIL)
            .expression_attribute_names("#token", TOKEN)
            .expression_attribute_values(":done", s(DONE))
            .expression_attribute_values(":exp", n(exp))
            .expression_attribute_values(":token", s(&lease.token))
            .send()
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(Error::aws("UpdateItem", e)),
        }
    }

    /// Gives a claim up after the work failed, so that a retry can claim it again. Releasing a
    /// claim that was lost already does nothing.
    pub async fn release(&self, lease: &Lease) -> Result<()> {
        let r = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, s(&lease.key))
            .condition_expression("#token = :token AND #status = :pending")
            .expression_attribute_names("#token", TOKEN)
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_values(":token", s(&lease.token))
            .expression_attribute_values(":pending", s(PENDING))
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(Error::aws("DeleteItem", e)),
        }
    }

    /// Runs `work` once for `key`, claimed until `lease_until`: [`crate::once::once`] on this
    /// store.
    pub async fn once<T, F, Fut>(
        &self,
        key: &str,
        lease_until: SystemTime,
        work: F,
    ) -> Result<Once<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        crate::once::once(self, key, lease_until, work).await
    }

    /// The last known state of `key`, if one is recorded and not expired.
    pub async fn state(&self, key: &str) -> Result<Option<State>> {
        check_key(key)?;
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, s(&format!("state#{key}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Error::aws("GetItem", e))?;
        let Some(item) = got.item else {
            return Ok(None);
        };
        if get_n(&item, TTL_ATTRIBUTE).is_some_and(|exp| exp < self.now()) {
            return Ok(None);
        }
        Ok(get_s(&item, STATE).map(|state| State {
            state: state.to_owned(),
            at: get_s(&item, AT).unwrap_or_default().to_owned(),
            detail: get_s(&item, DETAIL).map(str::to_owned),
            // Absent on records written before streaks were kept.
            since: get_s(&item, SINCE).map(str::to_owned),
            failed_runs: get_n(&item, FAILED_RUNS).unwrap_or(0),
            first: get_s(&item, FIRST).map(str::to_owned),
        }))
    }

    /// Records `state` for `key`, kept for `keep`, unless a state set by a later event is
    /// recorded (then nothing changes and `false` is returned).
    pub async fn record_state(&self, key: &str, state: &State, keep: Duration) -> Result<bool> {
        check_key(key)?;
        let now = self.now();
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY_ATTRIBUTE, s(&format!("state#{key}")))
            .item(STATE, s(&state.state))
            .item(AT, s(&state.at))
            .item(TTL_ATTRIBUTE, n(now + keep.as_secs()))
            .condition_expression("attribute_not_exists(#pk) OR #exp < :now OR #at <= :at")
            .expression_attribute_names("#pk", KEY_ATTRIBUTE)
            .expression_attribute_names("#exp", TTL_ATTRIBUTE)
            .expression_attribute_names("#at", AT)
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":at", s(&state.at));
        if let Some(d) = &state.detail {
            put = put.item(DETAIL, s(d));
        }
        if let Some(v) = &state.since {
            put = put.item(SINCE, s(v));
        }
        if state.failed_runs > 0 {
            put = put.item(FAILED_RUNS, n(state.failed_runs));
        }
        if let Some(v) = &state.first {
            put = put.item(FIRST, s(v));
        }
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(Error::aws("PutItem", e)),
        }
    }
}

/// The DynamoDB adapter of the once-only store port.
impl crate::once::OnceOnlyStore for Store {
    type Lease = Lease;

    async fn claim(&self, key: &str, lease_until: SystemTime) -> Result<Claim> {
        Store::claim(self, key, lease_until).await
    }

    async fn complete(&self, lease: &Lease) -> Result<bool> {
        Store::complete(self, lease).await
    }

    async fn release(&self, lease: &Lease) -> Result<()> {
        Store::release(self, lease).await
    }

    async fn state(&self, key: &str) -> Result<Option<State>> {
        Store::state(self, key).await
    }

    async fn record_state(&self, key: &str, state: &State, keep: Duration) -> Result<bool> {
        Store::record_state(self, key, state, keep).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn keys_are_checked() {
        assert!(check_key("").is_err());
        assert!(check_key(&"k".repeat(MAX_KEY_BYTES + 1)).is_err());
        assert!(check_key("build/123").is_ok());
    }

    #[test]
    fn lease_names_its_key() {
        let l = Lease {
            key: "once#abc".into(),
            token: "t".into(),
        };
        assert_eq!(l.key(), "abc");
    }
}
