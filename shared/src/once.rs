//! The once-only store port: do-once records (claim, complete, release) and last known states,
//! so that an at-least-once event source cannot make a function act twice, and "it works
//! again" notices know what happened last time.
//!
//! - [`OnceOnlyStore`]: the port. [`crate::dedup::Store`] (DynamoDB, feature `dynamodb`) is
//!   its adapter; [`MemoryOnceStore`] its in-memory twin with the same semantics (pending and
//!   done records, a lease that ends an abandoned claim, expiry, an injectable clock, and the
//!   out-of-order rule: a state set by an older event never overwrites a newer one).
//! - The lease is given per claim, as the instant it ends: a function derives it from its
//!   invocation's deadline (see [`lease_until`]), so a claim left by a process that died
//!   ends just after the invocation could have run, and Lambda's first retry can take it.
//! - [`once`]: claim, run the work, then complete it on success or release it on failure, so a
//!   retry of a failed side effect acts again and a successful one is never repeated. See
//!   [`crate::dedup`] for the full table of what a redelivery finds.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{Error, Result};

/// The longest a Lambda invocation can run (15 minutes): a deadline further away than this
/// is not believed.
pub const MAX_INVOCATION: Duration = Duration::from_secs(15 * 60);

/// When a claim taken by an invocation whose deadline is `deadline_ms` (milliseconds since
/// the epoch, as the Lambda Runtime API gives it) ends: that deadline plus `margin`. Nothing
/// of the invocation runs after its deadline, so a retry that comes later finds the claim
/// free. A deadline in the past counts as `now`, and one further than [`MAX_INVOCATION`]
/// away as `now + MAX_INVOCATION`.
pub fn lease_until(deadline_ms: u64, now: SystemTime, margin: Duration) -> SystemTime {
    let latest = now + MAX_INVOCATION;
    let deadline = UNIX_EPOCH
        .checked_add(Duration::from_millis(deadline_ms))
        .unwrap_or(latest);
    deadline.clamp(now, latest) + margin
}

