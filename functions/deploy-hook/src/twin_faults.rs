//! What every in-memory twin shares: injected failures, the errors they raise, and a lock
//! that survives a panicking test.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use codehooks::{Error, Result};

/// Failures to inject: operation name → how many calls fail, and whether the error is retryable.
#[derive(Debug, Default)]
pub(crate) struct Faults(pub(crate) BTreeMap<&'static str, (u32, bool)>);

impl Faults {
    pub(crate) fn take(&mut self, operation: &'static str) -> Result<()> {
        match self.0.get_mut(operation) {
            Some((n, retryable)) if *n > 0 => {
                *n -= 1;
                Err(twin_error(
                    operation,
                    if *retryable {
                        "ServiceUnavailable"
                    } else {
                        "AccessDeniedException"
                    },
                    *retryable,
                ))
            }
            _ => Ok(()),
        }
    }
}

pub(crate) fn twin_error(operation: &'static str, code: &str, retryable: bool) -> Error {
    Error::Aws {
        operation,
        code: code.to_owned(),
        message: format!("injected by the twin ({code})"),
        retryable,
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
