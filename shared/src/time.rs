//! UTC times as the functions write them, on `aws_smithy_types::DateTime` (the SDK's own
//! date type): RFC 3339 for people and alerts (`2026-12-01T02:30:00Z`), ISO 8601 basic for
//! names and signatures (`20261201T023000Z`). Whole seconds; a clock before 1970 reads as 1970.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

/// Seconds since the epoch of `time` (0 before 1970).
pub fn epoch_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Milliseconds since the epoch of `time` (0 before 1970).
pub fn epoch_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Now, in milliseconds since the epoch.
pub fn now_millis() -> u64 {
    epoch_millis(SystemTime::now())
}

/// `secs` since the epoch as RFC 3339 (`2026-12-01T02:30:00Z`).
pub fn rfc3339(secs: u64) -> String {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    DateTime::from_secs(secs)
        .fmt(Format::DateTime)
        // Only years past 9999 cannot be written: an impossible clock, shown as the epoch.
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// `secs` since the epoch in ISO 8601 basic format (`20261201T023000Z`).
pub fn basic(secs: u64) -> String {
    rfc3339(secs).replace(['-', ':'], "")
}

/// Now, as [`rfc3339`].
pub fn now_rfc3339() -> String {
    rfc3339(epoch_secs(SystemTime::now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_of_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(basic(0), "19700101T000000Z");
        // A leap day, and a time of day.
        assert_eq!(basic(951_782_400), "20000229T000000Z");
        assert_eq!(rfc3339(1_795_394_880), "2026-11-23T00:48:00Z");
        assert_eq!(basic(1_795_394_880), "20261123T004800Z");
        assert_eq!(epoch_secs(UNIX_EPOCH), 0);
        assert_eq!(
            epoch_millis(UNIX_EPOCH + std::time::Duration::from_millis(1_500)),
            1_500
        );
    }
}