/// `t` in whole seconds since the epoch, rounded up (a lease never ends early).
pub fn epoch_secs_ceil(t: SystemTime) -> u64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The answer of [`OnceOnlyStore::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim<L> {
    /// This caller holds the claim: act, then complete or release it.
    Claimed(L),
    /// The work was done already.
    Done,
    /// Another caller holds a claim whose lease has not ended.
    Busy,
}

/// What [`once`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Once<T> {
    /// The work ran and succeeded, and was recorded as done.
    Ran(T),
    /// The work had been done before; nothing ran.
    AlreadyDone,
    /// Another caller is doing it now; nothing ran.
    Busy,
}

/// A last known state. The streak fields (`since`, `failed_runs`, `first`) are absent from
/// records written before they existed: such a record reads with `None` and `0`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// The state, for example `FAILED` or `SUCCEEDED`.
    pub state: String,
    /// When the event that set it happened (RFC 3339 as EventBridge writes it, compared as text).
    pub at: String,
    /// Anything the caller wants to keep with it (for example what failed).
    pub detail: Option<String>,
    /// When the streak of this state began (the time of its first event).
    pub since: Option<String>,
    /// How many runs the streak counted (0: not counted, as in older records).
    pub failed_runs: u64,
    /// What the streak's first run kept as its `detail` (for example the first failed run).
    pub first: Option<String>,
}

/// Remembers what was done and the last known state of things.
pub trait OnceOnlyStore: Send + Sync {
    /// A held claim.
    type Lease: Send + Sync;

    /// Claims `key` until `lease_until`: `Claimed` when nobody did the work yet (or a former
    /// claim was abandoned: its lease ended), else `Done` or `Busy`.
    fn claim(
        &self,
        key: &str,
        lease_until: SystemTime,
    ) -> impl Future<Output = Result<Claim<Self::Lease>>> + Send;

    /// Records the claimed work as done. `false` when the claim had been lost (its lease ended
    /// and another caller took it over).
    fn complete(&self, lease: &Self::Lease) -> impl Future<Output = Result<bool>> + Send;

    /// Gives a claim up after the work failed, so that a retry can claim it again.
    fn release(&self, lease: &Self::Lease) -> impl Future<Output = Result<()>> + Send;

    /// The last known state of `key`, if one is recorded and not expired.
    fn state(&self, key: &str) -> impl Future<Output = Result<Option<State>>> + Send;

    /// Records `state` for `key`, kept for `keep`, unless a state set by a later event is
    /// recorded (then nothing changes and `false` is returned).
    fn record_state(
        &self,
        key: &str,
        state: &State,
        keep: Duration,
    ) -> impl Future<Output = Result<bool>> + Send;
}

/// Runs `work` once for `key`: claim (until `lease_until`), run, then complete on success or
/// release on failure
/// (the work's error is returned; a failing release is logged, the lease then ends it).
/// A failing `complete` after successful work is logged and not returned: the work must not be
/// repeated by a retry of the whole invocation.
pub async fn once<S, T, F, Fut>(
    store: &S,
    key: &str,
    lease_until: SystemTime,
    work: F,
) -> Result<Once<T>>
where
    S: OnceOnlyStore + ?Sized,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let lease = match store.claim(key, lease_until).await? {
        Claim::Claimed(lease) => lease,
        Claim::Done => return Ok(Once::AlreadyDone),
        Claim::Busy => return Ok(Once::Busy),
    };
    match work().await {
        Ok(value) => {
            match store.complete(&lease).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(key, "the claim was lost before it was completed"),
                Err(e) => {
                    tracing::warn!(key, error = %e, "the work is done but could not be recorded as done")
                }
            }
            Ok(Once::Ran(value))
        }
        Err(err) => {
            if let Err(e) = store.release(&lease).await {
                tracing::warn!(key, error = %e, "could not release the claim; it ends with its lease");
            }
            Err(err)
        }
    }
}

impl<S: OnceOnlyStore> OnceOnlyStore for Arc<S> {
    type Lease = S::Lease;
    fn claim(
        &self,
        key: &str,
        lease_until: SystemTime,
    ) -> impl Future<Output = Result<Claim<Self::Lease>>> + Send {
        (**self).claim(key, lease_until)
    }
    fn complete(&self, lease: &Self::Lease) -> impl Future<Output = Result<bool>> + Send {
        (**self).complete(lease)
    }
    fn release(&self, lease: &Self::Lease) -> impl Future<Output = Result<()>> + Send {
        (**self).release(lease)
    }
    fn state(&self, key: &str) -> impl Future<Output = Result<Option<State>>> + Send {
        (**self).state(key)
    }
    fn record_state(
        &self,
        key: &str,
        state: &State,
        keep: Duration,
    ) -> impl Future<Output = Result<bool>> + Send {
        (**self).record_state(key, state, keep)
    }
}

/// The operations of [`MemoryOnceStore`] a failure can be injected into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OnceOp {
    Claim,
    Complete,
    Release,
    State,
    RecordState,
}

impl OnceOp {
    fn operation(self) -> &'static str {
        match self {
            OnceOp::Claim | OnceOp::RecordState => "PutItem",
            OnceOp::Complete => "UpdateItem",
            OnceOp::Release => "DeleteItem",
            OnceOp::State => "GetItem",
        }
    }
}

/// A held claim of [`MemoryOnceStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryLease {
    key: String,
    token: u64,
}

impl MemoryLease {
    pub fn key(&self) -> &str {
        &self.key
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Pending,
    Done,
}

#[derive(Debug, Clone)]
struct Record {
    status: Status,
    token: u64,
    lease_until: u64,
    expires: u64,
}

#[derive(Debug, Default)]
struct Memory {
    now: u64,
    tokens: u64,
    records: HashMap<String, Record>,
    states: HashMap<String, (State, u64)>,
    calls: Vec<String>,
    failures: HashMap<OnceOp, usize>,
}

impl Memory {
    /// Records the call and returns the injected failure, if any.
    fn call(&mut self, op: OnceOp, key: &str) -> Result<()> {
        self.calls.push(format!("{op:?} {key}"));
        match self.failures.get_mut(&op) {
            Some(n) if *n > 0 => {
                *n -= 1;
                Err(Error::Aws {
                    operation: op.operation(),
                    code: "InternalServerError".to_owned(),
                    message: "injected by MemoryOnceStore".to_owned(),
                    retryable: true,
                })
            }
            _ => Ok(()),
        }
    }
}

/// The in-memory twin of [`crate::dedup::Store`]: the same conditions, on a clock the test
/// moves ([`MemoryOnceStore::advance`]).
#[derive(Debug)]
pub struct MemoryOnceStore {
    ttl: Duration,
    inner: Mutex<Memory>,
}

impl Default for MemoryOnceStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryOnceStore {
    /// A store with a 48-hour expiry (like `Store::new`), at a fixed time.
    pub fn new() -> Self {
        Self {
            ttl: Duration::from_secs(48 * 3600),
            inner: Mutex::new(Memory {
                now: 1_800_000_000,
                ..Memory::default()
            }),
        }
    }

    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets the clock, in seconds since the epoch.
    pub fn with_now(self, secs: u64) -> Self {
        self.lock().now = secs;
        self
    }

    fn lock(&self) -> MutexGuard<'_, Memory> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The store's clock.
    pub fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.lock().now)
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.lock().now += by.as_secs();
    }

    /// The next `n` calls of `op` fail with a retryable error.
    pub fn fail_next(&self, op: OnceOp, n: usize) {
        self.lock().failures.insert(op, n);
    }

    /// The calls so far, as `Claim key`, `Complete key`...
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// `Some("pending")` or `Some("done")` for an unexpired do-once record of `key`.
    pub fn status(&self, key: &str) -> Option<&'static str> {
        let m = self.lock();
        m.records
            .get(key)
            .filter(|r| r.expires >= m.now)
            .map(|r| match r.status {
                Status::Pending => "pending",
                Status::Done => "done",
            })
    }
}

impl OnceOnlyStore for MemoryOnceStore {
    type Lease = MemoryLease;

    async fn claim(&self, key: &str, lease_until: SystemTime) -> Result<Claim<MemoryLease>> {
        let mut m = self.lock();
        m.call(OnceOp::Claim, key)?;
        let now = m.now;
        let free = match m.records.get(key) {
            None => true,
            Some(r) => r.expires < now || (r.status == Status::Pending && r.lease_until < now),
        };
        if !free {
            return Ok(match m.records.get(key).map(|r| r.status) {
                Some(Status::Done) => Claim::Done,
                _ => Claim::Busy,
            });
        }
        m.tokens += 1;
        let token = m.tokens;
        let record = Record {
            status: Status::Pending,
            token,
            lease_until: epoch_secs_ceil(lease_until),
            expires: now + self.ttl.as_secs(),
        };
        m.records.insert(key.to_owned(), record);
        Ok(Claim::Claimed(MemoryLease {
            key: key.to_owned(),
            token,
        }))
    }

    async fn complete(&self, lease: &MemoryLease) -> Result<bool> {
        let mut m = self.lock();
        m.call(OnceOp::Complete, &lease.key)?;
        let expires = m.now + self.ttl.as_secs();
        match m.records.get_mut(&lease.key) {
            Some(r) if r.token == lease.token => {
                r.status = Status::Done;
                r.expires = expires;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release(&self, lease: &MemoryLease) -> Result<()> {
        let mut m = self.lock();
        m.call(OnceOp::Release, &lease.key)?;
        if m.records
            .get(&lease.key)
            .is_some_and(|r| r.token == lease.token && r.status == Status::Pending)
        {
            m.records.remove(&lease.key);
        }
        Ok(())
    }

    async fn state(&self, key: &str) -> Result<Option<State>> {
        let mut m = self.lock();
        m.call(OnceOp::State, key)?;
        let now = m.now;
        Ok(m.states
            .get(key)
            .filter(|(_, exp)| *exp >= now)
            .map(|(s, _)| s.clone()))
    }

    async fn record_state(&self, key: &str, state: &State, keep: Duration) -> Result<bool> {
        let mut m = self.lock();
        m.call(OnceOp::RecordState, key)?;
        let now = m.now;
        let newer_kept = m
            .states
            .get(key)
            .is_some_and(|(s, exp)| *exp >= now && s.at.as_str() > state.at.as_str());
        if newer_kept {
            return Ok(false);
        }
        m.states
            .insert(key.to_owned(), (state.clone(), now + keep.as_secs()));
        Ok(true)
    }
}

#[cfg(test)]
#[path = "once_test.rs"]
mod tests;
